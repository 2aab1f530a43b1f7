/**
 * The passive side of the channel: a TCP listener (`ptcp:PORT[:IP]`) handing each accepted
 * socket to the switch. A port already in use is a ListenError naming it.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Endpoint } from './options.js';

export class ListenError extends Error {
  override readonly name = 'ListenError';
}

export interface Listener {
  readonly endpoint: Endpoint;
  /** The port actually bound (differs from endpoint.port when that is 0). */
  readonly port: number;
  close(): Promise<void>;
}

export async function listen(endpoint: Endpoint, accept: (socket: Socket) => void): Promise<Listener> {
  const server: Server = createServer({ noDelay: true }, accept);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const what = `ptcp:${endpoint.port}:${endpoint.host}`;
      reject(new ListenError(err.code === 'EADDRINUSE' ? `${what}: port ${endpoint.port} is busy` : `${what}: ${err.message}`));
    });
    server.listen(endpoint.port, endpoint.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : endpoint.port;
  return {
    endpoint,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
