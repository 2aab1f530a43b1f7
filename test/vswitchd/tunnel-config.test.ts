/**
 * Tunnel ports in database mode, as an operator adds them with the stock ovs-vsctl:
 * `add-port BR vx0 -- set interface vx0 type=vxlan options:remote_ip=... options:key=...`.
 * The daemon (a child process in the root namespace) binds its tunnel sockets to loopback only
 * (options:local_ip=127.0.0.x, a free dst_port): two bridges joined by a VXLAN pair, a frame sent
 * out of one with PACKET_OUT arrives on the other's tunnel port. remote_ip=flow and key=flow are
 * refused with the Interface `error` column set and ofport -1; changing the options remakes the
 * port; the types are listed in Open_vSwitch iface_types.
 */
import t from 'tap';
import { uniqueName } from '../helpers/netns.js';
import { freePort } from '../helpers/free-port.js';
import { startOfswitchDaemon } from '../helpers/ofswitch-daemon.js';

async function until(check: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

t.test('ovs-vsctl adds vxlan, geneve and gre ports; flow-valued options are refused in the error column', async (t) => {
  const sw = await startOfswitchDaemon(t);
  const [br0, br1] = [uniqueName('tb0'), uniqueName('tb1')];
  const [vx0, vx1] = [uniqueName('tv0'), uniqueName('tv1')];
  const dstPort = await freePort();
  const vx = (name: string, local: string, remote: string) => ['--', 'add-port', name === vx0 ? br0 : br1, name, '--', 'set', 'interface', name, 'type=vxlan',
    `options:remote_ip=${remote}`, `options:local_ip=${local}`, `options:dst_port=${dstPort}`, 'options:key=5000', 'ofport_request=7'];
  await sw.vsctl(['add-br', br0, '--', 'add-br', br1, ...vx(vx0, '127.0.0.1', '127.0.0.2'), ...vx(vx1, '127.0.0.2', '127.0.0.1')]);
  t.equal((await sw.vsctl(['get', 'interface', vx0, 'ofport'])).trim(), '7', 'the tunnel got its ofport_request');
  t.equal((await sw.vsctl(['get', 'interface', vx0, 'error'])).trim(), '[]', 'and no error');
  t.match(await sw.ofctl(['show', br0]), new RegExp(` 7\\(${vx0}\\): addr:`), 'ovs-ofctl show lists it');
  t.match(await sw.vsctl(['get', 'open_vswitch', '.', 'iface_types']), /geneve.*gre.*vxlan|vxlan/, 'iface_types names the tunnel types');

  // A broadcast sent out of br0's tunnel arrives on br1's.
  const frame = 'ffffffffffff' + '020000000001' + '0800' + '45000014000000004011' + '0000' + '0a000001' + '0a000002';
  // (The bridges' own interfaces send now and then too: their frames cross the same way.)
  const count = async (br: string, dir: 'rx' | 'tx'): Promise<number> =>
    Number(new RegExp(`${dir} pkts=(\\d+)`).exec(await sw.ofctl(['dump-ports', br, '7']))?.[1] ?? -1);
  const [rx0, tx0] = [await count(br1, 'rx'), await count(br0, 'tx')];
  const out = await sw.tryOfctl(['packet-out', br0, 'none', 'output:7', frame]);
  t.equal(out.code, 0, `packet-out accepted ${out.stderr}`);
  t.ok(await until(async () => (await count(br1, 'rx')) > rx0), 'br1 received the frame on its VXLAN port');
  t.ok((await count(br0, 'tx')) > tx0, 'br0 counted it sent');

  const [fl, kf, g] = [uniqueName('tfl'), uniqueName('tkf'), uniqueName('tgr')];
  await sw.vsctl(['add-port', br0, fl, '--', 'set', 'interface', fl, 'type=geneve', 'options:remote_ip=flow']);
  await sw.vsctl(['add-port', br0, kf, '--', 'set', 'interface', kf, 'type=gre', 'options:remote_ip=127.0.0.9', 'options:key=flow']);
  t.equal((await sw.vsctl(['get', 'interface', fl, 'ofport'])).trim(), '-1', 'remote_ip=flow: no port');
  t.match(await sw.vsctl(['get', 'interface', fl, 'error']), /could not open network device \S+ \(port \S+: remote_ip=flow is not supported.*Nicira extensions/, 'error column says why');
  t.match(await sw.vsctl(['get', 'interface', kf, 'error']), /key=flow is not supported/, 'key=flow too');

  // A GRE port on loopback, then its options changed: the port is made again with them.
  await sw.vsctl(['add-port', br0, g, '--', 'set', 'interface', g, 'type=gre', 'options:remote_ip=127.0.0.3', 'options:local_ip=127.0.0.1']);
  t.match((await sw.vsctl(['get', 'interface', g, 'ofport'])).trim(), /^[1-9]\d*$/, 'gre port added');
  await sw.vsctl(['set', 'interface', g, 'options:remote_ip=flow']);
  t.match(await sw.vsctl(['get', 'interface', g, 'error']), /remote_ip=flow is not supported/, 'changed options apply (and are refused here)');
  await sw.vsctl(['del-port', br0, g]);
  await sw.vsctl(['del-port', br1, vx1]);
  t.notMatch(await sw.ofctl(['show', br1]), new RegExp(vx1), 'del-port removes the tunnel');
});
