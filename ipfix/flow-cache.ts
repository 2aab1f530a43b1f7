/**
 * The IPFIX flow cache, with the semantics of Open vSwitch's bridge exporter (ofproto-dpif-ipfix.c),
 * which are not NetFlow's (netflow/flow-cache.ts keeps a flow until it is idle and exports its
 * counts every active timeout; its key is the 5-tuple and input port):
 * - a flow's key is the whole flow-key part of its data record (template, MACs, EtherType, VLAN,
 *   interfaces, direction, IP version/TTL/TOS/protocol, addresses, ports), as bytes;
 * - a sample with a key already cached is aggregated into that entry (deltas added, the exporter's
 *   running totals taken over, first/last times widened); otherwise it becomes a new entry,
 *   appended to a list in order of creation;
 * - `expire` walks that list from the oldest entry and removes and exports each one that is
 *   `forced` (FORCED_END: IPFIX turned off or changed), whose start lies `cacheActiveTimeout`
 *   seconds or more in the past (ACTIVE_TIMEOUT), or while the cache holds more than
 *   `cacheMaxFlows` entries (LACK_OF_RESOURCES); it stops at the first entry none of that applies
 *   to. With either setting 0 (OVS's defaults) every sample is exported as it arrives.
 * So an entry never outlives the active timeout: an idle flow is exported at the latest that long
 * after its first packet, and there is no separate idle timeout (as in OVS).
 *
 * Lookups hash the key bytes into a Map of short chains; nothing is allocated for a sample of a
 * cached flow.
 */
import { FLOW_END_REASON } from './constants.js';

/** One sampled packet's counts (OVS's ipfix_cache_entry_init), or a cached flow's sums of them. */
export class IpfixCounters {
  /** Wall-clock µs of the first and the last sample. */
  startUs = 0;
  endUs = 0;
  droppedPacketDelta = 0;
  packetDelta = 0;
  postMcastPacketDelta = 0;
  layer2OctetDelta = 0;
  droppedOctetDelta = 0;
  octetDelta = 0;
  octetDeltaSumOfSquares = 0;
  /** 0 when not IP. */
  minIpTotalLength = 0;
  maxIpTotalLength = 0;
  postMcastOctetDelta = 0;
  /** TCP flags seen (the union). */
  tcpFlags = 0;

  /** Copies every field of `from`. */
  assign(from: IpfixCounters): void {
    this.startUs = from.startUs;
    this.endUs = from.endUs;
    this.droppedPacketDelta = from.droppedPacketDelta;
    this.packetDelta = from.packetDelta;
    this.postMcastPacketDelta = from.postMcastPacketDelta;
    this.layer2OctetDelta = from.layer2OctetDelta;
    this.droppedOctetDelta = from.droppedOctetDelta;
    this.octetDelta = from.octetDelta;
    this.octetDeltaSumOfSquares = from.octetDeltaSumOfSquares;
    this.minIpTotalLength = from.minIpTotalLength;
    this.maxIpTotalLength = from.maxIpTotalLength;
    this.postMcastOctetDelta = from.postMcastOctetDelta;
    this.tcpFlags = from.tcpFlags;
  }

  /** Adds `from` (OVS's ipfix_cache_aggregate_entries(from, this), for the delta counters). */
  aggregate(from: IpfixCounters): void {
    if (this.startUs > from.startUs) this.startUs = from.startUs;
    if (this.endUs < from.endUs) this.endUs = from.endUs;
    this.droppedPacketDelta += from.droppedPacketDelta;
    this.packetDelta += from.packetDelta;
    this.postMcastPacketDelta += from.postMcastPacketDelta;
    this.layer2OctetDelta += from.layer2OctetDelta;
    this.droppedOctetDelta += from.droppedOctetDelta;
    this.octetDelta += from.octetDelta;
    this.octetDeltaSumOfSquares += from.octetDeltaSumOfSquares;
    if (this.minIpTotalLength === 0 || (from.minIpTotalLength !== 0 && this.minIpTotalLength > from.minIpTotalLength)) this.minIpTotalLength = from.minIpTotalLength;
    if (this.maxIpTotalLength < from.maxIpTotalLength) this.maxIpTotalLength = from.maxIpTotalLength;
    this.postMcastOctetDelta += from.postMcastOctetDelta;
    this.tcpFlags |= from.tcpFlags;
  }
}

/** A cached flow: its key bytes and template, its counters, its places in the chain and the list. */
export class IpfixEntry extends IpfixCounters {
  readonly key: Buffer;
  readonly templateId: number;
  readonly hash: number;
  chainNext: IpfixEntry | null = null;
  older: IpfixEntry | null = null;
  newer: IpfixEntry | null = null;
  constructor(key: Buffer, templateId: number, hash: number) {
    super();
    this.key = key;
    this.templateId = templateId;
    this.hash = hash;
  }
}

export type FlowEndReason = (typeof FLOW_END_REASON)[keyof typeof FLOW_END_REASON];

/** FNV-1a over the key bytes and the template id. */
export function hashKey(key: Uint8Array, len: number, templateId: number): number {
  let h = (0x811c9dc5 ^ templateId) >>> 0;
  for (let i = 0; i < len; i++) h = Math.imul(h ^ key[i]!, 0x01000193);
  return h | 0;
}

export interface IpfixCacheOptions {
  /** Seconds (0: caching off). */
  readonly activeTimeout: number;
  /** Entries at most (0: caching off). */
  readonly maxFlows: number;
  /** Receives each entry the cache lets go, with why. */
  readonly export: (entry: IpfixEntry, reason: FlowEndReason) => void;
}

export class IpfixCache {
  private readonly chains = new Map<number, IpfixEntry>();
  private oldest: IpfixEntry | null = null;
  private newest: IpfixEntry | null = null;
  private count = 0;
  private readonly activeUs: number;
  private readonly maxFlows: number;
  private readonly exportEntry: (entry: IpfixEntry, reason: FlowEndReason) => void;

  constructor(options: IpfixCacheOptions) {
    this.activeUs = options.activeTimeout * 1e6;
    this.maxFlows = options.maxFlows;
    this.exportEntry = options.export;
  }

  /** Entries in the cache. */
  get size(): number {
    return this.count;
  }

  /**
   * A sample of the flow whose key is `key[0..len)` (a scratch buffer the caller reuses) and
   * template `templateId`. True when it made a new entry. `nowUs` is the time expiry is judged by
   * when the cache overflows.
   */
  update(key: Buffer, len: number, templateId: number, sample: IpfixCounters, nowUs: number): boolean {
    const hash = hashKey(key, len, templateId);
    let e = this.chains.get(hash) ?? null;
    while (e !== null && !(e.templateId === templateId && e.key.length === len && key.compare(e.key, 0, len, 0, len) === 0)) e = e.chainNext;
    if (e !== null) {
      e.aggregate(sample);
      return false;
    }
    e = new IpfixEntry(Buffer.from(key.subarray(0, len)), templateId, hash);
    e.assign(sample);
    e.chainNext = this.chains.get(hash) ?? null;
    this.chains.set(hash, e);
    e.older = this.newest;
    if (this.newest) this.newest.newer = e;
    else this.oldest = e;
    this.newest = e;
    this.count++;
    if (this.count > this.maxFlows) this.expire(false, nowUs);
    return true;
  }

  /** OVS's dpif_ipfix_cache_expire (see above). */
  expire(forced: boolean, nowUs: number): void {
    const maxStart = nowUs - this.activeUs;
    for (let e = this.oldest; e !== null; e = this.oldest) {
      let reason: FlowEndReason;
      if (forced) reason = FLOW_END_REASON.FORCED_END;
      else if (e.startUs <= maxStart) reason = FLOW_END_REASON.ACTIVE_TIMEOUT;
      else if (this.count > this.maxFlows) reason = FLOW_END_REASON.LACK_OF_RESOURCES;
      else break;
      this.remove(e);
      this.exportEntry(e, reason);
    }
  }

  private remove(e: IpfixEntry): void {
    this.oldest = e.newer;
    if (this.oldest) this.oldest.older = null;
    else this.newest = null;
    this.count--;
    const head = this.chains.get(e.hash)!;
    if (head === e) {
      if (e.chainNext) this.chains.set(e.hash, e.chainNext);
      else this.chains.delete(e.hash);
    } else {
      let p = head;
      while (p.chainNext !== e) p = p.chainNext!;
      p.chainNext = e.chainNext;
    }
  }
}
