/**
 * The MAC table's size, set with the stock ovs-vsctl (`set bridge BR other_config:mac-table-size=N`),
 * against ofswitch in ovs-vswitchd's place: a test host sends frames from many source MACs (scapy),
 * `ovs-appctl fdb/stats-show` shows the table full at its size and the rest evicted, a quiet port's
 * host survives the flood (fair eviction), a host seen on another port counts as moved, and
 * `fdb/stats-clear` zeroes the counters. The same frames through Open vSwitch 3.1 in userspace give
 * the same fdb/stats-show text, line for line and number for number.
 */
import t, { type Test } from 'tap';
import { addHost, assertRan, run, tryRun, uniqueName, type RunResult } from '../helpers/netns.js';
import { startDaemonRig, waitUntil } from '../helpers/daemon-rig.js';
import { startOvsReference } from '../helpers/ovs-reference.js';

const SIZE = 20;
const FLOOD = 50;

/** Sends one broadcast UDP frame from each MAC of `macs` out of `iface` in `ns` (scapy). */
async function sendFrom(ns: string, iface: string, macs: readonly string[]): Promise<void> {
  const script = [
    'import sys',
    'from scapy.all import Ether, IP, UDP, sendp',
    `macs = ${JSON.stringify(macs)}`,
    "frames = [Ether(src=m, dst='ff:ff:ff:ff:ff:ff')/IP(src='10.9.0.1', dst='10.9.0.2')/UDP(sport=1, dport=2) for m in macs]",
    `sendp(frames, iface=${JSON.stringify(iface)}, verbose=False, inter=0.002)`,
  ].join('\n');
  await run('/usr/bin/python3', ['-c', script], ns);
}

const floodMacs = (base: number, n: number): string[] =>
  Array.from({ length: n }, (_, i) => `02:00:00:00:${(base >> 8).toString(16).padStart(2, '0')}:${((base + i) & 0xff).toString(16).padStart(2, '0')}`);

interface FdbStats {
  current: number;
  max: number;
  learned: number;
  expired: number;
  evicted: number;
  moved: number;
}

function parseStats(text: string): FdbStats {
  const n = (re: RegExp): number => Number(re.exec(text)?.[1] ?? NaN);
  const cur = /Current\/maximum MAC entries in the table: (\d+)\/(\d+)/.exec(text);
  return {
    current: Number(cur?.[1] ?? NaN),
    max: Number(cur?.[2] ?? NaN),
    learned: n(/learned MAC entries {5}: (\d+)/),
    expired: n(/expired MAC entries {5}: (\d+)/),
    evicted: n(/evicted MAC entries {5}: (\d+)/),
    moved: n(/port moved MAC entries {2}: (\d+)/),
  };
}

async function statsShow(t: Test, appctl: () => Promise<RunResult>, what: string): Promise<string> {
  const r = await appctl();
  assertRan(t, r, what);
  return r.stdout;
}

t.test('other_config:mac-table-size bounds the table; fdb/stats-show counts as OVS; the same frames through OVS print the same', async (t) => {
  const rig = await startDaemonRig(t);
  const h1 = await addHost(t, 'm1');
  const h2 = await addHost(t, 'm2');
  const br = uniqueName('mbr');
  rig.owns(br);
  await rig.vsctl(['add-br', br], { wait: true });
  // The bridge's own interface (this test's, in the root namespace) would send IPv6 chatter from LOCAL: off.
  await waitUntil(async () => (await tryRun('sysctl', ['-qw', `net.ipv6.conf.${br}.disable_ipv6=1`])).code === 0, 'the bridge interface exists');
  await rig.vsctl(['add-port', br, h1.port], { wait: true });
  await rig.vsctl(['add-port', br, h2.port], { wait: true });
  await rig.vsctl(['set', 'bridge', br, `other_config:mac-table-size=${SIZE}`], { wait: true });

  const show = () => rig.appctl(['fdb/stats-show', br]);
  const initial = await statsShow(t, show, 'ovs-appctl fdb/stats-show');
  t.match(initial, new RegExp(`^Statistics for bridge "${br}":\\n  Current/maximum MAC entries in the table: \\d+/${SIZE}\\n`), 'the maximum set with ovs-vsctl is in force');
  await rig.appctl(['fdb/flush', br]);
  const cleared = await rig.appctl(['fdb/stats-clear', br]);
  assertRan(t, cleared, 'ovs-appctl fdb/stats-clear BRIDGE');
  t.equal(cleared.stdout, 'statistics successfully cleared\n');

  // h2 speaks once (its own MAC), then h1 floods FLOOD source MACs, then a host "moves": h2's MAC from h1.
  const quiet = '02:00:00:00:aa:01';
  await sendFrom(h2.ns, 'eth0', [quiet]);
  await sendFrom(h1.ns, 'eth0', floodMacs(0xbb00, FLOOD));
  await waitUntil(async () => parseStats((await show()).stdout).learned >= FLOOD + 1, 'the flood is learned');
  const fdb = await rig.appctl(['fdb/show', br]);
  assertRan(t, fdb, 'ovs-appctl fdb/show');
  t.match(fdb.stdout, new RegExp(`\\s2\\s+0\\s+${quiet}\\s`), "the quiet port's host survived the flood (fair eviction)");
  await sendFrom(h1.ns, 'eth0', [quiet]);
  await waitUntil(async () => parseStats((await show()).stdout).moved >= 1, 'the move is counted');

  const ours = await statsShow(t, show, 'ovs-appctl fdb/stats-show after the flood');
  const s = parseStats(ours);
  // Hosts may add a frame of their own (none expected: no addresses, IPv6 off), so the exact text is compared with OVS below.
  t.same({ current: s.current, max: s.max, expired: s.expired, moved: s.moved }, { current: SIZE, max: SIZE, expired: 0, moved: 1 });
  t.equal(s.evicted, s.learned - SIZE, 'every entry learned beyond the size was evicted');
  const all = await rig.appctl(['fdb/stats-clear']);
  assertRan(t, all, 'ovs-appctl fdb/stats-clear (every bridge)');
  t.same(parseStats(await statsShow(t, show, 'stats-show after the clear')), { current: SIZE, max: SIZE, learned: 0, expired: 0, evicted: 0, moved: 0 }, 'counters zeroed, entries kept');
  const missing = await rig.appctl(['fdb/stats-show', 'nosuchbr']);
  t.equal(missing.code, 2, 'an unknown bridge: ovs-appctl fails');
  t.match(missing.stderr, /no such bridge/);
  t.equal((await rig.appctl(['fdb/stats-clear', 'nosuchbr'])).code, 2);

  // The same through Open vSwitch in userspace (one instance on the machine: the caller holds the lock).
  const ovs = await startOvsReference(t, {
    tag: 'movs',
    failMode: 'standalone',
    listenPort: 0,
    ports: [
      { name: 'mo1', ofport: 1 },
      { name: 'mo2', ofport: 2 },
    ],
  });
  await ovs.vsctl(['set', 'bridge', ovs.bridge, `other_config:mac-table-size=${SIZE}`]);
  const ovsShow = () => tryRun('ovs-appctl', ['-t', `${ovs.dir}/ovs-vswitchd.ctl`, 'fdb/stats-show', ovs.bridge]);
  await tryRun('ovs-appctl', ['-t', `${ovs.dir}/ovs-vswitchd.ctl`, 'fdb/stats-clear']);
  await sendFrom(ovs.ns, 'mo2-p', [quiet]);
  await sendFrom(ovs.ns, 'mo1-p', floodMacs(0xbb00, FLOOD));
  await waitUntil(async () => parseStats((await ovsShow()).stdout).learned >= FLOOD + 1, 'OVS learned the flood');
  await sendFrom(ovs.ns, 'mo1-p', [quiet]);
  await waitUntil(async () => parseStats((await ovsShow()).stdout).moved >= 1, 'OVS counted the move');
  const theirs = await statsShow(t, ovsShow, 'OVS ovs-appctl fdb/stats-show');
  t.ok(theirs.length > 0, 'OVS printed its statistics');
  t.equal(ours.replace(`"${br}"`, '"BR"'), theirs.replace(`"${ovs.bridge}"`, '"BR"'), 'fdb/stats-show: the same text as Open vSwitch 3.1');
  const ovsFdb = await tryRun('ovs-appctl', ['-t', `${ovs.dir}/ovs-vswitchd.ctl`, 'fdb/show', ovs.bridge]);
  assertRan(t, ovsFdb, 'OVS fdb/show');
  t.notMatch(ovsFdb.stdout, new RegExp(`\\s2\\s+0\\s+${quiet}\\s`), 'OVS too: the moved host is now on port 1');
  t.match(fdb.stdout, /^ port {2}VLAN {2}MAC {16}Age\n/);
});
