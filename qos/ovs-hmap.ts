/**
 * The order in which Open vSwitch lists the members of its hash maps, for commands that print
 * them as OVS does (qos/show lists a port's queues in the order of the netdev's queue map and
 * each queue's details in the order of an smap; qos/show-types lists an sset). OVS iterates an
 * hmap bucket by bucket, and a bucket from its newest node, so the order follows from the keys'
 * hashes and the history of insertions, removals and resizes. This module replays that history:
 *
 * - hashes as OVS 3.1 computes them on a CPU without the SSE 4.2 build (Debian's amd64 packages):
 *   lib/hash.h's murmur-based hash_add/hash_finish, hash_int (an integer: queue ids) and hash_bytes
 *   (a string: smap keys, sset members, with basis 0);
 * - lib/hmap.c: a new node goes to the head of bucket `hash & mask`; after an insertion that makes
 *   n / 2 > mask the map grows to calc_mask(n) buckets, moving nodes bucket by bucket, each to the
 *   head of its new bucket; a removal never shrinks it (hmap_remove), nor does smap_clear.
 *
 * Pure and small; it keeps keys, not values.
 */

import { hashAdd, hashFinish } from '../protocol/ovs-hash.js';

/** OVS's hash_int(x, basis) (hash_2words). */
export function ovsHashInt(x: number, basis = 0): number {
  return hashFinish(hashAdd(hashAdd(x >>> 0, 0), basis >>> 0), 8);
}

/** OVS's hash_string(s, basis): hash_bytes over the string's bytes (UTF-8), 4 at a time, little-endian. */
export function ovsHashString(s: string, basis = 0): number {
  const bytes = Buffer.from(s, 'utf8');
  let hash = basis >>> 0;
  let i = 0;
  for (; i + 4 <= bytes.length; i += 4) hash = hashAdd(hash, bytes.readUInt32LE(i));
  if (i < bytes.length) {
    let tail = 0;
    for (let j = 0; i + j < bytes.length; j++) tail |= (bytes[i + j] as number) << (8 * j);
    hash = hashAdd(hash, tail >>> 0);
  }
  return hashFinish(hash, bytes.length);
}

/** lib/hmap.c's calc_mask. */
function calcMask(capacity: number): number {
  let mask = Math.floor(capacity / 2);
  mask |= mask >>> 1;
  mask |= mask >>> 2;
  mask |= mask >>> 4;
  mask |= mask >>> 8;
  mask |= mask >>> 16;
  mask |= (mask & 1) << 1;
  return mask;
}

/** An OVS hmap's keys in its iteration order; `hash` is how OVS hashes a key of the map. */
export class OvsHmap<K> {
  private buckets: K[][] = [[]];
  private mask = 0;
  private count = 0;
  private readonly hashes = new Map<K, number>();
  private readonly hash: (key: K) => number;

  constructor(hash: (key: K) => number) {
    this.hash = hash;
  }

  get size(): number {
    return this.count;
  }

  has(key: K): boolean {
    return this.hashes.has(key);
  }

  /** hmap_insert of a key not in the map (a key already there is left where it is). */
  insert(key: K): void {
    if (this.hashes.has(key)) return;
    const h = this.hash(key);
    this.hashes.set(key, h);
    (this.buckets[h & this.mask] as K[]).unshift(key);
    this.count++;
    if (this.count >>> 1 > this.mask) {
      const mask = calcMask(this.count);
      if (mask > this.mask) this.resize(mask);
    }
  }

  /** hmap_remove (the map keeps its size). */
  remove(key: K): void {
    const h = this.hashes.get(key);
    if (h === undefined) return;
    const bucket = this.buckets[h & this.mask] as K[];
    bucket.splice(bucket.indexOf(key), 1);
    this.hashes.delete(key);
    this.count--;
  }

  /** Every key removed, the buckets kept (smap_clear). */
  clear(): void {
    for (const key of this.keys()) this.remove(key);
  }

  /** The keys as HMAP_FOR_EACH visits them. */
  keys(): K[] {
    return this.buckets.flat();
  }

  private resize(mask: number): void {
    const next: K[][] = Array.from({ length: mask + 1 }, () => []);
    for (const bucket of this.buckets) for (const key of bucket) (next[(this.hashes.get(key) as number) & mask] as K[]).unshift(key);
    this.buckets = next;
    this.mask = mask;
  }
}

/** An smap's (or sset's) key order after inserting `keys` in this order into `into` (a fresh map when not given). */
export function ovsStringOrder(keys: readonly string[], into: OvsHmap<string> = new OvsHmap(ovsHashString)): string[] {
  for (const k of keys) into.insert(k);
  return into.keys();
}
