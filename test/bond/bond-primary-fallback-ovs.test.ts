/**
 * `other_config:bond-primary` and `other_config:lacp-fallback-ab` against Open vSwitch 3.1 in
 * userspace, both sides configured alike with the stock ovs-vsctl, on the rig of bond-ovs.test.ts:
 *
 *   host A -- ofswitch (database mode, bond of m1, m2) ==veth x2== OVS br0 (bond0 of o1, o2) -- host B
 *
 * bond-primary (active-backup): both sides make the primary (member 2) active; when its carrier
 * goes, member 1, and when it comes back, the primary again (OVS's bond_run prefers an enabled
 * primary), with pings passing each time; a primary that is no member is shown as such; a
 * balance-slb bond ignores it (bridge.c reads it only for active-backup or lacp-fallback-ab).
 * lacp-fallback-ab: balance-tcp with LACP whose PDUs are dropped (tc filters on all four veth ends)
 * never negotiates; with lacp-fallback-ab the bond works as active-backup (pings pass), without
 * it nothing passes; once the PDUs pass, LACP negotiates and the bond balances again. Each step's
 * `bond/show` (and `lacp/show`) is the same on both sides once names and numbers are normalised.
 */
import t from 'tap';
import { run, tryRun } from '../helpers/netns.js';
import { waitUntil } from '../helpers/daemon-rig.js';
import { bothEnabled, dropLeaving, mirrorActive, OVS_BOND, pingThrough, same, showOf, startBondOvsRig, type BondOvsRig, type Side } from '../helpers/bond-ovs-rig.js';

const AB = ['bond_mode=active-backup'];

/** Both sides' Port columns set alike: `args(side)` for each. */
async function setBoth(x: BondOvsRig, args: (side: Side) => readonly string[]): Promise<void> {
  await x.rig.vsctl(['set', 'port', x.bond, ...args('ours')], { wait: true });
  await x.ovs.vsctl(['set', 'port', OVS_BOND, ...args('theirs')]);
}

const member = (x: BondOvsRig, side: Side, i: number): string => (side === 'ours' ? x.m[i] : x.o[i]) as string;
const activeIs = async (x: BondOvsRig, side: Side, i: number): Promise<boolean> =>
  new RegExp(`^member ${member(x, side, i)}: enabled\n {2}active member$`, 'm').test(await showOf(x, side));
async function bothActive(x: BondOvsRig, i: number, what: string): Promise<void> {
  await waitUntil(async () => (await activeIs(x, 'ours', i)) && (await activeIs(x, 'theirs', i)), `member ${i + 1} active on both sides (${what})`, 10_000);
}
const pings = async (x: BondOvsRig, n: number): Promise<boolean> => (await tryRun('ping', ['-c', String(n), '-i', '0.1', '-W', '1', x.b.ip], x.a.ns)).code === 0;

let rig: BondOvsRig | null = null;
const theRig = async (): Promise<BondOvsRig> => (rig ??= await startBondOvsRig(t, 98, 'bq', AB, AB));

t.test('bond-primary with Open vSwitch: the primary is active whenever it is enabled', async (t) => {
  const x = await theRig();
  await bothEnabled(x);
  await setBoth(x, (side) => [`other_config:bond-primary=${member(x, side, 1)}`]);
  await bothActive(x, 1, 'the primary');
  t.pass('both sides made the primary, member 2, active');
  await same(t, x, ['bond/show', 'BOND']);
  t.match(await showOf(x, 'ours'), new RegExp(`^active-backup primary: ${x.m[1]}$`, 'm'), 'ofswitch bond/show names the primary');
  await waitUntil(() => pings(x, 1), 'A pings B over the primaries', 10_000);

  const down = await pingThrough(x, 4, async () => {
    await run('ip', ['link', 'set', x.o[1], 'down'], x.ovs.ns);
    await bothActive(x, 0, "the primary's carrier gone");
  });
  t.ok(down.sent >= 70 && down.lost <= 20, `the primary's carrier gone: ${down.lost} of ${down.sent} pings lost (at most 1 s at 50 ms)`);
  await same(t, x, ['bond/show', 'BOND']);
  const back = await pingThrough(x, 4, async () => {
    await run('ip', ['link', 'set', x.o[1], 'up'], x.ovs.ns);
    await bothActive(x, 1, 'the primary back');
  });
  t.ok(back.sent >= 70 && back.lost <= 20, `the primary back and active again on both sides: ${back.lost} of ${back.sent} pings lost`);
  await bothEnabled(x);
  await same(t, x, ['bond/show', 'BOND']);

  await setBoth(x, () => ['other_config:bond-primary=nosuch']);
  await waitUntil(async () => (await showOf(x, 'ours')).includes('primary: nosuch (no such member)') && (await showOf(x, 'theirs')).includes('primary: nosuch (no such member)'), 'a primary that is no member', 10_000);
  await same(t, x, ['bond/show', 'BOND']);
  t.ok(await pings(x, 3), 'A pings B');

  await setBoth(x, (side) => ['bond_mode=balance-slb', `other_config:bond-primary=${member(x, side, 1)}`]);
  await waitUntil(async () => (await showOf(x, 'ours')).includes('bond_mode: balance-slb') && (await showOf(x, 'theirs')).includes('bond_mode: balance-slb'), 'balance-slb on both sides', 10_000);
  await same(t, x, ['bond/show', 'BOND']);
  t.match(await showOf(x, 'ours'), /^active-backup primary: <none>$/m, 'balance-slb: the primary is not read');
  await x.rig.vsctl(['remove', 'port', x.bond, 'other_config', 'bond-primary'], { wait: true });
  await x.ovs.vsctl(['remove', 'port', OVS_BOND, 'other_config', 'bond-primary']);
});

t.test('lacp-fallback-ab with Open vSwitch: balance-tcp whose LACP never negotiates falls back to active-backup', async (t) => {
  const x = await theRig();
  const restore = await Promise.all([...x.m.map((m) => dropLeaving(m, 'lacp')), ...x.o.map((o) => dropLeaving(o, 'lacp', x.ovs.ns))]);
  await setBoth(x, () => ['bond_mode=balance-tcp', 'lacp=active', 'other_config:lacp-time=fast', 'other_config:lacp-fallback-ab=true']);
  const status = async (side: Side): Promise<string> => /^lacp_status: (\S+)$/m.exec(await showOf(x, side))?.[1] ?? '';
  await waitUntil(async () => (await status('ours')) === 'configured' && (await status('theirs')) === 'configured', 'LACP configured, not negotiated, on both sides', 20_000);
  const defaulted = (s: string): boolean => (s.match(/: defaulted \w+tached/g) ?? []).length === 2;
  await waitUntil(async () => defaulted((await x.rig.appctl(['lacp/show', x.bond])).stdout) && defaulted((await x.ovs.tryAppctl(['lacp/show', OVS_BOND])).stdout), 'both members defaulted on both sides', 20_000);
  await bothEnabled(x);
  await mirrorActive(t, x);
  t.ok(await pings(x, 5), 'lacp-fallback-ab: A pings B through bonds working as active-backup');
  const [ours] = await same(t, x, ['bond/show', 'BOND']);
  t.match(ours.stdout, /^bond may use recirculation: no, Recirc-ID : -1\n(?:.*\n)*lacp_status: configured\nlacp_fallback_ab: true\n/m, 'ofswitch bond/show: no recirculation, LACP configured, falling back');
  t.notMatch(ours.stdout, /next rebalance/, 'ofswitch bond/show: not balanced while falling back');
  await same(t, x, ['lacp/show', 'BOND']);
  await same(t, x, ['lacp/show-stats', 'BOND']);

  await setBoth(x, () => ['other_config:lacp-fallback-ab=false']);
  await waitUntil(async () => (await showOf(x, 'ours')).includes('lacp_fallback_ab: false') && (await showOf(x, 'theirs')).includes('lacp_fallback_ab: false'), 'lacp-fallback-ab off on both sides', 10_000);
  await same(t, x, ['bond/show', 'BOND']);
  await same(t, x, ['lacp/show', 'BOND']);
  t.notOk(await pings(x, 3), 'without lacp-fallback-ab nothing passes the bonds');

  // Every member was disabled, so each side chooses its active member afresh (OVS in hash order).
  await setBoth(x, () => ['other_config:lacp-fallback-ab=true']);
  await bothEnabled(x);
  await mirrorActive(t, x);
  t.ok(await pings(x, 3), 'A pings B again with lacp-fallback-ab');
  for (const f of restore) await f();
  // A defaulted partner asks for nothing fast (its state is 0): both sides send a PDU every 30 s
  // now (lacp.c's tx timer), so negotiation resumes at the next one.
  await waitUntil(async () => (await status('ours')) === 'negotiated' && (await status('theirs')) === 'negotiated', 'LACP negotiated once the PDUs pass', 45_000);
  const settled = (s: string): boolean => (s.match(/current attached/g) ?? []).length === 2 && !/expired|defaulted/.test(s);
  await waitUntil(async () => settled((await x.rig.appctl(['lacp/show', x.bond])).stdout) && settled((await x.ovs.tryAppctl(['lacp/show', OVS_BOND])).stdout), 'no member expired on either side', 10_000);
  await bothEnabled(x);
  await mirrorActive(t, x);
  t.ok(await pings(x, 5), 'negotiated: A pings B');
  const [negotiated] = await same(t, x, ['bond/show', 'BOND']);
  t.match(negotiated.stdout, /^bond may use recirculation: yes, Recirc-ID : \d+$/m, 'ofswitch bond/show: balance-tcp again');
  await same(t, x, ['lacp/show', 'BOND']);
});
