/**
 * ofswitch's typed messages and scapy's OpenFlow 1.0 classes, field by field.
 *
 * `scapySpecOf(msg)` says how to build a message in scapy (class and field names are scapy's,
 * values are the typed message's); `messageFromScapy(layer)` reads scapy's dissection back into
 * ofswitch's typed form. Neither uses ofswitch's codec, so comparing what the codec produces
 * with what these give is a cross-check between two independent implementations.
 *
 * What scapy 2.5 cannot express is left out and said so: stats type 13 (port description) has
 * no class, a queue stats reply holds exactly one queue, match wildcards are derived by scapy
 * from which fields are given (so only the spec's 22 wildcard bits exist).
 */
import { OFPAT, OFPFW, OFPQT, OFPST, OFPT } from '../../protocol/constants.js';
import type { Action, Match, OfpMessage, PacketQueue, PhyPort, QueueProperty } from '../../protocol/types.js';
import { ipv4, ipv4Number } from './ofctl-peer.js';
import { big, list, num, str, sub, type ScapyLayer, type ScapySpec } from './scapy.js';

type Fields = Record<string, unknown>;
const spec = (cls: string, fields: Fields = {}, load?: Uint8Array): ScapySpec =>
  load && load.length > 0 ? { cls, fields, load: Buffer.from(load).toString('hex') } : { cls, fields };
const hexOf = (b: Uint8Array): { hex: string } => ({ hex: Buffer.from(b).toString('hex') });
const u64 = (v: bigint): string => v.toString();

// ---- match -----------------------------------------------------------------------------------------

/** scapy builds wildcards from the fields given: give exactly the matched ones. */
export function matchSpec(m: Match): ScapySpec {
  const w = m.wildcards;
  const f: Fields = {
    nw_src_mask: (w & OFPFW.NW_SRC_MASK) >>> OFPFW.NW_SRC_SHIFT,
    nw_dst_mask: (w & OFPFW.NW_DST_MASK) >>> OFPFW.NW_DST_SHIFT,
    nw_src: ipv4(m.nwSrc),
    nw_dst: ipv4(m.nwDst),
  };
  // A wildcarded field is left out (scapy then sets its wildcard bit) unless its value is not 0.
  const put = (bit: number, name: string, value: unknown, zero: unknown): void => {
    if (!(w & bit)) f[name] = value;
    else if (value !== zero) throw new Error(`scapy cannot build a wildcarded ${name} of ${String(value)}`);
  };
  put(OFPFW.IN_PORT, 'in_port', m.inPort, 0);
  put(OFPFW.DL_VLAN, 'dl_vlan', m.dlVlan, 0);
  put(OFPFW.DL_SRC, 'dl_src', m.dlSrc, '00:00:00:00:00:00');
  put(OFPFW.DL_DST, 'dl_dst', m.dlDst, '00:00:00:00:00:00');
  put(OFPFW.DL_TYPE, 'dl_type', m.dlType, 0);
  put(OFPFW.NW_PROTO, 'nw_proto', m.nwProto, 0);
  put(OFPFW.TP_SRC, 'tp_src', m.tpSrc, 0);
  put(OFPFW.TP_DST, 'tp_dst', m.tpDst, 0);
  put(OFPFW.DL_VLAN_PCP, 'dl_vlan_pcp', m.dlVlanPcp, 0);
  put(OFPFW.NW_TOS, 'nw_tos', m.nwTos, 0);
  return spec('OFPMatch', f);
}

export function matchFromScapy(l: ScapyLayer): Match {
  return {
    wildcards: ((num(l, 'wildcards1') << 20) | (num(l, 'nw_dst_mask') << 14) | (num(l, 'nw_src_mask') << 8) | num(l, 'wildcards2')) >>> 0,
    inPort: num(l, 'in_port'),
    dlSrc: str(l, 'dl_src'),
    dlDst: str(l, 'dl_dst'),
    dlVlan: num(l, 'dl_vlan'),
    dlVlanPcp: num(l, 'dl_vlan_pcp'),
    dlType: num(l, 'dl_type'),
    nwTos: num(l, 'nw_tos'),
    nwProto: num(l, 'nw_proto'),
    nwSrc: ipv4Number(str(l, 'nw_src')),
    nwDst: ipv4Number(str(l, 'nw_dst')),
    tpSrc: num(l, 'tp_src'),
    tpDst: num(l, 'tp_dst'),
  };
}

// ---- actions ---------------------------------------------------------------------------------------

export function actionSpec(a: Action): ScapySpec {
  switch (a.type) {
    case OFPAT.OUTPUT:
      return spec('OFPATOutput', { port: a.port, max_len: a.maxLen });
    case OFPAT.SET_VLAN_VID:
      return spec('OFPATSetVLANVID', { vlan_vid: a.vlanVid });
    case OFPAT.SET_VLAN_PCP:
      return spec('OFPATSetVLANPCP', { vlan_pcp: a.vlanPcp });
    case OFPAT.STRIP_VLAN:
      return spec('OFPATStripVLAN');
    case OFPAT.SET_DL_SRC:
      return spec('OFPATSetDlSrc', { dl_addr: a.dlAddr });
    case OFPAT.SET_DL_DST:
      return spec('OFPATSetDlDst', { dl_addr: a.dlAddr });
    case OFPAT.SET_NW_SRC:
      return spec('OFPATSetNwSrc', { nw_addr: ipv4(a.nwAddr) });
    case OFPAT.SET_NW_DST:
      return spec('OFPATSetNwDst', { nw_addr: ipv4(a.nwAddr) });
    case OFPAT.SET_NW_TOS:
      return spec('OFPATSetNwToS', { nw_tos: a.nwTos });
    case OFPAT.SET_TP_SRC:
      return spec('OFPATSetTpSrc', { tp_port: a.tpPort });
    case OFPAT.SET_TP_DST:
      return spec('OFPATSetTpDst', { tp_port: a.tpPort });
    case OFPAT.ENQUEUE:
      return spec('OFPATEnqueue', { port: a.port, queue_id: a.queueId });
    case OFPAT.VENDOR:
      return spec('OFPATVendor', { vendor: a.vendor, len: 8 + a.body.length }, a.body);
  }
}

export function actionFromScapy(l: ScapyLayer): Action {
  switch (l.cls) {
    case 'OFPATOutput':
      return { type: OFPAT.OUTPUT, port: num(l, 'port'), maxLen: num(l, 'max_len') };
    case 'OFPATSetVLANVID':
      return { type: OFPAT.SET_VLAN_VID, vlanVid: num(l, 'vlan_vid') };
    case 'OFPATSetVLANPCP':
      return { type: OFPAT.SET_VLAN_PCP, vlanPcp: num(l, 'vlan_pcp') };
    case 'OFPATStripVLAN':
      return { type: OFPAT.STRIP_VLAN };
    case 'OFPATSetDlSrc':
      return { type: OFPAT.SET_DL_SRC, dlAddr: str(l, 'dl_addr') };
    case 'OFPATSetDlDst':
      return { type: OFPAT.SET_DL_DST, dlAddr: str(l, 'dl_addr') };
    case 'OFPATSetNwSrc':
      return { type: OFPAT.SET_NW_SRC, nwAddr: ipv4Number(str(l, 'nw_addr')) };
    case 'OFPATSetNwDst':
      return { type: OFPAT.SET_NW_DST, nwAddr: ipv4Number(str(l, 'nw_addr')) };
    case 'OFPATSetNwToS':
      return { type: OFPAT.SET_NW_TOS, nwTos: num(l, 'nw_tos') };
    case 'OFPATSetTpSrc':
      return { type: OFPAT.SET_TP_SRC, tpPort: num(l, 'tp_port') };
    case 'OFPATSetTpDst':
      return { type: OFPAT.SET_TP_DST, tpPort: num(l, 'tp_port') };
    case 'OFPATEnqueue':
      return { type: OFPAT.ENQUEUE, port: num(l, 'port'), queueId: num(l, 'queue_id') };
    case 'OFPATVendor':
      return { type: OFPAT.VENDOR, vendor: num(l, 'vendor'), body: rawBytes(l.payload) };
    default:
      throw new Error(`scapy dissected an action as ${l.cls}`);
  }
}

// ---- structures ------------------------------------------------------------------------------------

/** The bytes a layer was dissected from (its payload included); empty for none. */
export function rawBytes(l: ScapyLayer | null | undefined): Uint8Array {
  const r = l?.raw;
  return r ? Uint8Array.from(Buffer.from(r, 'hex')) : new Uint8Array(0);
}

/** A field holding a packet (a frame, an embedded message) or nothing, plus the layer's payload. */
function trailingBytes(l: ScapyLayer, field: string): Uint8Array {
  const v = l.fields[field];
  const head = typeof v === 'object' && v !== null && 'cls' in v ? rawBytes(v as ScapyLayer) : new Uint8Array(0);
  return Uint8Array.from(Buffer.concat([head, rawBytes(l.payload)]));
}

function portSpec(p: PhyPort): ScapySpec {
  return spec('OFPPhyPort', {
    port_no: p.portNo,
    hw_addr: p.hwAddr,
    port_name: hexOf(Buffer.from(p.name)),
    config: p.config,
    stp_state: p.state >>> 8,
    state: p.state & 0xff,
    curr: p.curr,
    advertised: p.advertised,
    supported: p.supported,
    peer: p.peer,
  });
}

function portFromScapy(l: ScapyLayer): PhyPort {
  return {
    portNo: num(l, 'port_no'),
    hwAddr: str(l, 'hw_addr'),
    name: str(l, 'port_name'),
    config: num(l, 'config'),
    state: ((num(l, 'stp_state') << 8) | num(l, 'state')) >>> 0,
    curr: num(l, 'curr'),
    advertised: num(l, 'advertised'),
    supported: num(l, 'supported'),
    peer: num(l, 'peer'),
  };
}

function queueSpec(q: PacketQueue): ScapySpec {
  return spec('OFPPacketQueue', {
    queue_id: q.queueId,
    properties: q.properties.map((p) => {
      if ('rate' in p) return spec('OFPQTMinRate', { rate: p.rate });
      if (p.property === OFPQT.NONE) return spec('OFPQTNone');
      throw new Error(`scapy has no queue property ${p.property}`);
    }),
  });
}

function queueFromScapy(l: ScapyLayer): PacketQueue {
  const properties: QueueProperty[] = list(l, 'properties').map((p) => {
    if (p.cls === 'OFPQTMinRate') return { property: OFPQT.MIN_RATE, rate: num(p, 'rate') };
    if (p.cls === 'OFPQTNone') return { property: OFPQT.NONE };
    throw new Error(`scapy dissected a queue property as ${p.cls}`);
  });
  return { queueId: num(l, 'queue_id'), properties };
}

const ERROR_CLASSES = ['OFPETHelloFailed', 'OFPETBadRequest', 'OFPETBadAction', 'OFPETFlowModFailed', 'OFPETPortModFailed', 'OFPETQueueOpFailed'];

// ---- messages --------------------------------------------------------------------------------------

/** How to build `msg` in scapy. Throws for what scapy cannot express. */
export function scapySpecOf(msg: OfpMessage): ScapySpec {
  const h = { version: msg.version, xid: msg.xid };
  switch (msg.type) {
    case OFPT.HELLO:
      return spec('OFPTHello', h, msg.body);
    case OFPT.ERROR: {
      const cls = ERROR_CLASSES[msg.errorType];
      if (!cls) throw new Error(`scapy has no error type ${msg.errorType}`);
      return spec(cls, { ...h, errcode: msg.code }, msg.data);
    }
    case OFPT.ECHO_REQUEST:
      return spec('OFPTEchoRequest', h, msg.data);
    case OFPT.ECHO_REPLY:
      return spec('OFPTEchoReply', h, msg.data);
    case OFPT.VENDOR:
      return spec('OFPTVendor', { ...h, vendor: msg.vendor }, msg.data);
    case OFPT.FEATURES_REQUEST:
      return spec('OFPTFeaturesRequest', h);
    case OFPT.FEATURES_REPLY:
      return spec('OFPTFeaturesReply', {
        ...h,
        datapath_id: u64(msg.datapathId),
        n_buffers: msg.nBuffers,
        n_tables: msg.nTables,
        capabilities: msg.capabilities,
        actions: msg.actions,
        ports: msg.ports.map(portSpec),
      });
    case OFPT.GET_CONFIG_REQUEST:
      return spec('OFPTGetConfigRequest', h);
    case OFPT.GET_CONFIG_REPLY:
      return spec('OFPTGetConfigReply', { ...h, flags: msg.flags, miss_send_len: msg.missSendLen });
    case OFPT.SET_CONFIG:
      return spec('OFPTSetConfig', { ...h, flags: msg.flags, miss_send_len: msg.missSendLen });
    case OFPT.PACKET_IN:
      return spec(
        'OFPTPacketIn',
        { ...h, buffer_id: msg.bufferId, total_len: msg.totalLen, in_port: msg.inPort, reason: msg.reason },
        msg.data,
      );
    case OFPT.FLOW_REMOVED:
      return spec('OFPTFlowRemoved', {
        ...h,
        match: matchSpec(msg.match),
        cookie: u64(msg.cookie),
        priority: msg.priority,
        reason: msg.reason,
        duration_sec: msg.durationSec,
        duration_nsec: msg.durationNsec,
        idle_timeout: msg.idleTimeout,
        packet_count: u64(msg.packetCount),
        byte_count: u64(msg.byteCount),
      });
    case OFPT.PORT_STATUS:
      return spec('OFPTPortStatus', { ...h, reason: msg.reason, desc: portSpec(msg.desc) });
    case OFPT.PACKET_OUT:
      return spec('OFPTPacketOut', { ...h, buffer_id: msg.bufferId, in_port: msg.inPort, actions: msg.actions.map(actionSpec) }, msg.data);
    case OFPT.FLOW_MOD:
      return spec('OFPTFlowMod', {
        ...h,
        match: matchSpec(msg.match),
        cookie: u64(msg.cookie),
        cmd: msg.command,
        idle_timeout: msg.idleTimeout,
        hard_timeout: msg.hardTimeout,
        priority: msg.priority,
        buffer_id: msg.bufferId,
        out_port: msg.outPort,
        flags: msg.flags,
        actions: msg.actions.map(actionSpec),
      });
    case OFPT.PORT_MOD:
      return spec('OFPTPortMod', { ...h, port_no: msg.portNo, hw_addr: msg.hwAddr, config: msg.config, mask: msg.mask, advertise: msg.advertise });
    case OFPT.BARRIER_REQUEST:
      return spec('OFPTBarrierRequest', h);
    case OFPT.BARRIER_REPLY:
      return spec('OFPTBarrierReply', h);
    case OFPT.QUEUE_GET_CONFIG_REQUEST:
      return spec('OFPTQueueGetConfigRequest', { ...h, port: msg.port });
    case OFPT.QUEUE_GET_CONFIG_REPLY:
      return spec('OFPTQueueGetConfigReply', { ...h, port: msg.port, queues: msg.queues.map(queueSpec) });
    case OFPT.STATS_REQUEST: {
      const s = { ...h, flags: msg.flags };
      switch (msg.statsType) {
        case OFPST.DESC:
          return spec('OFPTStatsRequestDesc', s);
        case OFPST.FLOW:
        case OFPST.AGGREGATE:
          return spec(msg.statsType === OFPST.FLOW ? 'OFPTStatsRequestFlow' : 'OFPTStatsRequestAggregate', {
            ...s,
            match: matchSpec(msg.match),
            table_id: msg.tableId,
            out_port: msg.outPort,
          });
        case OFPST.TABLE:
          return spec('OFPTStatsRequestTable', s);
        case OFPST.PORT:
          return spec('OFPTStatsRequestPort', { ...s, port_no: msg.portNo });
        case OFPST.QUEUE:
          return spec('OFPTStatsRequestQueue', { ...s, port_no: msg.portNo, queue_id: msg.queueId });
        case OFPST.VENDOR:
          // scapy's default stats_type for vendor is 6, not 0xffff: given explicitly
          return spec('OFPTStatsRequestVendor', { ...s, stats_type: OFPST.VENDOR, vendor: msg.vendor }, msg.body);
        case OFPST.PORT_DESC:
          throw new Error('scapy has no port-description stats');
      }
      break;
    }
    case OFPT.STATS_REPLY: {
      const s = { ...h, flags: msg.flags };
      switch (msg.statsType) {
        case OFPST.DESC:
          return spec('OFPTStatsReplyDesc', {
            ...s,
            mfr_desc: msg.desc.mfrDesc,
            hw_desc: msg.desc.hwDesc,
            sw_desc: msg.desc.swDesc,
            serial_num: msg.desc.serialNum,
            dp_desc: msg.desc.dpDesc,
          });
        case OFPST.FLOW:
          return spec('OFPTStatsReplyFlow', {
            ...s,
            flow_stats: msg.flows.map((f) =>
              spec('OFPFlowStats', {
                table_id: f.tableId,
                match: matchSpec(f.match),
                duration_sec: f.durationSec,
                duration_nsec: f.durationNsec,
                priority: f.priority,
                idle_timeout: f.idleTimeout,
                hard_timeout: f.hardTimeout,
                cookie: u64(f.cookie),
                packet_count: u64(f.packetCount),
                byte_count: u64(f.byteCount),
                actions: f.actions.map(actionSpec),
              }),
            ),
          });
        case OFPST.AGGREGATE:
          return spec('OFPTStatsReplyAggregate', {
            ...s,
            packet_count: u64(msg.stats.packetCount),
            byte_count: u64(msg.stats.byteCount),
            flow_count: msg.stats.flowCount,
          });
        case OFPST.TABLE:
          return spec('OFPTStatsReplyTable', {
            ...s,
            table_stats: msg.tables.map((t) =>
              spec('OFPTableStats', {
                table_id: t.tableId,
                name: t.name,
                wildcards1: t.wildcards >>> 20,
                nw_dst_mask: (t.wildcards & OFPFW.NW_DST_MASK) >>> OFPFW.NW_DST_SHIFT,
                nw_src_mask: (t.wildcards & OFPFW.NW_SRC_MASK) >>> OFPFW.NW_SRC_SHIFT,
                wildcards2: t.wildcards & 0xff,
                max_entries: t.maxEntries,
                active_count: t.activeCount,
                lookup_count: u64(t.lookupCount),
                matched_count: u64(t.matchedCount),
              }),
            ),
          });
        case OFPST.PORT:
          return spec('OFPTStatsReplyPort', {
            ...s,
            port_stats: msg.ports.map((p) =>
              spec('OFPPortStats', {
                port_no: p.portNo,
                rx_packets: u64(p.rxPackets),
                tx_packets: u64(p.txPackets),
                rx_bytes: u64(p.rxBytes),
                tx_bytes: u64(p.txBytes),
                rx_dropped: u64(p.rxDropped),
                tx_dropped: u64(p.txDropped),
                rx_errors: u64(p.rxErrors),
                tx_errors: u64(p.txErrors),
                rx_frame_err: u64(p.rxFrameErr),
                rx_over_err: u64(p.rxOverErr),
                rx_crc_err: u64(p.rxCrcErr),
                collisions: u64(p.collisions),
              }),
            ),
          });
        case OFPST.QUEUE: {
          const [q, ...more] = msg.queues;
          if (!q || more.length > 0) throw new Error('scapy holds exactly one queue in a queue stats reply');
          return spec('OFPTStatsReplyQueue', {
            ...s,
            port_no: q.portNo,
            queue_id: q.queueId,
            tx_bytes: u64(q.txBytes),
            tx_packets: u64(q.txPackets),
            tx_errors: u64(q.txErrors),
          });
        }
        case OFPST.VENDOR:
          return spec('OFPTStatsReplyVendor', { ...s, stats_type: OFPST.VENDOR, vendor: msg.vendor }, msg.body);
        case OFPST.PORT_DESC:
          throw new Error('scapy has no port-description stats');
      }
      break;
    }
  }
  throw new Error('unreachable');
}

/** scapy's dissection read back into ofswitch's typed form. */
export function messageFromScapy(l: ScapyLayer): OfpMessage {
  const h = { version: num(l, 'version'), xid: num(l, 'xid') };
  const rest = (): Uint8Array => rawBytes(l.payload);
  if (ERROR_CLASSES.includes(l.cls)) {
    return { ...h, type: OFPT.ERROR, errorType: num(l, 'errtype'), code: num(l, 'errcode'), data: trailingBytes(l, 'data') };
  }
  switch (l.cls) {
    case 'OFPTHello':
      return { ...h, type: OFPT.HELLO, body: rest() };
    case 'OFPTEchoRequest':
      return { ...h, type: OFPT.ECHO_REQUEST, data: rest() };
    case 'OFPTEchoReply':
      return { ...h, type: OFPT.ECHO_REPLY, data: rest() };
    case 'OFPTVendor':
      return { ...h, type: OFPT.VENDOR, vendor: num(l, 'vendor'), data: rest() };
    case 'OFPTFeaturesRequest':
      return { ...h, type: OFPT.FEATURES_REQUEST };
    case 'OFPTFeaturesReply':
      return {
        ...h,
        type: OFPT.FEATURES_REPLY,
        datapathId: big(l, 'datapath_id'),
        nBuffers: num(l, 'n_buffers'),
        nTables: num(l, 'n_tables'),
        capabilities: num(l, 'capabilities'),
        actions: num(l, 'actions'),
        ports: list(l, 'ports').map(portFromScapy),
      };
    case 'OFPTGetConfigRequest':
      return { ...h, type: OFPT.GET_CONFIG_REQUEST };
    case 'OFPTGetConfigReply':
      return { ...h, type: OFPT.GET_CONFIG_REPLY, flags: num(l, 'flags'), missSendLen: num(l, 'miss_send_len') };
    case 'OFPTSetConfig':
      return { ...h, type: OFPT.SET_CONFIG, flags: num(l, 'flags'), missSendLen: num(l, 'miss_send_len') };
    case 'OFPTPacketIn':
      return {
        ...h,
        type: OFPT.PACKET_IN,
        bufferId: num(l, 'buffer_id'),
        totalLen: num(l, 'total_len'),
        inPort: num(l, 'in_port'),
        reason: num(l, 'reason'),
        data: trailingBytes(l, 'data'),
      };
    case 'OFPTFlowRemoved':
      return {
        ...h,
        type: OFPT.FLOW_REMOVED,
        match: matchFromScapy(sub(l, 'match')),
        cookie: big(l, 'cookie'),
        priority: num(l, 'priority'),
        reason: num(l, 'reason'),
        durationSec: num(l, 'duration_sec'),
        durationNsec: num(l, 'duration_nsec'),
        idleTimeout: num(l, 'idle_timeout'),
        packetCount: big(l, 'packet_count'),
        byteCount: big(l, 'byte_count'),
      };
    case 'OFPTPortStatus':
      return { ...h, type: OFPT.PORT_STATUS, reason: num(l, 'reason'), desc: portFromScapy(sub(l, 'desc')) };
    case 'OFPTPacketOut':
      return {
        ...h,
        type: OFPT.PACKET_OUT,
        bufferId: num(l, 'buffer_id'),
        inPort: num(l, 'in_port'),
        actions: list(l, 'actions').map(actionFromScapy),
        data: trailingBytes(l, 'data'),
      };
    case 'OFPTFlowMod':
      return {
        ...h,
        type: OFPT.FLOW_MOD,
        match: matchFromScapy(sub(l, 'match')),
        cookie: big(l, 'cookie'),
        command: num(l, 'cmd'),
        idleTimeout: num(l, 'idle_timeout'),
        hardTimeout: num(l, 'hard_timeout'),
        priority: num(l, 'priority'),
        bufferId: num(l, 'buffer_id'),
        outPort: num(l, 'out_port'),
        flags: num(l, 'flags'),
        actions: list(l, 'actions').map(actionFromScapy),
      };
    case 'OFPTPortMod':
      return {
        ...h,
        type: OFPT.PORT_MOD,
        portNo: num(l, 'port_no'),
        hwAddr: str(l, 'hw_addr'),
        config: num(l, 'config'),
        mask: num(l, 'mask'),
        advertise: num(l, 'advertise'),
      };
    case 'OFPTBarrierRequest':
      return { ...h, type: OFPT.BARRIER_REQUEST };
    case 'OFPTBarrierReply':
      return { ...h, type: OFPT.BARRIER_REPLY };
    case 'OFPTQueueGetConfigRequest':
      return { ...h, type: OFPT.QUEUE_GET_CONFIG_REQUEST, port: num(l, 'port') };
    case 'OFPTQueueGetConfigReply':
      return { ...h, type: OFPT.QUEUE_GET_CONFIG_REPLY, port: num(l, 'port'), queues: list(l, 'queues').map(queueFromScapy) };
  }
  const s = { ...h, flags: num(l, 'flags') };
  switch (l.cls) {
    case 'OFPTStatsRequestDesc':
      return { ...s, type: OFPT.STATS_REQUEST, statsType: OFPST.DESC };
    case 'OFPTStatsRequestFlow':
    case 'OFPTStatsRequestAggregate':
      return {
        ...s,
        type: OFPT.STATS_REQUEST,
        statsType: l.cls === 'OFPTStatsRequestFlow' ? OFPST.FLOW : OFPST.AGGREGATE,
        match: matchFromScapy(sub(l, 'match')),
        tableId: num(l, 'table_id'),
        outPort: num(l, 'out_port'),
      };
    case 'OFPTStatsRequestTable':
      return { ...s, type: OFPT.STATS_REQUEST, statsType: OFPST.TABLE };
    case 'OFPTStatsRequestPort':
      return { ...s, type: OFPT.STATS_REQUEST, statsType: OFPST.PORT, portNo: num(l, 'port_no') };
    case 'OFPTStatsRequestQueue':
      return { ...s, type: OFPT.STATS_REQUEST, statsType: OFPST.QUEUE, portNo: num(l, 'port_no'), queueId: num(l, 'queue_id') };
    case 'OFPTStatsRequestVendor':
      return { ...s, type: OFPT.STATS_REQUEST, statsType: OFPST.VENDOR, vendor: num(l, 'vendor'), body: rest() };
    case 'OFPTStatsReplyDesc':
      return {
        ...s,
        type: OFPT.STATS_REPLY,
        statsType: OFPST.DESC,
        desc: {
          mfrDesc: str(l, 'mfr_desc'),
          hwDesc: str(l, 'hw_desc'),
          swDesc: str(l, 'sw_desc'),
          serialNum: str(l, 'serial_num'),
          dpDesc: str(l, 'dp_desc'),
        },
      };
    case 'OFPTStatsReplyFlow':
      return {
        ...s,
        type: OFPT.STATS_REPLY,
        statsType: OFPST.FLOW,
        flows: list(l, 'flow_stats').map((f) => ({
          tableId: num(f, 'table_id'),
          match: matchFromScapy(sub(f, 'match')),
          durationSec: num(f, 'duration_sec'),
          durationNsec: num(f, 'duration_nsec'),
          priority: num(f, 'priority'),
          idleTimeout: num(f, 'idle_timeout'),
          hardTimeout: num(f, 'hard_timeout'),
          cookie: big(f, 'cookie'),
          packetCount: big(f, 'packet_count'),
          byteCount: big(f, 'byte_count'),
          actions: list(f, 'actions').map(actionFromScapy),
        })),
      };
    case 'OFPTStatsReplyAggregate':
      return {
        ...s,
        type: OFPT.STATS_REPLY,
        statsType: OFPST.AGGREGATE,
        stats: { packetCount: big(l, 'packet_count'), byteCount: big(l, 'byte_count'), flowCount: num(l, 'flow_count') },
      };
    case 'OFPTStatsReplyTable':
      return {
        ...s,
        type: OFPT.STATS_REPLY,
        statsType: OFPST.TABLE,
        tables: list(l, 'table_stats').map((t) => ({
          tableId: num(t, 'table_id'),
          name: str(t, 'name'),
          wildcards: ((num(t, 'wildcards1') << 20) | (num(t, 'nw_dst_mask') << 14) | (num(t, 'nw_src_mask') << 8) | num(t, 'wildcards2')) >>> 0,
          maxEntries: num(t, 'max_entries'),
          activeCount: num(t, 'active_count'),
          lookupCount: big(t, 'lookup_count'),
          matchedCount: big(t, 'matched_count'),
        })),
      };
    case 'OFPTStatsReplyPort':
      return {
        ...s,
        type: OFPT.STATS_REPLY,
        statsType: OFPST.PORT,
        ports: list(l, 'port_stats').map((p) => ({
          portNo: num(p, 'port_no'),
          rxPackets: big(p, 'rx_packets'),
          txPackets: big(p, 'tx_packets'),
          rxBytes: big(p, 'rx_bytes'),
          txBytes: big(p, 'tx_bytes'),
          rxDropped: big(p, 'rx_dropped'),
          txDropped: big(p, 'tx_dropped'),
          rxErrors: big(p, 'rx_errors'),
          txErrors: big(p, 'tx_errors'),
          rxFrameErr: big(p, 'rx_frame_err'),
          rxOverErr: big(p, 'rx_over_err'),
          rxCrcErr: big(p, 'rx_crc_err'),
          collisions: big(p, 'collisions'),
        })),
      };
    case 'OFPTStatsReplyQueue':
      return {
        ...s,
        type: OFPT.STATS_REPLY,
        statsType: OFPST.QUEUE,
        queues: [
          {
            portNo: num(l, 'port_no'),
            queueId: num(l, 'queue_id'),
            txBytes: big(l, 'tx_bytes'),
            txPackets: big(l, 'tx_packets'),
            txErrors: big(l, 'tx_errors'),
          },
        ],
      };
    case 'OFPTStatsReplyVendor':
      return { ...s, type: OFPT.STATS_REPLY, statsType: OFPST.VENDOR, vendor: num(l, 'vendor'), body: rest() };
  }
  throw new Error(`no typed form for scapy's ${l.cls}`);
}
