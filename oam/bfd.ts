/**
 * One interface's BFD session (RFC 5880, over Ethernet/IPv4/UDP as RFC 5881 and Open vSwitch 3.1's
 * lib/bfd.c carry it), so that Open vSwitch is a working peer:
 *
 * - Control packets go from the interface's MAC (or bfd_local_src_mac) to 00:23:20:00:00:01 (or
 *   bfd_local_dst_mac), IPv4 169.254.1.1 -> 169.254.1.0 (bfd_src_ip, bfd_dst_ip), TTL 255, TOS
 *   0xc0, UDP from a per-session port in 49152..65535 to 3784; 24 bytes, no authentication.
 * - A received packet is this session's when it is IPv4/UDP to port 3784, not a later fragment,
 *   to bfd_src_ip when one is set, and to bfd_remote_dst_mac when one is set. It must have TTL
 *   255, version 1, no A or M bit, a non-zero multiplier and My Discriminator, and Your
 *   Discriminator ours (or zero while the remote is down).
 * - States down -> init -> up as RFC 5880 6.8.6; up falls to down on the detection time
 *   (remote multiplier x the negotiated receive interval) with diagnostic "Control Detection
 *   Time Expired", or when the remote says down ("Neighbor Signaled Session Down").
 * - Intervals: min_tx (100 ms) and min_rx (1000 ms) by default; while not up at least 1 s is sent
 *   (6.8.3); each packet goes after the negotiated interval less a random 0..25 % (10..25 % with
 *   mult 1). A changed interval starts a poll sequence (P bit until a packet with F comes back);
 *   a received P bit is answered at once with F.
 * - decay_min_rx: while up, every max(decay_min_rx, 2000) ms, an interface that received no more
 *   than twice the BFD packets of that time in all switches to decay_min_rx (a poll sequence).
 * - forwarding: up (or, with forwarding_if_rx, data received recently), and the remote not
 *   signalling path down, concatenated path down or reverse concatenated path down; each change
 *   counts a flap. cpath_down sends diagnostic "Concatenated Path Down".
 *
 * Times are milliseconds of the clock given (monotonic). No I/O: the monitor (monitor.ts) sends
 * what `compose` makes and calls `run` when `wakeTime` comes.
 * - On a tunnel port the packets travel encapsulated like any frame (the monitor sends and
 *   receives them through the port); check_tnl_key: only a tunnel without a key takes them.
 *   oam: the packets sent go with the tunnel header's OAM bit (Geneve's O bit; the other kinds
 *   have none), as bfd_put_packet hands OVS's monitor `oam` (`oam`, read by the monitor).
 * Not done: demand mode and echo (OVS has neither).
 */
import {
  BFD_DEFAULT_DST_IP,
  BFD_DEFAULT_MIN_RX_MS,
  BFD_DEFAULT_MIN_TX_MS,
  BFD_DEFAULT_MULT,
  BFD_DEFAULT_SRC_IP,
  BFD_DEST_PORT,
  BFD_DIAG,
  BFD_DIAG_MASK,
  BFD_FLAG,
  BFD_FLAGS_MASK,
  BFD_PACKET_LEN,
  BFD_STATE,
  BFD_STATE_MASK,
  BFD_VERSION,
  ETH_ADDR_BFD,
  ETH_TYPE_IP,
  IPPROTO_UDP,
  IPTOS_PREC_INTERNETCONTROL,
} from './constants.js';
import { ipChecksum, ipv4Number, macBytes, macEquals } from './frames.js';

/** The Interface `bfd` column, read as bfd_configure reads it. */
export interface BfdSettings {
  readonly minTxMs: number;
  readonly minRxMs: number;
  /** 0: no decay. */
  readonly decayMinRxMs: number;
  readonly mult: number;
  readonly cpathDown: boolean;
  readonly forwardingIfRx: boolean;
  readonly checkTnlKey: boolean;
  readonly oam: boolean;
  readonly localSrcMac: string | null;
  readonly localDstMac: string | null;
  readonly remoteDstMac: string | null;
  readonly srcIp: string;
  readonly dstIp: string;
}

/** smap_get_bool: only "true" is true. */
const bool = (m: Readonly<Record<string, string>>, k: string): boolean => m[k] === 'true';

/** smap_get_int: a decimal int, else the default. */
function int(m: Readonly<Record<string, string>>, k: string, def: number): number {
  const v = m[k];
  if (v === undefined || !/^\s*[-+]?\d+$/.test(v)) return def;
  const n = Number(v);
  return n >= -(2 ** 31) && n < 2 ** 31 ? n : def;
}

/**
 * The settings of an Interface's `bfd` map; null when BFD is not enabled (`enable` not "true").
 * `problems` gets OVS's complaints (an IP that is no address; it then uses the default).
 */
export function bfdSettings(map: Readonly<Record<string, string>>, problems: string[] = []): BfdSettings | null {
  if (!bool(map, 'enable')) return null;
  let mult = int(map, 'mult', BFD_DEFAULT_MULT);
  if (mult < 1 || mult > 255) mult = BFD_DEFAULT_MULT;
  const mac = (k: string): string | null => {
    const b = macBytes(map[k] ?? '');
    return b && b.some((x) => x !== 0) ? (map[k] ?? '').toLowerCase() : null;
  };
  const ip = (k: string, def: string): string => {
    const v = map[k] ?? '';
    if (v === '') return def;
    if (ipv4Number(v) !== null) return v;
    problems.push(`"${v}" is not a valid IP address`);
    return def;
  };
  return {
    minTxMs: Math.max(int(map, 'min_tx', BFD_DEFAULT_MIN_TX_MS), 1),
    minRxMs: Math.max(int(map, 'min_rx', BFD_DEFAULT_MIN_RX_MS), 1),
    decayMinRxMs: int(map, 'decay_min_rx', 0),
    mult,
    cpathDown: bool(map, 'cpath_down'),
    forwardingIfRx: bool(map, 'forwarding_if_rx'),
    checkTnlKey: bool(map, 'check_tnl_key'),
    oam: bool(map, 'oam'),
    localSrcMac: mac('bfd_local_src_mac'),
    localDstMac: mac('bfd_local_dst_mac'),
    remoteDstMac: mac('bfd_remote_dst_mac'),
    srcIp: ip('bfd_src_ip', BFD_DEFAULT_SRC_IP),
    dstIp: ip('bfd_dst_ip', BFD_DEFAULT_DST_IP),
  };
}

export function bfdStateText(state: number): string {
  switch (state) {
    case BFD_STATE.ADMIN_DOWN:
      return 'admin_down';
    case BFD_STATE.DOWN:
      return 'down';
    case BFD_STATE.INIT:
      return 'init';
    case BFD_STATE.UP:
      return 'up';
    default:
      return 'invalid';
  }
}

const DIAG_TEXT = [
  'No Diagnostic',
  'Control Detection Time Expired',
  'Echo Function Failed',
  'Neighbor Signaled Session Down',
  'Forwarding Plane Reset',
  'Path Down',
  'Concatenated Path Down',
  'Administratively Down',
  'Reverse Concatenated Path Down',
];

export function bfdDiagText(diag: number): string {
  return DIAG_TEXT[diag] ?? 'Invalid Diagnostic';
}

export function bfdFlagText(flags: number): string {
  if (flags === 0) return 'none';
  const names: [number, string][] = [
    [BFD_FLAG.MULTIPOINT, 'multipoint'],
    [BFD_FLAG.DEMAND, 'demand'],
    [BFD_FLAG.AUTH, 'auth'],
    [BFD_FLAG.CTL, 'ctl'],
    [BFD_FLAG.FINAL, 'final'],
    [BFD_FLAG.POLL, 'poll'],
  ];
  return names
    .filter(([bit]) => (flags & bit) !== 0)
    .map(([, n]) => n)
    .join(' ');
}

/** What bfd_status holds (bfd_get_status), in OVS's key order. */
export interface BfdStatus {
  readonly forwarding: boolean;
  readonly state: string;
  readonly diagnostic: string;
  readonly flapCount: number;
  readonly remoteState: string;
  readonly remoteDiagnostic: string;
}

const BFD_DST = macBytes(ETH_ADDR_BFD)!;
let nextUdpSrc = 0;
const discriminators = new Set<number>();

export interface BfdHooks {
  readonly now: () => number;
  readonly random?: () => number;
  /** Frames received by the interface so far (decay_min_rx compares it with the BFD packets). */
  readonly rxPackets?: () => number;
}

export class BfdSession {
  readonly name: string;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly rxPackets: () => number;
  readonly disc: number;
  readonly udpSrc: number;
  private settings!: BfdSettings;
  private srcIp = 0;
  private dstIp = 0;
  private localSrcMac: Uint8Array | null = null;
  private localDstMac: Uint8Array = BFD_DST;
  private remoteDstMac: Uint8Array | null = null;
  private cpathDown = false;
  mult = BFD_DEFAULT_MULT;
  private rmtMult = 0;
  state: number = BFD_STATE.ADMIN_DOWN;
  private rmtState: number = BFD_STATE.DOWN;
  private diag: number = BFD_DIAG.NONE;
  private rmtDiag: number = BFD_DIAG.NONE;
  private flags = 0;
  private rmtFlags = 0;
  private rmtDisc = 0;
  private rmtMinRx = 1;
  private rmtMinTx = 0;
  private cfgMinTx = 0;
  private cfgMinRx = 0;
  private pollMinTx = 0;
  private pollMinRx = 0;
  private minTx = 1000;
  private minRx = 0;
  private lastTx = 0;
  private nextTx = 0;
  private detectTime = 0;
  private lastForwarding = false;
  /** bfd/set-forwarding: -1 normal, else 0 or 1. */
  forwardingOverride = -1;
  private forwardingIfRx = false;
  private forwardingIfRxDetectTime = 0;
  private demandRxBfdTime = 0;
  private inDecay = false;
  private decayMinRx = 0;
  private decayRxCtl = 0;
  private decayRxPackets = 0;
  private decayDetectTime = 0;
  private flapCount = 0;
  private changed = true;
  onStatusChange: (() => void) | null = null;
  onLog: ((level: 'info' | 'warn', message: string) => void) | null = null;

  constructor(name: string, settings: BfdSettings, hooks: BfdHooks) {
    this.name = name;
    this.now = hooks.now;
    this.random = hooks.random ?? Math.random;
    this.rxPackets = hooks.rxPackets ?? (() => 0);
    let disc = 0;
    while (disc === 0 || discriminators.has(disc)) disc = Math.floor(this.random() * 0x100000000) >>> 0;
    discriminators.add(disc);
    this.disc = disc;
    this.udpSrc = (nextUdpSrc++ % 16384) + 49152;
    this.setState(BFD_STATE.DOWN, BFD_DIAG.NONE);
    this.configure(settings);
  }

  /** The session ends: its discriminator may be used again. */
  close(): void {
    discriminators.delete(this.disc);
  }

  /** Whether the packets sent go with the tunnel header's OAM bit (the `oam` key). */
  get oam(): boolean {
    return this.settings.oam;
  }

  /** Applies new settings to the running session (bfd_configure). */
  configure(s: BfdSettings): void {
    let needPoll = false;
    let minRxChanged = false;
    const oldMult = this.mult;
    this.settings = s;
    this.mult = s.mult;
    if (this.cfgMinTx !== s.minTxMs) {
      this.cfgMinTx = s.minTxMs;
      if (this.state !== BFD_STATE.UP || (!this.inPoll() && this.cfgMinTx < this.minTx)) this.minTx = this.cfgMinTx;
      needPoll = true;
    }
    if (this.cfgMinRx !== s.minRxMs) {
      this.cfgMinRx = s.minRxMs;
      if (this.state !== BFD_STATE.UP || (!this.inPoll() && this.cfgMinRx > this.minRx)) this.minRx = this.cfgMinRx;
      minRxChanged = true;
      needPoll = true;
    }
    if (this.decayMinRx !== s.decayMinRxMs || minRxChanged) {
      if (s.decayMinRxMs > 0 && s.decayMinRxMs < this.cfgMinRx) {
        this.onLog?.('warn', `${this.name}: decay_min_rx cannot be less than ${this.cfgMinRx} ms`);
        this.decayMinRx = 0;
      } else {
        this.decayMinRx = s.decayMinRxMs;
      }
      this.inDecay = false;
      this.decayUpdate();
      needPoll = true;
    }
    if (this.cpathDown !== s.cpathDown) {
      this.cpathDown = s.cpathDown;
      this.setState(this.state, BFD_DIAG.NONE);
      needPoll = true;
    }
    this.localSrcMac = s.localSrcMac === null ? null : macBytes(s.localSrcMac);
    this.localDstMac = (s.localDstMac === null ? null : macBytes(s.localDstMac)) ?? BFD_DST;
    this.remoteDstMac = s.remoteDstMac === null ? null : macBytes(s.remoteDstMac);
    this.srcIp = ipv4Number(s.srcIp) ?? ipv4Number(BFD_DEFAULT_SRC_IP)!;
    this.dstIp = ipv4Number(s.dstIp) ?? ipv4Number(BFD_DEFAULT_DST_IP)!;
    if (this.forwardingIfRx !== s.forwardingIfRx) {
      this.forwardingIfRx = s.forwardingIfRx;
      if (this.state === BFD_STATE.UP && this.forwardingIfRx) this.forwardingIfRxUpdate();
      else this.forwardingIfRxDetectTime = 0;
    } else if (this.state === BFD_STATE.UP && this.forwardingIfRx && oldMult !== s.mult) {
      this.forwardingIfRxUpdate();
    }
    if (needPoll) this.poll();
  }

  private inPoll(): boolean {
    return (this.flags & BFD_FLAG.POLL) !== 0;
  }

  private poll(): void {
    if (this.state > BFD_STATE.DOWN && !this.inPoll() && (this.flags & BFD_FLAG.FINAL) === 0) {
      this.pollMinTx = this.cfgMinTx;
      this.pollMinRx = this.inDecay ? this.decayMinRx : this.cfgMinRx;
      this.flags |= BFD_FLAG.POLL;
      this.nextTx = 0;
      this.onLog?.('info', `${this.name}: Initiating poll sequence`);
    }
  }

  /** bfd.DesiredMinTxInterval as sent: at least 1 s while not up (RFC 5880 6.8.3). */
  private effectiveMinTx(): number {
    return this.state === BFD_STATE.UP ? this.minTx : Math.max(this.minTx, 1000);
  }

  txInterval(): number {
    return Math.max(this.effectiveMinTx(), this.rmtMinRx);
  }

  rxInterval(): number {
    return Math.max(this.minRx, this.rmtMinTx);
  }

  private setNextTx(): void {
    let interval = this.txInterval();
    const r = (n: number): number => Math.floor(this.random() * n);
    if (this.mult === 1) interval -= Math.floor((interval * (10 + r(16))) / 100);
    else interval -= Math.floor((interval * r(26)) / 100);
    this.nextTx = this.lastTx + interval;
  }

  private setState(state: number, diag: number): void {
    if (this.cpathDown) diag = BFD_DIAG.CPATH_DOWN;
    if (this.state === state && this.diag === diag) return;
    this.onLog?.(
      'info',
      `${this.name}: BFD state change: ${bfdStateText(this.state)}->${bfdStateText(state)} "${bfdDiagText(this.diag)}"->"${bfdDiagText(diag)}".`,
    );
    this.state = state;
    this.diag = diag;
    if (state <= BFD_STATE.DOWN) {
      this.rmtState = BFD_STATE.DOWN;
      this.rmtDiag = BFD_DIAG.NONE;
      this.rmtMinRx = 1;
      this.rmtFlags = 0;
      this.rmtDisc = 0;
      this.rmtMinTx = 0;
      if (this.inDecay) {
        this.minRx = this.cfgMinRx;
        this.inDecay = false;
      }
    }
    if (state === BFD_STATE.UP && this.decayMinRx) this.decayUpdate();
    this.statusChanged();
  }

  private statusChanged(): void {
    this.changed = true;
    this.onStatusChange?.();
  }

  /** Whether the interface may forward by this session (bfd_forwarding); counts a flap when it changes. */
  forwarding(): boolean {
    if (this.forwardingOverride !== -1) return this.forwardingOverride === 1;
    const now = this.now();
    const ifRx = this.forwardingIfRx && this.forwardingIfRxDetectTime > now && this.demandRxBfdTime > now;
    const last = this.lastForwarding;
    this.lastForwarding =
      (this.state === BFD_STATE.UP || ifRx) &&
      this.rmtDiag !== BFD_DIAG.PATH_DOWN &&
      this.rmtDiag !== BFD_DIAG.CPATH_DOWN &&
      this.rmtDiag !== BFD_DIAG.RCPATH_DOWN;
    if (this.lastForwarding !== last) {
      this.flapCount++;
      this.statusChanged();
    }
    return this.lastForwarding;
  }

  /** Data frames received on the interface (bfd_account_rx: forwarding_if_rx; tunnels and patch ports, as in OVS). */
  accountRx(): void {
    if (!this.forwardingIfRx) return;
    this.forwarding();
    this.forwardingIfRxUpdate();
    this.forwarding();
  }

  private forwardingIfRxUpdate(): void {
    this.forwardingIfRxDetectTime = Math.max(this.rxInterval() * this.mult, 2000) + this.now();
  }

  private decayUpdate(): void {
    this.decayRxPackets = this.rxPackets();
    this.decayRxCtl = 0;
    this.decayDetectTime = Math.max(this.decayMinRx, 2000) + this.now();
  }

  /** When `run` or a send is due next (bfd_wake_time). */
  wakeTime(): number {
    if ((this.flags & BFD_FLAG.FINAL) !== 0) return 0;
    return this.state > BFD_STATE.DOWN ? Math.min(this.detectTime, this.nextTx) : this.nextTx;
  }

  /** The periodic work (bfd_run): detection time, decay, poll sequences for changed intervals. */
  run(): void {
    const now = this.now();
    const oldInDecay = this.inDecay;
    if (this.state > BFD_STATE.DOWN && now >= this.detectTime) this.setState(BFD_STATE.DOWN, BFD_DIAG.EXPIRED);
    this.forwarding();
    if (this.state === BFD_STATE.UP && this.decayMinRx > 0 && now >= this.decayDetectTime) {
      const diff = this.rxPackets() - this.decayRxPackets;
      const expect = 2 * Math.max(this.decayRxCtl, 1);
      this.inDecay = diff <= expect;
      this.decayUpdate();
    }
    if (this.minTx !== this.cfgMinTx || (this.minRx !== this.cfgMinRx && this.minRx !== this.decayMinRx) || this.inDecay !== oldInDecay) this.poll();
  }

  shouldSend(): boolean {
    return (this.flags & BFD_FLAG.FINAL) !== 0 || this.now() >= this.nextTx;
  }

  /** The next control packet, Ethernet header included (bfd_put_packet). */
  compose(ifaceMac: Uint8Array): Uint8Array {
    const now = this.now();
    const f = new Uint8Array(14 + 20 + 8 + BFD_PACKET_LEN);
    const v = new DataView(f.buffer);
    f.set(this.localDstMac, 0);
    f.set((this.localSrcMac ?? ifaceMac).subarray(0, 6), 6);
    v.setUint16(12, ETH_TYPE_IP);
    f[14] = 0x45;
    f[15] = IPTOS_PREC_INTERNETCONTROL;
    v.setUint16(16, 20 + 8 + BFD_PACKET_LEN);
    f[22] = 255;
    f[23] = IPPROTO_UDP;
    v.setUint32(26, this.srcIp);
    v.setUint32(30, this.dstIp);
    v.setUint16(24, ipChecksum(f, 14, 20));
    v.setUint16(34, this.udpSrc);
    v.setUint16(36, BFD_DEST_PORT);
    v.setUint16(38, 8 + BFD_PACKET_LEN);
    const m = 42;
    f[m] = (BFD_VERSION << 5) | this.diag;
    f[m + 1] = (this.state & BFD_STATE_MASK) | this.flags;
    f[m + 2] = this.mult;
    f[m + 3] = BFD_PACKET_LEN;
    v.setUint32(m + 4, this.disc);
    v.setUint32(m + 8, this.rmtDisc);
    const inPoll = this.inPoll();
    v.setUint32(m + 12, (inPoll ? this.pollMinTx : this.effectiveMinTx()) * 1000);
    v.setUint32(m + 16, (inPoll ? this.pollMinRx : this.minRx) * 1000);
    v.setUint32(m + 20, 0);
    this.flags &= ~BFD_FLAG.FINAL;
    this.lastTx = now;
    this.setNextTx();
    return f;
  }

  /**
   * Whether a received frame is for this session (bfd_should_process_flow); `offset`: the IPv4
   * header; `tunnelKey`: the key of the tunnel it came out of (0: none, or no tunnel).
   */
  accepts(frame: Uint8Array, type: number, offset: number, tunnelKey = 0): boolean {
    if (this.remoteDstMac && !macEquals(frame, 0, this.remoteDstMac)) return false;
    if (type !== ETH_TYPE_IP || frame.length < offset + 20) return false;
    if (frame[offset + 9] !== IPPROTO_UDP) return false;
    const fragOffset = ((frame[offset + 6]! & 0x1f) << 8) | frame[offset + 7]!;
    if (fragOffset !== 0) return false; // a later fragment
    const ihl = (frame[offset]! & 0x0f) * 4;
    if (frame.length < offset + ihl + 4) return false;
    const dport = (frame[offset + ihl + 2]! << 8) | frame[offset + ihl + 3]!;
    if (dport !== BFD_DEST_PORT) return false;
    const dst = ((frame[offset + 16]! << 24) | (frame[offset + 17]! << 16) | (frame[offset + 18]! << 8) | frame[offset + 19]!) >>> 0;
    if (this.srcIp !== ipv4Number(BFD_DEFAULT_SRC_IP) && this.srcIp !== dst) return false;
    return !this.settings.checkTnlKey || tunnelKey === 0;
  }

  /** A received control packet (bfd_process_packet, RFC 5880 6.8.6); `offset`: the IPv4 header. */
  receive(frame: Uint8Array, offset: number): void {
    const ihl = (frame[offset]! & 0x0f) * 4;
    const l7 = offset + ihl + 8;
    if (frame.length < l7) return;
    this.decayRxCtl++;
    this.forwarding();
    try {
      if (frame[offset + 8] !== 255) return; // TTL
      if (frame.length - l7 < BFD_PACKET_LEN) {
        this.onLog?.('info', `${this.name}: Received too-short BFD control message (only ${frame.length - l7} bytes long, at least ${BFD_PACKET_LEN} required).`);
        return;
      }
      const v = new DataView(frame.buffer, frame.byteOffset + l7, BFD_PACKET_LEN);
      const flags = frame[l7 + 1]! & BFD_FLAGS_MASK;
      const rmtState = frame[l7 + 1]! & BFD_STATE_MASK;
      const version = frame[l7]! >> 5;
      const mult = frame[l7 + 2]!;
      const length = frame[l7 + 3]!;
      const myDisc = v.getUint32(4);
      const yourDisc = v.getUint32(8);
      const warn = (what: string): void => this.onLog?.('warn', `${this.name}: ${what}.`);
      if (version !== BFD_VERSION) return warn('Incorrect version');
      if ((flags & BFD_FLAG.AUTH) !== 0) return warn('Authenticated control message with authentication disabled');
      if (length !== BFD_PACKET_LEN) {
        warn('Unexpected length');
        if (length < BFD_PACKET_LEN) return;
      }
      if (mult === 0) return warn('Zero multiplier');
      if ((flags & BFD_FLAG.MULTIPOINT) !== 0) return warn('Unsupported multipoint flag');
      if (myDisc === 0) return warn('NULL my_disc');
      if (yourDisc !== 0) {
        if (yourDisc !== this.disc) return warn('Incorrect your_disc');
      } else if (rmtState > BFD_STATE.DOWN) {
        return warn('Null your_disc');
      }
      if (this.rmtState !== rmtState) this.statusChanged();
      this.rmtDisc = myDisc;
      this.rmtState = rmtState;
      this.rmtFlags = flags;
      this.rmtDiag = frame[l7]! & BFD_DIAG_MASK;
      if ((flags & BFD_FLAG.FINAL) !== 0 && this.inPoll()) {
        this.minTx = this.pollMinTx;
        this.minRx = this.pollMinRx;
        this.flags &= ~BFD_FLAG.POLL;
        this.onLog?.('info', `${this.name}: Poll sequence terminated.`);
      }
      if ((flags & BFD_FLAG.POLL) !== 0) {
        this.flags &= ~BFD_FLAG.POLL;
        this.flags |= BFD_FLAG.FINAL;
      }
      if (this.rmtMult !== mult) {
        this.onLog?.('info', `Interface ${this.name} remote mult value ${this.rmtMult} changed to ${mult}`);
        this.rmtMult = mult;
      }
      const rmtMinRx = Math.max(Math.floor(v.getUint32(16) / 1000), 1);
      if (this.rmtMinRx !== rmtMinRx) {
        this.rmtMinRx = rmtMinRx;
        if (this.nextTx) this.setNextTx();
      }
      this.rmtMinTx = Math.max(Math.floor(v.getUint32(12) / 1000), 1);
      this.detectTime = this.rxInterval() * this.rmtMult + this.now();
      if (this.state === BFD_STATE.ADMIN_DOWN) return;
      if (rmtState === BFD_STATE.ADMIN_DOWN) {
        if (this.state !== BFD_STATE.DOWN) this.setState(BFD_STATE.DOWN, BFD_DIAG.RMT_DOWN);
      } else if (this.state === BFD_STATE.DOWN) {
        if (rmtState === BFD_STATE.DOWN) this.setState(BFD_STATE.INIT, this.diag);
        else if (rmtState === BFD_STATE.INIT) this.setState(BFD_STATE.UP, this.diag);
      } else if (this.state === BFD_STATE.INIT) {
        if (rmtState > BFD_STATE.DOWN) this.setState(BFD_STATE.UP, this.diag);
      } else if (this.state === BFD_STATE.UP && rmtState <= BFD_STATE.DOWN) {
        this.setState(BFD_STATE.DOWN, BFD_DIAG.RMT_DOWN);
        this.onLog?.('info', `${this.name}: Remote signaled STATE_DOWN.`);
      }
      if (this.forwardingIfRx) this.demandRxBfdTime = this.now() + 100 * this.cfgMinRx;
    } finally {
      this.forwarding();
    }
  }

  status(): BfdStatus {
    return {
      forwarding: this.forwarding(),
      state: bfdStateText(this.state),
      diagnostic: bfdDiagText(this.diag),
      flapCount: this.flapCount,
      remoteState: bfdStateText(this.rmtState),
      remoteDiagnostic: bfdDiagText(this.rmtDiag),
    };
  }

  /** bfd_status as OVS writes it. */
  statusMap(): Map<string, string> {
    const s = this.status();
    return new Map([
      ['diagnostic', s.diagnostic],
      ['flap_count', String(s.flapCount)],
      ['forwarding', String(s.forwarding)],
      ['remote_diagnostic', s.remoteDiagnostic],
      ['remote_state', s.remoteState],
      ['state', s.state],
    ]);
  }

  takeStatusChange(): boolean {
    const c = this.changed;
    this.changed = false;
    return c;
  }

  /** bfd/set-forwarding: true, false, or null for normal. */
  setForwardingOverride(value: boolean | null): void {
    this.forwardingOverride = value === null ? -1 : value ? 1 : 0;
    this.statusChanged();
  }

  /** bfd/show's lines for this session (bfd_put_details). */
  show(): string {
    const now = this.now();
    const rel = (t: number): string => {
      const d = Math.round(t - now);
      return `now ${d >= 0 ? '+' : ''}${d}ms`;
    };
    const hex = (n: number): string => `0x${n.toString(16)}`;
    return [
      `  Forwarding: ${this.forwarding()}`,
      `  Detect Multiplier: ${this.mult}`,
      `  Concatenated Path Down: ${this.cpathDown}`,
      `  TX Interval: Approx ${this.txInterval()}ms`,
      `  RX Interval: Approx ${this.rxInterval()}ms`,
      `  Detect Time: ${rel(this.detectTime)}`,
      `  Next TX Time: ${rel(this.nextTx)}`,
      `  Last TX Time: ${rel(this.lastTx)}`,
      '',
      `  Local Flags: ${bfdFlagText(this.flags)}`,
      `  Local Session State: ${bfdStateText(this.state)}`,
      `  Local Diagnostic: ${bfdDiagText(this.diag)}`,
      `  Local Discriminator: ${hex(this.disc)}`,
      `  Local Minimum TX Interval: ${this.effectiveMinTx()}ms`,
      `  Local Minimum RX Interval: ${this.minRx}ms`,
      '',
      `  Remote Flags: ${bfdFlagText(this.rmtFlags)}`,
      `  Remote Session State: ${bfdStateText(this.rmtState)}`,
      `  Remote Diagnostic: ${bfdDiagText(this.rmtDiag)}`,
      `  Remote Discriminator: ${hex(this.rmtDisc)}`,
      `  Remote Minimum TX Interval: ${this.rmtMinTx}ms`,
      `  Remote Minimum RX Interval: ${this.rmtMinRx}ms`,
      `  Remote Detect Multiplier: ${this.rmtMult}`,
    ]
      .map((l) => l + '\n')
      .join('');
  }
}
