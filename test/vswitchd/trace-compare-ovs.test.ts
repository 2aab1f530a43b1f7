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
 *   `dpif/show`. A flood's outputs come in OVS's hash order and in ofswitch's port order, so the
 *   outputs are compared as a set, each with the VLAN tag and header rewrites it leaves with.
 *
 * A MAC is learned on both sides by the same PACKET_OUT (in_port 2, action NORMAL), as a real
 * frame would be; a trace learns nothing (in OVS neither, for a FLOW).
 */
import t, { type Test } from 'tap';
import { run } from '../helpers/netns.js';
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
];

const ARP_FROM_22 = 'ffffffffffff' + '000000000022' + '0806' + '0001080006040001' + '000000000022' + '0a000016' + '000000000000' + '0a000001';

/** The traces compared, after the flows and the learning PACKET_OUT. */
const CASES: readonly (readonly string[])[] = [
  ['br0', 'in_port=1,icmp,nw_dst=10.0.0.2'],
  ['br0', 'in_port=p1,icmp,nw_dst=10.0.0.3'],
  ['br0', 'in_port=1,arp,dl_src=00:00:00:00:00:11,dl_dst=ff:ff:ff:ff:ff:ff'],
  ['br0', 'in_port=1,arp,dl_src=00:00:00:00:00:11,dl_dst=00:00:00:00:00:22'],
  ['br0', 'in_port=2,arp,dl_src=00:00:00:00:00:22,dl_dst=00:00:00:00:00:22'],
  ['br0', 'in_port=p3,arp,dl_src=00:00:00:00:00:33,dl_dst=ff:ff:ff:ff:ff:ff,dl_vlan_pcp=3'],
  ['br0', 'in_port=3,arp,dl_vlan=10,dl_src=00:00:00:00:00:33,dl_dst=ff:ff:ff:ff:ff:ff'],
  ['br0', 'in_port=1,arp,dl_vlan=10,dl_src=00:00:00:00:00:11,dl_dst=ff:ff:ff:ff:ff:ff'],
  ['br0', 'in_port=1,dl_type=0x88cc'],
  ['br0', 'in_port=1,udp,dl_src=00:00:00:00:00:11,dl_dst=00:00:00:00:00:44'],
  ['br0', 'in_port=1,tcp,dl_vlan=7,tp_dst=80'],
  ['br0', 'in_port=1,dl_type=0x88b5'],
  ['br1', 'in_port=2,arp,dl_src=00:00:00:00:00:55,dl_dst=ff:ff:ff:ff:ff:ff'],
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

interface Normalised {
  readonly body: string;
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
  return { body: lines.join('\n'), outputs: outputs(actions, name, tag ? `vid=${tag[1]},pcp=${tag[2]}` : 'untagged') };
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
  await ovsOfctl(['packet-out', 'br0', '2', 'normal', ARP_FROM_22]);
  await sw.ofctl(['packet-out', 'br0', '2', 'normal', ARP_FROM_22]);

  const ovsDpif = await ovs.tryAppctl(['dpif/show']);
  const ourDpif = await sw.tryAppctl(['dpif/show']);
  t.equal(ovsDpif.code, 0, 'OVS dpif/show');
  t.equal(ourDpif.code, 0, 'ofswitch dpif/show');
  const ovsPorts = portMap(ovsDpif.stdout, true);
  const ourPorts = portMap(ourDpif.stdout, false);
  t.ok(ovsPorts.size >= 7 && ourPorts.size >= 8, 'both list every port (OVS gives its patch ports no datapath number)');

  for (const args of CASES) {
    const theirs = await ovs.tryAppctl(['ofproto/trace', ...args]);
    const ours = await sw.tryAppctl(['ofproto/trace', ...args]);
    const what = args.join(' ');
    t.equal(theirs.code, 0, `OVS traced ${what}`);
    t.equal(ours.code, 0, `ofswitch traced ${what}`);
    t.match(theirs.stdout, /\nDatapath actions: /, `OVS printed a trace for ${what}`);
    const a = normalise(ours.stdout, 'ofswitch', ourPorts, args[0] as string);
    const b = normalise(theirs.stdout, 'ovs', ovsPorts, args[0] as string);
    t.equal(a.body, b.body, `the same trace: ${what}`);
    t.same(a.outputs, b.outputs, `the same datapath outputs: ${what}`);
  }

  for (const args of ERRORS) {
    const theirs = await ovs.tryAppctl(['ofproto/trace', ...args]);
    const ours = await sw.tryAppctl(['ofproto/trace', ...args]);
    const what = args.join(' ');
    t.equal(theirs.code, 2, `OVS refused ${what}`);
    t.equal(ours.code, 2, `ofswitch refused ${what} with exit status 2`);
    t.equal(ours.stderr.split('\n')[0], theirs.stderr.split('\n')[0], `the same error: ${what}`);
  }

  const fdb = await sw.tryAppctl(['fdb/show', 'br0']);
  t.match(fdb.stdout, /00:00:00:00:00:22/, 'the PACKET_OUT taught ofswitch 00:00:00:00:00:22');
  t.notMatch(fdb.stdout, /00:00:00:00:00:(11|33|55)/, 'the traces taught it nothing');
});
