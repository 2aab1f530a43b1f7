/**
 * The JSON-RPC connection: against a scripted peer on a unix socket for every path (ids, errors,
 * echo, protocol errors, inactivity probes), and against the real ovsdb-server over TCP.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonSplitter } from '../../ovsdb/json-stream.js';
import {
  ConnectionClosedError, JsonRpcConnection, JsonRpcError, JsonRpcProtocolError, OvsdbRemoteError, parseRemote,
  type JsonRpcOptions,
} from '../../ovsdb/jsonrpc.js';
import { freePort } from '../helpers/free-port.js';
import { startOvsdbServer } from '../helpers/ovsdb-server.js';
import { recordingLogger } from './log-recorder.js';

interface Peer {
  readonly socket: Socket;
  /** Resolves with the next message the client sent. */
  next(): Promise<Record<string, unknown>>;
  write(text: string): void;
}

/** A listening unix socket; `connect()` opens a client connection and hands back both ends. */
async function fakePeer(t: Test): Promise<{ remote: string; connect(options?: JsonRpcOptions): Promise<[JsonRpcConnection, Peer]> }> {
  const dir = mkdtempSync(join(tmpdir(), 'ofswitch-jsonrpc-'));
  const path = join(dir, 'peer.sock');
  const accepted: Socket[] = [];
  const waiting: ((s: Socket) => void)[] = [];
  const server = createServer((socket) => {
    const w = waiting.shift();
    if (w) w(socket);
    else accepted.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  t.teardown(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const remote = `unix:${path}`;
  return {
    remote,
    async connect(options = {}) {
      const socketPromise = new Promise<Socket>((resolve) => {
        const s = accepted.shift();
        if (s) resolve(s);
        else waiting.push(resolve);
      });
      const conn = await JsonRpcConnection.open(remote, { probeIntervalMs: 0, ...options });
      const socket = await socketPromise;
      t.teardown(() => {
        conn.close();
        socket.destroy();
      });
      socket.on('error', () => {});
      const splitter = new JsonSplitter();
      const inbox: Record<string, unknown>[] = [];
      const readers: ((m: Record<string, unknown>) => void)[] = [];
      socket.on('data', (d: Buffer) => {
        for (const text of splitter.push(d)) {
          const m = JSON.parse(text) as Record<string, unknown>;
          const r = readers.shift();
          if (r) r(m);
          else inbox.push(m);
        }
      });
      const peer: Peer = {
        socket,
        next: () => new Promise((resolve) => {
          const m = inbox.shift();
          if (m) resolve(m);
          else readers.push(resolve);
        }),
        write: (text) => socket.write(text),
      };
      return [conn, peer];
    },
  };
}

function closed(conn: JsonRpcConnection): Promise<Error | null> {
  return new Promise((resolve) => conn.once('close', resolve));
}

t.test('remotes: unix:PATH, tcp:IP:PORT, tcp:[IPv6]:PORT; anything else is refused', async (t) => {
  t.same(parseRemote('unix:/run/db.sock'), { kind: 'unix', path: '/run/db.sock' });
  t.same(parseRemote('tcp:127.0.0.1:6640'), { kind: 'tcp', host: '127.0.0.1', port: 6640 });
  t.same(parseRemote('tcp:[::1]:6640'), { kind: 'tcp', host: '::1', port: 6640 });
  for (const bad of ['unix:', 'tcp:127.0.0.1', 'tcp:127.0.0.1:0', 'tcp:127.0.0.1:65536', 'tcp::6640', 'ssl:127.0.0.1:6640', '/run/db.sock']) {
    t.throws(() => parseRemote(bad), OvsdbRemoteError, bad);
  }
  t.throws(() => parseRemote('ptcp:6640'), { message: 'remote ptcp:6640: expected unix:PATH or tcp:IP:PORT' });
});

t.test('requests get increasing ids and are settled by their own response, in any order', async (t) => {
  const fake = await fakePeer(t);
  const [conn, peer] = await fake.connect();
  t.equal(conn.name, fake.remote);
  const a = conn.request('get_schema', ['Open_vSwitch']);
  const b = conn.request('list_dbs', []);
  const c = conn.request('transact', ['Nope']);
  const d = conn.request('frob', []);
  const [ma, mb, mc, md] = [await peer.next(), await peer.next(), await peer.next(), await peer.next()];
  t.same(ma, { method: 'get_schema', params: ['Open_vSwitch'], id: 0 });
  t.same(mb, { method: 'list_dbs', params: [], id: 1 });
  peer.write(JSON.stringify({ id: mb.id, result: ['Open_vSwitch'], error: null }));
  peer.write(JSON.stringify({ id: ma.id, result: { name: 'x' }, error: null }));
  peer.write(JSON.stringify({ id: mc.id, error: { error: 'unknown database', details: 'no Nope' } }));
  peer.write(JSON.stringify({ id: md.id, error: 'unknown method' }));
  t.same(await b, ['Open_vSwitch']);
  t.same(await a, { name: 'x' });
  const err = await c.catch((e: unknown) => e);
  t.type(err, JsonRpcError);
  t.same((err as JsonRpcError).error, { error: 'unknown database', details: 'no Nope' });
  t.equal((err as JsonRpcError).message, 'transact: {"error":"unknown database","details":"no Nope"}');
  await t.rejects(d, { name: 'JsonRpcError', message: 'frob: unknown method' });
  conn.notify('note', [1]);
  t.same(await peer.next(), { method: 'note', params: [1], id: null });
});

t.test("the server's echo is answered with its params; other requests are refused; notifications are emitted", async (t) => {
  const log = recordingLogger();
  const fake = await fakePeer(t);
  const [conn, peer] = await fake.connect({ log });
  const requests: string[] = [];
  const notes: unknown[] = [];
  conn.on('request', (method) => requests.push(method));
  conn.on('notification', (method, params) => notes.push([method, params]));
  peer.write('{"id":"echo","method":"echo","params":["x",1]}');
  t.same(await peer.next(), { result: ['x', 1], error: null, id: 'echo' });
  peer.write('{"id":7,"method":"lock","params":["l"]}');
  t.same(await peer.next(), { result: null, error: 'unknown method', id: 7 });
  peer.write('{"id":null,"method":"update","params":["m",{}]}{"method":"locked","params":["l"]}');
  peer.write('{"id":99,"result":1,"error":null}'); // answers nothing of ours
  const reply = conn.request('echo', []);
  peer.write(JSON.stringify({ id: (await peer.next()).id, result: [], error: null }));
  t.same(await reply, []);
  t.same(requests, ['echo', 'lock']);
  t.same(notes, [['update', ['m', {}]], ['locked', ['l']]]);
  t.same(log.lines.map((l) => [l.level, l.msg]), [
    ['warn', 'OVSDB server sent a request we do not serve'],
    ['warn', 'OVSDB response to no request of ours'],
  ]);
  t.notOk(conn.closed);
});

t.test('anything unparseable closes the connection with a protocol error; pending requests fail', async (t) => {
  const cases: [string, RegExp][] = [
    ['{"id":0,"result": nope}', /invalid JSON/],
    ['[1,2]', /JSON-RPC message is not an object/],
    ['{"method":"update","params":{}}', /request without string "method" and array "params"/],
    ['{"method":5,"params":[]}', /request without string "method"/],
    ['{"id":0}', /neither request nor response/],
    ['garbage', /unexpected "g" between JSON values/],
    [`{"id":0,"result":"${'x'.repeat(200)}"}`, /JSON value longer than the limit of 100 bytes/],
  ];
  const fake = await fakePeer(t);
  for (const [text, message] of cases) {
    const [conn, peer] = await fake.connect({ maxMessageBytes: 100 });
    const pending = conn.request('get_schema', ['Open_vSwitch']);
    await peer.next();
    const reason = closed(conn);
    peer.write(text + '{"id":0,"result":{},"error":null}');
    const error = await reason;
    t.type(error, JsonRpcProtocolError, text.slice(0, 30));
    t.match(error?.message, message);
    t.match(error?.message, fake.remote);
    await t.rejects(pending, { name: 'ConnectionClosedError', message: /^get_schema: / }, 'the pending request fails, not answered by what followed');
    t.ok(conn.closed);
    await t.rejects(conn.request('echo', []), ConnectionClosedError);
    conn.notify('x', []); // nothing happens
    conn.close(); // idempotent
  }
});

t.test('the peer closing: cleanly, or in the middle of a message', async (t) => {
  const fake = await fakePeer(t);
  const [conn, peer] = await fake.connect();
  const pending = conn.request('list_dbs', []);
  const reason = closed(conn);
  peer.socket.end();
  t.match((await reason)?.message, /connection closed by peer$/);
  await t.rejects(pending, { name: 'ConnectionClosedError' });
  const [conn2, peer2] = await fake.connect();
  const reason2 = closed(conn2);
  peer2.socket.end('{"id":0,"res');
  const error = await reason2;
  t.type(error, ConnectionClosedError);
  t.match(error?.message, /connection closed by peer in the middle of a message/);
  const [conn3] = await fake.connect();
  const reason3 = closed(conn3);
  conn3.close();
  t.equal(await reason3, null, 'our own close reports no error');
});

t.test('inactivity probe: an idle peer gets an echo, and a silent one is dropped after a second interval', async (t) => {
  const fake = await fakePeer(t);
  const [conn, peer] = await fake.connect({ probeIntervalMs: 150 });
  const started = Date.now();
  const reason = closed(conn);
  const probe = await peer.next();
  t.same({ method: probe.method, params: probe.params }, { method: 'echo', params: [] });
  t.ok(Date.now() - started >= 140, 'not before the interval');
  const error = await reason;
  const after = Date.now() - started;
  t.type(error, ConnectionClosedError);
  t.match(error?.message, /no response to inactivity probe after 0\.\d s, disconnecting/);
  // Two intervals at least; the upper bound is for a loaded machine (timers run late there), a
  // connection that is never dropped fails it (and the wait above) all the same.
  t.ok(after >= 290 && after < 10_000, `dropped after ${after} ms`);
});

t.test('inactivity probe: a peer that answers, or keeps talking, stays connected', async (t) => {
  const fake = await fakePeer(t);
  const [conn, peer] = await fake.connect({ probeIntervalMs: 300 });
  let echoes = 0;
  const answering = (async () => {
    for (;;) {
      const m = await peer.next();
      if (m.method !== 'echo') return;
      echoes++;
      setTimeout(() => peer.write(JSON.stringify({ id: m.id, result: [], error: null })), 30); // not at once
    }
  })();
  // Three probes answered (about 1 s; 20 s for a loaded machine), and still connected.
  for (let i = 0; i < 1000 && echoes < 3 && !conn.closed; i++) await new Promise((r) => setTimeout(r, 20));
  t.notOk(conn.closed, 'still connected');
  t.ok(echoes >= 3, `${echoes} probes answered`);
  // Steady traffic from the peer: no probe is needed at all.
  // (An interval 15 times the chatter's: a loaded machine's late timers do not make a silence.)
  const [conn2, peer2] = await fake.connect({ probeIntervalMs: 600 });
  let probes = 0;
  void peer2.next().then(() => probes++);
  const chatter = setInterval(() => peer2.write('{"id":null,"method":"update","params":[]}'), 40);
  await new Promise((r) => setTimeout(r, 1500));
  clearInterval(chatter);
  t.equal(probes, 0, 'no probe while the peer talks');
  t.notOk(conn2.closed);
  conn.close();
  void answering;
});

t.test('open() failures', async (t) => {
  await t.rejects(JsonRpcConnection.open('unix:/nonexistent/db.sock'), { name: 'ConnectionClosedError', message: /^unix:\/nonexistent\/db.sock: .*ENOENT/ });
  const port = await freePort();
  await t.rejects(JsonRpcConnection.open(`tcp:127.0.0.1:${port}`), { name: 'ConnectionClosedError', message: /ECONNREFUSED/ });
  t.throws(() => JsonRpcConnection.open('ssl:127.0.0.1:1'), OvsdbRemoteError);
});

t.test('the real ovsdb-server over tcp: requests answered, our probes answered', async (t) => {
  const db = await startOvsdbServer(t);
  const port = await freePort();
  await db.appctl(['ovsdb-server/add-remote', `ptcp:${port}:127.0.0.1`]);
  let conn: JsonRpcConnection | null = null;
  for (let i = 0; i < 50 && !conn; i++) {
    conn = await JsonRpcConnection.open(`tcp:127.0.0.1:${port}`, { probeIntervalMs: 100 }).catch(() => null);
    if (!conn) await new Promise((r) => setTimeout(r, 50));
  }
  if (!conn) throw new Error('ovsdb-server did not listen on tcp');
  const c = conn;
  t.teardown(() => c.close());
  t.same(await c.request('list_dbs', []), ['Open_vSwitch', '_Server']);
  await t.rejects(c.request('get_schema', ['Nope']), { name: 'JsonRpcError', message: /unknown database/ });
  await new Promise((r) => setTimeout(r, 600));
  t.notOk(c.closed, 'the server answers our echo probes');
  t.same(await c.request('echo', ['hi']), ['hi']);
});
