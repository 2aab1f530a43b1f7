/**
 * What the two spanning tree protocols (stp.ts: 802.1D, rstp.ts: 802.1w) offer the datapath's glue
 * (lib/spanning-tree.ts): ports keyed by OpenFlow port number, BPDUs in, BPDUs and "flush what
 * you learned" out through callbacks, and a clock that moves only when `tick` says how many
 * milliseconds went by. No I/O, no timers of their own: tests drive them frame by frame.
 */
import type { Bpdu } from './bpdu.js';

/** A port's spanning tree settings (the Port table's stp-* / rstp-* other_config). */
export interface TreePortSettings {
  readonly name: string;
  /** 1..255 (STP) or 1..4095 (RSTP). */
  readonly portNum: number;
  /** 0..255 (STP), multiples of 16 (RSTP). */
  readonly priority: number;
  readonly pathCost: number;
}

export interface TreeOutputs {
  /** Send `bpdu` out of port `key`. */
  send(key: number, bpdu: Bpdu): void;
  /**
   * Forget learned MAC addresses (a topology change): without `port` all of them (802.1D, as OVS's
   * stp_run flushes the whole table), with it only those learned on that port (802.1w, as OVS's
   * rstp_run flushes port by port).
   */
  flush(port?: number): void;
  /**
   * Move the addresses learned on port `from` to port `to` (802.1w: an alternate port became the
   * root port, as OVS's rstp_run does with bundle_move).
   */
  move?(from: number, to: number): void;
}

/** Per-port counters (Port statistics stp_* / rstp_*). */
export interface TreePortCounters {
  tx: number;
  rx: number;
  errors: number;
}

export interface SpanningTree {
  readonly kind: 'stp' | 'rstp';
  /** The bridge's name (the show commands' heading). */
  readonly name: string;
  addPort(key: number, settings: TreePortSettings, enabled: boolean): void;
  removePort(key: number): void;
  hasPort(key: number): boolean;
  /** The port's link came up (true) or went down. */
  setPortEnabled(key: number, enabled: boolean): void;
  receive(key: number, bpdu: Bpdu): void;
  /** A frame to the group address that is no BPDU. */
  receiveError(key: number): void;
  /** `ms` milliseconds went by. */
  tick(ms: number): void;
  /** Frames received on the port go further than NORMAL's learning (OVS's *_forward_in_state). */
  forwarding(key: number): boolean;
  /** NORMAL learns from frames received on the port (OVS's *_learn_in_state). */
  learning(key: number): boolean;
  /** OFPPS_STP_* bits of the port's OpenFlow state. */
  ofState(key: number): number;
  /** Bumped whenever a port's state changes (the glue re-reads the states then). */
  readonly generation: number;
  /**
   * `stp/tcn` / `rstp/tcn`, as OVS's: STP detects a topology change (the root sets TC on its BPDUs,
   * another bridge sends a TCN to the root; the MAC table is flushed); RSTP only runs its machines
   * again (OVS's rstp_unixctl_tcn does no more).
   */
  detectTopologyChange(): void;
  /** `stp/show` / `rstp/show` text of this bridge. */
  show(): string;
  /** The Bridge status column's map (stp) or rstp_status (rstp). */
  bridgeStatus(): Record<string, string>;
  /** The Port status (stp) or rstp_status (rstp) map; null: not a port of the tree. */
  portStatus(key: number): Record<string, string> | null;
  counters(key: number): TreePortCounters | null;
}
