/**
 * One bond: a Port of two or more Interfaces that NORMAL treats as one link, as Open vSwitch 3.1's
 * ofproto/bond.c runs it (its modes, member states, delays, hash buckets, rebalancing, the
 * admissibility of received frames, and the `bond/show` text). No I/O: the datapath's bond set
 * (datapath/bond-set.ts) runs it, asks it where frames go, and sends what it composes.
 *
 * Members: a member is enabled when its carrier is up and it may be enabled (LACP says so when
 * LACP runs, and the liveness source, CFM or BFD, when one is set: `setLiveness`), after
 * `updelay`/`downdelay` ms of the new state. Modes:
 *   active-backup  every frame out of the active member; frames received on the others dropped.
 *   balance-slb    256 buckets by source MAC and VLAN (hash.ts's hashMac, OVS's hash_mac), each
 *                  on an enabled member; every `rebalanceInterval` ms buckets move from the most to
 *                  the least loaded member (bond_rebalance: bytes sent, halved every run);
 *                  multicast received on a non-active member dropped, unicast dropped when its
 *                  source was learned on another port (the frame came back).
 *   balance-tcp    buckets by the 5-tuple (hashFiveTuple); needs LACP negotiated, else nothing
 *                  is sent or received (OVS's rule), unless lacp-fallback-ab makes it active-backup.
 * With LACP configured but not negotiated nothing passes (unless lacp-fallback-ab); negotiated,
 * frames on members that may not be enabled are dropped.
 *
 * The active member is kept as the MAC of its interface (Port `bond_active_slave`, which the daemon
 * writes back and gives back after a restart); `onChange` is told whenever something that
 * status columns show changes.
 */
import { BOND_BUCKETS } from '../protocol/constants.js';
import { Lacp, macText, type LacpStatus } from './lacp.js';

export const BOND_MODES = ['active-backup', 'balance-slb', 'balance-tcp'] as const;
export type BondMode = (typeof BOND_MODES)[number];

/** The verdict on a received frame (enum bond_verdict). */
export type BondVerdict = 'accept' | 'drop' | 'drop-if-moved';

export interface BondSettings {
  readonly name: string;
  readonly mode: BondMode;
  /** ms (bond_updelay, bond_downdelay). */
  readonly updelay: number;
  readonly downdelay: number;
  /** other_config:bond-hash-basis. */
  readonly basis: number;
  /** other_config:bond-rebalance-interval, ms (0: never). */
  readonly rebalanceInterval: number;
  /** other_config:lacp-fallback-ab. */
  readonly lacpFallbackAb: boolean;
  /** other_config:bond-primary (active-backup). */
  readonly primary: string | null;
  /** The active member's MAC remembered from before (Port bond_active_slave), or 0. */
  readonly activeMemberMac: number;
}

export class BondMember {
  enabled = false;
  mayEnable = false;
  isPrimary = false;
  /** When the pending change of `enabled` happens (ms); Infinity: none pending. */
  delayExpires = Infinity;
  /** Bytes sent through its buckets (rebalancing). */
  txBytes = 0;
  readonly name: string;
  /** OpenFlow port number. */
  readonly portNo: number;
  constructor(name: string, portNo: number) {
    this.name = name;
    this.portNo = portNo;
  }
}

interface Bucket {
  member: BondMember | null;
  txBytes: number;
}

export class Bond {
  name: string;
  mode: BondMode;
  updelay: number;
  downdelay: number;
  basis: number;
  rebalanceInterval: number;
  fallbackAb: boolean;
  primary: string | null;
  lacpStatus: LacpStatus = 'off';
  /** LACP, when the Port has it on. */
  lacp: Lacp | null = null;
  readonly members = new Map<string, BondMember>();
  /** Enabled members in round-robin order (get_enabled_member). */
  private enabledList: BondMember[] = [];
  active: BondMember | null = null;
  activeMac: number;
  /** The active member changed and Port bond_active_slave is not yet written. */
  activeChanged = false;
  /** OVS's bond may send RARPs for learned MACs when the active member changed (may_send_learning_packets). */
  sendLearningPackets = false;
  hash: Bucket[] | null = null;
  nextRebalance = 0;
  /** A number for `bond/show`'s and `bond/list`'s recirculation id (ofswitch has no recirculation). */
  readonly recircId: number;
  /** The MAC of a member's interface (bond_find_member_by_mac). */
  macOf: (member: string) => number = () => 0;
  onChange: (() => void) | null = null;
  /** Where OVS's info lines go ("member M: enabled", "bond B: active member is now M"). */
  log: ((text: string) => void) | null = null;

  constructor(s: BondSettings, recircId: number, now: number) {
    this.name = s.name;
    this.mode = s.mode;
    this.updelay = s.updelay;
    this.downdelay = s.downdelay;
    this.basis = s.basis;
    this.rebalanceInterval = s.rebalanceInterval;
    this.fallbackAb = s.lacpFallbackAb;
    this.primary = s.primary;
    this.activeMac = s.activeMemberMac;
    this.recircId = recircId;
    this.resetBuckets(now);
  }

  /** bond_reconfigure. */
  reconfigure(s: BondSettings, now: number): void {
    const reset = this.mode !== s.mode || this.basis !== s.basis || this.rebalanceInterval !== s.rebalanceInterval || this.fallbackAb !== s.lacpFallbackAb;
    this.name = s.name;
    this.mode = s.mode;
    this.updelay = s.updelay;
    this.downdelay = s.downdelay;
    this.basis = s.basis;
    this.rebalanceInterval = s.rebalanceInterval;
    this.fallbackAb = s.lacpFallbackAb;
    this.primary = s.primary;
    for (const m of this.members.values()) m.isPrimary = m.name === this.primary;
    if (reset || this.mode === 'active-backup' || !this.hash) this.resetBuckets(now);
  }

  /** bond_member_register: a new member starts enabled when its carrier is. */
  addMember(name: string, portNo: number, carrier: boolean): BondMember {
    let m = this.members.get(name);
    if (!m) {
      m = new BondMember(name, portNo);
      this.members.set(name, m);
      this.enable(m, carrier);
    }
    m.isPrimary = m.name === this.primary;
    return m;
  }

  /** bond_member_unregister. */
  removeMember(name: string): void {
    const m = this.members.get(name);
    if (!m) return;
    this.enable(m, false);
    if (this.hash) for (const b of this.hash) if (b.member === m) b.member = null;
    this.members.delete(name);
    if (this.active === m) {
      this.chooseActive(0);
      this.sendLearningPackets = true;
    }
  }

  private fallingBackToAb(): boolean {
    return this.fallbackAb && this.mode !== 'active-backup' && this.lacpStatus === 'configured';
  }

  /** bond_is_balanced: rebalancing runs. */
  isBalanced(): boolean {
    return this.rebalanceInterval > 0 && this.mode !== 'active-backup' && !(this.fallbackAb && this.lacpStatus === 'configured');
  }

  /** bond_may_recirc: what `bond/show` says of recirculation (balance-tcp, not falling back). */
  mayRecirc(): boolean {
    return this.mode === 'balance-tcp' && !this.fallingBackToAb();
  }

  private resetBuckets(now: number): void {
    if (this.mode !== 'active-backup' && !this.fallingBackToAb()) {
      this.hash = Array.from({ length: BOND_BUCKETS }, () => ({ member: null, txBytes: 0 }));
      this.nextRebalance = now + this.rebalanceInterval;
    } else {
      this.hash = null;
    }
  }

  private enable(m: BondMember, enable: boolean): void {
    m.delayExpires = Infinity;
    if (enable === m.enabled) return;
    m.enabled = enable;
    this.log?.(`member ${m.name}: ${enable ? 'enabled' : 'disabled'}`);
    if (enable) this.enabledList.push(m);
    else {
      this.sendLearningPackets = true;
      this.enabledList = this.enabledList.filter((x) => x !== m);
    }
    this.onChange?.();
  }

  /**
   * bond_run: `up(member)` is the member's carrier and may_enable (LACP, liveness) as the caller
   * reads them now. Starts or finishes the delays, and chooses the active member again when it
   * is needed.
   */
  run(now: number, lacpStatus: LacpStatus, up: (m: BondMember) => boolean): void {
    if (this.lacpStatus !== lacpStatus) {
      this.lacpStatus = lacpStatus;
      if (this.fallingBackToAb() || !this.hash) this.resetBuckets(now);
      this.onChange?.();
    }
    let primary: BondMember | null = null;
    for (const m of this.members.values()) {
      this.linkStatusUpdate(m, up(m), now);
      if (this.mode === 'active-backup' && m.isPrimary && m.enabled) primary = m;
    }
    if (!this.active || !this.active.enabled || (primary && this.active !== primary)) this.chooseActive(now);
    if (this.mayRecirc() && this.hash) {
      // bond_update_post_recirc_rules__: every bucket on an enabled member.
      for (const b of this.hash) if (!b.member || !b.member.enabled) b.member = this.nextEnabled();
    }
  }

  /** bond_link_status_update. */
  private linkStatusUpdate(m: BondMember, up: boolean, now: number): void {
    if ((up === m.enabled) !== (m.delayExpires === Infinity)) {
      if (up === m.enabled) m.delayExpires = Infinity;
      else m.delayExpires = now + (up ? this.updelay : this.downdelay);
    }
    if (now >= m.delayExpires) this.enable(m, up);
  }

  /** bond_choose_member. */
  private chooseMember(): BondMember | null {
    for (const m of this.members.values()) if (m.isPrimary && m.enabled) return m;
    const last = [...this.members.values()].find((m) => this.activeMac !== 0 && this.macOf(m.name) === this.activeMac);
    if (last && last.enabled) return last;
    for (const m of this.members.values()) if (m.enabled) return m;
    let best: BondMember | null = null;
    for (const m of this.members.values()) {
      if (m.delayExpires !== Infinity && m.mayEnable && (!best || m.delayExpires < best.delayExpires)) best = m;
    }
    return best;
  }

  /** bond_choose_active_member. */
  chooseActive(now: number): void {
    const old = this.active;
    this.active = this.chooseMember();
    if (this.active) {
      if (this.active !== old) this.log?.(`bond ${this.name}: active member is now ${this.active.name}`);
      if (!this.active.enabled) this.enable(this.active, true); // skipping the rest of its updelay: none is enabled
      this.sendLearningPackets = true;
      if (this.active !== old) this.activeMemberChanged();
    } else if (old) {
      this.log?.(`bond ${this.name}: all members disabled`);
      this.activeMemberChanged();
    }
    void now;
  }

  private activeMemberChanged(): void {
    this.activeMac = this.active ? this.macOf(this.active.name) : 0;
    this.activeChanged = true;
    this.onChange?.();
  }

  /** get_enabled_member: the enabled members in turn. */
  private nextEnabled(): BondMember | null {
    const m = this.enabledList.shift();
    if (!m) return null;
    this.enabledList.push(m);
    return m;
  }

  /** bond_check_admissibility: what becomes of a frame received on `member`. */
  admissibility(member: BondMember, dstMulticast: boolean): BondVerdict {
    switch (this.lacpStatus) {
      case 'negotiated':
        return member.enabled || member.mayEnable ? 'accept' : 'drop';
      case 'configured':
        if (!this.fallbackAb) return 'drop';
        break;
      case 'off':
        if (this.mode === 'balance-tcp') return 'drop';
        break;
    }
    if (dstMulticast && this.active !== member) return 'drop';
    switch (this.mode) {
      case 'balance-tcp': // falling back to active-backup (lacp-fallback-ab), else nothing passes
        return this.fallbackAb && this.active === member ? 'accept' : 'drop';
      case 'active-backup':
        return this.active === member ? 'accept' : 'drop';
      case 'balance-slb':
        return 'drop-if-moved';
    }
  }

  /**
   * choose_output_member: the member a frame goes out of, or null (dropped). `slbHash` and
   * `tcpHash` are computed only when the mode needs them; `bytes` are accounted to its bucket for
   * rebalancing (bond_account).
   */
  chooseOutput(slbHash: () => number, tcpHash: () => number, bytes: number): BondMember | null {
    let mode: BondMode = this.mode;
    if (this.lacpStatus === 'configured') {
      if (!this.fallbackAb) return null;
      mode = 'active-backup';
    }
    if (mode === 'active-backup') return this.active;
    if (mode === 'balance-tcp' && this.lacpStatus !== 'negotiated') return null;
    const hash = this.hash;
    if (!hash) return this.active;
    const b = hash[(mode === 'balance-tcp' ? tcpHash() : slbHash()) & (BOND_BUCKETS - 1)] as Bucket;
    if (!b.member || !b.member.enabled) b.member = this.nextEnabled();
    if (this.isBalanced()) b.txBytes += bytes;
    return b.member;
  }

  /** bond_rebalance: moves buckets from the most to the least loaded enabled members. */
  rebalance(now: number, log?: (text: string) => void): void {
    const hash = this.hash;
    if (!hash || !this.isBalanced() || now < this.nextRebalance) return;
    this.nextRebalance = now + this.rebalanceInterval;
    const entries = new Map<BondMember, Bucket[]>();
    for (const m of this.members.values()) {
      m.txBytes = 0;
      entries.set(m, []);
    }
    const sorted = [...hash].sort((a, b) => b.txBytes - a.txBytes);
    for (const e of sorted) {
      if (e.member && e.txBytes > 0) {
        e.member.txBytes += e.txBytes;
        entries.get(e.member)?.push(e);
      }
    }
    const bals = [...this.members.values()].filter((m) => m.enabled).sort((a, b) => b.txBytes - a.txBytes);
    const resort = (): void => void bals.sort((a, b) => b.txBytes - a.txBytes);
    while (bals.length > 1) {
      const from = bals[0] as BondMember;
      const to = bals[bals.length - 1] as BondMember;
      const overload = from.txBytes - to.txBytes;
      if (overload < to.txBytes / 32 || overload < 100_000) break;
      const list = entries.get(from) ?? [];
      const migrate = chooseEntriesToMigrate(from.txBytes, list, to.txBytes);
      if (migrate.length === 0) {
        bals.shift();
        continue;
      }
      for (const e of migrate) {
        log?.(
          `bond ${this.name}: shift ${Math.floor(e.txBytes / 1024)}kB of load (with hash ${hash.indexOf(e)}) from ${from.name} to ${to.name} ` +
            `(now carrying ${Math.floor((from.txBytes - e.txBytes) / 1024)}kB and ${Math.floor((to.txBytes + e.txBytes) / 1024)}kB load, respectively)`,
        );
        from.txBytes -= e.txBytes;
        to.txBytes += e.txBytes;
        e.member = to;
        list.splice(list.indexOf(e), 1);
        resort();
      }
    }
    for (const e of hash) e.txBytes = Math.floor(e.txBytes / 2);
  }

  /** bond/migrate: one bucket to a member. */
  migrate(bucket: number, member: BondMember): void {
    const b = this.hash?.[bucket & (BOND_BUCKETS - 1)];
    if (b) b.member = member;
  }

  /** bond/set-active-member: true when it changed. */
  setActive(member: BondMember): boolean {
    if (this.active === member) return false;
    this.active = member;
    this.sendLearningPackets = true;
    this.activeMemberChanged();
    return true;
  }

  /** bond/enable-member, bond/disable-member. */
  forceEnable(member: BondMember, enable: boolean): void {
    this.enable(member, enable);
  }

  /** bond_print_details: `bond/show`'s text. */
  show(now: number): string {
    const out: string[] = [];
    out.push(`---- ${this.name} ----`);
    out.push(`bond_mode: ${this.mode}`);
    const recirc = this.mayRecirc();
    out.push(`bond may use recirculation: ${recirc ? 'yes' : 'no'}, Recirc-ID : ${recirc ? this.recircId : -1}`);
    out.push(`bond-hash-basis: ${this.basis}`);
    out.push('lb_output action: disabled, bond-id: -1');
    if (this.mode === 'balance-slb') out.push('all members active: false');
    out.push(`updelay: ${this.updelay} ms`);
    out.push(`downdelay: ${this.downdelay} ms`);
    if (this.isBalanced()) out.push(`next rebalance: ${this.nextRebalance - now} ms`);
    out.push(`lacp_status: ${this.lacpStatus}`);
    out.push(`lacp_fallback_ab: ${this.fallbackAb}`);
    const found = [...this.members.values()].some((m) => m.isPrimary);
    out.push(`active-backup primary: ${this.primary ?? '<none>'}${!found && this.primary !== null ? ' (no such member)' : ''}`);
    const byMac = [...this.members.values()].find((m) => this.macOf(m.name) === this.activeMac);
    out.push(`active member mac: ${macText(this.activeMac)}(${byMac ? byMac.name : 'none'})`);
    for (const m of [...this.members.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      out.push('', `member ${m.name}: ${m.enabled ? 'enabled' : 'disabled'}`);
      if (m === this.active) out.push('  active member');
      if (m.delayExpires !== Infinity) out.push(`  ${m.enabled ? 'downdelay' : 'updelay'} expires in ${m.delayExpires - now} ms`);
      out.push(`  may_enable: ${m.mayEnable}`);
      if (!this.isBalanced() || !this.hash) continue;
      this.hash.forEach((b, i) => {
        const k = Math.floor(b.txBytes / 1024);
        if (b.member === m && k > 0) out.push(`  hash ${i}: ${k} kB load`);
      });
    }
    return out.join('\n') + '\n\n';
  }
}

/** choose_entries_to_migrate: buckets (heaviest first in `list`) whose move brings both members nearer the middle. */
function chooseEntriesToMigrate(fromBytes: number, list: readonly Bucket[], toBytes: number): Bucket[] {
  if (list.length <= 1) return [];
  const ideal = Math.floor((fromBytes + toBytes) / 2);
  const idealDelta = ideal - toBytes;
  const threshold = Math.floor(idealDelta / 10);
  let delta = 0;
  const out: Bucket[] = [];
  for (const e of list) {
    if (delta + e.txBytes <= idealDelta) {
      out.push(e);
      delta += e.txBytes;
    }
    if (idealDelta - delta < threshold) break;
  }
  if (out.length === 0) {
    const closest = list[list.length - 1] as Bucket;
    delta = closest.txBytes;
    out.push(closest);
  }
  const newLow = Math.min(fromBytes - delta, toBytes + delta);
  return newLow > toBytes && newLow - toBytes >= threshold ? out : [];
}
