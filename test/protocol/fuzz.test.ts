/**
 * A bounded, seeded fuzz run of the codec (a few seconds): random bytes, random bodies behind a
 * plausible header, and truncated, bit-flipped, byte-smashed and length-lied encodings of valid
 * messages (fast-check-generated and the peer-test corpus), fed through decodeMessage and
 * validateMessage and, as a stream in random chunkings, through MessageFramer.
 *
 * What must hold for every input:
 * - nothing throws out of the codec (decodeMessage has no catch-all: an exception is a bug in
 *   its length checks, and it fails this test with the input that caused it);
 * - every refusal is an OfpError with a real OFPET type and code pair (constants.ts' tables),
 *   the request's xid, and as data the offending bytes (a prefix of the input, never empty);
 * - every accepted message re-encodes without throwing, and that re-encoding is canonical:
 *   decoded and encoded again, it gives the very same bytes;
 * - the framer returns exactly the messages a plain reference framer finds, flags a length field
 *   below 8 and then returns nothing more.
 *
 * Inputs that once broke the codec live in test/protocol/regressions/*.hex (hex, `#` comments)
 * and are replayed first. FUZZ_SEED and FUZZ_RUNS override the seed and the run count to fuzz
 * longer by hand; a failure prints the input's hex, ready to be saved as a regression.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import t, { type Test } from 'tap';
import {
  decodeMessage,
  encodeMessage,
  MessageFramer,
  OFP_ERROR_CODES,
  OfpError,
  validateMessage,
} from '../../protocol/index.js';
import type { OfpMessage } from '../../protocol/index.js';
import { message as messageArbitrary } from './arbitraries.js';
import { CORPUS } from '../helpers/of10-corpus.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261125);
const RUNS = Number(process.env.FUZZ_RUNS ?? 20000);
const REGRESSIONS = fileURLToPath(new URL('./regressions/', import.meta.url));

const hexOf = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** Why an error is malformed, or null when it is a proper one for `input`. */
function badError(err: OfpError, input: Uint8Array): string | null {
  if (!(err instanceof OfpError)) return 'not an OfpError';
  const codes = (OFP_ERROR_CODES as Record<number, Record<string, number> | undefined>)[err.errorType];
  if (!codes) return `error type ${err.errorType} is no OFPET`;
  if (!Object.values(codes).includes(err.code)) return `code ${err.code} is not a code of error type ${err.errorType}`;
  if (!(err.data instanceof Uint8Array)) return 'no offending bytes';
  if (err.data.length === 0 && input.length > 0) return 'empty offending bytes';
  if (hexOf(err.data) !== hexOf(input.subarray(0, err.data.length))) return 'offending bytes are not the input';
  const xid = input.length >= 8 ? Buffer.from(input.buffer, input.byteOffset, input.byteLength).readUInt32BE(4) : 0;
  if (err.xid !== xid) return `xid ${err.xid}, the input's is ${xid}`;
  if (typeof err.reason !== 'string' || err.reason === '') return 'no reason';
  return null;
}

/** Everything the codec must do right with one message's bytes; returns the problems found. */
function checkMessage(input: Uint8Array): string[] {
  let result;
  try {
    result = decodeMessage(input);
  } catch (e) {
    return [`decodeMessage threw ${String(e)}`];
  }
  if (!result.ok) {
    const bad = badError(result, input);
    return bad ? [`decode error: ${bad}`] : [];
  }
  const problems: string[] = [];
  const msg: OfpMessage = result.message;
  try {
    const refused = validateMessage(msg, input);
    if (refused) {
      const bad = badError(refused, input);
      if (bad) problems.push(`validate error: ${bad}`);
    }
  } catch (e) {
    problems.push(`validateMessage threw ${String(e)}`);
  }
  let again: Buffer;
  try {
    again = encodeMessage(msg);
  } catch (e) {
    return [...problems, `encodeMessage threw on a decoded message: ${String(e)}`];
  }
  // The re-encoding is canonical: decoding and encoding it again gives the very same bytes.
  // (Not always the input's bytes: pads are zeroed.)
  const redecoded = decodeMessage(again);
  if (!redecoded.ok) problems.push(`the re-encoding does not decode: ${redecoded.reason}`);
  else if (hexOf(encodeMessage(redecoded.message)) !== hexOf(again)) problems.push('the re-encoding is not canonical');
  return problems;
}

/** The reference framer: messages by their length fields, and whether a length below 8 stops it. */
function referenceFrames(stream: Uint8Array): { frames: string[]; error: boolean } {
  const frames: string[] = [];
  let off = 0;
  while (stream.length - off >= 8) {
    const len = ((stream[off + 2] ?? 0) << 8) | (stream[off + 3] ?? 0);
    if (len < 8) return { frames, error: true };
    if (stream.length - off < len) break;
    frames.push(hexOf(stream.subarray(off, off + len)));
    off += len;
  }
  return { frames, error: false };
}

/** Feeds `stream` to a MessageFramer in chunks cut at `cuts`; returns the problems found. */
function checkFraming(stream: Uint8Array, cuts: readonly number[]): string[] {
  const framer = new MessageFramer();
  const got: string[] = [];
  const bounds = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  let start = 0;
  try {
    for (const end of [...bounds, stream.length]) {
      if (end < start) continue;
      const before = framer.error;
      // a fresh copy per chunk, as a socket gives: views must not depend on the caller's buffer
      const out = framer.push(Uint8Array.from(stream.subarray(start, end)));
      if (before !== null && out.length > 0) return ['messages after a framing error'];
      for (const m of out) got.push(hexOf(m));
      start = end;
    }
  } catch (e) {
    return [`MessageFramer threw ${String(e)}`];
  }
  const want = referenceFrames(stream);
  const problems: string[] = [];
  if (JSON.stringify(got) !== JSON.stringify(want.frames)) problems.push(`framed ${got.length} messages, the reference ${want.frames.length}`);
  if ((framer.error !== null) !== want.error) problems.push(`framing error ${framer.error}, expected ${want.error}`);
  for (const frame of got) problems.push(...checkMessage(Buffer.from(frame, 'hex')));
  return problems;
}

// ---- inputs --------------------------------------------------------------------------------------

const corpusBytes: Uint8Array[] = Object.values(CORPUS).map((m) => encodeMessage(m));

/** A valid encoding: fast-check-generated or from the corpus. */
const validBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  messageArbitrary.map((m) => Uint8Array.from(encodeMessage(m))),
  fc.constantFrom(...corpusBytes),
);

/** A header that passes the first checks (version 1, a type near the real ones, its own length). */
const plausible: fc.Arbitrary<Uint8Array> = fc
  .tuple(fc.integer({ min: 0, max: 23 }), fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 0xffffffff }))
  .map(([type, body, xid]) => {
    const b = Buffer.alloc(8 + body.length);
    b[0] = 1;
    b[1] = type;
    b.writeUInt16BE(b.length, 2);
    b.writeUInt32BE(xid, 4);
    b.set(body, 8);
    return Uint8Array.from(b);
  });

/** A valid message damaged one way: truncated, bit-flipped, bytes smashed, length field lied. */
const mutated: fc.Arbitrary<Uint8Array> = fc
  .tuple(validBytes, fc.integer({ min: 0, max: 3 }), fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), fc.nat())
  .map(([valid, how, positions, value]) => {
    const b = Uint8Array.from(valid);
    const at = (p: number): number => p % b.length;
    switch (how) {
      case 0: {
        // truncated, with the length field adjusted (a complete message that is too short)
        const cut = b.subarray(0, Math.max(8, at(positions[0] ?? 0)));
        if (cut.length >= 4) cut.set([cut.length >> 8, cut.length & 0xff], 2);
        return cut;
      }
      case 1:
        for (const p of positions) b[at(p)] = (b[at(p)] ?? 0) ^ (1 << (p % 8));
        return b;
      case 2:
        for (const p of positions) b[at(p) >= 4 ? at(p) : 8 % b.length] = value & 0xff;
        return b;
      default: {
        // a count or length inside the body lied about (an action, port or stats entry length)
        const p = 8 + (at(positions[0] ?? 0) & ~1);
        if (p + 1 < b.length) b.set([(value >> 8) & 0xff, value & 0xff], p);
        return b;
      }
    }
  });

const anyInput: fc.Arbitrary<Uint8Array> = fc.oneof(fc.uint8Array({ maxLength: 100 }), plausible, mutated, validBytes);

// ---- the run -------------------------------------------------------------------------------------

function assertNoProblems(t: Test, arb: fc.Arbitrary<Uint8Array>, check: (b: Uint8Array) => string[], runs: number): void {
  const details = fc.check(
    fc.property(arb, (input) => {
      const problems = check(input);
      if (problems.length > 0) throw new Error(`${problems.join('; ')} -- input ${hexOf(input)}`);
    }),
    { seed: SEED, numRuns: runs },
  );
  t.notOk(details.failed, details.failed ? `seed ${SEED}: ${String(details.errorInstance)}` : `${runs} inputs, seed ${SEED}`);
}

t.test('regression vectors (inputs that once broke the codec) replay first', async (t) => {
  const files = readdirSync(REGRESSIONS).filter((f) => f.endsWith('.hex')).sort();
  for (const file of files) {
    const text = readFileSync(REGRESSIONS + file, 'utf8');
    const bytes = Buffer.from(text.replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex');
    t.same(checkMessage(bytes), [], `${file}: decoded or refused properly`);
    t.same(checkFraming(bytes, [1, 7, 8, 9]), [], `${file}: framed properly`);
  }
  t.ok(files.length > 0, `${files.length} regression vectors`);
});

t.test('single messages: random, plausible, mutated and valid', async (t) => {
  assertNoProblems(t, anyInput, checkMessage, RUNS);
});

t.test('streams of messages in random chunkings', async (t) => {
  const stream = fc
    .array(fc.oneof(validBytes, mutated, plausible), { minLength: 1, maxLength: 6 })
    .map((parts) => Uint8Array.from(Buffer.concat(parts)));
  const cuts = fc.array(fc.nat(), { maxLength: 12 });
  const details = fc.check(
    fc.property(stream, cuts, (s, c) => {
      const problems = checkFraming(s, c);
      if (problems.length > 0) throw new Error(`${problems.join('; ')} -- stream ${hexOf(s)} cuts ${c.join(',')}`);
    }),
    { seed: SEED, numRuns: Math.ceil(RUNS / 4) },
  );
  t.notOk(details.failed, details.failed ? `seed ${SEED}: ${String(details.errorInstance)}` : `seed ${SEED}`);
});

t.test('one byte at a time, a length field below 8 stops the framer for good', async (t) => {
  const framer = new MessageFramer();
  const good = corpusBytes[0] ?? new Uint8Array(8);
  const stream = Buffer.concat([good, Buffer.from('0100000400000000', 'hex'), good]);
  const got: Uint8Array[] = [];
  for (const byte of stream) got.push(...framer.push(Uint8Array.of(byte)));
  t.equal(got.length, 1, 'the message before the bad header');
  t.not(framer.error, null, 'framing error');
  t.same(framer.push(good), [], 'nothing after it');
});
