/**
 * The entry store: the per-entry state that every lookup reads or writes, kept in flat typed
 * arrays indexed by a small entry id instead of on the FlowEntry objects.
 *
 * Why: at 100,000 entries the FlowEntry objects (with their matches and actions, about 1 KB each)
 * are spread over a heap far larger than the CPU caches, so a lookup that reads an entry's rank or
 * bumps its counters pays a cache and TLB miss per entry. Here an entry's hot state is one 32-byte
 * block of one contiguous buffer: rank, packet and byte counters, a version and an idle flag.
 * The classifier and the microflow cache hold entry ids, and only the entry they return is ever
 * touched as an object (by the caller, for its actions).
 *
 * Ids are given when an entry goes into a table (attach) and taken back, for reuse, when it leaves
 * (detach). Detach copies the counters back onto the entry, which keeps reporting them (for
 * FLOW_REMOVED), and bumps the id's version: whoever remembered (id, version) sees at once that
 * the entry is gone, even after the id is reused (the microflow cache relies on this).
 * lastUsed (only for entries with an idle timeout) lives in its own array: most entries never
 * write it.
 */
import type { FlowEntry } from './flow-entry.js';

/** Float64 words per id: packets, bytes, rank, then two int32 words: version and idle flag. */
const F64_STRIDE = 4;
const F_PACKETS = 0;
const F_BYTES = 1;
const F_RANK = 2;
/** Int32 word offsets within an id's block. */
const I_VERSION = 6;
const I_IDLE = 7;
const MIN_IDS = 64;

export class EntryStore {
  /** Per-id blocks as float64 (counters, rank); replaced on growth: read it per lookup, do not keep it. */
  f64 = new Float64Array(MIN_IDS * F64_STRIDE);
  /** The same blocks as int32 (version, idle flag). */
  i32 = new Int32Array(this.f64.buffer);
  /** Last use (ms) of entries with an idle timeout. */
  lastUsed = new Float64Array(MIN_IDS);
  /** The entry holding each id (undefined when free). */
  entries: (FlowEntry | undefined)[] = [];
  /**
   * Freed ids, for reuse: a stack in a typed array as long as the ids' arrays (it never holds
   * more), grown with them. A JavaScript array here grew by copying itself while a large DELETE
   * freed ids: a single push took tens of ms at a million.
   */
  private free = new Int32Array(MIN_IDS);
  private freeCount = 0;
  private next = 0;
  private held = 0;
  /** shrinkIfSparse looks again only once no more entries than this are held, or the top id is freed. */
  private retryShrinkAt = Infinity;
  private topFreed = false;

  /** Ids ever given since the last reset: every attached entry has an id below this (scans go up to it). */
  get highWater(): number {
    return this.next;
  }

  /** Entries attached. */
  get size(): number {
    return this.held;
  }

  /** The entry holding `id`, if any. */
  entryAt(id: number): FlowEntry | undefined {
    return this.entries[id];
  }

  /**
   * Starts afresh, with the memory of an empty store, once no entry is attached (a table emptied
   * of a million entries gives their arrays back). Ids and versions start over: whoever keeps
   * (id, version) pairs (the microflow cache) must forget them.
   */
  reset(): void {
    if (this.held !== 0) throw new Error(`EntryStore.reset with ${this.held} entries attached`);
    this.f64 = new Float64Array(MIN_IDS * F64_STRIDE);
    this.i32 = new Int32Array(this.f64.buffer);
    this.lastUsed = new Float64Array(MIN_IDS);
    this.entries = [];
    this.free = new Int32Array(MIN_IDS);
    this.freeCount = 0;
    this.next = 0;
    this.retryShrinkAt = Infinity;
  }

  /** Gives `e` an id and moves its counters and times here. */
  attach(e: FlowEntry): void {
    let id = this.freeCount > 0 ? this.free[--this.freeCount]! : -1;
    if (id < 0) {
      id = this.next++;
      if (id * F64_STRIDE >= this.f64.length) this.grow();
    }
    const b = id * F64_STRIDE;
    this.f64[b + F_PACKETS] = e.packetCount;
    this.f64[b + F_BYTES] = e.byteCount;
    this.f64[b + F_RANK] = e.rank;
    this.i32[2 * b + I_IDLE] = e.idleTimeout !== 0 ? 1 : 0;
    this.lastUsed[id] = e.lastUsed;
    this.entries[id] = e;
    this.held++;
    e.attachTo(this, id);
  }

  /** Takes `e`'s id back: its counters and times go back onto the entry; the id's version changes. */
  detach(e: FlowEntry): void {
    const id = e.id;
    if (id < 0) return;
    e.detachFrom(this.packets(id), this.bytes(id), this.lastUsed[id]!);
    const v = 2 * id * F64_STRIDE + I_VERSION;
    this.i32[v] = (this.i32[v]! + 1) | 0;
    this.entries[id] = undefined;
    this.held--;
    if (id === this.next - 1) this.topFreed = true;
    this.free[this.freeCount++] = id;
  }

  /**
   * Once at most a quarter of the ids are held, cuts the arrays down to just above the highest id
   * in use (ids are not moved: only a free top goes), so a table that shrank from a million
   * entries gives most of its store back even when it is not empty. True when it did: ids above
   * are then given again with their versions started over, so whoever keeps (id, version) pairs
   * (the microflow cache) must forget them. A scan that finds the top in use is not repeated
   * until the entries have halved again or the top id is freed.
   */
  shrinkIfSparse(): boolean {
    if (this.next <= MIN_IDS || this.held * 4 > this.next) return false;
    if (this.held > this.retryShrinkAt && !this.topFreed) return false;
    this.topFreed = false;
    let top = this.next;
    while (top > 0 && this.entries[top - 1] === undefined) top--;
    if (top * 2 > this.next) {
      this.retryShrinkAt = this.held >> 1;
      return false;
    }
    let cap = MIN_IDS;
    while (cap < top) cap *= 2;
    this.f64 = this.f64.slice(0, cap * F64_STRIDE);
    this.i32 = new Int32Array(this.f64.buffer);
    this.lastUsed = this.lastUsed.slice(0, cap);
    this.entries = this.entries.slice(0, top);
    const free = new Int32Array(cap);
    let freeCount = 0;
    for (let i = 0; i < this.freeCount; i++) if (this.free[i]! < top) free[freeCount++] = this.free[i]!;
    this.free = free;
    this.freeCount = freeCount;
    this.next = top;
    this.retryShrinkAt = Infinity;
    return true;
  }

  /** Counts a packet of `bytes` for id `id` and returns its entry. Hot path. */
  hit(id: number, bytes: number, now: () => number): FlowEntry {
    const b = id * F64_STRIDE;
    const f64 = this.f64;
    f64[b + F_PACKETS]!++;
    f64[b + F_BYTES]! += bytes;
    if (this.i32[2 * b + I_IDLE] !== 0) this.lastUsed[id] = now();
    return this.entries[id]!;
  }

  packets(id: number): number {
    return this.f64[id * F64_STRIDE + F_PACKETS]!;
  }

  bytes(id: number): number {
    return this.f64[id * F64_STRIDE + F_BYTES]!;
  }

  rank(id: number): number {
    return this.f64[id * F64_STRIDE + F_RANK]!;
  }

  version(id: number): number {
    return this.i32[2 * id * F64_STRIDE + I_VERSION]!;
  }

  private grow(): void {
    const f64 = new Float64Array(this.f64.length * 2);
    f64.set(this.f64);
    this.f64 = f64;
    this.i32 = new Int32Array(f64.buffer);
    const lastUsed = new Float64Array(this.lastUsed.length * 2);
    lastUsed.set(this.lastUsed);
    this.lastUsed = lastUsed;
    const free = new Int32Array(lastUsed.length);
    free.set(this.free.subarray(0, this.freeCount));
    this.free = free;
  }
}

/** Index of an id's rank in EntryStore.f64 (for hot loops that read the array directly). */
export function rankIndex(id: number): number {
  return id * F64_STRIDE + F_RANK;
}

/** Index of an id's version in EntryStore.i32. */
export function versionIndex(id: number): number {
  return 2 * id * F64_STRIDE + I_VERSION;
}
