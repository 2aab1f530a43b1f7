/**
 * Action execution: an OpenFlow 1.0 action list applied to one frame, in list order.
 *
 * Rewrites change the frame as it is at that point, so an output sends the frame with every
 * modification listed before it and none after. A frame the caller does not own (a PACKET_OUT's
 * data, a buffered packet) is copied before its first rewrite; a frame it owns (the receive
 * buffer) is rewritten in place. Outputs are synchronous: whoever receives a frame through
 * `ActionOutputs.output` must send or copy it before returning.
 *
 * Rewrites use the FrameLayout from parsing (no second parse) and keep it right when a VLAN tag is
 * pushed or stripped. Checksums are updated incrementally (RFC 1624): IPv4 header on SET_NW_*;
 * TCP and UDP over the IPv4 or IPv6 pseudo-header on SET_NW_SRC/DST and SET_TP_SRC/DST. A UDP
 * checksum of 0 (none) stays 0. A rewrite whose header the frame lacks does nothing, as in Open
 * vSwitch (SET_NW_SRC on ARP, SET_TP_SRC on ICMP, anything on a later fragment's missing L4).
 */
import { ETH_HEADER_LEN, ETH_TYPE, HTB, IPPROTO, OFPAT, VLAN_HEADER_LEN } from '../protocol/constants.js';
import type { Action, MacAddress } from '../protocol/types.js';
import { adjustChecksum16, adjustChecksum32 } from './checksum.js';
import { L3, type FrameLayout } from './frame-parser.js';

export interface ActionOutputs {
  /**
   * Sends `frame` to `port` (a port number or an OFPP value such as FLOOD or CONTROLLER).
   * `maxLen` is the OUTPUT action's max_len (for CONTROLLER). The frame is valid only during the call.
   * `priority`: the skb priority an ENQUEUE gives the frame (queuePriority), 0 for OUTPUT.
   */
  output(port: number, maxLen: number, frame: Uint8Array, layout: FrameLayout, priority?: number): void;
}

/**
 * The skb priority that puts a frame in queue `queueId` of a linux-htb port: TC_H_MAKE(1:0,
 * queueId + 1), as Open vSwitch's kernel datapath sets it for set_queue. A queue the port does not
 * have has no class: HTB sends the frame by its default class (queue 0), as in Open vSwitch. A
 * queue id HTB cannot number gets 0 (the default class too), as OVS leaves the priority unchanged.
 */
export function queuePriority(queueId: number): number {
  return queueId >= 0 && queueId < HTB.N_QUEUES ? ((HTB.MAJOR << 16) | (queueId + 1)) >>> 0 : 0;
}

/**
 * Applies `actions` to `frame` (described by `layout`, which is updated as the frame changes),
 * handing each output to `outputs`. `owned`: the frame may be rewritten in place. Returns the
 * frame as the last action left it (`frame` itself, or the copy rewritten).
 */
export function runActions(
  frame: Uint8Array,
  layout: FrameLayout,
  actions: readonly Action[],
  outputs: ActionOutputs,
  owned: boolean,
): Uint8Array {
  let f = frame;
  let mine = owned;
  for (let i = 0; i < actions.length; i++) {
    const a = actions[i] as Action;
    switch (a.type) {
      case OFPAT.OUTPUT:
        outputs.output(a.port, a.maxLen, f, layout);
        continue;
      case OFPAT.ENQUEUE: // the port's queue: its HTB class, by the frame's priority (qos/)
        outputs.output(a.port, 0, f, layout, queuePriority(a.queueId));
        continue;
      case OFPAT.VENDOR:
        continue;
      case OFPAT.SET_VLAN_VID:
      case OFPAT.SET_VLAN_PCP:
      case OFPAT.STRIP_VLAN:
        // These may change the length: they build a new frame (or rewrite the tag in place).
        f = rewriteVlan(f, layout, a, mine);
        mine = true;
        continue;
      default:
        if (!mine) {
          f = f.slice();
          mine = true;
        }
        applyRewrite(f, layout, a);
    }
  }
  return f;
}

/** Applies one in-place rewrite action (anything but outputs and VLAN tag changes). */
export function applyRewrite(f: Uint8Array, layout: FrameLayout, a: Action): void {
  switch (a.type) {
    case OFPAT.SET_DL_SRC:
      if (f.length >= 12) f.set(macBytes(a.dlAddr), 6);
      return;
    case OFPAT.SET_DL_DST:
      if (f.length >= 6) f.set(macBytes(a.dlAddr), 0);
      return;
    case OFPAT.SET_NW_SRC:
      setIpv4Address(f, layout, 12, a.nwAddr);
      return;
    case OFPAT.SET_NW_DST:
      setIpv4Address(f, layout, 16, a.nwAddr);
      return;
    case OFPAT.SET_NW_TOS:
      setNwTos(f, layout, a.nwTos);
      return;
    case OFPAT.SET_TP_SRC:
      setTpPort(f, layout, 0, a.tpPort);
      return;
    case OFPAT.SET_TP_DST:
      setTpPort(f, layout, 2, a.tpPort);
      return;
    default:
      return;
  }
}

// ---- VLAN tag ------------------------------------------------------------------------------------

/** SET_VLAN_VID, SET_VLAN_PCP (pushing a tag when there is none) and STRIP_VLAN. */
function rewriteVlan(f: Uint8Array, layout: FrameLayout, a: Action, owned: boolean): Uint8Array {
  if (f.length < ETH_HEADER_LEN) return f;
  if (a.type === OFPAT.STRIP_VLAN) {
    if (layout.vlanOffset < 0) return f;
    const out = new Uint8Array(f.length - VLAN_HEADER_LEN);
    out.set(f.subarray(0, 12));
    out.set(f.subarray(16), 12);
    layout.vlanOffset = -1;
    shiftLayout(layout, -VLAN_HEADER_LEN);
    return out;
  }
  let out = f;
  if (layout.vlanOffset < 0) {
    out = new Uint8Array(f.length + VLAN_HEADER_LEN);
    out.set(f.subarray(0, 12));
    out[12] = ETH_TYPE.VLAN >>> 8;
    out[13] = ETH_TYPE.VLAN & 0xff;
    out.set(f.subarray(12), 16); // TCI stays 0: the other field of a pushed tag is 0
    layout.vlanOffset = 12;
    shiftLayout(layout, VLAN_HEADER_LEN);
  } else if (!owned) {
    out = f.slice();
  }
  const tci = ((out[14] as number) << 8) | (out[15] as number);
  let next = tci;
  if (a.type === OFPAT.SET_VLAN_VID) next = (tci & 0xf000) | (a.vlanVid & 0x0fff);
  else if (a.type === OFPAT.SET_VLAN_PCP) next = (tci & 0x0fff) | ((a.vlanPcp & 0x7) << 13);
  out[14] = next >>> 8;
  out[15] = next & 0xff;
  return out;
}

function shiftLayout(layout: FrameLayout, by: number): void {
  if (layout.l3Offset >= 0) layout.l3Offset += by;
  if (layout.l4Offset >= 0) layout.l4Offset += by;
}

// ---- L2 ------------------------------------------------------------------------------------------

const macCache = new Map<MacAddress, Uint8Array>();

/** The 6 bytes of a MAC address string (cached: actions repeat the same few addresses). */
export function macBytes(mac: MacAddress): Uint8Array {
  let b = macCache.get(mac);
  if (!b) {
    b = Uint8Array.from(mac.split(':').map((h) => parseInt(h, 16) & 0xff));
    if (macCache.size > 4096) macCache.clear();
    macCache.set(mac, b);
  }
  return b;
}

// ---- L3 / L4 -------------------------------------------------------------------------------------

function read16(f: Uint8Array, o: number): number {
  return ((f[o] as number) << 8) | (f[o + 1] as number);
}
function write16(f: Uint8Array, o: number, v: number): void {
  f[o] = v >>> 8;
  f[o + 1] = v & 0xff;
}

/** Offset of the TCP or UDP checksum, or -1 when the frame has no such L4 header. */
function l4ChecksumOffset(layout: FrameLayout): number {
  if (layout.l4Offset < 0) return -1;
  if (layout.l4Proto === IPPROTO.TCP) return layout.l4Offset + 16;
  if (layout.l4Proto === IPPROTO.UDP) return layout.l4Offset + 6;
  return -1;
}

/** Updates the L4 checksum for a changed 16-bit word of the segment or its pseudo-header. */
function adjustL4Checksum(f: Uint8Array, layout: FrameLayout, oldWord: number, newWord: number): void {
  const at = l4ChecksumOffset(layout);
  if (at < 0) return;
  if (layout.l4Proto === IPPROTO.UDP) {
    if (read16(f, at) === 0) return; // no checksum
    adjustChecksum16(f, at, oldWord, newWord);
    if (read16(f, at) === 0) write16(f, at, 0xffff);
  } else {
    adjustChecksum16(f, at, oldWord, newWord);
  }
}

/** SET_NW_SRC (field at 12) / SET_NW_DST (16) on IPv4: header and TCP/UDP checksums updated. */
function setIpv4Address(f: Uint8Array, layout: FrameLayout, field: number, addr: number): void {
  if (layout.l3Kind !== L3.IPV4) return;
  const o = layout.l3Offset + field;
  const hi = read16(f, o);
  const lo = read16(f, o + 2);
  const newHi = (addr >>> 16) & 0xffff;
  const newLo = addr & 0xffff;
  write16(f, o, newHi);
  write16(f, o + 2, newLo);
  const old = ((hi << 16) | lo) >>> 0;
  adjustChecksum32(f, layout.l3Offset + 10, old, addr >>> 0);
  adjustL4Checksum(f, layout, hi, newHi);
  adjustL4Checksum(f, layout, lo, newLo);
}

/** SET_NW_TOS: the DSCP bits of the IPv4 ToS or IPv6 traffic class; ECN bits kept. */
function setNwTos(f: Uint8Array, layout: FrameLayout, tos: number): void {
  const o = layout.l3Offset;
  if (layout.l3Kind === L3.IPV4) {
    const oldWord = read16(f, o);
    f[o + 1] = ((f[o + 1] as number) & 0x03) | (tos & 0xfc);
    adjustChecksum16(f, o + 10, oldWord, read16(f, o));
  } else if (layout.l3Kind === L3.IPV6) {
    // Version(4) | traffic class(8) | flow label(20): the class straddles bytes 0 and 1.
    const tc = ((((f[o] as number) & 0x0f) << 4) | ((f[o + 1] as number) >>> 4)) & 0x03;
    const next = tc | (tos & 0xfc);
    f[o] = ((f[o] as number) & 0xf0) | (next >>> 4);
    f[o + 1] = ((f[o + 1] as number) & 0x0f) | ((next & 0x0f) << 4);
  }
}

/** SET_TP_SRC (field 0) / SET_TP_DST (field 2) on TCP or UDP, over IPv4 or IPv6. */
function setTpPort(f: Uint8Array, layout: FrameLayout, field: number, port: number): void {
  if (l4ChecksumOffset(layout) < 0) return;
  const o = layout.l4Offset + field;
  const old = read16(f, o);
  write16(f, o, port & 0xffff);
  adjustL4Checksum(f, layout, old, port & 0xffff);
}
