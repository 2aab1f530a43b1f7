/**
 * ofswitch's RSTP bridge and an Open vSwitch 3.1 RSTP bridge (br1, userspace) configured with the
 * same ovs-vsctl commands and wired the same way, side by side ("twins"):
 *
 *   twin port 1 (rstp-admin-p2p-mac=2)  <-> an Open vSwitch RSTP peer (br0 for ofswitch, brp for br1)
 *   twin ports 2 and 3                  <-> one Linux bridge without STP (a shared LAN, a hub for BPDUs)
 *
 * (rstp-admin-p2p-mac=2, auto, which OVS resolves to "not point-to-point"; 0 would do nothing on
 * a new port in OVS 3.1, whose port starts with admin value 0 and oper true, see rstp-p2p-backup.test.ts.)
 * Rounds: the twins are the root (rstp-priority=4096): port 1 is designated but not point-to-point,
 * so the peer's agreement is not recorded and it forwards only after two forward delays (4 s each),
 * through Learning, on both (with the default p2p it forwards at once); port 2 is the shared LAN's
 * designated port and port 3, hearing its own bridge, the backup port (Discarding). rstp/show of
 * the twins is then compared line by line (bridge and port names and the twins' own address
 * normalised; OVS lists ports in hash order, so the port lines are sorted), and so are the keys of
 * each port's rstp_status column. Then the peers become the root (the twins' priority 61440) and
 * rstp/show is compared again.
 */
import t, { type Test } from 'tap';
import { assertRan, createNamespace, createVethPair, macOf, moveToNamespace, run, setLinkUp, uniqueName } from '../helpers/netns.js';
import { startDaemonRig, waitUntil } from '../helpers/daemon-rig.js';
import { startOvsUserspace } from '../helpers/ovs-reference.js';

const TIMERS = ['other_config:rstp-max-age=6', 'other_config:rstp-forward-delay=4'];

async function hub(t: Test, tag: string): Promise<string> {
  const ns = await createNamespace(tag, t);
  await run('ip', ['link', 'add', 'hub', 'type', 'bridge', 'stp_state', '0'], ns);
  await setLinkUp('hub', ns);
  return ns;
}

/** A veth from `ns` (null: root) named `near` to the hub namespace. */
async function toHub(t: Test, hubNs: string, near: string, ns: string | null, far: string): Promise<void> {
  const tmp = uniqueName(`tw${far}`);
  await createVethPair(tmp, `${tmp}p`, t);
  await moveToNamespace(`${tmp}p`, hubNs, far);
  await run('ip', ['link', 'set', far, 'master', 'hub'], hubNs);
  await setLinkUp(far, hubNs);
  if (ns !== null) await moveToNamespace(tmp, ns, near);
  else if (near !== tmp) await run('ip', ['link', 'set', tmp, 'name', near]);
  await run('sysctl', ['-qw', `net.ipv6.conf.${near}.disable_ipv6=1`], ns ?? undefined).catch(() => undefined);
  await setLinkUp(near, ns ?? undefined);
}

/** rstp/show with the bridge's name, its ports' names and its own address replaced; port lines sorted. */
function normalise(show: string, bridge: string, names: readonly string[], own: string): string[] {
  let s = show.replace(`---- ${bridge} ----`, '---- BR ----').replaceAll(own, 'OWN');
  names.forEach((n, i) => {
    s = s.replace(`root-port       ${n}\n`, `root-port       P${i + 1}\n`).replace(new RegExp(`^  ${n.slice(0, 10)} *`, 'm'), `  P${i + 1}         `);
  });
  const lines = s.split('\n');
  const table = lines.findIndex((l) => l.startsWith('  ----------'));
  const ports = lines.slice(table + 1).filter((l) => l !== '').sort();
  return [...lines.slice(0, table + 1), ...ports];
}

t.test('RSTP twins: ofswitch and Open vSwitch, p2p off, a backup port, rstp/show line by line', async (t) => {
  const ovs = await startOvsUserspace(t, { tag: 'twov' });
  // ofswitch's port 1 to br0's o1; br1's s1 to brp's o2 (both veths inside OVS's namespace)
  const link = uniqueName('twl');
  await createVethPair(link, `${link}p`, t);
  await moveToNamespace(`${link}p`, ovs.ns, 'o1');
  await setLinkUp('o1', ovs.ns);
  await run('sysctl', ['-qw', `net.ipv6.conf.${link}.disable_ipv6=1`]).catch(() => undefined);
  await setLinkUp(link);
  await run('ip', ['link', 'add', 'o2', 'type', 'veth', 'peer', 'name', 's1'], ovs.ns);
  await setLinkUp('o2', ovs.ns);
  await setLinkUp('s1', ovs.ns);
  const ourHub = await hub(t, 'twh1');
  const theirHub = await hub(t, 'twh2');
  const [h2, h3] = [uniqueName('twa'), uniqueName('twb')];
  await toHub(t, ourHub, h2, null, 'x2');
  await toHub(t, ourHub, h3, null, 'x3');
  await toHub(t, theirHub, 's2', ovs.ns, 'y2');
  await toHub(t, theirHub, 's3', ovs.ns, 'y3');

  const twin = (br: string, ports: readonly string[]) => [
    '--', 'set', 'bridge', br, 'fail_mode=standalone', 'rstp_enable=true', 'other_config:rstp-priority=4096', ...TIMERS,
    ...ports.flatMap((p, i) => ['--', 'add-port', br, p, '--', 'set', 'port', p, `other_config:rstp-port-num=${i + 1}`]),
    '--', 'set', 'port', ports[0]!, 'other_config:rstp-admin-p2p-mac=2',
  ];
  const rig = await startDaemonRig(t);
  const br = `br${process.pid}`.slice(0, 15);
  rig.owns(br);
  const ourPorts = [link, h2, h3];
  const theirPorts = ['s1', 's2', 's3'];
  const peers = ['br0', 'brp'].flatMap((b, i) => [
    '--', 'add-br', b, '--', 'set', 'bridge', b, 'datapath_type=netdev', 'fail_mode=standalone', 'rstp_enable=true', ...TIMERS, '--', 'add-port', b, `o${i + 1}`,
  ]);
  const start = Date.now();
  await Promise.all([
    rig.vsctl(['add-br', br, ...twin(br, ourPorts)], { wait: true }),
    ovs.vsctl(['add-br', 'br1', '--', 'set', 'bridge', 'br1', 'datapath_type=netdev', ...twin('br1', theirPorts), ...peers]),
  ]);

  const ourShow = async () => {
    const r = await rig.appctl(['rstp/show', br]);
    assertRan(t, r, 'ofswitch rstp/show');
    return r.stdout;
  };
  const theirShow = async () => {
    const r = await ovs.tryAppctl(['rstp/show', 'br1']);
    assertRan(t, r, 'Open vSwitch rstp/show br1');
    return r.stdout;
  };
  const state = (status: string) => /rstp_port_state=(\w+)/.exec(status)?.[1] ?? '';
  const seen = { ours: new Set<string>(), theirs: new Set<string>() };
  const forwardAt: { ours?: number; theirs?: number } = {};
  await waitUntil(async () => {
    const o = state(await rig.vsctl(['get', 'port', link, 'rstp_status']));
    const th = state(await ovs.vsctl(['get', 'port', 's1', 'rstp_status']));
    seen.ours.add(o);
    seen.theirs.add(th);
    if (o === 'Forwarding') forwardAt.ours ??= Date.now() - start;
    if (th === 'Forwarding') forwardAt.theirs ??= Date.now() - start;
    return o === 'Forwarding' && th === 'Forwarding';
  }, 'both twins\' port 1 forwards', 40_000);
  t.ok(seen.theirs.has('Learning'), `Open vSwitch: port 1 (not point-to-point) went through Learning (${[...seen.theirs].join(', ')}, ${forwardAt.theirs} ms)`);
  t.ok(seen.ours.has('Learning'), `ofswitch: the same (${[...seen.ours].join(', ')}, ${forwardAt.ours} ms)`);
  t.ok(forwardAt.ours! >= 6000, 'ofswitch: not before about two forward delays');

  // Port 2: the shared LAN's designated port; port 3: backup.
  await waitUntil(async () => /Backup +Discarding/.test(await ourShow()) && /Backup +Discarding/.test(await theirShow()), 'a backup port on both', 20_000);
  await waitUntil(async () => (await ourShow()).split('\n').filter((l) => / Forwarding /.test(l)).length === 2
    && (await theirShow()).split('\n').filter((l) => / Forwarding /.test(l)).length === 2, 'ports 1 and 2 forward on both', 20_000);
  const ownOurs = await macOf(br).catch(() => '');
  const ownTheirs = await macOf('br1', ovs.ns);
  const compare = async (what: string) => {
    const ourId = /Bridge ID:\n  stp-priority +\d+\n  stp-system-id   ([0-9a-f:]+)/.exec(await ourShow())?.[1] ?? ownOurs;
    const theirId = /Bridge ID:\n  stp-priority +\d+\n  stp-system-id   ([0-9a-f:]+)/.exec(await theirShow())?.[1] ?? ownTheirs;
    const mine = normalise(await ourShow(), br, ourPorts, ourId);
    const other = normalise(await theirShow(), 'br1', theirPorts, theirId);
    return { mine, other, what };
  };
  const root = await compare('twins as the root');
  t.same(root.mine, root.other, `rstp/show line by line, ${root.what}:\n${root.mine.join('\n')}\n----\n${root.other.join('\n')}`);
  for (let i = 0; i < 3; i++) {
    const keys = (s: string) => [...s.matchAll(/(\w+)=/g)].map((m) => m[1]).sort();
    const [o, th] = [await rig.vsctl(['get', 'port', ourPorts[i]!, 'rstp_status']), await ovs.vsctl(['get', 'port', theirPorts[i]!, 'rstp_status'])];
    t.same(keys(o), keys(th), `port ${i + 1}: the same rstp_status keys`);
    t.equal(/rstp_port_role=(\w+)/.exec(o)?.[1], /rstp_port_role=(\w+)/.exec(th)?.[1], `port ${i + 1}: the same role`);
  }

  // The peers become the root.
  await Promise.all([
    rig.vsctl(['set', 'bridge', br, 'other_config:rstp-priority=61440'], { wait: true }),
    ovs.vsctl(['set', 'bridge', 'br1', 'other_config:rstp-priority=61440']),
  ]);
  await waitUntil(async () => /root-port/.test(await ourShow()) && /root-port/.test(await theirShow()), 'the twins have a root port', 20_000);
  await waitUntil(async () => /Backup +Discarding/.test(await ourShow()) && /Backup +Discarding/.test(await theirShow())
    && (await ourShow()).split('\n').filter((l) => / Forwarding /.test(l)).length === 2
    && (await theirShow()).split('\n').filter((l) => / Forwarding /.test(l)).length === 2, 'converged again on both', 30_000);
  const peerOurs = await macOf('o1', ovs.ns);
  const peerTheirs = await macOf('o2', ovs.ns);
  const rootIdOf = (show: string) => /Root ID:\n  stp-priority +\d+\n  stp-system-id   ([0-9a-f:]+)/.exec(show)?.[1] ?? '';
  const child = await compare('the peers as the root');
  const peerNorm = (lines: string[], show: string) => lines.map((l) => l.replaceAll(rootIdOf(show), 'PEER'));
  t.not(rootIdOf(await ourShow()), '', `ofswitch's root is its peer (o1 ${peerOurs})`);
  t.same(peerNorm(child.mine, await ourShow()), peerNorm(child.other, await theirShow()), `rstp/show line by line, ${child.what}:\n${child.mine.join('\n')}\n----\n${child.other.join('\n')} (peers ${peerOurs} ${peerTheirs})`);
});
