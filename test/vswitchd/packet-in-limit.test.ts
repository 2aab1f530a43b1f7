/**
 * Database mode: `ovs-vsctl set controller BR controller_rate_limit=100 controller_burst_limit=25`
 * limits the PACKET_INs a reading controller gets under a table-miss stream (trafgen from a test
 * namespace), on the live connection, and the Controller's status column shows OVS's
 * packet-in-miss-* counters.
 */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OFPT } from '../../protocol/index.js';
import { addHost, requireCommand, tryRun, uniqueName } from '../helpers/netns.js';
import { startDaemonRig, waitUntil } from '../helpers/daemon-rig.js';
import type { OfClient } from '../helpers/of-client.js';
import { controllerServer } from '../helpers/controller-rig.js';

requireCommand('trafgen');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test('controller_rate_limit and controller_burst_limit from ovs-vsctl limit the PACKET_IN rate', async (t) => {
  const rig = await startDaemonRig(t);
  const h = await addHost(t, 'pl');
  const br = uniqueName('plbr');
  rig.owns(br);

  const { controller, accepted, target } = await controllerServer(t);

  await rig.vsctl(['add-br', br, '--', 'set', 'bridge', br, 'fail_mode=secure', '--', 'add-port', br, h.port], { wait: true });
  // No echo probes: this controller answers none.
  await rig.vsctl(['set-controller', br, target, '--', 'set', 'controller', br, 'inactivity_probe=0'], { wait: true });
  await waitUntil(async () => (await rig.vsctl(['get', 'controller', br, 'is_connected'])).trim() === 'true', 'the controller is connected');
  t.equal(accepted.length, 1, 'one connection');
  const c = controller() as OfClient;
  await c.next((m) => m.type === OFPT.HELLO, 5000);

  const dir = mkdtempSync(join(tmpdir(), 'ofpil-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const conf = join(dir, 'misses.cfg');
  writeFileSync(conf, '{ eth(da=02:00:00:00:00:02, sa=02:00:00:00:00:01, type=0x0800),\n  ipv4(saddr=10.98.0.1, daddr=10.98.0.2, proto=17, ttl=64),\n  udp(sp=drnd(), dp=drnd()), fill(0x00, 18) }\n');

  /**
   * Sends `frames` misses at 1,000 frames/s; returns the PACKET_INs the controller got meanwhile
   * (and in 1 s after), and how long that was.
   */
  const stream = async (frames: number, enough?: number): Promise<{ n: number; seconds: number }> => {
    c.received.length = 0;
    const start = Date.now();
    const r = await tryRun('trafgen', ['--dev', 'eth0', '--conf', conf, '-P', '1', '-q', '--rate', '1000pps', '-n', String(frames)], h.ns);
    t.equal(r.code, 0, `trafgen sent ${frames} frames ${r.stderr.trim()}`);
    const count = (): number => c.received.filter((m) => m.msg?.type === OFPT.PACKET_IN).length;
    await sleep(1000);
    // Unlimited, the PACKET_INs may trail the misses on a loaded machine: until `enough` came (20 s at most).
    for (let i = 0; enough !== undefined && i < 200 && count() < enough; i++) await sleep(100);
    const n = count();
    c.received.length = 0;
    return { n, seconds: (Date.now() - start) / 1000 };
  };

  const { n: unlimited } = await stream(2000, 1900);
  if (unlimited < 1900) t.comment(rig.proc.stderr().slice(-4000));
  t.ok(unlimited >= 1900, `without a limit (the default, 10,000/s) nearly every miss is a PACKET_IN: ${unlimited} of 2000`);

  await rig.vsctl(['set', 'controller', br, 'controller_rate_limit=100', 'controller_burst_limit=25'], { wait: true });
  const { n: limited, seconds } = await stream(3000);
  // At most: the bucket's 25, then 100/s, then the 25 the queue held when the misses stopped.
  const most = 25 + 100 * seconds + 25;
  t.ok(limited <= most, `with controller_rate_limit=100, controller_burst_limit=25: ${limited} PACKET_INs for 3000 misses in ${seconds.toFixed(1)} s (at most ${most.toFixed(0)})`);
  t.ok(limited >= 50 * (seconds - 1), 'and the rate was used, not just the burst');
  t.equal(accepted.length, 1, 'the new limits applied to the connection as it was (no reconnection)');

  let status = '';
  await waitUntil(async () => {
    status = (await rig.vsctl(['get', 'controller', br, 'status'])).trim();
    return /"?packet-in-miss-dropped"?="?[1-9]/.test(status);
  }, 'the status column shows the dropped packet-ins', 15_000);
  t.match(status, /state=ACTIVE/, `status: ${status}`);
  t.match(status, /"?packet-in-miss-queued"?="?[1-9]/, 'and how many were queued for the rate limit');
  t.match(status, /"?packet-in-action-bypassed"?="?0/, 'action packet-ins have their own counters');
});
