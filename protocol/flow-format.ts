/**
 * Flows as text, exactly as Open vSwitch 3.1 prints OpenFlow 1.0 flows: the `ovs-ofctl dump-flows`
 * line (ofputil_flow_stats_format), the `ovs-appctl bridge/dump-flows` line (ofproto.c's
 * flow_stats_ds), and their parts, the match (match.c's match_format) and the action list
 * (ofp-actions.c's ofpacts_format). No I/O.
 *
 * OVS never prints an ofp_match directly: it first converts it to its own `struct match`
 * (ofputil_match_from_ofp10_match) and prints that. The conversion decides what is printed, so it
 * is reproduced here step by step:
 * - a field is printed only when its wildcard bit is clear; the values of wildcarded fields are
 *   zero for every later decision (match_zero_wildcarded_fields), so a wildcarded nw_proto is not
 *   ICMP and a wildcarded dl_type is not IP;
 * - nw_src/nw_dst keep their prefix (wildcard counts of 32..63 wildcard the address), printed as
 *   `a.b.c.d/len`, `/32` left out; the address is cut to the prefix;
 * - nw_tos keeps its six DSCP bits (`nw_tos=` is the ToS byte with the two ECN bits cleared);
 * - dl_vlan 0xffff (OFP_VLAN_NONE) becomes "TCI 0, all bits exact", printed `vlan_tci=0x0000`
 *   whether or not dl_vlan_pcp is wildcarded; other VIDs are cut to 12 bits and PCPs to 3, printed
 *   `dl_vlan=` and `dl_vlan_pcp=`;
 * - dl_type and nw_proto fold into a shorthand when both say so: `ip`, `icmp`, `tcp`, `udp`,
 *   `sctp` for IPv4, `ipv6`, `icmp6`, `tcp6`, `udp6`, `sctp6` for IPv6, `arp`, `rarp`, `mpls`,
 *   `mplsm` (by dl_type alone); any other dl_type is `dl_type=0x%04x`, any other protocol
 *   `nw_proto=`, or `arp_op=` under arp/rarp;
 * - under arp/rarp the addresses are `arp_spa`/`arp_tpa`; under IPv6 and NSH an OpenFlow 1.0 match
 *   has no address OVS can show, so nw_src/nw_dst are not printed at all;
 * - tp_src/tp_dst are `icmp_type`/`icmp_code` under icmp and icmp6.
 * Field order: priority (when not 32768), shorthand, in_port, VLAN, dl_src, dl_dst, dl_type,
 * addresses, nw_proto/arp_op, nw_tos, transport ports. Ports are numbers, reserved ones by OVS's
 * names (IN_PORT, TABLE, NORMAL, FLOOD, ALL, CONTROLLER, LOCAL, ANY for NONE, UNSET for 0xfff7):
 * no port-name map is used, as `ovs-ofctl` does when its output is not a terminal.
 *
 * These functions print the match they are given, as ofp-print prints a flow stats reply: for the
 * same text as a real switch's dump, give them the match the flow table stores (flowtable's
 * normalizeMatch, which drops fields whose prerequisites are missing, as OVS does on FLOW_MOD).
 *
 * Deliberate differences from Open vSwitch:
 * - OpenFlow 1.0 flow statistics carry no ages, so the dump-flows line has `idle_age=`/`hard_age=`
 *   only when the caller supplies them (OVS prints them only for its Nicira NXST_FLOW replies;
 *   `ovs-ofctl dump-flows` against ofswitch, which refuses Nicira extensions, shows none).
 * - OVS refuses to decode actions it cannot execute (vendor actions, OUTPUT to NONE or to
 *   0xff00..0xfff7), so it never prints them; ofswitch refuses them too (protocol/validate.ts), but
 *   should one be printed, OUTPUT follows format_OUTPUT's rule (a port at or above 0xff00 is
 *   printed by its name or number, without `output:`) and a vendor action is printed
 *   `vendor:0xVENDOR` followed by `:HEX` of its body when it has one.
 * - bridge/dump-flows in OVS also lists its hidden internal flows (table_id=254); ofswitch has none,
 *   and formatBridgeFlow prints only what it is given.
 */
import {
  ETH_TYPE,
  IPPROTO,
  OFP_DEFAULT_PRIORITY,
  OFP_FLOW_PERMANENT,
  OFP_VLAN_NONE,
  OFPAT,
  OFPFW,
  OFPP,
  OFPP_UNSET,
} from './constants.js';
import type { Action, FlowStats, Match } from './types.js';

/** OVS's names for reserved ports (ofp-port.h OFPUTIL_NAMED_PORTS, OpenFlow 1.0 numbering). */
const PORT_NAMES: ReadonlyMap<number, string> = new Map([
  [OFPP.IN_PORT, 'IN_PORT'],
  [OFPP.TABLE, 'TABLE'],
  [OFPP.NORMAL, 'NORMAL'],
  [OFPP.FLOOD, 'FLOOD'],
  [OFPP.ALL, 'ALL'],
  [OFPP.CONTROLLER, 'CONTROLLER'],
  [OFPP.LOCAL, 'LOCAL'],
  [OFPP.NONE, 'ANY'],
  [OFPP_UNSET, 'UNSET'],
]);

/** The reserved ports ovs-ofctl's syntax names (ofputil_port_from_string; OpenFlow 1.0 numbering), upper case. */
export const RESERVED_PORT_NUMBERS: Readonly<Record<string, number>> = {
  IN_PORT: OFPP.IN_PORT,
  TABLE: OFPP.TABLE,
  NORMAL: OFPP.NORMAL,
  FLOOD: OFPP.FLOOD,
  ALL: OFPP.ALL,
  CONTROLLER: OFPP.CONTROLLER,
  LOCAL: OFPP.LOCAL,
  NONE: OFPP.NONE,
  ANY: OFPP.NONE,
};

/** VLAN TCI bits (IEEE 802.1Q), as OVS's flow keeps them. */
const VLAN_VID_MASK = 0x0fff;
const VLAN_CFI = 0x1000;
const VLAN_PCP_SHIFT = 13;
const VLAN_PCP_MASK = 0xe000;
/** The six DSCP bits of the ToS byte: all OpenFlow 1.0 nw_tos matches and sets. */
const IP_DSCP_MASK = 0xfc;
const UINT64_MAX = 0xffff_ffff_ffff_ffffn;

/** A port as ofputil_format_port prints it without a port map: its reserved name or its number. */
export function formatPort(port: number): string {
  return PORT_NAMES.get(port) ?? String(port);
}

/** An IPv4 address (host-order number) as dotted quad. */
export function formatIpv4(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 0xff}.${(addr >>> 8) & 0xff}.${addr & 0xff}`;
}

/** ofputil_wcbits_to_netmask: the netmask of a nw_src/nw_dst wildcard count (six bits). */
function netmaskOf(wildcardBits: number): number {
  const bits = wildcardBits & 0x3f;
  return bits >= 32 ? 0 : (0xffffffff << bits) >>> 0;
}

/** ip_format_masked for a CIDR mask: `a.b.c.d` when exact, else `a.b.c.d/len`. */
function formatPrefix(addr: number, mask: number): string {
  const text = formatIpv4((addr & mask) >>> 0);
  return mask === 0xffffffff ? text : `${text}/${Math.clz32(~mask >>> 0)}`;
}

/** The shorthand match_format prints for an exact dl_type (and nw_proto), and what it covers. */
function shorthand(dlType: number, protoExact: boolean, nwProto: number): { name: string; coversProto: boolean } | null {
  const byProto = (names: Readonly<Record<number, string>>, plain: string): { name: string; coversProto: boolean } => {
    const name = protoExact ? names[nwProto] : undefined;
    return name ? { name, coversProto: true } : { name: plain, coversProto: false };
  };
  switch (dlType) {
    case ETH_TYPE.IP:
      return byProto({ [IPPROTO.ICMP]: 'icmp', [IPPROTO.TCP]: 'tcp', [IPPROTO.UDP]: 'udp', [IPPROTO.SCTP]: 'sctp' }, 'ip');
    case ETH_TYPE.IPV6:
      return byProto({ [IPPROTO.ICMPV6]: 'icmp6', [IPPROTO.TCP]: 'tcp6', [IPPROTO.UDP]: 'udp6', [IPPROTO.SCTP]: 'sctp6' }, 'ipv6');
    case ETH_TYPE.ARP:
      return { name: 'arp', coversProto: false };
    case ETH_TYPE.RARP:
      return { name: 'rarp', coversProto: false };
    case ETH_TYPE.MPLS:
      return { name: 'mpls', coversProto: false };
    case ETH_TYPE.MPLS_MCAST:
      return { name: 'mplsm', coversProto: false };
    default:
      return null;
  }
}

/**
 * The match as OVS's match_format prints an OpenFlow 1.0 match: comma-separated, `priority=N`
 * first unless `priority` is the default 32768 (also when it is not given). An all-wildcard match
 * at the default priority is the empty string.
 */
export function formatMatch(match: Match, priority: number = OFP_DEFAULT_PRIORITY): string {
  const w = match.wildcards & OFPFW.ALL;
  const exact = (bit: number): boolean => (w & bit) === 0;
  const parts: string[] = [];
  if (priority !== OFP_DEFAULT_PRIORITY) parts.push(`priority=${priority}`);

  // values as OVS's flow holds them after the conversion: wildcarded fields are zero
  const typeExact = exact(OFPFW.DL_TYPE);
  const dlType = typeExact ? match.dlType & 0xffff : 0;
  const protoExact = exact(OFPFW.NW_PROTO);
  const nwProto = protoExact ? match.nwProto & 0xff : 0;

  const short = typeExact ? shorthand(dlType, protoExact, nwProto) : null;
  if (short) parts.push(short.name);

  if (exact(OFPFW.IN_PORT)) parts.push(`in_port=${formatPort(match.inPort & 0xffff)}`);

  const vlanExact = exact(OFPFW.DL_VLAN);
  const pcpExact = exact(OFPFW.DL_VLAN_PCP);
  if (vlanExact && (match.dlVlan & 0xffff) === OFP_VLAN_NONE) {
    parts.push('vlan_tci=0x0000');
  } else {
    if (vlanExact) parts.push(`dl_vlan=${match.dlVlan & VLAN_VID_MASK}`);
    if (pcpExact) parts.push(`dl_vlan_pcp=${((match.dlVlanPcp << VLAN_PCP_SHIFT) & VLAN_PCP_MASK) >>> VLAN_PCP_SHIFT}`);
  }

  if (exact(OFPFW.DL_SRC)) parts.push(`dl_src=${match.dlSrc.toLowerCase()}`);
  if (exact(OFPFW.DL_DST)) parts.push(`dl_dst=${match.dlDst.toLowerCase()}`);
  if (typeExact && !short) parts.push(`dl_type=0x${dlType.toString(16).padStart(4, '0')}`);

  const isArp = dlType === ETH_TYPE.ARP || dlType === ETH_TYPE.RARP;
  if (dlType !== ETH_TYPE.IPV6 && dlType !== ETH_TYPE.NSH) {
    const srcMask = netmaskOf(w >>> OFPFW.NW_SRC_SHIFT);
    const dstMask = netmaskOf(w >>> OFPFW.NW_DST_SHIFT);
    if (srcMask) parts.push(`${isArp ? 'arp_spa' : 'nw_src'}=${formatPrefix(match.nwSrc, srcMask)}`);
    if (dstMask) parts.push(`${isArp ? 'arp_tpa' : 'nw_dst'}=${formatPrefix(match.nwDst, dstMask)}`);
  }
  if (protoExact && !short?.coversProto) parts.push(`${isArp ? 'arp_op' : 'nw_proto'}=${nwProto}`);
  if (exact(OFPFW.NW_TOS)) parts.push(`nw_tos=${match.nwTos & IP_DSCP_MASK}`);

  const icmp = (dlType === ETH_TYPE.IP && nwProto === IPPROTO.ICMP) || (dlType === ETH_TYPE.IPV6 && nwProto === IPPROTO.ICMPV6);
  if (exact(OFPFW.TP_SRC)) parts.push(`${icmp ? 'icmp_type' : 'tp_src'}=${match.tpSrc & 0xffff}`);
  if (exact(OFPFW.TP_DST)) parts.push(`${icmp ? 'icmp_code' : 'tp_dst'}=${match.tpDst & 0xffff}`);
  return parts.join(',');
}

function hexBytes(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** One action as ofpact_format prints the ofpact OVS decodes it to. */
export function formatAction(a: Action): string {
  switch (a.type) {
    case OFPAT.OUTPUT:
      if (a.port === OFPP.CONTROLLER) return `CONTROLLER:${a.maxLen}`;
      return a.port < OFPP.MAX ? `output:${a.port}` : formatPort(a.port);
    case OFPAT.SET_VLAN_VID:
      return `mod_vlan_vid:${a.vlanVid}`;
    case OFPAT.SET_VLAN_PCP:
      return `mod_vlan_pcp:${a.vlanPcp}`;
    case OFPAT.STRIP_VLAN:
      return 'strip_vlan';
    case OFPAT.SET_DL_SRC:
      return `mod_dl_src:${a.dlAddr.toLowerCase()}`;
    case OFPAT.SET_DL_DST:
      return `mod_dl_dst:${a.dlAddr.toLowerCase()}`;
    case OFPAT.SET_NW_SRC:
      return `mod_nw_src:${formatIpv4(a.nwAddr)}`;
    case OFPAT.SET_NW_DST:
      return `mod_nw_dst:${formatIpv4(a.nwAddr)}`;
    case OFPAT.SET_NW_TOS:
      return `mod_nw_tos:${a.nwTos}`;
    case OFPAT.SET_TP_SRC:
      return `mod_tp_src:${a.tpPort}`;
    case OFPAT.SET_TP_DST:
      return `mod_tp_dst:${a.tpPort}`;
    case OFPAT.ENQUEUE:
      return `enqueue:${formatPort(a.port)}:${a.queueId >>> 0}`;
    case OFPAT.VENDOR:
      return `vendor:0x${(a.vendor >>> 0).toString(16)}${a.body.length ? `:${hexBytes(a.body)}` : ''}`;
  }
}

/** The action list as ofpacts_format prints it: comma-separated, `drop` when empty. */
export function formatActions(actions: readonly Action[]): string {
  return actions.length === 0 ? 'drop' : actions.map(formatAction).join(',');
}

/**
 * A duration as ofp_print_duration prints it: whole seconds bare, whole milliseconds with three
 * decimals, anything finer with as many decimals as it needs (at most nine).
 */
export function formatDuration(sec: number, nsec: number): string {
  if (nsec <= 0) return `${sec >>> 0}s`;
  const ns = nsec >>> 0;
  if (ns % 1_000_000 === 0) return `${sec >>> 0}.${String(ns / 1_000_000).padStart(3, '0')}s`;
  return `${sec >>> 0}.${String(ns).padStart(9, '0').replace(/0+$/, '')}s`;
}

/** Ages OVS knows for a flow (Nicira flow stats only): seconds since last use / last modification. */
export interface FlowAges {
  readonly idleAge?: number;
  readonly hardAge?: number;
}

function counter(value: bigint): string {
  return value === UINT64_MAX ? '?' : value.toString();
}

/**
 * The line `ovs-ofctl dump-flows` (and `ovs-ofctl ofp-print` of a flow stats reply) prints for a
 * flow, leading space included, no newline:
 * ` cookie=0x0, duration=1.234s, table=0, n_packets=0, n_bytes=0, idle_timeout=10, priority=0 actions=NORMAL`.
 * `hard_age` is printed only when it differs from the duration's whole seconds, as OVS does.
 */
export function formatFlowStats(flow: FlowStats, ages: FlowAges = {}): string {
  let s = ` cookie=0x${BigInt.asUintN(64, flow.cookie).toString(16)}, duration=${formatDuration(flow.durationSec, flow.durationNsec)}, `;
  s += `table=${flow.tableId}, n_packets=${counter(flow.packetCount)}, n_bytes=${counter(flow.byteCount)}, `;
  if (flow.idleTimeout !== OFP_FLOW_PERMANENT) s += `idle_timeout=${flow.idleTimeout}, `;
  if (flow.hardTimeout !== OFP_FLOW_PERMANENT) s += `hard_timeout=${flow.hardTimeout}, `;
  if (ages.idleAge !== undefined && ages.idleAge >= 0) s += `idle_age=${ages.idleAge}, `;
  if (ages.hardAge !== undefined && ages.hardAge >= 0 && ages.hardAge !== flow.durationSec) s += `hard_age=${ages.hardAge}, `;
  const match = formatMatch(flow.match, flow.priority);
  return `${s}${match ? `${match} ` : ''}actions=${formatActions(flow.actions)}`;
}

/**
 * The line `ovs-appctl bridge/dump-flows BRIDGE` prints for a flow (ofproto.c flow_stats_ds), no
 * newline: `duration=2s, n_packets=0, n_bytes=0, priority=0,actions=NORMAL`, prefixed by
 * `table_id=N, ` outside table 0. The duration is whole seconds (durationSec). As in OVS, a
 * catch-all match at the default priority leaves an empty field: `n_bytes=0, ,actions=drop`.
 */
export function formatBridgeFlow(flow: FlowStats): string {
  const table = flow.tableId !== 0 ? `table_id=${flow.tableId}, ` : '';
  return (
    `${table}duration=${flow.durationSec >>> 0}s, n_packets=${BigInt.asUintN(64, flow.packetCount)}, ` +
    `n_bytes=${BigInt.asUintN(64, flow.byteCount)}, ${formatMatch(flow.match, flow.priority)},actions=${formatActions(flow.actions)}`
  );
}
