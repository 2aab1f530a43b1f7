/**
 * Tunnel headers: VXLAN (RFC 7348), Geneve (RFC 8926) and GRE (RFC 2784, key and sequence
 * RFC 2890) around an Ethernet frame, as Open vSwitch's native tunnelling writes and reads them
 * (lib/netdev-native-tnl.c). No I/O: the outer IPv4 (and UDP) header is the host's IP stack's,
 * so these are only the bytes between that header and the inner frame.
 *
 *   VXLAN  flags 0x08 (I: VNI valid), 3 reserved, VNI (24 bits), 1 reserved             8 bytes
 *   Geneve ver 0 | options length (4-byte words), O/C flags, protocol 0x6558 (Transparent
 *          Ethernet Bridging), VNI (24 bits), 1 reserved; then the options               8 + options
 *          (O, "OAM": set on the packets of BFD with oam=true, as OVS's netdev-native-tnl.c
 *          sets it from the flow's FLOW_TNL_F_OAM; received packets are taken either way)
 *   GRE    C (checksum), K (key), S (sequence) flags, version 0, protocol 0x6558; then
 *          checksum + reserved (C), key (K), sequence number (S), each 4 bytes          4..16 bytes
 *
 * Decoding accepts what OVS accepts: VXLAN with the I flag; Geneve version 0 with protocol
 * 0x6558 (its options are skipped: OpenFlow 1.0 has no field to match them); GRE version 0,
 * protocol 0x6558, with a correct checksum when one is present, no routing (R) flag. A GRE packet
 * without a key has key 0, as OVS sees it. Anything else is not a tunnel frame (null).
 */
import { internetChecksum } from '../checksum.js';

export type TunnelKind = 'vxlan' | 'geneve' | 'gre';

/** Ethernet's EtherType for "Transparent Ethernet Bridging": the payload is an Ethernet frame. */
export const ETH_TYPE_TEB = 0x6558;
export const VXLAN_FLAG_VNI = 0x08;
/** Geneve's O bit (OAM), in the header's second byte. */
export const GENEVE_FLAG_OAM = 0x80;
export const GRE_FLAG_CSUM = 0x8000;
export const GRE_FLAG_ROUTING = 0x4000;
export const GRE_FLAG_KEY = 0x2000;
export const GRE_FLAG_SEQ = 0x1000;
const GRE_VERSION_MASK = 0x0007;
const GENEVE_VERSION_SHIFT = 6;
const GENEVE_OPTLEN_MASK = 0x3f;
export const VXLAN_HEADER_LEN = 8;
export const GENEVE_HEADER_LEN = 8;
export const IPV4_HEADER_LEN = 20;
export const UDP_HEADER_LEN = 8;
/** The largest key each kind carries: 24-bit VNIs, 32-bit GRE keys. */
export const MAX_KEY: Readonly<Record<TunnelKind, number>> = { vxlan: 0xffffff, geneve: 0xffffff, gre: 0xffffffff };

/** What one port puts in front of its frames. */
export interface EncapParams {
  readonly kind: TunnelKind;
  /** VNI or GRE key. */
  readonly key: number;
  /** GRE only: whether the key field is present (a GRE port without `key` sends none). */
  readonly keyPresent: boolean;
  /** GRE only: add the GRE checksum (UDP kinds: the UDP checksum is the socket's). */
  readonly csum: boolean;
}

/** Bytes of tunnel header `p` writes (not counting the outer IP or UDP header). */
export function headerLength(p: EncapParams): number {
  if (p.kind === 'vxlan') return VXLAN_HEADER_LEN;
  if (p.kind === 'geneve') return GENEVE_HEADER_LEN;
  return 4 + (p.csum ? 4 : 0) + (p.keyPresent ? 4 : 0);
}

/** Bytes the underlay adds to a frame: the outer IPv4 header, UDP for VXLAN and Geneve, the tunnel header. */
export function overhead(p: EncapParams): number {
  return IPV4_HEADER_LEN + (p.kind === 'gre' ? 0 : UDP_HEADER_LEN) + headerLength(p);
}

/**
 * Writes the header for `frame` and the frame after it into `out` from offset `at` (`out` must
 * hold headerLength + frame.length bytes from there); returns the packet's length. The GRE
 * checksum covers the GRE header and the frame. `oam`: a Geneve packet gets the O bit (the other
 * kinds have none: OVS sets it only in Geneve).
 */
export function encapsulate(p: EncapParams, frame: Uint8Array, out: Uint8Array, at = 0, oam = false): number {
  const h = headerLength(p);
  const len = h + frame.length;
  out.set(frame, at + h);
  if (p.kind === 'vxlan' || p.kind === 'geneve') {
    out[at] = p.kind === 'vxlan' ? VXLAN_FLAG_VNI : 0;
    out[at + 1] = oam && p.kind === 'geneve' ? GENEVE_FLAG_OAM : 0;
    out[at + 2] = p.kind === 'vxlan' ? 0 : ETH_TYPE_TEB >> 8;
    out[at + 3] = p.kind === 'vxlan' ? 0 : ETH_TYPE_TEB & 0xff;
    out[at + 4] = (p.key >>> 16) & 0xff;
    out[at + 5] = (p.key >>> 8) & 0xff;
    out[at + 6] = p.key & 0xff;
    out[at + 7] = 0;
    return len;
  }
  const flags = (p.csum ? GRE_FLAG_CSUM : 0) | (p.keyPresent ? GRE_FLAG_KEY : 0);
  out[at] = flags >> 8;
  out[at + 1] = flags & 0xff;
  out[at + 2] = ETH_TYPE_TEB >> 8;
  out[at + 3] = ETH_TYPE_TEB & 0xff;
  let o = at + 4;
  if (p.csum) {
    out[o] = out[o + 1] = out[o + 2] = out[o + 3] = 0;
    o += 4;
  }
  if (p.keyPresent) {
    out[o] = p.key >>> 24;
    out[o + 1] = (p.key >>> 16) & 0xff;
    out[o + 2] = (p.key >>> 8) & 0xff;
    out[o + 3] = p.key & 0xff;
  }
  if (p.csum) {
    const sum = internetChecksum(out, at, at + len);
    out[at + 4] = sum >> 8;
    out[at + 5] = sum & 0xff;
  }
  return len;
}

/** A decoded tunnel header: the key (VNI or GRE key; 0 when a GRE packet has none) and where the frame starts. */
export interface Decoded {
  key: number;
  frameOffset: number;
}

/**
 * Reads the tunnel header of `packet` (the UDP payload for VXLAN and Geneve, the IP payload for
 * GRE) into `out`; false when it is not a well-formed tunnel packet carrying an Ethernet frame.
 */
export function decapsulate(kind: TunnelKind, packet: Uint8Array, out: Decoded): boolean {
  const n = packet.length;
  if (kind === 'vxlan') {
    if (n < VXLAN_HEADER_LEN + 14 || ((packet[0] as number) & VXLAN_FLAG_VNI) === 0) return false;
    out.key = ((packet[4] as number) << 16) | ((packet[5] as number) << 8) | (packet[6] as number);
    out.frameOffset = VXLAN_HEADER_LEN;
    return true;
  }
  if (kind === 'geneve') {
    if (n < GENEVE_HEADER_LEN) return false;
    const b0 = packet[0] as number;
    if (b0 >> GENEVE_VERSION_SHIFT !== 0) return false;
    if ((((packet[2] as number) << 8) | (packet[3] as number)) !== ETH_TYPE_TEB) return false;
    const start = GENEVE_HEADER_LEN + (b0 & GENEVE_OPTLEN_MASK) * 4;
    if (n < start + 14) return false;
    out.key = ((packet[4] as number) << 16) | ((packet[5] as number) << 8) | (packet[6] as number);
    out.frameOffset = start;
    return true;
  }
  if (n < 4) return false;
  const flags = ((packet[0] as number) << 8) | (packet[1] as number);
  if ((flags & (GRE_VERSION_MASK | GRE_FLAG_ROUTING)) !== 0) return false;
  if ((((packet[2] as number) << 8) | (packet[3] as number)) !== ETH_TYPE_TEB) return false;
  let o = 4;
  if ((flags & GRE_FLAG_CSUM) !== 0) {
    if (n < 8 || internetChecksum(packet, 0, n) !== 0) return false;
    o = 8;
  }
  let key = 0;
  if ((flags & GRE_FLAG_KEY) !== 0) {
    if (n < o + 4) return false;
    key = (((packet[o] as number) << 24) | ((packet[o + 1] as number) << 16) | ((packet[o + 2] as number) << 8) | (packet[o + 3] as number)) >>> 0;
    o += 4;
  }
  if ((flags & GRE_FLAG_SEQ) !== 0) o += 4;
  if (n < o + 14) return false;
  out.key = key;
  out.frameOffset = o;
  return true;
}

/** Where an IPv4 packet's payload starts (its IHL), or -1 when it is not a whole IPv4 header. */
export function ipv4PayloadOffset(packet: Uint8Array): number {
  if (packet.length < IPV4_HEADER_LEN || (packet[0] as number) >> 4 !== 4) return -1;
  const ihl = ((packet[0] as number) & 0x0f) * 4;
  return ihl < IPV4_HEADER_LEN || ihl > packet.length ? -1 : ihl;
}

/**
 * The inner frame's IP TOS (IPv4) or traffic class (IPv6), and TTL or hop limit, for
 * `tos=inherit` / `ttl=inherit`; undefined fields when the frame is not IP (an 802.1Q tag is
 * looked through).
 */
export function innerIpFields(frame: Uint8Array): { tos: number; ttl: number } | undefined {
  let o = 12;
  let type = ((frame[o] as number) << 8) | (frame[o + 1] as number);
  if ((type === 0x8100 || type === 0x88a8) && frame.length >= 18) {
    o += 4;
    type = ((frame[o] as number) << 8) | (frame[o + 1] as number);
  }
  o += 2;
  if (type === 0x0800 && frame.length >= o + 20) return { tos: frame[o + 1] as number, ttl: frame[o + 8] as number };
  if (type === 0x86dd && frame.length >= o + 40)
    return { tos: ((((frame[o] as number) & 0x0f) << 4) | ((frame[o + 1] as number) >> 4)) & 0xff, ttl: frame[o + 7] as number };
  return undefined;
}
