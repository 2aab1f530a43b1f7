/**
 * Struct sizes from the OpenFlow 1.0.0 spec: its OFP_ASSERT lines (appendix A, openflow.h), copied
 * here as text, are the only source of the numbers; the constants table (OFP_SIZE) and what encode
 * produces are checked against them.
 */
import t from 'tap';
import { OFP_SIZE, OFPAT, OFPST, OFPT, encodeActions, encodeMessage, type Action, type OfpMessage } from '../../protocol/index.js';

const SPEC_ASSERTS = `
OFP_ASSERT(sizeof(struct ofp_header) == 8);
OFP_ASSERT(sizeof(struct ofp_phy_port) == 48);
OFP_ASSERT(sizeof(struct ofp_packet_queue) == 8);
OFP_ASSERT(sizeof(struct ofp_queue_prop_header) == 8);
OFP_ASSERT(sizeof(struct ofp_queue_prop_min_rate) == 16);
OFP_ASSERT(sizeof(struct ofp_match) == 40);
OFP_ASSERT(sizeof(struct ofp_action_output) == 8);
OFP_ASSERT(sizeof(struct ofp_action_enqueue) == 16);
OFP_ASSERT(sizeof(struct ofp_action_vlan_vid) == 8);
OFP_ASSERT(sizeof(struct ofp_action_vlan_pcp) == 8);
OFP_ASSERT(sizeof(struct ofp_action_dl_addr) == 16);
OFP_ASSERT(sizeof(struct ofp_action_nw_addr) == 8);
OFP_ASSERT(sizeof(struct ofp_action_tp_port) == 8);
OFP_ASSERT(sizeof(struct ofp_action_nw_tos) == 8);
OFP_ASSERT(sizeof(struct ofp_action_vendor_header) == 8);
OFP_ASSERT(sizeof(struct ofp_action_header) == 8);
OFP_ASSERT(sizeof(struct ofp_switch_features) == 32);
OFP_ASSERT(sizeof(struct ofp_switch_config) == 12);
OFP_ASSERT(sizeof(struct ofp_flow_mod) == 72);
OFP_ASSERT(sizeof(struct ofp_port_mod) == 32);
OFP_ASSERT(sizeof(struct ofp_queue_get_config_request) == 12);
OFP_ASSERT(sizeof(struct ofp_queue_get_config_reply) == 16);
OFP_ASSERT(sizeof(struct ofp_stats_request) == 12);
OFP_ASSERT(sizeof(struct ofp_stats_reply) == 12);
OFP_ASSERT(sizeof(struct ofp_desc_stats) == 1056);
OFP_ASSERT(sizeof(struct ofp_flow_stats_request) == 44);
OFP_ASSERT(sizeof(struct ofp_flow_stats) == 88);
OFP_ASSERT(sizeof(struct ofp_aggregate_stats_request) == 44);
OFP_ASSERT(sizeof(struct ofp_aggregate_stats_reply) == 24);
OFP_ASSERT(sizeof(struct ofp_table_stats) == 64);
OFP_ASSERT(sizeof(struct ofp_port_stats_request) == 8);
OFP_ASSERT(sizeof(struct ofp_port_stats) == 104);
OFP_ASSERT(sizeof(struct ofp_queue_stats_request) == 8);
OFP_ASSERT(sizeof(struct ofp_queue_stats) == 32);
OFP_ASSERT(sizeof(struct ofp_packet_out) == 16);
OFP_ASSERT(sizeof(struct ofp_packet_in) == 20);
OFP_ASSERT(sizeof(struct ofp_flow_removed) == 88);
OFP_ASSERT(sizeof(struct ofp_port_status) == 64);
OFP_ASSERT(sizeof(struct ofp_error_msg) == 12);
OFP_ASSERT(sizeof(struct ofp_vendor_header) == 12);
`;

const SPEC = new Map([...SPEC_ASSERTS.matchAll(/sizeof\(struct ofp_(\w+)\) == (\d+)\);/g)].map((m) => [m[1] ?? '', Number(m[2])]));

/** The spec's size of `struct ofp_NAME`; throws for a struct the spec asserts nothing about. */
function spec(name: string): number {
  const size = SPEC.get(name);
  if (size === undefined) throw new Error(`the spec has no OFP_ASSERT for struct ofp_${name}`);
  return size;
}

/**
 * What OFP_SIZE must say for each struct, by the spec: its asserted size, except
 * - packet_in: the fixed part ends where the frame begins. The spec's own comment on
 *   ofp_packet_in: "Because of padding, offsetof(struct ofp_packet_in, data) ==
 *   sizeof(struct ofp_packet_in) - 2";
 * - hello: the spec gives OFPT_HELLO no body and no assert of its own: a header.
 */
function wanted(name: string): number {
  if (name === 'packet_in') return spec('packet_in') - 2;
  if (name === 'hello') return spec('header');
  return spec(name);
}

t.test('the spec text holds the asserts this test relies on', async (t) => {
  t.equal(SPEC.size, SPEC_ASSERTS.trim().split('\n').length, 'every line parsed');
  t.equal(SPEC.size, 40);
});

t.test('OFP_SIZE matches the spec, struct by struct, and names every struct the spec asserts', async (t) => {
  for (const [name, size] of Object.entries(OFP_SIZE)) t.equal(size, wanted(name), `ofp_${name}`);
  t.same([...SPEC.keys()].filter((name) => !(name in OFP_SIZE)), [], 'no asserted struct missing from OFP_SIZE');
});

const match = {
  wildcards: 0, inPort: 0, dlSrc: '00:00:00:00:00:00', dlDst: '00:00:00:00:00:00', dlVlan: 0, dlVlanPcp: 0,
  dlType: 0, nwTos: 0, nwProto: 0, nwSrc: 0, nwDst: 0, tpSrc: 0, tpDst: 0,
};
const port = { portNo: 1, hwAddr: '00:00:00:00:00:01', name: 'p', config: 0, state: 0, curr: 0, advertised: 0, supported: 0, peer: 0 };
const h = { version: 1, xid: 0 };
const z = 0n;

t.test('encoded sizes of empty or one-entry messages', async (t) => {
  const cases: [OfpMessage, number][] = [
    [{ ...h, type: OFPT.HELLO, body: new Uint8Array() }, spec('header')],
    [{ ...h, type: OFPT.ERROR, errorType: 0, code: 0, data: new Uint8Array() }, spec('error_msg')],
    [{ ...h, type: OFPT.VENDOR, vendor: 0, data: new Uint8Array() }, spec('vendor_header')],
    [{ ...h, type: OFPT.FEATURES_REPLY, datapathId: z, nBuffers: 0, nTables: 0, capabilities: 0, actions: 0, ports: [port] }, spec('switch_features') + spec('phy_port')],
    [{ ...h, type: OFPT.SET_CONFIG, flags: 0, missSendLen: 0 }, spec('switch_config')],
    [{ ...h, type: OFPT.PACKET_IN, bufferId: 0, totalLen: 0, inPort: 0, reason: 0, data: new Uint8Array(60) }, spec('packet_in') - 2 + 60],
    [{ ...h, type: OFPT.FLOW_REMOVED, match, cookie: z, priority: 0, reason: 0, durationSec: 0, durationNsec: 0, idleTimeout: 0, packetCount: z, byteCount: z }, spec('flow_removed')],
    [{ ...h, type: OFPT.PORT_STATUS, reason: 0, desc: port }, spec('port_status')],
    [{ ...h, type: OFPT.PACKET_OUT, bufferId: 0, inPort: 0, actions: [], data: new Uint8Array() }, spec('packet_out')],
    [{ ...h, type: OFPT.FLOW_MOD, match, cookie: z, command: 0, idleTimeout: 0, hardTimeout: 0, priority: 0, bufferId: 0, outPort: 0, flags: 0, actions: [] }, spec('flow_mod')],
    [{ ...h, type: OFPT.PORT_MOD, portNo: 0, hwAddr: '00:00:00:00:00:00', config: 0, mask: 0, advertise: 0 }, spec('port_mod')],
    [{ ...h, type: OFPT.STATS_REQUEST, flags: 0, statsType: OFPST.FLOW, match, tableId: 0, outPort: 0 }, spec('stats_request') + spec('flow_stats_request')],
    [{ ...h, type: OFPT.STATS_REQUEST, flags: 0, statsType: OFPST.PORT, portNo: 0 }, spec('stats_request') + spec('port_stats_request')],
    [{ ...h, type: OFPT.STATS_REQUEST, flags: 0, statsType: OFPST.QUEUE, portNo: 0, queueId: 0 }, spec('stats_request') + spec('queue_stats_request')],
    [{ ...h, type: OFPT.STATS_REPLY, flags: 0, statsType: OFPST.DESC, desc: { mfrDesc: '', hwDesc: '', swDesc: '', serialNum: '', dpDesc: '' } }, spec('stats_reply') + spec('desc_stats')],
    [{ ...h, type: OFPT.STATS_REPLY, flags: 0, statsType: OFPST.FLOW, flows: [{ tableId: 0, match, durationSec: 0, durationNsec: 0, priority: 0, idleTimeout: 0, hardTimeout: 0, cookie: z, packetCount: z, byteCount: z, actions: [] }] }, spec('stats_reply') + spec('flow_stats')],
    [{ ...h, type: OFPT.STATS_REPLY, flags: 0, statsType: OFPST.AGGREGATE, stats: { packetCount: z, byteCount: z, flowCount: 0 } }, spec('stats_reply') + spec('aggregate_stats_reply')],
    [{ ...h, type: OFPT.STATS_REPLY, flags: 0, statsType: OFPST.TABLE, tables: [{ tableId: 0, name: '', wildcards: 0, maxEntries: 0, activeCount: 0, lookupCount: z, matchedCount: z }] }, spec('stats_reply') + spec('table_stats')],
    [{ ...h, type: OFPT.STATS_REPLY, flags: 0, statsType: OFPST.PORT, ports: [{ portNo: 0, rxPackets: z, txPackets: z, rxBytes: z, txBytes: z, rxDropped: z, txDropped: z, rxErrors: z, txErrors: z, rxFrameErr: z, rxOverErr: z, rxCrcErr: z, collisions: z }] }, spec('stats_reply') + spec('port_stats')],
    [{ ...h, type: OFPT.STATS_REPLY, flags: 0, statsType: OFPST.QUEUE, queues: [{ portNo: 0, queueId: 0, txBytes: z, txPackets: z, txErrors: z }] }, spec('stats_reply') + spec('queue_stats')],
    [{ ...h, type: OFPT.QUEUE_GET_CONFIG_REQUEST, port: 0 }, spec('queue_get_config_request')],
    [{ ...h, type: OFPT.QUEUE_GET_CONFIG_REPLY, port: 0, queues: [{ queueId: 0, properties: [{ property: 1, rate: 0 }] }] }, spec('queue_get_config_reply') + spec('packet_queue') + spec('queue_prop_min_rate')],
  ];
  for (const [msg, size] of cases) t.equal(encodeMessage(msg).length, size, `type ${msg.type}`);
});

t.test('encoded action sizes', async (t) => {
  const sizes: [Action, number][] = [
    [{ type: OFPAT.OUTPUT, port: 1, maxLen: 0 }, spec('action_output')],
    [{ type: OFPAT.SET_VLAN_VID, vlanVid: 1 }, spec('action_vlan_vid')],
    [{ type: OFPAT.SET_VLAN_PCP, vlanPcp: 1 }, spec('action_vlan_pcp')],
    [{ type: OFPAT.STRIP_VLAN }, spec('action_header')],
    [{ type: OFPAT.SET_DL_SRC, dlAddr: '00:00:00:00:00:01' }, spec('action_dl_addr')],
    [{ type: OFPAT.SET_NW_DST, nwAddr: 1 }, spec('action_nw_addr')],
    [{ type: OFPAT.SET_NW_TOS, nwTos: 4 }, spec('action_nw_tos')],
    [{ type: OFPAT.SET_TP_DST, tpPort: 1 }, spec('action_tp_port')],
    [{ type: OFPAT.ENQUEUE, port: 1, queueId: 1 }, spec('action_enqueue')],
    [{ type: OFPAT.VENDOR, vendor: 1, body: new Uint8Array(3) }, spec('action_vendor_header') + 8], // 3 bytes of body padded to 8,
  ];
  for (const [a, size] of sizes) t.equal(encodeActions([a]).length, size, `action type ${a.type}`);
});

t.test('a message too long for the 16-bit length field is refused with a clear error', async (t) => {
  const echo = (n: number): OfpMessage => ({ ...h, type: OFPT.ECHO_REQUEST, data: new Uint8Array(n) });
  t.equal(encodeMessage(echo(0xffff - 8)).length, 0xffff);
  t.throws(() => encodeMessage(echo(0xffff - 7)), /65536-byte message does not fit/);
});
