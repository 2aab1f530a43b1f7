/** Applying table-updates to the replica, and refusing updates that contradict it. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { Replica, OvsdbUpdateError, type MonitoredTable } from '../../ovsdb/replica.js';
import { parseSchema, tableSchema } from '../../ovsdb/schema.js';
import { VSWITCH_SCHEMA } from '../helpers/ovsdb-server.js';

const schema = parseSchema(JSON.parse(readFileSync(VSWITCH_SCHEMA, 'utf8')));
const U1 = '0aef6e8d-ede5-4598-a467-970f1b1ffe18';
const U2 = 'cb261d6b-602a-40e0-a183-eb9c69b684bf';

function replica(): Replica {
  const monitored = new Map<string, MonitoredTable>([
    ['Port', { schema: tableSchema(schema, 'Port'), columns: ['name', 'tag', 'trunks'] }],
    ['Bridge', { schema: tableSchema(schema, 'Bridge'), columns: ['name'] }],
  ]);
  return new Replica(monitored);
}

t.test('insert, modify, delete', async (t) => {
  const r = replica();
  t.same([...r.tables.keys()], ['Port', 'Bridge']);
  r.apply({ Port: { [U1]: { new: { name: 'p1', tag: 5, trunks: ['set', []] } } }, Bridge: {} });
  const p1 = r.tables.get('Port')?.get(U1);
  t.same(p1, { _uuid: U1, name: 'p1', tag: 5, trunks: [] });
  t.ok(Object.isFrozen(p1));
  r.apply({ Port: { [U1]: { old: { tag: 5 }, new: { name: 'p1', tag: 6, trunks: ['set', [1, 2]] } } } });
  t.same(r.tables.get('Port')?.get(U1), { _uuid: U1, name: 'p1', tag: 6, trunks: [1, 2] });
  t.equal(p1?.['tag'], 5, 'the earlier row object is untouched');
  r.apply({ Port: { [U1]: { old: { tag: 6 }, new: { tag: 7 } } } });
  t.same(r.tables.get('Port')?.get(U1), { _uuid: U1, name: 'p1', tag: 7, trunks: [1, 2] }, 'columns left out of "new" keep their value');
  r.apply({ Port: { [U2]: { new: { name: 'p2' } } } });
  t.same(r.tables.get('Port')?.get(U2), { _uuid: U2, name: 'p2', tag: null, trunks: [] }, 'missing columns get their default');
  r.apply({ Port: { [U1]: { old: { name: 'p1' } } } });
  t.same([...(r.tables.get('Port')?.keys() ?? [])], [U2]);
});

t.test('updates that do not fit are refused with a clear error', async (t) => {
  const r = replica();
  r.apply({ Port: { [U1]: { new: { name: 'p1' } } } });
  const bad: [unknown, RegExp][] = [
    [null, /table-updates is not an object/],
    [{ Mirror: {} }, /update for table Mirror, which is not monitored/],
    [{ Port: [] }, /Port: table-update is not an object/],
    [{ Port: { 'not-a-uuid': { new: {} } } }, /Port: bad row UUID "not-a-uuid"/],
    [{ Port: { [U2]: 5 } }, /row-update is not an object/],
    [{ Port: { [U2]: { new: 5 } } }, /"new" is not an object/],
    [{ Port: { [U2]: { old: 5 } } }, /"old" is not an object/],
    [{ Port: { [U2]: {} } }, /neither "old" nor "new"/],
    [{ Port: { [U2]: { old: {} } } }, new RegExp(`Port row ${U2}: delete of a row not in the replica`)],
    [{ Port: { [U2]: { old: {}, new: {} } } }, /modify of a row not in the replica/],
    [{ Port: { [U1]: { new: { name: 'again' } } } }, /insert of a row already in the replica/],
  ];
  for (const [updates, message] of bad) t.throws(() => r.apply(updates), { name: 'OvsdbUpdateError', message });
  t.throws(() => r.apply({ Port: { [U2]: { new: { tag: 'x' } } } }), { name: 'OvsdbDatumError', message: 'Port.tag: expected integer, got "x"' });
  t.type(new OvsdbUpdateError('x'), Error);
});
