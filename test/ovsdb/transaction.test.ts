/**
 * Transactions against the real ovsdb-server, checked with ovs-vsctl; results the server does not
 * produce on demand (malformed replies, JSON-RPC errors) with a stand-in target.
 */
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { Idl } from '../../ovsdb/idl.js';
import { ConnectionClosedError, JsonRpcError } from '../../ovsdb/jsonrpc.js';
import { parseSchema } from '../../ovsdb/schema.js';
import { Transaction, updateRow, type TransactionTarget } from '../../ovsdb/transaction.js';
import type { Row } from '../../ovsdb/datum.js';
import { startOvsdbServer, VSWITCH_SCHEMA, type OvsdbServer } from '../helpers/ovsdb-server.js';

const U1 = '0aef6e8d-ede5-4598-a467-970f1b1ffe18';

async function setUp(t: Test): Promise<{ db: OvsdbServer; idl: Idl; ovs: Row }> {
  const db = await startOvsdbServer(t);
  const idl = new Idl({
    remote: db.remote,
    tables: {
      Open_vSwitch: ['bridges', 'next_cfg', 'external_ids'],
      Bridge: ['name', 'ports', 'external_ids', 'flood_vlans'],
      Port: ['name', 'interfaces', 'tag'],
      Interface: ['name', 'type'],
    },
  });
  t.teardown(() => idl.close());
  idl.start();
  await idl.until(() => idl.state === 'connected');
  const ovs = idl.first('Open_vSwitch');
  if (!ovs) throw new Error('no Open_vSwitch row');
  return { db, idl, ovs };
}

async function vsctlOut(t: Test, db: OvsdbServer, args: string[]): Promise<string> {
  const r = await db.tryVsctl(args);
  t.equal(r.code, 0, `ovs-vsctl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

t.test('insert with named UUIDs and mutate: a bridge built as ovs-vsctl add-br builds it', async (t) => {
  const { db, idl, ovs } = await setUp(t);
  const txn = new Transaction(idl);
  const iface = txn.insert('Interface', { name: 'br5', type: 'internal' });
  const port = txn.insert('Port', { name: 'br5', interfaces: [iface] });
  const bridge = txn.insert('Bridge', { name: 'br5', ports: [port] }, 'bridge');
  txn.mutate('Open_vSwitch', ovs._uuid, [['bridges', 'insert', [bridge]]]);
  t.equal(txn.size, 4);
  const result = await txn.commit();
  if (result.status !== 'success') throw new Error(`commit: ${JSON.stringify(result)}`);
  t.same([...result.inserted.keys()], ['row0', 'row1', 'bridge']);
  const brUuid = result.inserted.get('bridge') ?? '';
  t.same(result.results.map((r) => Object.keys(r)), [['uuid'], ['uuid'], ['uuid'], ['count']]);
  t.equal(result.results[2]?.uuid, brUuid);
  t.same(idl.row('Bridge', brUuid), { _uuid: brUuid, name: 'br5', ports: [result.inserted.get('row1')], external_ids: new Map(), flood_vlans: [] });
  t.equal(await vsctlOut(t, db, ['list-br']), 'br5');
  t.equal(await vsctlOut(t, db, ['get', 'Interface', 'br5', 'type']), 'internal');
  t.equal(await vsctlOut(t, db, ['get', 'Port', 'br5', 'interfaces']), `[${result.inserted.get('row0')}]`);

  const grow = await new Transaction(idl)
    .mutate('Bridge', brUuid, [['external_ids', 'insert', { a: '1', b: '2', c: '3' }], ['flood_vlans', 'insert', [10, 20, 30]]])
    .mutate('Open_vSwitch', ovs._uuid, [['next_cfg', '+=', 2]])
    .commit();
  t.equal(grow.status, 'success');
  t.equal(await vsctlOut(t, db, ['get', 'Bridge', 'br5', 'external_ids']), '{a="1", b="2", c="3"}');
  t.equal(await vsctlOut(t, db, ['get', 'Bridge', 'br5', 'flood_vlans']), '[10, 20, 30]');
  t.equal(await vsctlOut(t, db, ['get', 'Open_vSwitch', '.', 'next_cfg']), '2');

  const shrink = await new Transaction(idl)
    .mutate('Bridge', brUuid, [['external_ids', 'delete', ['a']], ['external_ids', 'delete', new Map([['b', '2']])], ['flood_vlans', 'delete', 10]])
    .commit();
  t.equal(shrink.status, 'success');
  t.equal(await vsctlOut(t, db, ['get', 'Bridge', 'br5', 'external_ids']), '{c="3"}', 'keys deleted by set and by map');
  t.equal(await vsctlOut(t, db, ['get', 'Bridge', 'br5', 'flood_vlans']), '[20, 30]');
  t.same(idl.row('Bridge', brUuid)?.['flood_vlans'], [20, 30]);

  const gone = await new Transaction(idl)
    .mutate('Open_vSwitch', ovs._uuid, [['bridges', 'delete', [brUuid]]])
    .delete('Bridge', brUuid)
    .commit();
  t.same(gone, { status: 'success', results: [{ count: 1 }, { count: 1 }], inserted: new Map() });
  t.equal(await vsctlOut(t, db, ['list-br']), '');
  t.equal(idl.table('Port').size, 0, 'unreferenced ports and interfaces are collected by the server');
  t.equal(idl.table('Interface').size, 0);
});

t.test('raw waits and conditions', async (t) => {
  const { db, idl, ovs } = await setUp(t);
  await db.vsctl(['add-br', 'br0', '--', 'add-port', 'br0', 'p1', 'tag=5', '--', 'add-port', 'br0', 'p2', 'tag=6']);
  await idl.until(() => idl.table('Port').size === 3);
  const passes = await new Transaction(idl)
    .wait('Port', [['tag', '>=', 5]], ['name'], [{ name: 'p1' }, { name: 'p2' }])
    .wait('Bridge', [['ports', 'includes', []]], ['name'], [{ name: 'nope' }], { until: '!=' })
    .updateWhere('Port', [['tag', '==', 6]], { tag: 7 })
    .commit();
  t.same(passes.status === 'success' && passes.results, [{}, {}, { count: 1 }]);
  t.equal(await vsctlOut(t, db, ['get', 'Port', 'p2', 'tag']), '7');
  const fails = await new Transaction(idl).wait('Port', [['tag', '==', null]], ['name'], [{ name: 'p1' }]).comment('never').commit();
  t.same(fails, { status: 'stale', opIndex: 0, details: '"where" clause test failed' });
  const timedOut = await new Transaction(idl).wait('Open_vSwitch', [['_uuid', '==', ovs._uuid]], ['next_cfg'], [{ next_cfg: 42 }], { timeoutMs: 100 }).commit();
  t.equal(timedOut.status, 'stale', 'a wait with a timeout that expires');
});

t.test('errors from the server: per operation, at commit, and a row gone from under a by-UUID update', async (t) => {
  const { db, idl, ovs } = await setUp(t);
  await db.vsctl(['add-br', 'br0']);
  await idl.until(() => idl.table('Port').size === 1);
  const port = [...idl.table('Port').values()][0] as Row;

  const constraint = await new Transaction(idl).comment('c').update('Port', port._uuid, { tag: 5000 }).commit();
  t.same(constraint, { status: 'error', error: 'constraint violation', details: constraint.status === 'error' ? constraint.details : '', opIndex: 1 });
  t.match(constraint.status === 'error' && constraint.details, /5000 is not in the valid range 0 to 4095/);

  const dangling = await new Transaction(idl).mutate('Open_vSwitch', ovs._uuid, [['bridges', 'insert', [U1]]]).commit();
  t.equal(dangling.status, 'error');
  t.match(dangling, { error: 'referential integrity violation', opIndex: null }, 'a failure of the whole commit has no operation index');

  const stillThere = await vsctlOut(t, db, ['list-br']);
  t.equal(stillThere, 'br0', 'nothing was committed');

  await db.vsctl(['del-br', 'br0']);
  const vanished = await updateRow(idl, 'Port', port._uuid, { tag: 1 });
  t.same(vanished, { status: 'stale', opIndex: 0, details: `no row ${port._uuid} in table Port` });

  await db.stop();
  await idl.until(() => idl.state !== 'connected');
  const offline = await new Transaction(idl).comment('x').commit();
  t.equal(offline.status, 'disconnected');
  t.match(offline.status === 'disconnected' && offline.details, /not connected to unix:/);
});

t.test('mistakes in building a transaction throw at the call that makes them', async (t) => {
  const { idl, ovs } = await setUp(t);
  const txn = new Transaction(idl);
  t.throws(() => txn.update('Nope', ovs._uuid, {}), { name: 'OvsdbSchemaError', message: 'database Open_vSwitch has no table Nope' });
  t.throws(() => txn.update('Open_vSwitch', ovs._uuid, { nope: 1 }), { message: 'Open_vSwitch.nope: table Open_vSwitch has no column nope' });
  t.throws(() => txn.update('Open_vSwitch', ovs._uuid, { next_cfg: 'x' }), { name: 'OvsdbDatumError', message: 'Open_vSwitch.next_cfg: expected integer, got "x"' });
  t.throws(() => txn.update('Open_vSwitch', 'not-a-uuid', {}), { message: 'Open_vSwitch._uuid: expected uuid, got "not-a-uuid"' });
  t.throws(() => txn.mutate('Open_vSwitch', ovs._uuid, [['next_cfg', '+=', 'x']]), { message: 'Open_vSwitch.next_cfg: expected integer, got "x"' });
  t.throws(() => txn.wait('Bridge', [], ['nope'], []), { message: 'table Bridge has no column nope' });
  t.throws(() => txn.verify('Bridge', U1, ['name']), { message: `verify: no row ${U1} in table Bridge of the replica` });
  t.throws(() => txn.verify('Open_vSwitch', ovs._uuid, ['cur_cfg']), { message: 'verify: column Open_vSwitch.cur_cfg is not replicated' });
  t.throws(() => txn.insert('Bridge', {}, 'bad name'), { message: 'bad uuid-name "bad name"' });
  t.equal(txn.size, 0, 'nothing was added by the failed calls');
  t.equal((await txn.comment('ok').commit()).status, 'success');
  await t.rejects(txn.commit(), { message: 'transaction already committed' });
  t.throws(() => txn.comment('late'), { message: 'transaction already committed' });
});

t.test('replies the real server does not give on demand', async (t) => {
  const schema = parseSchema(JSON.parse(readFileSync(VSWITCH_SCHEMA, 'utf8')));
  const target = (reply: () => Promise<unknown>): TransactionTarget => ({ schema, row: () => undefined, transact: reply });
  const commit = (reply: () => Promise<unknown>, ops = 1) => {
    const txn = new Transaction(target(reply));
    for (let i = 0; i < ops; i++) txn.comment(`op${i}`);
    return txn.commit();
  };
  t.same(await commit(async () => { throw new JsonRpcError('transact', { error: 'unknown database', details: 'd' }); }), {
    status: 'error', error: 'unknown database', details: 'd', opIndex: null,
  });
  t.same(await commit(async () => { throw new JsonRpcError('transact', 'not locked'); }), { status: 'error', error: 'not locked', details: '', opIndex: null });
  t.same(await commit(async () => { throw new ConnectionClosedError('gone'); }), { status: 'disconnected', details: 'gone' });
  await t.rejects(commit(async () => { throw new TypeError('a bug'); }), TypeError, 'anything else is not hidden');
  t.match(await commit(async () => ({})), { status: 'error', error: 'malformed reply', opIndex: null });
  t.match(await commit(async () => [{}], 2), { status: 'error', error: 'malformed reply' }, 'fewer results than operations');
  t.match(await commit(async () => [{}, null], 2), { status: 'error', error: 'malformed reply', opIndex: 1 });
  t.same(await commit(async () => [{ error: 'timed out' }]), { status: 'error', error: 'timed out', details: '', opIndex: 0 }, '"timed out" of a non-wait is an error');
  const waitFailed = new Transaction(target(async () => [{ error: 'timed out' }]));
  waitFailed.wait('Bridge', [], [], []);
  t.same(await waitFailed.commit(), { status: 'stale', opIndex: 0, details: 'wait condition not met' });
  t.throws(() => new Transaction({ schema: null, row: () => undefined, transact: async () => [] }), ConnectionClosedError);
});
