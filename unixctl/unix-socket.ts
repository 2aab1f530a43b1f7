/**
 * A unix-domain stream server on a path, owned the way a daemon should own one:
 *
 * - A socket file left behind by a dead process (nothing accepts on it: ECONNREFUSED) is removed
 *   before binding. One that answers belongs to a live process: refused, never stolen. A path that
 *   exists and is not a socket is never removed.
 * - The file goes away when the server closes (libuv unlinks it) and, should the process exit
 *   without closing, from an exit hook, but only while the path is still our socket (same inode),
 *   so a successor's socket is never removed.
 *
 * - The socket is created srwxr-x--- (SOCKET_MODE, 0750), owned by the running user, as OVS's
 *   BRIDGE.mgmt and .ctl sockets are: another local user (not in the group) cannot connect, so
 *   cannot take over the bridge or the daemon. It is bound under a umask that leaves only the owner
 *   in, then opened to the group, so no other user can connect in between.
 *
 * Open vSwitch simply unlinks whatever is at the path before binding (lib/socket-util-unix.c);
 * refusing a live socket instead is a deliberate difference: two switches must not silently take
 * over each other's control or management socket.
 */
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { atExit } from './exit-cleanup.js';

export class UnixSocketError extends Error {
  override readonly name = 'UnixSocketError';
}

/** srwxr-x---: the owner connects, its group too, nobody else (as ls shows OVS's sockets). */
export const SOCKET_MODE = 0o750;
/** While binding: the owner only (the socket is opened to SOCKET_MODE right after). */
const BIND_UMASK = 0o077;

/** sun_path holds 108 bytes, the terminating NUL included. */
export const UNIX_PATH_MAX = 107;

export interface UnixServer {
  readonly path: string;
  /** Stops accepting and removes the socket file; accepted sockets are the caller's to close. */
  close(): Promise<void>;
}

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/** Whether something accepts connections on the socket at `path`. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', (err) => {
      if (code(err) === 'ECONNREFUSED') resolve(false);
      else reject(new UnixSocketError(`${path}: ${err.message}`));
    });
  });
}

/** Removes a dead process's socket at `path`; refuses a live socket or a file of another kind. */
async function clearStale(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch (err) {
    if (code(err) === 'ENOENT') return;
    throw new UnixSocketError(`${path}: ${(err as Error).message}`);
  }
  if (!isSocket) throw new UnixSocketError(`${path}: exists and is not a socket`);
  if (await answers(path)) throw new UnixSocketError(`${path}: another process is listening on this socket`);
  unlinkSync(path);
}

/** Listens on `path`, handing each accepted socket to `accept`. Errors are UnixSocketErrors. */
export async function listenUnix(path: string, accept: (socket: Socket) => void): Promise<UnixServer> {
  const bytes = Buffer.byteLength(path);
  if (bytes === 0) throw new UnixSocketError('empty unix socket path');
  if (bytes > UNIX_PATH_MAX) throw new UnixSocketError(`${path}: too long for a unix socket (${bytes} bytes, at most ${UNIX_PATH_MAX})`);
  await clearStale(path);
  const server: Server = createServer(accept);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new UnixSocketError(`${path}: ${err.message}`)));
    // The bind happens inside listen(), synchronously: the umask applies to it alone.
    const umask = process.umask(BIND_UMASK);
    try {
      server.listen(path, () => resolve());
    } finally {
      process.umask(umask);
    }
  });
  chmodSync(path, SOCKET_MODE);
  const inode = lstatSync(path).ino;
  const removeIfOurs = (): void => {
    try {
      if (lstatSync(path).ino === inode) unlinkSync(path);
    } catch {
      // already gone: nothing to remove
    }
  };
  const cancelExitHook = atExit(removeIfOurs);
  let closing: Promise<void> | null = null;
  return {
    path,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        cancelExitHook();
        server.close(() => resolve());
        removeIfOurs();
      });
      return closing;
    },
  };
}
