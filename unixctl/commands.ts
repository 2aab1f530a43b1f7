/**
 * The commands every Open vSwitch daemon answers besides list-commands and version, for a daemon
 * to register with callbacks into its own parts (nothing here knows the logger or the switch):
 *
 * - `exit [--cleanup]` (ovs-vswitchd's usage): replies, then calls back. The callback runs on the
 *   next turn of the event loop, after the empty reply has been written, so ovs-appctl exits 0.
 * - `vlog/list`, `vlog/set`, `vlog/reopen` (lib/vlog.c). ofswitch has one logger with one level,
 *   writing to the console (stderr): vlog/list shows one module (named by the daemon) in OVS's
 *   table, with syslog and file OFF. vlog/set parses specs exactly as OVS does
 *   (`[module][:destination][:level]` in any order, words split on space, comma, colon or tab,
 *   ANY for all, level dbg when omitted, no argument meaning everything to dbg) with OVS's error
 *   texts. Deliberate differences: setting a level other than off for syslog or file is refused
 *   (there is no such output), PATTERN and FACILITY specs are refused, and `emer` means off (no
 *   ofswitch message is an emergency), so vlog/list then shows OFF.
 * - `memory/show`: OVS prints one line of `key:value` pairs sorted by key (lib/memory.c); the
 *   default reports the process's memory in kB in that form.
 */
import { UnixctlError, type UnixctlRegistry } from './server.js';

/** Registers `exit [--cleanup]`; `onExit(cleanup)` runs after the reply has gone out. */
export function registerExitCommand(registry: UnixctlRegistry, onExit: (cleanup: boolean) => void): void {
  registry.register('exit', '[--cleanup]', 0, 1, (args) => {
    const cleanup = args[0] === '--cleanup';
    setImmediate(() => onExit(cleanup));
  });
}

/** The logger's levels as the hooks speak them. */
export type LoggerLevel = 'debug' | 'info' | 'warn' | 'error' | 'off';

export interface VlogHooks {
  /** The module name vlog/list shows and vlog/set accepts. */
  readonly module: string;
  /** The console level now. */
  level(): LoggerLevel;
  setLevel(level: LoggerLevel): void;
}

/** OVS's level names, most to least severe after off, and what each means for the logger. */
const OVS_LEVELS = { off: 'off', emer: 'off', err: 'error', warn: 'warn', info: 'info', dbg: 'debug' } as const satisfies Record<string, LoggerLevel>;
type OvsLevel = keyof typeof OVS_LEVELS;
const DISPLAY: Record<LoggerLevel, string> = { off: 'OFF', error: 'ERR', warn: 'WARN', info: 'INFO', debug: 'DBG' };
const DESTINATIONS = ['console', 'syslog', 'file'] as const;
type Destination = (typeof DESTINATIONS)[number];

function ovsLevel(word: string): OvsLevel | undefined {
  const w = word.toLowerCase();
  return Object.hasOwn(OVS_LEVELS, w) ? (w as OvsLevel) : undefined;
}

function destination(word: string): Destination | undefined {
  return DESTINATIONS.find((d) => d === word.toLowerCase());
}

/** One vlog/set argument applied; an error text when it is refused (as OVS words it where OVS has one). */
function applySpec(spec: string, hooks: VlogHooks): string | null {
  const words = spec.split(/[ ,:\t]+/).filter((w) => w !== '');
  const first = words[0]?.toLowerCase();
  if (first === 'pattern') {
    const dest = words[1];
    if (dest === undefined) return 'missing destination';
    if (dest.toLowerCase() !== 'any' && !destination(dest)) return `unknown destination "${dest}"`;
    return 'log patterns cannot be changed: ofswitch writes JSON lines';
  }
  if (first === 'facility') return 'ofswitch does not log to syslog';
  let dest: Destination | undefined;
  let level: OvsLevel | undefined;
  let module: string | undefined;
  for (const word of words) {
    if (word.toLowerCase() === 'any') continue;
    if (destination(word)) {
      if (dest) return 'cannot specify multiple destinations';
      dest = destination(word);
    } else if (ovsLevel(word)) {
      if (level) return 'cannot specify multiple levels';
      level = ovsLevel(word);
    } else if (word.toLowerCase() === hooks.module.toLowerCase()) {
      if (module) return 'cannot specify multiple modules';
      module = word;
    } else {
      return `no destination, level, or module "${word}"`;
    }
  }
  const target = OVS_LEVELS[level ?? 'dbg'];
  if ((dest === 'syslog' || dest === 'file') && target !== 'off') return `ofswitch logs to the console only: no ${dest} level to set`;
  if (dest !== 'syslog' && dest !== 'file') hooks.setLevel(target);
  return null;
}

/** vlog/list's table (OVS's layout). */
export function vlogList(hooks: VlogHooks): string {
  const row = `${hooks.module.padEnd(16)}  ${DISPLAY[hooks.level()].padStart(4)}       ${'OFF'.padStart(4)}       ${'OFF'.padStart(4)}\n`;
  return '                 console    syslog    file\n' + '                 -------    ------    ------\n' + row;
}

/** Registers vlog/list, vlog/set and vlog/reopen over `hooks`. */
export function registerVlogCommands(registry: UnixctlRegistry, hooks: VlogHooks): void {
  registry.register('vlog/list', '', 0, 0, () => vlogList(hooks));
  registry.register('vlog/set', '{spec | PATTERN:destination:pattern}', 0, Infinity, (args) => {
    if (args.length === 0) hooks.setLevel('debug');
    for (const spec of args) {
      const error = applySpec(spec, hooks);
      if (error !== null) throw new UnixctlError(error);
    }
  });
  // OVS's answer when it has no log file, which is always ofswitch's case.
  registry.register('vlog/reopen', '', 0, 0, () => {
    throw new UnixctlError('Logging to file not configured');
  });
}

/** OVS's memory report line: `key:value` pairs sorted by key, space separated. */
export function formatMemoryReport(values: Readonly<Record<string, number>>): string {
  return Object.keys(values)
    .sort()
    .map((k) => `${k}:${values[k]}`)
    .join(' ') + '\n';
}

/** This process's memory, in kB. */
export function processMemoryReport(): string {
  const m = process.memoryUsage();
  const kB = (bytes: number): number => Math.round(bytes / 1024);
  return formatMemoryReport({
    'rss-kB': kB(m.rss),
    'heap-total-kB': kB(m.heapTotal),
    'heap-used-kB': kB(m.heapUsed),
    'external-kB': kB(m.external),
    'array-buffers-kB': kB(m.arrayBuffers),
  });
}

/** Registers memory/show, answered by `show` (default: processMemoryReport). */
export function registerMemoryCommand(registry: UnixctlRegistry, show: () => string | Promise<string> = processMemoryReport): void {
  registry.register('memory/show', '', 0, 0, () => show());
}
