/**
 * Connections a peer cannot hold on to: a service connection (accepted by a listener) is probed
 * as a controller connection is; one that sends no HELLO within OFCONN_HELLO_TIMEOUT_MS, or that
 * holds part of a message past its probe interval, is closed with one log line; past the bridge's
 * cap (--max-connections, other_config:max-connections) new connections are refused with a log
 * line; the flag and the config file read the cap.
 */
import t, { type Test } from 'tap';
import { connect } from 'node:net';
import { createSwitch, type Switch } from '../../index.js';
import { createLogger } from '../../lib/log.js';
import { parseCommandLine, UsageError } from '../../lib/options.js';
import { DEFAULT_MAX_CONNECTIONS, OFCONN_HELLO_TIMEOUT_MS, OFP_VERSION, OFPT } from '../../protocol/index.js';
import { OfClient } from '../helpers/of-client.js';
import { waitFor, sleep } from '../helpers/wait.js';



function rig(t: Test, config: { maxConnections?: number } = {}): { sw: Switch; logs: string[] } {
  const logs: string[] = [];
  const sw = createSwitch({ linkPollMs: 0, logger: createLogger({ level: 'info', write: (line) => logs.push(line) }), ...config });
  t.teardown(() => sw.close());
  return { sw, logs };
}

async function client(t: Test, port: number, hello = true): Promise<OfClient> {
  const c = await OfClient.connect(port, '127.0.0.1', { hello });
  t.teardown(() => c.close());
  return c;
}

const closedLines = (logs: string[], reason: RegExp): string[] => logs.filter((l) => l.includes('"connection closed"') && reason.test(l));

t.test('a service connection is probed: echo after the idle interval, closed when silent for another', async (t) => {
  const { sw, logs } = rig(t);
  const l = await sw.addListener('ptcp:0:127.0.0.1', { probeIntervalMs: 300 });
  const c = await client(t, l.port);
  const start = Date.now();
  const probe = await c.next((m) => m.type === OFPT.ECHO_REQUEST, 2000);
  t.ok(Date.now() - start >= 250, 'the probe after the idle interval');
  c.send({ version: OFP_VERSION, type: OFPT.ECHO_REPLY, xid: probe.xid, data: new Uint8Array(0) });
  await c.next((m) => m.type === OFPT.ECHO_REQUEST, 2000);
  const silent = Date.now();
  await c.waitClosed(2000);
  t.ok(Date.now() - silent >= 250, 'closed after another silent interval');
  await waitFor(() => closedLines(logs, /no reply to echo probe/).length === 1);
  t.equal(sw.acceptedConnections, 0);

  const never = await sw.addListener('ptcp:0:127.0.0.1', { probeIntervalMs: 0 });
  const quiet = await client(t, never.port);
  await sleep(700);
  t.notOk(quiet.closed, 'probe interval 0: never probed');
  t.equal(quiet.history.filter((r) => r.msg?.type === OFPT.ECHO_REQUEST).length, 0);
  await t.rejects(sw.addListener('ptcp:0', { probeIntervalMs: -1 }), RangeError);
});

t.test('no HELLO within OFCONN_HELLO_TIMEOUT_MS: closed with one log line, whatever the probe interval', async (t) => {
  const { sw, logs } = rig(t);
  const l = await sw.addListener('ptcp:0:127.0.0.1', { probeIntervalMs: 60_000 });
  const start = Date.now();
  const mute = await client(t, l.port, false);
  await mute.waitClosed(OFCONN_HELLO_TIMEOUT_MS + 2000);
  const took = Date.now() - start;
  t.ok(took >= OFCONN_HELLO_TIMEOUT_MS - 50 && took < OFCONN_HELLO_TIMEOUT_MS + 1500, `closed after ${took} ms`);
  await waitFor(() => closedLines(logs, /no HELLO in \d+ ms \(limit 2000 ms\)/).length === 1);
  t.equal(logs.filter((line) => line.includes('no HELLO')).length, 1, 'one log line');
  const polite = await client(t, l.port);
  await sleep(OFCONN_HELLO_TIMEOUT_MS + 300);
  t.notOk(polite.closed, 'a connection that said HELLO stays');
});

t.test('part of a message held past the probe interval: closed with one log line, the buffer released', async (t) => {
  const { sw, logs } = rig(t);
  const l = await sw.addListener('ptcp:0:127.0.0.1', { probeIntervalMs: 400 });
  const c = await client(t, l.port);
  const part = new Uint8Array(1000);
  part.set([OFP_VERSION, OFPT.PACKET_OUT, 0xff, 0xff, 0, 0, 0, 9]); // announces 65535 bytes, sends 1000
  c.sendRaw(part);
  const start = Date.now();
  await c.waitClosed(3000);
  const took = Date.now() - start;
  t.ok(took >= 350 && took < 2000, `closed after ${took} ms`);
  await waitFor(() => closedLines(logs, /partial message held for \d+ ms \(limit 400 ms, 1000 bytes of it\)/).length === 1);

  // Bytes trickling into a message that never completes are no activity either (as OVS's rconn).
  const drip = await client(t, l.port);
  drip.sendRaw(part.subarray(0, 8));
  const dripping = setInterval(() => drip.sendRaw(new Uint8Array(1)), 50);
  t.teardown(() => clearInterval(dripping));
  await drip.waitClosed(3000);
  clearInterval(dripping);
  t.pass('a dribble does not keep a partial message alive');

  // Whole messages in many small pieces are fine.
  const slow = await client(t, l.port);
  for (let i = 0; i < 6; i++) {
    const echo = Uint8Array.from([OFP_VERSION, OFPT.ECHO_REQUEST, 0, 8, 0, 0, 0, 50 + i]);
    slow.sendRaw(echo.subarray(0, 4));
    await sleep(100);
    slow.sendRaw(echo.subarray(4));
    t.match(await slow.next((m) => m.xid === 50 + i), { type: OFPT.ECHO_REPLY });
  }
  t.notOk(slow.closed, 'split messages that complete keep the connection');
});

t.test('the cap on accepted connections: more are refused with a log line; controller connections do not count', async (t) => {
  const { sw, logs } = rig(t, { maxConnections: 2 });
  t.equal(sw.maxConnections, 2);
  const l = await sw.addListener('ptcp:0:127.0.0.1');
  const u = await sw.addListener('ptcp:0:127.0.0.1');
  const a = await client(t, l.port);
  const b = await client(t, u.port);
  await waitFor(() => sw.acceptedConnections === 2);
  const refused = connect({ port: l.port, host: '127.0.0.1' });
  refused.on('error', () => undefined);
  const ended = await new Promise<boolean>((resolve) => {
    refused.once('close', () => resolve(true));
    setTimeout(() => resolve(false), 2000);
  });
  t.ok(ended, 'the third connection, on either listener, is closed at once');
  t.equal(logs.filter((line) => line.includes('connection refused: too many connections')).length, 1, 'one log line');
  t.match(logs.find((line) => line.includes('too many connections')), /"limit":2,"refused":1/);
  const again = connect({ port: u.port, host: '127.0.0.1' });
  again.on('error', () => undefined);
  await new Promise((resolve) => again.once('close', resolve));
  t.equal(logs.filter((line) => line.includes('too many connections')).length, 1, 'refusals within 10 s are counted, not each logged');
  a.close();
  await waitFor(() => sw.acceptedConnections === 1);
  const c = await client(t, l.port);
  t.match(await c.request({ version: OFP_VERSION, type: OFPT.ECHO_REQUEST, xid: 3, data: new Uint8Array(0) }), { type: OFPT.ECHO_REPLY }, 'room again: accepted');
  t.notOk(b.closed);
  sw.setMaxConnections(5);
  t.equal(sw.maxConnections, 5);
  t.throws(() => sw.setMaxConnections(0), RangeError);
  t.throws(() => createSwitch({ maxConnections: 1.5 }), RangeError);
  const plain = createSwitch();
  t.equal(plain.maxConnections, DEFAULT_MAX_CONNECTIONS);
  await plain.close();
});

t.test('--max-connections and the config file', async (t) => {
  const run = parseCommandLine(['--max-connections', '50']);
  t.match(run, { kind: 'run', options: { maxConnections: 50 } });
  const none = parseCommandLine([]);
  t.ok(none.kind === 'run' && none.options.maxConnections === undefined, 'absent: the default');
  t.throws(() => parseCommandLine(['--max-connections', '0']), UsageError);
  t.throws(() => parseCommandLine(['--max-connections', 'many']), UsageError);
  t.match(parseCommandLine(['--config', 'x.json'], () => '{"maxConnections": 7}'), { options: { maxConnections: 7 } });
  t.throws(() => parseCommandLine(['--ovsdb', 'unix:/tmp/db.sock', '--max-connections', '5']), /exclude each other/);
});
