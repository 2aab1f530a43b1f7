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
 * beyond 16; a head's bit changes when its count goes between 0 and 1.
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
  private counts = new Map<number, number>();
  /** For lengths over 16: entries per whole prefix, one map per length (index = length). */
  private long: (Map<number, number> | undefined)[] = [];
  /** Entries counted (of any length but 0): when it comes back to 0 the maps are replaced by empty ones, as a Map does not give back the room it grew to. */
  private held = 0;
  /**
   * For lengths over 16, what lookups read: a bitset per length of hashed whole prefixes (a
   * one-hash Bloom filter, 2^18 bits), small enough to stay in cache where the maps are not.
   * Removed prefixes leave their bit set until the bitset is rebuilt from the map.
   */
  private longBits: (Int32Array | undefined)[] = [];
  private longStale: number[] = [];

  /**
   * The prefix lengths (as bits, see lengthBit) of entries that can match `addr`: exact for every
   * length; lengths over 16 are confirmed in their per-length maps. Hot path.
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
    const k = this.countKey(value, len);
    const n = this.counts.get(k) ?? 0;
    this.counts.set(k, n + 1);
    if (n === 0) this.setBits(value, len, true);
    if (len > 16) {
      const m = (this.long[len] ??= new Map<number, number>());
      m.set(value | 0, (m.get(value | 0) ?? 0) + 1);
      const bits = (this.longBits[len] ??= new Int32Array(LONG_BITS >>> 5));
      const bit = longBit(value | 0);
      bits[bit >>> 5]! |= 1 << (bit & 31);
    }
  }

  remove(value: number, len: number): void {
    if (len === 0) return;
    if (--this.held === 0) {
      this.heads.fill(0);
      this.counts = new Map();
      this.long = [];
      this.longBits = [];
      this.longStale = [];
      return;
    }
    // No copying of the maps when the filter shrinks: V8 already halves a Map's table when a
    // delete leaves it a quarter full, and a copy here was one synchronous step proportional to
    // what is left (over 100 ms at a quarter of a million-entry table), a stall in a sliced DELETE.
    if (len > 16) {
      const m = this.long[len];
      const c = m?.get(value | 0) ?? 0;
      if (c <= 1) {
        m?.delete(value | 0);
        this.longStale[len] = (this.longStale[len] ?? 0) + 1;
        if (m !== undefined && this.longStale[len]! > m.size + 64) this.rebuildLong(len, m);
      } else {
        m!.set(value | 0, c - 1);
      }
    }
    const k = this.countKey(value, len);
    const n = this.counts.get(k) ?? 0;
    if (n <= 1) {
      this.counts.delete(k);
      if (n === 1) this.setBits(value, len, false);
    } else {
      this.counts.set(k, n - 1);
    }
  }

  private rebuildLong(len: number, m: Map<number, number>): void {
    const bits = new Int32Array(LONG_BITS >>> 5);
    for (const v of m.keys()) {
      const bit = longBit(v);
      bits[bit >>> 5]! |= 1 << (bit & 31);
    }
    this.longBits[len] = bits;
    this.longStale[len] = 0;
  }

  private countKey(value: number, len: number): number {
    return len * 2 ** 32 + (len <= 16 ? value >>> 0 : value >>> 16);
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
