/**
 * ofswitch as ovs-vswitchd, for tests that drive it the way an operator drives Open vSwitch: a real
 * ovsdb-server (ovsdb-server.ts) and the built `ofswitch --ovsdb unix:DIR/db.sock --rundir DIR`
 * as a child process, both in one fresh directory DIR that is OVS_RUNDIR for everything, as
 * /run/openvswitch is for Open vSwitch. So the stock tools find it with no options at all:
 *
 *   const sw = await startOfswitchDaemon(t);
 *   await sw.vsctl(['add-br', br]);                 // plain ovs-vsctl: waits for cur_cfg (--timeout=30)
 *   await sw.ofctl(['dump-flows', br]);             // ovs-ofctl by bridge name (DIR/BR.mgmt)
 *   await sw.appctl(['fdb/show', br]);              // ovs-appctl -t ofswitch (DIR/ofswitch.pid)
 *   const mark = sw.mark(); ...; sw.logsSince(mark) // the daemon's log lines (JSON, as written)
 *   await sw.kill('SIGKILL'); await sw.restart();   // crash, and start again on the same database
 *
 * `vsctl`, `ofctl` and `appctl` resolve with stdout and reject with the command and its stderr on
 * a non-zero exit; the `try*` forms resolve with { code, stdout, stderr } whatever the exit.
 *
 * Teardown (also after a failed or timed-out test): the daemon is stopped (SIGTERM, SIGKILL after
 * STOP_GRACE_MS), interfaces it left behind are removed (internal ports are veth pairs in the root
 * namespace, which a killed daemon cannot delete), then ovsdb-server is stopped and DIR removed.
 * If the test process itself exits first, the daemon is killed and this process's leftover
 * internal ports removed synchronously. When the test failed, the daemon's last log lines are
 * printed as a comment.
 *
 * Interface and bridge names must come from netns.ts `uniqueName()`: internal ports live in the
 * root namespace, shared with every other test process.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Test } from 'tap';
import { CLI, STOP_GRACE_MS, ensureBuilt } from './ofswitch-process.js';
import { withoutLoadWarnings } from './netns.js';
import { startOvsdbServer, type CommandResult, type OvsdbServer } from './ovsdb-server.js';

const execFileAsync = promisify(execFile);

export interface DaemonVsctlOptions {
  /** Add --no-wait (default false: ovs-vsctl waits until the daemon acknowledges, as an operator's does). */
  readonly noWait?: boolean;
  /**
   * --timeout in seconds (default 30: ovs-vsctl returns as soon as the daemon acknowledges, which
   * takes well under a second on a quiet machine; the deadline is for a loaded one).
   */
  readonly timeoutSec?: number;
}

/** One parsed log line of the daemon (pino JSON): level, msg and the fields. */
export interface DaemonLogRecord {
  readonly level: string;
  readonly msg: string;
  readonly [field: string]: unknown;
}

export interface OfswitchDaemon {
  /** The run directory: OVS_RUNDIR, the database, sockets, pid files. */
  readonly dir: string;
  /** OVS_RUNDIR / OVS_DBDIR / OVS_LOGDIR = dir, for commands a test runs itself. */
  readonly env: Readonly<Record<string, string>>;
  readonly db: OvsdbServer;
  /** The running daemon process (changes on restart). */
  readonly child: ChildProcess;
  /** ovs-vsctl ARGS (OVS_RUNDIR=dir, --timeout=30, waiting for the daemon unless noWait). */
  vsctl(args: readonly string[], options?: DaemonVsctlOptions): Promise<string>;
  tryVsctl(args: readonly string[], options?: DaemonVsctlOptions): Promise<CommandResult>;
  /** ovs-ofctl ARGS; name the bridge as an operator does (`['show', 'br0']`). */
  ofctl(args: readonly string[]): Promise<string>;
  tryOfctl(args: readonly string[]): Promise<CommandResult>;
  /** ovs-appctl -t ofswitch ARGS. */
  appctl(args: readonly string[]): Promise<string>;
  tryAppctl(args: readonly string[]): Promise<CommandResult>;
  /** Every log line the daemon wrote (all runs, restarts included), as written. */
  logs(): readonly string[];
  /** A position in the log, for logsSince. */
  mark(): number;
  /** The log lines written since `mark`, parsed (lines that are not JSON come as level "raw"). */
  logsSince(mark: number): DaemonLogRecord[];
  /** Resolves with the first record since `since` (default: the start) that `match` accepts. */
  waitForLog(match: (r: DaemonLogRecord) => boolean, options?: { since?: number; timeoutMs?: number }): Promise<DaemonLogRecord>;
  /** Sends `signal` (default SIGTERM) and resolves with the exit code, or the signal's name. */
  kill(signal?: NodeJS.Signals): Promise<number | string>;
  /** Whether the daemon process is running. */
  running(): boolean;
  /** Stops the daemon when it runs (SIGTERM), then starts it again on the same database and directory. */
  restart(): Promise<void>;
}

export interface OfswitchDaemonOptions {
  /** ofswitch's --log-level (default info). */
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** How long to wait for the daemon to be connected (default 10 s). */
  readonly readyTimeoutMs?: number;
  /** More ofswitch options (e.g. `--enable-dummy=override`). */
  readonly args?: readonly string[];
}

const livingChildren = new Set<ChildProcess>();
let exitHooked = false;

/** The switch ends of internal ports this process's daemons made: `ofl-` + a uniqueName. */
function leftoverInternalPeers(): string[] {
  const prefix = `ofl-of${process.pid}`;
  let names: string[];
  try {
    names = readdirSync('/sys/class/net');
  } catch {
    return [];
  }
  // The character after the pid must not be a digit: pid 1234 must not take pid 12345's ports.
  return names.filter((n) => n.startsWith(prefix) && !/[0-9]/.test(n.charAt(prefix.length)));
}

function removeLeftoversSync(): void {
  for (const name of leftoverInternalPeers()) {
    try {
      execFileSync('ip', ['link', 'del', name], { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
  }
}

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.once('exit', () => {
    for (const c of livingChildren) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
    removeLeftoversSync();
  });
}

async function runTool(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<CommandResult> {
  try {
    const { stdout, stderr } = await execFileAsync(file, args, { env, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr: withoutLoadWarnings(stderr) };
  } catch (err) {
    const e = err as { code?: unknown; signal?: string | null; stdout?: string; stderr?: string; message: string };
    if (typeof e.code !== 'number') throw new Error(`${file} ${args.join(' ')} did not run to an exit status: ${e.signal ?? e.message}`);
    return { code: e.code, stdout: e.stdout ?? '', stderr: withoutLoadWarnings(e.stderr ?? '') };
  }
}

async function mustRunTool(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<string> {
  const r = await runTool(file, args, env);
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')} exited ${r.code}: ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

function parseRecord(line: string): DaemonLogRecord {
  try {
    const parsed = JSON.parse(line) as Record<string, unknown>;
    if (parsed && typeof parsed === 'object') return { ...parsed, level: String(parsed['level']), msg: String(parsed['msg'] ?? '') };
  } catch {
    /* not JSON: below */
  }
  return { level: 'raw', msg: line };
}

export async function startOfswitchDaemon(t: Test, options: OfswitchDaemonOptions = {}): Promise<OfswitchDaemon> {
  ensureBuilt();
  hookExit();
  const dir = mkdtempSync(join(tmpdir(), 'ofswitch-daemon-'));
  const env = { OVS_RUNDIR: dir, OVS_DBDIR: dir, OVS_LOGDIR: dir };
  const fullEnv = { ...process.env, ...env };
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let child: ChildProcess | null = null;
  let exited: Promise<number | string> = Promise.resolve(0);

  // Registered first so that it runs last (tap runs teardowns last-in first-out): after the
  // daemon and ovsdb-server are gone.
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const db = await startOvsdbServer(t, { dir });

  const launch = (): void => {
    const proc = spawn(process.execPath, [CLI, '--ovsdb', db.remote, '--rundir', dir, '--log-level', options.logLevel ?? 'info', ...(options.args ?? [])], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: fullEnv,
    });
    child = proc;
    livingChildren.add(proc);
    let partial = '';
    const take = (d: Buffer): void => {
      partial += d.toString();
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      for (const l of parts) if (l !== '') lines.push(l);
      for (const w of [...waiters]) w();
    };
    proc.stderr?.on('data', take);
    proc.stdout?.on('data', take);
    exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        livingChildren.delete(proc);
        if (partial !== '') lines.push(partial);
        partial = '';
        resolve(code ?? signal ?? 'unknown');
        for (const w of [...waiters]) w();
      });
    });
  };

  const isRunning = (): boolean => child !== null && livingChildren.has(child);

  const waitForLog = (
    match: (r: DaemonLogRecord) => boolean,
    o: { since?: number; timeoutMs?: number } = {},
  ): Promise<DaemonLogRecord> =>
    new Promise((resolve, reject) => {
      let next = o.since ?? 0;
      const timeoutMs = o.timeoutMs ?? 30_000; // as ofswitch-process.ts: start-up under load took over 10 s
      const check = (): void => {
        for (; next < lines.length; next++) {
          const r = parseRecord(lines[next] ?? '');
          if (match(r)) return finish(null, r);
        }
        if (!isRunning()) finish(new Error(`ofswitch exited before the awaited log line:\n${lines.slice(-30).join('\n')}`));
      };
      const timer = setTimeout(
        () => finish(new Error(`ofswitch did not log the awaited line within ${timeoutMs} ms:\n${lines.slice(-30).join('\n')}`)),
        timeoutMs,
      );
      const finish = (err: Error | null, r?: DaemonLogRecord): void => {
        clearTimeout(timer);
        waiters.delete(check);
        if (err) reject(err);
        else resolve(r as DaemonLogRecord);
      };
      waiters.add(check);
      check();
    });

  /** Starts the daemon and waits until its control socket answers and its replica is in sync. */
  const start = async (): Promise<void> => {
    const since = lines.length;
    launch();
    await waitForLog((r) => r.msg === 'database connection' && r['state'] === 'connected', {
      since,
      timeoutMs: options.readyTimeoutMs ?? 30_000,
    });
    // The pid file and control socket exist before the database connection is made (run.ts).
    await mustRunTool('ovs-appctl', ['-t', 'ofswitch', 'version'], fullEnv);
  };

  const kill = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | string> => {
    const proc = child;
    if (proc && isRunning()) {
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_GRACE_MS);
      const status = await exited;
      clearTimeout(timer);
      return status;
    }
    return exited;
  };

  t.teardown(async () => {
    // Never throws: a throwing teardown would make tap skip the ones after it (ovsdb-server's).
    try {
      await kill('SIGTERM');
    } catch {
      /* gone already */
    }
    for (const name of leftoverInternalPeers()) {
      if (existsSync(join('/sys/class/net', name))) await runTool('ip', ['link', 'del', name], process.env).catch(() => undefined);
    }
    if (t.passing() === false) t.comment(`ofswitch daemon log (last lines):\n${lines.slice(-60).join('\n')}`);
  });

  const vsctlArgs = (args: readonly string[], o: DaemonVsctlOptions = {}): string[] => [
    `--timeout=${o.timeoutSec ?? 30}`,
    ...(o.noWait ? ['--no-wait'] : []),
    ...args,
  ];

  await start();

  return {
    dir,
    env,
    db,
    get child(): ChildProcess {
      return child as ChildProcess;
    },
    vsctl: (args, o) => mustRunTool('ovs-vsctl', vsctlArgs(args, o), fullEnv),
    tryVsctl: (args, o) => runTool('ovs-vsctl', vsctlArgs(args, o), fullEnv),
    ofctl: (args) => mustRunTool('ovs-ofctl', args, fullEnv),
    tryOfctl: (args) => runTool('ovs-ofctl', args, fullEnv),
    appctl: (args) => mustRunTool('ovs-appctl', ['-t', 'ofswitch', ...args], fullEnv),
    tryAppctl: (args) => runTool('ovs-appctl', ['-t', 'ofswitch', ...args], fullEnv),
    logs: () => lines,
    mark: () => lines.length,
    logsSince: (mark) => lines.slice(mark).map(parseRecord),
    waitForLog,
    kill,
    running: isRunning,
    restart: async () => {
      await kill('SIGTERM');
      await start();
    },
  };
}
