// The classifier's hash tables resize a few slots at a time (issue 10: no step of a large DELETE
// or ADD may cost time in proportion to the table): lookups, strict finds, whole-table walks and
// the prefix filter stay exact while a resize is half done, and an emptied subtable gives its
// slots back.
import t from 'tap';
import { OFPAT, OFPFC, OFPFF, OFPFW, OFPP, OFPT } from '../../protocol/constants.js';
import type { FlowMod, Match } from '../../protocol/types.js';
import { FlowTable } from '../../flowtable/index.js';
import { packFlowKey } from '../../flowtable/flow-key.js';
import { MATCH_ALL } from '../../protocol/match.js';
import { PrefixFilter, lengthBit } from '../../flowtable/prefix-filter.js';
import { prng } from '../../bench/classbench.js';
import { resizeTuning } from '../../flowtable/classifier.js';

// Every resize incremental, however small the table (by default small ones are moved at once).
resizeTuning.eagerSlots = 0;

const ipMatch = (i: number): Match => ({
  ...MATCH_ALL, wildcards: OFPFW.ALL & ~OFPFW.DL_TYPE & ~OFPFW.NW_SRC_MASK & ~OFPFW.NW_DST_MASK, dlType: 0x0800,
  nwSrc: (0x0a000000 | i) >>> 0, nwDst: (0xac000000 | i) >>> 0,
});
const mod = (command: number, i: number, priority: number, over: Partial<FlowMod> = {}): FlowMod => ({
  type: OFPT.FLOW_MOD, version: 1, xid: 1, match: ipMatch(i), cookie: 0n, command, idleTimeout: 0, hardTimeout: 0,
  priority, bufferId: 0xffffffff, outPort: OFPP.NONE, flags: 0, actions: [{ type: OFPAT.OUTPUT, port: priority, maxLen: 0 }], ...over,
});
const pkt = (i: number): Uint32Array => packFlowKey({
  inPort: 1, dlVlan: 0xffff, dlVlanPcp: 0, dlSrc: '00:00:00:00:00:01', dlDst: '00:00:00:00:00:02', dlType: 0x0800,
  nwTos: 0, nwProto: 17, nwSrc: (0x0a000000 | i) >>> 0, nwDst: (0xac000000 | i) >>> 0, tpSrc: 1, tpDst: 2,
});
const PRIORITIES = [5, 9, 7];

t.test('random growth and shrinking: every lookup and strict delete agrees with a model, also mid-resize', async (t) => {
  const rnd = prng(42);
  const ft = new FlowTable({ cacheSlots: 0 });
  /** match index -> priorities held, in order of addition (older first). */
  const model = new Map<number, number[]>();
  let held = 0;
  let checkedMidResize = 0;
  let mismatches = 0;
  let most = 0;
  const expected = (i: number): number | null => {
    const ps = model.get(i);
    return ps === undefined || ps.length === 0 ? null : Math.max(...ps);
  };
  const check = (i: number): void => {
    const got = ft.lookup(pkt(i), 60)?.priority ?? null;
    if (got !== expected(i)) mismatches++;
    if (ft.subtableShapes().some((s) => s.resizing)) checkedMidResize++;
  };
  // Phases: grow to 3000 matches, shrink to 40, grow to 1500.
  for (const [target, addShare] of [[3000, 0.8], [40, 0.15], [1500, 0.8]] as const) {
    for (let guard = 0; guard < 50_000 && (addShare > 0.5 ? held < target : held > target); guard++) {
      const i = Math.floor(rnd() * 4000);
      const p = PRIORITIES[Math.floor(rnd() * PRIORITIES.length)]!;
      const ps = model.get(i) ?? [];
      if (rnd() < addShare) {
        t.ok(ft.flowMod(mod(OFPFC.ADD, i, p)).ok);
        if (!ps.includes(p)) {
          ps.push(p);
          held++;
        }
        model.set(i, ps);
      } else if (ps.length > 0) {
        const q = ps[Math.floor(rnd() * ps.length)]!;
        t.ok(ft.flowMod(mod(OFPFC.DELETE_STRICT, i, q)).ok);
        ps.splice(ps.indexOf(q), 1);
        held--;
      }
      most = Math.max(most, held);
      check(i);
      check(Math.floor(rnd() * 4000));
    }
    t.equal(ft.size, held, `size after the phase to ${target}`);
  }
  // Then empty it, checking as it goes.
  for (const [i, ps] of model) {
    while (ps.length > 0) {
      t.ok(ft.flowMod(mod(OFPFC.DELETE_STRICT, i, ps.pop()!)).ok);
      check(i);
      check(Math.floor(rnd() * 4000));
    }
  }
  t.equal(ft.size, 0);
  t.equal(mismatches, 0, 'no lookup disagreed with the model');
  t.ok(most >= 3000, 'the table grew to 3000 entries');
  t.ok(checkedMidResize > 100, `lookups were checked while a resize was half done (${checkedMidResize})`);
  t.same(ft.subtableShapes(), [], 'the emptied subtable is gone');
});

t.test('a subtable gives its slots back as it empties, and walks see every entry mid-resize', async (t) => {
  const ft = new FlowTable({ cacheSlots: 0 });
  for (let i = 0; i < 5000; i++) ft.flowMod(mod(OFPFC.ADD, i, 10));
  const [full] = ft.subtableShapes();
  t.ok(full!.capacity >= 10_000, `5000 entries take at least 10000 slots (${full!.capacity})`);
  let seenResizing = false;
  for (let i = 0; i < 4900; i++) {
    ft.flowMod(mod(OFPFC.DELETE_STRICT, i, 10));
    const [s] = ft.subtableShapes();
    if (s!.resizing && !seenResizing) {
      seenResizing = true;
      // A walk of the whole subtable (CHECK_OVERLAP) while its slots are in two tables.
      const clash = ft.flowMod(mod(OFPFC.ADD, 4999, 10, { flags: OFPFF.CHECK_OVERLAP, match: { ...ipMatch(4999), wildcards: OFPFW.ALL } }));
      t.equal(clash.ok, false, 'the overlap with an entry still in the old table is found');
      t.equal(ft.flowStats({ match: MATCH_ALL, tableId: 0xff, outPort: OFPP.NONE }).length, 5000 - i - 1, 'flow stats see every entry mid-resize');
    }
  }
  t.ok(seenResizing, 'a shrink was seen under way');
  const [small] = ft.subtableShapes();
  t.equal(small!.size, 100);
  t.ok(small!.capacity <= 1024, `100 entries left keep at most 1024 slots (${small!.capacity})`);
  for (let i = 4900; i < 5000; i++) t.equal(ft.lookup(pkt(i), 60)?.priority, 10);
  t.equal(ft.lookup(pkt(1), 60), null);
  const removed = ft.enterEmergencyMode();
  t.equal(removed.length, 100, 'emergency mode removes every entry left');
});

t.test('many removals refresh the Bloom filter by a resize, without losing entries', async (t) => {
  const ft = new FlowTable({ cacheSlots: 0 });
  // Keep ~600 entries while 20,000 come and go: removals pile up stale Bloom bits.
  for (let i = 0; i < 20_000; i++) {
    ft.flowMod(mod(OFPFC.ADD, i, 10));
    if (i >= 600) ft.flowMod(mod(OFPFC.DELETE_STRICT, i - 600, 10));
  }
  t.equal(ft.size, 600);
  const [s] = ft.subtableShapes();
  t.ok(s!.capacity <= 4096, `the table did not grow with the churn (${s!.capacity} slots)`);
  let found = 0;
  for (let i = 19_400; i < 20_000; i++) if (ft.lookup(pkt(i), 60)?.priority === 10) found++;
  t.equal(found, 600);
  t.equal(ft.lookup(pkt(5), 60), null);
});

t.test('the prefix filter counts exactly: a length leaves an address once its last entry goes', async (t) => {
  const f = new PrefixFilter();
  const a = 0x0a000001;
  const b = 0x0a000002;
  f.add(a, 32);
  f.add(a, 32);
  f.add(b, 32);
  f.add(0x0a000000, 8);
  t.ok(f.lengths(a) & lengthBit(32));
  f.remove(a, 32);
  t.ok(f.lengths(a) & lengthBit(32), 'one of two entries left');
  f.remove(a, 32);
  t.equal(f.lengths(a) & lengthBit(32), 0, 'no /32 entry for a');
  t.ok(f.lengths(b) & lengthBit(32), 'b still has its /32');
  t.ok(f.lengths(a) & lengthBit(8), 'the /8 covers a');
  f.remove(0x0a000000, 8);
  t.equal(f.lengths(a) & lengthBit(8), 0, 'the /8 is gone');
  f.remove(b, 32);
  t.equal(f.lengths(b), 0, 'empty');
  f.remove(b, 32);
  f.add(b, 0);
  f.remove(b, 0);
  t.equal(f.lengths(b), 0, 'length 0 is not tracked');
});

t.test('a resize asked for while one is under way finishes the first (a fallback the spacing of resizes never needs)', async (t) => {
  const ft = new FlowTable({ cacheSlots: 0 });
  for (let i = 0; i < 300; i++) ft.flowMod(mod(OFPFC.ADD, i, 10));
  // White box: the subtable's private resize, twice in a row.
  const st = [...(ft as unknown as { normal: { byMask: Map<string, { resize(cap: number): void; resizing: boolean; capacity: number }> } })
    .normal.byMask.values()][0]!;
  st.resize(2048);
  t.equal(st.resizing, true);
  st.resize(4096);
  t.equal(st.capacity, 4096);
  for (let i = 0; i < 300; i++) t.equal(ft.lookup(pkt(i), 60)?.priority, 10);
  t.equal(ft.lookup(pkt(300), 60), null);
});

t.test('by default a small table is resized at once: no lookup probes two tables after the last change', async (t) => {
  const saved = resizeTuning.eagerSlots;
  resizeTuning.eagerSlots = 16_384;
  t.teardown(() => {
    resizeTuning.eagerSlots = saved;
  });
  const ft = new FlowTable({ cacheSlots: 0 });
  for (let i = 0; i < 3000; i++) {
    ft.flowMod(mod(OFPFC.ADD, i, 10));
    t.equal(ft.subtableShapes()[0]!.resizing, false);
  }
});
