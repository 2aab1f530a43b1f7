/**
 * CFM and BFD in flag mode: `--port NAME,cfm_mpid=N,...,bfd:enable=true,...` (and the same in a
 * `--config` port object) parsed as the Interface table names the settings, bad ones refused with
 * one message; then the command itself, its port a veth end whose other end is on Open vSwitch in
 * userspace: `ovs-appctl -t SOCKET cfm/show` and `bfd/show` show the peer, and OVS lists our MPID.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCommandLine, parsePort, UsageError } from '../../lib/options.js';
import { createVethPair, moveToNamespace, setLinkUp, tryRun, uniqueName } from '../helpers/netns.js';
import { startOfswitch } from '../helpers/ofswitch-process.js';
import { startOvsUserspace } from '../helpers/ovs-reference.js';
import { waitUntil } from '../helpers/daemon-rig.js';

t.test('--port and --config take CFM and BFD settings', async (t) => {
  t.same(parsePort('veth1,cfm_mpid=5,cfm_interval=100,cfm_extended=true,bfd:enable=true,bfd:min_rx=300'), {
    name: 'veth1',
    cfm: { cfm_mpid: '5', cfm_interval: '100', cfm_extended: 'true' },
    bfd: { enable: 'true', min_rx: '300' },
  });
  t.throws(() => parsePort('veth1,cfm_interval=100'), new UsageError('--port veth1: CFM settings need cfm_mpid'));
  t.throws(() => parsePort('veth1,cfm_mpid=x'), /--port veth1: cfm_mpid: "x" is not a number/);
  t.throws(() => parsePort('veth1,cfm_mpid=0'), /out of range/);
  t.throws(() => parsePort('veth1,bfd:speed=3'), /unknown setting "bfd:speed=3"/);
  t.throws(() => parsePort('veth1,cfm_demand=true'), /unknown setting "cfm_demand=true"/);
  const file = JSON.stringify({ ports: [{ name: 'veth2', cfm_mpid: 3, cfm_opstate: 'down', bfd: { enable: true, min_tx: 50 } }] });
  const line = parseCommandLine(['--config', 'f.json'], () => file);
  t.match(line, { options: { ports: [{ name: 'veth2', cfm: { cfm_mpid: '3', cfm_opstate: 'down' }, bfd: { enable: 'true', min_tx: '50' } }] } }, 'a --config port object');
});

t.test('flag mode against Open vSwitch: cfm/show and bfd/show over the control socket', async (t) => {
  const ovs = await startOvsUserspace(t, { tag: 'cff' });
  const a = uniqueName('cffa');
  const b = uniqueName('cffb');
  await createVethPair(a, b, t);
  await moveToNamespace(b, ovs.ns);
  await setLinkUp(a);
  await setLinkUp(b, ovs.ns);
  await ovs.vsctl(['add-br', 'obr', '--', 'set', 'bridge', 'obr', 'datapath_type=netdev', 'fail_mode=secure']);
  await ovs.vsctl(['add-port', 'obr', b, '--', 'set', 'interface', b, 'cfm_mpid=2', 'other_config:cfm_interval=100', 'bfd:enable=true', 'bfd:min_rx=300']);
  const dir = mkdtempSync(join(tmpdir(), 'ofswitch-cff-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ctl = join(dir, 'ofswitch.ctl');
  const bad = await startOfswitch(t, ['--port', `${a},cfm_mpid=9000`], { ready: false });
  t.equal(await bad.exited, 2, 'an MPID OVS refuses (standard mode: 1..8191): exit status 2');
  t.match(bad.stderr(), /CFM configuration is invalid \(mpid 9000, interval 1000 ms\)/, 'with one message');
  await startOfswitch(t, ['--fail-mode', 'secure', '--unixctl', ctl, '--port', `${a},cfm_mpid=1,cfm_interval=100,bfd:enable=true,bfd:min_rx=300`]);
  const appctl = (args: string[]) => tryRun('ovs-appctl', ['-t', ctl, ...args]);
  let cfm = '';
  // Open vSwitch ran alone first and may send RDI (it heard nobody) until it hears us: a fault here
  // until then, as between two Open vSwitches.
  await waitUntil(async () => /Remote MPID 2\n/.test((cfm = (await appctl(['cfm/show'])).stdout)) && !cfm.includes('fault:'), 'cfm/show lists remote MPID 2, no fault', 15_000);
  t.match(cfm, new RegExp(`^---- ${a} ----\\nMPID 1:\\n {2}average health: (undefined|\\d+)\\n {2}opstate: up\\n {2}remote_opstate: up\\n {2}interval: 100ms\\n`), 'cfm/show: MPID 1, no fault, 100 ms');
  let bfd = '';
  await waitUntil(async () => /Local Session State: up\n/.test((bfd = (await appctl(['bfd/show', a])).stdout)), 'bfd/show: up', 15_000);
  t.match(bfd, /^ {2}Forwarding: true\n/, 'bfd/show: forwarding');
  await waitUntil(async () => (await ovs.vsctl(['get', 'interface', b, 'cfm_remote_mpids'])).trim() === '[1]', 'Open vSwitch lists MPID 1', 15_000);
  t.pass('Open vSwitch lists MPID 1 in cfm_remote_mpids');
  await waitUntil(async () => /(^|[{ ])state=up/.test(await ovs.vsctl(['get', 'interface', b, 'bfd_status'])), "Open vSwitch's BFD up", 15_000);
  t.pass("Open vSwitch's bfd_status: state=up");
});
