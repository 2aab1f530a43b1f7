/** Schema parsing and datum decoding/encoding, with types taken from Debian's vswitch.ovsschema. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import {
  datumShape, type DatumInput, decodeColumns, decodeDatum, defaultDatum, encodeDatum, encodeRow, isUuid, NamedUuid, OvsdbDatumError,
} from '../../ovsdb/datum.js';
import { columnType, OvsdbSchemaError, parseColumnType, parseSchema, tableSchema, UUID_COLUMN } from '../../ovsdb/schema.js';
import { VSWITCH_SCHEMA } from '../helpers/ovsdb-server.js';

const schema = parseSchema(JSON.parse(readFileSync(VSWITCH_SCHEMA, 'utf8')));
const type = (table: string, column: string) => columnType(tableSchema(schema, table), column);
const U1 = '0aef6e8d-ede5-4598-a467-970f1b1ffe18';
const U2 = 'cb261d6b-602a-40e0-a183-eb9c69b684bf';

t.test('the vswitch schema parses, with implicit columns and root tables', async (t) => {
  t.equal(schema.name, 'Open_vSwitch');
  t.match(schema.version, /^\d+\.\d+\.\d+$/);
  t.ok(tableSchema(schema, 'Open_vSwitch').isRoot);
  t.notOk(tableSchema(schema, 'Bridge').isRoot);
  t.same(type('Bridge', '_uuid'), UUID_COLUMN);
  t.same(type('Bridge', '_version'), UUID_COLUMN);
  t.same(type('Bridge', 'ports'), { key: { type: 'uuid', refTable: 'Port' }, min: 0, max: Infinity });
  t.same(type('Port', 'tag'), { key: { type: 'integer' }, min: 0, max: 1 });
  t.same(type('Interface', 'options'), { key: { type: 'string' }, value: { type: 'string' }, min: 0, max: Infinity });
  t.same(type('Open_vSwitch', 'next_cfg'), { key: { type: 'integer' }, min: 1, max: 1 });
  t.throws(() => tableSchema(schema, 'Nope'), { name: 'OvsdbSchemaError', message: 'database Open_vSwitch has no table Nope' });
  t.throws(() => type('Bridge', 'nope'), { message: 'table Bridge has no column nope' });
});

t.test('malformed schemas are refused with the place named', async (t) => {
  const bad: [unknown, RegExp][] = [
    [null, /not an object with "name" and "tables"/],
    [{ name: 'x', tables: [] }, /not an object with "name" and "tables"/],
    [{ name: 'x', tables: { T: {} } }, /table T: no "columns" object/],
    [{ name: 'x', tables: { T: { columns: { c: 1 } } } }, /column T.c: not an object/],
    [{ name: 'x', tables: { T: { columns: { c: { type: 'float' } } } } }, /column T.c: unknown atomic type "float"/],
    [{ name: 'x', tables: { T: { columns: { c: { type: { key: 'integer', max: -1 } } } } } }, /column T.c: bad element count -1/],
    [{ name: 'x', tables: { T: { columns: { c: { type: { key: 'integer', min: 2, max: 3 } } } } } }, /bad min 2 \/ max 3/],
    [{ name: 'x', tables: { T: { columns: { c: { type: { key: 'integer', min: 1, max: 0 } } } } } }, /bad min 1 \/ max 0/],
  ];
  for (const [json, message] of bad) t.throws(() => parseSchema(json), { name: 'OvsdbSchemaError', message });
  t.equal(parseSchema({ name: 'x', tables: {} }).version, '', 'version is optional');
  t.same(parseColumnType({ key: { type: 'real' }, value: 'boolean', min: 0, max: 'unlimited' }, 'c'), {
    key: { type: 'real' },
    value: { type: 'boolean' },
    min: 0,
    max: Infinity,
  });
  t.type(new OvsdbSchemaError('x'), Error);
});

t.test('shapes and defaults follow min and max', async (t) => {
  t.equal(datumShape(type('Open_vSwitch', 'next_cfg')), 'scalar');
  t.equal(datumShape(type('Port', 'tag')), 'optional');
  t.equal(datumShape(type('Port', 'trunks')), 'set');
  t.equal(datumShape(type('Interface', 'options')), 'map');
  t.equal(defaultDatum(type('Open_vSwitch', 'next_cfg')), 0);
  t.equal(defaultDatum(type('Interface', 'name')), '');
  t.equal(defaultDatum(type('Port', 'tag')), null);
  t.same(defaultDatum(type('Port', 'trunks')), []);
  t.same(defaultDatum(type('Port', 'interfaces')), ['00000000-0000-0000-0000-000000000000'], 'a set of at least one');
  t.same(defaultDatum(type('Interface', 'options')), new Map());
  t.equal(defaultDatum({ key: { type: 'boolean' }, min: 1, max: 1 }), false);
  t.equal(defaultDatum({ key: { type: 'real' }, min: 1, max: 1 }), 0);
});

t.test('decoding every wire form', async (t) => {
  t.equal(decodeDatum(5, type('Open_vSwitch', 'next_cfg')), 5);
  t.equal(decodeDatum(['set', [5]], type('Open_vSwitch', 'next_cfg')), 5, 'a scalar may come as a one-element set');
  t.equal(decodeDatum(['set', []], type('Port', 'tag')), null);
  t.equal(decodeDatum(7, type('Port', 'tag')), 7);
  t.same(decodeDatum(['set', [1, 2]], type('Port', 'trunks')), [1, 2]);
  t.same(decodeDatum(3, type('Port', 'trunks')), [3], 'a bare atom is a set of one');
  t.same(decodeDatum(['uuid', U1], type('Bridge', 'ports')), [U1]);
  t.same(decodeDatum(['set', [['uuid', U1], ['uuid', U2]]], type('Bridge', 'ports')), [U1, U2]);
  t.same(decodeDatum(['map', [['a', 'b']]], type('Interface', 'options')), new Map([['a', 'b']]));
  t.same(decodeDatum(['map', [['rx_packets', 5]]], type('Interface', 'statistics')), new Map([['rx_packets', 5]]));
  t.equal(decodeDatum(true, type('Bridge', 'stp_enable')), true);
  t.equal(decodeDatum(1.5, { key: { type: 'real' }, min: 1, max: 1 }), 1.5);
});

t.test('decoding refuses what does not fit, saying what it got', async (t) => {
  const bad: [unknown, Parameters<typeof decodeDatum>[1], RegExp][] = [
    [1.5, type('Open_vSwitch', 'next_cfg'), /expected integer, got 1.5/],
    ['x', type('Bridge', 'stp_enable'), /expected boolean, got "x"/],
    [1, type('Interface', 'name'), /expected string, got 1/],
    ['x', { key: { type: 'real' }, min: 1, max: 1 }, /expected real/],
    [['uuid', 'not-a-uuid'], type('Bridge', 'ports'), /expected uuid/],
    [['named-uuid', 'row0'], type('Bridge', 'ports'), /expected uuid, got \["named-uuid","row0"\]/],
    [['set', 'x'], type('Port', 'trunks'), /malformed set/],
    [['set', [1, 2]], type('Port', 'tag'), /2 elements where the column allows 0 to 1/],
    [['set', []], type('Open_vSwitch', 'next_cfg'), /0 elements where the column allows 1 to 1/],
    [{ a: 'b' }, type('Interface', 'options'), /expected a map, got \{"a":"b"\}/],
    [['map', [['a']]], type('Interface', 'options'), /malformed map pair \["a"\]/],
    [['map', [['a', 1]]], type('Interface', 'options'), /expected string, got 1/],
    ['x'.repeat(200), type('Open_vSwitch', 'next_cfg'), /got "x{70,}\.\.\.$/],
  ];
  for (const [json, columnType, message] of bad) t.throws(() => decodeDatum(json, columnType), { name: 'OvsdbDatumError', message });
});

t.test('encoding: plain values to wire JSON, a single set element as the bare atom', async (t) => {
  t.equal(encodeDatum(5, type('Open_vSwitch', 'cur_cfg')), 5);
  t.equal(encodeDatum(12345678901n, type('Open_vSwitch', 'cur_cfg')), 12345678901, 'a bigint within 2^53');
  t.same(encodeDatum(null, type('Port', 'tag')), ['set', []]);
  t.equal(encodeDatum(10, type('Port', 'tag')), 10);
  t.same(encodeDatum([1, 2], type('Port', 'trunks')), ['set', [1, 2]]);
  t.equal(encodeDatum(4, type('Port', 'trunks')), 4);
  t.same(encodeDatum([U1.toUpperCase()], type('Bridge', 'ports')), ['set', [['uuid', U1]]], 'UUIDs go out lower case');
  t.same(encodeDatum(new NamedUuid('row0'), type('Bridge', 'ports')), ['named-uuid', 'row0']);
  t.same(encodeDatum({ a: 'b' }, type('Interface', 'options')), ['map', [['a', 'b']]]);
  t.same(encodeDatum(new Map([['rx', 1]]), type('Interface', 'statistics')), ['map', [['rx', 1]]]);
  t.same(encodeDatum(Object.assign(Object.create(null) as object, { k: 'v' }) as Record<string, string>, type('Interface', 'options')), ['map', [['k', 'v']]]);
  t.equal(encodeDatum(false, type('Bridge', 'stp_enable')), false);
  t.equal(encodeDatum(0.25, { key: { type: 'real' }, min: 1, max: 1 }), 0.25);
});

t.test('encoding refuses what does not fit', async (t) => {
  const bad: [Parameters<typeof encodeDatum>[0], Parameters<typeof encodeDatum>[1], RegExp][] = [
    [2 ** 53, type('Open_vSwitch', 'cur_cfg'), /expected integer, got 9007199254740992/],
    [1.5, type('Open_vSwitch', 'cur_cfg'), /expected integer/],
    [2n ** 53n, type('Open_vSwitch', 'cur_cfg'), /expected integer, got 9007199254740992n/],
    [5n, type('Interface', 'name'), /expected string, got 5n/],
    [Infinity, { key: { type: 'real' }, min: 1, max: 1 }, /expected real, got null/],
    ['yes', type('Bridge', 'stp_enable'), /expected boolean/],
    [1, type('Interface', 'name'), /expected string/],
    ['br0', type('Bridge', 'ports'), /expected uuid, got "br0"/],
    [new NamedUuid('x'), type('Interface', 'name'), /expected string, got named-uuid x/],
    [null, type('Open_vSwitch', 'cur_cfg'), /expected integer, got null/],
    [null, type('Port', 'interfaces'), /0 elements where the column allows 1/],
    [[1, 2], type('Port', 'tag'), /2 elements where the column allows 0 to 1/],
    [[], type('Port', 'interfaces'), /0 elements where the column allows 1/],
    ['x', type('Interface', 'options'), /expected a map \(Map or object\), got "x"/],
    [[['a', 'b']] as unknown as DatumInput, type('Interface', 'options'), /expected a map/],
    [{ a: 1 }, type('Interface', 'options'), /expected string, got 1/],
  ];
  for (const [value, columnType, message] of bad) t.throws(() => encodeDatum(value, columnType), { name: 'OvsdbDatumError', message });
  t.throws(() => new NamedUuid('1bad'), { name: 'OvsdbDatumError', message: 'bad uuid-name "1bad"' });
  t.ok(isUuid(U1));
  t.notOk(isUuid(`${U1}0`));
  t.notOk(isUuid(5));
});

t.test('rows: columns decoded and encoded with table and column named in errors', async (t) => {
  const port = tableSchema(schema, 'Port');
  t.same(decodeColumns(port, { name: 'p1', tag: ['set', []] }), new Map<string, unknown>([['name', 'p1'], ['tag', null]]));
  t.throws(() => decodeColumns(port, { tag: 'x' }), { message: 'Port.tag: expected integer, got "x"' });
  t.throws(() => decodeColumns(port, { nope: 1 }), { message: 'Port.nope: table Port has no column nope' });
  t.same(encodeRow(port, { name: 'p1', tag: 5, trunks: [] }), { name: 'p1', tag: 5, trunks: ['set', []] });
  t.throws(() => encodeRow(port, { tag: 'x' }), OvsdbDatumError);
  t.throws(() => encodeRow(port, { nope: 1 }), { message: 'Port.nope: table Port has no column nope' });
});

t.test('round trip: decode(encode(v)) is v for every column of the schema', async (t) => {
  const samples: Record<string, unknown> = { integer: 42, real: 2.5, boolean: true, string: 'é"}', uuid: U2 };
  let checked = 0;
  for (const table of schema.tables.values()) {
    for (const [name, ct] of table.columns) {
      const atom = samples[ct.key.type] as string;
      const value =
        datumShape(ct) === 'map' ? new Map([[atom, samples[ct.value?.type ?? 'string'] as string]])
        : datumShape(ct) === 'set' ? [atom]
        : atom;
      const back = decodeDatum(JSON.parse(JSON.stringify(encodeDatum(value, ct))), ct);
      if (JSON.stringify([...(back instanceof Map ? back : [back])]) !== JSON.stringify([...(value instanceof Map ? value : [value])])) {
        return t.fail(`${table.name}.${name}`);
      }
      checked++;
    }
  }
  t.ok(checked > 200, `${checked} columns round-tripped`);
});
