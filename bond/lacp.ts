/**
 * LACP (IEEE 802.1AX Link Aggregation Control Protocol) for one bond, as Open vSwitch 3.1's
 * lib/lacp.c runs it: the same PDUs, timers, member states and the same `lacp/show` and
 * `lacp/show-stats` texts. No I/O: the bond (bond.ts) calls `run` periodically with a function
 * that sends a PDU out of a member, hands received PDUs to `processPdu`, and tells carrier
 * changes to `carrierChanged`.
 *
 * Per member: its partner's information as last received (`partner`), its status (current: a PDU
 * came within 3 transmission intervals; expired: one interval of grace, partner assumed to want
 * fast PDUs; defaulted: no partner), whether it is attached to the aggregator (its partner is the
 * same system and key as the best member's, and it is not looped back to this system), and
 * whether it may carry traffic (attached and the partner says synchronized). The bond is
 * negotiated while some member is attached. PDUs are sent every 1 s (the partner asked for fast
 * timing) or 30 s, and at once whenever what this side says changes (info_tx_equal); a passive
 * side sends only once it has heard a partner.
 */
import { LACP_FAST_TIME_TX, LACP_PDU_LEN, LACP_RX_MULTIPLIER, LACP_SLOW_TIME_TX, LACP_STATE, LACP_SUBTYPE } from '../protocol/constants.js';

/** One side's information in a PDU (struct lacp_info). */
export interface LacpInfo {
  sysPriority: number;
  /** System id, a MAC as 12 hex digits' number. */
  sysId: number;
  key: number;
  portPriority: number;
  portId: number;
  state: number;
}

export type LacpMemberStatus = 'current' | 'expired' | 'defaulted';
/** lacp_status: off (no LACP), configured (not negotiated), negotiated. */
export type LacpStatus = 'off' | 'configured' | 'negotiated';

export interface LacpSettings {
  /** The Port's name: what `lacp/show` calls the LACP object. */
  readonly name: string;
  /** System id (a MAC as a number); never 0. */
  readonly sysId: number;
  readonly sysPriority: number;
  readonly active: boolean;
  readonly fast: boolean;
  readonly fallbackAb: boolean;
}

export interface LacpMemberSettings {
  readonly name: string;
  readonly portId: number;
  readonly portPriority: number;
  /** Aggregation key; 0: the key member's port id. */
  readonly key: number;
}

const emptyInfo = (): LacpInfo => ({ sysPriority: 0, sysId: 0, key: 0, portPriority: 0, portId: 0, state: 0 });

class LacpMember {
  portId = 0;
  portPriority = 0;
  key = 0;
  status: LacpMemberStatus = 'defaulted';
  attached = false;
  carrierUp = false;
  partner: LacpInfo = emptyInfo();
  nttActor: LacpInfo = emptyInfo();
  /** Deadlines (ms); 0 has expired from the start, as OVS's zeroed timers. */
  txAt = 0;
  rxAt = 0;
  rxPdus = 0;
  rxBad = 0;
  rxMarker = 0;
  txPdus = 0;
  linkExpired = 0;
  linkDefaulted = 0;
  carrierChanges = 0;
  readonly name: string;
  constructor(name: string) {
    this.name = name;
  }
}

/** A MAC number as aa:bb:cc:dd:ee:ff. */
export function macText(mac: number): string {
  return mac.toString(16).padStart(12, '0').replace(/(..)(?!$)/g, '$1:');
}

/** A MAC text as a number (null when it is not one). */
export function macNumber(text: string): number | null {
  if (!/^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$/.test(text)) return null;
  return text.split(':').reduce((n, b) => n * 256 + parseInt(b, 16), 0);
}

function infoTxEqual(a: LacpInfo, b: LacpInfo): boolean {
  const bits = LACP_STATE.ACT | LACP_STATE.TIME | LACP_STATE.SYNC | LACP_STATE.AGG;
  return (
    ((a.state ^ b.state) & bits) === 0 &&
    a.portId === b.portId &&
    a.portPriority === b.portPriority &&
    a.key === b.key &&
    a.sysPriority === b.sysPriority &&
    a.sysId === b.sysId
  );
}

function sameInfo(a: LacpInfo, b: LacpInfo): boolean {
  return infoTxEqual(a, b) && a.state === b.state;
}

/** The 15 bytes of a lacp_info, as compared with memcmp (priority order). */
function infoBytes(i: LacpInfo): number[] {
  const out = [i.sysPriority >> 8, i.sysPriority & 0xff];
  for (let s = 40; s >= 0; s -= 8) out.push(Math.floor(i.sysId / 2 ** s) & 0xff);
  out.push(i.key >> 8, i.key & 0xff, i.portPriority >> 8, i.portPriority & 0xff, i.portId >> 8, i.portId & 0xff, i.state);
  return out;
}

function compareInfo(a: LacpInfo, b: LacpInfo): number {
  const x = infoBytes(a);
  const y = infoBytes(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
  return 0;
}

function writeInfo(out: Uint8Array, o: number, i: LacpInfo): void {
  infoBytes(i).forEach((b, k) => (out[o + k] = b));
}

function readInfo(p: Uint8Array, o: number): LacpInfo {
  let sysId = 0;
  for (let k = 0; k < 6; k++) sysId = sysId * 256 + (p[o + 2 + k] as number);
  const u16 = (x: number): number => ((p[x] as number) << 8) | (p[x + 1] as number);
  return { sysPriority: u16(o), sysId, key: u16(o + 8), portPriority: u16(o + 10), portId: u16(o + 12), state: p[o + 14] as number };
}

/** compose_lacp_pdu: the 110 bytes after the Ethernet header. */
export function composeLacpPdu(actor: LacpInfo, partner: LacpInfo): Uint8Array {
  const pdu = new Uint8Array(LACP_PDU_LEN);
  pdu[0] = LACP_SUBTYPE.LACP;
  pdu[1] = 1;
  pdu[2] = 1;
  pdu[3] = 20;
  writeInfo(pdu, 4, actor);
  pdu[22] = 2;
  pdu[23] = 20;
  writeInfo(pdu, 24, partner);
  pdu[42] = 3;
  pdu[43] = 16;
  return pdu; // collector delay 0, the rest zero
}

/** parse_lacp_packet: the actor and partner of a LACP PDU, 'marker', or null (not one OVS takes). */
export function parseLacpPdu(pdu: Uint8Array): { actor: LacpInfo; partner: LacpInfo } | 'marker' | null {
  if (pdu.length >= LACP_PDU_LEN && pdu[0] === LACP_SUBTYPE.LACP && pdu[2] === 1 && pdu[3] === 20 && pdu[22] === 2 && pdu[23] === 20) {
    return { actor: readInfo(pdu, 4), partner: readInfo(pdu, 24) };
  }
  if (pdu.length >= LACP_PDU_LEN && pdu[0] === LACP_SUBTYPE.MARKER) return 'marker';
  return null;
}

/** Sends one PDU (the 110 bytes) out of a member. */
export type SendPdu = (member: string, pdu: Uint8Array) => void;

export class Lacp {
  name: string;
  sysId: number;
  sysPriority: number;
  active: boolean;
  fast: boolean;
  fallbackAb: boolean;
  negotiated = false;
  private update = false;
  private readonly members = new Map<string, LacpMember>();
  private keyMember: LacpMember | null = null;
  /** Told whenever a member's status, attachment or the negotiation may have changed (status columns). */
  onChange: (() => void) | null = null;

  constructor(s: LacpSettings) {
    this.name = s.name;
    this.sysId = s.sysId;
    this.sysPriority = s.sysPriority;
    this.active = s.active;
    this.fast = s.fast;
    this.fallbackAb = s.fallbackAb;
  }

  /** lacp_configure. */
  configure(s: LacpSettings): void {
    this.name = s.name;
    if (this.sysId !== s.sysId || this.sysPriority !== s.sysPriority) {
      this.sysId = s.sysId;
      this.sysPriority = s.sysPriority;
      this.update = true;
    }
    this.active = s.active;
    this.fast = s.fast;
    if (this.fallbackAb !== s.fallbackAb) {
      this.fallbackAb = s.fallbackAb;
      this.update = true;
    }
  }

  /** lacp_member_register: adds a member (defaulted) or changes its settings. */
  registerMember(s: LacpMemberSettings, now: number): void {
    let m = this.members.get(s.name);
    if (!m) {
      m = new LacpMember(s.name);
      this.members.set(s.name, m);
      this.setDefaulted(m);
      this.keyMember ??= m;
    }
    if (m.portId !== s.portId || m.portPriority !== s.portPriority || m.key !== s.key) {
      m.portId = s.portId;
      m.portPriority = s.portPriority;
      m.key = s.key;
      this.update = true;
      if (this.active || this.negotiated) this.setExpired(m, now);
    }
  }

  /** lacp_member_unregister. */
  unregisterMember(name: string): void {
    const m = this.members.get(name);
    if (!m) return;
    this.members.delete(name);
    if (this.keyMember === m) this.keyMember = this.members.values().next().value ?? null;
    this.update = true;
  }

  memberNames(): string[] {
    return [...this.members.keys()];
  }

  /** lacp_member_carrier_changed. */
  carrierChanged(name: string, up: boolean, now: number): void {
    const m = this.members.get(name);
    if (!m) return;
    if (m.status === 'current' || this.active) this.setExpired(m, now);
    if (m.carrierUp !== up) {
      m.carrierUp = up;
      m.carrierChanges++;
    }
  }

  /**
   * lacp_process_packet: a slow-protocols frame's payload received on a member. True when the
   * member may be enabled now (so the bond admits its traffic at once).
   */
  processPdu(name: string, payload: Uint8Array, now: number): boolean {
    const m = this.members.get(name);
    if (!m) return false;
    m.rxPdus++;
    const parsed = parseLacpPdu(payload);
    if (parsed === 'marker') {
      m.rxMarker++;
      return false;
    }
    if (parsed === null) {
      m.rxBad++;
      return false;
    }
    if (!m.carrierUp) return false;
    const before = m.status;
    m.status = 'current';
    m.rxAt = now + LACP_RX_MULTIPLIER * (this.fast ? LACP_FAST_TIME_TX : LACP_SLOW_TIME_TX);
    m.nttActor = parsed.partner;
    if (!sameInfo(m.partner, parsed.actor)) {
      this.update = true;
      m.partner = parsed.actor;
    }
    if (before !== 'current') this.onChange?.();
    return this.mayEnableMember(m);
  }

  /** lacp_status. */
  status(): LacpStatus {
    return this.negotiated ? 'negotiated' : 'configured';
  }

  /** lacp_member_may_enable: called while the member's carrier is up. */
  mayEnable(name: string): boolean {
    const m = this.members.get(name);
    if (!m) return false;
    if (!m.carrierUp) m.carrierUp = true;
    return this.mayEnableMember(m);
  }

  /** lacp_member_is_current: the partner's information is not defaulted (Interface lacp_current). */
  isCurrent(name: string): boolean | null {
    const m = this.members.get(name);
    return m ? m.status !== 'defaulted' : null;
  }

  private mayEnableMember(m: LacpMember): boolean {
    return m.attached && ((m.partner.state & LACP_STATE.SYNC) !== 0 || (this.fallbackAb && m.status === 'defaulted'));
  }

  /** lacp_run: expiries, attachment, and the PDUs due. */
  run(now: number, send: SendPdu): void {
    let changed = false;
    for (const m of this.members.values()) {
      if (now < m.rxAt) continue;
      if (m.status === 'current') {
        this.setExpired(m, now);
        m.linkExpired++;
        changed = true;
      } else if (m.status === 'expired') {
        this.setDefaulted(m);
        m.linkDefaulted++;
        changed = true;
      }
    }
    if (this.update) {
      this.updateAttached();
      changed = true;
    }
    for (const m of this.members.values()) {
      if (!this.mayTx(m)) continue;
      const actor = this.actorOf(m);
      if (now >= m.txAt || !infoTxEqual(actor, m.nttActor)) {
        m.nttActor = actor;
        send(m.name, composeLacpPdu(actor, m.partner));
        m.txPdus++;
        m.txAt = now + ((m.partner.state & LACP_STATE.TIME) !== 0 ? LACP_FAST_TIME_TX : LACP_SLOW_TIME_TX);
      }
    }
    if (changed) this.onChange?.();
  }

  private mayTx(m: LacpMember): boolean {
    return m.carrierUp && (this.active || m.status !== 'defaulted');
  }

  private setDefaulted(m: LacpMember): void {
    m.partner = emptyInfo();
    this.update = true;
    m.status = 'defaulted';
  }

  private setExpired(m: LacpMember, now: number): void {
    m.status = 'expired';
    m.partner = { ...m.partner, state: (m.partner.state | LACP_STATE.TIME) & ~LACP_STATE.SYNC };
    m.rxAt = now + LACP_RX_MULTIPLIER * LACP_FAST_TIME_TX;
  }

  /** member_get_actor: what this side says about a member. */
  private actorOf(m: LacpMember): LacpInfo {
    let state = 0;
    if (this.active) state |= LACP_STATE.ACT;
    if (this.fast) state |= LACP_STATE.TIME;
    if (m.attached) state |= LACP_STATE.SYNC;
    if (m.status === 'defaulted') state |= LACP_STATE.DEF;
    if (m.status === 'expired') state |= LACP_STATE.EXP;
    if (this.members.size > 1) state |= LACP_STATE.AGG;
    if (m.attached || !this.negotiated) state |= LACP_STATE.COL | LACP_STATE.DIST;
    const km = this.keyMember;
    const key = km ? km.key || km.portId : 0;
    return { state, key, portPriority: m.portPriority, portId: m.portId, sysPriority: this.sysPriority, sysId: this.sysId };
  }

  /** member_get_priority: the higher-priority system's information, without key and state. */
  private priorityOf(m: LacpMember): LacpInfo {
    const actorPri = this.sysPriority;
    const partnerPri = m.partner.sysPriority;
    let p: LacpInfo;
    if (actorPri < partnerPri) p = this.actorOf(m);
    else if (partnerPri < actorPri) p = { ...m.partner };
    else if (this.sysId < m.partner.sysId) p = this.actorOf(m);
    else p = { ...m.partner };
    p.key = 0;
    p.state = 0;
    return p;
  }

  /** lacp_update_attached. */
  private updateAttached(): void {
    this.update = false;
    let lead: LacpMember | null = null;
    let leadCurrent: LacpMember | null = null;
    let leadPri: LacpInfo | null = null;
    let leadEnable = false;
    for (const m of this.members.values()) {
      if (m.status === 'current' && m.attached) {
        const pri = this.priorityOf(m);
        if (!leadCurrent || compareInfo(pri, leadPri!) < 0) {
          leadCurrent = m;
          lead = m;
          leadPri = pri;
          leadEnable = true;
        }
      }
    }
    for (const m of this.members.values()) {
      m.attached = false;
      if (m.partner.sysId === this.sysId) continue; // looped back to this very bond
      if (m.status === 'defaulted') {
        if (this.fallbackAb) m.attached = true;
        continue;
      }
      const pri = this.priorityOf(m);
      const enable = this.mayEnableMember(m);
      if (!leadCurrent || m.partner.sysId === leadCurrent.partner.sysId) m.attached = true;
      if (m.attached && (!lead || (enable && !leadEnable) || (enable === leadEnable && compareInfo(pri, leadPri!) < 0))) {
        lead = m;
        leadEnable = enable;
        leadPri = pri;
      }
    }
    this.negotiated = lead !== null;
    if (lead) {
      for (const m of this.members.values()) {
        if ((this.fallbackAb && m.status === 'defaulted') || lead.partner.key !== m.partner.key || lead.partner.sysId !== m.partner.sysId) m.attached = false;
      }
    }
  }

  /** lacp/show's text for this object (lacp_print_details). */
  show(): string {
    const lines: string[] = [];
    lines.push(`---- ${this.name} ----`);
    lines.push(`  status: ${this.active ? 'active' : 'passive'}${this.negotiated ? ' negotiated' : ''}`);
    lines.push(`  sys_id: ${macText(this.sysId)}`);
    lines.push(`  sys_priority: ${this.sysPriority}`);
    const km = this.keyMember;
    lines.push(`  aggregation key: ${km ? km.key || km.portId : 'none'}`);
    lines.push(`  lacp_time: ${this.fast ? 'fast' : 'slow'}`);
    for (const m of [...this.members.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const actor = this.actorOf(m);
      lines.push('');
      lines.push(`member: ${m.name}: ${m.status} ${m.attached ? 'attached' : 'detached'}`);
      lines.push(`  port_id: ${m.portId}`);
      lines.push(`  port_priority: ${m.portPriority}`);
      lines.push(`  may_enable: ${this.mayEnableMember(m)}`);
      lines.push('');
      lines.push(`  actor sys_id: ${macText(actor.sysId)}`);
      lines.push(`  actor sys_priority: ${actor.sysPriority}`);
      lines.push(`  actor port_id: ${actor.portId}`);
      lines.push(`  actor port_priority: ${actor.portPriority}`);
      lines.push(`  actor key: ${actor.key}`);
      lines.push(`  actor state:${stateText(actor.state)}`);
      lines.push('');
      lines.push(`  partner sys_id: ${macText(m.partner.sysId)}`);
      lines.push(`  partner sys_priority: ${m.partner.sysPriority}`);
      lines.push(`  partner port_id: ${m.partner.portId}`);
      lines.push(`  partner port_priority: ${m.partner.portPriority}`);
      lines.push(`  partner key: ${m.partner.key}`);
      lines.push(`  partner state:${stateText(m.partner.state)}`);
    }
    return lines.join('\n') + '\n';
  }

  /** lacp/show-stats's text for this object (lacp_print_stats). */
  showStats(): string {
    const lines = [`---- ${this.name} statistics ----`];
    for (const m of [...this.members.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      lines.push('', `member: ${m.name}:`);
      lines.push(`  TX PDUs: ${m.txPdus}`);
      lines.push(`  RX PDUs: ${m.rxPdus}`);
      lines.push(`  RX Bad PDUs: ${m.rxBad}`);
      lines.push(`  RX Marker Request PDUs: ${m.rxMarker}`);
      lines.push(`  Link Expired: ${m.linkExpired}`);
      lines.push(`  Link Defaulted: ${m.linkDefaulted}`);
      lines.push(`  Carrier Status Changed: ${m.carrierChanges}`);
    }
    return lines.join('\n') + '\n';
  }
}

/** ds_put_lacp_state: the state bits' names, each after a space. */
export function stateText(state: number): string {
  const names: [number, string][] = [
    [LACP_STATE.ACT, 'activity'],
    [LACP_STATE.TIME, 'timeout'],
    [LACP_STATE.AGG, 'aggregation'],
    [LACP_STATE.SYNC, 'synchronized'],
    [LACP_STATE.COL, 'collecting'],
    [LACP_STATE.DIST, 'distributing'],
    [LACP_STATE.DEF, 'defaulted'],
    [LACP_STATE.EXP, 'expired'],
  ];
  return names.filter(([bit]) => (state & bit) !== 0).map(([, n]) => ` ${n}`).join('');
}
