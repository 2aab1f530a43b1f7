/**
 * The flow table: OpenFlow 1.0 FLOW_MOD semantics, lookups, expiry and statistics over a
 * classifier (classifier.ts), an exact-match microflow cache (microflow-cache.ts) and one expiry
 * heap (expiry.ts). Entries of both tables get an id in one EntryStore (entry-store.ts) while they
 * are in a table: lookups work on ids and count packets there. No I/O: the agent feeds it decoded
 * messages and a clock.
 *
 * Rules, from the OpenFlow 1.0.0 spec and, where it leaves room, Open vSwitch:
 * - Matches are normalised as OVS does (match.ts). A request without any wildcard bit is stored
 *   at priority 65535 and outranks every wildcarded entry of that priority.
 * - ADD replaces an entry of the same match and priority (counters reset; no FLOW_REMOVED for it);
 *   CHECK_OVERLAP refuses an entry that overlaps one of equal priority (OFPFMFC_OVERLAP); a new
 *   entry in a full table is refused (OFPFMFC_ALL_TABLES_FULL).
 * - EMERG entries go to a separate emergency table, must have no timeouts
 *   (OFPFMFC_BAD_EMERG_TIMEOUT) and are used for lookups only in emergency mode.
 * - MODIFY (entries the request covers, any priority) and MODIFY_STRICT (same match and
 *   priority) replace the actions and the cookie and restart the hard timeout, keeping counters,
 *   timeouts and flags (as OVS); with nothing to modify they add.
 * - DELETE (covered entries) and DELETE_STRICT (same match and priority) honour out_port
 *   (OFPP_NONE: any); deleting nothing is not an error.
 * - out_port filters select entries with an OUTPUT or ENQUEUE action to that port.
 * A refused FLOW_MOD is an OfpError (OFPET_FLOW_MOD_FAILED) echoing the request re-encoded.
 *
 * Actions are stored as given. The connection has run validateMessage (protocol/validate.ts) on
 * them before: vendor actions and output to port numbers no port can have are refused there. An
 * output to a port number that is not attached (yet) is accepted, as Open vSwitch accepts it;
 * the datapath drops what goes to a missing port.
 */
import { OFPAT, OFPET, OFPFC, OFPFF, OFPFMFC, OFPFW, OFPP, OFPRR, OFPTT } from '../protocol/constants.js';
import { encodeMessage } from '../protocol/encode.js';
import { OfpError } from '../protocol/errors.js';
import type { Action, AggregateStats, FlowMod, FlowStats, Match, TableStats } from '../protocol/types.js';
import { Classifier } from './classifier.js';
import { EntryScan } from './entry-scan.js';
import { EntryStore } from './entry-store.js';
import { dueReason, ExpiryHeap } from './expiry.js';
import { FlowEntry, splitDuration, type RemovedFlow } from './flow-entry.js';
import type { FlowKey } from './flow-key.js';
import { compileMatch, covers, isExactRequest, normalizeMatch, type CompiledMatch } from './match.js';
import { DEFAULT_CACHE_SLOTS, MicroflowCache, type CacheCounters } from './microflow-cache.js';

const DEFAULT_CAPACITY = 1_000_000;
/** Priority of an exact-match request, as Open vSwitch stores it. */
const EXACT_MATCH_PRIORITY = 0xffff;
/** Table 0's name in table statistics: Open vSwitch 3.1 reports its tables unnamed. */
const TABLE_NAME = '';

export interface FlowTableOptions {
  /** Most entries in the table (and, separately, in the emergency table). Default 1,000,000. */
  capacity?: number;
  /** Milliseconds, monotonic. Default performance.now. */
  now?: () => number;
  /** Microflow cache slots (rounded up to a power of two); 0 disables the cache. Default 65,536. */
  cacheSlots?: number;
  /** Where the cache's wrapping counters start (for tests of the wrap). Default 0. */
  cacheCounters?: CacheCounters;
}

export type FlowModResult = { ok: true; entry: FlowEntry | null; removed: RemovedFlow[] } | OfpError;

/** Which entries a FLOW or AGGREGATE statistics request selects. */
export interface StatsQuery {
  readonly match: Match;
  readonly tableId: number;
  readonly outPort: number;
}

/**
 * A FLOW_MOD applied a chunk of entries at a time (startFlowMod). ADD and the strict commands are
 * done at once; non-strict MODIFY and DELETE visit the table in chunks (entry-scan.ts).
 */
export interface FlowModJob {
  /** True once the FLOW_MOD is fully applied; `result` is then set. */
  readonly done: boolean;
  /** The outcome (for DELETE, `removed` is empty: each step returns what it removed). */
  readonly result: FlowModResult | null;
  /** Goes on over the next `limit` entry ids; returns the entries this step removed. */
  step(limit: number): RemovedFlow[];
}

/** Statistics computed a chunk of entry ids at a time (see entry-scan.ts for what they see). */
export interface FlowStatsScan {
  readonly done: boolean;
  /** Statistics of the selected entries among the next `limit` ids, highest priority first. */
  next(limit: number): FlowStats[];
}

export interface AggregateScan {
  readonly done: boolean;
  /** Adds the selected entries among the next `limit` ids. */
  next(limit: number): void;
  /** The sums so far (all of them once `done`). */
  result(): AggregateStats;
}

/** Most distinct action lists kept for sharing (actions.ts interning); past it, sharing starts over. */
const MAX_SHARED_ACTION_LISTS = 4096;

/** OFPET_FLOW_MOD_FAILED with `code` for `mod`. */
function fail(mod: FlowMod, code: number, detail: string): OfpError {
  return new OfpError(OFPET.FLOW_MOD_FAILED, code, mod.xid, encodeMessage(mod), detail);
}

export class FlowTable {
  readonly capacity: number;
  private readonly now: () => number;
  /** Hot per-entry state (ranks, counters) of both tables' entries. */
  private readonly store = new EntryStore();
  private readonly normal = new Classifier(this.store);
  private readonly emergencyTable = new Classifier(this.store);
  /** The classifier lookups use: the normal one, or the emergency one in emergency mode. */
  private active: Classifier;
  private readonly cache: MicroflowCache | null;
  private readonly expiry = new ExpiryHeap();
  private seq = 0;
  /** Action lists shared by entries (shareActions), by their OUTPUT ports and lengths. */
  private sharedActions = new Map<string, readonly Action[]>();
  private lookups = 0;
  private matches = 0;

  constructor(opts: FlowTableOptions = {}) {
    this.capacity = opts.capacity ?? DEFAULT_CAPACITY;
    this.now = opts.now ?? (() => performance.now());
    const slots = opts.cacheSlots ?? DEFAULT_CACHE_SLOTS;
    this.cache = slots > 0 ? new MicroflowCache(slots, this.store, opts.cacheCounters) : null;
    this.active = this.normal;
  }

  /** Entries in the normal table. */
  get size(): number {
    return this.normal.size;
  }

  /** Entries in the emergency table. */
  get emergencySize(): number {
    return this.emergencyTable.size;
  }

  /** Distinct masks in the normal table (for benchmarks and logs). */
  get maskCount(): number {
    return this.normal.subtableCount;
  }

  /** The normal table's subtables: entries, hash-table slots, resize in progress (tests, benchmarks). */
  subtableShapes(): { size: number; capacity: number; resizing: boolean }[] {
    return this.normal.subtableShapes();
  }

  /** The microflow cache's lookups answered from it and lookups that went to the classifier (0 and 0 without a cache). */
  cacheStats(): { hits: number; misses: number } {
    return { hits: this.cache?.hits ?? 0, misses: this.cache?.misses ?? 0 };
  }

  get emergencyMode(): boolean {
    return this.active === this.emergencyTable;
  }

  /** Applies a decoded FLOW_MOD, all of it at once (startFlowMod does it a chunk at a time). */
  flowMod(mod: FlowMod): FlowModResult {
    const job = this.startFlowMod(mod);
    const removed: RemovedFlow[] = [];
    while (!job.done) for (const r of job.step(Infinity)) removed.push(r);
    const result = job.result!;
    return result.ok && removed.length > 0 ? { ...result, removed } : result;
  }

  /**
   * Starts applying a decoded FLOW_MOD. ADD, MODIFY_STRICT, DELETE_STRICT and refusals are done
   * when this returns; non-strict MODIFY and DELETE are applied by the job's steps. The caller
   * must not start another FLOW_MOD before a job is done (the agent queues them).
   */
  startFlowMod(mod: FlowMod): FlowModJob {
    switch (mod.command) {
      case OFPFC.ADD:
        return finished(this.add(mod));
      case OFPFC.MODIFY_STRICT:
        return finished(this.modifyStrict(mod));
      case OFPFC.DELETE_STRICT:
        return finished(this.deleteStrict(mod));
      case OFPFC.MODIFY:
        return this.modifyJob(mod);
      case OFPFC.DELETE:
        return this.deleteJob(mod);
      default:
        return finished(fail(mod, OFPFMFC.BAD_COMMAND, `command ${mod.command}`));
    }
  }

  /** The entry for a packet (counting it), or null on a table miss. Hot path. */
  lookup(key: FlowKey, frameLength: number): FlowEntry | null {
    this.lookups++;
    const id = this.cache !== null ? this.cache.lookup(key, this.active) : this.active.lookup(key);
    if (id < 0) return null;
    this.matches++;
    return this.store.hit(id, frameLength, this.now);
  }

  /**
   * The entry `key` would hit, counting nothing: no lookup or packet counters, no idle-time
   * refresh, no microflow cache change (ofproto/trace's dry run).
   */
  find(key: FlowKey): FlowEntry | null {
    const id = this.active.lookup(key);
    return id < 0 ? null : (this.store.entryAt(id) ?? null);
  }

  /** Removes the entries whose idle or hard timeout has passed, and returns them. */
  expire(): RemovedFlow[] {
    const now = this.now();
    const out: RemovedFlow[] = [];
    for (let e = this.expiry.popDue(now); e !== null; e = this.expiry.popDue(now)) {
      const reason = dueReason(e, now);
      if (reason < 0) {
        this.expiry.schedule(e); // used meanwhile: wait for its new idle deadline
        continue;
      }
      this.removeEntry(e);
      out.push(this.removal(e, reason, now));
    }
    return out;
  }

  /** When expire() next has work (ms, the table's clock), or null. */
  nextExpiry(): number | null {
    return this.expiry.peek();
  }

  /**
   * Emergency mode (spec 6.3, on losing the controller): deletes every normal entry (returned,
   * reason DELETE) and matches with the emergency table only, until leaveEmergencyMode().
   */
  enterEmergencyMode(): RemovedFlow[] {
    const now = this.now();
    const removed = this.normal.entries().map((e) => {
      this.removeEntry(e);
      return this.removal(e, OFPRR.DELETE, now);
    });
    this.active = this.emergencyTable;
    this.cache?.clear();
    return removed;
  }

  leaveEmergencyMode(): void {
    this.active = this.normal;
    this.cache?.clear();
  }

  /** OFPST_FLOW: the selected entries, highest priority first, all at once. */
  flowStats(req: StatsQuery): FlowStats[] {
    const scan = this.scanFor(req);
    const now = this.now();
    return scan.next(Infinity).map((e) => statsOf(e, now));
  }

  /** OFPST_FLOW a chunk at a time. */
  flowStatsScan(req: StatsQuery): FlowStatsScan {
    const scan = this.scanFor(req);
    return {
      get done() {
        return scan.done;
      },
      next: (limit) => {
        const now = this.now();
        return scan.next(limit).map((e) => statsOf(e, now));
      },
    };
  }

  /** OFPST_AGGREGATE over the selected entries, all at once. */
  aggregateStats(req: StatsQuery): AggregateStats {
    const scan = this.aggregateScan(req);
    while (!scan.done) scan.next(Infinity);
    return scan.result();
  }

  /** OFPST_AGGREGATE a chunk at a time. */
  aggregateScan(req: StatsQuery): AggregateScan {
    const scan = this.scanFor(req);
    let packets = 0;
    let bytes = 0;
    let flows = 0;
    return {
      get done() {
        return scan.done;
      },
      next(limit) {
        for (const e of scan.next(limit)) {
          packets += e.packetCount;
          bytes += e.byteCount;
          flows++;
        }
      },
      result: () => ({ packetCount: BigInt(packets), byteCount: BigInt(bytes), flowCount: flows }),
    };
  }

  /** OFPST_TABLE: the one table, as Open vSwitch reports its table 0 to OpenFlow 1.0. */
  tableStats(): TableStats[] {
    return [{
      tableId: 0,
      name: TABLE_NAME,
      wildcards: OFPFW.ALL,
      maxEntries: this.capacity,
      activeCount: this.normal.size,
      lookupCount: BigInt(this.lookups),
      matchedCount: BigInt(this.matches),
    }];
  }

  // ---- FLOW_MOD commands ----

  private tableOf(mod: FlowMod): Classifier {
    return (mod.flags & OFPFF.EMERG) !== 0 ? this.emergencyTable : this.normal;
  }

  private parse(mod: FlowMod): { match: Match; compiled: CompiledMatch; priority: number; exact: boolean } {
    const exact = isExactRequest(mod.match);
    const match = normalizeMatch(mod.match);
    return { match, compiled: compileMatch(match), priority: exact ? EXACT_MATCH_PRIORITY : mod.priority, exact };
  }

  private add(mod: FlowMod): FlowModResult {
    const emergency = (mod.flags & OFPFF.EMERG) !== 0;
    if (emergency && (mod.idleTimeout !== 0 || mod.hardTimeout !== 0)) {
      return fail(mod, OFPFMFC.BAD_EMERG_TIMEOUT, 'an emergency entry with a timeout');
    }
    const table = this.tableOf(mod);
    const { match, compiled, priority, exact } = this.parse(mod);
    if ((mod.flags & OFPFF.CHECK_OVERLAP) !== 0 && table.findOverlap(compiled, priority) !== undefined) {
      return fail(mod, OFPFMFC.OVERLAP, `overlaps an entry of priority ${priority}`);
    }
    const old = table.findStrict(compiled, priority);
    if (old === undefined && table.size >= this.capacity) {
      return fail(mod, OFPFMFC.ALL_TABLES_FULL, `${table.size} entries, the most the table holds`);
    }
    const entry = new FlowEntry({
      compiled: table.compact(compiled), priority, exact, seq: this.seq++, cookie: shareCookie(mod.cookie),
      actions: this.shareActions(mod.actions), idleTimeout: mod.idleTimeout, hardTimeout: mod.hardTimeout,
      flags: mod.flags, emergency, now: this.now(),
    });
    if (old !== undefined) this.removeEntry(old);
    this.store.attach(entry);
    table.insert(entry);
    if (table === this.active) this.cache?.noteAdded(entry);
    this.expiry.schedule(entry);
    return { ok: true, entry, removed: [] };
  }

  private modifyStrict(mod: FlowMod): FlowModResult {
    const { compiled, priority } = this.parse(mod);
    const target = this.tableOf(mod).findStrict(compiled, priority);
    if (target === undefined) return this.add(mod);
    this.modifyEntry(target, mod, this.shareActions(mod.actions), this.now());
    return { ok: true, entry: target, removed: [] };
  }

  /** MODIFY: every covered entry, a chunk at a time; with none, an ADD at the end. */
  private modifyJob(mod: FlowMod): FlowModJob {
    const scan = this.scanForMod(mod, OFPP.NONE);
    const actions = this.shareActions(mod.actions);
    let first: FlowEntry | null = null;
    const job = {
      done: false,
      result: null as FlowModResult | null,
      step: (limit: number): RemovedFlow[] => {
        const now = this.now();
        for (const e of scan.next(limit)) {
          this.modifyEntry(e, mod, actions, now);
          if (first === null || e.rank > first.rank) first = e;
        }
        if (scan.done) {
          job.done = true;
          job.result = first === null ? this.add(mod) : { ok: true, entry: first, removed: [] };
        }
        return [];
      },
    };
    return job;
  }

  private modifyEntry(e: FlowEntry, mod: FlowMod, actions: readonly Action[], now: number): void {
    e.actions = actions;
    e.cookie = shareCookie(mod.cookie);
    e.modified = now;
    this.expiry.schedule(e);
  }

  private deleteStrict(mod: FlowMod): FlowModResult {
    const { compiled, priority } = this.parse(mod);
    const e = this.tableOf(mod).findStrict(compiled, priority);
    if (e === undefined || (mod.outPort !== OFPP.NONE && !e.outputsTo(mod.outPort))) return { ok: true, entry: null, removed: [] };
    this.removeEntry(e);
    return { ok: true, entry: null, removed: [this.removal(e, OFPRR.DELETE, this.now())] };
  }

  /** DELETE: every covered entry (honouring out_port), a chunk at a time. */
  private deleteJob(mod: FlowMod): FlowModJob {
    const scan = this.scanForMod(mod, mod.outPort);
    const job = {
      done: false,
      result: null as FlowModResult | null,
      step: (limit: number): RemovedFlow[] => {
        const now = this.now();
        const removed = scan.next(limit).map((e) => {
          this.removeEntry(e);
          return this.removal(e, OFPRR.DELETE, now);
        });
        if (scan.done) {
          job.done = true;
          job.result = { ok: true, entry: null, removed: [] };
        }
        return removed;
      },
    };
    return job;
  }

  // ---- helpers ----

  private removeEntry(e: FlowEntry): void {
    (e.emergency ? this.emergencyTable : this.normal).remove(e);
    this.store.detach(e);
    this.expiry.cancel(e);
    if (this.store.size === 0) {
      // Emptied: give back the store's arrays (sized for the most entries ever held) and the
      // shared action lists. Ids start over, so the cache forgets its (id, version) answers.
      this.store.reset();
      this.cache?.clear();
      this.sharedActions = new Map();
    } else if (this.store.shrinkIfSparse()) {
      this.cache?.clear();
    }
  }

  /**
   * The action list an entry keeps: lists made only of OUTPUT actions (nearly all of a large
   * table's) are shared between the entries that have the same one; other lists are copied. The
   * decoded list is never kept: its action objects come from the decoder in V8's slow dictionary
   * form, some 450 bytes each.
   */
  private shareActions(actions: readonly Action[]): readonly Action[] {
    let key = '';
    for (const a of actions) {
      if (a.type !== OFPAT.OUTPUT) return actions.map((x) => ({ ...x }));
      key += `${a.port}/${a.maxLen},`;
    }
    let shared = this.sharedActions.get(key);
    if (shared === undefined) {
      if (this.sharedActions.size >= MAX_SHARED_ACTION_LISTS) this.sharedActions = new Map();
      shared = actions.map((x) => ({ ...x }));
      this.sharedActions.set(key, shared);
    }
    return shared;
  }

  private removal(entry: FlowEntry, reason: number, now: number): RemovedFlow {
    return { entry, reason, ...splitDuration(now - entry.created) };
  }

  /** A scan of the entries a statistics request selects. */
  private scanFor(req: StatsQuery): EntryScan {
    const normal = req.tableId === OFPTT.ALL || req.tableId === 0;
    const emergency = req.tableId === OFPTT.ALL || req.tableId === OFPTT.EMERG;
    return this.scan(compileMatch(normalizeMatch(req.match)), normal, emergency, req.outPort);
  }

  /** A scan of the entries a non-strict FLOW_MOD covers in its table. */
  private scanForMod(mod: FlowMod, outPort: number): EntryScan {
    const emergency = (mod.flags & OFPFF.EMERG) !== 0;
    return this.scan(this.parse(mod).compiled, !emergency, emergency, outPort);
  }

  private scan(req: CompiledMatch, normal: boolean, emergency: boolean, outPort: number): EntryScan {
    return new EntryScan(this.store, (e) =>
      (e.emergency ? emergency : normal) && covers(req, e.compiled) && (outPort === OFPP.NONE || e.outputsTo(outPort)));
  }
}

/** A job done before it started. */
function finished(result: FlowModResult): FlowModJob {
  return { done: true, result, step: () => [] };
}

/** One BigInt for the cookie nearly every entry has (each decoded cookie is an object of its own). */
function shareCookie(cookie: bigint): bigint {
  return cookie === 0n ? 0n : cookie;
}

function statsOf(e: FlowEntry, now: number): FlowStats {
  return {
    tableId: e.emergency ? OFPTT.EMERG : 0,
    match: e.match,
    ...splitDuration(now - e.created),
    priority: e.priority,
    idleTimeout: e.idleTimeout,
    hardTimeout: e.hardTimeout,
    cookie: e.cookie,
    packetCount: BigInt(e.packetCount),
    byteCount: BigInt(e.byteCount),
    actions: e.actions,
  };
}
