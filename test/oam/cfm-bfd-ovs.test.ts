/**
 * CFM and BFD between ofswitch (the database daemon, configured with the stock ovs-vsctl) and Open
 * vSwitch 3.1 in userspace (its own namespace), joined by one veth pair that both run CFM and BFD
 * on, with real CCMs and BFD packets through both datapaths:
 *
 * - up: cfm_fault false on both sides, each listing the other's MPID in cfm_remote_mpids;
 *   bfd_status state=up, forwarding=true on both; `cfm/show` and `bfd/show` answer on both and agree
 *   (each side's remote MPID is the other's MPID, each side's remote discriminator the other's
 *   local one).
 * - cut (the OVS end of the veth set down): cfm_fault true with fault `recv`, and bfd_status
 *   state=down with diagnostic "Control Detection Time Expired", each within its detection time
 *   (CFM: a fault check every 3.5 intervals sees the silence at the latest at the second check,
 *   so 7 intervals; BFD: 3 x the 1 s receive interval) plus the 1 s the status may take, plus slack
 *   for process start-up on a loaded machine; BFD must not go down sooner than its detection time
 *   after the last packet (it is the timer, not the carrier, that took it down).
 * - restored: fault false and BFD up again on both sides.
 * Both bridges are fail_mode=secure without flows: nothing but the two protocols crosses the link.
 */
import t, { type Test } from 'tap';
import { performance } from 'node:perf_hooks';
import { assertRan, createVethPair, type RunResult, moveToNamespace, run, setLinkDown, setLinkUp, uniqueName } from '../helpers/netns.js';
import { startDaemonRig, waitUntil, type DaemonRig } from '../helpers/daemon-rig.js';
import { bfdShowField, bfdShowLabels, bfdStatusMap } from '../helpers/bfd-status.js';
import { startOvsUserspace, type OvsUserspace } from '../helpers/ovs-reference.js';

const CFM_INTERVAL_MS = 1000;
const BFD_DETECT_MS = 3 * 1000; // mult 3 x min_rx 1000 (OVS's defaults)
const STATUS_MS = 1000;
const SLACK_MS = 3000;

interface Side {
  readonly name: string;
  get(column: string): Promise<string>;
  appctl(args: string[]): Promise<RunResult>;
}

async function bfdStatus(side: Side): Promise<Record<string, string>> {
  return bfdStatusMap(await side.get('bfd_status'));
}

async function setup(
  t: Test,
  ourSettings: readonly string[] = ['cfm_mpid=1', 'bfd:enable=true'],
  theirSettings: readonly string[] = ['cfm_mpid=2', 'bfd:enable=true'],
): Promise<{ rig: DaemonRig; ovs: OvsUserspace; ours: Side; theirs: Side; cut(): Promise<void>; restore(): Promise<void> }> {
  const rig = await startDaemonRig(t);
  const ovs = await startOvsUserspace(t, { tag: 'cfo' });
  const br = uniqueName('cfbr');
  rig.owns(br);
  await rig.vsctl(['add-br', br, '--', 'set', 'bridge', br, 'fail_mode=secure'], { wait: true });
  await run('sysctl', ['-qw', `net.ipv6.conf.${br}.disable_ipv6=1`]);
  const a = uniqueName('cfa');
  const b = uniqueName('cfb');
  await createVethPair(a, b, t);
  await moveToNamespace(b, ovs.ns);
  await setLinkUp(a);
  await setLinkUp(b, ovs.ns);
  await ovs.vsctl(['add-br', 'obr', '--', 'set', 'bridge', 'obr', 'datapath_type=netdev', 'fail_mode=secure']);
  await ovs.vsctl(['add-port', 'obr', b, '--', 'set', 'interface', b, ...theirSettings]);
  await rig.vsctl(['add-port', br, a, '--', 'set', 'interface', a, ...ourSettings], { wait: true });
  const ours: Side = {
    name: a,
    get: (column) => rig.vsctl(['get', 'interface', a, column]),
    appctl: (args) => rig.appctl(args),
  };
  const theirs: Side = {
    name: b,
    get: (column) => ovs.vsctl(['get', 'interface', b, column]),
    appctl: (args) => ovs.tryAppctl(args),
  };
  return { rig, ovs, ours, theirs, cut: () => setLinkDown(b, ovs.ns), restore: () => setLinkUp(b, ovs.ns) };
}

/** Waits until `check` holds for both sides; the ms it took from `since`. */
async function bothUntil(sides: Side[], check: (s: Side) => Promise<boolean>, what: string, timeoutMs: number, since: number): Promise<number[]> {
  const took: number[] = [];
  await Promise.all(
    sides.map(async (s, i) => {
      await waitUntil(() => check(s), `${s.name}: ${what}`, timeoutMs);
      took[i] = performance.now() - since;
    }),
  );
  return took;
}

const faultIs = (want: string) => async (s: Side): Promise<boolean> => (await s.get('cfm_fault')).trim() === want;
const bfdStateIs = (want: string) => async (s: Side): Promise<boolean> => (await bfdStatus(s))['state'] === want;

/** cfm/show's lines with the timers' values taken out. */
const shape = (text: string): string[] => text.split('\n').map((l) => l.replace(/-?\d+ms$/, 'Nms').replace(/^---- \S+ ----$/, '---- IFACE ----'));

t.test('CFM and BFD with Open vSwitch: up, cut, restored; status columns and cfm/show, bfd/show', async (t) => {
  const { rig, ours, theirs, cut, restore } = await setup(t);
  const sides = [ours, theirs];

  // Up: CFM's first fault check is 3.5 intervals after it starts; BFD comes up within a few packets.
  await bothUntil(sides, async (s) => (await s.get('cfm_remote_mpids')).trim() !== '[]', 'cfm_remote_mpids written', 15_000, performance.now());
  await bothUntil(sides, bfdStateIs('up'), 'bfd_status state=up', 15_000, performance.now());
  // A side that ran alone through a fault check sends RDI until it hears the other: a fault there
  // until the next check, as between two Open vSwitches.
  await bothUntil(sides, faultIs('false'), 'cfm_fault false', 15_000, performance.now());
  t.equal((await ours.get('cfm_fault')).trim(), 'false', 'ofswitch: cfm_fault false');
  t.equal((await theirs.get('cfm_fault')).trim(), 'false', 'Open vSwitch: cfm_fault false');
  t.equal((await ours.get('cfm_remote_mpids')).trim(), '[2]', "ofswitch lists OVS's MPID 2 in cfm_remote_mpids");
  t.equal((await theirs.get('cfm_remote_mpids')).trim(), '[1]', "Open vSwitch lists ofswitch's MPID 1 in cfm_remote_mpids");
  t.equal((await ours.get('cfm_fault_status')).trim(), '[]', 'ofswitch: no fault reason');
  const ourBfd = await bfdStatus(ours);
  const theirBfd = await bfdStatus(theirs);
  t.same(Object.keys(ourBfd).sort(), Object.keys(theirBfd).sort(), 'bfd_status has the keys OVS writes');
  t.match(ourBfd, { state: 'up', forwarding: 'true', remote_state: 'up', diagnostic: 'No Diagnostic', remote_diagnostic: 'No Diagnostic' }, 'ofswitch: BFD up and forwarding');
  t.match(theirBfd, { state: 'up', forwarding: 'true', remote_state: 'up' }, 'Open vSwitch: BFD up and forwarding');

  // cfm/show on both: the same lines but for the numbers, each naming the other as remote MPID.
  const ourCfm = await ours.appctl(['cfm/show', ours.name]);
  const theirCfm = await theirs.appctl(['cfm/show', theirs.name]);
  if (assertRan(t, ourCfm, 'ovs-appctl -t ofswitch cfm/show') && assertRan(t, theirCfm, 'ovs-appctl cfm/show (Open vSwitch)')) {
    t.match(ourCfm.stdout, /^---- \S+ ----\nMPID 1:\n {2}average health: (undefined|\d+)\n {2}opstate: up\n {2}remote_opstate: up\n {2}interval: 1000ms\n/, 'ofswitch cfm/show: MPID 1, no fault, 1000 ms');
    t.match(ourCfm.stdout, /Remote MPID 2\n {2}recv since check: (true|false)\n {2}opstate: up\n/, 'ofswitch sees remote MPID 2');
    t.match(theirCfm.stdout, /Remote MPID 1\n/, 'Open vSwitch sees remote MPID 1');
    const norm = (s: string): string[] => shape(s).map((l) => l.replace(/MPID \d+/, 'MPID N').replace(/average health: .*/, 'average health: H').replace(/recv since check: .*/, 'recv since check: B'));
    t.same(norm(ourCfm.stdout), norm(theirCfm.stdout), 'cfm/show prints the lines Open vSwitch prints');
  }
  const missing = await ours.appctl(['cfm/show', 'nosuch']);
  t.equal(missing.code, 2, 'cfm/show of an interface without CFM fails');
  t.match(missing.stderr, /no such CFM object/, 'with OVS\'s words');

  // bfd/show on both: each side's remote discriminator is the other's local one.
  const ourShow = await ours.appctl(['bfd/show', ours.name]);
  const theirShow = await theirs.appctl(['bfd/show', theirs.name]);
  if (assertRan(t, ourShow, 'ovs-appctl -t ofswitch bfd/show') && assertRan(t, theirShow, 'ovs-appctl bfd/show (Open vSwitch)')) {
    const field = bfdShowField;
    t.equal(field(ourShow.stdout, 'Remote Discriminator'), field(theirShow.stdout, 'Local Discriminator'), "ofswitch's remote discriminator is OVS's local one");
    t.equal(field(theirShow.stdout, 'Remote Discriminator'), field(ourShow.stdout, 'Local Discriminator'), "OVS's remote discriminator is ofswitch's local one");
    t.equal(field(ourShow.stdout, 'Local Session State'), 'up', 'ofswitch bfd/show: local state up');
    t.equal(field(ourShow.stdout, 'Remote Session State'), 'up', 'ofswitch bfd/show: remote state up');
    t.equal(field(ourShow.stdout, 'Remote Detect Multiplier'), '3', "OVS's multiplier");
    t.equal(field(ourShow.stdout, 'Remote Minimum TX Interval'), field(theirShow.stdout, 'Local Minimum TX Interval'), "OVS's min_tx as OVS states it");
    const labels = bfdShowLabels;
    t.same(labels(ourShow.stdout), labels(theirShow.stdout), 'bfd/show prints the lines Open vSwitch prints');
  }
  const all = await ours.appctl(['bfd/show']);
  t.match(all.stdout, new RegExp(`^---- ${ours.name} ----\n {2}Forwarding: true\n`), 'bfd/show without an interface names each one');

  // Cut: CFM faults (recv) and BFD goes down on both sides within the detection times.
  const cutAt = performance.now();
  await cut();
  const cfmLimit = 7 * CFM_INTERVAL_MS + STATUS_MS + SLACK_MS;
  const bfdLimit = BFD_DETECT_MS + STATUS_MS + SLACK_MS;
  const [bfdOurs, bfdTheirs] = await bothUntil(sides, bfdStateIs('down'), 'bfd_status state=down', bfdLimit + 5000, cutAt);
  const [cfmOurs, cfmTheirs] = await bothUntil(sides, faultIs('true'), 'cfm_fault true', cfmLimit + 5000, cutAt);
  t.ok(cfmOurs! <= cfmLimit, `ofswitch: cfm_fault true ${Math.round(cfmOurs!)} ms after the cut (at most ${cfmLimit})`);
  t.ok(cfmTheirs! <= cfmLimit, `Open vSwitch: cfm_fault true ${Math.round(cfmTheirs!)} ms after the cut`);
  t.ok(bfdOurs! <= bfdLimit, `ofswitch: BFD down ${Math.round(bfdOurs!)} ms after the cut (at most ${bfdLimit})`);
  // The last packet before the cut came at most one interval (1 s) earlier: down no sooner than 2 s.
  t.ok(bfdOurs! >= BFD_DETECT_MS - 1000 - 100, `ofswitch: BFD went down by its detection timer, not sooner (${Math.round(bfdOurs!)} ms)`);
  t.ok(bfdTheirs! <= bfdLimit, `Open vSwitch: BFD down ${Math.round(bfdTheirs!)} ms after the cut`);
  t.equal((await ours.get('cfm_fault_status')).trim(), '[recv]', 'ofswitch: the fault is recv');
  t.equal((await ours.get('cfm_remote_mpids')).trim(), '[]', 'ofswitch: no remote MPID left');
  t.match(await bfdStatus(ours), { state: 'down', forwarding: 'false', diagnostic: 'Control Detection Time Expired' }, 'ofswitch: BFD down, detection time expired');
  const faulted = await ours.appctl(['cfm/show', ours.name]);
  t.match(faulted.stdout, /^ {2}fault: recv$/m, 'cfm/show shows the recv fault');

  // Restored: both come back.
  const backAt = performance.now();
  await restore();
  await bothUntil(sides, faultIs('false'), 'cfm_fault false again', 20_000, backAt);
  await bothUntil(sides, bfdStateIs('up'), 'bfd_status state=up again', 20_000, backAt);
  t.equal((await ours.get('cfm_remote_mpids')).trim(), '[2]', 'ofswitch lists MPID 2 again');
  t.ok(Number((await ours.get('cfm_flap_count')).trim()) >= 2, 'ofswitch counted the flaps (cfm_flap_count)');
  t.match(await bfdStatus(ours), { forwarding: 'true', flap_count: /^[2-9]\d*$/ }, 'ofswitch: BFD forwarding again, flaps counted');

  // An MPID OVS refuses (standard mode allows 1..8191): CFM off with OVS's log line; BFD off.
  await rig.vsctl(['set', 'interface', ours.name, 'cfm_mpid=9000', '--', 'set', 'interface', ours.name, 'bfd:enable=false'], { wait: true });
  await rig.proc.waitForLog('CFM configuration is invalid', 5000);
  t.pass('logged: CFM configuration is invalid');
  await waitUntil(async () => (await ours.get('cfm_fault')).trim() === '[]', 'cfm_fault emptied', 5000);
  t.equal((await ours.get('cfm_remote_mpids')).trim(), '[]', 'cfm_remote_mpids emptied');
  await waitUntil(async () => (await ours.get('bfd_status')).trim() === '{}', 'bfd_status emptied', 5000);
  t.pass('bfd_status emptied with bfd:enable=false, as OVS clears it');
});

t.test("CFM's extended mode with Open vSwitch: 64-bit MPID, 500 ms, opstate down, CCMs in VLANs; health", async (t) => {
  const { ours, theirs } = await setup(
    t,
    ['cfm_mpid=1000000', 'other_config:cfm_extended=true', 'other_config:cfm_interval=500', 'other_config:cfm_opstate=down', 'other_config:cfm_ccm_vlan=7', 'other_config:cfm_ccm_pcp=3'],
    ['cfm_mpid=2', 'other_config:cfm_extended=true', 'other_config:cfm_interval=500', 'other_config:cfm_ccm_vlan=random'],
  );
  const sides = [ours, theirs];
  await bothUntil(sides, async (s) => (await s.get('cfm_remote_mpids')).trim() !== '[]', 'cfm_remote_mpids written', 15_000, performance.now());
  await bothUntil(sides, faultIs('false'), 'cfm_fault false', 15_000, performance.now());
  t.equal((await theirs.get('cfm_remote_mpids')).trim(), '[1000000]', 'Open vSwitch read the 64-bit MPID from our tagged CCMs');
  t.equal((await ours.get('cfm_remote_mpids')).trim(), '[2]', 'ofswitch read MPID 2 from CCMs in random VLANs');
  t.equal((await theirs.get('cfm_remote_opstate')).trim(), 'down', 'Open vSwitch sees us operationally down (cfm_opstate=down)');
  t.equal((await ours.get('cfm_remote_opstate')).trim(), 'up', 'we see Open vSwitch up');
  t.equal((await ours.get('cfm_fault')).trim(), 'false', 'no fault here');
  t.equal((await theirs.get('cfm_fault')).trim(), 'false', 'opstate down is no fault there either');
  const show = await ours.appctl(['cfm/show', ours.name]);
  if (assertRan(t, show, 'ovs-appctl -t ofswitch cfm/show')) {
    t.match(show.stdout, /^---- \S+ ----\nMPID 1000000: extended\n[^]* {2}opstate: down\n {2}remote_opstate: up\n {2}interval: 500ms\n/, 'cfm/show: extended, opstate down, 500 ms');
  }
  // Health is computed every 6 fault checks (21 intervals, 10.5 s here), 7 checks after the start.
  const healthy = async (s: Side): Promise<boolean> => Number((await s.get('cfm_health')).trim() || -1) >= 80;
  await bothUntil(sides, healthy, 'cfm_health at least 80', 30_000, performance.now());
  t.pass('cfm_health at least 80 % on both sides');
});
