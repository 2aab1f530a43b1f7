/**
 * Writing to the database: one `transact` (RFC 7047 section 5.2) built from operations, like OVS's
 * ovsdb_idl_txn. Values are plain JavaScript values (datum.ts), encoded by the schema when each
 * operation is added, so a value that does not fit its column throws there, at the caller's line.
 *
 * Guards: `guard(table, uuid, {column: value})` adds a "wait" with timeout 0 that holds only while
 * the row still has those values; `verify(table, uuid, [columns])` does the same with the values
 * the replica holds now (OVS's ovsdb_idl_txn_verify). If the database moved on, the server
 * commits nothing and answers "timed out" for the wait: commit() resolves with status 'stale',
 * and the caller retries once the replica has caught up (its next 'change').
 *
 * commit() never throws for what the server or the connection does; it resolves with:
 *   success       every operation done; `results` per operation, `inserted` uuid-name -> UUID
 *   stale         a wait did not hold; nothing was committed
 *   error         an operation or the commit failed (its error, details and index); nothing committed
 *   disconnected  not connected, or the connection ended before the reply: the outcome is unknown,
 *                 retry when the replica is back in sync
 */
import { encodeDatum, encodeRow, NamedUuid, OvsdbDatumError, isUuid, type Datum, type DatumInput, type Row, type RowInput } from './datum.js';
import { ConnectionClosedError, JsonRpcError } from './jsonrpc.js';
import { columnType, tableSchema, type ColumnType, type DatabaseSchema, type TableSchema } from './schema.js';

export type ConditionFunction = '<' | '<=' | '==' | '!=' | '>=' | '>' | 'includes' | 'excludes';
export type Condition = readonly [column: string, fn: ConditionFunction, value: DatumInput];
export type Mutator = '+=' | '-=' | '*=' | '/=' | '%=' | 'insert' | 'delete';
export type Mutation = readonly [column: string, mutator: Mutator, value: DatumInput];

/** What a transaction needs of the replica (Idl provides it). */
export interface TransactionTarget {
  readonly schema: DatabaseSchema | null;
  row(table: string, uuid: string): Row | undefined;
  transact(operations: readonly unknown[]): Promise<unknown>;
}

export interface OperationResult {
  /** Rows updated, mutated or deleted. */
  readonly count?: number;
  /** UUID of the inserted row. */
  readonly uuid?: string;
}

export type CommitResult =
  | { readonly status: 'success'; readonly results: readonly OperationResult[]; readonly inserted: ReadonlyMap<string, string> }
  | { readonly status: 'stale'; readonly opIndex: number; readonly details: string }
  | { readonly status: 'error'; readonly error: string; readonly details: string; readonly opIndex: number | null }
  | { readonly status: 'disconnected'; readonly details: string };

interface Operation {
  readonly json: Record<string, unknown>;
  readonly op: string;
}

function isObject(json: unknown): json is Record<string, unknown> {
  return typeof json === 'object' && json !== null && !Array.isArray(json);
}

/** A set or map of any size with the column's element types (for includes/excludes and insert/delete). */
function anySize(type: ColumnType, withValue = true): ColumnType {
  return withValue && type.value ? { key: type.key, value: type.value, min: 0, max: Infinity } : { key: type.key, min: 0, max: Infinity };
}

function isMapValue(value: DatumInput): boolean {
  return value instanceof Map || (typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof NamedUuid));
}

export class Transaction {
  private readonly target: TransactionTarget;
  private readonly schema: DatabaseSchema;
  private readonly operations: Operation[] = [];
  private nextName = 0;
  private committed = false;

  /** Throws when the target has no schema yet (it never connected). */
  constructor(target: TransactionTarget) {
    if (!target.schema) throw new ConnectionClosedError('no database schema yet: the replica never connected');
    this.target = target;
    this.schema = target.schema;
  }

  /** Number of operations so far. */
  get size(): number {
    return this.operations.length;
  }

  /** Inserts a row; the NamedUuid refers to it in later operations (and names it in `inserted`). */
  insert(table: string, row: RowInput, uuidName?: string): NamedUuid {
    const named = new NamedUuid(uuidName ?? `row${this.nextName++}`);
    const schema = tableSchema(this.schema, table);
    this.add('insert', { table, row: encodeRow(schema, row), 'uuid-name': named.name });
    return named;
  }

  /** Sets columns of the row with this UUID. */
  update(table: string, uuid: string | NamedUuid, row: RowInput): this {
    return this.updateWhere(table, [['_uuid', '==', uuid]], row);
  }

  updateWhere(table: string, where: readonly Condition[], row: RowInput): this {
    const schema = tableSchema(this.schema, table);
    return this.add('update', { table, where: this.encodeWhere(schema, where), row: encodeRow(schema, row) });
  }

  /** Mutates columns of the row with this UUID (e.g. ['bridges', 'insert', [uuid]]). */
  mutate(table: string, uuid: string | NamedUuid, mutations: readonly Mutation[]): this {
    const schema = tableSchema(this.schema, table);
    const encoded = mutations.map(([column, mutator, value]) => {
      const type = columnType(schema, column);
      let valueType: ColumnType;
      if (mutator === 'insert') valueType = anySize(type);
      else if (mutator === 'delete') valueType = anySize(type, isMapValue(value));
      else valueType = { key: type.key, min: 1, max: 1 };
      return [column, mutator, this.encode(schema, column, value, valueType)];
    });
    return this.add('mutate', { table, where: this.encodeWhere(schema, [['_uuid', '==', uuid]]), mutations: encoded });
  }

  /** Deletes the row with this UUID. */
  delete(table: string, uuid: string | NamedUuid): this {
    const schema = tableSchema(this.schema, table);
    return this.add('delete', { table, where: this.encodeWhere(schema, [['_uuid', '==', uuid]]) });
  }

  /** A raw "wait": until the `where` rows, limited to `columns`, compare to `rows` as `until` says. */
  wait(
    table: string,
    where: readonly Condition[],
    columns: readonly string[],
    rows: readonly RowInput[],
    options: { until?: '==' | '!='; timeoutMs?: number } = {},
  ): this {
    const schema = tableSchema(this.schema, table);
    for (const column of columns) columnType(schema, column);
    return this.add('wait', {
      table,
      where: this.encodeWhere(schema, where),
      columns,
      until: options.until ?? '==',
      rows: rows.map((row) => encodeRow(schema, row)),
      timeout: options.timeoutMs ?? 0,
    });
  }

  /** Commits only if the row with this UUID still has these column values. */
  guard(table: string, uuid: string, expected: RowInput): this {
    return this.wait(table, [['_uuid', '==', uuid]], Object.keys(expected), [expected]);
  }

  /** Commits only if these columns of the row still hold what the replica has now. */
  verify(table: string, uuid: string, columns: readonly string[]): this {
    const row = this.target.row(table, uuid);
    if (!row) throw new Error(`verify: no row ${uuid} in table ${table} of the replica`);
    const expected: Record<string, Datum> = {};
    for (const column of columns) {
      const value = row[column];
      if (value === undefined) throw new Error(`verify: column ${table}.${column} is not replicated`);
      expected[column] = value;
    }
    return this.guard(table, uuid, expected);
  }

  /** A comment that ovsdb-server writes to its log with the transaction. */
  comment(text: string): this {
    return this.add('comment', { comment: text });
  }

  /** Sends the transaction (once) and reports its outcome; see the top of this file. */
  async commit(): Promise<CommitResult> {
    if (this.committed) throw new Error('transaction already committed');
    this.committed = true;
    let reply: unknown;
    try {
      reply = await this.target.transact(this.operations.map((o) => o.json));
    } catch (err) {
      if (err instanceof ConnectionClosedError) return { status: 'disconnected', details: err.message };
      if (err instanceof JsonRpcError) return serverError(err.error, null);
      throw err;
    }
    return this.outcome(reply);
  }

  private outcome(reply: unknown): CommitResult {
    if (!Array.isArray(reply) || reply.length < this.operations.length) {
      return { status: 'error', error: 'malformed reply', details: `transact reply ${JSON.stringify(reply)}`, opIndex: null };
    }
    const results: OperationResult[] = [];
    const inserted = new Map<string, string>();
    for (let i = 0; i < reply.length; i++) {
      const result: unknown = reply[i];
      if (!isObject(result)) {
        return { status: 'error', error: 'malformed reply', details: `result ${i} is ${JSON.stringify(result)}`, opIndex: i };
      }
      if (result['error'] !== undefined) {
        const index = i < this.operations.length ? i : null;
        if (index !== null && this.operations[index]?.op === 'wait' && result['error'] === 'timed out') {
          return { status: 'stale', opIndex: index, details: String(result['details'] ?? 'wait condition not met') };
        }
        return serverError(result, index);
      }
      const uuid: unknown = Array.isArray(result['uuid']) ? result['uuid'][1] : undefined;
      const count = typeof result['count'] === 'number' ? result['count'] : undefined;
      results.push({ ...(count !== undefined && { count }), ...(isUuid(uuid) && { uuid }) });
      const name = this.operations[i]?.json['uuid-name'];
      if (typeof name === 'string' && isUuid(uuid)) inserted.set(name, uuid);
    }
    return { status: 'success', results, inserted };
  }

  private add(op: string, fields: Record<string, unknown>): this {
    if (this.committed) throw new Error('transaction already committed');
    this.operations.push({ op, json: { op, ...fields } });
    return this;
  }

  private encode(schema: TableSchema, column: string, value: DatumInput, type: ColumnType): unknown {
    try {
      return encodeDatum(value, type);
    } catch (err) {
      throw new OvsdbDatumError(`${schema.name}.${column}: ${(err as Error).message}`);
    }
  }

  private encodeWhere(schema: TableSchema, where: readonly Condition[]): unknown[] {
    return where.map(([column, fn, value]) => {
      const type = columnType(schema, column);
      const set = fn === 'includes' || fn === 'excludes';
      return [column, fn, this.encode(schema, column, value, set ? anySize(type) : type)];
    });
  }
}

function serverError(error: unknown, opIndex: number | null): CommitResult {
  if (isObject(error)) {
    return { status: 'error', error: String(error['error']), details: String(error['details'] ?? ''), opIndex };
  }
  return { status: 'error', error: String(error), details: '', opIndex };
}

/**
 * Sets columns of one row by UUID in a transaction of its own, optionally guarded (committed only
 * if the row still has the `guard` values). A row that no longer exists is reported as 'stale'.
 */
export async function updateRow(
  target: TransactionTarget,
  table: string,
  uuid: string,
  row: RowInput,
  guard?: RowInput,
): Promise<CommitResult> {
  const txn = new Transaction(target);
  if (guard) txn.guard(table, uuid, guard);
  txn.update(table, uuid, row);
  const result = await txn.commit();
  if (result.status === 'success' && result.results[txn.size - 1]?.count === 0) {
    return { status: 'stale', opIndex: txn.size - 1, details: `no row ${uuid} in table ${table}` };
  }
  return result;
}
