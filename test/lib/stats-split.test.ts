import t from 'tap';
import { MAX_STATS_BODY, splitBySize } from '../../lib/stats-split.js';

t.test('one empty part for nothing', async (t) => {
  t.same(splitBySize([], () => 1), [[]]);
});

t.test('parts never exceed the limit and keep order', async (t) => {
  const items = Array.from({ length: 2000 }, (_, i) => i);
  const parts = splitBySize(items, () => 104);
  t.ok(parts.length > 1);
  t.same(parts.flat(), items);
  for (const p of parts) t.ok(p.length * 104 <= MAX_STATS_BODY);
  t.equal(parts[0]?.length, Math.floor(MAX_STATS_BODY / 104), 'the first part is filled up');
});

t.test('an item larger than the limit still goes out, alone', async (t) => {
  t.same(splitBySize([1, 50, 2], (n) => n, 10), [[1], [50], [2]]);
});
