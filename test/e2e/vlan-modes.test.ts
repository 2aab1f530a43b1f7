/**
 * Port vlan_mode against Open vSwitch: the same seven ports (access, implicit access with trunks,
 * trunk with and without trunks, native-tagged, native-untagged, native without tag) on an
 * ofswitch started with `--port NAME,tag=..,trunks=..,vlan_mode=..` and on Open vSwitch in
 * userspace configured with ovs-vsctl, both standalone (NORMAL). scapy sends the same frames
 * (untagged, priority-tagged, tagged in and out of the ports' VLANs, with and without a priority;
 * broadcast, then unicast to learned addresses) into each port and records what leaves every
 * other port, tags included; the two switches must agree frame by frame.
 *
 * The kernel here has no 802.1Q sub-interfaces (no 8021q module), so scapy builds the tags.
 */
import t from 'tap';
import { createNamespace, run, tryRun } from '../helpers/netns.js';
import { startOfswitch } from '../helpers/ofswitch-process.js';
import { startOvsReference } from '../helpers/ovs-reference.js';

/** Port NAME's VLAN settings in ovs-vsctl's words; the same as an ofswitch --port spec. */
const PORTS: readonly { readonly vsctl: readonly string[]; readonly spec: string }[] = [
  { vsctl: ['tag=10'], spec: 'tag=10' },
  { vsctl: ['tag=30', 'trunks=10'], spec: 'tag=30,trunks=10' },
  { vsctl: ['vlan_mode=trunk', 'trunks=10,20'], spec: 'vlan_mode=trunk,trunks=10:20' },
  { vsctl: ['vlan_mode=native-tagged', 'tag=10', 'trunks=20'], spec: 'vlan_mode=native-tagged,tag=10,trunks=20' },
  { vsctl: ['vlan_mode=native-untagged', 'tag=20', 'trunks=10'], spec: 'vlan_mode=native-untagged,tag=20,trunks=10' },
  { vsctl: [], spec: '' },
  { vsctl: ['vlan_mode=native-untagged'], spec: 'vlan_mode=native-untagged' },
];
const N = PORTS.length;

/**
 * Sends every frame of the plan into its port, one at a time, while sniffing on every port, and
 * prints {marker: ["pN:untagged" | "pN:VID/pPCP", ...]} for what left the other ports.
 */
const SCRIPT = `
import sys, json, time
from scapy.all import Ether, Dot1Q, Raw, AsyncSniffer, sendp
ifaces = sys.argv[1].split(',')
plan = json.load(sys.stdin)
got = {}
def sniffer(i):
    def seen(p):
        b = bytes(p)
        if len(b) < 18:
            return
        if b[12:14] == b'\\x81\\x00':
            tci = int.from_bytes(b[14:16], 'big')
            enc, typ, body = '%d/p%d' % (tci & 0xfff, tci >> 13), b[16:18], b[18:]
        else:
            enc, typ, body = 'untagged', b[12:14], b[14:]
        if typ != b'\\x88\\xb5' or body[:2] != b'MK':
            return
        got.setdefault(str(int.from_bytes(body[2:4], 'big')), []).append('p%d:%s' % (i + 1, enc))
    return seen
sniffers = [AsyncSniffer(iface=name, prn=sniffer(i), store=False) for i, name in enumerate(ifaces)]
for s in sniffers:
    s.start()
time.sleep(1)
for marker, port, src, dst, vid, pcp in plan:
    payload = b'MK' + marker.to_bytes(2, 'big') + bytes(40)
    if vid is None:
        frame = Ether(src=src, dst=dst, type=0x88b5) / Raw(payload)
    else:
        frame = Ether(src=src, dst=dst) / Dot1Q(vlan=vid, prio=pcp, type=0x88b5) / Raw(payload)
    sendp(frame, iface=ifaces[port - 1], verbose=False)
    time.sleep(0.04)
time.sleep(0.5)
for s in sniffers:
    s.stop()
# The input port's own capture is the frame going in, not something the switch sent.
out = {}
for marker, port, *_ in plan:
    out[str(marker)] = sorted(x for x in got.get(str(marker), []) if not x.startswith('p%d:' % port))
print(json.dumps(out, sort_keys=True))
`;

type Plan = [marker: number, port: number, src: string, dst: string, vid: number | null, pcp: number][];

/** Every encoding into every port, broadcast; then unicast back to each port's source address. */
function plan(): Plan {
  const encodings: [number | null, number][] = [[null, 0], [0, 3], [10, 0], [10, 5], [20, 0], [30, 0], [40, 0]];
  const mac = (port: number, enc: number): string => `02:00:00:00:${port.toString(16).padStart(2, '0')}:${enc.toString(16).padStart(2, '0')}`;
  const p: Plan = [];
  let marker = 1;
  for (let port = 1; port <= N; port++) {
    encodings.forEach(([vid, pcp], e) => p.push([marker++, port, mac(port, e), 'ff:ff:ff:ff:ff:ff', vid, pcp]));
  }
  // Unicast from port (i % N) + 1 to every address learned above, in every encoding of its own.
  for (let port = 1; port <= N; port++) {
    const from = (port % N) + 1;
    encodings.forEach(([vid, pcp], e) => p.push([marker++, from, mac(from, 0x80 + e), mac(port, e), vid, pcp]));
  }
  return p;
}

async function exchange(ns: string, ifaces: readonly string[], frames: Plan): Promise<Record<string, string[]>> {
  const r = await tryRun('bash', ['-c', `echo '${JSON.stringify(frames)}' | /usr/bin/python3 -c "$0" "$1"`, SCRIPT, ifaces.join(',')], ns);
  if (r.code !== 0) throw new Error(`scapy failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, string[]>;
}

/** Turns the sniffing ends' VLAN offloads off so that every tag is in the frame scapy reads. */
async function plainEnds(ns: string, ifaces: readonly string[]): Promise<void> {
  for (const i of ifaces) await tryRun('ethtool', ['-K', i, 'rxvlan', 'off', 'txvlan', 'off', 'tx', 'off'], ns);
}

t.test('vlan_mode: ofswitch NORMAL leaves every port with what Open vSwitch sends', async (t) => {
  const frames = plan();

  // Open vSwitch: ports p1..pN, their outer ends p1-p..pN-p.
  const ovs = await startOvsReference(t, {
    tag: 'vlo',
    failMode: 'standalone',
    listenPort: 0,
    ports: PORTS.map((_, i) => ({ name: `p${i + 1}`, ofport: i + 1 })),
  });
  const settings = PORTS.flatMap((p, i) => (p.vsctl.length ? ['--', 'set', 'port', `p${i + 1}`, ...p.vsctl] : []));
  await ovs.vsctl(settings);
  const shown = await ovs.vsctl(['--columns=name,tag,trunks,vlan_mode', 'list', 'port', 'p5']);
  t.match(shown, /vlan_mode\s*:\s*native-untagged/, 'ovs-vsctl stored the configuration');
  const ovsEnds = PORTS.map((_, i) => `p${i + 1}-p`);
  await plainEnds(ovs.ns, ovsEnds);

  // ofswitch in a namespace of its own: ports sN, outer ends pN.
  const ns = await createNamespace('vlf', t);
  await run('sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'], ns);
  const ends = PORTS.map((_, i) => `p${i + 1}`);
  for (let i = 1; i <= N; i++) {
    await run('ip', ['link', 'add', `s${i}`, 'type', 'veth', 'peer', 'name', `p${i}`], ns);
    await run('ip', ['link', 'set', `s${i}`, 'up'], ns);
    await run('ip', ['link', 'set', `p${i}`, 'up'], ns);
  }
  await plainEnds(ns, ends);
  const sw = await startOfswitch(
    t,
    [...PORTS.flatMap((p, i) => ['--port', [`s${i + 1}`, `ofport=${i + 1}`, ...(p.spec ? [p.spec] : [])].join(',')]), '--listen', 'ptcp:6634'],
    { ns },
  );
  t.match(sw.stderr(), /switch started/);

  const [theirs, ours] = [await exchange(ovs.ns, ovsEnds, frames), await exchange(ns, ends, frames)];
  const delivered = Object.values(theirs).reduce((n, out) => n + out.length, 0);
  t.equal(Object.keys(theirs).length, frames.length, 'a result for every frame from Open vSwitch');
  t.ok(delivered > 100, `Open vSwitch forwarded frames (${delivered} deliveries)`);
  t.ok(Object.values(theirs).some((out) => out.some((o) => o.endsWith(':untagged'))), 'some left untagged');
  t.ok(Object.values(theirs).some((out) => out.some((o) => /:10\/p5$/.test(o))), 'some kept their priority');
  for (const [marker, port, src, dst, vid, pcp] of frames) {
    t.same(ours[String(marker)], theirs[String(marker)], `frame ${marker}: into p${port} ${vid === null ? 'untagged' : `VID ${vid} PCP ${pcp}`} ${src} -> ${dst}`);
  }
});
