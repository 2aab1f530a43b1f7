/**
 * 32-bit hashing of flow-key words (MurmurHash3's word mix and finaliser), for the classifier's
 * per-mask hash tables and the microflow cache. Pure integer arithmetic on numbers: no strings,
 * no allocation.
 */

export const HASH_SEED = 0x2c9277b5;

/** Mixes one 32-bit word into the running hash `h`. */
export function mixWord(h: number, word: number): number {
  let k = Math.imul(word, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** Final avalanche: every input bit affects every output bit. */
export function finishHash(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Hash of all nine words of a flow key. */
export function hashFlowKey(key: Uint32Array): number {
  let h = HASH_SEED;
  h = mixWord(h, key[0]!);
  h = mixWord(h, key[1]!);
  h = mixWord(h, key[2]!);
  h = mixWord(h, key[3]!);
  h = mixWord(h, key[4]!);
  h = mixWord(h, key[5]!);
  h = mixWord(h, key[6]!);
  h = mixWord(h, key[7]!);
  h = mixWord(h, key[8]!);
  return finishHash(h);
}
