/**
 * Bond members' liveness from CFM or BFD, against Open vSwitch 3.1 in userspace as the partner,
 * with real packets (the rig of bond-ovs.test.ts, helpers/bond-ovs-rig.ts):
 *
 *   host A -- ofswitch (database mode, bond of m1, m2) ==veth x2== OVS br0 (bond0 of o1, o2) -- host B
 *
 * Configured with the stock ovs-vsctl on both sides, one rig for both cases: first every member
 * runs CFM (`cfm_mpid`, `other_config:cfm_interval=100`) in an active-backup bond without LACP,
 * then the same bonds become balance-tcp with fast LACP and the members run BFD instead
 * (`bfd:enable=true`, min_rx = min_tx = 100 ms). Each time the CCMs (BFD packets) of the active
 * member are dropped in both directions by tc filters on both veth ends, while the carrier and
 * every other frame stay up, and this test proves what OVS's port_run does (a member's
 * may_enable needs its CFM without fault, or its BFD forwarding):
 * - both sides fault the member (Interface cfm_fault true, fault recv / bfd_status state down,
 *   forwarding false) though its carrier and ofswitch's link_state stay up; cfm/show, bfd/show;
 * - ofswitch's `bond/show` shows the member disabled with may_enable false, as OVS's own
 *   `bond/show` does on the other side; Port bond_active_slave names the other member;
 * - a ping every 50 ms from A to B loses at most 1 s of traffic, and afterwards no data crosses the
 *   faulted member in either direction (the kernel's rx counters of both veth ends);
 * - once the CCMs (BFD packets) pass again the member is live and enabled again on both sides; in
 *   the CFM case the other member is then faulted too, and traffic moves back to the restored one.
 * In active-backup without LACP OVS takes frames only from its active member, so OVS's active
 * member is first made the mirror of ours (bond/set-active-member).
 */
import t, { type Test } from 'tap';
import { macOf, run, tryRun } from '../helpers/netns.js';
import { waitUntil } from '../helpers/daemon-rig.js';
import { appctlOk, dropLeaving, enabledIn, memberOf, mirrorActive, normalise, OVS_BOND, pingThrough, sideNames, startBondOvsRig, type BondOvsRig } from '../helpers/bond-ovs-rig.js';

type Kind = 'cfm' | 'bfd';

/** ovs-vsctl of one side: ofswitch's database or OVS's. */
interface Db {
  vsctl(args: readonly string[]): Promise<string>;
}

const CFM_INTERVAL_MS = 100;
const BFD_ARGS = ['bfd:enable=true', 'bfd:min_rx=100', 'bfd:min_tx=100'];

/** Interface columns (map keys as `col:key`), unquoted; '' for a key that is not there. */
async function columns(db: Db, iface: string, cols: readonly string[]): Promise<string[]> {
  const out = await db.vsctl(['--if-exists', 'get', 'interface', iface, ...cols]);
  return out.replace(/\n$/, '').split('\n').map((v) => v.replace(/^"(.*)"$/, '$1'));
}
const column = async (db: Db, iface: string, col: string): Promise<string> => (await columns(db, iface, [col]))[0] ?? '';
/** CFM without fault, or BFD up and forwarding. */
const isLive = async (db: Db, iface: string, kind: Kind): Promise<boolean> =>
  kind === 'cfm' ? (await column(db, iface, 'cfm_fault')) === 'false' : (await column(db, iface, 'bfd_status:forwarding')) === 'true';
const isFaulted = async (db: Db, iface: string, kind: Kind): Promise<boolean> =>
  kind === 'cfm' ? (await column(db, iface, 'cfm_fault')) === 'true' : (await column(db, iface, 'bfd_status:state')) === 'down';


/** A member's bond/show lines once it is disabled: no bucket left on it (balance-tcp moves them all at the bond's next run, as OVS's bond_run does). */
const DISABLED = /^member \S+: disabled\n {2}may_enable: false$/;

const oursShow = async (x: BondOvsRig): Promise<string> => (await x.rig.appctl(['bond/show', x.bond])).stdout;
const theirsShow = async (x: BondOvsRig): Promise<string> => (await x.ovs.tryAppctl(['bond/show', OVS_BOND])).stdout;
const activeSlave = async (x: BondOvsRig): Promise<string> => (await x.rig.vsctl(['get', 'port', x.bond, 'bond_active_slave'])).trim().replace(/"/g, '');

/** The kernel's rx_packets of both members' veth ends: [ours (what OVS sent), OVS's (what we sent)], by member. */
async function rxCounters(x: BondOvsRig): Promise<{ fromOvs: number[]; toOvs: number[] }> {
  const read = async (names: readonly string[], ns?: string): Promise<number[]> =>
    (await run('cat', names.map((n) => `/sys/class/net/${n}/statistics/rx_packets`), ns)).trim().split('\n').map(Number);
  return { fromOvs: await read(x.m), toOvs: await read(x.o, x.ovs.ns) };
}

/**
 * The bond settings `bondArgs` (Port columns) on both sides, and CFM or BFD on all four members
 * (BFD instead of CFM: cfm_mpid cleared); waits until every member is live and enabled on both sides.
 */
async function configure(x: BondOvsRig, kind: Kind, bondArgs: readonly string[]): Promise<void> {
  const each = (bond: string, names: readonly string[], base: number): string[] => [
    'set', 'port', bond, ...bondArgs,
    ...names.flatMap((n, i) => ['--', 'set', 'interface', n, ...(kind === 'cfm' ? [`cfm_mpid=${base + i}`, `other_config:cfm_interval=${CFM_INTERVAL_MS}`, 'bfd={}'] : ['cfm_mpid=[]', ...BFD_ARGS])]),
  ];
  await x.rig.vsctl(each(x.bond, x.m, 1), { wait: true });
  await x.ovs.vsctl(each(OVS_BOND, x.o, 11));
  const sides: [Db, readonly string[]][] = [[x.rig, x.m], [x.ovs, x.o]];
  for (const [db, names] of sides) for (const n of names) await waitUntil(() => isLive(db, n, kind), `${n}: ${kind} live`, 20_000);
  await waitUntil(async () => { const s = await oursShow(x); return x.m.every((n) => enabledIn(s, n)); }, 'both of our members enabled', 10_000);
  await waitUntil(async () => { const s = await theirsShow(x); return x.o.every((n) => enabledIn(s, n)); }, "both of OVS's members enabled", 10_000);
}

/**
 * Faults member i's CFM (BFD) on both sides while pinging, and checks what the file's comment
 * says (`full`: every column, show text and counter; else the switch-over and the loss); returns
 * what restores it, which waits until the member is live and enabled again on both sides.
 */
async function breakMember(t: Test, x: BondOvsRig, kind: Kind, i: number, opts: { lacp: boolean; full: boolean }): Promise<() => Promise<void>> {
  const other = 1 - i;
  const [mi, mo, oi] = [x.m[i]!, x.m[other]!, x.o[i]!];
  const macs = [await macOf(x.m[0]), await macOf(x.m[1])];
  await waitUntil(async () => (await activeSlave(x)) === macs[i], `bond_active_slave names ${mi}`, 5000);
  t.pass(`${mi} is the active member`);
  const restore: (() => Promise<void>)[] = [];
  let switched = -1;
  const r = await pingThrough(x, 4, async () => {
    restore.push(...(await Promise.all([dropLeaving(mi, kind), dropLeaving(oi, kind, x.ovs.ns)])));
    const since = Date.now();
    await waitUntil(async () => (await activeSlave(x)) === macs[other], 'bond_active_slave changed', 10_000);
    switched = Date.now() - since;
  });
  const what = kind === 'cfm' ? 'CCMs' : 'BFD packets';
  // CFM: silence is a fault at the second fault check (3.5 intervals apart) at the latest; BFD: 3 x
  // 100 ms. Then the bond's next run, and the status write (within a second).
  t.ok(switched >= 0 && switched <= 3000, `Port bond_active_slave names ${mo} ${switched} ms after the ${what} stopped`);
  t.ok(r.sent >= 70, `ping sent ${r.sent} requests`);
  t.ok(r.lost <= 20, `${what} of ${mi} dropped: ${r.lost} of ${r.sent} pings lost (at most 1 s at 50 ms)`);
  await waitUntil(() => isFaulted(x.rig, mi, kind), `ofswitch: ${mi} faulted`, 5000);
  await waitUntil(() => isFaulted(x.ovs, oi, kind), `OVS: ${oi} faulted`, 5000);
  const ours = appctlOk(t, await x.rig.appctl(['bond/show', x.bond]), 'ovs-appctl -t ofswitch bond/show');
  t.match(memberOf(ours, mi), DISABLED, `ofswitch bond/show: ${mi} disabled, may_enable false, no bucket left on it`);
  t.match(memberOf(ours, mo), /^member \S+: enabled\n {2}active member\n {2}may_enable: true/, `ofswitch bond/show: ${mo} enabled and active`);
  if (opts.full) {
    const theirs = appctlOk(t, await x.ovs.tryAppctl(['bond/show', OVS_BOND]), 'ovs-appctl bond/show (OVS)');
    t.match(memberOf(theirs, oi), DISABLED, `OVS bond/show: ${oi} disabled, may_enable false, no bucket left on it (the same verdict)`);
    if (kind === 'cfm') {
      t.same(await columns(x.rig, mi, ['cfm_fault', 'cfm_fault_status', 'link_state']), ['true', '[recv]', 'up'], `ofswitch: cfm_fault true, fault recv on ${mi}, its link_state still up`);
      t.same(await columns(x.ovs, oi, ['cfm_fault', 'cfm_fault_status']), ['true', '[recv]'], `OVS: cfm_fault true, fault recv on ${oi}`);
      t.equal(await column(x.rig, mo, 'cfm_fault'), 'false', `ofswitch: ${mo} has no fault`);
      t.match(appctlOk(t, await x.ovs.tryAppctl(['cfm/show', oi]), 'ovs-appctl cfm/show (OVS)'), /^ {2}fault: recv$/m, 'OVS cfm/show: fault recv');
      t.match(appctlOk(t, await x.rig.appctl(['cfm/show', mi]), 'ovs-appctl -t ofswitch cfm/show'), /^ {2}fault: recv$/m, 'ofswitch cfm/show: fault recv');
    } else {
      t.same(await columns(x.rig, mi, ['bfd_status:state', 'bfd_status:forwarding', 'link_state']), ['down', 'false', 'up'], `ofswitch: BFD down, not forwarding on ${mi}, its link_state still up`);
      t.same(await columns(x.ovs, oi, ['bfd_status:state', 'bfd_status:forwarding']), ['down', 'false'], `OVS: BFD down, not forwarding on ${oi}`);
      t.equal(await column(x.rig, mo, 'bfd_status:forwarding'), 'true', `ofswitch: BFD still forwarding on ${mo}`);
      t.match(appctlOk(t, await x.ovs.tryAppctl(['bfd/show', oi]), 'ovs-appctl bfd/show (OVS)'), /^ {2}Forwarding: false$/m, 'OVS bfd/show: not forwarding');
      t.match(appctlOk(t, await x.rig.appctl(['bfd/show', mi]), 'ovs-appctl -t ofswitch bfd/show'), /^ {2}Forwarding: false$/m, 'ofswitch bfd/show: not forwarding');
    }
    t.equal((await run('cat', [`/sys/class/net/${mi}/carrier`])).trim(), '1', `${mi}'s carrier is up`);
    // No data on the faulted member either way: only LACP PDUs (fast: one a second each way) may cross it.
    const start = Date.now();
    const before = await rxCounters(x);
    const ping = await tryRun('ping', ['-c', '20', '-i', '0.05', '-W', '1', x.b.ip], x.a.ns);
    const after = await rxCounters(x);
    t.equal(ping.code, 0, '20 more pings pass');
    const d = (k: 'fromOvs' | 'toOvs', j: number): number => (after[k][j] ?? 0) - (before[k][j] ?? 0);
    const allowed = opts.lacp ? Math.ceil((Date.now() - start) / 1000) + 1 : 0;
    t.ok(d('toOvs', i) <= allowed && d('fromOvs', i) <= allowed, `20 pings: ${d('toOvs', i)} frames to OVS and ${d('fromOvs', i)} back over ${mi} (at most ${allowed})`);
    t.ok(d('toOvs', other) >= 20 && d('fromOvs', other) >= 20, `20 pings: ${d('toOvs', other)} frames to OVS and ${d('fromOvs', other)} back over ${mo}`);
  }
  return async () => {
    for (const f of restore) await f();
    const since = Date.now();
    await waitUntil(() => isLive(x.rig, mi, kind), `ofswitch: ${mi} live again`, 15_000);
    await waitUntil(() => isLive(x.ovs, oi, kind), `OVS: ${oi} live again`, 15_000);
    await waitUntil(async () => enabledIn(await oursShow(x), mi), `ofswitch: ${mi} enabled again`, 5000);
    await waitUntil(async () => enabledIn(await theirsShow(x), oi), `OVS: ${oi} enabled again`, 5000);
    t.pass(`${what} pass again: ${mi} live and enabled on both sides ${Date.now() - since} ms later`);
  };
}

const AB = ['bond_mode=active-backup'];
const TCP_LACP = ['bond_mode=balance-tcp', 'lacp=active', 'other_config:lacp-time=fast'];
// One rig for both cases (the second reconfigures the first): starting OVS and ofswitch is the slow part.
let rig: BondOvsRig | null = null;
const theRig = async (): Promise<BondOvsRig> => (rig ??= await startBondOvsRig(t, 95, 'lv', AB, AB));

t.test('CFM as bond member liveness with Open vSwitch: active-backup, CCMs dropped on the active member, then restored', async (t) => {
  const x = await theRig();
  await configure(x, 'cfm', AB);
  const cfm = appctlOk(t, await x.ovs.tryAppctl(['cfm/show']), 'ovs-appctl cfm/show (OVS)');
  t.ok(x.o.every((n) => cfm.includes(`---- ${n} ----`)), 'OVS runs CFM on both members');
  t.match(appctlOk(t, await x.ovs.tryAppctl(['bond/show', OVS_BOND]), 'ovs-appctl bond/show (OVS)'), /^bond_mode: active-backup$/m, 'OVS: an active-backup bond');
  t.equal(await column(x.rig, x.m[0], 'cfm_remote_mpids'), '[11]', "ofswitch's m1 hears OVS's MPID 11");
  t.equal(await column(x.ovs, x.o[1], 'cfm_remote_mpids'), '[2]', "OVS's o2 hears our MPID 2");
  const i = await mirrorActive(t, x);

  const restore = await breakMember(t, x, 'cfm', i, { lacp: false, full: true });
  await restore();
  // The restored member carries the traffic once the other one faults.
  const restoreOther = await breakMember(t, x, 'cfm', 1 - i, { lacp: false, full: false });
  await restoreOther();
});

t.test('BFD as bond member liveness with Open vSwitch: balance-tcp with LACP, BFD dropped on the active member, then restored', async (t) => {
  const x = await theRig();
  await configure(x, 'bfd', TCP_LACP);
  t.equal(await column(x.rig, x.m[0], 'cfm_fault'), '[]', 'CFM is off');
  const bfd = appctlOk(t, await x.ovs.tryAppctl(['bfd/show']), 'ovs-appctl bfd/show (OVS)');
  t.ok(x.o.every((n) => bfd.includes(`---- ${n} ----`)), 'OVS runs BFD on both members');
  await waitUntil(async () => /status: active negotiated/.test((await x.ovs.tryAppctl(['lacp/show', OVS_BOND])).stdout), 'OVS: LACP negotiated', 10_000);
  t.match(appctlOk(t, await x.ovs.tryAppctl(['lacp/show', OVS_BOND]), 'ovs-appctl lacp/show (OVS)'), /status: active negotiated/, 'OVS: LACP negotiated');
  const i = await mirrorActive(t, x);
  const restore = await breakMember(t, x, 'bfd', i, { lacp: true, full: true });
  await restore();
});

const SLB = ['bond_mode=balance-slb', 'lacp=off'];

/** The index of the member whose bond/show lines list hash `h` with load, or -1. */
const carrying = (show: string, members: readonly string[], h: number): number =>
  members.findIndex((n) => new RegExp(`^ {2}hash ${h}: \\d+ kB load$`, 'm').test(memberOf(show, n)));

t.test("CFM as bond member liveness with Open vSwitch: balance-slb, CCMs dropped on the member carrying A's hash, then restored", async (t) => {
  const x = await theRig();
  await configure(x, 'cfm', SLB);
  t.match(appctlOk(t, await x.ovs.tryAppctl(['bond/show', OVS_BOND]), 'ovs-appctl bond/show (OVS)'), /^bond_mode: balance-slb$/m, 'OVS: a balance-slb bond');
  t.match(appctlOk(t, await x.rig.appctl(['bond/show', x.bond]), 'ovs-appctl -t ofswitch bond/show'), /^bond_mode: balance-slb$/m, 'ofswitch: a balance-slb bond');
  await mirrorActive(t, x);
  // Each side sends its host's frames by the bucket of their source MAC (VLAN 0), the number both compute.
  const bucket = async (mac: string): Promise<number> => {
    const ours = appctlOk(t, await x.rig.appctl(['bond/hash', mac]), 'ovs-appctl -t ofswitch bond/hash').trim();
    const theirs = appctlOk(t, await x.ovs.tryAppctl(['bond/hash', mac]), 'ovs-appctl bond/hash (OVS)').trim();
    t.equal(ours, theirs, `bond/hash ${mac}: bucket ${ours} on both sides`);
    return Number(ours);
  };
  const [ha, hb] = [await bucket(x.a.mac), await bucket(x.b.mac)];
  let [i, j] = [-1, -1];
  await waitUntil(async () => {
    await tryRun('ping', ['-c', '10', '-i', '0.05', '-W', '1', x.b.ip], x.a.ns);
    [i, j] = [carrying(await oursShow(x), x.m, ha), carrying(await theirsShow(x), x.o, hb)];
    return i >= 0 && j >= 0;
  }, "ofswitch's bond/show lists A's bucket with load, OVS's B's", 20_000);
  const other = 1 - i;
  t.pass(`A's bucket ${ha} is on our ${x.m[i]}, B's bucket ${hb} on OVS's ${x.o[j]}`);

  const restore: (() => Promise<void>)[] = [];
  let moved = -1;
  const r = await pingThrough(x, 4, async () => {
    restore.push(...(await Promise.all([dropLeaving(x.m[i]!, 'cfm'), dropLeaving(x.o[i]!, 'cfm', x.ovs.ns)])));
    const since = Date.now();
    await waitUntil(async () => carrying(await oursShow(x), x.m, ha) === other, `A's bucket on ${x.m[other]}`, 10_000);
    moved = Date.now() - since;
  });
  // Silence is a fault at the second fault check (3.5 intervals apart) at the latest, then the bond's next run.
  t.ok(moved >= 0 && moved <= 3000, `A's bucket ${ha} moved to ${x.m[other]} ${moved} ms after the CCMs of ${x.m[i]} stopped`);
  t.ok(r.sent >= 70, `ping sent ${r.sent} requests`);
  t.ok(r.lost <= 20, `CCMs of ${x.m[i]} dropped: ${r.lost} of ${r.sent} pings lost (at most 1 s at 50 ms)`);
  await waitUntil(() => isFaulted(x.rig, x.m[i]!, 'cfm'), `ofswitch: ${x.m[i]} faulted`, 5000);
  await waitUntil(() => isFaulted(x.ovs, x.o[i]!, 'cfm'), `OVS: ${x.o[i]} faulted`, 5000);
  await waitUntil(async () => carrying(await theirsShow(x), x.o, hb) === other, `OVS: B's bucket on ${x.o[other]}`, 5000);
  const ours = appctlOk(t, await x.rig.appctl(['bond/show', x.bond]), 'ovs-appctl -t ofswitch bond/show');
  const theirs = appctlOk(t, await x.ovs.tryAppctl(['bond/show', OVS_BOND]), 'ovs-appctl bond/show (OVS)');
  const NO_LOAD = /^member \S+: disabled\n {2}may_enable: false$/;
  t.match(memberOf(ours, x.m[i]!), NO_LOAD, `ofswitch bond/show: ${x.m[i]} disabled, may_enable false, no bucket left on it`);
  t.match(memberOf(theirs, x.o[i]!), NO_LOAD, `OVS bond/show: ${x.o[i]} disabled, may_enable false, no bucket left on it`);
  t.equal(carrying(ours, x.m, ha), other, `ofswitch bond/show: A's bucket ${ha} under ${x.m[other]}`);
  t.equal(carrying(theirs, x.o, hb), other, `OVS bond/show: B's bucket ${hb} under ${x.o[other]}`);
  t.same(normalise(ours, sideNames(x, 'ours')), normalise(theirs, sideNames(x, 'theirs')), 'bond/show: the same lines as OVS prints (hash lines aside)');
  t.equal(await column(x.rig, x.m[i]!, 'link_state'), 'up', `ofswitch: ${x.m[i]}'s link_state still up`);
  const ping = await tryRun('ping', ['-c', '20', '-i', '0.05', '-W', '1', x.b.ip], x.a.ns);
  t.equal(ping.code, 0, '20 more pings pass');

  for (const f of restore) await f();
  await waitUntil(() => isLive(x.rig, x.m[i]!, 'cfm'), `ofswitch: ${x.m[i]} live again`, 15_000);
  await waitUntil(() => isLive(x.ovs, x.o[i]!, 'cfm'), `OVS: ${x.o[i]} live again`, 15_000);
  await waitUntil(async () => enabledIn(await oursShow(x), x.m[i]!), `ofswitch: ${x.m[i]} enabled again`, 5000);
  await waitUntil(async () => enabledIn(await theirsShow(x), x.o[i]!), `OVS: ${x.o[i]} enabled again`, 5000);
  t.pass(`CCMs pass again: ${x.m[i]} live and enabled on both sides`);
  const back = await tryRun('ping', ['-c', '5', '-i', '0.05', '-W', '1', x.b.ip], x.a.ns);
  t.equal(back.code, 0, 'pings pass after the restore');
});
