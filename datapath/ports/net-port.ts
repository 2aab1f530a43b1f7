/**
 * What a datapath needs of a network interface, whatever its type: receive frames, send frames,
 * report and change its link. Every port type (factory.ts) implements this and nothing else is
 * asked of it, as Open vSwitch's netdev providers implement one `struct netdev_class`.
 */
import type { MacAddress } from '../../protocol/types.js';
import type { DropReason } from '../drop-record.js';

/**
 * Where a port reports a frame it dropped itself, for the bridge's drop record: `received` true
 * for a frame that arrived but belongs to no port (recorded with in_port NONE), false for one it
 * was given to send (recorded with the input port of the frame being forwarded). A frame given to
 * send earlier and dropped only when its batch left (a tunnel port's batched send) comes with
 * `inPort`: the input port of the frame being forwarded when it was sent, which the port asked
 * `open`'s `inPortNow` for then (`received` false). `aux` as the reason defines it (TX_ERROR:
 * the datapath puts the port's number there).
 */
export type PortDropHandler = (reason: DropReason, frame: Uint8Array, aux: number, received: boolean, inPort?: number) => void;

/** An interface's link as the kernel (or the port type) reports it. */
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
  /** Frames that reached the interface and were lost before the datapath saw them (a full receive ring): rx_dropped. */
  readonly rxDropped?: number;
  /** Frames the interface accepted and then dropped (a patch port without a peer): tx_dropped, not tx_packets. */
  readonly txDropped?: number;
  /**
   * True when the frames it delivers belong to someone else (a patch port hands over its peer
   * bridge's frame): the datapath must not rewrite them in place, and copies before a rewrite.
   */
  readonly lendsFrames?: boolean;
  /**
   * The kernel interface whose egress qdisc every frame sent here passes (where QoS puts its HTB
   * classes, qos/); absent for ports that are no kernel interface (memory, patch, tunnels).
   */
  readonly qdiscDevice?: string;
  /**
   * Starts delivering received frames (each valid only during the call); drops it makes itself go
   * to `onDrop`. `inPortNow`: the input port of the frame the datapath is forwarding now (OFPP_NONE
   * when none), for a port that learns only later that a frame it accepted was dropped.
   */
  open(onFrame: (frame: Uint8Array) => void, onDrop?: PortDropHandler, inPortNow?: () => number): void;
  /**
   * Sends one frame (valid only during the call: copy what is kept); throws when the interface
   * refuses it. `priority`: the frame's skb priority (ENQUEUE's HTB class, qos/); 0 or absent for
   * every other output. Ports without a kernel qdisc ignore it.
   */
  send(frame: Uint8Array, priority?: number): void;
  /** The link now (cheap: called about every 250 ms). */
  readLink(): LinkInfo;
  /** Calls `onChange` when the port learns that its link may have changed (before the next poll). */
  watchLink?(onChange: () => void): void;
  /** The Interface `status` keys the port type writes (OVS's netdev get_status; tunnels: tunnel-port.ts). */
  status?(): ReadonlyMap<string, string>;
  /** Calls `onChange` when `status()` may have changed. */
  watchStatus?(onChange: () => void): void;
  /** Brings the interface administratively up or down. */
  setAdminUp(up: boolean): Promise<void>;
  /** Sets the interface's MTU (kernel interfaces only; Interface `mtu_request`). */
  setMtu?(mtu: number): Promise<void>;
  close(): void;
}
