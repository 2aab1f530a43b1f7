/**
 * Egress queues in process: the datapath hands ENQUEUE's priority to the port (OUTPUT and
 * IN_PORT/LOCAL forms; plain outputs 0); PortQos makes, changes and removes the qdisc on a veth
 * and reports tc's refusals; a Switch refuses QoS on a port without a kernel interface, removes
 * the qdisc with the port and at close; the agent answers queue requests from the kernel's
 * counters, OFPQOFC_EPERM when the kernel cannot tell, and without queues at all.
 */
import t, { type Test } from 'tap';
import { Datapath } from '../../datapath/datapath.js';
import { MemoryPort } from '../../datapath/ports/memory-port.js';
import { Switch } from '../../lib/switch.js';
import { PortError } from '../../datapath/ports/port-type.js';
import { OFP_VERSION, OFPAT, OFPET, OFPP, OFPQ_ALL, OFPQOFC, OFPST, OFPT } from '../../protocol/index.js';
import type { OfpMessage } from '../../protocol/index.js';
import { PortQos } from '../../qos/port-qos.js';
import { deleteHtbRootSync, deleteRootQdisc, hasHtbRoot, runTc } from '../../qos/tc.js';
import { queueSettings, type HtbSettings } from '../../qos/htb.js';
import { queueStats, type AgentQueues } from '../../lib/queue-requests.js';
import { createVethPair, run, setLinkUp, uniqueName } from '../helpers/netns.js';
import { OfClient } from '../helpers/of-client.js';
import { ethFrame, ipv4Packet, udpDatagram, withL4Checksum4 } from '../datapath/frames.js';

const MBIT = 1_000_000;
const settings = (queues: Record<number, Record<string, string>>, maxRate = 100 * MBIT): HtbSettings => ({
  maxRate,
  queues: new Map(Object.entries(queues).map(([id, o]) => [Number(id), queueSettings(o)])),
});

async function veth(t: Test, tag: string): Promise<string> {
  const a = uniqueName(tag);
  const b = uniqueName(`${tag}p`);
  await createVethPair(a, b, t);
  await setLinkUp(a);
  await setLinkUp(b);
  return a;
}

t.test('ENQUEUE hands the port its queue\'s priority; OUTPUT none', async (t) => {
  const dp = new Datapath({ flowTable: { lookup: () => null } as never, linkPollMs: 0 });
  t.teardown(() => dp.close());
  const ports = [1, 2].map((i) => new MemoryPort(`pq${i}`, { record: true, hwAddr: `02:00:00:00:02:0${i}` }));
  ports.forEach((p, i) => dp.registry.addPort(p, i + 1));
  const local = new MemoryPort('pqlocal', { record: true });
  dp.registry.addPort(local, OFPP.LOCAL);
  const f = ethFrame(0x0800, withL4Checksum4(ipv4Packet({ proto: 17 }, udpDatagram(1, 2))));
  dp.path.execute(f, 1, [
    { type: OFPAT.ENQUEUE, port: 2, queueId: 1 },
    { type: OFPAT.OUTPUT, port: 2, maxLen: 0 },
    { type: OFPAT.ENQUEUE, port: OFPP.IN_PORT, queueId: 4 },
    { type: OFPAT.ENQUEUE, port: OFPP.LOCAL, queueId: 0xf000 },
  ]);
  t.same(ports[1]!.sentPriorities, [0x10002, 0], 'queue 1 is priority 1:2; the plain output 0');
  t.same(ports[0]!.sentPriorities, [0x10005], 'ENQUEUE to IN_PORT: queue 4 is 1:5');
  t.same(local.sentPriorities, [0], 'a queue id HTB cannot number: priority 0');
  ports[1]!.take();
  t.same(ports[1]!.sentPriorities, [], 'take() clears the priorities with the frames');
});

t.test('PortQos on a veth: set, change, counters, remove; tc refusals', async (t) => {
  const dev = await veth(t, 'pqa');
  const dev2 = await veth(t, 'pqb');
  const qos = new PortQos();
  t.teardown(() => qos.close());
  await qos.set('p', dev, settings({ 1: { 'max-rate': String(20 * MBIT) }, 2: {} }), 10_000);
  t.ok(await hasHtbRoot(dev), 'an HTB root qdisc 1: on the interface');
  t.same(qos.plan('p')?.classes.map((c) => c.minor), [0xfffe, 1, 2, 3]);
  t.same(qos.devices(), [dev]);
  const counters = await qos.counters('p');
  t.same([...counters.keys()].sort((a, b) => a - b), [1, 2, 3, 0xfffe], 'every class counted');
  await qos.set('p', dev, settings({ 2: {} }), 10_000);
  t.notMatch(await run('tc', ['class', 'show', 'dev', dev]), /class htb 1:2 /, 'queue 1 went: its class too');
  await qos.set('p', dev2, settings({}), 10_000);
  t.notOk(await hasHtbRoot(dev), 'moved to another interface: the first one\'s qdisc removed');
  t.ok(await hasHtbRoot(dev2), 'and the other one has it');
  await qos.set('p', dev2, null);
  t.notOk(await hasHtbRoot(dev2), 'null removes it');
  t.equal(qos.plan('p'), undefined, 'no plan left');
  t.same(await qos.counters('p'), new Map(), 'no counters without QoS');

  const missing = uniqueName('pqx');
  await t.rejects(qos.set('q', missing, settings({})), /Cannot find device|No such device/, 'an interface that does not exist: tc\'s message');
  t.equal(qos.plan('q'), undefined, 'and no QoS');
  t.notOk(await hasHtbRoot(missing), 'hasHtbRoot of no device: false');
  await t.rejects(runTc([['qdisc', 'bogus']]), /tc qdisc bogus/, 'a tc failure names the command');
  await deleteRootQdisc(dev); // nothing there: no error
  t.notOk(deleteHtbRootSync(dev), 'no HTB: nothing deleted at exit');
  t.notOk(deleteHtbRootSync(missing), 'no device: nothing, no throw');
  await qos.set('r', dev, settings({}, 1 * MBIT));
  t.ok(deleteHtbRootSync(dev), 'an HTB root is deleted synchronously (the exit hook)');
  await qos.remove('r');
});

t.test('a Switch: QoS needs a kernel interface; removed with the port and at close', async (t) => {
  const sw = new Switch({ linkPollMs: 0 });
  t.teardown(() => sw.close());
  const dev = await veth(t, 'pqs');
  const dev2 = await veth(t, 'pqt');
  sw.addPort({ name: 'm1', type: 'memory' });
  sw.addPort({ name: dev });
  sw.addPort({ name: dev2 });
  await t.rejects(sw.setPortQos('m1', settings({})), PortError, 'a memory port has no qdisc');
  t.equal(await sw.setPortQos('m1', null), true, 'taking away QoS it never had is fine');
  t.equal(await sw.setPortQos('nosuch', settings({})), false, 'no such port');
  t.equal(await sw.setPortQos(dev, settings({ 1: {} })), true);
  t.same(sw.portQos(dev)?.classes.length, 3);
  t.same(sw.qosDevices(), [dev]);
  await t.rejects(sw.setPortQos(dev, { maxRate: 0, queues: new Map([[1, { minRate: 0, maxRate: 0, burst: 0, priority: 0 }]]) }).then(async () => {
    await run('ip', ['link', 'del', dev]);
    return sw.setPortQos(dev, settings({ 2: {} }));
  }), /cannot configure QoS/, 'tc refusing (the interface went) is a PortError naming the port');
  await sw.setPortQos(dev2, settings({}));
  sw.removePort(dev2);
  await new Promise((r) => setTimeout(r, 300));
  t.notOk(await hasHtbRoot(dev2), 'removing the port removes its qdisc');
  await sw.setPortQos(dev, null).catch(() => undefined);
});

t.test('the agent: queue requests answered from the kernel, EPERM when it cannot tell', async (t) => {
  const sw = new Switch({ linkPollMs: 0 });
  t.teardown(() => sw.close());
  const dev = await veth(t, 'pqg');
  sw.addPort({ name: dev, ofport: 1 });
  sw.addPort({ name: 'm2', type: 'memory', ofport: 2 });
  await sw.setPortQos(dev, settings({ 3: { 'min-rate': String(50 * MBIT) } }));
  const listener = await sw.addListener('ptcp:0:127.0.0.1');
  const c = await OfClient.connect(listener.port);
  t.teardown(() => c.close());
  const ask = (msg: Record<string, unknown>): Promise<OfpMessage> => c.request({ version: OFP_VERSION, xid: 7, ...msg } as unknown as OfpMessage);
  const config = (await ask({ type: OFPT.QUEUE_GET_CONFIG_REQUEST, port: 1 })) as unknown as { queues: { queueId: number; properties: { rate: number }[] }[] };
  t.same(config.queues.map((q) => [q.queueId, q.properties[0]?.rate]), [[0, 0], [3, 500]], 'queues 0 and 3; min rates in tenths of a percent');
  const stats = (await ask({ type: OFPT.STATS_REQUEST, statsType: OFPST.QUEUE, flags: 0, portNo: OFPP.ALL, queueId: OFPQ_ALL })) as unknown as { queues: { portNo: number; queueId: number }[] };
  t.same(stats.queues.map((q) => [q.portNo, q.queueId]), [[1, 0], [1, 3]], 'every queue of every port');
  await run('ip', ['link', 'del', dev]);
  const failed = (await ask({ type: OFPT.STATS_REQUEST, statsType: OFPST.QUEUE, flags: 0, portNo: 1, queueId: 3 })) as unknown as { type: number; errorType: number; code: number };
  t.same([failed.type, failed.errorType, failed.code], [OFPT.ERROR, OFPET.QUEUE_OP_FAILED, OFPQOFC.EPERM], 'the interface gone: OFPQOFC_EPERM');
});

t.test('queue statistics without any queues (an agent given none)', async (t) => {
  const none: AgentQueues = { config: () => [], counters: async () => new Map() };
  t.same(await queueStats(none, [1, 2], OFPQ_ALL, true), { ok: true, stats: [] }, 'every queue of ports without QoS: none, no error');
  const r = await queueStats(none, [1], 1, false);
  t.same(r, { ok: false, code: OFPQOFC.BAD_QUEUE, text: 'port 1 has no queue 1' });
});
