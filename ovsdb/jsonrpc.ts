/**
 * One JSON-RPC 1.0 connection to an OVSDB server (RFC 7047 section 4), like OVS's lib/jsonrpc.c.
 *
 * Messages: a request {"method","params","id"} gets exactly one response {"result","error","id"}
 * with the same id; a notification is a request whose id is null and gets none. Our requests get
 * increasing integer ids and a promise each, settled by the matching response (rejected with
 * JsonRpcError when "error" is not null, with ConnectionClosedError when the connection ends
 * first). The server's "echo" requests are answered at once with their own params; any other
 * request from the server is refused with "unknown method". Notifications are emitted.
 *
 * Liveness, as OVS's reconnect FSM: every message received is activity. After `probeIntervalMs`
 * without any, we send an "echo" request; if another `probeIntervalMs` passes with nothing
 * received, the peer is dead and the connection is closed. 0 turns probing off. (OVS leaves probes
 * off on unix sockets by default; here they are on for both: one small message per idle interval,
 * and a hung server is noticed.)
 *
 * Anything unparseable (framing, JSON, not a JSON-RPC message) closes the connection with a
 * JsonRpcProtocolError: after one bad message nothing later on the stream can be trusted. The
 * error goes to the 'close' listeners (the owner logs it); nothing is thrown at the caller.
 * Reconnecting is the owner's business (see idl.ts).
 */
import { connect, type Socket } from 'node:net';
import { EventEmitter } from 'eventemitter3';
import { DEFAULT_MAX_MESSAGE_BYTES, JsonSplitter } from './json-stream.js';
import { silentOvsdbLogger, type OvsdbLogger } from './logger.js';

export const DEFAULT_PROBE_INTERVAL_MS = 5000;
export const CONNECT_TIMEOUT_MS = 5000;

export type Remote = { readonly kind: 'unix'; readonly path: string } | { readonly kind: 'tcp'; readonly host: string; readonly port: number };

export class OvsdbRemoteError extends Error {
  override readonly name = 'OvsdbRemoteError';
}

/** Parses `unix:PATH`, `tcp:IP:PORT` or `tcp:[IPv6]:PORT`, the active remotes OVS programs accept. */
export function parseRemote(remote: string): Remote {
  if (remote.startsWith('unix:')) {
    const path = remote.slice('unix:'.length);
    if (path === '') throw new OvsdbRemoteError(`remote ${remote}: empty socket path`);
    return { kind: 'unix', path };
  }
  if (remote.startsWith('tcp:')) {
    const match = /^tcp:(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(remote);
    const port = Number(match?.[3]);
    if (!match || !(port > 0 && port < 65536)) throw new OvsdbRemoteError(`remote ${remote}: expected tcp:IP:PORT`);
    return { kind: 'tcp', host: (match[1] ?? match[2]) as string, port };
  }
  throw new OvsdbRemoteError(`remote ${remote}: expected unix:PATH or tcp:IP:PORT`);
}

/** The server answered a request with a non-null "error" (kept as sent: a string or an object). */
export class JsonRpcError extends Error {
  override readonly name = 'JsonRpcError';
  readonly error: unknown;
  constructor(method: string, error: unknown) {
    super(`${method}: ${typeof error === 'string' ? error : JSON.stringify(error)}`);
    this.error = error;
  }
}

/** The connection ended before the response came. */
export class ConnectionClosedError extends Error {
  override readonly name = 'ConnectionClosedError';
}

/** The peer broke the protocol; the connection is closed with this error. */
export class JsonRpcProtocolError extends Error {
  override readonly name = 'JsonRpcProtocolError';
}

export interface JsonRpcOptions {
  readonly log?: OvsdbLogger;
  /** Idle time before an echo probe, and then before giving up; 0 disables. Default 5 s. */
  readonly probeIntervalMs?: number;
  /** Largest message accepted. Default 64 MiB. */
  readonly maxMessageBytes?: number;
}

export type JsonRpcEvents = {
  notification: [method: string, params: readonly unknown[]];
  /** A request from the server, after it was answered (echo) or refused. */
  request: [method: string, params: readonly unknown[]];
  /** The connection ended: `error` is null after close() without an error. */
  close: [error: Error | null];
};

interface Pending {
  readonly method: string;
  resolve(result: unknown): void;
  reject(err: Error): void;
}

function isObject(json: unknown): json is Record<string, unknown> {
  return typeof json === 'object' && json !== null && !Array.isArray(json);
}

export class JsonRpcConnection extends EventEmitter<JsonRpcEvents> {
  readonly name: string;
  private readonly socket: Socket;
  private readonly log: OvsdbLogger;
  private readonly splitter: JsonSplitter;
  private readonly probeIntervalMs: number;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closedWith: Error | null | undefined = undefined; // undefined while open
  private lastReceived = Date.now();
  private probeSentAt: number | null = null;
  private probeTimer: NodeJS.Timeout | null = null;

  /** Connects to `remote` (see parseRemote); rejects when the connection cannot be made. */
  static open(remote: string, options: JsonRpcOptions = {}): Promise<JsonRpcConnection> {
    const target = parseRemote(remote);
    return new Promise((resolve, reject) => {
      const socket = target.kind === 'unix' ? connect(target.path) : connect(target.port, target.host);
      socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy(new Error(`connect timeout after ${CONNECT_TIMEOUT_MS} ms`)));
      const failed = (err: Error): void => reject(new ConnectionClosedError(`${remote}: ${err.message}`));
      socket.once('error', failed);
      socket.once('connect', () => {
        socket.setTimeout(0);
        socket.off('error', failed);
        resolve(new JsonRpcConnection(socket, remote, options));
      });
    });
  }

  /** Takes over a connected socket (open() does this; tests may pass their own). */
  constructor(socket: Socket, name: string, options: JsonRpcOptions = {}) {
    super();
    this.socket = socket;
    this.name = name;
    this.log = options.log ?? silentOvsdbLogger;
    this.splitter = new JsonSplitter(options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES);
    this.probeIntervalMs = options.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS;
    socket.on('data', (chunk: Buffer) => this.received(chunk));
    socket.on('error', (err) => this.close(new ConnectionClosedError(`${name}: ${err.message}`)));
    socket.on('close', () => {
      const detail = this.splitter.midValue ? ' in the middle of a message' : '';
      this.close(new ConnectionClosedError(`${name}: connection closed by peer${detail}`));
    });
    this.scheduleProbe(this.probeIntervalMs);
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  /** Sends a request; resolves with its "result", rejects with JsonRpcError or ConnectionClosedError. */
  request(method: string, params: readonly unknown[]): Promise<unknown> {
    if (this.closedWith !== undefined) {
      return Promise.reject(new ConnectionClosedError(`${this.name}: connection is closed`));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { method, resolve, reject });
      this.send({ method, params, id });
    });
  }

  /** Sends a notification (no response expected). */
  notify(method: string, params: readonly unknown[]): void {
    if (this.closedWith === undefined) this.send({ method, params, id: null });
  }

  /** Closes the connection; pending requests are rejected. `error` says why (logged, emitted). */
  close(error: Error | null = null): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = error;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = null;
    this.socket.destroy();
    const reason = error ?? new ConnectionClosedError(`${this.name}: connection closed`);
    for (const p of this.pending.values()) p.reject(new ConnectionClosedError(`${p.method}: ${reason.message}`));
    this.pending.clear();
    this.emit('close', error);
  }

  private send(message: unknown): void {
    this.socket.write(JSON.stringify(message));
  }

  private received(chunk: Buffer): void {
    if (this.closedWith !== undefined) return;
    this.lastReceived = Date.now();
    this.probeSentAt = null;
    let texts: string[];
    try {
      texts = this.splitter.push(chunk);
    } catch (err) {
      return this.close(new JsonRpcProtocolError(`${this.name}: ${(err as Error).message}`));
    }
    for (const text of texts) {
      if (this.closedWith !== undefined) return; // a listener closed us
      let message: unknown;
      try {
        message = JSON.parse(text);
      } catch (err) {
        return this.close(new JsonRpcProtocolError(`${this.name}: invalid JSON: ${(err as Error).message}`));
      }
      this.dispatch(message);
    }
  }

  private dispatch(message: unknown): void {
    if (!isObject(message)) return this.close(new JsonRpcProtocolError(`${this.name}: JSON-RPC message is not an object`));
    const { method, params, id } = message;
    if (method !== undefined) {
      if (typeof method !== 'string' || !Array.isArray(params)) {
        return this.close(new JsonRpcProtocolError(`${this.name}: request without string "method" and array "params"`));
      }
      if (id === null || id === undefined) return void this.emit('notification', method, params);
      if (method === 'echo') this.send({ result: params, error: null, id });
      else {
        this.log.warn('OVSDB server sent a request we do not serve', { remote: this.name, method });
        this.send({ result: null, error: 'unknown method', id });
      }
      return void this.emit('request', method, params);
    }
    if (!('result' in message) && !('error' in message)) {
      return this.close(new JsonRpcProtocolError(`${this.name}: message is neither request nor response`));
    }
    const pending = typeof id === 'number' ? this.pending.get(id) : undefined;
    if (!pending) return this.log.warn('OVSDB response to no request of ours', { remote: this.name, id });
    this.pending.delete(id as number);
    const error = message['error'];
    if (error !== null && error !== undefined) pending.reject(new JsonRpcError(pending.method, error));
    else pending.resolve(message['result']);
  }

  private scheduleProbe(ms: number): void {
    if (this.probeIntervalMs > 0) this.probeTimer = setTimeout(() => this.probe(), ms);
  }

  /** The inactivity timer: probe an idle peer, drop one that stays silent. */
  private probe(): void {
    this.probeTimer = null;
    const now = Date.now();
    if (this.probeSentAt !== null) {
      const seconds = ((now - this.lastReceived) / 1000).toFixed(1);
      return this.close(new ConnectionClosedError(`${this.name}: no response to inactivity probe after ${seconds} s, disconnecting`));
    }
    const idle = now - this.lastReceived;
    if (idle < this.probeIntervalMs) return this.scheduleProbe(this.probeIntervalMs - idle);
    this.log.debug('OVSDB connection idle: sending inactivity probe', { remote: this.name });
    this.probeSentAt = now;
    // Its reply, like any message, is the activity looked for; a close rejects it, and is reported by 'close'.
    this.request('echo', []).catch(() => {});
    this.scheduleProbe(this.probeIntervalMs);
  }
}
