/**
 * ofproto/trace through a bond and an ENQUEUE, against Open vSwitch's own: ofswitch in database
 * mode and Open vSwitch 3.1 in userspace, configured with the same ovs-vsctl and ovs-ofctl
 * commands (ports va=1, vb=2, bond0 of m1=5 and m2=6, active-backup; vb with linux-htb), traced
 * with the same flows. Compared line by line, normalised only where the two must differ: OVS's
 * datapath port numbers mapped to OpenFlow ones through its dpif/show, its Megaflow line left out
 * (ofswitch has no megaflows), an ENQUEUE's skb priority read as its queue (OVS's userspace
 * datapath prints the queue id, ofswitch TC_H_MAKE(1:0, queue + 1) as OVS's kernel datapath), the
 * flood's port order (each bridge's own port order) compared as a set. The member a bond sends by
 * is the active member (bond-primary m1 on both sides), as each side's bond/show says.
 */
import t from 'tap';
import { addHost, assertRan, run, tryRun, type RunResult } from '../helpers/netns.js';
import { startDaemonRig } from '../helpers/daemon-rig.js';
import { startOvsUserspace } from '../helpers/ovs-reference.js';

/** name -> OpenFlow port, and datapath port -> OpenFlow port, from OVS's dpif/show. */
function dpifPorts(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^ {4}\S+ (\d+|LOCAL)\/(\d+): /gm)) out.set(m[2] as string, m[1] === 'LOCAL' ? '65534' : (m[1] as string));
  return out;
}

function actionsLine(text: string): string {
  return /^Datapath actions: (.*)$/m.exec(text)?.[1] ?? '';
}

/** A datapath actions line with its ports mapped and skb priorities read as queue ids. */
function normalise(line: string, ports: ReadonlyMap<string, string> | null, kernelPriorities: boolean): string[] {
  return line.split(/,(?![^(]*\))/).map((a) => {
    const prio = /^set\(skb_priority\((0x[0-9a-f]+|0)\)\)$/.exec(a);
    if (prio) {
      const p = Number(prio[1]);
      return `queue:${p === 0 ? 'none' : kernelPriorities ? (p & 0xffff) - 1 : p}`;
    }
    if (/^\d+$/.test(a) && ports) return ports.get(a) ?? `?${a}`;
    return a;
  });
}

const body = (text: string): string =>
  text
    .split('\n')
    .filter((l) => !l.startsWith('Megaflow:') && !l.startsWith('Datapath actions:'))
    .join('\n');

t.test('ofproto/trace through a bond and an ENQUEUE, as Open vSwitch traces them', async (t) => {
  const rig = await startDaemonRig(t);
  const ovs = await startOvsUserspace(t, { tag: 'trbond' });
  const hosts = await Promise.all(['ta', 'tb', 'tm', 'tn'].map((tag) => addHost(t, tag)));
  const [va, vb, m1, m2] = hosts.map((h) => h.port) as [string, string, string, string];
  const br = `${va}br`.slice(0, 15);
  rig.owns(br);
  for (const name of [va, vb, m1, m2]) {
    const peer = `${name}x`.slice(0, 15);
    await run('ip', ['link', 'add', name, 'type', 'veth', 'peer', 'name', peer], ovs.ns);
    await run('ip', ['link', 'set', name, 'up'], ovs.ns);
    await run('ip', ['link', 'set', peer, 'up'], ovs.ns);
  }
  const config = (extra: readonly string[]): string[] => [
    'add-br', br, '--', 'set', 'bridge', br, 'fail-mode=secure', 'protocols=OpenFlow10', ...extra, '--',
    'add-port', br, va, '--', 'set', 'interface', va, 'ofport_request=1', '--',
    'add-port', br, vb, '--', 'set', 'interface', vb, 'ofport_request=2', '--',
    'add-bond', br, 'bond0', m1, m2, 'bond_mode=active-backup', `other_config:bond-primary=${m1}`, '--',
    'set', 'interface', m1, 'ofport_request=5', '--', 'set', 'interface', m2, 'ofport_request=6', '--',
    'set', 'port', vb, 'qos=@q', '--', '--id=@q', 'create', 'qos', 'type=linux-htb', 'queues:3=@q3', '--',
    '--id=@q3', 'create', 'queue', 'other-config:min-rate=10000000',
  ];
  await rig.vsctl(config([]), { wait: true });
  await ovs.vsctl(config(['datapath_type=netdev']));
  const flows = ['priority=10,in_port=1,actions=NORMAL', 'priority=10,in_port=2,actions=enqueue:1:3,output:5', 'priority=10,in_port=5,actions=NORMAL', 'priority=10,in_port=6,actions=NORMAL'];
  for (const f of flows) {
    assertRan(t, await rig.ofctl(['add-flow', br, f]), `ofswitch: add-flow ${f}`, { output: false });
    assertRan(t, await tryRun('ovs-ofctl', ['add-flow', `unix:${ovs.dir}/${br}.mgmt`, f], undefined, { env: ovs.env }), `OVS: add-flow ${f}`, { output: false });
  }
  // Both bonds settle on an active member (carriers are up: the veths' far ends are up).
  const active = async (appctl: (a: readonly string[]) => Promise<RunResult>): Promise<string> => {
    for (let i = 0; i < 50; i++) {
      const show = (await appctl(['bond/show', 'bond0'])).stdout;
      const m = /^member (\S+): enabled\n {2}active member/m.exec(show);
      if (m) return m[1] as string;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('no active member');
  };
  const mineActive = await active(rig.appctl);
  const theirActive = await active(ovs.tryAppctl);
  t.equal(mineActive, m1, 'ofswitch: the primary is the active member');
  t.equal(theirActive, m1, 'OVS: the primary is the active member');
  const ofport = (name: string): string => (name === m1 ? '5' : name === m2 ? '6' : '?');
  const dpif = await ovs.tryAppctl(['dpif/show']);
  assertRan(t, dpif, 'OVS dpif/show');
  const ports = dpifPorts(dpif.stdout);

  const trace = async (flow: string): Promise<{ mine: string; theirs: string }> => {
    const mine = await rig.appctl(['ofproto/trace', br, flow]);
    const theirs = await ovs.tryAppctl(['ofproto/trace', br, flow]);
    assertRan(t, theirs, `OVS: ofproto/trace ${flow}`);
    t.equal(mine.code, 0, `ofswitch: ofproto/trace ${flow}: ${mine.stderr}`);
    t.equal(body(mine.stdout), body(theirs.stdout), `${flow}: the trace is OVS's`);
    return { mine: mine.stdout, theirs: theirs.stdout };
  };

  // NORMAL floods once into the bond, by its active member.
  const flood = await trace('ip,in_port=1,dl_src=00:00:00:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff');
  const mineFlood = normalise(actionsLine(flood.mine), null, true);
  const theirFlood = normalise(actionsLine(flood.theirs), ports, false);
  t.same([...mineFlood].sort(), ['2', '65534', ofport(mineActive)].sort(), `ofswitch floods to vb, LOCAL and the bond's active member ${mineActive} only: ${actionsLine(flood.mine)}`);
  t.same([...theirFlood].sort(), ['2', '65534', ofport(theirActive)].sort(), `as OVS does (its active member ${theirActive}): ${actionsLine(flood.theirs)}`);

  // From the active member: the bond is the input, nothing goes back into it.
  const fromBond = await trace(`ip,in_port=${ofport(mineActive)},dl_src=00:00:00:00:00:02,dl_dst=ff:ff:ff:ff:ff:ff`);
  t.same(normalise(actionsLine(fromBond.mine), null, true).sort(), ['1', '2', '65534'], 'from the bond: flooded to every other port, no member');
  t.same(normalise(actionsLine(fromBond.theirs), ports, false).sort(), ['1', '2', '65534'], 'OVS too');

  // From the backup member: refused by the bond.
  const backup = mineActive === m1 ? '6' : '5';
  const refused = await trace(`ip,in_port=${backup},dl_src=00:00:00:00:00:03,dl_dst=ff:ff:ff:ff:ff:ff`);
  t.match(refused.mine, /-> bonding refused admissibility, dropping\n/, 'a frame on the backup member: OVS\'s line');
  t.equal(actionsLine(refused.mine), 'drop');

  // ENQUEUE: the queue's priority for its output, then back to none for the next one.
  const enqueue = await trace('ip,in_port=2,dl_src=00:00:00:00:00:04,dl_dst=00:00:00:00:00:05');
  t.equal(actionsLine(enqueue.mine), 'set(skb_priority(0x10004)),1,set(skb_priority(0)),5', 'ofswitch: TC_H_MAKE(1:0, 3 + 1) for port 1, then 0 for port 5');
  t.same(normalise(actionsLine(enqueue.mine), null, true), normalise(actionsLine(enqueue.theirs), ports, false), `the same actions as OVS's ${actionsLine(enqueue.theirs)}`);
});
