/**
 * The packet-in scheduler against Open vSwitch's pinsched rules: a token bucket of rate_limit per
 * second holding burst_limit, one queue per ingress port served round-robin, the oldest packet of
 * the longest queue dropped when burst_limit are queued, and its counters (bypassed, queued,
 * dropped, backlog). Time is a fake clock; `run()` is what the scheduler's timer calls.
 */
import t from 'tap';
import { CONTROLLER_RATE_LIMIT_DEFAULT, PINSCHED_RUN_MAX } from '../../protocol/constants.js';
import { PacketInScheduler, PacketInSchedulers, effectiveLimits } from '../../lib/packet-in-scheduler.js';

function clock(): { now: () => number; advance: (ms: number) => void } {
  let ms = 1000;
  return { now: () => ms, advance: (d) => (ms += d) };
}

t.test('limits: the default rate, a quarter of the rate as the burst, at least 1', async (t) => {
  t.same(effectiveLimits(), { rateLimit: CONTROLLER_RATE_LIMIT_DEFAULT, burstLimit: CONTROLLER_RATE_LIMIT_DEFAULT / 4 });
  t.same(effectiveLimits({ rateLimit: 100 }), { rateLimit: 100, burstLimit: 25 }, 'OVS: burst defaults to rate/4');
  t.same(effectiveLimits({ rateLimit: 100, burstLimit: 7 }), { rateLimit: 100, burstLimit: 7 });
  t.same(effectiveLimits({ rateLimit: 2 }), { rateLimit: 2, burstLimit: 1 }, 'never below one');
  t.same(effectiveLimits({ rateLimit: 0, burstLimit: -1 }), { rateLimit: CONTROLLER_RATE_LIMIT_DEFAULT, burstLimit: CONTROLLER_RATE_LIMIT_DEFAULT / 4 });
});

t.test('a burst goes out at once, then the rate: one token per 1/rate s', async (t) => {
  const c = clock();
  const out: number[] = [];
  const s = new PacketInScheduler<number>({ rateLimit: 100, burstLimit: 10 }, (i) => out.push(i), c.now);
  t.teardown(() => s.close());
  for (let i = 0; i < 10; i++) s.send(1, i);
  t.equal(out.length, 10, 'the full bucket passes a burst');
  t.same(s.stats, { backlog: 0, bypassed: 10, queued: 0, dropped: 0 });
  for (let i = 10; i < 15; i++) s.send(1, i);
  t.equal(out.length, 10, 'then packet-ins wait');
  t.equal(s.stats.backlog, 5);
  t.equal(s.stats.queued, 5);
  c.advance(20); // two tokens at 100/s
  s.run();
  t.same(out.slice(10), [10, 11], 'two tokens in 20 ms: two packet-ins, oldest first');
  c.advance(1000);
  s.run();
  t.same(out.slice(10), [10, 11, 12, 13, 14], 'the rest once tokens come');
  t.equal(s.stats.backlog, 0);
  s.send(1, 99);
  t.equal(out.at(-1), 99, 'nothing queued and a token: sent at once again');
  t.equal(s.stats.bypassed, 11);
});

t.test('round-robin across ports: a flooding port cannot starve a quiet one', async (t) => {
  const c = clock();
  const out: string[] = [];
  const s = new PacketInScheduler<string>({ rateLimit: 100, burstLimit: 50 }, (i) => out.push(i), c.now);
  t.teardown(() => s.close());
  for (let i = 0; i < 50; i++) s.send(1, `flood${i}`); // empties the bucket
  out.length = 0;
  for (let i = 0; i < 40; i++) s.send(1, `f${i}`);
  s.send(2, 'quiet0');
  s.send(3, 'other0');
  s.send(2, 'quiet1');
  c.advance(60); // 6 tokens
  s.run();
  t.same(out, ['f0', 'quiet0', 'other0', 'f1', 'quiet1', 'f2'], 'one from each port in turn');
});

t.test('full queues: the oldest packet of the longest queue is dropped, not the quiet port\'s', async (t) => {
  const c = clock();
  const out: string[] = [];
  const s = new PacketInScheduler<string>({ rateLimit: 100, burstLimit: 4 }, (i) => out.push(i), c.now);
  t.teardown(() => s.close());
  for (let i = 0; i < 4; i++) s.send(9, 'bucket');
  out.length = 0;
  s.send(2, 'q0');
  for (let i = 0; i < 10; i++) s.send(1, `f${i}`);
  t.same(s.stats, { backlog: 4, bypassed: 4, queued: 11, dropped: 7 }, 'never more than burst_limit queued; each excess one dropped');
  c.advance(1000);
  s.run();
  t.same(out, ['q0', 'f7', 'f8', 'f9'], "the quiet port's packet-in survives; the flood keeps its newest");
});

t.test('a run sends at most PINSCHED_RUN_MAX; the timer sends the rest', async (t) => {
  const c = clock();
  const out: number[] = [];
  const s = new PacketInScheduler<number>({ rateLimit: 1000, burstLimit: 200 }, (i) => out.push(i), c.now);
  t.teardown(() => s.close());
  for (let i = 0; i < 200; i++) s.send(1, i);
  out.length = 0;
  for (let i = 0; i < 120; i++) s.send(1, i);
  c.advance(1000);
  s.run();
  t.equal(out.length, PINSCHED_RUN_MAX, 'one run is bounded');
  // The timer's runs (each at most PINSCHED_RUN_MAX) follow at once; 10 s for a loaded machine.
  for (let i = 0; i < 500 && out.length < 120; i++) await new Promise((r) => setTimeout(r, 20));
  t.equal(out.length, 120, 'the timer drained the rest (tokens were there)');
});

t.test('the timer releases queued packet-ins as real time passes', async (t) => {
  const out: number[] = [];
  // The clock stands still while the ten are sent (a loaded machine may pause this process for the
  // 5 ms a token takes in the middle of the loop), then real time passes.
  let frozen: number | null = performance.now();
  const s = new PacketInScheduler<number>({ rateLimit: 200, burstLimit: 5 }, (i) => out.push(i), () => frozen ?? performance.now());
  t.teardown(() => s.close());
  for (let i = 0; i < 10; i++) s.send(1, i);
  t.equal(out.length, 5);
  frozen = null;
  // 25 ms at 200/s; 10 s for a loaded machine, whose timers run late.
  for (let i = 0; i < 500 && out.length < 10; i++) await new Promise((r) => setTimeout(r, 20));
  t.same(out, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'all out, in order, at 200/s');
});

t.test('new limits: the excess over the new burst is dropped; close drops the rest', async (t) => {
  const c = clock();
  const out: number[] = [];
  const s = new PacketInScheduler<number>({ rateLimit: 100, burstLimit: 20 }, (i) => out.push(i), c.now);
  for (let i = 0; i < 40; i++) s.send(i % 2, i);
  t.equal(s.stats.backlog, 20);
  s.setLimits({ rateLimit: 1000, burstLimit: 5 });
  t.same(s.limits, { rateLimit: 1000, burstLimit: 5 });
  t.equal(s.stats.backlog, 5, 'pinsched_set_limits drops down to the new burst');
  t.equal(s.stats.dropped, 15);
  s.close();
  t.equal(s.stats.backlog, 0);
  s.send(1, 1);
  c.advance(1000);
  s.run();
  t.equal(out.length, 20, 'nothing more after close');
});

t.test("a connection's two schedulers: misses cannot starve actions; OVS's status keys", async (t) => {
  const c = clock();
  const out: string[] = [];
  const both = new PacketInSchedulers<string>({ rateLimit: 100, burstLimit: 2 }, (i) => out.push(i), c.now);
  t.teardown(() => both.close());
  for (let i = 0; i < 10; i++) both.send('miss', 1, `m${i}`);
  both.send('action', 1, 'a0');
  t.same(out, ['m0', 'm1', 'a0'], 'the action packet-in has its own bucket');
  t.same(both.statusPairs(), {
    'packet-in-action-backlog': '0',
    'packet-in-action-bypassed': '1',
    'packet-in-action-dropped': '0',
    'packet-in-action-queued': '0',
    'packet-in-miss-backlog': '2',
    'packet-in-miss-bypassed': '2',
    'packet-in-miss-dropped': '6',
    'packet-in-miss-queued': '8',
  });
  both.setLimits({ rateLimit: 100, burstLimit: 1 });
  t.equal(both.miss.stats.backlog, 1);
});

t.test('a long queue stays in order as it drains (its storage compacted on the way)', async (t) => {
  const c = clock();
  const out: number[] = [];
  const s = new PacketInScheduler<number>({ rateLimit: 100_000, burstLimit: 3000 }, (i) => out.push(i), c.now);
  t.teardown(() => s.close());
  for (let i = 0; i < 3000; i++) s.send(1, -1); // empties the bucket
  out.length = 0;
  for (let i = 0; i < 2500; i++) s.send(1, i);
  for (let round = 0; round < 60 && s.stats.backlog > 0; round++) {
    c.advance(10);
    s.run();
  }
  t.same(out, Array.from({ length: 2500 }, (_, i) => i), 'every packet-in once, oldest first');
});
