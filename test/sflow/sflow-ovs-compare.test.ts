/**
 * The same sFlow row given to Open vSwitch 3.1 (userspace, in a namespace of its own) and to
 * ofswitch (database mode), the same pings through each, and the datagrams each sends decoded by
 * tshark and compared field by field: datagram header, the flow samples of the pings (data
 * source, rate, header record, ifIndex in and out as each one's kernel ifindex, switch record) and
 * the generic counter record of a port.
 * What differs on purpose (sample pool, record order, unknown counters) is in the README's sFlow
 * section and not compared here.
 */
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { assertRan, requireCommand, run, tryRun, uniqueName, type TestHost } from '../helpers/netns.js';
import { bridgeHosts, ovsHostsAndReceiver } from '../helpers/flow-export-rig.js';
import { countersSamples, tsharkFields, udpCollector, type TsharkResult } from './collectors.js';

requireCommand('tshark');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const PATTERN = 'a5c3';
const PINGS = 5;
const ROW = ['agent=lo', 'header=128', 'sampling=1', 'polling=1'];

const FIELDS = [
  'sflow_245.version', 'sflow_245.agent', 'sflow_245.sub_agent_id',
  'sflow.flow_sample.source_id_class', 'sflow.flow_sample.index', 'sflow.flow_sample.sampling_rate', 'sflow.flow_sample.dropped_packets',
  'sflow.flow_sample.input_interface', 'sflow.flow_sample.output_interface_format', 'sflow.flow_sample.output_interface_value',
  'sflow_245.header_protocol', 'sflow_245.header.frame_length', 'sflow_245.header.payload_stripped', 'sflow_245.header.sampled_header_length',
  'sflow_245.vlan.in', 'sflow_245.pri.in', 'sflow_245.vlan.out', 'sflow_245.pri.out', 'sflow_245.header',
];

/** The datagram headers, and per ping sample its flow fields, with ifIndex values replaced by the port's role. */
interface Summary {
  datagram: string[];
  samples: Record<string, string>[];
}

function summarize(r: TsharkResult, roles: Map<number, string>): Summary {
  const datagram = new Set<string>();
  const samples: Record<string, string>[] = [];
  const role = (v: string | undefined): string => roles.get(Number(v)) ?? `ifindex ${v}`;
  for (const row of r.rows) {
    datagram.add(['sflow_245.version', 'sflow_245.agent', 'sflow_245.sub_agent_id'].map((f) => `${f}=${row[f]?.[0]}`).join(' '));
    (row['sflow_245.header'] ?? []).forEach((hex, i) => {
      if (!hex.includes(PATTERN.repeat(4))) return;
      const s: Record<string, string> = { icmpType: String(parseInt(hex.slice(68, 70), 16)) };
      for (const f of FIELDS.slice(3, 18)) s[f] = row[f]?.[i] ?? '';
      s['sflow.flow_sample.input_interface'] = role(s['sflow.flow_sample.input_interface']);
      s['sflow.flow_sample.output_interface_value'] = role(s['sflow.flow_sample.output_interface_value']);
      samples.push(s);
    });
  }
  const key = (s: Record<string, string>): string => JSON.stringify(s);
  return {
    datagram: [...datagram].sort(),
    samples: samples.sort((a, b) => (key(a) < key(b) ? -1 : 1)),
  };
}

async function pingPattern(t: Test, from: TestHost, to: TestHost): Promise<void> {
  for (let i = 0; i < 10; i++) if ((await tryRun('ping', ['-c', '1', '-W', '1', to.ip], from.ns)).code === 0) break;
  await sleep(1500);
  const r = await tryRun('ping', ['-c', String(PINGS), '-i', '0.2', '-W', '1', '-p', PATTERN, to.ip], from.ns);
  assertRan(t, r, `ping -c ${PINGS} from ${from.ns}`);
  await sleep(2500); // the last flush, and a counter sample after the traffic
}

t.test('the same sFlow row: Open vSwitch and ofswitch send the same fields', async (t) => {
  // Open vSwitch, its ports moved into its namespace, a receiver there on 127.0.0.1.
  const { ovs, o1, o2, received } = await ovsHostsAndReceiver(t, 'sfo', ['so1', 'so2'], '10.85.0', 6343);
  const br = uniqueName('sfob');
  await ovs.vsctl(['add-br', br, '--', 'set', 'bridge', br, 'datapath_type=netdev', '--', 'add-port', br, o1.port, '--', 'set', 'interface', o1.port, 'ofport_request=1',
    '--', 'add-port', br, o2.port, '--', 'set', 'interface', o2.port, 'ofport_request=2']);
  await ovs.vsctl(['--', '--id=@s', 'create', 'sflow', ...ROW, 'targets="127.0.0.1:6343"', '--', 'set', 'bridge', br, 'sflow=@s']);
  await pingPattern(t, o1, o2);
  const ovsDatagrams = received();
  t.ok(ovsDatagrams.length > 0, `Open vSwitch sent ${ovsDatagrams.length} datagrams`);
  const ifindexIn = async (ns: string, name: string): Promise<number> => Number((await run('cat', [`/sys/class/net/${name}/ifindex`], ns)).trim());
  const ovsRoles = new Map([[await ifindexIn(ovs.ns, o1.port), 'port of h1'], [await ifindexIn(ovs.ns, o2.port), 'port of h2']]);

  // ofswitch, database mode, the same row.
  const { rig, br: ofbr, h1, h2 } = await bridgeHosts(t, ['sc1', 'sc2'], '10.86.0', 'sfcb', false);
  const collector = await udpCollector(t);
  await rig.vsctl(['--', '--id=@s', 'create', 'sflow', ...ROW, `targets="127.0.0.1:${collector.port}"`, '--', 'set', 'bridge', ofbr, 'sflow=@s'], { wait: true });
  await pingPattern(t, h1, h2);
  const ofRoles = new Map<number, string>();
  ofRoles.set(Number(readFileSync(`/sys/class/net/${h1.port}/ifindex`, 'utf8')), 'port of h1');
  ofRoles.set(Number(readFileSync(`/sys/class/net/${h2.port}/ifindex`, 'utf8')), 'port of h2');

  const ovsDecoded = await tsharkFields(ovsDatagrams, 6343, FIELDS);
  const ofDecoded = await tsharkFields(collector.datagrams, collector.port, FIELDS);
  t.equal(ovsDecoded.code, 0, 'tshark read Open vSwitch\'s datagrams');
  t.equal(ofDecoded.code, 0, 'tshark read ofswitch\'s datagrams');
  const want = summarize(ovsDecoded, ovsRoles);
  const got = summarize(ofDecoded, ofRoles);
  t.equal(want.samples.length, 2 * PINGS, `Open vSwitch sampled every ping frame (${want.samples.length})`);
  t.same(got.datagram, want.datagram, 'datagram header: version, agent address, sub-agent id');
  t.same(got.samples, want.samples, 'flow samples of the pings, field by field');
  // Counter samples, walked record by record (tshark misreads Open vSwitch's after its first
  // record it does not know), the last one of each port.
  const ports = (datagrams: readonly Buffer[], roles: Map<number, string>): Record<string, unknown>[] => {
    const last = new Map<string, Record<string, unknown>>();
    for (const c of datagrams.flatMap(countersSamples)) {
      const role = roles.get(c.sourceIndex);
      if (role === undefined || !c.generic) continue;
      last.set(role, {
        port: role, sourceClass: c.sourceClass, ifIndex: roles.get(c.generic.ifIndex), formats: [...c.formats].sort((a, b) => a - b),
        ifType: c.generic.ifType, ifSpeed: c.generic.ifSpeed, ifDirection: c.generic.ifDirection, ifStatus: c.generic.ifStatus,
        portName: c.portName === undefined ? undefined : c.portName === (role === 'port of h1' ? h1.port : h2.port) || c.portName === (role === 'port of h1' ? o1.port : o2.port),
        ofPort: c.ofPort,
      });
    }
    return [...last.values()].sort((a, b) => String(a['port']).localeCompare(String(b['port'])));
  };
  const wantPorts = ports(ovsDatagrams, ovsRoles);
  const gotPorts = ports(collector.datagrams, ofRoles);
  t.equal(wantPorts.length, 2, 'Open vSwitch sent counter samples for both ports');
  t.same(gotPorts, wantPorts, 'counter samples: source, records, ifIndex, type, speed, direction, status, port name, OpenFlow port');
});
