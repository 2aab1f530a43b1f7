/**
 * Restarts, as ovs-vswitchd survives them, against the real ovsdb-server, ovs-vsctl, ovs-ofctl,
 * ovs-appctl and ovs-testcontroller:
 * - the ofswitch daemon killed with SIGKILL and started again with the same command: the stale
 *   pid file and control socket do not stop it; the same bridges come back with the same OpenFlow
 *   port numbers (also those assigned without ofport_request, gaps included), controllers
 *   reconnect, hosts ping again; the internal interfaces the killed daemon left in the kernel are
 *   adopted (they work again, none is duplicated or left over, and a clean stop removes them);
 *   internal interfaces deleted from the database meanwhile are removed;
 * - the database killed and restarted under a running ofswitch: forwarding goes on meanwhile, the
 *   daemon reconnects, a change made afterwards (add-port) is applied, and a plain ovs-vsctl
 *   (waiting for cur_cfg) returns promptly.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { addHost, assertRan, spawnIn, tryRun, uniqueName, type TestHost } from '../helpers/netns.js';
import { startDaemonRig, waitUntil, type DaemonRig } from '../helpers/daemon-rig.js';
import { freePort } from '../helpers/free-port.js';
import { startOvsTestcontroller } from '../helpers/ovs-testcontroller.js';

async function pings(from: TestHost, to: TestHost | string, count = 2): Promise<number> {
  const ip = typeof to === 'string' ? to : to.ip;
  return (await tryRun('ping', ['-c', String(count), '-W', '1', '-i', '0.2', ip], from.ns)).code;
}

/** Pings until one answer comes (at most ~5 s): the first ARP may race a port or a controller. */
async function reaches(from: TestHost, to: TestHost): Promise<boolean> {
  for (let i = 0; i < 5; i++) if ((await pings(from, to, 1)) === 0) return true;
  return false;
}

/** Every Interface's ofport, by name, as the database holds it. */
async function dbPorts(rig: DaemonRig): Promise<Record<string, number>> {
  const csv = await rig.vsctl(['--format=csv', '--no-headings', '--columns=name,ofport', 'list', 'Interface']);
  const out: Record<string, number> = {};
  for (const line of csv.trim().split('\n')) {
    const [name = '', ofport = ''] = line.split(',');
    out[name.replace(/"/g, '')] = Number(ofport);
  }
  return out;
}

/** The ports `ovs-ofctl show BRIDGE` lists (the switch's own numbering), by name. */
async function switchPorts(t: Test, rig: DaemonRig, br: string): Promise<Record<string, string>> {
  const show = await rig.ofctl(['show', br]);
  assertRan(t, show, `ovs-ofctl show ${br}`);
  const out: Record<string, string> = {};
  for (const m of show.stdout.matchAll(/^ (\w+)\(([^)]+)\): addr:/gm)) out[m[2] ?? ''] = m[1] ?? '';
  return out;
}

async function isConnected(rig: DaemonRig, br: string): Promise<boolean> {
  return (await rig.vsctl(['get', 'Controller', br, 'is_connected'])).trim() === 'true';
}

/** The interfaces this test process made or had made (names carry its pid), sorted. */
async function ownLinks(): Promise<string[]> {
  const mark = uniqueName('');
  return readdirSync('/sys/class/net')
    .filter((n) => n.startsWith(mark) || n.startsWith(`ofl-${mark}`))
    .sort();
}

/**
 * Whether ARP requests for `ip` sent by `from` arrive at interface `ifname` in the root namespace,
 * as received by the host (tcpdump -Q in): the host's side of an internal interface works.
 */
async function hostReceives(ifname: string, from: TestHost, ip: string): Promise<boolean> {
  const dump = spawnIn('tcpdump', ['-l', '-n', '-c', '1', '-Q', 'in', '-i', ifname, `arp and arp[24:4] = 0x${ip.split('.').map((b) => Number(b).toString(16).padStart(2, '0')).join('')}`]);
  let err = '';
  let out = '';
  dump.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  dump.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => dump.once('exit', () => resolve()));
  await waitUntil(() => err.includes('listening on') || dump.exitCode !== null, `tcpdump listens on ${ifname}`);
  for (let i = 0; i < 4 && dump.exitCode === null; i++) await pings(from, ip, 1);
  if (dump.exitCode === null) dump.kill('SIGTERM');
  await exited;
  return out.includes(`Request who-has ${ip}`);
}

t.test('kill -9 of the daemon, then the same command: everything is reapplied', async (t) => {
  const rig = await startDaemonRig(t);
  const [h1, h2, h3, h4, h5] = await Promise.all([
    addHost(t, 'k1', { ip: '10.83.0.1/24' }),
    addHost(t, 'k2', { ip: '10.83.0.2/24' }),
    addHost(t, 'k3', { ip: '10.84.0.3/24' }),
    addHost(t, 'k4', { ip: '10.84.0.4/24' }),
    addHost(t, 'k5', { ip: '10.84.0.5/24' }),
  ]);
  const brA = uniqueName('ka');
  const brB = uniqueName('kb');
  const ix1 = uniqueName('ki1');
  const ix2 = uniqueName('ki2');
  const ix3 = uniqueName('ki3');
  const brC = uniqueName('kc');
  rig.owns(brA, brB, brC, ix1, ix2, ix3);

  // brA: h1 on its requested number, h2 on the lowest free one, a controller. brB, standalone:
  // h3, h4, ix1, ix2, ix3 numbered 1 to 5 in name order; ix1 leaves, so 3 is free and ix2 keeps 4.
  // brC and ix3 will be deleted while no daemon runs.
  const internal = (name: string): string[] => ['--', 'add-port', brB, name, '--', 'set', 'Interface', name, 'type=internal'];
  await rig.vsctl(
    [
      ...['add-br', brA, '--', 'add-port', brA, h1.port, '--', 'set', 'Interface', h1.port, 'ofport_request=7', '--', 'add-port', brA, h2.port],
      ...['--', 'add-br', brB, '--', 'add-port', brB, h3.port, '--', 'add-port', brB, h4.port, ...internal(ix1), ...internal(ix2), ...internal(ix3)],
      ...['--', 'add-br', brC],
    ],
    { wait: true },
  );
  await rig.vsctl(['del-port', brB, ix1], { wait: true });
  t.notOk(existsSync(`/sys/class/net/${ix1}`), 'a deleted internal port takes its interface with it');
  const port = await freePort();
  await startOvsTestcontroller(t, port);
  await rig.vsctl(['set-controller', brA, `tcp:127.0.0.1:${port}`], { wait: true });
  await waitUntil(() => isConnected(rig, brA), `${brA}'s controller is connected`);
  t.ok(await reaches(h1, h2), 'h1 reaches h2 through the controller');
  t.ok(await reaches(h3, h4), 'h3 reaches h4 through the standalone bridge');

  const ports = await dbPorts(rig);
  t.same(
    [ports[h1.port], ports[h2.port], ports[brA], ports[h3.port], ports[h4.port], ports[ix2], ports[ix3], ports[brB], ports[brC]],
    [7, 1, 65534, 1, 2, 4, 5, 65534, 65534],
    'numbers before: requested 7, lowest free 1, LOCAL; and 1, 2, 4 around the gap ix1 left',
  );
  const shownA = await switchPorts(t, rig, brA);
  const shownB = await switchPorts(t, rig, brB);
  t.same(shownB, { [h3.port]: '1', [h4.port]: '2', [ix2]: '4', [ix3]: '5', [brB]: 'LOCAL' }, 'ovs-ofctl show agrees');
  const links = await ownLinks();

  // kill -9: nothing is cleaned up.
  const oldPid = rig.proc.child.pid ?? 0;
  await rig.kill();
  const pidFile = join(rig.dir, 'ofswitch.pid');
  t.equal(readFileSync(pidFile, 'utf8').trim(), String(oldPid), 'the killed daemon\'s pid file stays behind');
  t.ok(existsSync(join(rig.dir, `ofswitch.${oldPid}.ctl`)), 'and its control socket');
  t.ok(existsSync(join(rig.dir, `${brA}.mgmt`)), 'and the bridges\' management sockets');
  t.same(await ownLinks(), links, 'its internal interfaces stay in the kernel, as OVS\'s stay in its datapath');
  t.ok(links.includes(ix3) && links.includes(`ofl-${brC}`), 'ix3\'s and brC\'s among them');
  const stale = await rig.appctl(['ofproto/list']);
  t.not(stale.code, 0, 'ovs-appctl -t ofswitch fails while no daemon runs');
  t.equal(await pings(h1, h2, 1), 1, 'nothing forwards while no daemon runs');
  // Marks the daemon's own column, so that finding it true again proves the new daemon wrote it.
  await rig.vsctl(['set', 'Controller', brA, 'is_connected=false']);
  // A port added meanwhile takes the free number 3, not one that the others get back; an
  // internal port and a bridge deleted meanwhile leave their interfaces to the next daemon.
  await rig.vsctl(['add-port', brB, h5.port, '--', 'del-port', brB, ix3, '--', 'del-br', brC]);
  delete ports[ix3];
  delete ports[brC];
  delete shownB[ix3];
  ports[h5.port] = 3;
  shownB[h5.port] = '3';

  // The same command again.
  const proc = await rig.start();
  t.not(proc.child.pid, oldPid, 'a new daemon runs');
  await waitUntil(() => readFileSync(pidFile, 'utf8').trim() === String(proc.child.pid), 'the pid file names the new daemon');
  t.pass('the pid file names the new daemon');
  t.notMatch(proc.stderr(), /"level":"(error|warn)"/, 'the restart logs no error or warning');
  await waitUntil(() => isConnected(rig, brA), `${brA}'s controller is connected again`);
  t.pass('the controller is connected again (is_connected written true by the new daemon)');
  const list = await rig.appctl(['ofproto/list']);
  assertRan(t, list, 'ovs-appctl -t ofswitch ofproto/list');
  t.same(list.stdout.trim().split('\n'), [brA, brB].sort(), 'the same bridges, less the one deleted meanwhile');
  t.same(await dbPorts(rig), ports, 'every Interface keeps its ofport');
  t.same(await switchPorts(t, rig, brA), shownA, 'ovs-ofctl show: the same numbers on brA');
  t.same(await switchPorts(t, rig, brB), shownB, 'and on brB (ix2 keeps 4 though 3 was free)');
  t.ok(await reaches(h1, h2), 'h1 reaches h2 again');
  t.equal(await pings(h1, h2), 0, 'through the controller\'s flows');
  const flows = await rig.ofctl(['dump-flows', brA]);
  assertRan(t, flows, 'ovs-ofctl dump-flows');
  t.match(flows.stdout, new RegExp(`priority=65535,icmp,in_port=7,.*dl_src=${h1.mac},dl_dst=${h2.mac},.* actions=output:1`), 'flows the reconnected controller installed');
  t.ok(await reaches(h3, h4), 'h3 reaches h4 again');
  t.ok(await reaches(h5, h3), 'h5, added while no daemon ran, reaches h3');
  const deleted = [brC, ix3].flatMap((n) => [n, `ofl-${n}`]);
  t.same(
    await ownLinks(),
    links.filter((n) => !deleted.includes(n)),
    'the same interfaces: the internal ones adopted, none duplicated, those deleted meanwhile removed',
  );
  t.ok(await hostReceives(ix2, h3, '10.84.0.99'), 'the adopted internal interface receives what the bridge floods');
  t.ok(await hostReceives(brB, h3, '10.84.0.98'), 'and so does the adopted LOCAL interface');

  t.equal(await rig.proc.stop(), 0, 'the daemon stops cleanly');
  const left = (await ownLinks()).filter((n) => [brA, brB, ix2].some((i) => n === i || n === `ofl-${i}`));
  t.same(left, [], 'and removes the internal interfaces it adopted');
});

t.test('the database killed and restarted under a running ofswitch', async (t) => {
  const rig = await startDaemonRig(t);
  const [h1, h2, h3] = await Promise.all([
    addHost(t, 'd1', { ip: '10.85.0.1/24' }),
    addHost(t, 'd2', { ip: '10.85.0.2/24' }),
    addHost(t, 'd3', { ip: '10.85.0.3/24' }),
  ]);
  const br = uniqueName('db');
  rig.owns(br);
  await rig.vsctl(['add-br', br], { wait: true });
  await rig.vsctl(['add-port', br, h1.port], { wait: true });
  await rig.vsctl(['add-port', br, h2.port], { wait: true });
  t.ok(await reaches(h1, h2), 'h1 reaches h2');

  await rig.db.stop({ kill: true });
  await waitUntil(() => rig.proc.stderr().includes('"state":"backoff"'), 'the daemon notices the connection lost');
  t.equal(await pings(h1, h2, 3), 0, 'with the database gone, h1 still reaches h2');
  const show = await rig.ofctl(['show', br]);
  assertRan(t, show, 'ovs-ofctl show without the database');
  const fdb = await rig.appctl(['fdb/show', br]);
  assertRan(t, fdb, 'ovs-appctl fdb/show without the database');
  t.match(fdb.stdout, h2.mac, 'the bridge goes on learning');

  await rig.db.restart();
  await waitUntil(() => rig.syncs() >= 2, 'the daemon is in sync with the restarted database', 15_000);
  t.pass('the daemon reconnects and resynchronises');
  const started = Date.now();
  // ovs-vsctl exits 0 only once the daemon acknowledged (else it times out with an error); the
  // timeout is for a loaded machine (well under a second on a quiet one).
  const add = await rig.tryVsctl(['add-port', br, h3.port], { wait: true, timeoutSec: 30 });
  const took = Date.now() - started;
  t.equal(add.code, 0, `a plain ovs-vsctl add-port exits 0 (${add.stderr.trim()})`);
  t.ok(took < 30_000, `and returns once acknowledged (${took} ms)`);
  t.equal((await rig.vsctl(['get', 'Interface', h3.port, 'ofport'])).trim(), '3', 'the new port got number 3');
  t.ok(await reaches(h1, h3), 'h1 reaches h3 on the port added after the restart');
  t.equal(await pings(h2, h1), 0, 'and h2 still reaches h1');
  t.notMatch(rig.proc.stderr(), /"level":"error"/, 'the daemon logged no error');
});
