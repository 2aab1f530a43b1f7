/**
 * How the agent hands its output to a connection: a multi-part statistics reply goes out one part
 * at a time, the next only after `whenWritable()` resolves (so a slow reader gets it as it reads);
 * PACKET_INs pass the connection's schedulers (misses and actions apart, at the configured rate),
 * then `sendAsync`, as do FLOW_REMOVEDs; PORT_STATUS is never droppable. The connection is a
 * stand-in recording what it is given.
 */
import t from 'tap';
import {
  MATCH_ALL,
  OFP_SIZE,
  OFP_VERSION,
  OFPAT,
  OFPFF,
  OFPP,
  OFPPR,
  OFPR,
  OFPSF,
  OFPST,
  OFPT,
  OFPTT,
  decodeMessage,
} from '../../protocol/index.js';
import type { AggregateStats, FlowStats, OfpMessage, PhyPort, TableStats } from '../../protocol/index.js';
import { Agent, type AgentDatapath, type AgentFlowTable } from '../../lib/agent.js';
import type { Connection } from '../../lib/connection.js';
import type { FailModeState } from '../../lib/fail-mode.js';
import { silentLogger } from '../../lib/log.js';
import { MAX_STATS_BODY } from '../../lib/stats-split.js';
import { OneStepScans } from '../helpers/one-step-scans.js';

const flow = (i: number): FlowStats => ({
  tableId: 0, match: MATCH_ALL, durationSec: 0, durationNsec: 0, priority: i, idleTimeout: 0, hardTimeout: 0, cookie: BigInt(i),
  packetCount: 0n, byteCount: 0n, actions: [{ type: OFPAT.OUTPUT, port: 1, maxLen: 0 }],
});

class Table extends OneStepScans implements AgentFlowTable {
  flows: FlowStats[] = [];
  flowMod() {
    return { ok: true as const, removed: [] };
  }
  expire() {
    return [];
  }
  nextExpiry() {
    return null;
  }
  startFlowMod() {
    return { done: true, result: this.flowMod(), step: () => [] };
  }
  flowStats() {
    return this.flows;
  }
  aggregateStats(): AggregateStats {
    return { packetCount: 0n, byteCount: 0n, flowCount: this.flows.length };
  }
  tableStats(): TableStats[] {
    return [];
  }
}

const datapath: AgentDatapath = {
  portDescriptions: () => [],
  portStats: () => [],
  modifyPort: () => ({ ok: true }),
  execute: () => undefined,
};

/** A connection stand-in: records sends; whenWritable resolves only when the test says so. */
class FakeConnection {
  readonly kind = 'controller';
  state: 'active' | 'closed' = 'active';
  sent: OfpMessage[] = [];
  async: { type: number; kind: string; bytes: Buffer }[] = [];
  private release: (() => void)[] = [];
  get isActive(): boolean {
    return this.state === 'active';
  }
  send(msg: OfpMessage): void {
    this.sent.push(msg);
  }
  sendEncoded(msg: OfpMessage): void {
    this.sent.push(msg);
  }
  sendError(): void {
    throw new Error('no error expected');
  }
  sendAsync(msg: { type: number }, bytes: Buffer, kind: string): boolean {
    this.async.push({ type: msg.type, kind, bytes });
    return true;
  }
  whenWritable(): Promise<void> {
    return new Promise((r) => this.release.push(r));
  }
  /** Lets the reply go on: resolves the waiting whenWritable. */
  drain(): void {
    for (const r of this.release.splice(0)) r();
  }
  get waiting(): boolean {
    return this.release.length > 0;
  }
}

const failMode = { setConnections: () => undefined } as unknown as FailModeState;

function agentWith(table: Table, limits?: { rateLimit: number; burstLimit: number }): Agent {
  return new Agent({ datapathId: 1n, flowTable: table, datapath, failMode, log: silentLogger, ...(limits ? { packetInLimits: () => limits } : {}) });
}

const flowRequest = { version: OFP_VERSION, type: OFPT.STATS_REQUEST, xid: 42, flags: 0, statsType: OFPST.FLOW, match: MATCH_ALL, tableId: OFPTT.ALL, outPort: OFPP.NONE } as const;
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

t.test('a long flow stats reply: a bounded number of parts at a time, more only after the connection can take more', async (t) => {
  const table = new Table();
  const perPart = Math.floor(MAX_STATS_BODY / (OFP_SIZE.flow_stats + 8));
  const total = 20;
  table.flows = Array.from({ length: perPart * (total - 1) + 5 }, (_, i) => flow(i));
  const agent = agentWith(table);
  const conn = new FakeConnection();
  const c = conn as unknown as Connection;
  agent.onActive(c);
  const pending = agent.onMessage(c, flowRequest, new Uint8Array(0));
  t.ok(pending instanceof Promise, 'the handler returns a promise: the connection holds later requests');
  const first = conn.sent.length;
  t.ok(first >= 1 && first < total, `some parts at once, not all (${first})`);
  await tick();
  t.equal(conn.sent.length, first, 'nothing more until the connection is writable');
  let rounds = 0;
  while (conn.sent.length < total && rounds++ < total) {
    t.ok(conn.waiting, 'the agent awaits whenWritable');
    const before = conn.sent.length;
    conn.drain();
    await tick();
    await tick();
    t.ok(conn.sent.length > before, `more parts after drain ${rounds}`);
  }
  await pending;
  const parts = conn.sent.map((m) => (m.type === OFPT.STATS_REPLY && m.statsType === OFPST.FLOW ? m : null));
  t.same(parts.map((p) => p?.flags), [...Array(total - 1).fill(OFPSF.REPLY_MORE), 0], 'REPLY_MORE on all but the last');
  t.same(parts.map((p) => p?.flows.length), [...Array(total - 1).fill(perPart), 5]);
  t.same(parts.flatMap((p) => p?.flows.map((f) => Number(f.cookie)) ?? []), table.flows.map((_, i) => i), 'every flow once, in order');
  t.equal(parts.every((p) => p !== null && p.xid === 42), true, 'all with the request xid');
});

t.test('a reply that fits one part: sent at once, no promise; a closed connection ends the reply', async (t) => {
  const table = new Table();
  table.flows = [flow(1)];
  const agent = agentWith(table);
  const conn = new FakeConnection();
  const c = conn as unknown as Connection;
  agent.onActive(c);
  t.equal(agent.onMessage(c, flowRequest, new Uint8Array(0)), undefined, 'synchronous');
  t.equal(conn.sent.length, 1);
  conn.sent = [];
  table.flows = Array.from({ length: 30000 }, (_, i) => flow(i));
  const pending = agent.onMessage(c, flowRequest, new Uint8Array(0));
  const sentBeforeClose = conn.sent.length;
  t.ok(sentBeforeClose >= 1, 'parts went out before the close');
  conn.state = 'closed';
  conn.drain();
  await pending;
  t.equal(conn.sent.length, sentBeforeClose, 'no part after the connection closed');
});

t.test('PACKET_INs through the schedulers: misses and actions apart, then sendAsync; FLOW_REMOVED droppable, PORT_STATUS not', async (t) => {
  // 1 packet-in/s: no token comes back while the test runs, however slow the machine.
  const agent = agentWith(new Table(), { rateLimit: 1, burstLimit: 3 });
  const conn = new FakeConnection();
  const c = conn as unknown as Connection;
  agent.onActive(c);
  const frame = new Uint8Array(60);
  for (let i = 0; i < 10; i++) agent.onMiss(frame, 1);
  agent.onController(frame, 2, 0xffff);
  const kinds = conn.async.map((a) => a.kind);
  t.same(kinds, ['packet-in-miss', 'packet-in-miss', 'packet-in-miss', 'packet-in-action'], 'a burst of misses, then the action one on its own bucket');
  const first = decodeMessage(Uint8Array.prototype.slice.call(conn.async[0]?.bytes));
  t.match(first.ok && first.message, { type: OFPT.PACKET_IN, reason: OFPR.NO_MATCH, inPort: 1, totalLen: 60 }, 'a real PACKET_IN');
  const status = agent.packetInStatus(c);
  t.equal(status?.['packet-in-miss-queued'], '7');
  t.equal(status?.['packet-in-miss-backlog'], '3', 'burst_limit queued');
  t.equal(status?.['packet-in-miss-dropped'], '4');
  t.equal(status?.['packet-in-action-bypassed'], '1');
  agent.setPacketInLimits(c, { rateLimit: 1, burstLimit: 1 });
  t.equal(agent.packetInStatus(c)?.['packet-in-miss-backlog'], '1', 'new limits apply to the live connection');

  agent.flowsRemoved([{ entry: { match: MATCH_ALL, priority: 1, cookie: 0n, actions: [], idleTimeout: 0, flags: OFPFF.SEND_FLOW_REM, packetCount: 0, byteCount: 0 }, reason: 0, durationSec: 0, durationNsec: 0 }]);
  t.equal(conn.async.at(-1)?.kind, 'flow-removed', 'FLOW_REMOVED may be dropped past the budget');
  const desc: PhyPort = { portNo: 1, hwAddr: '02:00:00:00:00:01', name: 'p1', config: 0, state: 0, curr: 0, advertised: 0, supported: 0, peer: 0 };
  agent.portStatus(OFPPR.ADD, desc);
  t.equal(conn.sent.at(-1)?.type, OFPT.PORT_STATUS, 'PORT_STATUS goes as a message never dropped');

  agent.onClose(c);
  t.equal(agent.packetInStatus(c), undefined, 'the schedulers go with the connection');
  agent.onController(frame, 2, 0xffff, OFPR.ACTION);
  t.equal(conn.async.filter((a) => a.kind === 'packet-in-action').length, 1, 'nothing to a closed connection');
});
