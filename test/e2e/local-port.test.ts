/**
 * The LOCAL port: `--local NAME` gives the switch its own host interface NAME, like the
 * bridge-named internal interface of Open vSwitch, so the host can put an address on it and reach
 * the hosts behind the switch; it is removed when the switch stops. The "host" here is a namespace
 * of the test's own holding the switch and its ports, so every address stays inside namespaces.
 */
import t from 'tap';
import { addHost, assertRan, createNamespace, moveToNamespace, run, setLinkUp, tryRun } from '../helpers/netns.js';
import { ofctl } from '../helpers/ofctl.js';
import { startOfswitch } from '../helpers/ofswitch-process.js';

t.test('--local NAME: an interface the host addresses to reach the hosts behind the switch', async (t) => {
  const sw = await createNamespace('lsw', t);
  const hosts = [await addHost(t, 'lh1', { ip: '10.79.0.1/24' }), await addHost(t, 'lh2', { ip: '10.79.0.2/24' })];
  for (const h of hosts) {
    await moveToNamespace(h.port, sw);
    await setLinkUp(h.port, sw);
  }
  const local = 'ofbr0';
  const before = await run('ip', ['-br', 'link'], sw);
  t.match(before, new RegExp(`^${hosts[0]?.port}\\b`, 'm'), 'ip lists the namespace\'s links');
  t.notMatch(before, /ofbr0/, 'no such interface before the switch starts');
  const proc = await startOfswitch(
    t,
    [...hosts.flatMap((h) => ['--port', h.port]), '--local', local, '--listen', 'ptcp:6634', '--fail-mode', 'standalone'],
    { ns: sw },
  );
  await run('ip', ['addr', 'add', '10.79.0.100/24', 'dev', local], sw);
  const show = await ofctl(sw, 'tcp:127.0.0.1:6634', 'show');
  assertRan(t, show, 'ovs-ofctl show');
  const mac = (await run('cat', [`/sys/class/net/${local}/address`], sw)).trim();
  t.match(show.stdout, new RegExp(`LOCAL\\(${local}\\): addr:${mac}`), 'ovs-ofctl show lists LOCAL(ofbr0) with its MAC');
  for (const h of hosts) {
    const ping = await tryRun('ping', ['-c', '2', '-W', '3', h.ip], sw);
    t.equal(ping.code, 0, `the host reaches ${h.ip} through the LOCAL port`);
  }
  const back = await tryRun('ping', ['-c', '2', '-W', '3', '10.79.0.100'], hosts[0]?.ns);
  t.equal(back.code, 0, 'a host behind the switch reaches the host');
  t.equal(await proc.stop(), 0, 'the switch stops cleanly');
  const after = await run('ip', ['-br', 'link'], sw);
  t.match(after, new RegExp(`^${hosts[0]?.port}\\b`, 'm'), 'ip lists the namespace\'s links');
  t.notMatch(after, /ofbr0|ofl-ofbr0/, 'the local interface is removed on exit');
});
