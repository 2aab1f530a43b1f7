/**
 * The classifier: finds the highest-ranked flow entry matching a packet's flow key.
 *
 * Design: tuple-space search, as in Open vSwitch's lib/classifier.c.
 * - Entries are grouped by their mask (the "tuple"): one Subtable per distinct mask. Within a
 *   subtable every entry is found by exact match on the masked key, so one hash probe decides it.
 *   Entries with the same match and different priorities share one bucket, sorted by rank.
 * - A subtable hashes the nine masked key words, unrolled, with the mask held in plain fields of
 *   the subtable object (cheaper than looping over index arrays: fewer objects to reach). Its
 *   hash table is open addressing with linear probing over one typed array of slot records (the
 *   hash, the id of the slot's best entry, then the masked key words: a probe touches one cache
 *   line or two), backward-shift deletion, load at most 1/2. Lookups deal in entry ids
 *   (entry-store.ts): a candidate's rank is read from the store's flat array, never from the
 *   FlowEntry object, so at 100,000 entries a lookup touches no object outside the classifier.
 * - Each subtable keeps a small one-hash Bloom filter of its values (4 bits per slot): most probes
 *   are misses, and the bitset (a few KB, cache-resident) answers them without reading the slot
 *   records, which at 100,000 entries are far out of cache.
 * - Subtables are kept sorted by the highest rank they hold (`maxRank`). Lookup walks them in that
 *   order and stops at the first subtable whose maxRank cannot beat the best entry found so far
 *   (early exit): a packet that hits a high-priority entry does not look at low-priority masks.
 * - Ranks are unique (priority, then exact-match request, then age: see FlowEntry.rank), so the
 *   result is a function of the table alone, independent of subtable order or history.
 * - maxRank is maintained with a lazy max-heap per subtable: removals just leave dead entries in
 *   the heap, dropped when they reach the top; the heap is rebuilt when it is mostly dead.
 * - Prefix filtering (prefix-filter.ts): before probing a subtable, the packet's nw_src and
 *   nw_dst are checked against the prefix lengths present in the whole table; a subtable whose
 *   nw_src or nw_dst prefix length no entry can match for this address is skipped without
 *   hashing. One array read per field per lookup, one bit test per subtable: on ACL-like tables
 *   most subtables are skipped this way.
 * - Subtables are created on the first entry of a new mask and dropped when they empty.
 *
 * Correctness under change needs nothing else here: the classifier is updated synchronously by the
 * flow table, so every lookup sees the current table. (The microflow cache in front of it has its
 * own invalidation, see microflow-cache.ts.)
 */
import { FLOW_KEY_WORDS, W_NW_DST, W_NW_SRC, type FlowKey } from './flow-key.js';
import type { FlowEntry } from './flow-entry.js';
import { covers, overlaps, type CompiledMatch, type MatchWords } from './match.js';
import { finishHash, HASH_SEED, mixWord } from './hash.js';
import { lengthBit, prefixLength, PrefixFilter } from './prefix-filter.js';
import { rankIndex, type EntryStore } from './entry-store.js';

const MIN_CAPACITY = 8;

/** The entries of one hash slot: one entry, or several (same match, different priorities) best first. */
type Bucket = FlowEntry | FlowEntry[] | null;

/** All entries with one mask. */
class Subtable {
  readonly mask: FlowKey;
  /** The mask as a string (CompiledMatch.maskKey), shared by the entries here. */
  readonly maskKey: string;
  /** Indexes of the key words the mask touches, and the mask of each. */
  private readonly words: Int32Array;
  private readonly wordMasks: Int32Array;
  private readonly n: number;
  /**
   * The mask's nine words as plain int32 fields: the hot path hashes all nine masked key words
   * unrolled, reading only this object (no index arrays to chase), and hashes of unmasked words
   * are constants.
   */
  private readonly m0: number;
  private readonly m1: number;
  private readonly m2: number;
  private readonly m3: number;
  private readonly m4: number;
  private readonly m5: number;
  private readonly m6: number;
  private readonly m7: number;
  private readonly m8: number;
  /**
   * Words per slot record: the hash (0 = empty slot), the id of the slot's best entry (its
   * bucket's first; an EntryStore id), then the n masked key words.
   */
  private readonly stride: number;
  private capMask = MIN_CAPACITY - 1;
  /** Int32 words: V8's fast integer path (key words are compared after `| 0`-style bit operations). */
  private records: Int32Array;
  /**
   * The entries of each used slot, best first: the entry itself when it is alone (most buckets:
   * no array per entry), an array when several priorities share the match.
   */
  private buckets: Bucket[] = new Array<Bucket>(MIN_CAPACITY).fill(null);
  private usedSlots = 0;
  /**
   * A one-hash Bloom filter of the masked values held, 4 bits per slot (8 or more per value):
   * most probes are misses, and this small bitset answers them without touching the records.
   * Removals leave their bits set until the next rebuild (only false positives, never misses).
   */
  private bloom = new Int32Array((MIN_CAPACITY * 4) >>> 5 || 1);
  private bloomMask = MIN_CAPACITY * 4 - 1;
  private bloomStale = 0;
  /** Entries held (all buckets). */
  size = 0;
  /** Highest rank held, -1 when empty. */
  maxRank = -1;
  private heap: FlowEntry[] = [];
  /** Prefix lengths of nw_src and nw_dst in this mask, as PrefixFilter bits (0: wildcarded). */
  readonly srcBit: number;
  readonly dstBit: number;
  readonly srcLen: number;
  readonly dstLen: number;

  constructor(mask: FlowKey, maskKey: string) {
    this.mask = mask;
    this.maskKey = maskKey;
    this.srcLen = prefixLength(mask[W_NW_SRC]!);
    this.dstLen = prefixLength(mask[W_NW_DST]!);
    this.srcBit = lengthBit(this.srcLen);
    this.dstBit = lengthBit(this.dstLen);
    const words: number[] = [];
    for (let i = 0; i < FLOW_KEY_WORDS; i++) if (mask[i] !== 0) words.push(i);
    this.words = Int32Array.from(words);
    this.wordMasks = Int32Array.from(words, (i) => mask[i]! | 0);
    this.n = words.length;
    this.m0 = mask[0]! | 0;
    this.m1 = mask[1]! | 0;
    this.m2 = mask[2]! | 0;
    this.m3 = mask[3]! | 0;
    this.m4 = mask[4]! | 0;
    this.m5 = mask[5]! | 0;
    this.m6 = mask[6]! | 0;
    this.m7 = mask[7]! | 0;
    this.m8 = mask[8]! | 0;
    this.stride = this.n + 2;
    this.records = new Int32Array(MIN_CAPACITY * this.stride);
  }

  /** The id of the best entry matching `key`, or -1. Hot path. */
  find(key: FlowKey): number {
    let h = mixWord(HASH_SEED, key[0]! & this.m0);
    h = mixWord(h, key[1]! & this.m1);
    h = mixWord(h, key[2]! & this.m2);
    h = mixWord(h, key[3]! & this.m3);
    h = mixWord(h, key[4]! & this.m4);
    h = mixWord(h, key[5]! & this.m5);
    h = mixWord(h, key[6]! & this.m6);
    h = mixWord(h, key[7]! & this.m7);
    h = mixWord(h, key[8]! & this.m8);
    h = finishHash(h) | 0 || 1;
    const bit = (h >>> 11) & this.bloomMask;
    if ((this.bloom[bit >>> 5]! & (1 << (bit & 31))) === 0) return -1;
    const capMask = this.capMask;
    const records = this.records;
    const stride = this.stride;
    const n = this.n;
    const words = this.words;
    const wordMasks = this.wordMasks;
    let s = h & capMask;
    for (;;) {
      const r = s * stride;
      const stored = records[r];
      if (stored === 0) return -1;
      if (stored === h) {
        let j = 0;
        while (j < n && records[r + 2 + j] === (key[words[j]!]! & wordMasks[j]!)) j++;
        if (j === n) return records[r + 1]!;
      }
      s = (s + 1) & capMask;
    }
  }

  /** Slot holding the bucket for a (masked) value, or -1; `value` is a compiled match value. */
  private slotOf(value: MatchWords, h: number): number {
    const n = this.n;
    let s = h & this.capMask;
    for (;;) {
      const r = s * this.stride;
      const stored = this.records[r];
      if (stored === 0) return -1;
      if (stored === h) {
        let j = 0;
        while (j < n && this.records[r + 2 + j] === (value[this.words[j]!]! | 0)) j++;
        if (j === n) return s;
      }
      s = (s + 1) & this.capMask;
    }
  }

  /** The hash find() computes, of a compiled match value (already masked). */
  private hashValue(value: MatchWords): number {
    let h = HASH_SEED;
    for (let i = 0; i < FLOW_KEY_WORDS; i++) h = mixWord(h, value[i]! | 0);
    return finishHash(h) | 0 || 1;
  }

  /** The entry with exactly this (compiled, normalised) match and this priority, if any. */
  findStrict(value: MatchWords, priority: number): FlowEntry | undefined {
    const s = this.slotOf(value, this.hashValue(value));
    if (s < 0) return undefined;
    const b = this.buckets[s]!;
    if (!Array.isArray(b)) return b.priority === priority ? b : undefined;
    return b.find((e) => e.priority === priority);
  }

  insert(e: FlowEntry): void {
    const value = e.compiled.value;
    const h = this.hashValue(value);
    const s = this.slotOf(value, h);
    if (s >= 0) {
      const held = this.buckets[s]!;
      const bucket = Array.isArray(held) ? held : [held];
      let i = 0;
      while (i < bucket.length && bucket[i]!.rank > e.rank) i++;
      bucket.splice(i, 0, e);
      this.buckets[s] = bucket;
      this.records[s * this.stride + 1] = bucket[0]!.id;
    } else {
      if ((this.usedSlots + 1) * 2 > this.capMask + 1) this.grow();
      const t = this.freeSlot(h);
      const r = t * this.stride;
      this.records[r] = h;
      this.records[r + 1] = e.id;
      for (let j = 0; j < this.n; j++) this.records[r + 2 + j] = value[this.words[j]!]!;
      this.buckets[t] = e;
      this.usedSlots++;
      this.bloomAdd(h);
    }
    this.size++;
    this.heapPush(e);
    if (e.rank > this.maxRank) this.maxRank = e.rank;
  }

  /** Removes `e` and marks it dead; false when it is not held here. */
  remove(e: FlowEntry): boolean {
    const value = e.compiled.value;
    const s = this.slotOf(value, this.hashValue(value));
    if (s < 0) return false;
    const held = this.buckets[s]!;
    let left: number;
    if (Array.isArray(held)) {
      const i = held.indexOf(e);
      if (i < 0) return false;
      held.splice(i, 1);
      left = held.length;
      if (left === 1) this.buckets[s] = held[0]!; // alone again: no array
      if (left > 0) this.records[s * this.stride + 1] = held[0]!.id;
    } else {
      if (held !== e) return false;
      left = 0;
    }
    e.alive = false;
    this.size--;
    if (left === 0) {
      this.deleteSlot(s);
      this.usedSlots--;
      if (++this.bloomStale > this.usedSlots + 8) this.rebuildBloom();
    }
    if (e.rank === this.maxRank) this.refreshMax();
    else if (this.heap.length > 2 * this.size + 16) this.rebuildHeap();
    return true;
  }

  /** Calls `visit` on every entry held. */
  forEach(visit: (e: FlowEntry) => void): void {
    for (const b of this.buckets) {
      if (b === null) continue;
      if (Array.isArray(b)) for (const e of b) visit(e);
      else visit(b);
    }
  }

  private bloomAdd(h: number): void {
    const bit = (h >>> 11) & this.bloomMask;
    this.bloom[bit >>> 5]! |= 1 << (bit & 31);
  }

  private rebuildBloom(): void {
    const bits = (this.capMask + 1) * 4;
    this.bloom = new Int32Array(bits >>> 5);
    this.bloomMask = bits - 1;
    this.bloomStale = 0;
    for (let s = 0; s <= this.capMask; s++) {
      const h = this.records[s * this.stride]!;
      if (h !== 0) this.bloomAdd(h);
    }
  }

  private freeSlot(h: number): number {
    let s = h & this.capMask;
    while (this.records[s * this.stride] !== 0) s = (s + 1) & this.capMask;
    return s;
  }

  private grow(): void {
    const old = this.records;
    const oldBuckets = this.buckets;
    const cap = (this.capMask + 1) * 2;
    const stride = this.stride;
    this.capMask = cap - 1;
    this.records = new Int32Array(cap * stride);
    this.buckets = new Array<Bucket>(cap).fill(null);
    for (let s = 0; s < oldBuckets.length; s++) {
      if (oldBuckets[s] === null) continue;
      const t = this.freeSlot(old[s * stride]!);
      for (let j = 0; j < stride; j++) this.records[t * stride + j] = old[s * stride + j]!;
      this.buckets[t] = oldBuckets[s]!;
    }
    this.rebuildBloom();
  }

  /** Backward-shift deletion: keeps every probe chain unbroken without tombstones. */
  private deleteSlot(hole: number): void {
    const capMask = this.capMask;
    const stride = this.stride;
    let i = hole;
    this.records[i * stride] = 0;
    this.buckets[i] = null;
    let j = i;
    for (;;) {
      j = (j + 1) & capMask;
      const h = this.records[j * stride]!;
      if (h === 0) return;
      const home = h & capMask;
      // The record at j may move back to the hole i unless its home lies cyclically in (i, j].
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (stays) continue;
      this.records.copyWithin(i * stride, j * stride, j * stride + stride);
      this.buckets[i] = this.buckets[j]!;
      this.records[j * stride] = 0;
      this.buckets[j] = null;
      i = j;
    }
  }

  // ---- lazy max-heap of entries by rank ----

  private heapPush(e: FlowEntry): void {
    const heap = this.heap;
    heap.push(e);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (heap[p]!.rank >= e.rank) break;
      heap[i] = heap[p]!;
      i = p;
    }
    heap[i] = e;
  }

  private heapPop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= heap.length) break;
      const r = l + 1;
      const c = r < heap.length && heap[r]!.rank > heap[l]!.rank ? r : l;
      if (heap[c]!.rank <= last.rank) break;
      heap[i] = heap[c]!;
      i = c;
    }
    heap[i] = last;
  }

  private refreshMax(): void {
    while (this.heap.length > 0 && !this.heap[0]!.alive) this.heapPop();
    this.maxRank = this.heap.length > 0 ? this.heap[0]!.rank : -1;
  }

  /** Drops the dead entries and heapifies the rest bottom-up: O(n), a few ms at 1M entries. */
  private rebuildHeap(): void {
    const heap = this.heap.filter((e) => e.alive);
    for (let i = (heap.length >> 1) - 1; i >= 0; i--) {
      const e = heap[i]!;
      let j = i;
      for (;;) {
        const l = 2 * j + 1;
        if (l >= heap.length) break;
        const r = l + 1;
        const c = r < heap.length && heap[r]!.rank > heap[l]!.rank ? r : l;
        if (heap[c]!.rank <= e.rank) break;
        heap[j] = heap[c]!;
        j = c;
      }
      heap[j] = e;
    }
    this.heap = heap;
  }
}

export class Classifier {
  /** Where entries' ranks are (entries are attached to it before insert). */
  private readonly store: EntryStore;
  /** Subtables by descending maxRank: the lookup order. */
  private sorted: Subtable[] = [];
  private byMask = new Map<string, Subtable>();
  private count = 0;
  private readonly srcFilter = new PrefixFilter();
  private readonly dstFilter = new PrefixFilter();

  constructor(store: EntryStore) {
    this.store = store;
  }

  get size(): number {
    return this.count;
  }

  /** Number of distinct masks (subtables). */
  get subtableCount(): number {
    return this.sorted.length;
  }

  /** The EntryStore id of the best entry matching `key`, or -1. Hot path. */
  lookup(key: FlowKey): number {
    const sorted = this.sorted;
    const ranks = this.store.f64;
    const srcLens = ~this.srcFilter.lengths(key[W_NW_SRC]!);
    const dstLens = ~this.dstFilter.lengths(key[W_NW_DST]!);
    let best = -1;
    let bestRank = -1;
    for (let i = 0; i < sorted.length; i++) {
      const st = sorted[i]!;
      if (st.maxRank <= bestRank) break;
      if (((st.srcBit & srcLens) | (st.dstBit & dstLens)) !== 0) continue; // prefix filter: cannot match
      const id = st.find(key);
      if (id >= 0) {
        const rank = ranks[rankIndex(id)]!;
        if (rank > bestRank) {
          best = id;
          bestRank = rank;
        }
      }
    }
    return best;
  }

  insert(e: FlowEntry): void {
    const k = e.compiled.maskKey;
    let st = this.byMask.get(k);
    if (st === undefined) {
      st = new Subtable(e.compiled.mask, k);
      this.byMask.set(k, st);
      this.sorted.push(st);
    }
    const before = st.maxRank;
    st.insert(e);
    this.count++;
    this.srcFilter.add(e.compiled.value[W_NW_SRC]!, st.srcLen);
    this.dstFilter.add(e.compiled.value[W_NW_DST]!, st.dstLen);
    if (st.maxRank !== before) this.reposition(st);
  }

  /** Removes `e` and marks it dead (`alive = false`). */
  remove(e: FlowEntry): void {
    const k = e.compiled.maskKey;
    const st = this.byMask.get(k);
    if (st === undefined) return;
    const before = st.maxRank;
    if (!st.remove(e)) return;
    this.count--;
    this.srcFilter.remove(e.compiled.value[W_NW_SRC]!, st.srcLen);
    this.dstFilter.remove(e.compiled.value[W_NW_DST]!, st.dstLen);
    if (st.size === 0) {
      this.byMask.delete(k);
      this.sorted.splice(this.sorted.indexOf(st), 1);
    } else if (st.maxRank !== before) {
      this.reposition(st);
    }
  }

  /** The entry with exactly this match and priority, if any. */
  findStrict(c: CompiledMatch, priority: number): FlowEntry | undefined {
    return this.byMask.get(c.maskKey)?.findStrict(c.value, priority);
  }

  /**
   * The compiled match an entry of match `c` keeps: its value words as a plain array (a typed
   * array costs some 240 bytes of V8 objects, an array of nine small integers 120) and the mask
   * and mask key of the subtable it goes to, shared by all its entries (one copy per mask, not
   * per entry).
   */
  compact(c: CompiledMatch): CompiledMatch {
    const st = this.byMask.get(c.maskKey);
    const v = c.value;
    // An array literal of nine int32 words: small integers, no boxed numbers, exactly nine slots
    // (Array.from leaves room to grow, twice the bytes). Every reader compares words as int32.
    const value = [v[0]! | 0, v[1]! | 0, v[2]! | 0, v[3]! | 0, v[4]! | 0, v[5]! | 0, v[6]! | 0, v[7]! | 0, v[8]! | 0];
    return { value, mask: st?.mask ?? c.mask, maskKey: st?.maskKey ?? c.maskKey };
  }

  /** Entries the request covers (non-strict selection), in no particular order. */
  covered(req: CompiledMatch): FlowEntry[] {
    const out: FlowEntry[] = [];
    for (const st of this.sorted) {
      if (!maskContains(st.mask, req.mask)) continue;
      st.forEach((e) => {
        if (covers(req, e.compiled)) out.push(e);
      });
    }
    return out;
  }

  /** Some entry of this priority that one packet could match together with `c` (CHECK_OVERLAP). */
  findOverlap(c: CompiledMatch, priority: number): FlowEntry | undefined {
    for (const e of this.entries()) if (e.priority === priority && overlaps(c, e.compiled)) return e;
    return undefined;
  }

  /** Every entry. */
  entries(): FlowEntry[] {
    const out: FlowEntry[] = [];
    for (const st of this.sorted) st.forEach((e) => out.push(e));
    return out;
  }

  private reposition(st: Subtable): void {
    const a = this.sorted;
    let i = a.indexOf(st);
    while (i > 0 && a[i - 1]!.maxRank < st.maxRank) {
      a[i] = a[i - 1]!;
      i--;
    }
    while (i < a.length - 1 && a[i + 1]!.maxRank > st.maxRank) {
      a[i] = a[i + 1]!;
      i++;
    }
    a[i] = st;
  }
}

/** Is every bit of `inner` also in `outer`? */
function maskContains(outer: FlowKey, inner: FlowKey): boolean {
  for (let i = 0; i < FLOW_KEY_WORDS; i++) if (((outer[i]! & inner[i]!) >>> 0) !== inner[i]) return false;
  return true;
}
