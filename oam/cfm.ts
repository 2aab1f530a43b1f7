/**
 * One interface's 802.1ag Connectivity Fault Management endpoint (a MEP), as Open vSwitch 3.1's
 * lib/cfm.c runs it, so that OVS is a working remote MEP:
 *
 * - Every interval it sends a Continuity Check Message (CCM) to 01:80:c2:00:00:30 (extended mode:
 *   01:23:20:00:00:30), 75 bytes after the Ethernet header: MD level 0, version 0, opcode 1, flags
 *   (RDI bit, interval code), first TLV offset 70, sequence number, MPID, the 48-byte MAID OVS
 *   uses (MD name "ovs", MA name "ovs", both character strings), then OVS's extension fields
 *   (interval in ms, 64-bit MPID, opdown) and the end TLV. With cfm_ccm_vlan / cfm_ccm_pcp the CCM
 *   carries an 802.1Q tag (a random VID per CCM with "random").
 * - Every fault interval (3.5 CCM intervals) it checks what it received since the last check:
 *   remote MPs that sent nothing are forgotten; no remote MP left is the `recv` fault; a CCM with
 *   the RDI bit, another MAID, our own MPID, or more than 256 remote MPs are the rdi, maid, loopback
 *   and overflow faults. The fault, the remote MPIDs, the remote opstate (extended mode) and, every
 *   6th check, the health (CCMs received out of 21 expected, per cent; undefined with more than one
 *   remote MP) change only at a check, as OVS's do, so they never flap between checks.
 * - Standard mode rounds the interval down to one of 802.1ag's (3, 10, 100, 1000, 10000, 60000,
 *   600000 ms); extended mode keeps any interval up to 65535 ms (interval code 0, the ms in the
 *   extension field).
 *
 * Times are milliseconds of the clock given (monotonic). Nothing here does I/O: the monitor
 * (monitor.ts) sends what `compose` makes and calls `run` when `wakeTime` comes.
 * Not done (see README): demand mode (cfm_demand), check_tnl_key (accepted and ignored); in extended
 * mode the 16-bit MPID field carries the MPID's low bits, where OVS puts a hash of it (OVS reads the
 * 64-bit field in that mode, so nothing depends on it).
 */
import {
  CCM_ACCEPT_LEN,
  CCM_LEN,
  CCM_MAID_LEN,
  CCM_OPCODE,
  CCM_RDI_MASK,
  CCM_TLV_OFFSET,
  CFM_FAULT,
  CFM_FAULT_NAMES,
  CFM_HEALTH_INTERVAL,
  CFM_MAX_MPID,
  CFM_MAX_RMPS,
  ETH_ADDR_CCM,
  ETH_ADDR_CCM_X,
  ETH_TYPE_CFM,
  ETH_TYPE_VLAN,
} from './constants.js';
import { macBytes, macEquals, macText } from './frames.js';

/** What the Interface row configures (cfm_mpid and other_config:cfm_*). */
export interface CfmSettings {
  readonly mpid: number;
  /** The interval asked for, in ms (> 0). */
  readonly intervalMs: number;
  readonly extended: boolean;
  /** other_config:cfm_opstate (extended mode only): false sends CCMs marked operationally down. */
  readonly opUp: boolean;
  /** other_config:cfm_ccm_vlan: a VID (0: untagged), or a random one for each CCM. */
  readonly ccmVlan: number | 'random';
  /** other_config:cfm_ccm_pcp (0..7). */
  readonly ccmPcp: number;
}

/** What the status columns show (bridge.c's iface_refresh_cfm_stats). */
export interface CfmStatus {
  /** A CFM_FAULT bit mask; 0: no fault. */
  readonly faults: number;
  /** The reasons' names, in OVS's order (cfm_fault_status). */
  readonly faultNames: readonly string[];
  /** 1 up, 0 down, -1 not known (not extended mode). */
  readonly remoteOpstate: number;
  readonly flapCount: number;
  /** 0..100, or -1 (undefined). */
  readonly health: number;
  readonly remoteMpids: readonly number[];
}

interface RemoteMp {
  mpid: number;
  recv: boolean;
  opUp: boolean;
  seq: number;
  numHealthCcm: number;
  lastRx: number;
}

const CCM_INTERVALS_MS = [0, 3, 10, 100, 1000, 10000, 60000, 600000] as const;

/** 802.1ag's interval code for the longest standard interval not above `ms`. */
export function msToCcmInterval(ms: number): number {
  for (let i = 7; i > 0; i--) if (CCM_INTERVALS_MS[i]! <= ms) return i;
  return 1;
}

export function isValidMpid(extended: boolean, mpid: number): boolean {
  return Number.isSafeInteger(mpid) && mpid >= 1 && (extended || mpid <= CFM_MAX_MPID);
}

/** The MAID OVS uses: MD name format 4 (string) "ovs", MA name format 2 (string) "ovs", zero padded. */
function ovsMaid(): Uint8Array {
  const maid = new Uint8Array(CCM_MAID_LEN);
  const md = new TextEncoder().encode('ovs');
  const ma = md;
  maid[0] = 4;
  maid[1] = md.length;
  maid.set(md, 2);
  const p = 2 + md.length;
  maid[p] = 2;
  maid[p + 1] = ma.length;
  maid.set(ma, p + 2);
  return maid;
}

const MAID = ovsMaid();
const CCM_DST = macBytes(ETH_ADDR_CCM)!;
const CCM_DST_X = macBytes(ETH_ADDR_CCM_X)!;

/** The fault bits' names, separated by spaces (cfm/show's `fault:` line). */
export function faultText(faults: number): string {
  return CFM_FAULT_NAMES.filter(([bit]) => (faults & bit) !== 0)
    .map(([, name]) => name)
    .join(' ');
}

export class CfmSession {
  readonly name: string;
  private readonly now: () => number;
  private readonly random: () => number;
  private settings: CfmSettings | null = null;
  private ccmInterval = 0;
  /** The interval in force, ms. */
  intervalMs = 0;
  private booted = false;
  private fault = 0;
  private recvFault = 0;
  private remoteOpUp = true;
  /** cfm/set-fault: -1 normal, 0 never faulted, 1 always. */
  faultOverride = -1;
  private seq = 0;
  private txAt = 0;
  private faultAt = 0;
  private readonly remotes = new Map<number, RemoteMp>();
  private rmps: number[] = [];
  private health = -1;
  private healthInterval = 0;
  private flapCount = 0;
  /** Something the status columns show changed since the last takeStatusChange. */
  private changed = true;
  /** Called when the status changes (the monitor writes it back, and tells who watches liveness). */
  onStatusChange: (() => void) | null = null;
  /** Where the MEP's log lines go (OVS's vlog lines for the same events). */
  onLog: ((level: 'info' | 'warn', message: string) => void) | null = null;

  constructor(name: string, now: () => number, random: () => number = Math.random) {
    this.name = name;
    this.now = now;
    this.random = random;
  }

  get mpid(): number {
    return this.settings?.mpid ?? 0;
  }

  get extended(): boolean {
    return this.settings?.extended ?? false;
  }

  get opUp(): boolean {
    return this.settings?.opUp ?? true;
  }

  /** Applies settings; false (and nothing changed) when they are not valid (cfm_configure). */
  configure(s: CfmSettings): boolean {
    if (!isValidMpid(s.extended, s.mpid) || !(s.intervalMs > 0)) return false;
    let interval = msToCcmInterval(s.intervalMs);
    let intervalMs: number = CCM_INTERVALS_MS[interval]!;
    if (s.extended && intervalMs !== s.intervalMs) {
      interval = 0;
      intervalMs = Math.min(s.intervalMs, 0xffff);
    }
    this.settings = { ...s, ccmPcp: s.ccmPcp & 7 };
    if (interval !== this.ccmInterval || intervalMs !== this.intervalMs) {
      this.ccmInterval = interval;
      this.intervalMs = intervalMs;
      const now = this.now();
      this.txAt = now; // send at once
      this.faultAt = now + this.faultInterval();
    }
    return true;
  }

  /** 3.5 intervals (cfm_fault_interval without demand mode). */
  faultInterval(): number {
    return Math.floor((this.intervalMs * 7) / 2);
  }

  /** When `run` or `compose` is due next. */
  wakeTime(): number {
    return Math.min(this.txAt, this.faultAt);
  }

  shouldSend(now = this.now()): boolean {
    return now >= this.txAt;
  }

  /** The next CCM, Ethernet header included, from `srcMac` (cfm_compose_ccm); the next one is due an interval later. */
  compose(srcMac: Uint8Array): Uint8Array {
    const s = this.settings;
    if (!s) throw new Error('CFM is not configured');
    const now = this.now();
    this.txAt = now + this.intervalMs;
    const vid = (s.ccmVlan === 'random' ? Math.floor(this.random() * 0x10000) : s.ccmVlan) & 0xfff;
    const tagged = vid !== 0 || s.ccmPcp !== 0;
    const l2 = tagged ? 18 : 14;
    const f = new Uint8Array(l2 + CCM_LEN);
    f.set(s.extended ? CCM_DST_X : CCM_DST, 0);
    f.set(srcMac.subarray(0, 6), 6);
    const view = new DataView(f.buffer);
    if (tagged) {
      view.setUint16(12, ETH_TYPE_VLAN);
      view.setUint16(14, vid | (s.ccmPcp << 13));
    }
    view.setUint16(l2 - 2, ETH_TYPE_CFM);
    const o = l2;
    f[o] = 0; // MD level 0, version 0
    f[o + 1] = CCM_OPCODE;
    let flags = this.ccmInterval;
    if (this.booted && this.remotes.size === 0) flags |= CCM_RDI_MASK;
    f[o + 2] = flags;
    f[o + 3] = CCM_TLV_OFFSET;
    this.seq = (this.seq + 1) >>> 0;
    view.setUint32(o + 4, this.seq);
    view.setUint16(o + 8, s.extended ? s.mpid & 0xffff : s.mpid);
    f.set(MAID, o + 10);
    view.setUint16(o + 58, this.ccmInterval === 0 ? this.intervalMs : 0);
    view.setBigUint64(o + 60, s.extended ? BigInt(s.mpid) : 0n);
    f[o + 68] = s.extended && !s.opUp ? 1 : 0;
    // zero[5] and the end TLV are zero already
    return f;
  }

  /** Whether a received frame is this MEP's: EtherType 0x8902 to the CCM address of its mode. */
  accepts(frame: Uint8Array, type: number): boolean {
    return type === ETH_TYPE_CFM && macEquals(frame, 0, this.extended ? CCM_DST_X : CCM_DST);
  }

  /** A received CCM (`offset`: where the CFM PDU starts) (cfm_process_heartbeat). */
  receive(frame: Uint8Array, offset: number): void {
    const s = this.settings;
    if (!s) return;
    if (frame.length - offset < CCM_ACCEPT_LEN) {
      this.onLog?.('info', `${this.name}: Received an unparseable 802.1ag CCM heartbeat.`);
      return;
    }
    const opcode = frame[offset + 1]!;
    if (opcode !== CCM_OPCODE) {
      this.onLog?.('info', `${this.name}: Received an unsupported 802.1ag message. (opcode ${opcode})`);
      return;
    }
    const view = new DataView(frame.buffer, frame.byteOffset + offset, frame.length - offset);
    for (let i = 0; i < CCM_MAID_LEN; i++) {
      if (frame[offset + 10 + i] !== MAID[i]) {
        this.recvFault |= CFM_FAULT.MAID;
        this.onLog?.('warn', `${this.name}: Received unexpected remote MAID from MAC ${macText(frame, 6)}`);
        return;
      }
    }
    const flags = frame[offset + 2]!;
    const interval = flags & 7;
    const rdi = (flags & CCM_RDI_MASK) !== 0;
    const mpid = s.extended ? Number(view.getBigUint64(60)) : view.getUint16(8);
    const opDown = s.extended ? frame[offset + 68] !== 0 : false;
    const seq = view.getUint32(4);
    if (interval !== this.ccmInterval) {
      this.onLog?.('warn', `${this.name}: received a CCM with an unexpected interval (${interval}) from RMP ${mpid}`);
    }
    let fault = 0;
    let rmp = this.remotes.get(mpid);
    if (!rmp) {
      if (this.remotes.size < CFM_MAX_RMPS) {
        rmp = { mpid, recv: false, opUp: true, seq: 0, numHealthCcm: 0, lastRx: 0 };
        this.remotes.set(mpid, rmp);
      } else {
        fault |= CFM_FAULT.OVERFLOW;
        this.onLog?.('warn', `${this.name}: dropped CCM with MPID ${mpid} from MAC ${macText(frame, 6)}`);
      }
    }
    if (rdi) fault |= CFM_FAULT.RDI;
    if (rmp) {
      if (rmp.mpid === s.mpid) {
        fault |= CFM_FAULT.LOOPBACK;
        this.onLog?.('warn', `${this.name}: received CCM with local MPID ${rmp.mpid}`);
      }
      if (rmp.seq !== 0 && seq !== ((rmp.seq + 1) >>> 0)) {
        this.onLog?.(
          'warn',
          `${this.name}: (mpid ${mpid}) detected sequence numbers which indicate possible connectivity problems (previous ${rmp.seq}) (current ${seq})`,
        );
      }
      if (fault === 0) rmp.numHealthCcm++;
      rmp.recv = true;
      this.recvFault |= fault;
      rmp.seq = seq;
      rmp.opUp = !opDown;
      rmp.lastRx = this.now();
    }
  }

  /** The periodic work (cfm_run): at the end of each fault interval, the fault check. */
  run(): void {
    const now = this.now();
    if (now < this.faultAt) return;
    const oldFault = this.fault;
    const oldFlaps = this.flapCount;
    const oldHealth = this.health;
    const oldRmps = this.rmps.join();
    const oldRemoteOpUp = this.remoteOpUp;
    this.fault = this.recvFault;
    this.recvFault = 0;
    if (this.healthInterval === CFM_HEALTH_INTERVAL) {
      if (this.remotes.size > 1) this.health = -1;
      else if (this.remotes.size === 0) this.health = 0;
      else {
        const rmp = this.remotes.values().next().value as RemoteMp;
        const expected = Math.floor((CFM_HEALTH_INTERVAL * 7) / 2);
        this.health = Math.min(Math.floor((rmp.numHealthCcm * 100) / expected), 100);
        rmp.numHealthCcm = 0;
      }
      this.healthInterval = 0;
    }
    this.healthInterval++;
    const rmps: number[] = [];
    let setOpUp = false;
    let setOpDown = false;
    for (const [mpid, rmp] of this.remotes) {
      if (!rmp.recv) {
        this.onLog?.('info', `${this.name}: Received no CCM from RMP ${mpid} in the last ${Math.round(now - rmp.lastRx)}ms`);
        this.remotes.delete(mpid);
        continue;
      }
      rmp.recv = false;
      if (rmp.opUp) setOpUp = true;
      else setOpDown = true;
      rmps.push(mpid);
    }
    this.rmps = rmps;
    if (setOpDown) this.remoteOpUp = false;
    else if (setOpUp) this.remoteOpUp = true;
    if (this.remotes.size === 0) this.fault |= CFM_FAULT.RECV;
    if (oldFault !== this.fault) {
      this.onLog?.('info', `${this.name}: CFM faults changed from [${faultText(oldFault)}] to [${faultText(this.fault)}].`);
      if (oldFault === 0 || this.fault === 0) this.flapCount++;
    }
    if (
      oldHealth !== this.health ||
      oldRemoteOpUp !== this.remoteOpUp ||
      oldRmps !== this.rmps.join() ||
      oldFault !== this.fault ||
      oldFlaps !== this.flapCount
    ) {
      this.statusChanged();
    }
    this.booted = true;
    this.faultAt = now + this.faultInterval();
  }

  private statusChanged(): void {
    this.changed = true;
    this.onStatusChange?.();
  }

  /** cfm/set-fault: true, false, or null for normal. */
  setFaultOverride(value: boolean | null): void {
    this.faultOverride = value === null ? -1 : value ? 1 : 0;
    this.statusChanged();
  }

  /** The fault mask in force (an override wins). */
  faults(): number {
    if (this.faultOverride >= 0) return this.faultOverride ? CFM_FAULT.OVERRIDE : 0;
    return this.fault;
  }

  /** 1, 0, or -1 outside extended mode (cfm_get_opup). */
  remoteOpstate(): number {
    return this.extended ? (this.remoteOpUp ? 1 : 0) : -1;
  }

  status(): CfmStatus {
    const faults = this.faults();
    return {
      faults,
      faultNames: CFM_FAULT_NAMES.filter(([bit]) => (faults & bit) !== 0).map(([, n]) => n),
      remoteOpstate: this.remoteOpstate(),
      flapCount: this.flapCount,
      health: this.health,
      remoteMpids: [...this.rmps],
    };
  }

  /** Whether the status changed since the last call (cfm_check_status_change). */
  takeStatusChange(): boolean {
    const c = this.changed;
    this.changed = false;
    return c;
  }

  /** cfm/show's block for this MEP (cfm_print_details). */
  show(): string {
    const now = this.now();
    const until = (t: number): number => Math.max(0, Math.ceil(t - now));
    const lines = [`---- ${this.name} ----`, `MPID ${this.mpid}:${this.extended ? ' extended' : ''}${this.faultOverride >= 0 ? ' fault_override' : ''}`];
    const faults = this.faults();
    if (faults !== 0) lines.push(`  fault: ${faultText(faults)}`);
    lines.push(this.health === -1 ? '  average health: undefined' : `  average health: ${this.health}`);
    lines.push(`  opstate: ${this.opUp ? 'up' : 'down'}`);
    lines.push(`  remote_opstate: ${this.remoteOpUp ? 'up' : 'down'}`);
    lines.push(`  interval: ${this.intervalMs}ms`);
    lines.push(`  next CCM tx: ${until(this.txAt)}ms`);
    lines.push(`  next fault check: ${until(this.faultAt)}ms`);
    for (const rmp of this.remotes.values()) {
      lines.push(`Remote MPID ${rmp.mpid}`, `  recv since check: ${rmp.recv}`, `  opstate: ${rmp.opUp ? 'up' : 'down'}`);
    }
    return lines.join('\n') + '\n';
  }
}
