/**
 * The soak's actors, each a loop that runs until the run stops (ctx.stopping) and reports what is
 * wrong through ctx.fail:
 * - StormController: FLOW_MOD batches (ADD, MODIFY, MODIFY_STRICT, DELETE, DELETE_STRICT), each
 *   followed by a BARRIER_REQUEST, several batches in flight; every reply in order, none late;
 *   every few seconds, with nothing in flight, the flow table dumped and compared with the model;
 *   now and then it drops its connection abruptly (after a check) and comes back.
 * - Flapper: connects, handshakes, does some work (ARP-part FLOW_MODs, statistics, echo), then
 *   drops the connection abruptly, often with requests unanswered, and comes back.
 * - StalledController: the switch's configured controller (the switch connects to it); it reads
 *   for a while, then stops reading for a while (sending ECHO_REQUESTs so that it looks alive),
 *   then reads again; what the switch queued meanwhile is what memory shows.
 * - MalformedClient: malformed OpenFlow messages (malformed.ts), each answered with an error,
 *   ignored (an ECHO_REQUEST after it is answered) or the connection closed by the switch.
 * - PortChurn: hosts made and removed, their ports added and deleted with ovs-vsctl; every other
 *   time the link is deleted under the switch before del-port.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { MATCH_ALL, NXET_VENDOR, OFP_DEFAULT_MISS_SEND_LEN, OFP_VERSION, OFPFC, OFPP, OFPST, OFPT, OFPTT, nameOf } from '../../protocol/index.js';
import type { FlowMod, FlowStats, OfpMessage, StatsRequest } from '../../protocol/index.js';
import { BarrierTracker } from './checks.js';
import { describeDiff, diffTable, FlowModel, isEqual } from './model.js';
import { malformedMessage } from './malformed.js';
import { OfConn } from './of-conn.js';
import type { SoakRig } from './rig.js';
import { sleep } from './rig.js';
import { flapperFlowMod, isFlapperEntry, isStormEntry, Random, StormGenerator } from './storm.js';

export interface ActorContext {
  readonly rig: SoakRig;
  /** TCP port of the switch's ptcp service. */
  readonly servicePort: number;
  /** How long any reply may take before it counts as lost, ms. */
  readonly replyTimeoutMs: number;
  readonly stopping: () => boolean;
  fail(message: string): void;
  note(line: string): void;
}

const FLOW_MOD_NAMES: Record<number, string> = {
  [OFPFC.ADD]: 'ADD', [OFPFC.MODIFY]: 'MODIFY', [OFPFC.MODIFY_STRICT]: 'MODIFY_STRICT', [OFPFC.DELETE]: 'DELETE', [OFPFC.DELETE_STRICT]: 'DELETE_STRICT',
};

function errorText(m: OfpMessage): string {
  if (m.type !== OFPT.ERROR) return `message type ${m.type}`;
  return m.errorType === NXET_VENDOR ? 'an internal error (NXBRC_UNENCODABLE_ERROR: the switch caught an exception)' : `OFPT_ERROR type ${m.errorType} code ${m.code}`;
}

/** Waits `ms`, waking early when the run stops. */
async function pause(ctx: ActorContext, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!ctx.stopping() && Date.now() < end) await sleep(Math.min(200, end - Date.now()));
}

function flowStatsRequest(xid: number): StatsRequest {
  return { version: OFP_VERSION, type: OFPT.STATS_REQUEST, xid, flags: 0, statsType: OFPST.FLOW, match: MATCH_ALL, tableId: OFPTT.ALL, outPort: OFPP.NONE };
}

/** A connection with FEATURES_REQUEST answered and miss_send_len set, as a controller's first steps. */
async function controllerHandshake(conn: OfConn, ctx: ActorContext): Promise<void> {
  const features = await conn.request({ version: OFP_VERSION, type: OFPT.FEATURES_REQUEST, xid: conn.xid() }, ctx.replyTimeoutMs);
  if (features.type !== OFPT.FEATURES_REPLY) throw new Error(`FEATURES_REQUEST answered with ${errorText(features)}`);
  conn.send({ version: OFP_VERSION, type: OFPT.SET_CONFIG, xid: conn.xid(), flags: 0, missSendLen: OFP_DEFAULT_MISS_SEND_LEN });
}

export interface StormOptions {
  seed: number;
  batch: number;
  window: number;
  maxFlows: number;
  checkEveryMs: number;
  /** Drop and remake the connection after this many table checks (0: never). */
  reconnectEvery: number;
  /** --self-check: make the barrier order and the model wrong on purpose and expect both caught. */
  selfCheck: boolean;
}

export class StormController {
  readonly model = new FlowModel();
  flowMods = 0;
  barriers = 0;
  checks = 0;
  reconnects = 0;
  largestTable = 0;
  portStatus = 0;
  private closedPacketIns = 0;
  /** For --self-check: what the checks caught when made wrong on purpose. */
  readonly caught: { barrier: string | null; table: string | null } = { barrier: null, table: null };
  private readonly gen: StormGenerator;
  private readonly opts: StormOptions;
  private readonly ctx: ActorContext;
  private conn: OfConn | null = null;
  private tracker = new BarrierTracker();
  private wake: (() => void) | null = null;
  /** The next barrier is registered swapped with the one after it (--self-check). */
  private swapNextBarriers = false;
  private corrupted = false;
  private corruptNow = false;
  private readonly sentXids = new Map<number, FlowMod>();

  constructor(ctx: ActorContext, opts: StormOptions) {
    this.ctx = ctx;
    this.opts = opts;
    this.gen = new StormGenerator(opts.seed, opts.maxFlows);
  }

  get pendingBarriers(): number {
    return this.tracker.pending;
  }

  /** PACKET_INs received on all its connections so far. */
  get packetIns(): number {
    return this.closedPacketIns + (this.conn && !this.conn.closed ? this.conn.counters.packetIns : 0);
  }

  async run(): Promise<void> {
    const ctx = this.ctx;
    let lastCheck = Date.now();
    await this.connect();
    const watchdog = setInterval(() => {
      const late = this.tracker.overdue(Date.now(), ctx.replyTimeoutMs);
      if (late) ctx.fail(late);
    }, 500);
    try {
      while (!ctx.stopping()) {
        await this.sendBatch();
        await this.until(() => this.tracker.pending < this.opts.window);
        if (Date.now() - lastCheck >= this.opts.checkEveryMs && !ctx.stopping()) {
          await this.check();
          lastCheck = Date.now();
          if (this.opts.reconnectEvery > 0 && this.checks % this.opts.reconnectEvery === 0 && !ctx.stopping()) {
            const old = this.conn;
            this.conn = null;
            old?.destroy();
            this.reconnects++;
            await sleep(50);
            await this.connect();
          }
        }
      }
    } finally {
      clearInterval(watchdog);
    }
  }

  /** After the run: wait for every barrier, then one last table check. */
  async finish(): Promise<void> {
    if (!this.conn || this.conn.closed) return;
    await this.until(() => this.tracker.pending === 0, true);
    if (this.tracker.pending === 0 && !this.opts.selfCheck) await this.check(true);
    this.conn.destroy();
  }

  private async connect(): Promise<void> {
    const conn = await OfConn.connect(this.ctx.servicePort, this.ctx.replyTimeoutMs);
    this.conn = conn;
    this.tracker = new BarrierTracker();
    conn.onMessage = (m) => this.onMessage(m);
    conn.onUndecodable = (_b, reason) => this.ctx.fail(`the storm controller got a message it cannot decode: ${reason}`);
    void conn.whenClosed.then(() => {
      this.closedPacketIns += conn.counters.packetIns;
      this.portStatus += conn.counters.portStatus;
      if (this.conn === conn && !this.ctx.stopping()) this.ctx.fail(`the switch closed the storm controller's connection (${this.tracker.pending} barriers unanswered)`);
      this.wake?.();
    });
    await controllerHandshake(conn, this.ctx);
  }

  private onMessage(m: OfpMessage): void {
    if (m.type === OFPT.BARRIER_REPLY) {
      const wrong = this.tracker.replied(m.xid);
      if (wrong) {
        if (this.opts.selfCheck && this.caught.barrier === null) {
          this.caught.barrier = wrong;
          this.tracker.forget(m.xid); // registered out of order on purpose: settle the bookkeeping
        } else {
          this.ctx.fail(wrong);
        }
      }
      this.wake?.();
      return;
    }
    if (m.type === OFPT.ERROR) {
      const mod = this.sentXids.get(m.xid);
      const what = mod ? `FLOW_MOD ${FLOW_MOD_NAMES[mod.command] ?? mod.command} xid ${m.xid}` : `xid ${m.xid}`;
      this.ctx.fail(`the switch answered the storm's ${what} with ${errorText(m)}`);
    }
  }

  /** Resolves when `cond` holds (checked on every reply), the connection closes, or the run stops (unless `evenWhenStopping`). */
  private async until(cond: () => boolean, evenWhenStopping = false): Promise<void> {
    const deadline = Date.now() + this.ctx.replyTimeoutMs + 1000;
    while (!cond() && !(this.conn?.closed ?? true) && (evenWhenStopping || !this.ctx.stopping()) && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  private async sendBatch(): Promise<void> {
    const conn = this.conn as OfConn;
    const existing = this.model.list();
    // Remember the FLOW_MODs still in flight (for naming one the switch refuses), not more.
    for (const xid of this.sentXids.keys()) {
      if (this.sentXids.size <= this.opts.batch * (this.opts.window + 1)) break;
      this.sentXids.delete(xid);
    }
    for (let i = 0; i < this.opts.batch; i++) {
      const mod = this.gen.next(conn.xid(), existing);
      this.model.apply(mod);
      this.sentXids.set(mod.xid, mod);
      this.flowMods++;
      conn.send(mod);
    }
    this.largestTable = Math.max(this.largestTable, this.model.size);
    const xid = conn.xid();
    if (this.swapNextBarriers) {
      // Self-check: this barrier and the next are registered in the wrong order.
      this.swapNextBarriers = false;
      const second = conn.xid();
      this.tracker.sent(second, Date.now());
      this.tracker.sent(xid, Date.now());
      conn.send({ version: OFP_VERSION, type: OFPT.BARRIER_REQUEST, xid });
      conn.send({ version: OFP_VERSION, type: OFPT.BARRIER_REQUEST, xid: second });
      this.barriers += 2;
      return;
    }
    this.tracker.sent(xid, Date.now());
    conn.send({ version: OFP_VERSION, type: OFPT.BARRIER_REQUEST, xid });
    this.barriers++;
  }

  /** With no barrier outstanding: dump the table and compare it with the model. */
  private async check(final = false): Promise<void> {
    await this.until(() => this.tracker.pending === 0, final);
    const conn = this.conn as OfConn;
    if (conn.closed || (this.ctx.stopping() && !final) || this.tracker.pending > 0) return;
    if (this.corruptNow) {
      // Self-check: wrong now, with nothing sent in between, so no later FLOW_MOD can heal it before the dump.
      this.corruptNow = false;
      this.ctx.note(`self-check: ${this.model.corrupt()}`);
    }
    let flows: FlowStats[];
    try {
      const parts = await conn.stats(flowStatsRequest(conn.xid()), this.ctx.replyTimeoutMs);
      flows = parts.flatMap((p) => (p.statsType === OFPST.FLOW ? [...p.flows] : []));
    } catch (err) {
      if (!conn.closed) this.ctx.fail(`table check: ${(err as Error).message}`);
      return;
    }
    this.checks++;
    const diff = diffTable(this.model, flows, isStormEntry, isFlapperEntry);
    if (!isEqual(diff)) {
      const text = `the switch's table differs from the model after ${this.flowMods} FLOW_MODs (${this.model.size} entries modelled, ` +
        `${flows.filter((f) => isStormEntry(f.match)).length} dumped): ${describeDiff(diff)}`;
      if (this.opts.selfCheck && this.caught.table === null && this.caught.barrier !== null) {
        this.caught.table = text;
        return;
      }
      this.ctx.fail(text);
      return;
    }
    if (this.opts.selfCheck && !final) this.selfCheckStep();
  }

  /** --self-check, after a clean check: first swap two barriers; once that was caught, corrupt the model. */
  private selfCheckStep(): void {
    if (this.caught.barrier === null) {
      if (this.checks === 1) {
        this.swapNextBarriers = true;
        this.ctx.note('self-check: the next two BARRIER_REQUESTs are registered in the wrong order');
      }
      return;
    }
    if (this.caught.table === null && !this.corrupted) {
      this.corrupted = true;
      this.corruptNow = true;
    }
  }
}

export class Flapper {
  cycles = 0;
  flowMods = 0;
  requests = 0;
  connectFailures = 0;
  private closedPacketIns = 0;
  private conn: OfConn | null = null;
  private readonly r: Random;
  private readonly ctx: ActorContext;
  private readonly id: number;

  constructor(ctx: ActorContext, id: number, seed: number) {
    this.ctx = ctx;
    this.id = id;
    this.r = new Random(seed);
  }

  async run(): Promise<void> {
    const ctx = this.ctx;
    const r = this.r;
    while (!ctx.stopping()) {
      let conn: OfConn;
      try {
        conn = await OfConn.connect(ctx.servicePort, ctx.replyTimeoutMs);
      } catch (err) {
        this.connectFailures++;
        if (this.connectFailures > 20) ctx.fail(`flapping controller ${this.id} could not connect 20 times: ${(err as Error).message}`);
        await pause(ctx, 500);
        continue;
      }
      this.conn = conn;
      conn.onUndecodable = (_b, reason) => ctx.fail(`flapping controller ${this.id} got a message it cannot decode: ${reason}`);
      conn.onMessage = (m) => {
        if (m.type === OFPT.ERROR) ctx.fail(`flapping controller ${this.id} got ${errorText(m)} for xid ${m.xid}`);
      };
      try {
        await controllerHandshake(conn, ctx);
        const until = Date.now() + r.int(200, 2000);
        while (Date.now() < until && !ctx.stopping() && !conn.closed) {
          for (let i = r.int(1, 20); i > 0; i--) {
            conn.send(flapperFlowMod(r, conn.xid()));
            this.flowMods++;
          }
          const req = this.request(conn);
          if (r.chance(0.25)) break; // drop with the request unanswered
          const reply = await conn.request(req, ctx.replyTimeoutMs);
          this.requests++;
          if (reply.type === OFPT.ERROR) ctx.fail(`flapping controller ${this.id}: request type ${req.type} answered with ${errorText(reply)}`);
        }
      } catch (err) {
        if (!ctx.stopping()) ctx.fail(`flapping controller ${this.id}: ${(err as Error).message}`);
      }
      this.closedPacketIns += conn.counters.packetIns;
      this.conn = null;
      conn.destroy();
      this.cycles++;
      await pause(ctx, r.int(0, 500));
    }
  }

  /** PACKET_INs received on all its connections so far. */
  get packetIns(): number {
    return this.closedPacketIns + (this.conn ? this.conn.counters.packetIns : 0);
  }

  private request(conn: OfConn): OfpMessage {
    const xid = conn.xid();
    const stats = (statsType: number, extra: object = {}): OfpMessage =>
      ({ version: OFP_VERSION, type: OFPT.STATS_REQUEST, xid, flags: 0, statsType, ...extra }) as OfpMessage;
    switch (this.r.int(0, 5)) {
      case 0:
        return { version: OFP_VERSION, type: OFPT.ECHO_REQUEST, xid, data: new Uint8Array(this.r.int(0, 64)) };
      case 1:
        return stats(OFPST.DESC);
      case 2:
        return stats(OFPST.TABLE);
      case 3:
        return stats(OFPST.PORT, { portNo: OFPP.NONE });
      case 4:
        return stats(OFPST.AGGREGATE, { match: MATCH_ALL, tableId: OFPTT.ALL, outPort: OFPP.NONE });
      default:
        return { version: OFP_VERSION, type: OFPT.BARRIER_REQUEST, xid };
    }
  }
}

export interface StallRecord {
  /** Seconds since the soak started. */
  readonly from: number;
  readonly to: number;
  /** Whether the switch closed the connection during (or right after) the stall. */
  readonly closedBySwitch: boolean;
  /** Seconds from the start of the stall until the switch closed the connection (null: it did not, during the stall). */
  readonly closedAfter: number | null;
  /** The switch's RSS when the stall began and when it ended (bytes; null: not read). */
  readonly rssBefore: number | null;
  readonly rssAfter: number | null;
  /** Bytes read in the 2 s after reading resumed (part of what the switch had queued). */
  readonly drained: number;
}

export class StalledController {
  readonly stalls: StallRecord[] = [];
  connections = 0;
  stalled = false;
  private server: Server | null = null;
  private readonly ctx: ActorContext;
  private readonly readMs: number;
  private readonly stallMs: number;
  private readonly elapsed: () => number;
  private readonly rss: () => number | null;
  private active: Promise<void> | null = null;

  constructor(ctx: ActorContext, readMs: number, stallMs: number, elapsed: () => number, rss: () => number | null) {
    this.ctx = ctx;
    this.readMs = readMs;
    this.stallMs = stallMs;
    this.elapsed = elapsed;
    this.rss = rss;
  }

  /** Listens on 127.0.0.1 (a port the kernel picks); resolves with the port for the switch's `tcp:` target. */
  async listen(): Promise<number> {
    const server = createServer((s) => {
      if (this.active || this.ctx.stopping()) {
        s.destroy();
        return;
      }
      this.active = this.serve(s).finally(() => {
        this.active = null;
      });
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP port for the stalled controller');
    return address.port;
  }

  async close(): Promise<void> {
    this.server?.close();
    await this.active;
  }

  private async serve(socket: Socket): Promise<void> {
    const ctx = this.ctx;
    const conn = new OfConn(socket);
    this.connections++;
    try {
      await conn.hello(ctx.replyTimeoutMs);
      await controllerHandshake(conn, ctx);
      while (!ctx.stopping() && !conn.closed) {
        await pause(ctx, this.readMs);
        if (ctx.stopping() || conn.closed) break;
        ctx.note('stalled reader: stops reading');
        const from = this.elapsed();
        const rssBefore = this.rss();
        this.stalled = true;
        conn.pause();
        const begun = Date.now();
        const end = begun + this.stallMs;
        let closedAfter: number | null = null;
        void conn.whenClosed.then(() => {
          if (this.stalled) closedAfter = (Date.now() - begun) / 1000;
        });
        while (Date.now() < end && !ctx.stopping() && !conn.closed) {
          conn.send({ version: OFP_VERSION, type: OFPT.ECHO_REQUEST, xid: conn.xid(), data: new Uint8Array(0) });
          await sleep(Math.min(1000, Math.max(0, end - Date.now())));
        }
        this.stalled = false;
        const rssAfter = this.rss();
        const before = conn.counters.bytesIn;
        const closedDuring = conn.closed;
        conn.resume();
        await sleep(2000);
        this.stalls.push({ from, to: this.elapsed(), closedBySwitch: closedDuring || conn.closed, closedAfter, rssBefore, rssAfter, drained: conn.counters.bytesIn - before });
      }
    } catch (err) {
      if (!ctx.stopping() && !conn.closed) ctx.note(`stalled controller: ${(err as Error).message}`);
    } finally {
      this.stalled = false;
      conn.destroy();
    }
  }
}

export class MalformedClient {
  sent = 0;
  readonly outcomes = new Map<string, Map<string, number>>();
  private readonly r: Random;
  private readonly ctx: ActorContext;

  constructor(ctx: ActorContext, seed: number) {
    this.ctx = ctx;
    this.r = new Random(seed);
  }

  private record(name: string, outcome: string): void {
    let m = this.outcomes.get(name);
    if (!m) this.outcomes.set(name, (m = new Map()));
    m.set(outcome, (m.get(outcome) ?? 0) + 1);
  }

  async run(): Promise<void> {
    const ctx = this.ctx;
    let conn: OfConn | null = null;
    while (!ctx.stopping()) {
      const msg = malformedMessage(this.r, 0x4d000000 + this.sent);
      this.sent++;
      try {
        if (msg.beforeHello) {
          conn?.destroy();
          conn = null;
          const raw = connect({ port: ctx.servicePort, host: '127.0.0.1' });
          const c = new OfConn(raw);
          await new Promise<void>((resolve, reject) => {
            raw.once('connect', resolve);
            raw.once('error', reject);
          });
          c.sendRaw(msg.bytes);
          const outcome = await this.outcome(c, msg.bytes, false);
          this.record(msg.name, outcome);
          c.destroy();
          continue;
        }
        if (!conn || conn.closed) conn = await OfConn.connect(ctx.servicePort, ctx.replyTimeoutMs);
        conn.sendRaw(msg.bytes);
        if (msg.abandon) {
          conn.destroy();
          conn = null;
          this.record(msg.name, 'stream abandoned');
        } else {
          this.record(msg.name, await this.outcome(conn, msg.bytes));
        }
      } catch (err) {
        if (!ctx.stopping()) ctx.fail(`malformed OpenFlow client (${msg.name}): ${(err as Error).message}`);
      }
      await pause(ctx, 20);
    }
    conn?.destroy();
  }

  /**
   * What the switch did with `bytes`: answered it (an error, or a reply), closed the connection, or
   * ignored it. An ECHO_REQUEST goes right after it: the switch handles messages in order, so an
   * answer to the malformed one comes before the echo's reply or not at all. Before the handshake
   * (`probe` false) nothing but an error or a close can come: one second is waited for either.
   */
  private async outcome(conn: OfConn, bytes: Uint8Array, probe = true): Promise<string> {
    const xid = bytes.length >= 8 ? new DataView(bytes.buffer, bytes.byteOffset).getUint32(4) : -1;
    const echoXid = conn.xid();
    if (probe) conn.send({ version: OFP_VERSION, type: OFPT.ECHO_REQUEST, xid: echoXid, data: new Uint8Array(0) });
    let answer: OfpMessage | null = null;
    const result = await new Promise<'echo' | 'closed' | 'timeout'>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), probe ? this.ctx.replyTimeoutMs : 1000);
      const before = conn.onMessage;
      const done = (how: 'echo' | 'closed' | 'timeout'): void => {
        clearTimeout(timer);
        conn.onMessage = before;
        resolve(how);
      };
      conn.onMessage = (m) => {
        if (m.xid === xid && answer === null && m.type !== OFPT.ECHO_REPLY) {
          answer = m;
          if (!probe) done('timeout');
        } else if (m.xid === echoXid && m.type === OFPT.ECHO_REPLY) {
          done('echo');
        } else {
          before(m);
        }
      };
      void conn.whenClosed.then(() => done('closed'));
    });
    const a = answer as OfpMessage | null;
    if (a !== null) {
      if (a.type === OFPT.ERROR && a.errorType === NXET_VENDOR) {
        this.ctx.fail(`a malformed message earned ${errorText(a)}: ${Buffer.from(bytes.subarray(0, 16)).toString('hex')}...`);
      }
      return a.type === OFPT.ERROR ? `OFPT_ERROR type ${a.errorType} code ${a.code}` : `answered with ${nameOf(OFPT, a.type)}`;
    }
    if (result === 'closed') return 'connection closed by the switch';
    if (!probe) return 'nothing within 1 s (the switch waits for the rest or a HELLO)';
    if (result === 'echo') return 'ignored';
    this.ctx.fail(`after a malformed message (${Buffer.from(bytes.subarray(0, 16)).toString('hex')}...) the switch answered neither it nor an echo in ${this.ctx.replyTimeoutMs} ms`);
    return 'no answer';
  }
}

export class PortChurn {
  cycles = 0;
  yankedUnderSwitch = 0;
  private readonly ctx: ActorContext;
  private readonly intervalMs: number;

  constructor(ctx: ActorContext, intervalMs: number) {
    this.ctx = ctx;
    this.intervalMs = intervalMs;
  }

  async run(): Promise<void> {
    const ctx = this.ctx;
    const rig = ctx.rig;
    while (!ctx.stopping()) {
      const host = await rig.addHost(`c${this.cycles % 2}`);
      try {
        await rig.vsctl(['add-port', rig.bridge, host.port]);
        const ofport = (await rig.vsctl(['get', 'Interface', host.port, 'ofport'])).trim();
        const error = (await rig.vsctl(['get', 'Interface', host.port, 'error'])).trim();
        if (!(Number(ofport) > 0)) ctx.fail(`add-port ${host.port}: ofport ${ofport}, error ${error}`);
        await pause(ctx, this.intervalMs / 2);
        if (this.cycles % 2 === 1) {
          await rig.deleteLink(host.port); // the link vanishes under the switch first
          this.yankedUnderSwitch++;
          await sleep(200);
        }
        await rig.vsctl(['del-port', rig.bridge, host.port]);
        this.cycles++;
      } catch (err) {
        if (!ctx.stopping()) ctx.fail(`port churn: ${(err as Error).message}`);
      } finally {
        await rig.removeHost(host);
      }
      await pause(ctx, this.intervalMs / 2);
    }
  }
}
