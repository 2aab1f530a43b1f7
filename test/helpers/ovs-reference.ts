/**
 * A real Open vSwitch for differential tests: ovsdb-server and ovs-vswitchd in userspace, in their
 * own network namespace (their tap `ovs-netdev` would clash with any other userspace instance),
 * with one bridge `datapath_type=netdev protocols=OpenFlow10` and an OpenFlow listener
 * (`set-controller BR ptcp:PORT:127.0.0.1`) inside the namespace. ovs-ofctl reaches it with
 * `ip netns exec NS ovs-ofctl CMD tcp:127.0.0.1:PORT` (see ofctl.ts).
 *
 * Ports are veth pairs made inside the namespace: the bridge gets one end (named as asked, with
 * the MAC asked, OpenFlow number as asked); the other end stays in the namespace, up.
 * Everything is stopped by `stop()`, which t.teardown runs, and on process exit.
 *
 * `startOvsUserspace` is the same Open vSwitch without any bridge, for tests that configure it
 * themselves with ovs-vsctl (compare-ovs.test.ts runs the same ovs-vsctl steps against it and
 * against ofswitch).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNamespace, run, tryRun, type RunResult, type Teardownable } from './netns.js';

export interface ReferencePort {
  readonly name: string;
  readonly ofport: number;
  readonly mac?: string;
}

export interface OvsReferenceOptions {
  /** Datapath id, 16 hex digits. */
  readonly dpid?: string;
  readonly bridge?: string;
  /** MAC of the bridge's LOCAL port. */
  readonly bridgeMac?: string;
  readonly ports?: readonly ReferencePort[];
  readonly failMode?: 'secure' | 'standalone';
  /** TCP port of the OpenFlow listener inside the namespace; none when 0. */
  readonly listenPort?: number;
  /** Namespace tag (unique within the test process). */
  readonly tag?: string;
}

export interface OvsReference {
  readonly ns: string;
  readonly bridge: string;
  /** ovs-ofctl target inside the namespace: `tcp:127.0.0.1:PORT`. */
  readonly target: string;
  /** The bridge's management socket (reachable from the root namespace). */
  readonly mgmt: string;
  readonly dir: string;
  vsctl(args: readonly string[]): Promise<string>;
  stop(): Promise<void>;
}

const running = new Set<string>(); // pid files of daemons still running
let exitHooked = false;

function killPidFile(pidFile: string): void {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return;
  }
  if (!(pid > 0)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 20; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    execFileSync('sleep', ['0.1']);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.once('exit', () => {
    for (const f of running) killPidFile(f);
  });
}

/** Open vSwitch itself, without bridges: ovsdb-server and ovs-vswitchd in a namespace of their own. */
export interface OvsUserspace {
  readonly ns: string;
  /** OVS_RUNDIR, OVS_DBDIR and OVS_LOGDIR: the database, sockets, pid files, logs. */
  readonly dir: string;
  readonly env: Readonly<Record<string, string>>;
  /** `unix:DIR/db.sock`. */
  readonly db: string;
  /** ovs-vsctl --timeout=20 ARGS (waiting for ovs-vswitchd unless ARGS say --no-wait); rejects on failure. */
  vsctl(args: readonly string[]): Promise<string>;
  /** The same, resolving with the exit status and both outputs whatever the status. */
  tryVsctl(args: readonly string[], options?: { timeoutSec?: number }): Promise<RunResult>;
  /** ovs-appctl -t DIR/ovs-vswitchd.ctl ARGS. */
  tryAppctl(args: readonly string[]): Promise<RunResult>;
  stop(): Promise<void>;
}

/**
 * ovsdb-server and ovs-vswitchd in a new namespace `tag` (only one userspace Open vSwitch per
 * namespace: their tap `ovs-netdev` would clash), with a database holding the Open_vSwitch row and
 * no bridge. Stopped by t.teardown and on process exit.
 */
export async function startOvsUserspace(t: Teardownable, options: { tag?: string } = {}): Promise<OvsUserspace> {
  hookExit();
  const ns = await createNamespace(options.tag ?? 'ovs', t);
  const dir = mkdtempSync(join(tmpdir(), 'ofswitch-ovs-'));
  // Everything of this instance lives in `dir`: sockets, pid files, logs, the database.
  const env = { OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir };
  const db = `unix:${dir}/db.sock`;
  const pidFiles = [join(dir, 'ovs-vswitchd.pid'), join(dir, 'ovsdb-server.pid')];
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const f of pidFiles) {
      killPidFile(f);
      running.delete(f);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  t.teardown(stop);
  const vsctl = (args: readonly string[]): Promise<string> =>
    run('ovs-vsctl', ['--timeout=20', `--db=${db}`, ...args], undefined, { env });
  const tryVsctl = (args: readonly string[], o: { timeoutSec?: number } = {}): Promise<RunResult> =>
    tryRun('ovs-vsctl', [`--timeout=${o.timeoutSec ?? 20}`, `--db=${db}`, ...args], undefined, { env });
  const tryAppctl = (args: readonly string[]): Promise<RunResult> =>
    tryRun('ovs-appctl', ['-t', join(dir, 'ovs-vswitchd.ctl'), ...args], undefined, { env });

  await run('sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'], ns);
  await run('ovsdb-tool', ['create', join(dir, 'conf.db'), '/usr/share/openvswitch/vswitch.ovsschema'], undefined, { env });
  running.add(pidFiles[1] ?? '');
  await run('ovsdb-server', [
    `${dir}/conf.db`, `--remote=punix:${dir}/db.sock`, `--pidfile=${dir}/ovsdb-server.pid`, `--unixctl=${dir}/ovsdb-server.ctl`,
    '--detach', '--no-chdir', '-vconsole:emer', `--log-file=${dir}/ovsdb-server.log`,
  ], ns, { env });
  await vsctl(['--no-wait', 'init', '--', 'set', 'open_vswitch', '.', 'other_config:flow-limit=0']);
  running.add(pidFiles[0] ?? '');
  await run('ovs-vswitchd', [
    db, `--pidfile=${dir}/ovs-vswitchd.pid`, `--unixctl=${dir}/ovs-vswitchd.ctl`,
    '--detach', '--no-chdir', '-vconsole:emer', `--log-file=${dir}/ovs-vswitchd.log`,
  ], ns, { env });
  return { ns, dir, env, db, vsctl, tryVsctl, tryAppctl, stop };
}

export async function startOvsReference(t: Teardownable, options: OvsReferenceOptions = {}): Promise<OvsReference> {
  const bridge = options.bridge ?? 'br0';
  const { ns, dir, vsctl, stop } = await startOvsUserspace(t, options.tag !== undefined ? { tag: options.tag } : {});

  const bridgeSettings = [
    'datapath_type=netdev',
    'protocols=OpenFlow10',
    `fail_mode=${options.failMode ?? 'secure'}`,
    'other-config:disable-in-band=true',
  ];
  if (options.dpid) bridgeSettings.push(`other-config:datapath-id=${options.dpid}`);
  if (options.bridgeMac) bridgeSettings.push(`other-config:hwaddr=${options.bridgeMac}`);
  const args = ['add-br', bridge, '--', 'set', 'bridge', bridge, ...bridgeSettings];
  for (const p of options.ports ?? []) {
    await run('ip', ['link', 'add', p.name, 'type', 'veth', 'peer', 'name', `${p.name}-p`.slice(0, 15)], ns);
    if (p.mac) await run('ip', ['link', 'set', p.name, 'address', p.mac], ns);
    await run('ip', ['link', 'set', p.name, 'up'], ns);
    await run('ip', ['link', 'set', `${p.name}-p`.slice(0, 15), 'up'], ns);
    args.push('--', 'add-port', bridge, p.name, '--', 'set', 'interface', p.name, `ofport_request=${p.ofport}`);
  }
  await vsctl(args);
  const listenPort = options.listenPort ?? 6634;
  if (listenPort > 0) {
    await vsctl(['set-controller', bridge, `ptcp:${listenPort}:127.0.0.1`]);
    await waitForListener(ns, listenPort);
  }
  return { ns, bridge, target: `tcp:127.0.0.1:${listenPort}`, mgmt: `unix:${dir}/${bridge}.mgmt`, dir, vsctl, stop };
}

async function waitForListener(ns: string, port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const out = await run('ss', ['-Hltn', `sport = :${port}`], ns);
    if (out.trim() !== '') return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Open vSwitch did not listen on port ${port} in ${ns}`);
}
