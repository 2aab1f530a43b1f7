/**
 * A bridge's spanning tree on its datapath: runs one protocol machine (stp/stp.ts for 802.1D,
 * stp/rstp.ts for 802.1w) against the real ports, as ofproto-dpif's stp_run / rstp_run do:
 *
 * - BPDUs (frames to 01:80:c2:00:00:00) are taken off the packet path before the flow table (the
 *   BpduGate) on every port, as OVS's process_special takes them, and those received on a port of
 *   the tree handed to the machine; those the machine sends
 *   leave through the port directly (PacketPath.sendBpdu), from the port's own MAC.
 * - After every BPDU and every tick (10 a second) each port's state is pushed to the registry:
 *   forward (frames received go further, outputs to it leave), learn (NORMAL learns from it), and
 *   the OFPPS_STP_* bits of its OpenFlow state, whose change is a PORT_STATUS MODIFY.
 * - A port's link going down or up disables or enables it in the tree; a topology change flushes
 *   NORMAL's MAC table: all of it (STP) or the addresses of the ports the machine names (RSTP);
 *   an RSTP root port change moves the old root port's addresses to the new one (bundle_move).
 * - RSTP's rstp-port-mcheck runs a migration check when it turns true (not a port change: the port
 *   stays in the tree); rstp-ageing-time is handed over without restarting the machine, while a
 *   new force protocol version restarts it (OVS's reinitialize_rstp__).
 *
 * `configure` keeps the machine while the bridge's settings stay and adds or removes only the
 * ports whose settings changed, so adding an unrelated port does not restart the protocol.
 */
import { OFPPR, OFPPS } from '../protocol/constants.js';
import { decodeBpdu, encodeBpdu, isBpduFrame } from '../stp/bpdu.js';
import { Rstp, type RstpPortOptions } from '../stp/rstp.js';
import { Stp } from '../stp/stp.js';
import type { SpanningTree, TreeOutputs, TreePortSettings } from '../stp/tree.js';
import type { BpduGate, PacketPath } from './packet-path.js';
import type { DatapathPort, PortRegistry } from './port-registry.js';

export interface TreeBridgeConfig {
  readonly protocol: 'stp' | 'rstp';
  readonly name: string;
  readonly bridgeId: bigint;
  /** Seconds. */
  readonly helloTime: number;
  readonly maxAge: number;
  readonly forwardDelay: number;
  readonly transmitHoldCount: number;
  /** RSTP: rstp-force-protocol-version (0 or 2); undefined: as it was (2 for a new machine), as OVS ignores other values. */
  readonly forceProtocolVersion?: 0 | 2;
  /** RSTP: rstp-ageing-time (10..1,000,000 s); undefined: as it was (300 for a new machine). Changes no protocol state. */
  readonly ageingTime?: number;
}

export interface TreePortConfig extends TreePortSettings, RstpPortOptions {
  readonly portNo: number;
  /** RSTP: rstp-port-mcheck; turning true starts a migration check (not a change of the port's settings). */
  readonly mcheck?: boolean;
  /**
   * RSTP: rstp-admin-p2p-mac (0 force false, 1 force true, 2 auto); undefined: a value OVS ignores.
   * Applied as lib/rstp.c applies it: only when it differs from the port's admin value, which
   * starts at 0 while the port is point-to-point; so 0 on a new port changes nothing (OVS 3.1).
   */
  readonly adminP2p?: 0 | 1 | 2;
}

const TICK_MS = 100;

export class SpanningTreeDriver implements BpduGate {
  private tree: SpanningTree;
  private bridgeKey: string;
  private readonly portKeys = new Map<number, string>();
  /** Ports whose rstp-port-mcheck is true now (a check runs when it turns true). */
  private readonly mchecks = new Set<number>();
  /** Per port of the tree: rstp-admin-p2p-mac as lib/rstp.c keeps it and the resulting operPointToPointMAC. */
  private readonly p2p = new Map<number, { admin: number; oper: boolean }>();
  private readonly timer: NodeJS.Timeout;
  private last = Date.now();
  private generation = -1;
  private readonly onPortStatus = (reason: number, desc: { portNo: number; state: number }): void => {
    if (reason !== OFPPR.MODIFY || !this.tree.hasPort(desc.portNo)) return;
    this.tree.setPortEnabled(desc.portNo, (desc.state & OFPPS.LINK_DOWN) === 0);
    this.sync();
  };

  /** `onChange`: a port's role or state changed (the status columns are due). */
  private readonly path: PacketPath;
  private readonly registry: PortRegistry;
  private readonly onChange: () => void;

  constructor(path: PacketPath, registry: PortRegistry, bridge: TreeBridgeConfig, ports: readonly TreePortConfig[], onChange: () => void = () => undefined) {
    this.path = path;
    this.registry = registry;
    this.onChange = onChange;
    this.tree = this.makeTree(bridge);
    this.bridgeKey = this.keyOf(bridge);
    this.setPorts(ports);
    path.setBpduGate(this);
    registry.on('port-status', this.onPortStatus);
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
    this.sync();
  }

  get protocol(): 'stp' | 'rstp' {
    return this.tree.kind;
  }

  /** The machine (read by the show commands and the status columns). */
  get machine(): SpanningTree {
    return this.tree;
  }

  /** New settings: the bridge's (a new machine when they changed) and its ports'. */
  configure(bridge: TreeBridgeConfig, ports: readonly TreePortConfig[]): void {
    const key = this.keyOf(bridge);
    if (key !== this.bridgeKey) {
      this.bridgeKey = key;
      this.tree = this.makeTree(bridge);
      this.portKeys.clear();
      this.mchecks.clear();
      this.generation = -1;
    } else if (this.tree instanceof Rstp && bridge.ageingTime !== undefined) {
      this.tree.ageingTime = bridge.ageingTime; // as OVS: set without restarting the protocol
    }
    this.setPorts(ports);
    this.sync();
  }

  /**
   * What restarts the machine when it changes: every bridge setting but the ageing time; a force
   * protocol version left undefined (an invalid value) keeps the running one, as OVS.
   */
  private keyOf(bridge: TreeBridgeConfig): string {
    const current = this.tree instanceof Rstp ? this.tree.forceProtocolVersion : 2;
    const { ageingTime: _ageing, ...rest } = { ...bridge, forceProtocolVersion: bridge.forceProtocolVersion ?? current };
    return JSON.stringify(rest, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  }

  private makeTree(b: TreeBridgeConfig): SpanningTree {
    const out: TreeOutputs = {
      send: (key, bpdu) => {
        const port = this.registry.get(key);
        if (port) this.path.sendBpdu(key, encodeBpdu(macBytes(port.link.hwAddr), bpdu));
      },
      flush: (port) => (port === undefined ? this.path.bridge.flush() : this.path.bridge.forgetPort(port)),
      move: (from, to) => this.path.bridge.movePort(from, to),
    };
    const previous = this.tree as SpanningTree | undefined;
    const version = b.forceProtocolVersion ?? (previous instanceof Rstp ? previous.forceProtocolVersion : 2);
    const ageing = b.ageingTime ?? (previous instanceof Rstp ? previous.ageingTime : undefined);
    return b.protocol === 'stp'
      ? new Stp({ name: b.name, bridgeId: b.bridgeId, helloTime: b.helloTime, maxAge: b.maxAge, forwardDelay: b.forwardDelay }, out)
      : new Rstp({
        name: b.name, bridgeId: b.bridgeId, maxAge: b.maxAge, forwardDelay: b.forwardDelay, transmitHoldCount: b.transmitHoldCount,
        forceProtocolVersion: version, ...(ageing !== undefined ? { ageingTime: ageing } : {}),
      }, out);
  }

  private setPorts(ports: readonly TreePortConfig[]): void {
    const wanted = new Map(ports.map((p) => [p.portNo, p]));
    for (const portNo of [...this.portKeys.keys()]) {
      if (wanted.has(portNo)) continue;
      this.tree.removePort(portNo);
      this.portKeys.delete(portNo);
      this.mchecks.delete(portNo);
      this.p2p.delete(portNo);
      this.registry.setStpState(portNo, true, true, 0);
    }
    for (const p of ports) {
      const { mcheck, adminP2p, ...settingsOnly } = p;
      const key = JSON.stringify(settingsOnly);
      const p2p = this.operP2p(p.portNo, adminP2p);
      if (this.portKeys.get(p.portNo) === key) {
        if (this.tree instanceof Rstp) this.tree.setP2p(p.portNo, p2p);
        this.mcheck(p.portNo, mcheck === true);
        continue;
      }
      const port = this.registry.get(p.portNo);
      if (!port) continue;
      this.portKeys.set(p.portNo, key);
      const up = (port.describe().state & OFPPS.LINK_DOWN) === 0;
      const settings: TreePortSettings = { name: p.name, portNum: p.portNum, priority: p.priority, pathCost: p.pathCost };
      if (this.tree instanceof Rstp) this.tree.addPort(p.portNo, settings, up, { ...(p.adminEdge !== undefined ? { adminEdge: p.adminEdge } : {}), ...(p.autoEdge !== undefined ? { autoEdge: p.autoEdge } : {}), p2p });
      else this.tree.addPort(p.portNo, settings, up);
      this.mchecks.delete(p.portNo);
      this.mcheck(p.portNo, mcheck === true);
    }
  }

  /**
   * operPointToPointMAC of a port after rstp-admin-p2p-mac `wanted`, as lib/rstp.c's
   * rstp_port_set_admin_point_to_point_mac__: a port starts with admin 0 (its zeroed memory) and
   * oper true; a different admin value sets oper (1 true, 0 and 2 false), the same one nothing.
   */
  private operP2p(portNo: number, wanted: 0 | 1 | 2 | undefined): boolean {
    let cur = this.p2p.get(portNo) ?? { admin: 0, oper: true };
    if (wanted !== undefined && wanted !== cur.admin) cur = { admin: wanted, oper: wanted === 1 };
    this.p2p.set(portNo, cur);
    return cur.oper;
  }

  /** rstp-port-mcheck of a port is `on`: a migration check when it turns true. */
  private mcheck(portNo: number, on: boolean): void {
    if (!on) {
      this.mchecks.delete(portNo);
      return;
    }
    if (this.mchecks.has(portNo)) return;
    this.mchecks.add(portNo);
    if (this.tree instanceof Rstp) this.tree.mcheck(portNo);
  }

  takes(port: DatapathPort, frame: Uint8Array): boolean {
    if (!isBpduFrame(frame)) return false;
    if (!this.tree.hasPort(port.portNo)) return true; // consumed on every port while a tree runs, as OVS's process_special
    const bpdu = decodeBpdu(frame);
    if (typeof bpdu === 'string') this.tree.receiveError(port.portNo);
    else this.tree.receive(port.portNo, bpdu);
    this.sync();
    return true;
  }

  private tick(): void {
    const now = Date.now();
    this.tree.tick(now - this.last);
    this.last = now;
    this.sync();
  }

  /** Pushes the ports' states to the registry when the machine changed any. */
  private sync(): void {
    if (this.tree.generation === this.generation) return;
    this.generation = this.tree.generation;
    for (const portNo of this.portKeys.keys()) {
      this.registry.setStpState(portNo, this.tree.forwarding(portNo), this.tree.learning(portNo), this.tree.ofState(portNo));
    }
    this.onChange();
  }

  /** Stops: every port forwards and learns again, without STP bits. */
  close(): void {
    clearInterval(this.timer);
    this.registry.off('port-status', this.onPortStatus);
    this.path.setBpduGate(null);
    for (const portNo of this.portKeys.keys()) this.registry.setStpState(portNo, true, true, 0);
    this.portKeys.clear();
  }
}

function macBytes(mac: string): Uint8Array {
  return Uint8Array.from(mac.split(':').map((h) => parseInt(h, 16)));
}
