/**
 * fast-check arbitraries for every OpenFlow 1.0 message the codec handles, restricted to values
 * that survive a round trip (well-formed: NUL-free strings that fit, vendor bodies a multiple of 8).
 * Shared by the round-trip property test and usable by fuzzers as seeds.
 */
import fc from 'fast-check';
import { OFPAT, OFPQT, OFPST, OFPT } from '../../protocol/constants.js';
import type { Action, Match, OfpMessage, PacketQueue, PhyPort, QueueProperty } from '../../protocol/types.js';

/** fc.record, always with ordinary objects (strictSame tells null-prototype objects apart). */
function rec<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true });
}

export const u8 = fc.integer({ min: 0, max: 0xff });
export const u16 = fc.integer({ min: 0, max: 0xffff });
export const u32 = fc.integer({ min: 0, max: 0xffffffff });
export const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
export const bytes = (maxLength = 64): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength });
/** Bytes whose length is a multiple of 8 (vendor action bodies, unknown queue properties). */
export const bytes8 = fc.integer({ min: 0, max: 4 }).chain((n) => fc.uint8Array({ minLength: n * 8, maxLength: n * 8 }));
export const mac = fc
  .uint8Array({ minLength: 6, maxLength: 6 })
  .map((b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':'));
/** Printable ASCII that fits a NUL-terminated char array of `size` bytes. */
export const cstr = (size: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: size - 1 });

export const match: fc.Arbitrary<Match> = rec({
  wildcards: u32,
  inPort: u16,
  dlSrc: mac,
  dlDst: mac,
  dlVlan: u16,
  dlVlanPcp: u8,
  dlType: u16,
  nwTos: u8,
  nwProto: u8,
  nwSrc: u32,
  nwDst: u32,
  tpSrc: u16,
  tpDst: u16,
});

export const action: fc.Arbitrary<Action> = fc.oneof(
  rec({ type: fc.constant(OFPAT.OUTPUT), port: u16, maxLen: u16 }),
  rec({ type: fc.constant(OFPAT.SET_VLAN_VID), vlanVid: u16 }),
  rec({ type: fc.constant(OFPAT.SET_VLAN_PCP), vlanPcp: u8 }),
  rec({ type: fc.constant(OFPAT.STRIP_VLAN) }),
  rec({ type: fc.constantFrom(OFPAT.SET_DL_SRC, OFPAT.SET_DL_DST), dlAddr: mac }),
  rec({ type: fc.constantFrom(OFPAT.SET_NW_SRC, OFPAT.SET_NW_DST), nwAddr: u32 }),
  rec({ type: fc.constant(OFPAT.SET_NW_TOS), nwTos: u8 }),
  rec({ type: fc.constantFrom(OFPAT.SET_TP_SRC, OFPAT.SET_TP_DST), tpPort: u16 }),
  rec({ type: fc.constant(OFPAT.ENQUEUE), port: u16, queueId: u32 }),
  rec({ type: fc.constant(OFPAT.VENDOR), vendor: u32, body: bytes8 }),
);
export const actions = fc.array(action, { maxLength: 6 });

export const phyPort: fc.Arbitrary<PhyPort> = rec({
  portNo: u16,
  hwAddr: mac,
  name: cstr(16),
  config: u32,
  state: u32,
  curr: u32,
  advertised: u32,
  supported: u32,
  peer: u32,
});

const queueProperty: fc.Arbitrary<QueueProperty> = fc.oneof(
  fc.constant({ property: OFPQT.NONE }),
  rec({ property: fc.constant(OFPQT.MIN_RATE), rate: u16 }),
  rec({ property: fc.integer({ min: 2, max: 0xffff }), body: bytes8 }),
);
const packetQueue: fc.Arbitrary<PacketQueue> = rec({
  queueId: u32,
  properties: fc.array(queueProperty, { maxLength: 3 }),
});

const hdr = <T extends number>(type: T) => ({ version: fc.constant(1), type: fc.constant(type), xid: u32 });
const statsReqHdr = { ...hdr(OFPT.STATS_REQUEST), flags: u16 };
const statsRepHdr = { ...hdr(OFPT.STATS_REPLY), flags: u16 };

const flowStats = rec({
  tableId: u8,
  match,
  durationSec: u32,
  durationNsec: u32,
  priority: u16,
  idleTimeout: u16,
  hardTimeout: u16,
  cookie: u64,
  packetCount: u64,
  byteCount: u64,
  actions,
});

/** One arbitrary per message kind (every OFPT, every stats type of requests and replies). */
export const messageArbitraries: Record<string, fc.Arbitrary<OfpMessage>> = {
  HELLO: rec({ version: u8, type: fc.constant(OFPT.HELLO), xid: u32, body: bytes() }),
  ERROR: rec({ ...hdr(OFPT.ERROR), errorType: u16, code: u16, data: bytes() }),
  ECHO_REQUEST: rec({ ...hdr(OFPT.ECHO_REQUEST), data: bytes() }),
  ECHO_REPLY: rec({ ...hdr(OFPT.ECHO_REPLY), data: bytes() }),
  VENDOR: rec({ ...hdr(OFPT.VENDOR), vendor: u32, data: bytes() }),
  FEATURES_REQUEST: rec(hdr(OFPT.FEATURES_REQUEST)),
  FEATURES_REPLY: rec({
    ...hdr(OFPT.FEATURES_REPLY),
    datapathId: u64,
    nBuffers: u32,
    nTables: u8,
    capabilities: u32,
    actions: u32,
    ports: fc.array(phyPort, { maxLength: 4 }),
  }),
  GET_CONFIG_REQUEST: rec(hdr(OFPT.GET_CONFIG_REQUEST)),
  GET_CONFIG_REPLY: rec({ ...hdr(OFPT.GET_CONFIG_REPLY), flags: u16, missSendLen: u16 }),
  SET_CONFIG: rec({ ...hdr(OFPT.SET_CONFIG), flags: u16, missSendLen: u16 }),
  PACKET_IN: rec({ ...hdr(OFPT.PACKET_IN), bufferId: u32, totalLen: u16, inPort: u16, reason: u8, data: bytes(200) }),
  FLOW_REMOVED: rec({
    ...hdr(OFPT.FLOW_REMOVED),
    match,
    cookie: u64,
    priority: u16,
    reason: u8,
    durationSec: u32,
    durationNsec: u32,
    idleTimeout: u16,
    packetCount: u64,
    byteCount: u64,
  }),
  PORT_STATUS: rec({ ...hdr(OFPT.PORT_STATUS), reason: u8, desc: phyPort }),
  PACKET_OUT: rec({ ...hdr(OFPT.PACKET_OUT), bufferId: u32, inPort: u16, actions, data: bytes(200) }),
  FLOW_MOD: rec({
    ...hdr(OFPT.FLOW_MOD),
    match,
    cookie: u64,
    command: u16,
    idleTimeout: u16,
    hardTimeout: u16,
    priority: u16,
    bufferId: u32,
    outPort: u16,
    flags: u16,
    actions,
  }),
  PORT_MOD: rec({ ...hdr(OFPT.PORT_MOD), portNo: u16, hwAddr: mac, config: u32, mask: u32, advertise: u32 }),
  STATS_REQUEST_DESC: rec({ ...statsReqHdr, statsType: fc.constant(OFPST.DESC) }),
  STATS_REQUEST_FLOW: rec({ ...statsReqHdr, statsType: fc.constant(OFPST.FLOW), match, tableId: u8, outPort: u16 }),
  STATS_REQUEST_AGGREGATE: rec({
    ...statsReqHdr,
    statsType: fc.constant(OFPST.AGGREGATE),
    match,
    tableId: u8,
    outPort: u16,
  }),
  STATS_REQUEST_TABLE: rec({ ...statsReqHdr, statsType: fc.constant(OFPST.TABLE) }),
  STATS_REQUEST_PORT: rec({ ...statsReqHdr, statsType: fc.constant(OFPST.PORT), portNo: u16 }),
  STATS_REQUEST_QUEUE: rec({ ...statsReqHdr, statsType: fc.constant(OFPST.QUEUE), portNo: u16, queueId: u32 }),
  STATS_REQUEST_PORT_DESC: rec({ ...statsReqHdr, statsType: fc.constant(OFPST.PORT_DESC) }),
  STATS_REQUEST_VENDOR: rec({ ...statsReqHdr, statsType: fc.constant(OFPST.VENDOR), vendor: u32, body: bytes() }),
  STATS_REPLY_DESC: rec({
    ...statsRepHdr,
    statsType: fc.constant(OFPST.DESC),
    desc: rec({ mfrDesc: cstr(256), hwDesc: cstr(256), swDesc: cstr(256), serialNum: cstr(32), dpDesc: cstr(256) }),
  }),
  STATS_REPLY_FLOW: rec({ ...statsRepHdr, statsType: fc.constant(OFPST.FLOW), flows: fc.array(flowStats, { maxLength: 4 }) }),
  STATS_REPLY_AGGREGATE: rec({
    ...statsRepHdr,
    statsType: fc.constant(OFPST.AGGREGATE),
    stats: rec({ packetCount: u64, byteCount: u64, flowCount: u32 }),
  }),
  STATS_REPLY_TABLE: rec({
    ...statsRepHdr,
    statsType: fc.constant(OFPST.TABLE),
    tables: fc.array(
      rec({
        tableId: u8,
        name: cstr(32),
        wildcards: u32,
        maxEntries: u32,
        activeCount: u32,
        lookupCount: u64,
        matchedCount: u64,
      }),
      { maxLength: 3 },
    ),
  }),
  STATS_REPLY_PORT: rec({
    ...statsRepHdr,
    statsType: fc.constant(OFPST.PORT),
    ports: fc.array(
      rec({
        portNo: u16,
        rxPackets: u64,
        txPackets: u64,
        rxBytes: u64,
        txBytes: u64,
        rxDropped: u64,
        txDropped: u64,
        rxErrors: u64,
        txErrors: u64,
        rxFrameErr: u64,
        rxOverErr: u64,
        rxCrcErr: u64,
        collisions: u64,
      }),
      { maxLength: 3 },
    ),
  }),
  STATS_REPLY_QUEUE: rec({
    ...statsRepHdr,
    statsType: fc.constant(OFPST.QUEUE),
    queues: fc.array(rec({ portNo: u16, queueId: u32, txBytes: u64, txPackets: u64, txErrors: u64 }), { maxLength: 3 }),
  }),
  STATS_REPLY_PORT_DESC: rec({ ...statsRepHdr, statsType: fc.constant(OFPST.PORT_DESC), ports: fc.array(phyPort, { maxLength: 3 }) }),
  STATS_REPLY_VENDOR: rec({ ...statsRepHdr, statsType: fc.constant(OFPST.VENDOR), vendor: u32, body: bytes() }),
  BARRIER_REQUEST: rec(hdr(OFPT.BARRIER_REQUEST)),
  BARRIER_REPLY: rec(hdr(OFPT.BARRIER_REPLY)),
  QUEUE_GET_CONFIG_REQUEST: rec({ ...hdr(OFPT.QUEUE_GET_CONFIG_REQUEST), port: u16 }),
  QUEUE_GET_CONFIG_REPLY: rec({
    ...hdr(OFPT.QUEUE_GET_CONFIG_REPLY),
    port: u16,
    queues: fc.array(packetQueue, { maxLength: 3 }),
  }),
} as Record<string, fc.Arbitrary<OfpMessage>>;

/** Any message. */
export const message: fc.Arbitrary<OfpMessage> = fc.oneof(...Object.values(messageArbitraries));
