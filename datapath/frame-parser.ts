/**
 * Frame parsing: one Ethernet frame into its OpenFlow 1.0 flow key, in place, without allocating.
 *
 * `parseFrame` fills a preallocated FlowKey (flowtable/flow-key.ts) and a reusable FrameLayout that
 * records where the headers are, so actions can rewrite fields without parsing again. The rules
 * are OpenFlow 1.0's, as Open vSwitch applies them:
 * - Ethernet II; 802.3 with LLC/SNAP (OUI 0) takes the SNAP type, other 802.3 is dl_type 0x05ff.
 * - One VLAN tag, 802.1Q (TPID 0x8100) or 802.1ad (0x88a8) alike, as OVS parses both
 *   (parse_vlan, with its default other_config:vlan-limit of 1): dl_vlan and dl_vlan_pcp from the
 *   outer tag's TCI, dl_type the Ethernet type after it, so an 802.1ad tag followed by an 802.1Q
 *   one is dl_type 0x8100 (OpenFlow 1.0 has one VLAN field). Untagged is dl_vlan 0xffff, pcp 0.
 *   Actions rewrite or pop that outer tag keeping its TPID; a pushed tag is 802.1Q (actions.ts).
 * - IPv4 (options allowed): nw_tos = ToS & 0xfc, nw_proto, nw_src, nw_dst. The version field is
 *   not looked at: OVS's miniflow_extract parses any 0x0800 frame as IPv4 once its header length,
 *   total length and frame length agree (ipv4_sanity_check); when they do not, no network field
 *   is set. ARP: opcode in nw_proto, sender/target IP in nw_src/nw_dst.
 * - IPv6: traffic class & 0xfc as nw_tos, the final next header (extension headers skipped) as
 *   nw_proto, nw_src/nw_dst zero; a later fragment's nw_proto is 44 (IPPROTO_FRAGMENT), as OVS has it.
 * - TCP/UDP/SCTP ports; ICMP and ICMPv6 type and code in tp_src and tp_dst. Fragments, first or
 *   later, IPv4 or IPv6, have tp_src and tp_dst 0: OVS's frag handling "normal" (the only one an
 *   OpenFlow 1.0 switch has without Nicira extensions) zeroes them for every fragment before the
 *   table lookup (ofproto-dpif.c, rule_dpif_lookup_from_table), ICMP type and code included. A
 *   first fragment still has its L4 header located (FrameLayout.l4Offset), so actions rewrite its
 *   ports as OVS does; a later one has none.
 * A header that is truncated or invalid leaves its fields and all later ones zero. Never throws:
 * every read is bounds-checked first.
 */
import type { FlowKey } from '../flowtable/flow-key.js';
import {
  W_DL_DST_LO,
  W_DL_SRC_HI,
  W_DL_SRC_LO_DST_HI,
  W_DL_TYPE_PCP_TOS,
  W_IN_PORT_VLAN,
  W_NW_DST,
  W_NW_PROTO,
  W_NW_SRC,
  W_TP,
} from '../flowtable/flow-key.js';
import {
  ETH_HEADER_LEN,
  ETH_TYPE,
  IPPROTO,
  OFP_DL_TYPE_ETH2_CUTOFF,
  OFP_DL_TYPE_NOT_ETH_TYPE,
  OFP_VLAN_NONE,
  VLAN_HEADER_LEN,
} from '../protocol/constants.js';


/** What kind of network header a frame carries (FrameLayout.l3Kind). */
export const L3 = { NONE: 0, IPV4: 1, IPV6: 2, ARP: 3 } as const;
export type L3Kind = (typeof L3)[keyof typeof L3];

/** Where the headers of a parsed frame are; offsets are -1 when the header is absent. */
export interface FrameLayout {
  /** Offset of the 802.1Q TPID (12) when the frame carries a tag. */
  vlanOffset: number;
  /** Offset of the network header (after Ethernet, VLAN and LLC/SNAP). */
  l3Offset: number;
  l3Kind: L3Kind;
  /** Offset of the TCP/UDP/ICMP header when complete enough to hold the fields it carries. */
  l4Offset: number;
  /** IP protocol of the L4 header at l4Offset (6, 17, 1 or 58). */
  l4Proto: number;
  /** True for any IPv4 or IPv6 fragment, first or later (an IPv6 fragment header with offset 0 and no MF is none). */
  fragment: boolean;
}

export function newFrameLayout(): FrameLayout {
  return { vlanOffset: -1, l3Offset: -1, l3Kind: L3.NONE, l4Offset: -1, l4Proto: 0, fragment: false };
}

const IPV6_HLEN = 40;
const IPV4_MIN_HLEN = 20;
const ARP_IPV4_LEN = 28;

function u16(f: Uint8Array, o: number): number {
  return ((f[o] as number) << 8) | (f[o + 1] as number);
}
function u32(f: Uint8Array, o: number): number {
  return (((f[o] as number) << 24) | ((f[o + 1] as number) << 16) | ((f[o + 2] as number) << 8) | (f[o + 3] as number)) >>> 0;
}

/**
 * Parses `frame` (received on `inPort`) into `key` and returns `layout` (a fresh one when not
 * given) describing its headers.
 */
export function parseFrame(
  frame: Uint8Array,
  inPort: number,
  key: FlowKey,
  layout: FrameLayout = newFrameLayout(),
): FrameLayout {
  const len = frame.length;
  layout.vlanOffset = -1;
  layout.l3Offset = -1;
  layout.l3Kind = L3.NONE;
  layout.l4Offset = -1;
  layout.l4Proto = 0;
  layout.fragment = false;
  key[W_NW_PROTO] = 0;
  key[W_NW_SRC] = 0;
  key[W_NW_DST] = 0;
  key[W_TP] = 0;

  if (len < ETH_HEADER_LEN) {
    // Not even an Ethernet header: only what is there of the addresses, nothing else.
    const f = new Uint8Array(12);
    f.set(frame.subarray(0, Math.min(len, 12)));
    key[W_IN_PORT_VLAN] = ((inPort << 16) | OFP_VLAN_NONE) >>> 0;
    key[W_DL_SRC_HI] = u32(f, 6);
    key[W_DL_SRC_LO_DST_HI] = ((u16(f, 10) << 16) | u16(f, 0)) >>> 0;
    key[W_DL_DST_LO] = u32(f, 2);
    key[W_DL_TYPE_PCP_TOS] = 0;
    return layout;
  }

  key[W_DL_SRC_HI] = u32(frame, 6);
  key[W_DL_SRC_LO_DST_HI] = ((u16(frame, 10) << 16) | u16(frame, 0)) >>> 0;
  key[W_DL_DST_LO] = u32(frame, 2);

  let off = 12;
  let type = u16(frame, off);
  let vlan = OFP_VLAN_NONE;
  let pcp = 0;
  if ((type === ETH_TYPE.VLAN || type === ETH_TYPE.VLAN_8021AD) && len >= ETH_HEADER_LEN + VLAN_HEADER_LEN) {
    const tci = u16(frame, 14);
    vlan = tci & 0x0fff;
    pcp = tci >>> 13;
    layout.vlanOffset = 12;
    off = 16;
    type = u16(frame, off);
  }
  off += 2;
  key[W_IN_PORT_VLAN] = ((inPort << 16) | vlan) >>> 0;

  if (type < OFP_DL_TYPE_ETH2_CUTOFF) {
    // 802.3: LLC (DSAP AA, SSAP AA, control 03) + SNAP OUI 00:00:00 carries an Ethernet type.
    if (
      len >= off + 8 &&
      frame[off] === 0xaa &&
      frame[off + 1] === 0xaa &&
      frame[off + 2] === 0x03 &&
      frame[off + 3] === 0 &&
      frame[off + 4] === 0 &&
      frame[off + 5] === 0
    ) {
      type = u16(frame, off + 6);
      off += 8;
    } else {
      key[W_DL_TYPE_PCP_TOS] = ((OFP_DL_TYPE_NOT_ETH_TYPE << 16) | (pcp << 8)) >>> 0;
      return layout;
    }
  }

  let tos = 0;
  if (type === ETH_TYPE.IP) tos = parseIpv4(frame, off, key, layout);
  else if (type === ETH_TYPE.IPV6) tos = parseIpv6(frame, off, key, layout);
  else if (type === ETH_TYPE.ARP) parseArp(frame, off, key, layout);
  key[W_DL_TYPE_PCP_TOS] = ((type << 16) | (pcp << 8) | tos) >>> 0;
  return layout;
}

function parseIpv4(frame: Uint8Array, off: number, key: FlowKey, layout: FrameLayout): number {
  const avail = frame.length - off;
  if (avail < IPV4_MIN_HLEN) return 0;
  const vihl = frame[off] as number;
  const hlen = (vihl & 0x0f) * 4;
  const totLen = u16(frame, off + 2);
  // No version check: OVS parses an 0x0800 frame of any IP version as IPv4.
  if (hlen < IPV4_MIN_HLEN || hlen > avail || totLen < hlen || totLen > avail) return 0;
  const tos = (frame[off + 1] as number) & 0xfc;
  const proto = frame[off + 9] as number;
  key[W_NW_PROTO] = proto;
  key[W_NW_SRC] = u32(frame, off + 12);
  key[W_NW_DST] = u32(frame, off + 16);
  layout.l3Offset = off;
  layout.l3Kind = L3.IPV4;
  const frag = u16(frame, off + 6);
  if ((frag & 0x3fff) !== 0) {
    layout.fragment = true;
    if ((frag & 0x1fff) !== 0) return tos; // a later fragment: no L4 header
  }
  parseL4(frame, off + hlen, off + totLen, proto, key, layout);
  if (layout.fragment) key[W_TP] = 0; // a first fragment: its L4 header is there, its ports are not matched
  return tos;
}

function parseIpv6(frame: Uint8Array, off: number, key: FlowKey, layout: FrameLayout): number {
  if (frame.length - off < IPV6_HLEN) return 0;
  if ((frame[off] as number) >>> 4 !== 6) return 0;
  const tos = (u16(frame, off) >>> 4) & 0xfc;
  const end = Math.min(frame.length, off + IPV6_HLEN + u16(frame, off + 4));
  layout.l3Offset = off;
  layout.l3Kind = L3.IPV6;
  let next = frame[off + 6] as number;
  let p = off + IPV6_HLEN;
  // Skip extension headers as Open vSwitch does to find the transport protocol.
  for (;;) {
    if (next === IPPROTO.HOPOPTS || next === IPPROTO.ROUTING || next === IPPROTO.DSTOPTS) {
      if (p + 8 > end) break;
      next = frame[p] as number;
      p += ((frame[p + 1] as number) + 1) * 8;
    } else if (next === IPPROTO.AH) {
      if (p + 8 > end) break;
      next = frame[p] as number;
      p += ((frame[p + 1] as number) + 2) * 4;
    } else if (next === IPPROTO.FRAGMENT) {
      if (p + 8 > end) break;
      next = frame[p] as number;
      const offlg = u16(frame, p + 2);
      if (offlg !== 0) layout.fragment = true;
      if ((offlg & 0xfff8) !== 0) {
        key[W_NW_PROTO] = IPPROTO.FRAGMENT;
        return tos; // a later fragment: no L4 header
      }
      p += 8;
    } else break;
  }
  key[W_NW_PROTO] = next;
  parseL4(frame, p, end, next, key, layout);
  if (layout.fragment) key[W_TP] = 0; // a first fragment: its ports are not matched
  return tos;
}

function parseArp(frame: Uint8Array, off: number, key: FlowKey, layout: FrameLayout): void {
  if (frame.length - off < ARP_IPV4_LEN) return;
  // Ethernet hardware (1), IPv4 protocol, address lengths 6 and 4.
  if (u16(frame, off) !== 1 || u16(frame, off + 2) !== ETH_TYPE.IP || frame[off + 4] !== 6 || frame[off + 5] !== 4) return;
  const op = u16(frame, off + 6);
  if (op <= 0xff) key[W_NW_PROTO] = op;
  key[W_NW_SRC] = u32(frame, off + 14);
  key[W_NW_DST] = u32(frame, off + 24);
  layout.l3Offset = off;
  layout.l3Kind = L3.ARP;
}

function parseL4(frame: Uint8Array, off: number, end: number, proto: number, key: FlowKey, layout: FrameLayout): void {
  const avail = end - off;
  if (proto === IPPROTO.TCP) {
    // The whole header, as its data offset gives it (at least 20 bytes), or no ports (OVS's miniflow_extract).
    const hlen = avail >= 20 ? ((frame[off + 12] as number) >>> 4) * 4 : 0;
    if (hlen < 20 || avail < hlen) return;
  } else if (proto === IPPROTO.UDP) {
    if (avail < 8) return;
  } else if (proto === IPPROTO.SCTP) {
    if (avail < 12) return; // ports as tp_src/tp_dst, as Open vSwitch matches them
  } else if (proto === IPPROTO.ICMP) {
    if (avail < 8) return;
    key[W_TP] = (((frame[off] as number) << 16) | (frame[off + 1] as number)) >>> 0;
    layout.l4Offset = off;
    layout.l4Proto = proto;
    return;
  } else if (proto === IPPROTO.ICMPV6) {
    if (avail < 4) return;
    key[W_TP] = (((frame[off] as number) << 16) | (frame[off + 1] as number)) >>> 0;
    layout.l4Offset = off;
    layout.l4Proto = proto;
    return;
  } else return;
  key[W_TP] = u32(frame, off);
  layout.l4Offset = off;
  layout.l4Proto = proto;
}
