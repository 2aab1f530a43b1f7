/**
 * The flow key: a packet's 12 OpenFlow 1.0 header fields packed into nine 32-bit words.
 *
 * The datapath parses each frame into one of these (datapath/frame-parser.ts): received frames
 * into one key the datapath preallocates and reuses, so there is no allocation per received
 * packet; a PACKET_OUT's frame into a fresh key. The classifier masks a key word by word and the
 * microflow cache hashes it word by word. A match is the same layout twice: a value and a mask
 * (see match.ts).
 *
 *   word 0  in_port(16)  | dl_vlan(16)         dl_vlan 0xffff = no 802.1Q tag
 *   word 1  dl_src[0..3]
 *   word 2  dl_src[4..5] | dl_dst[0..1]
 *   word 3  dl_dst[2..5]
 *   word 4  dl_type(16)  | dl_vlan_pcp(8) | nw_tos(8)
 *   word 5  nw_proto(8) in the low byte        (ARP: the opcode; 0 when above 255)
 *   word 6  nw_src                             (ARP: sender IP)
 *   word 7  nw_dst                             (ARP: target IP)
 *   word 8  tp_src(16)   | tp_dst(16)          (ICMP and ICMPv6: type | code)
 *
 * Words hold unsigned values; always store with `>>> 0` where a shift may set bit 31.
 */
import type { Ipv4Address, MacAddress } from '../protocol/types.js';

export const FLOW_KEY_WORDS = 9;
export type FlowKey = Uint32Array;

export const W_IN_PORT_VLAN = 0;
export const W_DL_SRC_HI = 1;
export const W_DL_SRC_LO_DST_HI = 2;
export const W_DL_DST_LO = 3;
export const W_DL_TYPE_PCP_TOS = 4;
export const W_NW_PROTO = 5;
export const W_NW_SRC = 6;
export const W_NW_DST = 7;
export const W_TP = 8;

/** The 12 fields of a flow key, unpacked: what packFlowKey packs and unpackFlowKey (for tests) gives back. */
export interface FlowFields {
  inPort: number;
  dlVlan: number;
  dlVlanPcp: number;
  dlSrc: MacAddress;
  dlDst: MacAddress;
  dlType: number;
  nwTos: number;
  nwProto: number;
  nwSrc: Ipv4Address;
  nwDst: Ipv4Address;
  tpSrc: number;
  tpDst: number;
}

export function newFlowKey(): FlowKey {
  return new Uint32Array(FLOW_KEY_WORDS);
}

/** "0a:00:27:00:00:01" to [high 16 bits, low 32 bits]. */
export function macToWords(mac: MacAddress): [number, number] {
  const b = mac.split(':').map((h) => parseInt(h, 16));
  const hi = ((b[0] ?? 0) << 8) | (b[1] ?? 0);
  const lo = (((b[2] ?? 0) << 24) | ((b[3] ?? 0) << 16) | ((b[4] ?? 0) << 8) | (b[5] ?? 0)) >>> 0;
  return [hi, lo];
}

export function wordsToMac(hi: number, lo: number): MacAddress {
  const bytes = [hi >>> 8, hi & 0xff, lo >>> 24, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff];
  return bytes.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** Packs fields into a key (into `key` when given). */
export function packFlowKey(f: FlowFields, key: FlowKey = newFlowKey()): FlowKey {
  const [sHi, sLo] = macToWords(f.dlSrc);
  const [dHi, dLo] = macToWords(f.dlDst);
  key[W_IN_PORT_VLAN] = ((f.inPort << 16) | f.dlVlan) >>> 0;
  key[W_DL_SRC_HI] = ((sHi << 16) | (sLo >>> 16)) >>> 0;
  key[W_DL_SRC_LO_DST_HI] = (((sLo & 0xffff) << 16) | dHi) >>> 0;
  key[W_DL_DST_LO] = dLo;
  key[W_DL_TYPE_PCP_TOS] = ((f.dlType << 16) | (f.dlVlanPcp << 8) | f.nwTos) >>> 0;
  key[W_NW_PROTO] = f.nwProto;
  key[W_NW_SRC] = f.nwSrc >>> 0;
  key[W_NW_DST] = f.nwDst >>> 0;
  key[W_TP] = ((f.tpSrc << 16) | f.tpDst) >>> 0;
  return key;
}

export function unpackFlowKey(key: FlowKey): FlowFields {
  const w = (i: number): number => key[i] ?? 0;
  const srcHi = w(W_DL_SRC_HI) >>> 16;
  const srcLo = (((w(W_DL_SRC_HI) & 0xffff) << 16) | (w(W_DL_SRC_LO_DST_HI) >>> 16)) >>> 0;
  const dstHi = w(W_DL_SRC_LO_DST_HI) & 0xffff;
  return {
    inPort: w(W_IN_PORT_VLAN) >>> 16,
    dlVlan: w(W_IN_PORT_VLAN) & 0xffff,
    dlSrc: wordsToMac(srcHi, srcLo),
    dlDst: wordsToMac(dstHi, w(W_DL_DST_LO)),
    dlType: w(W_DL_TYPE_PCP_TOS) >>> 16,
    dlVlanPcp: (w(W_DL_TYPE_PCP_TOS) >>> 8) & 0xff,
    nwTos: w(W_DL_TYPE_PCP_TOS) & 0xff,
    nwProto: w(W_NW_PROTO) & 0xff,
    nwSrc: w(W_NW_SRC),
    nwDst: w(W_NW_DST),
    tpSrc: w(W_TP) >>> 16,
    tpDst: w(W_TP) & 0xffff,
  };
}
