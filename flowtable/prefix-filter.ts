/**
 * A prefix filter on one address word of the flow key (nw_src or nw_dst), letting a lookup skip
 * whole subtables: Open vSwitch's prefix tracking, done with a 64K-entry direct index instead of a
 * trie.
 *
 * `heads[addr >>> 16]` has bit L-1 set when some entry has a prefix of length L (1..32) on this
 * field that agrees with the address in its first min(L, 16) bits; for lengths over 16 that is
 * then checked on the whole prefix in a per-length bitset of hashed prefixes (`lengths`; false
 * positives possible, misses not). A subtable whose entries all have
 * prefix length L cannot match a packet for which no entry's length-L prefix matches, so the
 * classifier skips it without hashing. Length 0 (wildcarded) is not tracked: such subtables
 * always pass.
 *
 * Maintenance is by counting entries per (length, prefix) for lengths up to 16 (prefixes of one
 * length are disjoint, so each head is covered by at most one of them), and per (length, head)
 * beyond 16; a head's bit changes when its count goes between 0 and 1. The counts are typed arrays
 * indexed by prefix, so no step of adding or removing costs more than a few array writes (a
 * sliced DELETE of a million entries never meets a rehash here).
 */

const HEADS = 1 << 16;
const LONG_BITS = 1 << 18;

/** Bit of a whole prefix (int32) in a long-prefix bitset. */
function longBit(prefix: number): number {
  return Math.imul(prefix ^ (prefix >>> 15), 0x9e3779b1) >>> 14;
}

/** Bit standing for prefix length `len` in a head's set; 0 for length 0. */
export function lengthBit(len: number): number {
  return len === 0 ? 0 : 1 << (len - 1);
}

/** Number of leading one bits of a prefix mask (0xffffff00: 24). */
export function prefixLength(mask: number): number {
  return Math.clz32(~mask);
}

export class PrefixFilter {
  readonly heads = new Int32Array(HEADS);
  /**
   * Entries counted, per prefix length (index): for lengths up to 16 one counter per prefix
   * (index prefix >>> (32 - length)), beyond 16 one per head (index prefix >>> 16). Typed arrays,
   * made on a length's first entry: no Map, whose rehash when it grows or shrinks would be one
   * step as long as the table is large (tens of ms at a quarter of a million prefixes).
   */
  private counts: (Uint32Array | undefined)[] = [];
  /**
   * For lengths over 16, what lookups read: a bitset per length of hashed whole prefixes (a
   * one-hash Bloom filter, 2^18 bits), small enough to stay in cache. Kept exact by a counter per
   * bit (`longCounts`: the entries whose prefix hashes there), so a removal clears its bit when it
   * was the last, and the filter never needs rebuilding.
   */
  private longBits: (Int32Array | undefined)[] = [];
  private longCounts: (Uint32Array | undefined)[] = [];
  /** Entries counted (of any length but 0): when it comes back to 0 the arrays are dropped. */
  private held = 0;

  /**
   * The prefix lengths (as bits, see lengthBit) of entries that can match `addr`: exact for every
   * length up to 16; lengths over 16 are confirmed in their per-length bitsets. Hot path.
   */
  lengths(addr: number): number {
    let lens = this.heads[addr >>> 16]!;
    let hi = lens & ~0xffff;
    while (hi !== 0) {
      const b = 31 - Math.clz32(hi);
      hi ^= 1 << b;
      const mask = b === 31 ? -1 : ~(-1 >>> (b + 1));
      const bit = longBit(addr & mask);
      if ((this.longBits[b + 1]![bit >>> 5]! & (1 << (bit & 31))) === 0) lens ^= 1 << b;
    }
    return lens;
  }

  /** Counts an entry with prefix `value` (already masked) of length `len`. */
  add(value: number, len: number): void {
    if (len === 0) return;
    ++this.held;
    const counts = (this.counts[len] ??= new Uint32Array(len <= 16 ? 1 << len : HEADS));
    const i = countIndex(value, len);
    if (counts[i]!++ === 0) this.setBits(value, len, true);
    if (len > 16) {
      const bit = longBit(value | 0);
      const long = (this.longCounts[len] ??= new Uint32Array(LONG_BITS));
      const bits = (this.longBits[len] ??= new Int32Array(LONG_BITS >>> 5));
      if (long[bit]!++ === 0) bits[bit >>> 5]! |= 1 << (bit & 31);
    }
  }

  /** Forgets an entry counted by add(value, len). */
  remove(value: number, len: number): void {
    if (len === 0) return;
    if (--this.held === 0) {
      this.heads.fill(0);
      this.counts = [];
      this.longBits = [];
      this.longCounts = [];
      return;
    }
    if (len > 16) {
      const long = this.longCounts[len];
      const bit = longBit(value | 0);
      if (long !== undefined && long[bit]! > 0 && --long[bit]! === 0) this.longBits[len]![bit >>> 5]! &= ~(1 << (bit & 31));
    }
    const counts = this.counts[len];
    const i = countIndex(value, len);
    if (counts !== undefined && counts[i]! > 0 && --counts[i]! === 0) this.setBits(value, len, false);
  }

  private setBits(value: number, len: number, on: boolean): void {
    const bit = lengthBit(len);
    const first = value >>> 16;
    const span = len >= 16 ? 1 : 1 << (16 - len);
    for (let h = first; h < first + span; h++) {
      this.heads[h] = on ? this.heads[h]! | bit : this.heads[h]! & ~bit;
    }
  }
}

/** A prefix's counter in its length's array: the prefix itself up to 16 bits, its head beyond. */
function countIndex(value: number, len: number): number {
  return len <= 16 ? value >>> (32 - len) : value >>> 16;
}
