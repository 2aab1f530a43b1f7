/** Splitting a stream of concatenated JSON values, as ovsdb-server writes them. */
import t from 'tap';
import fc from 'fast-check';
import { JsonFramingError, JsonSplitter } from '../../ovsdb/json-stream.js';

const VALUES = [
  '{"id":null,"method":"update","params":["idl",{"Bridge":{}}]}',
  '{"s":"braces } ] { [ inside","q":"a \\"quoted\\" }","b":"back\\\\","u":"\\u00e9\\"}"}',
  '[1,[2,[3,{"x":[]}]],"]"]',
  '{"utf8":"ünïcødé ✓ 𝄞 }"}',
  '{}',
];

function splitAll(chunks: readonly Buffer[], max?: number): string[] {
  const splitter = new JsonSplitter(max);
  return chunks.flatMap((c) => splitter.push(c));
}

t.test('values back to back, with and without whitespace, come out whole', async (t) => {
  t.same(splitAll([Buffer.from(VALUES.join(''))]), VALUES);
  t.same(splitAll([Buffer.from(` \n${VALUES.join('\r\n\t ')}\n`)]), VALUES);
  for (const text of splitAll([Buffer.from(VALUES.join(''))])) t.doesNotThrow(() => JSON.parse(text));
});

t.test('a stream split at every byte offset (inside strings, escapes and UTF-8 sequences too)', async (t) => {
  const bytes = Buffer.from(VALUES.join(' '));
  for (let cut = 0; cut <= bytes.length; cut++) {
    const got = splitAll([bytes.subarray(0, cut), bytes.subarray(cut)]);
    if (JSON.stringify(got) !== JSON.stringify(VALUES)) return t.fail(`wrong split at offset ${cut}`);
  }
  const oneByOne = splitAll([...bytes].map((b) => Buffer.from([b])));
  t.same(oneByOne, VALUES, 'one byte per chunk');
});

t.test('midValue says whether a value is incomplete', async (t) => {
  const splitter = new JsonSplitter();
  t.equal(splitter.midValue, false);
  t.same(splitter.push(Buffer.from('{"a":')), []);
  t.equal(splitter.midValue, true);
  t.same(splitter.push(Buffer.from('1}  ')), ['{"a":1}']);
  t.equal(splitter.midValue, false);
});

t.test('a byte outside any value that cannot start one is a framing error', async (t) => {
  for (const text of ['x', '{} 1', '"str"', '}', '{}]']) {
    t.throws(() => splitAll([Buffer.from(text)]), JsonFramingError, text);
  }
  t.throws(() => splitAll([Buffer.from('nope')]), { message: 'unexpected "n" between JSON values (expected "{" or "[")' });
});

t.test('a value longer than the limit is an error, whether it completes in one chunk or grows over many', async (t) => {
  t.same(splitAll([Buffer.from('{"a":"1234"}')], 12), ['{"a":"1234"}'], 'exactly the limit is fine');
  t.throws(() => splitAll([Buffer.from('{"a":"12345"}')], 12), { message: 'JSON value longer than the limit of 12 bytes' });
  t.throws(() => splitAll([Buffer.from('{"a":"12345')], 10), JsonFramingError, 'incomplete and already too long');
  t.throws(() => splitAll([Buffer.from('{"a":'), Buffer.from('"1234'), Buffer.from('5"}')], 12), JsonFramingError, 'across chunks');
  t.same(splitAll([Buffer.from('{"a":"1234"}{"b":"5678"}')], 12).length, 2, 'the limit is per value');
});

t.test('fuzz: any JSON objects, concatenated and cut anywhere, come back equal', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.jsonValue(), { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 8 }), (values, cuts) => {
      const texts = values.map((v) => JSON.stringify({ v }));
      const bytes = Buffer.from(texts.join(''));
      const offsets = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
      const chunks: Buffer[] = [];
      let from = 0;
      for (const o of offsets) {
        chunks.push(bytes.subarray(from, o));
        from = o;
      }
      chunks.push(bytes.subarray(from));
      const got = splitAll(chunks);
      return JSON.stringify(got) === JSON.stringify(texts);
    }),
    { numRuns: 500 },
  );
  t.pass('500 random streams split correctly');
});
