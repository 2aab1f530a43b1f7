/**
 * Test rig for egress queues: three test hosts (h1, h2 senders, h3 receiver) on one ofswitch
 * bridge configured with ovs-vsctl in database mode, flows that ENQUEUE what h1 and h2 send to h3
 * into two queues of h3's port, and iperf3 between them.
 */
import type { Test } from 'tap';
import { addHost, run, spawnIn, uniqueName, waitTcpListening, type TestHost } from '../helpers/netns.js';
import { startDaemonRig, type DaemonRig } from '../helpers/daemon-rig.js';

export interface QosRig {
  readonly rig: DaemonRig;
  readonly br: string;
  readonly h1: TestHost;
  readonly h2: TestHost;
  readonly h3: TestHost;
}

/** A bridge with h1, h2, h3 on OpenFlow ports 1, 2, 3; `net`: the second octet of 10.N.0.0/24. */
export async function startQosRig(t: Test, net: number): Promise<QosRig> {
  const rig = await startDaemonRig(t);
  const h1 = await addHost(t, 'q1', { ip: `10.${net}.0.1/24` });
  const h2 = await addHost(t, 'q2', { ip: `10.${net}.0.2/24` });
  const h3 = await addHost(t, 'q3', { ip: `10.${net}.0.3/24` });
  const br = uniqueName('qbr');
  rig.owns(br);
  await rig.vsctl(['add-br', br, '--', 'set', 'bridge', br, 'fail-mode=secure'], { wait: true });
  for (const [i, h] of [h1, h2, h3].entries())
    await rig.vsctl(['add-port', br, h.port, '--', 'set', 'interface', h.port, `ofport_request=${i + 1}`], { wait: true });
  return { rig, br, h1, h2, h3 };
}

/** Flows: h1's and h2's IPv4 to h3 enqueued on port 3 in `q1` and `q2`; everything else NORMAL. */
export async function enqueueFlows(r: QosRig, q1: number, q2: number): Promise<void> {
  const flows = [
    `priority=10,ip,in_port=1,nw_dst=${r.h3.ip},actions=enqueue:3:${q1}`,
    `priority=10,ip,in_port=2,nw_dst=${r.h3.ip},actions=enqueue:3:${q2}`,
    'priority=0,actions=NORMAL',
  ];
  for (const f of flows) {
    const res = await r.rig.ofctl(['add-flow', r.br, f]);
    if (res.code !== 0) throw new Error(`ovs-ofctl add-flow ${f}: ${res.stderr}`);
  }
}

/** What iperf3 -J reports the receiver got, in bits/s. */
function receivedBps(json: string): number {
  const report = JSON.parse(json) as { end?: { sum_received?: { bits_per_second?: number } }; error?: string };
  if (report.error) throw new Error(`iperf3: ${report.error}`);
  const bps = report.end?.sum_received?.bits_per_second;
  if (typeof bps !== 'number') throw new Error('iperf3 reported no received rate');
  return bps;
}

/**
 * TCP streams at once, each `[from, to]` to an iperf3 server of its own on `to`, for `seconds`
 * (the first second left out as TCP's start): the rate each delivered, in bits/s.
 */
export async function streams(pairs: readonly (readonly [TestHost, TestHost])[], seconds: number): Promise<number[]> {
  const servers = pairs.map(([, to], i) => spawnIn('iperf3', ['-s', '-1', '-p', String(5201 + i)], to.ns));
  try {
    await Promise.all(pairs.map(([, to], i) => waitTcpListening(to.ns, 5201 + i))); // until it listens: a fixed pause was too short on a loaded machine
    const reports = await Promise.all(
      pairs.map(([from, to], i) => run('iperf3', ['-c', to.ip, '-p', String(5201 + i), '-t', String(seconds), '-O', '1', '-J'], from.ns)),
    );
    return reports.map(receivedBps);
  } finally {
    for (const s of servers) s.kill();
  }
}

/** Two TCP streams at once, h1 -> h3 and h2 -> h3 (see streams). */
export async function twoStreams(r: QosRig, seconds: number): Promise<[number, number]> {
  const [a = 0, b = 0] = await streams([[r.h1, r.h3], [r.h2, r.h3]], seconds);
  return [a, b];
}

/** TCP payload per frame as HTB counts it: 1448 of 1514 bytes (MTU 1500, TCP timestamps). */
export const GOODPUT = 1448 / 1514;

/** Whether `bps` of TCP payload is within 10 % of what a class of `rate` bits/s lets through. */
export function within10(bps: number, rate: number): boolean {
  return Math.abs(bps - rate * GOODPUT) <= 0.1 * rate * GOODPUT;
}

/** `tc -s class show dev DEV`'s counters by class ("1:2" -> packets, bytes, dropped). */
export async function tcClasses(dev: string): Promise<Map<string, { packets: number; bytes: number; dropped: number }>> {
  const text = await run('tc', ['-s', 'class', 'show', 'dev', dev]);
  const out = new Map<string, { packets: number; bytes: number; dropped: number }>();
  for (const m of text.matchAll(/^class htb (\S+) [^\n]*\n\s*Sent (\d+) bytes (\d+) pkt \(dropped (\d+)/gm))
    out.set(m[1] as string, { bytes: Number(m[2]), packets: Number(m[3]), dropped: Number(m[4]) });
  return out;
}
