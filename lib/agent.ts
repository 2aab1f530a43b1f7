/**
 * The OpenFlow agent: answers every request of every connection against the flow table and the
 * datapath, and sends the asynchronous messages (PACKET_IN, FLOW_REMOVED, PORT_STATUS) to every
 * connection whose handshake is done.
 *
 * Requests arrive here already framed, decoded and validated (connection.ts), one at a time per
 * connection, so each is handled to the end, its replies and errors written, before the next:
 * that is all a BARRIER needs. Work over a large table (a non-strict DELETE or MODIFY, FLOW and
 * AGGREGATE statistics) is done in slices of at most TABLE_SLICE_MS, the event loop given back to
 * forwarding and to the other connections between them; the handler returns a promise, so the
 * connection's next request waits. FLOW_MODs are serialised across connections (one that arrives
 * during a sliced DELETE waits for it) and statistics wait for the FLOW_MODs before them; a
 * lookup from the datapath meanwhile sees the table part-way, which OpenFlow allows (Open vSwitch's
 * datapath does the same while its revalidators catch up). A FLOW statistics reply is sent part by
 * part as the reader takes it (Connection.whenWritable), never held whole. The agent depends on two narrow interfaces, AgentFlowTable and
 * AgentDatapath, so that it is unit-tested with in-memory stand-ins and run with the real ones.
 *
 * Buffers follow the spec: a miss or an output to CONTROLLER stores the frame in the pool (when a
 * slot is free) and the PACKET_IN carries at most miss_send_len (or max_len) bytes of it; a
 * PACKET_OUT, or an ADD/MODIFY, naming the buffer sends that frame through its actions; an
 * unknown or expired buffer earns BAD_REQUEST/BUFFER_UNKNOWN after the table change is made.
 *
 * Asynchronous-message settings are per connection, as Open vSwitch's connmgr keeps them in each
 * ofconn: miss_send_len starts at OFP_DEFAULT_MISS_SEND_LEN (128) on a controller connection and at
 * 0 on a service connection (one a listener accepted: ptcp:, pssl:, punix:, the bridge's mgmt
 * socket); a service connection receives no asynchronous message at all (PACKET_IN, FLOW_REMOVED,
 * PORT_STATUS) until its SET_CONFIG sets a nonzero miss_send_len (connmgr.c
 * ofconn_receives_async_msg), which is what `ovs-ofctl monitor` sends. One connection's SET_CONFIG
 * changes only its own miss_send_len; GET_CONFIG answers that connection's. The fragment handling
 * SET_CONFIG also carries stays switch-wide, as in Open vSwitch. A PACKET_IN is encoded once per
 * distinct length it is cut to, not once per connection.
 *
 * Asynchronous messages are bounded per connection: PACKET_INs pass the connection's two packet-in
 * schedulers (packet-in-scheduler.ts: misses apart from OUTPUT:CONTROLLER, a token bucket, fair
 * across ingress ports), then, like FLOW_REMOVED, the connection's output budget, which drops and
 * counts them when the peer does not keep up (connection.ts). PORT_STATUS and replies are never
 * dropped. Multi-part statistics replies go out one part at a time, each after the connection can
 * take more (`whenWritable`), so a slow reader gets them as it reads.
 */
import {
  OFP_DEFAULT_MISS_SEND_LEN,
  OFP_NO_BUFFER,
  OFP_SIZE,
  OFP_VERSION,
  OFPAT,
  OFPBRC,
  OFPC,
  OFPC_FRAG,
  OFPET,
  OFPFC,
  OFPFF,
  OFPP,
  OFPQ_ALL,
  OFPQOFC,
  OFPR,
  OFPSF,
  OFPST,
  OFPT,
  actionsLength,
  encodeMessage,
  requestError,
} from '../protocol/index.js';
import type {
  Action,
  AggregateStats,
  FlowMod,
  FlowStats,
  Match,
  OfpError,
  OfpMessage,
  PacketOut,
  PhyPort,
  PortMod,
  PortStats,
  StatsReply,
  StatsRequest,
  TableStats,
} from '../protocol/index.js';
import { DROP_REASON, type DropReason, type DropRecorder } from '../datapath/drop-record.js';
import type { StatsQuery } from '../flowtable/flow-table.js';
import { BufferPool } from './buffer-pool.js';
import { queueStats, type AgentQueues, type QueueStatsResult } from './queue-requests.js';
import type { Connection, ConnectionHandler } from './connection.js';
import type { FailModeState } from './fail-mode.js';
import type { Logger } from './log.js';
import { COLLECT_AFTER_REMOVING, releaseMemoryAfterRemoving } from './memory.js';
import { PacketInSchedulers, type PacketInKind, type PacketInLimits, type PacketInSchedulerStats } from './packet-in-scheduler.js';
import { MAX_STATS_BODY, StatsParts } from './stats-split.js';

/** A flow entry as the agent needs it back from the table. */
export interface AgentFlowEntry {
  readonly match: Match;
  readonly priority: number;
  readonly cookie: bigint;
  readonly actions: readonly Action[];
  readonly idleTimeout: number;
  readonly flags: number;
  readonly packetCount: number | bigint;
  readonly byteCount: number | bigint;
}

export interface AgentRemovedFlow {
  readonly entry: AgentFlowEntry;
  readonly reason: number;
  readonly durationSec: number;
  readonly durationNsec: number;
}

/** A refusal is an OfpError, which the agent sends as it is. */
export type AgentFlowModResult =
  | { readonly ok: true; readonly entry?: AgentFlowEntry | null; readonly removed: readonly AgentRemovedFlow[] }
  | OfpError;

/** A FLOW_MOD applied a chunk at a time (flowtable's FlowModJob). */
export interface AgentFlowModJob {
  readonly done: boolean;
  readonly result: AgentFlowModResult | null;
  /** Goes on over up to `limit` entries; returns what this step removed. */
  step(limit: number): readonly AgentRemovedFlow[];
}

/** Statistics a chunk at a time (flowtable's FlowStatsScan and AggregateScan). */
export interface AgentFlowStatsScan {
  readonly done: boolean;
  next(limit: number): readonly FlowStats[];
}

export interface AgentAggregateScan {
  readonly done: boolean;
  next(limit: number): void;
  result(): AggregateStats;
}

/** The flow table, as the agent uses it. */
export interface AgentFlowTable {
  /** A FLOW_MOD applied at once (the switch owner's API, applyFlowMod). */
  flowMod(mod: FlowMod): AgentFlowModResult;
  /** A FLOW_MOD applied a chunk at a time (connections' FLOW_MODs). */
  startFlowMod(mod: FlowMod): AgentFlowModJob;
  expire(): readonly AgentRemovedFlow[];
  nextExpiry(): number | null;
  flowStatsScan(query: StatsQuery): AgentFlowStatsScan;
  aggregateScan(query: StatsQuery): AgentAggregateScan;
  tableStats(): readonly TableStats[];
}

/** Entry ids one table step visits (the agent checks the clock between steps). */
const TABLE_STEP = 1024;
/** Longest run of table work (ms) before the agent gives the event loop back to forwarding and I/O. */
const TABLE_SLICE_MS = 10;
/** Most stats reply parts sent in one slice before waiting for the reader. */
const PARTS_PER_SLICE = 8;

/** The next turn of the event loop, after I/O and timers. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export type AgentPortModResult = { readonly ok: true } | { readonly ok: false; readonly code: number };

/** The ports and the forwarding, as the agent uses them. */
export interface AgentDatapath {
  /** Every port's description, the LOCAL port included. */
  portDescriptions(): readonly PhyPort[];
  /** Statistics of one port, or of every port for OFPP_NONE; empty when the port does not exist. */
  portStats(portNo: number): readonly PortStats[];
  /** Applies a PORT_MOD; fails with an OFPPMFC code. */
  modifyPort(mod: PortMod): AgentPortModResult;
  /** Sends a frame through an action list, as if it had arrived on `inPort`. */
  execute(frame: Uint8Array, inPort: number, actions: readonly Action[]): void;
  /** OFPC_FRAG_NORMAL or OFPC_FRAG_DROP. */
  setFragHandling?(mode: number): void;
  /** The ports' egress queues (QoS); without it, no port has any. */
  readonly queues?: AgentQueues;
}

export interface AgentOptions {
  readonly datapathId: bigint;
  readonly flowTable: AgentFlowTable;
  readonly datapath: AgentDatapath;
  readonly failMode: FailModeState;
  readonly log: Logger;
  readonly bufferPool?: BufferPool;
  /** Called after every change to the table that may move the next expiry earlier. */
  readonly onTableChange?: () => void;
  /** A connection's packet-in limits, asked when its handshake is done (default: the scheduler's defaults). */
  readonly packetInLimits?: (conn: Connection) => PacketInLimits;
  /**
   * The flow journal (journal/flow-journal.ts): makes the table changes so far survive a crash of
   * the process (written to the file); a promise while that is under way, null when done.
   * BARRIER_REPLY and every STATS_REPLY wait for it.
   */
  readonly tableDurable?: () => Promise<void> | null;
  /** Where packet-ins that go nowhere are recorded (datapath/drop-record.ts): no controller, a full queue. */
  readonly drops?: DropRecorder;
}

const PACKET_IN_HEADER = { type: OFPT.PACKET_IN, xid: 0 } as const;

/** A PACKET_IN encoded once for every connection it goes to, and the counter its drops go to. */
interface PacketInItem {
  readonly msg: { readonly type: number; readonly xid: number };
  readonly bytes: Buffer;
  readonly kind: 'packet-in-miss' | 'packet-in-action';
}

/** Requests whose replies wait until the table changes before them are in the journal's file. */
const WAIT_FOR_DURABLE_TABLE: ReadonlySet<number> = new Set([OFPT.BARRIER_REQUEST, OFPT.STATS_REQUEST]);

/** The capabilities that really work. */
const SWITCH_CAPABILITIES = OFPC.FLOW_STATS | OFPC.TABLE_STATS | OFPC.PORT_STATS | OFPC.QUEUE_STATS | OFPC.ARP_MATCH_IP;
/** Every OpenFlow 1.0 action but VENDOR: bit n is action type n. */
const SWITCH_ACTIONS = (1 << (OFPAT.ENQUEUE + 1)) - 1;

const SWITCH_DESCRIPTION = {
  mfrDesc: 'ofswitch project',
  hwDesc: 'ofswitch',
  swDesc: 'ofswitch 0.1.0',
  serialNum: 'None',
  dpDesc: 'None',
} as const;

/** Messages only a switch sends: a controller sending one earns BAD_TYPE. */
const SWITCH_TO_CONTROLLER: ReadonlySet<number> = new Set([
  OFPT.FEATURES_REPLY, OFPT.GET_CONFIG_REPLY, OFPT.PACKET_IN, OFPT.FLOW_REMOVED, OFPT.PORT_STATUS,
  OFPT.STATS_REPLY, OFPT.BARRIER_REPLY, OFPT.QUEUE_GET_CONFIG_REPLY,
]);

export class Agent implements ConnectionHandler {
  readonly connections = new Set<Connection>();
  readonly bufferPool: BufferPool;
  private readonly options: AgentOptions;
  private readonly log: Logger;
  private fragFlags: number = OFPC_FRAG.NORMAL;
  /** The connection whose PORT_MOD is being applied: its PORT_STATUS does not go back to it. */
  private portModSource: Connection | null = null;
  /** Each connection's miss_send_len, from its handshake (OVS: ofconn->miss_send_len). */
  private readonly missSendLens = new Map<Connection, number>();
  private readonly schedulers = new Map<Connection, PacketInSchedulers<PacketInItem>>();
  /** FLOW_MODs received from connections, by command (OFPFC), refused ones included (metrics/). */
  private readonly flowModCounts = new Map<number, number>();
  /**
   * Settles when every connection's FLOW_MOD started so far is applied; null when none is
   * pending. Table changes are serialised through it: a FLOW_MOD that arrives while a long one
   * (a non-strict DELETE or MODIFY over a large table, applied a slice at a time) is in progress
   * waits for it, whichever connection sent it; FLOW and AGGREGATE statistics wait for the
   * changes that came before them, so they never see half of a DELETE.
   */
  private tableChanges: Promise<void> | null = null;

  constructor(options: AgentOptions) {
    this.options = options;
    this.log = options.log;
    this.bufferPool = options.bufferPool ?? new BufferPool();
  }

  // ---- connections -------------------------------------------------------------------------------

  onActive(conn: Connection): void {
    this.connections.add(conn);
    this.missSendLens.set(conn, conn.kind === 'controller' ? OFP_DEFAULT_MISS_SEND_LEN : 0);
    const limits = this.options.packetInLimits?.(conn) ?? {};
    const drops = this.options.drops;
    const release = drops
      ? (item: PacketInItem): void => {
          if (!conn.sendAsync(item.msg, item.bytes, item.kind)) recordPacketIn(drops, DROP_REASON.PACKET_IN_OVERFLOW, item.bytes);
        }
      : (item: PacketInItem): void => void conn.sendAsync(item.msg, item.bytes, item.kind);
    const onDrop = drops ? (item: PacketInItem): void => recordPacketIn(drops, DROP_REASON.PACKET_IN_QUEUE_FULL, item.bytes) : undefined;
    this.schedulers.set(conn, new PacketInSchedulers<PacketInItem>(limits, release, undefined, onDrop));
    this.updateControllerCount();
  }

  onClose(conn: Connection): void {
    this.connections.delete(conn);
    this.missSendLens.delete(conn);
    this.schedulers.get(conn)?.close();
    this.schedulers.delete(conn);
    this.updateControllerCount();
  }

  /** Changes a connection's packet-in limits (the queued packet-ins beyond the new burst are dropped). */
  setPacketInLimits(conn: Connection, limits: PacketInLimits): void {
    this.schedulers.get(conn)?.setLimits(limits);
  }

  /** A connection's packet-in counters, as OVS's Controller status names them (undefined before its handshake). */
  packetInStatus(conn: Connection): Record<string, string> | undefined {
    return this.schedulers.get(conn)?.statusPairs();
  }

  /** A connection's packet-in scheduler counters by kind (undefined before its handshake and after it closed). */
  packetInStats(conn: Connection): Record<PacketInKind, PacketInSchedulerStats> | undefined {
    const s = this.schedulers.get(conn);
    return s ? { miss: s.miss.stats, action: s.action.stats } : undefined;
  }

  /** FLOW_MODs received from connections so far, by command (OFPFC). */
  flowModsReceived(): ReadonlyMap<number, number> {
    return this.flowModCounts;
  }

  private updateControllerCount(): void {
    let controllers = 0;
    for (const c of this.connections) if (c.kind === 'controller') controllers++;
    this.options.failMode.setConnections(controllers, this.hasActiveConnection());
  }

  /** A connection's miss_send_len (undefined before its handshake). */
  missSendLen(conn: Connection): number | undefined {
    return this.missSendLens.get(conn);
  }

  /**
   * Whether `conn` gets asynchronous messages now (connmgr.c ofconn_receives_async_msg): its
   * handshake is done, and it is a controller connection or a service connection that set a
   * nonzero miss_send_len.
   */
  receivesAsync(conn: Connection): boolean {
    if (!conn.isActive) return false;
    const missSendLen = this.missSendLens.get(conn);
    return missSendLen !== undefined && (conn.kind === 'controller' || missSendLen > 0);
  }

  private hasActiveConnection(): boolean {
    for (const c of this.connections) if (this.receivesAsync(c)) return true;
    return false;
  }

  /**
   * Sends an asynchronous message to every connection that receives them, encoded once: as a
   * message that may be dropped past the output budget (counted as `droppable`), or never dropped.
   */
  private broadcast(build: () => OfpMessage, droppable: string | null, except: Connection | null = null): void {
    let msg: OfpMessage | undefined;
    let bytes: Buffer | undefined;
    for (const conn of this.connections) {
      if (conn === except || !this.receivesAsync(conn)) continue;
      msg ??= build();
      bytes ??= encodeMessage(msg);
      if (droppable === null) conn.sendEncoded(msg, bytes);
      else conn.sendAsync(msg, bytes, droppable);
    }
  }

  // ---- requests ----------------------------------------------------------------------------------

  onMessage(conn: Connection, msg: OfpMessage, bytes: Uint8Array): void | Promise<void> {
    const durable = WAIT_FOR_DURABLE_TABLE.has(msg.type) ? this.options.tableDurable?.() : null;
    if (durable) return durable.then(() => this.handle(conn, msg, bytes));
    return this.handle(conn, msg, bytes);
  }

  private handle(conn: Connection, msg: OfpMessage, bytes: Uint8Array): void | Promise<void> {
    const xid = msg.xid;
    switch (msg.type) {
      case OFPT.FEATURES_REQUEST:
        return conn.send({
          version: OFP_VERSION,
          type: OFPT.FEATURES_REPLY,
          xid,
          datapathId: this.options.datapathId,
          nBuffers: this.bufferPool.size,
          nTables: 1,
          capabilities: SWITCH_CAPABILITIES,
          actions: SWITCH_ACTIONS,
          ports: this.options.datapath.portDescriptions(),
        });
      case OFPT.GET_CONFIG_REQUEST:
        return conn.send({ version: OFP_VERSION, type: OFPT.GET_CONFIG_REPLY, xid, flags: this.fragFlags, missSendLen: this.missSendLens.get(conn) ?? 0 });
      case OFPT.SET_CONFIG:
        return this.setConfig(conn, msg.flags, msg.missSendLen);
      case OFPT.FLOW_MOD:
        this.flowModCounts.set(msg.command, (this.flowModCounts.get(msg.command) ?? 0) + 1);
        return this.flowMod(conn, msg, bytes);
      case OFPT.PACKET_OUT:
        return this.packetOut(conn, msg, bytes);
      case OFPT.PORT_MOD:
        return this.portMod(conn, msg, bytes);
      case OFPT.STATS_REQUEST:
        return this.stats(conn, msg, bytes);
      case OFPT.BARRIER_REQUEST:
        return conn.send({ version: OFP_VERSION, type: OFPT.BARRIER_REPLY, xid });
      case OFPT.QUEUE_GET_CONFIG_REQUEST:
        if (!this.isPhysicalPort(msg.port))
          return conn.sendError(requestError(OFPET.QUEUE_OP_FAILED, OFPQOFC.BAD_PORT, bytes, `no port ${msg.port}`));
        return conn.send({
          version: OFP_VERSION, type: OFPT.QUEUE_GET_CONFIG_REPLY, xid, port: msg.port, queues: this.options.datapath.queues?.config(msg.port) ?? [],
        });
      default:
        if (SWITCH_TO_CONTROLLER.has(msg.type))
          return conn.sendError(requestError(OFPET.BAD_REQUEST, OFPBRC.BAD_TYPE, bytes, 'a message only a switch sends'));
        return;
    }
  }

  /** SET_CONFIG: the fragment handling for the whole switch, miss_send_len for this connection only. */
  private setConfig(conn: Connection, flags: number, missSendLen: number): void {
    // IP reassembly is not offered (no OFPC_IP_REASM): OFPC_FRAG_REASM leaves the mode as it was.
    const frag = flags & OFPC_FRAG.MASK;
    if (frag === OFPC_FRAG.NORMAL || frag === OFPC_FRAG.DROP) {
      this.fragFlags = frag;
      this.options.datapath.setFragHandling?.(frag);
    }
    const before = this.receivesAsync(conn);
    this.missSendLens.set(conn, missSendLen);
    if (this.receivesAsync(conn) !== before) this.updateControllerCount();
  }

  /**
   * A FLOW_MOD from the switch's owner rather than a connection (lib/switch.ts addFlow): the table
   * change, FLOW_REMOVED for what it removed, expiry rescheduled. A refusal is returned, not sent.
   */
  applyFlowMod(mod: FlowMod): AgentFlowModResult {
    const result = this.options.flowTable.flowMod(mod);
    if (!result.ok) return result;
    this.flowsRemoved(result.removed);
    this.options.onTableChange?.();
    return result;
  }

  /**
   * A connection's FLOW_MOD: at once when no other is in progress and it is short (an ADD, a strict
   * command, a small table); otherwise a slice at a time, the connection waiting for the returned
   * promise, and after every FLOW_MOD already in progress.
   */
  private flowMod(conn: Connection, msg: FlowMod, bytes: Uint8Array): void | Promise<void> {
    const pending = this.tableChanges;
    const run = pending === null ? this.applyConnectionFlowMod(conn, msg, bytes) : pending.then(() => this.applyConnectionFlowMod(conn, msg, bytes));
    if (run) this.serialised(run);
    return run;
  }

  /** Makes `run` the table change every later one waits for. */
  private serialised(run: Promise<void>): void {
    const settled: Promise<void> = run.then(
      () => this.changeSettled(settled),
      () => this.changeSettled(settled),
    );
    this.tableChanges = settled;
  }

  private changeSettled(settled: Promise<void>): void {
    if (this.tableChanges === settled) this.tableChanges = null;
  }

  private applyConnectionFlowMod(conn: Connection, msg: FlowMod, bytes: Uint8Array): void | Promise<void> {
    const job = this.options.flowTable.startFlowMod(msg);
    const progress = { removed: 0 };
    if (job.done || this.runFlowModSlice(job, progress)) return this.flowModDone(conn, msg, bytes, job.result!);
    return (async () => {
      do await nextTurn();
      while (!this.runFlowModSlice(job, progress));
      this.flowModDone(conn, msg, bytes, job.result!);
      if (progress.removed >= COLLECT_AFTER_REMOVING) {
        releaseMemoryAfterRemoving(progress.removed, this.options.flowTable.tableStats()[0]?.activeCount ?? 0);
      }
    })();
  }

  /** Steps `job` for at most one slice, sending FLOW_REMOVED as entries go; true when it is done. */
  private runFlowModSlice(job: AgentFlowModJob, progress: { removed: number }): boolean {
    const end = performance.now() + TABLE_SLICE_MS;
    do {
      const removed = job.step(TABLE_STEP);
      progress.removed += removed.length;
      this.flowsRemoved(removed);
    } while (!job.done && performance.now() < end);
    return job.done;
  }

  private flowModDone(conn: Connection, msg: FlowMod, bytes: Uint8Array, result: AgentFlowModResult): void {
    if (!result.ok) return conn.sendError(result);
    this.flowsRemoved(result.removed);
    this.options.onTableChange?.();
    const adds = msg.command === OFPFC.ADD || msg.command === OFPFC.MODIFY || msg.command === OFPFC.MODIFY_STRICT;
    if (!adds || msg.bufferId === OFP_NO_BUFFER) return;
    const packet = this.bufferPool.take(msg.bufferId);
    if (!packet) return conn.sendError(unknownBuffer(msg.bufferId, bytes));
    this.options.datapath.execute(packet.frame, packet.inPort, msg.actions);
  }

  private packetOut(conn: Connection, msg: PacketOut, bytes: Uint8Array): void {
    let frame = msg.data;
    if (msg.bufferId !== OFP_NO_BUFFER) {
      const packet = this.bufferPool.take(msg.bufferId);
      if (!packet) return conn.sendError(unknownBuffer(msg.bufferId, bytes));
      frame = packet.frame;
    }
    this.options.datapath.execute(frame, msg.inPort, msg.actions);
  }

  private portMod(conn: Connection, msg: PortMod, bytes: Uint8Array): void {
    this.portModSource = conn;
    let result: AgentPortModResult;
    try {
      result = this.options.datapath.modifyPort(msg);
    } finally {
      this.portModSource = null;
    }
    if (!result.ok) conn.sendError(requestError(OFPET.PORT_MOD_FAILED, result.code, bytes, `port ${msg.portNo}`));
  }

  private isPhysicalPort(portNo: number): boolean {
    return portNo < OFPP.MAX && this.options.datapath.portDescriptions().some((p) => p.portNo === portNo);
  }

  // ---- statistics --------------------------------------------------------------------------------

  private stats(conn: Connection, msg: StatsRequest, bytes: Uint8Array): void | Promise<void> {
    const reply = { version: OFP_VERSION, type: OFPT.STATS_REPLY, xid: msg.xid, flags: 0 } as const;
    const table = this.options.flowTable;
    switch (msg.statsType) {
      case OFPST.DESC:
        return conn.send({ ...reply, statsType: OFPST.DESC, desc: SWITCH_DESCRIPTION });
      case OFPST.FLOW:
        return this.afterTableChanges(() => this.flowStats(conn, msg, new StatsParts<FlowStats>(
          (f) => OFP_SIZE.flow_stats + actionsLength(f.actions),
          (flows, flags) => conn.send({ ...reply, flags, statsType: OFPST.FLOW, flows }),
        )));
      case OFPST.AGGREGATE:
        return this.afterTableChanges(() => this.aggregateStats(conn, msg, (stats) => conn.send({ ...reply, statsType: OFPST.AGGREGATE, stats })));
      case OFPST.TABLE:
        return this.sendParts(conn, table.tableStats(), () => OFP_SIZE.table_stats, (tables, flags) => ({
          ...reply, flags, statsType: OFPST.TABLE, tables,
        }));
      case OFPST.PORT: {
        // An unknown port number gets an empty reply, as Open vSwitch gives.
        return this.sendParts(conn, this.options.datapath.portStats(msg.portNo), () => OFP_SIZE.port_stats, (list, flags) => ({
          ...reply, flags, statsType: OFPST.PORT, ports: list,
        }));
      }
      case OFPST.QUEUE: {
        // A number that is no port is BAD_PORT; queues and their errors: queue-requests.ts.
        const all = msg.portNo === OFPP.ALL;
        if (!all && !this.isPhysicalPort(msg.portNo))
          return conn.sendError(requestError(OFPET.QUEUE_OP_FAILED, OFPQOFC.BAD_PORT, bytes, `no port ${msg.portNo}`));
        const portNos = all ? this.options.datapath.portDescriptions().map((p) => p.portNo) : [msg.portNo];
        const answer = (r: QueueStatsResult): void | Promise<void> => {
          if (!r.ok) return conn.sendError(requestError(OFPET.QUEUE_OP_FAILED, r.code, bytes, r.text));
          return this.sendParts(conn, r.stats, () => OFP_SIZE.queue_stats, (queues, flags) => ({ ...reply, flags, statsType: OFPST.QUEUE, queues }));
        };
        const queues = this.options.datapath.queues;
        if (!queues) return answer(msg.queueId === OFPQ_ALL ? { ok: true, stats: [] } : { ok: false, code: OFPQOFC.BAD_QUEUE, text: `no queue ${msg.queueId}` });
        return queueStats(queues, portNos, msg.queueId, all).then(answer, (err: Error) => {
          // The kernel would not tell (tc failed): the spec's "permissions error", logged.
          this.log.warn('cannot read queue statistics', { err: err.message });
          return answer({ ok: false, code: OFPQOFC.EPERM, text: err.message });
        });
      }
      case OFPST.PORT_DESC:
        return this.sendParts(conn, this.options.datapath.portDescriptions(), () => OFP_SIZE.phy_port, (ports, flags) => ({
          ...reply, flags, statsType: OFPST.PORT_DESC, ports,
        }));
      default:
        return conn.sendError(requestError(OFPET.BAD_REQUEST, OFPBRC.BAD_STAT, bytes, `stats type ${msg.statsType}`));
    }
  }

  /**
   * A reply in as many messages as its items need (each body at most MAX_STATS_BODY bytes),
   * OFPSF_REPLY_MORE on all but the last. Each part is built and sent only once the connection can
   * take more (`whenWritable`), so a slow reader gets the reply as it reads it; the promise settles
   * when the last part is written (or the connection closed). One part is sent at once, no promise.
   */
  private sendParts<T>(
    conn: Connection,
    items: Iterable<T>,
    sizeOf: (item: T) => number,
    build: (part: T[], flags: number) => StatsReply,
  ): void | Promise<void> {
    const iterator = items[Symbol.iterator]();
    let next = iterator.next();
    /** The next part, `next` holding the first item after it. */
    const take = (): T[] => {
      const part: T[] = [];
      let used = 0;
      while (!next.done) {
        const size = sizeOf(next.value);
        if (used + size > MAX_STATS_BODY && part.length > 0) break;
        part.push(next.value);
        used += size;
        next = iterator.next();
      }
      return part;
    };
    const first = take();
    if (next.done) return conn.send(build(first, 0));
    return (async () => {
      let part = first;
      while (!next.done) {
        conn.send(build(part, OFPSF.REPLY_MORE));
        await conn.whenWritable();
        if (conn.state === 'closed') return;
        part = take();
      }
      conn.send(build(part, 0));
    })();
  }

  /** Runs `read` at once, or once the table changes in progress are applied. */
  private afterTableChanges(read: () => void | Promise<void>): void | Promise<void> {
    return this.tableChanges === null ? read() : this.tableChanges.then(read);
  }

  /**
   * OFPST_FLOW, produced as the reader reads: a slice of the table at a time, each part sent as
   * soon as it is full, then a wait until the connection can take more. At most two parts are
   * held at once, however large the table.
   */
  private flowStats(conn: Connection, query: StatsQuery, parts: StatsParts<FlowStats>): void | Promise<void> {
    const scan = this.options.flowTable.flowStatsScan(query);
    const slice = (): boolean => {
      const end = performance.now() + TABLE_SLICE_MS;
      const sentBefore = parts.sent;
      while (!scan.done) {
        for (const f of scan.next(TABLE_STEP)) parts.add(f);
        if (performance.now() >= end || parts.sent - sentBefore >= PARTS_PER_SLICE) return false;
      }
      return true;
    };
    if (slice()) return parts.end();
    return (async () => {
      do {
        await conn.whenWritable();
        await nextTurn();
        if (conn.state === 'closed') return;
      } while (!slice());
      parts.end();
    })();
  }

  /** OFPST_AGGREGATE, summed a slice of the table at a time. */
  private aggregateStats(conn: Connection, query: StatsQuery, send: (stats: AggregateStats) => void): void | Promise<void> {
    const scan = this.options.flowTable.aggregateScan(query);
    const slice = (): boolean => {
      const end = performance.now() + TABLE_SLICE_MS;
      while (!scan.done && performance.now() < end) scan.next(TABLE_STEP);
      return scan.done;
    };
    if (slice()) return send(scan.result());
    return (async () => {
      do await nextTurn();
      while (!slice());
      send(scan.result());
    })();
  }

  // ---- asynchronous messages ---------------------------------------------------------------------

  /**
   * A table miss the datapath sends up (its miss policy is 'controller': the fail mode, told of
   * every connection change, decides NORMAL or drop in the datapath itself): PACKET_IN, reason NO_MATCH.
   */
  onMiss(frame: Uint8Array, inPort: number): void {
    if (!this.hasActiveConnection()) {
      this.options.drops?.record(DROP_REASON.NO_CONTROLLER, frame, inPort, -1, null);
      return;
    }
    this.packetIn(frame, inPort, null, OFPR.NO_MATCH);
  }

  /** An OUTPUT to CONTROLLER: PACKET_IN with reason ACTION and at most `maxLen` bytes when buffered. */
  onController(frame: Uint8Array, inPort: number, maxLen: number, reason: number = OFPR.ACTION): void {
    if (!this.hasActiveConnection()) {
      this.options.drops?.record(DROP_REASON.NO_CONTROLLER, frame, inPort, -1, null);
      return;
    }
    this.packetIn(frame, inPort, maxLen, reason);
  }

  /**
   * A PACKET_IN through each receiving connection's scheduler for its kind (miss or not), cut to
   * `maxLen` bytes when buffered, or for a miss (`maxLen` null) to each connection's miss_send_len.
   * The frame is buffered once, and the message encoded once per distinct length.
   */
  private packetIn(frame: Uint8Array, inPort: number, maxLen: number | null, reason: number): void {
    const miss = reason === OFPR.NO_MATCH;
    let bufferId: number | undefined;
    /** The first encoding, and the others by length (most often there is only one). */
    let first: { len: number; item: PacketInItem } | undefined;
    let others: Map<number, PacketInItem> | undefined;
    for (const conn of this.connections) {
      const schedulers = this.schedulers.get(conn);
      if (!schedulers || !this.receivesAsync(conn)) continue;
      bufferId ??= this.bufferPool.store(frame, inPort);
      const limit = maxLen ?? this.missSendLens.get(conn) ?? 0;
      const len = bufferId === OFP_NO_BUFFER ? frame.length : Math.min(frame.length, limit);
      let item = first?.len === len ? first.item : others?.get(len);
      if (!item) {
        const data = len === frame.length ? frame : frame.subarray(0, len);
        const msg: OfpMessage = { version: OFP_VERSION, type: OFPT.PACKET_IN, xid: 0, bufferId, totalLen: frame.length, inPort, reason, data };
        // The frame may be a view of memory the datapath reuses: the encoding is a copy, and only it is kept.
        item = { msg: PACKET_IN_HEADER, bytes: encodeMessage(msg), kind: miss ? 'packet-in-miss' : 'packet-in-action' };
        if (!first) first = { len, item };
        else (others ??= new Map()).set(len, item);
      }
      schedulers.send(miss ? 'miss' : 'action', inPort, item);
    }
  }

  /** FLOW_REMOVED for every removed entry that asked for it. */
  flowsRemoved(removed: readonly AgentRemovedFlow[]): void {
    for (const r of removed) {
      const e = r.entry;
      if ((e.flags & OFPFF.SEND_FLOW_REM) === 0) continue;
      this.broadcast(() => ({
        version: OFP_VERSION,
        type: OFPT.FLOW_REMOVED,
        xid: 0,
        match: e.match,
        cookie: e.cookie,
        priority: e.priority,
        reason: r.reason,
        durationSec: r.durationSec,
        durationNsec: r.durationNsec,
        idleTimeout: e.idleTimeout,
        packetCount: BigInt(e.packetCount),
        byteCount: BigInt(e.byteCount),
      }), 'flow-removed');
    }
  }

  /** Expires entries whose time is up; returns how many went. */
  expireFlows(): number {
    const removed = this.options.flowTable.expire();
    this.flowsRemoved(removed);
    return removed.length;
  }

  /**
   * PORT_STATUS for a port added, deleted or changed (OFPPR_*), to every connection that receives
   * asynchronous messages but the one whose PORT_MOD made the change, as Open vSwitch does before
   * OpenFlow 1.5 (connmgr_send_port_status).
   */
  portStatus(reason: number, desc: PhyPort): void {
    this.broadcast(() => ({ version: OFP_VERSION, type: OFPT.PORT_STATUS, xid: 0, reason, desc }), null, this.portModSource);
  }
}

/** BAD_REQUEST/BUFFER_UNKNOWN: the request names a buffer that is unknown, used or expired. */
function unknownBuffer(bufferId: number, request: Uint8Array): OfpError {
  return requestError(OFPET.BAD_REQUEST, OFPBRC.BUFFER_UNKNOWN, request, `buffer 0x${bufferId.toString(16)}`);
}

/** OFPT_PACKET_IN's layout (OpenFlow 1.0): in_port at 14, the frame's data from 18. */
const PACKET_IN_IN_PORT = 14;
const PACKET_IN_DATA = 18;

/** Records a packet-in dropped on its way to a controller, from its encoding (what was queued). */
function recordPacketIn(drops: DropRecorder, reason: DropReason, bytes: Buffer): void {
  drops.record(reason, bytes.subarray(PACKET_IN_DATA), bytes.readUInt16BE(PACKET_IN_IN_PORT), -1, null);
}
