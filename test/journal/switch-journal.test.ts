/**
 * The flow journal wired into a switch (lib/switch.ts, lib/agent.ts): BARRIER_REPLY and stats
 * replies go only once the flow-mods before them are written to the file (not fdatasync'd); a new switch on the same journal has
 * the table back; the table's configuration (controllers, fail mode) decides whether a restart
 * flushes it, as the same change would live; expiry is journaled; a bad journal is a StartError.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanRecords } from '../../journal/record-format.js';
import { flowModFrom } from '../../lib/flow-spec.js';
import { silentLogger } from '../../lib/log.js';
import type { SwitchOptions } from '../../lib/options.js';
import { StartError, Switch, createSwitch, type SwitchConfig } from '../../lib/switch.js';
import { MATCH_ALL, OFP_VERSION, OFPFC, OFPP, OFPST, OFPT, OFPTT } from '../../protocol/index.js';
import { OfClient } from '../helpers/of-client.js';

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'ofswitch-swjournal-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function make(t: Test, config: SwitchConfig): Switch {
  const sw = createSwitch({ logger: silentLogger, ...config });
  t.teardown(() => sw.close());
  return sw;
}

interface JournalInside {
  groupCommitMs: number;
  unwritten: number;
  unsynced: number;
  synced(): Promise<void>;
  immediate: NodeJS.Immediate | null;
}

const flows = (sw: Switch) => sw.dumpFlows().map((f) => ({ priority: f.priority, cookie: f.cookie, match: f.match, actions: f.actions }));

t.test('BARRIER_REPLY and stats replies go once the flow-mods before them are written, not synced', async (t) => {
  const path = join(tempDir(t), 'br0.flows');
  const sw = make(t, { flowJournal: path, failMode: 'secure' });
  const journal = (sw as unknown as { journal: JournalInside }).journal;
  await journal.synced(); // what the switch recorded when it started
  journal.groupCommitMs = 60_000; // no group commit within the test
  journal.immediate = setImmediate(() => {}); // taken for the end-of-turn write: only a reply can make it write
  const l = await sw.addListener('ptcp:0:127.0.0.1');
  const c = await OfClient.connect(l.port);
  t.teardown(() => c.close());
  c.send({ ...flowModFrom({ match: { inPort: 1 }, priority: 10, cookie: 5n, actions: [{ output: 2 }] }), xid: 10 });
  t.match(await c.request({ version: OFP_VERSION, type: OFPT.ECHO_REQUEST, xid: 11, data: new Uint8Array(0) }), { type: OFPT.ECHO_REPLY }, 'the flow-mod is handled');
  t.equal(journal.unwritten, 1, 'its record waits for the group commit');
  const reply = await c.request({ version: OFP_VERSION, type: OFPT.BARRIER_REQUEST, xid: 12 });
  t.match(reply, { type: OFPT.BARRIER_REPLY, xid: 12 });
  t.equal(journal.unwritten, 0, 'BARRIER_REPLY came once the record was written');
  t.equal(journal.unsynced, 1, 'and without waiting for an fdatasync');
  const onDisk = scanRecords(readFileSync(path)).records.map((r) => r.record);
  t.match(onDisk.at(-1), { kind: 'flow-mod', mod: { command: OFPFC.ADD, cookie: 5n, priority: 10 } }, 'the record is in the file');

  c.send({ ...flowModFrom({ match: { inPort: 1 }, priority: 10 }, OFPFC.DELETE_STRICT), xid: 13 });
  const stats = await c.request({ version: OFP_VERSION, type: OFPT.STATS_REQUEST, xid: 14, flags: 0, statsType: OFPST.FLOW, match: MATCH_ALL, tableId: OFPTT.ALL, outPort: OFPP.NONE });
  t.match(stats, { type: OFPT.STATS_REPLY, flows: [] });
  t.equal(journal.unwritten, 0, 'a stats reply too waits for the changes before it');
  t.match(await c.request({ version: OFP_VERSION, type: OFPT.BARRIER_REQUEST, xid: 15 }), { type: OFPT.BARRIER_REPLY }, 'nothing pending: answered at once');
});

t.test('a new switch on the same journal has the table back; expired entries stay gone', async (t) => {
  const path = join(tempDir(t), 'j');
  const a = createSwitch({ logger: silentLogger, flowJournal: path });
  a.addFlow({ match: { dlType: 0x0800, nwDst: '10.1.0.0/16' }, priority: 300, cookie: 0xabcn, idleTimeout: 50, actions: [{ output: 2 }] });
  a.addFlow({ match: { inPort: 7 }, priority: 20, hardTimeout: 1, actions: [] });
  const before = flows(a);
  t.equal(before.length, 3, 'the two flows and the standalone NORMAL flow');
  await a.flowsDurable();
  t.equal((a as unknown as { journal: JournalInside }).journal.unsynced, 0, 'flowsDurable() resolves once they are fdatasync\'d');
  await make(t, {}).flowsDurable(); // without a journal: at once
  await new Promise((r) => setTimeout(r, 1300));
  t.equal(a.dumpFlows().length, 2, 'the hard timeout expired one');
  await a.close();
  const b = make(t, { flowJournal: path });
  t.same(flows(b), before.filter((f) => f.priority !== 20), 'the same flows, without the expired one');
  t.equal(b.dumpFlows().find((f) => f.priority === 300)?.idleTimeout, 50, 'timeouts kept');
});

t.test('the configuration the table was made under: a restart flushes only when it changed', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'j');
  const nowhere = 'tcp:127.0.0.1:9'; // a controller that never answers: the link stays configured
  const a = createSwitch({ logger: silentLogger, flowJournal: path });
  a.setControllers([nowhere]); // flushes the NORMAL flow, as Open vSwitch does
  a.addFlow({ match: { inPort: 1 }, priority: 10, cookie: 1n, actions: [{ output: 2 }] });
  await a.close();

  const b = createSwitch({ logger: silentLogger, flowJournal: path });
  t.same(flows(b).map((f) => f.cookie), [1n], 'restored before the controllers are set');
  b.setControllers([nowhere]);
  t.same(flows(b).map((f) => f.cookie), [1n], 'the same controllers after the restart: the table stays');
  await b.close();

  const c = createSwitch({ logger: silentLogger, flowJournal: path });
  c.setControllers([]);
  t.same(flows(c).map((f) => f.priority), [0], 'no controller any more: flushed, and the standalone NORMAL flow');
  c.addFlow({ match: { inPort: 3 }, priority: 10, actions: [] });
  await c.close();

  const d = createSwitch({ logger: silentLogger, flowJournal: path, failMode: 'secure' });
  t.same(flows(d), [], 'the fail mode changed without controllers: an empty table, as setFailMode gives');
  d.addFlow({ match: { inPort: 4 }, priority: 10, actions: [] });
  d.setFailMode('standalone');
  d.addFlow({ match: { inPort: 5 }, priority: 10, actions: [] });
  await d.close();
  const e = make(t, { flowJournal: path });
  t.same(flows(e).map((f) => f.priority).sort(), [0, 10], 'the fail mode change was journaled too');
});

t.test('the command: a journal that is not one is a StartError naming the file', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'notes');
  writeFileSync(path, 'not a journal');
  const options: SwitchOptions = {
    dpid: undefined, ports: [], local: undefined, listen: [], controllers: [], failMode: 'standalone',
    probeIntervalMs: 5000, logLevel: 'info', unixctl: undefined, flowJournal: path,
    controllerRateLimit: undefined, controllerBurstLimit: undefined,
  };
  await t.rejects(Switch.start(options, silentLogger), new StartError(`${path}: not an ofswitch flow journal`));
  const ok = await Switch.start({ ...options, flowJournal: join(dir, 'good') }, silentLogger);
  t.same(flows(ok).map((f) => f.priority), [0]);
  await ok.stop();
  await t.rejects(Switch.start({ ...options, flowJournal: dir }, silentLogger), /cannot read the flow journal/);
  t.throws(() => createSwitch({ flowJournal: dir }), { name: 'JournalError' }, 'a program gets the JournalError itself');
});

t.test('a non-strict DELETE applied a chunk at a time is journaled once, whole: the next switch has the same table', async (t) => {
  const path = join(tempDir(t), 'br0.flows');
  const sw = make(t, { flowJournal: path, failMode: 'secure' });
  const l = await sw.addListener('ptcp:0:127.0.0.1');
  const c = await OfClient.connect(l.port);
  t.teardown(() => c.close());
  const n = 5000; // several of the agent's table steps (1,024 entry ids each)
  for (let i = 0; i < n; i++) {
    c.send({ ...flowModFrom({ match: { dlType: 0x0800, nwSrc: `10.${i % 2}.${(i >> 8) & 255}.${i & 255}` }, priority: 100, cookie: BigInt(i), actions: [{ output: 2 }] }), xid: 100 + i });
  }
  c.send({ ...flowModFrom({ match: { dlType: 0x0800, nwSrc: '10.1.0.0/16' }, actions: [] }, OFPFC.DELETE), xid: 99_000 });
  t.match(await c.request({ version: OFP_VERSION, type: OFPT.BARRIER_REQUEST, xid: 99_001 }), { type: OFPT.BARRIER_REPLY, xid: 99_001 });
  const before = flows(sw);
  t.equal(before.length, n / 2, 'the DELETE removed the odd half');
  await c.close();
  await sw.close();
  const again = make(t, { flowJournal: path, failMode: 'secure' });
  const key = (f: { cookie: bigint }) => f.cookie;
  t.same(flows(again).sort((a, b) => Number(key(a) - key(b))), before.sort((a, b) => Number(key(a) - key(b))), 'the same entries after the restart');
});
