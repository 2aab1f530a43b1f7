/**
 * The datapath: ports, the packet path and the port state the agent reports. The agent's only door.
 *
 * Packet path, per received frame (synchronous, no allocation on the common path):
 *   port config (NO_RECV drops) -> counters -> parseFrame into one reused flow key
 *   -> fragment policy (SET_CONFIG's OFPC_FRAG_DROP) -> flowTable.lookup(key, length)
 *   -> hit: the entry's actions (actions.ts); miss: the agent's `onMiss` hook.
 * Outputs resolve OpenFlow port numbers: a port, IN_PORT, TABLE (PACKET_OUT only), NORMAL (the
 * learning bridge, normal.ts), FLOOD (not NO_FLOOD ports), ALL, CONTROLLER (the `onController`
 * hook), LOCAL. Nothing is sent back out of the input port except through IN_PORT; NO_FWD ports
 * send nothing; a port with NO_PACKET_IN sends nothing to the controller.
 *
 * Frames handed to hooks are valid only during the call: the agent copies what it keeps.
 *
 * Port state: the link of every port is polled (default every 250 ms) and a change of admin
 * state, carrier, MAC or speed emits 'port-status' (OFPPR.MODIFY); adding and removing ports emit
 * OFPPR.ADD and OFPPR.DELETE. The agent turns them into PORT_STATUS messages.
 */
import { existsSync } from 'node:fs';
import { EventEmitter } from 'eventemitter3';
import { newFlowKey, type FlowKey } from '../flowtable/flow-key.js';
import { OFPC_FRAG, OFPP, OFPPC, OFPPF, OFPPR, OFPPS, OFPR } from '../protocol/constants.js';
import type { Action, MacAddress, PhyPort, PortStats } from '../protocol/types.js';
import { AfPacketPort } from './af-packet-port.js';
import { runActions, type ActionOutputs } from './actions.js';
import { newFrameLayout, parseFrame, type FrameLayout } from './frame-parser.js';
import { LocalPort } from './local-port.js';
import { LearningBridge, type BridgePort } from './normal.js';
import type { LinkInfo, NetPort } from './port.js';

/** What the datapath needs of the flow table. */
export interface FlowLookup {
  /** The entry matching `key` (counting a packet of `frameLength` bytes on it), or null. */
  lookup(key: FlowKey, frameLength: number): { readonly actions: readonly Action[] } | null;
}

export interface DatapathOptions {
  flowTable: FlowLookup;
  /** A frame that matched no entry (NO_MATCH), unless its input port has NO_PACKET_IN. */
  onMiss?: (frame: Uint8Array, inPort: number) => void;
  /** A frame output to CONTROLLER (reason OFPR.ACTION), unless its input port has NO_PACKET_IN. */
  onController?: (frame: Uint8Array, inPort: number, maxLen: number, reason: number) => void;
  /** How often to read every port's link, in ms (0: never; call pollLinks yourself). */
  linkPollMs?: number;
  /** Milliseconds clock for the learning bridge (tests inject one). */
  now?: () => number;
}

/** 802.1Q role of a port for NORMAL: access (`tag`), trunk (`trunks`), or neither. */
export interface PortVlanOptions {
  tag?: number;
  trunks?: Iterable<number>;
}

export interface PortModRequest {
  readonly portNo: number;
  readonly hwAddr: MacAddress;
  readonly config: number;
  readonly mask: number;
  readonly advertise: number;
}
export type PortModResult = 'ok' | 'bad-port' | 'bad-hw-addr';

export interface DatapathEvents {
  /** reason is OFPPR.ADD, DELETE or MODIFY. */
  'port-status': (reason: number, desc: PhyPort) => void;
}

const DEFAULT_LINK_POLL_MS = 250;

/** A port inside the datapath: its interface, OpenFlow config and state, VLAN role, counters. */
class DatapathPort implements BridgePort {
  readonly portNo: number;
  readonly net: NetPort;
  readonly tag: number | undefined;
  readonly trunks: ReadonlySet<number> | undefined;
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

  constructor(portNo: number, net: NetPort, vlan: PortVlanOptions) {
    this.portNo = portNo;
    this.net = net;
    this.tag = vlan.tag;
    this.trunks = vlan.trunks ? new Set(vlan.trunks) : undefined;
    this.link = net.readLink();
    if (!this.link.adminUp) this.config |= OFPPC.PORT_DOWN;
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
      state: this.link.carrier && this.link.adminUp ? 0 : OFPPS.LINK_DOWN,
      curr: speedFeatures(this.link.speedMbps),
      advertised: 0,
      supported: 0,
      peer: 0,
    };
  }

  stats(): PortStats {
    // Frames the interface refused after they were counted as sent move from tx_packets to tx_errors.
    const refused = this.net.txErrors ?? 0;
    return {
      portNo: this.portNo,
      rxPackets: BigInt(this.rxPackets),
      txPackets: BigInt(Math.max(0, this.txPackets - refused)),
      rxBytes: BigInt(this.rxBytes),
      txBytes: BigInt(this.txBytes),
      rxDropped: BigInt(this.rxDropped),
      txDropped: BigInt(this.txDropped),
      rxErrors: BigInt(this.rxErrors + (this.net.rxErrors ?? 0)),
      txErrors: BigInt(this.txErrors + refused),
      rxFrameErr: 0n,
      rxOverErr: 0n,
      rxCrcErr: 0n,
      collisions: 0n,
    };
  }
}

/** OFPPF bits for a link speed (copper, full duplex: what Linux virtual links report). */
function speedFeatures(mbps: number): number {
  const speed =
    mbps >= 10_000 ? OFPPF['10GB_FD'] : mbps >= 1000 ? OFPPF['1GB_FD'] : mbps >= 100 ? OFPPF['100MB_FD'] : mbps >= 10 ? OFPPF['10MB_FD'] : 0;
  return speed === 0 ? 0 : speed | OFPPF.COPPER;
}

/** Where one action list's outputs go: knows its input port and whether TABLE is allowed. */
class Outputs implements ActionOutputs {
  inPort = OFPP.NONE as number;
  private readonly dp: Datapath;
  private readonly allowTable: boolean;

  constructor(dp: Datapath, allowTable: boolean) {
    this.dp = dp;
    this.allowTable = allowTable;
  }

  output(port: number, maxLen: number, frame: Uint8Array, layout: FrameLayout): void {
    const inPort = this.inPort;
    if (port < OFPP.MAX) {
      if (port !== inPort) this.dp.transmit(port, frame);
      return;
    }
    switch (port) {
      case OFPP.IN_PORT:
        this.dp.transmit(inPort, frame);
        return;
      case OFPP.TABLE:
        if (this.allowTable) this.dp.resubmit(frame, inPort);
        return;
      case OFPP.NORMAL:
        this.dp.normal(frame, layout, inPort);
        return;
      case OFPP.FLOOD:
        this.dp.flood(frame, inPort, true);
        return;
      case OFPP.ALL:
        this.dp.flood(frame, inPort, false);
        return;
      case OFPP.CONTROLLER:
        this.dp.toController(frame, inPort, maxLen, OFPR.ACTION);
        return;
      case OFPP.LOCAL:
        if (inPort !== OFPP.LOCAL) this.dp.transmit(OFPP.LOCAL, frame);
        return;
      default:
        return; // OFPP_NONE and unknown numbers: nowhere
    }
  }
}

export class Datapath extends EventEmitter<DatapathEvents> {
  /** The flow table; replaceable (tests start with a stub). */
  flowTable: FlowLookup;
  /** The learning bridge behind NORMAL. */
  readonly bridge: LearningBridge;
  private readonly onMiss: DatapathOptions['onMiss'];
  private readonly onController: DatapathOptions['onController'];
  private readonly portsByNo = new Map<number, DatapathPort>();
  /** Ports in port-number order (FLOOD, ALL and NORMAL iterate this). */
  private portList: DatapathPort[] = [];
  private dropFragments = false;
  private readonly key = newFlowKey();
  private readonly layout = newFrameLayout();
  private readonly rxOutputs = new Outputs(this, false);
  private readonly sendToBridgePort = (p: BridgePort, frame: Uint8Array): void => this.transmit(p.portNo, frame);
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(opts: DatapathOptions) {
    super();
    this.flowTable = opts.flowTable;
    this.onMiss = opts.onMiss;
    this.onController = opts.onController;
    this.bridge = new LearningBridge(opts.now ? { now: opts.now } : {});
    const poll = opts.linkPollMs ?? DEFAULT_LINK_POLL_MS;
    if (poll > 0) {
      this.timer = setInterval(() => this.pollLinks(), poll);
      this.timer.unref();
    }
  }

  // ---- ports -----------------------------------------------------------------------------------

  /** Opens Linux interface `name` as port `portNo` (OFPP.LOCAL for the switch's own interface). */
  openPort(name: string, portNo: number, vlan: PortVlanOptions = {}): PhyPort {
    return this.addPort(new AfPacketPort(name), portNo, vlan);
  }

  /**
   * The LOCAL port, the switch's own host interface `name`: created (local-port.ts) and removed
   * with the port when no such interface exists; an existing interface is opened as it is.
   */
  openLocalPort(name: string): PhyPort {
    const net = existsSync(`/sys/class/net/${name}`) ? new AfPacketPort(name) : new LocalPort(name);
    try {
      return this.addPort(net, OFPP.LOCAL);
    } catch (err) {
      net.close();
      throw err;
    }
  }

  /** Adds an interface as port `portNo`; emits 'port-status' ADD. */
  addPort(net: NetPort, portNo: number, vlan: PortVlanOptions = {}): PhyPort {
    if (!(portNo >= 1 && portNo < OFPP.MAX) && portNo !== OFPP.LOCAL) throw new Error(`invalid port number ${portNo}`);
    if (this.portsByNo.has(portNo)) throw new Error(`port ${portNo} already exists`);
    if (this.portList.some((p) => p.net.name === net.name)) throw new Error(`interface ${net.name} is already a port`);
    const port = new DatapathPort(portNo, net, vlan);
    net.open((frame) => this.receive(port, frame));
    net.watchLink?.(() => this.pollPort(port));
    this.portsByNo.set(portNo, port);
    this.portList = [...this.portList, port].sort((a, b) => a.portNo - b.portNo);
    const desc = port.describe();
    this.emit('port-status', OFPPR.ADD, desc);
    return desc;
  }

  /** Closes and removes a port; emits 'port-status' DELETE. False when there is no such port. */
  removePort(portNo: number): boolean {
    const port = this.portsByNo.get(portNo);
    if (!port) return false;
    port.net.close();
    this.portsByNo.delete(portNo);
    this.portList = this.portList.filter((p) => p !== port);
    this.bridge.forgetPort(portNo);
    this.emit('port-status', OFPPR.DELETE, port.describe());
    return true;
  }

  /** Every port's description, in port-number order. */
  ports(): PhyPort[] {
    return this.portList.map((p) => p.describe());
  }

  port(portNo: number): PhyPort | undefined {
    return this.portsByNo.get(portNo)?.describe();
  }

  /** Port number of an interface name. */
  portNoOf(name: string): number | undefined {
    return this.portList.find((p) => p.net.name === name)?.portNo;
  }

  /** PORT statistics: one port, or every port for OFPP.NONE. */
  portStats(portNo: number = OFPP.NONE): PortStats[] {
    if (portNo === OFPP.NONE) return this.portList.map((p) => p.stats());
    const p = this.portsByNo.get(portNo);
    return p ? [p.stats()] : [];
  }

  /**
   * PORT_MOD: applies the `mask`ed `config` bits (PORT_DOWN brings the interface down or up;
   * NO_RECV, NO_FWD, NO_FLOOD, NO_PACKET_IN take effect on the next frame). `advertise` is
   * accepted and ignored (virtual links negotiate nothing).
   */
  modifyPort(mod: PortModRequest): PortModResult {
    const port = this.portsByNo.get(mod.portNo);
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
    for (const port of this.portList) this.pollPort(port);
  }

  private pollPort(port: DatapathPort): void {
    if (!this.portsByNo.has(port.portNo)) return;
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

  // ---- configuration ---------------------------------------------------------------------------

  /** SET_CONFIG's fragment handling (flags & OFPC_FRAG.MASK): DROP drops every IP fragment. */
  setFragMode(mode: number): void {
    this.dropFragments = (mode & OFPC_FRAG.MASK) === OFPC_FRAG.DROP;
  }

  // ---- the packet path -------------------------------------------------------------------------

  /** A frame received on a port (also the in-memory ports' entry). */
  private receive(port: DatapathPort, frame: Uint8Array): void {
    if ((port.config & (OFPPC.NO_RECV | OFPPC.PORT_DOWN)) !== 0) {
      port.rxDropped++;
      return;
    }
    port.rxPackets++;
    port.rxBytes += frame.length;
    this.rxOutputs.inPort = port.portNo;
    this.throughTable(frame, port.portNo, this.key, this.layout, this.rxOutputs, true);
  }

  /**
   * The flow table's part of the path: parse into `key`, drop fragments when asked, look up, and
   * run the entry's actions (or report the miss). `owned`: the frame may be rewritten in place.
   */
  private throughTable(frame: Uint8Array, inPort: number, key: FlowKey, into: FrameLayout, outputs: Outputs, owned: boolean): void {
    const layout = parseFrame(frame, inPort & 0xffff, key, into);
    if (layout.fragment && this.dropFragments) return;
    const entry = this.flowTable.lookup(key, frame.length);
    if (entry === null) {
      this.miss(frame, inPort);
      return;
    }
    runActions(frame, layout, entry.actions, outputs, owned);
  }

  /**
   * Runs `actions` on `frame` as if received on `inPort` (PACKET_OUT and released buffers;
   * `inPort` may be OFPP.NONE or OFPP.CONTROLLER). The frame is not modified.
   */
  execute(frame: Uint8Array, inPort: number, actions: readonly Action[]): void {
    const layout = parseFrame(frame, inPort & 0xffff, newFlowKey());
    const outputs = new Outputs(this, true);
    outputs.inPort = inPort;
    runActions(frame, layout, actions, outputs, false);
  }

  /** OUTPUT:TABLE of a PACKET_OUT: the frame as it is now through the flow table. */
  resubmit(frame: Uint8Array, inPort: number): void {
    // Its own key, layout and outputs: it runs inside another frame's actions.
    const outputs = new Outputs(this, false);
    outputs.inPort = inPort;
    this.throughTable(frame, inPort, newFlowKey(), newFrameLayout(), outputs, false);
  }

  /** Sends a frame out of one port, counting it; NO_FWD and down ports drop it. */
  transmit(portNo: number, frame: Uint8Array): void {
    const port = this.portsByNo.get(portNo);
    if (!port) return;
    if ((port.config & (OFPPC.NO_FWD | OFPPC.PORT_DOWN)) !== 0) {
      port.txDropped++;
      return;
    }
    try {
      port.net.send(frame);
      port.txPackets++;
      port.txBytes += frame.length;
    } catch {
      port.txErrors++;
    }
  }

  /** FLOOD (`flood` true: skipping NO_FLOOD ports) or ALL: every port but the input port. */
  flood(frame: Uint8Array, inPort: number, flood: boolean): void {
    for (const port of this.portList) {
      if (port.portNo === inPort || (flood && !port.floods)) continue;
      this.transmit(port.portNo, frame);
    }
  }

  /** OUTPUT:NORMAL. */
  normal(frame: Uint8Array, layout: FrameLayout, inPort: number): void {
    const port = this.portsByNo.get(inPort);
    const from: BridgePort = port ?? { portNo: inPort, tag: undefined, trunks: undefined, floods: true };
    this.bridge.process(frame, layout, from, this.portList, this.sendToBridgePort, port !== undefined);
  }

  /** OUTPUT:CONTROLLER. */
  toController(frame: Uint8Array, inPort: number, maxLen: number, reason: number): void {
    if (this.packetInDisabled(inPort)) return;
    this.onController?.(frame, inPort, maxLen, reason);
  }

  private miss(frame: Uint8Array, inPort: number): void {
    if (this.packetInDisabled(inPort)) return;
    this.onMiss?.(frame, inPort);
  }

  private packetInDisabled(inPort: number): boolean {
    const port = this.portsByNo.get(inPort);
    return port !== undefined && (port.config & OFPPC.NO_PACKET_IN) !== 0;
  }

  /** Closes every port and stops polling. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    for (const port of this.portList) port.net.close();
    this.portsByNo.clear();
    this.portList = [];
  }
}
