/**
 * The same IPFIX row given to Open vSwitch 3.1 (userspace, in a namespace of its own) and to
 * ofswitch (database mode), the same pings through each, and the messages each sends decoded by
 * tshark and compared: the templates element by element (OVS's, less the running-total elements
 * ofswitch leaves out on purpose, plus tcpControlBits in TCP templates: see the README's IPFIX
 * section), the Options Template, and the ping records field by field, interfaces and MACs
 * replaced by the role of their port or host.
 */
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { assertRan, requireCommand, run, tryRun, uniqueName, type TestHost } from '../helpers/netns.js';
import { bridgeHosts, ovsHostsAndReceiver } from '../helpers/flow-export-rig.js';
import { udpCollector } from '../sflow/collectors.js';
import { decodeDatagrams, type IpfixMessage } from './capture.js';

requireCommand('tshark');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const PINGS = 4;
const ROW = ['sampling=1', 'obs_domain_id=123', 'obs_point_id=5'];
/** The running-total elements OVS sends and ofswitch does not (README: IPFIX). */
const OVS_TOTALS = new Set([135, 86, 354, 355, 356, 357, 358, 174, 353, 134, 85, 199, 175, 222, 219, 221, 220, 218, 223]);
/** Record fields that differ by time or by the exporter's life, not compared. */
const VOLATILE = ['timedelta', 'abstimestart', 'abstimeend', 'template_frame', 'flowset_length', 'string_len_short'];

async function pings(t: Test, from: TestHost, to: TestHost): Promise<void> {
  for (let i = 0; i < 10; i++) if ((await tryRun('ping', ['-c', '1', '-W', '1', to.ip], from.ns)).code === 0) break;
  await sleep(1000);
  const r = await tryRun('ping', ['-c', String(PINGS), '-i', '0.2', '-W', '1', to.ip], from.ns);
  assertRan(t, r, `ping -c ${PINGS} from ${from.ns}`);
  await sleep(1500);
}

/** The echo records (of the last PINGS requests and replies), each field's value with interfaces, names and MACs as roles. */
function pingRecords(messages: readonly IpfixMessage[], roles: Map<string, string>): string[] {
  const out: string[] = [];
  for (const m of messages) {
    for (const r of m.records) {
      const f = r.fields;
      if (f['protocol'] !== '1' || !['0', '8'].includes(String(f['icmp_ipv4_type']))) continue;
      const row: Record<string, unknown> = { domain: m.domain, setId: r.setId };
      for (const [k, v] of Object.entries(f)) {
        if (VOLATILE.includes(k)) continue;
        const map = (x: string): string => roles.get(x) ?? x;
        row[k] = Array.isArray(v) ? v.map(map) : map(v);
      }
      out.push(JSON.stringify(row));
    }
  }
  return out.sort();
}

t.test('the same IPFIX row: Open vSwitch and ofswitch send the same templates and records', async (t) => {
  const { ovs, o1, o2, received } = await ovsHostsAndReceiver(t, 'ipxo', ['po1', 'po2'], '10.89.0', 4739);
  const br = uniqueName('ipxb');
  await ovs.vsctl(['add-br', br, '--', 'set', 'bridge', br, 'datapath_type=netdev', '--', 'add-port', br, o1.port, '--', 'add-port', br, o2.port]);
  await sleep(500);
  await ovs.vsctl(['--', 'set', 'bridge', br, 'ipfix=@i', '--', '--id=@i', 'create', 'IPFIX', 'targets="127.0.0.1:4739"', ...ROW]);
  await pings(t, o1, o2);
  const ovsMessages = received();
  t.ok(ovsMessages.length > 0, `Open vSwitch sent ${ovsMessages.length} messages`);
  const ifindexIn = async (ns: string, name: string): Promise<string> => (await run('cat', [`/sys/class/net/${name}/ifindex`], ns)).trim();
  const ovsRoles = new Map([
    [await ifindexIn(ovs.ns, o1.port), 'if of h1'], [await ifindexIn(ovs.ns, o2.port), 'if of h2'], [o1.port, 'name of h1'], [o2.port, 'name of h2'],
    [o1.mac, 'mac of h1'], [o2.mac, 'mac of h2'], [o1.ip, 'ip of h1'], [o2.ip, 'ip of h2'],
  ]);

  const { rig, br: ofbr, h1, h2 } = await bridgeHosts(t, ['pc1', 'pc2'], '10.90.0', 'ipxc', false);
  const collector = await udpCollector(t);
  await rig.vsctl(['--', 'set', 'bridge', ofbr, 'ipfix=@i', '--', '--id=@i', 'create', 'IPFIX', `targets="127.0.0.1:${collector.port}"`, ...ROW], { wait: true });
  await pings(t, h1, h2);
  const ofRoles = new Map([
    [readFileSync(`/sys/class/net/${h1.port}/ifindex`, 'utf8').trim(), 'if of h1'], [readFileSync(`/sys/class/net/${h2.port}/ifindex`, 'utf8').trim(), 'if of h2'],
    [h1.port, 'name of h1'], [h2.port, 'name of h2'], [h1.mac, 'mac of h1'], [h2.mac, 'mac of h2'], [h1.ip, 'ip of h1'], [h2.ip, 'ip of h2'],
  ]);

  const want = await decodeDatagrams(ovsMessages, 4739);
  const got = await decodeDatagrams(collector.datagrams, collector.port);
  t.equal(want.code, 0, 'tshark read Open vSwitch\'s messages');
  t.equal(got.code, 0, 'tshark read ofswitch\'s messages');

  const templates = (ms: readonly IpfixMessage[], setId: number): Map<number, number[]> =>
    new Map(ms.filter((m) => m.setIds[0] === setId).flatMap((m) => m.templates.map((tp) => [tp.id, tp.fields.map((f) => f.type)] as [number, number[]])));
  const ovsTemplates = templates(want.messages, 2);
  const ofTemplates = templates(got.messages, 2);
  t.equal(ovsTemplates.size, 88, 'Open vSwitch sent 88 templates');
  const expected = new Map([...ovsTemplates].map(([id, types]) => {
    const kept = types.filter((x) => !OVS_TOTALS.has(x));
    return [id, types.includes(222) ? [...kept, 6] : kept];
  }));
  t.same([...ofTemplates].sort((a, b) => a[0] - b[0]), [...expected].sort((a, b) => a[0] - b[0]), 'the same template ids and elements, in order (less OVS\'s running totals; tcpControlBits for TCP)');
  t.same([...templates(got.messages, 3)], [...templates(want.messages, 3)], 'the same Options Template');
  const ovsDomains = [...new Set(want.messages.filter((m) => m.setIds[0] === 2).map((m) => m.domain))];
  t.same([...new Set(got.messages.filter((m) => m.setIds[0] === 2).map((m) => m.domain))], ovsDomains, `templates in domain ${ovsDomains.join()}`);

  // Left out of the comparison: OVS's running totals (tshark's "permanent" and "total" fields),
  // which ofswitch does not send, and droppedPacketDeltaCount/droppedOctetDeltaCount, which OVS's
  // bridge exporter sets to the packet's count for every sample (its sampling upcall carries no
  // actions, so it never sees the output), where ofswitch counts only packets sent nowhere.
  const strip = (rows: string[]): Map<string, number> => {
    const out = new Map<string, number>();
    for (const r of rows) {
      const o = JSON.parse(r) as Record<string, unknown>;
      for (const k of Object.keys(o)) if (/total|permanent|^drop_/.test(k)) delete o[k];
      const key = JSON.stringify(o);
      out.set(key, (out.get(key) ?? 0) + 1);
    }
    return out;
  };
  const w = strip(pingRecords(want.messages, ovsRoles));
  const g = strip(pingRecords(got.messages, ofRoles));
  t.equal(w.size, 4, 'Open vSwitch sent ingress and egress records of the requests and the replies');
  t.ok([...w.values()].every((n) => n >= PINGS), `Open vSwitch sent one record per sample, every ping sampled (${[...w.values()].join(', ')})`);
  t.ok([...g.values()].every((n) => n >= PINGS), `so did ofswitch (${[...g.values()].join(', ')})`);
  t.same([...g.keys()].sort(), [...w.keys()].sort(), 'the ping records, field by field');
  const dropped = pingRecords(got.messages, ofRoles).map((r) => JSON.parse(r) as Record<string, string>);
  t.ok(dropped.every((r) => r['drop_packets'] === '0' && r['drop_octets'] === '0'), 'ofswitch: forwarded pings are not counted as dropped');
});
