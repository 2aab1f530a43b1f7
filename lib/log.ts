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
 *
 * Lines a remote peer can cause go through `limited(kind)`, which rate-limits them per kind as
 * Open vSwitch's VLOG_*_RL does (lib/log-rate-limit.ts): the limiters belong to the tree, so every
 * connection and bridge logging through it shares them, and a summary line
 * ("Dropped N log messages in last S seconds ...", field `limited`: the kind) precedes the next
 * line that passes after some were dropped.
 */
import pino from 'pino';
import { droppedText, LOG_RATE_LIMITS, LogRateLimiter, type LogKind } from './log-rate-limit.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogFields = Readonly<Record<string, unknown>>;

/** Writing lines at each level. */
export interface LineWriter {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

export interface Logger extends LineWriter {
  /** The same logger with its lines rate-limited as `kind` (LOG_RATE_LIMITS), shared by the whole tree. */
  limited(kind: LogKind): LineWriter;
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

/** What a root logger and all its children share: the level and the rate limiters. */
interface TreeLevel {
  level: LogLevel | 'off';
  min: number;
  /** Milliseconds, for the rate limiters. */
  readonly now: () => number;
  /** Where summaries of dropped lines go (the root, without any child's fields). */
  readonly root: pino.Logger;
  readonly limiters: Map<LogKind, LogRateLimiter>;
}

/** The tree's limiter for `kind`, made on first use. */
function limiterOf(tree: TreeLevel, kind: LogKind): LogRateLimiter {
  let limiter = tree.limiters.get(kind);
  if (!limiter) tree.limiters.set(kind, (limiter = new LogRateLimiter(LOG_RATE_LIMITS[kind])));
  return limiter;
}

/** A logger's lines through the tree's limiter of one kind. */
class LimitedWriter implements LineWriter {
  readonly #logger: PinoLogger;
  readonly #tree: TreeLevel;
  readonly #kind: LogKind;

  constructor(logger: PinoLogger, tree: TreeLevel, kind: LogKind) {
    this.#logger = logger;
    this.#tree = tree;
    this.#kind = kind;
  }

  debug(msg: string, fields?: LogFields): void {
    if (this.#admit('debug')) this.#logger.debug(msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    if (this.#admit('info')) this.#logger.info(msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    if (this.#admit('warn')) this.#logger.warn(msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    if (this.#admit('error')) this.#logger.error(msg, fields);
  }

  /** vlog_should_drop: a disabled level costs nothing; a line that passes after drops is preceded by their summary. */
  #admit(level: LogLevel): boolean {
    const tree = this.#tree;
    if (tree.min > LEVEL_VALUE[level]) return false;
    const verdict = limiterOf(tree, this.#kind).admit(tree.now());
    if (!verdict.pass) return false;
    if (verdict.summary) tree.root[level]({ limited: this.#kind }, droppedText(verdict.summary));
    return true;
  }
}

class PinoLogger implements Logger {
  readonly #pino: pino.Logger;
  readonly #tree: TreeLevel;
  readonly #limited = new Map<LogKind, LimitedWriter>();

  constructor(p: pino.Logger, tree: TreeLevel) {
    this.#pino = p;
    this.#tree = tree;
  }

  limited(kind: LogKind): LineWriter {
    let writer = this.#limited.get(kind);
    if (!writer) this.#limited.set(kind, (writer = new LimitedWriter(this, this.#tree, kind)));
    return writer;
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
  /** The clock of the rate limiters, in milliseconds (tests); default Date.now. */
  readonly now?: () => number;
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
  const base = options.fields ? root.child(jsonFriendly(options.fields) as pino.Bindings) : root;
  return new PinoLogger(base, { level, min: LEVEL_VALUE[level], now: options.now ?? Date.now, root: base, limiters: new Map() });
}

/** A logger that drops everything (unit tests). */
export const silentLogger: Logger = (() => {
  const p = pino({ level: 'silent' });
  return new PinoLogger(p, { level: 'error', min: Infinity, now: Date.now, root: p, limiters: new Map() });
})();
