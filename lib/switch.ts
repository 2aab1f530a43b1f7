/**
 * One switch (a bridge, in Open vSwitch's words): the flow table, the datapath with its ports, the
 * agent, the listeners and the controller links, behind the one interface everything else uses:
 * the `ofswitch` command (Switch.start, from its flags), programs embedding a switch
 * (createSwitch), and a configuration daemon running many bridges in one process.
 *
 * Every setter works at run time and changes only what it names: adding or removing a port keeps
 * the flows, the other ports' counters, the connections and what NORMAL learned on other ports;
 * setControllers keeps the links to controllers that stay. As Open vSwitch does, a switch that
 * goes from no controller to some (or back) loses its flows, and a standalone switch without
 * controllers gets the visible `priority=0 actions=NORMAL` flow.
 *
 * A table miss is decided in the datapath: the fail mode (fail-mode.ts) hands the datapath a new
 * miss policy whenever its answer changes, and only 'controller' misses reach the agent.
 *
 * Start-up failures a user can fix (a missing interface, a busy port) are StartErrors naming the
 * culprit; the command turns them into exit status 2.
 *
 * With a flow journal (journal/flow-journal.ts) every change to the table is recorded, and a new
 * switch restores the journal's table in its constructor, before it has ports. The table's
 * configuration is recorded with it (controllers or not, fail mode): the flush that goes with
 * going from no controller to some (or a new fail mode without controllers) happens when the
 * configuration after the restart differs from the recorded one, as it would have happened live,
 * and not merely because a new switch starts without controllers.
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { EventEmitter } from 'eventemitter3';
import { Datapath } from '../datapath/datapath.js';
import { BondSet } from '../datapath/bond-set.js';
import { BondError, checkBondSpec, resolveBonds, type BondSpec } from './bonds.js';
import { DropLog } from '../datapath/drop-record.js';
import type { PacketPath } from '../datapath/packet-path.js';
import { SpanningTreeDriver } from '../datapath/spanning-tree.js';
import type { SpanningTree } from '../stp/tree.js';
import { SpanningTreeError, checkSpanningTreeSpec, resolveSpanningTree, type SpanningTreeSpec } from './spanning-tree.js';
import { MAX_MIRRORS, MirrorSet, type MirrorCounters, type MirrorRule } from '../datapath/mirror.js';
import type { MacTableOptions, MacTableStats } from '../datapath/mac-table.js';
import { VLAN_MODES, macFromNumber, type VlanMode } from '../datapath/normal.js';
import { createPort, portType, type PortDeviceOf } from '../datapath/ports/factory.js';
import type { NetPort } from '../datapath/ports/net-port.js';
import { PatchPort } from '../datapath/ports/patch-port.js';
import { TunnelPort } from '../datapath/ports/tunnel-port.js';
import { egressPolicing, ingressPolicing, type BucketSettings, type Policer, type PolicerDirection } from '../datapath/policer.js';
import { PortError, type PortOptions } from '../datapath/ports/port-type.js';
import { FlowTable } from '../flowtable/flow-table.js';
import type { RemovedFlow } from '../flowtable/flow-entry.js';
import { FlowJournal, JournalError, type OpenResult } from '../journal/flow-journal.js';
import { DEFAULT_MAX_CONNECTIONS, INGRESS_POLICING_MAX, MATCH_ALL, OFP_NO_BUFFER, OFP_VERSION, OFPAT, OFPFC, OFPP, OFPPMFC, OFPST, OFPT, OFPTT } from '../protocol/index.js';
import type { FlowMod, FlowStats, FlowStatsRequest, PhyPort, PortStats } from '../protocol/index.js';
import { Agent, type AgentDatapath, type AgentFlowTable } from './agent.js';
import { agentQueues } from './queue-requests.js';
import { PortQos } from '../qos/port-qos.js';
import type { ClassCounters, HtbPlan, HtbSettings } from '../qos/htb.js';
import type { PacketInKind, PacketInLimits } from './packet-in-scheduler.js';
import { Connection, type ConnectionHandler } from './connection.js';
import { ControllerLink, controllerName, type ControllerLinkState } from './controller-link.js';
import { FailModeState, type MissPolicy } from './fail-mode.js';
import { FlowSpecError, flowModFrom, matchFrom, type FlowMatchSpec, type FlowSpec } from './flow-spec.js';
import { ListenError, listen, listenerRisk, type Listener } from './listener.js';
import { silentLogger, type Logger } from './log.js';
import { SflowAgent, SflowError, agentAddress, sflowConfig, type SflowSettings } from '../sflow/index.js';
import { NetflowError, NetflowExporter, netflowConfig, type NetflowSettings } from '../netflow/index.js';
import { IpfixError, IpfixExporter, ipfixConfig, type IpfixSettings } from '../ipfix/index.js';
import type { FlowAccounting } from '../datapath/flow-accounting.js';
import { readFileSync } from 'node:fs';
import { bfdSettings, cfmSettings, LinkMonitor, OamError } from '../oam/index.js';
import { DEFAULT_PROBE_INTERVAL_MS, parseController, parseDpid, parseListen, type Endpoint, type FailMode, type ListenEndpoint, type SwitchOptions } from './options.js';
import { TlsConfig, TlsError } from './tls-config.js';

export class StartError extends Error {
  override readonly name = 'StartError';
}

/** A mirror's settings that no bridge could apply (a VLAN out of range, a duplicate id). */
export class MirrorError extends Error {
  override readonly name = 'MirrorError';
}

/**
 * One port mirror, as Open vSwitch's Mirror table has it (vswitch.xml); ports by name. Exactly one
 * of outputPort and outputVlan should be given (see setMirrors for what happens otherwise).
 */
export interface MirrorSpec {
  /** What keeps its counters across reconfigurations (the Mirror row's UUID); default: `name`. */
  readonly id?: string;
  readonly name: string;
  /** Every frame entering or leaving by any port (select_all). */
  readonly selectAll?: boolean;
  /** Frames entering by these ports (select_src_port). */
  readonly selectSrcPorts?: readonly string[];
  /** Frames leaving by these ports (select_dst_port). */
  readonly selectDstPorts?: readonly string[];
  /** Only frames in these VLANs, 0..4095 (select_vlan; empty: every VLAN). */
  readonly selectVlans?: readonly number[];
  /** SPAN: the port the copies go to, reserved for them (output_port). */
  readonly outputPort?: string;
  /** RSPAN: the VLAN, 1..4095, the copies are tagged with and flooded on (output_vlan). */
  readonly outputVlan?: number;
}

/** A configured mirror: whether it runs (its output exists) and its counters (Mirror `statistics`). */
export interface MirrorView {
  readonly id: string;
  readonly name: string;
  readonly active: boolean;
  readonly txPackets: number;
  readonly txBytes: number;
}

const mirrorId = (spec: MirrorSpec): string => spec.id ?? spec.name;

/** A MirrorError for values no bridge could apply. */
function checkMirrorSpec(spec: MirrorSpec): void {
  if (typeof spec.name !== 'string') throw new MirrorError('a mirror needs a name');
  const vid = (v: unknown, min: number): boolean => Number.isInteger(v) && (v as number) >= min && (v as number) <= 4095;
  const badVlan = spec.selectVlans?.find((v) => !vid(v, 0));
  if (badVlan !== undefined) throw new MirrorError(`mirror ${spec.name}: select_vlan ${badVlan} is not a VLAN (0..4095)`);
  if (spec.outputVlan !== undefined && !vid(spec.outputVlan, 1)) throw new MirrorError(`mirror ${spec.name}: output_vlan ${spec.outputVlan} is not 1..4095`);
}

/** The `priority=0 actions=NORMAL` entry a standalone switch without controllers shows. */
export const NORMAL_FLOW: FlowMod = {
  version: OFP_VERSION,
  type: OFPT.FLOW_MOD,
  xid: 0,
  match: MATCH_ALL,
  cookie: 0n,
  command: OFPFC.ADD,
  idleTimeout: 0,
  hardTimeout: 0,
  priority: 0,
  bufferId: OFP_NO_BUFFER,
  outPort: OFPP.NONE,
  flags: 0,
  actions: [{ type: OFPAT.OUTPUT, port: OFPP.NORMAL, maxLen: 0 }],
};

/** Every flow of the table: what a flush and a full dump select. */
const ALL_FLOWS: FlowStatsRequest = {
  version: OFP_VERSION,
  type: OFPT.STATS_REQUEST,
  xid: 0,
  flags: 0,
  statsType: OFPST.FLOW,
  match: MATCH_ALL,
  tableId: OFPTT.ALL,
  outPort: OFPP.NONE,
};

/** Datapath id from a MAC, as Open vSwitch derives it: the 48 bits in the low bits. */
export function dpidFromMac(mac: string): bigint {
  return BigInt('0x' + (mac.replaceAll(':', '') || '0'));
}

export interface SwitchConfig {
  /** Datapath id (a bigint, or up to 16 hex digits); default: from the MAC of the first port added. */
  readonly datapathId?: bigint | string;
  /** Without a controller: drop misses, or be a learning switch (default 'standalone'). */
  readonly failMode?: FailMode;
  /** Idle time before a controller connection is probed, and how long fail open waits (ms, default 5000). */
  readonly probeIntervalMs?: number;
  /** Where the switch logs (default: nowhere). */
  readonly logger?: Logger;
  /** How often every port's link is read, in ms (default 250; 0: never). */
  readonly linkPollMs?: number;
  /**
   * Packet-in limits of every connection without its own (listeners' connections, controllers
   * without rateLimit): see lib/packet-in-scheduler.ts; default 10,000/s, burst a quarter.
   */
  readonly packetInLimits?: PacketInLimits;
  /**
   * The flow journal's file (journal/flow-journal.ts): the table is restored from it at once and
   * every change is recorded in it. A file that is not a journal, or cannot be written, throws.
   */
  readonly flowJournal?: string;
  /** The key, certificate and CA for `ssl:` controllers and `pssl:` listeners (tls-config.ts); may be shared by switches. */
  readonly tls?: TlsConfig;
  /**
   * Connections the listeners accept at once (default DEFAULT_MAX_CONNECTIONS, 1000); past it a
   * new one is closed at once, with a log line. Controller connections do not count.
   */
  readonly maxConnections?: number;
}

/** How a listener's connections are probed (addListener). */
export interface ListenerSettings {
  /** Echo a connection idle this long (ms), close it silent as long again; 0: never. Default: the switch's probe interval. */
  readonly probeIntervalMs?: number;
}

/** While connections are refused for the cap, at most one log line this often (ms). */
const REFUSAL_LOG_INTERVAL_MS = 10_000;

export interface PortConfig<T extends string = string> {
  /** The interface's name (a Linux interface for "system" and "internal"). */
  readonly name: string;
  /** "system" (default, also ""), "internal", "memory", "patch", or a type registered later. */
  readonly type?: T;
  /** OpenFlow port number (1..65279, or 'local' / 0xfffe for the LOCAL port); default the lowest free one. */
  readonly ofport?: number | 'local';
  /** For NORMAL, as the Port table's columns: see PortVlanSettings. */
  readonly tag?: number;
  readonly trunks?: readonly number[];
  readonly vlanMode?: VlanMode;
  /** Options of the port type (memory: mac, speed; patch: peer). */
  readonly options?: PortOptions;
}

/**
 * A port's 802.1Q configuration for NORMAL, as Open vSwitch's Port table has it (tag, trunks,
 * vlan_mode); every field left out is empty.
 */
export interface PortVlanSettings {
  /** Access port: its VLAN; native-tagged or native-untagged port: its native VLAN. Ignored by a trunk. */
  readonly tag?: number;
  /** Trunk and native ports: the VLANs carried (empty: all). Ignored by an access port. */
  readonly trunks?: readonly number[];
  /** 'access', 'trunk', 'native-tagged' or 'native-untagged'; default: access with a tag, trunk without. */
  readonly vlanMode?: VlanMode;
}

export interface AddedPort<Device extends NetPort = NetPort> {
  readonly ofport: number;
  readonly description: PhyPort;
  /** The interface itself (a MemoryPort for type "memory": inject frames, read what it sends). */
  readonly device: Device;
}

export interface PortView {
  readonly ofport: number;
  readonly name: string;
  readonly type: string;
  readonly tag: number | undefined;
  readonly trunks: readonly number[] | undefined;
  /** As configured (undefined: the default, access with a tag and trunk without). */
  readonly vlanMode: VlanMode | undefined;
  readonly description: PhyPort;
  readonly stats: PortStats;
  /** The Interface `status` keys its type writes (empty for most types; tunnels: their egress interface). */
  readonly status: ReadonlyMap<string, string>;
}

/** A port's policer as Switch.policing shows it: rate in bytes/s, bucket size in bytes, frames dropped. */
export interface PolicerView {
  readonly rate: number;
  readonly burst: number;
  readonly dropped: number;
}

/** One entry of the NORMAL bridge's MAC table, as `ovs-appctl fdb/show` lists it. */
export interface MacEntry {
  readonly port: number;
  readonly vlan: number;
  readonly mac: string;
  /** Seconds since the address was last seen. */
  readonly age: number;
}

export interface ControllerView {
  /** `tcp:IP:PORT` */
  readonly target: string;
  readonly state: ControllerLinkState;
  /** The OpenFlow handshake is done on its connection. */
  readonly connected: boolean;
  /**
   * While connected: its packet-in counters as OVS's Controller status column names them
   * (packet-in-{action,miss}-{backlog,bypassed,queued,dropped}), and the asynchronous messages its
   * full output queue dropped (packet-in-miss-overflow-dropped, packet-in-action-overflow-dropped,
   * flow-removed-overflow-dropped). Empty when not connected.
   */
  readonly counters: Readonly<Record<string, string>>;
}

/** One kind of packet-in's counters (metrics/): sent, through the rate limit's queue, waiting there, dropped by it or by a full output queue. */
export interface PacketInCounters {
  sent: number;
  queued: number;
  backlog: number;
  rateLimitDropped: number;
  overflowDropped: number;
}

/** The OpenFlow side's counters over every connection the switch had, closed ones included (metrics/). */
export interface OpenflowCounters {
  /** FLOW_MODs received, by command (OFPFC). */
  readonly flowMods: ReadonlyMap<number, number>;
  /** OFPT_ERRORs sent, by type (OFPET, or NXET_VENDOR). */
  readonly errors: ReadonlyMap<number, number>;
  readonly packetIns: Readonly<Record<PacketInKind, PacketInCounters>>;
}

/** The flow table's counters (metrics/): dump-tables' lookups, matched and entries, the microflow cache, the classifier's subtables. */
export interface TableCounters {
  readonly lookups: number;
  readonly matched: number;
  readonly activeCount: number;
  readonly cacheHits: number;
  readonly cacheMisses: number;
  readonly subtables: number;
}

const emptyPacketInCounters = (): PacketInCounters => ({ sent: 0, queued: 0, backlog: 0, rateLimitDropped: 0, overflowDropped: 0 });

export interface ListenerView {
  /** `ptcp:PORT:IP` with the port actually bound, or `punix:PATH`. */
  readonly target: string;
  /** The TCP port bound (0 for a unix socket). */
  readonly port: number;
}

const NO_STATUS: ReadonlyMap<string, string> = new Map();

export interface SwitchEvents {
  /** A port was added (OFPPR.ADD), removed (DELETE) or changed (MODIFY). */
  'port-status': (reason: number, desc: PhyPort) => void;
  /** A controller connection completed its handshake (true) or ended (false); target as controllers() names it. */
  'controller-status': (target: string, connected: boolean) => void;
  /** A bond's active member, a member's state or its LACP state changed (status columns). */
  'bond-status': () => void;
  /** The spanning tree changed a port's role or state. */
  'spanning-tree': () => void;
  /** A port's interface status keys changed (PortView.status: a tunnel's egress interface or its carrier). */
  'interface-status': (name: string) => void;
}

interface PortRecord {
  readonly ofport: number;
  readonly type: string;
  readonly device: NetPort;
}

interface ControllerRecord {
  readonly link: ControllerLink;
  spec: ControllerSpec;
  connected: boolean;
  conn: Connection | null;
}

/** A controller and how to talk to it (the Controller table's columns). */
export interface ControllerSpec {
  /** `tcp:IP[:PORT]` */
  readonly target: string;
  /** Echo the connection after this long idle (ms); 0: never. Default: the switch's probe interval. */
  readonly probeIntervalMs?: number;
  /** The longest wait between connection attempts (ms, default 8000). */
  readonly maxBackoffMs?: number;
  /** controller_rate_limit: packet-ins per second (default: the switch's packetInLimits). */
  readonly rateLimit?: number;
  /** controller_burst_limit: most packet-ins queued (default: a quarter of rateLimit). */
  readonly burstLimit?: number;
}

/** A controller's packet-in limits: its own, else the switch's (its own rate without a burst: a quarter of it). */
function limitsOf(spec: ControllerSpec, fallback: PacketInLimits): PacketInLimits {
  if (spec.rateLimit === undefined) return spec.burstLimit === undefined ? fallback : { ...fallback, burstLimit: spec.burstLimit };
  return { rateLimit: spec.rateLimit, ...(spec.burstLimit !== undefined ? { burstLimit: spec.burstLimit } : {}) };
}

function sameSettings(a: ControllerSpec, b: ControllerSpec): boolean {
  return a.probeIntervalMs === b.probeIntervalMs && a.maxBackoffMs === b.maxBackoffMs;
}

/** The canonical form of a controller target, as controllers() names it (`tcp:IP:PORT`). */
export function canonicalControllerTarget(target: string): string {
  return controllerTarget(parseController(target));
}

/** A controller's target string, as the command line and setControllers spell it (`tcp:` or `ssl:`). */
const controllerTarget = (e: Endpoint): string => controllerName(e);

/** Whether a listener is the one `e` names (a TCP one by the port asked for or the one bound). */
function listensOn(l: Listener, e: ListenEndpoint): boolean {
  if ('path' in e || 'path' in l.endpoint) return 'path' in e && 'path' in l.endpoint && e.path === l.endpoint.path;
  return l.endpoint.host === e.host && (l.endpoint.tls ?? false) === (e.tls ?? false) && (l.endpoint.port === e.port || l.port === e.port);
}

export class Switch {
  /** 'port-status' for every port added, removed or changed (what the connections get as PORT_STATUS). */
  readonly events = new EventEmitter<SwitchEvents>();
  private readonly log: Logger;
  private readonly flowTable: FlowTable;
  private readonly datapath: Datapath;
  private readonly agent: Agent;
  private readonly failModeState: FailModeState;
  private probeIntervalMs: number;
  private readonly packetInLimits: PacketInLimits;
  private readonly tls: TlsConfig | null;
  private dpid: bigint | undefined;
  private readonly portsByName = new Map<string, PortRecord>();
  private readonly listenerList: Listener[] = [];
  /** The connections each listener accepted (closed with it). */
  private readonly accepted = new Map<Listener, Set<Connection>>();
  private readonly controllerLinks = new Map<string, ControllerRecord>();
  private readonly connections = new Set<Connection>();
  private expiryTimer: NodeJS.Timeout | null = null;
  private nextConnectionId = 1;
  private maxConnectionsValue: number;
  /** Connections refused for the cap since the last log line about it, and when that was. */
  private refusedUnlogged = 0;
  private lastRefusalLog = -Infinity;
  private closed = false;
  private readonly journal: FlowJournal | null = null;
  /** Whether the table's flows were made with controllers (what going to or from none flushes). */
  private tableHasControllers = false;
  /** The sFlow agent while sFlow is on. */
  private sflowAgent: SflowAgent | null = null;
  /** The NetFlow exporter while NetFlow is on. */
  private netflowExporter: NetflowExporter | null = null;
  /** The IPFIX bridge exporter while IPFIX is on. */
  private ipfixExporter: IpfixExporter | null = null;
  /** Port mirrors as set, the counters of those that run (by id), and the problems already logged. */
  private mirrorSpecs: readonly MirrorSpec[] = [];
  /** The spanning tree as set (null: none), its driver while it runs, and the problems already logged. */
  private treeSpec: SpanningTreeSpec | null = null;
  private treeDriver: SpanningTreeDriver | null = null;
  private treeProblems = new Set<string>();
  private readonly mirrorCounters = new Map<string, MirrorCounters>();
  private mirrorProblems = new Set<string>();
  /** OpenFlow numbers of the running mirrors' output ports (kept out of the spanning tree). */
  private mirrorOutputs: ReadonlySet<number> = new Set();
  /** The last drops and punts (`ovs-appctl ofswitch/drops`, datapath/drop-record.ts). */
  private readonly drops = new DropLog();
  /** Bonds as given (setBonds), and the datapath's running bonds (null while there are none). */
  private bondSpecs: BondSpec[] = [];
  private bondSetValue: BondSet | null = null;
  private bondProblems = new Set<string>();
  /** Bond members' liveness from CFM or BFD, by interface name (setBondMemberLiveness). */
  private readonly bondLiveness = new Map<string, boolean>();
  /** The ports' egress queues (QoS linux-htb, qos/). */
  private readonly qos = new PortQos();
  /**
   * CFM and BFD on the ports (oam/monitor.ts): setCfm/setBfd by interface name; `live(name)` and
   * the 'liveness' event are what bonds and tunnels read; 'status' says a status column changed.
   */
  readonly monitor: LinkMonitor;
  /** Counters of the connections that closed (openflowCounters adds the open ones). */
  private readonly retiredErrors = new Map<number, number>();
  private readonly retiredPacketIns: Record<PacketInKind, PacketInCounters> = { miss: emptyPacketInCounters(), action: emptyPacketInCounters() };

  constructor(config: SwitchConfig = {}) {
    this.log = config.logger ?? silentLogger;
    this.probeIntervalMs = config.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS;
    if (!(this.probeIntervalMs > 0)) throw new RangeError(`probe interval ${this.probeIntervalMs} ms is not positive`);
    this.packetInLimits = config.packetInLimits ?? {};
    this.tls = config.tls ?? null;
    checkLimits(this.packetInLimits);
    this.maxConnectionsValue = config.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    checkMaxConnections(this.maxConnectionsValue);
    this.dpid = config.datapathId === undefined ? undefined : typeof config.datapathId === 'bigint' ? config.datapathId : parseDpid(config.datapathId);
    this.flowTable = new FlowTable({ now: () => performance.now() });
    let restored: OpenResult | null = null;
    if (config.flowJournal !== undefined) {
      const table = this.flowTable;
      this.journal = new FlowJournal(config.flowJournal, { log: this.log, liveEntries: () => table.size + table.emergencySize });
      restored = this.journal.open(table);
    }
    this.datapath = new Datapath({
      flowTable: this.flowTable,
      onMiss: (frame, inPort) => this.agent.onMiss(frame, inPort),
      onController: (frame, inPort, maxLen, reason) => this.agent.onController(frame, inPort, maxLen, reason),
      drops: this.drops,
      ...(config.linkPollMs !== undefined ? { linkPollMs: config.linkPollMs } : {}),
    });
    const path = this.datapath.path;
    this.monitor = this.linkMonitor();
    // CFM or BFD on a bond member decides whether the bond may use it, as OVS's may_enable_port.
    this.monitor.on('liveness', (name: string, live: boolean | undefined) => this.setBondMemberLiveness(name, live ?? null));
    this.failModeState = new FailModeState({
      mode: config.failMode ?? 'standalone',
      haveControllers: false,
      probeIntervalMs: this.probeIntervalMs,
      onPolicyChange: (policy) => {
        path.missPolicy = policy;
      },
    });
    path.missPolicy = this.failModeState.missPolicy;
    const sw = this;
    this.agent = new Agent({
      get datapathId() {
        return sw.datapathId;
      },
      flowTable: this.agentTable(),
      datapath: this.agentView(),
      failMode: this.failModeState,
      log: this.log,
      onTableChange: () => this.scheduleExpiry(),
      packetInLimits: (conn) => {
        for (const r of this.controllerLinks.values()) if (r.conn === conn) return limitsOf(r.spec, this.packetInLimits);
        return this.packetInLimits;
      },
      ...(this.journal ? { tableDurable: () => this.journal!.written() } : {}),
      drops: this.drops,
    });
    this.datapath.registry.on('port-status', (reason, desc) => {
      this.agent.portStatus(reason, desc);
      this.events.emit('port-status', reason, desc);
    });
    if (restored?.existed) this.restoredTable(restored);
    else this.installNormalFlowIfStandalone();
    this.noteTableConfig();
  }

  /** The ports' CFM and BFD, receiving before the table and sending through the datapath. */
  private linkMonitor(): LinkMonitor {
    const { registry, path } = this.datapath;
    const monitor = new LinkMonitor(
      {
        port: (name) => {
          const r = this.portsByName.get(name);
          const p = r && registry.get(r.ofport);
          if (!p) return undefined;
          // A tunnel's frames come with its key; tunnel and patch ports count data for BFD's forwarding_if_rx.
          if (p.net instanceof TunnelPort) return { ofport: p.portNo, hwAddr: p.link.hwAddr, tunnelKey: p.net.config.key, accountsRx: true };
          return { ofport: p.portNo, hwAddr: p.link.hwAddr, accountsRx: p.net instanceof PatchPort };
        },
        rxPackets: (name) => {
          const r = this.portsByName.get(name);
          return (r && registry.get(r.ofport)?.rxPackets) ?? 0;
        },
        send: (ofport, frame, oam) => {
          const net = oam ? registry.get(ofport)?.net : undefined;
          if (net instanceof TunnelPort) net.withOam(() => path.transmit(ofport, frame));
          else path.transmit(ofport, frame);
        },
        log: (level, message, fields) => this.log[level](message, fields),
      },
      () => performance.now(),
    );
    // Hooked into the packet path only while a session runs: otherwise frames pay nothing for it.
    let unhook: (() => void) | null = null;
    monitor.onActiveChange = (active) => {
      unhook?.();
      unhook = active ? path.addSpecialHandler((portNo, frame) => monitor.intercept(portNo, frame)) : null;
    };
    return monitor;
  }

  /**
   * The table as the agent changes it: with a journal, every change is recorded (FLOW_MODs, and
   * entries that expire).
   */
  private agentTable(): AgentFlowTable {
    const table = this.flowTable;
    const journal = this.journal;
    if (!journal) return table;
    return {
      flowMod: (mod) => {
        const result = table.flowMod(mod);
        journal.flowModApplied(mod, result);
        return result;
      },
      startFlowMod: (mod) => {
        const job = table.startFlowMod(mod);
        // Recorded once the whole FLOW_MOD is applied, with every entry its steps removed (the
        // agent starts no other FLOW_MOD meanwhile, so records stay in the table's order).
        const removed: RemovedFlow[] = [];
        const record = (): void => {
          const result = job.result!;
          journal.flowModApplied(mod, result.ok && removed.length > 0 ? { ...result, removed } : result);
        };
        if (job.done) record();
        return {
          get done() {
            return job.done;
          },
          get result() {
            return job.result;
          },
          step: (limit) => {
            const stepRemoved = job.step(limit);
            for (const r of stepRemoved) removed.push(r);
            if (job.done) record();
            return stepRemoved;
          },
        };
      },
      expire: () => {
        const removed = table.expire();
        if (removed.length > 0) journal.entriesRemoved(removed);
        return removed;
      },
      nextExpiry: () => table.nextExpiry(),
      flowStatsScan: (query) => table.flowStatsScan(query),
      aggregateScan: (query) => table.aggregateScan(query),
      tableStats: () => table.tableStats(),
    };
  }

  /**
   * After the journal's table came back: it was made under the configuration it recorded; a fail
   * mode changed meanwhile, without controllers, starts from an empty table as setFailMode does
   * (controllers that differ are setControllers's to compare).
   */
  private restoredTable(restored: OpenResult): void {
    const recorded = restored.config ?? { controllers: false, failMode: this.failModeState.mode };
    this.tableHasControllers = recorded.controllers;
    if (!recorded.controllers && recorded.failMode !== this.failModeState.mode) {
      this.flowMod({ ...NORMAL_FLOW, command: OFPFC.DELETE, actions: [] });
      this.installNormalFlowIfStandalone();
    }
  }

  /** Tells the journal the configuration the table is now made under. */
  private noteTableConfig(): void {
    this.journal?.configChanged({ controllers: this.tableHasControllers, failMode: this.failModeState.mode });
  }

  /** The datapath as the agent sees it. */
  private agentView(): AgentDatapath {
    const { registry, path } = this.datapath;
    return {
      portDescriptions: () => registry.ports(),
      portStats: (portNo) => registry.portStats(portNo),
      modifyPort: (mod) => {
        const r = registry.modifyPort(mod);
        if (r === 'ok') return { ok: true };
        return { ok: false, code: r === 'bad-port' ? OFPPMFC.BAD_PORT : OFPPMFC.BAD_HW_ADDR };
      },
      execute: (frame, inPort, actions) => path.execute(frame, inPort, actions),
      setFragHandling: (mode) => path.setFragMode(mode),
      queues: agentQueues(this.qos, (portNo) => this.nameOf(portNo)),
    };
  }

  /** The datapath id: as configured, else from the first port's MAC (1 until there is a port). */
  get datapathId(): bigint {
    return this.dpid ?? 1n;
  }

  /** Changes the datapath id (connections see it in their next FEATURES_REPLY). */
  setDatapathId(id: bigint | string): void {
    this.dpid = typeof id === 'bigint' ? id : parseDpid(id);
  }

  // ---- ports -------------------------------------------------------------------------------------

  /**
   * Makes a port of the given type (the port factory) and attaches it; PORT_STATUS ADD goes to the
   * connections. A PortError names what is wrong (an unknown type, a name or number taken, a
   * missing interface).
   */
  addPort<T extends string = 'system'>(config: PortConfig<T>): AddedPort<PortDeviceOf<T>> {
    this.checkOpen();
    const { name } = config;
    if (typeof name !== 'string' || name === '') throw new PortError('a port needs a name');
    const type = portType(config.type ?? 'system').name;
    if (this.portsByName.has(name)) throw new PortError(`port ${name} already exists`);
    const ofport = this.ofportFor(config);
    this.checkVlans(name, config);
    const device = createPort({ name, type, ...(config.options ? { options: config.options } : {}) });
    let description: PhyPort;
    try {
      description = this.datapath.registry.addPort(device, ofport, { tag: config.tag, trunks: config.trunks, vlanMode: config.vlanMode });
    } catch (err) {
      device.close();
      throw err;
    }
    this.portsByName.set(name, { ofport, type, device });
    device.watchStatus?.(() => this.events.emit('interface-status', name));
    this.dpid ??= dpidFromMac(description.hwAddr);
    this.log.debug('port added', { port: name, type, ofport });
    this.ipfixExporter?.portsChanged();
    if (this.mirrorSpecs.length > 0) this.applyMirrors();
    if (this.bondSpecs.length > 0) this.applyBonds();
    if (this.treeSpec !== null) this.applySpanningTree();
    return { ofport, description, device: device as PortDeviceOf<T> };
  }

  private ofportFor(config: PortConfig): number {
    const { name, ofport } = config;
    const registry = this.datapath.registry;
    if (ofport === undefined) {
      let n = 1;
      while (registry.get(n)) n++;
      return n;
    }
    const n = ofport === 'local' ? OFPP.LOCAL : ofport;
    if (!Number.isInteger(n) || (!(n >= 1 && n < OFPP.MAX) && n !== OFPP.LOCAL))
      throw new PortError(`port ${name}: ofport ${String(ofport)} is not 1..${OFPP.MAX - 1} or local`);
    if (registry.get(n)) throw new PortError(`port ${name}: ofport ${n === OFPP.LOCAL ? 'local' : n} is already taken`);
    return n;
  }

  /** Closes and removes a port (by name or OpenFlow number); PORT_STATUS DELETE. False when there is none. */
  removePort(port: string | number): boolean {
    const name = typeof port === 'string' ? port : this.nameOf(port);
    const record = name === undefined ? undefined : this.portsByName.get(name);
    if (name === undefined || !record) return false;
    this.portsByName.delete(name);
    if (this.qos.plan(name)) {
      this.qos.remove(name).catch((err: Error) => this.log.warn('cannot remove the QoS of a removed port', { port: name, err: err.message }));
    }
    this.monitor.removePort(name);
    this.datapath.registry.removePort(record.ofport);
    this.log.debug('port removed', { port: name, ofport: record.ofport });
    this.ipfixExporter?.portsChanged();
    if (this.mirrorSpecs.length > 0) this.applyMirrors();
    if (this.bondSpecs.length > 0) this.applyBonds();
    if (this.treeSpec !== null) this.applySpanningTree();
    return true;
  }

  /**
   * Replaces a port's VLAN configuration for NORMAL (fields left out are emptied; what it learned
   * is forgotten, as OVS does). False when there is no such port.
   */
  setPortVlan(name: string, vlan: PortVlanSettings): boolean {
    const record = this.portsByName.get(name);
    if (!record) return false;
    this.checkVlans(name, vlan);
    this.datapath.registry.setPortVlan(record.ofport, { tag: vlan.tag, trunks: vlan.trunks, vlanMode: vlan.vlanMode });
    this.datapath.path.bridge.forgetPort(record.ofport);
    return true;
  }

  /**
   * Sets a kernel-backed port's MTU (Interface `mtu_request`); a PortError for a port that has
   * none (memory, patch) or a size the kernel refuses. False when there is no such port.
   */
  async setPortMtu(name: string, mtu: number): Promise<boolean> {
    const record = this.portsByName.get(name);
    if (!record) return false;
    if (!record.device.setMtu) throw new PortError(`port ${name}: a ${record.type} port has no MTU to set`);
    try {
      await record.device.setMtu(mtu);
    } catch (err) {
      const detail = (err as { stderr?: unknown }).stderr;
      throw new PortError(`port ${name}: cannot set the MTU to ${mtu}${detail ? `: ${String(detail).trim()}` : ''}`);
    }
    return true;
  }

  /**
   * Gives a port egress queues (QoS type linux-htb: HTB classes on its kernel interface, qos/), or
   * takes them away (null). A PortError for a port without a kernel interface or settings the
   * kernel refuses (the port then has no QoS). False when there is no such port.
   */
  async setPortQos(name: string, settings: HtbSettings | null): Promise<boolean> {
    const record = this.portsByName.get(name);
    if (!record) return false;
    const device = record.device.qdiscDevice;
    if (device === undefined) {
      if (settings === null) return true;
      throw new PortError(`port ${name}: a ${record.type} port has no kernel interface for QoS`);
    }
    const speed = this.datapath.registry.get(record.ofport)?.net.readLink().speedMbps ?? 0;
    try {
      await this.qos.set(name, device, settings, speed);
    } catch (err) {
      throw new PortError(`port ${name}: cannot configure QoS: ${(err as Error).message}`);
    }
    return true;
  }

  /** The kernel interfaces that have a qdisc this switch made (QoS). */
  qosDevices(): string[] {
    return this.qos.devices();
  }

  /** A port's QoS classes as made (root first), or undefined when it has none. */
  portQos(name: string): HtbPlan | undefined {
    return this.qos.plan(name);
  }

  /**
   * What qos/show and qos/show-types read of a port (lib/qos-commands.ts): whether it has a kernel
   * interface for linux-htb, its HTB classes and their queue order, its egress policer, and the
   * kernel's class counters on demand. Undefined when there is no such port.
   */
  qosState(name: string):
    | { kernel: boolean; htb: HtbPlan | undefined; queueOrder: number[]; egress: PolicerView | null; counters(): Promise<Map<number, ClassCounters>> }
    | undefined {
    const record = this.portsByName.get(name);
    if (!record) return undefined;
    return {
      kernel: record.device.qdiscDevice !== undefined,
      htb: this.qos.plan(name),
      queueOrder: this.qos.queueOrder(name),
      egress: this.policing(name)?.egress ?? null,
      counters: () => this.qos.counters(name),
    };
  }

  /**
   * Ingress policing of a port (Interface `ingress_policing_rate` in kbit/s, `ingress_policing_burst`
   * in kbit, 0: 8000), in force for the next frame: frames over the rate are dropped on receive
   * (datapath/policer.ts). Rate 0 switches it off. A PortError for a value OVS's schema refuses
   * (negative, fractional, above 2^32-1). False when there is no such port.
   */
  setIngressPolicing(name: string, kbitsRate: number, kbitsBurst = 0): boolean {
    const record = this.portsByName.get(name);
    if (!record) return false;
    let settings: BucketSettings | null;
    try {
      if (kbitsRate > INGRESS_POLICING_MAX || kbitsBurst > INGRESS_POLICING_MAX) throw new RangeError(`ingress policing ${kbitsRate} kbit/s, burst ${kbitsBurst} kbit: at most ${INGRESS_POLICING_MAX}`);
      settings = ingressPolicing(kbitsRate, kbitsBurst);
    } catch (err) {
      throw new PortError(`port ${name}: ${(err as Error).message}`);
    }
    this.setPolicer(name, record.ofport, 'ingress', settings);
    return true;
  }

  /**
   * The port's egress policer (QoS type `egress-policer`: `cir` bytes/s, `cbs` bytes), or none
   * (null). A PortError unless both are positive integers. False when there is no such port.
   */
  setEgressPolicer(name: string, policer: { readonly cir: number; readonly cbs: number } | null): boolean {
    const record = this.portsByName.get(name);
    if (!record) return false;
    let settings: BucketSettings | null = null;
    try {
      if (policer !== null) settings = egressPolicing(policer.cir, policer.cbs);
    } catch (err) {
      throw new PortError(`port ${name}: ${(err as Error).message}`);
    }
    this.setPolicer(name, record.ofport, 'egress', settings);
    return true;
  }

  private setPolicer(name: string, ofport: number, direction: PolicerDirection, settings: BucketSettings | null): void {
    const before = this.policing(name)?.[direction] ?? null;
    this.datapath.registry.setPolicer(ofport, direction, settings);
    const after = this.policing(name)?.[direction] ?? null;
    if (JSON.stringify({ ...before, dropped: 0 }) !== JSON.stringify({ ...after, dropped: 0 }))
      this.log.info(after ? `${direction} policing set` : `${direction} policing off`, { port: name, ...(after ? { rate: after.rate, burst: after.burst } : {}) });
  }

  /** A port's policers (rate in bytes/s, bucket in bytes, frames dropped), or undefined when there is no such port. */
  policing(port: string | number): { ingress: PolicerView | null; egress: PolicerView | null } | undefined {
    const name = typeof port === 'string' ? port : this.nameOf(port);
    const record = name === undefined ? undefined : this.portsByName.get(name);
    const p = record && this.datapath.registry.get(record.ofport);
    if (!p) return undefined;
    const view = (q: Policer | null): PolicerView | null => (q === null ? null : { rate: q.settings.rate, burst: q.settings.size, dropped: q.dropped });
    return { ingress: view(p.ingressPolicer), egress: view(p.egressPolicer) };
  }

  /** A PortError for a VID outside 0..4095 or an unknown mode; a warning for trunks an implicit access port ignores (as OVS logs). */
  private checkVlans(name: string, vlan: PortVlanSettings): void {
    const vid = (v: number): boolean => Number.isInteger(v) && v >= 0 && v <= 4095;
    if (vlan.tag !== undefined && !vid(vlan.tag)) throw new PortError(`port ${name}: tag ${vlan.tag} is not a VLAN (0..4095)`);
    const bad = vlan.trunks?.find((v) => !vid(v));
    if (bad !== undefined) throw new PortError(`port ${name}: trunk ${bad} is not a VLAN (0..4095)`);
    if (vlan.vlanMode !== undefined && !VLAN_MODES.includes(vlan.vlanMode))
      throw new PortError(`port ${name}: vlan_mode "${String(vlan.vlanMode)}" is not one of ${VLAN_MODES.join(', ')}`);
    if (vlan.vlanMode === undefined && vlan.tag !== undefined && (vlan.trunks?.length ?? 0) > 0)
      this.log.warn('ignoring trunks in favor of implicit vlan', { port: name });
  }

  private nameOf(ofport: number): string | undefined {
    for (const [name, r] of this.portsByName) if (r.ofport === ofport) return name;
    return undefined;
  }

  /** Every port with its description and counters, in port-number order. */
  ports(): PortView[] {
    const registry = this.datapath.registry;
    const views = [...this.portsByName].map(([name, record]) => {
      const p = registry.get(record.ofport)!;
      return {
        ofport: p.portNo,
        name,
        type: record.type,
        tag: p.tag,
        trunks: p.trunks,
        vlanMode: p.vlanMode,
        description: p.describe(),
        stats: p.stats(),
        status: record.device.status?.() ?? NO_STATUS,
      };
    });
    return views.sort((a, b) => a.ofport - b.ofport);
  }

  /** One port by name or number. */
  port(port: string | number): PortView | undefined {
    return this.ports().find((p) => (typeof port === 'string' ? p.name === port : p.ofport === port));
  }

  /** The NORMAL bridge's MAC table (aged entries left out), by port, VLAN and MAC. */
  macTable(): MacEntry[] {
    return this.datapath.path.bridge
      .entries()
      .map((e) => ({ port: e.port, vlan: e.vlan, mac: macFromNumber(e.mac), age: Math.floor(e.ageMs / 1000) }))
      .sort((a, b) => a.port - b.port || a.vlan - b.vlan || (a.mac < b.mac ? -1 : 1));
  }

  /** Forgets every learned address (`ovs-appctl fdb/flush`). */
  flushMacTable(): void {
    this.datapath.path.bridge.flush();
  }

  /**
   * The MAC table's size and idle time (Bridge other_config:mac-table-size and mac-aging-time),
   * clamped as OVS clamps them (10..1,000,000 entries, 15..3600 s); one not given stays as it is.
   * A smaller size expires the least recently seen entries beyond it at once.
   */
  setMacTableOptions(options: MacTableOptions): void {
    this.datapath.path.bridge.macs.configure(options);
  }

  /**
   * What `ofproto/trace` needs (datapath/trace/): the packet path, which it runs as a dry run that
   * changes nothing, and whether a packet-in would reach a controller now.
   */
  traceTarget(): { path: PacketPath; packetInsDelivered(): boolean } {
    const agent = this.agent;
    return {
      path: this.datapath.path,
      packetInsDelivered: () => {
        for (const c of agent.connections) if (agent.receivesAsync(c)) return true;
        return false;
      },
    };
  }

  /** The last frames dropped or sent to a controller (`ovs-appctl ofswitch/drops`). */
  dropLog(): DropLog {
    return this.drops;
  }

  /** The MAC table's size and idle time in force. */
  macTableOptions(): { maxEntries: number; idleSeconds: number } {
    return this.datapath.path.bridge.macs.options;
  }

  /** The MAC table's counters (`ovs-appctl fdb/stats-show`). */
  macTableStats(): MacTableStats {
    return this.datapath.path.bridge.macs.stats();
  }

  /** Zeroes the MAC table's counters (`ovs-appctl fdb/stats-clear`). */
  clearMacTableStats(): void {
    this.datapath.path.bridge.macs.clearStats();
  }

  // ---- spanning tree -----------------------------------------------------------------------------

  /**
   * Runs 802.1D STP or 802.1w RSTP on the bridge's ports (lib/spanning-tree.ts resolves the
   * settings as ovs-vswitchd does; datapath/spanning-tree.ts runs the machine), or none with null.
   * Throws a SpanningTreeError for settings no bridge could take. Re-applied as ports come and go.
   */
  setSpanningTree(spec: SpanningTreeSpec | null): void {
    this.checkOpen();
    if (spec !== null) checkSpanningTreeSpec(spec);
    if (spec === null || (this.treeDriver !== null && this.treeDriver.protocol !== spec.protocol)) {
      this.treeDriver?.close();
      this.treeDriver = null;
    }
    this.treeSpec = spec;
    if (spec !== null) this.applySpanningTree();
  }

  /** The running spanning tree machine (stp/show, rstp/show, status columns), or null. */
  spanningTree(): SpanningTree | null {
    return this.treeDriver?.machine ?? null;
  }

  private applySpanningTree(): void {
    const spec = this.treeSpec;
    if (spec === null) return;
    const registry = this.datapath.registry;
    const candidates = [...this.portsByName].map(([name, r]) => ({
      name, ofport: r.ofport, type: r.type, speedMbps: registry.get(r.ofport)?.link.speedMbps || 10000, mirrorOutput: this.mirrorOutputs.has(r.ofport),
    }));
    const mac = (this.datapathId & 0xffffffffffffn).toString(16).padStart(12, '0').replace(/(..)(?!$)/g, '$1:');
    const problems: string[] = [];
    const { bridge, ports } = resolveSpanningTree(spec, spec.name ?? 'ofswitch', mac, candidates, problems);
    for (const p of problems) if (!this.treeProblems.has(p)) this.log.error(p);
    this.treeProblems = new Set(problems);
    if (this.treeDriver === null) this.treeDriver = new SpanningTreeDriver(this.datapath.path, registry, bridge, ports, () => this.events.emit('spanning-tree'));
    else this.treeDriver.configure(bridge, ports);
  }

  // ---- mirrors -----------------------------------------------------------------------------------

  /**
   * Replaces the bridge's port mirrors (the Bridge `mirrors` column), as ovs-vswitchd's
   * bridge_configure_mirrors applies them, with its log lines: a mirror whose output port is not a
   * port of this switch, or that has no output, is not created (an error); with both, the output
   * VLAN is ignored (an error); a selected port that does not exist is left out (a warning); beyond
   * 32 mirrors the rest are not created. Mirrors are applied again as ports come and go (a mirror
   * whose output port goes stops, and its counters with it). A mirror that stays (same id) keeps its
   * counters. Returns the problems found (each logged once); a MirrorError for values no bridge
   * could apply, and nothing changes then.
   */
  setMirrors(specs: readonly MirrorSpec[]): string[] {
    this.checkOpen();
    const ids = new Set<string>();
    for (const spec of specs) {
      checkMirrorSpec(spec);
      if (ids.has(mirrorId(spec))) throw new MirrorError(`mirror ${mirrorId(spec)} is given twice`);
      ids.add(mirrorId(spec));
    }
    this.mirrorSpecs = [...specs];
    const problems = this.applyMirrors();
    if (this.treeSpec !== null) this.applySpanningTree(); // a mirror output port leaves the tree, or comes back
    return problems;
  }

  /** The mirrors set, with their counters (zero for those that do not run). */
  mirrors(): MirrorView[] {
    return this.mirrorSpecs.map((spec) => {
      const c = this.mirrorCounters.get(mirrorId(spec));
      return { id: mirrorId(spec), name: spec.name, active: c !== undefined, txPackets: c?.txPackets ?? 0, txBytes: c?.txBytes ?? 0 };
    });
  }

  /** Compiles the mirror specs against the ports there are now and hands them to the datapath. */
  private applyMirrors(): string[] {
    const problems: { level: 'error' | 'warn'; text: string }[] = [];
    const rules: MirrorRule[] = [];
    const ofportsOf = (name: string, ports: readonly string[] | undefined): number[] =>
      (ports ?? []).flatMap((p) => {
        const record = this.portsByName.get(p);
        if (record) return [record.ofport];
        problems.push({ level: 'warn', text: `mirror ${name} cannot match on nonexistent port ${p}` });
        return [];
      });
    for (const spec of this.mirrorSpecs) {
      const { name } = spec;
      let outputPort: number | null = null;
      let outputVlan: number | null = null;
      if (spec.outputPort !== undefined) {
        const record = this.portsByName.get(spec.outputPort);
        if (!record) {
          problems.push({ level: 'error', text: `mirror ${name} outputs to port not on bridge` });
          continue;
        }
        outputPort = record.ofport;
        if (spec.outputVlan !== undefined) problems.push({ level: 'error', text: `mirror ${name} specifies both output port and output vlan; ignoring output vlan` });
      } else if (spec.outputVlan !== undefined) {
        outputVlan = spec.outputVlan;
      } else {
        problems.push({ level: 'error', text: `mirror ${name} does not specify output; ignoring` });
        continue;
      }
      if (rules.length >= MAX_MIRRORS) {
        problems.push({ level: 'warn', text: `maximum of ${MAX_MIRRORS} port mirrors reached, cannot create ${name}` });
        continue;
      }
      const selectAll = spec.selectAll === true;
      const id = mirrorId(spec);
      const counters = this.mirrorCounters.get(id) ?? { txPackets: 0, txBytes: 0 };
      rules.push({
        name,
        selectAll,
        srcPorts: selectAll ? [] : ofportsOf(name, spec.selectSrcPorts),
        dstPorts: selectAll ? [] : ofportsOf(name, spec.selectDstPorts),
        vlans: spec.selectVlans ?? [],
        outputPort,
        outputVlan,
        counters,
      });
      this.mirrorCounters.set(id, counters);
    }
    // A mirror that does not run loses its counters, as OVS destroys it.
    const running = new Set(rules.map((r) => r.counters));
    for (const [id, c] of this.mirrorCounters) if (!running.has(c)) this.mirrorCounters.delete(id);
    this.mirrorOutputs = new Set(rules.flatMap((r) => (r.outputPort === null ? [] : [r.outputPort])));
    const path = this.datapath.path;
    path.setMirrors(rules.length > 0 ? new MirrorSet(rules, this.datapath.registry, (portNo, frame) => path.transmit(portNo, frame)) : null);
    const logged = new Set<string>();
    for (const p of problems) {
      logged.add(p.text);
      if (!this.mirrorProblems.has(p.text)) this.log[p.level](p.text);
    }
    this.mirrorProblems = logged;
    return problems.map((p) => p.text);
  }

  // ---- bonds -------------------------------------------------------------------------------------

  /**
   * Replaces the bonds (lib/bonds.ts: a Port's interfaces and its bond and LACP columns). Members
   * must be ports already; a bond with fewer than two is left out (logged, returned). Bonds are
   * applied again as ports come and go; one that stays keeps its state (LACP partner, active
   * member). A BondError for values no bridge could apply, and nothing changes then.
   */
  setBonds(specs: readonly BondSpec[]): string[] {
    this.checkOpen();
    const names = new Set<string>();
    for (const spec of specs) {
      checkBondSpec(spec);
      if (names.has(spec.name)) throw new BondError(`bond ${spec.name} is given twice`);
      names.add(spec.name);
    }
    this.bondSpecs = [...specs];
    return this.applyBonds();
  }

  private applyBonds(): string[] {
    const bridgeMac = Number(this.datapathId & 0xffffffffffffn);
    const { bonds, problems } = resolveBonds(this.bondSpecs, (name) => this.portsByName.get(name)?.ofport, bridgeMac);
    const path = this.datapath.path;
    if (bonds.length > 0 && this.bondSetValue === null) {
      this.bondSetValue = new BondSet({
        registry: this.datapath.registry,
        bridge: path.bridge,
        transmit: (portNo, frame) => path.transmit(portNo, frame),
        liveness: this.bondLiveness,
        onChange: () => this.events.emit('bond-status'),
        log: (text) => this.log.info(text),
      });
      path.setBonds(this.bondSetValue);
    }
    this.bondSetValue?.configure(bonds);
    if (bonds.length === 0 && this.bondSetValue !== null) {
      this.bondSetValue.stop();
      this.bondSetValue = null;
      path.setBonds(null);
    }
    const logged = new Set(problems);
    for (const p of problems) if (!this.bondProblems.has(p)) this.log.warn(p);
    this.bondProblems = logged;
    return problems;
  }

  /** The running bonds (bond/show, lacp/show, status columns); null while there are none. */
  get bondSet(): BondSet | null {
    return this.bondSetValue;
  }

  /**
   * A bond member's liveness from CFM or BFD (the one hook such a source calls): false keeps the
   * member out of its bond, true lets carrier and LACP decide, null: no such source any more.
   */
  setBondMemberLiveness(member: string, up: boolean | null): void {
    const before = this.bondLiveness.get(member);
    if (up === null) this.bondLiveness.delete(member);
    else this.bondLiveness.set(member, up);
    // OVS's port_run hands may_enable to the bond in the same main-loop turn: no wait for the next run.
    if (this.bondLiveness.get(member) !== before) this.bondSetValue?.run();
  }

  // ---- flows -------------------------------------------------------------------------------------

  /** The flow table's counters: packets looked up, packets that hit an entry, entries. */
  lookupStats(): { lookups: number; matched: number; activeCount: number } {
    const [table] = this.flowTable.tableStats();
    return { lookups: Number(table?.lookupCount ?? 0n), matched: Number(table?.matchedCount ?? 0n), activeCount: table?.activeCount ?? 0 };
  }

  /** lookupStats with the microflow cache's hits and misses and the classifier's subtables. */
  tableCounters(): TableCounters {
    const { lookups, matched, activeCount } = this.lookupStats();
    const cache = this.flowTable.cacheStats();
    return { lookups, matched, activeCount, cacheHits: cache.hits, cacheMisses: cache.misses, subtables: this.flowTable.maskCount };
  }

  /** FLOW_MODs, OFPT_ERRORs and packet-ins over every connection so far (the closed ones' counts are kept). */
  openflowCounters(): OpenflowCounters {
    const errors = new Map(this.retiredErrors);
    const packetIns = { miss: { ...this.retiredPacketIns.miss }, action: { ...this.retiredPacketIns.action } };
    for (const conn of this.connections) this.addConnectionCounters(conn, errors, packetIns, true);
    return { flowMods: new Map(this.agent.flowModsReceived()), errors, packetIns };
  }

  private addConnectionCounters(conn: Connection, errors: Map<number, number>, packetIns: Record<PacketInKind, PacketInCounters>, open: boolean): void {
    for (const [type, n] of conn.errorMessagesSent()) errors.set(type, (errors.get(type) ?? 0) + n);
    const sent = conn.asyncMessagesSent();
    const overflow = conn.outputDrops();
    const scheduled = this.agent.packetInStats(conn);
    for (const kind of ['miss', 'action'] as const) {
      const c = packetIns[kind];
      c.sent += sent.get(`packet-in-${kind}`) ?? 0;
      c.overflowDropped += overflow[`packet-in-${kind}`] ?? 0;
      if (!scheduled) continue;
      c.queued += scheduled[kind].queued;
      c.rateLimitDropped += scheduled[kind].dropped;
      if (open) c.backlog += scheduled[kind].backlog;
    }
  }

  /** Adds a flow (or replaces the one with the same match and priority), as a controller's FLOW_MOD ADD would. */
  addFlow(spec: FlowSpec): void {
    this.checkOpen();
    this.flowMod(flowModFrom(spec, OFPFC.ADD));
  }

  /**
   * Deletes the flows `match` covers (all without one); `strict`: only the one with exactly that
   * match and `priority`. Returns how many went.
   */
  deleteFlows(match?: FlowMatchSpec, opts: { strict?: boolean; priority?: number } = {}): number {
    const mod = flowModFrom({ match: match ?? {}, ...(opts.priority !== undefined ? { priority: opts.priority } : {}) }, opts.strict ? OFPFC.DELETE_STRICT : OFPFC.DELETE);
    return this.flowMod(mod);
  }

  /** Every flow with its counters, highest priority first (what `ovs-ofctl dump-flows` shows). */
  dumpFlows(match?: FlowMatchSpec): FlowStats[] {
    return this.flowTable.flowStats(match ? { ...ALL_FLOWS, match: matchFrom(match) } : ALL_FLOWS);
  }

  /** Resolves once every change to the table so far is fdatasync'd (at once without a flow journal). */
  async flowsDurable(): Promise<void> {
    await this.journal?.synced();
  }

  private flowMod(mod: FlowMod): number {
    const result = this.agent.applyFlowMod(mod);
    if (!result.ok) throw new FlowSpecError(`the flow table refused the flow: ${result.reason}`);
    return result.removed.length;
  }

  private installNormalFlowIfStandalone(): void {
    if (!this.failModeState.installsNormalFlow) return;
    const result = this.flowTable.flowMod(NORMAL_FLOW);
    this.journal?.flowModApplied(NORMAL_FLOW, result);
  }

  // ---- fail mode ---------------------------------------------------------------------------------

  get failMode(): FailMode {
    return this.failModeState.mode;
  }

  /** Changes the fail mode at once (a standalone switch without controllers gets the NORMAL flow). */
  setFailMode(mode: FailMode): void {
    if (mode !== 'secure' && mode !== 'standalone') throw new RangeError(`fail mode "${String(mode)}" is neither secure nor standalone`);
    if (mode === this.failModeState.mode) return;
    // As OVS's connmgr: without controllers, a new fail mode starts from an empty table.
    if (this.controllerLinks.size === 0) this.flowMod({ ...NORMAL_FLOW, command: OFPFC.DELETE, actions: [] });
    this.failModeState.setMode(mode);
    this.noteTableConfig();
    this.installNormalFlowIfStandalone();
  }

  /**
   * The idle time before a controller connection is probed, and how long fail open waits, in ms.
   * Connections made from now on use it; those already up keep theirs.
   */
  setProbeInterval(ms: number): void {
    if (!(ms > 0)) throw new RangeError(`probe interval ${ms} ms is not positive`);
    this.probeIntervalMs = ms;
    this.failModeState.setProbeInterval(ms);
  }

  /** What a table miss does now: 'controller', 'normal' (fail open) or 'drop'. */
  get missPolicy(): MissPolicy {
    return this.failModeState.missPolicy;
  }

  // ---- controllers and listeners -----------------------------------------------------------------

  /**
   * Makes the set of controllers (`tcp:IP[:PORT]`) exactly `targets`: links to controllers that
   * stay are left alone, the others are closed, new ones start connecting. Going from none to some
   * (or back) flushes the flows, as Open vSwitch does. Nothing changes when a target is invalid.
   */
  setControllers(targets: readonly (string | ControllerSpec)[]): void {
    this.checkOpen();
    const wanted = new Map<string, { endpoint: Endpoint; spec: ControllerSpec }>();
    for (const t of targets) {
      const spec = typeof t === 'string' ? { target: t } : t;
      const endpoint = parseController(spec.target);
      if (endpoint.tls && !this.tls) throw new RangeError(`${spec.target}: ssl: needs the switch's TLS configuration (SwitchConfig.tls)`);
      checkLimits(spec);
      wanted.set(controllerTarget(endpoint), { endpoint, spec });
    }
    const had = this.controllerLinks.size > 0;
    for (const [key, record] of this.controllerLinks) {
      const next = wanted.get(key);
      if (next && sameSettings(next.spec, record.spec)) {
        // New packet-in limits apply to the connection as it is (OVS: ofconn_set_rate_limit).
        record.spec = next.spec;
        if (record.conn) this.agent.setPacketInLimits(record.conn, limitsOf(record.spec, this.packetInLimits));
        continue;
      }
      record.link.stop();
      record.conn?.close('controller removed');
      this.controllerLinks.delete(key);
      this.log.info('controller removed', { controller: key });
    }
    for (const [key, { endpoint, spec }] of wanted) {
      if (this.controllerLinks.has(key)) continue;
      const probeIntervalMs = spec.probeIntervalMs === undefined ? this.probeIntervalMs : spec.probeIntervalMs > 0 ? spec.probeIntervalMs : null;
      const link = new ControllerLink({
        endpoint,
        log: this.log,
        tls: this.tls,
        ...(spec.maxBackoffMs !== undefined ? { maxBackoffMs: spec.maxBackoffMs } : {}),
        attach: (socket, events) => {
          record.conn = this.accept(socket, 'controller', {
            established: () => {
              record.connected = true;
              events.established();
              this.events.emit('controller-status', key, true);
            },
            closed: () => {
              record.connected = false;
              record.conn = null;
              events.closed();
              this.events.emit('controller-status', key, false);
            },
          }, undefined, probeIntervalMs);
        },
      });
      const record: ControllerRecord = { link, spec, connected: false, conn: null };
      this.controllerLinks.set(key, record);
      link.start();
    }
    const has = this.controllerLinks.size > 0;
    if (had !== has) this.failModeState.setHaveControllers(has);
    if (has !== this.tableHasControllers) {
      this.tableHasControllers = has;
      this.flowMod({ ...NORMAL_FLOW, command: OFPFC.DELETE, actions: [] });
      this.noteTableConfig();
      this.installNormalFlowIfStandalone();
    }
  }

  /** The configured controllers and whether each is connected. */
  controllers(): ControllerView[] {
    return [...this.controllerLinks].map(([target, r]) => ({ target, state: r.link.state, connected: r.connected, counters: this.countersOf(r.conn) }));
  }

  private countersOf(conn: Connection | null): Record<string, string> {
    const packetIn = conn ? this.agent.packetInStatus(conn) : undefined;
    if (!conn || !packetIn) return {};
    const out: Record<string, string> = { ...packetIn };
    for (const kind of ['packet-in-miss', 'packet-in-action', 'flow-removed']) out[`${kind}-overflow-dropped`] = String(conn.outputDrops()[kind] ?? 0);
    return out;
  }

  /**
   * Accepts OpenFlow connections on `ptcp:PORT[:IP]`, `pssl:PORT[:IP]` (PORT 0: any free port; see
   * the result) or `punix:PATH`: service connections, as Open vSwitch calls them (no asynchronous
   * messages until they ask with SET_CONFIG; see agent.ts), probed as `settings` says.
   */
  async addListener(target: string, settings: ListenerSettings = {}): Promise<ListenerView> {
    this.checkOpen();
    if (settings.probeIntervalMs !== undefined && !(settings.probeIntervalMs >= 0))
      throw new RangeError(`probe interval ${settings.probeIntervalMs} ms is negative`);
    return this.listenOn(parseListen(target), settings);
  }

  /** Connections the listeners accept at once; lowering it closes none of those already open. */
  get maxConnections(): number {
    return this.maxConnectionsValue;
  }

  setMaxConnections(n: number): void {
    checkMaxConnections(n);
    this.maxConnectionsValue = n;
  }

  /** Connections the listeners accepted that are open now. */
  get acceptedConnections(): number {
    let n = 0;
    for (const group of this.accepted.values()) n += group.size;
    return n;
  }

  private async listenOn(endpoint: ListenEndpoint, settings: ListenerSettings = {}): Promise<ListenerView> {
    const conns = new Set<Connection>();
    const listener = await listen(
      endpoint,
      (socket) => {
        if (!this.underConnectionCap(socket)) return;
        const probe = settings.probeIntervalMs ?? this.probeIntervalMs;
        this.accept(socket, 'passive', undefined, conns, probe > 0 ? probe : null);
      },
      { tls: this.tls, log: this.log },
    );
    if (this.closed) {
      await listener.close();
      throw new Error('the switch is closed');
    }
    this.listenerList.push(listener);
    this.accepted.set(listener, conns);
    this.log.info('listening', { listen: listener.name });
    const risk = listenerRisk(endpoint);
    if (risk !== null) this.log.warn('listener open to the network without TLS', { listen: listener.name, risk });
    return listenerView(listener);
  }

  /**
   * Stops listening on a target given to addListener (named by the port asked for or the one
   * bound), closing the connections it accepted, as Open vSwitch does with a removed service.
   * False when there is none.
   */
  async removeListener(target: string): Promise<boolean> {
    const e = parseListen(target);
    const i = this.listenerList.findIndex((l) => listensOn(l, e));
    const listener = this.listenerList[i];
    if (!listener) return false;
    this.listenerList.splice(i, 1);
    for (const conn of [...this.accepted.get(listener)!]) conn.close('listener removed');
    this.accepted.delete(listener);
    await listener.close();
    return true;
  }

  listeners(): ListenerView[] {
    return this.listenerList.map(listenerView);
  }

  /** Whether another accepted connection fits under the cap; if not, `socket` is closed and logged. */
  private underConnectionCap(socket: Socket): boolean {
    if (this.acceptedConnections < this.maxConnectionsValue) return true;
    socket.destroy();
    this.refusedUnlogged++;
    const now = Date.now();
    if (now - this.lastRefusalLog >= REFUSAL_LOG_INTERVAL_MS) {
      this.log.warn('connection refused: too many connections', { limit: this.maxConnectionsValue, refused: this.refusedUnlogged });
      this.lastRefusalLog = now;
      this.refusedUnlogged = 0;
    }
    return false;
  }

  private accept(
    socket: Socket,
    kind: 'controller' | 'passive',
    events?: { established(): void; closed(): void },
    group?: Set<Connection>,
    probeIntervalMs: number | null = kind === 'controller' ? this.probeIntervalMs : null,
  ): Connection | null {
    if (this.closed) {
      socket.destroy();
      return null;
    }
    const agent = this.agent;
    const handler: ConnectionHandler = {
      onMessage: (conn, msg, bytes) => agent.onMessage(conn, msg, bytes),
      onActive: (conn) => {
        agent.onActive(conn);
        events?.established();
      },
      onClose: (conn) => {
        this.connections.delete(conn);
        group?.delete(conn);
        this.addConnectionCounters(conn, this.retiredErrors, this.retiredPacketIns, false);
        agent.onClose(conn);
        events?.closed();
      },
    };
    const conn = new Connection(socket, {
      id: this.nextConnectionId++,
      kind,
      handler,
      log: this.log,
      probeIntervalMs,
    });
    if (conn.state === 'closed') return null;
    this.connections.add(conn);
    group?.add(conn);
    return conn;
  }

  /** Runs expiry when the table says the next entry may be due (sub-second precision). */
  private scheduleExpiry(): void {
    if (this.closed) return;
    const next = this.flowTable.nextExpiry();
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    if (next === null) return;
    const delay = Math.min(Math.max(0, next - performance.now()), 1000);
    this.expiryTimer = setTimeout(() => {
      this.expiryTimer = null;
      this.agent.expireFlows();
      this.scheduleExpiry();
    }, delay);
  }

  // ---- sFlow -----------------------------------------------------------------------------------

  /**
   * Starts, changes or (null, or settings that export nothing: no targets, sampling 0) stops sFlow
   * export (sflow/agent.ts), as OVS's sFlow table configures it. `subId` is the sub-agent id (OVS
   * numbers its bridges with sFlow 0, 1, ... in name order). An SflowError for settings that
   * cannot run (a bad target, no agent address); sFlow is then off.
   */
  async setSflow(settings: SflowSettings | null, subId = 0): Promise<void> {
    this.checkOpen();
    this.stopSflow();
    const config = settings === null ? null : sflowConfig(settings);
    if (config === null) return;
    const address = await agentAddress(config);
    if (this.closed) return;
    this.stopSflow(); // a call made meanwhile
    const sw = this;
    const agent = new SflowAgent({
      config,
      agentAddress: address,
      subId,
      bridge: {
        ports: () => sw.ports(),
        get datapathId() {
          return sw.datapathId;
        },
      },
      log: this.log,
    });
    this.sflowAgent = agent;
    this.datapath.path.setSampler(agent);
    this.log.info('sFlow agent started', { agent: address, targets: config.targets.map((t) => `${t.address}:${t.port}`), sampling: config.sampling });
  }

  /** The running sFlow agent's settings and counts, or null when sFlow is off. */
  sflow(): { agent: string; sampling: number; polling: number; header: number; targets: string[]; flowSamples: number; counterSamples: number; datagrams: number } | null {
    const a = this.sflowAgent;
    if (!a) return null;
    const c = a.config;
    return {
      agent: a.agentAddress,
      sampling: c.sampling,
      polling: c.polling,
      header: c.header,
      targets: c.targets.map((t) => (t.family === 6 ? `[${t.address}]:${t.port}` : `${t.address}:${t.port}`)),
      flowSamples: a.flowSamples,
      counterSamples: a.counterSamples,
      datagrams: a.datagramsSent,
    };
  }

  private stopSflow(): void {
    if (!this.sflowAgent) return;
    this.datapath.path.setSampler(null);
    this.sflowAgent.close();
    this.sflowAgent = null;
  }

  // ---- NetFlow ----------------------------------------------------------------------------------

  /**
   * Starts, changes or (null, or no targets) stops NetFlow v5 export (netflow/exporter.ts), as
   * OVS's NetFlow table configures it. A change exports what the old exporter counted first. A
   * NetflowError for settings that cannot run (a bad target or number); NetFlow is then off.
   */
  setNetflow(settings: NetflowSettings | null): void {
    this.checkOpen();
    this.stopNetflow();
    const config = settings === null ? null : netflowConfig(settings);
    if (config === null) return;
    const exporter = new NetflowExporter({ config, log: this.log });
    this.netflowExporter = exporter;
    this.updateAccounting();
    this.log.info('NetFlow export started', { targets: config.targets.map((t) => `${t.address}:${t.port}`), activeTimeout: config.activeTimeoutMs / 1000 });
  }

  /** The running NetFlow exporter's settings and counts, or null when NetFlow is off. */
  netflow(): { targets: string[]; engineType: number; engineId: number; activeTimeout: number; addIdToInterface: boolean; flows: number; records: number; datagrams: number } | null {
    const e = this.netflowExporter;
    if (!e) return null;
    const c = e.config;
    return {
      targets: c.targets.map((t) => (t.family === 6 ? `[${t.address}]:${t.port}` : `${t.address}:${t.port}`)),
      engineType: c.engineType,
      engineId: c.engineId,
      activeTimeout: c.activeTimeoutMs / 1000,
      addIdToInterface: c.addIdToInterface,
      flows: e.flows,
      records: e.records,
      datagrams: e.datagrams,
    };
  }

  private stopNetflow(): void {
    if (!this.netflowExporter) return;
    this.netflowExporter.close();
    this.netflowExporter = null;
    this.updateAccounting();
  }

  // ---- IPFIX -------------------------------------------------------------------------------------

  /**
   * Starts, changes or (null, or no targets) stops the IPFIX bridge exporter (ipfix/exporter.ts),
   * as a Bridge's `ipfix` column and its IPFIX row configure it in OVS. A change exports what the
   * old exporter cached first (flowEndReason forced end). An IpfixError for settings that cannot
   * run; IPFIX is then off.
   */
  setIpfix(settings: IpfixSettings | null): void {
    this.checkOpen();
    this.stopIpfix();
    const config = settings === null ? null : ipfixConfig(settings);
    if (config === null) return;
    this.ipfixExporter = new IpfixExporter({ config, log: this.log, portInfo: (portNo) => this.ipfixPortInfo(portNo) });
    this.updateAccounting();
    this.log.info('IPFIX export started', { targets: config.targets.map((t) => `${t.address}:${t.port}`), sampling: config.sampling, obsDomainId: config.obsDomainId });
  }

  /** The running IPFIX exporter's settings and counts, or null when IPFIX is off. */
  ipfix(): { targets: string[]; sampling: number; obsDomainId: number; obsPointId: number; cacheActiveTimeout: number; cacheMaxFlows: number; samples: number; flows: number; records: number; messages: number; sendErrors: number } | null {
    const e = this.ipfixExporter;
    if (!e) return null;
    const c = e.config;
    return {
      targets: c.targets.map((t) => (t.family === 6 ? `[${t.address}]:${t.port}` : `${t.address}:${t.port}`)),
      sampling: c.sampling,
      obsDomainId: c.obsDomainId,
      obsPointId: c.obsPointId,
      cacheActiveTimeout: c.cacheActiveTimeout,
      cacheMaxFlows: c.cacheMaxFlows,
      samples: e.samples,
      flows: e.flows,
      records: e.records,
      messages: e.messages,
      sendErrors: e.sendErrors,
    };
  }

  private stopIpfix(): void {
    if (!this.ipfixExporter) return;
    this.ipfixExporter.close();
    this.ipfixExporter = null;
    this.updateAccounting();
  }

  /** The interface behind a port for IPFIX records: its name, and its kernel ifindex (0 for other port types). */
  private ipfixPortInfo(portNo: number): { name: string; ifindex: number } | undefined {
    const name = this.nameOf(portNo);
    if (name === undefined) return undefined;
    const type = this.portsByName.get(name)!.type;
    let ifindex = 0;
    if (type === 'system' || type === 'internal') {
      try {
        ifindex = Number(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8').trim()) || 0;
      } catch {
        ifindex = 0; // the interface is gone or not a kernel one: 0, as OVS reports a failed netdev_get_ifindex
      }
    }
    return { name, ifindex };
  }

  /** The datapath's flow accountant: NetFlow's, IPFIX's, both in turn, or none. */
  private updateAccounting(): void {
    const nf = this.netflowExporter;
    const ipfix = this.ipfixExporter;
    let accounting: FlowAccounting | null = nf ?? ipfix;
    if (nf && ipfix) {
      accounting = {
        account(key, frame, l3, l4, out, ports, count): void {
          nf.account(key, frame, l3, l4, out);
          ipfix.account(key, frame, l3, l4, out, ports, count);
        },
      };
    }
    this.datapath.path.setAccounting(accounting);
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('the switch is closed');
  }

  /** Closes connections, controller links, listeners and ports. */
  close(): Promise<void> {
    return this.shutdown(true);
  }

  private async shutdown(logged: boolean): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.failModeState.close();
    this.bondSetValue?.stop();
    this.stopSflow();
    this.stopNetflow();
    this.treeDriver?.close();
    this.treeDriver = null;
    this.stopIpfix();
    this.monitor.close();
    for (const { link } of this.controllerLinks.values()) link.stop();
    for (const conn of [...this.connections]) conn.close('switch stopping');
    await Promise.all(this.listenerList.map((l) => l.close()));
    await this.qos.close();
    this.datapath.close();
    this.portsByName.clear();
    await this.journal?.close();
    if (logged) this.log.info('switch stopped');
  }

  // ---- the ofswitch command ----------------------------------------------------------------------

  /** The command's switch: its ports first, then its listeners, then its controllers. */
  static async start(options: SwitchOptions, log: Logger): Promise<Switch> {
    let sw: Switch;
    try {
      sw = new Switch({
        ...(options.dpid !== undefined ? { datapathId: options.dpid } : {}),
        failMode: options.failMode,
        probeIntervalMs: options.probeIntervalMs,
        logger: log,
        packetInLimits: {
          ...(options.controllerRateLimit !== undefined ? { rateLimit: options.controllerRateLimit } : {}),
          ...(options.controllerBurstLimit !== undefined ? { burstLimit: options.controllerBurstLimit } : {}),
        },
        ...(options.flowJournal !== undefined ? { flowJournal: options.flowJournal } : {}),
        ...(options.tls ? { tls: new TlsConfig(options.tls, log) } : {}),
        ...(options.maxConnections !== undefined ? { maxConnections: options.maxConnections } : {}),
      });
    } catch (err) {
      throw err instanceof JournalError ? new StartError(err.message) : err;
    }
    if (options.macTableSize !== undefined || options.macAgingTime !== undefined) {
      sw.setMacTableOptions({
        ...(options.macTableSize !== undefined ? { maxEntries: options.macTableSize } : {}),
        ...(options.macAgingTime !== undefined ? { idleSeconds: options.macAgingTime } : {}),
      });
    }
    try {
      for (const p of options.ports) {
        sw.addCommandPort(p.name, {
          name: p.name,
          ofport: p.ofport,
          ...(p.tag !== undefined ? { tag: p.tag } : {}),
          ...(p.trunks ? { trunks: p.trunks } : {}),
          ...(p.vlanMode ? { vlanMode: p.vlanMode } : {}),
          ...(p.type !== undefined ? { type: p.type } : {}),
          ...(p.options !== undefined ? { options: p.options } : {}),
        });
        if (p.ingressPolicingRate) sw.setIngressPolicing(p.name, p.ingressPolicingRate, p.ingressPolicingBurst ?? 0);
        if (p.egressPolicer) sw.setEgressPolicer(p.name, p.egressPolicer);
      }
      if (options.local) sw.addCommandPort(options.local, { name: options.local, type: 'internal', ofport: 'local' });
      for (const p of options.ports) sw.startMonitoring(p.name, p.cfm, p.bfd);
      // Files that cannot be used stop the command at once (exit 2), as a busy port does.
      if (sw.tls && [...options.listen, ...options.controllers].some((e) => 'host' in e && e.tls)) sw.tls.material();
      if (options.mirrors !== undefined && options.mirrors.length > 0) {
        const problems = sw.setMirrors(options.mirrors);
        if (problems.length > 0) throw new StartError(problems.join('; '));
      }
      if (options.bonds !== undefined && options.bonds.length > 0) {
        const problems = sw.setBonds(options.bonds);
        if (problems.length > 0) throw new StartError(problems.join('; '));
      }
      for (const [port, settings] of Object.entries(options.qos ?? {})) {
        if (!sw.portsByName.has(port)) throw new StartError(`qos: ${port} is not one of the switch's ports`);
        try {
          await sw.setPortQos(port, settings);
        } catch (err) {
          throw new StartError((err as Error).message);
        }
      }
      for (const endpoint of options.listen) await sw.listenOn(endpoint);
      if (options.sflow !== undefined) await sw.setSflow(options.sflow);
      if (options.netflow !== undefined) sw.setNetflow(options.netflow);
      if (options.spanningTree !== undefined) sw.setSpanningTree(options.spanningTree);
      if (options.ipfix !== undefined) sw.setIpfix(options.ipfix);
    } catch (err) {
      await sw.shutdown(false); // a switch that never started says nothing but why
      throw err instanceof ListenError || err instanceof SflowError || err instanceof NetflowError || err instanceof IpfixError || err instanceof TlsError
        || err instanceof MirrorError || err instanceof BondError || err instanceof SpanningTreeError || err instanceof OamError
        ? new StartError(err.message)
        : err;
    }
    sw.setControllers(options.controllers.map(controllerTarget));
    log.info('switch started', {
      dpid: sw.datapathId.toString(16).padStart(16, '0'),
      ports: sw.ports().map((p) => `${p.ofport}(${p.name})`),
      failMode: options.failMode,
    });
    return sw;
  }

  /** A command port's CFM and BFD (--port NAME,cfm_mpid=N,bfd:enable=true,...); OVS's complaints are logged. */
  private startMonitoring(name: string, cfm: Readonly<Record<string, string>> | undefined, bfd: Readonly<Record<string, string>> | undefined): void {
    const problems: string[] = [];
    const cfmConfig = cfm ? cfmSettings(Number(cfm['cfm_mpid']), cfm, problems) : null;
    const bfdConfig = bfd ? bfdSettings(bfd, problems) : null;
    for (const p of problems) this.log.warn(p, { port: name });
    if (cfmConfig) this.monitor.setCfm(name, cfmConfig);
    if (bfdConfig) this.monitor.setBfd(name, bfdConfig);
  }

  private addCommandPort(name: string, config: PortConfig): void {
    try {
      this.addPort(config);
    } catch (err) {
      if (err instanceof PortError) throw new StartError(err.message);
      throw new StartError(`cannot open port ${name}: ${(err as Error).message}`);
    }
  }

  /** The command's name for close(). */
  stop(): Promise<void> {
    return this.close();
  }
}

export { SflowError, type SflowSettings } from '../sflow/index.js';
export { NetflowError, type NetflowSettings } from '../netflow/index.js';
export { IpfixError, type IpfixSettings } from '../ipfix/index.js';

/** Removing an internal interface a killed switch left behind (the daemon's clean-up at start). */
export { removeInternalPair } from '../datapath/ports/internal-port.js';

/** Creates a switch with no ports, listeners or controllers yet. */
export function createSwitch(config: SwitchConfig = {}): Switch {
  return new Switch(config);
}

function checkMaxConnections(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`connection limit ${n} is not a positive integer`);
}

/** Packet-in limits are positive numbers when given. */
function checkLimits(l: { readonly rateLimit?: number; readonly burstLimit?: number }): void {
  if (l.rateLimit !== undefined && !(l.rateLimit > 0)) throw new RangeError(`packet-in rate limit ${l.rateLimit} is not positive`);
  if (l.burstLimit !== undefined && !(l.burstLimit > 0)) throw new RangeError(`packet-in burst limit ${l.burstLimit} is not positive`);
}

function listenerView(l: Listener): ListenerView {
  return { target: l.name, port: l.port };
}
