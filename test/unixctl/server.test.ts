/**
 * The control socket against the real ovs-appctl (-t PATH): list-commands and version, OVS's
 * error texts for unknown commands and argument counts (stderr, exit status 2), async handlers,
 * handler failures; then what ovs-appctl never sends, over a raw connection: non-string
 * arguments, invalid messages (dropped without a reply), pipelined requests (answered in order).
 * Where Open vSwitch itself answers the same thing (an ovsdb-server of our own), the texts are
 * compared with its.
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  registerMemoryCommand,
  registerVlogCommands,
  UnixctlError,
  UnixctlServer,
  UnixSocketError,
  type LoggerLevel,
} from '../../unixctl/index.js';
import { appctl, makeStaleSocket, rawExchange, runTool } from './appctl.js';

interface Entry {
  level: string;
  msg: string;
  fields?: Readonly<Record<string, unknown>>;
}

function capturingLog(): { entries: Entry[]; debug: (m: string, f?: Record<string, unknown>) => void; warn: (m: string, f?: Record<string, unknown>) => void; error: (m: string, f?: Record<string, unknown>) => void } {
  const entries: Entry[] = [];
  const add = (level: string) => (msg: string, fields?: Readonly<Record<string, unknown>>) => void entries.push({ level, msg, ...(fields ? { fields } : {}) });
  return { entries, debug: add('debug'), warn: add('warn'), error: add('error') };
}

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'unixctl-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A server with the test's commands, listening in a fresh directory. */
async function startServer(t: Test): Promise<{ server: UnixctlServer; path: string; log: ReturnType<typeof capturingLog> }> {
  const log = capturingLog();
  const server = new UnixctlServer({ version: 'ofswitch (ofswitch) 9.8.7', log });
  server.register('fdb/show', 'bridge', 1, 1, (args) => `fdb of ${args[0]}`);
  server.register('a-command-name-longer-than-23', '', 0, 0, () => 'long');
  server.register('async/echo', '[word]...', 0, Infinity, async (args) => {
    await new Promise((r) => setTimeout(r, 50));
    return args.join(' ');
  });
  server.register('quiet', '', 0, 0, () => {});
  server.register('fails', '', 0, 0, () => {
    throw new UnixctlError('no such bridge');
  });
  server.register('buggy', '', 0, 0, () => {
    throw new TypeError('boom');
  });
  server.register('buggy/async', '', 0, 0, () => Promise.reject('not an Error'));
  let level: LoggerLevel = 'info';
  registerVlogCommands(server, { module: 'ofswitch', level: () => level, setLevel: (l) => (level = l) });
  registerMemoryCommand(server);
  const path = join(tempDir(t), 'test.ctl');
  await server.listen(path);
  t.teardown(() => server.close());
  return { server, path, log };
}

t.test('list-commands and version through ovs-appctl', async (t) => {
  const { path } = await startServer(t);
  const list = await appctl(path, ['list-commands']);
  t.equal(list.code, 0, list.stderr);
  t.ok(list.stdout.length > 0);
  t.equal(
    list.stdout,
    'The available commands are:\n' +
      '  a-command-name-longer-than-23 \n' +
      '  async/echo              [word]...\n' +
      '  buggy                   \n' +
      '  buggy/async             \n' +
      '  fails                   \n' +
      '  fdb/show                bridge\n' +
      '  list-commands           \n' +
      '  memory/show             \n' +
      '  quiet                   \n' +
      '  version                 \n' +
      '  vlog/list               \n' +
      '  vlog/reopen             \n' +
      '  vlog/set                {spec | PATTERN:destination:pattern}\n',
  );
  const version = await appctl(path, ['version']);
  t.equal(version.code, 0, version.stderr);
  t.equal(version.stdout, 'ofswitch (ofswitch) 9.8.7\n');
});

t.test('commands run with their arguments; async handlers; empty results', async (t) => {
  const { path } = await startServer(t);
  const fdb = await appctl(path, ['fdb/show', 'br0']);
  t.equal(fdb.code, 0, fdb.stderr);
  t.equal(fdb.stdout, 'fdb of br0\n', 'a newline is added to a reply without one');
  const echo = await appctl(path, ['async/echo', 'a', 'b c', 'd']);
  t.equal(echo.code, 0, echo.stderr);
  t.equal(echo.stdout, 'a b c d\n');
  const quiet = await appctl(path, ['quiet']);
  t.equal(quiet.code, 0, quiet.stderr);
  t.equal(quiet.stdout, '');
  const memory = await appctl(path, ['memory/show']);
  t.equal(memory.code, 0, memory.stderr);
  t.match(memory.stdout, /^array-buffers-kB:\d+ external-kB:\d+ heap-total-kB:\d+ heap-used-kB:\d+ rss-kB:\d+\n$/);
});

t.test('unknown commands and wrong argument counts: OVS texts on stderr, exit status 2', async (t) => {
  const { path } = await startServer(t);
  const cases: [string[], string][] = [
    [['nosuch'], '"nosuch" is not a valid command (use "list-commands" to see a list of valid commands)'],
    [['fdb/show'], '"fdb/show" command requires at least 1 arguments'],
    [['fdb/show', 'br0', 'br1'], '"fdb/show" command takes at most 1 arguments'],
    [['version', 'extra'], '"version" command takes at most 0 arguments'],
    [['fails'], 'no such bridge'],
  ];
  for (const [args, text] of cases) {
    const r = await appctl(path, args);
    t.equal(r.code, 2, args.join(' '));
    t.equal(r.stdout, '');
    t.equal(r.stderr, `${text}\novs-appctl: ${path}: server returned an error\n`);
  }
});

t.test('a handler that throws anything else: an error reply naming the command, and an error log', async (t) => {
  const { path, log } = await startServer(t);
  const r = await appctl(path, ['buggy']);
  t.equal(r.code, 2);
  t.match(r.stderr, /^"buggy" command failed: boom\n/);
  const a = await appctl(path, ['buggy/async']);
  t.equal(a.code, 2);
  t.match(a.stderr, /^"buggy\/async" command failed: not an Error\n/);
  const errors = log.entries.filter((e) => e.level === 'error');
  t.equal(errors.length, 2);
  t.match(errors[0], { msg: 'unixctl command failed', fields: { command: 'buggy', error: /TypeError: boom/ } });
  const check = await appctl(path, ['version']);
  t.equal(check.code, 0, 'the server goes on');
});

t.test('what ovs-appctl never sends: non-string arguments, pipelined requests, invalid messages', async (t) => {
  const { path, log } = await startServer(t);
  const nonString = await rawExchange(path, '{"method":"fdb/show","params":[1],"id":7}');
  t.equal(nonString.received, '{"id":7,"error":"\\"fdb/show\\" command has non-string argument\\n"}');
  t.equal(nonString.closed, false, 'the connection stays open');
  const tooManyFirst = await rawExchange(path, '{"method":"version","params":[1],"id":1}');
  t.equal(tooManyFirst.received, '{"id":1,"error":"\\"version\\" command takes at most 0 arguments\\n"}', 'counts are checked before types');

  const pipelined = await rawExchange(
    path,
    '{"method":"async/echo","params":["first"],"id":"a"} {"method":"version","params":[],"id":[1,2],"error":null}' +
      '{"method":"fdb/show","params":["x"],"id":1.5,"result":null}',
  );
  t.equal(
    pipelined.received,
    '{"id":"a","result":"first\\n","error":null}' +
      '{"id":[1,2],"result":"ofswitch (ofswitch) 9.8.7\\n","error":null}' +
      '{"id":1.5,"result":"fdb of x\\n","error":null}',
    'answered one at a time, in order, ids as sent',
  );

  const invalid: [string, RegExp][] = [
    ['{"method":"version","params":{},"id":1}', /params/],
    ['{"method":"version","params":[],"id":null}', /notification/],
    ['{"method":"version","id":1}', /params/],
    ['{"method":7,"params":[],"id":1}', /method/],
    ['{"method":"version","params":[],"id":1,"extra":2}', /unexpected member "extra"/],
    ['{"result":"x","error":null,"id":1}', /reply/],
    ['{"error":"x","id":1}', /reply/],
    ['[1,2]', /not a JSON object/],
    ['{"method":}', /not JSON/],
    ['"version"', /between JSON values/],
  ];
  for (const [text, reason] of invalid) {
    const r = await rawExchange(path, text);
    t.same(r, { received: '', closed: true }, `${text}: dropped without a reply`);
    t.match(log.entries.at(-1), { level: 'warn', msg: 'unixctl connection dropped', fields: { reason } });
  }
  const before = await rawExchange(path, '{"method":"async/echo","params":["kept"],"id":3}{"bad":1}{"method":"version","params":[],"id":4}');
  t.same(before, { received: '{"id":3,"result":"kept\\n","error":null}', closed: true }, 'requests before a bad message are answered, nothing after');
});

t.test('socket path ownership: stale replaced, live refused, other files kept, cleanup on close', async (t) => {
  const dir = tempDir(t);
  const log = capturingLog();

  const stale = join(dir, 'stale.ctl');
  await makeStaleSocket(stale);
  t.ok(existsSync(stale));
  const s1 = new UnixctlServer({ version: 'v', log });
  await s1.listen(stale);
  t.equal(s1.path, stale);
  t.equal((await appctl(stale, ['version'])).stdout, 'v\n', 'a stale socket file is replaced');
  await t.rejects(s1.listen(join(dir, 'again.ctl')), /already listening/);

  const s2 = new UnixctlServer({ version: 'v', log });
  await t.rejects(s2.listen(stale), UnixSocketError);
  await t.rejects(s2.listen(stale), /another process is listening on this socket/);
  t.equal((await appctl(stale, ['version'])).code, 0, 'the live server is untouched');

  const plain = join(dir, 'plain');
  writeFileSync(plain, 'keep me');
  await t.rejects(s2.listen(plain), /exists and is not a socket/);
  t.ok(existsSync(plain));
  await t.rejects(s2.listen(join(dir, 'x'.repeat(120))), /too long for a unix socket/);
  await t.rejects(s2.listen(''), /empty unix socket path/);
  await t.rejects(s2.listen(join(dir, 'no-such-dir', 'x.ctl')), UnixSocketError);
  await t.rejects(s2.listen(join(plain, 'x.ctl')), UnixSocketError, 'a path under a file');

  await s1.close();
  t.notOk(existsSync(stale), 'close removes the socket file');
  t.equal(s1.path, null);
  await s1.close();
  await s2.close();
});

t.test('close disconnects idle clients', async (t) => {
  const { server, path } = await startServer(t);
  const idle = await import('node:net').then(({ connect }) => connect(path));
  await new Promise<void>((resolve) => idle.once('connect', () => resolve()));
  const ended = new Promise<void>((resolve) => idle.once('close', () => resolve()));
  idle.on('error', () => {});
  idle.resume();
  await server.close();
  await ended;
  t.pass('an idle client is disconnected by close');
});

t.test('registration errors are programming errors', async (t) => {
  const server = new UnixctlServer({ version: 'v', log: capturingLog() });
  t.throws(() => server.register('version', '', 0, 0, () => ''), /already registered/);
  t.throws(() => server.register('x', '', 2, 1, () => ''), /bad argument counts/);
  t.throws(() => server.register('y', '', -1, 1, () => ''), /bad argument counts/);
  t.same(await server.execute('nosuch', []), { ok: false, text: '"nosuch" is not a valid command (use "list-commands" to see a list of valid commands)\n' });
});

/** An ovsdb-server of our own (its own run directory), for Open vSwitch's texts. */
async function startOvsdbServer(t: Test): Promise<string> {
  const dir = tempDir(t);
  const db = join(dir, 'conf.db');
  const created = await runTool('ovsdb-tool', ['create', db, '/usr/share/openvswitch/vswitch.ovsschema']);
  if (created.code !== 0) throw new Error(`ovsdb-tool create failed: ${created.stderr}`);
  const ctl = join(dir, 'ovsdb-server.ctl');
  const env = { ...process.env, OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir };
  const child = spawn('ovsdb-server', [db, `--unixctl=${ctl}`, '--no-chdir', '-vconsole:off'], { env, stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.teardown(async () => {
    child.kill('SIGTERM');
    await exited;
  });
  for (let i = 0; i < 100 && !existsSync(ctl); i++) await new Promise((r) => setTimeout(r, 50));
  if (!existsSync(ctl)) throw new Error('ovsdb-server did not create its control socket');
  return ctl;
}

t.test('the same texts as Open vSwitch\'s own daemon', async (t) => {
  const ovs = await startOvsdbServer(t);
  const { path } = await startServer(t);
  const both = async (args: string[]): Promise<[Awaited<ReturnType<typeof appctl>>, Awaited<ReturnType<typeof appctl>>]> => [
    await appctl(ovs, args),
    await appctl(path, args),
  ];

  const [ovsList, ourList] = await both(['list-commands']);
  t.equal(ovsList.code, 0, ovsList.stderr);
  t.equal(ourList.code, 0, ourList.stderr);
  const lines = (s: string): string[] => s.split('\n');
  t.equal(lines(ourList.stdout)[0], lines(ovsList.stdout)[0], 'heading');
  for (const name of ['list-commands', 'version', 'memory/show', 'vlog/list', 'vlog/reopen', 'vlog/set']) {
    const line = (s: string): string | undefined => lines(s).find((l) => l.startsWith(`  ${name} `));
    t.ok(line(ovsList.stdout), `${name} is listed by Open vSwitch`);
    t.equal(line(ourList.stdout), line(ovsList.stdout), `${name}: the same line`);
  }

  const firstLine = (r: { stderr: string }): string => lines(r.stderr)[0] ?? '';
  for (const args of [['nosuch'], ['version', 'extra'], ['vlog/set', 'foo'], ['vlog/set', 'ANY:console:dbg', 'dbg:warn'], ['vlog/set', 'PATTERN'], ['vlog/set', 'PATTERN:nowhere:%m'], ['vlog/reopen']]) {
    const [o, u] = await both(args);
    t.equal(o.code, 2, `Open vSwitch: ${args.join(' ')}`);
    t.equal(u.code, 2, `ofswitch: ${args.join(' ')}`);
    t.equal(firstLine(u), firstLine(o), args.join(' '));
  }
  for (const args of [['vlog/set', 'ANY:console:warn'], ['vlog/set', 'console:info', 'dbg']]) {
    const [o, u] = await both(args);
    t.same([o.code, o.stdout], [0, ''], `Open vSwitch: ${args.join(' ')}`);
    t.same([u.code, u.stdout], [0, ''], `ofswitch: ${args.join(' ')}`);
  }

  const [ovsFew] = await both(['ovsdb-server/add-db']);
  const ourFew = await appctl(path, ['fdb/show']);
  t.equal(firstLine(ourFew).replace('fdb/show', 'X'), firstLine(ovsFew).replace('ovsdb-server/add-db', 'X'), 'too few arguments');

  const [ovsVlog, ourVlog] = await both(['vlog/list']);
  t.equal(ovsVlog.code, 0);
  t.same(lines(ourVlog.stdout).slice(0, 2), lines(ovsVlog.stdout).slice(0, 2), 'vlog/list heading');
  const columns = (line: string): number[] => [...line.matchAll(/\S+/g)].map((m) => (m.index ?? 0) + m[0].length);
  const ovsRow = lines(ovsVlog.stdout).find((l) => l.startsWith('vlog '));
  t.same(columns(lines(ourVlog.stdout)[2] ?? '').slice(1), columns(ovsRow ?? '').slice(1), 'level columns end where OVS\'s do');
});
