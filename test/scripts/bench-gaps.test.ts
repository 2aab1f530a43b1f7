// bench/gaps.ts: the big-table benchmark's gap measures.
import t from 'tap';
import { longestForwardingGap, longestGap, type CounterSample } from '../../bench/gaps.js';

/** Samples every 5 ms from t=0: tx and rx as functions of time. */
const series = (ms: number, tx: (t: number) => number, rx: (t: number) => number): CounterSample[] =>
  Array.from({ length: ms / 5 + 1 }, (_, i) => ({ t: i * 5, tx: tx(i * 5), rx: rx(i * 5) }));

t.test('a sender that pauses is no forwarding gap; a switch that holds frames is', async (t) => {
  // trafgen sends for 100 ms, pauses 800 ms, sends again; the switch forwards at once.
  const paused = (x: number): number => (x < 100 ? x : x < 900 ? 100 : x - 800);
  t.equal(longestForwardingGap(series(1500, paused, paused), 0, 1500), 0, 'idle switch, pausing sender: no gap');
  t.equal(longestGap([0, 100, 900, 1500], 0, 1500), 800, 'the receiver alone would say 800 ms');
  // Steady sender; the switch forwards nothing from 300 to 650 ms, then catches up.
  const stalled = (x: number): number => (x < 300 ? x : x < 650 ? 300 : x);
  t.equal(longestForwardingGap(series(1000, (x) => x + 1, stalled), 0, 1000), 345, 'a 350 ms stall, seen to a sample');
  // A stall still going at the end of the window counts to the end.
  t.equal(longestForwardingGap(series(1000, (x) => x + 1, (x) => Math.min(x, 900)), 0, 1000), 95);
  // Only the window counts.
  t.equal(longestForwardingGap(series(1000, (x) => x + 1, stalled), 700, 1000), 0);
  t.equal(longestForwardingGap(series(1000, (x) => x + 1, stalled), 400, 1000), 250, 'counted from the window start');
  t.equal(longestForwardingGap([], 0, 10), 0);
});

t.test('longestGap: the longest stretch without an event, the window edges included', async (t) => {
  t.equal(longestGap([10, 20, 70], 0, 100), 50);
  t.equal(longestGap([5, 200], 10, 100), 90, 'events outside the window are not counted');
  t.equal(longestGap([], 0, 30), 30);
});
