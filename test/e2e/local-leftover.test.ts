/**
 * The `--local` interface after a crash: a switch killed with SIGKILL leaves its veth pair, marked
 * with its pid on the switch's end (the interface alias); the next start finds it, sees its maker
 * is dead, removes it and makes its own, which a clean stop then removes. A pair whose maker still
 * runs is never taken: a second switch asking for it fails to start (exit status 2) and leaves it
 * alone. Everything happens inside a namespace of the test's own.
 */
import t from 'tap';
import { createNamespace, run, tryRun } from '../helpers/netns.js';
import { freePort } from '../helpers/free-port.js';
import { startOfswitch } from '../helpers/ofswitch-process.js';

t.test('--local after kill -9: found, removed and made again as ours; a running owner keeps it', async (t) => {
  const ns = await createNamespace('lleft', t);
  const local = 'ofloc0';
  const peer = `ofl-${local}`;
  const read = async (ifname: string, attr: string): Promise<string> => (await tryRun('cat', [`/sys/class/net/${ifname}/${attr}`], ns)).stdout.trim();
  const args = async (): Promise<string[]> => ['--local', local, '--listen', `ptcp:${await freePort()}`, '--fail-mode', 'standalone'];

  const first = await startOfswitch(t, await args(), { ns });
  const firstIndex = await read(local, 'ifindex');
  t.not(firstIndex, '', 'the switch made the interface');
  t.match(await read(peer, 'ifalias'), new RegExp(`^ofswitch pid=${first.child.pid} start=\\d+$`), "the switch's end names its maker");
  first.child.kill('SIGKILL');
  t.equal(await first.exited, 'SIGKILL');
  t.equal(await read(local, 'ifindex'), firstIndex, 'the killed switch left the interface behind');

  const second = await startOfswitch(t, await args(), { ns });
  t.match(second.stderr(), new RegExp(`"interface":"${local}","pid":${first.child.pid},"msg":"removed the internal interface a killed ofswitch left"`), 'the leftover is found and removed, in one log line');
  const secondIndex = await read(local, 'ifindex');
  t.not(secondIndex, '', 'there is an interface again');
  t.not(secondIndex, firstIndex, 'a new one, made by this switch');
  t.match(await read(peer, 'ifalias'), new RegExp(`^ofswitch pid=${second.child.pid} `), 'marked as the new switch\'s');

  const third = await startOfswitch(t, await args(), { ns, ready: false });
  t.equal(await third.exited, 2, 'a second switch asking for a running one\'s interface exits with status 2');
  t.match(third.stderr(), `the internal interface ${local} belongs to the running ofswitch pid ${second.child.pid}`);
  t.equal(await read(local, 'ifindex'), secondIndex, 'and leaves it alone');

  t.equal(await second.stop(), 0, 'a clean stop');
  const links = await run('ip', ['-br', 'link'], ns);
  t.match(links, /^lo\b/m, 'ip lists the namespace\'s links');
  t.notMatch(links, new RegExp(local), 'the interface the switch made is removed on exit');
});
