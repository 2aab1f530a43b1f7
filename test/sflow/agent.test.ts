/**
 * The sFlow agent and its datagrams, in process: a switch with in-memory ports samples the frames
 * injected into them; tshark's sFlow dissector decodes what the agent sent (field by field against
 * sflow_version_5.txt). Settings and the agent address are checked as OVS reads the sFlow row.
 */
import t from 'tap';
import { createSwitch } from '../../lib/switch.js';
import { parseConfigFile } from '../../lib/options.js';
import { SflowAgent, SflowError, agentAddress, parseTarget, sflowConfig, type SflowBridge } from '../../sflow/index.js';
import { addressBytes } from '../../sflow/settings.js';
import { DatagramWriter, flowSampleSize } from '../../sflow/datagram.js';
import { allValues, tsharkFields, tsharkVerbose, udpCollector } from './collectors.js';
import { waitUntil } from '../helpers/daemon-rig.js';

/** An Ethernet/IPv4/ICMP echo request from 10.0.0.1 to 10.0.0.2, `vlan` tagged when given. */
function icmpFrame(vlan?: number, pcp = 0): Uint8Array {
  const eth = Buffer.from('0000000000020000000000010800', 'hex');
  const ip = Buffer.from('450000540000400040010000' + '0a000001' + '0a000002', 'hex');
  const icmp = Buffer.alloc(64);
  icmp[0] = 8;
  const frame = Buffer.concat([eth, ip, icmp]);
  if (vlan === undefined) return frame;
  const tag = Buffer.alloc(4);
  tag.writeUInt16BE(0x8100, 0);
  tag.writeUInt16BE((pcp << 13) | vlan, 2);
  return Buffer.concat([frame.subarray(0, 12), tag, frame.subarray(12)]);
}

const SILENT = { info: () => undefined, warn: () => undefined };

t.test('settings: OVS defaults, targets, and what exports nothing', async (t) => {
  t.same(sflowConfig({ targets: ['127.0.0.1'] }), {
    targets: [{ address: '127.0.0.1', port: 6343, family: 4 }],
    agent: undefined,
    sampling: 400,
    polling: 30,
    header: 128,
  }, 'empty columns take lib/sflow.h defaults; a target without a port is on 6343');
  t.same(parseTarget('[::1]:7000'), { address: '::1', port: 7000, family: 6 });
  t.same(parseTarget('::1'), { address: '::1', port: 6343, family: 6 });
  t.same(parseTarget('10.1.2.3:9'), { address: '10.1.2.3', port: 9, family: 4 });
  t.throws(() => parseTarget('collector.example:6343'), SflowError, 'a host name is refused');
  t.throws(() => parseTarget('127.0.0.1:70000'), /port 70000/);
  t.throws(() => sflowConfig({ targets: ['127.0.0.1'], sampling: -1 }), /sampling -1/);
  t.throws(() => sflowConfig({ targets: ['127.0.0.1'], header: 1.5 }), /header 1.5/);
  t.throws(() => sflowConfig({ targets: '127.0.0.1' as unknown as string[] }), /must be a list/);
  t.throws(() => sflowConfig({ targets: [], agent: 5 as unknown as string }), /agent must be a string/);
  t.equal(sflowConfig({ targets: [] }), null, 'no targets: nothing to export');
  t.equal(sflowConfig({ targets: ['127.0.0.1'], sampling: 0 }), null, 'sampling 0: nothing to export');
  t.equal(sflowConfig({ targets: ['127.0.0.1'], agent: '' })?.agent, undefined, 'an empty agent is none');
});

t.test('agent address: an interface, an address, else the route to a target', async (t) => {
  const base = sflowConfig({ targets: ['127.0.0.1:6343'] })!;
  t.equal(await agentAddress({ ...base, agent: 'lo' }), '127.0.0.1', 'an interface name: its IPv4 address');
  t.equal(await agentAddress({ ...base, agent: '192.0.2.7' }), '192.0.2.7', 'an address: itself');
  t.equal(await agentAddress({ ...base, agent: 'nosuchif0' }), '127.0.0.1', 'neither: the source of the route to the target');
  t.equal(await agentAddress(base), '127.0.0.1', 'no agent: the same');
  const v6 = sflowConfig({ targets: ['[::1]:6343'] })!;
  t.equal(await agentAddress(v6), '::1', 'an IPv6 target: the IPv6 source');
  t.same([...addressBytes('::ffff:1.2.3.4')], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4], 'an IPv4-mapped IPv6 address');
  t.same([...addressBytes('2001:db8::1')], [0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  t.same([...addressBytes('fe80:0:0:0:0:0:0:2')].slice(-2), [0, 2]);
  t.throws(() => addressBytes('nonsense'), SflowError);
  t.throws(() => new DatagramWriter(new Uint8Array(5), 0), RangeError);
});

t.test('flow samples: every frame at sampling 1, decoded by tshark', async (t) => {
  const collector = await udpCollector(t);
  const sw = createSwitch({ datapathId: 0x1234n });
  t.teardown(() => sw.close());
  const a = sw.addPort({ name: 'm1', type: 'memory', ofport: 1 });
  const b = sw.addPort({ name: 'm2', type: 'memory', ofport: 2 });
  sw.addPort({ name: 'm3', type: 'memory', ofport: 3 });
  sw.addFlow({ match: { inPort: 1 }, actions: [{ output: 2 }] });
  t.equal(sw.sflow(), null, 'no sFlow before it is set');
  await sw.setSflow({ targets: [`127.0.0.1:${collector.port}`], agent: '127.0.0.1', sampling: 1, header: 64, polling: 0 }, 3);
  t.match(sw.sflow(), { agent: '127.0.0.1', sampling: 1, header: 64, polling: 0, targets: [`127.0.0.1:${collector.port}`] });
  a.device.inject(icmpFrame());
  a.device.inject(icmpFrame(10, 5));
  b.device.inject(icmpFrame()); // port 2: no flow, the standalone NORMAL flow floods it
  await waitUntil(() => (sw.sflow()?.flowSamples ?? 0) >= 3 && collector.datagrams.length > 0, 'the samples reach the collector', 5000);
  const r = await tsharkFields(collector.datagrams, collector.port, [
    'sflow_245.version', 'sflow_245.agent', 'sflow_245.sub_agent_id', 'sflow_245.numsamples',
    'sflow.flow_sample.sequence_number', 'sflow.flow_sample.source_id_class', 'sflow.flow_sample.index',
    'sflow.flow_sample.sampling_rate', 'sflow.flow_sample.sample_pool', 'sflow.flow_sample.dropped_packets',
    'sflow.flow_sample.input_interface', 'sflow.flow_sample.output_interface_format', 'sflow.flow_sample.output_interface_value',
    'sflow_245.header.frame_length', 'sflow_245.header.payload_stripped', 'sflow_245.header.sampled_header_length',
    'sflow_245.vlan.in', 'sflow_245.pri.in', 'sflow_245.vlan.out', 'icmp.type',
  ]);
  t.equal(r.code, 0, `tshark ran: ${r.stderr}`);
  t.ok(r.rows.length > 0, 'tshark decoded datagrams');
  t.same([...new Set(allValues(r, 'sflow_245.version'))], ['5'], 'sFlow version 5');
  t.same([...new Set(allValues(r, 'sflow_245.agent'))], ['127.0.0.1'], 'the agent address');
  t.same([...new Set(allValues(r, 'sflow_245.sub_agent_id'))], ['3'], 'the sub-agent id');
  t.same(allValues(r, 'sflow.flow_sample.sequence_number'), ['1', '2', '3'], 'flow samples numbered 1, 2, 3');
  t.same([...new Set(allValues(r, 'sflow.flow_sample.source_id_class'))], ['2'], 'source: a physical entity, as OVS');
  t.same([...new Set(allValues(r, 'sflow.flow_sample.index'))], ['1003'], 'index 1000 + sub-id');
  t.same([...new Set(allValues(r, 'sflow.flow_sample.sampling_rate'))], ['1']);
  t.same(allValues(r, 'sflow.flow_sample.sample_pool'), ['1', '2', '3'], 'the pool counts every frame seen');
  t.same([...new Set(allValues(r, 'sflow.flow_sample.dropped_packets'))], ['0']);
  t.same(allValues(r, 'sflow.flow_sample.input_interface'), ['0', '0', '0'], 'memory ports have no ifindex: 0 (unknown)');
  t.same(allValues(r, 'sflow.flow_sample.output_interface_value').map(Number), [1, 1, 2],
    'one output without an ifindex is given as a count (OVS\'s fall-through); the flood goes out of two ports');
  t.same(allValues(r, 'sflow_245.header.frame_length'), ['102', '106', '102'], 'frame length with the FCS');
  t.same([...new Set(allValues(r, 'sflow_245.header.payload_stripped'))], ['4']);
  t.same([...new Set(allValues(r, 'sflow_245.header.sampled_header_length'))], ['64'], 'header cut to 64 bytes');
  t.same(allValues(r, 'sflow.flow_sample.output_interface_format'), ['2', '2', '2'], 'format: multiple interfaces');
  t.same(allValues(r, 'sflow_245.vlan.in'), ['0', '10', '0'], 'VLAN in');
  t.same(allValues(r, 'sflow_245.pri.in'), ['0', '5', '0'], 'priority in');
  t.same(allValues(r, 'sflow_245.vlan.out'), ['0', '10', '0'], 'VLAN out (the tag left as it came)');
  t.same(allValues(r, 'icmp.type'), ['8', '8', '8'], 'tshark dissects each sampled header down to ICMP echo');

  // A port added while sFlow is on is sampled from its first frame.
  const c = sw.addPort({ name: 'm4', type: 'memory', ofport: 4 });
  c.device.inject(icmpFrame());
  t.equal(sw.sflow()?.flowSamples, 4, 'a port added later: its first frame sampled at 1:1');
  sw.removePort('m4');

  // Removed: nothing more.
  await sw.setSflow(null);
  t.equal(sw.sflow(), null);
  await new Promise((r) => setTimeout(r, 300)); // the last datagram, sent as the agent stopped
  const before = collector.datagrams.length;
  a.device.inject(icmpFrame());
  await new Promise((r) => setTimeout(r, 1300));
  t.equal(collector.datagrams.length, before, 'no datagram once sFlow is off');
});

t.test('sampling N: skips drawn from 1..2N-1, the pool counts every frame, drops and outputs', async (t) => {
  const sent: Buffer[] = [];
  const ports = [
    { ofport: 1, name: 'lo', type: 'system' },
    { ofport: 2, name: 'm2', type: 'memory' },
  ].map((p) => ({
    ...p,
    description: { portNo: p.ofport, hwAddr: '00:00:00:00:00:01', name: p.name, config: 0, state: 0, curr: 0, advertised: 0, supported: 0, peer: 0 },
    stats: { portNo: p.ofport, rxPackets: 7n, txPackets: 8n, rxBytes: 700n, txBytes: 800n, rxDropped: 1n, txDropped: 2n, rxErrors: 3n, txErrors: 4n, rxFrameErr: 0n, rxOverErr: 0n, rxCrcErr: 0n, collisions: 0n },
  }));
  const bridge: SflowBridge = { ports: () => ports, datapathId: 0xabcn };
  let rand = 0;
  const config = sflowConfig({ targets: ['127.0.0.1:1'], sampling: 10, header: 2000, polling: 2 })!;
  const agent = new SflowAgent({ config, agentAddress: '::1', bridge, log: SILENT, send: (d) => sent.push(d), timer: false, random: () => rand, now: () => 5000 });
  t.equal(agent.nextSkip(), 1, 'random 0: skip 1');
  rand = 0.999999;
  t.equal(agent.nextSkip(), 19, 'the largest skip: 2N-1');
  // Too big a header (2000 bytes of a 2000-byte frame): the sample is dropped and counted.
  agent.sampleIn(new Uint8Array(2000), 1, 10);
  agent.sampleOut(1, 1, 0);
  t.equal(agent.flowSamples, 0, 'a sample over half a datagram is dropped');
  agent.sampleIn(icmpFrame(), 1, 10);
  agent.sampleOut(0, 0, 0);
  agent.sampleIn(icmpFrame(), 1, 5);
  agent.sampleOut(1, 1, 0);
  // Polls: lo has an ifindex (1), the memory port none; the first poll after a random part of 2 s.
  agent.tick();
  agent.tick();
  agent.tick();
  agent.close();
  agent.close();
  agent.sampleOut(1, 1, 0);
  agent.tick();
  const r = await tsharkFields(sent, 6343, [
    'sflow_245.agent.v6', 'sflow.flow_sample.sample_pool', 'sflow.flow_sample.dropped_packets', 'sflow.flow_sample.output_interface_format',
    'sflow.flow_sample.output_interface_value', 'sflow.flow_sample.input_interface',
    'sflow.counters_sample.source_id_type', 'sflow.counters_sample.source_id_index', 'sflow_245.ifindex', 'sflow_245.ifinpkt',
    'sflow_245.ifinoct', 'sflow_245.ifoutpkt', 'sflow_245.ifoutoct', 'sflow_245.ifindisc', 'sflow_245.ifoutdisc', 'sflow_245.ifinerr',
    'sflow_245.ifouterr', 'sflow_245.ifinmcast', 'sflow_245.ifadmin_status', 'sflow_245.ifoper_status', 'sflow_245.ifspeed',
  ]);
  t.equal(r.code, 0, `tshark ran: ${r.stderr}`);
  t.same([...new Set(allValues(r, 'sflow_245.agent.v6'))], ['::1'], 'an IPv6 agent address');
  t.same(allValues(r, 'sflow.flow_sample.sample_pool'), ['20', '25'], 'the pool: every frame the countdowns saw, the dropped sample\'s too');
  t.same(allValues(r, 'sflow.flow_sample.dropped_packets'), ['1', '1'], 'drops: the sample too big');
  t.same(allValues(r, 'sflow.flow_sample.input_interface'), ['1', '1'], 'lo\'s ifindex in');
  t.same(allValues(r, 'sflow.flow_sample.output_interface_format').map(Number), [1, 0], 'no output: the discarded format, then one ifIndex');
  t.same(allValues(r, 'sflow.flow_sample.output_interface_value').map(Number), [256, 1], 'dropped for an unknown reason (256), then lo\'s ifindex');
  t.same([...new Set(allValues(r, 'sflow.counters_sample.source_id_index'))], ['1'], 'counters only for the port with an ifindex');
  t.same([...new Set(allValues(r, 'sflow.counters_sample.source_id_type'))], ['0'], 'its source: class ifIndex');
  t.ok(allValues(r, 'sflow_245.ifinpkt').length >= 1, 'a counter sample within three ticks of polling 2');
  t.same([...new Set(allValues(r, 'sflow_245.ifinpkt'))], ['7']);
  t.same([...new Set(allValues(r, 'sflow_245.ifinoct'))], ['700']);
  t.same([...new Set(allValues(r, 'sflow_245.ifoutpkt'))], ['8']);
  t.same([...new Set(allValues(r, 'sflow_245.ifoutoct'))], ['800']);
  t.same([...new Set(allValues(r, 'sflow_245.ifindisc'))], ['1']);
  t.same([...new Set(allValues(r, 'sflow_245.ifoutdisc'))], ['2']);
  t.same([...new Set(allValues(r, 'sflow_245.ifinerr'))], ['3']);
  t.same([...new Set(allValues(r, 'sflow_245.ifouterr'))], ['4']);
  t.same([...new Set(allValues(r, 'sflow_245.ifinmcast'))], ['4294967295'], 'multicast: unknown');
  t.same([...new Set(allValues(r, 'sflow_245.ifspeed'))], ['100000000'], 'lo has no speed: OVS\'s 100 Mb/s');
  const v = await tsharkVerbose(sent, 6343);
  t.equal(v.code, 0);
  t.match(v.stdout, /Format: Generic interface counters \(1\)[\s\S]*Format: Ethernet interface counters \(2\)[\s\S]*Format: Unknown \(1005\)/,
    'generic and Ethernet records first, then those tshark does not know');
  t.ok(flowSampleSize(128) === 216, 'a 128-byte sample is 216 bytes, as OVS\'s');
});

t.test('the --config file\'s sflow object, and the switch\'s setSflow edges', async (t) => {
  const read = (json: unknown) => (): string => JSON.stringify(json);
  const parsed = parseConfigFile('c.json', read({ sflow: { targets: ['127.0.0.1:6343'], sampling: 64 } }));
  t.same(parsed.sflow, { targets: ['127.0.0.1:6343'], sampling: 64 }, 'the sflow object is taken as the sFlow row\'s columns');
  t.throws(() => parseConfigFile('c.json', read({ sflow: ['127.0.0.1'] })), /"sflow" must be an object/);
  t.throws(() => parseConfigFile('c.json', read({ sflow: { targets: ['127.0.0.1'], rate: 5 } })), /unknown sflow setting "rate"/);
  t.throws(() => parseConfigFile('c.json', read({ sflow: { targets: ['127.0.0.1'], polling: -5 } })), /c.json: sFlow polling -5/);

  const sw = createSwitch();
  await sw.setSflow({ targets: [] });
  t.equal(sw.sflow(), null, 'no targets: sFlow stays off');
  await sw.setSflow({ targets: ['127.0.0.1:9'], sampling: 0 });
  t.equal(sw.sflow(), null, 'sampling 0: off');
  await t.rejects(sw.setSflow({ targets: ['bad'] }), SflowError, 'a bad target: an SflowError');
  // Two calls at once: the last one wins.
  await Promise.all([sw.setSflow({ targets: ['127.0.0.1:9'], sampling: 7 }), sw.setSflow({ targets: ['127.0.0.1:9'], sampling: 9 })]);
  t.equal(sw.sflow()?.sampling, 9, 'of two calls at once, the later one holds');
  t.same(sw.sflow()?.targets, ['127.0.0.1:9']);
  await sw.close();
  t.equal(sw.sflow(), null, 'closing the switch stops sFlow');
  await t.rejects(sw.setSflow({ targets: ['127.0.0.1:9'] }), /closed/, 'a closed switch takes no sFlow');
  const sw6 = createSwitch();
  await sw6.setSflow({ targets: ['[::1]:9'] });
  t.same(sw6.sflow()?.targets, ['[::1]:9'], 'an IPv6 target is shown bracketed');
  await sw6.close();
});
