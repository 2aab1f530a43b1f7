/**
 * The two switches the benchmarks compare, started the same way in a rig's switch namespace with
 * the rig's ports as OpenFlow ports 1 (to the sender) and 2 (to the receiver), pinned to CPU 1:
 * - ofswitch: `node dist/cli/ofswitch.js`, listening for ovs-ofctl on 127.0.0.1:6634 in the namespace;
 * - Open vSwitch 3.1 in userspace: ovsdb-server and ovs-vswitchd with a bridge of
 *   datapath_type=netdev and protocols=OpenFlow10, with its own OVS_RUNDIR/OVS_LOGDIR/OVS_DBDIR
 *   (the rig's scratch directory; /run/openvswitch is never used), reached by ovs-ofctl through
 *   the bridge's management socket. Its userspace datapath makes a tap named ovs-netdev, which is
 *   why it needs a namespace of its own.
 * Both run with fail_mode=secure (a miss goes to the controller, or is dropped without one), and
 * with `controller` connect to it at tcp:127.0.0.1:PORT inside the namespace.
 * `pid` is the process whose CPU time is the switch's (node; ovs-vswitchd).
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startOvsDaemons } from './ovs-daemons.js';
import { type TrafgenRig, inNs, waitFor } from './trafgen-rig.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'dist', 'cli', 'ofswitch.js');
const SWITCH_CPU = '1';
const BRIDGE = 'bnbr';

export const SWITCHES = ['ofswitch', 'ovs'] as const;
export type SwitchName = (typeof SWITCHES)[number];
export const SWITCH_LABEL: Record<SwitchName, string> = {
  ofswitch: 'ofswitch',
  ovs: 'Open vSwitch 3.1, userspace (netdev)',
};

export interface BenchSwitch {
  readonly name: SwitchName;
  /** The switch process (its utime + stime are the switch's CPU time). */
  readonly pid: number;
  /** Runs `ovs-ofctl -O OpenFlow10 COMMAND <this switch> ARGS...` and returns its stdout. */
  ofctl(command: string, ...args: string[]): string;
  /** The same without blocking this process (for measuring the switch while ovs-ofctl runs). */
  ofctlAsync(command: string, ...args: string[]): Promise<string>;
  /** Where an OpenFlow client in the switch namespace connects: tcp:IP:PORT or unix:PATH. */
  readonly openflowTarget: string;
  /**
   * Flows in the table (ovs-ofctl dump-aggregate), or null when the switch did not answer within
   * `timeoutSec` (a switch busy with traffic may not).
   */
  flowCount(timeoutSec?: number): number | null;
  stop(): Promise<void>;
}

export interface SwitchOptions {
  /** TCP port of a controller listening on 127.0.0.1 in the switch namespace. */
  controllerPort?: number;
  /** More of the rig's ports (its `extra` hosts'), as OpenFlow ports 3, 4, ... */
  extraPorts?: readonly string[];
  /**
   * Packet-ins per second the switch may send the controller (ofswitch --controller-rate-limit;
   * Open vSwitch's controller_rate_limit). Unset: each switch's default (Open vSwitch: no limit;
   * ofswitch: 10,000/s per kind, lib/packet-in-scheduler.ts).
   */
  controllerRateLimit?: number;
  /** sFlow at 1 in N packets (agent lo, a target on 127.0.0.1 in the switch namespace, other columns OVS's defaults). */
  sflowSampling?: number;
  /**
   * A select_all port mirror (OVS's Mirror table) to this port of the rig (an `extra` host's),
   * added after `extraPorts`: ofswitch through its --config "mirrors", Open vSwitch through ovs-vsctl.
   */
  mirrorPort?: string;
  /** NetFlow v5 export (a target on 127.0.0.1 in the switch namespace, active_timeout 60): ofswitch's --config "netflow", OVS's NetFlow row. */
  netflow?: boolean;
  /**
   * IPFIX bridge export at 1 in N packets (a target on 127.0.0.1 in the switch namespace, caching
   * on: cache_active_timeout 60, cache_max_flows 1000): ofswitch's --config "ipfix", OVS's IPFIX row.
   */
  ipfixSampling?: number;
}

/** Where the benchmarks' sFlow datagrams go (nobody listens: the agent's work is what is measured). */
const SFLOW_TARGET = '127.0.0.1:6343';
/** Where the benchmarks' NetFlow datagrams go (nobody listens). */
const NETFLOW_TARGET = '127.0.0.1:2055';
/** Where the benchmarks' IPFIX messages go (nobody listens). */
const IPFIX_TARGET = '127.0.0.1:4739';

export function startSwitch(name: SwitchName, rig: TrafgenRig, options: SwitchOptions = {}): Promise<BenchSwitch> {
  return name === 'ofswitch' ? startOfswitch(rig, options) : startOvs(rig, options);
}

function flowCountOf(ofctl: BenchSwitch['ofctl'], timeoutSec = 20): number | null {
  let out: string;
  try {
    out = ofctl(`--timeout=${timeoutSec}`, 'dump-aggregate');
  } catch {
    return null;
  }
  const m = /flow_count=(\d+)/.exec(out);
  if (!m) throw new Error(`dump-aggregate printed no flow_count: ${out}`);
  return Number(m[1]);
}

/** ovs-ofctl's argv: options (leading `--x`), the command, the target, the command's arguments. */
function ofctlArgs(argv: readonly string[], target: string): string[] {
  const options = argv.filter((a, i) => a.startsWith('--') && argv.slice(0, i).every((b) => b.startsWith('--')));
  const [command, ...rest] = argv.slice(options.length);
  return ['-O', 'OpenFlow10', ...options, command ?? 'show', target, ...rest];
}

/** `ip netns exec NS CMD ARGV...` without blocking; resolves with its stdout, rejects on failure. */
function inNsAsync(ns: string, cmd: string, argv: readonly string[], env?: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', ['netns', 'exec', ns, cmd, ...argv], { encoding: 'utf8', maxBuffer: 1 << 30, ...(env ? { env } : {}) }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${argv.join(' ')}: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

async function startOfswitch(rig: TrafgenRig, options: SwitchOptions): Promise<BenchSwitch> {
  const sw = rig.ns.sw as string;
  const controller = options.controllerPort !== undefined ? ['--controller', `tcp:127.0.0.1:${options.controllerPort}`] : [];
  if (options.controllerRateLimit !== undefined) controller.push('--controller-rate-limit', String(options.controllerRateLimit));
  // sFlow and port mirrors come from one --config file, as the Open vSwitch side gets them from rows.
  const config: Record<string, unknown> = {};
  if (options.sflowSampling !== undefined) config['sflow'] = { agent: 'lo', targets: [SFLOW_TARGET], sampling: options.sflowSampling };
  if (options.netflow === true) config['netflow'] = { targets: [NETFLOW_TARGET], active_timeout: 60 };
  if (options.ipfixSampling !== undefined) {
    config['ipfix'] = { targets: [IPFIX_TARGET], sampling: options.ipfixSampling, cache_active_timeout: 60, cache_max_flows: 1000 };
  }
  const mirror: string[] = [];
  if (options.mirrorPort !== undefined) {
    config['mirrors'] = [{ name: 'm0', selectAll: true, outputPort: options.mirrorPort }];
    mirror.push('--port', options.mirrorPort);
  }
  if (Object.keys(config).length > 0) {
    const file = join(rig.workDir, 'switch-config.json');
    writeFileSync(file, JSON.stringify(config));
    mirror.push('--config', file);
  }
  const proc = rig.track(
    spawn(
      'ip',
      ['netns', 'exec', sw, 'taskset', '-c', SWITCH_CPU, process.execPath, CLI, '--port', rig.ports.a, '--port', rig.ports.b,
        ...(options.extraPorts ?? []).flatMap((p) => ['--port', p]), ...mirror, '--fail-mode', 'secure', '--listen', 'ptcp:6634:127.0.0.1', '--log-level', 'warn', ...controller],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    ),
  );
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  // `ip netns exec` and taskset exec the next program in the same process: the pid is node's.
  const pid = proc.pid ?? -1;
  const ofctl = (...argv: string[]): string => inNs(sw, 'ovs-ofctl', ofctlArgs(argv, 'tcp:127.0.0.1:6634'));
  await waitFor(() => {
    if (proc.exitCode !== null) throw new Error(`ofswitch exited: ${err}`);
    try {
      ofctl('show');
      return true;
    } catch {
      return false;
    }
  }, 15_000, () => `ofswitch to answer ovs-ofctl ${err}`);
  const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  if (comm !== 'node') throw new Error(`expected ofswitch's pid ${pid} to be node, not ${comm}`);
  return {
    name: 'ofswitch',
    pid,
    ofctl,
    ofctlAsync: (...argv) => inNsAsync(sw, 'ovs-ofctl', ofctlArgs(argv, 'tcp:127.0.0.1:6634')),
    openflowTarget: 'tcp:127.0.0.1:6634',
    flowCount: (t) => flowCountOf(ofctl, t),
    stop: async () => {
      const exited = new Promise((r) => proc.once('exit', r));
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        await exited;
      }
    },
  };
}

async function startOvs(rig: TrafgenRig, options: SwitchOptions): Promise<BenchSwitch> {
  const dir = rig.workDir;
  const sw = rig.ns.sw as string;
  const ovs = await startOvsDaemons(sw, dir, { cpu: SWITCH_CPU });
  const { env, vsctl, stop } = ovs;
  const inSw = ovs.run;
  try {
    vsctl('add-br', BRIDGE, '--', 'set', 'bridge', BRIDGE, 'datapath_type=netdev', 'protocols=OpenFlow10',
      'fail_mode=secure', 'other-config:disable-in-band=true',
      '--', 'add-port', BRIDGE, rig.ports.a, '--', 'set', 'interface', rig.ports.a, 'ofport_request=1',
      '--', 'add-port', BRIDGE, rig.ports.b, '--', 'set', 'interface', rig.ports.b, 'ofport_request=2',
      ...(options.extraPorts ?? []).flatMap((p, i) => ['--', 'add-port', BRIDGE, p, '--', 'set', 'interface', p, `ofport_request=${i + 3}`]));
    if (options.mirrorPort !== undefined) {
      const m = options.mirrorPort;
      vsctl('add-port', BRIDGE, m, '--', 'set', 'interface', m, `ofport_request=${(options.extraPorts?.length ?? 0) + 3}`,
        '--', '--id=@p', 'get', 'port', m, '--', '--id=@m', 'create', 'mirror', 'name=m0', 'select-all=true', 'output-port=@p',
        '--', 'add', 'bridge', BRIDGE, 'mirrors', '@m');
    }
    if (options.controllerPort !== undefined) {
      vsctl('set-controller', BRIDGE, `tcp:127.0.0.1:${options.controllerPort}`);
      if (options.controllerRateLimit !== undefined)
        vsctl('set', 'controller', BRIDGE, `controller_rate_limit=${options.controllerRateLimit}`);
    }
    if (options.sflowSampling !== undefined) {
      vsctl('--', '--id=@s', 'create', 'sflow', 'agent=lo', `targets="${SFLOW_TARGET}"`, `sampling=${options.sflowSampling}`,
        '--', 'set', 'bridge', BRIDGE, 'sflow=@s');
    }
    if (options.netflow === true) {
      vsctl('--', 'set', 'bridge', BRIDGE, 'netflow=@nf', '--', '--id=@nf', 'create', 'NetFlow', `targets="${NETFLOW_TARGET}"`, 'active_timeout=60');
    }
    if (options.ipfixSampling !== undefined) {
      vsctl('--', 'set', 'bridge', BRIDGE, 'ipfix=@i', '--', '--id=@i', 'create', 'IPFIX', `targets="${IPFIX_TARGET}"`,
        `sampling=${options.ipfixSampling}`, 'cache_active_timeout=60', 'cache_max_flows=1000');
    }
  } catch (e) {
    await stop();
    throw e;
  }
  const ofctl = (...argv: string[]): string => inSw('ovs-ofctl', ofctlArgs(argv, BRIDGE));
  return {
    name: 'ovs', pid: ovs.pid, ofctl, flowCount: (t) => flowCountOf(ofctl, t), stop,
    ofctlAsync: (...argv) => inNsAsync(sw, 'ovs-ofctl', ofctlArgs(argv, BRIDGE), env),
    openflowTarget: `unix:${join(dir, `${BRIDGE}.mgmt`)}`,
  };
}
