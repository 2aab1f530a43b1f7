/**
 * sFlow configured as OVS users configure it, checked by real collectors on real packets between
 * test hosts (network namespaces):
 * - database mode: `ovs-vsctl -- --id=@s create sflow agent=lo targets=... -- set bridge BR sflow=@s`
 *   against ovsdb-server; two targets, one a UDP socket read by tshark's sFlow dissector, the
 *   other pmacct's sfacctd. With sampling=1 every ping frame appears once (input and output
 *   ifIndex the kernel's ifindex of the ports); counter samples match `ovs-ofctl dump-ports`;
 *   with sampling=100 the number of samples of a trafgen burst is within statistical bounds;
 *   clearing the bridge's sflow column stops the export.
 * - flag mode: the same from a `--config` file's `sflow` object.
 */
import t, { type Test } from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertRan, requireCommand, tryRun, type TestHost } from '../helpers/netns.js';
import { waitUntil, type DaemonRig } from '../helpers/daemon-rig.js';
import { freePort } from '../helpers/free-port.js';
import { bridgeHosts, flagModeHosts, rejectsConfig, startFlagSwitch } from '../helpers/flow-export-rig.js';
import { allValues, startSfacctd, tsharkFields, udpCollector, type UdpCollector } from './collectors.js';

requireCommand('tshark');
requireCommand('sfacctd');
requireCommand('trafgen');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** The ping payload pattern that marks the frames a test counts in the sampled headers. */
const PATTERN = 'a5c3';

const ifindex = (name: string): number => Number(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8').trim());

/** The flow samples (decoded by tshark) whose sampled header holds PATTERN, with their fields. */
interface Sample {
  input: number;
  output: number;
  icmpType: number;
  pool: number;
  rate: number;
}

const FLOW_FIELDS = ['sflow.flow_sample.input_interface', 'sflow.flow_sample.output_interface_value', 'sflow.flow_sample.sample_pool',
  'sflow.flow_sample.sampling_rate', 'sflow_245.header'];

async function flowSamples(t: Test, datagrams: readonly Buffer[], port: number): Promise<Sample[]> {
  const r = await tsharkFields(datagrams, port, FLOW_FIELDS);
  t.equal(r.code, 0, `tshark read ${datagrams.length} datagrams ${r.stderr.replace(/Running as user.*\n?/g, '').trim()}`);
  const out: Sample[] = [];
  for (const row of r.rows) {
    const headers = row['sflow_245.header'] ?? [];
    headers.forEach((hex, i) => {
      if (!hex.includes(PATTERN.repeat(4))) return;
      out.push({
        input: Number(row['sflow.flow_sample.input_interface']?.[i]),
        output: Number(row['sflow.flow_sample.output_interface_value']?.[i]),
        // ICMP type: after 14 bytes of Ethernet and a 20-byte IPv4 header.
        icmpType: parseInt(hex.slice(68, 70), 16),
        pool: Number(row['sflow.flow_sample.sample_pool']?.[i]),
        rate: Number(row['sflow.flow_sample.sampling_rate']?.[i]),
      });
    });
  }
  return out;
}

/** Waits past the agent's next once-a-second flush. */
const flushed = (): Promise<void> => sleep(1500);

async function pingPattern(t: Test, from: TestHost, to: TestHost, count: number): Promise<void> {
  const r = await tryRun('ping', ['-c', String(count), '-i', '0.2', '-W', '1', '-p', PATTERN, to.ip], from.ns);
  assertRan(t, r, `ping -c ${count} from ${from.ns}`);
}

/** The last counter sample for `ifIndex`: packets and octets in and out. */
async function lastCounters(t: Test, c: UdpCollector, ifIndex: number): Promise<{ inPkts: number; inOct: number; outPkts: number; outOct: number } | null> {
  const r = await tsharkFields(c.datagrams, c.port, ['sflow_245.ifindex', 'sflow_245.ifinpkt', 'sflow_245.ifinoct', 'sflow_245.ifoutpkt', 'sflow_245.ifoutoct']);
  t.equal(r.code, 0, 'tshark read the counter samples');
  let last = null;
  for (const row of r.rows) {
    (row['sflow_245.ifindex'] ?? []).forEach((idx, i) => {
      if (Number(idx) !== ifIndex) return;
      last = {
        inPkts: Number(row['sflow_245.ifinpkt']?.[i]),
        inOct: Number(row['sflow_245.ifinoct']?.[i]),
        outPkts: Number(row['sflow_245.ifoutpkt']?.[i]),
        outOct: Number(row['sflow_245.ifoutoct']?.[i]),
      };
    });
  }
  return last;
}

/** `ovs-ofctl dump-ports BR PORT`: rx/tx packets and bytes. */
async function dumpPort(t: Test, rig: DaemonRig, br: string, port: number): Promise<{ rxPkts: number; rxBytes: number; txPkts: number; txBytes: number }> {
  const r = await rig.ofctl(['dump-ports', br, String(port)]);
  assertRan(t, r, 'ovs-ofctl dump-ports');
  const num = (re: RegExp): number => Number(re.exec(r.stdout)?.[1] ?? NaN);
  return {
    rxPkts: num(/rx pkts=(\d+)/),
    rxBytes: num(/rx pkts=\d+, bytes=(\d+)/),
    txPkts: num(/tx pkts=(\d+)/),
    txBytes: num(/tx pkts=\d+, bytes=(\d+)/),
  };
}

t.test('database mode: ovs-vsctl create sflow, sampled by tshark and sfacctd', async (t) => {
  const { rig, br, h1, h2, dir } = await bridgeHosts(t, ['s1', 's2'], '10.83.0', 'sfbr');

  const collector = await udpCollector(t);
  const sfacctd = await startSfacctd(t, await freePort());
  await sleep(500); // sfacctd binding its port
  const targets = `["127.0.0.1:${collector.port}","127.0.0.1:${sfacctd.port}"]`;
  await rig.vsctl(['--', '--id=@s', 'create', 'sflow', 'agent=lo', `targets=${targets}`, 'header=128', 'sampling=1', 'polling=1',
    '--', 'set', 'bridge', br, 'sflow=@s'], { wait: true });
  await flushed();
  collector.datagrams.length = 0;

  // sampling=1: every frame of the pings, once.
  const PINGS = 10;
  await pingPattern(t, h1, h2, PINGS);
  await flushed();
  const samples = await flowSamples(t, collector.datagrams, collector.port);
  const requests = samples.filter((s) => s.icmpType === 8);
  const replies = samples.filter((s) => s.icmpType === 0);
  t.equal(requests.length, PINGS, `every echo request sampled once (${PINGS})`);
  t.equal(replies.length, PINGS, `every echo reply sampled once (${PINGS})`);
  t.same([...new Set(requests.map((s) => s.input))], [ifindex(h1.port)], 'requests: input ifIndex of h1\'s port (the kernel\'s)');
  t.same([...new Set(requests.map((s) => s.output))], [ifindex(h2.port)], 'requests: output ifIndex of h2\'s port');
  t.same([...new Set(replies.map((s) => s.input))], [ifindex(h2.port)], 'replies: input h2\'s port');
  t.same([...new Set(replies.map((s) => s.output))], [ifindex(h1.port)], 'replies: output h1\'s port');
  t.same([...new Set(samples.map((s) => s.rate))], [1], 'sampling rate 1');

  await waitUntil(() => sfacctd.packets((r) => r['SRC_IP'] === h1.ip && r['DST_IP'] === h2.ip && r['PROTOCOL'] === 'icmp') >= PINGS,
    'sfacctd counts the echo requests', 5000).catch(() => undefined);
  t.equal(sfacctd.packets((r) => r['SRC_IP'] === h1.ip && r['DST_IP'] === h2.ip && r['PROTOCOL'] === 'icmp'), PINGS,
    `sfacctd (the second target) counts ${PINGS} ICMP packets h1 -> h2`);
  t.equal(sfacctd.packets((r) => r['SRC_IP'] === h2.ip && r['DST_IP'] === h1.ip && r['PROTOCOL'] === 'icmp'), PINGS,
    `and ${PINGS} h2 -> h1`);

  // Counter samples (polling=1) against ovs-ofctl dump-ports, once the traffic is over.
  await sleep(2500);
  const counters = await lastCounters(t, collector, ifindex(h1.port));
  const ports = await dumpPort(t, rig, br, 1);
  t.ok(counters, 'counter samples for h1\'s port');
  t.ok(ports.rxPkts > PINGS, `dump-ports counted the pings (rx ${ports.rxPkts})`);
  if (counters) {
    t.ok(Math.abs(counters.inPkts - ports.rxPkts) <= 3, `ifInUcastPkts ${counters.inPkts} ~ dump-ports rx pkts ${ports.rxPkts}`);
    t.ok(Math.abs(counters.outPkts - ports.txPkts) <= 3, `ifOutUcastPkts ${counters.outPkts} ~ tx pkts ${ports.txPkts}`);
    t.ok(Math.abs(counters.inOct - ports.rxBytes) <= 3 * 1518, `ifInOctets ${counters.inOct} ~ rx bytes ${ports.rxBytes}`);
    t.ok(Math.abs(counters.outOct - ports.txBytes) <= 3 * 1518, `ifOutOctets ${counters.outOct} ~ tx bytes ${ports.txBytes}`);
  }

  // sampling=100 on a burst of 20,000 frames.
  const uuid = (await rig.vsctl(['get', 'bridge', br, 'sflow'])).trim();
  await rig.vsctl(['set', 'sflow', uuid, 'sampling=100', 'polling=0'], { wait: true });
  await flushed();
  collector.datagrams.length = 0;
  const before = await dumpPort(t, rig, br, 1);
  const conf = join(dir, 'burst.cfg');
  // UDP frames to h2 carrying the pattern, so they are told apart from anything else.
  writeFileSync(conf, `{ eth(da=${h2.mac}, sa=${h1.mac}, type=0x0800), ipv4(saddr=${h1.ip}, daddr=${h2.ip}, proto=17, ttl=64), ` +
    `udp(sp=1000, dp=9), ${Array.from({ length: 24 }, (_, i) => `0x${PATTERN.slice((i % 2) * 2, (i % 2) * 2 + 2)}`).join(', ')} }\n`);
  const FRAMES = 20_000;
  const gen = await tryRun('trafgen', ['--dev', 'eth0', '--conf', conf, '-P', '1', '-q', '--rate', '10000pps', '-n', String(FRAMES)], h1.ns);
  t.equal(gen.code, 0, `trafgen sent ${FRAMES} frames ${gen.stderr.trim()}`);
  await flushed();
  const after = await dumpPort(t, rig, br, 1);
  const seen = after.rxPkts - before.rxPkts;
  // A loaded machine may lose some in the socket's ring (rx_dropped): the sampler sees only the rest.
  t.ok(seen >= FRAMES / 2, `the switch took ${seen} of ${FRAMES} frames`);
  const burst = (await flowSamples(t, collector.datagrams, collector.port)).filter((s) => s.input === ifindex(h1.port));
  const expected = seen / 100;
  const sigma = Math.sqrt(expected); // a binomial's, larger than the countdown's (skips uniform in 1..199)
  t.ok(Math.abs(burst.length - expected) <= 4 * sigma,
    `${burst.length} samples of ${seen} frames at 1:100, within 4 sigma of ${expected.toFixed(0)} (sigma ${sigma.toFixed(1)})`);
  t.same([...new Set(burst.map((s) => s.rate))], [100], 'sampling rate 100 in every sample');
  const pools = burst.map((s) => s.pool);
  t.ok(pools.every((p, i) => i === 0 || p > pools[i - 1]!), 'the sample pool only grows');
  if (pools.length > 1) {
    const spanned = pools[pools.length - 1]! - pools[0]!;
    t.ok(Math.abs(spanned - seen) <= 2 * 200, `the pool grew by ${spanned} between the first and last sample, the frames seen (${seen}) but for the ends`);
  }

  // A target that is no IP:PORT: logged, and nothing exported; then clearing the bridge's sflow
  // column stops the export.
  await rig.vsctl(['set', 'sflow', uuid, 'targets="collector.invalid:6343"'], { wait: true });
  const logged = (): boolean => rig.proc.stderr().split('\n').some((l) => l.includes('cannot configure sFlow') && l.includes('collector.invalid'));
  await waitUntil(logged, 'the daemon logs the bad target', 5000).catch(() => undefined);
  t.ok(logged(), 'a bad target is logged with its name') || t.comment(rig.proc.stderr().slice(-3000));
  await rig.vsctl(['clear', 'bridge', br, 'sflow'], { wait: true });
  await flushed();
  collector.datagrams.length = 0;
  await pingPattern(t, h1, h2, 3);
  await flushed();
  t.equal(collector.datagrams.length, 0, 'no datagram once the bridge has no sFlow row');
});

t.test('flag mode: the --config file\'s sflow object', async (t) => {
  const hosts = await flagModeHosts(t, ['c1', 'c2'], '10.84.0');
  const { h1, h2, dir } = hosts;
  const collector = await udpCollector(t);
  await startFlagSwitch(t, hosts, {
    sflow: { targets: [`127.0.0.1:${collector.port}`], agent: '127.0.0.1', sampling: 1, polling: 1, header: 96 },
  }, /sFlow agent started/, 'the switch says sFlow is on');
  await flushed();
  collector.datagrams.length = 0;
  await pingPattern(t, h1, h2, 5);
  await flushed();
  const samples = await flowSamples(t, collector.datagrams, collector.port);
  t.equal(samples.filter((s) => s.icmpType === 8).length, 5, 'every echo request sampled');
  t.equal(samples.filter((s) => s.icmpType === 0).length, 5, 'every echo reply sampled');
  const r = await tsharkFields(collector.datagrams, collector.port, ['sflow_245.agent', 'sflow_245.header.sampled_header_length', 'sflow_245.ifindex']);
  t.same([...new Set(allValues(r, 'sflow_245.agent'))], ['127.0.0.1'], 'the agent address from the file');
  const lengths = allValues(r, 'sflow_245.header.sampled_header_length').map(Number);
  t.equal(Math.max(...lengths), 96, 'header at most 96 bytes, from the file (shorter frames whole)');
  t.ok(allValues(r, 'sflow_245.ifindex').map(Number).includes(ifindex(h1.port)), 'counter samples for the ports');

  await rejectsConfig(t, dir, { ports: [h1.port], sflow: { targets: ['nowhere:6343'] } },
    'a bad sFlow target: exit 2', /sFlow target "nowhere:6343" is not IP:PORT/, 'with one message naming it');
  await rejectsConfig(t, dir, { ports: [h1.port], sflow: { targets: ['127.0.0.1'], sample: 5 } },
    'an unknown sFlow key: exit 2', /unknown sflow setting "sample"/);
});
