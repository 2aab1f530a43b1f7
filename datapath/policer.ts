/**
 * Policing in the datapath: one byte-based token bucket, used on a port's receive (Interface
 * `ingress_policing_rate` / `ingress_policing_burst`) and on its transmit (QoS type
 * `egress-policer`, `other_config:cir` / `cbs`), the way Open vSwitch polices: a frame that finds
 * enough tokens takes them and passes, any other frame is dropped (never queued or delayed).
 *
 * The bucket (vswitch.xml, "Ingress Policing"): it starts full; it refills at `rate` bytes per
 * second up to `size` bytes; a frame of L bytes passes when the bucket holds at least L tokens.
 * L is the frame's length less its 14-byte Ethernet header, as both of OVS's policers count it
 * (netdev-dpdk.c counts `pkt_len - sizeof(struct rte_ether_hdr)`, and the kernel's tc police at
 * ingress counts skb->len, which starts after the MAC header): a `cir` of 46,000,000 passes a
 * million 64-byte frames per second, as vswitch.xml's example says.
 *
 * Settings as OVS derives them:
 * - ingress (netdev-linux.c): rate kbit/s * 1000 / 8 bytes/s; burst 0 means 8000 kbit; the bucket
 *   is burst * 1024 / 8 bytes; rate 0 switches policing off (the burst is then ignored);
 * - egress-policer (netdev-dpdk.c, an rte_meter srTCM with EBS 0): `cir` bytes/s and `cbs` bytes
 *   as given; either 0 (or absent, or not a number, which OVS reads as 0) is an error there, and
 *   the port then has no QoS: egressPolicing refuses it (the caller polices nothing then).
 *
 * Cost: a port without a policer pays one field test per frame in the packet path; a policer pays
 * a few float operations and no allocation per frame, and the clock is read once per batch of
 * frames (turnClock), not per frame.
 */
import { ETH_HEADER_LEN, INGRESS_POLICING_DEFAULT_BURST_KBITS } from '../protocol/constants.js';

/** A token bucket's settings: refill rate in bytes per second, size in bytes (both > 0). */
export interface BucketSettings {
  readonly rate: number;
  readonly size: number;
}

/** The time turnClock gave in this turn of the event loop (-1: none yet). */
let turnTime = -1;
const forgetTurnTime = (): void => {
  turnTime = -1;
};

/**
 * A monotonic millisecond clock (performance.now) read once per turn of the event loop: the first
 * call in a turn reads it, the others until the next microtask checkpoint get the same time. A port
 * hands its frames over in batches (at most 256 frames or about 1 ms each, af-packet-port.ts), so
 * all the frames of a batch are policed at the batch's time, as OVS's DPDK policer reads the TSC
 * once per batch. A clock read costs more than the rest of a bucket's work (about 170 ns on this
 * machine, against one such read per batch); no tokens are lost by it, only granted a batch later.
 */
export function turnClock(): number {
  if (turnTime < 0) {
    turnTime = performance.now();
    queueMicrotask(forgetTurnTime);
  }
  return turnTime;
}

/** Slots of a bucket's state (one Float64Array: doubles kept unboxed, about 2x faster than fields here). */
const TOKENS = 0;
const LAST = 1;
const PER_MS = 2;
const SIZE = 3;

/** A token bucket in bytes; time from a monotonic millisecond clock (turnClock unless given). */
export class TokenBucket {
  readonly rate: number;
  readonly size: number;
  private readonly now: () => number;
  /** tokens, time of the last refill (ms), refill per ms, size. */
  private readonly state = new Float64Array(4);

  constructor(settings: BucketSettings, now: () => number = turnClock) {
    const { rate, size } = settings;
    if (!(rate > 0 && Number.isFinite(rate)) || !(size > 0 && Number.isFinite(size))) {
      throw new RangeError(`token bucket rate ${rate} B/s and size ${size} B must be positive`);
    }
    this.rate = rate;
    this.size = size;
    this.now = now;
    const s = this.state;
    s[TOKENS] = size; // starts full
    s[LAST] = now();
    s[PER_MS] = rate / 1000;
    s[SIZE] = size;
  }

  /** Takes `bytes` tokens when the bucket holds that many (true), else takes none (false). */
  take(bytes: number): boolean {
    const s = this.state;
    const now = this.now();
    let tokens = s[TOKENS]! + (now - s[LAST]!) * s[PER_MS]!;
    if (tokens > s[SIZE]!) tokens = s[SIZE]!;
    s[LAST] = now;
    if (tokens >= bytes) {
      s[TOKENS] = tokens - bytes;
      return true;
    }
    s[TOKENS] = tokens;
    return false;
  }

  /** The tokens held now (refilled to this moment; takes none). */
  level(): number {
    const s = this.state;
    return Math.min(s[SIZE]!, s[TOKENS]! + (this.now() - s[LAST]!) * s[PER_MS]!);
  }
}

/** Which way a policer polices: what a port receives, or what it sends. */
export type PolicerDirection = 'ingress' | 'egress';

/** A port's policer: its bucket, the settings as configured, and the frames it dropped. */
export class Policer {
  readonly direction: PolicerDirection;
  readonly settings: BucketSettings;
  private readonly bucket: TokenBucket;
  /** Frames dropped so far. */
  dropped = 0;

  constructor(direction: PolicerDirection, settings: BucketSettings, now?: () => number) {
    this.direction = direction;
    this.settings = { rate: settings.rate, size: settings.size };
    this.bucket = new TokenBucket(settings, now);
  }

  /** Whether a frame of `frameLength` bytes passes (its tokens taken); a frame that does not counts as dropped. */
  admits(frameLength: number): boolean {
    const bytes = frameLength > ETH_HEADER_LEN ? frameLength - ETH_HEADER_LEN : 0;
    if (this.bucket.take(bytes)) return true;
    this.dropped++;
    return false;
  }

  /** Whether it polices with these settings (a reconfiguration that changes nothing keeps the bucket). */
  sameAs(settings: BucketSettings): boolean {
    return this.settings.rate === settings.rate && this.settings.size === settings.size;
  }
}

/**
 * Interface `ingress_policing_rate` (kbit/s) and `ingress_policing_burst` (kbit) as a bucket, or
 * null when the rate is 0 (policing off). RangeError for a negative or fractional value.
 */
export function ingressPolicing(kbitsRate: number, kbitsBurst: number): BucketSettings | null {
  for (const [what, v] of [['ingress_policing_rate', kbitsRate], ['ingress_policing_burst', kbitsBurst]] as const) {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${what} ${v} is not a non-negative integer`);
  }
  if (kbitsRate === 0) return null;
  const burst = kbitsBurst === 0 ? INGRESS_POLICING_DEFAULT_BURST_KBITS : kbitsBurst;
  return { rate: (kbitsRate * 1000) / 8, size: (burst * 1024) / 8 };
}

/**
 * QoS type `egress-policer`'s `cir` (bytes/s) and `cbs` (bytes) as a bucket. RangeError unless
 * both are positive integers (OVS's rte_meter refuses a zero CIR or CBS, and the port then has no QoS).
 */
export function egressPolicing(cir: number, cbs: number): BucketSettings {
  for (const [what, v] of [['cir', cir], ['cbs', cbs]] as const) {
    if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`egress-policer ${what} ${v} is not a positive integer`);
  }
  return { rate: cir, size: cbs };
}
