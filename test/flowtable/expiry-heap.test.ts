// The expiry heap keeps each entry once, at its position (FlowEntry.expiryPos): cancelled entries
// leave nothing behind, rescheduled ones move, and deadlines come out in order.
import t from 'tap';
import { ExpiryHeap } from '../../flowtable/expiry.js';
import { FlowEntry } from '../../flowtable/flow-entry.js';
import { compileMatch, normalizeMatch } from '../../flowtable/match.js';
import { MATCH_ALL } from '../../protocol/match.js';
import { prng } from '../../bench/classbench.js';

const compiled = compileMatch(normalizeMatch(MATCH_ALL));
const entry = (seq: number, hardTimeout: number, now: number): FlowEntry => new FlowEntry({
  compiled, priority: 1, exact: false, seq, cookie: 0n, actions: [], idleTimeout: 0, hardTimeout, flags: 0, emergency: false, now,
});

t.test('random schedules, reschedules and cancels: due entries come out in deadline order, nothing stale stays', async (t) => {
  const rnd = prng(7);
  const heap = new ExpiryHeap();
  const live = new Map<FlowEntry, number>();
  const all: FlowEntry[] = [];
  for (let i = 0; i < 3000; i++) {
    const e = entry(i, 1 + Math.floor(rnd() * 100), Math.floor(rnd() * 1000));
    all.push(e);
    heap.schedule(e);
    live.set(e, e.modified + e.hardTimeout * 1000);
  }
  heap.schedule(all[0]!); // unchanged deadline: nothing to do
  for (let i = 0; i < 3000; i += 2) {
    const e = all[i]!;
    if (i % 4 === 0) {
      heap.cancel(e);
      live.delete(e);
    } else {
      e.modified = Math.floor(rnd() * 50_000); // a MODIFY restarts the hard timeout
      heap.schedule(e);
      live.set(e, e.modified + e.hardTimeout * 1000);
    }
  }
  heap.cancel(all[0]!); // twice: no effect
  t.equal(heap.length, live.size, 'one item per scheduled entry, none for cancelled ones');
  const expected = [...live.values()].sort((a, b) => a - b);
  t.equal(heap.peek(), expected[0]);
  const out: number[] = [];
  for (let e = heap.popDue(Infinity); e !== null; e = heap.popDue(Infinity)) {
    out.push(live.get(e)!);
    t.equal(e.timerAt, -1);
  }
  t.same(out, expected, 'every scheduled entry once, earliest first');
  t.equal(heap.length, 0);
  t.equal(heap.peek(), null);
  t.equal(heap.popDue(Infinity), null);
});

t.test('popDue takes only what is due; an entry without timeouts is never scheduled', async (t) => {
  const heap = new ExpiryHeap();
  const a = entry(1, 5, 0);
  const b = entry(2, 10, 0);
  const none = entry(3, 0, 0);
  heap.schedule(b);
  heap.schedule(a);
  heap.schedule(none);
  t.equal(heap.length, 2);
  t.equal(heap.popDue(4_999), null);
  t.equal(heap.popDue(5_000), a);
  t.equal(heap.popDue(5_000), null);
  t.equal(heap.peek(), 10_000);
});
