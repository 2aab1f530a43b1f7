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

t.test('ids never collide with OFP_NO_BUFFER over many generations', async (t) => {
  const pool = new BufferPool({ size: 1 });
  for (let i = 0; i < 5000; i++) {
    const id = pool.store(new Uint8Array(1), 1);
    if (id === OFP_NO_BUFFER || pool.take(id) === null) return t.fail(`bad id at ${i}`);
  }
  t.pass();
});
