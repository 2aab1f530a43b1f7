/** What the OAM machine tests (cfm.test.ts, bfd.test.ts) share: two interface MACs and a clock moved by hand. */
import { macBytes } from '../../oam/frames.js';

export const MAC_A = macBytes('02:00:00:00:00:0a')!;
export const MAC_B = macBytes('02:00:00:00:00:0b')!;

/** A fake clock starting at 1000 ms; `advance` moves it. */
export function clock(): { now: () => number; advance(ms: number): void } {
  let t = 1000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}
