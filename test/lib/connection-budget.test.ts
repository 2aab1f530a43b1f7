/**
 * A connection's output budget, over real loopback sockets whose peer stops reading: asynchronous
 * messages are dropped and counted once CONTROLLER_QUEUE_SIZE (or OFCONN_ASYNC_BYTES_MAX bytes)
 * wait; replies are never dropped, but past OFCONN_REPLY_MAX requests wait unprocessed until the
 * peer reads; output blocked longer than the probe interval closes the connection with one log
 * line; whenWritable() resolves once the peer reads or the connection closes.
 */
import t, { type Test } from 'tap';
import { createServer } from 'node:net';
import { CONTROLLER_QUEUE_SIZE, OFCONN_ASYNC_BYTES_MAX, OFCONN_REPLY_MAX, OFP_VERSION, OFPT, encodeMessage } from '../../protocol/index.js';
import type { OfpMessage } from '../../protocol/index.js';
import { Connection, type ConnectionHandler } from '../../lib/connection.js';
import { createLogger } from '../../lib/log.js';
import { OfClient } from '../helpers/of-client.js';

interface Harness {
  readonly client: OfClient;
  readonly conn: Connection;
  readonly logs: string[];
  readonly handled: number[];
}

/** A connection (kind and probe as given) answering BARRIER_REQUESTs, and a client past the handshake. */
async function harness(t: Test, kind: 'controller' | 'passive', probeIntervalMs: number | null): Promise<Harness> {
  const logs: string[] = [];
  const handled: number[] = [];
  const log = createLogger({ level: 'info', write: (line) => logs.push(line) });
  const handler: ConnectionHandler = {
    onMessage(conn: Connection, msg: OfpMessage): void {
      handled.push(msg.xid);
      if (msg.type === OFPT.BARRIER_REQUEST) conn.send({ version: OFP_VERSION, type: OFPT.BARRIER_REPLY, xid: msg.xid });
    },
  };
  let accepted: (c: Connection) => void = () => undefined;
  const connection = new Promise<Connection>((resolve) => (accepted = resolve));
  const server = createServer((socket) => accepted(new Connection(socket, { id: 7, kind, handler, log, probeIntervalMs })));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const client = await OfClient.connect(typeof address === 'object' && address ? address.port : 0);
  const conn = await connection;
  await new Promise((r) => setTimeout(r, 20));
  t.teardown(() => {
    client.socket.destroy();
    conn.close('test over');
    server.close();
  });
  return { client, conn, logs, handled };
}

/** A PACKET_IN of about `size` bytes, encoded. */
function packetIn(size: number): { msg: OfpMessage; bytes: Buffer } {
  const msg: OfpMessage = { version: OFP_VERSION, type: OFPT.PACKET_IN, xid: 0, bufferId: 0xffffffff, totalLen: size, inPort: 1, reason: 0, data: new Uint8Array(size) };
  return { msg, bytes: encodeMessage(msg) };
}

/** Sends PACKET_INs until the budget drops one (the kernel's buffers full first); returns how many went. */
async function fillUntilDropped(conn: Connection, size: number): Promise<number> {
  const { msg, bytes } = packetIn(size);
  for (let sent = 0; sent < 20_000; sent++) {
    if (!conn.sendAsync(msg, bytes, 'packet-in-miss')) return sent;
    if (sent % 16 === 0) await new Promise((r) => setImmediate(r));
  }
  throw new Error('the output budget never dropped anything');
}

t.test('a peer that stops reading: PACKET_INs dropped and counted within the budget, replies never', async (t) => {
  const h = await harness(t, 'passive', null);
  h.client.socket.pause(); // the peer stops reading
  const sent = await fillUntilDropped(h.conn, 8000);
  t.ok(sent > 0, `${sent} PACKET_INs went before the first drop`);
  const backlog = h.conn.backlog;
  t.ok(backlog.async <= CONTROLLER_QUEUE_SIZE, `at most ${CONTROLLER_QUEUE_SIZE} queued (${backlog.async})`);
  t.ok(backlog.asyncBytes <= OFCONN_ASYNC_BYTES_MAX, `at most ${OFCONN_ASYNC_BYTES_MAX} bytes queued (${backlog.asyncBytes})`);
  const { msg, bytes } = packetIn(8000);
  for (let i = 0; i < 9; i++) t.notOk(h.conn.sendAsync(msg, bytes, i % 2 ? 'flow-removed' : 'packet-in-miss'), 'dropped while full');
  t.same(h.conn.outputDrops(), { 'packet-in-miss': 6, 'flow-removed': 4 }, 'counted by kind');
  t.equal(h.logs.filter((l) => l.includes('output queue full')).length, 1, 'one log line for the episode, not one per drop');

  // Requests: each answered with a reply that cannot be written; past OFCONN_REPLY_MAX, the rest wait.
  const requests = OFCONN_REPLY_MAX + 50;
  for (let xid = 1000; xid < 1000 + requests; xid++) h.client.send({ version: OFP_VERSION, type: OFPT.BARRIER_REQUEST, xid });
  await new Promise((r) => setTimeout(r, 300));
  t.equal(h.handled.length, OFCONN_REPLY_MAX, `requests stop being processed once ${OFCONN_REPLY_MAX} replies wait`);
  t.equal(h.conn.backlog.replies, OFCONN_REPLY_MAX);

  let writable = false;
  void h.conn.whenWritable().then(() => (writable = true));
  await new Promise((r) => setTimeout(r, 50));
  t.notOk(writable, 'whenWritable waits while the peer does not read');

  h.client.socket.resume(); // the peer reads again
  const replies: number[] = [];
  while (replies.length < requests) replies.push((await h.client.next((m) => m.type === OFPT.BARRIER_REPLY, 5000)).xid);
  t.same(replies, Array.from({ length: requests }, (_, i) => 1000 + i), 'every reply, in order: none dropped');
  t.equal(h.handled.length, requests, 'and the waiting requests were processed');
  t.ok(writable, 'whenWritable resolved once the peer read');
  t.equal(h.conn.state, 'active', 'the connection stays up');
  t.ok(h.conn.sendAsync(msg, bytes, 'packet-in-miss'), 'PACKET_INs go out again');
  await t.resolves(h.conn.whenWritable(), 'writable at once when nothing waits');
});

t.test('output blocked longer than the probe interval: closed, with one log line', async (t) => {
  const h = await harness(t, 'controller', 400);
  h.client.socket.pause();
  // Keep the peer "talking" (echo requests) so that only the blocked output can close it.
  const talk = setInterval(() => h.client.send({ version: OFP_VERSION, type: OFPT.ECHO_REQUEST, xid: 5, data: new Uint8Array(0) }), 100);
  t.teardown(() => clearInterval(talk));
  await fillUntilDropped(h.conn, 8000);
  const waiting = h.conn.whenWritable();
  const start = Date.now();
  // About the probe interval (400 ms); 20 s is the deadline for a loaded machine. The log line below
  // says the limit was 400 ms.
  while (h.conn.state !== 'closed' && Date.now() - start < 20_000) await new Promise((r) => setTimeout(r, 50));
  t.equal(h.conn.state, 'closed', `closed (after ${Date.now() - start} ms)`);
  const closed = h.logs.filter((l) => l.includes('connection closed'));
  t.equal(closed.length, 1, 'one log line');
  t.match(closed[0], /output blocked for \d+ ms \(limit 400 ms\): the peer does not read/, 'naming why');
  t.match(closed[0], /"packet-in-miss":1/, 'with the drops it counted');
  await t.resolves(waiting, 'whenWritable resolves when the connection closes');
  t.notOk(h.conn.sendAsync(packetIn(10).msg, packetIn(10).bytes, 'packet-in-miss'), 'nothing is sent after close');
  t.same(h.conn.backlog, { replies: 0, replyBytes: 0, async: 0, asyncBytes: 0 }, 'what was queued is freed');
});

t.test('a burst the kernel takes at once costs no budget: a reading peer gets all of it', async (t) => {
  const h = await harness(t, 'passive', null);
  const { msg, bytes } = packetIn(60);
  let accepted = 0;
  for (let i = 0; i < 1000; i++) if (h.conn.sendAsync(msg, bytes, 'packet-in-miss')) accepted++;
  t.equal(accepted, 1000, `1000 PACKET_INs written in one go, more than CONTROLLER_QUEUE_SIZE (${CONTROLLER_QUEUE_SIZE})`);
  t.same(h.conn.outputDrops(), {}, 'none dropped');
  let got = 0;
  while (got < 1000) {
    await h.client.next((m) => m.type === OFPT.PACKET_IN, 3000);
    got++;
  }
  t.equal(got, 1000, 'and the peer read them all');
});
