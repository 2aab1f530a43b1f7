/**
 * The port registry: which interfaces are ports, under which OpenFlow numbers, and each port's
 * OpenFlow config, link state, VLAN role and counters. The packet path (packet-path.ts) reads
 * ports from here and counts on them; everything else about ports happens here.
 *
 * Port state: the link of every port is polled (default every 250 ms) and a change of admin
 * state, carrier, MAC or speed emits 'port-status' (OFPPR.MODIFY); adding and removing ports emit
 * OFPPR.ADD and OFPPR.DELETE. The agent turns them into PORT_STATUS messages.
 *
 * `list` (ports in number order) is replaced, never changed in place, when a port comes or goes,
 * so a FLOOD running over it while a port is removed is not disturbed.
 *
 * VLAN role: each port keeps its configuration as given (tag, trunks, vlan_mode: what the Port
 * table holds) and the role NORMAL applies, resolved from it once (normal.ts, resolvePortVlan).
 */
import { EventEmitter } from 'eventemitter3';
import { OFPP, OFPPC, OFPPF, OFPPR, OFPPS } from '../protocol/constants.js';
import type { MacAddress, PhyPort, PortStats } from '../protocol/types.js';
import type { DropReason } from './drop-record.js';
import { resolvePortVlan, type BridgePort, type PortVlan, type PortVlanConfig, type VlanMode } from './normal.js';
import { Policer, type BucketSettings, type PolicerDirection } from './policer.js';
import type { LinkInfo, NetPort } from './ports/net-port.js';

/** 802.1Q configuration of a port for NORMAL: `tag`, `trunks`, `vlanMode` (normal.ts). */
export type PortVlanOptions = PortVlanConfig;

export interface PortModRequest {
  readonly portNo: number;
  readonly hwAddr: MacAddress;
  readonly config: number;
  readonly mask: number;
  readonly advertise: number;
}
/** How a PORT_MOD went: applied, no such port (OFPPMFC_BAD_PORT), wrong MAC (OFPPMFC_BAD_HW_ADDR). */
export type PortModResult = 'ok' | 'bad-port' | 'bad-hw-addr';

export interface PortRegistryOptions {
  /** How often to read every port's link, in ms (0: never; call pollLinks yourself). */
  linkPollMs?: number;
}

export interface PortRegistryEvents {
  /** reason is OFPPR.ADD, DELETE or MODIFY. */
  'port-status': (reason: number, desc: PhyPort) => void;
}

/** Where a port's received frames go (the packet path). */
export type PortReceiver = (port: DatapathPort, frame: Uint8Array) => void;
/** Where a drop a port made itself goes (ports/net-port.ts PortDropHandler, with the port). */
export type PortDropReporter = (port: DatapathPort, reason: DropReason, frame: Uint8Array, aux: number, received: boolean, inPort?: number) => void;

const DEFAULT_LINK_POLL_MS = 250;

/** A port inside the datapath: its interface, OpenFlow config and state, VLAN role, counters. */
export class DatapathPort implements BridgePort {
  readonly portNo: number;
  readonly net: NetPort;
  /** Its VLAN configuration as given: trunks sorted, without repeats (none when empty). */
  tag: number | undefined;
  trunks: readonly number[] | undefined;
  vlanMode: VlanMode | undefined;
  /** The VLAN role NORMAL applies. */
  vlan: PortVlan;
  /** Frames it delivers are its own (false for a patch port: the peer bridge's, not to be rewritten in place). */
  readonly ownsFrames: boolean;
  config = 0;
  link: LinkInfo;
  /** A PORT_MOD is bringing the interface up or down: keep the requested PORT_DOWN meanwhile. */
  adminChangePending = false;
  rxPackets = 0;
  rxBytes = 0;
  rxDropped = 0;
  rxErrors = 0;
  txPackets = 0;
  txBytes = 0;
  txDropped = 0;
  txErrors = 0;
  /** Spanning tree (datapath/spanning-tree.ts): frames received here go on / teach NORMAL; the OFPPS_STP_* bits. */
  stpForward = true;
  stpLearn = true;
  stpState = 0;
  /** The packet sampler's count on this port (packet-sampler.ts): frames left, and the count drawn last. */
  sampleCountdown = 0;
  sampleSkip = 0;
  /** Policing (policer.ts) of what it receives and of what it sends; null: none (the path pays one test). */
  ingressPolicer: Policer | null = null;
  egressPolicer: Policer | null = null;

  constructor(portNo: number, net: NetPort, vlan: PortVlanOptions) {
    this.portNo = portNo;
    this.net = net;
    this.ownsFrames = net.lendsFrames !== true;
    this.vlan = resolvePortVlan(vlan);
    this.tag = vlan.tag;
    this.trunks = trunkList(vlan.trunks);
    this.vlanMode = vlan.vlanMode;
    this.link = net.readLink();
    if (!this.link.adminUp) this.config |= OFPPC.PORT_DOWN;
  }

  /** Changes the VLAN configuration; a RangeError (and no change) when it is not valid. */
  setVlan(vlan: PortVlanOptions): void {
    this.vlan = resolvePortVlan(vlan);
    this.tag = vlan.tag;
    this.trunks = trunkList(vlan.trunks);
    this.vlanMode = vlan.vlanMode;
  }

  get floods(): boolean {
    return (this.config & OFPPC.NO_FLOOD) === 0;
  }

  describe(): PhyPort {
    return {
      portNo: this.portNo,
      hwAddr: this.link.hwAddr,
      name: this.net.name.slice(0, 15),
      config: this.config,
      state: (this.link.carrier && this.link.adminUp ? 0 : OFPPS.LINK_DOWN) | this.stpState,
      curr: speedFeatures(this.link.speedMbps),
      advertised: 0,
      supported: 0,
      peer: 0,
    };
  }

  stats(): PortStats {
    // Frames the interface refused or dropped after they were counted as sent move from
    // tx_packets to tx_errors and tx_dropped; frames it lost before the datapath saw them (a full
    // receive ring) are rx_dropped, beside those a NO_RECV or down port drops. A deliberate
    // difference: Open vSwitch's userspace datapath reports a system port's rx pkts from the
    // kernel's interface counters, which count frames its socket never got; here rx_packets are
    // the frames the datapath took and rx_dropped the rest (their sum is the kernel's count).
    const refused = this.net.txErrors ?? 0;
    const dropped = this.net.txDropped ?? 0;
    return {
      portNo: this.portNo,
      rxPackets: BigInt(this.rxPackets),
      txPackets: BigInt(Math.max(0, this.txPackets - refused - dropped)),
      rxBytes: BigInt(this.rxBytes),
      txBytes: BigInt(this.txBytes),
      rxDropped: BigInt(this.rxDropped + (this.net.rxDropped ?? 0)),
      txDropped: BigInt(this.txDropped + dropped),
      rxErrors: BigInt(this.rxErrors + (this.net.rxErrors ?? 0)),
      txErrors: BigInt(this.txErrors + refused),
      rxFrameErr: 0n,
      rxOverErr: 0n,
      rxCrcErr: 0n,
      collisions: 0n,
    };
  }
}

/** Trunk VLANs sorted, without repeats; undefined when none (every VLAN). */
function trunkList(trunks: Iterable<number> | undefined): readonly number[] | undefined {
  if (!trunks) return undefined;
  const list = [...new Set(trunks)].sort((a, b) => a - b);
  return list.length > 0 ? list : undefined;
}

/** OFPPF bits for a link speed (copper, full duplex: what Linux virtual links report). */
function speedFeatures(mbps: number): number {
  const speed =
    mbps >= 10_000 ? OFPPF['10GB_FD'] : mbps >= 1000 ? OFPPF['1GB_FD'] : mbps >= 100 ? OFPPF['100MB_FD'] : mbps >= 10 ? OFPPF['10MB_FD'] : 0;
  return speed === 0 ? 0 : speed | OFPPF.COPPER;
}

export class PortRegistry extends EventEmitter<PortRegistryEvents> {
  /** Ports in port-number order (FLOOD, ALL and NORMAL iterate this); replaced on every change. */
  list: readonly DatapathPort[] = [];
  /** Ports by number (the packet path reads it directly: one map lookup per output). */
  readonly byNo: ReadonlyMap<number, DatapathPort> = new Map<number, DatapathPort>();
  private receiver: PortReceiver = () => undefined;
  /** Where drops a port makes itself go (the packet path's drop record). */
  private dropHandler: PortDropReporter | null = null;
  /** The input port of the frame being forwarded now (the packet path's), for ports that drop later. */
  private inPortNow: () => number = () => OFPP.NONE;
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(opts: PortRegistryOptions = {}) {
    super();
    const poll = opts.linkPollMs ?? DEFAULT_LINK_POLL_MS;
    if (poll > 0) {
      this.timer = setInterval(() => this.pollLinks(), poll);
      this.timer.unref();
    }
  }

  /** Where every port's received frames go from now on. */
  setReceiver(receiver: PortReceiver): void {
    this.receiver = receiver;
  }

  /** Where the drops ports make themselves (a tunnel's unknown remote, a frame too large) go from now on. */
  setDropHandler(handler: PortDropReporter | null, inPortNow?: () => number): void {
    this.dropHandler = handler;
    if (inPortNow) this.inPortNow = inPortNow;
  }

  /** The port numbered `portNo`, if any (the packet path's lookup). */
  get(portNo: number): DatapathPort | undefined {
    return this.byNo.get(portNo);
  }

  /** Adds an interface as port `portNo` and starts receiving on it; emits 'port-status' ADD. */
  addPort(net: NetPort, portNo: number, vlan: PortVlanOptions = {}): PhyPort {
    if (!(portNo >= 1 && portNo < OFPP.MAX) && portNo !== OFPP.LOCAL) throw new Error(`invalid port number ${portNo}`);
    if (this.byNo.has(portNo)) throw new Error(`port ${portNo} already exists`);
    if (this.list.some((p) => p.net.name === net.name)) throw new Error(`interface ${net.name} is already a port`);
    const port = new DatapathPort(portNo, net, vlan);
    net.open(
      (frame) => this.receiver(port, frame),
      (reason, frame, aux, received, inPort) => this.dropHandler?.(port, reason, frame, aux, received, inPort),
      () => this.inPortNow(),
    );
    net.watchLink?.(() => this.pollPort(port));
    port.link = net.readLink(); // opening may change it (a patch port finds its peer)
    (this.byNo as Map<number, DatapathPort>).set(portNo, port);
    this.list = [...this.list, port].sort((a, b) => a.portNo - b.portNo);
    const desc = port.describe();
    this.emit('port-status', OFPPR.ADD, desc);
    return desc;
  }

  /** Closes and removes a port; emits 'port-status' DELETE. False when there is no such port. */
  removePort(portNo: number): boolean {
    const port = this.byNo.get(portNo);
    if (!port) return false;
    port.net.close();
    (this.byNo as Map<number, DatapathPort>).delete(portNo);
    this.list = this.list.filter((p) => p !== port);
    this.emit('port-status', OFPPR.DELETE, port.describe());
    return true;
  }

  /** Changes a port's VLAN configuration for NORMAL (a RangeError when invalid). False when there is no such port. */
  setPortVlan(portNo: number, vlan: PortVlanOptions): boolean {
    const port = this.byNo.get(portNo);
    if (!port) return false;
    port.setVlan(vlan);
    return true;
  }

  /**
   * Polices what port `portNo` receives ('ingress') or sends ('egress') from now on (null: not at
   * all). Settings equal to those in force keep the bucket and its count. False when there is no such port.
   */
  setPolicer(portNo: number, direction: PolicerDirection, settings: BucketSettings | null): boolean {
    const port = this.byNo.get(portNo);
    if (!port) return false;
    const current = direction === 'ingress' ? port.ingressPolicer : port.egressPolicer;
    if (settings !== null && current !== null && current.sameAs(settings)) return true;
    const next = settings === null ? null : new Policer(direction, settings);
    if (direction === 'ingress') port.ingressPolicer = next;
    else port.egressPolicer = next;
    return true;
  }

  /**
   * A spanning tree's verdict on a port: whether it forwards and learns, and its OFPPS_STP_* bits
   * (a change of those emits 'port-status' MODIFY, as OVS sends PORT_STATUS for it).
   */
  setStpState(portNo: number, forward: boolean, learn: boolean, ofState: number): void {
    const port = this.byNo.get(portNo);
    if (!port) return;
    port.stpForward = forward;
    port.stpLearn = learn;
    if (port.stpState === ofState) return;
    port.stpState = ofState;
    this.emit('port-status', OFPPR.MODIFY, port.describe());
  }

  /** Every port's description, in port-number order. */
  ports(): PhyPort[] {
    return this.list.map((p) => p.describe());
  }

  port(portNo: number): PhyPort | undefined {
    return this.byNo.get(portNo)?.describe();
  }

  /** Port number of an interface name. */
  portNoOf(name: string): number | undefined {
    return this.list.find((p) => p.net.name === name)?.portNo;
  }

  /** PORT statistics: one port, or every port for OFPP.NONE. */
  portStats(portNo: number = OFPP.NONE): PortStats[] {
    if (portNo === OFPP.NONE) return this.list.map((p) => p.stats());
    const p = this.byNo.get(portNo);
    return p ? [p.stats()] : [];
  }

  /**
   * PORT_MOD: applies the `mask`ed `config` bits (PORT_DOWN brings the interface down or up;
   * NO_RECV, NO_FWD, NO_FLOOD, NO_PACKET_IN take effect on the next frame). `advertise` is
   * accepted and ignored (virtual links negotiate nothing).
   */
  modifyPort(mod: PortModRequest): PortModResult {
    const port = this.byNo.get(mod.portNo);
    if (!port) return 'bad-port';
    if (mod.hwAddr.toLowerCase() !== port.link.hwAddr.toLowerCase()) return 'bad-hw-addr';
    const before = port.config;
    port.config = (port.config & ~mod.mask) | (mod.config & mod.mask);
    const down = (port.config & OFPPC.PORT_DOWN) !== 0;
    if ((mod.mask & OFPPC.PORT_DOWN) !== 0 && down !== !port.link.adminUp) {
      port.adminChangePending = true;
      port.net
        .setAdminUp(!down)
        .catch(() => undefined)
        .finally(() => {
          port.adminChangePending = false;
          this.pollPort(port);
        });
    }
    if (port.config !== before) this.emit('port-status', OFPPR.MODIFY, port.describe());
    return 'ok';
  }

  /** Reads every port's link now and emits 'port-status' MODIFY for each that changed. */
  pollLinks(): void {
    for (const port of this.list) this.pollPort(port);
  }

  /** Reads one port's link now (bonds read their members' carriers this way between polls). */
  refreshLink(portNo: number): void {
    const port = this.byNo.get(portNo);
    if (port) this.pollPort(port);
  }

  private pollPort(port: DatapathPort): void {
    if (this.byNo.get(port.portNo) !== port) return;
    const before = port.describe();
    port.link = port.net.readLink();
    if (!port.adminChangePending) {
      port.config = (port.config & ~OFPPC.PORT_DOWN) | (port.link.adminUp ? 0 : OFPPC.PORT_DOWN);
    }
    const after = port.describe();
    if (
      before.config !== after.config ||
      before.state !== after.state ||
      before.hwAddr !== after.hwAddr ||
      before.curr !== after.curr
    ) {
      this.emit('port-status', OFPPR.MODIFY, after);
    }
  }

  /** Closes every port and stops polling (no events). */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    for (const port of this.list) port.net.close();
    (this.byNo as Map<number, DatapathPort>).clear();
    this.list = [];
  }
}
