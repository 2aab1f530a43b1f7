/**
 * Makes the running bridges match the database, level-triggered, as ovs-vswitchd's
 * bridge_reconfigure() does: given the whole desired configuration (config.ts) it compares it with
 * what runs and changes only the differences, through each Switch's public interface. Applying the
 * same configuration twice changes nothing, so a missed notification or a restart is harmless.
 *
 * Per bridge, in order: create it (a Switch, its management socket `punix:RUNDIR/NAME.mgmt`);
 * remove the interfaces that went away or whose type or options changed; add the new ones (those
 * with an `ofport_request` first, so requests win over numbers given back after a restart); update
 * VLAN roles; fail mode; controllers (active `tcp:`/`ssl:`/`unix:` targets) and services
 * (`ptcp:`/`pssl:`/`punix:` targets, listeners); datapath id; the MAC table's size and idle time;
 * sFlow (the bridge's sFlow row, its sub-agent id the bridge's number among those with sFlow in
 * name order, as bridge.c counts them); NetFlow (the bridge's NetFlow row); port mirrors (Mirror rows, their ports named by the Port
 * rows' first interfaces); bonds (Ports of two or more Interfaces: every interface is an OpenFlow
 * port, and the switch bonds them, lib/bonds.ts); policing (policing.ts). Bridges no longer in the
 * database are closed.
 * name order, as bridge.c counts them); NetFlow (the bridge's NetFlow row); IPFIX (its IPFIX row); port mirrors (Mirror rows, their ports named by the Port
 * rows' first interfaces). Bridges no longer in the database are closed.
 *
 * TLS: one TlsConfig for every bridge, its files those of the SSL row (Open_vSwitch:ssl), set on
 * each reconfiguration; the files are read again by the next connection when they or the row
 * changed, as ovs-vswitchd re-reads them. A `pssl:` service that cannot start (no SSL row yet) is
 * retried at the next reconfiguration, an `ssl:` controller at its next connection attempt.
 *
 * Internal interfaces are recorded in the run directory (internal-record.ts): after its first
 * reconfiguration a restarted daemon deletes those a killed one left that are no longer configured.
 *
 * Interface outcomes (OpenFlow number, or -1 with an error text in OVS's words) are kept per
 * Interface UUID for the status writer (status.ts). A bad row never stops the others: its
 * interface gets the error, everything else is applied.
 *
 * Port numbers: the Interface named after its bridge, of type internal, is LOCAL (65534), as
 * `ovs-vsctl add-br` makes it. Otherwise `ofport_request` when free, else the number the database
 * recorded last time (so a restarted ofswitch gives every port its old number), else one handed
 * out as OVS's ofproto does (allocatePort: round robin in the lower half of the range, a number
 * freed less than an hour ago only when no other is left, so that flows written for a deleted port
 * never apply to the next one). A request already taken still gets a port (with another number),
 * and the `error` column says whose the request was (OVS logs it only: see README). A request
 * changed on a running interface moves it to the new number, as bridge.c does: the interface (and
 * an interface holding that number without having asked for it) is taken out and added again.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_MAX_CONNECTIONS, MAC_DEFAULT_MAX, MAC_ENTRY_DEFAULT_IDLE_TIME, MGMT_PROBE_INTERVAL_MS, OFPP, OFPPS } from '../protocol/constants.js';
import {
  canonicalControllerTarget,
  createSwitch,
  removeInternalPair,
  type MirrorSpec,
  type PortConfig as SwitchPortConfig,
  type PortView,
  type Switch,
  type SwitchConfig,
} from '../lib/switch.js';
import type { Logger } from '../lib/log.js';
import type { BondSpec } from '../lib/bonds.js';
import { TlsConfig } from '../lib/tls-config.js';
import type { BridgeConfig, ControllerConfig, InterfaceConfig, PortConfig, SystemConfig } from './config.js';
import { InternalRecord } from './internal-record.js';
import { QosApplier } from './qos-apply.js';
import { applyPolicing } from './policing.js';
import { bfdSettings, cfmSettings, OamError } from '../oam/index.js';

/** Interface types the daemon creates from database rows ("memory" is for programs, not rows). */
export const DATABASE_PORT_TYPES = ['system', 'internal', 'patch', 'vxlan', 'geneve', 'gre'] as const;

/** What happened to one Interface row. */
export interface InterfaceOutcome {
  readonly bridge: string;
  readonly name: string;
  /** OpenFlow port number, or -1 when the interface could not be made. */
  readonly ofport: number;
  readonly error: string | null;
}

interface RunningInterface {
  readonly config: InterfaceConfig;
  readonly port: PortConfig;
  readonly ofport: number;
  /** The `mtu_request` last applied (null: none asked). */
  mtu: number | null;
  /** The CFM and BFD columns last applied (JSON; undefined: none yet). */
  oamKey?: string;
}

/** One running bridge: its switch and what was applied to it. */
export class RunningBridge {
  readonly name: string;
  readonly uuid: string;
  readonly sw: Switch;
  applied: BridgeConfig | null = null;
  readonly interfaces = new Map<string, RunningInterface>(); // by interface name
  readonly services = new Set<string>(); // listener targets from Controller rows
  mgmtTarget: string | null = null;
  /** The mirrors last given to the switch (JSON), so that a round changing nothing leaves them. */
  appliedMirrors = '[]';
  /** The spanning tree last given to the switch (JSON). */
  appliedSpanningTree = 'null';
  /** The port number allocatePort handed out last, and when each freed number was freed (ms). */
  allocCursor = 0;
  readonly freedAt = new Map<number, number>();
  /** The sFlow settings applied (JSON with the sub-id; null: none, or they failed and are retried). */
  sflowKey: string | null = null;
  /** The NetFlow settings applied (JSON; null: none, or they failed and are retried). */
  netflowKey: string | null = null;
  /** The bonds last given to the switch (JSON). */
  appliedBonds = '[]';
  /** The IPFIX settings applied (JSON; null: none, or they failed and are retried). */
  ipfixKey: string | null = null;

  constructor(name: string, uuid: string, sw: Switch) {
    this.name = name;
    this.uuid = uuid;
    this.sw = sw;
  }

  /** A Controller row's target as the switch names its controller (`tcp:IP:PORT`); itself when not an active target. */
  canonicalTarget(target: string): string {
    try {
      return canonicalControllerTarget(target);
    } catch {
      return target;
    }
  }
}

export interface ReconcilerOptions {
  readonly rundir: string;
  readonly log: Logger;
  /** Default echo interval for controllers without `inactivity_probe` (ms). */
  readonly probeIntervalMs?: number;
  /** Supported port type names (default DATABASE_PORT_TYPES; tests may add "memory"). */
  readonly portTypes?: readonly string[];
  /**
   * ovs-vswitchd's --enable-dummy, for tests: type "dummy" is an in-memory port; with "override",
   * "system" and "internal" interfaces are in-memory ports too (no kernel device made or needed).
   */
  readonly dummy?: 'on' | 'override';
  /** A port's link or a controller connection changed: the status columns need writing. */
  readonly onStatusChange?: () => void;
  /** Settings the daemon adds to each new bridge's switch (its flow journal). */
  readonly switchConfig?: (bridge: string) => Partial<SwitchConfig>;
  /** A bridge the database no longer has (or has anew) was deleted; not called when the daemon stops. */
  readonly onBridgeDeleted?: (bridge: string) => void;
}

const DEFAULT_PROBE_MS = 5000;

/** `could not open network device NAME (REASON)`, as ovs-vswitchd writes it. */
function openError(name: string, reason: string): string {
  return `could not open network device ${name} (${reason})`;
}

function sameInterface(a: InterfaceConfig, b: InterfaceConfig): boolean {
  return a.type === b.type && JSON.stringify(a.options) === JSON.stringify(b.options);
}

function sameVlan(a: PortConfig, b: PortConfig): boolean {
  return a.tag === b.tag && a.vlanMode === b.vlanMode && a.trunks.join(',') === b.trunks.join(',');
}

const isService = (target: string): boolean => target.startsWith('ptcp:') || target.startsWith('pssl:') || target.startsWith('punix:');

export class Reconciler {
  readonly bridges = new Map<string, RunningBridge>();
  /** Outcome of every Interface row of the last reconfiguration, by UUID. */
  readonly outcomes = new Map<string, InterfaceOutcome>();
  private readonly options: ReconcilerOptions;
  private readonly log: Logger;
  private readonly portTypes: ReadonlySet<string>;
  private readonly reported = new Set<string>(); // problems already logged (each is logged once)
  private readonly record: InternalRecord;
  /** Internal interfaces a previous daemon recorded, until the first reconfiguration has dealt with them. */
  private leftovers: string[] | null;
  /** The SSL row's files, shared by every bridge's ssl: and pssl: connections. */
  readonly tls: TlsConfig;
  /** The SSL row last applied, as JSON. */
  private sslRow = 'null';
  /** Port QoS (linux-htb) and its run-directory record (qos-apply.ts). */
  private readonly qos: QosApplier;

  constructor(options: ReconcilerOptions) {
    this.options = options;
    this.log = options.log;
    this.portTypes = new Set([...(options.portTypes ?? DATABASE_PORT_TYPES), ...(options.dummy ? ['dummy'] : [])]);
    this.record = new InternalRecord(options.rundir);
    this.leftovers = this.record.read();
    this.tls = new TlsConfig(null, options.log.child({ module: 'ssl' }));
    this.qos = new QosApplier(options.rundir, options.log);
  }

  /** Applies `config`; resolves when every bridge matches it (listeners bound). */
  async apply(config: SystemConfig): Promise<void> {
    this.applySsl(config.ssl ?? null);
    const seen = new Set<string>();
    for (const p of config.problems) {
      const key = `${p.bridge ?? ''}\0${p.message}`;
      seen.add(key);
      if (!this.reported.has(key)) this.log.warn(p.message, p.bridge ? { bridge: p.bridge } : {});
    }
    this.reported.clear();
    for (const key of seen) this.reported.add(key);

    const wanted = new Map(config.bridges.map((b) => [b.name, b]));
    for (const [name, running] of this.bridges) {
      const want = wanted.get(name);
      if (!want || want.uuid !== running.uuid) {
        await this.removeBridge(running);
        this.options.onBridgeDeleted?.(name);
      }
    }
    // Ports leave their old bridge before any bridge adds them (a port moving between bridges).
    for (const want of config.bridges) {
      const running = this.bridges.get(want.name);
      if (running) this.removeStaleInterfaces(running, want);
    }
    this.outcomes.clear();
    this.sflowSubIds = new Map(config.bridges.filter((b) => b.sflow !== null).map((b, i) => [b.name, i]));
    for (const want of config.bridges) {
      const running = this.bridges.get(want.name) ?? this.createBridge(want);
      await this.applyBridge(running, want);
      applyPolicing(running.sw, config.policing?.get(want.name) ?? []);
    }
    this.recordInternal();
    this.qos.noteRound(this.bridges.values());
    this.notePatchPeers(config);
    for (const uuid of this.lastErrors.keys()) if (!this.outcomes.has(uuid)) this.lastErrors.delete(uuid); // rows gone
  }

  /**
   * A patch interface whose peer is missing (or names another port) runs with its link down, and
   * its `error` says so, as OVS writes it; once both exist (a later round) the error goes.
   */
  private notePatchPeers(config: SystemConfig): void {
    for (const want of config.bridges) {
      const running = this.bridges.get(want.name);
      for (const port of want.ports) {
        const iface = port.interfaces[0];
        const outcome = iface && this.outcomes.get(iface.uuid);
        if (!running || !iface || iface.type !== 'patch' || !outcome || outcome.ofport < 0) continue;
        const state = running.sw.port(iface.name)?.description.state ?? OFPPS.LINK_DOWN;
        const up = (state & OFPPS.LINK_DOWN) === 0;
        const datapath = want.datapathType || 'system';
        const error = up ? null : `No usable peer '${iface.options['peer'] ?? ''}' exists in '${datapath}' datapath.`;
        if (error !== outcome.error) this.outcome(want.name, iface, outcome.ofport, error);
      }
    }
  }

  /** The Interface types rows may name (Open_vSwitch `iface_types`), sorted. */
  interfaceTypes(): string[] {
    return [...this.portTypes].filter((t) => t !== 'memory').sort();
  }

  /** The port type that serves a row's type: the in-memory one for dummy interfaces (--enable-dummy). */
  private deviceType(type: string): string {
    const dummy = this.options.dummy;
    if (dummy && (type === 'dummy' || (dummy === 'override' && (type === 'system' || type === 'internal')))) return 'memory';
    return type;
  }

  /**
   * Closes every bridge (the daemon stopping): their internal interfaces go, and the record says
   * so. A daemon that never reconfigured leaves the record and its leftovers to the next one.
   */
  async close(): Promise<void> {
    for (const running of [...this.bridges.values()]) await this.removeBridge(running);
    if (this.leftovers === null) this.recordInternal();
    this.qos.closed();
  }

  /**
   * Records the internal interfaces that run now (internal-record.ts). After the first
   * reconfiguration, the ones a killed daemon left that the database no longer has are deleted
   * (those it still has were adopted by their ports).
   */
  private recordInternal(): void {
    const names = new Set<string>();
    for (const running of this.bridges.values()) {
      for (const [name, iface] of running.interfaces) if (iface.config.type === 'internal') names.add(name);
    }
    if (this.leftovers) {
      for (const name of this.leftovers) {
        if (!names.has(name) && removeInternalPair(name)) this.log.info('removed an internal interface no longer configured', { interface: name });
      }
      this.leftovers = null;
    }
    try {
      this.record.write(names);
    } catch (err) {
      this.log.warn('cannot record the internal interfaces', { path: this.record.path, err: (err as Error).message });
    }
  }

  private createBridge(want: BridgeConfig): RunningBridge {
    const sw = createSwitch({
      tls: this.tls,
      failMode: want.failMode,
      probeIntervalMs: this.options.probeIntervalMs ?? DEFAULT_PROBE_MS,
      logger: this.log.child({ bridge: want.name }),
      ...(want.datapathId !== null ? { datapathId: want.datapathId } : {}),
      ...this.options.switchConfig?.(want.name),
    });
    const running = new RunningBridge(want.name, want.uuid, sw);
    const notify = this.options.onStatusChange;
    if (notify) {
      sw.events.on('port-status', () => notify());
      sw.events.on('controller-status', () => notify());
      sw.events.on('bond-status', () => notify());
      sw.events.on('spanning-tree', () => notify());
      sw.events.on('interface-status', () => notify());
      sw.monitor.on('status', () => notify());
    }
    this.bridges.set(want.name, running);
    this.log.info('bridge added', { bridge: want.name });
    return running;
  }

  private async removeBridge(running: RunningBridge): Promise<void> {
    this.bridges.delete(running.name);
    await running.sw.close();
    this.log.info('bridge deleted', { bridge: running.name });
  }

  private removeStaleInterfaces(running: RunningBridge, want: BridgeConfig): void {
    const desired = new Map<string, InterfaceConfig>();
    for (const port of want.ports) {
      for (const iface of port.interfaces) desired.set(iface.name, iface); // every member of a bond
    }
    for (const [name, iface] of running.interfaces) {
      const next = desired.get(name);
      if (next && sameInterface(next, iface.config) && next.uuid === iface.config.uuid) {
        const request = next.ofportRequest;
        if (iface.ofport === OFPP.LOCAL || request === null || request === iface.ofport) continue;
        // bridge.c: the request changed. Out with the interface, to come back with its number;
        // out with the one holding that number too, unless it asked for it as well (a duplicate
        // request: both stay as they are).
        const victim = [...running.interfaces.values()].find((i) => i.ofport === request);
        if (victim && desired.get(victim.config.name)?.ofportRequest === request) continue;
        if (victim) this.removeInterface(running, victim.config.name);
      }
      this.removeInterface(running, name);
    }
  }

  private removeInterface(running: RunningBridge, name: string): void {
    const iface = running.interfaces.get(name);
    if (!iface) return;
    running.sw.removePort(name);
    running.interfaces.delete(name);
    running.freedAt.set(iface.ofport, Date.now());
  }

  private async applyBridge(running: RunningBridge, want: BridgeConfig): Promise<void> {
    const before = running.applied;
    if (before === null || before.unsupported.join() !== want.unsupported.join()) {
      for (const column of want.unsupported)
        this.log.warn(`column ${column} is not supported yet: ignored`, { bridge: want.name });
    }
    if (!want.protocols.includes('OpenFlow10') && want.protocols.length > 0 && (before === null || before.protocols.join() !== want.protocols.join())) {
      this.log.error(`protocols ${want.protocols.join(',')} do not include OpenFlow10, the only version ofswitch speaks: serving OpenFlow10 anyway`, {
        bridge: want.name,
      });
    }
    this.applyPorts(running, want);
    this.applyMonitoring(running, want);
    await this.applyMtus(running, want);
    await this.qos.applyBridge(running, want);
    if (running.sw.failMode !== want.failMode) running.sw.setFailMode(want.failMode);
    await this.applyControllers(running, want.controllers);
    if (running.mgmtTarget === null) {
      const target = `punix:${join(this.options.rundir, `${want.name}.mgmt`)}`;
      try {
        // Probed every 60 s, as OVS's bridge.c configures the management socket.
        await running.sw.addListener(target, { probeIntervalMs: MGMT_PROBE_INTERVAL_MS });
        running.mgmtTarget = target;
      } catch (err) {
        this.log.error('cannot listen on the management socket', { bridge: want.name, target, err });
      }
    }
    if (want.datapathId !== null) running.sw.setDatapathId(want.datapathId);
    if (before === null || before.maxConnections !== want.maxConnections) {
      // The largest number other_config can give is no limit at all, as an absurd mac-table-size is the largest.
      running.sw.setMaxConnections(Math.min(want.maxConnections ?? DEFAULT_MAX_CONNECTIONS, 1_000_000));
    }
    if (before === null || before.macTableSize !== want.macTableSize || before.macAgingTime !== want.macAgingTime) {
      running.sw.setMacTableOptions({
        maxEntries: want.macTableSize ?? MAC_DEFAULT_MAX,
        idleSeconds: want.macAgingTime ?? MAC_ENTRY_DEFAULT_IDLE_TIME,
      });
    }
    await this.applySflow(running, want);
    this.applyNetflow(running, want);
    this.applyIpfix(running, want);
    this.applyMirrors(running, want);
    this.applyBonds(running, want);
    this.applySpanningTree(running, want);
    running.applied = want;
  }

  /** stp_enable / rstp_enable and their other_config: handed to the switch when they change (ports coming and going are the switch's to follow). */
  private applySpanningTree(running: RunningBridge, want: BridgeConfig): void {
    const key = JSON.stringify(want.spanningTree);
    if (key === running.appliedSpanningTree) return;
    running.appliedSpanningTree = key;
    try {
      running.sw.setSpanningTree(want.spanningTree);
    } catch (err) {
      this.log.error('spanning tree not applied', { bridge: want.name, err: (err as Error).message });
    }
  }

  /**
   * Ports of two or more interfaces, as bonds (bond-config.ts read their columns), handed to the
   * switch whenever they change (it follows members coming and going itself).
   */
  private applyBonds(running: RunningBridge, want: BridgeConfig): void {
    const specs: BondSpec[] = want.ports
      .filter((p) => p.interfaces.length > 1 && p.bond)
      .map((p) => ({ ...p.bond!, members: p.interfaces.map((i) => i.lacp ?? i.name) }));
    const key = JSON.stringify(specs);
    if (key === running.appliedBonds) return;
    try {
      running.sw.setBonds(specs);
      running.appliedBonds = key;
    } catch (err) {
      this.log.warn('cannot configure bonds', { bridge: want.name, err: (err as Error).message });
    }
  }

  /**
   * The Bridge `mirrors` column: handed to the switch whenever the rows or the bridge's ports
   * change (the switch logs what OVS logs for a mirror it cannot create; each Mirror row's UUID
   * keeps its counters).
   */
  private applyMirrors(running: RunningBridge, want: BridgeConfig): void {
    const ifaceOf = new Map(want.ports.map((p) => [p.name, p.interfaces[0]?.name ?? p.name]));
    const nameOf = (port: string): string => ifaceOf.get(port) ?? port;
    // A bond selected is every member of it (OVS mirrors a bundle).
    const membersOf = (port: string): string[] => want.ports.find((p) => p.name === port && p.interfaces.length > 1)?.interfaces.map((i) => i.name) ?? [nameOf(port)];
    const specs: MirrorSpec[] = want.mirrors.map((m) => ({
      id: m.uuid,
      name: m.name,
      selectAll: m.selectAll,
      selectSrcPorts: m.selectSrcPorts.flatMap(membersOf),
      selectDstPorts: m.selectDstPorts.flatMap(membersOf),
      selectVlans: m.selectVlans,
      ...(m.outputPort !== null ? { outputPort: nameOf(m.outputPort) } : {}),
      ...(m.outputVlan !== null ? { outputVlan: m.outputVlan } : {}),
    }));
    const key = JSON.stringify(specs);
    if (key === running.appliedMirrors) return; // ports coming and going are the switch's to follow
    // The schema keeps VLANs in range and UUIDs are unique: nothing here makes setMirrors throw.
    running.sw.setMirrors(specs);
    running.appliedMirrors = key;
  }

  private applyPorts(running: RunningBridge, want: BridgeConfig): void {
    const pending: { port: PortConfig; iface: InterfaceConfig }[] = [];
    for (const port of want.ports) {
      // A port of two or more interfaces is a bond: each interface is an OpenFlow port (applyBonds).
      for (const iface of port.interfaces) {
        const current = running.interfaces.get(iface.name);
        if (current) {
          let error = this.previousError(iface.uuid);
          if (!sameVlan(current.port, port)) {
            error = this.setVlan(running, port, iface.name);
            running.interfaces.set(iface.name, { ...current, port });
          }
          this.outcome(want.name, iface, current.ofport, error);
          continue;
        }
        pending.push({ port, iface });
      }
    }
    // Requests first, then numbers given back, then the rest (stable by name).
    const rank = (i: InterfaceConfig): number => (i.ofportRequest !== null ? 0 : i.lastOfport !== null ? 1 : 2);
    pending.sort((a, b) => rank(a.iface) - rank(b.iface));
    for (const { port, iface } of pending) this.addInterface(running, want, port, iface);
  }

  private readonly lastErrors = new Map<string, string | null>();
  /** Each bridge's sFlow sub-agent id this round. */
  private sflowSubIds = new Map<string, number>();

  /** The bridge's sFlow row, applied when it changed (a failure is logged and retried next round). */
  private async applySflow(running: RunningBridge, want: BridgeConfig): Promise<void> {
    const row = want.sflow;
    const subId = this.sflowSubIds.get(want.name) ?? 0;
    const key = row === null ? null : JSON.stringify({ ...row, uuid: undefined, subId });
    if (key === running.sflowKey) return;
    running.sflowKey = null;
    try {
      await running.sw.setSflow(row, subId);
      running.sflowKey = key;
    } catch (err) {
      this.log.warn('cannot configure sFlow', { bridge: want.name, err: (err as Error).message });
    }
  }

  /** The bridge's NetFlow row, applied when it changed (a failure is logged and retried next round). */
  private applyNetflow(running: RunningBridge, want: BridgeConfig): void {
    const row = want.netflow;
    const key = row === null ? null : JSON.stringify({ ...row, uuid: undefined });
    if (key === running.netflowKey) return;
    running.netflowKey = null;
    try {
      running.sw.setNetflow(row);
      running.netflowKey = key;
    } catch (err) {
      this.log.warn('cannot configure NetFlow', { bridge: want.name, err: (err as Error).message });
    }
  }

  /** The bridge's IPFIX row, applied when it changed (a failure is logged and retried next round). */
  private applyIpfix(running: RunningBridge, want: BridgeConfig): void {
    const row = want.ipfix;
    const key = row === null ? null : JSON.stringify({ ...row, uuid: undefined });
    if (key === running.ipfixKey) return;
    running.ipfixKey = null;
    try {
      running.sw.setIpfix(row);
      running.ipfixKey = key;
    } catch (err) {
      this.log.warn('cannot configure IPFIX', { bridge: want.name, err: (err as Error).message });
    }
  }

  private previousError(uuid: string): string | null {
    return this.lastErrors.get(uuid) ?? null;
  }

  private addInterface(running: RunningBridge, want: BridgeConfig, port: PortConfig, iface: InterfaceConfig): void {
    const sw = running.sw;
    if (!this.portTypes.has(iface.type)) {
      this.outcome(want.name, iface, -1, openError(iface.name, `type "${iface.type}" is not supported by ofswitch`));
      return;
    }
    const device = this.deviceType(iface.type);
    if (device === 'system' && !existsSync(`/sys/class/net/${iface.name}`)) {
      this.outcome(want.name, iface, -1, openError(iface.name, 'No such device'));
      return;
    }
    const taken = (n: number): PortView | undefined => sw.port(n);
    let ofport: number | 'local' | undefined;
    let note: string | null = null;
    if (iface.name === want.name && iface.type === 'internal') {
      ofport = 'local';
    } else if (iface.ofportRequest !== null) {
      const holder = taken(iface.ofportRequest);
      if (iface.ofportRequest < 1 || iface.ofportRequest >= OFPP.MAX) {
        note = `ofport_request ${iface.ofportRequest} is out of range 1..${OFPP.MAX - 1}`;
      } else if (holder) {
        note = `ofport_request ${iface.ofportRequest} is already used by ${holder.name}`;
      } else {
        ofport = iface.ofportRequest;
      }
    } else if (iface.lastOfport !== null && iface.lastOfport < OFPP.MAX && !taken(iface.lastOfport)) {
      ofport = iface.lastOfport;
    }
    ofport ??= allocatePort(running);
    try {
      const added = sw.addPort({
        name: iface.name,
        type: device,
        ...(ofport !== undefined ? { ofport } : {}),
        ...vlanOf(port),
        ...(Object.keys(iface.options).length > 0 ? { options: iface.options } : {}),
      });
      running.interfaces.set(iface.name, { config: iface, port, ofport: added.ofport, mtu: null });
      running.freedAt.delete(added.ofport);
      if (note) this.log.warn(`${note}: port ${iface.name} got ${added.ofport}`, { bridge: want.name });
      this.outcome(want.name, iface, added.ofport, note);
    } catch (err) {
      this.outcome(want.name, iface, -1, openError(iface.name, (err as Error).message)); // logged there
    }
  }

  /**
   * Interface `cfm_mpid`, other_config `cfm_*` and `bfd`: CFM and BFD started, changed or stopped
   * on the interfaces that run (bridge.c's iface_configure_cfm and ofproto_port_set_bfd), when
   * those columns changed (an interface added again starts afresh). What cannot be applied is
   * logged once, as OVS logs it; CFM is then off on that interface.
   */
  private applyMonitoring(running: RunningBridge, want: BridgeConfig): void {
    // Every interface, a bond's members too: their CFM or BFD is the bond's liveness of them.
    for (const iface of want.ports.flatMap((p) => p.interfaces)) {
      const current = running.interfaces.get(iface.name);
      if (!current) continue;
      const other = iface.otherConfig ?? {};
      const key = JSON.stringify([iface.cfmMpid ?? null, Object.entries(other).filter(([k]) => k.startsWith('cfm_')), iface.bfd ?? {}]);
      if (key === current.oamKey) continue;
      current.oamKey = key;
      const problems: string[] = [];
      const cfm = cfmSettings(iface.cfmMpid ?? null, other, problems);
      const bfd = bfdSettings(iface.bfd ?? {}, problems);
      for (const p of problems) this.log.warn(p, { bridge: want.name, port: iface.name });
      try {
        running.sw.monitor.setCfm(iface.name, cfm);
      } catch (err) {
        if (!(err instanceof OamError)) throw err;
        this.log.warn(err.message, { bridge: want.name, port: iface.name });
      }
      running.sw.monitor.setBfd(iface.name, bfd);
    }
  }

  /** Interface `mtu_request`: set when it changes (an interface without one keeps its MTU, as in OVS). */
  private async applyMtus(running: RunningBridge, want: BridgeConfig): Promise<void> {
    for (const port of want.ports) {
      const iface = port.interfaces[0];
      const current = iface && running.interfaces.get(iface.name);
      if (!iface || !current || iface.mtuRequest === null || iface.mtuRequest === current.mtu) continue;
      current.mtu = iface.mtuRequest;
      try {
        await running.sw.setPortMtu(iface.name, iface.mtuRequest);
      } catch (err) {
        this.log.warn('cannot apply mtu_request', { bridge: want.name, port: iface.name, err: (err as Error).message });
      }
    }
  }

  /** Applies a Port row's VLAN columns; the error text when the switch refuses them (the port keeps its old role). */
  private setVlan(running: RunningBridge, port: PortConfig, name: string): string | null {
    try {
      running.sw.setPortVlan(name, vlanOf(port));
      return null;
    } catch (err) {
      const message = (err as Error).message;
      this.log.warn('cannot set the VLAN of a port', { bridge: running.name, port: port.name, err: message });
      return message;
    }
  }

  private outcome(bridge: string, iface: InterfaceConfig, ofport: number, error: string | null): void {
    // An interface that cannot be made is retried every round; its error is logged when it first
    // happens (or changes), as ovs-vswitchd logs "could not open network device ...".
    if (ofport === -1 && error !== null && this.lastErrors.get(iface.uuid) !== error) this.log.warn(error, { bridge, port: iface.name });
    this.outcomes.set(iface.uuid, { bridge, name: iface.name, ofport, error });
    this.lastErrors.set(iface.uuid, error);
  }

  /** The SSL row's files for the next TLS connection (a row without all three files counts as none). */
  private applySsl(ssl: NonNullable<SystemConfig['ssl']> | null): void {
    const row = JSON.stringify(ssl);
    if (row === this.sslRow) return;
    this.sslRow = row;
    const complete = ssl !== null && ssl.privateKey !== '' && ssl.certificate !== '' && ssl.caCert !== '';
    this.tls.setFiles(complete ? { privateKey: ssl.privateKey, certificate: ssl.certificate, caCert: ssl.caCert, bootstrapCaCert: ssl.bootstrapCaCert } : null);
    if (complete) this.log.info('SSL configured', { ...ssl });
    else if (ssl !== null) this.log.warn('SSL row incomplete: private_key, certificate and ca_cert are all needed', { ...ssl });
    else this.log.info('SSL not configured');
  }

  private async applyControllers(running: RunningBridge, controllers: readonly ControllerConfig[]): Promise<void> {
    const active = controllers.filter((c) => {
      if (isService(c.target)) return false;
      try {
        canonicalControllerTarget(c.target);
        return true;
      } catch (err) {
        this.log.warn('controller target not supported: ignored', { bridge: running.name, target: c.target, err: (err as Error).message });
        return false;
      }
    });
    const serviceRows = new Map(controllers.filter((c) => isService(c.target)).map((c) => [c.target, c]));
    const services = new Set(serviceRows.keys());
    try {
      running.sw.setControllers(
        active.map((c) => ({
          target: c.target,
          ...(c.inactivityProbeMs !== null ? { probeIntervalMs: c.inactivityProbeMs } : {}),
          ...(c.maxBackoffMs !== null ? { maxBackoffMs: c.maxBackoffMs } : {}),
          ...(c.rateLimit !== null ? { rateLimit: c.rateLimit } : {}),
          ...(c.burstLimit !== null ? { burstLimit: c.burstLimit } : {}),
        })),
      );
    } catch (err) {
      this.log.warn('cannot set controllers', { bridge: running.name, err: (err as Error).message });
    }
    for (const target of running.services) {
      if (services.has(target)) continue;
      await running.sw.removeListener(target);
      running.services.delete(target);
    }
    for (const target of services) {
      if (running.services.has(target)) continue;
      // Probed as OVS's bridge.c probes a service: inactivity_probe, 5 s by default, 0 never.
      const probe = serviceRows.get(target)?.inactivityProbeMs;
      try {
        await running.sw.addListener(target, probe !== null && probe !== undefined ? { probeIntervalMs: probe } : {});
        running.services.add(target);
      } catch (err) {
        this.log.warn('cannot listen for a controller', { bridge: running.name, target, err: (err as Error).message });
      }
    }
  }
}

/** A Port row's VLAN columns as the switch takes them (it refuses a vlan_mode it lacks, e.g. dot1q-tunnel). */
/** A number freed this recently is reused only when every other one is taken (OVS: an hour). */
const REUSE_AFTER_MS = 60 * 60 * 1000;

/**
 * A port number for an interface that asked for none, as OVS's ofproto alloc_ofp_port hands them
 * out: the next after the last one handed out, in the lower half of the range (the upper half is
 * left to controllers), skipping numbers in use and, while another is left, numbers freed less
 * than an hour ago (then the one freed longest ago). Undefined when every number is in use.
 */
export function allocatePort(running: RunningBridge, now = Date.now()): number | undefined {
  const max = Math.floor(OFPP.MAX / 2);
  const used = new Set(running.sw.ports().map((p) => p.ofport));
  let oldest: number | undefined;
  let oldestAt = Infinity;
  for (let i = 1; i < max; i++) {
    running.allocCursor = running.allocCursor + 1 >= max ? 1 : running.allocCursor + 1;
    const n = running.allocCursor;
    if (used.has(n)) continue;
    const freed = running.freedAt.get(n);
    if (freed === undefined || freed < now - REUSE_AFTER_MS) return n;
    if (freed < oldestAt) {
      oldestAt = freed;
      oldest = n;
    }
  }
  return oldest;
}

function vlanOf(port: PortConfig): Pick<SwitchPortConfig, 'tag' | 'trunks' | 'vlanMode'> {
  return {
    ...(port.tag !== null ? { tag: port.tag } : {}),
    ...(port.trunks.length > 0 ? { trunks: port.trunks } : {}),
    ...(port.vlanMode !== null ? { vlanMode: port.vlanMode as SwitchPortConfig['vlanMode'] } : {}),
  };
}
