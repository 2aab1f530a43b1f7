/**
 * The record of recent drops and punts (`ovs-appctl ofswitch/drops`): the last N real frames a
 * bridge dropped or sent to a controller, each with when, its input port, the reason, the entry
 * (priority, cookie) that decided it when one did, and the first SNAP_BYTES bytes of the frame
 * (enough for every header the flow summary prints).
 *
 * Fixed memory, no allocation when recording: a ring of N slots kept as parallel typed arrays and
 * one byte slab, made once. The datapath calls `record` only on its drop and punt branches, so a
 * frame that is forwarded costs nothing here. Formatting (the flow summary, datapath/trace/
 * flow-text.ts) happens only when the command asks, outside the packet path.
 *
 * Time: the wall clock is read once per turn of the event loop (turnWallClock), not per frame: a
 * port hands its frames over in batches (a microtask checkpoint between them), so every record of
 * a batch gets the batch's time, correct to the batch (about a millisecond at most). A clock read
 * per frame was most of what a policed flood's drop records cost.
 *
 * The frame recorded is the frame at the drop point: after the rewrites its entry's actions made
 * before the output that was dropped. A packet-in the controller connection dropped later is
 * recorded again from what was queued (its data, cut to the packet-in's max_len).
 */

/** Why a frame was dropped or punted. The numbers are the ring's codes, the texts what the command prints. */
export const DROP_REASON = {
  /** A table miss with the miss policy 'drop' (fail-secure, or no controller). */
  NO_MATCH: 1,
  /** An entry whose actions are empty (`actions=drop`). */
  DROP_ACTION: 2,
  /** The input port is down (OFPPC_PORT_DOWN). */
  IN_PORT_DOWN: 3,
  /** The input port has OFPPC_NO_RECV. */
  NO_RECV: 4,
  /** An output to a port that is down (aux: the port). */
  PORT_DOWN: 5,
  /** An output to a port with OFPPC_NO_FWD (aux: the port). */
  NO_FWD: 6,
  /** FLOOD (or NORMAL's flood) reached no port because of OFPPC_NO_FLOOD. */
  NO_FLOOD: 7,
  /** NORMAL: the frame's VLAN is not allowed on its input port (aux: the VLAN). */
  VLAN: 8,
  /** NORMAL: a frame too short for Ethernet or with a partial VLAN tag. */
  MALFORMED: 9,
  /** An IP fragment while SET_CONFIG asked for OFPC_FRAG_DROP. */
  FRAGMENT: 10,
  /** NORMAL: the destination was learned on the input port. */
  LEARNED_IN_PORT: 11,
  /** An output to the input port without OFPP_IN_PORT. */
  OUTPUT_IN_PORT: 12,
  /** An output to a port number that does not exist (aux: the port). */
  NO_SUCH_PORT: 13,
  /** Received on a port reserved as a mirror's output port. */
  MIRROR_PORT: 14,
  /** To the controller, but the input port has OFPPC_NO_PACKET_IN. */
  NO_PACKET_IN: 15,
  /** To the controller, but no controller connection is up. */
  NO_CONTROLLER: 16,
  /** A packet-in dropped by the rate limit: its queues were full (controller_rate_limit/burst_limit). */
  PACKET_IN_QUEUE_FULL: 17,
  /** A packet-in dropped because the controller connection's output queue was full. */
  PACKET_IN_OVERFLOW: 18,
  /** The interface refused the frame (aux: the port). */
  TX_ERROR: 19,
  /** Sent to the controller: a table miss (PACKET_IN reason NO_MATCH). */
  PUNT_MISS: 20,
  /** Sent to the controller: an OUTPUT:CONTROLLER action (PACKET_IN reason ACTION). */
  PUNT_ACTION: 21,
  /** Over the input port's ingress policing rate (Interface ingress_policing_rate). */
  POLICED_IN: 22,
  /** Over the output port's egress-policer rate (QoS type egress-policer; aux: the port). */
  POLICED_OUT: 23,
  /** Spanning tree: received on a port that neither learns nor forwards (blocking, listening, discarding). */
  STP_IN_BLOCKED: 24,
  /** Spanning tree: received on a port that learns but does not forward yet (learning). */
  STP_IN_LEARNING: 25,
  /** Spanning tree: an output to a port that does not forward (aux: the port). */
  STP_OUT_BLOCKED: 26,
  /** A tunnel packet from a remote address no tunnel port names (aux: the remote IPv4 address). */
  TUNNEL_UNKNOWN_REMOTE: 27,
  /** A tunnel packet from a known remote with a key (VNI) no port of that remote has (aux: the key). */
  TUNNEL_UNKNOWN_KEY: 28,
  /** A frame too large for the underlay once encapsulated, with df_default=true (aux: the tunnel port's MTU room). */
  TUNNEL_TOO_BIG: 29,
} as const;
export type DropReason = (typeof DROP_REASON)[keyof typeof DROP_REASON];

/** The short name of each reason (the command's first word after the port), and what it means. */
const REASON_TEXT: Readonly<Record<DropReason, readonly ['drop' | 'controller', (aux: number) => string]>> = {
  [DROP_REASON.NO_MATCH]: ['drop', () => 'no match (secure mode: misses are dropped)'],
  [DROP_REASON.DROP_ACTION]: ['drop', () => 'drop action (empty actions)'],
  [DROP_REASON.IN_PORT_DOWN]: ['drop', () => 'input port down'],
  [DROP_REASON.NO_RECV]: ['drop', () => 'input port has NO_RECV'],
  [DROP_REASON.PORT_DOWN]: ['drop', (p) => `output port ${p} down`],
  [DROP_REASON.NO_FWD]: ['drop', (p) => `output port ${p} has NO_FWD`],
  [DROP_REASON.NO_FLOOD]: ['drop', () => 'flood reached no port (NO_FLOOD)'],
  [DROP_REASON.VLAN]: ['drop', (v) => `VLAN ${v} not allowed on the input port (NORMAL)`],
  [DROP_REASON.MALFORMED]: ['drop', () => 'malformed frame (too short or partial VLAN tag)'],
  [DROP_REASON.FRAGMENT]: ['drop', () => 'IP fragment (frag=drop)'],
  [DROP_REASON.LEARNED_IN_PORT]: ['drop', () => 'destination learned on the input port (NORMAL)'],
  [DROP_REASON.OUTPUT_IN_PORT]: ['drop', () => 'output to the input port without IN_PORT'],
  [DROP_REASON.NO_SUCH_PORT]: ['drop', (p) => `output to port ${p}: no such port`],
  [DROP_REASON.MIRROR_PORT]: ['drop', () => 'received on a mirror output port'],
  [DROP_REASON.NO_PACKET_IN]: ['drop', () => 'to controller, but the input port has NO_PACKET_IN'],
  [DROP_REASON.NO_CONTROLLER]: ['drop', () => 'to controller, but no controller is connected'],
  [DROP_REASON.PACKET_IN_QUEUE_FULL]: ['drop', () => 'packet-in dropped: rate-limit queue full'],
  [DROP_REASON.PACKET_IN_OVERFLOW]: ['drop', () => "packet-in dropped: controller connection's output queue full"],
  [DROP_REASON.TX_ERROR]: ['drop', (p) => `send on port ${p} failed`],
  [DROP_REASON.STP_IN_BLOCKED]: ['drop', () => 'input port not learning or forwarding (spanning tree)'],
  [DROP_REASON.STP_IN_LEARNING]: ['drop', () => 'input port learning, not forwarding yet (spanning tree)'],
  [DROP_REASON.STP_OUT_BLOCKED]: ['drop', (p) => `output port ${p} not forwarding (spanning tree)`],
  [DROP_REASON.PUNT_MISS]: ['controller', () => 'sent to controller: no match'],
  [DROP_REASON.PUNT_ACTION]: ['controller', () => 'sent to controller: action'],
  [DROP_REASON.POLICED_IN]: ['drop', () => 'over the ingress policing rate of the input port'],
  [DROP_REASON.POLICED_OUT]: ['drop', (p) => `over the egress-policer rate of output port ${p}`],
  [DROP_REASON.TUNNEL_UNKNOWN_REMOTE]: ['drop', (ip) => `tunnel packet from ${ip >>> 24}.${(ip >>> 16) & 0xff}.${(ip >>> 8) & 0xff}.${ip & 0xff}: no tunnel port has that remote_ip`],
  [DROP_REASON.TUNNEL_UNKNOWN_KEY]: ['drop', (key) => `tunnel packet with key ${key >>> 0}: no tunnel port to its remote has that key`],
  [DROP_REASON.TUNNEL_TOO_BIG]: ['drop', (mtu) => `frame too large for the tunnel's underlay (at most ${mtu} bytes fit; df_default=true)`],
};

/** The time turnWallClock gave in this turn of the event loop (-1: none yet). */
let turnTime = -1;
const forgetTurnTime = (): void => {
  turnTime = -1;
};

/**
 * Date.now() read once per turn of the event loop: the first call in a turn reads it, the others
 * until the next microtask checkpoint get the same time (as datapath/policer.ts's turnClock does
 * with the monotonic clock).
 */
export function turnWallClock(): number {
  if (turnTime < 0) {
    turnTime = Date.now();
    queueMicrotask(forgetTurnTime);
  }
  return turnTime;
}

/** The entry that decided a drop: what is shown of it. */
export interface DecidingEntry {
  readonly priority?: number;
  readonly cookie?: bigint;
}

/** What the datapath and the packet-in path call on a drop or punt. */
export interface DropRecorder {
  /**
   * Records `frame` (received on `inPort`; only its first bytes are kept, nothing is retained)
   * dropped or punted for `reason`; `aux` the port or VLAN the reason names; `entry` the table
   * entry that decided, or null (a miss, or no entry involved).
   */
  record(reason: DropReason, frame: Uint8Array, inPort: number, aux: number, entry: DecidingEntry | null): void;
}

/** One recorded frame, as the command shows it. */
export interface DropRecord {
  /** Milliseconds since the epoch. */
  readonly time: number;
  readonly inPort: number;
  readonly reason: DropReason;
  /** 'drop' or 'controller' (a punt). */
  readonly kind: 'drop' | 'controller';
  /** The reason in words. */
  readonly text: string;
  /** The deciding entry, or null. */
  readonly entry: { readonly priority: number; readonly cookie: bigint } | null;
  /** The frame's length when recorded, and its first bytes. */
  readonly length: number;
  readonly frame: Uint8Array;
}

/** Bytes kept of each frame: Ethernet, two VLAN tags, IPv6 with room for options, and L4. */
export const DROP_SNAP_BYTES = 128;
/** Frames remembered per bridge unless told otherwise. */
export const DROP_LOG_DEFAULT_SIZE = 256;

/** A ring of the last `size` drops and punts (see the top of this file). */
export class DropLog implements DropRecorder {
  readonly size: number;
  private readonly times: Float64Array;
  private readonly inPorts: Uint32Array;
  private readonly reasons: Uint8Array;
  private readonly auxes: Int32Array;
  private readonly priorities: Int32Array;
  private readonly cookies: BigUint64Array;
  private readonly lengths: Uint32Array;
  private readonly snapLengths: Uint8Array;
  private readonly snaps: Uint8Array;
  private readonly now: () => number;
  /** Where the next record goes, and how many are held. */
  private next = 0;
  private held = 0;
  /** Recorded since start (or the last clear), by reason code. */
  private readonly counts: Float64Array;

  constructor(size: number = DROP_LOG_DEFAULT_SIZE, now: () => number = turnWallClock) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`drop log size ${size} is not a positive integer`);
    this.size = size;
    this.now = now;
    this.times = new Float64Array(size);
    this.inPorts = new Uint32Array(size);
    this.reasons = new Uint8Array(size);
    this.auxes = new Int32Array(size);
    this.priorities = new Int32Array(size);
    this.cookies = new BigUint64Array(size);
    this.lengths = new Uint32Array(size);
    this.snapLengths = new Uint8Array(size);
    this.snaps = new Uint8Array(size * DROP_SNAP_BYTES);
    this.counts = new Float64Array(Math.max(...Object.values(DROP_REASON)) + 1);
  }

  record(reason: DropReason, frame: Uint8Array, inPort: number, aux: number, entry: DecidingEntry | null): void {
    const i = this.next;
    this.times[i] = this.now();
    this.inPorts[i] = inPort;
    this.reasons[i] = reason;
    this.auxes[i] = aux;
    this.priorities[i] = entry?.priority ?? -1;
    this.cookies[i] = entry?.cookie ?? 0n;
    this.lengths[i] = frame.length;
    const n = frame.length < DROP_SNAP_BYTES ? frame.length : DROP_SNAP_BYTES;
    this.snapLengths[i] = n;
    this.snaps.set(n === frame.length ? frame : frame.subarray(0, n), i * DROP_SNAP_BYTES);
    this.next = i + 1 === this.size ? 0 : i + 1;
    if (this.held < this.size) this.held++;
    this.counts[reason] = this.counts[reason]! + 1;
  }

  /** The records held, oldest first (copies). */
  records(): DropRecord[] {
    const out: DropRecord[] = [];
    let i = (this.next - this.held + this.size) % this.size;
    for (let k = 0; k < this.held; k++, i = (i + 1) % this.size) {
      const reason = this.reasons[i] as DropReason;
      const [kind, text] = REASON_TEXT[reason];
      const priority = this.priorities[i]!;
      out.push({
        time: this.times[i]!,
        inPort: this.inPorts[i]!,
        reason,
        kind,
        text: text(this.auxes[i]!),
        entry: priority < 0 ? null : { priority, cookie: this.cookies[i]! },
        length: this.lengths[i]!,
        frame: this.snaps.slice(i * DROP_SNAP_BYTES, i * DROP_SNAP_BYTES + this.snapLengths[i]!),
      });
    }
    return out;
  }

  /** Dropped and punted frames recorded since start or the last clear (not only those held). */
  totals(): { dropped: number; punted: number } {
    let dropped = 0;
    for (let r = 1; r < this.counts.length; r++) if (r !== DROP_REASON.PUNT_MISS && r !== DROP_REASON.PUNT_ACTION) dropped += this.counts[r]!;
    return { dropped, punted: this.counts[DROP_REASON.PUNT_MISS]! + this.counts[DROP_REASON.PUNT_ACTION]! };
  }

  /** Forgets every record and zeroes the totals (`ofswitch/drops-clear`). */
  clear(): void {
    this.next = 0;
    this.held = 0;
    this.counts.fill(0);
  }
}
