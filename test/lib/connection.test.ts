/**
 * A bug while handling a request is answered, not swallowed: when the handler throws (at once, or
 * by rejecting its promise) the connection sends an OFPT_ERROR for the request's xid -- Open
 * vSwitch's NXBRC_UNENCODABLE_ERROR, which the real ovs-ofctl reads back as such, with the request
 * after it --, logs the exception with its stack, counts it in `internalErrors`, and goes on with
 * the next request in order.
 */
import t, { type Test } from 'tap';
import { createServer } from 'node:net';
import {
  NX_VENDOR_ID,
  NXBRC_UNENCODABLE_ERROR,
  NXET_VENDOR,
  NXVC_VENDOR_ERROR,
  OFP_VERSION,
  OFPET,
  OFPT,
  encodeMessage,
} from '../../protocol/index.js';
import type { OfpMessage } from '../../protocol/index.js';
import { Connection, type ConnectionHandler } from '../../lib/connection.js';
import { createLogger } from '../../lib/log.js';
import { OfClient } from '../helpers/of-client.js';
import { ofctlOffline } from '../helpers/ofctl.js';

interface Harness {
  readonly client: OfClient;
  readonly connection: Connection;
  /** Log lines the connection wrote, as JSON text. */
  readonly logs: string[];
}

/** A Connection on loopback with `handler`, and a client that has done the handshake with it. */
async function harness(t: Test, handler: ConnectionHandler): Promise<Harness> {
  const logs: string[] = [];
  const log = createLogger({ level: 'info', write: (line) => logs.push(line) });
  let accepted: (c: Connection) => void = () => undefined;
  const connection = new Promise<Connection>((resolve) => (accepted = resolve));
  const server = createServer((socket) => accepted(new Connection(socket, { id: 1, kind: 'passive', handler, log, probeIntervalMs: null })));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const client = await OfClient.connect(typeof address === 'object' && address ? address.port : 0);
  const conn = await connection;
  t.teardown(() => {
    client.close();
    conn.close('test over');
    server.close();
  });
  return { client, connection: conn, logs };
}

/** Answers BARRIER_REQUEST; `onFeatures` decides what a FEATURES_REQUEST does. */
function handlerWith(onFeatures: () => void | Promise<void>): ConnectionHandler {
  return {
    onMessage(conn: Connection, msg: OfpMessage): void | Promise<void> {
      if (msg.type === OFPT.FEATURES_REQUEST) return onFeatures();
      if (msg.type === OFPT.BARRIER_REQUEST) conn.send({ version: OFP_VERSION, type: OFPT.BARRIER_REPLY, xid: msg.xid });
    },
  };
}

/** The internal error the switch sent for `request`, checked field by field and by ovs-ofctl. */
async function checkInternalError(t: Test, reply: OfpMessage, request: Uint8Array, xid: number): Promise<void> {
  t.match(reply, { type: OFPT.ERROR, xid, errorType: NXET_VENDOR, code: NXVC_VENDOR_ERROR }, 'an OFPT_ERROR for the request xid');
  if (reply.type !== OFPT.ERROR) return;
  const nx = Buffer.from(reply.data.buffer, reply.data.byteOffset, reply.data.byteLength);
  t.same([nx.readUInt32BE(0), nx.readUInt16BE(4), nx.readUInt16BE(6)], [NX_VENDOR_ID, OFPET.BAD_REQUEST, NXBRC_UNENCODABLE_ERROR], 'struct nx_vendor_error: NXBRC_UNENCODABLE_ERROR');
  t.ok(nx.subarray(8).equals(request), 'then the request, whole');
  const printed = await ofctlOffline('ofp-print', encodeMessage(reply).toString('hex'));
  t.equal(printed.code, 0, 'ovs-ofctl ofp-print ran');
  const [head = '', echoed = ''] = printed.stdout.split('\n');
  t.not(head, '', 'and printed something');
  t.equal(head, `OFPT_ERROR (xid=0x${xid.toString(16)}): NXBRC_UNENCODABLE_ERROR`, 'ovs-ofctl reads the error Open vSwitch sends for a failure OpenFlow cannot name');
  t.equal(echoed, `OFPT_FEATURES_REQUEST (xid=0x${xid.toString(16)}):`, 'and the request it answers');
}

t.test('a handler that throws: internal error for that xid, logged with its stack, counted; the connection goes on', async (t) => {
  function explodeOnFeatures(): never {
    throw new Error('the handler has a bug');
  }
  const h = await harness(t, handlerWith(explodeOnFeatures));
  t.equal(h.connection.internalErrors, 0);
  const request = encodeMessage({ version: OFP_VERSION, type: OFPT.FEATURES_REQUEST, xid: 0x51 });
  h.client.sendRaw(request);
  await checkInternalError(t, await h.client.next((m) => m.xid === 0x51), request, 0x51);
  t.equal(h.connection.internalErrors, 1, 'counted');
  const line = h.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['level'] === 'error');
  t.ok(line, 'an error line was logged');
  t.match(JSON.stringify(line), /the handler has a bug/, 'with the exception');
  t.match(JSON.stringify(line), /explodeOnFeatures/, 'and its stack');
  t.match(line, { xid: 0x51 });
  t.match(await h.client.request({ version: OFP_VERSION, type: OFPT.BARRIER_REQUEST, xid: 0x52 }), { type: OFPT.BARRIER_REPLY }, 'the connection is kept');
  t.equal(h.connection.state, 'active');
});

t.test('a handler whose promise rejects: the same, and the requests after it wait their turn', async (t) => {
  const h = await harness(t, handlerWith(() => new Promise((_resolve, reject) => setTimeout(() => reject('not even an Error'), 20))));
  const request = encodeMessage({ version: OFP_VERSION, type: OFPT.FEATURES_REQUEST, xid: 0x61 });
  h.client.sendRaw(request);
  h.client.send({ version: OFP_VERSION, type: OFPT.BARRIER_REQUEST, xid: 0x62 });
  const first = await h.client.next((m) => m.xid === 0x61 || m.xid === 0x62);
  await checkInternalError(t, first, request, 0x61);
  t.match(await h.client.next((m) => m.xid === 0x62), { type: OFPT.BARRIER_REPLY }, 'the barrier after it is answered after the error');
  t.equal(h.connection.internalErrors, 1, 'counted');
  t.match(h.logs.join('\n'), /not even an Error/, 'logged');
  t.equal(h.connection.state, 'active', 'the connection is kept');
});
