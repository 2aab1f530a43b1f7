/**
 * Internet checksums (RFC 1071) and their incremental update (RFC 1624), over frame bytes.
 *
 * Rewrite actions change a few 16-bit words of a header; updating the checksum from the old and
 * new words costs a handful of operations, where recomputing would read the whole segment.
 */

/** The 16-bit one's-complement sum of bytes [start, end) (an odd last byte padded), folded. */
export function onesComplementSum(f: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  let i = start;
  for (; i + 1 < end; i += 2) sum += ((f[i] as number) << 8) | (f[i + 1] as number);
  if (i < end) sum += (f[i] as number) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** The checksum field value for bytes [start, end) with its checksum field zeroed. */
export function internetChecksum(f: Uint8Array, start: number, end: number, initial = 0): number {
  return ~onesComplementSum(f, start, end, initial) & 0xffff;
}

/** RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for a 16-bit word changed from `oldWord` to `newWord`. */
export function updatedChecksum(checksum: number, oldWord: number, newWord: number): number {
  let sum = (~checksum & 0xffff) + (~oldWord & 0xffff) + newWord;
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Updates the checksum stored at `at` for a 16-bit word changed from `oldWord` to `newWord`. */
export function adjustChecksum16(f: Uint8Array, at: number, oldWord: number, newWord: number): void {
  const c = updatedChecksum(((f[at] as number) << 8) | (f[at + 1] as number), oldWord, newWord);
  f[at] = c >>> 8;
  f[at + 1] = c & 0xff;
}

/** Updates the checksum stored at `at` for a 32-bit value changed from `oldValue` to `newValue`. */
export function adjustChecksum32(f: Uint8Array, at: number, oldValue: number, newValue: number): void {
  const c0 = ((f[at] as number) << 8) | (f[at + 1] as number);
  const c1 = updatedChecksum(c0, oldValue >>> 16, newValue >>> 16);
  const c2 = updatedChecksum(c1, oldValue & 0xffff, newValue & 0xffff);
  f[at] = c2 >>> 8;
  f[at + 1] = c2 & 0xff;
}
