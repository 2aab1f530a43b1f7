import t from 'tap';
import fc from 'fast-check';
import { decodeMessage, encodeMessage, MessageFramer } from '../../protocol/index.js';
import { action, match, messageArbitraries } from './arbitraries.js';
import { decodeActions, encodeActions, actionsLength, decodeMatch, encodeMatch } from '../../protocol/index.js';

for (const [name, arb] of Object.entries(messageArbitraries)) {
  t.test(`${name}: decode(encode(m)) is m, and encode(decode(b)) is b`, async (t) => {
    fc.assert(
      fc.property(arb, (m) => {
        const wire = encodeMessage(m);
        if (wire.readUInt16BE(2) !== wire.length) return false;
        const decoded = decodeMessage(wire);
        t.strictSame(decoded, { ok: true, message: m });
        if (!decoded.ok) return false;
        return encodeMessage(decoded.message).equals(wire);
      }),
      { numRuns: 150 },
    );
  });
}

t.test('many random messages back to back through the framer, in random chunks', async (t) => {
  const anyMessage = fc.oneof(...Object.values(messageArbitraries));
  fc.assert(
    fc.property(fc.array(anyMessage, { minLength: 1, maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1 }), (msgs, cuts) => {
      const stream = Buffer.concat(msgs.map(encodeMessage));
      const framer = new MessageFramer();
      const out: Uint8Array[] = [];
      for (let off = 0, i = 0; off < stream.length; i++) {
        const n = cuts[i % cuts.length] ?? 1;
        out.push(...framer.push(stream.subarray(off, off + n)));
        off += n;
      }
      t.equal(out.length, msgs.length);
      // One assertion for the whole list: the number of assertions must not depend on the random draw.
      t.strictSame(out.map((frame) => decodeMessage(frame)), msgs.map((message) => ({ ok: true, message })));
      return framer.error === null && framer.buffered === 0;
    }),
    { numRuns: 100 },
  );
});

t.test('action lists round-trip on their own', async (t) => {
  fc.assert(
    fc.property(fc.array(action, { maxLength: 10 }), (actions) => {
      const wire = encodeActions(actions);
      t.equal(wire.length, actionsLength(actions));
      t.strictSame(decodeActions(wire), actions);
      return true;
    }),
    { numRuns: 200 },
  );
});

t.test('a match round-trips at any offset', async (t) => {
  fc.assert(
    fc.property(match, fc.integer({ min: 0, max: 16 }), (m, offset) => {
      const buf = Buffer.alloc(offset + 40 + 3, 0xee);
      t.equal(encodeMatch(m, buf, offset), offset + 40);
      t.strictSame(decodeMatch(buf, offset), m);
      return buf[offset - 1] !== 0 && buf[offset + 40] === 0xee;
    }),
    { numRuns: 200 },
  );
});
