/**
 * The classifier: finds the highest-ranked flow entry matching a packet's flow key.
 *
 * Design: tuple-space search, as in Open vSwitch's lib/classifier.c.
 * - Entries are grouped by their mask (the "tuple"): one Subtable per distinct mask. Within a
 *   subtable every entry is found by exact match on the masked key, so one hash probe decides it.
 *   Entries with the same match and different priorities share one slot, listed by rank.
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
 * - maxRank is maintained with a max-heap per subtable whose entries know their position in it
 *   (FlowEntry.heapPos): a removal takes its entry out in O(log n), so nothing stale is kept and
 *   nothing is ever rebuilt.
 * - No operation costs time in proportion to the table (a sliced DELETE of a million entries must
 *   never stop forwarding for long): a subtable's hash table grows (at 1/2 full) and shrinks (at
 *   1/8 full) by incremental resize, as Redis does: a new table is allocated and every insert and
 *   remove moves a few slots of the old one into it; meanwhile lookups that miss the new table
 *   probe the old one. The Bloom filter is carried over by spreading or folding its bits and
 *   built afresh for the new table as values move; a filter with more removed values than held
 *   ones is refreshed by a resize to the same size.
 * - Prefix filtering (prefix-filter.ts): before probing a subtable, the packet's nw_src and
 *   nw_dst are checked against the prefix lengths present in the whole table; a subtable whose
 *   nw_src or nw_dst prefix length no entry can match for this address is skipped without
 *   hashing. One array read per field per lookup, one bit test per subtable: on ACL-like tables
 *   most subtables are skipped this way.
 * - Subtables are created on the first entry of a new mask and dropped when they empty; a
 *   subtable's hash table shrinks as it empties (above), so memory goes back as entries go.
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
/**
 * Slots of the old hash table a resize moves to the new one per insert or remove (see
 * Subtable.migrate): enough that a migration is over long before the next resize is due (a grow
 * to 2C leaves at least C/2 inserts before the next, the migration takes C/32 operations; a
 * shrink or a Bloom refresh at least C/16 removes, it takes C/32).
 */
const MIGRATE_SLOTS = 32;
/**
 * A table of at most this many slots is moved at once when it is resized (well under a
 * millisecond): only large subtables are migrated a few slots at a time, so small ones never
 * leave lookups probing two tables for long after the last change. (Tests lower it to see
 * small tables mid-resize.)
 */
export const resizeTuning = { eagerSlots: 16_384 };

/** A subtable's previous hash table while a resize moves its slots to the new one. */
interface OldTable {
  readonly records: Int32Array;
  readonly capMask: number;
  /** Occupied slots left in it. */
  used: number;
  /** Next slot to move: every slot below it is empty (and stays so: nothing is inserted here). */
  cursor: number;
}

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
   * A slot's entries (the same match at several priorities) are a list, best first: the slot
   * record holds the first one's id (found in the EntryStore), each entry the next one
   * (FlowEntry.nextInSlot). So a table is one typed array and nothing per slot for the garbage
   * collector, and a resize allocates no JavaScript array of its size.
   */
  private readonly store: EntryStore;
  /** Used slots of `records` (not counting the old table's). */
  private usedSlots = 0;
  /**
   * During a resize, the previous table: its slots move to `records` a few at a time, with every
   * insert and remove (migrate), so no single operation rehashes the whole subtable. Until it is
   * empty a value is in one of the two tables and lookups that miss the new one probe it too.
   */
  private old: OldTable | null = null;
  /**
   * A one-hash Bloom filter of the masked values held, 4 bits per slot (8 or more per value):
   * most probes are misses, and this small bitset answers them without touching the records.
   * Removals leave their bits set (only false positives, never misses) until a resize builds a
   * new one. During a resize it covers both tables: the old filter's bits spread (or folded) to
   * the new size, plus everything inserted since.
   */
  private bloom: Int32Array = new Int32Array((MIN_CAPACITY * 4) >>> 5 || 1);
  private bloomMask = MIN_CAPACITY * 4 - 1;
  /** During a resize, the filter of the new table alone (what was moved or inserted): `bloom` once it is over. */
  private fresh: Int32Array | null = null;
  /** Values removed since the filter was last built afresh. */
  private bloomStale = 0;
  /** Entries held (all slots' lists). */
  size = 0;
  /** Highest rank held, -1 when empty. */
  maxRank = -1;
  /** Max-heap of the entries by rank; each entry knows its position (heapPos), so removal is O(log n), nothing stale. */
  private heap: FlowEntry[] = [];
  /** Prefix lengths of nw_src and nw_dst in this mask, as PrefixFilter bits (0: wildcarded). */
  readonly srcBit: number;
  readonly dstBit: number;
  readonly srcLen: number;
  readonly dstLen: number;

  constructor(mask: FlowKey, maskKey: string, store: EntryStore) {
    this.store = store;
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

  /** Capacity (slots) of the current hash table, for tests. */
  get capacity(): number {
    return this.capMask + 1;
  }

  /** True while a resize is moving slots (for tests). */
  get resizing(): boolean {
    return this.old !== null;
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
      if (stored === 0) return this.old === null ? -1 : this.findOld(this.old, key, h);
      if (stored === h) {
        let j = 0;
        while (j < n && records[r + 2 + j] === (key[words[j]!]! & wordMasks[j]!)) j++;
        if (j === n) return records[r + 1]!;
      }
      s = (s + 1) & capMask;
    }
  }

  /** find() in the old table of a resize. */
  private findOld(old: OldTable, key: FlowKey, h: number): number {
    const { records, capMask } = old;
    const stride = this.stride;
    const n = this.n;
    let s = h & capMask;
    for (;;) {
      const r = s * stride;
      const stored = records[r];
      if (stored === 0) return -1;
      if (stored === h) {
        let j = 0;
        while (j < n && records[r + 2 + j] === (key[this.words[j]!]! & this.wordMasks[j]!)) j++;
        if (j === n) return records[r + 1]!;
      }
      s = (s + 1) & capMask;
    }
  }

  /** Slot holding a (masked) value in one table, or -1; `value` is a compiled match value. */
  private slotIn(records: Int32Array, capMask: number, value: MatchWords, h: number): number {
    const n = this.n;
    const stride = this.stride;
    let s = h & capMask;
    for (;;) {
      const r = s * stride;
      const stored = records[r];
      if (stored === 0) return -1;
      if (stored === h) {
        let j = 0;
        while (j < n && records[r + 2 + j] === (value[this.words[j]!]! | 0)) j++;
        if (j === n) return s;
      }
      s = (s + 1) & capMask;
    }
  }

  /** The hash find() computes, of a compiled match value (already masked). */
  private hashValue(value: MatchWords): number {
    let h = HASH_SEED;
    for (let i = 0; i < FLOW_KEY_WORDS; i++) h = mixWord(h, value[i]! | 0);
    return finishHash(h) | 0 || 1;
  }

  /** The first (best) entry of the slot holding a value, in whichever table it is, or null. */
  private headOf(value: MatchWords, h: number): FlowEntry | null {
    let records = this.records;
    let s = this.slotIn(records, this.capMask, value, h);
    if (s < 0 && this.old !== null) {
      records = this.old.records;
      s = this.slotIn(records, this.old.capMask, value, h);
    }
    return s < 0 ? null : this.entryAt(records[s * this.stride + 1]!);
  }

  private entryAt(id: number): FlowEntry {
    return this.store.entryAt(id)!;
  }

  /** The entry with exactly this (compiled, normalised) match and this priority, if any. */
  findStrict(value: MatchWords, priority: number): FlowEntry | undefined {
    for (let e = this.headOf(value, this.hashValue(value)); e !== null; e = e.nextInSlot) {
      if (e.priority === priority) return e;
    }
    return undefined;
  }

  insert(e: FlowEntry): void {
    this.migrate();
    const value = e.compiled.value;
    const h = this.hashValue(value);
    const s = this.slotIn(this.records, this.capMask, value, h);
    const old = this.old;
    const o = s < 0 && old !== null ? this.slotIn(old.records, old.capMask, value, h) : -1;
    if (s >= 0) {
      this.addToSlot(this.records, s, e);
    } else if (o >= 0) {
      this.addToSlot(old!.records, o, e);
    } else {
      const held = this.usedSlots + (old === null ? 0 : old.used);
      if ((held + 1) * 2 > this.capMask + 1) this.resize((this.capMask + 1) * 2);
      const t = this.freeSlot(h);
      const r = t * this.stride;
      this.records[r] = h;
      this.records[r + 1] = e.id;
      for (let j = 0; j < this.n; j++) this.records[r + 2 + j] = value[this.words[j]!]!;
      e.nextInSlot = null;
      this.usedSlots++;
      this.bloomAdd(h);
    }
    this.size++;
    this.heapPush(e);
    this.maxRank = this.heap[0]!.rank;
  }

  /** Links `e` into the rank-ordered list of slot s. */
  private addToSlot(records: Int32Array, s: number, e: FlowEntry): void {
    const r = s * this.stride + 1;
    const head = this.entryAt(records[r]!);
    if (e.rank > head.rank) {
      e.nextInSlot = head;
      records[r] = e.id;
      return;
    }
    let p = head;
    while (p.nextInSlot !== null && p.nextInSlot.rank > e.rank) p = p.nextInSlot;
    e.nextInSlot = p.nextInSlot;
    p.nextInSlot = e;
  }

  /** Removes `e` and marks it dead; false when it is not held here. */
  remove(e: FlowEntry): boolean {
    this.migrate();
    const value = e.compiled.value;
    const h = this.hashValue(value);
    // The old table first: during a resize most values are still there, and a miss in the new
    // one would touch a page of it (freshly allocated: a page fault) for nothing.
    const old = this.old;
    let s = old === null ? -1 : this.slotIn(old.records, old.capMask, value, h);
    const inOld = s >= 0;
    const records = inOld ? old!.records : this.records;
    const capMask = inOld ? old!.capMask : this.capMask;
    if (!inOld) s = this.slotIn(records, capMask, value, h);
    if (s < 0) return false;
    const r = s * this.stride + 1;
    const head = this.entryAt(records[r]!);
    let emptied = false;
    if (head === e) {
      if (e.nextInSlot === null) emptied = true;
      else records[r] = e.nextInSlot.id;
    } else {
      let p = head;
      while (p.nextInSlot !== null && p.nextInSlot !== e) p = p.nextInSlot;
      if (p.nextInSlot === null) return false;
      p.nextInSlot = e.nextInSlot;
    }
    e.nextInSlot = null;
    e.alive = false;
    this.size--;
    this.heapRemove(e);
    this.maxRank = this.heap.length > 0 ? this.heap[0]!.rank : -1;
    if (emptied) {
      this.deleteSlot(records, capMask, s);
      if (inOld) old!.used--;
      else this.usedSlots--;
      this.bloomStale++;
      if (this.old === null && this.size > 0) this.maybeRefresh();
    }
    return true;
  }

  /**
   * After a removal: shrinks a table at most 1/8 full to one 1/4 full or less (memory goes back
   * as entries go), or rebuilds a Bloom filter that has more removed values than held ones and
   * more values set than half the slots (over 1/8 of its bits: false positives grow), by a resize
   * (same size, or twice when over 1/4 full, so that no grow is due before it is over). A table
   * that only empties (a large DELETE) is never refreshed, only shrunk.
   */
  private maybeRefresh(): void {
    const cap = this.capMask + 1;
    const used = this.usedSlots;
    if (cap > MIN_CAPACITY && used * 8 < cap) {
      let to = MIN_CAPACITY;
      while (to < used * 4) to *= 2;
      this.resize(to);
    } else if (this.bloomStale > used + 8 && (this.bloomStale + used) * 2 > cap) {
      this.resize(used * 4 > cap ? cap * 2 : cap);
    }
  }

  /** Calls `visit` on every entry held. */
  forEach(visit: (e: FlowEntry) => void): void {
    const stride = this.stride;
    const all = this.old === null ? [this.records] : [this.records, this.old.records];
    for (const records of all) {
      for (let r = 0; r < records.length; r += stride) {
        if (records[r] === 0) continue;
        for (let e: FlowEntry | null = this.entryAt(records[r + 1]!); e !== null; e = e.nextInSlot) visit(e);
      }
    }
  }

  private bloomAdd(h: number): void {
    const bit = (h >>> 11) & this.bloomMask;
    this.bloom[bit >>> 5]! |= 1 << (bit & 31);
    if (this.fresh !== null) this.fresh[bit >>> 5]! |= 1 << (bit & 31);
  }

  private freeSlot(h: number): number {
    let s = h & this.capMask;
    while (this.records[s * this.stride] !== 0) s = (s + 1) & this.capMask;
    return s;
  }

  /**
   * Starts moving every value to a new table of `cap` slots (finishing a resize in progress
   * first, which the spacing of MIGRATE_SLOTS makes rare). Costs the new arrays and a pass over
   * the Bloom filter (cap/8 bytes), never a pass over the values: those move in migrate().
   */
  private resize(cap: number): void {
    if (this.old !== null) this.finishResize();
    this.old = { records: this.records, capMask: this.capMask, used: this.usedSlots, cursor: 0 };
    this.capMask = cap - 1;
    this.records = new Int32Array(cap * this.stride);
    this.usedSlots = 0;
    // A value's bit is (hash >>> 11) & (bits - 1): the new filter's word w covers the old one's
    // word w mod oldWords (bits spread when growing, OR-ed together when shrinking).
    const bits = cap * 4;
    const words = bits >>> 5;
    const before = this.bloom;
    const bloom = new Int32Array(words);
    if (words >= before.length) for (let w = 0; w < words; w++) bloom[w] = before[w & (before.length - 1)]!;
    else for (let w = 0; w < before.length; w++) bloom[w & (words - 1)]! |= before[w]!;
    this.bloom = bloom;
    this.bloomMask = bits - 1;
    this.fresh = new Int32Array(words);
    this.bloomStale = 0;
    if (this.old.used === 0) this.endResize();
    else if (this.old.capMask < resizeTuning.eagerSlots) this.finishResize();
  }

  /** Moves the next MIGRATE_SLOTS slots of the old table (their values) to the new one. */
  private migrate(): void {
    const old = this.old;
    if (old === null) return;
    const stride = this.stride;
    const records = old.records;
    const end = Math.min(old.capMask + 1, old.cursor + MIGRATE_SLOTS);
    for (let s = old.cursor; s < end; s++) {
      // Removing the slot's value shifts the rest of its cluster back: slot s may fill again.
      for (let h = records[s * stride]!; h !== 0; h = records[s * stride]!) {
        const t = this.freeSlot(h);
        for (let j = 0; j < stride; j++) this.records[t * stride + j] = records[s * stride + j]!;
        this.usedSlots++;
        this.bloomAdd(h);
        this.deleteSlot(records, old.capMask, s);
        old.used--;
      }
    }
    old.cursor = end;
    if (old.used === 0) this.endResize();
  }

  private finishResize(): void {
    while (this.old !== null) this.migrate();
  }

  private endResize(): void {
    this.old = null;
    this.bloom = this.fresh!;
    this.fresh = null;
  }

  /** Backward-shift deletion in one table: keeps every probe chain unbroken without tombstones. */
  private deleteSlot(records: Int32Array, capMask: number, hole: number): void {
    const stride = this.stride;
    let i = hole;
    records[i * stride] = 0;
    let j = i;
    for (;;) {
      j = (j + 1) & capMask;
      const h = records[j * stride]!;
      if (h === 0) return;
      const home = h & capMask;
      // The record at j may move back to the hole i unless its home lies cyclically in (i, j].
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (stays) continue;
      records.copyWithin(i * stride, j * stride, j * stride + stride);
      records[j * stride] = 0;
      i = j;
    }
  }

  // ---- max-heap of entries by rank, positions kept on the entries ----

  private heapPush(e: FlowEntry): void {
    this.heap.push(e);
    this.siftUp(this.heap.length - 1, e);
  }

  private heapRemove(e: FlowEntry): void {
    const heap = this.heap;
    const i = e.heapPos;
    e.heapPos = -1;
    const last = heap.pop()!;
    if (last === e) return;
    if (i > 0 && heap[(i - 1) >> 1]!.rank < last.rank) this.siftUp(i, last);
    else this.siftDown(i, last);
  }

  /** Puts `e` at position i or above. */
  private siftUp(i: number, e: FlowEntry): void {
    const heap = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const q = heap[p]!;
      if (q.rank >= e.rank) break;
      heap[i] = q;
      q.heapPos = i;
      i = p;
    }
    heap[i] = e;
    e.heapPos = i;
  }

  /** Puts `e` at position i or below. */
  private siftDown(i: number, e: FlowEntry): void {
    const heap = this.heap;
    const len = heap.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= len) break;
      const r = l + 1;
      const c = r < len && heap[r]!.rank > heap[l]!.rank ? r : l;
      const q = heap[c]!;
      if (q.rank <= e.rank) break;
      heap[i] = q;
      q.heapPos = i;
      i = c;
    }
    heap[i] = e;
    e.heapPos = i;
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

  /** Each subtable's entries, hash-table slots and whether a resize is moving them (tests, benchmarks). */
  subtableShapes(): { size: number; capacity: number; resizing: boolean }[] {
    return this.sorted.map((st) => ({ size: st.size, capacity: st.capacity, resizing: st.resizing }));
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
      st = new Subtable(e.compiled.mask, k, this.store);
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
