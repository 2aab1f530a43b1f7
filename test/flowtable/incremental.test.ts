// Large-table work a chunk at a time (issue 10): scans, non-strict DELETE and MODIFY, statistics,
// with the table changing between chunks; and the memory the table keeps per entry and gives back.
import t from 'tap';
import { OFPAT, OFPFC, OFPFF, OFPFW, OFPP, OFPRR, OFPT, OFPTT } from '../../protocol/constants.js';
import type { Action, FlowMod, Match } from '../../protocol/types.js';
import { FlowTable } from '../../flowtable/index.js';
import { EntryScan } from '../../flowtable/entry-scan.js';
import { EntryStore } from '../../flowtable/entry-store.js';
import { packFlowKey, type FlowFields } from '../../flowtable/flow-key.js';
import { MATCH_ALL } from '../../protocol/match.js';
import { compileMatch, decompileMatch, normalizeMatch } from '../../flowtable/match.js';
import fc from 'fast-check';
import * as arb from '../protocol/arbitraries.js';

const out = (port: number): Action[] => [{ type: OFPAT.OUTPUT, port, maxLen: 0 }];
/** priority=P,ip,nw_src=10.0.x.y,nw_dst=192.168.x.y as ovs-ofctl add-flows sends it. */
const ipMatch = (i: number): Match => ({
  ...MATCH_ALL, wildcards: OFPFW.ALL & ~OFPFW.DL_TYPE & ~OFPFW.NW_SRC_MASK & ~OFPFW.NW_DST_MASK, dlType: 0x0800,
  nwSrc: (0x0a000000 | i) >>> 0, nwDst: (0xc0a80000 | (i & 0xffff)) >>> 0,
});
const mod = (command: number, over: Partial<FlowMod> = {}): FlowMod => ({
  type: OFPT.FLOW_MOD, version: 1, xid: 1, match: MATCH_ALL, cookie: 0n, command, idleTimeout: 0, hardTimeout: 0,
  priority: 100, bufferId: 0xffffffff, outPort: OFPP.NONE, flags: 0, actions: out(2), ...over,
});
const add = (i: number, over: Partial<FlowMod> = {}): FlowMod => mod(OFPFC.ADD, { match: ipMatch(i), priority: 1 + (i % 50), ...over });
const pkt = (i: number): Uint32Array => packFlowKey({
  inPort: 1, dlVlan: 0xffff, dlVlanPcp: 0, dlSrc: '00:00:00:00:00:01', dlDst: '00:00:00:00:00:02', dlType: 0x0800,
  nwTos: 0, nwProto: 17, nwSrc: (0x0a000000 | i) >>> 0, nwDst: (0xc0a80000 | (i & 0xffff)) >>> 0, tpSrc: 1, tpDst: 2,
} satisfies FlowFields);
const ALL_QUERY = { match: MATCH_ALL, tableId: OFPTT.ALL, outPort: OFPP.NONE };
const filled = (n: number): FlowTable => {
  const ft = new FlowTable({ cacheSlots: 64 });
  for (let i = 0; i < n; i++) if (!ft.flowMod(add(i)).ok) throw new Error('add failed');
  return ft;
};
const nwSrcOf = (m: Match): number => m.nwSrc & 0xffff;

t.test('EntryScan visits each id once, chunk by chunk; entries removed before they are reached are not visited', async (t) => {
  const ft = filled(1000);
  const store = (ft as unknown as { store: EntryStore }).store;
  const seen = new Map<number, number>();
  const scan = new EntryScan(store, () => true);
  let chunks = 0;
  while (!scan.done) {
    const chunk = scan.next(97);
    for (let i = 1; i < chunk.length; i++) t.ok(chunk[i - 1]!.rank > chunk[i]!.rank, 'a chunk is highest rank first') || i;
    for (const e of chunk) seen.set(nwSrcOf(e.match), (seen.get(nwSrcOf(e.match)) ?? 0) + 1);
    if (chunks === 2) {
      // between chunks: delete some not reached yet, and some already visited
      ft.flowMod(mod(OFPFC.DELETE_STRICT, { match: ipMatch(900), priority: 1 + (900 % 50) }));
      ft.flowMod(mod(OFPFC.DELETE_STRICT, { match: ipMatch(5), priority: 1 + (5 % 50) }));
    }
    chunks++;
  }
  t.equal(chunks, Math.ceil(1000 / 97));
  t.equal(seen.get(900), undefined, 'removed before reached: not visited');
  t.equal(seen.get(5), 1, 'visited before it went');
  t.ok([...seen.values()].every((n) => n === 1), 'nothing twice');
  t.equal(seen.size, 999);
});

t.test('a dump meets adds between chunks: entries present throughout appear exactly once, new ones at most once', async (t) => {
  const ft = filled(2000);
  const scan = ft.flowStatsScan(ALL_QUERY);
  const seen = new Map<number, number>();
  let round = 0;
  while (!scan.done) {
    for (const f of scan.next(300)) seen.set(nwSrcOf(f.match), (seen.get(nwSrcOf(f.match)) ?? 0) + 1);
    // delete 10 and add 10 new entries (reusing freed ids, below and above the scan's position)
    for (let k = 0; k < 10; k++) ft.flowMod(mod(OFPFC.DELETE_STRICT, { match: ipMatch(round * 10 + k), priority: 1 + ((round * 10 + k) % 50) }));
    for (let k = 0; k < 10; k++) ft.flowMod(add(5000 + round * 10 + k));
    round++;
  }
  for (let i = 100; i < 2000; i++) t.equal(seen.get(i), 1, `entry ${i}, there throughout, once`) || i;
  for (const [, n] of seen) t.ok(n <= 1);
  t.equal(ft.size, 2000);
});

t.test('DELETE a chunk at a time: lookups in between see the rest; FLOW_REMOVED data per step; the emptied store is given back', async (t) => {
  const ft = new FlowTable({ cacheSlots: 1024 });
  for (let i = 0; i < 3000; i++) ft.flowMod(add(i, { flags: OFPFF.SEND_FLOW_REM }));
  const store = (ft as unknown as { store: EntryStore }).store;
  t.equal(store.highWater, 3000);
  t.ok(ft.lookup(pkt(2999), 60), 'cached before');
  const job = ft.startFlowMod(mod(OFPFC.DELETE));
  t.equal(job.done, false);
  let removed = 0;
  let steps = 0;
  while (!job.done) {
    const r = job.step(500);
    for (const x of r) t.equal(x.reason, OFPRR.DELETE) || x;
    removed += r.length;
    steps++;
    if (!job.done) {
      t.equal(ft.size, 3000 - removed, 'the table shrinks step by step');
      t.equal(ft.lookup(pkt(2999), 60)?.match.nwSrc, ipMatch(2999).nwSrc, 'not reached yet: still forwarding');
      t.equal(ft.lookup(pkt(0), 60), null, 'deleted: a miss (even from the cache)');
    }
  }
  t.equal(steps, 6);
  t.equal(removed, 3000);
  t.same(job.result, { ok: true, entry: null, removed: [] });
  t.equal(ft.size, 0);
  t.equal(store.highWater, 0, 'ids start over');
  t.equal(store.f64.length, 256, 'the store shrank to its initial size');
  t.equal(ft.lookup(pkt(2999), 60), null, 'the cache forgot');
  t.ok(ft.flowMod(add(1)).ok, 'the table works on');
  t.equal(ft.lookup(pkt(1), 60)?.match.nwSrc, ipMatch(1).nwSrc);
});

t.test('DELETE honours out_port and the table (normal or emergency) chunk by chunk', async (t) => {
  const ft = new FlowTable();
  for (let i = 0; i < 100; i++) ft.flowMod(add(i, { actions: out(1 + (i % 2)) }));
  for (let i = 0; i < 10; i++) ft.flowMod(add(i, { flags: OFPFF.EMERG, actions: out(1) }));
  const job = ft.startFlowMod(mod(OFPFC.DELETE, { outPort: 1 }));
  let removed = 0;
  while (!job.done) removed += job.step(7).length;
  t.equal(removed, 50);
  t.equal(ft.size, 50);
  t.equal(ft.emergencySize, 10, 'the emergency table is another table');
  t.equal(ft.aggregateStats({ ...ALL_QUERY, tableId: OFPTT.EMERG }).flowCount, 10);
});

t.test('MODIFY a chunk at a time changes every covered entry; the entry to run a buffer through is the best', async (t) => {
  const ft = filled(1000);
  const job = ft.startFlowMod(mod(OFPFC.MODIFY, { cookie: 7n, actions: out(9) }));
  while (!job.done) t.same(job.step(128), []);
  const r = job.result!;
  t.ok(r.ok);
  if (r.ok) t.equal(r.entry?.priority, 50, 'the highest-priority entry modified');
  const stats = ft.flowStats(ALL_QUERY);
  t.equal(stats.length, 1000);
  t.ok(stats.every((f) => f.cookie === 7n && f.actions[0]?.type === OFPAT.OUTPUT && (f.actions[0] as { port: number }).port === 9));
  t.equal(ft.size, 1000, 'none added');
  // nothing covered: adds at the end
  const none = ft.startFlowMod(mod(OFPFC.MODIFY, { match: { ...MATCH_ALL, wildcards: OFPFW.ALL & ~OFPFW.IN_PORT, inPort: 3 }, priority: 5 }));
  while (!none.done) none.step(100);
  t.equal(ft.size, 1001);
  t.ok(none.result?.ok && none.result.entry?.priority === 5);
});

t.test('ADD, strict commands and refusals are done at once', async (t) => {
  const ft = filled(10);
  for (const m of [add(20), mod(OFPFC.MODIFY_STRICT, { match: ipMatch(1), priority: 2 }), mod(OFPFC.DELETE_STRICT, { match: ipMatch(2), priority: 3 }), mod(99)]) {
    const job = ft.startFlowMod(m);
    t.equal(job.done, true);
    t.same(job.step(10), []);
  }
  const refused = ft.startFlowMod(mod(99));
  t.equal(refused.result?.ok, false);
  t.equal(ft.size, 10, '+1 -1');
});

t.test('aggregate and flow statistics a chunk at a time agree with the whole-table ones', async (t) => {
  const ft = filled(2500);
  for (let i = 0; i < 2500; i += 3) ft.lookup(pkt(i), 100);
  const whole = ft.aggregateStats(ALL_QUERY);
  t.same(whole, { packetCount: 834n, byteCount: 83400n, flowCount: 2500 });
  const scan = ft.aggregateScan(ALL_QUERY);
  let steps = 0;
  while (!scan.done) {
    scan.next(1000);
    steps++;
  }
  t.equal(steps, 3);
  t.same(scan.result(), whole);
  const flows = ft.flowStatsScan({ ...ALL_QUERY, outPort: 2 });
  let n = 0;
  while (!flows.done) n += flows.next(700).length;
  t.equal(n, 2500);
  t.equal(ft.flowStats({ ...ALL_QUERY, outPort: 3 }).length, 0, 'out_port filter');
  t.equal(ft.flowStats({ ...ALL_QUERY, tableId: 5 }).length, 0, 'no such table');
  const empty = new FlowTable().flowStatsScan(ALL_QUERY);
  t.equal(empty.done, true, 'an empty table: done at once');
});

t.test('entries share what they can: masks, OUTPUT action lists, the zero cookie; other lists are copied', async (t) => {
  const ft = new FlowTable();
  const a = ft.flowMod(add(1));
  const b = ft.flowMod(add(2));
  if (!a.ok || !b.ok) throw new Error('add failed');
  t.equal(a.entry!.actions, b.entry!.actions, 'one OUTPUT list for both');
  t.equal(a.entry!.compiled.mask, b.entry!.compiled.mask, 'one mask');
  t.equal(a.entry!.compiled.maskKey, b.entry!.compiled.maskKey);
  const setVlan: Action[] = [{ type: OFPAT.SET_VLAN_VID, vlanVid: 5 }, ...out(2)];
  const c = ft.flowMod(add(3, { actions: setVlan, cookie: 0x1234n }));
  if (!c.ok) throw new Error('add failed');
  t.not(c.entry!.actions, setVlan, 'copied');
  t.same(c.entry!.actions, setVlan);
  t.equal(c.entry!.cookie, 0x1234n);
  // past the limit, sharing starts over (still right)
  for (let p = 1; p <= 4100; p++) ft.flowMod(add(100 + p, { actions: out(p) }));
  const last = ft.flowStats({ ...ALL_QUERY, outPort: 4100 });
  t.equal(last.length, 1);
  t.same(last[0]!.actions, out(4100));
});

t.test('same match at several priorities: buckets grow into arrays and back', async (t) => {
  const ft = new FlowTable({ cacheSlots: 0 });
  const m = ipMatch(7);
  for (const p of [10, 30, 20]) ft.flowMod(mod(OFPFC.ADD, { match: m, priority: p, actions: out(p) }));
  t.equal(ft.lookup(pkt(7), 60)?.priority, 30);
  ft.flowMod(mod(OFPFC.DELETE_STRICT, { match: m, priority: 30 }));
  t.equal(ft.lookup(pkt(7), 60)?.priority, 20);
  ft.flowMod(mod(OFPFC.DELETE_STRICT, { match: m, priority: 10 }));
  t.equal(ft.lookup(pkt(7), 60)?.priority, 20, 'alone again');
  t.equal(ft.flowMod(mod(OFPFC.DELETE_STRICT, { match: m, priority: 10 })).ok, true, 'deleting a priority not there');
  t.equal(ft.size, 1);
  ft.flowMod(mod(OFPFC.DELETE_STRICT, { match: m, priority: 20 }));
  t.equal(ft.lookup(pkt(7), 60), null);
  t.equal(ft.size, 0);
});

t.test('EntryStore.reset refuses while entries are attached', async (t) => {
  const ft = filled(1);
  const store = (ft as unknown as { store: EntryStore }).store;
  t.throws(() => store.reset(), /1 entries attached/);
});

t.test('an entry gives back its normalised match from the compiled one, exactly', async (t) => {
  const interesting = fc.record({
    base: arb.match,
    dlType: fc.constantFrom(0x0800, 0x0806, 0x86dd, 0x8035, 0x88cc),
    nwProto: fc.constantFrom(1, 6, 17, 58, 132, 47),
    dlVlan: fc.constantFrom(0xffff, 0, 5, 0x0fff, 0x1234),
    useTyped: fc.boolean(),
  }).map(({ base, dlType, nwProto, dlVlan, useTyped }) => (useTyped ? { ...base, dlType, nwProto, dlVlan } : base));
  fc.assert(fc.property(interesting, (m) => {
    const n = normalizeMatch(m);
    t.same(decompileMatch(compileMatch(n)), n) || t.comment(JSON.stringify(m));
  }), { numRuns: 3000 });
  const ft = new FlowTable();
  const r = ft.flowMod(add(3, { match: { ...ipMatch(3), wildcards: ipMatch(3).wildcards | (8 << OFPFW.NW_DST_SHIFT) } }));
  if (!r.ok) throw new Error('add failed');
  t.same(r.entry!.match, normalizeMatch({ ...ipMatch(3), wildcards: ipMatch(3).wildcards | (8 << OFPFW.NW_DST_SHIFT) }));
});

t.test('a table that shrinks to a quarter gives back the top of its store; ids in use stay', async (t) => {
  const ft = new FlowTable({ cacheSlots: 1024 });
  for (let i = 0; i < 5000; i++) ft.flowMod(add(i));
  const store = (ft as unknown as { store: EntryStore }).store;
  t.ok(ft.lookup(pkt(2500), 60), 'cached');
  for (let i = 100; i < 5000; i++) ft.flowMod(mod(OFPFC.DELETE_STRICT, { match: ipMatch(i), priority: 1 + (i % 50) }));
  t.equal(ft.size, 100);
  t.ok(store.highWater <= 100, `ids up to ${store.highWater}`);
  t.ok(store.f64.length <= 128 * 4, 'arrays cut down');
  t.equal(ft.lookup(pkt(2500), 60), null, 'the cache forgot the deleted entry');
  for (let i = 0; i < 100; i++) t.equal(ft.lookup(pkt(i), 60)?.match.nwSrc, ipMatch(i).nwSrc) || i;
  for (let i = 5000; i < 5100; i++) ft.flowMod(add(i));
  t.equal(ft.aggregateStats(ALL_QUERY).flowCount, 200);
  t.equal(ft.lookup(pkt(5050), 60)?.match.nwSrc, ipMatch(5050).nwSrc);

  // the top id still in use: nothing to cut, and the scan is not repeated at every removal
  const top = new FlowTable();
  for (let i = 0; i < 3000; i++) top.flowMod(add(i));
  const topStore = (top as unknown as { store: EntryStore }).store;
  for (let i = 0; i < 2999; i++) top.flowMod(mod(OFPFC.DELETE_STRICT, { match: ipMatch(i), priority: 1 + (i % 50) }));
  t.equal(topStore.highWater, 3000);
  t.equal(top.size, 1);
});
