/**
 * The switch command's control socket (`--unixctl PATH`): ovs-appctl's list-commands, version,
 * exit, vlog/list, vlog/set, vlog/reopen and memory/show, wired to this process's logger and
 * shutdown. Owners of other commands register them on the returned server.
 *
 * `ofproto/trace` (datapath/trace/ofproto-trace.ts) is registered by whoever owns the bridges:
 * flag mode for its one switch (registerTraceCommand with singleBridge), the database mode's
 * daemon for all of its bridges.
 *
 * The version text follows OVS's "PROGRAM (PACKAGE) VERSION" form with ofswitch's own package
 * name and version ("ofswitch (ofswitch) 0.1.0"): claiming "(Open vSwitch) 3.1.0" would make
 * scripts that parse it believe in features ofswitch lacks; this form makes them notice.
 */
import { ofprotoTrace, TraceError, type TraceBridge, type TraceBridges } from '../datapath/trace/ofproto-trace.js';
import { registerExitCommand, registerMemoryCommand, registerVlogCommands, UnixctlError, UnixctlServer, type LoggerLevel, type UnixctlRegistry } from '../unixctl/index.js';
import type { Logger } from './log.js';
import { packageVersion } from './version.js';

export const PROGRAM = 'ofswitch';

export function versionText(): string {
  return `${PROGRAM} (${PROGRAM}) ${packageVersion()}`;
}

/**
 * A control server with the commands every ofswitch answers (vlog, exit, memory/show), wired to
 * this process's logger; `onExit` runs when `ovs-appctl exit` asks. Not yet listening: flag mode
 * listens on its --unixctl path, database mode in its run directory (unixctl/daemon.ts).
 */
export function createControlServer(
  log: Logger,
  initialLevel: LoggerLevel,
  onExit: () => void,
  memoryShow?: () => string,
): UnixctlServer {
  const server = new UnixctlServer({ version: versionText(), log: log.child({ module: 'unixctl' }) });
  let level = initialLevel;
  registerVlogCommands(server, {
    module: PROGRAM,
    level: () => level,
    setLevel: (l) => {
      level = l;
      log.setLevel(l);
    },
  });
  registerMemoryCommand(server, memoryShow);
  registerExitCommand(server, () => {
    log.info('exit requested over the control socket');
    onExit();
  });
  return server;
}

/** Serves the control commands on `path` (flag mode's --unixctl). */
export async function startControlSocket(path: string, log: Logger, initialLevel: LoggerLevel, onExit: () => void): Promise<UnixctlServer> {
  const server = createControlServer(log, initialLevel, onExit);
  await server.listen(path);
  log.info('control socket listening', { unixctl: path });
  return server;
}

/** What ofproto/trace needs of a switch (lib/switch.ts's Switch.traceTarget). */
export interface Traceable {
  traceTarget(): Omit<TraceBridge, 'name'>;
}

/** Registers `ofproto/trace` over `bridges` (looked up anew for every command). */
export function registerTraceCommand(registry: UnixctlRegistry, bridges: () => ReadonlyMap<string, Traceable>): void {
  const view = (name: string, sw: Traceable): TraceBridge => ({ name, ...sw.traceTarget() });
  registry.register('ofproto/trace', '{[dp_name]|bridge} odp_flow|br_flow [OPTIONS] [-generate|packet]', 1, Number.MAX_SAFE_INTEGER, (args) => {
    const all = bridges();
    const dir: TraceBridges = {
      bridge: (name) => {
        const sw = all.get(name);
        return sw === undefined ? undefined : view(name, sw);
      },
      all: () => [...all].map(([name, sw]) => view(name, sw)),
    };
    try {
      return ofprotoTrace(args, dir);
    } catch (err) {
      if (err instanceof TraceError) throw new UnixctlError(err.message);
      throw err;
    }
  });
}

/**
 * Flag mode's one switch as a bridge for ofproto/trace: named by its --local interface (in Open
 * vSwitch the bridge's own interface has the bridge's name), or `ofswitch` without one.
 */
export function singleBridge(name: string | undefined, sw: Traceable): () => ReadonlyMap<string, Traceable> {
  const map = new Map([[name ?? PROGRAM, sw]]);
  return () => map;
}
