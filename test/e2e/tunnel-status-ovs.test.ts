/**
 * What ovs-vswitchd tells about tunnel ports, from ofswitch (the database daemon, configured with
 * the stock ovs-vsctl, in a namespace of its own whose IP stack is its underlay) beside Open
 * vSwitch 3.1 in userspace with the same tunnel ports (test/helpers/tunnel-rig.ts ovsUnderlay:
 * OVS's native tunnelling over br-phy, ofswitch's remote):
 *
 * - Interface `status`: the keys OVS writes for a tunnel (netdev-vport.c tunnel_get_status):
 *   tunnel_egress_iface (OVS: br-phy, its underlay; ofswitch: the veth its kernel routes remote_ip
 *   through) and tunnel_egress_iface_carrier "up"; and on ofswitch, within a second plus slack
 *   for a loaded machine: "down" when the underlay loses its carrier (OVS's end of the veth down),
 *   "up" again, another interface when a more specific route appears, no keys while there is no
 *   route at all (as OVS, whose lookup then finds no interface);
 * - `ovs-appctl tnl/ports/show`: the same listening ports (vxlan_sys_4790, genev_sys_6081, ...)
 *   with the same reference counts, in the same order, before and after a port is deleted; `-v`:
 *   the same lines for the underlay address (MAC and address each side's own; the number in
 *   parentheses, OVS's datapath port number, is the UDP port on ofswitch: see datapath/tunnel/show.ts).
 */
import { performance } from 'node:perf_hooks';
import t from 'tap';
import { bfdStatusMap } from '../helpers/bfd-status.js';
import { startDaemonRig, waitUntil } from '../helpers/daemon-rig.js';
import { assertRan, createVethPair, macOf, run, setLinkDown, setLinkUp, uniqueName } from '../helpers/netns.js';
import { ovsUnderlay } from '../helpers/tunnel-rig.js';

const STATUS_MS = 1000; // written within a second of the change
const SLACK_MS = 3000; // a loaded 2-core machine (ovs-vsctl runs, the poll, the write)
/** Added in this order on both sides: two Geneve ports share genev_sys_6081, two VXLAN ports differ in dst_port. */
const TUNNELS = [
  { kind: 'geneve', name: 'gnv0', opts: ['options:key=77'] },
  { kind: 'vxlan', name: 'vx0', opts: ['options:key=99', 'options:dst_port=4790'] },
  { kind: 'gre', name: 'gre0', opts: ['options:key=88'] },
  { kind: 'geneve', name: 'gnv1', opts: ['options:key=78'] },
  { kind: 'vxlan', name: 'vx1', opts: ['options:key=98'] },
] as const;

/** tnl/ports/show without the datapath port numbers, which only OVS has. */
const listing = (text: string): string[] => text.trim().split('\n').map((l) => l.replace(/ \(\d+\)/, ' (N)'));

/** tnl/ports/show -v with each side's own MAC and address put as MAC and ADDR, sorted. */
const verbose = (text: string, mac: string, addr: string): string[] =>
  listing(text)
    .map((l) => l.replaceAll(`eth(dst=${mac})`, 'eth(dst=MAC)').replaceAll(`ipv4(dst=${addr},`, 'ipv4(dst=ADDR,'))
    .sort();

t.test('tunnel ports: Interface status and tnl/ports/show as Open vSwitch writes and prints them', async (t) => {
  const { ovs, u } = await ovsUnderlay(t, 'tst', 96);
  const rig = await startDaemonRig(t, [], { ns: u.sw });
  await rig.vsctl(['add-br', 'br0', '--', 'set', 'bridge', 'br0', 'fail_mode=secure'], { wait: true });
  await ovs.vsctl(['add-br', 'br-int', '--', 'set', 'bridge', 'br-int', 'datapath_type=netdev', 'fail_mode=secure']);
  for (const { kind, name, opts } of TUNNELS) {
    await rig.vsctl(['add-port', 'br0', name, '--', 'set', 'interface', name, `type=${kind}`, `options:remote_ip=${u.farIp}`, ...opts], { wait: true });
    await ovs.vsctl(['add-port', 'br-int', name, '--', 'set', 'interface', name, `type=${kind}`, `options:remote_ip=${u.swIp}`, ...opts]);
  }
  const ours = async (name: string): Promise<Record<string, string>> => bfdStatusMap(await rig.vsctl(['get', 'interface', name, 'status']));
  const theirs = async (name: string): Promise<Record<string, string>> => bfdStatusMap(await ovs.vsctl(['get', 'interface', name, 'status']));

  // Status: OVS's keys, each side's underlay interface, carrier up.
  await waitUntil(async () => (await ours('vx1'))['tunnel_egress_iface'] !== undefined, 'ofswitch writes the tunnels\' status', 10_000);
  for (const { name } of TUNNELS) {
    const [mine, ovsStatus] = [await ours(name), await theirs(name)];
    t.same(Object.keys(mine).sort(), Object.keys(ovsStatus).sort(), `${name}: status has the keys OVS writes (${Object.keys(ovsStatus).join(', ')})`);
    t.same(ovsStatus, { tunnel_egress_iface: 'br-phy', tunnel_egress_iface_carrier: 'up' }, `${name}: OVS routes through br-phy, carrier up`);
    t.same(mine, { tunnel_egress_iface: u.swIf, tunnel_egress_iface_carrier: 'up' }, `${name}: ofswitch routes through ${u.swIf}, carrier up`);
  }

  /** Waits until ofswitch's gnv0 status is `want`; checks it took at most a second and slack after `since`. */
  const statusBecomes = async (want: Record<string, string>, what: string): Promise<void> => {
    const since = performance.now();
    await waitUntil(async () => JSON.stringify(await ours('gnv0')) === JSON.stringify(want), `gnv0 status ${JSON.stringify(want)}`, STATUS_MS + SLACK_MS + 10_000);
    const took = performance.now() - since;
    t.ok(took <= STATUS_MS + SLACK_MS, `${what}: status ${JSON.stringify(want)} written ${Math.round(took)} ms after (at most ${STATUS_MS + SLACK_MS})`);
  };
  // The underlay loses its carrier: OVS's end of the veth goes down (the route stays).
  await setLinkDown(u.farIf, ovs.ns);
  await statusBecomes({ tunnel_egress_iface: u.swIf, tunnel_egress_iface_carrier: 'down' }, 'carrier lost');
  await setLinkUp(u.farIf, ovs.ns);
  await statusBecomes({ tunnel_egress_iface: u.swIf, tunnel_egress_iface_carrier: 'up' }, 'carrier back');
  // A more specific route to the far end through another interface.
  const [alt, altPeer] = [uniqueName('tsa'), uniqueName('tsb')];
  await createVethPair(alt, altPeer, t);
  await run('ip', ['link', 'set', alt, 'netns', u.sw]);
  await run('ip', ['link', 'set', altPeer, 'netns', u.sw]);
  await setLinkUp(alt, u.sw);
  await setLinkUp(altPeer, u.sw);
  await run('ip', ['route', 'add', `${u.farIp}/32`, 'dev', alt], u.sw);
  await statusBecomes({ tunnel_egress_iface: alt, tunnel_egress_iface_carrier: 'up' }, 'route changed');
  await run('ip', ['route', 'del', `${u.farIp}/32`, 'dev', alt], u.sw);
  await statusBecomes({ tunnel_egress_iface: u.swIf, tunnel_egress_iface_carrier: 'up' }, 'route back');
  // No route at all: no keys.
  await run('ip', ['addr', 'del', `${u.swIp}/24`, 'dev', u.swIf], u.sw);
  await statusBecomes({}, 'no route');
  await run('ip', ['addr', 'add', `${u.swIp}/24`, 'dev', u.swIf], u.sw);
  await statusBecomes({ tunnel_egress_iface: u.swIf, tunnel_egress_iface_carrier: 'up' }, 'route back');

  // tnl/ports/show: the same listening ports and reference counts, in the same order.
  const [mineShow, ovsShow] = [await rig.appctl(['tnl/ports/show']), await ovs.tryAppctl(['tnl/ports/show'])];
  if (assertRan(t, mineShow, 'ovs-appctl -t ofswitch tnl/ports/show') && assertRan(t, ovsShow, 'ovs-appctl tnl/ports/show (Open vSwitch)')) {
    t.same(listing(ovsShow.stdout), ['Listening ports:', 'genev_sys_6081 (N) ref_cnt=2', 'vxlan_sys_4790 (N) ref_cnt=1', 'gre_sys (N) ref_cnt=1', 'vxlan_sys_4789 (N) ref_cnt=1'], 'OVS lists its listening ports');
    t.same(listing(mineShow.stdout), listing(ovsShow.stdout), 'ofswitch lists the same');
    t.match(mineShow.stdout, /^genev_sys_6081 \(6081\) ref_cnt=2$/m, 'ofswitch numbers a UDP one with its port');
    t.match(mineShow.stdout, /^gre_sys \(47\) ref_cnt=1$/m, 'and GRE with its IP protocol');
  }
  const [mineV, ovsV] = [await rig.appctl(['tnl/ports/show', '-v']), await ovs.tryAppctl(['tnl/ports/show', '-v'])];
  if (assertRan(t, mineV, 'ovs-appctl -t ofswitch tnl/ports/show -v') && assertRan(t, ovsV, 'ovs-appctl tnl/ports/show -v (Open vSwitch)')) {
    const [swMac, ovsMac] = [await macOf(u.swIf, u.sw), await macOf('br-phy', ovs.ns)];
    const theirsV = verbose(ovsV.stdout, ovsMac, u.farIp);
    t.equal(theirsV.length, 1 + 4, 'OVS: one line per listening port for br-phy\'s address');
    t.same(verbose(mineV.stdout, swMac, u.swIp), theirsV, 'ofswitch prints the same lines for its underlay\'s address and MAC');
  }
  // A port deleted: the count goes down on both.
  await rig.vsctl(['del-port', 'br0', 'gnv1'], { wait: true });
  await ovs.vsctl(['del-port', 'br-int', 'gnv1']);
  const [afterMine, afterOvs] = [await rig.appctl(['tnl/ports/show']), await ovs.tryAppctl(['tnl/ports/show'])];
  t.match(afterOvs.stdout, /genev_sys_6081 \(\d+\) ref_cnt=1/, 'OVS: genev_sys_6081 used once');
  t.same(listing(afterMine.stdout), listing(afterOvs.stdout), 'ofswitch: the same after the deletion');
  t.equal(await rig.proc.stop(), 0, 'ofswitch stops cleanly');
});
