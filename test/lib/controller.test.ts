/**
 * Controller connections end to end: ofswitch (the built command) with two test hosts in
 * namespaces, against a scripted controller (a TCP server speaking raw OpenFlow) and against the
 * real ovs-testcontroller: a controller that is not yet up, one that drops and returns, one that
 * stops answering echoes, and the fail modes in each case.
 */
import t, { type Test } from 'tap';
import { createServer, type Server, type Socket } from 'node:net';
import { OFPR, OFPT, OFP_VERSION } from '../../protocol/index.js';
import { addHost, assertRan, tryRun, type TestHost } from '../helpers/netns.js';
import { startOvsTestcontroller } from '../helpers/ovs-testcontroller.js';
import { ofctl } from '../helpers/ofctl.js';
import { OfClient } from '../helpers/of-client.js';
import { startOfswitch } from '../helpers/ofswitch-process.js';
import { freePort } from '../helpers/free-port.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A scripted controller: accepts connections, answers nothing unless told to. */
class ScriptedController {
  readonly server: Server;
  private readonly accepted: Socket[] = [];
  private readonly all: Socket[] = [];
  private waiting: (() => void)[] = [];

  constructor() {
    this.server = createServer((socket) => {
      this.accepted.push(socket);
      this.all.push(socket);
      for (const w of this.waiting.splice(0)) w();
    });
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
  }

  async close(): Promise<void> {
    for (const s of this.all) s.destroy();
    if (this.server.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The next connection from the switch, with the handshake done. */
  async nextConnection(timeoutMs = 10_000): Promise<OfClient> {
    const deadline = Date.now() + timeoutMs;
    while (this.accepted.length === 0) {
      if (Date.now() > deadline) throw new Error('the switch did not connect');
      await new Promise<void>((resolve) => {
        this.waiting.push(resolve);
        setTimeout(resolve, 100);
      });
    }
    const c = OfClient.wrap(this.accepted.shift() as Socket);
    await c.next((m) => m.type === OFPT.HELLO);
    c.send({ version: OFP_VERSION, type: OFPT.HELLO, xid: 1, body: new Uint8Array(0) });
    return c;
  }
}

/** Answers the switch's echo probes on `c` until the returned function is called. */
function answerEchoes(t: Test, c: OfClient): () => void {
  const timer = setInterval(() => {
    for (let i = c.received.length - 1; i >= 0; i--) {
      const m = c.received[i]?.msg;
      if (m?.type !== OFPT.ECHO_REQUEST) continue;
      c.received.splice(i, 1);
      c.send({ version: 1, type: OFPT.ECHO_REPLY, xid: m.xid, data: m.data });
    }
  }, 100);
  const stop = (): void => clearInterval(timer);
  t.teardown(stop);
  return stop;
}

async function ping(from: TestHost, to: TestHost): Promise<boolean> {
  return (await tryRun('ping', ['-c', '1', '-W', '1', to.ip], from.ns)).code === 0;
}

async function eventually(t: Test, what: string, cond: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let met = await cond();
  while (!met && Date.now() <= deadline) {
    await sleep(200);
    met = await cond();
  }
  t.ok(met, what);
}

async function twoHosts(t: Test): Promise<[TestHost, TestHost]> {
  return [await addHost(t, 'c1', { ip: '10.9.0.1/24' }), await addHost(t, 'c2', { ip: '10.9.0.2/24' })];
}

t.test('secure: a controller not yet up, one that drops and returns, one that stops answering echoes', async (t) => {
  const [h1, h2] = await twoHosts(t);
  const port = await freePort();
  const sw = await startOfswitch(t, ['--port', h1.port, '--port', h2.port, '--controller', `tcp:127.0.0.1:${port}`, '--fail-mode', 'secure', '--probe-interval', '1', '--listen', 'ptcp:0', '--log-level', 'debug']);
  t.teardown(() => { if (process.env['DEBUG_OFS']) console.error(sw.stderr()); });
  t.notOk(await ping(h1, h2), 'secure without a controller: nothing is forwarded');

  const controller = new ScriptedController();
  t.teardown(() => controller.close());
  await controller.listen(port);
  const c1 = await controller.nextConnection();
  answerEchoes(t, c1);
  t.match(await c1.request({ version: 1, type: OFPT.FEATURES_REQUEST, xid: 2 }), { type: OFPT.FEATURES_REPLY, ports: [{ portNo: 1 }, { portNo: 2 }] }, 'the switch connects once the controller is up');
  void tryRun('ping', ['-c', '1', '-W', '1', '10.9.0.77'], h1.ns); // a fresh ARP broadcast
  t.match(await c1.next((m) => m.type === OFPT.PACKET_IN, 5000), { reason: OFPR.NO_MATCH, inPort: 1 }, 'misses reach the controller');

  c1.close();
  const started = Date.now();
  const c2 = await controller.nextConnection();
  t.ok(Date.now() - started < 3000, 'reconnects after the first backoff (1 s)');
  t.match(await c2.request({ version: 1, type: OFPT.ECHO_REQUEST, xid: 0, data: new Uint8Array(0) }), { type: OFPT.ECHO_REPLY, xid: 0 });

  // c2 goes silent: the switch probes after 1 s and drops it after another.
  const probe = await c2.next((m) => m.type === OFPT.ECHO_REQUEST, 3000);
  t.equal(probe.type, OFPT.ECHO_REQUEST, 'an idle controller connection is probed');
  await c2.waitClosed(4000);
  t.ok(c2.closed, 'an unanswered probe drops the connection');
  const c3 = await controller.nextConnection();
  answerEchoes(t, c3);
  t.match(await c3.request({ version: 1, type: OFPT.BARRIER_REQUEST, xid: 9 }), { type: OFPT.BARRIER_REPLY }, 'and the switch comes back');
  t.notOk(await ping(h1, h2), 'still secure: the controller installs nothing, nothing is forwarded');
});

t.test('standalone with a controller configured: NORMAL while none is connected, back to the controller when one is', async (t) => {
  const [h1, h2] = await twoHosts(t);
  const port = await freePort();
  const listen = await freePort();
  await startOfswitch(t, ['--port', h1.port, '--port', h2.port, '--controller', `tcp:127.0.0.1:${port}`, '--fail-mode', 'standalone', '--probe-interval', '1', '--listen', `ptcp:${listen}`]);
  await eventually(t, 'fail open: forwarding by NORMAL after a probe interval without a controller', () => ping(h1, h2));
  const flows = await ofctl(undefined, `tcp:127.0.0.1:${listen}`, 'dump-flows');
  assertRan(t, flows, 'ovs-ofctl dump-flows');
  t.match(flows.stdout, /^(OFPST|NXST)_FLOW reply/m, 'a flow statistics reply');
  t.notMatch(flows.stdout, /actions=NORMAL/, 'no visible NORMAL entry when a controller is configured');

  const controller = new ScriptedController();
  t.teardown(() => controller.close());
  await controller.listen(port);
  const c = await controller.nextConnection();
  await c.request({ version: 1, type: OFPT.FEATURES_REQUEST, xid: 2 });
  answerEchoes(t, c);
  await eventually(t, 'a connected controller takes the misses back', async () => !(await ping(h1, h2)));
  t.match(await c.next((m) => m.type === OFPT.PACKET_IN, 3000), { type: OFPT.PACKET_IN }, 'as PACKET_INs');
  await controller.close();
  await eventually(t, 'the controller gone for a probe interval: NORMAL again', () => ping(h1, h2));
});

t.test('the real ovs-testcontroller drives ofswitch: buffered PACKET_IN, FLOW_MOD naming the buffer', async (t) => {
  const [h1, h2] = await twoHosts(t);
  const port = await freePort();
  const listen = await freePort();
  await startOvsTestcontroller(t, port);
  await startOfswitch(t, ['--port', h1.port, '--port', h2.port, '--controller', `tcp:127.0.0.1:${port}`, '--fail-mode', 'secure', '--listen', `ptcp:${listen}`]);
  await eventually(t, 'hosts reach each other through ovs-testcontroller', () => ping(h1, h2), 15_000);
  await tryRun('ping', ['-c', '3', '-i', '0.2', '-W', '1', h2.ip], h1.ns);
  const flows = await ofctl(undefined, `tcp:127.0.0.1:${listen}`, 'dump-flows');
  assertRan(t, flows, 'ovs-ofctl dump-flows');
  t.match(flows.stdout, /idle_timeout=60.*priority=65535.*in_port=1.*actions=output:2/, 'its exact-match entries are installed');
  t.match(flows.stdout, /n_packets=[1-9]/, 'and forward packets');
});
