/**
 * Flow expiry without a timer per flow: one min-heap of deadlines for the whole table.
 *
 * An entry with a timeout is in the heap once, at its earliest possible expiry: the hard deadline
 * (`modified + hard_timeout`) or the idle deadline as last known (`lastUsed + idle_timeout`).
 * Lookups only refresh `lastUsed` on the entry; they never touch the heap. When a deadline comes,
 * the entry is checked: if it has expired it goes; if it was used meanwhile it is pushed again at
 * its new idle deadline. So an active idle-timeout flow costs one heap operation per idle period,
 * and the agent needs one timer for the whole table (nextExpiry()).
 *
 * Each entry knows its position in the heap (FlowEntry.expiryPos): a removed entry is taken out
 * and a rescheduled one moved, each in O(log n). Nothing stale is kept (a deleted entry is not
 * held alive by the heap), and nothing is ever compacted in one step proportional to the table.
 */
import { OFPRR } from '../protocol/constants.js';
import type { FlowEntry } from './flow-entry.js';

/** The deadline (ms) of an entry's timeouts, or -1 when it has none. */
function deadlineOf(e: FlowEntry): number {
  let at = Infinity;
  if (e.hardTimeout > 0) at = e.modified + e.hardTimeout * 1000;
  if (e.idleTimeout > 0) at = Math.min(at, e.lastUsed + e.idleTimeout * 1000);
  return at === Infinity ? -1 : at;
}

/** OFPRR_HARD_TIMEOUT or OFPRR_IDLE_TIMEOUT when `e` has expired at `now`, else -1. Hard first, as OVS. */
export function dueReason(e: FlowEntry, now: number): number {
  if (e.hardTimeout > 0 && now >= e.modified + e.hardTimeout * 1000) return OFPRR.HARD_TIMEOUT;
  if (e.idleTimeout > 0 && now >= e.lastUsed + e.idleTimeout * 1000) return OFPRR.IDLE_TIMEOUT;
  return -1;
}

export class ExpiryHeap {
  /** Deadlines, heap-ordered; `entries[i]` is the entry of `at[i]`, and knows i (FlowEntry.expiryPos). */
  private at: number[] = [];
  private entries: FlowEntry[] = [];

  /** Entries scheduled (each once). */
  get length(): number {
    return this.at.length;
  }

  /** (Re)schedules `e` at its current deadline, if it has timeouts. */
  schedule(e: FlowEntry): void {
    const at = deadlineOf(e);
    if (at === e.timerAt) return;
    if (at < 0) return this.cancel(e);
    e.timerAt = at;
    if (e.expiryPos < 0) {
      this.at.push(at);
      this.entries.push(e);
      this.siftUp(this.at.length - 1, at, e);
    } else {
      this.place(e.expiryPos, at, e);
    }
  }

  /** Forgets `e` (removed from the table). */
  cancel(e: FlowEntry): void {
    if (e.expiryPos >= 0) this.removeAt(e.expiryPos);
    e.timerAt = -1;
  }

  /** The earliest deadline, or null. */
  peek(): number | null {
    return this.at.length > 0 ? this.at[0]! : null;
  }

  /** Takes the entry whose deadline is earliest if it is at or before `now`. */
  popDue(now: number): FlowEntry | null {
    if (this.at.length === 0 || this.at[0]! > now) return null;
    const e = this.entries[0]!;
    this.removeAt(0);
    e.timerAt = -1;
    return e;
  }

  /** Takes the item at position i out, the last item filling its place. */
  private removeAt(i: number): void {
    const e = this.entries[i]!;
    e.expiryPos = -1;
    const lastAt = this.at.pop()!;
    const last = this.entries.pop()!;
    if (last !== e) this.place(i, lastAt, last);
  }

  /** Puts (t, e) at position i, then up or down to where the heap order wants it. */
  private place(i: number, t: number, e: FlowEntry): void {
    if (i > 0 && this.at[(i - 1) >> 1]! > t) this.siftUp(i, t, e);
    else this.siftDown(i, t, e);
  }

  private siftUp(i: number, t: number, e: FlowEntry): void {
    const at = this.at;
    const entries = this.entries;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (at[p]! <= t) break;
      at[i] = at[p]!;
      entries[i] = entries[p]!;
      entries[i]!.expiryPos = i;
      i = p;
    }
    at[i] = t;
    entries[i] = e;
    e.expiryPos = i;
  }

  private siftDown(i: number, t: number, e: FlowEntry): void {
    const at = this.at;
    const entries = this.entries;
    const len = at.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= len) break;
      const r = l + 1;
      const c = r < len && at[r]! < at[l]! ? r : l;
      if (at[c]! >= t) break;
      at[i] = at[c]!;
      entries[i] = entries[c]!;
      entries[i]!.expiryPos = i;
      i = c;
    }
    at[i] = t;
    entries[i] = e;
    e.expiryPos = i;
  }
}
