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
 *
 * Connections are the other way a peer makes the process hold memory: thousands of them, each
 * holding part of a message, are tens of kilobytes each. Once they are closed their buffers are
 * free, but glibc's malloc returns only the top of its heap to the system, and those buffers lie
 * scattered between live allocations. So once connections that held CONNECTION_MEMORY_COLLECT
 * bytes between them have closed, a collection follows (two seconds later, one for a whole wave of
 * closes), then glibc's malloc_trim through the datapath's addon, which releases the free pages
 * anywhere in the heap. Without the addon (no AF_PACKET ports possible either) the collection
 * alone runs.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { addonCandidates } from '../datapath/ports/af-packet-port.js';
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

/** What closed connections held between them before a collection follows (bytes). */
export const CONNECTION_MEMORY_COLLECT = 16 * 1024 * 1024;
/** A connection's own cost beyond its buffers (socket, handles, closures: about 15 KB measured). */
export const CONNECTION_BASE_BYTES = 16 * 1024;
/** How long after the closes that crossed the threshold the collection runs (ms). */
const CONNECTION_COLLECT_DELAY_MS = 2000;

let closedBytes = 0;
let collectTimer: NodeJS.Timeout | null = null;
let trim: (() => boolean) | null | undefined;

/** glibc's malloc_trim through the addon; null without an addon that has it. */
function mallocTrim(): (() => boolean) | null {
  if (trim !== undefined) return trim;
  const found = addonCandidates().find((p) => existsSync(p));
  const addon = found ? (createRequire(import.meta.url)(found) as { mallocTrim?: () => boolean }) : undefined;
  trim = typeof addon?.mallocTrim === 'function' ? addon.mallocTrim : null;
  return trim;
}

/** A full collection, then the freed pages back to the system; returns whether malloc_trim ran. */
export function releaseFreedMemory(): boolean {
  collector()();
  const t = mallocTrim();
  if (t) t();
  return t !== null;
}

/**
 * A connection that held `bytes` (its buffers, queued output and CONNECTION_BASE_BYTES) closed:
 * once closed connections held CONNECTION_MEMORY_COLLECT between them, memory is released two
 * seconds later. Returns whether this close scheduled it.
 */
export function connectionClosed(bytes: number): boolean {
  closedBytes += bytes;
  if (closedBytes < CONNECTION_MEMORY_COLLECT || collectTimer !== null) return false;
  collectTimer = setTimeout(() => {
    closedBytes = 0;
    // Two collections apart: sockets found dead by the first free their native buffers in finalizers after it.
    collector()();
    collectTimer = setTimeout(() => {
      collectTimer = null;
      releaseFreedMemory();
    }, 100);
    collectTimer.unref();
  }, CONNECTION_COLLECT_DELAY_MS);
  collectTimer.unref();
  return true;
}

/** After `removed` entries went and `left` stay: one full collection, once the replies are out. */
export function releaseMemoryAfterRemoving(removed: number, left: number): boolean {
  if (removed < COLLECT_AFTER_REMOVING || left >= COLLECT_AFTER_REMOVING) return false;
  setImmediate(collector());
  return true;
}
