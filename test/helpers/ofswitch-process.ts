/**
 * The built switch (dist/cli/ofswitch.js) as a child process, for end-to-end tests: started (inside a
 * network namespace when asked) with the given options, ready once it logs "switch started",
 * stopped with SIGTERM (SIGKILL if it lingers) by t.teardown. dist/ is rebuilt first when any
 * source is newer than it.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Teardownable } from './netns.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(ROOT, 'dist', 'cli', 'ofswitch.js');

let built = false;

/**
 * How long a switch may take to stop after SIGTERM before it is killed (SIGKILL). A clean stop
 * (closing its ports, removing the interfaces and demo hosts it made, each an `ip` command) takes
 * well under a second on a quiet machine; under coverage with test files side by side on a loaded
 * 2-core machine, the demo's took over 3 s. Tests that assert a clean exit (status 0) wait for it
 * this long; a switch that hangs on SIGTERM still fails them.
 */
export const STOP_GRACE_MS = 20_000;

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** The switch's source folders: tsconfig.json's "include" but for the benchmarks and tests. */
function sourceFolders(): string[] {
  const include = (JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as { include: string[] }).include;
  return include.filter((d) => !d.endsWith('.ts') && d !== 'bench' && d !== 'test');
}

/** Compiles to dist/ unless dist/cli/ofswitch.js is newer than every source of the switch. */
export function ensureBuilt(): void {
  if (built) return;
  const sources = Math.max(...sourceFolders().map((d) => newestSource(join(ROOT, d))));
  if (!existsSync(CLI) || statSync(CLI).mtimeMs < sources) {
    try {
      execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', join(ROOT, 'tsconfig.json')], { stdio: 'ignore' });
    } catch {
      // type errors elsewhere still emit JavaScript; a missing cli.js is reported below
    }
  }
  if (!existsSync(CLI)) throw new Error(`${CLI} was not built`);
  built = true;
}

export interface OfswitchProcess {
  readonly child: ChildProcess;
  /** Everything the switch wrote to stderr so far (its log lines). */
  readonly stderr: () => string;
  readonly stdout: () => string;
  /** Resolves with the exit code (or the signal's name) when the process ends. */
  readonly exited: Promise<number | string>;
  /** Resolves when a log line containing `text` has been written. */
  waitForLog(text: string, timeoutMs?: number): Promise<void>;
  /** SIGTERM, then SIGKILL after STOP_GRACE_MS; resolves with the exit status. */
  stop(): Promise<number | string>;
}

/**
 * Starts `ofswitch ARGS` (in namespace `ns` when given). With `ready` (default true) waits for its
 * "switch started" line; pass false for runs expected to fail at start.
 */
export async function startOfswitch(
  t: Teardownable,
  args: readonly string[],
  options: { ns?: string; ready?: boolean; timeoutMs?: number } = {},
): Promise<OfswitchProcess> {
  ensureBuilt();
  const [file, argv] = options.ns
    ? ['ip', ['netns', 'exec', options.ns, process.execPath, CLI, ...args]]
    : [process.execPath, [CLI, ...args]];
  const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  const listeners: (() => void)[] = [];
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
    for (const l of listeners) l();
  });
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  let done = false;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve(code ?? signal ?? 'unknown');
      for (const l of listeners) l();
    });
  });
  // 30 s: a switch starts in about a second, but under coverage with test files running side by
  // side on a loaded 2-core machine its start-up took over 10 s. Start-up speed is a benchmark's
  // business (npm run bench:restart), not a test's.
  const waitForLog = (text: string, timeoutMs = options.timeoutMs ?? 30_000): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (err.includes(text)) return finish(null);
        if (done) return finish(new Error(`ofswitch exited before logging "${text}":\n${err}`));
      };
      const timer = setTimeout(() => finish(new Error(`ofswitch did not log "${text}" within ${timeoutMs} ms:\n${err}`)), timeoutMs);
      const finish = (e: Error | null): void => {
        clearTimeout(timer);
        const i = listeners.indexOf(check);
        if (i >= 0) listeners.splice(i, 1);
        if (e) reject(e);
        else resolve();
      };
      listeners.push(check);
      check();
    });
  const stop = async (): Promise<number | string> => {
    if (!done) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
    return exited;
  };
  t.teardown(stop);
  process.once('exit', () => {
    if (!done) child.kill('SIGKILL');
  });
  const proc: OfswitchProcess = { child, stderr: () => err, stdout: () => out, exited, waitForLog, stop };
  if (options.ready !== false) await waitForLog('"switch started"');
  return proc;
}
