/**
 * The switch command's control socket as ovs-appctl drives it: version names ofswitch and its
 * package version, vlog/set really changes what the logger writes, exit calls the shutdown back
 * after replying, memory/show answers, and a live socket at the path is refused.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlSocket, versionText } from '../../lib/control-socket.js';
import { createLogger } from '../../lib/log.js';
import { packageVersion } from '../../lib/version.js';
import { UnixSocketError } from '../../unixctl/index.js';
import { appctl } from '../unixctl/appctl.js';

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'control-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('version, vlog, memory/show and exit through ovs-appctl', async (t) => {
  const path = join(tempDir(t), 'ofswitch.ctl');
  const lines: string[] = [];
  const log = createLogger({ level: 'info', write: (l) => lines.push(l) });
  let exits = 0;
  const server = await startControlSocket(path, log, 'info', () => exits++);
  t.teardown(() => server.close());
  t.match(lines.map((l) => JSON.parse(l)), [{ msg: 'control socket listening', unixctl: path }]);

  const version = await appctl(path, ['version']);
  t.equal(version.code, 0, version.stderr);
  t.equal(version.stdout, `ofswitch (ofswitch) ${packageVersion()}\n`);
  t.equal(versionText(), `ofswitch (ofswitch) ${packageVersion()}`);

  const list = await appctl(path, ['list-commands']);
  t.equal(list.code, 0, list.stderr);
  t.same(
    list.stdout.split('\n').slice(1, -1).map((l) => l.trim().split(' ')[0]),
    ['exit', 'list-commands', 'memory/show', 'version', 'vlog/list', 'vlog/reopen', 'vlog/set'],
  );

  log.debug('before');
  const set = await appctl(path, ['vlog/set', 'dbg']);
  t.equal(set.code, 0, set.stderr);
  t.equal(set.stdout, '');
  log.debug('after');
  const vlog = await appctl(path, ['vlog/list']);
  t.equal(vlog.code, 0, vlog.stderr);
  t.match(vlog.stdout, /\nofswitch           DBG        OFF        OFF\n$/);
  const set2 = await appctl(path, ['vlog/set', 'console:warn']);
  t.equal(set2.code, 0, set2.stderr);
  log.info('hidden');
  const msgs = lines.map((l) => JSON.parse(l).msg as string);
  t.ok(msgs.includes('after'), 'debug lines are written after vlog/set dbg');
  t.notOk(msgs.includes('before'), 'and were not before');
  t.notOk(msgs.includes('hidden'), 'info lines are not after vlog/set console:warn');

  const memory = await appctl(path, ['memory/show']);
  t.equal(memory.code, 0, memory.stderr);
  t.match(memory.stdout, /^array-buffers-kB:\d+ external-kB:\d+ heap-total-kB:\d+ heap-used-kB:\d+ rss-kB:\d+\n$/);

  const exit = await appctl(path, ['exit']);
  t.equal(exit.code, 0, exit.stderr);
  t.equal(exit.stdout, '');
  await new Promise((r) => setImmediate(r));
  t.equal(exits, 1, 'the shutdown callback ran');
});

t.test('a live control socket at the path is refused', async (t) => {
  const path = join(tempDir(t), 'ofswitch.ctl');
  const log = createLogger({ write: () => {} });
  const first = await startControlSocket(path, log, 'info', () => {});
  t.teardown(() => first.close());
  await t.rejects(startControlSocket(path, log, 'info', () => {}), UnixSocketError);
});
