/**
 * encodeMessage: a typed OfpMessage to its exact wire bytes, with plain Buffer writes.
 *
 * Each message's size is computed first and one zero-filled Buffer is allocated, so every pad is
 * zero and the header's length is right by construction; then the fields are written in struct
 * order. encode(decode(b)) gives back b for any well-formed b whose pads are zero, and
 * decode(encode(m)) gives back m.
 *
 * Every switch on a message or stats type names each member of its union and ends in
 * `unreachable`: a message type added to types.ts fails to compile here until it is encoded,
 * instead of going out as a bare header.
 */
import {
  DESC_STR_LEN,
  OFP_MAX_MESSAGE_LEN,
  OFP_MAX_PORT_NAME_LEN,
  OFP_MAX_TABLE_NAME_LEN,
  OFP_SIZE,
  OFPQT,
  OFPST,
  OFPT,
  SERIAL_NUM_LEN,
} from './constants.js';
import { actionsLength, writeActions } from './actions.js';
import { encodeMatch } from './match.js';
import type {
  FlowStats,
  OfpMessage,
  PacketQueue,
  PhyPort,
  PortStats,
  QueueProperty,
  QueueStats,
  StatsReply,
  StatsRequest,
  TableStats,
} from './types.js';
import { unreachable, writeCString, writeMac } from './wire.js';

/** The message's exact wire bytes. Throws a RangeError for a message over 65535 bytes. */
export function encodeMessage(msg: OfpMessage): Buffer {
  const length = messageLength(msg);
  if (length > OFP_MAX_MESSAGE_LEN) {
    // A programming error, not a wire condition: large stats replies must be split (OFPSF_REPLY_MORE).
    throw new RangeError(`a ${length}-byte message does not fit the 16-bit OpenFlow length field`);
  }
  const buf = Buffer.alloc(length);
  buf[0] = msg.version;
  buf[1] = msg.type;
  buf.writeUInt16BE(buf.length, 2);
  buf.writeUInt32BE(msg.xid >>> 0, 4);
  writeBody(msg, buf);
  return buf;
}

/** Wire length of a message. */
function messageLength(msg: OfpMessage): number {
  switch (msg.type) {
    case OFPT.HELLO:
      return OFP_SIZE.header + msg.body.length;
    case OFPT.ERROR:
      return OFP_SIZE.error_msg + msg.data.length;
    case OFPT.ECHO_REQUEST:
    case OFPT.ECHO_REPLY:
      return OFP_SIZE.header + msg.data.length;
    case OFPT.VENDOR:
      return OFP_SIZE.vendor_header + msg.data.length;
    case OFPT.FEATURES_REPLY:
      return OFP_SIZE.switch_features + msg.ports.length * OFP_SIZE.phy_port;
    case OFPT.GET_CONFIG_REPLY:
    case OFPT.SET_CONFIG:
      return OFP_SIZE.switch_config;
    case OFPT.PACKET_IN:
      return OFP_SIZE.packet_in + msg.data.length;
    case OFPT.FLOW_REMOVED:
      return OFP_SIZE.flow_removed;
    case OFPT.PORT_STATUS:
      return OFP_SIZE.port_status;
    case OFPT.PACKET_OUT:
      return OFP_SIZE.packet_out + actionsLength(msg.actions) + msg.data.length;
    case OFPT.FLOW_MOD:
      return OFP_SIZE.flow_mod + actionsLength(msg.actions);
    case OFPT.PORT_MOD:
      return OFP_SIZE.port_mod;
    case OFPT.STATS_REQUEST:
      return OFP_SIZE.stats_request + statsRequestBodyLength(msg);
    case OFPT.STATS_REPLY:
      return OFP_SIZE.stats_reply + statsReplyBodyLength(msg);
    case OFPT.QUEUE_GET_CONFIG_REQUEST:
      return OFP_SIZE.queue_get_config_request;
    case OFPT.QUEUE_GET_CONFIG_REPLY:
      return OFP_SIZE.queue_get_config_reply + sum(msg.queues, packetQueueLength);
    case OFPT.FEATURES_REQUEST:
    case OFPT.GET_CONFIG_REQUEST:
    case OFPT.BARRIER_REQUEST:
    case OFPT.BARRIER_REPLY:
      return OFP_SIZE.header;
    default:
      return unreachable(msg, 'message');
  }
}

function sum<T>(items: readonly T[], size: (item: T) => number): number {
  let n = 0;
  for (const item of items) n += size(item);
  return n;
}

function writeBody(msg: OfpMessage, buf: Buffer): void {
  switch (msg.type) {
    case OFPT.HELLO:
      buf.set(msg.body, OFP_SIZE.header);
      return;
    case OFPT.ERROR:
      buf.writeUInt16BE(msg.errorType, 8);
      buf.writeUInt16BE(msg.code, 10);
      buf.set(msg.data, OFP_SIZE.error_msg);
      return;
    case OFPT.ECHO_REQUEST:
    case OFPT.ECHO_REPLY:
      buf.set(msg.data, OFP_SIZE.header);
      return;
    case OFPT.VENDOR:
      buf.writeUInt32BE(msg.vendor >>> 0, 8);
      buf.set(msg.data, OFP_SIZE.vendor_header);
      return;
    case OFPT.FEATURES_REPLY: {
      buf.writeBigUInt64BE(msg.datapathId, 8);
      buf.writeUInt32BE(msg.nBuffers >>> 0, 16);
      buf[20] = msg.nTables;
      buf.writeUInt32BE(msg.capabilities >>> 0, 24);
      buf.writeUInt32BE(msg.actions >>> 0, 28);
      let off: number = OFP_SIZE.switch_features;
      for (const port of msg.ports) off = writePhyPort(port, buf, off);
      return;
    }
    case OFPT.GET_CONFIG_REPLY:
    case OFPT.SET_CONFIG:
      buf.writeUInt16BE(msg.flags, 8);
      buf.writeUInt16BE(msg.missSendLen, 10);
      return;
    case OFPT.PACKET_IN:
      buf.writeUInt32BE(msg.bufferId >>> 0, 8);
      buf.writeUInt16BE(msg.totalLen, 12);
      buf.writeUInt16BE(msg.inPort, 14);
      buf[16] = msg.reason;
      buf.set(msg.data, OFP_SIZE.packet_in);
      return;
    case OFPT.FLOW_REMOVED: {
      let off = encodeMatch(msg.match, buf, 8);
      buf.writeBigUInt64BE(msg.cookie, off);
      buf.writeUInt16BE(msg.priority, off + 8);
      buf[off + 10] = msg.reason;
      buf.writeUInt32BE(msg.durationSec >>> 0, off + 12);
      buf.writeUInt32BE(msg.durationNsec >>> 0, off + 16);
      buf.writeUInt16BE(msg.idleTimeout, off + 20);
      off += 24;
      buf.writeBigUInt64BE(msg.packetCount, off);
      buf.writeBigUInt64BE(msg.byteCount, off + 8);
      return;
    }
    case OFPT.PORT_STATUS:
      buf[8] = msg.reason;
      writePhyPort(msg.desc, buf, 16);
      return;
    case OFPT.PACKET_OUT: {
      buf.writeUInt32BE(msg.bufferId >>> 0, 8);
      buf.writeUInt16BE(msg.inPort, 12);
      const end = writeActions(msg.actions, buf, OFP_SIZE.packet_out);
      buf.writeUInt16BE(end - OFP_SIZE.packet_out, 14);
      buf.set(msg.data, end);
      return;
    }
    case OFPT.FLOW_MOD: {
      const off = encodeMatch(msg.match, buf, 8);
      buf.writeBigUInt64BE(msg.cookie, off);
      buf.writeUInt16BE(msg.command, off + 8);
      buf.writeUInt16BE(msg.idleTimeout, off + 10);
      buf.writeUInt16BE(msg.hardTimeout, off + 12);
      buf.writeUInt16BE(msg.priority, off + 14);
      buf.writeUInt32BE(msg.bufferId >>> 0, off + 16);
      buf.writeUInt16BE(msg.outPort, off + 20);
      buf.writeUInt16BE(msg.flags, off + 22);
      writeActions(msg.actions, buf, OFP_SIZE.flow_mod);
      return;
    }
    case OFPT.PORT_MOD:
      buf.writeUInt16BE(msg.portNo, 8);
      writeMac(msg.hwAddr, buf, 10);
      buf.writeUInt32BE(msg.config >>> 0, 16);
      buf.writeUInt32BE(msg.mask >>> 0, 20);
      buf.writeUInt32BE(msg.advertise >>> 0, 24);
      return;
    case OFPT.STATS_REQUEST:
      writeStatsRequest(msg, buf);
      return;
    case OFPT.STATS_REPLY:
      writeStatsReply(msg, buf);
      return;
    case OFPT.QUEUE_GET_CONFIG_REQUEST:
      buf.writeUInt16BE(msg.port, 8);
      return;
    case OFPT.QUEUE_GET_CONFIG_REPLY: {
      buf.writeUInt16BE(msg.port, 8);
      let off: number = OFP_SIZE.queue_get_config_reply;
      for (const q of msg.queues) off = writePacketQueue(q, buf, off);
      return;
    }
    case OFPT.FEATURES_REQUEST:
    case OFPT.GET_CONFIG_REQUEST:
    case OFPT.BARRIER_REQUEST:
    case OFPT.BARRIER_REPLY:
      return; // header only
    default:
      return unreachable(msg, 'message');
  }
}

function writePhyPort(p: PhyPort, buf: Buffer, offset: number): number {
  buf.writeUInt16BE(p.portNo, offset);
  writeMac(p.hwAddr, buf, offset + 2);
  writeCString(p.name, buf, offset + 8, OFP_MAX_PORT_NAME_LEN);
  let off = offset + 24;
  for (const v of [p.config, p.state, p.curr, p.advertised, p.supported, p.peer]) {
    buf.writeUInt32BE(v >>> 0, off);
    off += 4;
  }
  return off;
}

// ---- statistics ----------------------------------------------------------------------------------

function statsRequestBodyLength(msg: StatsRequest): number {
  switch (msg.statsType) {
    case OFPST.FLOW:
      return OFP_SIZE.flow_stats_request;
    case OFPST.AGGREGATE:
      return OFP_SIZE.aggregate_stats_request;
    case OFPST.PORT:
      return OFP_SIZE.port_stats_request;
    case OFPST.QUEUE:
      return OFP_SIZE.queue_stats_request;
    case OFPST.VENDOR:
      return 4 + msg.body.length;
    case OFPST.DESC:
    case OFPST.TABLE:
    case OFPST.PORT_DESC:
      return 0;
    default:
      return unreachable(msg, 'stats request');
  }
}

function writeStatsRequest(msg: StatsRequest, buf: Buffer): void {
  buf.writeUInt16BE(msg.statsType, 8);
  buf.writeUInt16BE(msg.flags, 10);
  const off = OFP_SIZE.stats_request;
  switch (msg.statsType) {
    case OFPST.FLOW:
    case OFPST.AGGREGATE: {
      const end = encodeMatch(msg.match, buf, off);
      buf[end] = msg.tableId;
      buf.writeUInt16BE(msg.outPort, end + 2);
      return;
    }
    case OFPST.PORT:
      buf.writeUInt16BE(msg.portNo, off);
      return;
    case OFPST.QUEUE:
      buf.writeUInt16BE(msg.portNo, off);
      buf.writeUInt32BE(msg.queueId >>> 0, off + 4);
      return;
    case OFPST.VENDOR:
      buf.writeUInt32BE(msg.vendor >>> 0, off);
      buf.set(msg.body, off + 4);
      return;
    case OFPST.DESC:
    case OFPST.TABLE:
    case OFPST.PORT_DESC:
      return; // no body
    default:
      return unreachable(msg, 'stats request');
  }
}

function flowStatsLength(f: FlowStats): number {
  return OFP_SIZE.flow_stats + actionsLength(f.actions);
}

function statsReplyBodyLength(msg: StatsReply): number {
  switch (msg.statsType) {
    case OFPST.DESC:
      return OFP_SIZE.desc_stats;
    case OFPST.FLOW:
      return sum(msg.flows, flowStatsLength);
    case OFPST.AGGREGATE:
      return OFP_SIZE.aggregate_stats_reply;
    case OFPST.TABLE:
      return msg.tables.length * OFP_SIZE.table_stats;
    case OFPST.PORT:
      return msg.ports.length * OFP_SIZE.port_stats;
    case OFPST.QUEUE:
      return msg.queues.length * OFP_SIZE.queue_stats;
    case OFPST.PORT_DESC:
      return msg.ports.length * OFP_SIZE.phy_port;
    case OFPST.VENDOR:
      return 4 + msg.body.length;
    default:
      return unreachable(msg, 'stats reply');
  }
}

function writeStatsReply(msg: StatsReply, buf: Buffer): void {
  buf.writeUInt16BE(msg.statsType, 8);
  buf.writeUInt16BE(msg.flags, 10);
  let off: number = OFP_SIZE.stats_reply;
  switch (msg.statsType) {
    case OFPST.DESC: {
      const d = msg.desc;
      writeCString(d.mfrDesc, buf, off, DESC_STR_LEN);
      writeCString(d.hwDesc, buf, off + 256, DESC_STR_LEN);
      writeCString(d.swDesc, buf, off + 512, DESC_STR_LEN);
      writeCString(d.serialNum, buf, off + 768, SERIAL_NUM_LEN);
      writeCString(d.dpDesc, buf, off + 800, DESC_STR_LEN);
      return;
    }
    case OFPST.FLOW:
      for (const f of msg.flows) off = writeFlowStats(f, buf, off);
      return;
    case OFPST.AGGREGATE:
      buf.writeBigUInt64BE(msg.stats.packetCount, off);
      buf.writeBigUInt64BE(msg.stats.byteCount, off + 8);
      buf.writeUInt32BE(msg.stats.flowCount >>> 0, off + 16);
      return;
    case OFPST.TABLE:
      for (const t of msg.tables) off = writeTableStats(t, buf, off);
      return;
    case OFPST.PORT:
      for (const p of msg.ports) off = writePortStats(p, buf, off);
      return;
    case OFPST.QUEUE:
      for (const q of msg.queues) off = writeQueueStats(q, buf, off);
      return;
    case OFPST.PORT_DESC:
      for (const p of msg.ports) off = writePhyPort(p, buf, off);
      return;
    case OFPST.VENDOR:
      buf.writeUInt32BE(msg.vendor >>> 0, off);
      buf.set(msg.body, off + 4);
      return;
    default:
      return unreachable(msg, 'stats reply');
  }
}

function writeFlowStats(f: FlowStats, buf: Buffer, offset: number): number {
  buf.writeUInt16BE(flowStatsLength(f), offset);
  buf[offset + 2] = f.tableId;
  const off = encodeMatch(f.match, buf, offset + 4);
  buf.writeUInt32BE(f.durationSec >>> 0, off);
  buf.writeUInt32BE(f.durationNsec >>> 0, off + 4);
  buf.writeUInt16BE(f.priority, off + 8);
  buf.writeUInt16BE(f.idleTimeout, off + 10);
  buf.writeUInt16BE(f.hardTimeout, off + 12);
  buf.writeBigUInt64BE(f.cookie, off + 20);
  buf.writeBigUInt64BE(f.packetCount, off + 28);
  buf.writeBigUInt64BE(f.byteCount, off + 36);
  return writeActions(f.actions, buf, offset + OFP_SIZE.flow_stats);
}

function writeTableStats(t: TableStats, buf: Buffer, offset: number): number {
  buf[offset] = t.tableId;
  writeCString(t.name, buf, offset + 4, OFP_MAX_TABLE_NAME_LEN);
  buf.writeUInt32BE(t.wildcards >>> 0, offset + 36);
  buf.writeUInt32BE(t.maxEntries >>> 0, offset + 40);
  buf.writeUInt32BE(t.activeCount >>> 0, offset + 44);
  buf.writeBigUInt64BE(t.lookupCount, offset + 48);
  buf.writeBigUInt64BE(t.matchedCount, offset + 56);
  return offset + OFP_SIZE.table_stats;
}

function writePortStats(p: PortStats, buf: Buffer, offset: number): number {
  buf.writeUInt16BE(p.portNo, offset);
  const counters = [
    p.rxPackets, p.txPackets, p.rxBytes, p.txBytes, p.rxDropped, p.txDropped,
    p.rxErrors, p.txErrors, p.rxFrameErr, p.rxOverErr, p.rxCrcErr, p.collisions,
  ];
  let off = offset + 8;
  for (const c of counters) {
    buf.writeBigUInt64BE(c, off);
    off += 8;
  }
  return off;
}

function writeQueueStats(q: QueueStats, buf: Buffer, offset: number): number {
  buf.writeUInt16BE(q.portNo, offset);
  buf.writeUInt32BE(q.queueId >>> 0, offset + 4);
  buf.writeBigUInt64BE(q.txBytes, offset + 8);
  buf.writeBigUInt64BE(q.txPackets, offset + 16);
  buf.writeBigUInt64BE(q.txErrors, offset + 24);
  return offset + OFP_SIZE.queue_stats;
}

// ---- queues --------------------------------------------------------------------------------------

function queuePropertyLength(p: QueueProperty): number {
  if ('body' in p) return OFP_SIZE.queue_prop_header + p.body.length;
  return p.property === OFPQT.MIN_RATE ? OFP_SIZE.queue_prop_min_rate : OFP_SIZE.queue_prop_header;
}

function packetQueueLength(q: PacketQueue): number {
  return OFP_SIZE.packet_queue + sum(q.properties, queuePropertyLength);
}

function writePacketQueue(q: PacketQueue, buf: Buffer, offset: number): number {
  const len = packetQueueLength(q);
  buf.writeUInt32BE(q.queueId >>> 0, offset);
  buf.writeUInt16BE(len, offset + 4);
  let off = offset + OFP_SIZE.packet_queue;
  for (const p of q.properties) {
    const plen = queuePropertyLength(p);
    buf.writeUInt16BE(p.property, off);
    buf.writeUInt16BE(plen, off + 2);
    if ('body' in p) buf.set(p.body, off + OFP_SIZE.queue_prop_header);
    else if ('rate' in p) buf.writeUInt16BE(p.rate, off + 8);
    off += plen;
  }
  return off;
}
