/**
 * A database-mode daemon (vswitchd/daemon.ts) run in the test's own process against `remote`, in
 * a fresh run directory; stopped and its directory removed at teardown, its log printed as a
 * comment when the test failed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { createLogger } from '../../lib/log.js';
import { Daemon } from '../../vswitchd/daemon.js';

export async function startInProcessDaemon(t: Test, remote: string): Promise<Daemon> {
  const rundir = mkdtempSync(join(tmpdir(), 'ofsw-run-'));
  const lines: string[] = [];
  const daemon = new Daemon({ remote, rundir, log: createLogger({ level: 'info', write: (l) => lines.push(l) }), statsIntervalMs: 1000 });
  daemon.start();
  t.teardown(async () => {
    await daemon.stop();
    rmSync(rundir, { recursive: true, force: true });
    if (t.passing() === false) t.comment(lines.join('\n'));
  });
  return daemon;
}
