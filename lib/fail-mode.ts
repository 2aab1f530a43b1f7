/**
 * What happens to a table miss when no controller is there to ask (the spec's "fail secure" and
 * "fail standalone"):
 * - secure: misses are dropped while no controller connection is up; flows stay.
 * - standalone without any configured controller: the switch is a learning switch from the start,
 *   through a visible `priority=0 actions=NORMAL` entry (installed by the switch, as OVS does).
 * - standalone with controllers configured: when none has been connected for a whole probe
 *   interval, misses go to NORMAL ("fail open"); a controller connecting takes them back.
 */
import type { FailMode } from './options.js';

export type MissAction = 'controller' | 'normal' | 'drop';

export class FailModeState {
  private readonly mode: FailMode;
  private readonly haveControllers: boolean;
  private readonly probeIntervalMs: number;
  private readonly now: () => number;
  private connected = 0;
  private lastConnectedAt: number;

  constructor(options: { mode: FailMode; haveControllers: boolean; probeIntervalMs: number; now?: () => number }) {
    this.mode = options.mode;
    this.haveControllers = options.haveControllers;
    this.probeIntervalMs = options.probeIntervalMs;
    this.now = options.now ?? Date.now;
    this.lastConnectedAt = this.now();
  }

  /** Whether the switch installs the visible NORMAL entry at start. */
  get installsNormalFlow(): boolean {
    return this.mode === 'standalone' && !this.haveControllers;
  }

  /** Call with the number of controller connections up, whenever it changes. */
  setConnectedControllers(count: number): void {
    if (this.connected > 0 && count === 0) this.lastConnectedAt = this.now();
    this.connected = count;
  }

  /** Fail open: standalone, controllers configured, none up for a probe interval. */
  get failOpen(): boolean {
    return (
      this.mode === 'standalone' &&
      this.haveControllers &&
      this.connected === 0 &&
      this.now() - this.lastConnectedAt >= this.probeIntervalMs
    );
  }

  /** What to do with a miss, given whether any connection could take a PACKET_IN. */
  onMiss(anyConnection: boolean): MissAction {
    if (this.failOpen) return 'normal';
    return anyConnection ? 'controller' : 'drop';
  }
}
