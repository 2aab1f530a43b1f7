/**
 * Policing with real traffic, configured by the stock ovs-vsctl in database mode: two test hosts
 * on a standalone bridge of ofswitch (in ovs-vswitchd's place), iperf3 between them.
 *
 * - Ingress: `ovs-vsctl set interface P ingress_policing_rate=10000 ingress_policing_burst=5000`
 *   on the sender's port: iperf3 UDP offered at 100 Mbit/s arrives at 10 Mbit/s (the receiver's
 *   figure; the switch's own counters say the policer passed the rate within 10 %); the port's rx_dropped (ovs-ofctl dump-ports) grows and the drop record
 *   names the reason; a TCP stream settles near the rate; rate 0 lets UDP through far above it.
 * - Egress: a QoS row of type egress-policer (cir 1,250,000 bytes/s = 10 Mbit/s, cbs) on the
 *   receiver's port does the same on transmit, counted in tx_dropped; removing the QoS lifts it.
 *
 * - Flag mode: the same settings on a `--config` file's port (ingress and egress-policer on one port).
 *
 * Rates: the policers count IP bytes (the frame less its Ethernet header); iperf3 reports UDP
 * payload, 28 bytes less per datagram, so 10 Mbit/s of policing shows as about 9.8. The first second
 * is left out of the UDP figures (iperf3 -O 1), so that what the full bucket held at the start
 * (drained within the first 60 ms) is not counted; the bucket is large (5 Mbit, half a second of the
 * rate), so that the switch's process stalling for a moment on a loaded machine loses no tokens. The
 * upper bounds catch a missing limiter (the sender offers ten times the rate); the lower ones a
 * policer that drops too much.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { addHost, assertRan, spawnIn, tryRun, uniqueName, waitTcpListening, type TestHost } from '../helpers/netns.js';
import { startDaemonRig, type DaemonRig } from '../helpers/daemon-rig.js';
import { freePort } from '../helpers/free-port.js';
import { startOfswitch } from '../helpers/ofswitch-process.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Rig {
  rig: DaemonRig;
  br: string;
  h1: TestHost;
  h2: TestHost;
}

async function setup(t: Test, tag: string, net: number): Promise<Rig> {
  const rig = await startDaemonRig(t);
  const h1 = await addHost(t, `${tag}1`, { ip: `10.${net}.0.1/24` });
  const h2 = await addHost(t, `${tag}2`, { ip: `10.${net}.0.2/24` });
  const br = uniqueName(`${tag}b`);
  rig.owns(br);
  await rig.vsctl(['add-br', br], { wait: true });
  await rig.vsctl(['add-port', br, h1.port], { wait: true });
  await rig.vsctl(['add-port', br, h2.port], { wait: true });
  for (let i = 0; i < 10; i++) if ((await tryRun('ping', ['-c', '1', '-W', '1', h2.ip], h1.ns)).code === 0) break;
  return { rig, br, h1, h2 };
}

interface Iperf {
  /** What the receiver got, in Mbit/s. */
  readonly receivedMbps: number;
  readonly sentMbps: number;
}

/** iperf3 from h1 to h2 for `seconds`: UDP at `udpMbps`, or TCP when it is undefined; the receiver's figure. */
async function iperf(t: Test, from: TestHost, to: TestHost, seconds: number, udpMbps?: number): Promise<Iperf> {
  const server = spawnIn('iperf3', ['-s', '-1', '-B', to.ip], to.ns);
  t.teardown(() => void server.kill());
  const exited = new Promise((r) => server.once('exit', r));
  await waitTcpListening(to.ns, 5201); // until it listens: a fixed pause was too short on a loaded machine
  // UDP: the first second is left out of the figures (-O 1): the full bucket's start is not the rate.
  const udp = udpMbps === undefined ? [] : ['-u', '-b', `${udpMbps}M`, '-O', '1'];
  const client = await tryRun('iperf3', ['-c', to.ip, '-t', String(seconds), '-J', ...udp], from.ns);
  await Promise.race([exited, sleep(2000)]);
  t.equal(client.code, 0, `iperf3 ${udpMbps === undefined ? 'TCP' : 'UDP'} ran${client.code ? `: ${client.stdout.slice(-300)}${client.stderr}` : ''}`);
  type End = { end?: { sum_sent?: { bits_per_second?: number }; sum_received?: { bits_per_second?: number }; sum?: { bits_per_second?: number } } };
  const end = (JSON.parse(client.stdout || '{}') as End).end;
  const received = end?.sum_received?.bits_per_second ?? 0;
  const sent = end?.sum_sent?.bits_per_second ?? end?.sum?.bits_per_second ?? 0;
  t.ok(received > 0, `the receiver reported a rate (${(received / 1e6).toFixed(2)} Mbit/s of ${(sent / 1e6).toFixed(2)} sent)`);
  return { receivedMbps: received / 1e6, sentMbps: sent / 1e6 };
}

/** A port's counters as ovs-ofctl dump-ports prints them. */
interface Counters {
  rxPkts: number;
  rxBytes: number;
  rxDrop: number;
  txPkts: number;
  txBytes: number;
  txDrop: number;
}

async function portCounters(t: Test, r: Rig, port: string): Promise<Counters> {
  const ofport = (await r.rig.vsctl(['get', 'Interface', port, 'ofport'])).trim();
  const dump = await r.rig.ofctl(['dump-ports', r.br, ofport]);
  assertRan(t, dump, 'ovs-ofctl dump-ports', { output: true });
  const rx = /rx pkts=(\d+), bytes=(\d+), drop=(\d+)/.exec(dump.stdout);
  const tx = /tx pkts=(\d+), bytes=(\d+), drop=(\d+)/.exec(dump.stdout);
  const n = (m: RegExpExecArray | null, i: number): number => Number(m?.[i] ?? -1);
  return { rxPkts: n(rx, 1), rxBytes: n(rx, 2), rxDrop: n(rx, 3), txPkts: n(tx, 1), txBytes: n(tx, 2), txDrop: n(tx, 3) };
}

/**
 * What the policer let through, from the switch's own counters, against what it should: the
 * bucket it started with plus `seconds` of the rate, in IP bytes (frames less their Ethernet
 * header). Within 10 %: the policer itself, whatever the receiving host lost after it.
 */
function checkPassed(t: Test, what: string, frames: number, bytes: number, bucket: number, rate: number, seconds: number): void {
  const ip = bytes - 14 * frames;
  const want = bucket + rate * seconds;
  t.ok(Math.abs(ip - want) <= 0.1 * want, `${what}: the switch passed ${ip} IP bytes, ${(ip / want).toFixed(3)} of the bucket plus ${seconds} s of the rate (${want})`);
}

/**
 * The receiver's figure. The upper bound is the issue's 10 % (it catches a missing or lax limiter:
 * the sender offers ten times the rate, and load only ever lowers a rate); the lower one is half the
 * rate: on a loaded two-core machine the receiving iperf3 may be starved long enough for its socket
 * buffer to overflow after the switch (a stress run of four test files at once on a machine already
 * loaded received 7.7 Mbit/s). The policer itself is held to 10 % both ways by checkPassed, from the
 * switch's own counters, which no starved receiver changes.
 */
function checkReceived(t: Test, what: string, r: Iperf): void {
  t.ok(r.sentMbps > 30, `${what}: the sender offered far more than the rate (${r.sentMbps.toFixed(1)} Mbit/s)`);
  t.ok(r.receivedMbps >= 5 && r.receivedMbps <= 11, `${what}: arrives at 10 Mbit/s (${r.receivedMbps.toFixed(2)} Mbit/s)`);
}

t.test('ingress policing from ovs-vsctl: UDP at 100 Mbit/s arrives at 10, TCP settles near it, 0 disables', async (t) => {
  const r = await setup(t, 'pi', 91);
  const { rig, h1, h2 } = r;
  await rig.vsctl(['set', 'interface', h1.port, 'ingress_policing_rate=10000', 'ingress_policing_burst=5000'], { wait: true });
  t.equal((await rig.vsctl(['get', 'interface', h1.port, 'ingress_policing_rate'])).trim(), '10000', 'the column holds the rate');
  const before = await portCounters(t, r, h1.port);

  const udp = await iperf(t, h1, h2, 5, 100);
  checkReceived(t, 'UDP through a 10 Mbit/s ingress policer', udp);
  const after = await portCounters(t, r, h1.port);
  checkPassed(t, 'ingress', after.rxPkts - before.rxPkts, after.rxBytes - before.rxBytes, (5000 * 1024) / 8, 1_250_000, 6); // 5 s and the 1 s omitted
  t.ok(after.rxDrop - before.rxDrop > 1000, `the policed port's rx_dropped grew (${before.rxDrop} -> ${after.rxDrop})`);
  const drops = await rig.appctl(['ofswitch/drops', r.br]);
  assertRan(t, drops, 'ovs-appctl ofswitch/drops', { output: true });
  t.match(drops.stdout, /drop: over the ingress policing rate of the input port/, 'the drop record names the policer');

  // TCP backs off to what the policer lets through (default burst: 8000 kbit).
  await rig.vsctl(['set', 'interface', h1.port, 'ingress_policing_burst=0'], { wait: true });
  const tcp = await iperf(t, h1, h2, 5);
  t.ok(tcp.receivedMbps >= 4 && tcp.receivedMbps <= 12.5, `a TCP stream settles near the 10 Mbit/s rate (${tcp.receivedMbps.toFixed(2)} Mbit/s)`);

  // 0 disables: the same UDP stream passes far above 10 Mbit/s, and nothing more is dropped for policing.
  await rig.vsctl(['set', 'interface', h1.port, 'ingress_policing_rate=0'], { wait: true });
  assertRan(t, await rig.appctl(['ofswitch/drops-clear', r.br]), 'ovs-appctl ofswitch/drops-clear');
  const free = await iperf(t, h1, h2, 3, 100);
  t.ok(free.receivedMbps > 30, `with rate 0 the stream is not policed (${free.receivedMbps.toFixed(1)} Mbit/s)`);
  const later = await rig.appctl(['ofswitch/drops', r.br]);
  assertRan(t, later, 'ovs-appctl ofswitch/drops', { output: true });
  t.notMatch(later.stdout, /policing/, 'and nothing more is dropped for policing (a full receive ring may drop some: not the policer)');
});

t.test('QoS egress-policer from ovs-vsctl: UDP leaving a port is policed to cir, counted in tx_dropped', async (t) => {
  const r = await setup(t, 'pe', 92);
  const { rig, h1, h2 } = r;
  // cir 1,250,000 bytes/s = 10 Mbit/s of IP packets; cbs 625,000 bytes (5 Mbit).
  const qos = (
    await rig.vsctl(
      ['set', 'port', h2.port, 'qos=@q', '--', '--id=@q', 'create', 'qos', 'type=egress-policer', 'other-config:cir=1250000', 'other-config:cbs=625000'],
      { wait: true },
    )
  ).trim();
  const before = await portCounters(t, r, h2.port);
  const udp = await iperf(t, h1, h2, 5, 100);
  checkReceived(t, 'UDP through a 10 Mbit/s egress-policer', udp);
  const after = await portCounters(t, r, h2.port);
  checkPassed(t, 'egress', after.txPkts - before.txPkts, after.txBytes - before.txBytes, 625_000, 1_250_000, 6); // 5 s and the 1 s omitted
  t.ok(after.txDrop - before.txDrop > 1000, `the policed port's tx_dropped grew (${before.txDrop} -> ${after.txDrop})`);
  t.equal(after.rxDrop, before.rxDrop, 'its rx_dropped did not');
  const drops = await rig.appctl(['ofswitch/drops', r.br]);
  t.match(drops.stdout, /drop: over the egress-policer rate of output port \d+/, 'the drop record names the egress policer');

  // A TCP stream settles near the rate, with a bucket as large as ingress policing's default (8000 kbit).
  await rig.vsctl(['set', 'qos', qos, 'other-config:cbs=1024000'], { wait: true });
  const tcp = await iperf(t, h1, h2, 5);
  t.ok(tcp.receivedMbps >= 4 && tcp.receivedMbps <= 12.5, `a TCP stream settles near the 10 Mbit/s rate (${tcp.receivedMbps.toFixed(2)} Mbit/s)`);

  // Removing the QoS lifts the limit.
  await rig.vsctl(['clear', 'port', h2.port, 'qos'], { wait: true });
  const free = await iperf(t, h1, h2, 3, 100);
  t.ok(free.receivedMbps > 30, `without the QoS the stream is not policed (${free.receivedMbps.toFixed(1)} Mbit/s)`);
});

t.test('flag mode: a --config port with ingress policing and an egress-policer', async (t) => {
  const h1 = await addHost(t, 'pf1', { ip: '10.93.0.1/24' });
  const h2 = await addHost(t, 'pf2', { ip: '10.93.0.2/24' });
  const dir = mkdtempSync(join(tmpdir(), 'ofpolicing-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'config.json');
  writeFileSync(
    file,
    JSON.stringify({
      ports: [{ name: h1.port, ingress_policing_rate: 10000, ingress_policing_burst: 5000, egress_policer_cir: 1250000, egress_policer_cbs: 625000 }, h2.port],
      listen: [`ptcp:${await freePort()}:127.0.0.1`],
    }),
  );
  const sw = await startOfswitch(t, ['--config', file], { timeoutMs: 30_000 }); // a loaded machine may take its time
  t.match(sw.stderr(), /ingress policing set/, 'the switch logs the ingress policer');
  t.match(sw.stderr(), /egress policing set/, 'and the egress one');
  for (let i = 0; i < 10; i++) if ((await tryRun('ping', ['-c', '1', '-W', '1', h2.ip], h1.ns)).code === 0) break;
  checkReceived(t, 'h1 -> h2, policed on receive', await iperf(t, h1, h2, 5, 100));
  checkReceived(t, 'h2 -> h1, policed on transmit', await iperf(t, h2, h1, 5, 100));
});
