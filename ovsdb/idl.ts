/**
 * A local replica of an OVSDB database, like OVS's lib/ovsdb-idl.c: the consumer reads tables from
 * memory, never from the wire, and is told with a 'change' event (and a rising `seqno`) that
 * something changed; being level-triggered, it then reads the whole replica it cares about.
 *
 *   idle --start()--> connecting --get_schema, monitor, initial rows--> connected
 *                        ^   |                                             |
 *                        |   +--failure--> backoff <--connection lost------+
 *                        +-----timer--------+          (close() from any state: stopped)
 *
 * connecting: opens the stream, fetches the schema and checks that every table and column asked
 * for exists (a missing one is an error logged at each attempt, kept in `lastError`), then sends
 * `monitor` for exactly those columns. The initial rows go into a fresh Replica which replaces the
 * previous one wholesale, so what a reconnection missed cannot linger. Then 'change'.
 *
 * connected: "update" notifications are applied as they come, each followed by 'change'. The
 * server sends the updates a transaction causes before its reply to `transact`, so when a
 * transaction of ours resolves, the replica already shows its effect.
 *
 * backoff: after a failed attempt or a lost connection the wait is 1 s, doubling up to 8 s (OVS's
 * reconnect defaults), and back to 1 s once a monitor is in place. Meanwhile the last replica stays
 * readable; transactions fail at once (Transaction reports 'disconnected').
 *
 * An update that does not fit the replica or the schema, a canceled monitor, or a protocol error
 * on the stream closes the connection, logged with its reason; reconnecting resynchronises.
 */
import { EventEmitter } from 'eventemitter3';
import type { Row } from './datum.js';
import { ConnectionClosedError, JsonRpcConnection, JsonRpcProtocolError, parseRemote } from './jsonrpc.js';
import { silentOvsdbLogger, type OvsdbLogger } from './logger.js';
import { Replica, type MonitoredTable } from './replica.js';
import { columnType, parseSchema, tableSchema, type DatabaseSchema } from './schema.js';

export const DEFAULT_DATABASE = 'Open_vSwitch';
export const BACKOFF_MIN_MS = 1000;
export const BACKOFF_MAX_MS = 8000;
/** The json-value naming our monitor in "update" notifications. */
const MONITOR_ID = 'idl';

export type IdlState = 'idle' | 'connecting' | 'connected' | 'backoff' | 'stopped';

export interface IdlOptions {
  /** `unix:PATH` or `tcp:IP:PORT`. */
  readonly remote: string;
  /** Default Open_vSwitch. */
  readonly database?: string;
  /** The tables to replicate, each with the columns wanted or 'all'. */
  readonly tables: Readonly<Record<string, readonly string[] | 'all'>>;
  readonly log?: OvsdbLogger;
  /** Inactivity probe interval (see jsonrpc.ts); default 5 s, 0 disables. */
  readonly probeIntervalMs?: number;
  readonly maxMessageBytes?: number;
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

export type IdlEvents = {
  /** The replica changed; `seqno` is the new change sequence number. */
  change: [seqno: number];
  state: [state: IdlState];
};

export class Idl extends EventEmitter<IdlEvents> {
  readonly remote: string;
  readonly database: string;
  private readonly options: IdlOptions;
  private readonly log: OvsdbLogger;
  private stateValue: IdlState = 'idle';
  private seqnoValue = 0;
  private schemaValue: DatabaseSchema | null = null;
  private lastErrorValue: Error | null = null;
  private replica: Replica | null = null; // the last one in sync; kept while disconnected
  private conn: JsonRpcConnection | null = null;
  private live: Replica | null = null; // the replica `conn` updates, once its monitor is in place
  private early: unknown[][] | null = null; // "update" params that came before the monitor reply was handled
  private backoffMs: number;
  private timer: NodeJS.Timeout | null = null;

  /** Throws OvsdbRemoteError for a remote that is not `unix:PATH` or `tcp:IP:PORT`. */
  constructor(options: IdlOptions) {
    super();
    parseRemote(options.remote);
    this.options = options;
    this.remote = options.remote;
    this.database = options.database ?? DEFAULT_DATABASE;
    this.log = options.log ?? silentOvsdbLogger;
    this.backoffMs = options.minBackoffMs ?? BACKOFF_MIN_MS;
  }

  get state(): IdlState {
    return this.stateValue;
  }

  /** Rises by one at every change of the replica. */
  get seqno(): number {
    return this.seqnoValue;
  }

  /** The schema of the current or last connection; null before the first. */
  get schema(): DatabaseSchema | null {
    return this.schemaValue;
  }

  /** Why the last attempt or connection ended (null before any failure). */
  get lastError(): Error | null {
    return this.lastErrorValue;
  }

  start(): void {
    if (this.stateValue === 'idle') void this.connect();
  }

  /** Ends everything for good; the replica stays readable. */
  close(): void {
    if (this.stateValue === 'stopped') return;
    this.setState('stopped');
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const conn = this.conn;
    this.conn = null;
    this.live = null;
    conn?.close();
  }

  /** The rows of a monitored table by UUID (empty before the first connection). */
  table(name: string): ReadonlyMap<string, Row> {
    if (!(name in this.options.tables)) throw new Error(`table ${name} is not monitored`);
    return this.replica?.tables.get(name) ?? new Map();
  }

  row(table: string, uuid: string): Row | undefined {
    return this.table(table).get(uuid);
  }

  /** The first row of a table, for tables of one row such as Open_vSwitch. */
  first(table: string): Row | undefined {
    for (const row of this.table(table).values()) return row;
    return undefined;
  }

  /** Sends `transact` with these operations; the raw result array. Rejects when not connected. */
  async transact(operations: readonly unknown[]): Promise<unknown> {
    const conn = this.conn;
    if (!conn || this.stateValue !== 'connected') {
      throw new ConnectionClosedError(`not connected to ${this.remote} (${this.stateValue})`);
    }
    return conn.request('transact', [this.database, ...operations]);
  }

  /** Resolves once `predicate()` holds, checked now and after each change or state change. */
  until(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!predicate()) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`condition not met within ${timeoutMs} ms (state ${this.stateValue}, seqno ${this.seqnoValue})`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.off('change', check);
        this.off('state', check);
      };
      this.on('change', check);
      this.on('state', check);
      check();
    });
  }

  private setState(state: IdlState): void {
    if (this.stateValue === state) return;
    this.stateValue = state;
    this.emit('state', state);
  }

  private changed(): void {
    this.seqnoValue++;
    this.emit('change', this.seqnoValue);
  }

  private async connect(): Promise<void> {
    this.setState('connecting');
    let conn: JsonRpcConnection;
    try {
      conn = await JsonRpcConnection.open(this.remote, {
        log: this.log,
        probeIntervalMs: this.options.probeIntervalMs,
        maxMessageBytes: this.options.maxMessageBytes,
      });
    } catch (err) {
      if (this.stateValue === 'connecting') this.retry(err as Error, 'info', 'OVSDB server not reachable');
      return;
    }
    if (this.stateValue !== 'connecting') return conn.close();
    this.conn = conn;
    conn.on('close', (err) => {
      if (this.conn !== conn) return;
      const error = err ?? new ConnectionClosedError(`${this.remote}: connection closed`);
      this.conn = null;
      this.live = null;
      const expected = error instanceof ConnectionClosedError;
      this.retry(error, expected ? 'warn' : 'error', 'OVSDB connection lost');
    });
    conn.on('notification', (method, params) => this.notification(conn, method, params));
    let replica: Replica;
    let schema: DatabaseSchema;
    try {
      schema = parseSchema(await conn.request('get_schema', [this.database]));
      const monitored = this.monitoredTables(schema);
      const requests: Record<string, unknown> = {};
      for (const [name, table] of monitored) requests[name] = { columns: table.columns };
      // Updates may follow the reply in the same chunk, before this function resumes: keep them.
      this.early = [];
      const initial = await conn.request('monitor', [this.database, MONITOR_ID, requests]);
      replica = new Replica(monitored);
      replica.apply(initial);
      for (const params of this.early ?? []) this.applyUpdate(replica, params);
    } catch (err) {
      return conn.close(err as Error); // a no-op if the connection is what failed
    } finally {
      this.early = null;
    }
    if (this.conn !== conn) return;
    this.schemaValue = schema;
    this.replica = replica;
    this.live = replica;
    this.backoffMs = this.options.minBackoffMs ?? BACKOFF_MIN_MS;
    this.log.info('OVSDB replica in sync', { remote: this.remote, database: this.database });
    this.setState('connected');
    this.changed();
  }

  /** Checks the wanted tables and columns against the server's schema. */
  private monitoredTables(schema: DatabaseSchema): Map<string, MonitoredTable> {
    const monitored = new Map<string, MonitoredTable>();
    for (const [name, wanted] of Object.entries(this.options.tables)) {
      const table = tableSchema(schema, name);
      const all = [...table.columns.keys()].filter((c) => c !== '_uuid' && c !== '_version');
      const columns = wanted === 'all' ? all : wanted.filter((c) => c !== '_uuid');
      for (const column of columns) columnType(table, column);
      monitored.set(name, { schema: table, columns });
    }
    return monitored;
  }

  /** Applies "update"s; anything wrong with one closes the connection (the consumer's errors are its own). */
  private notification(conn: JsonRpcConnection, method: string, params: readonly unknown[]): void {
    if (this.conn !== conn) return;
    if (method === 'monitor_canceled') {
      return conn.close(new ConnectionClosedError(`${this.remote}: the server canceled our monitor`));
    }
    if (method !== 'update') return this.log.debug('OVSDB notification ignored', { remote: this.remote, method });
    if (!this.live) {
      if (this.early) this.early.push([...params]);
      else conn.close(new JsonRpcProtocolError(`${this.remote}: "update" before any monitor`));
      return;
    }
    try {
      this.applyUpdate(this.live, params);
    } catch (err) {
      return conn.close(err as Error);
    }
    this.changed();
  }

  private applyUpdate(replica: Replica, params: readonly unknown[]): void {
    if (params[0] !== MONITOR_ID) {
      throw new JsonRpcProtocolError(`${this.remote}: "update" for no monitor of ours: ${JSON.stringify(params[0])}`);
    }
    replica.apply(params[1]);
  }

  private retry(err: Error, level: 'info' | 'warn' | 'error', msg: string): void {
    if (this.stateValue === 'stopped') return;
    this.lastErrorValue = err;
    const wait = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.options.maxBackoffMs ?? BACKOFF_MAX_MS);
    this.log[level](msg, { remote: this.remote, err: err.message, retryInMs: wait });
    this.setState('backoff');
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.connect();
    }, wait);
  }
}
