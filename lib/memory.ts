/**
 * Giving memory back to the system after a large table has been emptied.
 *
 * V8 collects its old generation when more is allocated there, and an idle switch allocates
 * almost nothing: the memory of a million deleted entries (some 800 MB) would stay with the process
 * for as long as nothing else happens. So after a FLOW_MOD that removed many entries and left few,
 * the agent asks for one full collection (Node's `gc`, exposed at run time through V8's flag).
 * With little left alive it is short (tens of ms: V8 marks what is alive, not what died), and V8
 * then returns the freed pages within a few seconds. Open vSwitch gives the memory of deleted
 * flows back to malloc at once; this is the nearest a garbage-collected process comes.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** A FLOW_MOD that removes at least this many entries and leaves fewer triggers a collection. */
export const COLLECT_AFTER_REMOVING = 50_000;

let collect: (() => void) | null = null;

function collector(): () => void {
  if (collect === null) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed !== undefined) {
      collect = exposed;
    } else {
      setFlagsFromString('--expose-gc');
      collect = runInNewContext('gc') as () => void;
    }
  }
  return collect;
}

/** After `removed` entries went and `left` stay: one full collection, once the replies are out. */
export function releaseMemoryAfterRemoving(removed: number, left: number): boolean {
  if (removed < COLLECT_AFTER_REMOVING || left >= COLLECT_AFTER_REMOVING) return false;
  setImmediate(collector());
  return true;
}
