/**
 * Gaps in a benchmark's time series: the longest stretch without an event (echo replies), and
 * the longest time frames waited for forwarding, from the sender's and the receiver's frame
 * counters sampled together. The receiver's counter alone standing still is no forwarding gap:
 * trafgen itself pauses (for up to a second on a busy machine), and a switch then rightly
 * forwards nothing. A wait starts at the first sample where the sender has sent frames since the
 * receiver's counter last moved, and ends when it moves again; exact to a sample interval.
 */

/** One reading of the sender's and the receiver's frame counters. */
export interface CounterSample {
  readonly t: number;
  readonly tx: number;
  readonly rx: number;
}

/**
 * The longest time (ms) within [from, to] that sent frames waited for the receiver's counter to
 * move; samples in time order.
 */
export function longestForwardingGap(samples: readonly CounterSample[], from: number, to: number): number {
  let gap = 0;
  let rx = -1;
  let txWhenRxMoved = -1;
  let waitingSince = -1;
  for (const s of samples) {
    if (s.t > to) break;
    if (rx < 0 || s.t < from || s.rx !== rx) {
      if (waitingSince >= 0) gap = Math.max(gap, s.t - waitingSince);
      waitingSince = -1;
      rx = s.rx;
      txWhenRxMoved = s.tx;
    } else if (waitingSince < 0 && s.tx > txWhenRxMoved) {
      waitingSince = s.t;
    }
  }
  return waitingSince >= 0 ? Math.max(gap, to - waitingSince) : gap;
}

/** The longest stretch (ms) within [from, to] without an event, events being sorted times. */
export function longestGap(events: readonly number[], from: number, to: number): number {
  let last = from;
  let gap = 0;
  for (const t of events) {
    if (t < from) continue;
    if (t > to) break;
    gap = Math.max(gap, t - last);
    last = t;
  }
  return Math.max(gap, to - last);
}
