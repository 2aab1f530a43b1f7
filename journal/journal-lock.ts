/**
 * One switch per journal: `FILE.lock` names the process that has FILE open (`PID START`, START
 * being the process's start time in /proc/PID/stat, so that a pid used again later is not taken
 * for it). Made with O_EXCL; one whose process is gone (a `kill -9`) is stale and taken over; one
 * whose process runs is a JournalError naming it. Synchronous, as the journal opens before a
 * switch has ports. Released (removed) when the journal closes.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';

/** A process's start time, or undefined when there is no such process. */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Takes the lock of the journal `path`; returns its release. Throws `fail(message)` when another process holds it. */
export function lockJournal(path: string, fail: (message: string) => Error): () => void {
  const lockPath = `${path}.lock`;
  const me = `${process.pid} ${processStart(process.pid) ?? 0}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx');
      try {
        writeSync(fd, me);
      } finally {
        closeSync(fd);
      }
      return () => {
        try {
          if (readFileSync(lockPath, 'utf8') === me) unlinkSync(lockPath);
        } catch {
          /* already gone */
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw fail(`cannot lock the flow journal ${path}: ${(err as Error).message}`);
    }
    let holder = '';
    try {
      holder = readFileSync(lockPath, 'utf8');
    } catch {
      continue; // released meanwhile
    }
    const [pid = '', start = ''] = holder.trim().split(' ');
    if (/^\d+$/.test(pid) && processStart(Number(pid)) === start) {
      throw fail(`the flow journal ${path} is in use by ${Number(pid) === process.pid ? 'this process' : `ofswitch pid ${pid}`}`);
    }
    try {
      unlinkSync(lockPath); // stale: its process is gone
    } catch {
      /* taken over meanwhile */
    }
  }
  throw fail(`cannot lock the flow journal ${path}: its lock keeps changing`);
}
