/**
 * Framing of back-to-back JSON texts: every split of a stream gives the same messages, strings
 * hide brackets and escaped quotes, multi-byte characters survive chunk boundaries, and anything
 * but an object or array between messages is a FramingError.
 */
import t from 'tap';
import { FramingError, JsonStreamSplitter } from '../../unixctl/json-stream.js';

const MESSAGES = [
  '{"method":"version","params":[],"id":0}',
  '{"method":"vlog/set","params":["ANY:console:dbg"],"id":1}',
  '{"id":"a}\\"{[","method":"x","params":["]]]","\\\\"]}',
  '[1,[2,{"a":[]}]]',
  '{"method":"fdb/show","params":["bräcke €"],"id":{"nested":[1,2]}}',
];
const STREAM = Buffer.from(' ' + MESSAGES.join('\n\t') + '\r\n');

t.test('one chunk: every message, whitespace between them ignored', async (t) => {
  const s = new JsonStreamSplitter();
  const texts = s.feed(STREAM);
  t.same(texts, MESSAGES);
  t.same(texts.map((x) => JSON.parse(x)), MESSAGES.map((x) => JSON.parse(x)));
});

t.test('split at every offset, and byte by byte', async (t) => {
  for (let cut = 0; cut <= STREAM.length; cut++) {
    const s = new JsonStreamSplitter();
    const texts = [...s.feed(STREAM.subarray(0, cut)), ...s.feed(STREAM.subarray(cut))];
    if (texts.join('|') !== MESSAGES.join('|')) t.fail(`split at ${cut}: ${JSON.stringify(texts)}`);
  }
  const s = new JsonStreamSplitter();
  const texts: string[] = [];
  for (const byte of STREAM) texts.push(...s.feed(Uint8Array.of(byte)));
  t.same(texts, MESSAGES);
});

t.test('an unfinished message waits for more', async (t) => {
  const s = new JsonStreamSplitter();
  t.same(s.feed(Buffer.from('{"method":"ver')), []);
  t.same(s.feed(Buffer.from('sion","params":[],"id":0}{')), ['{"method":"version","params":[],"id":0}']);
  t.same(s.feed(Buffer.from('}')), ['{}']);
});

t.test('anything but an object or array between messages is a framing error', async (t) => {
  for (const bad of ['42', '"text"', 'null', '{} x', '}']) {
    t.throws(() => new JsonStreamSplitter().feed(Buffer.from(bad)), FramingError, bad);
  }
});

t.test('a message longer than the limit is refused', async (t) => {
  const s = new JsonStreamSplitter(16);
  t.same(s.feed(Buffer.from('{"a":"0123456789"}')), ['{"a":"0123456789"}'], 'a complete one of any size passes');
  t.throws(() => s.feed(Buffer.from('{"a":"0123456789abcdef')), /longer than 16/);
});
