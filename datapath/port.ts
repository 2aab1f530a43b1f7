/**
 * Ports: the network interfaces a datapath moves frames between.
 *
 * `NetPort` is what the datapath needs of an interface: receive frames, send frames, report and
 * change its link. Two implementations, like Open vSwitch's netdev-linux beside netdev-dummy:
 * `AfPacketPort` (af-packet-port.ts) on a Linux interface, and `MemoryPort` here, in memory, for unit tests.
 */
import type { MacAddress } from '../protocol/types.js';

/** An interface's link as the kernel reports it. */
export interface LinkInfo {
  /** Administratively up (IFF_UP). */
  readonly adminUp: boolean;
  /** Carrier present. */
  readonly carrier: boolean;
  readonly hwAddr: MacAddress;
  /** Link speed in Mb/s, 0 when unknown. */
  readonly speedMbps: number;
}

export interface NetPort {
  readonly name: string;
  /** Frames the interface itself failed to send after accepting them (the kernel refused them later). */
  readonly txErrors?: number;
  /** Frames the interface itself received but could not deliver (truncated, unsegmentable). */
  readonly rxErrors?: number;
  /** Starts delivering received frames (each valid only during the call). */
  open(onFrame: (frame: Uint8Array) => void): void;
  /** Sends one frame; throws when the interface refuses it. */
  send(frame: Uint8Array): void;
  /** The link now (cheap: called about every 250 ms). */
  readLink(): LinkInfo;
  /** Calls `onChange` when the port learns that its link may have changed (before the next poll). */
  watchLink?(onChange: () => void): void;
  /** Brings the interface administratively up or down. */
  setAdminUp(up: boolean): Promise<void>;
  close(): void;
}

/** An in-memory port: frames are injected with `receive` and collected in `sent`. */
export class MemoryPort implements NetPort {
  readonly name: string;
  readonly sent: Uint8Array[] = [];
  link: LinkInfo;
  /** Set by tests: frames "refused later" and frames "received but not delivered". */
  txErrors = 0;
  rxErrors = 0;
  private onFrame: ((frame: Uint8Array) => void) | undefined;

  constructor(name: string, hwAddr: MacAddress = '02:00:00:00:00:01', speedMbps = 10_000) {
    this.name = name;
    this.link = { adminUp: true, carrier: true, hwAddr, speedMbps };
  }

  open(onFrame: (frame: Uint8Array) => void): void {
    this.onFrame = onFrame;
  }

  /** Delivers a frame as if it had arrived on the interface. */
  receive(frame: Uint8Array): void {
    this.onFrame?.(frame);
  }

  send(frame: Uint8Array): void {
    if (!this.link.adminUp) throw new Error(`${this.name} is down`);
    this.sent.push(frame.slice());
  }

  /** Removes and returns what was sent so far. */
  take(): Uint8Array[] {
    return this.sent.splice(0);
  }

  readLink(): LinkInfo {
    return this.link;
  }

  async setAdminUp(up: boolean): Promise<void> {
    this.link = { ...this.link, adminUp: up, carrier: up && this.link.carrier };
  }

  setCarrier(carrier: boolean): void {
    this.link = { ...this.link, carrier };
  }

  close(): void {
    this.onFrame = undefined;
  }
}
