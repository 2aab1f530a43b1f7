/**
 * OpenFlow 1.0.0 constants: the one table of truth for the wire protocol.
 *
 * Every number here is taken from the OpenFlow Switch Specification 1.0.0 (openflow.h, wire
 * version 0x01). Each enum of the spec is an `as const` object whose keys are the spec's names
 * without their common prefix: `OFPT.FLOW_MOD` is the spec's OFPT_FLOW_MOD. Reverse maps (number
 * to name, for logs and test output) are derived here, never written twice.
 */

export const OFP_VERSION = 0x01;
export const OFP_TCP_PORT = 6653;
/** The default port of an `ssl:` controller target (OVS's OFP_SSL_PORT: the same IANA port as TCP). */
export const OFP_SSL_PORT = 6653;
export const OFP_DEFAULT_LISTEN_PORT = 6634;
export const OFP_MAX_TABLE_NAME_LEN = 32;
export const OFP_MAX_PORT_NAME_LEN = 16;
export const DESC_STR_LEN = 256;
export const SERIAL_NUM_LEN = 32;
export const OFP_ETH_ALEN = 6;
export const OFP_DEFAULT_MISS_SEND_LEN = 128;
export const OFP_NO_BUFFER = 0xffffffff;
export const OFP_FLOW_PERMANENT = 0;
export const OFP_DEFAULT_PRIORITY = 0x8000;
/** Largest message the 16-bit length field can describe. */
export const OFP_MAX_MESSAGE_LEN = 0xffff;

/** enum ofp_type */
export const OFPT = {
  HELLO: 0,
  ERROR: 1,
  ECHO_REQUEST: 2,
  ECHO_REPLY: 3,
  VENDOR: 4,
  FEATURES_REQUEST: 5,
  FEATURES_REPLY: 6,
  GET_CONFIG_REQUEST: 7,
  GET_CONFIG_REPLY: 8,
  SET_CONFIG: 9,
  PACKET_IN: 10,
  FLOW_REMOVED: 11,
  PORT_STATUS: 12,
  PACKET_OUT: 13,
  FLOW_MOD: 14,
  PORT_MOD: 15,
  STATS_REQUEST: 16,
  STATS_REPLY: 17,
  BARRIER_REQUEST: 18,
  BARRIER_REPLY: 19,
  QUEUE_GET_CONFIG_REQUEST: 20,
  QUEUE_GET_CONFIG_REPLY: 21,
} as const;

/** enum ofp_port: port numbers. Physical ports are 1..MAX. */
export const OFPP = {
  MAX: 0xff00,
  IN_PORT: 0xfff8,
  TABLE: 0xfff9,
  NORMAL: 0xfffa,
  FLOOD: 0xfffb,
  ALL: 0xfffc,
  CONTROLLER: 0xfffd,
  LOCAL: 0xfffe,
  NONE: 0xffff,
} as const;
/**
 * Open vSwitch's own reserved port below IN_PORT ("no port chosen yet"); its printers name it
 * UNSET, as they name NONE "ANY" (OFPP_ANY of OpenFlow 1.1).
 */
export const OFPP_UNSET = 0xfff7;

/** enum ofp_port_config */
export const OFPPC = {
  PORT_DOWN: 1 << 0,
  NO_STP: 1 << 1,
  NO_RECV: 1 << 2,
  NO_RECV_STP: 1 << 3,
  NO_FLOOD: 1 << 4,
  NO_FWD: 1 << 5,
  NO_PACKET_IN: 1 << 6,
} as const;

/** enum ofp_port_state */
export const OFPPS = {
  LINK_DOWN: 1 << 0,
  STP_LISTEN: 0 << 8,
  STP_LEARN: 1 << 8,
  STP_FORWARD: 2 << 8,
  STP_BLOCK: 3 << 8,
  STP_MASK: 3 << 8,
} as const;

/** enum ofp_port_features */
export const OFPPF = {
  '10MB_HD': 1 << 0,
  '10MB_FD': 1 << 1,
  '100MB_HD': 1 << 2,
  '100MB_FD': 1 << 3,
  '1GB_HD': 1 << 4,
  '1GB_FD': 1 << 5,
  '10GB_FD': 1 << 6,
  COPPER: 1 << 7,
  FIBER: 1 << 8,
  AUTONEG: 1 << 9,
  PAUSE: 1 << 10,
  PAUSE_ASYM: 1 << 11,
} as const;

/** enum ofp_capabilities */
export const OFPC = {
  FLOW_STATS: 1 << 0,
  TABLE_STATS: 1 << 1,
  PORT_STATS: 1 << 2,
  STP: 1 << 3,
  RESERVED: 1 << 4,
  IP_REASM: 1 << 5,
  QUEUE_STATS: 1 << 6,
  ARP_MATCH_IP: 1 << 7,
} as const;

/** enum ofp_config_flags */
export const OFPC_FRAG = {
  NORMAL: 0,
  DROP: 1,
  REASM: 2,
  MASK: 3,
} as const;

/** enum ofp_action_type */
export const OFPAT = {
  OUTPUT: 0,
  SET_VLAN_VID: 1,
  SET_VLAN_PCP: 2,
  STRIP_VLAN: 3,
  SET_DL_SRC: 4,
  SET_DL_DST: 5,
  SET_NW_SRC: 6,
  SET_NW_DST: 7,
  SET_NW_TOS: 8,
  SET_TP_SRC: 9,
  SET_TP_DST: 10,
  ENQUEUE: 11,
  VENDOR: 0xffff,
} as const;

/** enum ofp_flow_wildcards */
export const OFPFW = {
  IN_PORT: 1 << 0,
  DL_VLAN: 1 << 1,
  DL_SRC: 1 << 2,
  DL_DST: 1 << 3,
  DL_TYPE: 1 << 4,
  NW_PROTO: 1 << 5,
  TP_SRC: 1 << 6,
  TP_DST: 1 << 7,
  NW_SRC_SHIFT: 8,
  NW_SRC_BITS: 6,
  NW_SRC_MASK: ((1 << 6) - 1) << 8,
  NW_SRC_ALL: 32 << 8,
  NW_DST_SHIFT: 14,
  NW_DST_BITS: 6,
  NW_DST_MASK: ((1 << 6) - 1) << 14,
  NW_DST_ALL: 32 << 14,
  DL_VLAN_PCP: 1 << 20,
  NW_TOS: 1 << 21,
  ALL: (1 << 22) - 1,
} as const;

/** dl_vlan value of a frame without an 802.1Q header. */
export const OFP_VLAN_NONE = 0xffff;
/** dl_type of 802.3 frames without a SNAP header. */
export const OFP_DL_TYPE_NOT_ETH_TYPE = 0x05ff;
/** dl_type values at or above this are Ethernet II types. */
export const OFP_DL_TYPE_ETH2_CUTOFF = 0x0600;

/** Table ids of flow statistics requests (1.0 names them only in comments; OFPTT as in 1.1). */
export const OFPTT = {
  /** The emergency flow table (ofp_flow_stats_request.table_id 0xfe in 1.0). */
  EMERG: 0xfe,
  ALL: 0xff,
} as const;

/** enum ofp_flow_mod_command */
export const OFPFC = {
  ADD: 0,
  MODIFY: 1,
  MODIFY_STRICT: 2,
  DELETE: 3,
  DELETE_STRICT: 4,
} as const;

/** enum ofp_flow_mod_flags */
export const OFPFF = {
  SEND_FLOW_REM: 1 << 0,
  CHECK_OVERLAP: 1 << 1,
  EMERG: 1 << 2,
} as const;

/** enum ofp_flow_removed_reason */
export const OFPRR = {
  IDLE_TIMEOUT: 0,
  HARD_TIMEOUT: 1,
  DELETE: 2,
} as const;

/** enum ofp_packet_in_reason */
export const OFPR = {
  NO_MATCH: 0,
  ACTION: 1,
} as const;

/** enum ofp_port_reason */
export const OFPPR = {
  ADD: 0,
  DELETE: 1,
  MODIFY: 2,
} as const;

/** enum ofp_stats_types */
export const OFPST = {
  DESC: 0,
  FLOW: 1,
  AGGREGATE: 2,
  TABLE: 3,
  PORT: 4,
  QUEUE: 5,
  /** Not in 1.0.0: the port-description request (OFPMP_PORT_DESC) that Open vSwitch answers for 1.0. */
  PORT_DESC: 13,
  VENDOR: 0xffff,
} as const;

/** enum ofp_stats_reply_flags */
export const OFPSF = {
  REPLY_MORE: 1 << 0,
} as const;

/** enum ofp_queue_properties */
export const OFPQT = {
  NONE: 0,
  MIN_RATE: 1,
} as const;

/** Every queue of a port (queue statistics requests). */
export const OFPQ_ALL = 0xffffffff;

/**
 * Open vSwitch's QoS type linux-htb (lib/netdev-linux.c): the qdisc 1: (default class 1:1, queue
 * 0), under it the root class 1:fffe at the port's max-rate, and queue N as class 1:(N+1). A frame
 * is put in queue N by its skb priority TC_H_MAKE(1:0, N+1) (dpif-netlink's queue_to_priority);
 * queue ids from N_QUEUES up have no class and no priority. Rates are given to tc in bytes/s,
 * quantum at least the MTU when rate/RATE2QUANTUM is less; a port without max-rate gets its link
 * speed, or DEFAULT_BPS.
 */
export const HTB = {
  MAJOR: 1,
  ROOT_MINOR: 0xfffe,
  DEFAULT_MINOR: 1,
  N_QUEUES: 0xf000,
  RATE2QUANTUM: 10,
  /** NETDEV_DEFAULT_BPS, bits/s. */
  DEFAULT_BPS: 10_000_000_000,
  /** ETH_TOTAL_MIN: the least a frame costs (tc's mpu). */
  MPU: 60,
} as const;

/** enum ofp_hello_elem_type (OpenFlow 1.3+): a later peer's HELLO may carry a version bitmap. */
export const OFPHET = {
  VERSIONBITMAP: 1,
} as const;

/** enum ofp_error_type */
export const OFPET = {
  HELLO_FAILED: 0,
  BAD_REQUEST: 1,
  BAD_ACTION: 2,
  FLOW_MOD_FAILED: 3,
  PORT_MOD_FAILED: 4,
  QUEUE_OP_FAILED: 5,
} as const;

/** enum ofp_hello_failed_code */
export const OFPHFC = {
  INCOMPATIBLE: 0,
  EPERM: 1,
} as const;

/** enum ofp_bad_request_code */
export const OFPBRC = {
  BAD_VERSION: 0,
  BAD_TYPE: 1,
  BAD_STAT: 2,
  BAD_VENDOR: 3,
  BAD_SUBTYPE: 4,
  EPERM: 5,
  BAD_LEN: 6,
  BUFFER_EMPTY: 7,
  BUFFER_UNKNOWN: 8,
} as const;

/** enum ofp_bad_action_code */
export const OFPBAC = {
  BAD_TYPE: 0,
  BAD_LEN: 1,
  BAD_VENDOR: 2,
  BAD_VENDOR_TYPE: 3,
  BAD_OUT_PORT: 4,
  BAD_ARGUMENT: 5,
  EPERM: 6,
  TOO_MANY: 7,
  BAD_QUEUE: 8,
} as const;

/** enum ofp_flow_mod_failed_code */
export const OFPFMFC = {
  ALL_TABLES_FULL: 0,
  OVERLAP: 1,
  EPERM: 2,
  BAD_EMERG_TIMEOUT: 3,
  BAD_COMMAND: 4,
  UNSUPPORTED: 5,
} as const;

/** enum ofp_port_mod_failed_code */
export const OFPPMFC = {
  BAD_PORT: 0,
  BAD_HW_ADDR: 1,
} as const;

/** enum ofp_queue_op_failed_code */
export const OFPQOFC = {
  BAD_PORT: 0,
  BAD_QUEUE: 1,
  EPERM: 2,
} as const;

/** The codes of each error type, for naming an error in logs and tests. */
export const OFP_ERROR_CODES = {
  [OFPET.HELLO_FAILED]: OFPHFC,
  [OFPET.BAD_REQUEST]: OFPBRC,
  [OFPET.BAD_ACTION]: OFPBAC,
  [OFPET.FLOW_MOD_FAILED]: OFPFMFC,
  [OFPET.PORT_MOD_FAILED]: OFPPMFC,
  [OFPET.QUEUE_OP_FAILED]: OFPQOFC,
} as const;

/** Sizes of the fixed structures, in bytes, from the spec (its OFP_ASSERTs). */
export const OFP_SIZE = {
  header: 8,
  hello: 8,
  error_msg: 12,
  switch_features: 32,
  phy_port: 48,
  switch_config: 12,
  match: 40,
  action_header: 8,
  action_output: 8,
  action_vlan_vid: 8,
  action_vlan_pcp: 8,
  action_dl_addr: 16,
  action_nw_addr: 8,
  action_nw_tos: 8,
  action_tp_port: 8,
  action_enqueue: 16,
  action_vendor_header: 8,
  packet_in: 18, // 20 with its 2 pad bytes; data starts at offset 18
  flow_removed: 88,
  port_status: 64,
  packet_out: 16,
  flow_mod: 72,
  port_mod: 32,
  stats_request: 12,
  stats_reply: 12,
  desc_stats: 1056,
  flow_stats_request: 44,
  flow_stats: 88,
  aggregate_stats_request: 44,
  aggregate_stats_reply: 24,
  table_stats: 64,
  port_stats_request: 8,
  port_stats: 104,
  queue_stats_request: 8,
  queue_stats: 32,
  vendor_header: 12,
  queue_get_config_request: 12,
  queue_get_config_reply: 16,
  packet_queue: 8,
  queue_prop_header: 8,
  queue_prop_min_rate: 16,
} as const;

/**
 * Wire length of each action type (its ofp_action_* struct, from OFP_SIZE); VENDOR is variable:
 * this is its header, the least it can be.
 */
export const OFP_ACTION_LEN = {
  [OFPAT.OUTPUT]: OFP_SIZE.action_output,
  [OFPAT.SET_VLAN_VID]: OFP_SIZE.action_vlan_vid,
  [OFPAT.SET_VLAN_PCP]: OFP_SIZE.action_vlan_pcp,
  [OFPAT.STRIP_VLAN]: OFP_SIZE.action_header,
  [OFPAT.SET_DL_SRC]: OFP_SIZE.action_dl_addr,
  [OFPAT.SET_DL_DST]: OFP_SIZE.action_dl_addr,
  [OFPAT.SET_NW_SRC]: OFP_SIZE.action_nw_addr,
  [OFPAT.SET_NW_DST]: OFP_SIZE.action_nw_addr,
  [OFPAT.SET_NW_TOS]: OFP_SIZE.action_nw_tos,
  [OFPAT.SET_TP_SRC]: OFP_SIZE.action_tp_port,
  [OFPAT.SET_TP_DST]: OFP_SIZE.action_tp_port,
  [OFPAT.ENQUEUE]: OFP_SIZE.action_enqueue,
  [OFPAT.VENDOR]: OFP_SIZE.action_vendor_header,
} as const;

/** Number to name, derived from a constants table: `nameOf(OFPT, 14)` is 'FLOW_MOD'. */
export function nameOf(table: Readonly<Record<string, number>>, value: number): string {
  for (const [name, v] of Object.entries(table)) if (v === value) return name;
  return `0x${value.toString(16)}`;
}

/**
 * An error type and code by their names without prefixes, for logs: `errorName(1, 6)` is
 * 'BAD_REQUEST/BAD_LEN' (OFPET_BAD_REQUEST, OFPBRC_BAD_LEN); a number stands for what has no name.
 */
export function errorName(type: number, code: number): string {
  if (type === NXET_VENDOR && code === NXVC_VENDOR_ERROR) return 'NXET_VENDOR/NXVC_VENDOR_ERROR';
  const codes = (OFP_ERROR_CODES as Record<number, Record<string, number>>)[type];
  return `${nameOf(OFPET, type)}/${codes ? nameOf(codes, code) : code}`;
}

// ---- Open vSwitch's Nicira error extension (nicira-ext.h): errors OpenFlow 1.0 has no code for --

/** Nicira's vendor id (NX_VENDOR_ID), the vendor of Open vSwitch's extensions. */
export const NX_VENDOR_ID = 0x00002320;
/**
 * ofp_error_msg type and code of an extension error: its data begins with a struct
 * nx_vendor_error (vendor id, then the extension's own error type and code, 16 bits each), then
 * the offending request.
 */
export const NXET_VENDOR = 0xb0c2;
export const NXVC_VENDOR_ERROR = 0;
export const NX_VENDOR_ERROR_LEN = 8;
/**
 * NXBRC_UNENCODABLE_ERROR, type OFPET_BAD_REQUEST, code 521 under NX_VENDOR_ID: what Open vSwitch
 * answers when a request failed for a reason OpenFlow cannot express (ofperr_encode_msg__ given an
 * errno, or an error without an OpenFlow 1.0 code such as OFPFMFC_UNKNOWN), i.e. an internal failure.
 */
export const NXBRC_UNENCODABLE_ERROR = 521;

// ---- packet headers the datapath parses and rewrites (IEEE 802.3/802.1Q, IANA; not OpenFlow's) --

export const ETH_HEADER_LEN = 14;
export const VLAN_HEADER_LEN = 4;
/** Ethernet types, as Open vSwitch names them (ETH_TYPE_IP, ...). */
export const ETH_TYPE = {
  IP: 0x0800,
  ARP: 0x0806,
  VLAN: 0x8100,
  /** 802.1ad service tag (ETH_TYPE_VLAN_8021AD): Open vSwitch parses it as a VLAN tag too. */
  VLAN_8021AD: 0x88a8,
  /** Reverse ARP: Open vSwitch matches it as ARP (opcode, addresses). */
  RARP: 0x8035,
  IPV6: 0x86dd,
  /** MPLS unicast and multicast, and NSH: Open vSwitch's printers treat these types specially. */
  MPLS: 0x8847,
  MPLS_MCAST: 0x8848,
  NSH: 0x894f,
} as const;
/** 802.1Q tag control information: VLAN id, priority and the CFI (now DEI) bit, as OVS names them. */
export const VLAN_VID_MASK = 0x0fff;
export const VLAN_PCP_MASK = 0xe000;
export const VLAN_CFI = 0x1000;
/** IP protocol numbers (IPPROTO_* of netinet/in.h), IPv6 extension headers included. */
export const IPPROTO = {
  HOPOPTS: 0,
  ICMP: 1,
  TCP: 6,
  UDP: 17,
  ROUTING: 43,
  FRAGMENT: 44,
  AH: 51,
  ICMPV6: 58,
  DSTOPTS: 60,
  /** Open vSwitch matches SCTP ports as tp_src/tp_dst. */
  SCTP: 132,
} as const;

// ---- Open vSwitch behaviour the datapath copies (not OpenFlow's) ---------------------------------

/** Most mirrors a bridge has (ofproto.h MAX_MIRRORS: one bit each in a mirror_mask_t). */
export const MAX_MIRRORS = 32;
/**
 * Destination MACs of protocols between switches (packets.c eth_addr_is_reserved), as 48-bit
 * numbers: IEEE 802.1D/802.3 (STP, pause frames, LACP, ...), Extreme's EDP and EAPS, Cisco's ISL,
 * CDP/VTP/DTP, PVST+, Uplink Fast and CFM. Never mirrored to a VLAN.
 */
export const ETH_ADDR_RESERVED: readonly number[] = [
  ...Array.from({ length: 16 }, (_, i) => 0x0180c2000000 + i),
  0x00e02b000000, 0x00e02b000004, 0x00e02b000006,
  0x01000c000000, 0x01000ccccccc, 0x01000ccccccd, 0x01000ccdcdcd,
  ...Array.from({ length: 8 }, (_, i) => 0x01000cccccc0 + i),
];

/** enum port_vlan_mode (ofproto.h): how NORMAL maps a port's 802.1Q tags to VLANs; Port.vlan_mode. */
export const PORT_VLAN = {
  ACCESS: 0,
  TRUNK: 1,
  NATIVE_TAGGED: 2,
  NATIVE_UNTAGGED: 3,
} as const;
/**
 * Bounds on one received frame's trip through bridges joined by patch ports (ofproto-dpif-xlate.c):
 * at most MAX_DEPTH nested crossings, at most MAX_RESUBMITS crossings in all; beyond, it is dropped.
 */
export const MAX_DEPTH = 64;
/** The MAC-learning table (mac-learning.h): default size and idle time, and the bounds OVS clamps them to. */
export const MAC_DEFAULT_MAX = 8192;
export const MAC_MIN_MAX = 10;
export const MAC_MAX_MAX = 1000 * 1000;
/** Seconds. */
export const MAC_ENTRY_DEFAULT_IDLE_TIME = 300;
export const MAC_MIN_IDLE_TIME = 15;
export const MAC_MAX_IDLE_TIME = 3600;
/** Seconds a MAC entry learned from a gratuitous ARP on a non-bond port refuses gratuitous ARPs from a bond (lib/mac-learning.h). */
export const GRAT_ARP_LOCK_TIME = 5;
/** ARP opcodes (lib/packets.h). */
export const ARP_OP_REQUEST = 1;
export const ARP_OP_REPLY = 2;
export const MAX_RESUBMITS = MAX_DEPTH * MAX_DEPTH;

// ---- Open vSwitch's bounds on one OpenFlow connection (ofproto/connmgr.c, pinsched.c) ----------

/**
 * Replies (and errors, echo replies, PORT_STATUS) queued unwritten on one connection before the
 * switch stops reading that connection's requests (connmgr.c OFCONN_REPLY_MAX): a peer that does
 * not read its replies cannot make the switch produce more of them.
 */
export const OFCONN_REPLY_MAX = 100;
/**
 * The same bound in bytes (ofswitch's own; OVS counts replies only): 100 replies of up to 64 KiB
 * would be 6.4 MB, so reading also stops once 1 MiB of replies waits.
 */
export const OFCONN_REPLY_BYTES_MAX = 1024 * 1024;
/**
 * Asynchronous messages (PACKET_IN, FLOW_REMOVED) queued unwritten on one connection before more
 * are dropped: the Controller table's controller_queue_size, default 100 (connmgr.c
 * packet_in_queue_size, rconn_send_with_limit).
 */
export const CONTROLLER_QUEUE_SIZE = 100;
/**
 * The same bound in bytes (ofswitch's own; OVS counts messages only): 100 full 1500-byte frames
 * fit, a flood of 64 KiB frames cannot queue 6.4 MB per connection.
 */
export const OFCONN_ASYNC_BYTES_MAX = 256 * 1024;
/**
 * A connection without an echo probe (probe interval 0) whose output makes no progress for
 * this long is closed. A probed connection is closed after its probe interval instead; OVS drops a
 * peer that neither reads nor answers after two probe intervals (5 s default each, rconn.c
 * run_ACTIVE/run_IDLE), which is this bound.
 */
export const OFCONN_STALL_LIMIT_NO_PROBE_MS = 10_000;
/**
 * A connection whose OpenFlow HELLO has not arrived this long after it opened is closed. Open
 * vSwitch allows an accepted connection 1 s in rconn's CONNECTING state, which includes the HELLO
 * exchange (rconn.c timeout_CONNECTING, MAX(1000, backoff) with no backoff yet); ofswitch allows
 * 2 s, so that a peer on a loaded machine (a Python controller starting, two cores shared by
 * several processes) is not cut off, still well before the first echo probe is due.
 */
export const OFCONN_HELLO_TIMEOUT_MS = 2000;
/**
 * Echo interval of the bridge's management socket, `punix:RUNDIR/BRIDGE.mgmt` (ms): Open vSwitch
 * gives it 60 s (bridge.c bridge_configure_remotes); other listeners use the Controller row's
 * inactivity_probe, 5 s by default, as controllers do.
 */
export const MGMT_PROBE_INTERVAL_MS = 60_000;
/**
 * Connections a bridge accepts on its listeners at once (ptcp:, pssl:, punix:, its mgmt socket);
 * past it a new one is closed at once with a log line. Open vSwitch has no such bound (only the
 * process's file descriptors); ofswitch's own, set with `--max-connections N` or the Bridge's
 * other_config:max-connections. Controller connections (the bridge's own targets) never count.
 */
export const DEFAULT_MAX_CONNECTIONS = 1000;
/**
 * Packet-in scheduler (pinsched.c) default. OVS sends packet-ins without limit unless the
 * Controller's controller_rate_limit is set, and takes a burst of a quarter of the rate when
 * controller_burst_limit is not (at most 250 ms of queueing). ofswitch
 * always schedules (see lib/packet-in-scheduler.ts): by default CONTROLLER_RATE_LIMIT_DEFAULT
 * packet-ins/s per controller and per kind (table miss, action), with the burst a quarter of it.
 */
export const CONTROLLER_RATE_LIMIT_DEFAULT = 10_000;
/** At most this many packet-ins leave a scheduler per run (pinsched_run's 50), so others get the thread. */
export const PINSCHED_RUN_MAX = 50;

// ---- Bonds and LACP (802.1AX), as Open vSwitch 3.1's lib/lacp.c and ofproto/bond.c ----------------
/** Ethernet type of the slow protocols (LACP, marker): ETH_TYPE_LACP. */
export const ETH_TYPE_LACP = 0x8809;
/** The slow protocols multicast address LACP PDUs are sent to (eth_addr_lacp). */
export const ETH_ADDR_LACP = '01:80:c2:00:00:02';
/** LACP PDU subtypes (enum pdu_subtype). */
export const LACP_SUBTYPE = { LACP: 1, MARKER: 2 } as const;
/** Length of a LACP PDU after the Ethernet header (LACP_PDU_LEN). */
export const LACP_PDU_LEN = 110;
/** lacp_info state bits (LACP_STATE_*). */
export const LACP_STATE = {
  ACT: 0x01,
  TIME: 0x02,
  AGG: 0x04,
  SYNC: 0x08,
  COL: 0x10,
  DIST: 0x20,
  DEF: 0x40,
  EXP: 0x80,
} as const;
/** PDU transmission intervals (ms) and the receive timeout's multiple of them. */
export const LACP_FAST_TIME_TX = 1000;
export const LACP_SLOW_TIME_TX = 30_000;
export const LACP_RX_MULTIPLIER = 3;
/** Hash buckets of a balance-slb / balance-tcp bond (BOND_BUCKETS; BOND_MASK is one less). */
export const BOND_BUCKETS = 256;
/** Port other_config:bond-rebalance-interval default and floor (ms; 0 turns rebalancing off). */
export const BOND_REBALANCE_INTERVAL_DEFAULT = 10_000;
export const BOND_REBALANCE_INTERVAL_MIN = 1000;
/** How often ofswitch runs its bonds and LACP (ms): OVS runs them whenever its main loop wakes. */
export const BOND_RUN_INTERVAL_MS = 50;
/**
 * Policing (datapath/policer.ts), as Open vSwitch reads the columns (vswitch.xml; lib/netdev-linux.c
 * netdev_linux_set_policing and tc_policer_init): Interface `ingress_policing_burst` 0 (the
 * default) means this many kbit, and the bucket holds burst * 1024 / 8 bytes while the rate is
 * rate * 1000 / 8 bytes per second (OVS's own comment there calls the 1024 "wrong in one way" and
 * keeps it, so that tc shows the kbit the operator set).
 */
export const INGRESS_POLICING_DEFAULT_BURST_KBITS = 8000;
/** The largest ingress_policing_rate and _burst OVS takes (kbit/s and kbit: it keeps them as uint32_t). */
export const INGRESS_POLICING_MAX = 0xffff_ffff;
/**
 * Spanning tree (IEEE 802.1D-1998 clause 9, 802.1D-2004 clause 9 for RSTP), as Open vSwitch's
 * lib/stp.h and lib/rstp-common.h name them. BPDUs go to the bridge group address in 802.3 frames
 * with an LLC header of DSAP/SSAP 0x42, control 0x03; times travel in 1/256 s.
 */
export const STP_GROUP_MAC = '01:80:c2:00:00:00';
export const STP_LLC_SAP = 0x42;
export const STP_LLC_CNTL = 0x03;
export const STP_PROTOCOL_ID = 0x0000;
export const STP_VERSION = { STP: 0, RSTP: 2 } as const;
export const STP_TYPE = { CONFIG: 0x00, RSTP: 0x02, TCN: 0x80 } as const;
/** BPDU flags: TC and TCA for both, the rest RSTP's (the port role in bits 2-3). */
export const STP_FLAG = {
  TOPOLOGY_CHANGE: 0x01,
  PROPOSAL: 0x02,
  ROLE_MASK: 0x0c,
  ROLE_SHIFT: 2,
  LEARNING: 0x10,
  FORWARDING: 0x20,
  AGREEMENT: 0x40,
  TOPOLOGY_CHANGE_ACK: 0x80,
} as const;
/** The role a RST BPDU's flags carry (bits 2-3). */
export const RSTP_FLAG_ROLE = { UNKNOWN: 0, ALTERNATE_BACKUP: 1, ROOT: 2, DESIGNATED: 3 } as const;
/** Defaults (OVS's STP_DEFAULT_* and RSTP_DEFAULT_*): priorities and times in seconds. */
export const STP_DEFAULTS = { BRIDGE_PRIORITY: 32768, PORT_PRIORITY: 128, HELLO_TIME: 2, MAX_AGE: 20, FORWARD_DELAY: 15 } as const;
export const RSTP_DEFAULTS = { BRIDGE_PRIORITY: 32768, PORT_PRIORITY: 128, HELLO_TIME: 2, MAX_AGE: 20, FORWARD_DELAY: 15, TRANSMIT_HOLD_COUNT: 6, AGEING_TIME: 300 } as const;
