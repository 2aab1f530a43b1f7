/**
 * TLS in database mode, as an operator sets it up for ovs-vswitchd: `ovs-vsctl set-ssl KEY CERT CA`
 * (the Open_vSwitch table's ssl column and its SSL row), then Controller targets `ssl:` (an
 * ovs-testcontroller listening on pssl:, is_connected written back) and `pssl:` (ovs-ofctl over
 * ssl:), with the real ovsdb-server and the daemon as a child process. A new set-ssl applies to the
 * next connection; the bridge's BRIDGE.mgmt socket refuses another local user.
 */
import t from 'tap';
import { chmodSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { assertRan, spawnIn, tryRun, uniqueName } from '../helpers/netns.js';
import { freePort, waitListening } from '../helpers/free-port.js';
import { startDaemonRig, waitUntil } from '../helpers/daemon-rig.js';
import { makePki } from '../helpers/ovs-pki.js';
import { ovsRunDir } from '../helpers/ovs-rundir.js';

t.test('ovs-vsctl set-ssl, then ssl: and pssl: controller targets', async (t) => {
  const pki = await makePki(t);
  const sw = await pki.sign('sw', 'switch');
  const sw2 = await pki.sign('sw2', 'switch');
  const ctl = await pki.sign('ctl', 'controller');
  const rig = await startDaemonRig(t);
  const br = uniqueName('ssl', 'br');
  rig.owns(br);
  await rig.vsctl(['add-br', br], { wait: true });
  await rig.vsctl(['set-ssl', sw.key, sw.cert, pki.controllerCa], { wait: true });
  const ssl = await rig.vsctl(['get-ssl']);
  t.match(ssl, `Private key: ${sw.key}`, 'ovs-vsctl get-ssl shows the row');

  const port = await freePort();
  const rundir = ovsRunDir(t, 'ssl-testcontroller');
  const controller = spawnIn(
    'ovs-testcontroller',
    [rundir.unixctl('ovs-testcontroller'), '-p', ctl.key, '-c', ctl.cert, '-C', pki.switchCa, `pssl:${port}:127.0.0.1`],
    undefined,
    { env: rundir.env },
  );
  t.teardown(() => {
    controller.kill('SIGTERM');
  });
  t.ok(await waitListening(port), 'ovs-testcontroller listening on pssl:');
  const service = await freePort();
  await rig.vsctl(['set-controller', br, `ssl:127.0.0.1:${port}`, `pssl:${service}:127.0.0.1`], { wait: true });
  await waitUntil(async () => (await rig.vsctl(['--bare', '--columns=is_connected', 'find', 'Controller', `target="ssl:127.0.0.1:${port}"`])).trim() === 'true', 'the ssl: Controller is_connected', 20_000);
  t.pass('the ssl: controller is connected (is_connected true)');

  const tls = [`--private-key=${ctl.key}`, `--certificate=${ctl.cert}`, `--ca-cert=${pki.switchCa}`];
  await waitUntil(async () => (await rig.ofctl(['--timeout=5', ...tls, 'show', `ssl:127.0.0.1:${service}`])).code === 0, 'the pssl: service answers', 15_000);
  const show = await rig.ofctl(['--timeout=10', ...tls, 'show', `ssl:127.0.0.1:${service}`]);
  if (assertRan(t, show, 'ovs-ofctl show over ssl: to the pssl: service')) t.match(show.stdout, /OFPT_FEATURES_REPLY/, 'features over TLS');

  // A new SSL row applies to the next connection: the service now presents sw2's certificate.
  const presented = async (): Promise<string> =>
    (await tryRun('sh', ['-c', `openssl s_client -connect 127.0.0.1:${service} -CAfile "${pki.switchCa}" </dev/null 2>/dev/null | openssl x509 -noout -subject`])).stdout;
  t.match(await presented(), /CN = sw id:/, 'the first certificate');
  await rig.vsctl(['del-ssl'], { wait: true });
  await rig.vsctl(['set-ssl', sw2.key, sw2.cert, pki.controllerCa], { wait: true });
  t.match(await presented(), /CN = sw2 id:/, 'after set-ssl, the new certificate');
  const again = await rig.ofctl(['--timeout=10', ...tls, 'show', `ssl:127.0.0.1:${service}`]);
  assertRan(t, again, 'ovs-ofctl over ssl: with the new certificate');

  // The bridge's management socket: srwxr-x---, another local user refused.
  chmodSync(rig.dir, 0o755);
  const mgmt = join(rig.dir, `${br}.mgmt`);
  t.equal((statSync(mgmt).mode & 0o777).toString(8), '750', `${br}.mgmt is srwxr-x---`);
  const own = await rig.ofctl(['--timeout=10', 'show', br]);
  assertRan(t, own, `ovs-ofctl show ${br} as the owner`);
  const other = await tryRun('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', 'ovs-ofctl', '--timeout=10', 'show', `unix:${mgmt}`]);
  t.not(other.code, 0, 'as nobody: fails');
  t.match(other.stderr, /Permission denied/, 'refused by the socket permissions');
});
