/**
 * The microflow cache: an exact-match cache from a packet's whole flow key to the classifier's
 * answer (an entry, or null for a table miss), in front of the classifier.
 *
 * Layout: a bounded, 4-way set-associative hash table over one typed array. A key's hash picks a
 * set of four slots; a slot is a 64-byte record of the hash, the generation it was validated at,
 * the answer as an entry id with that id's version (entry-store.ts), the nine key words and a use
 * stamp. A miss replaces an empty slot or the set's least recently used one. No strings, no
 * allocation per lookup, and a hit reads no FlowEntry object: the record, then the entry's
 * 32-byte block in the store (version here, counters in FlowTable.lookup).
 *
 * Why not lru-cache: it needs a string (or object) key; building a string from nine words and the
 * map operations cost well over 100 ns per packet, against about 30 ns here (see the README's
 * "Flow lookup benchmark", which measures both).
 *
 * Invalidation without flushing. The classifier's answer for a key is the highest-ranked live
 * entry matching it. Only two table changes can alter that answer:
 * - the cached entry is removed (delete, expiry, replacement by ADD): its id's version changes
 *   (even if the id is then reused, by either table), and a hit whose version differs
 *   reclassifies the key;
 * - an entry is added that matches the key with a higher rank. Every add increments the cache's
 *   `generation` and goes into a ring log of the last LOG_SIZE adds. A hit on a slot validated at
 *   an older generation checks only the adds made since (rank, then match): a few word compares.
 *   When more than LOG_SIZE adds happened since, it reclassifies.
 * Removing any other entry cannot change the answer, and MODIFY changes actions and cookie in
 * place (same entry object), so neither touches the cache. Every slot is revalidated on its next
 * hit, lazily: no table change walks or flushes the cache. A mass change (more than LOG_SIZE adds)
 * costs each cached key one classifier lookup when it is next seen, which is what a flush would.
 */
import type { Classifier } from './classifier.js';
import type { FlowEntry } from './flow-entry.js';
import { FLOW_KEY_WORDS, type FlowKey } from './flow-key.js';
import { versionIndex, type EntryStore } from './entry-store.js';
import { hashFlowKey } from './hash.js';
import { keyMatches } from './match.js';

const WAYS = 4;
/** Adds remembered for revalidation (a power of two). */
export const LOG_SIZE = 64;
const LOG_MASK = LOG_SIZE - 1;
export const DEFAULT_CACHE_SLOTS = 65_536;
/**
 * A slot record, in 32-bit words: hash, generation, answer (an EntryStore id, NO_ENTRY for a
 * table miss, EMPTY for an unused slot), the answer's version, the nine key words, the use stamp.
 */
const R_HASH = 0;
const R_GEN = 1;
const R_ID = 2;
const R_VERSION = 3;
const R_KEY = 4;
const R_STAMP = R_KEY + FLOW_KEY_WORDS;
const RECORD = 16;
const NO_ENTRY = -1;
const EMPTY = -2;
/** The records of a cache that has not looked anything up yet. */
const NO_RECORDS = new Int32Array(0);

/** Where the cache's wrapping counters start (0 unless a test starts them near their wrap). */
export interface CacheCounters {
  /** The table generation (int32, counts adds). */
  readonly generation?: number;
  /** The LRU use clock (int32, counts uses). */
  readonly clock?: number;
}

export class MicroflowCache {
  private readonly setMask: number;
  /**
   * Slot records, four per set side by side; a hit reads one record (64 bytes). Allocated at the
   * first miss (4 MiB at the default size): a bridge that forwards nothing does not pay for it.
   */
  private records: Int32Array = NO_RECORDS;
  private readonly store: EntryStore;
  /** Use stamps for LRU within a set; wraps as int32 (victims are chosen by age, clock - stamp). */
  private clock: number;
  /** Adds so far, as an int32 that wraps (slots compare generations by difference). */
  private generation: number;
  private readonly log: (FlowEntry | undefined)[] = new Array<FlowEntry | undefined>(LOG_SIZE);
  /** Lookups answered from the cache and lookups that went to the classifier (bench:lookup's hit ratio, the cache tests). */
  hits = 0;
  misses = 0;

  /** `slots` is rounded up to a power of two, at least WAYS; answers are ids in `store`. */
  constructor(slots: number, store: EntryStore, start: CacheCounters = {}) {
    this.generation = (start.generation ?? 0) | 0;
    this.clock = (start.clock ?? 0) | 0;
    let sets = 1;
    while (sets * WAYS < slots) sets *= 2;
    this.setMask = sets - 1;
    this.store = store;
  }

  /** Records an entry added to the classifier behind the cache. */
  noteAdded(e: FlowEntry): void {
    this.generation = (this.generation + 1) | 0;
    this.log[this.generation & LOG_MASK] = e;
  }

  /** Forgets every answer (the classifier behind it was swapped). */
  clear(): void {
    for (let r = R_ID; r < this.records.length; r += RECORD) this.records[r] = EMPTY;
    this.log.fill(undefined);
  }

  /** The classifier's answer for `key` (an EntryStore id, or -1), from the cache when valid. Hot path. */
  lookup(key: FlowKey, classifier: Classifier): number {
    const h = hashFlowKey(key) | 0;
    const records = this.records;
    const first = (h & this.setMask) * WAYS;
    for (let s = first; s < first + WAYS; s++) {
      const r = s * RECORD;
      if (records[r + R_HASH] !== h) continue;
      const k = r + R_KEY;
      if (records[k] === (key[0]! | 0) && records[k + 1] === (key[1]! | 0) && records[k + 2] === (key[2]! | 0) &&
          records[k + 3] === (key[3]! | 0) && records[k + 4] === (key[4]! | 0) && records[k + 5] === (key[5]! | 0) &&
          records[k + 6] === (key[6]! | 0) && records[k + 7] === (key[7]! | 0) && records[k + 8] === (key[8]! | 0)) {
        const id = records[r + R_ID]!;
        if (id === EMPTY) break; // an empty slot that happens to hold this key and hash
        this.hits++;
        records[r + R_STAMP] = this.clock = (this.clock + 1) | 0;
        if (records[r + R_GEN] === this.generation &&
            (id === NO_ENTRY || this.store.i32[versionIndex(id)] === records[r + R_VERSION])) return id;
        return this.revalidate(r, key, classifier);
      }
    }
    this.misses++;
    const id = classifier.lookup(key);
    this.insert(first, h, key, id);
    return id;
  }

  /** Is the answer in record `r` still in the table (or a table miss)? */
  private answerLive(r: number): boolean {
    const id = this.records[r + R_ID]!;
    return id === NO_ENTRY || this.store.version(id) === this.records[r + R_VERSION];
  }

  private revalidate(r: number, key: FlowKey, classifier: Classifier): number {
    let id = this.records[r + R_ID]!;
    const since = this.records[r + R_GEN]!;
    const behind = (this.generation - since) >>> 0;
    if (!this.answerLive(r) || behind > LOG_SIZE) {
      id = classifier.lookup(key);
    } else {
      let bestRank = id === NO_ENTRY ? -1 : this.store.rank(id);
      for (let i = 1; i <= behind; i++) {
        const added = this.log[(since + i) & LOG_MASK]!;
        if (added.alive && added.rank > bestRank && keyMatches(added.compiled, key)) {
          id = added.id;
          bestRank = added.rank;
        }
      }
    }
    this.setAnswer(r, id);
    return id;
  }

  private setAnswer(r: number, id: number): void {
    this.records[r + R_ID] = id;
    this.records[r + R_VERSION] = id === NO_ENTRY ? 0 : this.store.version(id);
    this.records[r + R_GEN] = this.generation;
  }

  private insert(first: number, h: number, key: FlowKey, id: number): void {
    if (this.records === NO_RECORDS) {
      this.records = new Int32Array((this.setMask + 1) * WAYS * RECORD);
      this.clear();
    }
    const records = this.records;
    // The victim: an empty slot, else the least recently used, by age (clock - stamp, unsigned),
    // which stays right when the int32 clock wraps (a plain stamp comparison would then evict the
    // slot used last).
    let victim = first;
    let oldest = -1;
    for (let s = first; s < first + WAYS; s++) {
      if (records[s * RECORD + R_ID] === EMPTY) {
        victim = s;
        break;
      }
      const age = (this.clock - records[s * RECORD + R_STAMP]!) >>> 0;
      if (age > oldest) {
        oldest = age;
        victim = s;
      }
    }
    const r = victim * RECORD;
    records[r + R_HASH] = h;
    records[r + R_STAMP] = this.clock = (this.clock + 1) | 0;
    for (let i = 0; i < FLOW_KEY_WORDS; i++) records[r + R_KEY + i] = key[i]! | 0;
    this.setAnswer(r, id);
  }
}
