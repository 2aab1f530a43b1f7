/**
 * Where a daemon's control socket lives, by Open vSwitch's conventions, so `ovs-appctl` finds it:
 *
 * - `ovs-appctl -t NAME` reads RUNDIR/NAME.pid (locked by the daemon: pidfile.ts) and connects to
 *   RUNDIR/NAME.PID.ctl. RUNDIR is $OVS_RUNDIR, else Open vSwitch's built-in /var/run/openvswitch.
 *   `serveInRundir` makes both files (the pid file first, as OVS does) and removes both on close.
 * - `ovs-appctl -t /path/to.ctl` connects to that socket: `server.listen(path)` alone.
 *
 * Note that ovs-appctl without -t targets "ovs-vswitchd": a daemon named so in RUNDIR answers the
 * plain `ovs-appctl COMMAND`.
 */
import { join } from 'node:path';
import { PidFile } from './pidfile.js';
import type { UnixctlServer } from './server.js';

/** Open vSwitch's run directory when OVS_RUNDIR is not set (Debian's build). */
export const OVS_DEFAULT_RUNDIR = '/var/run/openvswitch';

export function ovsRundir(env: NodeJS.ProcessEnv = process.env): string {
  return env['OVS_RUNDIR'] || OVS_DEFAULT_RUNDIR;
}

export function pidFilePath(rundir: string, program: string): string {
  return join(rundir, `${program}.pid`);
}

export function controlSocketPath(rundir: string, program: string, pid: number): string {
  return join(rundir, `${program}.${pid}.ctl`);
}

export interface RundirControl {
  readonly pidFile: string;
  readonly socket: string;
  /** Closes the server, then removes the pid file. */
  close(): Promise<void>;
}

/**
 * Serves `server` as PROGRAM in `rundir`: RUNDIR/PROGRAM.pid and RUNDIR/PROGRAM.PID.ctl.
 * Errors (already running, a path that cannot be made) are PidFileErrors or UnixSocketErrors.
 */
export async function serveInRundir(server: UnixctlServer, rundir: string, program: string): Promise<RundirControl> {
  const pidFile = await PidFile.create(pidFilePath(rundir, program));
  const socket = controlSocketPath(rundir, program, pidFile.pid);
  try {
    await server.listen(socket);
  } catch (err) {
    pidFile.remove();
    throw err;
  }
  return {
    pidFile: pidFile.path,
    socket,
    close: async () => {
      await server.close();
      pidFile.remove();
    },
  };
}
