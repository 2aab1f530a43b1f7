/**
 * A corpus of typed OpenFlow 1.0 messages: every message type, every stats type, every action
 * type, with field values chosen so that a swapped, shifted or truncated field shows (no two
 * neighbouring fields share a value). The peer tests encode these and ask ovs-ofctl and scapy
 * what they read; the fuzz test mutates their encodings.
 *
 * Matches are consistent (a field is only matched when its prerequisites are), because Open
 * vSwitch normalises inconsistent matches before printing them.
 */
import {
  OFP_NO_BUFFER,
  OFPAT,
  OFPC,
  OFPET,
  OFPBAC,
  OFPFC,
  OFPFF,
  OFPFW,
  OFPP,
  OFPPC,
  OFPPF,
  OFPPR,
  OFPPS,
  OFPQT,
  OFPR,
  OFPRR,
  OFPSF,
  OFPST,
  OFPT,
} from '../../protocol/constants.js';
import type { Action, Match, OfpMessage, PhyPort } from '../../protocol/types.js';
import { matchWith } from '../../protocol/match.js';

const V = 0x01;

/** Wildcards for "match on exactly these fields" (nw_src/nw_dst prefix lengths given apart). */
export function wildcardsExcept(fields: number, nwSrcLen = 0, nwDstLen = 0): number {
  const all = OFPFW.IN_PORT | OFPFW.DL_VLAN | OFPFW.DL_SRC | OFPFW.DL_DST | OFPFW.DL_TYPE | OFPFW.NW_PROTO |
    OFPFW.TP_SRC | OFPFW.TP_DST | OFPFW.DL_VLAN_PCP | OFPFW.NW_TOS;
  return ((all & ~fields) | ((32 - nwSrcLen) << OFPFW.NW_SRC_SHIFT) | ((32 - nwDstLen) << OFPFW.NW_DST_SHIFT)) >>> 0;
}

const ZERO_MATCH: Match = matchWith({ wildcards: 0 });

/** Every field matched: a TCP flow on VLAN 5 (no wildcard bit set). */
export const TCP_MATCH: Match = {
  wildcards: 0,
  inPort: 3,
  dlSrc: '00:01:02:03:04:05',
  dlDst: '0a:0b:0c:0d:0e:0f',
  dlVlan: 5,
  dlVlanPcp: 3,
  dlType: 0x0800,
  nwTos: 8,
  nwProto: 6,
  nwSrc: 0x0a000001, // 10.0.0.1
  nwDst: 0xc0a80101, // 192.168.1.1
  tpSrc: 80,
  tpDst: 443,
};

/** Wildcard-all, as ovs-ofctl sends it (0x003820ff: nw counts of 32). */
export const ANY_MATCH: Match = { ...ZERO_MATCH, wildcards: OFPFW.ALL & ~(OFPFW.NW_SRC_MASK | OFPFW.NW_DST_MASK) | OFPFW.NW_SRC_ALL | OFPFW.NW_DST_ALL };

export const MATCHES: Readonly<Record<string, Match>> = {
  tcp: TCP_MATCH,
  any: ANY_MATCH,
  udpPrefixes: {
    ...ZERO_MATCH,
    wildcards: wildcardsExcept(OFPFW.DL_TYPE | OFPFW.NW_PROTO | OFPFW.TP_DST, 8, 24),
    dlType: 0x0800,
    nwProto: 17,
    nwSrc: 0x0a000000, // 10.0.0.0/8
    nwDst: 0xc0a80100, // 192.168.1.0/24
    tpDst: 53,
  },
  arp: {
    ...ZERO_MATCH,
    wildcards: wildcardsExcept(OFPFW.IN_PORT | OFPFW.DL_TYPE | OFPFW.NW_PROTO, 32, 16),
    inPort: 7,
    dlType: 0x0806,
    nwProto: 2, // ARP reply
    nwSrc: 0x0a000101,
    nwDst: 0x0a010000,
  },
  icmp: {
    ...ZERO_MATCH,
    wildcards: wildcardsExcept(OFPFW.DL_TYPE | OFPFW.NW_PROTO | OFPFW.NW_TOS | OFPFW.TP_SRC | OFPFW.TP_DST),
    dlType: 0x0800,
    nwProto: 1,
    nwTos: 4,
    tpSrc: 8, // echo request
    tpDst: 0,
  },
  untagged: {
    ...ZERO_MATCH,
    wildcards: wildcardsExcept(OFPFW.IN_PORT | OFPFW.DL_VLAN | OFPFW.DL_SRC | OFPFW.DL_DST),
    inPort: 0xfffe, // LOCAL
    dlVlan: 0xffff,
    dlSrc: 'fe:dc:ba:98:76:54',
    dlDst: 'ff:ff:ff:ff:ff:ff',
  },
  lldp: { ...ZERO_MATCH, wildcards: wildcardsExcept(OFPFW.DL_TYPE), dlType: 0x88cc },
};

/** One of each action type, with OUTPUT to a physical port and to CONTROLLER. */
export const ALL_ACTIONS: readonly Action[] = [
  { type: OFPAT.OUTPUT, port: 1, maxLen: 0 },
  { type: OFPAT.SET_VLAN_VID, vlanVid: 7 },
  { type: OFPAT.SET_VLAN_PCP, vlanPcp: 2 },
  { type: OFPAT.STRIP_VLAN },
  { type: OFPAT.SET_DL_SRC, dlAddr: '00:00:00:00:00:01' },
  { type: OFPAT.SET_DL_DST, dlAddr: '00:00:00:00:00:02' },
  { type: OFPAT.SET_NW_SRC, nwAddr: 0x01020304 },
  { type: OFPAT.SET_NW_DST, nwAddr: 0x05060708 },
  { type: OFPAT.SET_NW_TOS, nwTos: 16 },
  { type: OFPAT.SET_TP_SRC, tpPort: 1000 },
  { type: OFPAT.SET_TP_DST, tpPort: 2000 },
  { type: OFPAT.ENQUEUE, port: 3, queueId: 4 },
  { type: OFPAT.OUTPUT, port: OFPP.CONTROLLER, maxLen: 100 },
];

/** OUTPUT to each reserved port a flow may name. */
export const RESERVED_OUTPUTS: readonly Action[] = [OFPP.IN_PORT, OFPP.NORMAL, OFPP.FLOOD, OFPP.ALL, OFPP.LOCAL].map(
  (port) => ({ type: OFPAT.OUTPUT, port, maxLen: 0 }),
);

/** Nicira's NXAST_RESUBMIT_TABLE (subtype 14) to port 3, table 255: a vendor action peers know. */
export const RESUBMIT_ACTION: Action = {
  type: OFPAT.VENDOR,
  vendor: 0x00002320,
  body: Uint8Array.from([0x00, 0x0e, 0x00, 0x03, 0xff, 0x00, 0x00, 0x00]),
};

/** What an error reply carries: a whole FLOW_MOD (xid 2, match all, OUTPUT to port 99). */
export const REFUSED_FLOW_MOD: Uint8Array = Uint8Array.from(
  Buffer.from(
    '010e005000000002' + // header: version 1, FLOW_MOD, length 80, xid 2
      '003820ff' + '00'.repeat(36) + // match: all wildcarded
      '0000000000000000' + // cookie
      '0000' + '0000' + '0000' + '8000' + // command ADD, idle 0, hard 0, priority 0x8000
      'ffffffff' + 'ffff' + '0000' + // buffer_id none, out_port NONE, flags
      '0000000800630000', // OUTPUT port 99, max_len 0
    'hex',
  ),
);

/** An IPv4/UDP frame of `size` bytes (Ethernet header included), as a packet-in would carry it. */
export function udpFrame(size: number): Uint8Array {
  const f = new Uint8Array(size);
  f.set([0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x08, 0x00], 0);
  const ipLen = size - 14;
  f.set([0x45, 0x00, ipLen >> 8, ipLen & 0xff, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 14);
  const udpLen = ipLen - 20;
  f.set([0x30, 0x39, 0x00, 0x35, udpLen >> 8, udpLen & 0xff, 0, 0], 34);
  for (let i = 42; i < size; i++) f[i] = i & 0xff;
  return f;
}

export const PORT_1: PhyPort = {
  portNo: 1,
  hwAddr: '00:00:00:00:00:11',
  name: 'veth-a1',
  config: OFPPC.NO_FLOOD,
  state: OFPPS.STP_FORWARD,
  curr: OFPPF['1GB_FD'] | OFPPF.COPPER,
  advertised: OFPPF['1GB_FD'] | OFPPF.AUTONEG,
  supported: OFPPF['1GB_FD'] | OFPPF['100MB_FD'] | OFPPF.AUTONEG,
  peer: OFPPF['100MB_FD'],
};
export const PORT_2: PhyPort = {
  portNo: 2,
  hwAddr: '00:00:00:00:00:22',
  name: 'eth2',
  config: OFPPC.PORT_DOWN,
  state: OFPPS.LINK_DOWN,
  curr: OFPPF['10GB_FD'] | OFPPF.FIBER,
  advertised: 0,
  supported: OFPPF['10GB_FD'],
  peer: 0,
};
export const LOCAL_PORT: PhyPort = { ...PORT_1, portNo: OFPP.LOCAL, hwAddr: '02:00:00:00:00:fe', name: 'br0', config: 0, state: 0 };

/** A flow stats entry with the given match and actions. */
export function flowStats(match: Match, actions: readonly Action[], n: number) {
  return {
    tableId: 0,
    match,
    durationSec: 10 + n,
    durationNsec: 500_000_000 + n,
    priority: 100 + n,
    idleTimeout: 60,
    hardTimeout: 300,
    cookie: 0x1000n + BigInt(n),
    packetCount: 2000n + BigInt(n),
    byteCount: 300_000n + BigInt(n),
    actions,
  } as const;
}

/** Every OpenFlow 1.0 message type and stats type, by a short name. */
export const CORPUS: Readonly<Record<string, OfpMessage>> = {
  hello: { version: V, type: OFPT.HELLO, xid: 1, body: new Uint8Array(0) },
  error: {
    version: V,
    type: OFPT.ERROR,
    xid: 2,
    errorType: OFPET.BAD_ACTION,
    code: OFPBAC.BAD_OUT_PORT,
    data: REFUSED_FLOW_MOD,
  },
  echoRequest: { version: V, type: OFPT.ECHO_REQUEST, xid: 0, data: Uint8Array.from([0x61, 0x62, 0x63]) },
  echoReply: { version: V, type: OFPT.ECHO_REPLY, xid: 4, data: Uint8Array.from([0x61, 0x62, 0x63, 0x64]) },
  vendor: {
    version: V,
    type: OFPT.VENDOR,
    xid: 5,
    vendor: 0x00002320,
    data: Uint8Array.from([0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x00]), // NXT_SET_FLOW_FORMAT openflow10
  },
  featuresRequest: { version: V, type: OFPT.FEATURES_REQUEST, xid: 6 },
  featuresReply: {
    version: V,
    type: OFPT.FEATURES_REPLY,
    xid: 7,
    datapathId: 0x0000_1234_5678_9abcn,
    nBuffers: 256,
    nTables: 1,
    capabilities: OFPC.FLOW_STATS | OFPC.TABLE_STATS | OFPC.PORT_STATS | OFPC.QUEUE_STATS | OFPC.ARP_MATCH_IP,
    actions: 0xfff,
    ports: [PORT_1, PORT_2, LOCAL_PORT],
  },
  getConfigRequest: { version: V, type: OFPT.GET_CONFIG_REQUEST, xid: 8 },
  getConfigReply: { version: V, type: OFPT.GET_CONFIG_REPLY, xid: 9, flags: 0, missSendLen: 128 },
  setConfig: { version: V, type: OFPT.SET_CONFIG, xid: 10, flags: 1, missSendLen: 0xffff },
  packetIn: {
    version: V,
    type: OFPT.PACKET_IN,
    xid: 0,
    bufferId: 0x101,
    totalLen: 200,
    inPort: 2,
    reason: OFPR.NO_MATCH,
    data: udpFrame(128),
  },
  packetInAction: {
    version: V,
    type: OFPT.PACKET_IN,
    xid: 0,
    bufferId: OFP_NO_BUFFER,
    totalLen: 64,
    inPort: 1,
    reason: OFPR.ACTION,
    data: udpFrame(64),
  },
  flowRemoved: {
    version: V,
    type: OFPT.FLOW_REMOVED,
    xid: 0,
    match: TCP_MATCH,
    cookie: 0xfeedn,
    priority: 1000,
    reason: OFPRR.HARD_TIMEOUT,
    durationSec: 7,
    durationNsec: 8000,
    idleTimeout: 9,
    packetCount: 10n,
    byteCount: 1100n,
  },
  portStatus: { version: V, type: OFPT.PORT_STATUS, xid: 0, reason: OFPPR.MODIFY, desc: PORT_1 },
  packetOut: {
    version: V,
    type: OFPT.PACKET_OUT,
    xid: 13,
    bufferId: OFP_NO_BUFFER,
    inPort: 1,
    actions: [{ type: OFPAT.SET_VLAN_VID, vlanVid: 9 }, { type: OFPAT.OUTPUT, port: OFPP.FLOOD, maxLen: 0 }],
    data: udpFrame(60),
  },
  packetOutBuffered: {
    version: V,
    type: OFPT.PACKET_OUT,
    xid: 14,
    bufferId: 0x2a,
    inPort: OFPP.NONE,
    actions: [{ type: OFPAT.OUTPUT, port: 2, maxLen: 0 }],
    data: new Uint8Array(0),
  },
  flowMod: {
    version: V,
    type: OFPT.FLOW_MOD,
    xid: 15,
    match: TCP_MATCH,
    cookie: 0x0123_4567_89ab_cdefn,
    command: OFPFC.ADD,
    idleTimeout: 10,
    hardTimeout: 20,
    priority: 100,
    bufferId: 0x42,
    outPort: OFPP.NONE,
    flags: OFPFF.SEND_FLOW_REM | OFPFF.CHECK_OVERLAP,
    actions: ALL_ACTIONS,
  },
  flowModDelete: {
    version: V,
    type: OFPT.FLOW_MOD,
    xid: 16,
    match: MATCHES.udpPrefixes ?? ANY_MATCH,
    cookie: 0n,
    command: OFPFC.DELETE_STRICT,
    idleTimeout: 0,
    hardTimeout: 0,
    priority: 0x8000,
    bufferId: OFP_NO_BUFFER,
    outPort: 2,
    flags: 0,
    actions: [],
  },
  flowModReservedPorts: {
    version: V,
    type: OFPT.FLOW_MOD,
    xid: 0xfffffffe,
    match: MATCHES.untagged ?? ANY_MATCH,
    cookie: 0x8000_0000_0000_0001n, // top bit set (all ones would mean "keep the cookie" to Open vSwitch)
    command: OFPFC.MODIFY,
    idleTimeout: 0, // EMERG flows must be permanent
    hardTimeout: 0,
    priority: 0xffff,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.NONE,
    flags: 0, // not EMERG: Open vSwitch has no emergency table and refuses those (TABLE_FULL)
    actions: [...RESERVED_OUTPUTS, { type: OFPAT.OUTPUT, port: OFPP.CONTROLLER, maxLen: 0xffff }, RESUBMIT_ACTION],
  },
  portMod: {
    version: V,
    type: OFPT.PORT_MOD,
    xid: 17,
    portNo: 1,
    hwAddr: '00:00:00:00:00:11',
    config: OFPPC.PORT_DOWN,
    mask: OFPPC.PORT_DOWN | OFPPC.NO_FLOOD,
    advertise: OFPPF['1GB_FD'],
  },
  descStatsRequest: { version: V, type: OFPT.STATS_REQUEST, xid: 18, flags: 0, statsType: OFPST.DESC },
  flowStatsRequest: {
    version: V,
    type: OFPT.STATS_REQUEST,
    xid: 19,
    flags: 0,
    statsType: OFPST.FLOW,
    match: MATCHES.arp ?? ANY_MATCH,
    tableId: 0xff,
    outPort: OFPP.NONE,
  },
  aggregateStatsRequest: {
    version: V,
    type: OFPT.STATS_REQUEST,
    xid: 20,
    flags: 0,
    statsType: OFPST.AGGREGATE,
    match: ANY_MATCH,
    tableId: 0,
    outPort: 3,
  },
  tableStatsRequest: { version: V, type: OFPT.STATS_REQUEST, xid: 21, flags: 0, statsType: OFPST.TABLE },
  portStatsRequest: { version: V, type: OFPT.STATS_REQUEST, xid: 22, flags: 0, statsType: OFPST.PORT, portNo: OFPP.NONE },
  queueStatsRequest: {
    version: V,
    type: OFPT.STATS_REQUEST,
    xid: 23,
    flags: 0,
    statsType: OFPST.QUEUE,
    portNo: OFPP.ALL,
    queueId: 0xffffffff,
  },
  portDescStatsRequest: { version: V, type: OFPT.STATS_REQUEST, xid: 24, flags: 0, statsType: OFPST.PORT_DESC },
  vendorStatsRequest: {
    version: V,
    type: OFPT.STATS_REQUEST,
    xid: 25,
    flags: 0,
    statsType: OFPST.VENDOR,
    vendor: 0x00002320,
    // NXST_AGGREGATE (subtype 1), pad; out_port NONE, match_len 0, table_id 0xff, pad
    body: Uint8Array.from([0, 0, 0, 1, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0xff, 0, 0, 0]),
  },
  descStatsReply: {
    version: V,
    type: OFPT.STATS_REPLY,
    xid: 26,
    flags: 0,
    statsType: OFPST.DESC,
    desc: { mfrDesc: 'ofswitch project', hwDesc: 'software', swDesc: 'ofswitch 0.1.0', serialNum: 'SN-42', dpDesc: 'test bridge' },
  },
  flowStatsReply: {
    version: V,
    type: OFPT.STATS_REPLY,
    xid: 27,
    flags: OFPSF.REPLY_MORE,
    statsType: OFPST.FLOW,
    flows: [
      flowStats(TCP_MATCH, ALL_ACTIONS.slice(0, 5), 1),
      flowStats(MATCHES.arp ?? ANY_MATCH, [{ type: OFPAT.OUTPUT, port: OFPP.FLOOD, maxLen: 0 }], 2),
      flowStats(ANY_MATCH, [], 3),
    ],
  },
  aggregateStatsReply: {
    version: V,
    type: OFPT.STATS_REPLY,
    xid: 28,
    flags: 0,
    statsType: OFPST.AGGREGATE,
    stats: { packetCount: 1234n, byteCount: 567890n, flowCount: 3 },
  },
  tableStatsReply: {
    version: V,
    type: OFPT.STATS_REPLY,
    xid: 29,
    flags: 0,
    statsType: OFPST.TABLE,
    tables: [
      {
        tableId: 0,
        name: 'classifier',
        wildcards: OFPFW.ALL,
        maxEntries: 1_000_000,
        activeCount: 12,
        lookupCount: 0x1_0000_0001n,
        matchedCount: 77n,
      },
    ],
  },
  portStatsReply: {
    version: V,
    type: OFPT.STATS_REPLY,
    xid: 30,
    flags: 0,
    statsType: OFPST.PORT,
    ports: [1, 2].map((p) => ({
      portNo: p,
      rxPackets: 100n * BigInt(p) + 1n,
      txPackets: 100n * BigInt(p) + 2n,
      rxBytes: 100n * BigInt(p) + 3n,
      txBytes: 100n * BigInt(p) + 4n,
      rxDropped: 100n * BigInt(p) + 5n,
      txDropped: 100n * BigInt(p) + 6n,
      rxErrors: 100n * BigInt(p) + 7n,
      txErrors: 100n * BigInt(p) + 8n,
      rxFrameErr: 100n * BigInt(p) + 9n,
      rxOverErr: 100n * BigInt(p) + 10n,
      rxCrcErr: 100n * BigInt(p) + 11n,
      collisions: 100n * BigInt(p) + 12n,
    })),
  },
  queueStatsReply: {
    version: V,
    type: OFPT.STATS_REPLY,
    xid: 31,
    flags: 0,
    statsType: OFPST.QUEUE,
    queues: [{ portNo: 1, queueId: 2, txBytes: 3000n, txPackets: 40n, txErrors: 5n }],
  },
  portDescStatsReply: {
    version: V,
    type: OFPT.STATS_REPLY,
    xid: 32,
    flags: 0,
    statsType: OFPST.PORT_DESC,
    ports: [PORT_1, PORT_2],
  },
  vendorStatsReply: {
    version: V,
    type: OFPT.STATS_REPLY,
    xid: 33,
    flags: 0,
    statsType: OFPST.VENDOR,
    vendor: 0x00002320,
    // NXST_AGGREGATE (subtype 1), pad; packet_count 5, byte_count 600, flow_count 7, pad
    body: Uint8Array.from([0, 0, 0, 1, 0, 0, 0, 0, ...[0, 0, 0, 0, 0, 0, 0, 5], ...[0, 0, 0, 0, 0, 0, 2, 0x58], 0, 0, 0, 7, 0, 0, 0, 0]),
  },
  barrierRequest: { version: V, type: OFPT.BARRIER_REQUEST, xid: 34 },
  barrierReply: { version: V, type: OFPT.BARRIER_REPLY, xid: 35 },
  queueGetConfigRequest: { version: V, type: OFPT.QUEUE_GET_CONFIG_REQUEST, xid: 36, port: 1 },
  queueGetConfigReply: {
    version: V,
    type: OFPT.QUEUE_GET_CONFIG_REPLY,
    xid: 37,
    port: 1,
    queues: [
      { queueId: 1, properties: [{ property: OFPQT.MIN_RATE, rate: 500 }] },
      { queueId: 2, properties: [{ property: OFPQT.NONE }] },
    ],
  },
};

/** A plain, comparable copy: bytes as hex strings, so Buffer and Uint8Array views compare equal. */
export function comparable(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
  if (Array.isArray(value)) return value.map(comparable);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = comparable(v);
    return out;
  }
  return value;
}
