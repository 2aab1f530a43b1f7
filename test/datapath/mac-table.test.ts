import t from 'tap';
import { MacTable, clampMacAgingTime, clampMacTableSize } from '../../datapath/mac-table.js';

function table(opts: { maxEntries?: number; idleSeconds?: number } = {}) {
  let clock = 5_000_000;
  const macs = new MacTable({ ...opts, now: () => clock });
  return { macs, advance: (ms: number) => (clock += ms) };
}

t.test('defaults and clamping as OVS: 8,192 entries, 300 s; 10..1,000,000 and 15..3600', async (t) => {
  const { macs } = table();
  t.same(macs.options, { maxEntries: 8192, idleSeconds: 300 });
  t.same(macs.stats(), { current: 0, max: 8192, staticEntries: 0, learned: 0, expired: 0, evicted: 0, moved: 0 });
  macs.configure({ maxEntries: 3 });
  t.same(macs.options, { maxEntries: 10, idleSeconds: 300 }, 'below 10: 10');
  macs.configure({ maxEntries: 5_000_000, idleSeconds: 1 });
  t.same(macs.options, { maxEntries: 1_000_000, idleSeconds: 15 });
  macs.configure({ idleSeconds: 99999 });
  t.same(macs.options, { maxEntries: 1_000_000, idleSeconds: 3600 }, 'a size not given stays');
  t.equal(clampMacTableSize(100), 100);
  t.equal(clampMacAgingTime(60), 60);
});

t.test('eviction at the cap takes the least recently seen entry of the fullest port', async (t) => {
  const { macs, advance } = table({ maxEntries: 10 });
  // port 1: two hosts; port 2: a flood of eight
  macs.learn(0, 0xa1, 1);
  advance(10);
  macs.learn(0, 0xa2, 1);
  for (let i = 0; i < 8; i++) {
    advance(10);
    macs.learn(0, 0x100 + i, 2);
  }
  t.equal(macs.size, 10);
  t.equal(macs.stats().evicted, 0);
  advance(10);
  macs.learn(0, 0x200, 2);
  t.equal(macs.size, 10, 'still at the cap');
  t.equal(macs.stats().evicted, 1, 'one evicted');
  t.equal(macs.lookup(0, 0x100), undefined, "port 2's least recently seen entry went");
  t.equal(macs.lookup(0, 0xa1), 1, "port 1's oldest entry stayed: port 2 holds the most");
  // refresh 0x101: now 0x102 is port 2's oldest
  advance(10);
  macs.learn(0, 0x101, 2);
  for (let i = 0; i < 100; i++) macs.learn(0, 0x1000 + i, 2);
  t.equal(macs.size, 10);
  t.equal(macs.stats().evicted, 101);
  t.equal(macs.lookup(0, 0xa1), 1, 'a flood on port 2 never evicts port 1');
  t.equal(macs.lookup(0, 0xa2), 1);
  t.equal(macs.lookup(0, 0x101), undefined, 'the flood evicted the refreshed entry in its turn');
  t.equal(macs.stats().learned, 111);
  // port 3 arrives; ports 2 (8 entries) is the fullest, so port 3 and 1 keep theirs
  macs.learn(0, 0xc1, 3);
  t.equal(macs.lookup(0, 0xc1), 3);
  t.equal(macs.lookup(0, 0xa1), 1);
  t.equal(macs.stats().current, 10);
});

t.test('with equal counts, either port may lose its oldest entry, and the counts follow', async (t) => {
  const { macs } = table({ maxEntries: 10 });
  for (let i = 0; i < 5; i++) macs.learn(0, 0x10 + i, 1);
  for (let i = 0; i < 5; i++) macs.learn(0, 0x20 + i, 2);
  macs.learn(0, 0x30, 3);
  const left = [0x10, 0x20].filter((m) => macs.lookup(0, m) === undefined);
  t.equal(left.length, 1, 'exactly one of the two oldest went');
  macs.learn(0, 0x31, 3);
  t.equal(
    [0x10, 0x11, 0x20, 0x21].filter((m) => macs.lookup(0, m) === undefined).length,
    2,
    'the next eviction takes the other port (now the fullest)',
  );
});

t.test('ageing: entries expire after the idle time, oldest first, counted; a refresh restarts the clock', async (t) => {
  const { macs, advance } = table({ idleSeconds: 20 });
  macs.learn(0, 1, 1);
  advance(5_000);
  macs.learn(0, 2, 1);
  advance(10_000);
  macs.learn(0, 1, 1); // refresh at 15 s
  advance(9_999);
  t.equal(macs.lookup(0, 2), 1, 'alive just before 20 s');
  advance(1);
  t.equal(macs.lookup(0, 2), undefined, 'expired at 20 s');
  t.equal(macs.lookup(0, 1), 1, 'the refreshed entry lives on');
  t.equal(macs.stats().expired, 1);
  t.same(
    macs.entries().map((e) => [e.mac, e.ageMs]),
    [[1, 10_000]],
    'entries with their ages',
  );
  macs.configure({ idleSeconds: 15 });
  advance(5_000);
  t.equal(macs.stats().current, 0, 'a shorter idle time applies to entries learned before');
  t.same(macs.stats(), { current: 0, max: 8192, staticEntries: 0, learned: 2, expired: 2, evicted: 0, moved: 0 });
});

t.test('a smaller size expires the least recently seen entries at once, counted as expired', async (t) => {
  const { macs, advance } = table({ maxEntries: 20 });
  for (let i = 0; i < 20; i++) {
    macs.learn(i % 3, 0x50 + i, 1 + (i % 2));
    advance(1);
  }
  macs.configure({ maxEntries: 12 });
  t.equal(macs.size, 12);
  t.equal(macs.stats().expired, 8);
  t.equal(macs.lookup(0 % 3, 0x50), undefined, 'the oldest went');
  t.equal(macs.lookup(19 % 3, 0x50 + 19), 2, 'the newest stayed');
});

t.test('moves are counted; the same MAC in two VLANs is two entries', async (t) => {
  const { macs } = table();
  macs.learn(10, 0xabc, 1);
  macs.learn(20, 0xabc, 2);
  t.equal(macs.size, 2);
  macs.learn(10, 0xabc, 1);
  t.equal(macs.stats().moved, 0, 'seen again on its port: no move');
  macs.learn(10, 0xabc, 3);
  t.equal(macs.lookup(10, 0xabc), 3);
  t.equal(macs.lookup(20, 0xabc), 2);
  t.same(macs.stats(), { current: 2, max: 8192, staticEntries: 0, learned: 2, expired: 0, evicted: 0, moved: 1 });
  macs.clearStats();
  t.same(macs.stats(), { current: 2, max: 8192, staticEntries: 0, learned: 0, expired: 0, evicted: 0, moved: 0 }, 'stats-clear keeps the entries');
  macs.forgetPort(3);
  t.equal(macs.lookup(10, 0xabc), undefined);
  t.equal(macs.size, 1);
  macs.forgetPort(99);
  macs.flush();
  t.equal(macs.size, 0);
  t.same(macs.stats().expired, 0, 'neither a removed port nor a flush counts as expiry');
  macs.learn(10, 0xabc, 1);
  t.equal(macs.lookup(10, 0xabc), 1, 'learns again after a flush');
});

t.test('a flood of a million new MACs on three ports stays at the cap and spares the quiet port', async (t) => {
  const { macs } = table({ maxEntries: 8192 });
  const run = (n: number, base: number) => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) macs.learn(0, base + i, 1 + (i & 3));
    return Number(process.hrtime.bigint() - start) / n;
  };
  run(20_000, 0);
  macs.learn(0, 0xfeed, 9);
  run(1_000_000, 1e9);
  t.equal(macs.size, 8192, 'bounded at the cap');
  t.equal(macs.lookup(0, 0xfeed), 9, 'the quiet port keeps its host through the flood');
  t.equal(macs.stats().evicted, 20_000 + 1 + 1_000_000 - 8192);
});
