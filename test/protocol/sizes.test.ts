/** Struct sizes from the OpenFlow 1.0.0 spec (its OFP_ASSERTs), checked in the constants and in what encode produces. */
import t from 'tap';
import { OFP_SIZE, OFPAT, OFPST, OFPT, encodeActions, encodeMessage, type Action, type OfpMessage } from '../../protocol/index.js';

const SPEC: Record<string, number> = {
  header: 8, hello: 8, error_msg: 12, switch_features: 32, phy_port: 48, switch_config: 12, match: 40,
  action_header: 8, action_output: 8, action_vlan_vid: 8, action_vlan_pcp: 8, action_dl_addr: 16,
  action_nw_addr: 8, action_nw_tos: 8, action_tp_port: 8, action_enqueue: 16, action_vendor_header: 8,
  packet_in: 18, flow_removed: 88, port_status: 64, packet_out: 16, flow_mod: 72, port_mod: 32,
  stats_request: 12, stats_reply: 12, desc_stats: 1056, flow_stats_request: 44, flow_stats: 88,
  aggregate_stats_request: 44, aggregate_stats_reply: 24, table_stats: 64, port_stats_request: 8,
  port_stats: 104, queue_stats_request: 8, queue_stats: 32, vendor_header: 12,
  queue_get_config_request: 12, queue_get_config_reply: 16, packet_queue: 8, queue_prop_header: 8,
  queue_prop_min_rate: 16,
};

t.test('OFP_SIZE matches the spec', async (t) => {
  t.strictSame({ ...OFP_SIZE }, SPEC);
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
    [{ ...h, type: OFPT.HELLO, body: new Uint8Array() }, 8],
    [{ ...h, type: OFPT.ERROR, errorType: 0, code: 0, data: new Uint8Array() }, 12],
    [{ ...h, type: OFPT.VENDOR, vendor: 0, data: new Uint8Array() }, 12],
    [{ ...h, type: OFPT.FEATURES_REPLY, datapathId: z, nBuffers: 0, nTables: 0, capabilities: 0, actions: 0, ports: [port] }, 32 + 48],
    [{ ...h, type: OFPT.SET_CONFIG, flags: 0, missSendLen: 0 }, 12],
    [{ ...h, type: OFPT.PACKET_IN, bufferId: 0, totalLen: 0, inPort: 0, reason: 0, data: new Uint8Array(60) }, 18 + 60],
    [{ ...h, type: OFPT.FLOW_REMOVED, match, cookie: z, priority: 0, reason: 0, durationSec: 0, durationNsec: 0, idleTimeout: 0, packetCount: z, byteCount: z }, 88],
    [{ ...h, type: OFPT.PORT_STATUS, reason: 0, desc: port }, 64],
    [{ ...h, type: OFPT.PACKET_OUT, bufferId: 0, inPort: 0, actions: [], data: new Uint8Array() }, 16],
    [{ ...h, type: OFPT.FLOW_MOD, match, cookie: z, command: 0, idleTimeout: 0, hardTimeout: 0, priority: 0, bufferId: 0, outPort: 0, flags: 0, actions: [] }, 72],
    [{ ...h, type: OFPT.PORT_MOD, portNo: 0, hwAddr: '00:00:00:00:00:00', config: 0, mask: 0, advertise: 0 }, 32],
    [{ ...h, type: OFPT.STATS_REQUEST, flags: 0, statsType: OFPST.FLOW, match, tableId: 0, outPort: 0 }, 12 + 44],
    [{ ...h, type: OFPT.STATS_REQUEST, flags: 0, statsType: OFPST.PORT, portNo: 0 }, 12 + 8],
    [{ ...h, type: OFPT.STATS_REQUEST, flags: 0, statsType: OFPST.QUEUE, portNo: 0, queueId: 0 }, 12 + 8],
    [{ ...h, type: OFPT.STATS_REPLY, flags: 0, statsType: OFPST.DESC, desc: { mfrDesc: '', hwDesc: '', swDesc: '', serialNum: '', dpDesc: '' } }, 12 + 1056],
    [{ ...h, type: OFPT.STATS_REPLY, flags: 0, statsType: OFPST.FLOW, flows: [{ tableId: 0, match, durationSec: 0, durationNsec: 0, priority: 0, idleTimeout: 0, hardTimeout: 0, cookie: z, packetCount: z, byteCount: z, actions: [] }] }, 12 + 88],
    [{ ...h, type: OFPT.STATS_REPLY, flags: 0, statsType: OFPST.AGGREGATE, stats: { packetCount: z, byteCount: z, flowCount: 0 } }, 12 + 24],
    [{ ...h, type: OFPT.STATS_REPLY, flags: 0, statsType: OFPST.TABLE, tables: [{ tableId: 0, name: '', wildcards: 0, maxEntries: 0, activeCount: 0, lookupCount: z, matchedCount: z }] }, 12 + 64],
    [{ ...h, type: OFPT.STATS_REPLY, flags: 0, statsType: OFPST.PORT, ports: [{ portNo: 0, rxPackets: z, txPackets: z, rxBytes: z, txBytes: z, rxDropped: z, txDropped: z, rxErrors: z, txErrors: z, rxFrameErr: z, rxOverErr: z, rxCrcErr: z, collisions: z }] }, 12 + 104],
    [{ ...h, type: OFPT.STATS_REPLY, flags: 0, statsType: OFPST.QUEUE, queues: [{ portNo: 0, queueId: 0, txBytes: z, txPackets: z, txErrors: z }] }, 12 + 32],
    [{ ...h, type: OFPT.QUEUE_GET_CONFIG_REQUEST, port: 0 }, 12],
    [{ ...h, type: OFPT.QUEUE_GET_CONFIG_REPLY, port: 0, queues: [{ queueId: 0, properties: [{ property: 1, rate: 0 }] }] }, 16 + 8 + 16],
  ];
  for (const [msg, size] of cases) t.equal(encodeMessage(msg).length, size, `type ${msg.type}`);
});

t.test('encoded action sizes', async (t) => {
  const sizes: [Action, number][] = [
    [{ type: OFPAT.OUTPUT, port: 1, maxLen: 0 }, 8],
    [{ type: OFPAT.SET_VLAN_VID, vlanVid: 1 }, 8],
    [{ type: OFPAT.SET_VLAN_PCP, vlanPcp: 1 }, 8],
    [{ type: OFPAT.STRIP_VLAN }, 8],
    [{ type: OFPAT.SET_DL_SRC, dlAddr: '00:00:00:00:00:01' }, 16],
    [{ type: OFPAT.SET_NW_DST, nwAddr: 1 }, 8],
    [{ type: OFPAT.SET_NW_TOS, nwTos: 4 }, 8],
    [{ type: OFPAT.SET_TP_DST, tpPort: 1 }, 8],
    [{ type: OFPAT.ENQUEUE, port: 1, queueId: 1 }, 16],
    [{ type: OFPAT.VENDOR, vendor: 1, body: new Uint8Array(3) }, 16],
  ];
  for (const [a, size] of sizes) t.equal(encodeActions([a]).length, size, `action type ${a.type}`);
});

t.test('a message too long for the 16-bit length field is refused with a clear error', async (t) => {
  const echo = (n: number): OfpMessage => ({ ...h, type: OFPT.ECHO_REQUEST, data: new Uint8Array(n) });
  t.equal(encodeMessage(echo(0xffff - 8)).length, 0xffff);
  t.throws(() => encodeMessage(echo(0xffff - 7)), /65536-byte message does not fit/);
});
