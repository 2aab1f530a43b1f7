/**
 * Test frames built from scratch, and checksums verified from scratch (a plain reference, not the
 * incremental code under test).
 */

export interface FrameOptions {
  dst?: string;
  src?: string;
  /** Push an 802.1Q tag. */
  vlan?: { vid: number; pcp?: number };
}

export function macBytes(mac: string): number[] {
  return mac.split(':').map((h) => parseInt(h, 16));
}

function be16(v: number): number[] {
  return [(v >>> 8) & 0xff, v & 0xff];
}
function be32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

/** Reference one's-complement checksum of a byte list. */
export function refChecksum(bytes: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += ((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

export function ethFrame(type: number, payload: number[], o: FrameOptions = {}): Uint8Array {
  const head = [...macBytes(o.dst ?? '02:00:00:00:00:02'), ...macBytes(o.src ?? '02:00:00:00:00:01')];
  if (o.vlan) head.push(0x81, 0x00, ...be16(((o.vlan.pcp ?? 0) << 13) | o.vlan.vid));
  return Uint8Array.from([...head, ...be16(type), ...payload]);
}

export interface Ipv4Options {
  src?: number;
  dst?: number;
  proto: number;
  tos?: number;
  ttl?: number;
  options?: number[];
  /** Fragment offset in 8-byte units, and the more-fragments flag. */
  fragOffset?: number;
  moreFragments?: boolean;
}

export function ipv4Packet(o: Ipv4Options, l4: number[]): number[] {
  const opts = o.options ?? [];
  const hlen = 20 + opts.length;
  const h = [
    0x40 | (hlen / 4), o.tos ?? 0, ...be16(hlen + l4.length), 0x12, 0x34,
    ...be16(((o.moreFragments ? 1 : 0) << 13) | (o.fragOffset ?? 0)), o.ttl ?? 64, o.proto, 0, 0,
    ...be32(o.src ?? 0x0a000001), ...be32(o.dst ?? 0x0a000002), ...opts,
  ];
  const c = refChecksum(h);
  h[10] = c >>> 8;
  h[11] = c & 0xff;
  return [...h, ...l4];
}

export function ipv6Packet(nextHeader: number, l4: number[], tc = 0, src = ipv6('fd00::1'), dst = ipv6('fd00::2')): number[] {
  return [0x60 | (tc >>> 4), (tc & 0x0f) << 4, 0, 0, ...be16(l4.length), nextHeader, 64, ...src, ...dst, ...l4];
}

export function ipv6(text: string): number[] {
  const [head = '', tail = ''] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const words = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return words.flatMap((w) => be16(parseInt(w, 16)));
}

export function tcpSegment(sport: number, dport: number, payload: number[] = [1, 2, 3]): number[] {
  return [...be16(sport), ...be16(dport), 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0, ...payload];
}
export function udpDatagram(sport: number, dport: number, payload: number[] = [9, 8, 7]): number[] {
  return [...be16(sport), ...be16(dport), ...be16(8 + payload.length), 0, 0, ...payload];
}
export function icmpMessage(type: number, code: number): number[] {
  const m = [type, code, 0, 0, 0, 1, 0, 1, 0xaa, 0xbb];
  const c = refChecksum(m);
  m[2] = c >>> 8;
  m[3] = c & 0xff;
  return m;
}

/** Fills in a TCP (proto 6) or UDP (17) checksum over the IPv4 pseudo-header. */
export function withL4Checksum4(ip: number[]): number[] {
  const out = [...ip];
  const hlen = ((out[0] ?? 0) & 0x0f) * 4;
  const proto = out[9] ?? 0;
  const at = hlen + (proto === 6 ? 16 : 6);
  out[at] = 0;
  out[at + 1] = 0;
  const c = l4Checksum4(out, hlen);
  out[at] = c >>> 8;
  out[at + 1] = c & 0xff;
  return out;
}

/** Reference TCP/UDP checksum over the IPv4 pseudo-header (checksum field must be zero). */
function l4Checksum4(ip: ArrayLike<number>, hlen: number): number {
  const seg = Array.from(ip).slice(hlen);
  const pseudo = [...Array.from(ip).slice(12, 20), 0, ip[9] ?? 0, ...be16(seg.length)];
  return refChecksum([...pseudo, ...seg]);
}

export function withL4Checksum6(ip: number[]): number[] {
  const out = [...ip];
  const proto = out[6] ?? 0;
  const at = 40 + (proto === 6 ? 16 : 6);
  out[at] = 0;
  out[at + 1] = 0;
  const seg = out.slice(40);
  const c = refChecksum([...out.slice(8, 40), ...be32(seg.length), 0, 0, 0, proto, ...seg]);
  out[at] = c >>> 8;
  out[at + 1] = c & 0xff;
  return out;
}

/**
 * Verifies from scratch the IPv4 header checksum and the TCP/UDP checksum of a frame whose network
 * header starts at `l3`. Returns a list of what is wrong (empty when all is right); a frame with
 * no IP header at `l3` is wrong, since nothing could be checked.
 */
export function checksumProblems(frame: Uint8Array, l3: number): string[] {
  const problems: string[] = [];
  const version = (frame[l3] ?? 0) >>> 4;
  if (version === 4) {
    const hlen = ((frame[l3] ?? 0) & 0x0f) * 4;
    if (refChecksum(frame.subarray(l3, l3 + hlen)) !== 0) problems.push('ipv4 header checksum');
    const proto = frame[l3 + 9] ?? 0;
    const total = ((frame[l3 + 2] ?? 0) << 8) | (frame[l3 + 3] ?? 0);
    const seg = Array.from(frame.subarray(l3 + hlen, l3 + total));
    if (proto === 17 && seg[6] === 0 && seg[7] === 0) return problems;
    const fragOffset = (((frame[l3 + 6] ?? 0) << 8) | (frame[l3 + 7] ?? 0)) & 0x1fff;
    if (fragOffset !== 0) return problems; // a later fragment carries no L4 header
    if (proto === 6 || proto === 17) {
      const pseudo = [...Array.from(frame.subarray(l3 + 12, l3 + 20)), 0, proto, ...be16(seg.length)];
      if (refChecksum([...pseudo, ...seg]) !== 0) problems.push(`${proto === 6 ? 'tcp' : 'udp'} checksum`);
    }
  } else if (version === 6) {
    const proto = frame[l3 + 6] ?? 0;
    const plen = ((frame[l3 + 4] ?? 0) << 8) | (frame[l3 + 5] ?? 0);
    const seg = Array.from(frame.subarray(l3 + 40, l3 + 40 + plen));
    const pseudo = [...Array.from(frame.subarray(l3 + 8, l3 + 40)), ...be32(seg.length), 0, 0, 0, proto];
    if ((proto === 6 || proto === 17) && refChecksum([...pseudo, ...seg]) !== 0) problems.push('l4 checksum over ipv6');
  } else {
    problems.push(`no IPv4 or IPv6 header at offset ${l3} (version ${version})`); // nothing was checked
  }
  return problems;
}

export function hex(f: Uint8Array): string {
  return Buffer.from(f).toString('hex');
}
