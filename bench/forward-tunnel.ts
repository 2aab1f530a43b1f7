/**
 * The tunnel run of bench:forward (`npm run bench:forward -- --tunnel vxlan|geneve|gre`): frames per
 * second from one host to another through two switches joined by a tunnel, so every frame is
 * encapsulated by one switch and decapsulated by the other; ofswitch against Open vSwitch's
 * userspace datapath with its native tunnelling, on the same topology:
 *
 *   <p>tx (eth0) -veth- <p>a [namespace <p>sw: switch 1] <p>u1 -underlay veth- <p>u2 [namespace <p>s2: switch 2] <p>b -veth- (eth0) <p>rx
 *
 * Underlay 10.98.7.1/24 (switch 1) and 10.98.7.2/24 (switch 2). Each switch has the host port as
 * OpenFlow port 1 and the tunnel (key 100) as port 2, fail_mode=secure and the flows
 * `in_port=1,actions=output:2` and `in_port=2,actions=output:1`.
 * - ofswitch: two processes, `--port HOST --port t,type=KIND,options:remote_ip=...,options:key=100`;
 *   the underlay address on the veth itself (the host's IP stack carries the tunnel).
 * - Open vSwitch: two instances, each as its userspace-tunneling howto sets it up: bridge br-phy
 *   (netdev) holding the underlay veth with the address on br-phy's internal port, bridge bnbr
 *   (netdev, OpenFlow10) holding the host port and the tunnel port.
 * All switch processes are pinned to CPU 1 (two switches share it: the figure is the pair's), trafgen
 * to CPU 0 (bench/trafgen-rig.ts). 64-byte UDP frames, as fast as trafgen sends; received frames/s
 * at rx over all but the first second, and the CPU time (user + system) both switch processes used
 * over that window per frame received (with every process on CPU 1 saturated, the frames/s follow
 * whatever share of CPU 1 the machine's other load leaves; the CPU time per frame much less so);
 * `--runs` alternating runs (default 3), `--quick`: 1 run of 3 s.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startOvsDaemons } from './ovs-daemons.js';
import { FRAMES, TrafgenRig, alternating, benchArgs, cpuSeconds, fmtSpread, inNs, log, sh, spread, waitFor } from './trafgen-rig.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'dist', 'cli', 'ofswitch.js');
const QUICK = process.argv.includes('--quick');
const ARGS = benchArgs(QUICK ? 3 : 5);
const RUNS = QUICK ? 1 : ARGS.runs;
const KINDS = ['vxlan', 'geneve', 'gre'] as const;
type Kind = (typeof KINDS)[number];
const KEY = 100;
const NET = '10.98.7';
const SWITCH_CPU = '1';
const FLOWS = ['in_port=1,actions=output:2', 'in_port=2,actions=output:1'];

interface Side {
  readonly ns: string;
  readonly hostPort: string;
  readonly underlayIf: string;
  readonly ip: string;
  readonly remote: string;
}

/** Moves port b into a second switch namespace and joins the two with the underlay veth. */
function buildSides(rig: TrafgenRig, tag: string): [Side, Side] {
  const sw1 = rig.ns.sw as string;
  const sw2 = `${sw1}2`;
  sh('ip', ['netns', 'add', sw2]);
  rig.extraNamespaces.push(sw2);
  inNs(sw2, 'ip', ['link', 'set', 'lo', 'up']);
  inNs(sw2, 'sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  inNs(sw1, 'ip', ['link', 'set', rig.ports.b, 'netns', sw2]);
  inNs(sw2, 'ip', ['link', 'set', rig.ports.b, 'up']);
  const [u1, u2] = [`bn${tag}${process.pid}u1`, `bn${tag}${process.pid}u2`];
  inNs(sw1, 'ip', ['link', 'add', u1, 'type', 'veth', 'peer', 'name', u2, 'netns', sw2]);
  for (const [ns, dev] of [[sw1, u1], [sw2, u2]] as const) {
    inNs(ns, 'ethtool', ['-K', dev, 'rx', 'off', 'tx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off']);
    inNs(ns, 'ip', ['link', 'set', dev, 'up']);
  }
  return [
    { ns: sw1, hostPort: rig.ports.a, underlayIf: u1, ip: `${NET}.1`, remote: `${NET}.2` },
    { ns: sw2, hostPort: rig.ports.b, underlayIf: u2, ip: `${NET}.2`, remote: `${NET}.1` },
  ];
}

/** A started switch process: its pid (whose CPU time is counted) and how to stop it. */
interface Running {
  readonly pid: number;
  stop(): Promise<void>;
}

async function startOfswitchSide(rig: TrafgenRig, side: Side, kind: Kind): Promise<Running> {
  inNs(side.ns, 'ip', ['addr', 'add', `${side.ip}/24`, 'dev', side.underlayIf]);
  const proc = rig.track(
    spawn('ip', ['netns', 'exec', side.ns, 'taskset', '-c', SWITCH_CPU, process.execPath, CLI, '--port', side.hostPort,
      '--port', `t0,type=${kind},options:remote_ip=${side.remote},options:key=${KEY}`,
      '--fail-mode', 'secure', '--listen', 'ptcp:6634:127.0.0.1', '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'pipe'] }),
  );
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const ofctl = (...argv: string[]): string => inNs(side.ns, 'ovs-ofctl', ['-O', 'OpenFlow10', ...argv]);
  await waitFor(() => {
    if (proc.exitCode !== null) throw new Error(`ofswitch exited: ${err}`);
    try {
      ofctl('show', 'tcp:127.0.0.1:6634');
      return true;
    } catch {
      return false;
    }
  }, 15_000, () => `ofswitch to answer ovs-ofctl ${err}`);
  for (const f of FLOWS) ofctl('add-flow', 'tcp:127.0.0.1:6634', f);
  return {
    pid: proc.pid ?? -1, // ip netns exec and taskset exec node in the same process
    stop: async () => {
      const exited = new Promise((r) => proc.once('exit', r));
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        await exited;
      }
    },
  };
}

async function startOvsSide(rig: TrafgenRig, side: Side, kind: Kind, n: number): Promise<Running> {
  const dir = join(rig.workDir, `ovs${n}`);
  sh('mkdir', ['-p', dir]);
  const ovs = await startOvsDaemons(side.ns, dir, { cpu: SWITCH_CPU });
  try {
    ovs.vsctl('add-br', 'br-phy', '--', 'set', 'bridge', 'br-phy', 'datapath_type=netdev', '--', 'add-port', 'br-phy', side.underlayIf);
    ovs.run('ip', ['addr', 'add', `${side.ip}/24`, 'dev', 'br-phy']);
    ovs.run('ip', ['link', 'set', 'br-phy', 'up']);
    ovs.vsctl('add-br', 'bnbr', '--', 'set', 'bridge', 'bnbr', 'datapath_type=netdev', 'protocols=OpenFlow10', 'fail_mode=secure',
      'other-config:disable-in-band=true',
      '--', 'add-port', 'bnbr', side.hostPort, '--', 'set', 'interface', side.hostPort, 'ofport_request=1',
      '--', 'add-port', 'bnbr', 't0', '--', 'set', 'interface', 't0', `type=${kind}`, `options:remote_ip=${side.remote}`, `options:key=${KEY}`, 'ofport_request=2');
    for (const f of FLOWS) ovs.run('ovs-ofctl', ['-O', 'OpenFlow10', 'add-flow', 'bnbr', f]);
  } catch (e) {
    await ovs.stop();
    throw e;
  }
  return ovs;
}

/** One run: frames/s received, and the CPU time both switch processes spent per frame received (µs). */
async function runOnce(name: string, kind: Kind): Promise<{ pps: number; cpuUs: number }> {
  const tag = name === 'ofswitch' ? 'tw' : 'to';
  const rig = new TrafgenRig(tag, { switchNamespace: true });
  const running: Running[] = [];
  try {
    const sides = buildSides(rig, tag);
    for (const [i, side] of sides.entries()) running.push(name === 'ofswitch' ? await startOfswitchSide(rig, side, kind) : await startOvsSide(rig, side, kind, i));
    // The first second (the underlay's next-hop resolution among it) is not measured.
    const cpu: number[] = [];
    const m = await rig.measure(ARGS.seconds, { frame: FRAMES.oneFlow, during: () => void cpu.push(running.reduce((sum, r) => sum + cpuSeconds(r.pid), 0)) });
    const cpuUs = ((cpu[1]! - cpu[0]!) / (m.receivedPerSec * m.windowSec)) * 1e6;
    log(`  ${name.padEnd(8)} ${kind}: ${Math.round(m.receivedPerSec)} of ${Math.round(m.offeredPerSec)} frames/s offered, ${cpuUs.toFixed(1)} CPU µs a frame`);
    return { pps: m.receivedPerSec, cpuUs };
  } finally {
    for (const r of running) await r.stop();
    rig.cleanup();
  }
}

export async function tunnelBench(kindArg: string | undefined): Promise<void> {
  const kinds = kindArg === undefined || kindArg === 'all' ? KINDS : KINDS.filter((k) => k === kindArg);
  if (kinds.length === 0) throw new Error(`--tunnel ${kindArg}: not one of ${KINDS.join(', ')}, all`);
  log(`bench:forward --tunnel: ${RUNS} run(s) a switch and kind, ${ARGS.seconds} s each; encapsulation and decapsulation by two switches of a kind, all on CPU 1; trafgen on CPU 0`);
  type Spread = ReturnType<typeof spread>;
  const results: { kind: Kind; ofswitch: Spread; ovs: Spread; ratio: number; ofswitchCpuUs: Spread; ovsCpuUs: Spread }[] = [];
  for (const kind of kinds) {
    const runs = await alternating(['ofswitch', 'ovs'], RUNS, (name) => runOnce(name, kind));
    const [a, b] = [runs.get('ofswitch')!, runs.get('ovs')!];
    const [pa, pb] = [spread(a.map((r) => r.pps)), spread(b.map((r) => r.pps))];
    results.push({ kind, ofswitch: pa, ovs: pb, ratio: Number((pa.median / pb.median).toFixed(3)), ofswitchCpuUs: spread(a.map((r) => r.cpuUs), 1), ovsCpuUs: spread(b.map((r) => r.cpuUs), 1) });
  }
  if (ARGS.json) {
    process.stdout.write(`${JSON.stringify({ seconds: ARGS.seconds, runs: RUNS, node: process.version, tunnels: results }, null, 2)}\n`);
    return;
  }
  const us = (x: number): string => x.toFixed(1);
  console.log('\n| tunnel | ofswitch, frames/s | Open vSwitch 3.1 userspace, frames/s | ratio | CPU µs a frame, ofswitch | CPU µs a frame, Open vSwitch |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results)
    console.log(`| ${r.kind} | ${fmtSpread(r.ofswitch)} | ${fmtSpread(r.ovs)} | ${r.ratio.toFixed(2)} | ${fmtSpread(r.ofswitchCpuUs, us)} | ${fmtSpread(r.ovsCpuUs, us)} |`);
  console.log(`\nmedian (lowest–highest) of ${RUNS} run(s) each, alternating order; 64-byte frames, each encapsulated by one switch and decapsulated by another;`);
  console.log('CPU µs a frame: the CPU time (user + system) of both switch processes over the window, per frame received (less sensitive than frames/s to other load on the CPU)');
}
