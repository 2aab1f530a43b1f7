/**
 * What an attacker on the machine or the network meets: unix sockets (a punix: listener, the
 * --unixctl control socket) are srwxr-x--- owned by the running user, so another local user is
 * refused (tested as `nobody`: root bypasses file permissions); a plain ptcp: listener on a
 * non-loopback address starts with one warning naming the risk, a loopback or TLS one without.
 */
import t from 'tap';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertRan, createNamespace, tryRun } from '../helpers/netns.js';
import { freePort } from '../helpers/free-port.js';
import { startOfswitch } from '../helpers/ofswitch-process.js';
import { makePki } from '../helpers/ovs-pki.js';
import { isLoopback, listenerRisk } from '../../lib/listener.js';

/** `CMD ARGS` run as the user nobody (no groups), as another local user would. */
const asNobody = (cmd: string, args: readonly string[]) =>
  tryRun('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', cmd, ...args]);

t.test('unix sockets are srwxr-x--- and refuse another local user', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ofswitch-perm-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755); // only the sockets' own modes stand between nobody and them
  const mgmt = join(dir, 'br0.mgmt');
  const ctl = join(dir, 'ofswitch.ctl');
  await startOfswitch(t, ['--listen', `punix:${mgmt}`, '--unixctl', ctl, '--fail-mode', 'secure']);
  for (const path of [mgmt, ctl]) {
    const st = statSync(path);
    t.ok(st.isSocket(), `${path} is a socket`);
    t.equal((st.mode & 0o777).toString(8), '750', `${path} is srwxr-x---`);
    t.equal(st.uid, process.getuid!(), `${path} is owned by the running user`);
  }
  const own = await tryRun('ovs-ofctl', ['--timeout=10', 'show', `unix:${mgmt}`]);
  assertRan(t, own, 'ovs-ofctl show as the owner');
  const other = await asNobody('ovs-ofctl', ['--timeout=10', 'show', `unix:${mgmt}`]);
  t.not(other.code, 0, 'ovs-ofctl show as nobody fails');
  t.match(other.stderr, /Permission denied/, 'refused by the socket permissions');
  const appctl = await asNobody('ovs-appctl', ['--timeout=10', '-t', ctl, 'version']);
  t.not(appctl.code, 0, 'ovs-appctl as nobody fails');
  t.match(appctl.stderr, /Permission denied/, 'the control socket refuses it too');
  // The same command as nobody works once the socket lets everyone in: what refused it was the mode.
  chmodSync(mgmt, 0o777);
  const opened = await asNobody('ovs-ofctl', ['--timeout=10', 'show', `unix:${mgmt}`]);
  assertRan(t, opened, 'ovs-ofctl show as nobody on a socket opened to everyone');
});

t.test('a plain ptcp: listener on a non-loopback address warns once, naming the risk', async (t) => {
  // In a namespace of its own, 0.0.0.0 reaches nothing but that namespace's loopback.
  const ns = await createNamespace('exp', t);
  const pki = await makePki(t);
  const sw = await pki.sign('sw', 'switch');
  const open = await freePort();
  const proc = await startOfswitch(
    t,
    [
      '--listen', `ptcp:${open}:0.0.0.0`,
      '--listen', `ptcp:${await freePort()}:127.0.0.1`,
      '--listen', `pssl:${await freePort()}:0.0.0.0`,
      '--private-key', sw.key, '--certificate', sw.cert, '--ca-cert', pki.controllerCa,
    ],
    { ns },
  );
  const warnings = proc.stderr().split('\n').filter((l) => l.includes('"level":"warn"'));
  t.equal(warnings.length, 1, 'one warning');
  t.match(warnings[0] ?? '', `"listen":"ptcp:${open}:0.0.0.0"`, 'naming the listener');
  t.match(warnings[0] ?? '', /anyone who reaches it controls the switch/, 'and the risk');
  t.match(warnings[0] ?? '', /use pssl:/, 'and the remedy');
});

t.test('which addresses are loopback', async (t) => {
  for (const host of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) t.ok(isLoopback(host), `${host} is loopback`);
  for (const host of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.1', 'fe80::1', 'localhost']) t.notOk(isLoopback(host), `${host} is not`);
  t.equal(listenerRisk({ path: '/tmp/x.sock' }), null, 'a unix socket: its permissions guard it');
  t.equal(listenerRisk({ host: '0.0.0.0', port: 1, tls: true }), null, 'TLS: certificates guard it');
  t.equal(listenerRisk({ host: '127.0.0.1', port: 1 }), null, 'loopback');
  t.match(listenerRisk({ host: '::', port: 1 }) ?? '', /pssl:/, 'all IPv6 addresses');
});
