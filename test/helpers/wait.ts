/**
 * Waiting in tests for something another process or the event loop brings about: `eventually`
 * answers whether it happened within the time, `waitFor` fails the test's step when it did not.
 */

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every `stepMs` until it holds or `ms` have passed; its last answer. */
export async function eventually(cond: () => boolean, ms = 5000, stepMs = 20): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await sleep(stepMs);
  }
  return cond();
}

/** As `eventually`, but throws "condition not met" when `cond` never held. */
export async function waitFor(cond: () => boolean, ms = 5000, stepMs = 10): Promise<void> {
  if (!(await eventually(cond, ms, stepMs))) throw new Error('condition not met');
}
