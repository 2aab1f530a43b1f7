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
  t.equal((await tryRun('false', [])).code, 1, 'an exit status is an answer');
  await t.rejects(tryRun('of-no-such-program', []), /of-no-such-program is not installed/, 'a missing program is not an exit status');
  await t.rejects(tryRun('of-no-such-program', [], h.ns), /not installed/, 'not inside a namespace either (ip netns exec would exit 1)');
  await t.rejects(tryRun('sh', ['-c', 'kill -9 $$']), /killed by SIGKILL/, 'nor is a kill');
  t.throws(() => spawnIn('of-no-such-program', []), /not installed/, 'spawnIn refuses a missing program at once');
  await cleanup();
  t.notOk(existsSync(`/sys/class/net/${h.port}`), 'port removed');
  t.notMatch(await run('ip', ['netns', 'list']), h.ns);
  t.ok(sleeper.killed);
});
