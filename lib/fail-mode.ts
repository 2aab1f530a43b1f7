/**
 * What happens to a table miss when no controller is there to ask (the spec's "fail secure" and
 * "fail standalone"):
 * - secure: misses are dropped while no connection is up; flows stay.
 * - standalone without any configured controller: the switch is a learning switch from the start,
 *   through a visible `priority=0 actions=NORMAL` entry (installed by the switch, as OVS does).
 * - standalone with controllers configured: when none has been connected for a whole probe
 *   interval, misses go to NORMAL ("fail open"); a controller connecting takes them back.
 *
 * The answer is a miss policy for the datapath ('controller' | 'normal' | 'drop', packet-path.ts),
 * recomputed whenever something it depends on changes (connections, mode, controllers) and when
 * the probe interval runs out (a timer), and handed to `onPolicyChange` only when it changes: the
 * packet path never asks per frame.
 */
import type { MissPolicy } from '../datapath/packet-path.js';
import type { FailMode } from './options.js';

export type { MissPolicy } from '../datapath/packet-path.js';

export interface FailModeOptions {
  mode: FailMode;
  haveControllers: boolean;
  probeIntervalMs: number;
  now?: () => number;
  /** Called with the new policy whenever it changes. */
  onPolicyChange?: (policy: MissPolicy) => void;
}

export class FailModeState {
  private modeValue: FailMode;
  private haveControllers: boolean;
  private probeIntervalMs: number;
  private readonly now: () => number;
  private readonly onPolicyChange: ((policy: MissPolicy) => void) | undefined;
  private connected = 0;
  private anyConnection = false;
  private lastConnectedAt: number;
  private policy: MissPolicy;
  private timer: NodeJS.Timeout | undefined;

  constructor(options: FailModeOptions) {
    this.modeValue = options.mode;
    this.haveControllers = options.haveControllers;
    this.probeIntervalMs = options.probeIntervalMs;
    this.now = options.now ?? Date.now;
    this.onPolicyChange = options.onPolicyChange;
    this.lastConnectedAt = this.now();
    this.policy = this.compute();
    this.arm();
  }

  get mode(): FailMode {
    return this.modeValue;
  }

  /** Whether the switch installs the visible NORMAL entry (standalone, no controller configured). */
  get installsNormalFlow(): boolean {
    return this.modeValue === 'standalone' && !this.haveControllers;
  }

  /** Fail open: standalone, controllers configured, none up for a probe interval. */
  get failOpen(): boolean {
    return (
      this.modeValue === 'standalone' &&
      this.haveControllers &&
      this.connected === 0 &&
      this.now() - this.lastConnectedAt >= this.probeIntervalMs
    );
  }

  /** What a miss does now. */
  get missPolicy(): MissPolicy {
    return this.policy;
  }

  setMode(mode: FailMode): void {
    this.modeValue = mode;
    this.update();
  }

  /** Whether any controller is configured; going from none to some starts the interval afresh. */
  setHaveControllers(have: boolean): void {
    if (have && !this.haveControllers) this.lastConnectedAt = this.now();
    this.haveControllers = have;
    this.update();
  }

  setProbeInterval(ms: number): void {
    this.probeIntervalMs = ms;
    this.update();
  }

  /**
   * Call whenever connections change: how many controller connections are up, and whether any
   * connection (a controller's or an accepted one) could take a PACKET_IN.
   */
  setConnections(controllers: number, anyConnection: boolean): void {
    if (this.connected > 0 && controllers === 0) this.lastConnectedAt = this.now();
    this.connected = controllers;
    this.anyConnection = anyConnection;
    this.update();
  }

  /** Recomputes the policy (also what the timer does); tells `onPolicyChange` if it changed. */
  update(): void {
    const next = this.compute();
    this.arm();
    if (next === this.policy) return;
    this.policy = next;
    this.onPolicyChange?.(next);
  }

  /** Stops the timer. */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private compute(): MissPolicy {
    if (this.failOpen) return 'normal';
    return this.anyConnection ? 'controller' : 'drop';
  }

  /** While fail open is pending (standalone, controllers configured, none up), wakes when it is due. */
  private arm(): void {
    this.close();
    if (this.modeValue !== 'standalone' || !this.haveControllers || this.connected > 0 || this.failOpen) return;
    const wait = Math.max(0, this.lastConnectedAt + this.probeIntervalMs - this.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.update();
    }, wait + 1);
    this.timer.unref();
  }
}
