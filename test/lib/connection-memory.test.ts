/**
 * Memory a connection holds goes with it: thousands of connections each holding part of a 64 KB
 * message (the framer's buffer for it) raise the process's resident memory; once they are closed,
 * the switch's own collection (lib/memory.ts: GC, then glibc malloc_trim through the addon) brings
 * it back near where it started. The clients run in this process too, so what is measured is an
 * upper bound of the switch's share.
 */
import t from 'tap';
import { connect, type Socket } from 'node:net';
import { createSwitch } from '../../index.js';
import { releaseFreedMemory } from '../../lib/memory.js';
import { OFP_VERSION, OFPT } from '../../protocol/index.js';

const CONNECTIONS = 2000;
const PART = 32 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rssMb = (): number => process.memoryUsage().rss / 1048576;

t.test(`${CONNECTIONS} connections each holding ${PART / 1024} KB of a 64 KB message: memory back near the start once they close`, async (t) => {
  const sw = createSwitch({ linkPollMs: 0, maxConnections: CONNECTIONS + 10 });
  t.teardown(() => sw.close());
  const l = await sw.addListener('ptcp:0:127.0.0.1', { probeIntervalMs: 60_000 });
  releaseFreedMemory();
  await sleep(200);
  const start = rssMb();
  const opening = Buffer.alloc(8 + PART);
  opening.set([OFP_VERSION, OFPT.HELLO, 0, 8, 0, 0, 0, 1], 0);
  opening.set([OFP_VERSION, OFPT.PACKET_OUT, 0xff, 0xff, 0, 0, 0, 2], 8); // announces 65535 bytes
  const sockets: Socket[] = [];
  t.teardown(() => sockets.forEach((s) => s.destroy()));
  for (let i = 0; i < CONNECTIONS; i++) {
    const s = connect({ port: l.port, host: '127.0.0.1' });
    s.on('error', () => undefined);
    s.on('data', () => undefined);
    await new Promise((resolve) => s.once('connect', resolve));
    s.write(opening);
    sockets.push(s);
  }
  const end = Date.now() + 20_000;
  while (sw.acceptedConnections < CONNECTIONS && Date.now() < end) await sleep(50);
  t.equal(sw.acceptedConnections, CONNECTIONS, 'all held open');
  // Until their parts have been read (a loaded machine reads them late; 20 s at most).
  const holding = (CONNECTIONS * PART) / 1048576 / 2;
  for (let i = 0; i < 400 && rssMb() - start <= holding; i++) await sleep(50);
  await sleep(500);
  const held = rssMb();
  t.ok(held - start > holding, `they hold memory: ${start.toFixed(0)} MB -> ${held.toFixed(0)} MB`);
  for (const s of sockets) s.destroy();
  sockets.length = 0;
  while (sw.acceptedConnections > 0 && Date.now() < end + 10_000) await sleep(50);
  t.equal(sw.acceptedConnections, 0, 'all closed');
  // The switch's own collection runs 2 s after the wave of closes: wait for its effect (20 s for a
  // loaded machine, whose timers run late), without any collection asked from here.
  const returned = (): boolean => rssMb() - start < (held - start) / 3;
  for (let i = 0; i < 400 && !returned(); i++) await sleep(50);
  const after = rssMb();
  t.ok(after - start < (held - start) / 3, `most of it returned by the switch itself: ${after.toFixed(0)} MB`);
  releaseFreedMemory();
  await sleep(300);
  releaseFreedMemory();
  const final = rssMb();
  t.ok(final - start < Math.max(25, (held - start) / 5), `near the start after GC: ${start.toFixed(0)} -> ${held.toFixed(0)} -> ${final.toFixed(0)} MB`);
});
