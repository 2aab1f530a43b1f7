// Timeouts (sub-second, one heap), FLOW_REMOVED data, and FLOW / AGGREGATE / TABLE statistics.
import t from 'tap';
import { OFPAT, OFPFC, OFPFF, OFPFW, OFPP, OFPRR, OFPT, OFPTT } from '../../protocol/constants.js';
import type { FlowMod, Match } from '../../protocol/types.js';
import { FlowTable } from '../../flowtable/index.js';
import { packFlowKey } from '../../flowtable/flow-key.js';
import { ExpiryHeap } from '../../flowtable/expiry.js';
import { FlowEntry } from '../../flowtable/flow-entry.js';
import { compileMatch, normalizeMatch } from '../../flowtable/match.js';

const anyMatch: Match = {
  wildcards: OFPFW.ALL, inPort: 0, dlSrc: '00:00:00:00:00:00', dlDst: '00:00:00:00:00:00', dlVlan: 0, dlVlanPcp: 0,
  dlType: 0, nwTos: 0, nwProto: 0, nwSrc: 0, nwDst: 0, tpSrc: 0, tpDst: 0,
};
const port = (p: number): Match => ({ ...anyMatch, wildcards: OFPFW.ALL & ~OFPFW.IN_PORT, inPort: p });
const add = (over: Partial<FlowMod>): FlowMod => ({
  type: OFPT.FLOW_MOD, version: 1, xid: 1, match: anyMatch, cookie: 0n, command: OFPFC.ADD, idleTimeout: 0,
  hardTimeout: 0, priority: 100, bufferId: 0xffffffff, outPort: OFPP.NONE, flags: OFPFF.SEND_FLOW_REM,
  actions: [{ type: OFPAT.OUTPUT, port: 1, maxLen: 0 }], ...over,
});
const key = (inPort: number): Uint32Array => packFlowKey({
  inPort, dlVlan: 0xffff, dlVlanPcp: 0, dlSrc: '00:00:00:00:00:01', dlDst: '00:00:00:00:00:02', dlType: 0x0800,
  nwTos: 0, nwProto: 17, nwSrc: 1, nwDst: 2, tpSrc: 3, tpDst: 4,
});

t.test('idle timeout: expires after the idle time, with sub-second precision; use postpones it', async (t) => {
  let now = 1000;
  const ft = new FlowTable({ now: () => now });
  ft.flowMod(add({ match: port(1), idleTimeout: 1 }));
  t.equal(ft.nextExpiry(), 2000);
  now = 1999;
  t.same(ft.expire(), []);
  now = 2000;
  const [r] = ft.expire();
  t.equal(r!.reason, OFPRR.IDLE_TIMEOUT);
  t.equal(r!.durationSec, 1, 'duration 1 s for idle_timeout 1');
  t.equal(r!.durationNsec, 0);
  t.equal(ft.size, 0);
  t.equal(ft.nextExpiry(), null);

  ft.flowMod(add({ match: port(1), idleTimeout: 1 }));
  now = 2600;
  t.ok(ft.lookup(key(1), 60));
  now = 3000;
  t.same(ft.expire(), [], 'used at 2.6 s: still there at 3 s');
  t.equal(ft.nextExpiry(), 3600, 'rescheduled at its new idle deadline');
  now = 3600;
  t.equal(ft.expire().length, 1);
});

t.test('hard timeout: expires regardless of use; hard wins over idle at the same time', async (t) => {
  let now = 0;
  const ft = new FlowTable({ now: () => now });
  ft.flowMod(add({ match: port(1), hardTimeout: 2 }));
  ft.flowMod(add({ match: port(2), hardTimeout: 1, idleTimeout: 1 }));
  for (now = 0; now < 2000; now += 250) ft.lookup(key(1), 60);
  now = 1000;
  const first = ft.expire();
  t.same(first.map((r) => r.reason), [OFPRR.HARD_TIMEOUT]);
  now = 2000;
  const second = ft.expire();
  t.same(second.map((r) => [r.reason, r.entry.packetCount]), [[OFPRR.HARD_TIMEOUT, 8]]);
});

t.test('MODIFY restarts the hard timeout, as Open vSwitch does', async (t) => {
  let now = 0;
  const ft = new FlowTable({ now: () => now });
  ft.flowMod(add({ match: port(1), hardTimeout: 1 }));
  now = 800;
  ft.flowMod(add({ match: port(1), command: OFPFC.MODIFY_STRICT, hardTimeout: 0 }));
  now = 1000;
  t.same(ft.expire(), []);
  t.equal(ft.nextExpiry(), 1800);
  now = 1800;
  const [r] = ft.expire();
  t.equal(r!.durationSec, 1);
  t.equal(r!.durationNsec, 800_000_000, 'duration counts from the add');
});

t.test('100,000 entries with timeouts: one heap, expiry in deadline order, no per-flow timers', async (t) => {
  let now = 0;
  const ft = new FlowTable({ now: () => now, cacheSlots: 0 });
  const N = 100_000;
  for (let i = 0; i < N; i++) {
    ft.flowMod(add({ match: port(i % 60000), priority: i, idleTimeout: 1 + (i % 5), flags: 0 }));
  }
  t.equal(ft.size, N);
  t.equal(ft.nextExpiry(), 1000);
  now = 1000;
  t.equal(ft.expire().length, N / 5);
  now = 3500;
  t.equal(ft.expire().length, 2 * N / 5);
  t.equal(ft.nextExpiry(), 4000);
  t.equal(ft.flowMod(add({ command: OFPFC.DELETE, flags: 0 })).ok, true);
  t.equal(ft.size, 0);
  t.equal(ft.nextExpiry(), null, 'deleted entries leave no live deadline');
});

t.test('deleting most timed entries compacts the heap and keeps the rest on time', async (t) => {
  let now = 0;
  const ft = new FlowTable({ now: () => now });
  for (let i = 0; i < 300; i++) ft.flowMod(add({ match: port(i), hardTimeout: 1 + (i % 3), flags: 0 }));
  for (let i = 0; i < 290; i++) ft.flowMod(add({ match: port(i), command: OFPFC.DELETE_STRICT }));
  ft.flowMod(add({ match: port(1000), hardTimeout: 9 }));
  t.equal(ft.size, 11);
  t.equal(ft.nextExpiry(), 1000);
  now = 3000;
  t.equal(ft.expire().length, 10, 'the ten left of the first 300 expire');
  t.equal(ft.nextExpiry(), 9000);
});

t.test('flow, aggregate and table statistics: match filter, out_port, table id, normalised match', async (t) => {
  let now = 0;
  const ft = new FlowTable({ now: () => now });
  ft.flowMod(add({ match: port(1), priority: 5, cookie: 7n, idleTimeout: 10, hardTimeout: 20 }));
  ft.flowMod(add({ match: port(2), priority: 6, actions: [{ type: OFPAT.OUTPUT, port: 3, maxLen: 0 }] }));
  ft.flowMod(add({ match: { ...anyMatch, wildcards: OFPFW.ALL & ~OFPFW.DL_TYPE, dlType: 0x0806 }, priority: 1 }));
  now = 1500;
  ft.lookup(key(1), 100);
  ft.lookup(key(1), 50);
  ft.lookup(key(9), 70);
  const all = ft.flowStats({ match: anyMatch, tableId: OFPTT.ALL, outPort: OFPP.NONE });
  t.same(all.map((s) => s.priority), [6, 5, 1], 'highest priority first');
  const s5 = all[1]!;
  t.match(s5, { tableId: 0, priority: 5, cookie: 7n, idleTimeout: 10, hardTimeout: 20, packetCount: 2n, byteCount: 150n,
    durationSec: 1, durationNsec: 500_000_000 });
  t.same(s5.match, { ...port(1), wildcards: 0x3820fe }, 'unmatched fields zero, wildcard counts of 32, as OVS');
  t.same(ft.flowStats({ match: port(2), tableId: 0, outPort: OFPP.NONE }).map((s) => s.priority), [6]);
  t.same(ft.flowStats({ match: anyMatch, tableId: 0, outPort: 3 }).map((s) => s.priority), [6]);
  t.same(ft.aggregateStats({ match: anyMatch, tableId: OFPTT.ALL, outPort: OFPP.NONE }),
    { packetCount: 2n, byteCount: 150n, flowCount: 3 });
  t.same(ft.aggregateStats({ match: anyMatch, tableId: 0, outPort: 1 }), { packetCount: 2n, byteCount: 150n, flowCount: 2 });
  t.same(ft.tableStats(), [{
    tableId: 0, name: '', wildcards: OFPFW.ALL, maxEntries: 1_000_000, activeCount: 3, lookupCount: 3n, matchedCount: 2n,
  }], 'one table, as Open vSwitch 3.1 reports its table 0 (unnamed, all wildcards, 1,000,000 entries)');
});

t.test('the expiry heap holds one item per scheduled entry; entries without timeouts are not held', async (t) => {
  const heap = new ExpiryHeap();
  const any: Match = {
    wildcards: OFPFW.ALL, inPort: 0, dlSrc: '00:00:00:00:00:00', dlDst: '00:00:00:00:00:00', dlVlan: 0, dlVlanPcp: 0,
    dlType: 0, nwTos: 0, nwProto: 0, nwSrc: 0, nwDst: 0, tpSrc: 0, tpDst: 0,
  };
  const mk = (seq: number, hardTimeout: number): FlowEntry => new FlowEntry({
    compiled: compileMatch(normalizeMatch(any)), priority: 1, exact: false, seq, cookie: 0n, actions: [],
    idleTimeout: 0, hardTimeout, flags: 0, emergency: false, now: 0,
  });
  heap.schedule(mk(1, 5));
  heap.schedule(mk(2, 0));
  heap.schedule(mk(3, 7));
  t.equal(heap.length, 2);
  t.equal(heap.peek(), 5000);
});

t.test('maskCount counts the distinct masks of the normal table', async (t) => {
  const ft = new FlowTable();
  const base: FlowMod = {
    type: OFPT.FLOW_MOD, version: 1, xid: 1, cookie: 0n, command: OFPFC.ADD, idleTimeout: 0, hardTimeout: 0, priority: 1,
    bufferId: 0xffffffff, outPort: OFPP.NONE, flags: 0, actions: [],
    match: {
      wildcards: OFPFW.ALL, inPort: 0, dlSrc: '00:00:00:00:00:00', dlDst: '00:00:00:00:00:00', dlVlan: 0, dlVlanPcp: 0,
      dlType: 0, nwTos: 0, nwProto: 0, nwSrc: 0, nwDst: 0, tpSrc: 0, tpDst: 0,
    },
  };
  ft.flowMod(base);
  ft.flowMod({ ...base, match: { ...base.match, wildcards: OFPFW.ALL & ~OFPFW.IN_PORT, inPort: 1 } });
  ft.flowMod({ ...base, match: { ...base.match, wildcards: OFPFW.ALL & ~OFPFW.IN_PORT, inPort: 2 } });
  t.equal(ft.maskCount, 2);
});
