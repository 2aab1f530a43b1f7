/**
 * IPFIX configured as OVS users configure it, checked by real collectors on real packets between
 * test hosts (network namespaces): Debian's nfdump (nfcapd receiving, `nfdump -r` reading) for the
 * counts, and Wireshark's IPFIX dissector (tshark on a capture of what went to the collector) for
 * the message format: templates, observation domains, sequence numbers, flow end reasons.
 * - database mode: `ovs-vsctl -- set Bridge BR ipfix=@i -- --id=@i create IPFIX targets=...
 *   sampling=1 obs_domain_id=123 cache_active_timeout=5` (no cache_max_flows: caching off, every
 *   sample a record at once, as in OVS); a ping, a UDP burst and a TCP exchange give ingress and
 *   egress records whose packets and IP bytes equal what the hosts sent, with the interfaces'
 *   ifindex and names; clearing the column stops the export.
 * - flag mode: the `--config` file's `ipfix` object with caching on (cache_active_timeout 1,
 *   cache_max_flows 100) and a short template_interval: a 3 s ping is reported in aggregated
 *   records (flowEndReason active timeout) adding up to what was sent, templates are sent again.
 */
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { assertRan, requireCommand, tryRun } from '../helpers/netns.js';
import { freePort } from '../helpers/free-port.js';
import { bridgeHosts, flagModeHosts, mixedTraffic, rejectsConfig, startFlagSwitch } from '../helpers/flow-export-rig.js';
import { nfdumpFlags, startNfcapd, total, type NfdumpRecord } from '../netflow/collector.js';
import { captureIpfix, type IpfixMessage } from './capture.js';

requireCommand('nfcapd');
requireCommand('nfdump');
requireCommand('tcpdump');
requireCommand('tshark');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const ifindex = (name: string): string => readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8').trim();

/** Checks RFC 7011 sequence numbers: per domain, each data message's number is the records sent in that domain before it. */
function checkSequences(t: Test, messages: readonly IpfixMessage[]): void {
  const next = new Map<number, number>();
  let ok = true;
  for (const m of messages) {
    const expected = next.get(m.domain) ?? 0;
    if (m.sequence !== expected) {
      ok = false;
      t.fail(`frame ${m.frame}: sequence ${m.sequence} in domain ${m.domain}, expected ${expected}`);
      break;
    }
    next.set(m.domain, expected + m.records.length);
  }
  t.ok(ok, `sequence numbers count the data records per observation domain (${[...next].map(([d, n]) => `domain ${d}: ${n}`).join(', ')})`);
}

t.test('database mode: ovs-vsctl create IPFIX, read back by nfcapd/nfdump and tshark', async (t) => {
  const { rig, br, h1, h2, dir } = await bridgeHosts(t, ['x1', 'x2'], '10.87.0', 'ipfx');
  const [i1, i2] = [ifindex(h1.port), ifindex(h2.port)];

  const port = await freePort();
  const nfcapd = await startNfcapd(t, port);
  const cap = await captureIpfix(t, port);
  await rig.vsctl(['--', 'set', 'Bridge', br, 'ipfix=@i', '--', '--id=@i', 'create', 'IPFIX', `targets="127.0.0.1:${port}"`,
    'sampling=1', 'obs_domain_id=123', 'cache_active_timeout=5'], { wait: true });
  await sleep(300);

  const PINGS = 5;
  const tcp = await mixedTraffic(t, h1, h2, dir, PINGS);

  await rig.vsctl(['clear', 'bridge', br, 'ipfix'], { wait: true });
  await sleep(500);
  t.match(rig.proc.stderr(), /IPFIX export started/, 'the daemon started the export');
  const { code, stderr, records, log } = await nfcapd.stop();
  const { code: tcode, stderr: terr, messages } = await cap.stop();
  t.equal(code, 0, `nfdump read nfcapd's file ${stderr.trim()}`);
  t.ok(records.length > 0, `nfdump shows records (${records.length})`) || t.comment(log);
  t.match(log, /Observation domain 123/, 'nfcapd saw observation domain 123');
  t.match(log, /Sequence Errors: 0/, 'nfcapd counted no sequence errors');

  // Ingress records (dir 0: the input interface only) and egress records (dir 1: input and output).
  const isIcmp = (r: NfdumpRecord, sa: string, da: string): boolean => r['pr'] === 'ICMP' && r['sa'] === sa && r['da'] === da;
  const reqIn = total(records, (r) => isIcmp(r, h1.ip, h2.ip) && r['dir'] === '0');
  const reqOut = total(records, (r) => isIcmp(r, h1.ip, h2.ip) && r['dir'] === '1');
  t.same([reqIn.packets, reqIn.bytes, reqIn.ins, reqIn.outs], [PINGS, PINGS * 128, [i1], ['0']], `echo requests sampled on input: ${PINGS} packets, ${PINGS} x 128 IP bytes, in ifindex ${i1}`);
  t.same([reqOut.packets, reqOut.bytes, reqOut.ins, reqOut.outs], [PINGS, PINGS * 128, [i1], [i2]], `and on output: in ${i1}, out ${i2}`);
  // (h2 also answers the UDP burst below with port unreachables, of 256 IP bytes each)
  const rep = total(records, (r) => isIcmp(r, h2.ip, h1.ip) && r['dir'] === '0' && Number(r['ibyt']) === 128 * Number(r['ipkt']));
  t.same([rep.packets, rep.bytes, rep.ins], [PINGS, PINGS * 128, [i2]], 'echo replies: the same, the other way');
  t.equal(reqIn.records, PINGS, 'caching off (no cache_max_flows): one record per sampled packet, as OVS');

  const u = total(records, (r) => r['pr'] === 'UDP' && r['sa'] === h1.ip && r['sp'] === '5000' && r['dp'] === '5001' && r['dir'] === '0');
  t.same([u.packets, u.bytes, u.ins], [7, 7 * 228, [i1]], 'UDP: 7 datagrams of 200 bytes, 228 IP bytes each');

  const fwd = total(records, (r) => r['pr'] === 'TCP' && r['sa'] === h1.ip && r['dp'] === '5002' && r['dir'] === '0');
  const rev = total(records, (r) => r['pr'] === 'TCP' && r['sa'] === h2.ip && r['sp'] === '5002' && r['dir'] === '0');
  t.same([fwd.packets, fwd.bytes], [tcp.fwd.packets, tcp.fwd.bytes], `TCP h1 -> h2: ${tcp.fwd.packets} packets, ${tcp.fwd.bytes} bytes as tcpdump saw them`);
  t.same([rev.packets, rev.bytes], [tcp.rev.packets, tcp.rev.bytes], `TCP h2 -> h1: ${tcp.rev.packets} packets, ${tcp.rev.bytes} bytes`);
  const union = (rs: readonly NfdumpRecord[]): string => nfdumpFlags(rs.reduce((f, r) => f | parseInt(r['flg']!.split('').map((c) => (c === '.' ? '0' : '1')).join(''), 2), 0));
  t.equal(union(records.filter((r) => r['pr'] === 'TCP' && r['sa'] === h1.ip && r['dir'] === '0')), nfdumpFlags(tcp.fwd.flags), `TCP flags h1 -> h2 ${nfdumpFlags(tcp.fwd.flags)}`);

  // What tshark reads of the same messages.
  t.equal(tcode, 0, `tshark read the capture ${terr.trim()}`);
  t.ok(messages.length > 0, `tshark decoded ${messages.length} IPFIX messages`);
  const templates = messages.flatMap((m) => m.templates.map((tp) => ({ ...tp, domain: m.domain, setId: m.setIds[0] })));
  const dataTemplates = templates.filter((tp) => tp.setId === 2);
  t.equal(dataTemplates.length, 88, 'the 88 templates of OVS\'s bridge exporter were sent');
  t.same([...new Set(dataTemplates.map((tp) => tp.domain))], [123], 'in observation domain 123');
  t.same(dataTemplates.map((tp) => tp.id), Array.from({ length: 208 }, (_, i) => 256 + i).filter((id) => dataTemplates.some((tp) => tp.id === id)), 'numbered from 256 in OVS\'s order');
  const icmpIn = dataTemplates.find((tp) => tp.id === 292);
  t.same(icmpIn?.fields.slice(0, 10).map((f) => f.type), [138, 61, 56, 80, 256, 240, 10, 368, 82, 83], 'template 292 (IPv4 ICMP ingress): OVS\'s flow key elements first');
  t.same(icmpIn?.fields.slice(10).map((f) => f.type), [60, 192, 4, 195, 196, 5, 8, 12, 176, 177, 158, 159, 133, 2, 19, 352, 136, 132, 1, 198, 25, 26, 20], 'then IP, addresses, ICMP type/code, and the counters');
  const options = templates.filter((tp) => tp.setId === 3);
  t.same(options.map((tp) => [tp.id, tp.domain, tp.fields.map((f) => f.type)]), [[462, 0, [144, 167]]], 'the Options Template 462 (exportingProcessId, notSentPacketTotalCount) in domain 0');
  checkSequences(t, messages);
  const data = messages.filter((m) => m.domain === 123).flatMap((m) => m.records);
  t.ok(data.length >= 4 * PINGS, `data records in domain 123 (${data.length})`);
  t.ok(data.every((r) => r.fields['flow_end_reason'] === '5'), 'flowEndReason 5 (lack of resources: cache_max_flows 0), as OVS sets it with caching off');
  const eg = data.find((r) => r.fields['direction'] === '1' && r.fields['srcaddr'] === h1.ip && r.fields['protocol'] === '1');
  t.same(eg && [eg.fields['inputint'], eg.fields['outputint'], eg.fields['if_name'], eg.fields['icmp_ipv4_type']], [i1, i2, [h1.port, h2.port], '8'],
    'an egress record names both interfaces, with ICMP type 8');

  // Off: nothing more is sent.
  const again = await startNfcapd(t, port);
  await tryRun('ping', ['-c', '2', '-i', '0.2', h2.ip], h1.ns);
  await sleep(1500);
  const after = await again.stop();
  t.equal(after.records.length, 0, 'no record once the bridge has no IPFIX row');
});

t.test('flag mode: the --config file\'s ipfix object, caching on', async (t) => {
  const hosts = await flagModeHosts(t, ['y1', 'y2'], '10.88.0');
  const { h1, h2, dir } = hosts;
  const port = await freePort();
  const nfcapd = await startNfcapd(t, port);
  const cap = await captureIpfix(t, port);
  await startFlagSwitch(t, hosts, {
    ipfix: { targets: [`127.0.0.1:${port}`], sampling: 1, obs_domain_id: 7, obs_point_id: 9, cache_active_timeout: 1, cache_max_flows: 100, template_interval: 2,
      other_config: { 'enable-output-sampling': 'false', virtual_obs_id: 'rack-3' } },
  }, /IPFIX export started/, 'the switch says IPFIX is on');
  await sleep(2500);
  const PINGS = 15;
  const ping = await tryRun('ping', ['-c', String(PINGS), '-i', '0.2', '-p', 'c3d2', h2.ip], h1.ns);
  assertRan(t, ping, `ping -c ${PINGS}`);
  await sleep(2500);
  const { code, records } = await nfcapd.stop();
  const { messages } = await cap.stop();
  t.equal(code, 0, 'nfdump read the file');
  const req = total(records, (r) => r['pr'] === 'ICMP' && r['sa'] === h1.ip && r['da'] === h2.ip);
  t.ok(req.records >= 2 && req.records < PINGS, `the echo requests were aggregated into a few records (${req.records}), one per active timeout`);
  t.ok(req.packets >= PINGS + 1 && req.packets <= PINGS + 10, `all the requests counted (${req.packets}: ${PINGS} and the reachability pings)`);
  t.same(req.outs, ['0'], 'output sampling off: ingress records only');
  const data = messages.filter((m) => m.domain === 7).flatMap((m) => m.records);
  t.ok(data.length > 0 && data.every((r) => r.fields['observation_point_id'] === '9'), 'observation point 9 in every record of domain 7');
  t.ok(data.some((r) => r.fields['flow_end_reason'] === '2'), 'flowEndReason 2 (active timeout)');
  t.ok(data.every((r) => r.fields['direction'] === '0'), 'direction ingress only');
  const vobs = messages.flatMap((m) => m.templates).find((tp) => tp.id === 292);
  t.same(vobs?.fields.find((f) => f.type === (898 | 0x8000)), { type: 898 | 0x8000, length: 65535, pen: 6876 }, 'virtualObsID (VMware 898, variable length) in the templates');
  const templateRounds = messages.filter((m) => m.setIds[0] === 3).length;
  t.ok(templateRounds >= 2, `templates sent again after template_interval (${templateRounds} rounds)`);
  checkSequences(t, messages);

  await rejectsConfig(t, dir, { ports: [h1.port], ipfix: { targets: ['127.0.0.1:4739'], sampling: 0 } },
    'sampling 0: exit 2', /IPFIX sampling 0 is not an integer 1\.\.4294967295/, 'with one message naming it');
});
