import t from 'tap';
import { BufferPool } from '../../lib/buffer-pool.js';
import { OFP_NO_BUFFER } from '../../protocol/constants.js';

t.test('store and take once', async (t) => {
  const pool = new BufferPool();
  const frame = new Uint8Array([1, 2, 3]);
  const id = pool.store(frame, 4);
  frame[0] = 9; // the pool keeps its own copy
  t.not(id, OFP_NO_BUFFER);
  t.same(pool.take(id), { frame: new Uint8Array([1, 2, 3]), inPort: 4 });
  t.equal(pool.take(id), null, 'a buffer is released by its first use');
  t.equal(pool.take(OFP_NO_BUFFER), null);
  t.equal(pool.take(0x12345), null, 'never issued');
});

t.test('full pool: no buffer; expired slots are reused and old ids stay unknown', async (t) => {
  let now = 1000;
  const pool = new BufferPool({ size: 4, lifetimeMs: 100, now: () => now });
  const ids = [1, 2, 3, 4].map((i) => pool.store(new Uint8Array([i]), 1));
  t.equal(new Set(ids).size, 4);
  t.equal(pool.store(new Uint8Array([5]), 1), OFP_NO_BUFFER, 'pool full');
  now += 100;
  t.equal(pool.take(ids[0] ?? 0), null, 'expired');
  const reused = [6, 7, 8, 9].map((i) => pool.store(new Uint8Array([i]), 2));
  t.notOk(reused.includes(OFP_NO_BUFFER), 'every expired slot is free again');
  t.ok(reused.every((id) => !ids.includes(id)), 'a reused slot gets a new id');
  t.equal(pool.take(ids[1] ?? 0), null);
  t.same(pool.take(reused[0] ?? 0)?.frame, new Uint8Array([6]));
});

t.test('the id generation wraps: ids never reach OFP_NO_BUFFER, and after the wrap stale ids stay unknown', async (t) => {
  // One slot, so every store moves its generation on: run until the ids fall back (the wrap), which
  // must come before they could reach OFP_NO_BUFFER. Found by running, not by reading the limit.
  let now = 0;
  const pool = new BufferPool({ size: 1, lifetimeMs: 100, now: () => now });
  const frame = new Uint8Array(1);
  let previous = -1;
  let highest = -1;
  let wrapped = -1;
  let bad = '';
  for (let i = 0; i < 2 ** 25 && wrapped < 0; i++) {
    const id = pool.store(frame, 1);
    if (id === OFP_NO_BUFFER || pool.take(id) === null) {
      bad = `id ${id} at store ${i}`;
      break;
    }
    if (id < previous) wrapped = id;
    highest = Math.max(highest, id);
    previous = id;
  }
  t.equal(bad, '', 'every id is a real buffer, usable once');
  t.ok(wrapped >= 0, `the ids wrapped (highest 0x${highest.toString(16)}, then 0x${wrapped.toString(16)})`);
  t.ok(highest < OFP_NO_BUFFER, 'below OFP_NO_BUFFER');
  t.equal(wrapped & 0xff, 0, 'the same slot, a new generation');

  // Across the wrap: a buffer left at the last generation before it, and the one after.
  const fresh = new BufferPool({ size: 1, lifetimeMs: 100, now: () => now });
  let last = -1;
  for (let id = fresh.store(frame, 1); id >= last; id = fresh.store(frame, 1)) {
    last = id;
    fresh.take(id);
    if (id === highest) break;
  }
  t.equal(last, highest, 'a second pool reaches the same highest id');
  const stale = fresh.store(frame, 2); // not taken: expires
  t.equal(stale, wrapped, 'the first id after the wrap');
  now += 100;
  const next = fresh.store(frame, 3);
  t.not(next, stale, 'the expired slot is reused under a new id');
  t.equal(fresh.take(stale), null, 'the stale id is unknown');
  t.equal(fresh.take(highest), null, 'and so is the one before the wrap');
  t.same(fresh.take(next), { frame, inPort: 3 }, 'the live buffer is there');
});
