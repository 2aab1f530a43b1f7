/**
 * OpenFlow 1.0 matches: normalisation as Open vSwitch does it, and the compiled form the classifier
 * works on.
 *
 * A decoded `Match` is first normalised (normalizeMatch): wildcarded fields and fields whose
 * prerequisites the match lacks become wildcarded and zero, values are cut to what can be matched
 * (nw_tos to its DSCP bits, nw_src/nw_dst to their prefix, dl_vlan to its 12-bit VID), and the
 * wildcard bits are recomputed. Flow statistics report this normalised match, as OVS does.
 *
 * The normalised match then compiles to two flow keys (flow-key.ts layout): `value` and `mask`.
 * A packet key k matches when `(k[i] & mask[i]) === value[i]` for all nine words. VLAN matching
 * uses the encoding of dl_vlan in the key (0xffff untagged, a 12-bit VID when tagged):
 * - dl_vlan = 0xffff matches untagged frames only (pcp then ignored; reported as pcp 0, exact);
 * - a VID matches frames with that tag;
 * - dl_vlan wildcarded with dl_vlan_pcp exact matches tagged frames with that PCP (as OVS: a PCP
 *   implies a tag), encoded as "top four bits of dl_vlan are zero" plus the PCP.
 */
import { ETH_TYPE, IPPROTO, OFPFW, OFP_VLAN_NONE } from '../protocol/constants.js';
import type { Match } from '../protocol/types.js';
import {
  FLOW_KEY_WORDS,
  macToWords,
  wordsToMac,
  W_DL_DST_LO,
  W_DL_SRC_HI,
  W_DL_SRC_LO_DST_HI,
  W_DL_TYPE_PCP_TOS,
  W_IN_PORT_VLAN,
  W_NW_DST,
  W_NW_PROTO,
  W_NW_SRC,
  W_TP,
  type FlowKey,
} from './flow-key.js';

const ZERO_MAC = '00:00:00:00:00:00';
/** DSCP bits of the ToS byte: OpenFlow 1.0 nw_tos matches these six bits only. */
const NW_TOS_DSCP_MASK = 0xfc;

/** Nine unsigned 32-bit words in the flow-key layout (a FlowKey, or a plain array of numbers). */
export type MatchWords = ArrayLike<number>;

/** A match compiled to the flow-key layout: `(key & mask) === value`, word by word. */
export interface CompiledMatch {
  readonly value: MatchWords;
  readonly mask: FlowKey;
  /** The mask as a string: the classifier's key for the subtable of this mask. */
  readonly maskKey: string;
}

/** True when the request had no wildcard bit at all: OpenFlow 1.0 gives it the top priority. */
export function isExactRequest(match: Match): boolean {
  return (match.wildcards & OFPFW.ALL) === 0;
}

/** Netmask of a nw_src/nw_dst wildcard bit count (32 or more: everything wildcarded). */
function prefixMask(wildcardBits: number): number {
  return wildcardBits >= 32 ? 0 : (0xffffffff << wildcardBits) >>> 0;
}

/**
 * The match as Open vSwitch keeps it: see the module comment. Idempotent; MAC addresses come back
 * lowercase.
 */
export function normalizeMatch(m: Match): Match {
  const w = m.wildcards & OFPFW.ALL;
  const has = (bit: number): boolean => (w & bit) === 0;
  let wildcards = OFPFW.ALL;
  const on = (bit: number): void => {
    wildcards &= ~bit;
  };

  const inPort = has(OFPFW.IN_PORT) ? m.inPort & 0xffff : 0;
  if (has(OFPFW.IN_PORT)) on(OFPFW.IN_PORT);

  let dlVlan = 0;
  let dlVlanPcp = 0;
  if (has(OFPFW.DL_VLAN) && (m.dlVlan & 0xffff) === OFP_VLAN_NONE) {
    dlVlan = OFP_VLAN_NONE;
    on(OFPFW.DL_VLAN);
    on(OFPFW.DL_VLAN_PCP);
  } else {
    if (has(OFPFW.DL_VLAN)) {
      dlVlan = m.dlVlan & 0x0fff;
      on(OFPFW.DL_VLAN);
    }
    if (has(OFPFW.DL_VLAN_PCP)) {
      dlVlanPcp = m.dlVlanPcp & 0x07;
      on(OFPFW.DL_VLAN_PCP);
    }
  }

  const dlSrc = has(OFPFW.DL_SRC) ? m.dlSrc.toLowerCase() : ZERO_MAC;
  if (has(OFPFW.DL_SRC)) on(OFPFW.DL_SRC);
  const dlDst = has(OFPFW.DL_DST) ? m.dlDst.toLowerCase() : ZERO_MAC;
  if (has(OFPFW.DL_DST)) on(OFPFW.DL_DST);

  const dlType = has(OFPFW.DL_TYPE) ? m.dlType & 0xffff : 0;
  if (has(OFPFW.DL_TYPE)) on(OFPFW.DL_TYPE);
  const typed = has(OFPFW.DL_TYPE);
  const ipv4 = typed && dlType === ETH_TYPE.IP;
  const ipv6 = typed && dlType === ETH_TYPE.IPV6;
  const arp = typed && (dlType === ETH_TYPE.ARP || dlType === ETH_TYPE.RARP);

  let nwProto = 0;
  if ((ipv4 || ipv6 || arp) && has(OFPFW.NW_PROTO)) {
    nwProto = m.nwProto & 0xff;
    on(OFPFW.NW_PROTO);
  }
  const protoSet = (wildcards & OFPFW.NW_PROTO) === 0;

  let nwTos = 0;
  if ((ipv4 || ipv6) && has(OFPFW.NW_TOS)) {
    nwTos = m.nwTos & NW_TOS_DSCP_MASK;
    on(OFPFW.NW_TOS);
  }

  let nwSrc = 0;
  let nwDst = 0;
  let srcBits = 32;
  let dstBits = 32;
  if (ipv4 || arp) {
    srcBits = Math.min(32, (w & OFPFW.NW_SRC_MASK) >>> OFPFW.NW_SRC_SHIFT);
    dstBits = Math.min(32, (w & OFPFW.NW_DST_MASK) >>> OFPFW.NW_DST_SHIFT);
    nwSrc = (m.nwSrc & prefixMask(srcBits)) >>> 0;
    nwDst = (m.nwDst & prefixMask(dstBits)) >>> 0;
  }
  wildcards = (wildcards & ~(OFPFW.NW_SRC_MASK | OFPFW.NW_DST_MASK)) |
    (srcBits << OFPFW.NW_SRC_SHIFT) | (dstBits << OFPFW.NW_DST_SHIFT);

  const l4 = protoSet && (
    (ipv4 && (nwProto === IPPROTO.TCP || nwProto === IPPROTO.UDP || nwProto === IPPROTO.SCTP ||
      nwProto === IPPROTO.ICMP)) ||
    (ipv6 && (nwProto === IPPROTO.TCP || nwProto === IPPROTO.UDP || nwProto === IPPROTO.SCTP ||
      nwProto === IPPROTO.ICMPV6)));
  let tpSrc = 0;
  let tpDst = 0;
  if (l4 && has(OFPFW.TP_SRC)) {
    tpSrc = m.tpSrc & 0xffff;
    on(OFPFW.TP_SRC);
  }
  if (l4 && has(OFPFW.TP_DST)) {
    tpDst = m.tpDst & 0xffff;
    on(OFPFW.TP_DST);
  }

  return {
    wildcards: wildcards >>> 0, inPort, dlSrc, dlDst, dlVlan, dlVlanPcp, dlType, nwTos, nwProto,
    nwSrc, nwDst, tpSrc, tpDst,
  };
}

/** Compiles a normalised match (normalizeMatch's result) to value and mask keys. */
export function compileMatch(n: Match): CompiledMatch {
  const value = new Uint32Array(FLOW_KEY_WORDS);
  const mask = new Uint32Array(FLOW_KEY_WORDS);
  const w = n.wildcards;
  const has = (bit: number): boolean => (w & bit) === 0;

  let m0 = 0;
  let v0 = 0;
  if (has(OFPFW.IN_PORT)) {
    m0 |= 0xffff0000;
    v0 |= n.inPort << 16;
  }
  let m4 = 0;
  let v4 = 0;
  if (has(OFPFW.DL_VLAN)) {
    m0 |= 0xffff;
    v0 |= n.dlVlan;
    // Untagged: the parser reports pcp 0, and OVS's mask covers the whole TCI; match pcp 0 too.
    if (n.dlVlan === OFP_VLAN_NONE) m4 |= 0xff00;
  } else if (has(OFPFW.DL_VLAN_PCP)) {
    m0 |= 0xf000; // "tagged": a VID has its top four bits zero, untagged is 0xffff
  }
  if (has(OFPFW.DL_VLAN_PCP)) {
    m4 |= 0xff00;
    v4 |= n.dlVlanPcp << 8;
  }
  if (has(OFPFW.DL_TYPE)) {
    m4 |= 0xffff0000;
    v4 |= n.dlType << 16;
  }
  if (has(OFPFW.NW_TOS)) {
    m4 |= NW_TOS_DSCP_MASK;
    v4 |= n.nwTos;
  }
  value[W_IN_PORT_VLAN] = v0 >>> 0;
  mask[W_IN_PORT_VLAN] = m0 >>> 0;
  value[W_DL_TYPE_PCP_TOS] = v4 >>> 0;
  mask[W_DL_TYPE_PCP_TOS] = m4 >>> 0;

  if (has(OFPFW.DL_SRC)) {
    const [sHi, sLo] = macToWords(n.dlSrc);
    value[W_DL_SRC_HI] = ((sHi << 16) | (sLo >>> 16)) >>> 0;
    mask[W_DL_SRC_HI] = 0xffffffff;
    value[W_DL_SRC_LO_DST_HI] = (sLo & 0xffff) << 16 >>> 0;
    mask[W_DL_SRC_LO_DST_HI] = 0xffff0000;
  }
  if (has(OFPFW.DL_DST)) {
    const [dHi, dLo] = macToWords(n.dlDst);
    value[W_DL_SRC_LO_DST_HI] = (value[W_DL_SRC_LO_DST_HI]! | dHi) >>> 0;
    mask[W_DL_SRC_LO_DST_HI] = (mask[W_DL_SRC_LO_DST_HI]! | 0xffff) >>> 0;
    value[W_DL_DST_LO] = dLo;
    mask[W_DL_DST_LO] = 0xffffffff;
  }
  if (has(OFPFW.NW_PROTO)) {
    value[W_NW_PROTO] = n.nwProto;
    mask[W_NW_PROTO] = 0xff;
  }
  const srcMask = prefixMask((w & OFPFW.NW_SRC_MASK) >>> OFPFW.NW_SRC_SHIFT);
  const dstMask = prefixMask((w & OFPFW.NW_DST_MASK) >>> OFPFW.NW_DST_SHIFT);
  value[W_NW_SRC] = n.nwSrc & srcMask;
  mask[W_NW_SRC] = srcMask;
  value[W_NW_DST] = n.nwDst & dstMask;
  mask[W_NW_DST] = dstMask;
  let m8 = 0;
  let v8 = 0;
  if (has(OFPFW.TP_SRC)) {
    m8 |= 0xffff0000;
    v8 |= n.tpSrc << 16;
  }
  if (has(OFPFW.TP_DST)) {
    m8 |= 0xffff;
    v8 |= n.tpDst;
  }
  value[W_TP] = v8 >>> 0;
  mask[W_TP] = m8 >>> 0;
  return { value, mask, maskKey: mask.join(',') };
}

/**
 * The normalised match a compiled one came from: compileMatch's inverse on normalizeMatch's
 * results (`decompileMatch(compileMatch(normalizeMatch(m)))` deep-equals `normalizeMatch(m)`).
 * Entries keep only their compiled match and give their Match back from it when asked (statistics,
 * FLOW_REMOVED): one object and its boxed numbers less per entry.
 */
export function decompileMatch(c: CompiledMatch): Match {
  const { value: v, mask: m } = c;
  let wildcards = OFPFW.ALL;
  const on = (bit: number): void => {
    wildcards &= ~bit;
  };
  const m0 = m[W_IN_PORT_VLAN]! >>> 0;
  const v0 = v[W_IN_PORT_VLAN]! >>> 0;
  const m4 = m[W_DL_TYPE_PCP_TOS]! >>> 0;
  const v4 = v[W_DL_TYPE_PCP_TOS]! >>> 0;
  const m8 = m[W_TP]! >>> 0;
  const v8 = v[W_TP]! >>> 0;
  let inPort = 0;
  if ((m0 & 0xffff0000) !== 0) {
    inPort = v0 >>> 16;
    on(OFPFW.IN_PORT);
  }
  let dlVlan = 0;
  if ((m0 & 0xffff) === 0xffff) {
    dlVlan = v0 & 0xffff;
    on(OFPFW.DL_VLAN);
  }
  let dlVlanPcp = 0;
  if ((m4 & 0xff00) !== 0) {
    dlVlanPcp = (v4 >>> 8) & 0xff;
    on(OFPFW.DL_VLAN_PCP);
  }
  let dlSrc = ZERO_MAC;
  if (m[W_DL_SRC_HI]! >>> 0 === 0xffffffff) {
    const hi = v[W_DL_SRC_HI]! >>> 0;
    dlSrc = wordsToMac(hi >>> 16, (((hi & 0xffff) << 16) | ((v[W_DL_SRC_LO_DST_HI]! >>> 0) >>> 16)) >>> 0);
    on(OFPFW.DL_SRC);
  }
  let dlDst = ZERO_MAC;
  if (m[W_DL_DST_LO]! >>> 0 === 0xffffffff) {
    dlDst = wordsToMac((v[W_DL_SRC_LO_DST_HI]! >>> 0) & 0xffff, v[W_DL_DST_LO]! >>> 0);
    on(OFPFW.DL_DST);
  }
  let dlType = 0;
  if ((m4 & 0xffff0000) !== 0) {
    dlType = v4 >>> 16;
    on(OFPFW.DL_TYPE);
  }
  let nwTos = 0;
  if ((m4 & NW_TOS_DSCP_MASK) !== 0) {
    nwTos = v4 & 0xff;
    on(OFPFW.NW_TOS);
  }
  let nwProto = 0;
  if ((m[W_NW_PROTO]! >>> 0) !== 0) {
    nwProto = v[W_NW_PROTO]! & 0xff;
    on(OFPFW.NW_PROTO);
  }
  const srcBits = 32 - popcount(m[W_NW_SRC]!);
  const dstBits = 32 - popcount(m[W_NW_DST]!);
  wildcards = (wildcards & ~(OFPFW.NW_SRC_MASK | OFPFW.NW_DST_MASK)) | (srcBits << OFPFW.NW_SRC_SHIFT) | (dstBits << OFPFW.NW_DST_SHIFT);
  let tpSrc = 0;
  if ((m8 & 0xffff0000) !== 0) {
    tpSrc = v8 >>> 16;
    on(OFPFW.TP_SRC);
  }
  let tpDst = 0;
  if ((m8 & 0xffff) !== 0) {
    tpDst = v8 & 0xffff;
    on(OFPFW.TP_DST);
  }
  return {
    wildcards: wildcards >>> 0, inPort, dlSrc, dlDst, dlVlan, dlVlanPcp, dlType, nwTos, nwProto,
    nwSrc: v[W_NW_SRC]! >>> 0, nwDst: v[W_NW_DST]! >>> 0, tpSrc, tpDst,
  };
}

function popcount(x: number): number {
  let n = x >>> 0;
  n = n - ((n >>> 1) & 0x55555555);
  n = (n & 0x33333333) + ((n >>> 2) & 0x33333333);
  return (Math.imul((n + (n >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

/** Does the packet key match? (Words compared as int32: `value` may hold them either way.) */
export function keyMatches(c: CompiledMatch, key: FlowKey): boolean {
  const { value, mask } = c;
  for (let i = 0; i < FLOW_KEY_WORDS; i++) {
    if ((key[i]! & mask[i]!) !== (value[i]! | 0)) return false;
  }
  return true;
}

/**
 * Does request `req` cover entry `e`: is `e` at least as specific as `req` and inside it? This is
 * the non-strict selection of MODIFY, DELETE and the statistics requests.
 */
export function covers(req: CompiledMatch, e: CompiledMatch): boolean {
  for (let i = 0; i < FLOW_KEY_WORDS; i++) {
    const rm = req.mask[i]!;
    if (((e.mask[i]! & rm) >>> 0) !== rm) return false;
    if ((e.value[i]! & rm) !== (req.value[i]! | 0)) return false;
  }
  return true;
}

/** Could one packet match both? (CHECK_OVERLAP) */
export function overlaps(a: CompiledMatch, b: CompiledMatch): boolean {
  for (let i = 0; i < FLOW_KEY_WORDS; i++) {
    if (((a.value[i]! ^ b.value[i]!) & a.mask[i]! & b.mask[i]!) !== 0) return false;
  }
  return true;
}
