/**
 * The agent over the real flow table with a large table (issue 10): a non-strict DELETE is applied
 * a slice at a time while other connections are answered; FLOW_MODs and statistics from other
 * connections wait for it (never half a DELETE); a FLOW statistics reply comes in parts as read.
 */
import t, { type Test } from 'tap';
import { OFP_NO_BUFFER, OFP_VERSION, OFPAT, OFPFC, OFPFW, OFPP, OFPSF, OFPST, OFPT, OFPTT, MATCH_ALL } from '../../protocol/index.js';
import type { FlowMod, Match, OfpMessage } from '../../protocol/index.js';
import { Agent, type AgentDatapath } from '../../lib/agent.js';
import { FailModeState } from '../../lib/fail-mode.js';
import { silentLogger } from '../../lib/log.js';
import { FlowTable } from '../../flowtable/index.js';
import { OfClient } from '../helpers/of-client.js';
import { serveAgent } from '../helpers/agent-server.js';

const ENTRIES = 60_000;

const ipMatch = (i: number): Match => ({
  ...MATCH_ALL, wildcards: OFPFW.ALL & ~OFPFW.DL_TYPE & ~OFPFW.NW_SRC_MASK & ~OFPFW.NW_DST_MASK, dlType: 0x0800,
  nwSrc: (0x0a000000 | i) >>> 0, nwDst: (0xc0a80000 | (i & 0xffff)) >>> 0,
});
const flowMod = (over: Partial<FlowMod> = {}): FlowMod => ({
  version: OFP_VERSION, type: OFPT.FLOW_MOD, xid: 10, match: MATCH_ALL, cookie: 0n, command: OFPFC.ADD, idleTimeout: 0, hardTimeout: 0,
  priority: 100, bufferId: OFP_NO_BUFFER, outPort: OFPP.NONE, flags: 0, actions: [{ type: OFPAT.OUTPUT, port: 2, maxLen: 0 }], ...over,
});
const barrier = (xid: number): OfpMessage => ({ version: OFP_VERSION, type: OFPT.BARRIER_REQUEST, xid });
const statsRequest = (xid: number, statsType: typeof OFPST.FLOW | typeof OFPST.AGGREGATE): OfpMessage =>
  ({ version: OFP_VERSION, type: OFPT.STATS_REQUEST, xid, flags: 0, statsType, match: MATCH_ALL, tableId: OFPTT.ALL, outPort: OFPP.NONE }) as OfpMessage;

const datapath: AgentDatapath = {
  portDescriptions: () => [],
  portStats: () => [],
  modifyPort: () => ({ ok: true }),
  execute: () => undefined,
};

async function rig(t: Test): Promise<{ table: FlowTable; connect: () => Promise<OfClient> }> {
  const table = new FlowTable();
  for (let i = 0; i < ENTRIES; i++) table.flowMod(flowMod({ match: ipMatch(i), priority: 1 + (i % 100) }));
  const failMode = new FailModeState({ mode: 'secure', haveControllers: false, probeIntervalMs: 5000 });
  const agent = new Agent({ datapathId: 1n, flowTable: table, datapath, failMode, log: silentLogger });
  const { port } = await serveAgent(t, agent);
  const connect = async (): Promise<OfClient> => {
    const c = await OfClient.connect(port);
    t.teardown(() => c.close());
    return c;
  };
  return { table, connect };
}

/** Echo requests every 5 ms on `c` until stopped: the replies' arrival times. */
function echoes(c: OfClient): { stop: () => number[] } {
  const times: number[] = [];
  let xid = 1000;
  const timer = setInterval(() => c.send({ version: OFP_VERSION, type: OFPT.ECHO_REQUEST, xid: xid++, data: new Uint8Array(0) }), 5);
  c.socket.on('data', () => times.push(performance.now()));
  return {
    stop: () => {
      clearInterval(timer);
      return times;
    },
  };
}

t.test('a DELETE of every entry goes a slice at a time: other connections are answered meanwhile, and their FLOW_MODs and stats wait for it', async (t) => {
  const { table, connect } = await rig(t);
  const [a, b, c] = [await connect(), await connect(), await connect()];
  const probe = echoes(c);
  await new Promise((r) => setTimeout(r, 30));
  const start = performance.now();
  a.send(flowMod({ xid: 20, command: OFPFC.DELETE, actions: [] }));
  a.send(barrier(21));
  // b's ADD is covered by a's DELETE: applied in the middle, it could be deleted or survive at random;
  // serialised, it comes after the DELETE and stays.
  b.send(flowMod({ xid: 30, match: ipMatch(7), priority: 5 }));
  b.send(statsRequest(31, OFPST.AGGREGATE));
  const deleted = await a.next((m) => m.xid === 21, 30_000);
  const deleteDone = performance.now();
  t.equal(deleted.type, OFPT.BARRIER_REPLY);
  const agg = await b.next((m) => m.xid === 31, 30_000);
  const times = probe.stop();
  t.match(agg, { type: OFPT.STATS_REPLY, statsType: OFPST.AGGREGATE, stats: { flowCount: 1 } }, "b's ADD after the DELETE, its stats after both");
  t.equal(table.size, 1);
  const during = times.filter((x) => x > start && x < deleteDone);
  t.ok(during.length > 0, `echo replies arrived while the DELETE ran (${during.length} in ${Math.round(deleteDone - start)} ms)`);
  let gap = 0;
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!);
  t.ok(gap < 1000, `largest gap between echo replies ${Math.round(gap)} ms`);
});

t.test('FLOW statistics of a large table come in parts, REPLY_MORE on all but the last, every entry once', async (t) => {
  const { connect } = await rig(t);
  const a = await connect();
  a.send(statsRequest(40, OFPST.FLOW));
  const seen = new Set<number>();
  let parts = 0;
  for (;;) {
    const m = await a.next((x) => x.xid === 40, 30_000);
    if (m.type !== OFPT.STATS_REPLY || m.statsType !== OFPST.FLOW) throw new Error('not a flow stats reply');
    parts++;
    for (const f of m.flows) seen.add(f.match.nwSrc);
    if ((m.flags & OFPSF.REPLY_MORE) === 0) break;
  }
  t.equal(seen.size, ENTRIES);
  t.ok(parts > 10, `${parts} parts`);
  // a MODIFY over the table a slice at a time, then the stats see all of it
  a.send(flowMod({ xid: 41, command: OFPFC.MODIFY, cookie: 9n }));
  a.send(statsRequest(42, OFPST.AGGREGATE));
  t.match(await a.next((x) => x.xid === 42, 30_000), { stats: { flowCount: ENTRIES } });
  a.send({ ...(statsRequest(43, OFPST.FLOW) as object), match: { ...MATCH_ALL, wildcards: OFPFW.ALL & ~OFPFW.DL_TYPE & ~OFPFW.NW_SRC_MASK, dlType: 0x0800, nwSrc: 0x0a000005 } } as OfpMessage);
  t.match(await a.next((x) => x.xid === 43, 30_000), { flags: 0, flows: [{ cookie: 9n }] }, 'modified');
});

t.test('a dump to a connection that closes midway stops', async (t) => {
  const { table, connect } = await rig(t);
  const a = await connect();
  a.socket.pause(); // do not read: the switch waits for room
  a.send(statsRequest(50, OFPST.FLOW));
  await new Promise((r) => setTimeout(r, 200));
  a.close();
  const b = await connect();
  t.match(await b.request(statsRequest(51, OFPST.AGGREGATE), 30_000), { stats: { flowCount: table.size } }, 'the switch goes on');
});
