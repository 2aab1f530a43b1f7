/**
 * The demo: `ofswitch` with no options creates three test hosts on a standalone switch listening on
 * ptcp:6634:127.0.0.1, prints what to try, forwards between the hosts, and removes the hosts when
 * it stops. It runs in the root namespace, as a user runs it (`ip netns add` does not work from
 * inside `ip netns exec`); no other test listens on 6634 there.
 */
import t from 'tap';
import { assertRan, run, tryRun } from '../helpers/netns.js';
import { ofctl } from '../helpers/ofctl.js';
import { startOfswitch } from '../helpers/ofswitch-process.js';
import { DEMO_HOSTS, removeDemoHosts } from '../../lib/demo.js';

t.test('the demo runs three hosts on a learning switch and cleans up after itself', async (t) => {
  t.teardown(() => removeDemoHosts());
  const sw = await startOfswitch(t, []);
  for (let i = 0; i < 50 && !sw.stdout().includes('Ctrl-C'); i++) await new Promise((r) => setTimeout(r, 100));
  t.match(sw.stdout(), /ofswitch demo: 3 test hosts/, 'says what it is');
  t.match(sw.stdout(), /ovs-ofctl dump-flows tcp:127\.0\.0\.1:6634/, 'says what to try');
  const namespaces = await run('ip', ['netns', 'list']);
  for (const h of DEMO_HOSTS) t.match(namespaces, h.namespace, `${h.namespace} exists`);

  for (const [from, to] of [[0, 1], [0, 2], [2, 1]] as const) {
    const a = DEMO_HOSTS[from];
    const b = DEMO_HOSTS[to];
    if (!a || !b) {
      t.fail(`no demo host ${from} or ${to}`);
      continue;
    }
    const ping = await tryRun('ping', ['-c', '2', '-W', '3', b.ip], a.namespace);
    t.equal(ping.code, 0, `${a.name} reaches ${b.name}`);
  }
  const flows = await ofctl(undefined, 'tcp:127.0.0.1:6634', 'dump-flows');
  assertRan(t, flows, 'ovs-ofctl dump-flows');
  t.match(flows.stdout, /priority=0 actions=NORMAL/, 'the visible NORMAL flow of standalone mode');
  const show = await ofctl(undefined, 'tcp:127.0.0.1:6634', 'show');
  assertRan(t, show, 'ovs-ofctl show');
  for (const [i, h] of DEMO_HOSTS.entries()) t.match(show.stdout, `${i + 1}(${h.port})`, `port ${i + 1} is ${h.port}`);

  t.equal(await sw.stop(), 0, 'stops cleanly on SIGTERM');
  const after = await run('ip', ['netns', 'list']);
  for (const h of DEMO_HOSTS) t.notMatch(after, h.namespace, `${h.namespace} removed`);
});
