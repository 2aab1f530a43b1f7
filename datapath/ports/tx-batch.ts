/**
 * When staged output leaves: the ports that stage frames for one batched send (af-packet-port.ts:
 * sendmmsg per interface; the tunnel underlay, datapath/tunnel/underlay.ts: sendmmsg per
 * endpoint socket) note themselves here on their first staged frame, and are flushed
 *   - at the end of the receive batch being processed (a port's batch callback brackets its work
 *     with `enterBatch`/`leaveBatch`): the frames one poll round forwards leave together;
 *   - or, for frames sent from anywhere else (PACKET_OUT, timers), on a microtask: still before
 *     the event loop does anything else.
 * A port whose staging area fills flushes itself at once; a flush never stages anything.
 */

/** A port with frames staged for one batched send. */
export interface StagedOutput {
  /** Sends every staged frame now. */
  flush(): void;
}

const staged: StagedOutput[] = [];
let batchDepth = 0;
let flushQueued = false;

/** Flushes every port noted since the last flush. */
export function flushStaged(): void {
  flushQueued = false;
  for (let i = 0; i < staged.length; i++) (staged[i] as StagedOutput).flush();
  staged.length = 0;
}

/** Notes a port's first staged frame: it is flushed at the end of the batch, or on a microtask. */
export function noteStaged(port: StagedOutput): void {
  staged.push(port);
  if (batchDepth === 0 && !flushQueued) {
    flushQueued = true;
    queueMicrotask(flushStaged);
  }
}

/** A receive batch begins: what it stages leaves when the outermost batch ends. */
export function enterBatch(): void {
  batchDepth++;
}

/** A receive batch ends; the outermost flushes what was staged. */
export function leaveBatch(): void {
  batchDepth--;
  if (batchDepth === 0) flushStaged();
}
