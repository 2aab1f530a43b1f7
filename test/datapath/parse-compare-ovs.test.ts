/**
 * The crafted frames (crafted-frames.ts: IPv4 fragments, IP versions other than 4 and bad headers,
 * 802.1ad tags) through Open vSwitch 3.1 in userspace and through ofswitch, both driven by the real
 * ovs-ofctl over OpenFlow 1.0:
 *
 * - the fields: for each frame, the exact-match flow written from ofswitch's parse (every OpenFlow
 *   1.0 field the frame's type has) is installed on both switches beside a priority-0 catch-all,
 *   the frame is sent with `packet-out ... actions=table`, and on both it must hit the exact flow:
 *   Open vSwitch derived the same 12-tuple, after its frag handling ("normal").
 * - the VLAN actions on 802.1ad frames: `packet-out` with mod_vlan_vid, mod_vlan_pcp and
 *   strip_vlan to port 2; the frame that leaves (tcpdump on the far end of the veth) is the same.
 */
import t, { type Test } from 'tap';
import { newFlowKey, unpackFlowKey } from '../../flowtable/flow-key.js';
import { parseFrame } from '../../datapath/frame-parser.js';
import { assertRan, createNamespace, run, spawnIn } from '../helpers/netns.js';
import { ofctl } from '../helpers/ofctl.js';
import { startOfswitch } from '../helpers/ofswitch-process.js';
import { startOvsReference } from '../helpers/ovs-reference.js';
import { craftedFrames, type CraftedFrame } from './crafted-frames.js';

const TARGET = 'tcp:127.0.0.1:6634';
const PORTS = [
  { name: 'p1', ofport: 1, mac: '02:00:00:00:01:01' },
  { name: 'p2', ofport: 2, mac: '02:00:00:00:01:02' },
];

const ip = (n: number): string => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');

/** The exact OpenFlow 1.0 match of ofswitch's parse: every field the frame's type has, as ovs-ofctl writes it. */
function exactMatch(frame: Uint8Array, inPort: number): string {
  const key = newFlowKey();
  parseFrame(frame, inPort, key);
  const f = unpackFlowKey(key);
  const parts = [`in_port=${inPort}`, `dl_src=${f.dlSrc}`, `dl_dst=${f.dlDst}`, `dl_type=0x${f.dlType.toString(16).padStart(4, '0')}`];
  parts.push(f.dlVlan === 0xffff ? 'dl_vlan=0xffff' : `dl_vlan=${f.dlVlan},dl_vlan_pcp=${f.dlVlanPcp}`);
  if (f.dlType === 0x0800) {
    parts.push(`nw_src=${ip(f.nwSrc)}`, `nw_dst=${ip(f.nwDst)}`, `nw_proto=${f.nwProto}`, `nw_tos=${f.nwTos}`);
    if (f.nwProto === 6 || f.nwProto === 17) parts.push(`tp_src=${f.tpSrc}`, `tp_dst=${f.tpDst}`);
    if (f.nwProto === 1) parts.push(`icmp_type=${f.tpSrc}`, `icmp_code=${f.tpDst}`);
  }
  return parts.join(',');
}

const hex = (f: Uint8Array): string => Buffer.from(f).toString('hex');

/** n_packets of the flow with `cookie` in dump-flows output. */
function packetsOf(dump: string, cookie: number): number {
  const line = dump.split('\n').find((l) => l.includes(`cookie=0x${cookie.toString(16)},`));
  return Number(/n_packets=(\d+)/.exec(line ?? '')?.[1] ?? NaN);
}

interface Switch {
  readonly who: string;
  readonly ns: string;
}

/** Installs the exact flow and a catch-all, sends the frame through the table, and says which one it hit. */
async function hits(t: Test, sw: Switch, c: CraftedFrame, match: string): Promise<'exact' | 'catch-all' | 'neither'> {
  const steps: string[][] = [
    ['del-flows'],
    ['add-flow', `cookie=0x1,priority=100,${match},actions=drop`],
    ['add-flow', 'cookie=0x2,priority=0,actions=drop'],
    ['packet-out', `in_port=1 packet=${hex(c.frame)} actions=table`],
  ];
  for (const [command = '', ...args] of steps) {
    const r = await ofctl(sw.ns, TARGET, command, ...args);
    if (r.code !== 0) {
      t.fail(`${sw.who}: ovs-ofctl ${command} ${args.join(' ')} failed: ${r.stderr.trim()}`);
      return 'neither';
    }
  }
  const dump = await ofctl(sw.ns, TARGET, 'dump-flows');
  if (!assertRan(t, dump, `${sw.who}: dump-flows after ${c.name}`)) return 'neither';
  if (packetsOf(dump.stdout, 1) === 1 && packetsOf(dump.stdout, 2) === 0) return 'exact';
  if (packetsOf(dump.stdout, 2) === 1) return 'catch-all';
  return 'neither';
}

/** The next frame that leaves by `iface` in `ns`, as tcpdump sees it (hex), after `send` runs. */
async function captureAfter(ns: string, iface: string, send: () => Promise<unknown>): Promise<string> {
  const child = spawnIn('tcpdump', ['-i', iface, '-Q', 'in', '-c', '1', '-nn', '-xx', '-l', '-U'], ns);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const ready = new Promise<void>((resolve) => child.stderr?.on('data', (d: Buffer) => ((err += d.toString()), err.includes('listening on') && resolve())));
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await Promise.race([ready, new Promise((r) => setTimeout(r, 5000))]);
  await send();
  const timer = setTimeout(() => child.kill('SIGTERM'), 5000);
  await done;
  clearTimeout(timer);
  return out
    .split('\n')
    .filter((l) => /^\s+0x[0-9a-f]+:/.test(l))
    .map((l) => l.replace(/^\s+0x[0-9a-f]+:\s+/, '').replace(/\s+/g, ''))
    .join('');
}

t.test('crafted frames: Open vSwitch derives the match ofswitch derives; VLAN actions on 802.1ad frames agree', async (t) => {
  const frames = craftedFrames();
  const ovs = await startOvsReference(t, { ports: PORTS, failMode: 'secure', listenPort: 6634, tag: 'pov' });
  const ns = await createNamespace('pos', t);
  await run('sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'], ns);
  for (const p of PORTS) {
    await run('ip', ['link', 'add', p.name, 'type', 'veth', 'peer', 'name', `${p.name}-p`], ns);
    await run('ip', ['link', 'set', p.name, 'address', p.mac], ns);
    await run('ip', ['link', 'set', p.name, 'up'], ns);
    await run('ip', ['link', 'set', `${p.name}-p`, 'up'], ns);
  }
  await startOfswitch(t, [...PORTS.map((p) => ['--port', `${p.name},ofport=${p.ofport}`]).flat(), '--fail-mode', 'secure', '--listen', 'ptcp:6634'], { ns });
  const switches: Switch[] = [
    { who: 'Open vSwitch', ns: ovs.ns },
    { who: 'ofswitch', ns },
  ];

  for (const c of frames) {
    const match = exactMatch(c.frame, 1);
    for (const sw of switches) t.equal(await hits(t, sw, c, match), 'exact', `${sw.who}: ${c.name} is ${match}`);
  }

  const byName = new Map(frames.map((c) => [c.name, c]));
  const actions: [string, string][] = [
    ['802.1ad tag', 'mod_vlan_vid:9'],
    ['802.1ad tag', 'mod_vlan_pcp:6'],
    ['802.1ad tag', 'strip_vlan'],
    ['802.1ad priority tag (VID 0)', 'mod_vlan_vid:9'],
    ['802.1ad then 802.1Q', 'strip_vlan'],
    ['802.1ad then 802.1Q', 'mod_vlan_vid:9'],
    ['802.1ad then 802.1Q', 'strip_vlan,mod_vlan_vid:9'],
    ['UDP with DF (not a fragment)', 'mod_vlan_vid:9'],
  ];
  for (const sw of switches) {
    const r = await ofctl(sw.ns, TARGET, 'del-flows');
    assertRan(t, r, `${sw.who}: del-flows`, { output: false });
  }
  for (const [name, action] of actions) {
    const c = byName.get(name)!;
    const out: string[] = [];
    for (const sw of switches) {
      const sent = await captureAfter(sw.ns, 'p2-p', () => ofctl(sw.ns, TARGET, 'packet-out', `in_port=1 packet=${hex(c.frame)} actions=${action},output:2`));
      t.ok(sent.length >= 28, `${sw.who}: ${name} with ${action} left by port 2`);
      out.push(sent);
    }
    t.equal(out[1], out[0], `${name}, ${action}: ofswitch sends what Open vSwitch sends`);
  }
});
