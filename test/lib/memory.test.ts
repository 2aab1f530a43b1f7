// lib/memory.ts: one full collection after a FLOW_MOD removed many entries and left few.
import t from 'tap';
import { COLLECT_AFTER_REMOVING, releaseMemoryAfterRemoving } from '../../lib/memory.js';

t.test('collects only after removing many and leaving few, once the current work is done', async (t) => {
  const g = globalThis as { gc?: () => void };
  const before = g.gc;
  let calls = 0;
  g.gc = () => calls++;
  t.teardown(() => {
    g.gc = before;
  });
  t.equal(releaseMemoryAfterRemoving(COLLECT_AFTER_REMOVING - 1, 0), false, 'few removed');
  t.equal(releaseMemoryAfterRemoving(COLLECT_AFTER_REMOVING, COLLECT_AFTER_REMOVING), false, 'many left');
  t.equal(releaseMemoryAfterRemoving(COLLECT_AFTER_REMOVING, 10), true);
  t.equal(calls, 0, 'not at once');
  await new Promise((r) => setImmediate(r));
  t.equal(calls, 1);
});
