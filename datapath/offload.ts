/**
 * Finishing what a sender's offloads left undone, before a frame enters the packet path.
 *
 * A veth or tap interface with tx offloads on hands AF_PACKET sockets frames the kernel has not
 * finished: a TCP/UDP checksum that is only partial (TP_STATUS_CSUMNOTREADY: the field holds the
 * pseudo-header sum, "hardware" was to add the rest), and with TSO a GSO super-frame, one TCP
 * segment far larger than the MTU to be cut into `gsoSize`-byte segments. A switch forwards what
 * would be on a wire, so:
 * - `completeChecksum` computes the L4 checksum of a frame from scratch, in place;
 * - `segmentTcp` cuts a TCP super-frame into wire-sized frames, each with its own IP length and
 *   identification, sequence number, flags (FIN and PSH on the last only, CWR on the first only)
 *   and complete checksums, as the kernel's own software GSO does.
 */
import { newFlowKey } from '../flowtable/flow-key.js';
import { IPPROTO } from '../protocol/constants.js';
import { internetChecksum, onesComplementSum } from './checksum.js';
import { L3, newFrameLayout, parseFrame, type FrameLayout } from './frame-parser.js';

const scratchKey = newFlowKey();
const scratchLayout = newFrameLayout();

const IPV4_CSUM = 10;
const IPV4_TOT_LEN = 2;
const IPV4_ID = 4;
const IPV6_PLEN = 4;
const IPV6_HLEN = 40;
const TCP_SEQ = 4;
const TCP_FLAGS = 13;
const TCP_CSUM = 16;
const UDP_CSUM = 6;
const TCP_FIN = 0x01;
const TCP_PSH = 0x08;
const TCP_CWR = 0x80;

/** Where the L4 segment of a parsed IPv4/IPv6 frame ends (its IP length, not the frame's). */
function l4End(frame: Uint8Array, layout: FrameLayout): number {
  const l3 = layout.l3Offset;
  const ipLen =
    layout.l3Kind === L3.IPV4
      ? ((frame[l3 + IPV4_TOT_LEN] as number) << 8) | (frame[l3 + IPV4_TOT_LEN + 1] as number)
      : IPV6_HLEN + (((frame[l3 + IPV6_PLEN] as number) << 8) | (frame[l3 + IPV6_PLEN + 1] as number));
  return Math.min(frame.length, l3 + ipLen);
}

/** The one's-complement sum of the pseudo-header for an L4 segment of `l4Len` bytes. */
function pseudoHeaderSum(frame: Uint8Array, layout: FrameLayout, l4Len: number): number {
  const l3 = layout.l3Offset;
  const base = layout.l4Proto + l4Len;
  return layout.l3Kind === L3.IPV4
    ? onesComplementSum(frame, l3 + 12, l3 + 20, base)
    : onesComplementSum(frame, l3 + 8, l3 + 40, base);
}

function writeU16(f: Uint8Array, at: number, v: number): void {
  f[at] = (v >>> 8) & 0xff;
  f[at + 1] = v & 0xff;
}

/** Writes the L4 checksum of a parsed TCP/UDP frame whose segment is [l4Offset, end). */
function fillL4Checksum(frame: Uint8Array, layout: FrameLayout, end: number): void {
  const l4 = layout.l4Offset;
  const at = l4 + (layout.l4Proto === IPPROTO.TCP ? TCP_CSUM : UDP_CSUM);
  writeU16(frame, at, 0);
  let sum = internetChecksum(frame, l4, end, pseudoHeaderSum(frame, layout, end - l4));
  if (sum === 0 && layout.l4Proto === IPPROTO.UDP) sum = 0xffff; // 0 means "no checksum" in UDP
  writeU16(frame, at, sum);
}

/**
 * Completes the TCP or UDP checksum of an unfragmented IPv4/IPv6 frame, in place. Returns false
 * (frame untouched) when the frame carries no such segment.
 */
export function completeChecksum(frame: Uint8Array): boolean {
  const layout = parseFrame(frame, 0, scratchKey, scratchLayout);
  if (layout.fragment || layout.l4Offset < 0) return false;
  if (layout.l4Proto !== IPPROTO.TCP && layout.l4Proto !== IPPROTO.UDP) return false;
  fillL4Checksum(frame, layout, l4End(frame, layout));
  return true;
}

/**
 * Cuts a TCP super-frame into frames carrying at most `gsoSize` payload bytes each, handing each
 * (valid during the call only) to `emit`. Returns how many frames were emitted; 0 when the frame
 * is not an unfragmented TCP/IPv4 or TCP/IPv6 frame (nothing is emitted then).
 */
export function segmentTcp(frame: Uint8Array, gsoSize: number, emit: (segment: Uint8Array) => void): number {
  const layout = parseFrame(frame, 0, scratchKey, scratchLayout);
  if (layout.fragment || layout.l4Proto !== IPPROTO.TCP || layout.l4Offset < 0 || gsoSize <= 0) return 0;
  const l3 = layout.l3Offset;
  const l4 = layout.l4Offset;
  const isV4 = layout.l3Kind === L3.IPV4;
  const headerLen = l4 + ((frame[l4 + 12] as number) >>> 4) * 4;
  const end = l4End(frame, layout);
  if (headerLen > end) return 0;
  const seq0 = readU32(frame, l4 + TCP_SEQ);
  const id0 = isV4 ? ((frame[l3 + IPV4_ID] as number) << 8) | (frame[l3 + IPV4_ID + 1] as number) : 0;
  const flags0 = frame[l4 + TCP_FLAGS] as number;
  const out = new Uint8Array(headerLen + gsoSize);
  const outLayout: FrameLayout = { ...layout };
  let count = 0;
  let at = headerLen;
  do {
    const chunk = Math.min(gsoSize, end - at);
    const last = at + chunk >= end;
    out.set(frame.subarray(0, headerLen), 0);
    out.set(frame.subarray(at, at + chunk), headerLen);
    const seg = out.subarray(0, headerLen + chunk);
    if (isV4) {
      writeU16(seg, l3 + IPV4_TOT_LEN, headerLen + chunk - l3);
      writeU16(seg, l3 + IPV4_ID, (id0 + count) & 0xffff);
      writeU16(seg, l3 + IPV4_CSUM, 0);
      const ihl = ((seg[l3] as number) & 0x0f) * 4;
      writeU16(seg, l3 + IPV4_CSUM, internetChecksum(seg, l3, l3 + ihl));
    } else {
      writeU16(seg, l3 + IPV6_PLEN, headerLen + chunk - l3 - IPV6_HLEN);
    }
    writeU32(seg, l4 + TCP_SEQ, (seq0 + (at - headerLen)) >>> 0);
    let flags = flags0;
    if (!last) flags &= ~(TCP_FIN | TCP_PSH);
    if (count > 0) flags &= ~TCP_CWR;
    seg[l4 + TCP_FLAGS] = flags;
    fillL4Checksum(seg, outLayout, seg.length);
    emit(seg);
    count++;
    at += chunk;
  } while (at < end);
  return count;
}

function readU32(f: Uint8Array, at: number): number {
  return (((f[at] as number) << 24) | ((f[at + 1] as number) << 16) | ((f[at + 2] as number) << 8) | (f[at + 3] as number)) >>> 0;
}

function writeU32(f: Uint8Array, at: number, v: number): void {
  f[at] = (v >>> 24) & 0xff;
  f[at + 1] = (v >>> 16) & 0xff;
  f[at + 2] = (v >>> 8) & 0xff;
  f[at + 3] = v & 0xff;
}
