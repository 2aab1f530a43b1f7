/**
 * `ovs-appctl ofproto/trace` against Open vSwitch 3.1 itself: the same bridges, ports and flows,
 * made by the same ovs-vsctl and ovs-ofctl commands, on ovs-vswitchd (userspace, its own
 * namespace, veth ports) and on the ofswitch daemon in database mode (in-memory ports through
 * --enable-dummy=override), then the same traces through the real ovs-appctl. The outputs must be
 * the same line for line, except for these deliberate differences, each removed or mapped below
 * (and documented in datapath/trace/ofproto-trace.ts):
 *
 * - `Megaflow:` (OVS only): ofswitch has no megaflow cache.
 * - NORMAL's lines about the ports a flood leaves out (ofswitch only).
 * - `Datapath actions:` ports: OVS prints its datapath's port numbers, ofswitch OpenFlow numbers
 *   (`BRIDGE:PORT` for another bridge's); both are mapped to `BRIDGE:NAME` through each side's
 *   `dpif/show`. An ENQUEUE's skb priority is read as its queue (OVS's userspace datapath prints
 *   the queue id, ofswitch TC_H_MAKE(1:0, queue + 1) as OVS's kernel datapath); a packet-in's
 *   `recirc_id=N` (OVS only) is left out. Then the actions are compared in order, every set,
 *   push_vlan, pop_vlan and output where OVS commits it, except for floods (FLOOD, ALL, NORMAL):
 *   their outputs come in OVS's hash order and in ofswitch's port order, so they are compared as a
 *   set, each with the VLAN tag and header rewrites it leaves with.
 *
 * The flows rewrite every OpenFlow 1.0 field (mod_dl_src/dst, mod_nw_src/dst/tos, mod_tp_src/dst,
 * mod_vlan_vid/pcp, strip_vlan) alone and all together, tagged and untagged, and output by
 * ENQUEUE, several ports, LOCAL, IN_PORT, FLOOD, ALL, CONTROLLER and none; flows without dl_type
 * trace as OVS's dl_type 0x0000, which is not the 0x05ff of an 802.3 frame.
 *
 * Where ofswitch's packet path itself differs from OVS's, no case is compared (see
 * datapath/trace/odp-actions.ts): mod_tp_src/dst on ICMP and SCTP (OpenFlow 1.0 defines them for
 * TCP and UDP; OVS also rewrites those), IPv4 rewrites of a frame of IP protocol 0 (OVS lists
 * none), a CONTROLLER action from a port with NO_PACKET_IN.
 *
 * Last, with `ovs-ofctl monitor br0 65000` connected to each side (a connection that takes
 * packet-ins), two misses call for a packet-in, compared the same way.
 *
 * A MAC is learned on both sides by the same PACKET_OUT (in_port 2, action NORMAL), as a real
 * frame would be; a trace learns nothing (in OVS neither, for a FLOW).
 */
import t, { type Test } from 'tap';
import { run, spawnIn } from '../helpers/netns.js';
import { sleep } from '../helpers/wait.js';
import { startOfswitchDaemon } from '../helpers/ofswitch-daemon.js';
import { startOvsUserspace } from '../helpers/ovs-reference.js';

const BRIDGES: readonly string[] = [
  'add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=netdev', 'protocols=OpenFlow10', 'fail_mode=secure', 'other-config:disable-in-band=true',
  '--', 'add-port', 'br0', 'p1', '--', 'set', 'interface', 'p1', 'ofport_request=1',
  '--', 'add-port', 'br0', 'p2', '--', 'set', 'interface', 'p2', 'ofport_request=2',
  '--', 'add-port', 'br0', 'p3', 'tag=10', '--', 'set', 'interface', 'p3', 'ofport_request=3',
  '--', 'add-port', 'br0', 'pa', '--', 'set', 'interface', 'pa', 'type=patch', 'options:peer=pb', 'ofport_request=4',
  '--', 'add-br', 'br1', '--', 'set', 'bridge', 'br1', 'datapath_type=netdev', 'protocols=OpenFlow10', 'fail_mode=standalone', 'other-config:disable-in-band=true',
  '--', 'add-port', 'br1', 'pb', '--', 'set', 'interface', 'pb', 'type=patch', 'options:peer=pa', 'ofport_request=1',
  '--', 'add-port', 'br1', 'q2', '--', 'set', 'interface', 'q2', 'ofport_request=2',
];

const FLOWS = [
  'priority=100,cookie=0x1234,icmp,nw_dst=10.0.0.2,actions=mod_nw_tos:8,output:2',
  'priority=90,icmp,actions=output:1,output:9,mod_dl_src:00:00:00:00:00:09,output:2',
  'priority=80,arp,actions=NORMAL',
  'priority=70,dl_type=0x88cc,actions=drop',
  'priority=60,udp,actions=output:4',
  'priority=50,tcp,actions=strip_vlan,mod_vlan_vid:5,output:2,mod_tp_dst:99,output:3',
  // one flow per kind of rewrite or output, told apart by nw_dst 10.1.0.N
  'priority=200,ip,nw_dst=10.1.0.1,actions=mod_dl_src:00:00:00:00:00:aa,output:2',
  'priority=200,ip,nw_dst=10.1.0.2,actions=mod_dl_dst:00:00:00:00:00:bb,output:2',
  'priority=200,ip,nw_dst=10.1.0.3,actions=mod_nw_src:10.9.9.9,output:2',
  'priority=200,ip,nw_dst=10.1.0.4,actions=mod_nw_dst:10.8.8.8,output:2',
  'priority=200,ip,nw_dst=10.1.0.5,actions=mod_nw_tos:0x20,output:2',
  'priority=200,ip,nw_dst=10.1.0.6,actions=mod_tp_src:1234,output:2',
  'priority=200,ip,nw_dst=10.1.0.7,actions=mod_tp_dst:4321,output:2',
  'priority=200,ip,nw_dst=10.1.0.8,actions=mod_vlan_vid:20,output:2',
  'priority=200,ip,nw_dst=10.1.0.9,actions=mod_vlan_pcp:5,output:2',
  'priority=200,ip,nw_dst=10.1.0.10,actions=strip_vlan,output:2',
  'priority=200,ip,nw_dst=10.1.0.11,actions=mod_vlan_vid:20,mod_dl_src:00:00:00:00:00:aa,mod_dl_dst:00:00:00:00:00:bb,mod_nw_src:10.9.9.9,mod_nw_dst:10.8.8.8,mod_nw_tos:0x20,mod_tp_src:1234,mod_tp_dst:4321,output:2',
  'priority=200,ip,nw_dst=10.1.0.12,actions=strip_vlan,mod_nw_dst:10.8.8.8,mod_dl_dst:00:00:00:00:00:bb,output:2',
  'priority=200,ip,nw_dst=10.1.0.13,actions=mod_nw_tos:0x20,output:2,mod_vlan_pcp:5,output:3,mod_tp_dst:99,strip_vlan,output:LOCAL',
  'priority=200,ip,nw_dst=10.1.0.14,actions=enqueue:2:1,output:3',
  'priority=200,ip,nw_dst=10.1.0.15,actions=output:2,output:3,output:LOCAL,output:1',
  'priority=200,cookie=0xabc,ip,nw_dst=10.1.0.16,actions=mod_nw_dst:10.2.2.2,CONTROLLER:64,output:2',
  'priority=200,ip,nw_dst=10.1.0.17,actions=IN_PORT',
  'priority=200,ip,nw_dst=10.1.0.18,actions=FLOOD',
  'priority=200,ip,nw_dst=10.1.0.19,actions=ALL',
  'priority=200,ip,nw_dst=10.1.0.20,actions=',
  'priority=200,dl_src=00:00:00:00:00:99,actions=mod_vlan_vid:30,output:2',
  'priority=200,dl_type=0x05ff,actions=output:3',
  'priority=200,dl_type=0x86dd,actions=mod_nw_tos:0x20,mod_tp_dst:99,output:2',
  // rewrites on both sides of a patch port, ENQUEUE to the input port, a tag pushed after a strip
  'priority=200,ip,nw_dst=10.1.0.21,actions=mod_dl_src:00:00:00:00:00:aa,mod_vlan_vid:5,output:4,mod_nw_src:10.9.9.9,output:2',
  'priority=200,ip,nw_dst=10.1.0.22,actions=mod_dl_src:00:00:00:00:00:aa,mod_tp_dst:7,NORMAL',
  'priority=200,ip,nw_dst=10.1.0.23,actions=enqueue:IN_PORT:1,mod_vlan_pcp:3,enqueue:2:2,output:3',
  'priority=200,ip,nw_dst=10.1.0.24,actions=strip_vlan,mod_vlan_pcp:6,output:2',
];

/** br1's: what a frame from br0 meets there (the others take NORMAL, fail_mode standalone). */
const BR1_FLOWS = ['priority=10,in_port=1,ip,nw_dst=10.1.0.21,actions=mod_dl_dst:00:00:00:00:00:cc,mod_nw_tos:0x20,output:2,strip_vlan,output:2'];

const ARP_FROM_22 = 'ffffffffffff' + '000000000022' + '0806' + '0001080006040001' + '000000000022' + '0a000016' + '000000000000' + '0a000001';

/** A TCP/IPv6 packet from 00:00:00:00:00:66 (traffic class 0x04), ports 1000 -> 80. */
const TCP6 =
  '000000000077' + '000000000066' + '86dd' + '60400000' + '00140640' + '20010db8000000000000000000000001' + '20010db8000000000000000000000002' +
  '03e80050' + '00000000' + '00000000' + '50020000' + '00000000';

/** A trace: its arguments; `flood`: its outputs are compared as a set (see the top). */
interface Case {
  readonly args: readonly string[];
  readonly flood?: boolean;
}

const flood = (...args: string[]): Case => ({ args, flood: true });
const ordered = (...args: string[]): Case => ({ args });

/** The traces compared, after the flows and the learning PACKET_OUT. */
const CASES: readonly Case[] = [
  ordered('br0', 'in_port=1,icmp,nw_dst=10.0.0.2'),
  ordered('br0', 'in_port=p1,icmp,nw_dst=10.0.0.3'),
  flood('br0', 'in_port=1,arp,dl_src=00:00:00:00:00:11,dl_dst=ff:ff:ff:ff:ff:ff'),
  ordered('br0', 'in_port=1,arp,dl_src=00:00:00:00:00:11,dl_dst=00:00:00:00:00:22'),
  ordered('br0', 'in_port=2,arp,dl_src=00:00:00:00:00:22,dl_dst=00:00:00:00:00:22'),
  flood('br0', 'in_port=p3,arp,dl_src=00:00:00:00:00:33,dl_dst=ff:ff:ff:ff:ff:ff,dl_vlan_pcp=3'),
  ordered('br0', 'in_port=3,arp,dl_vlan=10,dl_src=00:00:00:00:00:33,dl_dst=ff:ff:ff:ff:ff:ff'),
  flood('br0', 'in_port=1,arp,dl_vlan=10,dl_src=00:00:00:00:00:11,dl_dst=ff:ff:ff:ff:ff:ff'),
  ordered('br0', 'in_port=1,dl_type=0x88cc'),
  flood('br0', 'in_port=1,udp,dl_src=00:00:00:00:00:11,dl_dst=00:00:00:00:00:44'),
  ordered('br0', 'in_port=1,tcp,dl_vlan=7,tp_dst=80'),
  ordered('br0', 'in_port=1,dl_type=0x88b5'),
  flood('br1', 'in_port=2,arp,dl_src=00:00:00:00:00:55,dl_dst=ff:ff:ff:ff:ff:ff'),
  // every OpenFlow 1.0 rewrite, alone
  ordered('br0', 'in_port=1,tcp,nw_dst=10.1.0.1'),
  ordered('br0', 'in_port=1,tcp,nw_dst=10.1.0.2,dl_vlan=7'),
  ordered('br0', 'in_port=1,tcp,nw_dst=10.1.0.3'),
  ordered('br0', 'in_port=1,udp,nw_dst=10.1.0.3,dl_vlan=7'),
  ordered('br0', 'in_port=1,icmp,nw_dst=10.1.0.4'),
  ordered('br0', 'in_port=1,udp,nw_dst=10.1.0.5,nw_tos=4,nw_ecn=1'),
  ordered('br0', 'in_port=1,tcp,nw_dst=10.1.0.6,tp_src=5,tp_dst=6'),
  ordered('br0', 'in_port=1,udp,nw_dst=10.1.0.7,dl_vlan=7'),
  ordered('br0', 'in_port=1,tcp,nw_dst=10.1.0.8'),
  ordered('br0', 'in_port=1,tcp,nw_dst=10.1.0.8,dl_vlan=7,dl_vlan_pcp=3'),
  ordered('br0', 'in_port=1,tcp,nw_dst=10.1.0.9'),
  ordered('br0', 'in_port=1,tcp,nw_dst=10.1.0.9,dl_vlan=7'),
  ordered('br0', 'in_port=1,tcp,nw_dst=10.1.0.10'),
  ordered('br0', 'in_port=1,tcp,nw_dst=10.1.0.10,dl_vlan=7,dl_vlan_pcp=2'),
  // all together: the VLAN after the L2, L3 and L4 rewrites, as OVS commits them
  ordered('br0', 'in_port=1,tcp,nw_dst=10.1.0.11'),
  ordered('br0', 'in_port=1,tcp,nw_dst=10.1.0.11,dl_vlan=7,dl_vlan_pcp=2'),
  ordered('br0', 'in_port=1,udp,nw_dst=10.1.0.11,dl_vlan=7'),
  ordered('br0', 'in_port=1,udp,nw_dst=10.1.0.12,dl_vlan=7'),
  ordered('br0', 'in_port=1,udp,nw_dst=10.1.0.13,dl_vlan=3'),
  ordered('br0', 'in_port=1,tcp,nw_dst=10.1.0.13'),
  // outputs: ENQUEUE, several ports, CONTROLLER, IN_PORT, FLOOD, ALL, none
  ordered('br0', 'in_port=1,tcp,nw_dst=10.1.0.14'),
  ordered('br0', 'in_port=1,tcp,nw_dst=10.1.0.15,dl_vlan=7'),
  ordered('br0', 'in_port=1,tcp,nw_dst=10.1.0.16'),
  ordered('br0', 'in_port=2,ip,nw_dst=10.1.0.17'),
  flood('br0', 'in_port=1,tcp,nw_dst=10.1.0.18,dl_vlan=9'),
  flood('br0', 'in_port=2,udp,nw_dst=10.1.0.19'),
  ordered('br0', 'in_port=1,tcp,nw_dst=10.1.0.20'),
  ordered('br0', 'in_port=1,tcp,nw_dst=10.1.0.21,dl_vlan=3'),
  flood('br0', 'in_port=1,tcp,nw_dst=10.1.0.22,dl_dst=ff:ff:ff:ff:ff:ff'),
  ordered('br0', 'in_port=1,udp,nw_dst=10.1.0.23'),
  ordered('br0', 'in_port=1,udp,nw_dst=10.1.0.24,dl_vlan=8,dl_vlan_pcp=1'),
  ordered('br0', 'in_port=LOCAL,udp,nw_dst=10.1.0.15'),
  // no dl_type: OVS's dl_type 0x0000, which is not the 802.3 frame's 0x05ff
  ordered('br0', 'in_port=1,dl_src=00:00:00:00:00:99'),
  ordered('br0', 'in_port=1,vlan_tci=0x1005,dl_src=00:00:00:00:00:99'),
  ordered('br0', 'in_port=1'),
  ordered('br0', 'in_port=1,dl_type=0'),
  ordered('br0', 'in_port=1,dl_type=0x05ff'),
  // a real IPv6 frame: its traffic class and TCP port rewritten
  ordered('br0', 'in_port=1', TCP6),
];

const ERRORS: readonly (readonly string[])[] = [
  ['brX', 'in_port=1'],
  ['br0', 'in_prt=1'],
  ['br0', 'in_port=nosuch'],
  ['br0', 'in_port=1,nw_dst=10.0.0.1'],
  ['in_port=1,icmp'],
  ['br0', 'in_port=1', 'zz', 'extra'],
  ['br0', 'in_port=1', 'zz'],
];

/** `dpif/show`'s ports: datapath (or OpenFlow) number -> `BRIDGE:NAME`, per bridge. */
function portMap(dpif: string, ovs: boolean): Map<string, string> {
  const map = new Map<string, string>();
  let bridge = '';
  for (const line of dpif.split('\n')) {
    const b = /^ {2}(\S+):$/.exec(line);
    if (b) {
      bridge = b[1] as string;
      continue;
    }
    const p = /^ {4}(\S+) (\S+): /.exec(line);
    if (!p) continue;
    const [ofport, odp] = (p[2] as string).split('/');
    const key = ovs ? (odp as string) : `${bridge}:${ofport === 'LOCAL' ? '65534' : ofport}`;
    map.set(key, `${bridge}:${p[1]}`);
  }
  return map;
}

/** Splits a datapath action list at its top-level commas. */
function splitActions(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const c of text) {
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (c === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  if (cur !== '') out.push(cur);
  return out;
}

/** The outputs of a datapath action list, each as `BRIDGE:NAME` with the VLAN and rewrites it leaves with, sorted. */
function outputs(text: string, name: (port: string) => string, received: string): string[] {
  if (text === 'drop') return [];
  let vlan = received;
  const sets: string[] = [];
  const out: string[] = [];
  for (const a of splitActions(text)) {
    if (a === 'pop_vlan') vlan = 'untagged';
    else if (a.startsWith('push_vlan(')) vlan = a.slice('push_vlan('.length, -1);
    else if (a.startsWith('set(')) sets.push(a);
    else out.push(`${name(a)} ${vlan} ${sets.join(',')}`);
  }
  return out.sort();
}

/** One datapath action with what differs by design mapped away (see the top). */
function action(a: string, side: 'ovs' | 'ofswitch', name: (port: string) => string): string {
  const prio = /^set\(skb_priority\((0x[0-9a-f]+|0)\)\)$/.exec(a);
  if (prio) {
    const p = Number(prio[1]);
    return `queue:${p === 0 ? 'none' : side === 'ofswitch' ? (p & 0xffff) - 1 : p}`;
  }
  if (a.startsWith('userspace(')) return a.replace(/,recirc_id=\d+/, '');
  if (/^[a-z_]+\(/.test(a) || a === 'pop_vlan' || a === 'drop') return a;
  return name(a);
}

interface Normalised {
  readonly body: string;
  /** The datapath actions in order, normalised. */
  readonly actions: string[];
  /** The outputs, each with the VLAN tag and rewrites it leaves with, sorted. */
  readonly outputs: string[];
}

function normalise(text: string, side: 'ovs' | 'ofswitch', ports: Map<string, string>, bridge: string): Normalised {
  const lines = text.split('\n').filter((l) => !l.startsWith('Megaflow: ') && !/^\s+-> port \S+ (is not in VLAN \d+, skipped|has OFPPC_NO_FLOOD, not flooded)$/.test(l));
  const dp = lines.findIndex((l) => l.startsWith('Datapath actions: '));
  const actions = (lines[dp] ?? '').slice('Datapath actions: '.length);
  const name = (port: string): string => {
    const key = side === 'ovs' ? port : port.includes(':') ? port : `${bridge}:${port}`;
    return ports.get(key) ?? `?${port}`;
  };
  lines[dp] = 'Datapath actions: <compared as a set>';
  // the tag the frame came with: where the outputs start from
  const tag = /,dl_vlan=(\d+),dl_vlan_pcp=(\d+),/.exec(lines[0] ?? '');
  return {
    body: lines.join('\n'),
    actions: splitActions(actions).map((a) => action(a, side, name)),
    outputs: outputs(actions, name, tag ? `vid=${tag[1]},pcp=${tag[2]}` : 'untagged'),
  };
}

t.test('ofproto/trace on ofswitch and on Open vSwitch 3.1 print the same', { timeout: 120_000 }, async (t: Test) => {
  const ovs = await startOvsUserspace(t, { tag: 'tro' });
  for (const p of ['p1', 'p2', 'p3', 'q2']) {
    await run('ip', ['link', 'add', p, 'type', 'veth', 'peer', 'name', `${p}-p`], ovs.ns);
    await run('ip', ['link', 'set', p, 'up'], ovs.ns);
    await run('ip', ['link', 'set', `${p}-p`, 'up'], ovs.ns);
  }
  await ovs.vsctl(BRIDGES);
  const sw = await startOfswitchDaemon(t, { args: ['--enable-dummy=override'] });
  await sw.vsctl(BRIDGES);
  const ovsOfctl = (args: string[]): Promise<string> => run('ovs-ofctl', args, undefined, { env: ovs.env });
  for (const f of FLOWS) {
    await ovsOfctl(['add-flow', 'br0', f]);
    await sw.ofctl(['add-flow', 'br0', f]);
  }
  for (const f of BR1_FLOWS) {
    await ovsOfctl(['add-flow', 'br1', f]);
    await sw.ofctl(['add-flow', 'br1', f]);
  }
  await ovsOfctl(['packet-out', 'br0', '2', 'normal', ARP_FROM_22]);
  await sw.ofctl(['packet-out', 'br0', '2', 'normal', ARP_FROM_22]);

  const ovsDpif = await ovs.tryAppctl(['dpif/show']);
  const ourDpif = await sw.tryAppctl(['dpif/show']);
  t.equal(ovsDpif.code, 0, 'OVS dpif/show');
  t.equal(ourDpif.code, 0, 'ofswitch dpif/show');
  const ovsPorts = portMap(ovsDpif.stdout, true);
  const ourPorts = portMap(ourDpif.stdout, false);
  t.ok(ovsPorts.size >= 7 && ourPorts.size >= 8, 'both list every port (OVS gives its patch ports no datapath number)');

  for (const { args, flood } of CASES) {
    const theirs = await ovs.tryAppctl(['ofproto/trace', ...args]);
    const ours = await sw.tryAppctl(['ofproto/trace', ...args]);
    const what = args.join(' ');
    t.equal(theirs.code, 0, `OVS traced ${what}`);
    t.equal(ours.code, 0, `ofswitch traced ${what}`);
    t.match(theirs.stdout, /\nDatapath actions: /, `OVS printed a trace for ${what}`);
    const a = normalise(ours.stdout, 'ofswitch', ourPorts, args[0] as string);
    const b = normalise(theirs.stdout, 'ovs', ovsPorts, args[0] as string);
    t.equal(a.body, b.body, `the same trace: ${what}`);
    if (flood) t.same(a.outputs, b.outputs, `the same datapath outputs: ${what}`);
    else t.same(a.actions, b.actions, `the same datapath actions, in OVS's order: ${what}`);
  }

  for (const args of ERRORS) {
    const theirs = await ovs.tryAppctl(['ofproto/trace', ...args]);
    const ours = await sw.tryAppctl(['ofproto/trace', ...args]);
    const what = args.join(' ');
    t.equal(theirs.code, 2, `OVS refused ${what}`);
    t.equal(ours.code, 2, `ofswitch refused ${what} with exit status 2`);
    t.equal(ours.stderr.split('\n')[0], theirs.stderr.split('\n')[0], `the same error: ${what}`);
  }

  // A connection that takes packet-ins (`ovs-ofctl monitor br0 65000`, a service connection
  // asking for them, on each side): a miss now calls for a packet-in, OVS's hidden miss rule.
  for (const env of [ovs.env, sw.env]) {
    const monitor = spawnIn('ovs-ofctl', ['monitor', 'br0', '65000'], undefined, { env });
    t.teardown(() => {
      monitor.kill('SIGTERM');
    });
  }
  const miss = ['br0', 'in_port=1,dl_type=0x88b5'];
  const calledFor = async (trace: (a: readonly string[]) => Promise<{ stdout: string }>): Promise<boolean> => {
    for (const end = Date.now() + 15_000; Date.now() < end; await sleep(100)) if ((await trace(['ofproto/trace', ...miss])).stdout.includes('packet-in')) return true;
    return false;
  };
  t.ok(await calledFor(ovs.tryAppctl), 'OVS: with the monitor connected, a miss calls for a packet-in');
  t.ok(await calledFor(sw.tryAppctl), 'ofswitch too');
  for (const args of [miss, ['br0', 'in_port=1']]) {
    const theirs = normalise((await ovs.tryAppctl(['ofproto/trace', ...args])).stdout, 'ovs', ovsPorts, 'br0');
    const ours = normalise((await sw.tryAppctl(['ofproto/trace', ...args])).stdout, 'ofswitch', ourPorts, 'br0');
    t.equal(ours.body, theirs.body, `a miss with a packet-in: the same trace: ${args.join(' ')}`);
    t.same(ours.actions, theirs.actions, `the same packet-in: ${args.join(' ')}`);
  }

  const fdb = await sw.tryAppctl(['fdb/show', 'br0']);
  t.match(fdb.stdout, /00:00:00:00:00:22/, 'the PACKET_OUT taught ofswitch 00:00:00:00:00:22');
  t.notMatch(fdb.stdout, /00:00:00:00:00:(11|33|55)/, 'the traces taught it nothing');
});
