/**
 * An OVSDB database schema (RFC 7047 section 3.2) as the client needs it: for every table, every
 * column's type, so datums can be decoded into plain values and encoded back. Constraints beyond
 * the atomic type and the element count (enums, ranges, lengths, references) are the server's to
 * check; they are kept only where they are cheap to carry.
 */

export const ATOMIC_TYPES = ['integer', 'real', 'boolean', 'string', 'uuid'] as const;
export type AtomicType = (typeof ATOMIC_TYPES)[number];

export interface BaseType {
  readonly type: AtomicType;
  /** For uuid: the table the references point to, when the schema says so. */
  readonly refTable?: string;
}

export interface ColumnType {
  readonly key: BaseType;
  /** Present for a map column. */
  readonly value?: BaseType;
  readonly min: number;
  /** Infinity for "unlimited". */
  readonly max: number;
}

export interface TableSchema {
  readonly name: string;
  readonly columns: ReadonlyMap<string, ColumnType>;
  readonly isRoot: boolean;
}

export interface DatabaseSchema {
  readonly name: string;
  readonly version: string;
  readonly tables: ReadonlyMap<string, TableSchema>;
}

export class OvsdbSchemaError extends Error {
  override readonly name = 'OvsdbSchemaError';
}

/** The implicit columns every row has (RFC 7047 section 3.2, <table-schema>). */
export const UUID_COLUMN: ColumnType = { key: { type: 'uuid' }, min: 1, max: 1 };
const IMPLICIT_COLUMNS: ReadonlyMap<string, ColumnType> = new Map([
  ['_uuid', UUID_COLUMN],
  ['_version', UUID_COLUMN],
]);

function isObject(json: unknown): json is Record<string, unknown> {
  return typeof json === 'object' && json !== null && !Array.isArray(json);
}

function parseBaseType(json: unknown, where: string): BaseType {
  const type = typeof json === 'string' ? json : isObject(json) ? json['type'] : undefined;
  if (!ATOMIC_TYPES.includes(type as AtomicType)) {
    throw new OvsdbSchemaError(`${where}: unknown atomic type ${JSON.stringify(type)}`);
  }
  const refTable = isObject(json) && typeof json['refTable'] === 'string' ? json['refTable'] : undefined;
  return refTable === undefined ? { type: type as AtomicType } : { type: type as AtomicType, refTable };
}

function parseCount(json: unknown, fallback: number, where: string): number {
  if (json === undefined) return fallback;
  if (json === 'unlimited') return Infinity;
  if (typeof json === 'number' && Number.isInteger(json) && json >= 0) return json;
  throw new OvsdbSchemaError(`${where}: bad element count ${JSON.stringify(json)}`);
}

export function parseColumnType(json: unknown, where: string): ColumnType {
  if (!isObject(json)) return { key: parseBaseType(json, where), min: 1, max: 1 };
  const key = parseBaseType(json['key'], where);
  const min = parseCount(json['min'], 1, where);
  const max = parseCount(json['max'], 1, where);
  if (min > 1 || max < 1 || min > max) throw new OvsdbSchemaError(`${where}: bad min ${min} / max ${max}`);
  if (json['value'] === undefined) return { key, min, max };
  return { key, value: parseBaseType(json['value'], where), min, max };
}

/** Parses the result of `get_schema`; throws OvsdbSchemaError on anything malformed. */
export function parseSchema(json: unknown): DatabaseSchema {
  if (!isObject(json) || typeof json['name'] !== 'string' || !isObject(json['tables'])) {
    throw new OvsdbSchemaError('schema is not an object with "name" and "tables"');
  }
  const tables = new Map<string, TableSchema>();
  for (const [tableName, tableJson] of Object.entries(json['tables'])) {
    if (!isObject(tableJson) || !isObject(tableJson['columns'])) {
      throw new OvsdbSchemaError(`table ${tableName}: no "columns" object`);
    }
    const columns = new Map(IMPLICIT_COLUMNS);
    for (const [columnName, columnJson] of Object.entries(tableJson['columns'])) {
      if (!isObject(columnJson)) throw new OvsdbSchemaError(`column ${tableName}.${columnName}: not an object`);
      columns.set(columnName, parseColumnType(columnJson['type'], `column ${tableName}.${columnName}`));
    }
    tables.set(tableName, { name: tableName, columns, isRoot: tableJson['isRoot'] === true });
  }
  const version = typeof json['version'] === 'string' ? json['version'] : '';
  return { name: json['name'], version, tables };
}

/** The table's schema; throws OvsdbSchemaError naming the table when there is none. */
export function tableSchema(schema: DatabaseSchema, table: string): TableSchema {
  const found = schema.tables.get(table);
  if (!found) throw new OvsdbSchemaError(`database ${schema.name} has no table ${table}`);
  return found;
}

/** The column's type; throws OvsdbSchemaError naming table and column when there is none. */
export function columnType(table: TableSchema, column: string): ColumnType {
  const found = table.columns.get(column);
  if (!found) throw new OvsdbSchemaError(`table ${table.name} has no column ${column}`);
  return found;
}
