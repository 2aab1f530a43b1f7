/**
 * A controller for an in-process switch to connect to: a TCP server on a free loopback port whose
 * accepted connection is wrapped as an OfClient (HELLO sent), and memory port `m1` on the switch.
 * Teardown closes the switch, the accepted sockets and the server.
 */
import type { Test } from 'tap';
import { createServer, type Socket } from 'node:net';
import type { MemoryPort } from '../../datapath/ports/memory-port.js';
import type { Switch } from '../../lib/switch.js';
import { OFP_VERSION, OFPT } from '../../protocol/index.js';
import { OfClient } from './of-client.js';
import type { Teardownable } from './netns.js';

export interface ControllerRig {
  readonly port: MemoryPort;
  /** The switch's connection as the controller sees it, once accepted. */
  readonly controller: () => OfClient | null;
  readonly accepted: Socket[];
  /** `tcp:127.0.0.1:PORT`, for sw.setControllers. */
  readonly target: string;
}

export async function controllerRig(t: Test, sw: Switch, ofport?: number): Promise<ControllerRig> {
  const { controller, accepted, target } = await controllerServer(t);
  t.teardown(() => sw.close()); // added last, run first: the switch closes before the controller's sockets and server
  const port = sw.addPort({ name: 'm1', type: 'memory', ...(ofport !== undefined ? { ofport } : {}) }).device as MemoryPort;
  return { port, controller, accepted, target };
}

/** The controller alone, for any switch (in process or a daemon) to connect to: see controllerRig. */
export async function controllerServer(t: Teardownable): Promise<Omit<ControllerRig, 'port'>> {
  const accepted: Socket[] = [];
  let client: OfClient | null = null;
  const server = createServer((s) => {
    accepted.push(s);
    client = OfClient.wrap(s);
    client.send({ version: OFP_VERSION, type: OFPT.HELLO, xid: 1, body: new Uint8Array(0) });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  const target = `tcp:127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  t.teardown(() => {
    for (const s of accepted) s.destroy();
    server.close();
  });
  return { controller: () => client, accepted, target };
}

/** A UDP frame whose source port is `n`: a miss each time (for `port.inject`). */
export function missFrame(n: number): Buffer {
  const f = Buffer.alloc(60);
  f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1], 0);
  f.writeUInt16BE(0x0800, 12);
  f[14] = 0x45;
  f[22] = 64;
  f[23] = 17;
  f.writeUInt16BE(n & 0xffff, 34);
  return f;
}
