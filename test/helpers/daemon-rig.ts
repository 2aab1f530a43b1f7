/**
 * ofswitch as a drop-in for ovs-vswitchd, for tests against the stock tools: a real ovsdb-server
 * (ovsdb-server.ts) and the built `ofswitch --ovsdb unix:DIR/db.sock --rundir DIR` child process
 * (ofswitch-process.ts) sharing one run directory DIR, which is also the OVS_RUNDIR of every
 * ovs-vsctl, ovs-ofctl and ovs-appctl run here: `ovs-ofctl show BRIDGE` finds DIR/BRIDGE.mgmt and
 * `ovs-appctl -t ofswitch` finds DIR/ofswitch.pid, as they find ovs-vswitchd's.
 *
 *   const rig = await startDaemonRig(t);
 *   rig.owns(br, 'ix1');                      // internal interfaces to remove at teardown
 *   await rig.vsctl(['add-br', br], { wait: true });
 *   const show = await rig.ofctl(['show', br]);
 *   await rig.kill();                          // SIGKILL, as kill -9
 *   await rig.start();                         // the same command again
 *
 * The daemon runs in the root namespace as ovs-vswitchd does, so the internal interfaces it makes
 * are there too: the names a test gives them are registered with owns() and deleted at teardown
 * (after the daemon has stopped), so a failed or killed run leaves none behind.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tryRun, type RunResult, type Teardownable } from './netns.js';
import { startOfswitch, type OfswitchProcess } from './ofswitch-process.js';
import { startOvsdbServer, type CommandResult, type OvsdbServer, type VsctlOptions } from './ovsdb-server.js';

/** The log line the daemon writes each time its replica of the database is complete. */
export const IN_SYNC = 'OVSDB replica in sync';

export interface DaemonRig {
  readonly db: OvsdbServer;
  /** The run directory of the daemon and of every OVS tool run here. */
  readonly dir: string;
  /** OVS_RUNDIR, OVS_LOGDIR, OVS_DBDIR: `dir`. */
  readonly env: Readonly<Record<string, string>>;
  /** The daemon now running (the last one started). */
  readonly proc: OfswitchProcess;
  /** Starts `ofswitch --ovsdb ... --rundir DIR` and waits until its replica is in sync. */
  start(): Promise<OfswitchProcess>;
  /** SIGKILL (kill -9) of the running daemon; resolves once it is gone. */
  kill(): Promise<void>;
  vsctl(args: readonly string[], options?: VsctlOptions): Promise<string>;
  tryVsctl(args: readonly string[], options?: VsctlOptions): Promise<CommandResult>;
  /** `ovs-ofctl ARGS` with OVS_RUNDIR=DIR, whatever its exit status. */
  ofctl(args: readonly string[]): Promise<RunResult>;
  /** `ovs-appctl -t ofswitch ARGS` with OVS_RUNDIR=DIR, whatever its exit status. */
  appctl(args: readonly string[]): Promise<RunResult>;
  /** Interfaces (internal ones the daemon makes) to delete, if they exist, at teardown. */
  owns(...names: string[]): void;
  /** How many times the running daemon has logged IN_SYNC. */
  syncs(): number;
}

/** Polls `check` every 50 ms until it returns true; rejects naming `what` after `timeoutMs`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * `args`: more options for the daemon's command line (e.g. --metrics). `ns`: the network namespace
 * the daemon runs in (tunnel tests: its underlay is that namespace's IP stack); the root one when
 * not given. The database and the tools stay in the root namespace (they meet on unix sockets).
 */
export async function startDaemonRig(t: Teardownable, args: readonly string[] = [], options: { ns?: string } = {}): Promise<DaemonRig> {
  const db = await startOvsdbServer(t);
  const dir = db.dir;
  const env = { OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir };
  const owned = new Set<string>();
  let proc: OfswitchProcess | null = null;

  const start = async (): Promise<OfswitchProcess> => {
    const p = await startOfswitch(t, ['--ovsdb', db.remote, '--rundir', dir, ...args], { ready: false, ...(options.ns !== undefined ? { ns: options.ns } : {}) });
    proc = p;
    await p.waitForLog(IN_SYNC);
    return p;
  };

  t.teardown(async () => {
    if (proc) await proc.stop();
    for (const name of owned) if (existsSync(join('/sys/class/net', name))) await tryRun('ip', ['link', 'del', name]);
  });

  await start();
  return {
    db,
    dir,
    env,
    get proc(): OfswitchProcess {
      if (!proc) throw new Error('no daemon started');
      return proc;
    },
    start,
    kill: async () => {
      if (!proc) return;
      proc.child.kill('SIGKILL');
      await proc.exited;
    },
    vsctl: (args, options) => db.vsctl(args, options),
    tryVsctl: (args, options) => db.tryVsctl(args, options),
    ofctl: (args) => tryRun('ovs-ofctl', args, undefined, { env }),
    appctl: (args) => tryRun('ovs-appctl', ['-t', 'ofswitch', ...args], undefined, { env }),
    owns: (...names) => {
      for (const n of names) {
        owned.add(n);
        owned.add(`ofl-${n}`.slice(0, 15));
      }
    },
    syncs: () => (proc ? proc.stderr().split(IN_SYNC).length - 1 : 0),
  };
}
