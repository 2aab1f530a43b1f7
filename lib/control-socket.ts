/**
 * The switch command's control socket (`--unixctl PATH`): ovs-appctl's list-commands, version,
 * exit, vlog/list, vlog/set, vlog/reopen and memory/show, wired to this process's logger and
 * shutdown. Owners of other commands register them on the returned server.
 *
 * The version text follows OVS's "PROGRAM (PACKAGE) VERSION" form with ofswitch's own package
 * name and version ("ofswitch (ofswitch) 0.1.0"): claiming "(Open vSwitch) 3.1.0" would make
 * scripts that parse it believe in features ofswitch lacks; this form makes them notice.
 */
import { registerExitCommand, registerMemoryCommand, registerVlogCommands, UnixctlServer, type LoggerLevel } from '../unixctl/index.js';
import type { Logger } from './log.js';
import { packageVersion } from './version.js';

export const PROGRAM = 'ofswitch';

export function versionText(): string {
  return `${PROGRAM} (${PROGRAM}) ${packageVersion()}`;
}

/** Serves the control commands on `path`; `onExit` runs when `ovs-appctl exit` asks. */
export async function startControlSocket(
  path: string,
  log: Logger,
  initialLevel: LoggerLevel,
  onExit: () => void,
): Promise<UnixctlServer> {
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
  registerMemoryCommand(server);
  registerExitCommand(server, () => {
    log.info('exit requested over the control socket');
    onExit();
  });
  await server.listen(path);
  log.info('control socket listening', { unixctl: path });
  return server;
}
