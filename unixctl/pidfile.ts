/**
 * The daemon's pid file, made the way Open vSwitch makes it (lib/daemon-unix.c), because
 * `ovs-appctl -t NAME` reads it the OVS way: it opens RUNDIR/NAME.pid, asks fcntl(F_GETLK) who
 * holds a write lock on it, and believes the pid only when the file is locked by the process whose
 * pid it holds ("No such process" otherwise). So the file is:
 *
 * - written as "PID\n" into a temporary file that is locked (a POSIX record lock, F_WRLCK over the
 *   whole file, taken through the os-lock package since Node has no fcntl) and then renamed into
 *   place, so no reader ever sees it half written;
 * - kept open, and so locked, for the life of the server, and removed (then closed) on close or at
 *   exit.
 *
 * An existing pid file that some process still holds locked means that process is running: refused,
 * naming its pid. One nobody holds is stale (its process died): removed.
 *
 * Caveat of POSIX locks: closing ANY descriptor of the file in this process drops the lock. Nothing
 * in this process may open the pid file while it is held (read it from another process).
 */
import { closeSync, fstatSync, lstatSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { atExit } from './exit-cleanup.js';

/** os-lock is a native addon: loaded when a pid file is first locked, so that importing the control socket loads no native code. */
let osLockModule: Promise<typeof import('os-lock')> | undefined;
function osLock(): Promise<typeof import('os-lock')> {
  return (osLockModule ??= import('os-lock'));
}

export class PidFileError extends Error {
  override readonly name = 'PidFileError';
}

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

function readPid(fd: number): string {
  const buf = Buffer.alloc(64);
  const n = readSync(fd, buf, 0, buf.length, 0);
  return buf.subarray(0, n).toString().trim();
}

/** Removes a stale pid file at `path`; throws when a running process holds it. */
async function clearStale(path: string): Promise<void> {
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch (err) {
    if (code(err) === 'ENOENT') return;
    throw new PidFileError(`${path}: ${(err as Error).message}`);
  }
  try {
    await (await osLock()).lock(fd, { exclusive: true, immediate: true });
  } catch (err) {
    const pid = readPid(fd);
    closeSync(fd);
    if (code(err) === 'EAGAIN' || code(err) === 'EACCES') throw new PidFileError(`${path}: already running as pid ${pid}`);
    throw new PidFileError(`${path}: ${(err as Error).message}`);
  }
  // We hold the lock of a file nobody else does: its process is gone. Remove it if it is still
  // the file at `path` (else another starter won the same race and replaced it).
  if (fstatSync(fd).ino === lstatSync(path).ino) unlinkSync(path);
  closeSync(fd);
}

export class PidFile {
  readonly path: string;
  readonly pid: number;
  private fd: number | null;
  private readonly inode: number;
  private readonly cancelExitHook: () => void;

  private constructor(path: string, pid: number, fd: number) {
    this.path = path;
    this.pid = pid;
    this.fd = fd;
    this.inode = fstatSync(fd).ino;
    this.cancelExitHook = atExit(() => this.remove());
  }

  /** Creates and locks `path` holding this process's pid. Errors are PidFileErrors. */
  static async create(path: string): Promise<PidFile> {
    await clearStale(path);
    const pid = process.pid;
    const tmp = `${path}.tmp${pid}`;
    let fd: number;
    try {
      fd = openSync(tmp, 'w', 0o644);
    } catch (err) {
      throw new PidFileError(`${tmp}: ${(err as Error).message}`);
    }
    try {
      await (await osLock()).lock(fd, { exclusive: true, immediate: true });
      writeSync(fd, `${pid}\n`);
      renameSync(tmp, path);
    } catch (err) {
      closeSync(fd);
      try {
        unlinkSync(tmp);
      } catch {
        // renamed already, or never created: nothing to remove
      }
      throw new PidFileError(`${path}: ${(err as Error).message}`);
    }
    return new PidFile(path, pid, fd);
  }

  /** Removes the file (if it is still ours) and releases the lock. */
  remove(): void {
    if (this.fd === null) return;
    this.cancelExitHook();
    try {
      if (lstatSync(this.path).ino === this.inode) unlinkSync(this.path);
    } catch {
      // already gone
    }
    closeSync(this.fd);
    this.fd = null;
  }
}
