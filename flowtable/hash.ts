/**
 * 32-bit hashing of flow-key words (a multiply-rotate word mix and MurmurHash3's finaliser), for the classifier's
 * per-mask hash tables and the microflow cache. Pure integer arithmetic on numbers: no strings,
 * no allocation.
 */

export const HASH_SEED = 0x2c9277b5;

/**
 * Mixes one 32-bit word into the running hash `h`: a multiply and a rotation (lighter than
 * MurmurHash3's full word mix; finishHash's avalanche makes up for it in the low bits that index
 * the tables).
 */
export function mixWord(h: number, word: number): number {
  h = Math.imul(h ^ word, 0x9e3779b1);
  return (h << 13) | (h >>> 19);
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
