/**
 * The hashes bonds spread traffic with, as Open vSwitch 3.1 computes them on a machine without
 * SSE 4.2 code (lib/hash.h's MurmurHash3-based mhash): `hashMac` is OVS's hash_mac(), which
 * balance-slb uses (source MAC and VLAN) and `ovs-appctl bond/hash` prints, so both agree to the
 * bucket. `hashFiveTuple` is balance-tcp's: symmetric over IP addresses and L4 ports (the two
 * directions of a connection land in the same bucket), as OVS's NX_HASH_FIELDS_SYMMETRIC_L3L4_UDP
 * is, though not bit for bit (OVS hashes in its datapath, with recirculation).
 */

import { hashAdd, hashFinish } from '../protocol/ovs-hash.js';

/** hash_uint64_basis of the 64-bit value `hi`:`lo` (each 32 bits). */
export function hashUint64(hi: number, lo: number, basis: number): number {
  return hashFinish(hashAdd(hashAdd(basis >>> 0, lo), hi), 8);
}

/** hash_mac(mac, vlan, basis): the MAC (48 bits, as a number) with the VLAN above it. */
export function hashMac(mac: number, vlan: number, basis: number): number {
  const hi = (((vlan & 0xffff) << 16) | Math.floor(mac / 0x100000000)) >>> 0;
  const lo = mac % 0x100000000;
  return hashUint64(hi, lo, basis);
}

/**
 * balance-tcp's hash of a frame's IPv4 or IPv6 addresses, IP protocol and TCP/UDP/SCTP ports,
 * the same both ways; other frames hash by their Ethernet addresses (also symmetric). The frame
 * may carry one VLAN tag.
 */
export function hashFiveTuple(f: Uint8Array, basis: number): number {
  let h = basis >>> 0;
  const word = (o: number): number => (((f[o] as number) << 24) | ((f[o + 1] as number) << 16) | ((f[o + 2] as number) << 8) | (f[o + 3] as number)) >>> 0;
  const u16 = (o: number): number => ((f[o] as number) << 8) | (f[o + 1] as number);
  let l3 = 14;
  let type = f.length >= 14 ? u16(12) : 0;
  if ((type === 0x8100 || type === 0x88a8) && f.length >= 18) {
    type = u16(16);
    l3 = 18;
  }
  let proto = -1;
  let l4 = -1;
  if (type === 0x0800 && l3 + 20 <= f.length) {
    h = hashAdd(h, (word(l3 + 12) ^ word(l3 + 16)) >>> 0);
    proto = f[l3 + 9] as number;
    const fragment = (u16(l3 + 6) & 0x1fff) !== 0;
    if (!fragment) l4 = l3 + ((f[l3] as number) & 0x0f) * 4;
  } else if (type === 0x86dd && l3 + 40 <= f.length) {
    for (let i = 0; i < 16; i += 4) h = hashAdd(h, (word(l3 + 8 + i) ^ word(l3 + 24 + i)) >>> 0);
    proto = f[l3 + 6] as number;
    l4 = l3 + 40;
  } else {
    // Not IP: the Ethernet addresses, xor-ed so that both directions agree.
    for (let i = 0; i < 6 && i + 6 < f.length; i++) h = hashAdd(h, ((f[i] as number) ^ (f[i + 6] as number)) + 1);
    return hashFinish(h, 12);
  }
  h = hashAdd(h, proto);
  if (l4 >= 0 && l4 + 4 <= f.length && (proto === 6 || proto === 17 || proto === 132)) {
    h = hashAdd(h, (u16(l4) ^ u16(l4 + 2)) >>> 0);
  }
  return hashFinish(h, 12);
}
