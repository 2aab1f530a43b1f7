/**
 * The rows of the monitored tables, kept up to date from the "table-updates" objects that a
 * `monitor` reply and its "update" notifications carry (RFC 7047 section 4.1.6):
 *
 *   {"new": row}            initial or inserted row: every monitored column
 *   {"old": row, "new": row} modified row: "new" has every monitored column, "old" those changed
 *   {"old": row}            deleted row
 *
 * Rows are frozen objects of plain values (datum.ts) with their `_uuid`; a modified row is a new
 * object, so a consumer may keep the old one and compare. Columns that the server leaves out of a
 * new row get their default value. An update that contradicts the replica (a modify or delete of
 * an unknown row, an insert of a known one) or does not fit the schema throws OvsdbUpdateError: the
 * replica can no longer be trusted, and its owner starts over from a fresh monitor.
 */
import { decodeColumns, defaultDatum, isUuid, type Datum, type Row } from './datum.js';
import { columnType, type TableSchema } from './schema.js';

export class OvsdbUpdateError extends Error {
  override readonly name = 'OvsdbUpdateError';
}

export interface MonitoredTable {
  readonly schema: TableSchema;
  /** The columns replicated (never _uuid, which every row has). */
  readonly columns: readonly string[];
}

function isObject(json: unknown): json is Record<string, unknown> {
  return typeof json === 'object' && json !== null && !Array.isArray(json);
}

export class Replica {
  readonly tables: ReadonlyMap<string, Map<string, Row>>;
  private readonly monitored: ReadonlyMap<string, MonitoredTable>;

  constructor(monitored: ReadonlyMap<string, MonitoredTable>) {
    this.monitored = monitored;
    this.tables = new Map([...monitored.keys()].map((name) => [name, new Map<string, Row>()]));
  }

  /** Applies one "table-updates" object; throws OvsdbUpdateError (or a decoding error) when it cannot. */
  apply(tableUpdates: unknown): void {
    if (!isObject(tableUpdates)) throw new OvsdbUpdateError('table-updates is not an object');
    for (const [tableName, rowUpdates] of Object.entries(tableUpdates)) {
      const table = this.monitored.get(tableName);
      const rows = this.tables.get(tableName);
      if (!table || !rows) throw new OvsdbUpdateError(`update for table ${tableName}, which is not monitored`);
      if (!isObject(rowUpdates)) throw new OvsdbUpdateError(`${tableName}: table-update is not an object`);
      for (const [uuid, rowUpdate] of Object.entries(rowUpdates)) {
        this.applyRow(table, rows, uuid, rowUpdate);
      }
    }
  }

  private applyRow(table: MonitoredTable, rows: Map<string, Row>, uuid: string, update: unknown): void {
    const where = `${table.schema.name} row ${uuid}`;
    if (!isUuid(uuid)) throw new OvsdbUpdateError(`${table.schema.name}: bad row UUID ${JSON.stringify(uuid)}`);
    if (!isObject(update)) throw new OvsdbUpdateError(`${where}: row-update is not an object`);
    const { old: oldJson, new: newJson } = update;
    if (newJson !== undefined && !isObject(newJson)) throw new OvsdbUpdateError(`${where}: "new" is not an object`);
    if (oldJson !== undefined && !isObject(oldJson)) throw new OvsdbUpdateError(`${where}: "old" is not an object`);
    const existing = rows.get(uuid);
    if (newJson === undefined) {
      if (oldJson === undefined) throw new OvsdbUpdateError(`${where}: row-update has neither "old" nor "new"`);
      if (!existing) throw new OvsdbUpdateError(`${where}: delete of a row not in the replica`);
      rows.delete(uuid);
      return;
    }
    if (oldJson === undefined && existing) throw new OvsdbUpdateError(`${where}: insert of a row already in the replica`);
    if (oldJson !== undefined && !existing) throw new OvsdbUpdateError(`${where}: modify of a row not in the replica`);
    const values: Record<string, Datum> = { _uuid: uuid };
    for (const column of table.columns) {
      values[column] = existing ? (existing[column] as Datum) : defaultDatum(columnType(table.schema, column));
    }
    for (const [column, value] of decodeColumns(table.schema, newJson)) values[column] = value;
    rows.set(uuid, Object.freeze(values) as Row);
  }
}
