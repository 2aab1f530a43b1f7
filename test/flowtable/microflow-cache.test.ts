// The microflow cache's risky paths (flowtable/microflow-cache.ts): more table changes between two
// lookups than its change log holds, and its two int32 counters wrapping (the generation that
// counts adds, the clock that stamps uses for LRU). The counters start near their wrap through
// the constructor option meant for this; a classifier that counts its lookups shows which path
// answered (the log, or a reclassification), and every answer is checked against the classifier's.
import t from 'tap';
import { OFPAT, OFPFC, OFPFW, OFPP, OFPT } from '../../protocol/constants.js';
import type { FlowMod, Match } from '../../protocol/types.js';
import { Classifier } from '../../flowtable/classifier.js';
import { EntryStore } from '../../flowtable/entry-store.js';
import { FlowEntry } from '../../flowtable/flow-entry.js';
import { packFlowKey, type FlowFields, type FlowKey } from '../../flowtable/flow-key.js';
import { compileMatch, normalizeMatch } from '../../flowtable/match.js';
import { LOG_SIZE, MicroflowCache, type CacheCounters } from '../../flowtable/microflow-cache.js';
import { FlowTable } from '../../flowtable/index.js';

const INT32_MAX = 0x7fffffff;

class CountingClassifier extends Classifier {
  lookups = 0;
  override lookup(key: FlowKey): number {
    this.lookups++;
    return super.lookup(key);
  }
}

const packet: FlowFields = {
  inPort: 1, dlVlan: 0xffff, dlVlanPcp: 0, dlSrc: '00:00:00:00:00:01', dlDst: '00:00:00:00:00:02', dlType: 0x0800,
  nwTos: 0, nwProto: 6, nwSrc: 0x0a000001, nwDst: 0x0a000002, tpSrc: 1000, tpDst: 80,
};
const keyOf = (tpSrc: number): FlowKey => packFlowKey({ ...packet, tpSrc });
/** A TCP match on the source port, everything else wildcarded. */
const onPort = (tpSrc: number): Match => ({
  ...packet, wildcards: OFPFW.ALL & ~OFPFW.DL_TYPE & ~OFPFW.NW_PROTO & ~OFPFW.TP_SRC, tpSrc,
});

/** A classifier with the cache in front of it, wired as FlowTable wires them. */
function rig(slots: number, counters: CacheCounters = {}) {
  const store = new EntryStore();
  const classifier = new CountingClassifier(store);
  const cache = new MicroflowCache(slots, store, counters);
  let seq = 0;
  const add = (match: Match, priority: number): FlowEntry => {
    const m = normalizeMatch(match);
    const e = new FlowEntry({
      compiled: compileMatch(m), priority, exact: false, seq: seq++, cookie: 0n, actions: [],
      idleTimeout: 0, hardTimeout: 0, flags: 0, emergency: false, now: 0,
    });
    store.attach(e);
    classifier.insert(e);
    cache.noteAdded(e);
    return e;
  };
  /** The cache's answer for `key`, with how many classifier lookups it took and the classifier's own answer. */
  const ask = (key: FlowKey): { id: number; classified: number; truth: number } => {
    const before = classifier.lookups;
    const id = cache.lookup(key, classifier);
    const classified = classifier.lookups - before;
    const truth = uncounted(classifier, key);
    return { id, classified, truth };
  };
  return { store, classifier, cache, add, ask };
}

/** The classifier's answer, not counted. */
function uncounted(c: CountingClassifier, key: FlowKey): number {
  const n = c.lookups;
  const id = c.lookup(key);
  c.lookups = n;
  return id;
}

t.test('adds between two lookups: up to the log size revalidated from the log, beyond it reclassified', async (t) => {
  for (const adds of [1, LOG_SIZE - 1, LOG_SIZE, LOG_SIZE + 1, 3 * LOG_SIZE]) {
    for (const where of ['first', 'last'] as const) {
      const r = rig(64);
      const key = keyOf(1000);
      const low = r.add(onPort(1000), 10);
      const first = r.ask(key);
      t.equal(first.id, low.id, `${adds} adds, ${where}: cached the low entry`);
      let high: FlowEntry | null = null;
      for (let i = 0; i < adds; i++) {
        const matching = where === 'first' ? i === 0 : i === adds - 1;
        if (matching) high = r.add(onPort(1000), 20);
        else r.add(onPort(2000 + i), 30); // higher still, but not for this key
      }
      const again = r.ask(key);
      t.equal(again.id, high?.id, `${adds} adds, the matching one ${where}: the higher entry`);
      t.equal(again.id, again.truth, 'the classifier agrees');
      t.equal(again.classified, adds > LOG_SIZE ? 1 : 0, adds > LOG_SIZE ? 'past the log: reclassified' : 'from the log');
      const third = r.ask(key);
      t.same([third.id, third.classified], [high?.id, 0], 'then a plain hit');
    }
  }
});

t.test('the generation wraps (int32, both at 2^31 and at 2^32): revalidation still sees every add', async (t) => {
  for (const generation of [INT32_MAX - 5, -6]) {
    for (const adds of [12, LOG_SIZE + 12]) {
      const r = rig(64, { generation });
      const key = keyOf(1000);
      const low = r.add(onPort(1000), 10);
      t.equal(r.ask(key).id, low.id, `start ${generation}: cached`);
      let high: FlowEntry | null = null;
      for (let i = 0; i < adds; i++) {
        if (i === 8) high = r.add(onPort(1000), 20); // past the wrap for both starts
        else r.add(onPort(3000 + i), 30);
      }
      const again = r.ask(key);
      t.equal(again.id, high?.id, `start ${generation}, ${adds} adds across the wrap: the higher entry`);
      t.equal(again.id, again.truth, 'the classifier agrees');
      t.equal(again.classified, adds > LOG_SIZE ? 1 : 0, adds > LOG_SIZE ? 'past the log: reclassified' : 'from the log, across the wrap');
      t.same([r.ask(key).id, r.ask(key).classified], [high?.id, 0], 'then plain hits');
      // A table miss cached before the wrap, and an entry for it added after.
      const other = keyOf(4000);
      t.equal(r.ask(other).id, -1, 'a miss, cached');
      const late = r.add(onPort(4000), 5);
      const found = r.ask(other);
      t.same([found.id, found.classified], [late.id, 0], 'the new entry, from the log');
    }
  }
});

t.test('the LRU clock wraps: the least recently used slot is still the one replaced', async (t) => {
  for (const clock of [0, INT32_MAX - 2, -3]) {
    const r = rig(4, { clock }); // four slots: one set, every key competes
    const keys = [1, 2, 3, 4, 5].map((p) => keyOf(p));
    for (const k of keys.slice(0, 4)) r.cache.lookup(k, r.classifier); // four misses fill the set
    r.cache.lookup(keys[0]!, r.classifier); // key 1 used again: key 2 is now the oldest
    const before = { hits: r.cache.hits, misses: r.cache.misses };
    r.cache.lookup(keys[4]!, r.classifier); // a miss: replaces the oldest
    for (const i of [0, 2, 3, 4]) r.cache.lookup(keys[i]!, r.classifier);
    t.same([r.cache.hits - before.hits, r.cache.misses - before.misses], [4, 1], `clock from ${clock}: keys 1, 3, 4 and 5 still cached`);
    r.cache.lookup(keys[1]!, r.classifier);
    t.equal(r.cache.misses - before.misses, 2, `clock from ${clock}: key 2 was the one replaced`);
  }
});

t.test('FlowTable passes the counters on: a table whose generation wraps answers as one without a cache', async (t) => {
  const mod = (tpSrc: number, priority: number, port: number): FlowMod => ({
    type: OFPT.FLOW_MOD, version: 1, xid: 0, match: onPort(tpSrc), cookie: 0n, command: OFPFC.ADD, idleTimeout: 0,
    hardTimeout: 0, priority, bufferId: 0xffffffff, outPort: OFPP.NONE, flags: 0,
    actions: [{ type: OFPAT.OUTPUT, port, maxLen: 0 }],
  });
  const cached = new FlowTable({ cacheSlots: 64, cacheCounters: { generation: INT32_MAX - 20, clock: INT32_MAX - 20 } });
  const plain = new FlowTable({ cacheSlots: 0 });
  let differences = 0;
  let hits = 0;
  for (let i = 0; i < 200; i++) {
    for (const ft of [cached, plain]) ft.flowMod(mod(i % 7, i, 1 + (i % 3)));
    for (let p = 0; p < 8; p++) {
      const a = cached.lookup(keyOf(p), 60);
      const b = plain.lookup(keyOf(p), 60);
      if (b !== null) hits++;
      if ((a === null) !== (b === null) || (a !== null && b !== null && (a.priority !== b.priority || JSON.stringify(a.actions) !== JSON.stringify(b.actions)))) differences++;
    }
  }
  t.equal(differences, 0, '200 adds across both wraps, 1,600 lookups: the same answers');
  t.ok(hits > 1000, `lookups found entries (${hits})`);
});
