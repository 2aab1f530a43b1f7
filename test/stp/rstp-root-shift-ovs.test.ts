/**
 * When an 802.1w alternate port becomes the root port, the MAC addresses learned on the old root
 * port move to the new one (Open vSwitch's rstp_run: rstp_shift_root_learned_address, then
 * bundle_move) instead of being forgotten, and the old root port's own flush is skipped. Shown on
 * both: ofswitch and Open vSwitch (userspace) joined by two links, host A on ofswitch, host B on
 * OVS, both configured through the database. In each subtest one of them is the root bridge and
 * the other (X) has a root port and an alternate; after one ping X has learned the far host's MAC
 * on its root port. Then X's root link is cut: X's fdb/show lists that MAC on the new root port,
 * not re-learned (its age runs on from the ping; the hosts' neighbours are static, so nothing else
 * is sent). The same assertions hold for ofswitch and for Open vSwitch.
 *
 * Both bridges also carry other_config:rstp-ageing-time=10: Open vSwitch 3.1 stores it and uses it
 * for nothing (lib/rstp.c), so the entries outlive 10 s on both.
 */
import t, { type Test } from 'tap';
import { run, setLinkDown, tryRun } from '../helpers/netns.js';
import { waitUntil } from '../helpers/daemon-rig.js';
import { startRstpOvsPair } from './rstp-ovs-pair.js';

type Side = 'ofswitch' | 'Open vSwitch';

async function rootShift(t: Test, x: Side): Promise<void> {
  const rootIsOvs = x === 'ofswitch';
  const pair = await startRstpOvsPair(t, {
    tag: rootIsOvs ? 'rsa' : 'rsb', subnet: rootIsOvs ? '10.74.0' : '10.74.1', links: 2,
    ovsConfig: ['rstp-ageing-time=10', ...(rootIsOvs ? ['rstp-priority=4096'] : [])],
    ourConfig: ['rstp-ageing-time=10', ...(rootIsOvs ? [] : ['rstp-priority=4096'])],
  });
  const { links, a, b } = pair;
  // X's names for the two links, its status, its fdb, and the far host (on the root bridge).
  const names = x === 'ofswitch' ? [...links] : ['o1', 'o2'];
  const status = (name: string): Promise<string> => (x === 'ofswitch' ? pair.ourStatus(name) : pair.theirStatus(name));
  const fdb = (quiet?: boolean) => (x === 'ofswitch' ? pair.ours(quiet) : pair.theirs(quiet));
  const ofport = (name: string): Promise<string> => (x === 'ofswitch' ? pair.ofport(name) : pair.ovsOfport(name));
  const far = x === 'ofswitch' ? b : a;

  let roles = ['', ''];
  await waitUntil(async () => {
    roles = [await status(names[0]!), await status(names[1]!)];
    return roles.some((r) => /rstp_port_role=Root, rstp_port_state=Forwarding/.test(r)) && roles.some((r) => /rstp_port_role=Alternate, rstp_port_state=Discarding/.test(r));
  }, `${x}: a root port and an alternate`, 30_000).catch((err: Error) => Promise.reject(new Error(`${err.message}: ${roles.join(' / ')}`)));
  const rootIdx = roles.findIndex((r) => /rstp_port_role=Root/.test(r));
  const [oldRoot, newRoot] = [names[rootIdx]!, names[1 - rootIdx]!];
  t.pass(`${x}: ${oldRoot} is the root port, ${newRoot} the alternate`);

  await waitUntil(async () => (await tryRun('ping', ['-c', '1', '-W', '1', b.ip], a.ns)).code === 0, 'A pings B', 15_000);
  const pinged = Date.now();
  const before = await fdb();
  t.equal(before.get(far.mac)?.[0], await ofport(oldRoot), `${x} learned the far host on its root port`);

  await setLinkDown(links[rootIdx]!);
  await waitUntil(async () => /rstp_port_role=Root, rstp_port_state=Forwarding/.test(await status(newRoot)), `${x}: ${newRoot} becomes the root port`, 20_000);
  const after = await fdb();
  const since = Math.floor((Date.now() - pinged) / 1000);
  t.equal(after.get(far.mac)?.[0], await ofport(newRoot), `${x}: the far host's MAC moved to the new root port`);
  t.ok((after.get(far.mac)?.[1] ?? -1) >= since - 1, `${x}: not re-learned: its age ${after.get(far.mac)?.[1]} s runs on (${since} s since the ping)`);

  // rstp-ageing-time=10 ages nothing: the entry is still there at 12 s.
  await waitUntil(async () => ((await fdb(true)).get(far.mac)?.[1] ?? 99) >= 12, `${x}: the entry is 12 s old or gone`, 20_000);
  const later = await fdb();
  t.equal(later.get(far.mac)?.[0], await ofport(newRoot), `${x}: rstp-ageing-time=10 did not age it out (${later.get(far.mac)?.[1]} s old)`);

  // A frame to that MAC goes out of the new root port: the ping passes again.
  await run('ping', ['-c', '1', '-W', '2', b.ip], a.ns);
  t.pass('A pings B over the other link');
}

t.test('ofswitch moves its old root port\'s addresses to the new root port', (t) => rootShift(t, 'ofswitch'));
t.test('Open vSwitch does the same in the same topology', (t) => rootShift(t, 'Open vSwitch'));
