/**
 * Open vSwitch's daemons for the benchmarks that run it beside ofswitch (switches.ts, abuse.ts,
 * forward-tunnel.ts): a fresh database (ovsdb-tool create), ovsdb-server and ovs-vswitchd started
 * detached inside a network namespace, each file of theirs (database, sockets, pid and log files)
 * in one directory given as OVS_RUNDIR/OVS_LOGDIR/OVS_DBDIR and --unixctl, so /run/openvswitch is
 * never used and several instances never meet. The benchmark then shapes the bridges itself
 * through `vsctl` and `run` (ovs-ofctl, ip ...).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inNs, sh, sleep } from './trafgen-rig.js';

export interface OvsDaemons {
  readonly dir: string;
  /** The environment every OVS command of this instance needs (its OVS_RUNDIR, ...). */
  readonly env: NodeJS.ProcessEnv;
  /** ovs-vswitchd's pid (the process whose CPU time is the switch's). */
  readonly pid: number;
  /** Runs ovs-vsctl against this instance's database, in its namespace; its output. */
  vsctl(...argv: string[]): string;
  /** Runs a command in the namespace with this instance's environment; its output. */
  run(cmd: string, argv: readonly string[]): string;
  /** SIGTERM to both daemons; waits up to 5 s for each, then SIGKILL. */
  stop(): Promise<void>;
}

export interface OvsDaemonOptions {
  /** Pins ovs-vswitchd to this CPU list (taskset -c). */
  readonly cpu?: string;
}

async function waitExit(pid: number): Promise<void> {
  for (let i = 0; i < 50; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await sleep(100);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

/** Starts ovsdb-server and ovs-vswitchd in namespace `ns` with their files in `dir` (which must exist). */
export async function startOvsDaemons(ns: string, dir: string, options: OvsDaemonOptions = {}): Promise<OvsDaemons> {
  const env = { ...process.env, OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir };
  const run = (cmd: string, argv: readonly string[]): string => inNs(ns, cmd, argv, env);
  const vsctl = (...argv: string[]): string => run('ovs-vsctl', ['--timeout=20', `--db=unix:${dir}/db.sock`, ...argv]);
  const pidFiles = ['ovs-vswitchd.pid', 'ovsdb-server.pid'].map((f) => join(dir, f));
  const stop = async (): Promise<void> => {
    for (const f of pidFiles) {
      let pid: number;
      try {
        pid = Number(readFileSync(f, 'utf8').trim());
        process.kill(pid, 'SIGTERM');
      } catch {
        continue; // never started, or gone
      }
      await waitExit(pid);
    }
  };
  try {
    sh('ovsdb-tool', ['create', `${dir}/conf.db`, '/usr/share/openvswitch/vswitch.ovsschema'], env);
    run('ovsdb-server', [`${dir}/conf.db`, `--remote=punix:${dir}/db.sock`, `--pidfile=${dir}/ovsdb-server.pid`,
      `--unixctl=${dir}/ovsdb-server.ctl`, '--detach', '--no-chdir', '-vconsole:emer', `--log-file=${dir}/ovsdb-server.log`]);
    vsctl('--no-wait', 'init');
    const vswitchd = ['ovs-vswitchd', `unix:${dir}/db.sock`, `--pidfile=${dir}/ovs-vswitchd.pid`,
      `--unixctl=${dir}/ovs-vswitchd.ctl`, '--detach', '--no-chdir', '-vconsole:emer', `--log-file=${dir}/ovs-vswitchd.log`];
    if (options.cpu !== undefined) run('taskset', ['-c', options.cpu, ...vswitchd]);
    else run(vswitchd[0] as string, vswitchd.slice(1));
  } catch (e) {
    await stop();
    throw e;
  }
  const pid = Number(readFileSync(pidFiles[0] as string, 'utf8').trim());
  return { dir, env, pid, vsctl, run, stop };
}
