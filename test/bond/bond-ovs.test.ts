/**
 * Bonds with LACP against Open vSwitch 3.1 in userspace as the partner, with real packets.
 *
 *   host A -- ofswitch (database mode, bridge with bond of m1, m2) ==veth x2== OVS br0 (bond of o1, o2) -- host B
 *
 * Both bonds are `lacp=active bond_mode=balance-tcp other_config:lacp-time=fast`, configured with
 * the stock ovs-vsctl. Proven here: LACP negotiates (each side's lacp/show names the other's
 * system as partner on both members); ofswitch's `lacp/show` and `bond/show` print what OVS prints
 * for the same setup, line by line once names, addresses and numbers are normalised; the status
 * columns (Interface lacp_current, Port bond_active_slave) are written; a ping every 50 ms loses
 * at most 1 s while a member's carrier goes down (the veth end in OVS's namespace set down), then
 * traffic uses the restored member once the other goes down; iperf3 flows are spread over both
 * members (each member's tx counter from `ovs-ofctl dump-ports`); OpenFlow sees each member as its
 * own port (`ovs-ofctl show`).
 */
import t, { type Test } from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { run, spawnIn, tryRun, waitTcpListening } from '../helpers/netns.js';
import { waitUntil } from '../helpers/daemon-rig.js';
import { appctlOk, normalise, OVS_BOND, pingThrough, sideNames, startBondOvsRig, type BondOvsRig as Rig } from '../helpers/bond-ovs-rig.js';

const BOND_ARGS = ['lacp=active', 'bond_mode=balance-tcp', 'other_config:lacp-time=fast'];

const setup = (t: Test, net: number, tag: string, ours: readonly string[] = BOND_ARGS, theirs: readonly string[] = BOND_ARGS): Promise<Rig> => startBondOvsRig(t, net, tag, ours, theirs);

const oursLacp = async (x: Rig): Promise<string> => (await x.rig.appctl(['lacp/show', x.bond])).stdout;
const theirsLacp = async (x: Rig): Promise<string> => (await x.ovs.tryAppctl(['lacp/show', OVS_BOND])).stdout;

/** Each member's tx packet counter, from ovs-ofctl dump-ports. */
async function txCounts(t: Test, x: Rig): Promise<number[]> {
  const out: number[] = [];
  for (const port of x.m) {
    const r = await x.rig.ofctl(['dump-ports', x.br, port]);
    const m = /tx pkts=(\d+)/.exec(r.stdout);
    if (r.code !== 0 || !m) t.fail(`dump-ports ${port}: ${r.stderr}`);
    out.push(Number(m?.[1] ?? 0));
  }
  return out;
}

/** iperf3 with 8 TCP flows from A to B for `seconds`; the frames each member sent meanwhile. */
async function iperf(t: Test, x: Rig, seconds: number): Promise<number[]> {
  const server = spawnIn('iperf3', ['-s', '-1', '-B', x.b.ip], x.b.ns);
  t.teardown(() => void server.kill());
  await waitTcpListening(x.b.ns, 5201); // until it listens: a fixed pause was too short on a loaded machine
  const before = await txCounts(t, x);
  // 16 flows of 10 Mbit/s each: the bond's hash puts each in a bucket of one member, so all of
  // them land on one member with odds of 2^-15 (with 8 flows, a 1-to-7 split came 7 % of the time).
  const client = await tryRun('iperf3', ['-c', x.b.ip, '-P', '16', '-t', String(seconds), '-b', '10M'], x.a.ns);
  t.equal(client.code, 0, 'iperf3 with 16 flows ran');
  const after = await txCounts(t, x);
  return after.map((n, i) => n - (before[i] ?? 0));
}

t.test('LACP with Open vSwitch: negotiation, show texts, status columns, failover, balance-tcp', async (t) => {
  const x = await setup(t, 93, 'bl');
  const { rig, ovs } = x;

  await waitUntil(async () => (await oursLacp(x)).includes('status: active negotiated') && (await theirsLacp(x)).includes('status: active negotiated'), 'both sides negotiated LACP', 20_000);
  // Settled: the PDUs each side sent while a member was still expired have been replaced (1 s).
  const settled = (s: string): boolean => (s.match(/current attached/g) ?? []).length === 2 && !/expired|defaulted/.test(s);
  await waitUntil(async () => settled(await oursLacp(x)) && settled(await theirsLacp(x)), 'no member expired on either side', 10_000);
  const ours = appctlOk(t, await rig.appctl(['lacp/show', x.bond]), 'ovs-appctl -t ofswitch lacp/show');
  const theirs = appctlOk(t, await ovs.tryAppctl(['lacp/show', OVS_BOND]), 'ovs-appctl lacp/show (OVS)');
  const ourSys = /^ {2}sys_id: (\S+)$/m.exec(ours)?.[1];
  const theirSys = /^ {2}sys_id: (\S+)$/m.exec(theirs)?.[1];
  t.ok(ourSys && theirSys && ourSys !== theirSys, `two systems: ${ourSys} and ${theirSys}`);
  t.equal([...ours.matchAll(/partner sys_id: (\S+)/g)].map((m) => m[1]).join(), `${theirSys},${theirSys}`, 'ofswitch names OVS as partner on both members');
  t.equal([...theirs.matchAll(/partner sys_id: (\S+)/g)].map((m) => m[1]).join(), `${ourSys},${ourSys}`, 'OVS names ofswitch as partner on both members');
  t.equal((ours.match(/: current attached/g) ?? []).length, 2, 'both of our members current and attached');
  t.equal((theirs.match(/: current attached/g) ?? []).length, 2, "both of OVS's members current and attached");

  const names = (side: 'ours' | 'theirs'): Record<string, string> => sideNames(x, side);
  t.same(normalise(ours, names('ours')), normalise(theirs, names('theirs')), 'lacp/show: the same lines as OVS prints');

  await waitUntil(async () => !(await rig.appctl(['bond/show', x.bond])).stdout.includes('may_enable: false'), 'both members may be enabled', 10_000);
  // Which member is active is each side's own choice: OVS's is made the mirror of ours first.
  const ourActive = /active member mac: \S+\((\S+)\)/.exec((await rig.appctl(['bond/show', x.bond])).stdout)?.[1];
  const mirrored = x.o[x.m.indexOf(ourActive as string)];
  t.ok(mirrored, `our active member ${ourActive} is one of ours`);
  t.match((await ovs.tryAppctl(['bond/set-active-member', OVS_BOND, mirrored ?? ''])).stdout, /done|no change/, `OVS's active member set to ${mirrored}`);
  const bondOurs = appctlOk(t, await rig.appctl(['bond/show', x.bond]), 'ovs-appctl -t ofswitch bond/show');
  const bondTheirs = appctlOk(t, await ovs.tryAppctl(['bond/show', OVS_BOND]), 'ovs-appctl bond/show (OVS)');
  t.same(normalise(bondOurs, names('ours')), normalise(bondTheirs, names('theirs')), 'bond/show: the same lines as OVS prints');
  const statsOurs = appctlOk(t, await rig.appctl(['lacp/show-stats', x.bond]), 'lacp/show-stats');
  t.match(statsOurs, /RX PDUs: [1-9]/, 'lacp/show-stats counts received PDUs');

  // Status columns.
  await waitUntil(async () => (await rig.vsctl(['get', 'interface', x.m[0], 'lacp_current'])).trim() === 'true', 'Interface lacp_current true', 5000);
  t.equal((await rig.vsctl(['get', 'interface', x.m[1], 'lacp_current'])).trim(), 'true', 'lacp_current true on both members');
  const activeMac = (await rig.vsctl(['get', 'port', x.bond, 'bond_active_slave'])).trim().replace(/"/g, '');
  const macs = [(await run('cat', [`/sys/class/net/${x.m[0]}/address`])).trim(), (await run('cat', [`/sys/class/net/${x.m[1]}/address`])).trim()];
  t.ok(macs.includes(activeMac), `Port bond_active_slave ${activeMac} is a member's MAC`);

  // OpenFlow sees every member as a port.
  const show = await rig.ofctl(['show', x.br]);
  t.equal(show.code, 0, 'ovs-ofctl show');
  t.ok(show.stdout.includes(`(${x.m[0]})`) && show.stdout.includes(`(${x.m[1]})`), 'ovs-ofctl show lists both members as ports');

  // balance-tcp: several TCP flows are spread over both members.
  const spread = await iperf(t, x, 3);
  const total = (spread[0] ?? 0) + (spread[1] ?? 0);
  t.ok(total > 1000, `the bond sent ${total} frames`);
  // One flow of 16 is 6 % of the frames: each member carried at least about one flow's worth.
  t.ok(spread.every((n) => n > total * 0.03), `both members carried traffic: ${spread.join(' and ')} frames`);

  // Failover: the active member's carrier goes down, then the other's after the first came back.
  const first = await tryRun('ping', ['-c', '3', '-i', '0.2', '-W', '2', x.b.ip], x.a.ns);
  t.equal(first.code, 0, 'A pings B through both bonds');
  for (const [down, other] of [[0, 1], [1, 0]] as const) {
    const active = async (): Promise<string> => (await rig.vsctl(['get', 'port', x.bond, 'bond_active_slave'])).trim().replace(/"/g, '');
    t.equal(await active(), macs[down], `${x.m[down]} is the active member`);
    let switched = -1;
    const r = await pingThrough(x, 4, async () => {
      await run('ip', ['link', 'set', x.o[down], 'down'], ovs.ns);
      const since = Date.now();
      await waitUntil(async () => (await active()) === macs[other], 'bond_active_slave changed', 5000);
      switched = Date.now() - since;
    });
    t.ok(switched >= 0 && switched <= 1000, `Port bond_active_slave names ${x.m[other]} ${switched} ms after the carrier went (within a second)`);
    t.ok(r.sent >= 70, `ping sent ${r.sent} requests`);
    t.ok(r.lost <= 20, `member ${down + 1} down: ${r.lost} of ${r.sent} lost (at most 1 s at 50 ms)`);
    const shown = (await rig.appctl(['bond/show', x.bond])).stdout;
    t.match(shown, new RegExp(`member ${x.m[down]}: disabled`), `bond/show: ${x.m[down]} disabled`);
    t.match(shown, new RegExp(`member ${x.m[other]}: enabled`), `bond/show: ${x.m[other]} enabled`);
    await run('ip', ['link', 'set', x.o[down], 'up'], ovs.ns);
    await waitUntil(async () => new RegExp(`member ${x.m[down]}: enabled`).test((await rig.appctl(['bond/show', x.bond])).stdout), `${x.m[down]} enabled again`, 15_000);
    await waitUntil(async () => new RegExp(`member ${x.o[down]}: enabled`).test((await ovs.tryAppctl(['bond/show', OVS_BOND])).stdout), `OVS's ${x.o[down]} enabled again`, 15_000);
  }

  // Every bucket may be on one member now (each failover moved all of the failed member's, and
  // nothing moves them back but rebalancing). With bond-rebalance-interval=1000 load is shifted
  // within the run (logged `bond B: shift ...`) and both members carry it.
  await rig.vsctl(['set', 'port', x.bond, 'other_config:bond-rebalance-interval=1000'], { wait: true });
  const rebalanced = await iperf(t, x, 4);
  const sum = (rebalanced[0] ?? 0) + (rebalanced[1] ?? 0);
  t.ok(rebalanced.every((n) => n > sum * 0.03), `rebalancing moved load back to both members: ${rebalanced.join(' and ')} frames`);
  const loads = (await rig.appctl(['bond/show', x.bond])).stdout.split(/\nmember /).slice(1);
  t.ok(loads.length === 2 && loads.every((m) => / {2}hash \d+: \d+ kB load/.test(m)), 'bond/show lists loaded hashes under both members');

});

t.test('active-backup, LACP passive against active, slow PDUs, updelay: failover and return', async (t) => {
  const x = await setup(t, 94, 'bp', ['lacp=passive', 'bond_mode=active-backup', 'bond_updelay=1500'], ['lacp=active', 'bond_mode=active-backup']);
  const { rig, ovs } = x;
  await waitUntil(async () => (await oursLacp(x)).includes('status: passive negotiated') && (await theirsLacp(x)).includes('status: active negotiated'), 'passive side negotiated with the active one', 20_000);
  const ours = await oursLacp(x);
  t.match(ours, /lacp_time: slow\n/, 'slow PDUs');
  const theirSys = /^ {2}sys_id: (\S+)$/m.exec(await theirsLacp(x))?.[1];
  t.equal([...ours.matchAll(/partner sys_id: (\S+)/g)].map((m) => m[1]).join(), `${theirSys},${theirSys}`, 'OVS is the partner on both members');
  await waitUntil(async () => !(await rig.appctl(['bond/show', x.bond])).stdout.includes('may_enable: false'), 'both members may be enabled', 10_000);
  const show = (await rig.appctl(['bond/show', x.bond])).stdout;
  t.match(show, /bond_mode: active-backup\nbond may use recirculation: no, Recirc-ID : -1\n/, 'bond/show: active-backup');
  t.match(show, /updelay: 1500 ms\n/, 'bond/show: the updelay');
  const active = /active member mac: \S+\((\S+)\)/.exec(show)?.[1];
  const i = x.m.indexOf(active as string);
  t.ok(i >= 0, `the active member is ${active}`);
  const first = await tryRun('ping', ['-c', '3', '-i', '0.2', '-W', '2', x.b.ip], x.a.ns);
  t.equal(first.code, 0, 'A pings B');
  const r = await pingThrough(x, 4, async () => {
    await run('ip', ['link', 'set', x.o[i]!, 'down'], ovs.ns);
  });
  t.ok(r.sent >= 70 && r.lost <= 20, `active member down: ${r.lost} of ${r.sent} lost (at most 1 s at 50 ms)`);
  t.match((await rig.appctl(['bond/show', x.bond])).stdout, new RegExp(`member ${x.m[1 - i]}: enabled\n {2}active member\n`), 'the other member is active');
  await run('ip', ['link', 'set', x.o[i]!, 'up'], ovs.ns);
  await waitUntil(async () => /updelay expires in \d+ ms/.test((await rig.appctl(['bond/show', x.bond])).stdout), 'the restored member waits its updelay', 10_000);
  t.pass('bond/show: updelay expires in ... ms');
  await waitUntil(async () => new RegExp(`member ${x.m[i]}: enabled`).test((await rig.appctl(['bond/show', x.bond])).stdout), 'enabled after the updelay', 15_000);
  await waitUntil(async () => new RegExp(`member ${x.o[i]}: enabled`).test((await ovs.tryAppctl(['bond/show', OVS_BOND])).stdout), `OVS's ${x.o[i]} enabled again`, 15_000);
  const back = await pingThrough(x, 4, async () => {
    await run('ip', ['link', 'set', x.o[1 - i]!, 'down'], ovs.ns);
  });
  t.ok(back.sent >= 70 && back.lost <= 20, `then the other member down: ${back.lost} of ${back.sent} lost; traffic is back on the restored member`);
});
