/**
 * Listeners by endpoint: ptcp names the port actually bound; punix accepts on a unix socket, names
 * its peers after the path, replaces a stale socket file, refuses one a live process answers on,
 * never removes a file of another kind, and removes its socket on close.
 */
import t, { type Test } from 'tap';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describePeer, listen, ListenError, listenerName } from '../../lib/listener.js';
import { makeStaleSocket } from '../unixctl/appctl.js';

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'listener-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function acceptOne(connectTo: () => Socket, accepted: Promise<Socket>): Promise<{ client: Socket; server: Socket }> {
  const client = connectTo();
  const server = await accepted;
  return { client, server };
}

t.test('ptcp: the name carries the port actually bound', async (t) => {
  let resolveAccepted!: (s: Socket) => void;
  const accepted = new Promise<Socket>((r) => (resolveAccepted = r));
  const listener = await listen({ host: '127.0.0.1', port: 0 }, resolveAccepted);
  t.teardown(() => listener.close());
  t.ok(listener.port > 0);
  t.equal(listener.name, `ptcp:${listener.port}:127.0.0.1`);
  t.equal(listenerName({ host: '0.0.0.0', port: 6653 }), 'ptcp:6653:0.0.0.0');
  const { client, server } = await acceptOne(() => connect(listener.port, '127.0.0.1'), accepted);
  t.match(describePeer(server), /^127\.0\.0\.1:\d+$/);
  client.destroy();
  server.destroy();
});

t.test('punix: accepts, names peers after the path, removes the socket on close', async (t) => {
  const path = join(tempDir(t), 'br0.mgmt');
  let resolveAccepted!: (s: Socket) => void;
  const accepted = new Promise<Socket>((r) => (resolveAccepted = r));
  const listener = await listen({ path }, resolveAccepted);
  t.equal(listener.name, `punix:${path}`);
  t.equal(listener.port, 0);
  t.ok(existsSync(path));
  const { client, server } = await acceptOne(() => connect(path), accepted);
  t.equal(describePeer(server), `unix:${path}`);
  t.equal(describePeer(client), '?:?', 'a socket no listener accepted has no name');
  client.destroy();
  server.destroy();
  await listener.close();
  t.notOk(existsSync(path));
});

t.test('punix: stale socket replaced, live one refused, other files kept', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'br0.mgmt');
  await makeStaleSocket(path);
  const listener = await listen({ path }, (s) => s.destroy());
  t.pass('a stale socket file is replaced');
  const live = await listen({ path }, () => {}).catch((e: unknown) => e);
  t.type(live, ListenError);
  t.equal((live as Error).message, `punix:${path}: another process is listening on this socket`);
  await listener.close();
  const plain = join(dir, 'plain');
  writeFileSync(plain, '');
  await t.rejects(listen({ path: plain }, () => {}), { name: 'ListenError', message: `punix:${plain}: exists and is not a socket` });
  t.ok(existsSync(plain));
});
