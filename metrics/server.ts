/**
 * The `--metrics ptcp:PORT[:IP]` endpoint: a node:http server answering `GET /metrics` (and HEAD)
 * with the Prometheus text format of registry.ts, 404 for any other path and 405 for any other
 * method. It is bound before the switch starts, so a port in use is a start error (one message,
 * exit status 2) rather than a switch without its metrics.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Endpoint } from '../lib/options.js';
import type { Logger } from '../lib/log.js';
import { SwitchMetrics, type BridgeSource } from './registry.js';

export class MetricsError extends Error {
  override readonly name = 'MetricsError';
}

export interface MetricsServer {
  /** The TCP port bound (the one asked for, or the one chosen for port 0). */
  readonly port: number;
  /** `ptcp:PORT:IP` with the port bound. */
  readonly target: string;
  close(): Promise<void>;
}

/** Listens on `endpoint`; rejects with a MetricsError naming it when it cannot be bound. */
export async function startMetricsServer(endpoint: Endpoint, bridges: BridgeSource, log: Logger): Promise<MetricsServer> {
  const metrics = new SwitchMetrics(bridges);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: the metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    metrics.render().then(
      (text) => {
        res.writeHead(200, { 'content-type': metrics.contentType });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        // a bug: said once in the log and as a 500, never a half-written scrape
        log.error('metrics scrape failed', { error: err instanceof Error ? err.message : String(err) });
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('scrape failed\n');
      },
    );
  });
  server.keepAliveTimeout = 5000;
  const where = `ptcp:${endpoint.port}:${endpoint.host}`;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new MetricsError(`--metrics ${where}: ${err.code === 'EADDRINUSE' ? 'the port is in use' : err.message}`));
    };
    server.once('error', onError);
    server.listen(endpoint.port, endpoint.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const target = `ptcp:${port}:${endpoint.host}`;
  log.info('serving metrics', { metrics: target, path: '/metrics' });
  return {
    port,
    target,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
