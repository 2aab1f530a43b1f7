import t from 'tap';
import { MessageFramer, OFPT, encodeMessage, type OfpMessage } from '../../protocol/index.js';

const echo = (xid: number, n: number): Buffer =>
  encodeMessage({ version: 1, type: OFPT.ECHO_REQUEST, xid, data: new Uint8Array(n).fill(xid) } as OfpMessage);

t.test('many messages in one chunk come out in order, as views into the chunk (no copy)', async (t) => {
  const msgs = [echo(1, 0), echo(2, 10), echo(3, 100)];
  const chunk = Buffer.concat(msgs);
  const framer = new MessageFramer();
  const out = framer.push(chunk);
  t.equal(out.length, 3);
  out.forEach((m, i) => {
    t.ok(Buffer.from(m).equals(msgs[i] ?? Buffer.alloc(0)));
    t.equal(m.buffer, chunk.buffer, 'same memory as the chunk');
  });
  t.equal(out[1]?.byteOffset, chunk.byteOffset + 8);
  t.equal(framer.buffered, 0);
});

t.test('a message split across chunks is assembled, and the rest of the last chunk still framed', async (t) => {
  const a = echo(1, 30);
  const b = echo(2, 5);
  const framer = new MessageFramer();
  t.same(framer.push(a.subarray(0, 3)), [], 'need more bytes is a normal result');
  t.equal(framer.buffered, 3);
  t.same(framer.push(a.subarray(3, 20)), []);
  t.equal(framer.buffered, 20);
  const out = framer.push(Buffer.concat([a.subarray(20), b, b.subarray(0, 9)]));
  t.equal(out.length, 2);
  t.ok(Buffer.from(out[0] ?? []).equals(a));
  t.ok(Buffer.from(out[1] ?? []).equals(b));
  t.equal(framer.buffered, 9);
  const last = framer.push(b.subarray(9));
  t.equal(last.length, 1);
  t.ok(Buffer.from(last[0] ?? []).equals(b));
  t.equal(framer.error, null);
});

t.test('any chunking of a stream gives exactly the messages sent', async (t) => {
  const msgs = Array.from({ length: 20 }, (_, i) => echo(i, (i * 37) % 300));
  const stream = Buffer.concat(msgs);
  for (const size of [1, 2, 3, 7, 8, 9, 64, 333, 4096]) {
    const framer = new MessageFramer();
    const out: Uint8Array[] = [];
    for (let off = 0; off < stream.length; off += size) out.push(...framer.push(stream.subarray(off, off + size)));
    t.equal(out.length, msgs.length, `chunks of ${size}`);
    t.ok(out.every((m, i) => Buffer.from(m).equals(msgs[i] ?? Buffer.alloc(0))), `chunks of ${size}: same bytes`);
  }
});

t.test('a length field below 8 is a framing error: earlier messages still come out, then nothing more', async (t) => {
  const bad = Buffer.from('0102000400000009', 'hex');
  const framer = new MessageFramer();
  const out = framer.push(Buffer.concat([echo(1, 0), bad, echo(2, 0)]));
  t.equal(out.length, 1, 'the message before the bad header');
  t.match(framer.error, /length field 4/);
  t.same(framer.push(echo(3, 0)), [], 'nothing after the error');
  t.equal(framer.buffered, 0);
});

t.test('a bad length field split across chunks is found when the header completes', async (t) => {
  const framer = new MessageFramer();
  t.same(framer.push(Buffer.from('010200', 'hex')), []);
  t.equal(framer.error, null);
  t.same(framer.push(Buffer.from('0000000001', 'hex')), []);
  t.match(framer.error, /length field 0/);
});

t.test('a huge declared length waits for its bytes, buffering at most that one message', async (t) => {
  const framer = new MessageFramer();
  const header = Buffer.from('0102ffff00000001', 'hex');
  t.same(framer.push(header), []);
  let fed = header.length;
  const piece = Buffer.alloc(1000, 0xab);
  while (fed + piece.length < 0xffff) {
    t.same(framer.push(piece), [], 'still waiting');
    fed += piece.length;
  }
  t.equal(framer.buffered, fed);
  t.ok(framer.buffered < 0xffff);
  const out = framer.push(Buffer.alloc(0xffff - fed + 8, 0xcd));
  t.equal(out.length, 1);
  t.equal(out[0]?.length, 0xffff);
  t.equal(framer.buffered, 8, 'the next message has started');
  t.equal(framer.error, null);
});

t.test('an empty chunk changes nothing', async (t) => {
  const framer = new MessageFramer();
  t.same(framer.push(new Uint8Array(0)), []);
  framer.push(echo(1, 4).subarray(0, 5));
  t.same(framer.push(new Uint8Array(0)), []);
  t.equal(framer.buffered, 5);
});
