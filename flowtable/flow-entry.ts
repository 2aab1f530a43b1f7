/**
 * A flow entry: what a FLOW_MOD installed, its counters and its times, plus the few fields the
 * classifier, the microflow cache and the expiry heap keep on it (marked internal).
 *
 * Counters are plain numbers (exact up to 2^53 packets or bytes); statistics turn them into bigint.
 * While the entry is in a table its counters and last use live in the table's EntryStore (flat
 * arrays that lookups update without touching this object); the getters read them there.
 * Times are milliseconds of the table's clock (monotonic, fractional).
 */
import { OFPAT } from '../protocol/constants.js';
import type { Action, Match } from '../protocol/types.js';
import type { EntryStore } from './entry-store.js';
import { decompileMatch, type CompiledMatch } from './match.js';

/** Entries of the same priority are ranked by age, older first: ranks are unique, lookups deterministic. */
const SEQ_SPAN = 2 ** 32;

export class FlowEntry {
  /** Stored priority: 65535 for an exact-match request, as Open vSwitch does. */
  readonly priority: number;
  cookie: bigint;
  actions: readonly Action[];
  readonly idleTimeout: number;
  readonly hardTimeout: number;
  /** OFPFF_* flags as requested. */
  readonly flags: number;
  /** True for an entry of the emergency table. */
  readonly emergency: boolean;
  /** When it was added (ms). */
  readonly created: number;
  /** When the hard timeout started: the add or the latest MODIFY, as Open vSwitch does (ms). */
  modified: number;
  /** Counters and last use while the entry is in no table (before attach, after detach). */
  private ownPackets = 0;
  private ownBytes = 0;
  private ownLastUsed: number;
  private store: EntryStore | null = null;

  /** @internal Compiled match. */
  readonly compiled: CompiledMatch;
  /** @internal Classifier order: priority, then exact-match requests, then age. Unique. */
  readonly rank: number;
  /** @internal False once removed from its table. */
  alive = true;
  /** @internal Deadline the expiry heap holds for this entry (ms), or -1. */
  timerAt = -1;
  /** @internal Id in the table's EntryStore (where lookups count), -1 when in no table. */
  id = -1;
  /** @internal Position in its classifier subtable's max-heap by rank, -1 when in none. */
  heapPos = -1;
  /** @internal Position in the expiry heap, -1 when not in it. */
  expiryPos = -1;
  /** @internal The next (lower-ranked) entry with the same match in its subtable's hash slot, or null. */
  nextInSlot: FlowEntry | null = null;

  constructor(init: {
    compiled: CompiledMatch; priority: number; exact: boolean; seq: number;
    cookie: bigint; actions: readonly Action[]; idleTimeout: number; hardTimeout: number;
    flags: number; emergency: boolean; now: number;
  }) {
    this.compiled = init.compiled;
    this.priority = init.priority;
    this.cookie = init.cookie;
    this.actions = init.actions;
    this.idleTimeout = init.idleTimeout;
    this.hardTimeout = init.hardTimeout;
    this.flags = init.flags;
    this.emergency = init.emergency;
    this.created = init.now;
    this.modified = init.now;
    this.ownLastUsed = init.now;
    const age = SEQ_SPAN - 1 - (init.seq % SEQ_SPAN);
    this.rank = (init.priority * 2 + (init.exact ? 1 : 0)) * SEQ_SPAN + age;
  }

  /** The match as normalised (what statistics report), rebuilt from the compiled one. */
  get match(): Match {
    return decompileMatch(this.compiled);
  }

  get packetCount(): number {
    return this.store === null ? this.ownPackets : this.store.packets(this.id);
  }

  get byteCount(): number {
    return this.store === null ? this.ownBytes : this.store.bytes(this.id);
  }

  /** Last packet (ms): refreshed by lookups of entries with an idle timeout. */
  get lastUsed(): number {
    return this.store === null ? this.ownLastUsed : this.store.lastUsed[this.id]!;
  }

  /** @internal Called by EntryStore.attach. */
  attachTo(store: EntryStore, id: number): void {
    this.store = store;
    this.id = id;
  }

  /** @internal Called by EntryStore.detach: the final counters and last use. */
  detachFrom(packets: number, bytes: number, lastUsed: number): void {
    this.ownPackets = packets;
    this.ownBytes = bytes;
    this.ownLastUsed = lastUsed;
    this.store = null;
    this.id = -1;
  }

  /** Does an OUTPUT or ENQUEUE action name this port? (the out_port filter; OFPP_NONE: no filter) */
  outputsTo(port: number): boolean {
    for (const a of this.actions) {
      if ((a.type === OFPAT.OUTPUT || a.type === OFPAT.ENQUEUE) && a.port === port) return true;
    }
    return false;
  }
}

/** An entry taken out of the table, for OFPT_FLOW_REMOVED. */
export interface RemovedFlow {
  readonly entry: FlowEntry;
  /** OFPRR_IDLE_TIMEOUT, OFPRR_HARD_TIMEOUT or OFPRR_DELETE. */
  readonly reason: number;
  readonly durationSec: number;
  readonly durationNsec: number;
}

/** Split a duration in ms into the spec's seconds and nanoseconds. */
export function splitDuration(ms: number): { durationSec: number; durationNsec: number } {
  const d = Math.max(0, ms);
  const durationSec = Math.floor(d / 1000);
  const durationNsec = Math.min(999_999_999, Math.floor((d - durationSec * 1000) * 1e6));
  return { durationSec, durationNsec };
}

/**
 * V8 keeps each field's representation (small integer, double, object reference) in the hidden
 * class that all entries share. When one entry's field first takes a wider value (timerAt a
 * fractional deadline, the counters copied back on detach, alive going false), the class is
 * deprecated and every other entry is migrated to a new one, one by one, on its next access: at
 * a million entries the first DELETE paid well over a second for that. One throwaway entry takes
 * every field through its widest values here, at load, so that real entries are created with the
 * final hidden class and never migrate.
 */
function settleHiddenClass(): void {
  const mask = new Uint32Array(9);
  const e = new FlowEntry({
    compiled: { value: [0.5], mask, maskKey: '' }, priority: 0, exact: false, seq: 0, cookie: 1n,
    actions: [], idleTimeout: 0, hardTimeout: 0, flags: 0, emergency: false, now: 0.5,
  });
  e.attachTo({} as EntryStore, 1);
  e.detachFrom(0.5, 0.5, 0.5);
  e.timerAt = 0.5;
  e.timerAt = -1;
  e.alive = false;
  e.heapPos = 3;
  e.heapPos = -1;
  e.expiryPos = 3;
  e.expiryPos = -1;
  e.nextInSlot = e;
  e.nextInSlot = null;
  e.modified = 1.5;
  e.cookie = 2n ** 64n - 1n;
  e.actions = [{ type: OFPAT.OUTPUT, port: 1, maxLen: 0 }];
}
settleHiddenClass();
