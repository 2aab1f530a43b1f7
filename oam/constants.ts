/**
 * Wire constants of the two link-monitoring protocols, named as Open vSwitch 3.1's lib/cfm.c and
 * lib/bfd.c name them (IEEE 802.1ag CCMs as OVS sends them; RFC 5880/5881 BFD control packets over
 * Ethernet/IPv4/UDP). Kept here, beside the protocols, rather than in protocol/constants.ts, which
 * is OpenFlow 1.0's.
 */

/** 802.1ag CFM's EtherType. */
export const ETH_TYPE_CFM = 0x8902;
export const ETH_TYPE_IP = 0x0800;
export const ETH_TYPE_VLAN = 0x8100;
export const IPPROTO_UDP = 17;

/** CCM destination: the 802.1ag group address (level 0), and OVS's own in extended mode. */
export const ETH_ADDR_CCM = '01:80:c2:00:00:30';
export const ETH_ADDR_CCM_X = '01:23:20:00:00:30';

/** A CCM's length from the MD level byte to the end TLV (OVS sends 75; accepts 74 from old OVSes). */
export const CCM_LEN = 75;
export const CCM_ACCEPT_LEN = 74;
export const CCM_MAID_LEN = 48;
export const CCM_OPCODE = 1;
export const CCM_RDI_MASK = 0x80;
/** The first TLV's offset in a CCM (802.1ag: 70). */
export const CCM_TLV_OFFSET = 70;
/** Fault intervals between two cfm_health computations. */
export const CFM_HEALTH_INTERVAL = 6;
/** Remote MPs a CFM object keeps track of; more is an `overflow` fault. */
export const CFM_MAX_RMPS = 256;
/** The highest MPID 802.1ag allows (extended mode allows any 64-bit one but 0). */
export const CFM_MAX_MPID = 8191;
/** OVS's default other_config:cfm_interval (ms). */
export const CFM_DEFAULT_INTERVAL_MS = 1000;

/** CFM fault reasons: bit values and the names cfm_fault_status and cfm/show use, in OVS's order. */
export const CFM_FAULT = {
  RECV: 1 << 0,
  RDI: 1 << 1,
  MAID: 1 << 2,
  LOOPBACK: 1 << 3,
  OVERFLOW: 1 << 4,
  OVERRIDE: 1 << 5,
} as const;
export const CFM_FAULT_NAMES: readonly (readonly [bit: number, name: string])[] = [
  [CFM_FAULT.RECV, 'recv'],
  [CFM_FAULT.RDI, 'rdi'],
  [CFM_FAULT.MAID, 'maid'],
  [CFM_FAULT.LOOPBACK, 'loopback'],
  [CFM_FAULT.OVERFLOW, 'overflow'],
  [CFM_FAULT.OVERRIDE, 'override'],
];

/** BFD: UDP destination port (RFC 5881), control packet length, version. */
export const BFD_DEST_PORT = 3784;
export const BFD_PACKET_LEN = 24;
export const BFD_VERSION = 1;
/** OVS's defaults: destination MAC, source and destination IPv4 addresses. */
export const ETH_ADDR_BFD = '00:23:20:00:00:01';
export const BFD_DEFAULT_SRC_IP = '169.254.1.1';
export const BFD_DEFAULT_DST_IP = '169.254.1.0';
export const BFD_DEFAULT_MULT = 3;
export const BFD_DEFAULT_MIN_TX_MS = 100;
export const BFD_DEFAULT_MIN_RX_MS = 1000;
/** IP TOS of BFD packets: IPTOS_PREC_INTERNETCONTROL. */
export const IPTOS_PREC_INTERNETCONTROL = 0xc0;

/** BFD flags (the low six bits of the second byte). */
export const BFD_FLAG = {
  MULTIPOINT: 1 << 0,
  DEMAND: 1 << 1,
  AUTH: 1 << 2,
  CTL: 1 << 3,
  FINAL: 1 << 4,
  POLL: 1 << 5,
} as const;
export const BFD_FLAGS_MASK = 0x3f;
export const BFD_STATE_MASK = 0xc0;
export const BFD_DIAG_MASK = 0x1f;

/** BFD session states, as the top two bits of the flags byte hold them. */
export const BFD_STATE = { ADMIN_DOWN: 0 << 6, DOWN: 1 << 6, INIT: 2 << 6, UP: 3 << 6 } as const;

/** BFD diagnostic codes (RFC 5880 4.1). */
export const BFD_DIAG = {
  NONE: 0,
  EXPIRED: 1,
  ECHO_FAILED: 2,
  RMT_DOWN: 3,
  FWD_RESET: 4,
  PATH_DOWN: 5,
  CPATH_DOWN: 6,
  ADMIN_DOWN: 7,
  RCPATH_DOWN: 8,
} as const;
