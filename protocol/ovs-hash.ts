/**
 * Open vSwitch 3.1's lib/hash.h as it computes on a CPU without the SSE 4.2 build (Debian's amd64
 * packages): the MurmurHash3-based mhash_add / hash_add and hash_finish. What OVS prints and the
 * order it prints in follow from these (`ovs-appctl bond/hash`, a bond's buckets, the iteration
 * order of its hash maps in `qos/show`), so ofswitch reproduces them bit for bit. Pure; used by
 * bond/ and qos/.
 */

const rot = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

function mhashAddInner(hash: number, data: number): number {
  if (data === 0) return hash;
  let d = Math.imul(data, 0xcc9e2d51) >>> 0;
  d = rot(d, 15);
  d = Math.imul(d, 0x1b873593) >>> 0;
  return (hash ^ d) >>> 0;
}

/** hash_add (mhash_add): one 32-bit word into the hash. */
export function hashAdd(hash: number, data: number): number {
  const h = rot(mhashAddInner(hash >>> 0, data >>> 0), 13);
  return (Math.imul(h, 5) + 0xe6546b64) >>> 0;
}

/** hash_finish (mhash_finish of hash ^ final). */
export function hashFinish(hash: number, final: number): number {
  let h = (hash ^ final) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}
