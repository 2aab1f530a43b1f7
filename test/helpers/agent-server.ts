/**
 * An Agent served on a free loopback TCP port, as the switch's listeners serve it: each accepted
 * socket becomes a Connection of `kind` (default passive) with the agent as its handler. Teardown
 * closes the agent's connections and the server.
 */
import { createServer, type Server } from 'node:net';
import type { Agent } from '../../lib/agent.js';
import { Connection } from '../../lib/connection.js';
import { silentLogger } from '../../lib/log.js';
import type { Teardownable } from './netns.js';

export async function serveAgent(t: Teardownable, agent: Agent, opts: { kind?: 'controller' | 'passive'; probeIntervalMs?: number | null } = {}): Promise<{ server: Server; port: number }> {
  let id = 0;
  const server = createServer((socket) => {
    new Connection(socket, { id: ++id, kind: opts.kind ?? 'passive', handler: agent, log: silentLogger, probeIntervalMs: opts.probeIntervalMs ?? null });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  t.teardown(() => {
    for (const c of agent.connections) c.close('test over');
    server.close();
  });
  return { server, port };
}
