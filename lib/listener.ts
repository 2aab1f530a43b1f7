/**
 * The passive side of the channel: a TCP listener (`ptcp:PORT[:IP]`) or a unix-domain one
 * (`punix:PATH`, how ovs-vswitchd serves each bridge's RUNDIR/BRIDGE.mgmt, which `ovs-ofctl show
 * BRIDGE` connects to), or a TLS one (`pssl:PORT[:IP]`), handing each accepted socket to the switch. A busy port, or a unix socket
 * another process still answers on, is a ListenError naming it; a stale socket file is replaced,
 * and the file is removed on close (unixctl/unix-socket.ts).
 *
 * A `pssl:` listener hands over only peers whose TLS handshake completed with a certificate the
 * CA signed (tls-config.ts); any other connection ends with one log line naming the peer and why,
 * and never reaches the switch. Its key, certificate and CA are those of the TlsConfig at each new
 * connection (files changed on disk or a new SSL row apply to the next connection).
 */
import { createServer, isIPv4, isIPv6, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { listenUnix } from '../unixctl/unix-socket.js';
import { silentLogger, type Logger } from './log.js';
import type { Endpoint, ListenEndpoint } from './options.js';
import { handshakeFailure, TLS_HANDSHAKE_TIMEOUT_MS, type TlsConfig } from './tls-config.js';

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
  return 'path' in endpoint ? `punix:${endpoint.path}` : `${endpoint.tls ? 'pssl' : 'ptcp'}:${port ?? endpoint.port}:${endpoint.host}`;
}

/** Whether `host` is a loopback address (127.0.0.0/8, ::1, or an IPv4-mapped one of them). */
export function isLoopback(host: string): boolean {
  if (isIPv4(host)) return host.startsWith('127.');
  if (isIPv6(host)) return host === '::1' || /^::ffff:127\./i.test(host);
  return false;
}

/**
 * The risk of a listener, for a warning when it starts: a plain TCP one on an address other
 * hosts can reach hands the switch to whoever connects. Null when there is none to name.
 */
export function listenerRisk(endpoint: ListenEndpoint): string | null {
  if ('path' in endpoint || endpoint.tls || isLoopback(endpoint.host)) return null;
  return 'plain TCP on a non-loopback address: anyone who reaches it controls the switch (its flows, ports and packets); use pssl: with certificates, or listen on 127.0.0.1';
}

export interface ListenOptions {
  /** The key, certificate and CA of `pssl:` listeners. */
  readonly tls?: TlsConfig | null;
  /** Where refused TLS peers are logged. */
  readonly log?: Logger;
}

export async function listen(endpoint: ListenEndpoint, accept: (socket: Socket) => void, options: ListenOptions = {}): Promise<Listener> {
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
  const server: Server = endpoint.tls ? tlsServer(endpoint, accept, options) : createServer({ noDelay: true }, accept);
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

/** A TLS server that requires a client certificate signed by the CA and hands over only verified peers. */
function tlsServer(endpoint: Endpoint, accept: (socket: Socket) => void, options: ListenOptions): Server {
  const name = listenerName(endpoint);
  const config = options.tls;
  if (!config) throw new ListenError(`${name}: TLS is not configured (a private key, a certificate and a CA certificate)`);
  const log = (options.log ?? silentLogger).child({ listen: name });
  let material;
  try {
    material = config.material();
  } catch (err) {
    throw new ListenError(`${name}: ${(err as Error).message}`);
  }
  const server = createTlsServer({
    ...material.options,
    requestCert: true,
    // Verified in 'secureConnection' instead, so that a refusal is logged with its reason.
    rejectUnauthorized: false,
    handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
    noDelay: true,
  });
  let current = material;
  // Before the TLS socket is made from the raw one: the files as they are now.
  server.prependListener('connection', () => {
    let next;
    try {
      next = config.material();
    } catch {
      return; // logged by material(); the last context stays
    }
    if (next.generation === current.generation) return;
    server.setSecureContext(next.options);
    current = next;
  });
  server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
    const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    log.limited('tls').warn('TLS connection refused', { peer, reason: handshakeFailure(err) });
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    const refusal = config.checkPeer(socket, current);
    if (refusal !== null) {
      log.limited('tls').warn('TLS connection refused', { peer: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`, reason: refusal });
      socket.destroy();
      return;
    }
    accept(socket);
  });
  return server;
}
