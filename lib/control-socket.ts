/**
 * The switch command's control socket (`--unixctl PATH`): ovs-appctl's list-commands, version,
 * exit, vlog/list, vlog/set, vlog/reopen and memory/show, wired to this process's logger and
 * shutdown. Owners of other commands register them on the returned server.
 *
 * `ofproto/trace` (datapath/trace/ofproto-trace.ts) is registered by whoever owns the bridges:
 * flag mode for its one switch (registerTraceCommand with singleBridge), the database mode's
 * daemon for all of its bridges.
 *
 * `ofswitch/drops [BRIDGE]` and `ofswitch/drops-clear [BRIDGE]` (the last frames each bridge dropped
 * or sent to a controller, datapath/drop-record.ts) are registered the same way (registerDropsCommands).
 *
 * The version text follows OVS's "PROGRAM (PACKAGE) VERSION" form with ofswitch's own package
 * name and version ("ofswitch (ofswitch) 0.1.0"): claiming "(Open vSwitch) 3.1.0" would make
 * scripts that parse it believe in features ofswitch lacks; this form makes them notice.
 */
import type { DropLog } from '../datapath/drop-record.js';
import { formatDropLog } from '../datapath/drop-text.js';
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
export function singleBridge<T = Traceable>(name: string | undefined, sw: T): () => ReadonlyMap<string, T> {
  const map = new Map([[name ?? PROGRAM, sw]]);
  return () => map;
}

/** What ofswitch/drops needs of a switch (lib/switch.ts's Switch.dropLog). */
export interface DropsSource {
  dropLog(): DropLog;
}

/**
 * Registers `ofswitch/drops [BRIDGE]` (every bridge, by name, without one) and
 * `ofswitch/drops-clear [BRIDGE]` over `bridges` (looked up anew for every command). A bridge that
 * does not exist is the error "no such bridge", as OVS's bridge commands answer.
 */
export function registerDropsCommands(registry: UnixctlRegistry, bridges: () => ReadonlyMap<string, DropsSource>): void {
  const pick = (name: string | undefined): [string, DropsSource][] => {
    const all = bridges();
    if (name === undefined) return [...all].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const sw = all.get(name);
    if (sw === undefined) throw new UnixctlError('no such bridge');
    return [[name, sw]];
  };
  registry.register('ofswitch/drops', '[bridge]', 0, 1, ([name]) =>
    pick(name)
      .map(([n, sw]) => formatDropLog(n, sw.dropLog()))
      .join(''),
  );
  registry.register('ofswitch/drops-clear', '[bridge]', 0, 1, ([name]) => {
    for (const [, sw] of pick(name)) sw.dropLog().clear();
    return 'drop record cleared';
  });
}
