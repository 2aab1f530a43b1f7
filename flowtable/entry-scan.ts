/**
 * Incremental scans of a flow table: statistics, non-strict MODIFY and non-strict DELETE over a
 * large table are done a chunk of entries at a time, so that the caller (the agent) can give the
 * event loop back between chunks and forwarding and OpenFlow never wait for a whole-table walk.
 *
 * Design: a scan walks entry ids (entry-store.ts) upwards from 0 to the store's high-water mark,
 * `limit` ids per call. Ids are dense (freed ids are reused) and an entry keeps its id for as long
 * as it is in the table, so the walk needs no snapshot and no per-entry state, and tolerates any
 * change to the table between chunks: the classifier's hash tables may grow, shrink or move their
 * records, the walk does not look at them.
 *
 * What a scan sees when the table changes while it runs (as Open vSwitch documents for its flow
 * dumps, a dump is not a snapshot):
 * - an entry that is in the table from the scan's start to its end is visited exactly once;
 * - an entry added meanwhile is visited or not (whether its id is above or below the scan's
 *   position), and one removed meanwhile is visited if it was reached before it went;
 * - so an entry replaced meanwhile (ADD of the same match and priority) may be reported twice
 *   (old and new) or not at all; counters are read when the entry's chunk is.
 * The agent runs FLOW_MODs one at a time (a non-strict MODIFY or DELETE in progress holds back
 * every other FLOW_MOD), so the only changes a running MODIFY or DELETE can meet are expiries.
 *
 * Order: each chunk's selected entries are returned highest rank (priority) first. A table whose
 * ids fit in one chunk is therefore reported highest priority first, as before; a larger one in
 * chunks, each sorted (Open vSwitch does not sort its dumps at all).
 */
import type { EntryStore } from './entry-store.js';
import type { FlowEntry } from './flow-entry.js';

export class EntryScan {
  private readonly store: EntryStore;
  private readonly selects: (e: FlowEntry) => boolean;
  private pos = 0;

  /** A scan of the entries of `store` that `selects` accepts. */
  constructor(store: EntryStore, selects: (e: FlowEntry) => boolean) {
    this.store = store;
    this.selects = selects;
  }

  /** True once every id has been visited. */
  get done(): boolean {
    return this.pos >= this.store.highWater;
  }

  /** The selected entries among the next `limit` ids, highest rank first. */
  next(limit: number): FlowEntry[] {
    const store = this.store;
    const end = Math.min(store.highWater, this.pos + limit);
    const out: FlowEntry[] = [];
    for (let id = this.pos; id < end; id++) {
      const e = store.entryAt(id);
      if (e !== undefined && this.selects(e)) out.push(e);
    }
    this.pos = end;
    return out.sort(byRank);
  }
}

/** Highest rank first. */
export function byRank(a: FlowEntry, b: FlowEntry): number {
  return b.rank - a.rank;
}
