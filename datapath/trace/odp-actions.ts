/**
 * The `Datapath actions:` line of ofproto/trace: what the traced frame really does, in Open
 * vSwitch's datapath action syntax (odp-util.c's format_odp_actions), built from the frames the dry
 * run outputs. As OVS commits header changes lazily (commit_odp_actions), each output is preceded
 * by the changes between the frame as last output (at first: as received) and the frame it sends,
 * only the fields that changed, in commit_odp_actions' order: `set(eth(src=,dst=))`, then
 * `set(ipv4(src=,dst=,tos=X/0xfc))` or `set(ipv6(tclass=X/0xfc))`, then `set(tcp|udp(src=,dst=))`,
 * then the VLAN (`pop_vlan`, `push_vlan(vid=,pcp=)`), then the skb priority: an ENQUEUE's output is
 * preceded by `set(skb_priority(P))` with the queue's priority, and the next output at another
 * priority by the change back (`set(skb_priority(0))`). Then the port. Nothing output is `drop`.
 *
 * A packet-in is OVS's `userspace(pid=0,controller(reason=R,dont_send=1,continuation=0,
 * rule_cookie=C,controller_id=0,max_len=M))`, as its trace prints it whether or not a controller
 * is connected (a trace never sends it: dont_send=1): reason 1 (action), 6 for the CONTROLLER
 * action of a table-miss entry (priority 0, all wildcards: OVS's OFPR_EXPLICIT_MISS), 7 for a table
 * miss (OFPR_IMPLICIT_MISS, with max_len 65535; the agent cuts the frame to miss_send_len).
 *
 * Deliberate differences:
 * - a port is its OpenFlow port number (ofswitch's datapath numbers are the OpenFlow ones; OVS
 *   prints its datapath's own numbers, which `ovs-appctl dpif/show` maps); a port of another
 *   bridge, reached through a patch port, is `BRIDGE:PORT`, since numbers repeat across bridges;
 * - an ENQUEUE's priority is TC_H_MAKE(1:0, queue + 1) (actions.ts queuePriority), as OVS's kernel
 *   datapath (dpif-netlink) gives it, since ofswitch's ports put frames into HTB classes through
 *   the kernel; OVS's userspace datapath (dpif-netdev) prints the queue id itself;
 * - a packet-in has no `recirc_id=N` (OVS allocates a recirculation id to resume a paused
 *   translation; ofswitch has no recirculation);
 * - the line lists what ofswitch's packet path does, where that differs from OVS's: an IPv4 frame
 *   of protocol 0 is rewritten as the actions say, so its `set(ipv4(...))` is listed (OVS's
 *   commit_set_nw_action skips a flow with nw_proto 0); mod_tp_src/mod_tp_dst rewrite TCP and UDP
 *   ports only, as OpenFlow 1.0 defines them (OVS also rewrites SCTP ports, `set(sctp(...))`, and
 *   an ICMP type and code, `set(icmp(...))` in its slow path);
 * - a flood (FLOOD, ALL, NORMAL) leaves by the bridge's ports in port order; OVS's in the order of
 *   its port hash table.
 */
import { newFlowKey } from '../../flowtable/flow-key.js';
import { IPPROTO } from '../../protocol/constants.js';
import { formatIpv4 } from '../../protocol/flow-format.js';
import { L3, newFrameLayout, parseFrame } from '../frame-parser.js';

/** The header fields a commit compares. */
interface Headers {
  dst: string;
  src: string;
  /** The outer tag's TCI, or -1 untagged. */
  tci: number;
  ipv4: boolean;
  nwSrc: number;
  nwDst: number;
  tos: number;
  /** The IPv6 traffic class, or -1 when the frame is not IPv6. */
  tclass: number;
  l4: 'tcp' | 'udp' | null;
  tpSrc: number;
  tpDst: number;
}

/** A number as C's printf `%#x` writes it: `0x` and hex digits, but `0` for zero. */
function hexAlt(v: number | bigint): string {
  return v === 0 || v === 0n ? '0' : `0x${v.toString(16)}`;
}

function hexBytes(f: Uint8Array, o: number): string {
  return [...f.subarray(o, o + 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

function read16(f: Uint8Array, o: number): number {
  return (((f[o] ?? 0) << 8) | (f[o + 1] ?? 0)) >>> 0;
}

function headersOf(frame: Uint8Array): Headers {
  const layout = parseFrame(frame, 0, newFlowKey(), newFrameLayout());
  const l3 = layout.l3Offset;
  const ipv4 = layout.l3Kind === L3.IPV4;
  const l4 = layout.l4Offset >= 0 && (layout.l4Proto === IPPROTO.TCP || layout.l4Proto === IPPROTO.UDP) ? (layout.l4Proto === IPPROTO.TCP ? 'tcp' : 'udp') : null;
  return {
    dst: hexBytes(frame, 0),
    src: hexBytes(frame, 6),
    tci: layout.vlanOffset >= 0 ? read16(frame, layout.vlanOffset + 2) : -1,
    ipv4,
    nwSrc: ipv4 ? ((read16(frame, l3 + 12) << 16) | read16(frame, l3 + 14)) >>> 0 : 0,
    nwDst: ipv4 ? ((read16(frame, l3 + 16) << 16) | read16(frame, l3 + 18)) >>> 0 : 0,
    tos: ipv4 ? (frame[l3 + 1] ?? 0) : 0,
    tclass: layout.l3Kind === L3.IPV6 ? (read16(frame, l3) >>> 4) & 0xff : -1,
    l4,
    tpSrc: l4 !== null ? read16(frame, layout.l4Offset) : 0,
    tpDst: l4 !== null ? read16(frame, layout.l4Offset + 2) : 0,
  };
}

export class DatapathActions {
  private readonly actions: string[] = [];
  private base: Headers;
  /** The skb priority the last output left (a frame arrives with 0). */
  private priority = 0;

  /** `frame`: the frame as received, the base of the first commit. */
  constructor(frame: Uint8Array) {
    this.base = headersOf(frame);
  }

  /** The frame leaves through `port` (as the line names it) with skb priority `priority` (ENQUEUE's; 0 otherwise). */
  output(port: string, frame: Uint8Array, priority = 0): void {
    this.commit(headersOf(frame));
    if (priority !== this.priority) {
      // commit_set_priority_action, last of the commits.
      this.actions.push(`set(skb_priority(${hexAlt(priority)}))`);
      this.priority = priority;
    }
    this.actions.push(port);
  }

  /** A packet-in of `frame`: OVS's (internal) packet-in reason, the entry's cookie, the bytes asked for. */
  controller(reason: number, cookie: bigint, maxLen: number, frame: Uint8Array): void {
    this.commit(headersOf(frame));
    const c = hexAlt(cookie);
    this.actions.push(`userspace(pid=0,controller(reason=${reason},dont_send=1,continuation=0,rule_cookie=${c},controller_id=0,max_len=${maxLen}))`);
  }

  /** The line's text after `Datapath actions: `. */
  text(): string {
    return this.actions.length === 0 ? 'drop' : this.actions.join(',');
  }

  private commit(h: Headers): void {
    const b = this.base;
    const out = this.actions;
    const eth: string[] = [];
    if (h.src !== b.src) eth.push(`src=${h.src}`);
    if (h.dst !== b.dst) eth.push(`dst=${h.dst}`);
    if (eth.length > 0) out.push(`set(eth(${eth.join(',')}))`);
    if (h.ipv4 && b.ipv4) {
      const ip: string[] = [];
      if (h.nwSrc !== b.nwSrc) ip.push(`src=${formatIpv4(h.nwSrc)}`);
      if (h.nwDst !== b.nwDst) ip.push(`dst=${formatIpv4(h.nwDst)}`);
      if ((h.tos & 0xfc) !== (b.tos & 0xfc)) ip.push(`tos=${hexAlt(h.tos & 0xfc)}/0xfc`);
      if (ip.length > 0) out.push(`set(ipv4(${ip.join(',')}))`);
    }
    if (h.tclass >= 0 && b.tclass >= 0 && (h.tclass & 0xfc) !== (b.tclass & 0xfc)) out.push(`set(ipv6(tclass=${hexAlt(h.tclass & 0xfc)}/0xfc))`);
    if (h.l4 !== null && h.l4 === b.l4) {
      const tp: string[] = [];
      if (h.tpSrc !== b.tpSrc) tp.push(`src=${h.tpSrc}`);
      if (h.tpDst !== b.tpDst) tp.push(`dst=${h.tpDst}`);
      if (tp.length > 0) out.push(`set(${h.l4}(${tp.join(',')}))`);
    }
    if (h.tci !== b.tci) {
      if (b.tci >= 0) out.push('pop_vlan');
      if (h.tci >= 0) out.push(`push_vlan(vid=${h.tci & 0x0fff},pcp=${h.tci >>> 13})`);
    }
    this.base = h;
  }
}
