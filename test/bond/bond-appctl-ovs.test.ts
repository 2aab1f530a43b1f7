/**
 * The bond and LACP ovs-appctl commands of ofswitch against Open vSwitch 3.1's own, side by side,
 * on the rig of bond-ovs.test.ts (helpers/bond-ovs-rig.ts):
 *
 *   host A -- ofswitch (database mode, bond of m1, m2) ==veth x2== OVS br0 (bond0 of o1, o2) -- host B
 *
 * Both bonds get the same settings from the stock ovs-vsctl, and every command is given to both
 * sides with the same arguments (names mapped: BOND, MEMBER1, MEMBER2). Proven: `bond/show`,
 * `bond/list`, `bond/hash`, `lacp/show`, `lacp/show-stats` print the same lines (exit status,
 * stdout and stderr) once names, MACs, counters and times are normalised (helpers' `normalise`),
 * for a balance-slb bond and then a balance-tcp bond with LACP, after traffic and a rebalance,
 * after `bond/migrate`, `bond/disable-member` (with an updelay, so that the disabled member stays
 * disabled for a while on both sides) and `bond/enable-member`, and `bond/set-active-member`; and
 * every command's error text and exit status for a bad bond, member, hash, MAC, VLAN or basis.
 * Which member each side makes active is its own choice: OVS's is made the mirror of ours first.
 */
import t, { type Test } from 'tap';
import { spawnIn, tryRun, type RunResult } from '../helpers/netns.js';
import { waitUntil } from '../helpers/daemon-rig.js';
import { appctl, appctlOk, bothEnabled, memberOf, mirrorActive, OVS_BOND, same, showOf as show, startBondOvsRig, type BondOvsRig, type Side } from '../helpers/bond-ovs-rig.js';

const SLB = ['bond_mode=balance-slb', 'other_config:bond-rebalance-interval=1000'];
const TCP = ['bond_mode=balance-tcp', 'lacp=active', 'other_config:lacp-time=fast', 'other_config:bond-rebalance-interval=1000'];

/** `n` pings of 1000 bytes: 10 kB of load in the sender's bucket, still listed after the halvings of a few 1 s rebalance intervals. */
const ping = (x: BondOvsRig, n: number): Promise<RunResult> => tryRun('ping', ['-c', String(n), '-i', '0.05', '-s', '1000', '-W', '1', x.b.ip], x.a.ns);
/** The index of the member whose bond/show lines list hash `h` with load, or -1. */
const carrying = (text: string, members: readonly string[], h: number): number =>
  members.findIndex((n) => new RegExp(`^ {2}hash ${h}: \\d+ kB load$`, 'm').test(memberOf(text, n)));

/** Errors: every command with a bad bond, member, hash, MAC, VLAN or basis, and a wrong argument count. */
async function errors(t: Test, x: BondOvsRig): Promise<void> {
  for (const args of [
    ['bond/show', 'nosuch'],
    ['bond/migrate', 'nosuch', '1', 'MEMBER1'],
    ['bond/migrate', 'BOND', 'x1', 'MEMBER1'],
    ['bond/migrate', 'BOND', '1', 'nosuch'],
    ['bond/set-active-member', 'nosuch', 'MEMBER1'],
    ['bond/set-active-member', 'BOND', 'nosuch'],
    ['bond/set-active-slave', 'BOND', 'nosuch'],
    ['bond/enable-member', 'nosuch', 'MEMBER1'],
    ['bond/enable-member', 'BOND', 'nosuch'],
    ['bond/disable-member', 'nosuch', 'MEMBER1'],
    ['bond/disable-member', 'BOND', 'nosuch'],
    ['bond/disable-slave', 'BOND', 'nosuch'],
    ['bond/hash', 'zz'],
    ['bond/hash', '00:11:22:33:44:55', 'x'],
    ['bond/hash', '00:11:22:33:44:55', '1', 'y'],
    ['bond/hash', '0x:11:22:33:44:55'],
    ['bond/hash', '00:11:22:33:44'],
    ['bond/hash', '00:11:22:33:44:55', '-'],
    ['bond/hash'],
    ['bond/show', 'BOND', 'extra'],
    ['lacp/show', 'nosuch'],
    ['lacp/show-stats', 'nosuch'],
  ]) {
    const [ours] = await same(t, x, args);
    t.equal(ours.code, 2, `ovs-appctl ${args.join(' ')}: exit status 2`);
  }
}

t.test('bond and LACP ovs-appctl commands print what Open vSwitch prints: balance-slb, then balance-tcp with LACP', async (t) => {
  const x = await startBondOvsRig(t, 97, 'ba', SLB, SLB);
  await bothEnabled(x);
  await mirrorActive(t, x);

  // balance-slb, with each host's traffic on one bucket.
  t.equal((await ping(x, 20)).code, 0, 'A pings B');
  for (const args of [['bond/show', 'BOND'], ['bond/show'], ['bond/list'], ['lacp/show'], ['lacp/show-stats'], ['lacp/show', 'BOND']]) await same(t, x, args);
  for (const args of [
    ['bond/hash', x.a.mac], ['bond/hash', x.b.mac], ['bond/hash', '00:11:22:33:44:55', '10'], ['bond/hash', '00:11:22:33:44:55', '10', '99'],
    ['bond/hash', '1:2:3:4:5:6'], ['bond/hash', '00:11:22:33:44:55', '4095', '4294967295'], ['bond/hash', '00:11:22:33:44:55', '12abc'],
    ['bond/hash', '00:11:22:33:44:55', '-1'], ['bond/hash', '00:11:22:33:44:55:66'],
    ['bond/hash', '0x0:0X111:22:33:44:-0xbb'], ['bond/hash', '00:11:22:33:44:55', '65546', '-1'], ['bond/hash', '00:11:22:33:44:55', ' +10xyz'],
  ]) await same(t, x, args);
  await errors(t, x);

  // bond/migrate: each side's own host's bucket to the member not carrying it; traffic follows.
  const bucketOf = async (side: Side, mac: string): Promise<number> => Number((await appctl(x, side, ['bond/hash', mac])).stdout.trim());
  const [ha, hb] = [await bucketOf('ours', x.a.mac), await bucketOf('theirs', x.b.mac)];
  let [i, j] = [-1, -1];
  await waitUntil(async () => {
    await ping(x, 10);
    [i, j] = [carrying(await show(x, 'ours'), x.m, ha), carrying(await show(x, 'theirs'), x.o, hb)];
    return i >= 0 && j >= 0;
  }, "A's bucket loaded on ofswitch, B's on OVS", 20_000);
  const [ours, theirs] = await Promise.all([x.rig.appctl(['bond/migrate', x.bond, String(ha), x.m[1 - i]!]), x.ovs.tryAppctl(['bond/migrate', OVS_BOND, String(hb), x.o[1 - j]!])]);
  t.equal(appctlOk(t, ours, 'ofswitch bond/migrate'), appctlOk(t, theirs, 'OVS bond/migrate'), `bond/migrate: "${theirs.stdout.trim()}" from both`);
  await waitUntil(async () => {
    await ping(x, 5);
    return carrying(await show(x, 'ours'), x.m, ha) === 1 - i && carrying(await show(x, 'theirs'), x.o, hb) === 1 - j;
  }, 'the migrated buckets listed under their new members', 10_000);
  t.pass(`bond/migrate moved A's bucket ${ha} to ${x.m[1 - i]} and B's bucket ${hb} to ${x.o[1 - j]}`);
  await same(t, x, ['bond/show', 'BOND']);
  await same(t, x, ['bond/migrate', 'BOND', '300', 'MEMBER1']);

  // bond/disable-member with an updelay: disabled until the updelay ends (OVS's bond_run enables a
  // live member again after its updelay); meanwhile it can be neither made active nor migrated to.
  await x.rig.vsctl(['set', 'port', x.bond, 'bond_updelay=30000'], { wait: true });
  await x.ovs.vsctl(['set', 'port', OVS_BOND, 'bond_updelay=30000']);
  await same(t, x, ['bond/show', 'BOND']);
  const active = /active member mac: \S+\((\S+)\)/.exec(await show(x, 'ours'))?.[1];
  const k = x.m.indexOf(active as string);
  const [M, N] = [`MEMBER${k + 1}`, `MEMBER${2 - k}`];
  await same(t, x, ['bond/disable-member', 'BOND', M]);
  await same(t, x, ['bond/show', 'BOND']);
  t.match(memberOf(await show(x, 'ours'), x.m[k]!), /^member \S+: disabled\n {2}updelay expires in \d+ ms\n {2}may_enable: true$/, 'ofswitch: the disabled member waits its updelay');
  t.match(await show(x, 'ours'), new RegExp(`member ${x.m[1 - k]}: enabled\n {2}active member\n`), 'ofswitch: the other member is active');
  await same(t, x, ['bond/set-active-member', 'BOND', M]);
  await same(t, x, ['bond/migrate', 'BOND', '5', M]);
  await same(t, x, ['bond/disable-member', 'BOND', M]);
  t.equal((await ping(x, 5)).code, 0, 'A pings B with one member disabled');
  await same(t, x, ['bond/enable-member', 'BOND', M]);
  await same(t, x, ['bond/show', 'BOND']);
  await same(t, x, ['bond/enable-member', 'BOND', M]);
  // bond/set-active-member: to the member disabled a moment ago, then again.
  await same(t, x, ['bond/set-active-member', 'BOND', M]);
  await same(t, x, ['bond/set-active-member', 'BOND', M]);
  await same(t, x, ['bond/set-active-slave', 'BOND', N]);
  await same(t, x, ['bond/show', 'BOND']);
  t.equal((await ping(x, 5)).code, 0, 'A pings B');
  await x.rig.vsctl(['set', 'port', x.bond, 'bond_updelay=0'], { wait: true });
  await x.ovs.vsctl(['set', 'port', OVS_BOND, 'bond_updelay=0']);

  // balance-tcp with LACP: negotiated, then loaded with 16 TCP flows so that both sides rebalance.
  await x.rig.vsctl(['set', 'port', x.bond, ...TCP], { wait: true });
  await x.ovs.vsctl(['set', 'port', OVS_BOND, ...TCP]);
  const settled = (s: string): boolean => s.includes('status: active negotiated') && (s.match(/current attached/g) ?? []).length === 2 && !/expired|defaulted/.test(s);
  await waitUntil(async () => settled((await appctl(x, 'ours', ['lacp/show', 'BOND'])).stdout) && settled((await appctl(x, 'theirs', ['lacp/show', 'BOND'])).stdout), 'LACP negotiated and settled on both sides', 20_000);
  await bothEnabled(x);
  await mirrorActive(t, x);
  for (const args of [['bond/show', 'BOND'], ['bond/list'], ['lacp/show', 'BOND'], ['lacp/show'], ['lacp/show-stats', 'BOND'], ['lacp/show-stats']]) await same(t, x, args);
  await same(t, x, ['bond/migrate', 'BOND', '1', 'MEMBER1']);
  await errors(t, x);
  const server = spawnIn('iperf3', ['-s', '-1', '-B', x.b.ip], x.b.ns);
  t.teardown(() => void server.kill());
  await waitUntil(async () => (await tryRun('ss', ['-ltn', 'sport = :5201'], x.b.ns)).stdout.includes('5201'), 'iperf3 listens', 5000);
  const iperf = await tryRun('iperf3', ['-c', x.b.ip, '-P', '16', '-t', '3', '-b', '10M'], x.a.ns);
  t.equal(iperf.code, 0, 'iperf3 with 16 flows ran');
  const loaded = (s: string, members: readonly string[]): boolean => members.every((n) => / {2}hash \d+: \d+ kB load/.test(memberOf(s, n)));
  await waitUntil(async () => loaded(await show(x, 'ours'), x.m) && loaded(await show(x, 'theirs'), x.o), 'both sides list loaded buckets under both members', 10_000);
  t.pass('after the traffic and its rebalancing, both sides list loaded buckets under both members');
  await same(t, x, ['bond/show', 'BOND']);
  await same(t, x, ['bond/set-active-member', 'BOND', 'MEMBER1']);
  await same(t, x, ['bond/set-active-member', 'BOND', 'MEMBER2']);
  await same(t, x, ['bond/show', 'BOND']);
  await same(t, x, ['lacp/show', 'BOND']);
});
