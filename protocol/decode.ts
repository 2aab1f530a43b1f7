/**
 * decodeMessage: one framed OpenFlow 1.0 message (exactly its bytes) to a typed OfpMessage, or to
 * the OfpError the spec names for it.
 *
 * How it works: the header is checked first (length, version, type), then the length the type
 * allows (exact for fixed-size messages, a minimum plus whole structs for arrays), and inner
 * lengths (action lists, stats entries, queues and their properties) before each is read, so the
 * parsers never read past the end. Malformed input is therefore always answered by a check, with
 * the error the spec names; an exception out of decodeMessage is a bug in these checks, and it is
 * left to surface (the fuzz test fails on one; the connection answers it as an internal error).
 *
 * Fixed parts are binary-parser parsers, built once at module load, whose output objects are the
 * message objects themselves (header fields version/type/xid included, pads and length fields
 * skipped). Variable tails (actions, packet data, vendor bodies) are attached afterwards as views
 * into the input, never copies: a decoded message shares memory with the bytes it came from.
 *
 * Vendor messages, vendor stats and vendor actions decode fine (so they round-trip); refusing them
 * is validate.ts's job, as are the semantic checks on field values.
 */
import { Parser } from 'binary-parser';
import {
  DESC_STR_LEN,
  OFP_MAX_PORT_NAME_LEN,
  OFP_MAX_TABLE_NAME_LEN,
  OFP_SIZE,
  OFP_VERSION,
  OFPBAC,
  OFPBRC,
  OFPET,
  OFPQT,
  OFPST,
  OFPT,
  SERIAL_NUM_LEN,
} from './constants.js';
import { decodeActionList } from './actions.js';
import { OfpError, requestError } from './errors.js';
import { matchParser } from './match.js';
import type { Action, DecodeResult, OfpMessage, PacketQueue, QueueProperty } from './types.js';
import { cString, MAC_FIELD, plainView } from './wire.js';

// ---- parsers -------------------------------------------------------------------------------------

const str = (length: number) => ({ length, formatter: (b: Uint8Array) => cString(b) });

/** ofp_header without its length (the framer has used it; encode recomputes it). */
const header = (): Parser => new Parser().uint8('version').uint8('type').seek(2).uint32('xid');
/** ofp_stats_request / ofp_stats_reply header. */
const statsHeader = (): Parser => header().uint16('statsType').uint16('flags');

const phyPortParser = new Parser()
  .uint16('portNo')
  .buffer('hwAddr', MAC_FIELD)
  .buffer('name', str(OFP_MAX_PORT_NAME_LEN))
  .uint32('config')
  .uint32('state')
  .uint32('curr')
  .uint32('advertised')
  .uint32('supported')
  .uint32('peer');
const phyPorts = { type: phyPortParser, readUntil: 'eof' as const };

const P = {
  header: header(),
  error: header().uint16('errorType').uint16('code'),
  vendor: header().uint32('vendor'),
  featuresReply: header()
    .uint64('datapathId')
    .uint32('nBuffers')
    .uint8('nTables')
    .seek(3)
    .uint32('capabilities')
    .uint32('actions')
    .array('ports', phyPorts),
  switchConfig: header().uint16('flags').uint16('missSendLen'),
  packetIn: header().uint32('bufferId').uint16('totalLen').uint16('inPort').uint8('reason'),
  flowRemoved: header()
    .nest('match', { type: matchParser })
    .uint64('cookie')
    .uint16('priority')
    .uint8('reason')
    .seek(1)
    .uint32('durationSec')
    .uint32('durationNsec')
    .uint16('idleTimeout')
    .seek(2)
    .uint64('packetCount')
    .uint64('byteCount'),
  portStatus: header().uint8('reason').seek(7).nest('desc', { type: phyPortParser }),
  packetOut: header().uint32('bufferId').uint16('inPort'),
  flowMod: header()
    .nest('match', { type: matchParser })
    .uint64('cookie')
    .uint16('command')
    .uint16('idleTimeout')
    .uint16('hardTimeout')
    .uint16('priority')
    .uint32('bufferId')
    .uint16('outPort')
    .uint16('flags'),
  portMod: header().uint16('portNo').buffer('hwAddr', MAC_FIELD).uint32('config').uint32('mask').uint32('advertise'),
  queueConfigRequest: header().uint16('port'),
  statsHeader: statsHeader(),
  flowStatsRequest: statsHeader().nest('match', { type: matchParser }).uint8('tableId').seek(1).uint16('outPort'),
  portStatsRequest: statsHeader().uint16('portNo'),
  queueStatsRequest: statsHeader().uint16('portNo').seek(2).uint32('queueId'),
  vendorStats: statsHeader().uint32('vendor'),
  descStats: new Parser()
    .buffer('mfrDesc', str(DESC_STR_LEN))
    .buffer('hwDesc', str(DESC_STR_LEN))
    .buffer('swDesc', str(DESC_STR_LEN))
    .buffer('serialNum', str(SERIAL_NUM_LEN))
    .buffer('dpDesc', str(DESC_STR_LEN)),
  flowStats: new Parser()
    .seek(2) // length
    .uint8('tableId')
    .seek(1)
    .nest('match', { type: matchParser })
    .uint32('durationSec')
    .uint32('durationNsec')
    .uint16('priority')
    .uint16('idleTimeout')
    .uint16('hardTimeout')
    .seek(6)
    .uint64('cookie')
    .uint64('packetCount')
    .uint64('byteCount'),
  aggregateStats: new Parser().uint64('packetCount').uint64('byteCount').uint32('flowCount'),
  tableStats: new Parser()
    .uint8('tableId')
    .seek(3)
    .buffer('name', str(OFP_MAX_TABLE_NAME_LEN))
    .uint32('wildcards')
    .uint32('maxEntries')
    .uint32('activeCount')
    .uint64('lookupCount')
    .uint64('matchedCount'),
  portStats: new Parser()
    .uint16('portNo')
    .seek(6)
    .uint64('rxPackets')
    .uint64('txPackets')
    .uint64('rxBytes')
    .uint64('txBytes')
    .uint64('rxDropped')
    .uint64('txDropped')
    .uint64('rxErrors')
    .uint64('txErrors')
    .uint64('rxFrameErr')
    .uint64('rxOverErr')
    .uint64('rxCrcErr')
    .uint64('collisions'),
  queueStats: new Parser().uint16('portNo').seek(2).uint32('queueId').uint64('txBytes').uint64('txPackets').uint64('txErrors'),
};

/** Parsers for stats reply bodies that are arrays of fixed-size structs. */
const STATS_ARRAYS: Readonly<Record<number, { field: string; size: number; parser: Parser }>> = {
  [OFPST.TABLE]: { field: 'tables', size: OFP_SIZE.table_stats, parser: P.tableStats },
  [OFPST.PORT]: { field: 'ports', size: OFP_SIZE.port_stats, parser: P.portStats },
  [OFPST.QUEUE]: { field: 'queues', size: OFP_SIZE.queue_stats, parser: P.queueStats },
  [OFPST.PORT_DESC]: { field: 'ports', size: OFP_SIZE.phy_port, parser: phyPortParser },
};
const statsArrayParsers = new Map<number, Parser>(
  Object.entries(STATS_ARRAYS).map(([t, s]) => [
    Number(t),
    statsHeader().array(s.field, { type: s.parser, readUntil: 'eof' }),
  ]),
);

/** Exact body length of each stats request with a fixed body. */
const STATS_REQUEST_BODY: Readonly<Record<number, number>> = {
  [OFPST.DESC]: 0,
  [OFPST.FLOW]: OFP_SIZE.flow_stats_request,
  [OFPST.AGGREGATE]: OFP_SIZE.aggregate_stats_request,
  [OFPST.TABLE]: 0,
  [OFPST.PORT]: OFP_SIZE.port_stats_request,
  [OFPST.QUEUE]: OFP_SIZE.queue_stats_request,
  [OFPST.PORT_DESC]: 0,
};

/** Messages of one exact length. */
const FIXED_LEN: Readonly<Record<number, number>> = {
  [OFPT.FEATURES_REQUEST]: OFP_SIZE.header,
  [OFPT.GET_CONFIG_REQUEST]: OFP_SIZE.header,
  [OFPT.GET_CONFIG_REPLY]: OFP_SIZE.switch_config,
  [OFPT.SET_CONFIG]: OFP_SIZE.switch_config,
  [OFPT.FLOW_REMOVED]: OFP_SIZE.flow_removed,
  [OFPT.PORT_STATUS]: OFP_SIZE.port_status,
  [OFPT.PORT_MOD]: OFP_SIZE.port_mod,
  [OFPT.BARRIER_REQUEST]: OFP_SIZE.header,
  [OFPT.BARRIER_REPLY]: OFP_SIZE.header,
  [OFPT.QUEUE_GET_CONFIG_REQUEST]: OFP_SIZE.queue_get_config_request,
};

/** Smallest length of the variable-length messages. */
const MIN_LEN: Readonly<Record<number, number>> = {
  [OFPT.HELLO]: OFP_SIZE.header,
  [OFPT.ERROR]: OFP_SIZE.error_msg,
  [OFPT.ECHO_REQUEST]: OFP_SIZE.header,
  [OFPT.ECHO_REPLY]: OFP_SIZE.header,
  [OFPT.VENDOR]: OFP_SIZE.vendor_header,
  [OFPT.FEATURES_REPLY]: OFP_SIZE.switch_features,
  [OFPT.PACKET_IN]: OFP_SIZE.packet_in,
  [OFPT.PACKET_OUT]: OFP_SIZE.packet_out,
  [OFPT.FLOW_MOD]: OFP_SIZE.flow_mod,
  [OFPT.STATS_REQUEST]: OFP_SIZE.stats_request,
  [OFPT.STATS_REPLY]: OFP_SIZE.stats_reply,
  [OFPT.QUEUE_GET_CONFIG_REPLY]: OFP_SIZE.queue_get_config_reply,
};

// ---- decoding ------------------------------------------------------------------------------------

type Decoded = OfpMessage | OfpError;
/** A parser's output, completed field by field before it is returned as a message. */
type Draft = Record<string, unknown>;

const u16 = (b: Uint8Array, off: number): number => ((b[off] ?? 0) << 8) | (b[off + 1] ?? 0);

function badRequest(code: number, bytes: Uint8Array, detail: string): OfpError {
  return requestError(OFPET.BAD_REQUEST, code, bytes, detail);
}

/** Decodes exactly one framed message. */
export function decodeMessage(input: Uint8Array): DecodeResult {
  const bytes = plainView(input);
  if (bytes.length < OFP_SIZE.header) return badRequest(OFPBRC.BAD_LEN, bytes, `${bytes.length} bytes, no header`);
  const version = bytes[0] ?? 0;
  const type = bytes[1] ?? 0;
  const length = u16(bytes, 2);
  if (length !== bytes.length) {
    return badRequest(OFPBRC.BAD_LEN, bytes, `length field ${length} but ${bytes.length} bytes`);
  }
  if (version !== OFP_VERSION && type !== OFPT.HELLO) {
    return badRequest(OFPBRC.BAD_VERSION, bytes, `version ${version}`);
  }
  const fixed = FIXED_LEN[type];
  const min = MIN_LEN[type];
  if (fixed === undefined && min === undefined) return badRequest(OFPBRC.BAD_TYPE, bytes, `unknown type ${type}`);
  if ((fixed !== undefined && length !== fixed) || (min !== undefined && length < min)) {
    return badRequest(OFPBRC.BAD_LEN, bytes, `type ${type} cannot be ${length} bytes long`);
  }
  const decoded = decodeBody(type, bytes);
  return decoded instanceof OfpError ? decoded : { ok: true, message: decoded };
}

function decodeBody(type: number, bytes: Uint8Array): Decoded {
  switch (type) {
    case OFPT.HELLO:
      return withField(P.header.parse(bytes), 'body', bytes.subarray(OFP_SIZE.header));
    case OFPT.ERROR:
      return withField(P.error.parse(bytes), 'data', bytes.subarray(OFP_SIZE.error_msg));
    case OFPT.ECHO_REQUEST:
    case OFPT.ECHO_REPLY:
      return withField(P.header.parse(bytes), 'data', bytes.subarray(OFP_SIZE.header));
    case OFPT.VENDOR:
      return withField(P.vendor.parse(bytes), 'data', bytes.subarray(OFP_SIZE.vendor_header));
    case OFPT.FEATURES_REPLY:
      if ((bytes.length - OFP_SIZE.switch_features) % OFP_SIZE.phy_port !== 0) {
        return badRequest(OFPBRC.BAD_LEN, bytes, 'ports are not a whole number of ofp_phy_port');
      }
      return P.featuresReply.parse(bytes) as OfpMessage;
    case OFPT.GET_CONFIG_REPLY:
    case OFPT.SET_CONFIG:
      return P.switchConfig.parse(bytes) as OfpMessage;
    case OFPT.PACKET_IN:
      return withField(P.packetIn.parse(bytes), 'data', bytes.subarray(OFP_SIZE.packet_in));
    case OFPT.FLOW_REMOVED:
      return P.flowRemoved.parse(bytes) as OfpMessage;
    case OFPT.PORT_STATUS:
      return P.portStatus.parse(bytes) as OfpMessage;
    case OFPT.PACKET_OUT:
      return decodePacketOut(bytes);
    case OFPT.FLOW_MOD:
      return decodeFlowMod(bytes);
    case OFPT.PORT_MOD:
      return P.portMod.parse(bytes) as OfpMessage;
    case OFPT.STATS_REQUEST:
      return decodeStatsRequest(bytes);
    case OFPT.STATS_REPLY:
      return decodeStatsReply(bytes);
    case OFPT.QUEUE_GET_CONFIG_REQUEST:
      return P.queueConfigRequest.parse(bytes) as OfpMessage;
    case OFPT.QUEUE_GET_CONFIG_REPLY:
      return decodeQueueConfigReply(bytes);
    default: // FEATURES_REQUEST, GET_CONFIG_REQUEST, BARRIER_REQUEST, BARRIER_REPLY: header only
      return P.header.parse(bytes) as OfpMessage;
  }
}

function withField(draft: Draft, name: string, value: unknown): OfpMessage {
  draft[name] = value;
  return draft as unknown as OfpMessage;
}

/** Actions of `bytes[start, end)`, where a list not a multiple of 8 is the message's length error. */
function actionsIn(bytes: Uint8Array, start: number, end: number): Action[] | OfpError {
  if ((end - start) % 8 !== 0) {
    return badRequest(OFPBRC.BAD_LEN, bytes, `action list of ${end - start} bytes is not a multiple of 8`);
  }
  return decodeActionList(bytes, start, end);
}

function decodeFlowMod(bytes: Uint8Array): Decoded {
  const actions = actionsIn(bytes, OFP_SIZE.flow_mod, bytes.length);
  if (!Array.isArray(actions)) return actions;
  return withField(P.flowMod.parse(bytes), 'actions', actions);
}

function decodePacketOut(bytes: Uint8Array): Decoded {
  const actionsEnd = OFP_SIZE.packet_out + u16(bytes, 14);
  if (actionsEnd > bytes.length) {
    // The spec's answer (the action list's BAD_LEN); Open vSwitch says OFPBRC_BAD_LEN here.
    return requestError(OFPET.BAD_ACTION, OFPBAC.BAD_LEN, bytes, 'actions_len overruns the message');
  }
  const actions = actionsIn(bytes, OFP_SIZE.packet_out, actionsEnd);
  if (!Array.isArray(actions)) return actions;
  const draft = P.packetOut.parse(bytes) as Draft;
  draft['actions'] = actions;
  return withField(draft, 'data', bytes.subarray(actionsEnd));
}

function decodeStatsRequest(bytes: Uint8Array): Decoded {
  const statsType = u16(bytes, 8);
  const bodyLen = bytes.length - OFP_SIZE.stats_request;
  if (statsType === OFPST.VENDOR) return decodeVendorStats(bytes);
  const expected = STATS_REQUEST_BODY[statsType];
  if (expected === undefined) return badRequest(OFPBRC.BAD_STAT, bytes, `unknown stats type ${statsType}`);
  if (bodyLen !== expected) {
    return badRequest(OFPBRC.BAD_LEN, bytes, `stats request type ${statsType} with a ${bodyLen}-byte body`);
  }
  switch (statsType) {
    case OFPST.FLOW:
    case OFPST.AGGREGATE:
      return P.flowStatsRequest.parse(bytes) as OfpMessage;
    case OFPST.PORT:
      return P.portStatsRequest.parse(bytes) as OfpMessage;
    case OFPST.QUEUE:
      return P.queueStatsRequest.parse(bytes) as OfpMessage;
    default: // DESC, TABLE, PORT_DESC: no body
      return P.statsHeader.parse(bytes) as OfpMessage;
  }
}

function decodeVendorStats(bytes: Uint8Array): Decoded {
  if (bytes.length < OFP_SIZE.stats_request + 4) {
    return badRequest(OFPBRC.BAD_LEN, bytes, 'vendor stats without a vendor id');
  }
  return withField(P.vendorStats.parse(bytes), 'body', bytes.subarray(OFP_SIZE.stats_request + 4));
}

function decodeStatsReply(bytes: Uint8Array): Decoded {
  const statsType = u16(bytes, 8);
  const bodyLen = bytes.length - OFP_SIZE.stats_reply;
  const body = bytes.subarray(OFP_SIZE.stats_reply);
  switch (statsType) {
    case OFPST.DESC:
      if (bodyLen !== OFP_SIZE.desc_stats) return badRequest(OFPBRC.BAD_LEN, bytes, `desc stats of ${bodyLen} bytes`);
      return withField(P.statsHeader.parse(bytes), 'desc', P.descStats.parse(body));
    case OFPST.FLOW:
      return decodeFlowStatsReply(bytes);
    case OFPST.AGGREGATE:
      if (bodyLen !== OFP_SIZE.aggregate_stats_reply) {
        return badRequest(OFPBRC.BAD_LEN, bytes, `aggregate stats of ${bodyLen} bytes`);
      }
      return withField(P.statsHeader.parse(bytes), 'stats', P.aggregateStats.parse(body));
    case OFPST.VENDOR:
      return decodeVendorStats(bytes);
  }
  const array = STATS_ARRAYS[statsType];
  const parser = statsArrayParsers.get(statsType);
  if (!array || !parser) return badRequest(OFPBRC.BAD_STAT, bytes, `unknown stats type ${statsType}`);
  if (bodyLen % array.size !== 0) {
    return badRequest(OFPBRC.BAD_LEN, bytes, `stats type ${statsType}: ${bodyLen} bytes is not a whole number of entries`);
  }
  return parser.parse(bytes) as OfpMessage;
}

function decodeFlowStatsReply(bytes: Uint8Array): Decoded {
  const flows: Draft[] = [];
  let off = OFP_SIZE.stats_reply;
  while (off < bytes.length) {
    const len = bytes.length - off >= 2 ? u16(bytes, off) : 0;
    if (len < OFP_SIZE.flow_stats || off + len > bytes.length) {
      return badRequest(OFPBRC.BAD_LEN, bytes, `flow stats entry of length ${len} at offset ${off}`);
    }
    const actions = actionsIn(bytes, off + OFP_SIZE.flow_stats, off + len);
    if (!Array.isArray(actions)) return actions;
    const flow = P.flowStats.parse(bytes.subarray(off, off + OFP_SIZE.flow_stats)) as Draft;
    flow['actions'] = actions;
    flows.push(flow);
    off += len;
  }
  return withField(P.statsHeader.parse(bytes), 'flows', flows);
}

function decodeQueueConfigReply(bytes: Uint8Array): Decoded {
  const queues: PacketQueue[] = [];
  let off = OFP_SIZE.queue_get_config_reply;
  while (off < bytes.length) {
    const len = bytes.length - off >= OFP_SIZE.packet_queue ? u16(bytes, off + 4) : 0;
    if (len < OFP_SIZE.packet_queue || off + len > bytes.length) {
      return badRequest(OFPBRC.BAD_LEN, bytes, `packet queue of length ${len} at offset ${off}`);
    }
    const properties = decodeQueueProperties(bytes, off + OFP_SIZE.packet_queue, off + len);
    if (!Array.isArray(properties)) return properties;
    const queueId = (((bytes[off] ?? 0) << 24) | ((bytes[off + 1] ?? 0) << 16) | u16(bytes, off + 2)) >>> 0;
    queues.push({ queueId, properties });
    off += len;
  }
  const draft = P.queueConfigRequest.parse(bytes) as Draft;
  return withField(draft, 'queues', queues);
}

/** Queue properties: NONE (8 bytes) and MIN_RATE (16 bytes) decode to fields; others keep their body. */
function decodeQueueProperties(bytes: Uint8Array, start: number, end: number): QueueProperty[] | OfpError {
  const props: QueueProperty[] = [];
  let off = start;
  while (off < end) {
    const len = end - off >= OFP_SIZE.queue_prop_header ? u16(bytes, off + 2) : 0;
    if (len < OFP_SIZE.queue_prop_header || off + len > end) {
      return badRequest(OFPBRC.BAD_LEN, bytes, `queue property of length ${len} at offset ${off}`);
    }
    const property = u16(bytes, off);
    if (property === OFPQT.NONE && len === OFP_SIZE.queue_prop_header) props.push({ property: OFPQT.NONE });
    else if (property === OFPQT.MIN_RATE && len === OFP_SIZE.queue_prop_min_rate) {
      props.push({ property: OFPQT.MIN_RATE, rate: u16(bytes, off + 8) });
    } else props.push({ property, body: bytes.subarray(off + OFP_SIZE.queue_prop_header, off + len) });
    off += len;
  }
  return props;
}
