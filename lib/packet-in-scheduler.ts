/**
 * Packet-in scheduling, as Open vSwitch's pinsched (ofproto/pinsched.c): a token bucket of
 * `rateLimit` packets per second holding at most `burstLimit` tokens, and behind it one queue per
 * ingress port, served round-robin, that together hold at most `burstLimit` packet-ins.
 *
 * - A packet-in that finds nothing queued and a token goes out at once ("bypassed").
 * - Otherwise it is queued on its in_port's queue ("queued"); when the queues already hold
 *   `burstLimit`, the oldest packet-in of the longest queue is dropped first ("dropped"), so a
 *   port that floods loses its own packet-ins and a quiet port's still get through.
 * - A timer sends queued packet-ins as tokens come, taking one from each port's queue in turn, at
 *   most PINSCHED_RUN_MAX per run so that the rest of the switch gets the thread; so does each new
 *   packet-in before it is queued (a flood may hold the timer back).
 *
 * A connection has two schedulers (connmgr.c N_SCHEDULERS): one for table misses and one for
 * everything else (OUTPUT:CONTROLLER), so that a miss flood cannot starve a flow's packet-ins.
 *
 * Deliberate differences from Open vSwitch 3.1:
 * - Always on. OVS schedules only when the Controller's controller_rate_limit is set and otherwise
 *   sends every packet-in. ofswitch is one thread: each packet-in it encodes and writes is time
 *   not spent forwarding or answering requests, and a miss flood reaches 100k+ frames/s. Without a
 *   setting the limit is CONTROLLER_RATE_LIMIT_DEFAULT (10,000 packet-ins/s per controller and per
 *   kind, burst 2,500): far above what the controllers people run (ovs-testcontroller, os-ken)
 *   take, ten times the rate OVS itself assumes when a limit is configured without a usable value,
 *   and low enough that a flood costs a bounded share of the thread.
 * - When the longest queues tie, the first in round-robin order loses a packet (OVS picks one at
 *   random), so tests are repeatable.
 * - The initial bucket is full, as OVS's is in effect (its first withdrawal fills it).
 *
 * Counters, per scheduler, as OVS reports them in the Controller's status column
 * (packet-in-{miss,action}-{backlog,bypassed,queued,dropped}).
 */
import { CONTROLLER_RATE_LIMIT_DEFAULT, PINSCHED_RUN_MAX } from '../protocol/constants.js';

/** The Controller table's controller_rate_limit and controller_burst_limit; unset: the defaults. */
export interface PacketInLimits {
  /** Packet-ins per second (positive). */
  readonly rateLimit?: number;
  /** Most packet-ins queued, and most sent back to back (positive); default a quarter of the rate. */
  readonly burstLimit?: number;
}

export interface PacketInSchedulerStats {
  /** Queued now. */
  readonly backlog: number;
  /** Sent at once (a token was there and nothing queued). */
  readonly bypassed: number;
  /** Queued for the rate limit. */
  readonly queued: number;
  /** Dropped because the queues were full. */
  readonly dropped: number;
}

/** The limits in effect: OVS's adjust_limits() with ofswitch's default rate. */
export function effectiveLimits(limits: PacketInLimits = {}): { rateLimit: number; burstLimit: number } {
  const rateLimit = limits.rateLimit !== undefined && limits.rateLimit > 0 ? limits.rateLimit : CONTROLLER_RATE_LIMIT_DEFAULT;
  const burst = limits.burstLimit !== undefined && limits.burstLimit > 0 ? limits.burstLimit : Math.floor(rateLimit / 4);
  return { rateLimit, burstLimit: Math.max(1, Math.floor(burst)) };
}

/** One port's packet-ins, oldest first. */
class PortQueue<T> {
  readonly port: number;
  private items: T[] = [];
  private head = 0;

  constructor(port: number) {
    this.port = port;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T {
    const item = this.items[this.head++] as T;
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

export class PacketInScheduler<T> {
  private rate = 0;
  private burst = 0;
  private tokens = 0;
  private lastFill: number;
  private readonly queues = new Map<number, PortQueue<T>>();
  /** The queues in round-robin order; `next` is the one served next. */
  private readonly ring: PortQueue<T>[] = [];
  private next = 0;
  private nQueued = 0;
  private nBypassed = 0;
  private nLimited = 0;
  private nDropped = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly release: (item: T) => void;
  private readonly onDrop: ((item: T) => void) | undefined;
  private readonly now: () => number;

  /** `release` sends a packet-in on; `now` is in milliseconds; `onDrop` hears of each packet-in dropped for a full queue. */
  constructor(limits: PacketInLimits, release: (item: T) => void, now: () => number = () => performance.now(), onDrop?: (item: T) => void) {
    this.release = release;
    this.onDrop = onDrop;
    this.now = now;
    this.lastFill = now();
    this.setLimits(limits);
    this.tokens = this.burst;
  }

  get limits(): { rateLimit: number; burstLimit: number } {
    return { rateLimit: this.rate, burstLimit: this.burst };
  }

  get stats(): PacketInSchedulerStats {
    return { backlog: this.nQueued, bypassed: this.nBypassed, queued: this.nLimited, dropped: this.nDropped };
  }

  /** New limits; packet-ins queued beyond the new burst are dropped (pinsched_set_limits). */
  setLimits(limits: PacketInLimits): void {
    const { rateLimit, burstLimit } = effectiveLimits(limits);
    this.refill();
    this.rate = rateLimit;
    this.burst = burstLimit;
    this.tokens = Math.min(this.tokens, burstLimit);
    while (this.nQueued > burstLimit) this.dropOne();
  }

  /** A packet-in from `port`: sent now, queued, or (the queues full) queued in place of another. */
  send(port: number, item: T): void {
    if (this.closed) return;
    // Queued ones first, whose tokens may have come while a busy datapath held the timer back.
    if (this.nQueued > 0) this.run();
    if (this.nQueued === 0 && this.withdraw()) {
      this.nBypassed++;
      this.release(item);
      return;
    }
    if (this.nQueued >= this.burst) this.dropOne();
    let q = this.queues.get(port);
    if (!q) {
      q = new PortQueue<T>(port);
      this.queues.set(port, q);
      this.ring.push(q);
    }
    q.push(item);
    this.nQueued++;
    this.nLimited++;
    this.schedule();
  }

  /** Sends what the tokens allow, one port at a time, at most PINSCHED_RUN_MAX (pinsched_run). */
  run(): void {
    for (let i = 0; i < PINSCHED_RUN_MAX && this.nQueued > 0 && this.withdraw(); i++) this.release(this.takeNext());
    this.schedule();
  }

  /** Drops everything queued and stops. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queues.clear();
    this.ring.length = 0;
    this.nQueued = 0;
  }

  private refill(): void {
    const now = this.now();
    if (now > this.lastFill) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.lastFill) * this.rate) / 1000);
      this.lastFill = now;
    }
  }

  private withdraw(): boolean {
    if (this.tokens < 1) {
      this.refill();
      if (this.tokens < 1) return false;
    }
    this.tokens -= 1;
    return true;
  }

  /** A timer for when the next token is due, while anything is queued. */
  private schedule(): void {
    if (this.timer || this.closed || this.nQueued === 0) return;
    const wait = this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) * 1000) / this.rate);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.run();
    }, wait);
    this.timer.unref();
  }

  private takeNext(): T {
    if (this.next >= this.ring.length) this.next = 0;
    const q = this.ring[this.next] as PortQueue<T>;
    const item = q.shift();
    this.nQueued--;
    if (q.length === 0) this.remove(this.next);
    else this.next++;
    return item;
  }

  /** Drops the oldest packet-in of the longest queue (drop_packet). */
  private dropOne(): void {
    let longest = 0;
    for (let i = 1; i < this.ring.length; i++) if ((this.ring[i] as PortQueue<T>).length > (this.ring[longest] as PortQueue<T>).length) longest = i;
    const q = this.ring[longest] as PortQueue<T>;
    const item = q.shift();
    this.nQueued--;
    this.nDropped++;
    this.onDrop?.(item);
    if (q.length === 0) this.remove(longest);
  }

  private remove(index: number): void {
    const q = this.ring[index] as PortQueue<T>;
    this.ring.splice(index, 1);
    this.queues.delete(q.port);
    if (this.next > index) this.next--;
  }
}

/** The kinds of packet-in a connection schedules apart (connmgr.c: misses, and the rest). */
export type PacketInKind = 'miss' | 'action';

/** A connection's two schedulers, sharing one configuration. */
export class PacketInSchedulers<T> {
  readonly miss: PacketInScheduler<T>;
  readonly action: PacketInScheduler<T>;

  constructor(limits: PacketInLimits, release: (item: T) => void, now?: () => number, onDrop?: (item: T) => void) {
    this.miss = new PacketInScheduler(limits, release, now, onDrop);
    this.action = new PacketInScheduler(limits, release, now, onDrop);
  }

  send(kind: PacketInKind, port: number, item: T): void {
    this[kind].send(port, item);
  }

  setLimits(limits: PacketInLimits): void {
    this.miss.setLimits(limits);
    this.action.setLimits(limits);
  }

  close(): void {
    this.miss.close();
    this.action.close();
  }

  /** The Controller status column's packet-in-* keys, as ovs-vswitchd writes them. */
  statusPairs(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const kind of ['action', 'miss'] as const) {
      const s = this[kind].stats;
      out[`packet-in-${kind}-backlog`] = String(s.backlog);
      out[`packet-in-${kind}-bypassed`] = String(s.bypassed);
      out[`packet-in-${kind}-dropped`] = String(s.dropped);
      out[`packet-in-${kind}-queued`] = String(s.queued);
    }
    return out;
  }
}
