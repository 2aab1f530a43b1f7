/**
 * The microflow cache: an exact-match cache from a packet's whole flow key to the classifier's
 * answer (an entry, or null for a table miss), in front of the classifier.
 *
 * Layout: a bounded, 4-way set-associative hash table over typed arrays. A key's hash picks a set
 * of four slots; a slot holds the nine key words, the hash, the cached answer, the generation it
 * was validated at, and a use stamp. A miss replaces an empty slot or the set's least recently
 * used one. No strings, no allocation per lookup.
 *
 * Why not lru-cache: it needs a string (or object) key; building a string from nine words and the
 * map operations cost well over 100 ns per packet, against about 30 ns here (see the README's
 * "Flow lookup benchmark", which measures both).
 *
 * Invalidation without flushing. The classifier's answer for a key is the highest-ranked live
 * entry matching it. Only two table changes can alter that answer:
 * - the cached entry is removed (delete, expiry, replacement by ADD): the entry's `alive` flag
 *   goes false, and a hit on a dead entry reclassifies the key;
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
import { hashFlowKey } from './hash.js';
import { keyMatches } from './match.js';

const WAYS = 4;
/** Adds remembered for revalidation (a power of two). */
export const LOG_SIZE = 64;
const LOG_MASK = LOG_SIZE - 1;
export const DEFAULT_CACHE_SLOTS = 65_536;

export class MicroflowCache {
  private readonly setMask: number;
  private readonly keys: Uint32Array;
  private readonly hashes: Int32Array;
  /** Generation a slot was validated at; -1 for an empty slot. */
  private readonly gens: Float64Array;
  private readonly stamps: Uint32Array;
  private readonly answers: (FlowEntry | null)[];
  private clock = 0;
  private generation = 0;
  private readonly log: (FlowEntry | undefined)[] = new Array<FlowEntry | undefined>(LOG_SIZE);
  /** Counters for tests and benchmarks. */
  hits = 0;
  misses = 0;

  /** `slots` is rounded up to a power of two, at least WAYS. */
  constructor(slots = DEFAULT_CACHE_SLOTS) {
    let sets = 1;
    while (sets * WAYS < slots) sets *= 2;
    this.setMask = sets - 1;
    const n = sets * WAYS;
    this.keys = new Uint32Array(n * FLOW_KEY_WORDS);
    this.hashes = new Int32Array(n);
    this.gens = new Float64Array(n).fill(-1);
    this.stamps = new Uint32Array(n);
    this.answers = new Array<FlowEntry | null>(n).fill(null);
  }

  get capacity(): number {
    return this.answers.length;
  }

  /** Records an entry added to the classifier behind the cache. */
  noteAdded(e: FlowEntry): void {
    this.generation++;
    this.log[this.generation & LOG_MASK] = e;
  }

  /** Forgets every answer (the classifier behind it was swapped). */
  clear(): void {
    this.gens.fill(-1);
    this.answers.fill(null);
    this.log.fill(undefined);
  }

  /** The classifier's answer for `key`, from the cache when valid. Hot path. */
  lookup(key: FlowKey, classifier: Classifier): FlowEntry | null {
    const h = hashFlowKey(key);
    const keys = this.keys;
    const hashes = this.hashes;
    const base = (h & this.setMask) * WAYS;
    for (let s = base; s < base + WAYS; s++) {
      if (hashes[s] !== h || this.gens[s]! < 0) continue;
      const k = s * FLOW_KEY_WORDS;
      if (keys[k] === key[0] && keys[k + 1] === key[1] && keys[k + 2] === key[2] &&
          keys[k + 3] === key[3] && keys[k + 4] === key[4] && keys[k + 5] === key[5] &&
          keys[k + 6] === key[6] && keys[k + 7] === key[7] && keys[k + 8] === key[8]) {
        this.hits++;
        this.stamps[s] = ++this.clock;
        const e = this.answers[s]!;
        if (this.gens[s] === this.generation && (e === null || e.alive)) return e;
        return this.revalidate(s, key, classifier);
      }
    }
    this.misses++;
    const e = classifier.lookup(key);
    this.store(base, h, key, e);
    return e;
  }

  private revalidate(s: number, key: FlowKey, classifier: Classifier): FlowEntry | null {
    let e: FlowEntry | null = this.answers[s]!;
    const since = this.gens[s]!;
    if ((e !== null && !e.alive) || this.generation - since > LOG_SIZE) {
      e = classifier.lookup(key);
    } else {
      let bestRank = e === null ? -1 : e.rank;
      for (let g = since + 1; g <= this.generation; g++) {
        const added = this.log[g & LOG_MASK]!;
        if (added.alive && added.rank > bestRank && keyMatches(added.compiled, key)) {
          e = added;
          bestRank = added.rank;
        }
      }
    }
    this.answers[s] = e;
    this.gens[s] = this.generation;
    return e;
  }

  private store(base: number, h: number, key: FlowKey, e: FlowEntry | null): void {
    let victim = base;
    for (let s = base; s < base + WAYS; s++) {
      if (this.gens[s]! < 0) {
        victim = s;
        break;
      }
      if (this.stamps[s]! < this.stamps[victim]!) victim = s;
    }
    const k = victim * FLOW_KEY_WORDS;
    for (let i = 0; i < FLOW_KEY_WORDS; i++) this.keys[k + i] = key[i]!;
    this.hashes[victim] = h;
    this.gens[victim] = this.generation;
    this.stamps[victim] = ++this.clock;
    this.answers[victim] = e;
  }
}
