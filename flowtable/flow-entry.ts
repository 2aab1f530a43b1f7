/**
 * A flow entry: what a FLOW_MOD installed, its counters and its times, plus the few fields the
 * classifier, the microflow cache and the expiry heap keep on it (marked internal).
 *
 * Counters are plain numbers (exact up to 2^53 packets or bytes); statistics turn them into bigint.
 * Times are milliseconds of the table's clock (monotonic, fractional).
 */
import { OFPAT } from '../protocol/constants.js';
import type { Action, Match } from '../protocol/types.js';
import type { CompiledMatch } from './match.js';

/** Entries of the same priority are ranked by age, older first: ranks are unique, lookups deterministic. */
const SEQ_SPAN = 2 ** 32;

export class FlowEntry {
  /** The match as normalised (what statistics report). */
  readonly match: Match;
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
  packetCount = 0;
  byteCount = 0;
  /** When it was added (ms). */
  readonly created: number;
  /** When the hard timeout started: the add or the latest MODIFY, as Open vSwitch does (ms). */
  modified: number;
  /** Last packet (ms): refreshed by lookups of entries with an idle timeout. */
  lastUsed: number;

  /** @internal Compiled match. */
  readonly compiled: CompiledMatch;
  /** @internal Classifier order: priority, then exact-match requests, then age. Unique. */
  readonly rank: number;
  /** @internal False once removed from its table. */
  alive = true;
  /** @internal Deadline the expiry heap holds for this entry (ms), or -1. */
  timerAt = -1;

  constructor(init: {
    match: Match; compiled: CompiledMatch; priority: number; exact: boolean; seq: number;
    cookie: bigint; actions: readonly Action[]; idleTimeout: number; hardTimeout: number;
    flags: number; emergency: boolean; now: number;
  }) {
    this.match = init.match;
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
    this.lastUsed = init.now;
    const age = SEQ_SPAN - 1 - (init.seq % SEQ_SPAN);
    this.rank = (init.priority * 2 + (init.exact ? 1 : 0)) * SEQ_SPAN + age;
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
