// The entry store (ids, counters, versions) and the microflow cache's reliance on versions when ids are reused.
import t from 'tap';
import { OFPAT, OFPFC, OFPFF, OFPFW, OFPP, OFPT } from '../../protocol/constants.js';
import type { FlowMod, Match } from '../../protocol/types.js';
import { EntryStore } from '../../flowtable/entry-store.js';
import { FlowEntry } from '../../flowtable/flow-entry.js';
import { FlowTable } from '../../flowtable/flow-table.js';
import { compileMatch, normalizeMatch } from '../../flowtable/match.js';
import { packFlowKey, type FlowFields } from '../../flowtable/flow-key.js';

const anyMatch: Match = {
  wildcards: OFPFW.ALL, inPort: 0, dlSrc: '00:00:00:00:00:00', dlDst: '00:00:00:00:00:00', dlVlan: 0, dlVlanPcp: 0,
  dlType: 0, nwTos: 0, nwProto: 0, nwSrc: 0, nwDst: 0, tpSrc: 0, tpDst: 0,
};

const entry = (priority: number, idleTimeout = 0, now = 5): FlowEntry => new FlowEntry({
  compiled: compileMatch(normalizeMatch(anyMatch)), priority, exact: false, seq: priority,
  cookie: 0n, actions: [], idleTimeout, hardTimeout: 0, flags: 0, emergency: false, now,
});

t.test('attach gives ids; hits count in the store; detach hands the counters back to the entry', async (t) => {
  const s = new EntryStore();
  const a = entry(1);
  const b = entry(2, 10);
  t.equal(a.id, -1, 'no id before attach');
  s.attach(a);
  s.attach(b);
  t.same([a.id, b.id], [0, 1]);
  t.equal(s.rank(b.id), b.rank);
  t.equal(s.hit(a.id, 100, () => 99), a, 'hit returns the entry');
  s.hit(a.id, 50, () => 99);
  t.same([a.packetCount, a.byteCount, a.lastUsed], [2, 150, 5], 'no idle timeout: lastUsed not refreshed');
  s.hit(b.id, 60, () => 77);
  t.equal(b.lastUsed, 77, 'idle timeout: lastUsed refreshed');
  const v = s.version(a.id);
  const id = a.id;
  s.detach(a);
  t.equal(a.id, -1);
  t.same([a.packetCount, a.byteCount, a.lastUsed], [2, 150, 5], 'counters kept after detach');
  t.not(s.version(id), v, 'the freed id has a new version');
  s.detach(a);
  t.equal(a.packetCount, 2, 'a second detach changes nothing');
  const c = entry(3);
  s.attach(c);
  t.equal(c.id, id, 'the freed id is reused');
  t.same([s.packets(c.id), s.bytes(c.id)], [0, 0], 'with fresh counters');
  t.equal(s.entries[id], c);
});

t.test('the store grows and keeps every entry\'s state', async (t) => {
  const s = new EntryStore();
  const es = Array.from({ length: 1000 }, (_, i) => entry(i, i % 2));
  for (const e of es) s.attach(e);
  for (const e of es) s.hit(e.id, e.priority, () => 1e6 + e.priority);
  t.ok(es.every((e) => e.packetCount === 1 && e.byteCount === e.priority && s.rank(e.id) === e.rank));
  t.ok(es.every((e) => e.lastUsed === (e.idleTimeout !== 0 ? 1e6 + e.priority : 5)));
});

const ipKey: FlowFields = {
  inPort: 1, dlVlan: 0xffff, dlVlanPcp: 0, dlSrc: '00:00:00:00:00:01', dlDst: '00:00:00:00:00:02', dlType: 0x0800,
  nwTos: 0, nwProto: 6, nwSrc: 0x0a000001, nwDst: 0x0a000002, tpSrc: 1234, tpDst: 80,
};
const mod = (command: number, flags = 0, port = 1): FlowMod => ({
  type: OFPT.FLOW_MOD, version: 1, xid: 1, match: anyMatch, cookie: 0n, command, idleTimeout: 0, hardTimeout: 0,
  priority: 100, bufferId: 0xffffffff, outPort: OFPP.NONE, flags, actions: [{ type: OFPAT.OUTPUT, port, maxLen: 0 }],
});

t.test('a cached answer whose id is reused by an emergency entry (no add to the active table) is not returned', async (t) => {
  const ft = new FlowTable({ cacheSlots: 64 });
  const key = packFlowKey(ipKey);
  const added = ft.flowMod(mod(OFPFC.ADD));
  const a = added.ok ? added.entry : null;
  const id = a?.id;
  t.equal(ft.lookup(key, 60), a, 'cached');
  t.equal(ft.lookup(key, 60), a, 'from the cache');
  ft.flowMod(mod(OFPFC.DELETE));
  const emerg = ft.flowMod(mod(OFPFC.ADD, OFPFF.EMERG, 2));
  t.equal(emerg.ok ? emerg.entry?.id : undefined, id, 'the emergency entry took the freed id');
  t.equal(ft.lookup(key, 60), null, 'the normal table is empty: a miss, not the emergency entry');
  t.equal(a?.packetCount, 2);
});
