/**
 * An internal interface moved into another network namespace, as OVS users give a namespace a
 * port on a bridge (`ip link set p1 netns ns1`), with ofswitch in ovs-vswitchd's place: it
 * forwards, its link reads up, it is adopted after kill -9 of the daemon, and a clean stop
 * removes it from that namespace.
 */
import { existsSync } from 'node:fs';
import t from 'tap';
import { addHost, assertRan, createNamespace, run, tryRun, uniqueName, type TestHost } from '../helpers/netns.js';
import { startDaemonRig, waitUntil } from '../helpers/daemon-rig.js';

/** Pings until one answer comes (at most ~5 s): the first ARP may race a port. */
async function reaches(from: TestHost, to: TestHost): Promise<boolean> {
  for (let i = 0; i < 5; i++) if ((await tryRun('ping', ['-c', '1', '-W', '1', to.ip], from.ns)).code === 0) return true;
  return false;
}

t.test('an internal interface moved into a namespace works, survives kill -9, and goes at a clean stop', async (t) => {
  const rig = await startDaemonRig(t);
  const h1 = await addHost(t, 'n1', { ip: '10.87.0.1/24' });
  const ns = await createNamespace('nns', t);
  const br = uniqueName('nb');
  const ix = uniqueName('ni');
  rig.owns(br, ix);
  await rig.vsctl(['add-br', br, '--', 'add-port', br, h1.port, '--', 'add-port', br, ix, '--', 'set', 'Interface', ix, 'type=internal'], { wait: true });
  t.equal((await rig.vsctl(['get', 'Interface', ix, 'ofport'])).trim(), '2', 'the internal port is number 2');
  // As OVS's documentation gives a namespace a port on a bridge.
  await run('ip', ['link', 'set', ix, 'netns', ns]);
  await run('ip', ['addr', 'add', '10.87.0.9/24', 'dev', ix], ns);
  await run('ip', ['link', 'set', ix, 'up'], ns);
  const inside: TestHost = { ns, hostIf: ix, port: ix, mac: '', ip: '10.87.0.9', run: (cmd, args) => run(cmd, args, ns) };
  t.ok(await reaches(h1, inside), 'h1 reaches the address on the moved internal interface');
  await waitUntil(async () => (await rig.vsctl(['get', 'Interface', ix, 'link_state'])).trim() === 'up', 'link_state up');
  t.pass('its link_state is up');
  const show = await rig.ofctl(['show', br]);
  assertRan(t, show, 'ovs-ofctl show');
  t.match(show.stdout, new RegExp(` 2\\(${ix}\\): addr:[0-9a-f:]+\\n\\s+config:\\s+0\\n\\s+state:\\s+0\\n`), 'ovs-ofctl show: neither PORT_DOWN nor LINK_DOWN');

  await rig.kill();
  await rig.start();
  await waitUntil(async () => (await rig.vsctl(['get', 'Interface', ix, 'link_state'])).trim() === 'up', 'link_state up after the restart');
  t.equal((await rig.vsctl(['get', 'Interface', ix, 'ofport'])).trim(), '2', 'restarted: the moved interface is adopted, number 2 again');
  t.equal((await rig.vsctl(['get', 'Interface', ix, 'error'])).trim(), '[]', 'without error');
  t.ok(await reaches(h1, inside), 'h1 reaches it again');

  t.equal(await rig.proc.stop(), 0, 'the daemon stops cleanly');
  t.equal((await tryRun('ip', ['link', 'show', ix], ns)).code, 1, 'the interface is gone from the namespace');
  t.notOk(existsSync(`/sys/class/net/ofl-${ix}`), 'and the switch\'s end with it');
});
