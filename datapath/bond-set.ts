/**
 * The bonds of one bridge inside its datapath (bond/ has the protocol logic, this module the
 * plumbing): which OpenFlow ports are bond members, LACP PDUs in and out of them, the periodic
 * run (every BOND_RUN_INTERVAL_MS: member carriers read from their interfaces, LACP timers, delays,
 * rebalancing, learning packets), and what NORMAL sees.
 *
 * OpenFlow sees every member as its own port (as Open vSwitch shows each member Interface with its
 * own ofport): FLOOD, ALL and outputs to a port number use members one by one. Only NORMAL, the
 * learning bridge, sees a bond as one port (OVS's bundle): `bridgePorts` puts one BondPort in
 * place of the members (numbered as the lowest-numbered member, the number the MAC table and
 * `fdb/show` use), a frame received on a member enters NORMAL from that BondPort when the bond's
 * admissibility check lets it in (`inputPort`), and a frame NORMAL sends to it leaves by the
 * member the bond chooses (`output`). Nothing NORMAL floods goes back into the bond it came from.
 *
 * Received slow-protocol frames (Ethernet type 0x8809) on a member of a bond with LACP are the
 * bond's (`consumes`): they never reach the flow table, as OVS's process_special takes them.
 *
 * Member liveness: a member may be enabled when its carrier is up, LACP (if on) says so, and its
 * liveness source (CFM or BFD, if one is set: the `liveness` map, which Switch.setBondMemberLiveness
 * fills, the one function such a source calls) says it is up.
 */
import { BOND_RUN_INTERVAL_MS, ETH_ADDR_LACP, ETH_TYPE, ETH_TYPE_LACP } from '../protocol/constants.js';
import { Bond, type BondMember, type BondSettings } from '../bond/bond.js';
import { hashFiveTuple, hashMac } from '../bond/hash.js';
import { Lacp, macNumber, type LacpMemberSettings, type LacpSettings } from '../bond/lacp.js';
import { macAt, vlanOnPort, type BridgePort, type LearningBridge, type PortVlan } from './normal.js';
import type { DatapathPort, PortRegistry } from './port-registry.js';

/** One bond as the switch resolved it: settings, LACP (null: off) and members by port number. */
export interface ResolvedBond {
  readonly settings: BondSettings;
  readonly lacp: LacpSettings | null;
  readonly members: readonly { readonly name: string; readonly portNo: number; readonly lacp: LacpMemberSettings }[];
}

/** The bond as NORMAL's one port. */
export class BondPort implements BridgePort {
  readonly bond: Bond;
  readonly portNo: number;
  private readonly rep: DatapathPort;
  constructor(bond: Bond, portNo: number, rep: DatapathPort) {
    this.bond = bond;
    this.portNo = portNo;
    this.rep = rep;
  }
  get vlan(): PortVlan {
    return this.rep.vlan;
  }
  get floods(): boolean {
    return this.rep.floods;
  }
}

interface Entry {
  readonly bond: Bond;
  port: BondPort;
  /** The carrier each member had at the last run (LACP is told of changes). */
  readonly carriers: Map<string, boolean>;
}

export interface BondSetOptions {
  readonly registry: PortRegistry;
  readonly bridge: LearningBridge;
  /** Sends a frame out of a port, counting it (the packet path's transmit). */
  readonly transmit: (portNo: number, frame: Uint8Array) => void;
  /** Told when a status column may change (active member, LACP current). */
  readonly onChange?: () => void;
  readonly log?: (text: string) => void;
  /** Members' liveness from CFM or BFD by interface name (absent: no such source); read at every run. */
  readonly liveness?: ReadonlyMap<string, boolean>;
  readonly now?: () => number;
  readonly runIntervalMs?: number;
}

export class BondSet {
  private readonly entries = new Map<string, Entry>();
  private readonly byPort = new Map<number, { entry: Entry; member: BondMember }>();
  private readonly liveness: ReadonlyMap<string, boolean>;
  private readonly opts: BondSetOptions;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;
  private cache: { from: readonly BridgePort[]; to: readonly BridgePort[] } | null = null;
  private nextRecircId = 1;

  constructor(opts: BondSetOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    this.liveness = opts.liveness ?? new Map();
  }

  /** Replaces the bonds (members must be ports already); those that stay keep their state. */
  configure(bonds: readonly ResolvedBond[]): void {
    const now = this.now();
    const wanted = new Set(bonds.map((b) => b.settings.name));
    for (const name of this.entries.keys()) if (!wanted.has(name)) this.entries.delete(name);
    this.byPort.clear();
    for (const spec of bonds) {
      let entry = this.entries.get(spec.settings.name);
      if (!entry) {
        const bond = new Bond(spec.settings, this.nextRecircId++, now);
        bond.macOf = (member) => this.macOfMember(member);
        bond.onChange = () => this.opts.onChange?.();
        bond.log = this.opts.log ?? null;
        entry = { bond, port: null as unknown as BondPort, carriers: new Map() };
        this.entries.set(spec.settings.name, entry);
      } else {
        entry.bond.reconfigure(spec.settings, now);
      }
      const bond = entry.bond;
      const names = new Set(spec.members.map((m) => m.name));
      for (const m of [...bond.members.values()]) {
        if (!names.has(m.name) || spec.members.find((x) => x.name === m.name)?.portNo !== m.portNo) {
          bond.removeMember(m.name);
          bond.lacp?.unregisterMember(m.name);
          entry.carriers.delete(m.name);
        }
      }
      if (spec.lacp === null) bond.lacp = null;
      else if (bond.lacp === null) {
        bond.lacp = new Lacp(spec.lacp);
        bond.lacp.onChange = () => this.opts.onChange?.();
      } else bond.lacp.configure(spec.lacp);
      for (const m of spec.members) {
        const member = bond.addMember(m.name, m.portNo, this.carrierOf(m.portNo));
        bond.lacp?.registerMember(m.lacp, now);
        this.byPort.set(m.portNo, { entry, member });
      }
      const repNo = Math.min(...spec.members.map((m) => m.portNo));
      const rep = this.opts.registry.get(repNo);
      if (rep) entry.port = new BondPort(bond, repNo, rep);
    }
    this.cache = null;
    if (this.entries.size > 0 && this.timer === null) {
      this.timer = setInterval(() => this.run(), this.opts.runIntervalMs ?? BOND_RUN_INTERVAL_MS);
      this.timer.unref();
    } else if (this.entries.size === 0) this.stop();
    this.run();
  }

  /** Every bond, by name. */
  bonds(): Bond[] {
    return [...this.entries.values()].map((e) => e.bond);
  }

  bond(name: string): Bond | undefined {
    return this.entries.get(name)?.bond;
  }

  /** The bond a port is a member of. */
  bondOf(portNo: number): Bond | undefined {
    return this.byPort.get(portNo)?.entry.bond;
  }

  private carrierOf(portNo: number): boolean {
    const link = this.opts.registry.get(portNo)?.link;
    return link !== undefined && link.carrier && link.adminUp;
  }

  private macOfMember(name: string): number {
    for (const { member } of this.byPort.values()) {
      if (member.name === name) return macNumber(this.opts.registry.get(member.portNo)?.link.hwAddr ?? '') ?? 0;
    }
    return 0;
  }

  /** One round: links, LACP, members, active member, rebalancing, learning packets. */
  run(): void {
    const now = this.now();
    for (const entry of this.entries.values()) {
      const { bond } = entry;
      const lacp = bond.lacp;
      for (const m of bond.members.values()) {
        this.opts.registry.refreshLink(m.portNo);
        const carrier = this.carrierOf(m.portNo);
        if (entry.carriers.get(m.name) !== carrier) {
          entry.carriers.set(m.name, carrier);
          lacp?.carrierChanged(m.name, carrier, now);
        }
      }
      if (lacp) lacp.run(now, (member, pdu) => this.sendPdu(bond, member, pdu));
      for (const m of bond.members.values()) m.mayEnable = this.mayEnable(entry, m);
      bond.run(now, lacp ? lacp.status() : 'off', (m) => (entry.carriers.get(m.name) ?? false) && m.mayEnable);
      bond.rebalance(now, this.opts.log);
      if (bond.sendLearningPackets) this.sendLearningPackets(entry);
    }
  }

  private sendPdu(bond: Bond, member: string, pdu: Uint8Array): void {
    const m = bond.members.get(member);
    const port = m && this.opts.registry.get(m.portNo);
    if (!m || !port) return;
    const frame = new Uint8Array(14 + pdu.length);
    ETH_ADDR_LACP.split(':').forEach((b, i) => (frame[i] = parseInt(b, 16)));
    port.link.hwAddr.split(':').forEach((b, i) => (frame[6 + i] = parseInt(b, 16)));
    frame[12] = ETH_TYPE_LACP >> 8;
    frame[13] = ETH_TYPE_LACP & 0xff;
    frame.set(pdu, 14);
    this.opts.transmit(m.portNo, frame);
  }

  /**
   * bundle_send_learning_packets: after the active member changed on a bond without LACP
   * (active-backup, balance-slb), one RARP per address learned elsewhere, from that address, so
   * that the switches beyond learn where it is now.
   */
  private sendLearningPackets(entry: Entry): void {
    const { bond } = entry;
    bond.sendLearningPackets = false;
    const may = ((bond.lacpStatus === 'off' && bond.mode !== 'balance-tcp') || (bond.fallbackAb && bond.lacpStatus === 'configured')) && bond.active !== null;
    if (!may) return;
    for (const e of this.opts.bridge.entries()) {
      if (e.port === entry.port.portNo) continue;
      const member = bond.chooseOutput(() => hashMac(e.mac, e.vlan, bond.basis), () => 0, 0);
      if (member) this.opts.transmit(member.portNo, composeRarp(e.mac, e.vlan));
    }
  }

  /** A slow-protocols frame on a member of a bond with LACP: handed to LACP (true), else false. */
  consumes(port: DatapathPort, frame: Uint8Array): boolean {
    if (frame.length < 14 || frame[12] !== ETH_TYPE_LACP >> 8 || frame[13] !== (ETH_TYPE_LACP & 0xff)) return false;
    const found = this.byPort.get(port.portNo);
    const lacp = found?.entry.bond.lacp;
    if (!found || !lacp) return false;
    if (lacp.processPdu(found.member.name, frame.subarray(14), this.now())) found.member.mayEnable = this.mayEnable(found.entry, found.member);
    return true;
  }

  /** Why inputPort last returned null: the bond's verdict, or a balance-slb frame that came back (for ofproto/trace's words). */
  lastRefusal: 'admissibility' | 'looped-back' = 'admissibility';

  /**
   * Whether a member may carry traffic: its carrier (as of the last run), its liveness (CFM or BFD,
   * when either runs) and, on a bond with LACP, LACP's word, all three (OVS's iface may_enable
   * and lacp_member_may_enable). A PDU that makes LACP agree does not override a liveness fault.
   */
  private mayEnable(entry: Entry, m: BondMember): boolean {
    const lacp = entry.bond.lacp;
    return (entry.carriers.get(m.name) ?? false) && this.liveness.get(m.name) !== false && (lacp === null || lacp.mayEnable(m.name));
  }

  /**
   * The port NORMAL takes a frame received on `port` to come from: the port itself, its bond's
   * BondPort, or null when the bond does not admit it (bond_check_admissibility; for balance-slb,
   * a frame whose source was learned on another port came back, and is dropped, unless it is a
   * gratuitous ARP whose address is not under the gratuitous-ARP lock: LearningBridge.slbLoopedBack).
   */
  inputPort(port: DatapathPort, frame: Uint8Array): BridgePort | null {
    const found = this.byPort.get(port.portNo);
    if (!found) return port;
    const { bond } = found.entry;
    const verdict = bond.admissibility(found.member, ((frame[0] as number) & 1) !== 0);
    this.lastRefusal = verdict === 'drop' ? 'admissibility' : 'looped-back';
    if (verdict === 'drop') return null;
    if (verdict === 'drop-if-moved') {
      const tagged = frame.length >= 18 && ((frame[12] === 0x81 && frame[13] === 0) || (frame[12] === 0x88 && frame[13] === 0xa8));
      const vlan = vlanOnPort(port.vlan, tagged ? (((frame[14] as number) << 8) | (frame[15] as number)) & 0xfff : 0);
      if (vlan >= 0 && this.opts.bridge.slbLoopedBack(frame, vlan, found.entry.port.portNo)) return null;
    }
    return found.entry.port;
  }

  /** NORMAL's ports: each bond's members replaced by its BondPort (where its lowest member was). */
  bridgePorts(list: readonly BridgePort[]): readonly BridgePort[] {
    const cache = this.cache;
    if (cache !== null && cache.from === list) return cache.to;
    const to: BridgePort[] = [];
    for (const p of list) {
      const found = this.byPort.get(p.portNo);
      if (!found) to.push(p);
      else if (found.entry.port.portNo === p.portNo) to.push(found.entry.port);
    }
    this.cache = { from: list, to };
    return to;
  }

  /** A frame NORMAL sends to a bond: out of the member the bond chooses, or nowhere (false). */
  output(port: BondPort, frame: Uint8Array): boolean {
    const member = this.choose(port, frame, frame.length);
    if (!member) return false;
    this.opts.transmit(member.portNo, frame);
    return true;
  }

  /** The port number of the member a frame NORMAL sends to the bond would leave by, or null; counts nothing (ofproto/trace). */
  chosenMember(port: BondPort, frame: Uint8Array): number | null {
    return this.choose(port, frame, 0)?.portNo ?? null;
  }

  private choose(port: BondPort, frame: Uint8Array, bytes: number): BondMember | null {
    const bond = port.bond;
    return bond.chooseOutput(
      () => {
        const tagged = frame.length >= 18 && frame[12] === 0x81 && frame[13] === 0;
        const vlan = tagged ? (((frame[14] as number) << 8) | (frame[15] as number)) & 0xfff : Math.max(0, port.vlan.vlan);
        return hashMac(macAt(frame, 6), vlan, bond.basis);
      },
      () => hashFiveTuple(frame, bond.basis),
      bytes,
    );
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/** compose_rarp: a reverse ARP request from `mac` (tagged with `vlan` when not 0). */
export function composeRarp(mac: number, vlan: number): Uint8Array {
  const body = new Uint8Array(28);
  body.set([0, 1, 0x08, 0x00, 6, 4, 0, 3]);
  for (let i = 0; i < 6; i++) {
    const b = Math.floor(mac / 2 ** (40 - 8 * i)) & 0xff;
    body[8 + i] = b;
    body[18 + i] = b;
  }
  const head = vlan !== 0 ? 18 : 14;
  const frame = new Uint8Array(Math.max(60, head + 28));
  frame.fill(0xff, 0, 6);
  for (let i = 0; i < 6; i++) frame[6 + i] = body[8 + i] as number;
  if (vlan !== 0) {
    frame[12] = ETH_TYPE.VLAN >> 8;
    frame[13] = ETH_TYPE.VLAN & 0xff;
    frame[14] = (vlan >> 8) & 0x0f;
    frame[15] = vlan & 0xff;
  }
  frame[head - 2] = ETH_TYPE.RARP >> 8;
  frame[head - 1] = ETH_TYPE.RARP & 0xff;
  frame.set(body, head);
  return frame;
}

