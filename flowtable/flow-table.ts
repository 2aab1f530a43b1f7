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
import { OFPET, OFPFC, OFPFF, OFPFMFC, OFPFW, OFPP, OFPRR, OFPTT } from '../protocol/constants.js';
import { encodeMessage } from '../protocol/encode.js';
import { OfpError } from '../protocol/errors.js';
import type { AggregateStats, FlowMod, FlowStats, Match, TableStats } from '../protocol/types.js';
import { Classifier } from './classifier.js';
import { EntryStore } from './entry-store.js';
import { dueReason, ExpiryHeap } from './expiry.js';
import { FlowEntry, splitDuration, type RemovedFlow } from './flow-entry.js';
import type { FlowKey } from './flow-key.js';
import { compileMatch, isExactRequest, normalizeMatch, type CompiledMatch } from './match.js';
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

  get emergencyMode(): boolean {
    return this.active === this.emergencyTable;
  }

  /** Applies a decoded FLOW_MOD. */
  flowMod(mod: FlowMod): FlowModResult {
    switch (mod.command) {
      case OFPFC.ADD:
        return this.add(mod);
      case OFPFC.MODIFY:
      case OFPFC.MODIFY_STRICT:
        return this.modify(mod, mod.command === OFPFC.MODIFY_STRICT);
      case OFPFC.DELETE:
      case OFPFC.DELETE_STRICT:
        return this.delete(mod, mod.command === OFPFC.DELETE_STRICT);
      default:
        return fail(mod, OFPFMFC.BAD_COMMAND, `command ${mod.command}`);
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
    const removed = [...this.normal.entries()].map((e) => {
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

  /** OFPST_FLOW: the selected entries, highest priority first. */
  flowStats(req: StatsQuery): FlowStats[] {
    const now = this.now();
    return this.select(req).map((e) => ({
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
    }));
  }

  /** OFPST_AGGREGATE over the selected entries. */
  aggregateStats(req: StatsQuery): AggregateStats {
    let packets = 0;
    let bytes = 0;
    const entries = this.select(req);
    for (const e of entries) {
      packets += e.packetCount;
      bytes += e.byteCount;
    }
    return { packetCount: BigInt(packets), byteCount: BigInt(bytes), flowCount: entries.length };
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
      match, compiled, priority, exact, seq: this.seq++, cookie: mod.cookie, actions: mod.actions,
      idleTimeout: mod.idleTimeout, hardTimeout: mod.hardTimeout, flags: mod.flags, emergency, now: this.now(),
    });
    if (old !== undefined) this.removeEntry(old);
    this.store.attach(entry);
    table.insert(entry);
    if (table === this.active) this.cache?.noteAdded(entry);
    this.expiry.schedule(entry);
    return { ok: true, entry, removed: [] };
  }

  private modify(mod: FlowMod, strict: boolean): FlowModResult {
    const table = this.tableOf(mod);
    const { compiled, priority } = this.parse(mod);
    const targets = strict ? optional(table.findStrict(compiled, priority)) : sortByRank(table.covered(compiled));
    if (targets.length === 0) return this.add(mod);
    const now = this.now();
    for (const e of targets) {
      e.actions = mod.actions;
      e.cookie = mod.cookie;
      e.modified = now;
      this.expiry.schedule(e);
    }
    return { ok: true, entry: targets[0]!, removed: [] };
  }

  private delete(mod: FlowMod, strict: boolean): FlowModResult {
    const table = this.tableOf(mod);
    const { compiled, priority } = this.parse(mod);
    const candidates = strict ? optional(table.findStrict(compiled, priority)) : sortByRank(table.covered(compiled));
    const now = this.now();
    const removed: RemovedFlow[] = [];
    for (const e of candidates) {
      if (mod.outPort !== OFPP.NONE && !e.outputsTo(mod.outPort)) continue;
      this.removeEntry(e);
      removed.push(this.removal(e, OFPRR.DELETE, now));
    }
    return { ok: true, entry: null, removed };
  }

  // ---- helpers ----

  private removeEntry(e: FlowEntry): void {
    (e.emergency ? this.emergencyTable : this.normal).remove(e);
    this.store.detach(e);
    this.expiry.cancel(e);
  }

  private removal(entry: FlowEntry, reason: number, now: number): RemovedFlow {
    return { entry, reason, ...splitDuration(now - entry.created) };
  }

  private select(req: StatsQuery): FlowEntry[] {
    const tables: Classifier[] =
      req.tableId === OFPTT.ALL ? [this.normal, this.emergencyTable]
        : req.tableId === 0 ? [this.normal]
          : req.tableId === OFPTT.EMERG ? [this.emergencyTable]
            : [];
    const compiled = compileMatch(normalizeMatch(req.match));
    const out: FlowEntry[] = [];
    for (const t of tables) {
      for (const e of sortByRank(t.covered(compiled))) {
        if (req.outPort === OFPP.NONE || e.outputsTo(req.outPort)) out.push(e);
      }
    }
    return out;
  }
}

function optional(e: FlowEntry | undefined): FlowEntry[] {
  return e === undefined ? [] : [e];
}

function sortByRank(entries: FlowEntry[]): FlowEntry[] {
  return entries.sort((a, b) => b.rank - a.rank);
}
