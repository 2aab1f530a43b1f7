/**
 * The IPFIX exporter on its own (ipfix/): the messages it makes for frames it is given, read back
 * by an independent RFC 7011 reader (decode.ts): OVS's templates and their ids, the Options
 * Template and exporter statistics, sampling, ingress and egress records, the flow-key fields of
 * IPv4, IPv6, VLAN and non-IP frames, the counters, the cache's end reasons (active timeout, lack of
 * resources, forced end), template resends, sequence numbers per observation domain, messages
 * split at 1024 bytes; and the settings as OVS's IPFIX table defines them.
 */
import t from 'tap';
import { newFlowKey } from '../../flowtable/flow-key.js';
import { newFrameLayout, parseFrame } from '../../datapath/frame-parser.js';
import { IpfixExporter, ipfixConfig, parseIpfixTarget, IpfixError, type IpfixSettings } from '../../ipfix/index.js';
import { allTemplates, templateId, OPTIONS_TEMPLATE_ID_EXPORTER_STATS } from '../../ipfix/templates.js';
import { encodeDataMessages } from '../../ipfix/message.js';
import { createSwitch } from '../../lib/switch.js';
import { ethFrame, icmpMessage, ipv4Packet, ipv6, ipv6Packet, tcpSegment, udpDatagram, withL4Checksum4, withL4Checksum6 } from '../datapath/frames.js';
import { udpCollector } from '../sflow/collectors.js';
import { waitUntil } from '../helpers/daemon-rig.js';
import { Decoder, type Message } from './decode.js';

const T0 = 1_700_000_000_000_000; // µs

interface Rig {
  e: IpfixExporter;
  sent: Buffer[];
  decoder: Decoder;
  clock: { us: number };
  /** Decoded messages sent since the last call. */
  take(): Message[];
  feed(frame: Uint8Array, inPort: number, outPorts: number[]): void;
}

function rig(settings: Partial<IpfixSettings>, random: () => number = () => 0): Rig {
  const config = ipfixConfig({ targets: ['127.0.0.1:4739'], sampling: 1, obs_domain_id: 42, ...settings })!;
  const sent: Buffer[] = [];
  const clock = { us: T0 };
  const e = new IpfixExporter({
    config, timer: false, send: (m) => sent.push(m), nowUs: () => clock.us, random,
    portInfo: (p) => (p === 99 ? undefined : { name: `port${p}`, ifindex: 100 + p }),
  });
  const decoder = new Decoder();
  let seen = 0;
  const key = newFlowKey();
  const layout = newFrameLayout();
  return {
    e, sent, decoder, clock,
    take: () => sent.slice(seen, (seen = sent.length)).map((m) => decoder.decode(m)),
    feed(frame, inPort, outPorts) {
      parseFrame(frame, inPort, key, layout);
      e.account(key, frame, layout.l3Offset, layout.l4Offset, outPorts.length === 1 ? outPorts[0]! : 0xfffe, outPorts, outPorts.length);
    },
  };
}

const icmp = (o: { tos?: number; ttl?: number } = {}): Uint8Array => ethFrame(0x0800, ipv4Packet({ proto: 1, ...o }, icmpMessage(8, 0)));

t.test('templates, Options Template and exporter statistics at start', async (t) => {
  const r = rig({});
  const msgs = r.take();
  t.ok(msgs.every((m) => m.version === 10 && m.length === r.sent[msgs.indexOf(m)]!.length), 'version 10, length the message\'s');
  t.equal(msgs[0]!.exportTime, Math.ceil(T0 / 1e6), 'export time: seconds, rounded up');
  const tmpl = msgs.filter((m) => m.sets[0]!.id === 2);
  t.equal(tmpl.flatMap((m) => m.templates).length, 88, '88 templates');
  t.ok(tmpl.every((m) => m.domain === 42 && m.sequence === 0), 'in the configured domain, sequence 0');
  t.ok(tmpl.slice(0, -1).every((m) => m.length >= 1024 && m.length < 1024 + 200), 'a message closes once it reaches 1024 bytes');
  t.same(tmpl.flatMap((m) => m.templates.map((x) => x.id)), allTemplates(false).map((x) => x.id), 'in OVS\'s order');
  t.equal(templateId(1, 2, 4, 1, 1), 375, 'the highest template id (VLAN, IPv6, ICMP, tunnelled, egress)');
  t.equal(OPTIONS_TEMPLATE_ID_EXPORTER_STATS, 462, 'the Options Template id after it');
  const tunnelled = tmpl.flatMap((m) => m.templates).find((x) => x.id === templateId(0, 1, 2, 1, 0))!;
  t.same(tunnelled.fields.slice(-20, -13).map((f) => [f.id, f.enterprise]), [[893, 6876], [894, 6876], [895, 6876], [896, 6876], [897, 6876], [891, 6876], [892, 6876]], 'tunnel elements (VMware) in tunnelled templates');
  const [opt, stats] = msgs.slice(-2);
  t.same([opt!.sets[0]!.id, opt!.domain, opt!.templates[0]], [3, 0, { id: 462, scope: 1, fields: [{ id: 144, length: 4, enterprise: 0 }, { id: 167, length: 8, enterprise: 0 }] }], 'the Options Template in domain 0');
  t.same([stats!.domain, stats!.sequence, stats!.records[0]!.values.get(144), stats!.records[0]!.values.get(167)], [0, 0, r.e.exporterId, 0], 'exportingProcessId, nothing unsent');
  t.equal(r.e.templateMessages, tmpl.length + 1, 'template messages counted');
});

t.test('caching off: every sample a record at once; ingress and egress', async (t) => {
  const r = rig({});
  r.take();
  const before = r.sent.length;
  r.feed(icmp({ tos: 0xb9, ttl: 17 }), 1, [2]);
  t.equal(r.sent.length, before, 'nothing sent before flush');
  r.e.flush();
  const [m] = r.take();
  t.same([m!.domain, m!.sequence, m!.sets.map((s) => s.id)], [42, 0, [292, 293]], 'one message, ICMP ingress and egress sets');
  const [inRec, outRec] = m!.records;
  const v = inRec!.values;
  t.same([v.get(138), v.get(61), v.get(256), v.get(240), v.get(10), v.get(368), String(v.get(82)), String(v.get(83))], [0, 0, 0x0800, 14, 101, 0, 'port1', ''], 'observation point, direction, EtherType, header length, interface');
  t.same([(v.get(56) as Buffer).toString('hex'), (v.get(80) as Buffer).toString('hex')], ['020000000001', '020000000002'], 'source and destination MAC');
  t.same([v.get(60), v.get(192), v.get(4), v.get(195), v.get(196), v.get(5)], [4, 17, 1, 0xb9 >> 2, 0xb9 >> 5, 0xb9], 'IP version, TTL, protocol, DSCP, precedence, TOS');
  t.same([v.get(8), v.get(12), v.get(176), v.get(177)], [0x0a000001, 0x0a000002, 8, 0], 'addresses, ICMP type and code');
  t.same([v.get(2), v.get(1), v.get(352), v.get(133), v.get(132), v.get(25), v.get(26), v.get(198), v.get(19), v.get(20)], [1, 30, 44, 0, 0, 30, 30, 900, 0, 0], 'counts');
  t.equal(v.get(136), 2, 'flowEndReason: active timeout (0 s)');
  t.same([v.get(158), v.get(159)], [Math.ceil(T0 / 1e6) * 1e6 - T0, Math.ceil(T0 / 1e6) * 1e6 - T0], 'start and end deltas count back from the export time');
  t.same([outRec!.values.get(61), outRec!.values.get(14), String(outRec!.all.filter(([id]) => id === 82).map(([, x]) => String(x)))], [1, 102, 'port1,port2'], 'egress: both interfaces');
  r.feed(icmp(), 1, [2]);
  r.e.flush();
  t.equal(r.take()[0]!.sequence, 2, 'the next message\'s sequence counts the two records before');
  t.same([r.e.samples, r.e.records, r.e.totalFlows, r.e.flows], [4, 4, 4, 0], 'samples, records, flows counted; none cached');
  r.feed(icmp(), 1, []);
  r.e.flush();
  const d = r.take()[0]!.records[0]!.values;
  t.same([d.get(133), d.get(132)], [1, 30], 'a frame sent nowhere: dropped packets and octets');
  r.e.close();
  t.equal(r.take().length, 0, 'nothing cached: close sends nothing');
  r.e.close();
});

t.test('sampling, BFD, input and output sampling switches', async (t) => {
  let next = 0.5;
  const r = rig({ sampling: 400 }, () => next);
  r.take();
  r.feed(icmp(), 1, [2]);
  r.e.flush();
  t.equal(r.take().length, 0, 'random 0.5: not sampled at 1/400');
  next = 0.001;
  r.feed(icmp(), 1, [2, 3]);
  r.e.flush();
  const [m] = r.take();
  t.same(m!.records.map((x) => [x.values.get(61), x.values.get(14) ?? 0, x.values.get(2)]), [[0, 0, 400], [1, 102, 400], [1, 103, 400]], 'sampled: ingress and each output, standing for 400 packets');
  const bfd = ethFrame(0x0800, withL4Checksum4(ipv4Packet({ proto: 17 }, udpDatagram(49152, 3784))));
  r.feed(bfd, 1, [2]);
  r.feed(ethFrame(0x0800, withL4Checksum4(ipv4Packet({ proto: 17 }, udpDatagram(49152, 3785)))), 1, [2]);
  r.e.flush();
  t.equal(r.take().length, 0, 'BFD control and echo packets are never sampled');

  const noIn = rig({ other_config: { 'enable-input-sampling': 'FALSE' } });
  noIn.take();
  noIn.feed(icmp(), 1, [2]);
  noIn.e.flush();
  t.same(noIn.take()[0]!.records.map((x) => x.values.get(61)), [1], 'input sampling off: egress only');
  const noOut = rig({ other_config: { 'enable-output-sampling': 'false', 'enable-input-sampling': 'yes' } });
  noOut.take();
  noOut.feed(icmp(), 1, [2]);
  noOut.e.flush();
  t.same(noOut.take()[0]!.records.map((x) => x.values.get(61)), [0], 'output sampling off: ingress only; any other value leaves it on');
});

t.test('VLAN, IPv6, TCP, ARP, multicast, unknown ports, virtual observation id', async (t) => {
  const r = rig({ obs_point_id: 5, other_config: { virtual_obs_id: 'rack-3' } });
  r.take();
  r.feed(ethFrame(0x0800, withL4Checksum4(ipv4Packet({ proto: 17 }, udpDatagram(7, 9))), { vlan: { vid: 300, pcp: 5 } }), 1, [2]);
  const v6 = ethFrame(0x86dd, withL4Checksum6(ipv6Packet(6, tcpSegment(1000, 80), 0xb8, ipv6('2001:db8::1'), ipv6('2001:db8::2'))));
  v6[15] = 0x80 | 0x0a; // the traffic class's low nibble, then flow label 0xabcde
  v6[16] = 0xbc;
  v6[17] = 0xde;
  r.feed(v6, 99, []);
  const arp = ethFrame(0x0806, [0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2], { dst: 'ff:ff:ff:ff:ff:ff' });
  r.feed(arp, 1, [2]);
  r.feed(ethFrame(0x0800, withL4Checksum4(ipv4Packet({ proto: 17, dst: 0xe0000001 }, udpDatagram(7, 9))), { dst: '01:00:5e:00:00:01' }), 1, [2]);
  r.e.flush();
  const recs = r.take().flatMap((m) => m.records);
  const vlanIn = recs.find((x) => x.templateId === templateId(1, 1, 2, 0, 0))!;
  t.ok(vlanIn, 'the VLAN IPv4 UDP ingress template (344)');
  t.same([vlanIn.values.get(58), vlanIn.values.get(243), vlanIn.values.get(244), vlanIn.values.get(240), vlanIn.values.get(7), vlanIn.values.get(11), vlanIn.values.get(138)], [300, 300, 5, 18, 7, 9, 5], 'VLAN id twice, priority, 18-byte header, ports, observation point');
  t.equal(String(vlanIn.values.get(898)), 'rack-3', 'virtualObsID');
  const six = recs.find((x) => x.templateId === templateId(0, 2, 1, 0, 0))!;
  t.same([six.values.get(60), six.values.get(192), six.values.get(5), six.values.get(31), six.values.get(6), six.values.get(1), six.values.get(10)], [6, 64, 0xb8, 0x0abcde, 0x18, 40 + 23, 0], 'IPv6: version, hop limit, traffic class, flow label, TCP flags, length; an unknown port is 0');
  t.same([(six.values.get(27) as Buffer).toString('hex'), (six.values.get(28) as Buffer).toString('hex')], ['20010db8000000000000000000000001', '20010db8000000000000000000000002'], 'IPv6 addresses');
  t.same([six.values.get(133), six.values.get(132)], [1, 63], 'sent nowhere: dropped');
  const arpIn = recs.find((x) => x.templateId === 256)!;
  t.same([arpIn.values.get(256), arpIn.values.get(2), arpIn.values.get(1), arpIn.values.get(352)], [0x0806, 1, undefined, arp.length], 'ARP: the template without IP fields');
  const mc = recs.find((x) => x.templateId === templateId(0, 1, 2, 0, 1) && x.values.get(12) === 0xe0000001)!;
  t.same([mc.values.get(19), mc.values.get(20)], [1, 31], 'multicast sent out: post-multicast packets and octets');
  r.e.portsChanged();
  r.e.close();
});

t.test('caching on: aggregation, active timeout, lack of resources, forced end, template resend', async (t) => {
  const r = rig({ cache_active_timeout: 5, cache_max_flows: 2, template_interval: 60, other_config: { 'enable-output-sampling': 'false' } });
  r.take();
  const f = (dst: number, len = 3): Uint8Array => ethFrame(0x0800, withL4Checksum4(ipv4Packet({ proto: 6, dst }, tcpSegment(1, 2, Array(len).fill(0)))));
  r.feed(f(1), 1, [2]);
  r.clock.us += 1e6;
  r.feed(f(1, 10), 1, [2]);
  r.feed(f(2), 1, [2]);
  r.e.run();
  t.equal(r.take().length, 0, 'two flows cached, nothing due');
  t.equal(r.e.flows, 2);
  r.feed(f(3), 1, [2]);
  r.e.flush();
  const [m1] = r.take();
  t.same(m1!.records.map((x) => [x.values.get(12), x.values.get(2), x.values.get(136), x.values.get(25), x.values.get(26), x.values.get(1)]), [[1, 2, 5, 43, 50, 93]],
    'a third flow past cache_max_flows: the oldest leaves (lack of resources), its two packets summed, min and max length');
  t.same([m1!.records[0]!.values.get(158), m1!.records[0]!.values.get(159)], [Math.ceil((T0 + 1e6) / 1e6) * 1e6 - T0, Math.ceil((T0 + 1e6) / 1e6) * 1e6 - T0 - 1e6], 'first and last packet times');
  r.clock.us += 4.5e6;
  r.e.run();
  t.equal(r.take().length, 0, '4.5 s after their start: still cached');
  r.clock.us += 0.5e6;
  r.e.run();
  t.same(r.take().flatMap((m) => m.records.map((x) => [x.values.get(12), x.values.get(136)])), [[2, 2], [3, 2]], 'the flows started 5 s ago: active timeout');
  r.clock.us += 60e6;
  r.feed(f(4), 1, [2]);
  r.e.close();
  const last = r.take();
  t.ok(last.some((m) => m.sets[0]!.id === 2), 'templates sent again before data once template_interval passed');
  const data = last.filter((m) => m.domain === 42 && m.records.length > 0);
  t.same(data.flatMap((m) => m.records.map((x) => [x.values.get(12), x.values.get(136)])), [[4, 4]], 'close: forced end for what is cached');
  t.equal(data[0]!.sequence, 3, 'sequence: the records of domain 42 before');
  t.equal(last.find((m) => m.sets[0]!.id === OPTIONS_TEMPLATE_ID_EXPORTER_STATS)!.sequence, 1, 'domain 0 counts its own records');
  r.e.run();
});

t.test('data messages split at 1024 bytes', async (t) => {
  const rec = (id: number) => ({ templateId: id, bytes: Buffer.alloc(300, id & 0xff) });
  const { messages, counts } = encodeDataMessages({ exportTime: 1, sequence: 10, domain: 3 }, [rec(300), rec(300), rec(301), rec(301), rec(300)]);
  t.same(counts, [3, 2], 'three records fit in 1024 bytes');
  const d = new Decoder();
  d.templates.set(300, [{ id: 1, length: 300, enterprise: 0 }]);
  d.templates.set(301, [{ id: 1, length: 300, enterprise: 0 }]);
  const [a, b] = messages.map((m) => d.decode(m));
  t.same([a!.sequence, a!.sets, b!.sequence, b!.sets.map((s) => s.id)], [10, [{ id: 300, length: 604 }, { id: 301, length: 304 }], 13, [301, 300]], 'sets per template run, sequence numbers continued');
  t.same(encodeDataMessages({ exportTime: 1, sequence: 0, domain: 3 }, [{ templateId: 300, bytes: Buffer.alloc(2000) }]).counts, [1], 'a record longer than that goes alone');
});

t.test('settings as the IPFIX table defines them', async (t) => {
  t.same(parseIpfixTarget('10.0.0.1'), { address: '10.0.0.1', port: 4739, family: 4 }, 'no port: 4739');
  t.same(parseIpfixTarget('[::1]'), { address: '::1', port: 4739, family: 6 });
  t.same(parseIpfixTarget('[::1]:9995'), { address: '::1', port: 9995, family: 6 });
  t.same(parseIpfixTarget('127.0.0.1:2055'), { address: '127.0.0.1', port: 2055, family: 4 });
  t.throws(() => parseIpfixTarget('collector:4739'), /IPFIX target "collector:4739" is not IP\[:PORT\]/);
  t.throws(() => parseIpfixTarget('1.2.3.4:0'), /port 0 is not 1\.\.65535/);
  t.equal(ipfixConfig({ targets: [] }), null, 'no targets: off');
  t.match(ipfixConfig({ targets: ['1.2.3.4'] }), { sampling: 400, obsDomainId: 0, obsPointId: 0, cacheActiveTimeout: 0, cacheMaxFlows: 0, templateInterval: 600, inputSampling: true, outputSampling: true, tunnelSampling: true, virtualObsId: null }, 'OVS\'s defaults');
  t.throws(() => ipfixConfig({ targets: 'x' as unknown as string[] }), IpfixError);
  t.throws(() => ipfixConfig({ targets: ['1.2.3.4'], cache_active_timeout: 4201 }), /cache_active_timeout 4201 is not an integer 0\.\.4200/);
  t.throws(() => ipfixConfig({ targets: ['1.2.3.4'], obs_domain_id: -1 }), /obs_domain_id/);
  t.throws(() => ipfixConfig({ targets: ['1.2.3.4'], other_config: { virtual_obs_id: 'x'.repeat(255) } }), /longer than 254 bytes/);
  t.throws(() => ipfixConfig({ targets: ['1.2.3.4'], other_config: [] as unknown as Record<string, string> }), /other_config must be an object/);
  t.throws(() => ipfixConfig({ targets: ['1.2.3.4'], other_config: { 'enable-input-sampling': true as unknown as string } }), /other_config:enable-input-sampling must be a string/);
});

t.test('the switch: setIpfix to a UDP collector, beside NetFlow', async (t) => {
  const collector = await udpCollector(t);
  const sw = createSwitch();
  t.teardown(() => sw.close());
  const a = sw.addPort({ name: 'ix1', type: 'memory', ofport: 1 });
  sw.addPort({ name: 'ix2', type: 'memory', ofport: 2 });
  sw.addFlow({ match: { inPort: 1 }, actions: [{ output: 2 }] });
  t.equal(sw.ipfix(), null, 'no IPFIX before it is set');
  sw.setNetflow({ targets: ['127.0.0.1:9'] });
  sw.setIpfix({ targets: [`127.0.0.1:${collector.port}`], sampling: 1, obs_domain_id: 77 });
  t.match(sw.ipfix(), { targets: [`127.0.0.1:${collector.port}`], sampling: 1, obsDomainId: 77, obsPointId: 0, cacheActiveTimeout: 0, cacheMaxFlows: 0 });
  a.device.inject(icmp());
  await waitUntil(() => collector.datagrams.length >= 17, 'templates, statistics and the data reach the collector', 5000);
  const d = new Decoder();
  const recs = collector.datagrams.map((m) => d.decode(m)).filter((m) => m.domain === 77).flatMap((m) => m.records);
  t.same(recs.map((x) => [x.values.get(61), x.values.get(10), String(x.all.filter(([id]) => id === 82).map(([, v]) => String(v)))]), [[0, 0, 'ix1'], [1, 0, 'ix1,ix2']], 'memory ports: their names, ifindex 0');
  t.match(sw.ipfix(), { samples: 2, records: 2 });
  t.equal(sw.netflow()?.flows, 1, 'NetFlow counted the frame too');
  sw.setNetflow(null);
  sw.addPort({ name: 'ix3', type: 'memory', ofport: 3 });
  sw.removePort('ix3');
  t.throws(() => sw.setIpfix({ targets: ['nowhere'] }), /IPFIX target "nowhere"/);
  t.equal(sw.ipfix(), null, 'a bad setting: IPFIX off');
});

t.test('truncated IP headers: OVS\'s length from the frame, fields left zero', async (t) => {
  const r = rig({ other_config: { 'enable-output-sampling': 'false' } });
  r.take();
  r.feed(ethFrame(0x0800, [0x45, 0, 0, 40, 0, 0]), 1, [2]);
  r.feed(ethFrame(0x86dd, [0x60, 0, 0, 0, 0, 8, 17, 64]), 1, [2]);
  r.e.flush();
  const [v4, v6] = r.take()[0]!.records;
  t.same([v4!.templateId, v4!.values.get(192), v4!.values.get(1)], [templateId(0, 1, 0, 0, 0), 0, 6], 'IPv4: no TTL, IP length = frame less 14');
  t.same([v6!.templateId, v6!.values.get(31), v6!.values.get(1), (v6!.values.get(27) as Buffer).toString('hex')], [templateId(0, 2, 0, 0, 0), 0, 8, '0'.repeat(32)], 'IPv6: zero addresses and label');
});

t.test('a target that cannot be sent to: counted, logged once', async (t) => {
  const warnings: string[] = [];
  const e = new IpfixExporter({ config: ipfixConfig({ targets: ['255.255.255.255:4739'] })!, log: { warn: (m) => warnings.push(m) } });
  await waitUntil(() => e.sendErrors > 1, 'the sends fail', 5000);
  t.same(warnings, ['cannot send IPFIX message'], 'one warning for many failures');
  e.close();
});

t.test('the cache\'s hash chains: colliding keys kept apart and removed from the middle', async (t) => {
  const { IpfixCache, IpfixCounters, hashKey } = await import('../../ipfix/flow-cache.js');
  // Two 8-byte keys of one template with the same hash (a birthday search).
  const key = (n: number): Buffer => {
    const b = Buffer.alloc(8);
    b.writeUInt32BE(n, 0);
    b.writeUInt32BE(Math.imul(n, 0x9e3779b1) >>> 0, 4);
    return b;
  };
  const seen = new Map<number, number>();
  let pair: [number, number] | null = null;
  for (let i = 0; pair === null && i < 3_000_000; i++) {
    const h = hashKey(key(i), 8, 300);
    const j = seen.get(h);
    if (j !== undefined) pair = [j, i];
    else seen.set(h, i);
  }
  if (pair === null) throw new Error('no collision found');
  const out: number[] = [];
  const c = new IpfixCache({ activeTimeout: 10, maxFlows: 10, export: (e) => out.push(e.key.readUInt32BE(0)) });
  const p = pair;
  const s = new IpfixCounters();
  s.packetDelta = 1;
  for (const [n, at] of [[p[0], 1], [p[1], 2], [p[0], 3]] as const) {
    s.startUs = s.endUs = at * 1e6;
    c.update(key(n), 8, 300, s, at * 1e6);
  }
  t.equal(c.size, 2, 'two entries for two keys of one hash');
  c.expire(false, 11.5e6);
  t.same(out, [p[0]], 'the older one leaves first (it is second in its chain)');
  c.expire(true, 12e6);
  t.same(out, [p[0], p[1]]);
  t.equal(c.size, 0);
});
