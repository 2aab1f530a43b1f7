/**
 * Structured log lines: one JSON object per line on stderr, `{"time","level","msg",...fields}`.
 *
 * Every module takes a Logger rather than writing to the console, so tests can capture lines and
 * the command can raise or lower the level in one place.
 */

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
  /** A logger that adds `fields` to every line (and shares this one's level). */
  child(fields: LogFields): Logger;
  /**
   * Changes the level ('off': nothing is written). A logger and every child derived from it share
   * one level, so this changes it for all of them (the control socket's vlog/set).
   */
  setLevel(level: LogLevel | 'off'): void;
}

/** bigint and Uint8Array values made JSON-friendly (hex). */
function jsonValue(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return `0x${value.toString(16)}`;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (value instanceof Error) return value.message;
  return value;
}

/** The level a logger and its children share: the index of the lowest level written. */
interface SharedLevel {
  min: number;
}

export function createLogger(
  options: { level?: LogLevel; write?: (line: string) => void; fields?: LogFields } = {},
  shared: SharedLevel = { min: LOG_LEVELS.indexOf(options.level ?? 'info') },
): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const base = options.fields ?? {};
  const emit = (level: LogLevel, msg: string, fields?: LogFields): void => {
    if (LOG_LEVELS.indexOf(level) < shared.min) return;
    write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...base, ...fields }, jsonValue));
  };
  return {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    get debugEnabled() {
      return shared.min === 0;
    },
    child: (fields) => createLogger({ ...options, fields: { ...base, ...fields } }, shared),
    setLevel: (level) => {
      shared.min = level === 'off' ? LOG_LEVELS.length : LOG_LEVELS.indexOf(level);
    },
  };
}

/** A logger that drops everything (unit tests). */
export const silentLogger: Logger = createLogger({ write: () => {} });
