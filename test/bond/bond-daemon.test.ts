/**
 * Bonds in database mode with the daemon in this process (so that its reconciler and status writer
 * are measured by coverage), against the real ovsdb-server and ovs-vsctl: two bridges of one
 * daemon, each with a bond, joined by two veth pairs, LACP between them; the status columns
 * written back; a Mirror selecting a bond port selects its members; a bond changed and removed.
 */
import t from 'tap';
import { startInProcessDaemon } from '../helpers/inprocess-daemon.js';
import { startOvsdbServer } from '../helpers/ovsdb-server.js';
import { waitUntil } from '../helpers/daemon-rig.js';
import { addHost, createVethPair, run, setLinkUp, tryRun, uniqueName } from '../helpers/netns.js';

t.test('two bonds of one daemon negotiate; columns written; mirror of a bond; bond changed and removed', async (t) => {
  const db = await startOvsdbServer(t);
  const daemon = await startInProcessDaemon(t, db.remote);
  const vsctl = (args: string[]): Promise<string> => db.vsctl(args, { wait: true });
  const [ba, bb] = [uniqueName('bda'), uniqueName('bdb')];
  for (const br of [ba, bb]) {
    await vsctl(['add-br', br]);
    t.teardown(() => tryRun('ip', ['link', 'del', br]).then(() => undefined));
    await run('sysctl', ['-qw', `net.ipv6.conf.${br}.disable_ipv6=1`]);
  }
  const a = [uniqueName('bda1'), uniqueName('bda2')];
  const b = [uniqueName('bdb1'), uniqueName('bdb2')];
  for (let i = 0; i < 2; i++) {
    await createVethPair(a[i]!, b[i]!, t);
    for (const n of [a[i]!, b[i]!]) {
      await run('sysctl', ['-qw', `net.ipv6.conf.${n}.disable_ipv6=1`]);
      await setLinkUp(n);
    }
  }
  const ha = await addHost(t, 'bdha', { ip: '10.95.0.1/24' });
  const hb = await addHost(t, 'bdhb', { ip: '10.95.0.2/24' });
  const mon = await addHost(t, 'bdhm');
  await vsctl(['add-port', ba, ha.port, '--', 'add-port', ba, mon.port, '--', 'add-port', bb, hb.port]);
  await vsctl(['add-bond', ba, 'bonda', a[0]!, a[1]!, 'lacp=active', 'bond_mode=balance-tcp', 'other_config:lacp-time=fast']);
  await vsctl(['add-bond', bb, 'bondb', b[0]!, b[1]!, 'lacp=active', 'bond_mode=balance-tcp', 'other_config:lacp-time=fast', 'other_config:bond-detect-mode=carrier']);
  const swa = daemon.reconciler.bridges.get(ba)!.sw;
  await waitUntil(() => swa.bondSet?.bond('bonda')?.lacpStatus === 'negotiated', 'LACP negotiated', 10_000);
  await waitUntil(async () => (await db.vsctl(['get', 'interface', a[0]!, 'lacp_current'])).trim() === 'true', 'lacp_current written', 5000);
  t.pass('Interface lacp_current true');
  await waitUntil(async () => /^"?[0-9a-f:]{17}"?$/.test((await db.vsctl(['get', 'port', 'bonda', 'bond_active_slave'])).trim()), 'bond_active_slave written', 5000);
  t.pass('Port bond_active_slave written');
  t.equal((await db.vsctl(['get', 'interface', ha.port, 'lacp_current'])).trim(), '[]', 'a plain port has no lacp_current');

  await waitUntil(async () => (await tryRun('ping', ['-c', '1', '-W', '1', hb.ip], ha.ns)).code === 0, 'A pings B through the bonds', 10_000);
  t.pass('A pings B');

  // A mirror selecting the bond port: both members.
  await vsctl([
    '--', '--id=@b', 'get', 'port', 'bonda', '--', '--id=@p', 'get', 'port', mon.port,
    '--', '--id=@m', 'create', 'mirror', 'name=mb', 'select-src-port=@b', 'output-port=@p',
    '--', 'add', 'bridge', ba, 'mirrors', '@m',
  ]);
  t.match(swa.mirrors(), [{ name: 'mb', active: true }], 'the mirror of a bond runs');
  const ping = await tryRun('ping', ['-c', '3', '-i', '0.2', '-W', '1', hb.ip], ha.ns);
  t.equal(ping.code, 0, 'A pings B three times');
  await waitUntil(() => (swa.mirrors()[0]?.txPackets ?? 0) >= 3, 'the replies entering by the bond are mirrored', 5000);
  t.pass('the replies entering by the bond are mirrored');

  // Changed: active-backup without LACP on both; then the bond gone (its interfaces plain ports).
  await vsctl(['set', 'port', 'bonda', 'bond_mode=active-backup', 'lacp=off', 'bond_updelay=100']);
  await vsctl(['set', 'port', 'bondb', 'bond_mode=active-backup', 'lacp=off']);
  t.equal(swa.bondSet?.bond('bonda')?.mode, 'active-backup', 'mode changed');
  t.equal(swa.bondSet?.bond('bonda')?.lacp, null, 'LACP off');
  await waitUntil(async () => (await db.vsctl(['get', 'interface', a[0]!, 'lacp_current'])).trim() === '[]', 'lacp_current cleared', 5000);
  t.pass('lacp_current cleared without LACP');
  await vsctl(['del-port', ba, 'bonda']);
  t.equal(swa.bondSet, null, 'no bond left');
  t.equal(swa.port(a[0]!), undefined, 'its members are gone with it');
});
