/**
 * Geneve and GRE against Open vSwitch's userspace native tunnelling as the far end. OVS runs in
 * its own namespace (test/helpers/ovs-reference.ts) as its userspace-tunneling howto sets it up:
 * bridge br-phy (datapath_type=netdev) holds the underlay veth and has the underlay address on its
 * internal port (OVS routes and resolves the next hop itself); bridge br-int holds the far host's
 * veth and the tunnel port. ofswitch runs in a namespace of its own (flag mode) with a Geneve
 * port and a GRE port to OVS, and h1. OVS has one tunnel at a time (the other kind's packets
 * reach no OVS port), so no loop forms.
 * Proved for each kind: pings and iperf3 TCP both ways; with OVS's key changed, no traffic, and
 * ofswitch records the unknown key.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { addHost, assertRan, disableOffloads, moveToNamespace, run, setLinkUp, spawnIn, tryRun } from '../helpers/netns.js';
import { startOfswitch } from '../helpers/ofswitch-process.js';
import { hostOn, iperfReceivedBytes, ovsUnderlay, waitTcpListen } from '../helpers/tunnel-rig.js';

const MTU = 1400;

t.test('Geneve and GRE with Open vSwitch userspace: ping, TCP both ways, key mismatch stops traffic', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ofswitch-tnl-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { ovs, u } = await ovsUnderlay(t, 'tnl', 92);
  // The far host, on br-int.
  const h2 = await addHost(t, 'tnh2', { ip: '10.91.0.2/24' });
  await run('ip', ['link', 'set', 'eth0', 'mtu', String(MTU)], h2.ns);
  await moveToNamespace(h2.port, ovs.ns);
  await disableOffloads(h2.port, ovs.ns);
  await setLinkUp(h2.port, ovs.ns);
  await ovs.vsctl(['add-br', 'br-int', '--', 'set', 'bridge', 'br-int', 'datapath_type=netdev', '--', 'add-port', 'br-int', h2.port]);
  const route = await ovs.tryAppctl(['ovs/route/show']);
  assertRan(t, route, 'ovs-appctl ovs/route/show');
  t.match(route.stdout, new RegExp(`10\\.92\\.0\\.0/24 dev br-phy`), 'OVS routes the underlay through br-phy');

  const h1 = await hostOn(t, 'tnh1', u.sw, '10.91.0.1/24', MTU);
  const ctl = join(dir, 'sw.ctl');
  const sw = await startOfswitch(
    t,
    [
      '--port', h1.port,
      '--port', `gnv0,type=geneve,options:remote_ip=${u.farIp},options:key=77`,
      '--port', `gre0,type=gre,options:remote_ip=${u.farIp},options:key=88,options:csum=true`,
      '--unixctl', ctl,
    ],
    { ns: u.sw },
  );
  t.match(sw.stderr(), /"2\(gnv0\)","3\(gre0\)"/, 'the tunnels are OpenFlow ports 2 and 3');
  // Flag mode answers tnl/ports/show too (compared with OVS's in tunnel-status-ovs.test.ts).
  const listening = await tryRun('ovs-appctl', ['-t', ctl, 'tnl/ports/show']);
  if (assertRan(t, listening, 'ovs-appctl tnl/ports/show (flag mode)'))
    t.equal(listening.stdout, 'Listening ports:\ngenev_sys_6081 (6081) ref_cnt=1\ngre_sys (47) ref_cnt=1\n', 'its listening ports, as OVS names them');

  for (const [kind, name, key] of [['geneve', 'gnv0', 77], ['gre', 'gre0', 88]] as const) {
    await ovs.vsctl(['add-port', 'br-int', name, '--', 'set', 'interface', name, `type=${kind}`, `options:remote_ip=${u.swIp}`, `options:key=${key}`]);
    // The host behind OVS first: ofswitch's NORMAL learns it on this tunnel (it was learned on the
    // other kind's port before).
    const first = await tryRun('ping', ['-c', '4', '-i', '0.3', '-W', '2', '10.91.0.1'], h2.ns);
    t.match(first.stdout, / [34] received/, `${kind}: the host behind OVS pings h1${first.code ? `: ${first.stdout}` : ''}`);
    const ping = await tryRun('ping', ['-c', '3', '-i', '0.2', '-W', '2', '10.91.0.2'], h1.ns);
    t.match(ping.stdout, / 3 received/, `${kind}: and h1 pings it`);
    for (const reverse of [false, true]) {
      const port = reverse ? 5222 : 5221;
      spawnIn('iperf3', ['-s', '-1', '-p', String(port)], h2.ns);
      t.ok(await waitTcpListen(h2.ns, port), 'iperf3 server listening');
      const r = await tryRun('iperf3', ['-c', '10.91.0.2', '-p', String(port), '-t', '3', '-J', ...(reverse ? ['-R'] : [])], h1.ns);
      assertRan(t, r, `${kind}: iperf3${reverse ? ' -R' : ''}`);
      const bytes = iperfReceivedBytes(r.stdout);
      t.ok(bytes > 1_000_000, `${kind}: TCP ${reverse ? 'OVS side -> h1' : 'h1 -> OVS side'}: ${bytes} bytes received`);
    }
    const stats = await run('ovs-ofctl', ['dump-ports', 'tcp:127.0.0.1:6634', name], u.sw);
    t.match(stats, /rx pkts=[1-9]\d{2,}/, `${kind}: the tunnel port counts what it received`);

    // OVS's key changed: nothing crosses, and ofswitch records the key it does not know.
    const wrong = key + 1000;
    await ovs.vsctl(['set', 'interface', name, `options:key=${wrong}`]);
    const none = await tryRun('ping', ['-c', '3', '-i', '0.3', '-W', '1', '10.91.0.1'], h2.ns);
    t.match(none.stdout, / 0 received/, `${kind}: no traffic with keys ${key} and ${wrong}`);
    const drops = await run('ovs-appctl', ['-t', ctl, 'ofswitch/drops']);
    t.match(drops, new RegExp(`in_port=NONE drop: tunnel packet with key ${wrong}: no tunnel port to its remote has that key`), `${kind}: unknown key recorded`);
    await ovs.vsctl(['del-port', 'br-int', name]);
  }
  t.equal(await sw.stop(), 0, 'ofswitch stops cleanly');
});
