/**
 * The control socket: the server side of `ovs-appctl`, so that the stock tool drives ofswitch the
 * way it drives ovs-vswitchd. It follows Open vSwitch 3.1's lib/unixctl.c (checked against the
 * real ovs-appctl and OVS daemons):
 *
 * Commands. A table of name -> (usage, minArgs, maxArgs, handler), filled by the modules that own
 * the commands (`register`, like unixctl_command_register): the MAC table registers fdb/show, the
 * logger vlog/*, and so on, so `list-commands` and argument checking come for free. The server
 * itself registers `list-commands` (sorted, "  %-23s %s" per command, as OVS prints it; a
 * command registered with a null usage is left out, as OVS leaves out one with a NULL usage) and
 * `version`.
 *
 * Protocol. JSON-RPC 1.0 over a unix stream socket, JSON texts back to back (split by the database
 * client's ovsdb/json-stream.ts; jsonrpc.ts). A request `{"method": NAME, "params": [strings],
 * "id": ID}` is checked in OVS's order: unknown command, too few arguments, too many, a non-string argument; each earns an error
 * reply with OVS's exact text. Otherwise the handler runs (it may be async) and its text is the
 * result; a handler reports failure by throwing a UnixctlError, whose text is the error. Like OVS,
 * a non-empty reply text gets a final newline when it lacks one, and ovs-appctl prints results on
 * stdout, errors on stderr with exit status 2.
 *
 * Connections. Each connection runs one request at a time: later requests on it wait, in order,
 * until the current one is answered (OVS stops reading meanwhile). A message that is not a valid
 * request (bad JSON, a notification, a reply, unexpected members) drops the connection without
 * an answer, as OVS does. A handler that throws anything but a UnixctlError is a bug: it is
 * logged as an error and answered with an error naming the command, so the tool does not hang and
 * the daemon keeps running.
 *
 * Lifetime. `listen(path)` serves on one path (unix-socket.ts: a stale socket is replaced, a live
 * one refused); `close()` drops every connection and removes the socket. Where the path comes
 * from (RUNDIR/PROGRAM.PID.ctl and the pid file) is daemon.ts's business.
 */
import type { Socket } from 'node:net';
import { JsonFramingError, JsonSplitter } from '../ovsdb/json-stream.js';
import { encodeReply, parseRequest, type Request } from './jsonrpc.js';
import { listenUnix, type UnixServer } from './unix-socket.js';

/** A command's failure: `message` is the error text the client prints. */
export class UnixctlError extends Error {
  override readonly name = 'UnixctlError';
}

/** Runs a command with its arguments (the command name excluded); returns the reply text. */
export type UnixctlHandler = (args: readonly string[]) => string | void | Promise<string | void>;

export interface UnixctlCommand {
  readonly name: string;
  /** null: a hidden command, left out of list-commands (OVS's NULL usage, e.g. the old bond/*-slave names). */
  readonly usage: string | null;
  readonly minArgs: number;
  /** Infinity for no limit (OVS's INT_MAX). */
  readonly maxArgs: number;
  readonly handler: UnixctlHandler;
}

/** Whoever can register commands: what owner modules are handed. */
export interface UnixctlRegistry {
  register(name: string, usage: string | null, minArgs: number, maxArgs: number, handler: UnixctlHandler): void;
}

/** What the server logs; lib/log.ts's Logger fits. */
export interface UnixctlLog {
  debug(msg: string, fields?: Readonly<Record<string, unknown>>): void;
  warn(msg: string, fields?: Readonly<Record<string, unknown>>): void;
  error(msg: string, fields?: Readonly<Record<string, unknown>>): void;
}

export interface Reply {
  readonly ok: boolean;
  readonly text: string;
}

export interface UnixctlServerOptions {
  /** The `version` command's answer, e.g. "ofswitch (ofswitch) 0.1.0". */
  readonly version: string;
  readonly log: UnixctlLog;
}

/** A request longer than this is refused (no control command comes near it). */
const MAX_REQUEST_BYTES = 4 * 1024 * 1024;

/** How long close() lets clients read replies already written. */
const CLOSE_GRACE_MS = 1000;

/** OVS's "%-23s": padded to 23 characters, never cut. */
function listLine(c: UnixctlCommand): string {
  return `  ${c.name.padEnd(23)} ${c.usage}\n`;
}

export class UnixctlServer implements UnixctlRegistry {
  private readonly commands = new Map<string, UnixctlCommand>();
  private readonly log: UnixctlLog;
  private readonly sockets = new Set<Socket>();
  private server: UnixServer | null = null;

  constructor(options: UnixctlServerOptions) {
    this.log = options.log;
    this.register('list-commands', '', 0, 0, () => this.listCommands());
    this.register('version', '', 0, 0, () => options.version);
  }

  /** Adds a command. A name registered twice is a programming error. */
  register(name: string, usage: string | null, minArgs: number, maxArgs: number, handler: UnixctlHandler): void {
    if (this.commands.has(name)) throw new Error(`unixctl command "${name}" is already registered`);
    if (!(minArgs >= 0 && maxArgs >= minArgs)) throw new Error(`unixctl command "${name}": bad argument counts ${minArgs}..${maxArgs}`);
    this.commands.set(name, { name, usage, minArgs, maxArgs, handler });
  }

  /** The socket path served, or null before listen() and after close(). */
  get path(): string | null {
    return this.server?.path ?? null;
  }

  private listCommands(): string {
    const listed = [...this.commands.values()].filter((c) => c.usage !== null);
    listed.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return 'The available commands are:\n' + listed.map(listLine).join('');
  }

  /** Runs one request as the socket would: argument checks, then the handler. Never rejects. */
  async execute(method: string, params: readonly unknown[]): Promise<Reply> {
    const command = this.commands.get(method);
    let reply: Reply;
    if (!command) {
      reply = { ok: false, text: `"${method}" is not a valid command (use "list-commands" to see a list of valid commands)` };
    } else if (params.length < command.minArgs) {
      reply = { ok: false, text: `"${method}" command requires at least ${command.minArgs} arguments` };
    } else if (params.length > command.maxArgs) {
      reply = { ok: false, text: `"${method}" command takes at most ${command.maxArgs} arguments` };
    } else if (!params.every((p): p is string => typeof p === 'string')) {
      reply = { ok: false, text: `"${method}" command has non-string argument` };
    } else {
      reply = await this.run(command, params);
    }
    // OVS ends every non-empty reply with a newline.
    return reply.text === '' || reply.text.endsWith('\n') ? reply : { ok: reply.ok, text: reply.text + '\n' };
  }

  private async run(command: UnixctlCommand, args: readonly string[]): Promise<Reply> {
    try {
      return { ok: true, text: (await command.handler(args)) ?? '' };
    } catch (err) {
      if (err instanceof UnixctlError) return { ok: false, text: err.message };
      this.log.error('unixctl command failed', { command: command.name, args, error: (err as Error)?.stack ?? String(err) });
      return { ok: false, text: `"${command.name}" command failed: ${err instanceof Error ? err.message : String(err)}` };
    }
  }

  /** Serves on `path`. Errors (a live socket there, a bad path) are UnixSocketErrors. */
  async listen(path: string): Promise<void> {
    if (this.server) throw new Error(`unixctl server already listening on ${this.server.path}`);
    this.server = await listenUnix(path, (socket) => this.accept(socket));
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    const splitter = new JsonSplitter(MAX_REQUEST_BYTES);
    const queue: Request[] = [];
    let busy = false;
    /** Why the connection goes once the requests before the bad message are answered. */
    let dropReason: string | null = null;
    const dropIfDue = (): void => {
      if (dropReason === null || busy || queue.length > 0) return;
      this.log.warn('unixctl connection dropped', { path: this.path, reason: dropReason });
      socket.destroy();
    };
    const next = async (): Promise<void> => {
      busy = true;
      for (let request = queue.shift(); request && socket.writable; request = queue.shift()) {
        this.log.debug('unixctl request', { method: request.method, params: request.params });
        const reply = await this.execute(request.method, request.params);
        if (socket.writable) socket.write(encodeReply(request.id, reply.ok, reply.text));
      }
      busy = false;
      dropIfDue();
    };
    socket.on('data', (chunk: Buffer) => {
      if (dropReason !== null) return;
      let texts: string[] = [];
      try {
        texts = splitter.push(chunk);
      } catch (err) {
        if (!(err instanceof JsonFramingError)) throw err;
        dropReason = err.message;
      }
      for (const text of texts) {
        const parsed = parseRequest(text);
        if ('invalid' in parsed) {
          dropReason = parsed.invalid;
          break;
        }
        queue.push(parsed.request);
      }
      if (!busy && queue.length > 0) void next();
      else dropIfDue();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
  }

  /** Drops every connection and stops serving (the socket file is removed). */
  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    // Replies already written still reach their clients (the `exit` command's, for one).
    // A client that does not read gets a second to, then is cut off.
    for (const socket of this.sockets) {
      socket.end(() => socket.destroy());
      setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
    }
    this.sockets.clear();
    if (server) await server.close();
  }
}
