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
 * Removed or rescheduled entries leave stale heap items behind; an item is live only while
 * `entry.timerAt` equals its deadline and the entry is alive. Stale items are dropped when they
 * reach the top, and the heap is compacted when most of it is stale.
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
  private at: number[] = [];
  private entries: FlowEntry[] = [];
  private live = 0;

  get length(): number {
    return this.at.length;
  }

  /** (Re)schedules `e` at its current deadline, if it has timeouts. */
  schedule(e: FlowEntry): void {
    const at = deadlineOf(e);
    if (at === e.timerAt) return;
    if (e.timerAt >= 0) this.live--;
    e.timerAt = at;
    if (at < 0) return;
    this.live++;
    this.push(at, e);
    if (this.at.length > 2 * this.live + 64) this.compact();
  }

  /** Forgets `e` (removed from the table). */
  cancel(e: FlowEntry): void {
    if (e.timerAt >= 0) this.live--;
    e.timerAt = -1;
  }

  /** The earliest live deadline, or null. */
  peek(): number | null {
    this.dropStale();
    return this.at.length > 0 ? this.at[0]! : null;
  }

  /** Takes the entry whose deadline is earliest if it is at or before `now`. */
  popDue(now: number): FlowEntry | null {
    this.dropStale();
    if (this.at.length === 0 || this.at[0]! > now) return null;
    const e = this.entries[0]!;
    this.pop();
    e.timerAt = -1;
    this.live--;
    return e;
  }

  private isStale(i: number): boolean {
    const e = this.entries[i]!;
    return !e.alive || e.timerAt !== this.at[i];
  }

  private dropStale(): void {
    while (this.at.length > 0 && this.isStale(0)) this.pop();
  }

  private compact(): void {
    const at: number[] = [];
    const entries: FlowEntry[] = [];
    for (let i = 0; i < this.at.length; i++) {
      if (!this.isStale(i)) {
        at.push(this.at[i]!);
        entries.push(this.entries[i]!);
      }
    }
    this.at = [];
    this.entries = [];
    for (let i = 0; i < at.length; i++) this.push(at[i]!, entries[i]!);
  }

  private push(t: number, e: FlowEntry): void {
    const at = this.at;
    const entries = this.entries;
    let i = at.length;
    at.push(t);
    entries.push(e);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (at[p]! <= t) break;
      at[i] = at[p]!;
      entries[i] = entries[p]!;
      i = p;
    }
    at[i] = t;
    entries[i] = e;
  }

  private pop(): void {
    const at = this.at;
    const entries = this.entries;
    const lastAt = at.pop()!;
    const lastE = entries.pop()!;
    if (at.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= at.length) break;
      const r = l + 1;
      const c = r < at.length && at[r]! < at[l]! ? r : l;
      if (at[c]! >= lastAt) break;
      at[i] = at[c]!;
      entries[i] = entries[c]!;
      i = c;
    }
    at[i] = lastAt;
    entries[i] = lastE;
  }
}
