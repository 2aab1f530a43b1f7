/**
 * Structured log lines: one JSON object per line on stderr, `{"level","time",...fields,"msg"}`,
 * written by pino.
 *
 * Every module takes a Logger rather than writing to the console, so tests can capture lines and
 * the command can raise or lower the level in one place. The Logger is a thin layer over pino
 * that keeps the project's call shape, `log.info(msg, fields)`, and adds two things pino leaves
 * to its users:
 * - one level for a whole tree of loggers: `setLevel` on any of them (as `ovs-appctl vlog/set`
 *   will) changes what every child already made (per connection, per controller) writes, since
 *   pino children only copy their parent's level when they are made;
 * - fields made JSON-friendly before pino sees them: bigint and Uint8Array as hex, an Error as
 *   pino's error serialiser gives it (type, message, stack) whatever its key.
 * A disabled level costs one comparison; `debugEnabled` lets hot paths skip building fields too.
 */
import pino from 'pino';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** Whether debug lines are written (to skip building their fields on hot paths). */
  readonly debugEnabled: boolean;
  /** The level of this logger's whole tree (it, its parent and its children). */
  readonly level: LogLevel | 'off';
  /** Sets the level of this logger's whole tree, children made earlier included ('off': nothing is written). */
  setLevel(level: LogLevel | 'off'): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

/** pino's numbers for our levels (pino.levels.values). */
const LEVEL_VALUE: Readonly<Record<LogLevel, number>> = { debug: 20, info: 30, warn: 40, error: 50 };

/** bigint and Uint8Array values made JSON-friendly (hex), Errors with their stack, at any depth. */
export function jsonFriendly(value: unknown, seen: WeakSet<object> = new WeakSet()): unknown {
  if (typeof value === 'bigint') return `0x${value.toString(16)}`;
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
  if (value instanceof Error) return pino.stdSerializers.err(value);
  if (seen.has(value)) return '[Circular]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => jsonFriendly(v, seen));
  if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = jsonFriendly(v, seen);
  return out;
}

/** The level shared by a root logger and all its children. */
interface TreeLevel {
  level: LogLevel | 'off';
  min: number;
}

class PinoLogger implements Logger {
  readonly #pino: pino.Logger;
  readonly #tree: TreeLevel;

  constructor(p: pino.Logger, tree: TreeLevel) {
    this.#pino = p;
    this.#tree = tree;
  }

  debug(msg: string, fields?: LogFields): void {
    if (this.#tree.min <= LEVEL_VALUE.debug) this.#pino.debug(jsonFriendly(fields ?? {}) as object, msg);
  }
  info(msg: string, fields?: LogFields): void {
    if (this.#tree.min <= LEVEL_VALUE.info) this.#pino.info(jsonFriendly(fields ?? {}) as object, msg);
  }
  warn(msg: string, fields?: LogFields): void {
    if (this.#tree.min <= LEVEL_VALUE.warn) this.#pino.warn(jsonFriendly(fields ?? {}) as object, msg);
  }
  error(msg: string, fields?: LogFields): void {
    if (this.#tree.min <= LEVEL_VALUE.error) this.#pino.error(jsonFriendly(fields ?? {}) as object, msg);
  }
  get debugEnabled(): boolean {
    return this.#tree.min <= LEVEL_VALUE.debug;
  }
  get level(): LogLevel | 'off' {
    return this.#tree.level;
  }
  setLevel(level: LogLevel | 'off'): void {
    this.#tree.level = level;
    this.#tree.min = level === 'off' ? Infinity : LEVEL_VALUE[level];
  }
  child(fields: LogFields): Logger {
    return new PinoLogger(this.#pino.child(jsonFriendly(fields) as pino.Bindings), this.#tree);
  }
}

export interface LoggerOptions {
  /** Default info. */
  readonly level?: LogLevel;
  /** Receives each line without its newline, synchronously (tests); default: stderr. */
  readonly write?: (line: string) => void;
  /** Fields on every line. */
  readonly fields?: LogFields;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const { write } = options;
  const destination: pino.DestinationStream = write
    ? { write: (line: string) => write(line.endsWith('\n') ? line.slice(0, -1) : line) }
    : // synchronous, so that nothing is lost when the command exits right after a line
      pino.destination({ dest: 2, sync: true });
  const root = pino(
    {
      // the tree's level (TreeLevel) filters; pino passes on everything from debug up
      level: 'debug',
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // jsonFriendly has serialised Errors already, under any key; pino's own `err` serialiser
      // would take that result for an error again (type "Object")
      serializers: { err: (value: unknown) => value },
    },
    destination,
  );
  const level = options.level ?? 'info';
  const logger = new PinoLogger(root, { level, min: LEVEL_VALUE[level] });
  return options.fields ? logger.child(options.fields) : logger;
}

/** A logger that drops everything (unit tests). */
export const silentLogger: Logger = new PinoLogger(pino({ level: 'silent' }), { level: 'error', min: Infinity });
