/**
 * OVSDB datums (RFC 7047 section 5.1) to plain JavaScript values and back, driven by the column's
 * type, as ovsdb-idl does:
 *
 *   column type                    wire                                     JavaScript
 *   scalar (min 1, max 1)          atom                                     Atom
 *   optional (min 0, max 1)        ["set",[]] or atom                       Atom | null
 *   set (max > 1)                  ["set",[a,...]] or a bare atom (one)     Atom[]
 *   map (has a value type)         ["map",[[k,v],...]]                      Map<Atom, Atom>
 *
 * Atoms: integer and real are numbers, boolean and string as is, uuid ["uuid","..."] the UUID
 * string. Going out, a NamedUuid (a row inserted in the same transaction) is ["named-uuid",name].
 * Because the schema tells which columns hold UUIDs, a UUID is a plain string in both directions.
 *
 * Integers travel as JSON numbers and JSON.parse makes them doubles: values beyond 2^53 (never seen
 * in the Open_vSwitch database short of 9 PB counters) lose precision; encoding refuses them (as
 * number or bigint) rather than send a rounded value.
 */
import type { BaseType, ColumnType, TableSchema } from './schema.js';
import { columnType } from './schema.js';

export type Atom = number | boolean | string;
export type Datum = Atom | null | readonly Atom[] | ReadonlyMap<Atom, Atom>;

/** A reference to a row inserted earlier in the same transaction (its "uuid-name"). */
export class NamedUuid {
  readonly name: string;
  constructor(name: string) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new OvsdbDatumError(`bad uuid-name ${JSON.stringify(name)}`);
    this.name = name;
  }
}

/** bigint is accepted for integers (the datapath counts in bigint) within Number's exact range. */
export type AtomInput = Atom | bigint | NamedUuid;
/** What encoding accepts: a string-keyed map may also be a plain object. */
export type DatumInput =
  | AtomInput
  | null
  | readonly AtomInput[]
  | ReadonlyMap<AtomInput, AtomInput>
  | Readonly<Record<string, AtomInput>>;

export class OvsdbDatumError extends Error {
  override readonly name = 'OvsdbDatumError';
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_PATTERN.test(value);
}

export type DatumShape = 'scalar' | 'optional' | 'set' | 'map';

export function datumShape(type: ColumnType): DatumShape {
  if (type.value) return 'map';
  if (type.max === 1) return type.min === 1 ? 'scalar' : 'optional';
  return 'set';
}

const DEFAULT_ATOMS: Readonly<Record<BaseType['type'], Atom>> = {
  integer: 0,
  real: 0,
  boolean: false,
  string: '',
  uuid: '00000000-0000-0000-0000-000000000000',
};

/** The value a column has when nothing was written (RFC 7047 section 5.1's defaults). */
export function defaultDatum(type: ColumnType): Datum {
  switch (datumShape(type)) {
    case 'scalar':
      return DEFAULT_ATOMS[type.key.type];
    case 'optional':
      return null;
    case 'set':
      return type.min === 0 ? [] : [DEFAULT_ATOMS[type.key.type]];
    case 'map':
      return new Map();
  }
}

function describe(json: unknown): string {
  const text = JSON.stringify(json);
  return text === undefined ? String(json) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function decodeAtom(json: unknown, base: BaseType): Atom {
  switch (base.type) {
    case 'integer':
      if (typeof json === 'number' && Number.isInteger(json)) return json;
      break;
    case 'real':
      if (typeof json === 'number') return json;
      break;
    case 'boolean':
      if (typeof json === 'boolean') return json;
      break;
    case 'string':
      if (typeof json === 'string') return json;
      break;
    case 'uuid':
      if (Array.isArray(json) && json.length === 2 && json[0] === 'uuid' && isUuid(json[1])) return json[1];
      break;
  }
  throw new OvsdbDatumError(`expected ${base.type}, got ${describe(json)}`);
}

function taggedList(json: unknown, tag: 'set' | 'map'): unknown[] | null {
  if (Array.isArray(json) && json.length === 2 && json[0] === tag) {
    if (Array.isArray(json[1])) return json[1] as unknown[];
    throw new OvsdbDatumError(`malformed ${tag}: ${describe(json)}`);
  }
  return null;
}

function checkCount(count: number, type: ColumnType): void {
  if (count < type.min || count > type.max) {
    throw new OvsdbDatumError(`${count} elements where the column allows ${type.min} to ${type.max}`);
  }
}

/** Wire JSON to a plain value; throws OvsdbDatumError when the JSON does not fit the type. */
export function decodeDatum(json: unknown, type: ColumnType): Datum {
  if (type.value) {
    const pairs = taggedList(json, 'map');
    if (pairs === null) throw new OvsdbDatumError(`expected a map, got ${describe(json)}`);
    const map = new Map<Atom, Atom>();
    for (const pair of pairs) {
      if (!Array.isArray(pair) || pair.length !== 2) throw new OvsdbDatumError(`malformed map pair ${describe(pair)}`);
      map.set(decodeAtom(pair[0], type.key), decodeAtom(pair[1], type.value));
    }
    checkCount(map.size, type);
    return map;
  }
  const elements = taggedList(json, 'set');
  const atoms = elements === null ? [decodeAtom(json, type.key)] : elements.map((e) => decodeAtom(e, type.key));
  checkCount(atoms.length, type);
  switch (datumShape(type)) {
    case 'scalar':
      return atoms[0] as Atom;
    case 'optional':
      return atoms[0] ?? null;
    default:
      return atoms;
  }
}

function encodeAtom(value: unknown, base: BaseType): unknown {
  switch (base.type) {
    case 'integer':
      if (Number.isSafeInteger(value)) return value;
      if (typeof value === 'bigint' && Number.isSafeInteger(Number(value))) return Number(value);
      break;
    case 'real':
      if (Number.isFinite(value)) return value;
      break;
    case 'boolean':
      if (typeof value === 'boolean') return value;
      break;
    case 'string':
      if (typeof value === 'string') return value;
      break;
    case 'uuid':
      if (value instanceof NamedUuid) return ['named-uuid', value.name];
      if (isUuid(value)) return ['uuid', value.toLowerCase()];
      break;
  }
  const shown = value instanceof NamedUuid ? `named-uuid ${value.name}` : typeof value === 'bigint' ? `${value}n` : describe(value);
  throw new OvsdbDatumError(`expected ${base.type}, got ${shown}`);
}

function isPlainObject(value: unknown): value is Readonly<Record<string, unknown>> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A plain value to wire JSON; throws OvsdbDatumError when the value does not fit the type. */
export function encodeDatum(value: DatumInput, type: ColumnType): unknown {
  if (type.value) {
    const valueType = type.value;
    let entries: [unknown, unknown][];
    if (value instanceof Map) entries = [...(value as Map<unknown, unknown>).entries()];
    else if (isPlainObject(value)) entries = Object.entries(value);
    else throw new OvsdbDatumError(`expected a map (Map or object), got ${describe(value)}`);
    checkCount(entries.length, type);
    return ['map', entries.map(([k, v]) => [encodeAtom(k, type.key), encodeAtom(v, valueType)])];
  }
  const shape = datumShape(type);
  if (shape === 'scalar') return encodeAtom(value, type.key);
  if (value === null) {
    checkCount(0, type);
    return ['set', []];
  }
  if (Array.isArray(value)) {
    checkCount(value.length, type);
    return ['set', value.map((v: unknown) => encodeAtom(v, type.key))];
  }
  return encodeAtom(value, type.key); // one element: the bare atom
}

export type Row = { readonly _uuid: string } & Readonly<Record<string, Datum>>;
export type RowInput = Readonly<Record<string, DatumInput>>;

/** Decodes the columns of a wire row, naming table and column in any error. */
export function decodeColumns(table: TableSchema, json: Readonly<Record<string, unknown>>): Map<string, Datum> {
  const columns = new Map<string, Datum>();
  for (const [name, value] of Object.entries(json)) {
    try {
      columns.set(name, decodeDatum(value, columnType(table, name)));
    } catch (err) {
      throw new OvsdbDatumError(`${table.name}.${name}: ${(err as Error).message}`);
    }
  }
  return columns;
}

/** Encodes a row of plain values for insert/update/wait, naming table and column in any error. */
export function encodeRow(table: TableSchema, row: RowInput): Record<string, unknown> {
  const json: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(row)) {
    try {
      json[name] = encodeDatum(value, columnType(table, name));
    } catch (err) {
      throw new OvsdbDatumError(`${table.name}.${name}: ${(err as Error).message}`);
    }
  }
  return json;
}
