/**
 * The NetFlow flow cache: one entry per flow as OVS's ofproto/netflow.c keys them, by input port,
 * IPv4 source and destination, TOS, IP protocol and the two L4 ports (ICMP: type and code), i.e.
 * per microflow 5-tuple and input port, whatever OpenFlow entry the packets hit. Each entry counts
 * packets, IP bytes (the IPv4 total length, what a v5 record's dOctets are), the union of TCP flags,
 * the first and last packet's time and the output interface.
 *
 * `account` is the datapath's per-packet call (datapath/flow-accounting.ts): a hash of the key's
 * words, a walk of a short chain, and plain number updates; nothing is allocated for a flow already
 * in the cache. `sweep` (the exporter's once-a-second timer, as OVS's netflow_run) hands over, via
 * `expire`, the counts of each flow whose active timeout ran out (the flow stays) or that was idle
 * for NF_IDLE_TIMEOUT seconds (the flow goes). A flow whose output interface changes has its counts
 * so far expired first, as OVS does. At most `maxFlows` flows: a new flow beyond that expires every
 * flow first (counts are never lost, records only split).
 */
import type { FlowAccounting } from '../datapath/flow-accounting.js';
import { W_DL_TYPE_PCP_TOS, W_IN_PORT_VLAN, W_NW_DST, W_NW_PROTO, W_NW_SRC, W_TP, type FlowKey } from '../flowtable/flow-key.js';
import { NF_IDLE_TIMEOUT, NF_MAX_FLOWS } from './constants.js';

const ETH_TYPE_IP = 0x0800;
const IPPROTO_TCP = 6;

/** One flow's entry (its counts are those since its last export). */
export class NetflowFlow {
  packets = 0;
  bytes = 0;
  tcpFlags = 0;
  /** Clock (ms) of the first packet counted since the last export, and of the last packet. */
  first: number;
  last: number;
  /** When the active timeout last ran out for it (or it was made). */
  lastExpired: number;
  /** The next flow in its hash chain. */
  next: NetflowFlow | null = null;
  readonly hash: number;
  readonly inPort: number;
  readonly nwSrc: number;
  readonly nwDst: number;
  readonly tos: number;
  readonly proto: number;
  /** tp_src in the high 16 bits, tp_dst in the low (the flow key's word). */
  readonly tp: number;
  outIface: number;
  constructor(hash: number, inPort: number, nwSrc: number, nwDst: number, tos: number, proto: number, tp: number, outIface: number, now: number) {
    this.hash = hash;
    this.inPort = inPort;
    this.nwSrc = nwSrc;
    this.nwDst = nwDst;
    this.tos = tos;
    this.proto = proto;
    this.tp = tp;
    this.outIface = outIface;
    this.first = this.last = this.lastExpired = now;
  }
  get tpSrc(): number {
    return this.tp >>> 16;
  }
  get tpDst(): number {
    return this.tp & 0xffff;
  }
}

export interface NetflowCacheOptions {
  /** Milliseconds; 0: no active timeout. */
  readonly activeTimeoutMs: number;
  /** Milliseconds without a packet before a flow is expired and dropped (default NF_IDLE_TIMEOUT s). */
  readonly idleTimeoutMs?: number;
  readonly maxFlows?: number;
  /** The clock, ms (default Date.now). */
  readonly now?: () => number;
  /** Receives a flow's counts (packets > 0) when they are exported; the cache resets them after. */
  readonly expire: (flow: NetflowFlow) => void;
}

export class NetflowCache implements FlowAccounting {
  private readonly chains = new Map<number, NetflowFlow>();
  private count = 0;
  private readonly activeMs: number;
  private readonly idleMs: number;
  private readonly maxFlows: number;
  private readonly now: () => number;
  private readonly expire: (flow: NetflowFlow) => void;

  constructor(options: NetflowCacheOptions) {
    this.activeMs = options.activeTimeoutMs;
    this.idleMs = options.idleTimeoutMs ?? NF_IDLE_TIMEOUT * 1000;
    this.maxFlows = options.maxFlows ?? NF_MAX_FLOWS;
    this.now = options.now ?? Date.now;
    this.expire = options.expire;
  }

  /** Flows in the cache. */
  get size(): number {
    return this.count;
  }

  account(key: FlowKey, frame: Uint8Array, l3Offset: number, l4Offset: number, outIface: number): void {
    const typeTos = key[W_DL_TYPE_PCP_TOS]!;
    if (typeTos >>> 16 !== ETH_TYPE_IP) return;
    const l3 = l3Offset;
    if (l3 < 0 || frame.length < l3 + 4) return;
    const inPort = key[W_IN_PORT_VLAN]! >>> 16;
    const src = key[W_NW_SRC]!;
    const dst = key[W_NW_DST]!;
    const tos = typeTos & 0xff;
    const proto = key[W_NW_PROTO]! & 0xff;
    const tp = key[W_TP]!;
    let h = Math.imul(inPort ^ 0x2545f491, 0x9e3779b1);
    h = Math.imul(h ^ src, 0x85ebca6b);
    h = Math.imul(h ^ dst, 0xc2b2ae35);
    h = Math.imul(h ^ tp, 0x27d4eb2f);
    h = (h ^ (proto << 8) ^ tos ^ (h >>> 15)) | 0;
    const now = this.now();
    let flow = this.chains.get(h) ?? null;
    while (flow !== null && !(flow.inPort === inPort && flow.nwSrc === src && flow.nwDst === dst && flow.tp === tp && flow.proto === proto && flow.tos === tos)) flow = flow.next;
    if (flow === null) {
      if (this.count >= this.maxFlows) this.flush();
      flow = new NetflowFlow(h, inPort, src, dst, tos, proto, tp, outIface, now);
      flow.next = this.chains.get(h) ?? null;
      this.chains.set(h, flow);
      this.count++;
    } else if (flow.outIface !== outIface) {
      this.expireFlow(flow);
      flow.outIface = outIface;
      flow.first = now;
    } else if (flow.packets === 0) {
      flow.first = now;
    }
    flow.packets++;
    flow.bytes += (frame[l3 + 2]! << 8) | frame[l3 + 3]!;
    if (proto === IPPROTO_TCP && l4Offset >= 0 && frame.length > l4Offset + 13) flow.tcpFlags |= frame[l4Offset + 13]!;
    flow.last = now;
  }

  /** The timer's work: active timeouts and idle flows (see above). */
  sweep(): void {
    const now = this.now();
    for (const [h, head] of this.chains) {
      let keep: NetflowFlow | null = null;
      for (let flow: NetflowFlow | null = head; flow !== null; ) {
        const next: NetflowFlow | null = flow.next;
        if (now - flow.last >= this.idleMs) {
          this.expireFlow(flow);
          this.count--;
        } else {
          if (this.activeMs > 0 && now - flow.lastExpired >= this.activeMs) {
            this.expireFlow(flow);
            flow.lastExpired = now;
          }
          flow.next = keep;
          keep = flow;
        }
        flow = next;
      }
      if (keep === null) this.chains.delete(h);
      else this.chains.set(h, keep);
    }
  }

  /** Expires every flow and empties the cache (NetFlow turned off or changed, or the cache full). */
  flush(): void {
    for (const head of this.chains.values()) for (let f: NetflowFlow | null = head; f !== null; f = f.next) this.expireFlow(f);
    this.chains.clear();
    this.count = 0;
  }

  private expireFlow(flow: NetflowFlow): void {
    if (flow.packets > 0) this.expire(flow);
    flow.packets = flow.bytes = flow.tcpFlags = 0;
  }
}
