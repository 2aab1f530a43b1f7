/**
 * The replica against the real ovsdb-server and stock ovs-vsctl: what ovs-vsctl writes appears
 * decoded; reconnection after the server is killed; the server's echo probes are answered; the
 * ovs-vsctl wait on cur_cfg that the daemon will serve; bad peers (a fake server) never crash it.
 */
import t, { type Test } from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Idl, type IdlOptions, type IdlState } from '../../ovsdb/idl.js';
import { JsonRpcConnection, JsonRpcProtocolError, OvsdbRemoteError } from '../../ovsdb/jsonrpc.js';
import { OvsdbSchemaError } from '../../ovsdb/schema.js';
import { Transaction, updateRow } from '../../ovsdb/transaction.js';
import type { Row } from '../../ovsdb/datum.js';
import { startOvsdbServer, VSWITCH_SCHEMA, type OvsdbServer } from '../helpers/ovsdb-server.js';
import { recordingLogger } from './log-recorder.js';

const BRIDGE_TABLES = {
  Open_vSwitch: ['next_cfg', 'cur_cfg', 'bridges'],
  Bridge: ['name', 'ports', 'controller'],
  Port: ['name', 'interfaces', 'tag', 'trunks'],
  Interface: ['name', 'type', 'options', 'ofport_request', 'ofport'],
  Controller: ['target'],
} as const;

async function connectedIdl(t: Test, db: OvsdbServer, extra: Partial<IdlOptions> = {}): Promise<Idl> {
  const idl = new Idl({ remote: db.remote, tables: BRIDGE_TABLES, ...extra });
  t.teardown(() => idl.close());
  idl.start();
  await idl.until(() => idl.state === 'connected');
  return idl;
}

function byName(idl: Idl, table: string, name: string): Row | undefined {
  for (const row of idl.table(table).values()) if (row['name'] === name) return row;
  return undefined;
}

function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} missing`);
  return value;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('ovs-vsctl add-br, add-port, set, set-controller and del-br appear in the replica, decoded', async (t) => {
  const db = await startOvsdbServer(t);
  const idl = await connectedIdl(t, db);
  const ovs = must(idl.first('Open_vSwitch'), 'Open_vSwitch row');
  t.same(ovs.bridges, [], 'no bridges yet');
  t.equal(ovs.next_cfg, 0);
  t.equal(idl.table('Bridge').size, 0);
  let changes = 0;
  idl.on('change', () => changes++);
  const seq0 = idl.seqno;

  await db.vsctl(['add-br', 'br0']);
  await idl.until(() => byName(idl, 'Interface', 'br0') !== undefined);
  const br0 = must(byName(idl, 'Bridge', 'br0'), 'Bridge br0');
  const port0 = must(byName(idl, 'Port', 'br0'), 'Port br0');
  const iface0 = must(byName(idl, 'Interface', 'br0'), 'Interface br0');
  t.same(br0.ports, [port0._uuid], 'the bridge holds its own port');
  t.same(port0.interfaces, [iface0._uuid]);
  t.equal(iface0.type, 'internal', 'the bridge interface is internal');
  t.equal(port0.tag, null, 'an unset optional column is null');
  t.same(port0.trunks, [], 'an empty set is an empty array');
  t.same(idl.first('Open_vSwitch')?.bridges, [br0._uuid]);
  t.ok(changes > 0 && idl.seqno > seq0, 'change events and a higher seqno');

  await db.vsctl([
    'add-port', 'br0', 'p1', 'tag=10', 'trunks=20,30', '--',
    'set', 'interface', 'p1', 'type=vxlan', 'options:remote_ip=10.0.0.2', 'options:key=5', 'ofport_request=5',
  ]);
  await idl.until(() => byName(idl, 'Interface', 'p1')?.type === 'vxlan');
  const p1 = must(byName(idl, 'Port', 'p1'), 'Port p1');
  const if1 = must(byName(idl, 'Interface', 'p1'), 'Interface p1');
  t.equal(p1.tag, 10);
  t.same(p1.trunks, [20, 30]);
  t.same(p1.interfaces, [if1._uuid]);
  t.same(if1.options, new Map([['key', '5'], ['remote_ip', '10.0.0.2']]));
  t.equal(if1.ofport_request, 5);
  t.equal(if1.ofport, null);
  t.same([...(idl.row('Bridge', br0._uuid)?.ports as string[])].sort(), [port0._uuid, p1._uuid].sort());

  await db.vsctl(['set', 'port', 'p1', 'tag=11', 'trunks=40']);
  await idl.until(() => byName(idl, 'Port', 'p1')?.tag === 11);
  t.same(byName(idl, 'Port', 'p1')?.trunks, [40], 'a one-element set (a bare atom on the wire) is still an array');
  t.not(byName(idl, 'Port', 'p1'), p1, 'a modified row is a new object');
  t.equal(p1.tag, 10, 'the old row object is unchanged');

  await db.vsctl(['set-controller', 'br0', 'tcp:127.0.0.1:6653']);
  await idl.until(() => idl.table('Controller').size === 1);
  const controller = must(idl.first('Controller'), 'Controller');
  t.equal(controller.target, 'tcp:127.0.0.1:6653');
  t.same(idl.row('Bridge', br0._uuid)?.controller, [controller._uuid]);

  await db.vsctl(['del-br', 'br0']);
  await idl.until(() => idl.table('Bridge').size === 0);
  t.equal(idl.table('Port').size, 0, 'ports went with the bridge');
  t.equal(idl.table('Interface').size, 0);
  t.equal(idl.table('Controller').size, 0);
  t.same(idl.first('Open_vSwitch')?.bridges, []);
  t.throws(() => idl.table('Mirror'), /not monitored/);
});

t.test("writes by transact are what ovs-vsctl get and list show", async (t) => {
  const db = await startOvsdbServer(t);
  await db.vsctl(['add-br', 'br0', '--', 'add-port', 'br0', 'p1']);
  const idl = await connectedIdl(t, db, { tables: { ...BRIDGE_TABLES, Interface: 'all' } });
  const ovs = must(idl.first('Open_vSwitch'), 'Open_vSwitch row');
  const p1 = must(byName(idl, 'Interface', 'p1'), 'Interface p1');
  const txn = new Transaction(idl);
  txn.comment('ofswitch test');
  txn.update('Open_vSwitch', ovs._uuid, { cur_cfg: 7 });
  txn.update('Interface', p1._uuid, {
    ofport: -1,
    error: 'could not open network device p1 (No such device)',
    statistics: { rx_packets: 5, tx_bytes: 1234 },
  });
  const result = await txn.commit();
  t.same(result, { status: 'success', results: [{}, { count: 1 }, { count: 1 }], inserted: new Map() });
  t.equal(idl.first('Open_vSwitch')?.cur_cfg, 7, 'the replica has the write when commit resolves');
  t.equal(idl.row('Interface', p1._uuid)?.ofport, -1);

  const cur = await db.tryVsctl(['get', 'Open_vSwitch', '.', 'cur_cfg']);
  t.equal(cur.code, 0);
  t.not(cur.stdout.trim(), '');
  t.equal(cur.stdout.trim(), '7');
  const list = await db.tryVsctl(['list', 'Interface', 'p1']);
  t.equal(list.code, 0);
  t.not(list.stdout.trim(), '');
  t.match(list.stdout, /^ofport\s+: -1$/m);
  t.match(list.stdout, /^error\s+: "could not open network device p1 \(No such device\)"$/m);
  t.match(list.stdout, /^statistics\s+: \{rx_packets=5, tx_bytes=1234\}$/m);

  const cleared = await updateRow(idl, 'Interface', p1._uuid, { error: null, ofport: 1 });
  t.equal(cleared.status, 'success');
  const error = await db.tryVsctl(['get', 'Interface', 'p1', 'error', 'ofport']);
  t.equal(error.code, 0);
  t.equal(error.stdout, '[]\n1\n', 'null clears an optional column');
});

t.test('a guarded write fails when its guard is stale, and succeeds once retried on the new replica', async (t) => {
  const db = await startOvsdbServer(t);
  const idl = await connectedIdl(t, db);
  const ovs = must(idl.first('Open_vSwitch'), 'Open_vSwitch row');
  t.equal(ovs.next_cfg, 0);
  const fresh = await updateRow(idl, 'Open_vSwitch', ovs._uuid, { cur_cfg: 0 }, { next_cfg: 0 });
  t.equal(fresh.status, 'success', 'a guard that holds lets the write through');

  const verified = new Transaction(idl).verify('Open_vSwitch', ovs._uuid, ['next_cfg']).update('Open_vSwitch', ovs._uuid, { cur_cfg: 99 });
  await db.vsctl(['set', 'Open_vSwitch', '.', 'next_cfg=5']);
  const stale = await verified.commit();
  t.same(stale, { status: 'stale', opIndex: 0, details: '"where" clause test failed' });
  const guarded = await updateRow(idl, 'Open_vSwitch', ovs._uuid, { cur_cfg: 99 }, { next_cfg: 0 });
  t.equal(guarded.status, 'stale');
  const cur = await db.tryVsctl(['get', 'Open_vSwitch', '.', 'cur_cfg']);
  t.equal(cur.code, 0);
  t.equal(cur.stdout.trim(), '0', 'nothing was written');

  await idl.until(() => idl.first('Open_vSwitch')?.next_cfg === 5);
  const retry = await new Transaction(idl).verify('Open_vSwitch', ovs._uuid, ['next_cfg']).update('Open_vSwitch', ovs._uuid, { cur_cfg: 5 }).commit();
  t.equal(retry.status, 'success');
  t.equal((await db.vsctl(['get', 'Open_vSwitch', '.', 'cur_cfg'])).trim(), '5');
});

t.test('ovs-vsctl without --no-wait returns once a replica watcher writes cur_cfg = next_cfg', async (t) => {
  const db = await startOvsdbServer(t);
  const idl = await connectedIdl(t, db);

  const unanswered = await db.tryVsctl(['add-br', 'brx'], { wait: true, timeoutSec: 1 });
  t.not(unanswered.code, 0, 'with nobody writing cur_cfg, ovs-vsctl times out');

  // What the daemon will do: bring up new interfaces (ovs-vsctl checks that each got an ofport),
  // then report the configuration done, guarded so a newer next_cfg is not acknowledged by mistake.
  const writes: number[] = [];
  idl.on('change', () => {
    const ovs = idl.first('Open_vSwitch');
    if (!ovs || typeof ovs.next_cfg !== 'number' || ovs.next_cfg === ovs.cur_cfg) return;
    const target = ovs.next_cfg;
    writes.push(target);
    const txn = new Transaction(idl).guard('Open_vSwitch', ovs._uuid, { next_cfg: target });
    for (const iface of idl.table('Interface').values()) {
      if (iface.ofport === null) txn.update('Interface', iface._uuid, { ofport: iface.type === 'internal' ? 65534 : 1 });
    }
    txn.update('Open_vSwitch', ovs._uuid, { cur_cfg: target });
    void txn.commit();
  });
  const started = Date.now();
  // ovs-vsctl exits 0 only once cur_cfg caught up (else it times out with an error): the watcher's
  // write is what let it return. The timeout is for a loaded machine.
  const added = await db.tryVsctl(['add-br', 'br1'], { wait: true, timeoutSec: 30 });
  t.equal(added.code, 0, 'ovs-vsctl add-br returned');
  t.equal(added.stderr, '', 'and found every new interface set up');
  t.ok(Date.now() - started < 30_000, 'before its timeout');
  t.ok(writes.length > 0, 'the watcher wrote cur_cfg');
  const cfg = await db.tryVsctl(['get', 'Open_vSwitch', '.', 'next_cfg', 'cur_cfg']);
  t.equal(cfg.code, 0);
  const [next, cur] = cfg.stdout.trim().split('\n');
  t.ok(next !== undefined && next !== '');
  t.equal(cur, next);
  t.ok(byName(idl, 'Bridge', 'br1'));
  t.equal((await db.vsctl(['get', 'Interface', 'br1', 'ofport'])).trim(), '65534');
});

t.test('killed and restarted ovsdb-server: the replica stays readable, then is replaced wholesale', async (t) => {
  const db = await startOvsdbServer(t);
  await db.vsctl(['add-br', 'br0']);
  const log = recordingLogger();
  const idl = await connectedIdl(t, db, { log });
  const states: IdlState[] = [];
  idl.on('state', (s) => states.push(s));
  t.ok(byName(idl, 'Bridge', 'br0'));

  await db.stop({ kill: true });
  await idl.until(() => idl.state === 'backoff');
  t.ok(byName(idl, 'Bridge', 'br0'), 'the last replica is still readable');
  t.ok(log.lines.some((l) => l.level === 'warn' && l.msg === 'OVSDB connection lost'), 'the loss is logged');
  const ovs = must(idl.first('Open_vSwitch'), 'Open_vSwitch row');
  const offline = await updateRow(idl, 'Open_vSwitch', ovs._uuid, { cur_cfg: 1 });
  t.equal(offline.status, 'disconnected');

  await db.restart();
  // Changes the client cannot see as they happen: only a fresh monitor can show them.
  await db.vsctl(['del-br', 'br0', '--', 'add-br', 'br9']);
  await idl.until(() => idl.state === 'connected', 15_000);
  t.notOk(byName(idl, 'Bridge', 'br0'), 'a bridge deleted while disconnected is gone');
  t.ok(byName(idl, 'Bridge', 'br9'), 'one added while disconnected is there');
  t.same(states.filter((s, i) => s !== states[i - 1]).slice(0, 1), ['backoff']);
  t.equal(states.at(-1), 'connected');

  const write = await updateRow(idl, 'Open_vSwitch', ovs._uuid, { cur_cfg: 3 });
  t.equal(write.status, 'success', 'writes work again');
  t.equal((await db.vsctl(['get', 'Open_vSwitch', '.', 'cur_cfg'])).trim(), '3');
});

t.test("the server's echo probes are answered: the client outlives the server's inactivity probe", async (t) => {
  const db = await startOvsdbServer(t);
  const probed = join(db.dir, 'probed.sock');
  // A Manager remote with a 1 s inactivity probe: ovsdb-server sends echo after 1 s idle and
  // disconnects one more second later without an answer.
  await db.vsctl(['--', '--id=@m', 'create', 'Manager', `target="punix:${probed}"`, 'inactivity_probe=1000', '--', 'set', 'Open_vSwitch', '.', 'manager_options=@m']);
  for (let i = 0; i < 100 && !existsSync(probed); i++) await sleep(20);

  // Control: a client that never answers is dropped.
  const silent: Socket = connect(probed);
  let silentGot = '';
  silent.on('data', (d) => (silentGot += d.toString()));
  const silentClosed = new Promise<number>((resolve) => {
    const t0 = Date.now();
    silent.on('close', () => resolve(Date.now() - t0));
  });

  const idl = new Idl({ remote: `unix:${probed}`, tables: { Open_vSwitch: ['cur_cfg'] }, probeIntervalMs: 0 });
  t.teardown(() => idl.close());
  idl.start();
  await idl.until(() => idl.state === 'connected');
  const states: IdlState[] = [];
  idl.on('state', (s) => states.push(s));
  const conn = await JsonRpcConnection.open(`unix:${probed}`, { probeIntervalMs: 0 });
  t.teardown(() => conn.close());
  let echoes = 0;
  conn.on('request', (method) => method === 'echo' && echoes++);

  const closedAfter = await silentClosed;
  t.match(silentGot, /"method":"echo"/, 'the server probes this remote');
  // About 2 s (a probe after 1 s idle, the drop 1 s later); the bound is for a loaded machine.
  t.ok(closedAfter < 20_000, `the silent client was dropped after ${closedAfter} ms`);
  // Two probes answered by the connection that answers (a probe cycle is at least 1 s): it outlived
  // what dropped the silent one. 20 s for a loaded machine.
  for (let i = 0; i < 400 && echoes < 2; i++) await sleep(50);
  await sleep(1500); // and past the second probe's answer window
  t.same(states, [], 'the replica never lost its connection');
  t.equal(idl.state, 'connected');
  t.ok(echoes >= 2, `${echoes} echo requests answered`);
  t.notOk(conn.closed);
  const write = await updateRow(idl, 'Open_vSwitch', must(idl.first('Open_vSwitch'), 'row')._uuid, { cur_cfg: 2 });
  t.equal(write.status, 'success');
});

t.test('tables or columns missing from the schema: a clear error at every attempt, no replica', async (t) => {
  const db = await startOvsdbServer(t);
  const cases: [IdlOptions['tables'], string][] = [
    [{ Nope: 'all' }, 'database Open_vSwitch has no table Nope'],
    [{ Bridge: ['name', 'nope'] }, 'table Bridge has no column nope'],
  ];
  for (const [tables, message] of cases) {
    const log = recordingLogger();
    const idl = new Idl({ remote: db.remote, tables, log, minBackoffMs: 20, maxBackoffMs: 40 });
    idl.start();
    await idl.until(() => log.lines.filter((l) => l.level === 'error').length >= 2);
    idl.close();
    t.type(idl.lastError, OvsdbSchemaError);
    t.equal(idl.lastError?.message, message);
    t.equal(idl.state, 'stopped');
  }
  const wrongDb = new Idl({ remote: db.remote, database: 'Nope', tables: {}, minBackoffMs: 20 });
  wrongDb.start();
  await wrongDb.until(() => wrongDb.lastError !== null);
  wrongDb.close();
  t.match(wrongDb.lastError?.message, /unknown database/);
});

t.test('bad remotes and an absent server', async (t) => {
  t.throws(() => new Idl({ remote: 'ssl:1.2.3.4:6640', tables: {} }), OvsdbRemoteError);
  const log = recordingLogger();
  const idl = new Idl({ remote: 'unix:/nonexistent/db.sock', tables: { Bridge: 'all' }, log, minBackoffMs: 10, maxBackoffMs: 30 });
  t.equal(idl.state, 'idle');
  t.equal(idl.table('Bridge').size, 0, 'an empty replica before any connection');
  t.equal(idl.first('Bridge'), undefined);
  t.equal(idl.schema, null);
  t.throws(() => new Transaction(idl), /no database schema yet/);
  await t.rejects(idl.transact([]), /not connected/);
  idl.start();
  await idl.until(() => log.lines.length >= 4);
  const waits = log.lines.map((l) => l.fields['retryInMs']);
  t.same(waits.slice(0, 4), [10, 20, 30, 30], 'backoff doubles up to its maximum');
  t.equal(log.lines[0]?.msg, 'OVSDB server not reachable');
  idl.close();
  idl.close();
  t.equal(idl.state, 'stopped');
  await t.rejects(idl.until(() => false, 50), /condition not met within 50 ms/);
});

t.test('close() while connecting: the connection made meanwhile is dropped, nothing else happens', async (t) => {
  const db = await startOvsdbServer(t);
  const idl = new Idl({ remote: db.remote, tables: { Bridge: ['name'] } });
  const states: IdlState[] = [];
  idl.on('state', (s) => states.push(s));
  idl.start();
  idl.start(); // no second attempt
  idl.close();
  await sleep(300);
  t.same(states, ['connecting', 'stopped']);
  t.equal(idl.seqno, 0);
  t.equal(idl.lastError, null);
});

/** A scripted stand-in for ovsdb-server on a unix socket: `reply(message, socket)` answers each message. */
async function fakeServer(
  t: Test,
  reply: (message: Record<string, unknown>, socket: Socket, connection: number) => void,
): Promise<{ remote: string; connections: () => number }> {
  const dir = mkdtempSync(join(tmpdir(), 'ofswitch-fake-ovsdb-'));
  const path = join(dir, 'fake.sock');
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    const n = ++connections;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffered = '';
    socket.on('data', (d) => {
      buffered += d.toString();
      // Requests from the client under test arrive one JSON object at a time, unnested-delimited.
      for (;;) {
        const end = findEnd(buffered);
        if (end < 0) break;
        reply(JSON.parse(buffered.slice(0, end)) as Record<string, unknown>, socket, n);
        buffered = buffered.slice(end);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { remote: `unix:${path}`, connections: () => connections };
}

/** End of the first JSON object in `text` (the test's own tiny splitter: no strings with braces here). */
function findEnd(text: string): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return i + 1;
  }
  return -1;
}

const schemaJson: unknown = JSON.parse(readFileSync(VSWITCH_SCHEMA, 'utf8'));
const ROW = '0aef6e8d-ede5-4598-a467-970f1b1ffe18';

t.test('malformed JSON from the peer: logged, connection closed, reconnected, no crash', async (t) => {
  const fake = await fakeServer(t, (message, socket) => {
    if (message['method'] === 'get_schema') socket.write(`{"id":${String(message['id'])},"result":{"name": nope}}`);
  });
  const log = recordingLogger();
  const idl = new Idl({ remote: fake.remote, tables: { Bridge: ['name'] }, log, minBackoffMs: 20, maxBackoffMs: 40 });
  t.teardown(() => idl.close());
  idl.start();
  await idl.until(() => fake.connections() >= 2 && idl.state === 'backoff');
  t.type(idl.lastError, JsonRpcProtocolError);
  t.match(idl.lastError?.message, /invalid JSON/);
  const line = log.lines.find((l) => l.level === 'error');
  t.equal(line?.msg, 'OVSDB connection lost');
  t.match(line?.fields['err'], /invalid JSON/);
});

t.test('an update that contradicts the replica, or a canceled monitor, forces a fresh monitor', async (t) => {
  const update = (monitor: string, updates: unknown): string => JSON.stringify({ id: null, method: 'update', params: [monitor, updates] });
  const ROW2 = '1aef6e8d-ede5-4598-a467-970f1b1ffe18';
  // What each connection gets after its monitor reply, in the same write (so in the same chunk).
  const after: Record<number, string> = {
    1: update('idl', { Bridge: { [ROW]: { old: { name: 'x' } } } }), // deletes a row the replica never had
    2: update('other', {}), // someone else's monitor
    3: JSON.stringify({ id: null, method: 'monitor_canceled', params: ['idl'] }),
    6: update('idl', { Bridge: { [ROW2]: { new: { name: 'br2' } } } }), // applied right after the initial rows
  };
  // 5: a bad update once the replica is live.
  const later: Record<number, string> = { 5: update('idl', { Bridge: { [ROW]: { new: { name: 'x' } } } }) };
  const fake = await fakeServer(t, (message, socket, n) => {
    const id = message['id'];
    if (message['method'] === 'get_schema') {
      // 4: an update before any monitor.
      const early = n === 4 ? update('idl', {}) : '';
      socket.write(early + JSON.stringify({ id, result: schemaJson, error: null }));
    }
    if (message['method'] === 'monitor') {
      const initial = n >= 5 ? { Bridge: { [ROW]: { new: { name: 'br0' } } } } : {};
      const ignored = JSON.stringify({ id: null, method: 'something_else', params: [] });
      socket.write(JSON.stringify({ id, result: initial, error: null }) + ignored + (after[n] ?? ''));
      const late = later[n];
      if (late) setTimeout(() => socket.write(late), 50);
    }
  });
  const log = recordingLogger();
  const idl = new Idl({ remote: fake.remote, tables: { Bridge: ['name', 'ports'] }, log, minBackoffMs: 10, maxBackoffMs: 10 });
  t.teardown(() => idl.close());
  idl.start();
  await idl.until(() => fake.connections() === 6 && idl.state === 'connected');
  const errors = log.lines.filter((l) => l.msg === 'OVSDB connection lost').map((l) => `${l.level}: ${String(l.fields['err'])}`);
  t.match(errors, [
    /^error: .*delete of a row not in the replica/,
    /^error: .*"update" for no monitor of ours: "other"/,
    /^warn: .*canceled our monitor/,
    /^error: .*"update" before any monitor/,
    /^error: .*insert of a row already in the replica/,
  ]);
  t.equal(errors.length, 5);
  t.same(idl.row('Bridge', ROW), { _uuid: ROW, name: 'br0', ports: [] }, 'a column the server left out has its default');
  t.same(idl.row('Bridge', ROW2), { _uuid: ROW2, name: 'br2', ports: [] }, 'an update in the same chunk as the monitor reply is applied');
  t.ok(log.lines.some((l) => l.level === 'debug' && l.fields['method'] === 'something_else'), 'other notifications are ignored');
});
