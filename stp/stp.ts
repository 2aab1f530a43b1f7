/**
 * IEEE 802.1D-1998 spanning tree (clause 8's procedures, as Open vSwitch's lib/stp.c runs them):
 * root and designated port selection from configuration BPDUs, the blocking -> listening ->
 * learning -> forwarding progression on the forward delay timer, topology change notification
 * (TCN up to the root, TC flag back down, a MAC flush on each side), message age expiry.
 *
 * Timers count 1/256 s ticks as in the BPDUs; `tick(ms)` keeps the remainder, as stp_tick does.
 * Bridge times are clamped as OVS clamps them: hello 1..10 s, max age max(2*(hello+1), 6)..40 s,
 * forward delay max(max age/2+1, 4)..30 s. The bridge's own times count only while it is the
 * root; otherwise the root's times (recorded from its root port) do.
 *
 * Roles (for stp/show, as stp_port_get_role): root, designated, alternate (any other enabled
 * port), disabled. Ports whose link is down are disabled and left out of stp/show.
 */
import { OFPPS, STP_FLAG } from '../protocol/constants.js';
import { bridgeIdDetails, col, stpIdText, type Bpdu, type ConfigBpdu } from './bpdu.js';
import type { SpanningTree, TreeOutputs, TreePortCounters, TreePortSettings } from './tree.js';

export type StpState = 'disabled' | 'listening' | 'learning' | 'forwarding' | 'blocking';
export type StpRole = 'root' | 'designated' | 'alternate' | 'disabled';

const TICKS = 256;
const MESSAGE_AGE_INCREMENT = 1;

class Timer {
  active = false;
  value = 0;
  start(value = 0): void {
    this.value = value;
    this.active = true;
  }
  stop(): void {
    this.active = false;
  }
  /** Advances by `elapsed`; true (and stopped) when it reaches `timeout`. */
  expired(elapsed: number, timeout: number): boolean {
    if (!this.active) return false;
    this.value += elapsed;
    if (this.value < timeout) return false;
    this.active = false;
    return true;
  }
}

interface StpPort {
  readonly key: number;
  settings: TreePortSettings;
  portId: number;
  state: StpState;
  enteredMs: number;
  designatedRoot: bigint;
  designatedCost: number;
  designatedBridge: bigint;
  designatedPort: number;
  topologyChangeAck: boolean;
  configPending: boolean;
  readonly messageAge: Timer;
  readonly forwardDelay: Timer;
  readonly hold: Timer;
  readonly counters: TreePortCounters;
}

export interface StpBridgeSettings {
  readonly name: string;
  /** Priority << 48 | system id. */
  readonly bridgeId: bigint;
  /** Seconds (clamped as OVS clamps them). */
  readonly helloTime?: number;
  readonly maxAge?: number;
  readonly forwardDelay?: number;
}

const clamp = (x: number, min: number, max: number): number => Math.min(Math.max(x, min), max);

/** The bridge times OVS would run with (ms in, 1/256 s ticks out). */
export function stpBridgeTimes(helloS: number, maxAgeS: number, fwdS: number): { hello: number; maxAge: number; fwd: number } {
  const ht = clamp(helloS * 1000, 1000, 10000);
  const ma = clamp(maxAgeS * 1000, Math.max(2 * (ht + 1000), 6000), 40000);
  const fd = clamp(fwdS * 1000, ma / 2 + 1000, 30000);
  const ticks = (ms: number): number => Math.floor((ms * TICKS) / 1000);
  return { hello: ticks(ht), maxAge: ticks(ma), fwd: ticks(fd) };
}

export class Stp implements SpanningTree {
  readonly kind = 'stp';
  readonly name: string;
  generation = 0;
  private readonly out: TreeOutputs;
  private readonly ports = new Map<number, StpPort>();
  private bridgeId: bigint;
  private bridgeHello: number;
  private bridgeMaxAge: number;
  private bridgeFwd: number;
  private designatedRoot: bigint;
  private rootPathCost = 0;
  private rootPort: StpPort | null = null;
  private maxAge: number;
  private helloTime: number;
  private fwdDelay: number;
  private topologyChangeDetected = false;
  private topologyChange = false;
  private readonly hello = new Timer();
  private readonly tcn = new Timer();
  private readonly topologyChangeTimer = new Timer();
  private remainderMs = 0;
  private nowMs = 0;

  constructor(settings: StpBridgeSettings, out: TreeOutputs) {
    this.name = settings.name;
    this.out = out;
    this.bridgeId = settings.bridgeId;
    const t = stpBridgeTimes(settings.helloTime ?? 2, settings.maxAge ?? 20, settings.forwardDelay ?? 15);
    this.bridgeHello = t.hello;
    this.bridgeMaxAge = t.maxAge;
    this.bridgeFwd = t.fwd;
    this.designatedRoot = this.bridgeId;
    this.maxAge = t.maxAge;
    this.helloTime = t.hello;
    this.fwdDelay = t.fwd;
    this.hello.start();
  }

  private get isRoot(): boolean {
    return this.designatedRoot === this.bridgeId;
  }

  private enabledPorts(): StpPort[] {
    return [...this.ports.values()].filter((p) => p.state !== 'disabled');
  }

  private setState(p: StpPort, state: StpState): void {
    if (p.state === state) return;
    p.state = state;
    p.enteredMs = this.nowMs;
    this.generation++;
  }

  // ---- ports ---------------------------------------------------------------------------------

  addPort(key: number, settings: TreePortSettings, enabled: boolean): void {
    this.removePort(key);
    const p: StpPort = {
      key,
      settings,
      portId: ((settings.priority & 0xff) << 8) | (settings.portNum & 0xff),
      state: 'disabled',
      enteredMs: this.nowMs,
      designatedRoot: 0n,
      designatedCost: 0,
      designatedBridge: 0n,
      designatedPort: 0,
      topologyChangeAck: false,
      configPending: false,
      messageAge: new Timer(),
      forwardDelay: new Timer(),
      hold: new Timer(),
      counters: { tx: 0, rx: 0, errors: 0 },
    };
    this.ports.set(key, p);
    this.becomeDesignated(p);
    this.generation++;
    if (enabled) this.enablePort(p);
  }

  removePort(key: number): void {
    const p = this.ports.get(key);
    if (!p) return;
    if (p.state !== 'disabled') this.disablePort(p);
    this.ports.delete(key);
    this.generation++;
  }

  hasPort(key: number): boolean {
    return this.ports.has(key);
  }

  setPortEnabled(key: number, enabled: boolean): void {
    const p = this.ports.get(key);
    if (!p || enabled === (p.state !== 'disabled')) return;
    if (enabled) this.enablePort(p);
    else this.disablePort(p);
  }

  private initializePort(p: StpPort): void {
    this.becomeDesignated(p);
    this.setState(p, 'blocking');
    p.topologyChangeAck = false;
    p.configPending = false;
    p.messageAge.stop();
    p.forwardDelay.stop();
    p.hold.stop();
  }

  private enablePort(p: StpPort): void {
    this.initializePort(p);
    this.portStateSelection();
  }

  private disablePort(p: StpPort): void {
    const wasRoot = this.isRoot;
    this.becomeDesignated(p);
    this.setState(p, 'disabled');
    p.topologyChangeAck = false;
    p.configPending = false;
    p.messageAge.stop();
    p.forwardDelay.stop();
    this.configurationUpdate();
    this.portStateSelection();
    if (this.isRoot && !wasRoot) this.becameRoot();
  }

  // ---- state ---------------------------------------------------------------------------------

  forwarding(key: number): boolean {
    const s = this.ports.get(key)?.state;
    return s === undefined || s === 'forwarding' || s === 'disabled';
  }

  learning(key: number): boolean {
    const s = this.ports.get(key)?.state;
    return s === undefined || s === 'forwarding' || s === 'learning' || s === 'disabled';
  }

  ofState(key: number): number {
    switch (this.ports.get(key)?.state) {
      case 'listening':
        return OFPPS.STP_LISTEN;
      case 'learning':
        return OFPPS.STP_LEARN;
      case 'forwarding':
        return OFPPS.STP_FORWARD;
      case 'blocking':
        return OFPPS.STP_BLOCK;
      default:
        return 0;
    }
  }

  stateOf(key: number): StpState | undefined {
    return this.ports.get(key)?.state;
  }

  roleOf(key: number): StpRole | undefined {
    const p = this.ports.get(key);
    return p && this.role(p);
  }

  private role(p: StpPort): StpRole {
    if (this.rootPort === p) return 'root';
    if (this.isDesignated(p)) return 'designated';
    return p.state === 'disabled' ? 'disabled' : 'alternate';
  }

  // ---- BPDUs ---------------------------------------------------------------------------------

  /**
   * As OVS's stp_received_bpdu: nothing on a disabled port (not even counted); an RST BPDU (type 2)
   * is a BPDU of unexpected type, counted as an error and otherwise ignored (802.1D-1998 knows
   * only configuration and TCN BPDUs); the others count as received.
   */
  receive(key: number, bpdu: Bpdu): void {
    const p = this.ports.get(key);
    if (!p || p.state === 'disabled') return;
    if (bpdu.type === 'rstp') {
      p.counters.errors++;
      return;
    }
    p.counters.rx++;
    if (bpdu.type === 'tcn') {
      if (this.isDesignated(p)) {
        this.topologyChangeDetection();
        p.topologyChangeAck = true;
        this.transmitConfig(p);
      }
      return;
    }
    this.receiveConfig(p, bpdu);
  }

  receiveError(key: number): void {
    const p = this.ports.get(key);
    if (p && p.state !== 'disabled') p.counters.errors++;
  }

  private receiveConfig(p: StpPort, c: ConfigBpdu): void {
    if (c.messageAge >= c.maxAge) return; // expired on its way (as stp_received_config_bpdu drops it)
    if (this.supersedes(p, c)) {
      const wasRoot = this.isRoot;
      p.designatedRoot = c.rootId;
      p.designatedCost = c.rootPathCost;
      p.designatedBridge = c.bridgeId;
      p.designatedPort = c.portId;
      p.messageAge.start(c.messageAge);
      this.configurationUpdate();
      this.portStateSelection();
      if (!this.isRoot && wasRoot) {
        this.hello.stop();
        if (this.topologyChangeDetected) {
          this.topologyChangeTimer.stop();
          this.transmitTcn();
          this.tcn.start();
        }
      }
      if (p === this.rootPort) {
        this.maxAge = c.maxAge;
        this.helloTime = c.helloTime;
        this.fwdDelay = c.forwardDelay;
        this.topologyChange = (c.flags & STP_FLAG.TOPOLOGY_CHANGE) !== 0;
        this.configBpduGeneration();
        if ((c.flags & STP_FLAG.TOPOLOGY_CHANGE_ACK) !== 0) {
          this.topologyChangeDetected = false;
          this.tcn.stop();
        }
        if (this.topologyChange) this.out.flush();
      }
    } else if (this.isDesignated(p)) {
      this.transmitConfig(p);
    }
  }

  private supersedes(p: StpPort, c: ConfigBpdu): boolean {
    if (c.rootId !== p.designatedRoot) return c.rootId < p.designatedRoot;
    if (c.rootPathCost !== p.designatedCost) return c.rootPathCost < p.designatedCost;
    if (c.bridgeId !== p.designatedBridge) return c.bridgeId < p.designatedBridge;
    return c.bridgeId !== this.bridgeId || c.portId <= p.designatedPort;
  }

  private transmitConfig(p: StpPort): void {
    if (p.hold.active) {
      p.configPending = true;
      return;
    }
    const root = this.rootPort;
    const messageAge = this.isRoot || !root ? 0 : root.messageAge.value + MESSAGE_AGE_INCREMENT;
    if (messageAge >= this.maxAge) return;
    let flags = 0;
    if (p.topologyChangeAck) flags |= STP_FLAG.TOPOLOGY_CHANGE_ACK;
    if (this.topologyChange) flags |= STP_FLAG.TOPOLOGY_CHANGE;
    p.topologyChangeAck = false;
    p.configPending = false;
    this.send(p, {
      type: 'config',
      flags,
      rootId: this.designatedRoot,
      rootPathCost: this.rootPathCost,
      bridgeId: this.bridgeId,
      portId: p.portId,
      messageAge,
      maxAge: this.maxAge,
      helloTime: this.helloTime,
      forwardDelay: this.fwdDelay,
    });
    p.hold.start();
  }

  private send(p: StpPort, bpdu: Bpdu): void {
    p.counters.tx++;
    this.out.send(p.key, bpdu);
  }

  private transmitTcn(): void {
    if (this.rootPort) this.send(this.rootPort, { type: 'tcn' });
  }

  private configBpduGeneration(): void {
    for (const p of this.enabledPorts()) if (this.isDesignated(p)) this.transmitConfig(p);
  }

  // ---- selection -----------------------------------------------------------------------------

  private isDesignated(p: StpPort): boolean {
    return p.designatedBridge === this.bridgeId && p.designatedPort === p.portId;
  }

  private becomeDesignated(p: StpPort): void {
    p.designatedRoot = this.designatedRoot;
    p.designatedCost = this.rootPathCost;
    p.designatedBridge = this.bridgeId;
    p.designatedPort = p.portId;
  }

  private configurationUpdate(): void {
    this.rootSelection();
    this.designatedPortSelection();
  }

  private rootSelection(): void {
    let best: StpPort | null = null;
    for (const p of this.enabledPorts()) {
      if (this.isDesignated(p) || p.designatedRoot >= this.bridgeId) continue;
      if (best === null || better(p, best)) best = p;
    }
    this.rootPort = best;
    if (best === null) {
      this.designatedRoot = this.bridgeId;
      this.rootPathCost = 0;
    } else {
      this.designatedRoot = best.designatedRoot;
      this.rootPathCost = best.designatedCost + best.settings.pathCost;
    }
  }

  private designatedPortSelection(): void {
    for (const p of this.enabledPorts()) {
      if (
        this.isDesignated(p) ||
        p.designatedRoot !== this.designatedRoot ||
        this.rootPathCost < p.designatedCost ||
        (this.rootPathCost === p.designatedCost &&
          (this.bridgeId < p.designatedBridge || (this.bridgeId === p.designatedBridge && p.portId <= p.designatedPort)))
      )
        this.becomeDesignated(p);
    }
  }

  private portStateSelection(): void {
    for (const p of this.enabledPorts()) {
      if (p === this.rootPort) {
        p.configPending = false;
        p.topologyChangeAck = false;
        this.makeForwarding(p);
      } else if (this.isDesignated(p)) {
        p.messageAge.stop();
        this.makeForwarding(p);
      } else {
        p.configPending = false;
        p.topologyChangeAck = false;
        this.makeBlocking(p);
      }
    }
  }

  private makeForwarding(p: StpPort): void {
    if (p.state !== 'blocking') return;
    this.setState(p, 'listening');
    p.forwardDelay.start();
  }

  private makeBlocking(p: StpPort): void {
    if (p.state === 'disabled' || p.state === 'blocking') return;
    if (p.state === 'forwarding' || p.state === 'learning') this.topologyChangeDetection();
    this.setState(p, 'blocking');
    p.forwardDelay.stop();
  }

  detectTopologyChange(): void {
    this.topologyChangeDetection();
  }

  private topologyChangeDetection(): void {
    if (this.isRoot) {
      this.topologyChange = true;
      this.topologyChangeTimer.start();
    } else if (!this.topologyChangeDetected) {
      this.transmitTcn();
      this.tcn.start();
    }
    this.topologyChangeDetected = true;
    this.out.flush();
  }

  private becameRoot(): void {
    this.maxAge = this.bridgeMaxAge;
    this.helloTime = this.bridgeHello;
    this.fwdDelay = this.bridgeFwd;
    this.topologyChangeDetection();
    this.tcn.stop();
    this.configBpduGeneration();
    this.hello.start();
  }

  // ---- time ----------------------------------------------------------------------------------

  tick(ms: number): void {
    const total = Math.max(0, ms) + this.remainderMs;
    const elapsed = Math.floor((total * TICKS) / 1000);
    this.remainderMs = total - (elapsed * 1000) / TICKS;
    this.nowMs += Math.max(0, ms);
    if (elapsed === 0) return;
    if (this.hello.expired(elapsed, this.helloTime)) {
      this.configBpduGeneration();
      this.hello.start();
    }
    if (this.tcn.expired(elapsed, this.bridgeHello)) {
      this.transmitTcn();
      this.tcn.start();
    }
    if (this.topologyChangeTimer.expired(elapsed, this.maxAge + this.fwdDelay)) {
      this.topologyChangeDetected = false;
      this.topologyChange = false;
    }
    for (const p of this.enabledPorts()) {
      if (p.messageAge.expired(elapsed, this.maxAge)) {
        const wasRoot = this.isRoot;
        this.becomeDesignated(p);
        this.configurationUpdate();
        this.portStateSelection();
        if (this.isRoot && !wasRoot) this.becameRoot();
      }
    }
    for (const p of this.enabledPorts()) {
      if (p.forwardDelay.expired(elapsed, this.fwdDelay)) {
        if (p.state === 'listening') {
          this.setState(p, 'learning');
          p.forwardDelay.start();
        } else if (p.state === 'learning') {
          this.setState(p, 'forwarding');
          if (this.enabledPorts().some((q) => this.isDesignated(q))) this.topologyChangeDetection();
        }
      }
      if (p.hold.expired(elapsed, TICKS) && p.configPending) this.transmitConfig(p);
    }
  }

  // ---- reports -------------------------------------------------------------------------------

  show(): string {
    const secs = (t: number): number => Math.floor(Math.floor((t * 1000) / TICKS) / 1000);
    let s = `---- ${this.name} ----\nRoot ID:\n`;
    s += bridgeIdDetails(this.designatedRoot, secs(this.bridgeHello), secs(this.bridgeMaxAge), secs(this.bridgeFwd), false);
    if (this.isRoot || !this.rootPort) s += '  This bridge is the root\n';
    else s += `  root-port       ${this.rootPort.settings.name}\n  root-path-cost  ${this.rootPathCost}\n`;
    s += '\nBridge ID:\n';
    s += bridgeIdDetails(this.bridgeId, secs(this.helloTime), secs(this.maxAge), secs(this.fwdDelay), false);
    s += `\n  ${col('Interface', 11)}${col('Role', 11)}${col('State', 11)}${col('Cost', 6)}${col('Pri.Nbr', 8)}\n`;
    s += '  ---------- ---------- ---------- ----- -------\n';
    for (const p of this.enabledPorts()) {
      s += `  ${col(p.settings.name, 11)}${col(this.role(p), 11)}${col(p.state, 11)}${String(p.settings.pathCost).padEnd(6)}${p.portId >> 8}.${p.portId & 0xff}\n`;
    }
    return s + '\n';
  }

  bridgeStatus(): Record<string, string> {
    return {
      stp_bridge_id: stpIdText(this.bridgeId),
      stp_designated_root: stpIdText(this.designatedRoot),
      stp_root_path_cost: String(this.rootPathCost),
    };
  }

  portStatus(key: number): Record<string, string> | null {
    const p = this.ports.get(key);
    if (!p) return null;
    return {
      stp_port_id: String(p.portId),
      stp_role: this.role(p),
      stp_sec_in_state: String(Math.floor((this.nowMs - p.enteredMs) / 1000)),
      stp_state: p.state,
    };
  }

  counters(key: number): TreePortCounters | null {
    return this.ports.get(key)?.counters ?? null;
  }
}

/** Whether `a` offers a better root path than `b` (8.6.8's comparisons). */
function better(a: StpPort, b: StpPort): boolean {
  if (a.designatedRoot !== b.designatedRoot) return a.designatedRoot < b.designatedRoot;
  const ca = a.designatedCost + a.settings.pathCost;
  const cb = b.designatedCost + b.settings.pathCost;
  if (ca !== cb) return ca < cb;
  if (a.designatedBridge !== b.designatedBridge) return a.designatedBridge < b.designatedBridge;
  if (a.designatedPort !== b.designatedPort) return a.designatedPort < b.designatedPort;
  return a.portId < b.portId;
}
