/**
 * The Mirror table with the daemon in this process (so that its reconciler and status writer are
 * measured by coverage), against the real ovsdb-server and ovs-vsctl: a mirror made, changed and
 * removed with ovs-vsctl, real pings between test hosts, and `statistics` written back.
 */
import t from 'tap';
import { startInProcessDaemon } from '../helpers/inprocess-daemon.js';
import { startOvsdbServer } from '../helpers/ovsdb-server.js';
import { waitUntil } from '../helpers/daemon-rig.js';
import { addHost, tryRun, uniqueName, type TestHost } from '../helpers/netns.js';

async function neighbours(a: TestHost, b: TestHost): Promise<void> {
  await a.run('ip', ['neigh', 'replace', b.ip, 'lladdr', b.mac, 'dev', 'eth0', 'nud', 'permanent']);
  await b.run('ip', ['neigh', 'replace', a.ip, 'lladdr', a.mac, 'dev', 'eth0', 'nud', 'permanent']);
}

t.test('a mirror made, changed and removed with ovs-vsctl; statistics written back', async (t) => {
  const db = await startOvsdbServer(t);
  const daemon = await startInProcessDaemon(t, db.remote);
  const vsctl = (args: string[]): Promise<string> => db.vsctl(args, { wait: true });
  const br = uniqueName('mib');
  await vsctl(['add-br', br]);
  t.teardown(() => tryRun('ip', ['link', 'del', br]).then(() => undefined));
  const h1 = await addHost(t, 'mi1', { ip: '10.87.0.1/24' });
  const h2 = await addHost(t, 'mi2', { ip: '10.87.0.2/24' });
  const mon = await addHost(t, 'mim');
  for (const h of [h1, h2, mon]) await vsctl(['add-port', br, h.port]);
  await neighbours(h1, h2);
  await vsctl([
    '--', '--id=@h1', 'get', 'port', h1.port, '--', '--id=@p', 'get', 'port', mon.port,
    '--', '--id=@m', 'create', 'mirror', 'name=m0', 'select-src-port=@h1', 'output-port=@p',
    '--', 'add', 'bridge', br, 'mirrors', '@m',
  ]);
  // A second mirror without an output: not made (and never given statistics).
  await vsctl(['--', '--id=@m', 'create', 'mirror', 'name=nowhere', 'select-all=true', '--', 'add', 'bridge', br, 'mirrors', '@m']);
  const sw = daemon.reconciler.bridges.get(br)?.sw;
  t.match(sw?.mirrors(), [{ name: 'm0', active: true, txPackets: 0 }, { name: 'nowhere', active: false }], 'the switch runs the mirror, not the one without output');

  const stats = async (): Promise<string> => (await db.vsctl(['get', 'mirror', 'm0', 'statistics'])).trim();
  const ping = await tryRun('ping', ['-c', '3', '-i', '0.2', '-W', '1', h2.ip], h1.ns);
  t.equal(ping.code, 0, 'h1 pings h2 three times');
  await waitUntil(async () => (await stats()) === '{tx_bytes=294, tx_packets=3}', 'statistics {tx_bytes=294, tx_packets=3}', 10_000);
  t.pass('ovs-vsctl get mirror m0 statistics: {tx_bytes=294, tx_packets=3} (h1\'s requests only)');

  await vsctl(['set', 'mirror', 'm0', 'select_all=true']);
  t.match(sw?.mirrors(), [{ name: 'm0', active: true, txPackets: 3 }], 'changed: the same row keeps its counters');
  const again = await tryRun('ping', ['-c', '2', '-i', '0.2', '-W', '1', h2.ip], h1.ns);
  t.equal(again.code, 0, 'h1 pings h2 twice more');
  // select_all also copies whatever else crosses the bridge meanwhile (an ARP re-check under load):
  // at least the 4 ping frames, and the column says what the switch counted.
  const counted = (text: string): number => Number(/tx_packets=(\d+)/.exec(text)?.[1] ?? 0);
  await waitUntil(async () => counted(await stats()) >= 7, 'statistics tx_packets >= 7', 10_000);
  await waitUntil(async () => {
    const m = sw?.mirrors()[0];
    return (await stats()) === `{tx_bytes=${m?.txBytes}, tx_packets=${m?.txPackets}}`;
  }, 'the column equal to the switch\'s counters', 10_000);
  t.pass('select_all: requests and replies counted (3 + at least 2 x 2), written back as counted');
  t.equal((await db.vsctl(['get', 'mirror', 'nowhere', 'statistics'])).trim(), '{}', 'the mirror that was not made has no statistics');

  await vsctl(['clear', 'bridge', br, 'mirrors']);
  t.same(sw?.mirrors(), [], 'removed');
  await mon.run('ip', ['addr', 'add', '10.87.0.9/24', 'dev', 'eth0']);
  const plain = await tryRun('ping', ['-c', '1', '-W', '2', h1.ip], mon.ns);
  t.equal(plain.code, 0, 'the former mirror port forwards again: its host pings h1');
});
