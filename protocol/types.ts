/**
 * Typed OpenFlow 1.0 messages: a discriminated union keyed on `type` (an OFPT value), with stats
 * messages further keyed on `statsType` (an OFPST value) and actions on their own `type` (OFPAT).
 *
 * These are what the codec decodes to and encodes from; the flow table and the agent never see
 * wire bytes. Field names follow the spec's struct members in camelCase (`buffer_id` is
 * `bufferId`). Conventions:
 * - MAC addresses are lowercase colon-separated strings ("0a:00:27:00:00:01").
 * - IPv4 addresses are unsigned 32-bit numbers (host order value of the big-endian field).
 * - 64-bit fields (datapath id, cookies, counters) are bigint.
 * - Opaque bytes (packet data, echo payloads, error data, vendor bodies) are Uint8Array views.
 * - Every message carries `version` and `xid` as received, so decode then encode gives the bytes back.
 */
import type { OFPAT, OFPFC, OFPST, OFPT } from './constants.js';
import type { OfpError } from './errors.js';

export type MacAddress = string;
export type Ipv4Address = number;

/** struct ofp_match: 40 bytes on the wire. */
export interface Match {
  readonly wildcards: number;
  readonly inPort: number;
  readonly dlSrc: MacAddress;
  readonly dlDst: MacAddress;
  readonly dlVlan: number;
  readonly dlVlanPcp: number;
  readonly dlType: number;
  readonly nwTos: number;
  readonly nwProto: number;
  readonly nwSrc: Ipv4Address;
  readonly nwDst: Ipv4Address;
  readonly tpSrc: number;
  readonly tpDst: number;
}

// ---- actions -------------------------------------------------------------------------------------

export interface ActionOutput {
  readonly type: typeof OFPAT.OUTPUT;
  readonly port: number;
  readonly maxLen: number;
}
export interface ActionSetVlanVid {
  readonly type: typeof OFPAT.SET_VLAN_VID;
  readonly vlanVid: number;
}
export interface ActionSetVlanPcp {
  readonly type: typeof OFPAT.SET_VLAN_PCP;
  readonly vlanPcp: number;
}
export interface ActionStripVlan {
  readonly type: typeof OFPAT.STRIP_VLAN;
}
export interface ActionSetDlAddr {
  readonly type: typeof OFPAT.SET_DL_SRC | typeof OFPAT.SET_DL_DST;
  readonly dlAddr: MacAddress;
}
export interface ActionSetNwAddr {
  readonly type: typeof OFPAT.SET_NW_SRC | typeof OFPAT.SET_NW_DST;
  readonly nwAddr: Ipv4Address;
}
export interface ActionSetNwTos {
  readonly type: typeof OFPAT.SET_NW_TOS;
  readonly nwTos: number;
}
export interface ActionSetTpPort {
  readonly type: typeof OFPAT.SET_TP_SRC | typeof OFPAT.SET_TP_DST;
  readonly tpPort: number;
}
export interface ActionEnqueue {
  readonly type: typeof OFPAT.ENQUEUE;
  readonly port: number;
  readonly queueId: number;
}
export interface ActionVendor {
  readonly type: typeof OFPAT.VENDOR;
  readonly vendor: number;
  /** Bytes after the 8-byte ofp_action_vendor_header. */
  readonly body: Uint8Array;
}
export type Action =
  | ActionOutput
  | ActionSetVlanVid
  | ActionSetVlanPcp
  | ActionStripVlan
  | ActionSetDlAddr
  | ActionSetNwAddr
  | ActionSetNwTos
  | ActionSetTpPort
  | ActionEnqueue
  | ActionVendor;

// ---- common structures ---------------------------------------------------------------------------

/** struct ofp_phy_port: 48 bytes. */
export interface PhyPort {
  readonly portNo: number;
  readonly hwAddr: MacAddress;
  /** At most 15 characters (16 bytes NUL-padded on the wire). */
  readonly name: string;
  readonly config: number;
  readonly state: number;
  readonly curr: number;
  readonly advertised: number;
  readonly supported: number;
  readonly peer: number;
}

/** struct ofp_queue_prop_*: NONE carries nothing; MIN_RATE a rate in 1/10 of a percent. */
export type QueueProperty =
  | { readonly property: 0 }
  | { readonly property: 1; readonly rate: number }
  | { readonly property: number; readonly body: Uint8Array };

/** struct ofp_packet_queue */
export interface PacketQueue {
  readonly queueId: number;
  readonly properties: readonly QueueProperty[];
}

// ---- messages ------------------------------------------------------------------------------------

interface Header {
  readonly version: number;
  readonly xid: number;
}

export interface Hello extends Header {
  readonly type: typeof OFPT.HELLO;
  /** Anything after the header (a later version's elements, such as a version bitmap). */
  readonly body: Uint8Array;
}
export interface ErrorMsg extends Header {
  readonly type: typeof OFPT.ERROR;
  readonly errorType: number;
  readonly code: number;
  /** At least the first 64 bytes of the offending message (or an ASCII text for HELLO_FAILED). */
  readonly data: Uint8Array;
}
export interface EchoRequest extends Header {
  readonly type: typeof OFPT.ECHO_REQUEST;
  readonly data: Uint8Array;
}
export interface EchoReply extends Header {
  readonly type: typeof OFPT.ECHO_REPLY;
  readonly data: Uint8Array;
}
export interface Vendor extends Header {
  readonly type: typeof OFPT.VENDOR;
  readonly vendor: number;
  /** Bytes after the 12-byte ofp_vendor_header. */
  readonly data: Uint8Array;
}
export interface FeaturesRequest extends Header {
  readonly type: typeof OFPT.FEATURES_REQUEST;
}
export interface FeaturesReply extends Header {
  readonly type: typeof OFPT.FEATURES_REPLY;
  readonly datapathId: bigint;
  readonly nBuffers: number;
  readonly nTables: number;
  readonly capabilities: number;
  readonly actions: number;
  readonly ports: readonly PhyPort[];
}
export interface GetConfigRequest extends Header {
  readonly type: typeof OFPT.GET_CONFIG_REQUEST;
}
export interface GetConfigReply extends Header {
  readonly type: typeof OFPT.GET_CONFIG_REPLY;
  readonly flags: number;
  readonly missSendLen: number;
}
export interface SetConfig extends Header {
  readonly type: typeof OFPT.SET_CONFIG;
  readonly flags: number;
  readonly missSendLen: number;
}
export interface PacketIn extends Header {
  readonly type: typeof OFPT.PACKET_IN;
  readonly bufferId: number;
  readonly totalLen: number;
  readonly inPort: number;
  readonly reason: number;
  readonly data: Uint8Array;
}
export interface FlowRemoved extends Header {
  readonly type: typeof OFPT.FLOW_REMOVED;
  readonly match: Match;
  readonly cookie: bigint;
  readonly priority: number;
  readonly reason: number;
  readonly durationSec: number;
  readonly durationNsec: number;
  readonly idleTimeout: number;
  readonly packetCount: bigint;
  readonly byteCount: bigint;
}
export interface PortStatus extends Header {
  readonly type: typeof OFPT.PORT_STATUS;
  readonly reason: number;
  readonly desc: PhyPort;
}
export interface PacketOut extends Header {
  readonly type: typeof OFPT.PACKET_OUT;
  readonly bufferId: number;
  readonly inPort: number;
  readonly actions: readonly Action[];
  /** The frame, when bufferId is OFP_NO_BUFFER (may be present otherwise; then ignored). */
  readonly data: Uint8Array;
}
export interface FlowMod extends Header {
  readonly type: typeof OFPT.FLOW_MOD;
  readonly match: Match;
  readonly cookie: bigint;
  readonly command: (typeof OFPFC)[keyof typeof OFPFC] | number;
  readonly idleTimeout: number;
  readonly hardTimeout: number;
  readonly priority: number;
  readonly bufferId: number;
  readonly outPort: number;
  readonly flags: number;
  readonly actions: readonly Action[];
}
export interface PortMod extends Header {
  readonly type: typeof OFPT.PORT_MOD;
  readonly portNo: number;
  readonly hwAddr: MacAddress;
  readonly config: number;
  readonly mask: number;
  readonly advertise: number;
}
export interface BarrierRequest extends Header {
  readonly type: typeof OFPT.BARRIER_REQUEST;
}
export interface BarrierReply extends Header {
  readonly type: typeof OFPT.BARRIER_REPLY;
}
export interface QueueGetConfigRequest extends Header {
  readonly type: typeof OFPT.QUEUE_GET_CONFIG_REQUEST;
  readonly port: number;
}
export interface QueueGetConfigReply extends Header {
  readonly type: typeof OFPT.QUEUE_GET_CONFIG_REPLY;
  readonly port: number;
  readonly queues: readonly PacketQueue[];
}

// ---- statistics ----------------------------------------------------------------------------------

interface StatsRequestHeader extends Header {
  readonly type: typeof OFPT.STATS_REQUEST;
  readonly flags: number;
}
export interface DescStatsRequest extends StatsRequestHeader {
  readonly statsType: typeof OFPST.DESC;
}
export interface FlowStatsRequest extends StatsRequestHeader {
  readonly statsType: typeof OFPST.FLOW;
  readonly match: Match;
  readonly tableId: number;
  readonly outPort: number;
}
export interface AggregateStatsRequest extends StatsRequestHeader {
  readonly statsType: typeof OFPST.AGGREGATE;
  readonly match: Match;
  readonly tableId: number;
  readonly outPort: number;
}
export interface TableStatsRequest extends StatsRequestHeader {
  readonly statsType: typeof OFPST.TABLE;
}
export interface PortStatsRequest extends StatsRequestHeader {
  readonly statsType: typeof OFPST.PORT;
  readonly portNo: number;
}
export interface QueueStatsRequest extends StatsRequestHeader {
  readonly statsType: typeof OFPST.QUEUE;
  readonly portNo: number;
  readonly queueId: number;
}
/** Stats type 13 (OFPMP_PORT_DESC): sent by ovs-ofctl dump-ports-desc; body empty. */
export interface PortDescStatsRequest extends StatsRequestHeader {
  readonly statsType: typeof OFPST.PORT_DESC;
}
export interface VendorStatsRequest extends StatsRequestHeader {
  readonly statsType: typeof OFPST.VENDOR;
  readonly vendor: number;
  readonly body: Uint8Array;
}
export type StatsRequest =
  | DescStatsRequest
  | FlowStatsRequest
  | AggregateStatsRequest
  | TableStatsRequest
  | PortStatsRequest
  | QueueStatsRequest
  | PortDescStatsRequest
  | VendorStatsRequest;

/** struct ofp_desc_stats */
export interface DescStats {
  readonly mfrDesc: string;
  readonly hwDesc: string;
  readonly swDesc: string;
  readonly serialNum: string;
  readonly dpDesc: string;
}
/** struct ofp_flow_stats */
export interface FlowStats {
  readonly tableId: number;
  readonly match: Match;
  readonly durationSec: number;
  readonly durationNsec: number;
  readonly priority: number;
  readonly idleTimeout: number;
  readonly hardTimeout: number;
  readonly cookie: bigint;
  readonly packetCount: bigint;
  readonly byteCount: bigint;
  readonly actions: readonly Action[];
}
/** struct ofp_aggregate_stats_reply */
export interface AggregateStats {
  readonly packetCount: bigint;
  readonly byteCount: bigint;
  readonly flowCount: number;
}
/** struct ofp_table_stats */
export interface TableStats {
  readonly tableId: number;
  readonly name: string;
  readonly wildcards: number;
  readonly maxEntries: number;
  readonly activeCount: number;
  readonly lookupCount: bigint;
  readonly matchedCount: bigint;
}
/** struct ofp_port_stats */
export interface PortStats {
  readonly portNo: number;
  readonly rxPackets: bigint;
  readonly txPackets: bigint;
  readonly rxBytes: bigint;
  readonly txBytes: bigint;
  readonly rxDropped: bigint;
  readonly txDropped: bigint;
  readonly rxErrors: bigint;
  readonly txErrors: bigint;
  readonly rxFrameErr: bigint;
  readonly rxOverErr: bigint;
  readonly rxCrcErr: bigint;
  readonly collisions: bigint;
}
/** struct ofp_queue_stats */
export interface QueueStats {
  readonly portNo: number;
  readonly queueId: number;
  readonly txBytes: bigint;
  readonly txPackets: bigint;
  readonly txErrors: bigint;
}

interface StatsReplyHeader extends Header {
  readonly type: typeof OFPT.STATS_REPLY;
  readonly flags: number;
}
export interface DescStatsReply extends StatsReplyHeader {
  readonly statsType: typeof OFPST.DESC;
  readonly desc: DescStats;
}
export interface FlowStatsReply extends StatsReplyHeader {
  readonly statsType: typeof OFPST.FLOW;
  readonly flows: readonly FlowStats[];
}
export interface AggregateStatsReply extends StatsReplyHeader {
  readonly statsType: typeof OFPST.AGGREGATE;
  readonly stats: AggregateStats;
}
export interface TableStatsReply extends StatsReplyHeader {
  readonly statsType: typeof OFPST.TABLE;
  readonly tables: readonly TableStats[];
}
export interface PortStatsReply extends StatsReplyHeader {
  readonly statsType: typeof OFPST.PORT;
  readonly ports: readonly PortStats[];
}
export interface QueueStatsReply extends StatsReplyHeader {
  readonly statsType: typeof OFPST.QUEUE;
  readonly queues: readonly QueueStats[];
}
export interface PortDescStatsReply extends StatsReplyHeader {
  readonly statsType: typeof OFPST.PORT_DESC;
  readonly ports: readonly PhyPort[];
}
export interface VendorStatsReply extends StatsReplyHeader {
  readonly statsType: typeof OFPST.VENDOR;
  readonly vendor: number;
  readonly body: Uint8Array;
}
export type StatsReply =
  | DescStatsReply
  | FlowStatsReply
  | AggregateStatsReply
  | TableStatsReply
  | PortStatsReply
  | QueueStatsReply
  | PortDescStatsReply
  | VendorStatsReply;

/** Every OpenFlow 1.0 message. */
export type OfpMessage =
  | Hello
  | ErrorMsg
  | EchoRequest
  | EchoReply
  | Vendor
  | FeaturesRequest
  | FeaturesReply
  | GetConfigRequest
  | GetConfigReply
  | SetConfig
  | PacketIn
  | FlowRemoved
  | PortStatus
  | PacketOut
  | FlowMod
  | PortMod
  | StatsRequest
  | StatsReply
  | BarrierRequest
  | BarrierReply
  | QueueGetConfigRequest
  | QueueGetConfigReply;

/** What decodeMessage gives: the message, or the error the spec names for its bytes. */
export type DecodeResult = { readonly ok: true; readonly message: OfpMessage } | OfpError;
