/**
 * Inputs for the wire fuzzer: a seeded random source, the corpus (test/fuzz-corpus/*.bin, each
 * one or more OpenFlow messages as sent on the wire), and the ways a message is damaged --
 * bit flips, smashed bytes, a header length that lies, truncation (with the length adjusted or
 * left lying), splices of two corpus messages, random versions and types, an inner length or
 * count that lies, huge declared lengths, random bytes.
 *
 * Everything is a function of the seed: the same seed gives the same sessions, byte for byte.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** mulberry32: small, fast, good enough to pick mutations; deterministic per seed. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** A uniform 32-bit unsigned integer. */
  next(): number {
    let z = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return (z ^ (z >>> 14)) >>> 0;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }
  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() / 0x1_0000_0000 < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.next() & 0xff;
    return b;
  }
}

const lengthOf = (b: Uint8Array): number => ((b[2] ?? 0) << 8) | (b[3] ?? 0);
function setLength(b: Uint8Array, len: number): void {
  if (b.length >= 4) {
    b[2] = (len >> 8) & 0xff;
    b[3] = len & 0xff;
  }
}

/** The messages in a stream, by their length fields (a trailing part, or anything after a length below 8, is dropped). */
export function splitMessages(stream: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let off = 0;
  while (stream.length - off >= 8) {
    const len = lengthOf(stream.subarray(off));
    if (len < 8 || stream.length - off < len) break;
    out.push(stream.subarray(off, off + len));
    off += len;
  }
  return out;
}

/** Every message of every corpus file, in file-name order. */
export function loadCorpus(dir: string): { files: string[]; messages: Uint8Array[] } {
  const files = readdirSync(dir).filter((f) => f.endsWith('.bin')).sort();
  const messages: Uint8Array[] = [];
  for (const f of files) messages.push(...splitMessages(readFileSync(join(dir, f))));
  return { files, messages };
}

export const MUTATIONS = [
  'bit-flip',
  'byte-smash',
  'length-lie',
  'truncate',
  'splice',
  'version-type',
  'inner-length',
  'huge-length',
  'random-bytes',
] as const;
export type Mutation = (typeof MUTATIONS)[number];

/** `msg` damaged by `how` (a fresh array; `corpus` gives the other half of a splice). */
export function mutate(rng: Rng, msg: Uint8Array, how: Mutation, corpus: readonly Uint8Array[]): Uint8Array {
  const b = Uint8Array.from(msg);
  switch (how) {
    case 'bit-flip': {
      for (let n = 1 + rng.int(8); n > 0; n--) {
        const at = rng.int(b.length);
        b[at] = (b[at] ?? 0) ^ (1 << rng.int(8));
      }
      return b;
    }
    case 'byte-smash': {
      // mostly in the body, where the header checks do not catch it
      for (let n = 1 + rng.int(4); n > 0; n--) {
        const at = b.length > 8 && rng.chance(0.8) ? 8 + rng.int(b.length - 8) : rng.int(b.length);
        b[at] = rng.pick([0, 0xff, 0x80, 0x7f, rng.next() & 0xff]);
      }
      return b;
    }
    case 'length-lie':
      setLength(b, rng.pick([rng.int(8), b.length - 1, b.length + 1, b.length - 4, b.length + 8, rng.int(0x10000), 0xffff, 8]));
      return b;
    case 'truncate': {
      const cut = b.slice(0, rng.int(b.length));
      if (rng.chance(0.7)) setLength(cut, Math.max(cut.length, 8)); // a complete, too-short message; else the length still lies
      return cut.length >= 8 || rng.chance(0.5) ? cut : b.slice(0, 8);
    }
    case 'splice': {
      // the head of this message and the tail of another, usually with the length made to fit
      const other = rng.pick(corpus);
      const cutA = rng.int(b.length + 1);
      const cutB = rng.int(other.length + 1);
      const spliced = new Uint8Array(Math.max(8, cutA + other.length - cutB));
      spliced.set(b.subarray(0, cutA), 0);
      spliced.set(other.subarray(cutB), cutA);
      if (cutA < 4 || rng.chance(0.8)) setLength(spliced, spliced.length);
      return spliced;
    }
    case 'version-type':
      if (rng.chance(0.5)) b[0] = rng.pick([0, 1, 2, 3, 4, 5, 6, 0x7f, 0x80, 0xff, rng.next() & 0xff]);
      if (rng.chance(0.8)) b[1] = rng.chance(0.7) ? rng.int(30) : rng.next() & 0xff;
      return b;
    case 'inner-length': {
      if (b.length < 12) return b;
      const at = 8 + (rng.int(b.length - 9) & ~1);
      const v = rng.pick([0, 1, 4, 7, 8, 0xffff, 0x8000, rng.next() & 0xffff, (b[at] ?? 0) * 256 + (b[at + 1] ?? 0) + 8]);
      b[at] = (v >> 8) & 0xff;
      b[at + 1] = v & 0xff;
      return b;
    }
    case 'huge-length': {
      const body = rng.bytes(rng.int(64));
      const out = new Uint8Array(b.length + body.length);
      out.set(b);
      out.set(body, b.length);
      setLength(out, rng.pick([0xffff, 0xfff0, 0x8000, 0x4000 + rng.int(0xc000)]));
      return out;
    }
    case 'random-bytes': {
      const r = rng.bytes(8 + rng.int(120));
      if (rng.chance(0.6)) {
        r[0] = 1;
        setLength(r, rng.chance(0.8) ? r.length : rng.int(0x10000));
      }
      return r;
    }
  }
}

/** One to three mutations of a corpus message, or (one time in ten) the message unchanged. */
export function mutant(rng: Rng, corpus: readonly Uint8Array[]): { bytes: Uint8Array; how: string } {
  const base = rng.pick(corpus);
  if (rng.chance(0.1)) return { bytes: Uint8Array.from(base), how: 'valid' };
  let bytes: Uint8Array = base;
  const hows: Mutation[] = [];
  for (let n = 1 + (rng.chance(0.3) ? rng.int(3) : 0); n > 0; n--) {
    const how = rng.pick(MUTATIONS);
    hows.push(how);
    bytes = mutate(rng, bytes, how, corpus);
  }
  return { bytes, how: hows.join('+') };
}
