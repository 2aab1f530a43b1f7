/**
 * Asynchronous-message settings per connection, as Open vSwitch's connmgr keeps them: a controller
 * connection starts with miss_send_len 128, a service connection (one a listener accepted) with 0
 * and no asynchronous messages at all (PACKET_IN, FLOW_REMOVED, PORT_STATUS) until its SET_CONFIG
 * asks; one connection's SET_CONFIG never changes another's; the fragment handling is the switch's.
 * Driven by a raw client, a controller connection at the same time, and the real `ovs-ofctl
 * monitor` (which sends SET_CONFIG only when given a miss length).
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { createSwitch, type Switch } from '../../index.js';
import { OFP_NO_BUFFER, OFP_VERSION, OFPC_FRAG, OFPPR, OFPR, OFPT } from '../../protocol/index.js';
import type { OfpMessage } from '../../protocol/index.js';
import { OfClient } from '../helpers/of-client.js';
import { ovsEnv } from '../helpers/ovs-rundir.js';
import { waitFor, sleep } from '../helpers/wait.js';

const frame300 = (): Uint8Array => {
  const f = new Uint8Array(300);
  f.set([0x02, 0, 0, 0, 0, 0x0b, 0x02, 0, 0, 0, 0, 0x0a, 0x88, 0xb5]); // dst, src, a local experimental EtherType
  return f;
};


/** A secure switch on a memory port with a listener and a controller connection (a raw client on the controller's side). */
async function rig(t: Test): Promise<{ sw: Switch; port: number; inject: (f: Uint8Array) => void; controller: OfClient }> {
  const sw = createSwitch({ linkPollMs: 0, failMode: 'secure' });
  t.teardown(() => sw.close());
  const p1 = sw.addPort({ name: 'p1', type: 'memory' });
  sw.addPort({ name: 'p2', type: 'memory' });
  const accepted: Socket[] = [];
  let controller: OfClient | undefined;
  const server = createServer((socket) => {
    accepted.push(socket);
    controller = OfClient.wrap(socket);
    controller.send({ version: OFP_VERSION, type: OFPT.HELLO, xid: 1, body: new Uint8Array(0) });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of accepted) s.destroy();
    server.close();
  });
  const address = server.address();
  sw.setControllers([`tcp:127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`]);
  await waitFor(() => sw.controllers()[0]?.connected === true);
  const l = await sw.addListener('ptcp:0:127.0.0.1');
  return { sw, port: l.port, inject: (f) => p1.device.inject(f), controller: controller! };
}

async function client(t: Test, port: number): Promise<OfClient> {
  const c = await OfClient.connect(port);
  t.teardown(() => c.close());
  return c;
}

const getConfig = (c: OfClient, xid: number): Promise<OfpMessage> => c.request({ version: OFP_VERSION, type: OFPT.GET_CONFIG_REQUEST, xid });
const barrier = (c: OfClient, xid: number): Promise<OfpMessage> => c.request({ version: OFP_VERSION, type: OFPT.BARRIER_REQUEST, xid });
const count = (c: OfClient, type: number): number => c.history.filter((r) => r.msg?.type === type).length;

t.test('miss_send_len per connection: 128 for a controller, 0 and nothing asynchronous for a service connection until it asks', async (t) => {
  const { sw, port, inject, controller } = await rig(t);
  const quiet = await client(t, port);
  const asking = await client(t, port);
  t.match(await getConfig(controller, 2), { type: OFPT.GET_CONFIG_REPLY, missSendLen: 128 }, 'controller connection: OFP_DEFAULT_MISS_SEND_LEN');
  t.match(await getConfig(quiet, 3), { type: OFPT.GET_CONFIG_REPLY, missSendLen: 0 }, 'service connection: 0, as OVS');
  t.equal(sw.missPolicy, 'controller');

  inject(frame300());
  const first = await controller.next((m) => m.type === OFPT.PACKET_IN);
  t.ok(first.type === OFPT.PACKET_IN && first.data.length === 128 && first.bufferId !== OFP_NO_BUFFER, 'the controller gets 128 bytes of the buffered frame');
  await barrier(quiet, 4);
  await barrier(asking, 5);
  t.equal(count(quiet, OFPT.PACKET_IN) + count(asking, OFPT.PACKET_IN), 0, 'no service connection got it');

  asking.send({ version: OFP_VERSION, type: OFPT.SET_CONFIG, xid: 6, flags: 0, missSendLen: 64 });
  t.match(await getConfig(asking, 7), { missSendLen: 64 }, 'GET_CONFIG answers the connection its own value');
  t.match(await getConfig(controller, 8), { missSendLen: 128 }, "one connection's SET_CONFIG leaves the controller's alone");
  t.match(await getConfig(quiet, 9), { missSendLen: 0 }, 'and the other service connection\'s');

  inject(frame300());
  const toController = await controller.next((m) => m.type === OFPT.PACKET_IN);
  const toAsking = await asking.next((m) => m.type === OFPT.PACKET_IN);
  if (toController.type !== OFPT.PACKET_IN || toAsking.type !== OFPT.PACKET_IN) throw new Error('not packet-ins');
  t.equal(toController.data.length, 128, 'each connection gets its own length: 128');
  t.equal(toAsking.data.length, 64, '64');
  t.equal(toAsking.bufferId, toController.bufferId, 'of the same buffered frame');
  t.match(toAsking, { reason: OFPR.NO_MATCH, totalLen: 300, inPort: 1 });
  await barrier(quiet, 10);
  t.equal(count(quiet, OFPT.PACKET_IN), 0, 'the quiet one still gets none');

  // PORT_STATUS and FLOW_REMOVED follow the same rule.
  sw.addPort({ name: 'p3', type: 'memory' });
  t.match(await controller.next((m) => m.type === OFPT.PORT_STATUS), { reason: OFPPR.ADD });
  t.match(await asking.next((m) => m.type === OFPT.PORT_STATUS), { reason: OFPPR.ADD });
  sw.addFlow({ match: { inPort: 2 }, priority: 5, hardTimeout: 1, sendFlowRemoved: true, actions: [] });
  await controller.next((m) => m.type === OFPT.FLOW_REMOVED, 4000);
  await asking.next((m) => m.type === OFPT.FLOW_REMOVED, 1000);
  await barrier(quiet, 11);
  t.equal(count(quiet, OFPT.PORT_STATUS) + count(quiet, OFPT.FLOW_REMOVED), 0, 'no PORT_STATUS or FLOW_REMOVED to a service connection that did not ask');

  // Back to 0: nothing again. A controller connection set to 0 still gets PACKET_IN, with no data.
  asking.send({ version: OFP_VERSION, type: OFPT.SET_CONFIG, xid: 12, flags: 0, missSendLen: 0 });
  controller.send({ version: OFP_VERSION, type: OFPT.SET_CONFIG, xid: 13, flags: 0, missSendLen: 0 });
  await barrier(asking, 14);
  await barrier(controller, 15);
  const before = count(asking, OFPT.PACKET_IN);
  inject(frame300());
  const empty = await controller.next((m) => m.type === OFPT.PACKET_IN);
  t.ok(empty.type === OFPT.PACKET_IN && empty.data.length === 0 && empty.bufferId !== OFP_NO_BUFFER, 'controller at 0: the buffer id, no data');
  await barrier(asking, 16);
  t.equal(count(asking, OFPT.PACKET_IN), before, 'a service connection back at 0 gets nothing');
});

t.test('fragment handling stays switch-wide, as in Open vSwitch', async (t) => {
  const { port, controller } = await rig(t);
  const c = await client(t, port);
  c.send({ version: OFP_VERSION, type: OFPT.SET_CONFIG, xid: 2, flags: OFPC_FRAG.DROP, missSendLen: 0 });
  t.match(await getConfig(controller, 3), { flags: OFPC_FRAG.DROP, missSendLen: 128 }, "a service connection's frag setting is the switch's; its miss_send_len is its own");
});

/** `ovs-ofctl monitor TARGET [MISSLEN]` for a while; what it printed. */
async function monitor(target: string, args: string[], during: () => Promise<void>): Promise<{ code: number | null; out: string }> {
  const child = spawn('ovs-ofctl', ['monitor', target, ...args], { env: { ...process.env, ...ovsEnv() }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await during();
  } finally {
    child.kill('SIGTERM');
  }
  return { code: await exited, out };
}

t.test('the real ovs-ofctl monitor: packet-ins only when it gives a miss length (it then sends SET_CONFIG), beside a controller', async (t) => {
  const { port, inject, controller } = await rig(t);
  const target = `tcp:127.0.0.1:${port}`;
  const plain = await monitor(target, [], async () => {
    await sleep(700);
    inject(frame300());
    await controller.next((m) => m.type === OFPT.PACKET_IN);
    await sleep(500);
  });
  t.notMatch(plain.out, /error|failed/i, `ovs-ofctl monitor ran: ${plain.out.slice(0, 200)}`);
  t.notMatch(plain.out, /OFPT_PACKET_IN/, 'without a miss length: no PACKET_IN, as from Open vSwitch');
  const asked = await monitor(target, ['65535'], async () => {
    await sleep(700);
    inject(frame300());
    await controller.next((m) => m.type === OFPT.PACKET_IN);
    await sleep(500);
  });
  t.match(asked.out, /OFPT_PACKET_IN.*total_len=300/, 'with one: the PACKET_IN, with the whole frame');
  t.match(asked.out, /data_len=300|total_len=300 in_port=1/, 'whole frame');
  t.match(await getConfig(controller, 9), { missSendLen: 128 }, "the monitor's SET_CONFIG left the controller's miss_send_len alone");
});
