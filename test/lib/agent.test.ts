/**
 * The connection state machine and the agent over real loopback TCP, with an in-memory flow table
 * and datapath standing in for the real ones (which have their own tests under test/flowtable and
 * test/datapath, and run with the agent end to end in the ofswitch process of test/lib/wire.test.ts,
 * test/lib/ofctl-compare.test.ts and test/e2e/).
 */
import t, { type Test } from 'tap';
import type { Server } from 'node:net';
import {
  OFP_NO_BUFFER, OFP_VERSION, OFPAT, OFPBAC, OFPBRC, OFPC_FRAG, OFPET, OFPFC, OFPFF, OFPFMFC, OFPHFC, OFPP, OFPPMFC,
  OFPPR, OFPQOFC, OFPR, OFPRR, OFPSF, OFPST, OFPT, OfpError, encodeMessage,
} from '../../protocol/index.js';
import type { Action, FlowMod, FlowStats, Match, OfpMessage, PhyPort, PortStats } from '../../protocol/index.js';
import { MATCH_ALL } from '../../protocol/index.js';
import { Agent, type AgentDatapath, type AgentFlowTable, type AgentRemovedFlow } from '../../lib/agent.js';
import { BufferPool } from '../../lib/buffer-pool.js';
import { FailModeState } from '../../lib/fail-mode.js';
import { silentLogger } from '../../lib/log.js';
import { OfClient } from '../helpers/of-client.js';
import { serveAgent } from '../helpers/agent-server.js';
import { OneStepScans } from '../helpers/one-step-scans.js';
import { waitFor } from '../helpers/wait.js';

const ANY: Match = MATCH_ALL;

interface FakeEntry { match: Match; priority: number; cookie: bigint; actions: readonly Action[]; idleTimeout: number; hardTimeout: number; flags: number; packetCount: number; byteCount: number }

class FakeFlowTable extends OneStepScans implements AgentFlowTable {
  entries: FakeEntry[] = [];
  expiring: AgentRemovedFlow[] = [];
  flowMod(mod: FlowMod) {
    if (mod.command === OFPFC.ADD || mod.command === OFPFC.MODIFY) {
      if (mod.priority === 7) return new OfpError(OFPET.FLOW_MOD_FAILED, OFPFMFC.OVERLAP, mod.xid, encodeMessage(mod), 'priority 7');
      const entry = { match: mod.match, priority: mod.priority, cookie: mod.cookie, actions: mod.actions, idleTimeout: mod.idleTimeout, hardTimeout: mod.hardTimeout, flags: mod.flags, packetCount: 0, byteCount: 0 };
      this.entries.push(entry);
      return { ok: true as const, entry, removed: [] };
    }
    const removed = this.entries.map((entry) => ({ entry, reason: OFPRR.DELETE, durationSec: 1, durationNsec: 5 }));
    this.entries = [];
    return { ok: true as const, removed };
  }
  expire() {
    const r = this.expiring;
    this.expiring = [];
    return r;
  }
  nextExpiry() {
    return null;
  }
  startFlowMod(mod: FlowMod) {
    const result = this.flowMod(mod);
    return { done: true, result, step: () => [] };
  }
  flowStats(): FlowStats[] {
    return this.entries.map((e) => ({ tableId: 0, match: e.match, durationSec: 0, durationNsec: 0, priority: e.priority, idleTimeout: e.idleTimeout, hardTimeout: e.hardTimeout, cookie: e.cookie, packetCount: 0n, byteCount: 0n, actions: e.actions }));
  }
  aggregateStats() {
    return { packetCount: 0n, byteCount: 0n, flowCount: this.entries.length };
  }
  tableStats() {
    return [{ tableId: 0, name: 'classifier', wildcards: 0x3fffff, maxEntries: 1000, activeCount: this.entries.length, lookupCount: 0n, matchedCount: 0n }];
  }
}

const port1: PhyPort = { portNo: 1, hwAddr: '02:00:00:00:00:01', name: 'p1', config: 0, state: 0, curr: 0, advertised: 0, supported: 0, peer: 0 };
const local: PhyPort = { ...port1, portNo: OFPP.LOCAL, hwAddr: '02:00:00:00:00:fe', name: 'br0' };
const zeroStats = (portNo: number): PortStats => ({ portNo, rxPackets: 0n, txPackets: 0n, rxBytes: 0n, txBytes: 0n, rxDropped: 0n, txDropped: 0n, rxErrors: 0n, txErrors: 0n, rxFrameErr: 0n, rxOverErr: 0n, rxCrcErr: 0n, collisions: 0n });

class FakeDatapath implements AgentDatapath {
  executed: { frame: Uint8Array; inPort: number; actions: readonly Action[] }[] = [];
  frag = -1;
  portDescriptions() {
    return [port1, local];
  }
  portStats(portNo: number) {
    if (portNo === OFPP.NONE) return [zeroStats(1), zeroStats(OFPP.LOCAL)];
    return portNo === 1 ? [zeroStats(1)] : [];
  }
  modifyPort(mod: { portNo: number; hwAddr: string }) {
    if (mod.portNo !== 1) return { ok: false as const, code: OFPPMFC.BAD_PORT };
    if (mod.hwAddr !== port1.hwAddr) return { ok: false as const, code: OFPPMFC.BAD_HW_ADDR };
    return { ok: true as const };
  }
  execute(frame: Uint8Array, inPort: number, actions: readonly Action[]) {
    this.executed.push({ frame: Uint8Array.prototype.slice.call(frame), inPort, actions });
  }
  setFragHandling(mode: number) {
    this.frag = mode;
  }
}

interface Harness { agent: Agent; table: FakeFlowTable; dp: FakeDatapath; port: number; server: Server; failMode: FailModeState }

async function harness(t: Test, opts: { kind?: 'controller' | 'passive'; probeIntervalMs?: number | null; poolSize?: number; failMode?: FailModeState } = {}): Promise<Harness> {
  const table = new FakeFlowTable();
  const dp = new FakeDatapath();
  const failMode = opts.failMode ?? new FailModeState({ mode: 'secure', haveControllers: true, probeIntervalMs: 5000 });
  const agent = new Agent({ datapathId: 0x1234n, flowTable: table, datapath: dp, failMode, log: silentLogger, bufferPool: new BufferPool({ size: opts.poolSize ?? 256 }) });
  const { server, port } = await serveAgent(t, agent, opts);
  return { agent, table, dp, port, server, failMode };
}

async function client(t: Test, h: Harness, options?: { hello?: boolean }): Promise<OfClient> {
  const c = await OfClient.connect(h.port, '127.0.0.1', options);
  t.teardown(() => c.close());
  return c;
}

const flowMod = (over: Partial<FlowMod> = {}): FlowMod => ({
  version: OFP_VERSION, type: OFPT.FLOW_MOD, xid: 10, match: ANY, cookie: 0n, command: OFPFC.ADD, idleTimeout: 0, hardTimeout: 0,
  priority: 100, bufferId: OFP_NO_BUFFER, outPort: OFPP.NONE, flags: 0, actions: [{ type: OFPAT.OUTPUT, port: 1, maxLen: 0 }], ...over,
});



t.test('handshake: HELLO at once, version negotiation, failures close', async (t) => {
  const h = await harness(t);
  const c = await client(t, h, { hello: false });
  const hello = await c.next();
  t.equal(hello.type, OFPT.HELLO, 'the switch says HELLO first');
  t.equal(hello.version, 1);
  c.sendRaw(Uint8Array.from([6, 0, 0, 8, 0, 0, 0, 9])); // ovs-testcontroller: version 6, no bitmap
  const f = await c.request({ version: 1, type: OFPT.FEATURES_REQUEST, xid: 2 });
  t.equal(f.type, OFPT.FEATURES_REPLY, 'version 6 negotiates down to 1.0');

  const v0 = await client(t, h, { hello: false });
  v0.sendRaw(Uint8Array.from([0, 0, 0, 8, 0, 0, 0, 3]));
  const err = await v0.next((m) => m.type === OFPT.ERROR);
  t.match(err, { errorType: OFPET.HELLO_FAILED, code: OFPHFC.INCOMPATIBLE, xid: 3 });
  await v0.waitClosed();

  const notHello = await client(t, h, { hello: false });
  notHello.send({ version: 1, type: OFPT.FEATURES_REQUEST, xid: 4 });
  t.match(await notHello.next((m) => m.type === OFPT.ERROR), { errorType: OFPET.HELLO_FAILED });
  await notHello.waitClosed();
});

t.test('after the handshake: BAD_VERSION keeps the connection; echo; bad types; vendor', async (t) => {
  const h = await harness(t);
  const c = await client(t, h);
  c.sendRaw(Uint8Array.from([4, 2, 0, 8, 0, 0, 0, 5]));
  t.match(await c.next((m) => m.xid === 5), { type: OFPT.ERROR, errorType: OFPET.BAD_REQUEST, code: OFPBRC.BAD_VERSION });
  const echo = await c.request({ version: 1, type: OFPT.ECHO_REQUEST, xid: 0, data: Uint8Array.from([1, 2, 3]) });
  t.match(echo, { type: OFPT.ECHO_REPLY, xid: 0 });
  t.same(echo.type === OFPT.ECHO_REPLY && [...echo.data], [1, 2, 3]);
  c.sendRaw(Uint8Array.from([1, 30, 0, 8, 0, 0, 0, 6]));
  t.match(await c.next((m) => m.xid === 6), { errorType: OFPET.BAD_REQUEST, code: OFPBRC.BAD_TYPE });
  t.match(await c.request({ version: 1, type: OFPT.BARRIER_REPLY, xid: 7 }), { errorType: OFPET.BAD_REQUEST, code: OFPBRC.BAD_TYPE });
  t.match(await c.request({ version: 1, type: OFPT.VENDOR, xid: 8, vendor: 0x2320, data: new Uint8Array(4) }), { errorType: OFPET.BAD_REQUEST, code: OFPBRC.BAD_VENDOR });
  const vendorAction = flowMod({ xid: 9, actions: [{ type: OFPAT.VENDOR, vendor: 0x2320, body: new Uint8Array(8) }] });
  t.match(await c.request(vendorAction), { errorType: OFPET.BAD_ACTION, code: OFPBAC.BAD_VENDOR });
  c.send({ version: 1, type: OFPT.ECHO_REPLY, xid: 11, data: new Uint8Array(0) });
  c.send({ version: 1, type: OFPT.HELLO, xid: 12, body: new Uint8Array(0) });
  c.send({ version: 1, type: OFPT.ERROR, xid: 13, errorType: 1, code: 1, data: new Uint8Array(0) });
  t.match(await c.request({ version: 1, type: OFPT.BARRIER_REQUEST, xid: 14 }), { type: OFPT.BARRIER_REPLY }, 'still up');
});

t.test('features, config, queue config', async (t) => {
  const h = await harness(t);
  const c = await client(t, h);
  const f = await c.request({ version: 1, type: OFPT.FEATURES_REQUEST, xid: 2 });
  t.match(f, { type: OFPT.FEATURES_REPLY, datapathId: 0x1234n, nBuffers: 256, nTables: 1, actions: 0xfff }); // every action but VENDOR
  t.same(f.type === OFPT.FEATURES_REPLY && f.ports.map((p) => p.name), ['p1', 'br0']);
  t.match(await c.request({ version: 1, type: OFPT.GET_CONFIG_REQUEST, xid: 3 }), { flags: 0, missSendLen: 0 }, 'a service connection starts with 0');
  c.send({ version: 1, type: OFPT.SET_CONFIG, xid: 4, flags: OFPC_FRAG.DROP, missSendLen: 200 });
  t.match(await c.request({ version: 1, type: OFPT.GET_CONFIG_REQUEST, xid: 5 }), { flags: OFPC_FRAG.DROP, missSendLen: 200 });
  t.equal(h.dp.frag, OFPC_FRAG.DROP);
  c.send({ version: 1, type: OFPT.SET_CONFIG, xid: 6, flags: OFPC_FRAG.REASM, missSendLen: 128 });
  t.match(await c.request({ version: 1, type: OFPT.GET_CONFIG_REQUEST, xid: 7 }), { flags: OFPC_FRAG.DROP }, 'no reassembly: mode kept');
  t.match(await c.request({ version: 1, type: OFPT.QUEUE_GET_CONFIG_REQUEST, xid: 8, port: 1 }), { type: OFPT.QUEUE_GET_CONFIG_REPLY, port: 1, queues: [] });
  t.match(await c.request({ version: 1, type: OFPT.QUEUE_GET_CONFIG_REQUEST, xid: 9, port: 9 }), { errorType: OFPET.QUEUE_OP_FAILED, code: OFPQOFC.BAD_PORT });
});

t.test('flow mods, buffers, barrier ordering, packet out, port mod', async (t) => {
  const h = await harness(t);
  const c = await client(t, h);
  await c.monitor();
  // An error must arrive before the barrier reply that follows its request.
  c.send(flowMod({ xid: 20, priority: 7 }));
  c.send({ version: 1, type: OFPT.BARRIER_REQUEST, xid: 21 });
  const first = await c.next((m) => m.xid === 20 || m.xid === 21);
  t.match(first, { xid: 20, type: OFPT.ERROR, errorType: OFPET.FLOW_MOD_FAILED, code: OFPFMFC.OVERLAP });
  t.match(await c.next((m) => m.xid === 21), { type: OFPT.BARRIER_REPLY });

  // Unknown buffer: the entry is installed all the same, then BUFFER_UNKNOWN.
  t.match(await c.request(flowMod({ xid: 22, bufferId: 0x777 })), { errorType: OFPET.BAD_REQUEST, code: OFPBRC.BUFFER_UNKNOWN });
  t.equal(h.table.entries.length, 1);

  // A miss stores the frame; the flow mod naming its buffer sends it through the new actions.
  const frame = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
  h.agent.onMiss(frame, 1);
  const pin = await c.next((m) => m.type === OFPT.PACKET_IN);
  if (pin.type !== OFPT.PACKET_IN) throw new Error();
  t.match(pin, { reason: OFPR.NO_MATCH, totalLen: 300, inPort: 1 });
  t.equal(pin.data.length, 128, 'miss_send_len bytes of a buffered packet');
  t.not(pin.bufferId, OFP_NO_BUFFER);
  c.send(flowMod({ xid: 23, bufferId: pin.bufferId, actions: [{ type: OFPAT.OUTPUT, port: 2, maxLen: 0 }] }));
  await c.request({ version: 1, type: OFPT.BARRIER_REQUEST, xid: 24 });
  t.equal(h.dp.executed.length, 1);
  t.same(h.dp.executed[0]?.frame, frame);
  t.equal(h.dp.executed[0]?.inPort, 1);
  t.same(h.dp.executed[0]?.actions, [{ type: OFPAT.OUTPUT, port: 2, maxLen: 0 }]);

  // DELETE ignores buffer_id; FLOW_REMOVED only for entries with SEND_FLOW_REM.
  c.send(flowMod({ xid: 25, flags: OFPFF.SEND_FLOW_REM, cookie: 5n }));
  c.send(flowMod({ xid: 26, command: OFPFC.DELETE, bufferId: 0x999 }));
  const removed = await c.next((m) => m.type === OFPT.FLOW_REMOVED);
  t.match(removed, { cookie: 5n, reason: OFPRR.DELETE, durationSec: 1, durationNsec: 5 });
  t.match(await c.request({ version: 1, type: OFPT.BARRIER_REQUEST, xid: 27 }), { type: OFPT.BARRIER_REPLY });
  t.equal(c.received.filter((r) => r.msg?.type === OFPT.FLOW_REMOVED).length, 0, 'only one FLOW_REMOVED');

  // PACKET_OUT with data, with a buffer, with a stale buffer.
  c.send({ version: 1, type: OFPT.PACKET_OUT, xid: 30, bufferId: OFP_NO_BUFFER, inPort: OFPP.NONE, actions: [{ type: OFPAT.OUTPUT, port: OFPP.FLOOD, maxLen: 0 }], data: Uint8Array.from([9, 9]) });
  h.agent.onController(frame, 1, 64);
  const pin2 = await c.next((m) => m.type === OFPT.PACKET_IN);
  if (pin2.type !== OFPT.PACKET_IN) throw new Error();
  t.match(pin2, { reason: OFPR.ACTION });
  t.equal(pin2.data.length, 64, 'max_len bytes');
  c.send({ version: 1, type: OFPT.PACKET_OUT, xid: 31, bufferId: pin2.bufferId, inPort: 1, actions: [], data: new Uint8Array(0) });
  t.match(await c.request({ version: 1, type: OFPT.PACKET_OUT, xid: 32, bufferId: pin2.bufferId, inPort: 1, actions: [], data: new Uint8Array(0) }), { errorType: OFPET.BAD_REQUEST, code: OFPBRC.BUFFER_UNKNOWN }, 'a buffer is used once');
  t.same(h.dp.executed.slice(1).map((e) => e.frame.length), [2, 300]);

  // PORT_MOD errors.
  const pm = { version: 1, type: OFPT.PORT_MOD, xid: 40, portNo: 1, hwAddr: port1.hwAddr, config: 0, mask: 0, advertise: 0 } as const;
  t.match(await c.request({ ...pm, portNo: 5 }), { errorType: OFPET.PORT_MOD_FAILED, code: OFPPMFC.BAD_PORT });
  t.match(await c.request({ ...pm, xid: 41, hwAddr: '02:00:00:00:00:99' }), { errorType: OFPET.PORT_MOD_FAILED, code: OFPPMFC.BAD_HW_ADDR });
  c.send({ ...pm, xid: 42 });
  t.match(await c.request({ version: 1, type: OFPT.BARRIER_REQUEST, xid: 43 }), { type: OFPT.BARRIER_REPLY });
});

t.test('statistics, split with REPLY_MORE past 64 KiB', async (t) => {
  const h = await harness(t);
  const c = await client(t, h);
  const hdr = { version: 1, type: OFPT.STATS_REQUEST, flags: 0 } as const;
  t.match(await c.request({ ...hdr, xid: 1, statsType: OFPST.DESC }), { statsType: OFPST.DESC, desc: { hwDesc: 'ofswitch' } });
  for (let i = 0; i < 1000; i++) h.table.entries.push({ match: ANY, priority: i, cookie: BigInt(i), actions: [{ type: OFPAT.OUTPUT, port: 1, maxLen: 0 }], idleTimeout: 0, hardTimeout: 0, flags: 0, packetCount: 0, byteCount: 0 });
  c.send({ ...hdr, xid: 2, statsType: OFPST.FLOW, match: ANY, tableId: 0xff, outPort: OFPP.NONE });
  const parts: OfpMessage[] = [];
  for (;;) {
    const m = await c.next((x) => x.xid === 2);
    parts.push(m);
    if (m.type !== OFPT.STATS_REPLY || (m.flags & OFPSF.REPLY_MORE) === 0) break;
  }
  t.equal(parts.length, 2, '1000 flows of 96 bytes need two messages');
  t.equal(parts.reduce((n, m) => n + (m.type === OFPT.STATS_REPLY && m.statsType === OFPST.FLOW ? m.flows.length : 0), 0), 1000);
  t.match(await c.request({ ...hdr, xid: 3, statsType: OFPST.AGGREGATE, match: ANY, tableId: 0xff, outPort: OFPP.NONE }), { stats: { flowCount: 1000 } });
  t.match(await c.request({ ...hdr, xid: 4, statsType: OFPST.TABLE }), { tables: [{ activeCount: 1000 }] });
  t.match(await c.request({ ...hdr, xid: 5, statsType: OFPST.PORT, portNo: OFPP.NONE }), { ports: [{ portNo: 1 }, { portNo: OFPP.LOCAL }] });
  t.match(await c.request({ ...hdr, xid: 6, statsType: OFPST.PORT, portNo: 1 }), { ports: [{ portNo: 1 }] });
  t.match(await c.request({ ...hdr, xid: 7, statsType: OFPST.PORT, portNo: 9 }), { ports: [] });
  t.match(await c.request({ ...hdr, xid: 8, statsType: OFPST.QUEUE, portNo: OFPP.ALL, queueId: 0xffffffff }), { statsType: OFPST.QUEUE, queues: [] });
  t.match(await c.request({ ...hdr, xid: 9, statsType: OFPST.QUEUE, portNo: 9, queueId: 0 }), { errorType: OFPET.QUEUE_OP_FAILED, code: OFPQOFC.BAD_PORT });
  t.match(await c.request({ ...hdr, xid: 10, statsType: OFPST.PORT_DESC }), { ports: [{ name: 'p1' }, { name: 'br0' }] });
  t.match(await c.request({ ...hdr, xid: 11, statsType: OFPST.VENDOR, vendor: 0x2320, body: new Uint8Array(4) }), { errorType: OFPET.BAD_REQUEST, code: OFPBRC.BAD_VENDOR });
});

t.test('malformed input: errors, and garbage on one connection leaves the others', async (t) => {
  const h = await harness(t);
  const good = await client(t, h);
  const bad = await client(t, h);
  const short = encodeMessage(flowMod({ xid: 50 })).subarray(0, 60);
  short[3] = 60;
  bad.sendRaw(short);
  t.match(await bad.next((m) => m.xid === 50), { type: OFPT.ERROR, errorType: OFPET.BAD_REQUEST, code: OFPBRC.BAD_LEN });
  bad.sendRaw(Uint8Array.from([1, 0, 0, 4, 0, 0, 0, 0])); // length below the header: unframeable
  await bad.waitClosed();
  const huge = await client(t, h);
  huge.sendRaw(Uint8Array.from([1, 2, 0xff, 0xff, 0, 0, 0, 1, 0, 0])); // waits forever for 65535 bytes
  t.match(await good.request({ version: 1, type: OFPT.ECHO_REQUEST, xid: 51, data: new Uint8Array(0) }), { type: OFPT.ECHO_REPLY });
});

t.test('asynchronous messages go to every connection; the fail mode learns of every connection', async (t) => {
  const failMode = new FailModeState({ mode: 'standalone', haveControllers: true, probeIntervalMs: 0 });
  const h = await harness(t, { poolSize: 1, failMode });
  t.equal(failMode.missPolicy, 'normal', 'fail open: the datapath sends misses to NORMAL itself');
  h.agent.onMiss(Uint8Array.from([1]), 1);
  h.agent.onController(Uint8Array.from([1]), 1, 128);
  t.equal(h.dp.executed.length, 0, 'the agent never sends a miss back down');
  const a = await client(t, h);
  const b = await client(t, h);
  await waitFor(() => h.agent.connections.size === 2);
  await a.monitor();
  await b.monitor();
  h.agent.portStatus(OFPPR.MODIFY, port1);
  t.match(await a.next((m) => m.type === OFPT.PORT_STATUS), { reason: OFPPR.MODIFY, desc: { name: 'p1' } });
  t.match(await b.next((m) => m.type === OFPT.PORT_STATUS), { reason: OFPPR.MODIFY });
  h.table.expiring = [{ entry: { ...h.table.flowStats()[0], match: ANY, priority: 1, cookie: 1n, actions: [], idleTimeout: 1, flags: OFPFF.SEND_FLOW_REM, packetCount: 3, byteCount: 4 }, reason: OFPRR.IDLE_TIMEOUT, durationSec: 1, durationNsec: 0 }];
  t.equal(h.agent.expireFlows(), 1);
  t.match(await b.next((m) => m.type === OFPT.FLOW_REMOVED), { reason: OFPRR.IDLE_TIMEOUT, packetCount: 3n, byteCount: 4n });
  t.equal(failMode.missPolicy, 'normal', 'passive connections are not controllers: still fail open');
  const big = new Uint8Array(500);
  const secure = await harness(t, { poolSize: 1 });
  t.equal(secure.failMode.missPolicy, 'drop', 'secure without a connection: dropped');
  secure.agent.onMiss(big, 1); // stores nothing: the one buffer is still free for p1 below
  const s = await client(t, secure);
  await waitFor(() => secure.agent.connections.size === 1);
  t.equal(secure.failMode.missPolicy, 'drop', 'a service connection that asked for nothing: still dropped');
  await s.monitor();
  t.equal(secure.failMode.missPolicy, 'controller', 'a connection that asked for them: misses go up');
  secure.agent.onMiss(big, 1);
  const p1 = await s.next((m) => m.type === OFPT.PACKET_IN);
  secure.agent.onMiss(big, 2);
  const p2 = await s.next((m) => m.type === OFPT.PACKET_IN);
  t.ok(p1.type === OFPT.PACKET_IN && p1.data.length === 128 && p1.bufferId !== OFP_NO_BUFFER, 'buffered: the miss without a connection took no buffer');
  t.ok(p2.type === OFPT.PACKET_IN && p2.data.length === 500 && p2.bufferId === OFP_NO_BUFFER, 'pool full: the whole frame, unbuffered');
  s.close();
  await waitFor(() => secure.agent.connections.size === 0);
  t.equal(secure.failMode.missPolicy, 'drop', 'the last connection gone: dropped again');
});

t.test('controller connections: echo probe when idle, dropped when silent', async (t) => {
  const h = await harness(t, { kind: 'controller', probeIntervalMs: 150 });
  const c = await client(t, h);
  await waitFor(() => h.agent.connections.size === 1);
  t.equal(h.failMode.missPolicy, 'controller');
  const probe = await c.next((m) => m.type === OFPT.ECHO_REQUEST, 1000);
  c.send({ version: 1, type: OFPT.ECHO_REPLY, xid: probe.xid, data: new Uint8Array(0) });
  await c.next((m) => m.type === OFPT.ECHO_REQUEST, 1000);
  const start = Date.now();
  await c.waitClosed(2000); // no reply this time
  t.ok(Date.now() - start >= 100, 'dropped after another silent interval');
  await waitFor(() => h.agent.connections.size === 0);
  const silent = await client(t, h, { hello: false });
  await silent.waitClosed(4000);
  t.ok(silent.closed, 'no HELLO: dropped (after OFCONN_HELLO_TIMEOUT_MS, whatever the probe interval)');
});
