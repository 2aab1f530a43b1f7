/**
 * Flow lookup benchmark: `npm run bench:lookup` (a table) or `npm run bench:lookup -- --json`
 * (one JSON document on stdout; progress on stderr; the project's .npmrc keeps npm's banner off
 * stdout).
 *
 * For 1,000, 10,000 and 100,000 ClassBench-like rules (bench/classbench.ts) it measures lookups per
 * second of
 * - linear-keymatches: a linear scan over the rules in priority order calling the engine's own
 *   per-entry match, flowtable/match.ts keyMatches, on each compiled match (up to 10,000 rules).
 *   It is not the tests' reference model (test/flowtable/reference-table.ts, which matches field
 *   by field on unpacked packets and is slower still);
 * - linear-packed: the same scan over flat typed arrays, each rule rejected after a word or two (a
 *   much harder baseline);
 * - classifier: FlowTable.lookup with the microflow cache off (tuple-space search, counters);
 * - microflow: FlowTable.lookup with the cache on, over a working set of 8,192 flows that fits in
 *   it: the best case, every lookup a hit. Each lookup starts from a parsed packet (its nine key
 *   words written into the key, as the datapath's parser does) and hashes it;
 * - microflow-miss-heavy: the same over a working set ten times the cache's capacity (655,360
 *   distinct flows for 65,536 slots), drawn at random: most lookups miss, the hit ratio is reported;
 * - microflow-all-miss: that working set in order, so that every key was evicted before it comes
 *   back: every lookup misses and the classifier answers. Beside it classifier-all-miss-set, the
 *   classifier alone over the same keys in the same order; the difference per lookup is the cost
 *   of a miss (hashing, probing a set, inserting);
 * - microflow-lru-cache: the hit-case cache job done with lru-cache and a string key, for comparison;
 * and the rates of flow adds and strict deletes, and the heap memory per rule.
 */
import { LRUCache } from 'lru-cache';
import { OFPFC } from '../protocol/constants.js';
import { FlowTable } from '../flowtable/flow-table.js';
import type { FlowEntry } from '../flowtable/flow-entry.js';
import { FLOW_KEY_WORDS } from '../flowtable/flow-key.js';
import { DEFAULT_CACHE_SLOTS, type MicroflowCache } from '../flowtable/microflow-cache.js';
import { compileMatch, keyMatches, normalizeMatch, type CompiledMatch } from '../flowtable/match.js';
import { generatePackets, generateRules, prng } from './classbench.js';

const json = process.argv.includes('--json');
const log = (s: string): void => {
  process.stderr.write(`${s}\n`);
};
const gc = (globalThis as { gc?: () => void }).gc ?? ((): void => undefined);

interface Result {
  rules: number;
  method: string;
  lookupsPerSec: number;
  /** Share of lookups the microflow cache answered (methods with the cache on). */
  hitRatio?: number;
}
interface MissCost {
  rules: number;
  /** Extra nanoseconds a lookup costs when the cache misses, over the classifier alone. */
  extraNsPerLookup: number;
}
const missCosts: MissCost[] = [];
const results: Result[] = [];

const BATCH = 10_000;

/**
 * Runs `batch(from, count)` (which does lookups from..from+count-1 in its own loop, as a datapath
 * does per burst of frames) for at least `ms` milliseconds after a warm-up; returns lookups per
 * second. One call per 10,000 lookups keeps the harness out of the measurement.
 */
function rate(batch: (from: number, count: number) => void, ms = 1500, afterWarmup = (): void => undefined): number {
  batch(0, 2 * BATCH);
  afterWarmup();
  // The measured lookups go on where the warm-up stopped: the miss cases must not meet the
  // warm-up's keys again while they are still cached.
  let next = 2 * BATCH;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    batch(next, BATCH);
    next += BATCH;
    now = performance.now();
  }
  return (next - 2 * BATCH) / ((now - start) / 1000);
}

/**
 * A plain but efficient linear classifier: every rule's value and mask flattened into one Int32Array
 * (18 words a rule), sorted by priority; the first rule whose nine masked words all agree wins.
 */
function linearTable(matches: CompiledMatch[]): Int32Array {
  const flat = new Int32Array(matches.length * 18);
  matches.forEach((c, i) => {
    for (let w = 0; w < FLOW_KEY_WORDS; w++) {
      flat[i * 18 + w * 2] = c.value[w]! | 0;
      flat[i * 18 + w * 2 + 1] = c.mask[w]! | 0;
    }
  });
  return flat;
}

function linearLookup(flat: Int32Array, key: Uint32Array): number {
  const k0 = key[0]! | 0, k1 = key[1]! | 0, k2 = key[2]! | 0, k3 = key[3]! | 0, k4 = key[4]! | 0;
  const k5 = key[5]! | 0, k6 = key[6]! | 0, k7 = key[7]! | 0, k8 = key[8]! | 0;
  for (let r = 0; r < flat.length; r += 18) {
    if ((k6 & flat[r + 13]!) === flat[r + 12] && (k7 & flat[r + 15]!) === flat[r + 14] &&
        (k8 & flat[r + 17]!) === flat[r + 16] && (k5 & flat[r + 11]!) === flat[r + 10] &&
        (k4 & flat[r + 9]!) === flat[r + 8] && (k0 & flat[r + 1]!) === flat[r] &&
        (k1 & flat[r + 3]!) === flat[r + 2] && (k2 & flat[r + 5]!) === flat[r + 4] &&
        (k3 & flat[r + 7]!) === flat[r + 6]) return r / 18;
  }
  return -1;
}

const PACKETS = 1 << 16;
/** The miss cases' working set: ten times the cache's capacity. */
const BIG_SET = 10 * DEFAULT_CACHE_SLOTS;
/** Random draws from it for the miss-heavy case (a power of two). */
const ORDER_LEN = 1 << 21;
const sink = { hits: 0 };

for (const n of [1_000, 10_000, 100_000]) {
  const rules = generateRules(n, 42 + n);
  const packets = generatePackets(rules, PACKETS, 0.9, 7 + n);
  const key = new Uint32Array(FLOW_KEY_WORDS);
  /** Writes packet i's key words into `key`, as the parser does (i wraps at `set` packets). */
  const load = (i: number, set = PACKETS): void => {
    const base = (i & (set - 1)) * FLOW_KEY_WORDS;
    for (let w = 0; w < FLOW_KEY_WORDS; w++) key[w] = packets[base + w]!;
  };

  const table = new FlowTable({ cacheSlots: 0 });
  for (const mod of rules.mods) table.flowMod(mod);
  log(`${n} rules: ${table.maskCount} masks`);

  if (n <= 10_000) {
    const sorted = rules.mods
      .map((m) => ({ c: compileMatch(normalizeMatch(m.match)), p: m.priority }))
      .sort((a, b) => b.p - a.p);
    const flat = linearTable(sorted.map((x) => x.c));
    const r = rate((from, count) => {
      for (let i = from; i < from + count; i++) {
        load(i);
        if (linearLookup(flat, key) >= 0) sink.hits++;
      }
    });
    results.push({ rules: n, method: 'linear-packed', lookupsPerSec: Math.round(r) });
    log(`  linear-packed      ${fmt(r)}`);
    const compiled = sorted.map((x) => x.c);
    const rr = rate((from, count) => {
      for (let i = from; i < from + count; i++) {
        load(i);
        for (const c of compiled) {
          if (keyMatches(c, key)) {
            sink.hits++;
            break;
          }
        }
      }
    }, 1000);
    results.push({ rules: n, method: 'linear-keymatches', lookupsPerSec: Math.round(rr) });
    log(`  linear-keymatches  ${fmt(rr)}`);
  }

  {
    const r = rate((from, count) => {
      for (let i = from; i < from + count; i++) {
        load(i);
        if (table.lookup(key, 64) !== null) sink.hits++;
      }
    });
    results.push({ rules: n, method: 'classifier', lookupsPerSec: Math.round(r) });
    log(`  classifier         ${fmt(r)}`);
  }

  // Microflow: a working set of 8,192 flows, which the 65,536-slot cache holds.
  const cached = new FlowTable();
  for (const mod of rules.mods) cached.flowMod(mod);
  const WORKING_SET = 8192;
  {
    const r = rate((from, count) => {
      for (let i = from; i < from + count; i++) {
        load(i, WORKING_SET);
        if (cached.lookup(key, 64) !== null) sink.hits++;
      }
    });
    results.push({ rules: n, method: 'microflow', lookupsPerSec: Math.round(r) });
    log(`  microflow          ${fmt(r)}`);
  }
  {
    const lru = new LRUCache<string, { e: FlowEntry | null }>({ max: 65_536 });
    const classifierOnly = new FlowTable({ cacheSlots: 0 });
    for (const mod of rules.mods) classifierOnly.flowMod(mod);
    const r = rate((from, count) => {
      for (let i = from; i < from + count; i++) {
        load(i, WORKING_SET);
        const k = `${key[0]},${key[1]},${key[2]},${key[3]},${key[4]},${key[5]},${key[6]},${key[7]},${key[8]}`;
        let v = lru.get(k);
        if (v === undefined) {
          v = { e: classifierOnly.lookup(key, 64) };
          lru.set(k, v);
        }
        if (v.e !== null) sink.hits++;
      }
    });
    results.push({ rules: n, method: 'microflow-lru-cache', lookupsPerSec: Math.round(r) });
    log(`  lru-cache          ${fmt(r)}`);
  }

  // Misses: a working set ten times the cache's capacity.
  {
    const big = distinctPackets(rules, BIG_SET, 11 + n);
    const loadBig = (i: number): void => {
      const base = i * FLOW_KEY_WORDS;
      for (let w = 0; w < FLOW_KEY_WORDS; w++) key[w] = big[base + w]!;
    };
    const order = new Uint32Array(ORDER_LEN);
    const rnd = prng(99 + n);
    for (let i = 0; i < ORDER_LEN; i++) order[i] = Math.floor(rnd() * BIG_SET);
    /** A fresh table with the cache on (cold), and its cache's hit and miss counters. */
    const cachedTable = (): { t: FlowTable; cache: MicroflowCache } => {
      const t = new FlowTable();
      for (const mod of rules.mods) t.flowMod(mod);
      // The cache's counters are public; FlowTable keeps the cache itself private.
      return { t, cache: (t as unknown as { cache: MicroflowCache }).cache };
    };
    const ratio = (c: MicroflowCache): number => Number((c.hits / (c.hits + c.misses)).toFixed(4));
    /** Counts only the measured lookups. */
    const resetCounters = (c: MicroflowCache) => (): void => {
      c.hits = 0;
      c.misses = 0;
    };

    const heavy = cachedTable();
    const rh = rate((from, count) => {
      for (let i = from; i < from + count; i++) {
        loadBig(order[i & (ORDER_LEN - 1)]!);
        if (heavy.t.lookup(key, 64) !== null) sink.hits++;
      }
    }, 1500, resetCounters(heavy.cache));
    results.push({ rules: n, method: 'microflow-miss-heavy', lookupsPerSec: Math.round(rh), hitRatio: ratio(heavy.cache) });
    log(`  miss-heavy         ${fmt(rh)} (hit ratio ${ratio(heavy.cache)})`);

    const miss = cachedTable();
    const rm = rate((from, count) => {
      for (let i = from; i < from + count; i++) {
        loadBig(i % BIG_SET);
        if (miss.t.lookup(key, 64) !== null) sink.hits++;
      }
    }, 1500, resetCounters(miss.cache));
    results.push({ rules: n, method: 'microflow-all-miss', lookupsPerSec: Math.round(rm), hitRatio: ratio(miss.cache) });
    log(`  all-miss           ${fmt(rm)} (hit ratio ${ratio(miss.cache)})`);

    const rc = rate((from, count) => {
      for (let i = from; i < from + count; i++) {
        loadBig(i % BIG_SET);
        if (table.lookup(key, 64) !== null) sink.hits++;
      }
    });
    results.push({ rules: n, method: 'classifier-all-miss-set', lookupsPerSec: Math.round(rc) });
    const extra = 1e9 / rm - 1e9 / rc;
    missCosts.push({ rules: n, extraNsPerLookup: Number(extra.toFixed(1)) });
    log(`  classifier, same   ${fmt(rc)}: a miss costs ${extra.toFixed(0)} ns more than the classifier alone`);
  }
}

// Flow adds, strict deletes and memory per rule, at 100,000 rules.
const ADD_N = 100_000;
const rules = generateRules(ADD_N, 4242);
gc();
const heapBefore = process.memoryUsage().heapUsed;
const table = new FlowTable({ cacheSlots: 0 });
let t0 = performance.now();
for (const mod of rules.mods) table.flowMod(mod);
const addsPerSec = ADD_N / ((performance.now() - t0) / 1000);
gc();
const bytesPerRule = (process.memoryUsage().heapUsed - heapBefore) / ADD_N;
t0 = performance.now();
for (const mod of rules.mods) table.flowMod({ ...mod, command: OFPFC.DELETE_STRICT });
const deletesPerSec = ADD_N / ((performance.now() - t0) / 1000);
log(`flow adds ${fmt(addsPerSec)}, strict deletes ${fmt(deletesPerSec)}, ${Math.round(bytesPerRule)} bytes/rule, left ${table.size}`);

const doc = {
  results,
  missCosts,
  flowAddsPerSec: Math.round(addsPerSec),
  flowDeletesPerSec: Math.round(deletesPerSec),
  bytesPerRule: Math.round(bytesPerRule),
  node: process.version,
};
if (json) {
  process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
} else {
  const get = (n: number, m: string): string => {
    const r = results.find((x) => x.rules === n && x.method === m);
    return r === undefined ? '-' : fmt(r.lookupsPerSec);
  };
  const rows = [['rules', 'linear (keyMatches)', 'linear (packed)', 'classifier', 'microflow, all hits', 'microflow (lru-cache)']];
  for (const n of [1_000, 10_000, 100_000]) {
    rows.push([n.toLocaleString('en'), get(n, 'linear-keymatches'), get(n, 'linear-packed'), get(n, 'classifier'), get(n, 'microflow'),
      get(n, 'microflow-lru-cache')]);
  }
  printTable(rows);
  console.log('\nworking set ten times the cache (655,360 flows):');
  const hit = (n: number, m: string): string => {
    const r = results.find((x) => x.rules === n && x.method === m);
    return r?.hitRatio === undefined ? '' : ` (${(r.hitRatio * 100).toFixed(1)} % hits)`;
  };
  const miss = [['rules', 'microflow, random draws', 'microflow, all misses', 'classifier alone, same keys', 'extra per miss']];
  for (const n of [1_000, 10_000, 100_000]) {
    const c = missCosts.find((x) => x.rules === n);
    miss.push([n.toLocaleString('en'), get(n, 'microflow-miss-heavy') + hit(n, 'microflow-miss-heavy'),
      get(n, 'microflow-all-miss') + hit(n, 'microflow-all-miss'), get(n, 'classifier-all-miss-set'), c ? `${c.extraNsPerLookup} ns` : '-']);
  }
  printTable(miss);
  console.log(`\nlookups per second; flow adds ${fmt(addsPerSec)}/s, strict deletes ${fmt(deletesPerSec)}/s, ` +
    `${Math.round(bytesPerRule)} bytes of heap per rule (100,000 rules)`);
}
if (sink.hits < 0) console.log(sink.hits);

/** `count` packed flow keys, no two alike (so that a key's next use is always `count` lookups away). */
function distinctPackets(rules: ReturnType<typeof generateRules>, count: number, seed: number): Uint32Array {
  const out = new Uint32Array(count * FLOW_KEY_WORDS);
  const seen = new Set<string>();
  for (let round = 0; seen.size < count; round++) {
    const batch = generatePackets(rules, count, 0.9, seed + 1000 * round);
    for (let i = 0; i < count && seen.size < count; i++) {
      const k = batch.subarray(i * FLOW_KEY_WORDS, (i + 1) * FLOW_KEY_WORDS);
      const id = k.join(',');
      if (seen.has(id)) continue;
      out.set(k, seen.size * FLOW_KEY_WORDS);
      seen.add(id);
    }
  }
  return out;
}

function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows) console.log(r.map((x, c) => x.padStart(widths[c]!)).join('  '));
}

function fmt(x: number): string {
  return x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(0)}k` : x.toFixed(0);
}
