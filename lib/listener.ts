/**
 * The passive side of the channel: a TCP listener (`ptcp:PORT[:IP]`) or a unix-domain one
 * (`punix:PATH`, how ovs-vswitchd serves each bridge's RUNDIR/BRIDGE.mgmt, which `ovs-ofctl show
 * BRIDGE` connects to), handing each accepted socket to the switch. A busy port, or a unix socket
 * another process still answers on, is a ListenError naming it; a stale socket file is replaced,
 * and the file is removed on close (unixctl/unix-socket.ts).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { listenUnix } from '../unixctl/unix-socket.js';
import type { ListenEndpoint } from './options.js';

export class ListenError extends Error {
  override readonly name = 'ListenError';
}

export interface Listener {
  readonly endpoint: ListenEndpoint;
  /** As OVS names it: `ptcp:PORT:IP` (the port actually bound) or `punix:PATH`. */
  readonly name: string;
  /** The TCP port actually bound (differs from endpoint.port when that is 0); 0 for punix. */
  readonly port: number;
  close(): Promise<void>;
}

/** Names of accepted unix sockets, which have no remote address of their own. */
const unixPeers = new WeakMap<Socket, string>();

/** The peer of an accepted socket, for logs: `IP:PORT`, or `unix:PATH` (the listener's path). */
export function describePeer(socket: Socket): string {
  return unixPeers.get(socket) ?? `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
}

export function listenerName(endpoint: ListenEndpoint, port?: number): string {
  return 'path' in endpoint ? `punix:${endpoint.path}` : `ptcp:${port ?? endpoint.port}:${endpoint.host}`;
}

export async function listen(endpoint: ListenEndpoint, accept: (socket: Socket) => void): Promise<Listener> {
  if ('path' in endpoint) {
    const peer = `unix:${endpoint.path}`;
    let server;
    try {
      server = await listenUnix(endpoint.path, (socket) => {
        unixPeers.set(socket, peer);
        accept(socket);
      });
    } catch (err) {
      throw new ListenError(`punix:${(err as Error).message}`);
    }
    return { endpoint, name: listenerName(endpoint), port: 0, close: () => server.close() };
  }
  const server: Server = createServer({ noDelay: true }, accept);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const what = listenerName(endpoint);
      reject(new ListenError(err.code === 'EADDRINUSE' ? `${what}: port ${endpoint.port} is busy` : `${what}: ${err.message}`));
    });
    server.listen(endpoint.port, endpoint.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : endpoint.port;
  return {
    endpoint,
    name: listenerName(endpoint, port),
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
