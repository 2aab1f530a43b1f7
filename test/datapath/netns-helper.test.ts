import t from 'tap';
import { existsSync } from 'node:fs';
import { addHost, cleanup, run, tryRun, uniqueName, spawnIn, setLinkDown } from '../helpers/netns.js';

t.test('uniqueName carries the pid and refuses names over 15 characters', async (t) => {
  t.match(uniqueName('x'), new RegExp(`^of${process.pid}x$`));
  t.throws(() => uniqueName('a-very-long-tag'));
});

t.test('addHost makes a namespace with an addressed eth0 and a root-side port; cleanup removes both', async (t) => {
  const h = await addHost(t, 'nh', { ip: '10.213.0.1/24', mac: '02:00:00:00:00:01' });
  t.equal(h.mac, '02:00:00:00:00:01');
  t.equal(h.ip, '10.213.0.1');
  t.ok(existsSync(`/sys/class/net/${h.port}`), 'root-side port exists');
  t.match(await h.run('ip', ['-br', 'addr', 'show', 'eth0']), /10\.213\.0\.1\/24/);
  const offload = await h.run('ethtool', ['-k', 'eth0']);
  t.match(offload, /tx-checksumming: off/);
  const sleeper = spawnIn('sleep', ['30'], h.ns);
  await setLinkDown(h.port);
  t.equal((await tryRun('false', [])).code, 1);
  await cleanup();
  t.notOk(existsSync(`/sys/class/net/${h.port}`), 'port removed');
  t.notMatch(await run('ip', ['netns', 'list']), h.ns);
  t.ok(sleeper.killed);
});
