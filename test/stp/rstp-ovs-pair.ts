/**
 * The rig of the 802.1w tests against Open vSwitch that are configured through the database:
 * ofswitch (database mode, test/helpers/daemon-rig.ts) and an Open vSwitch userspace bridge br0
 * (test/helpers/ovs-reference.ts, in its own namespace) joined by `links` veth links, both with
 * rstp_enable and the other_config each test gives. Host A is on ofswitch, host B on Open vSwitch,
 * with static neighbours (so that, after a ping, nothing re-teaches the bridges their MACs and the
 * fdb/show ages run on). The ofswitch ends of the links are in the root namespace (`links`), the
 * Open vSwitch ends are o1, o2, ... in its namespace.
 */
import type { Test } from 'tap';
import { addHost, assertRan, createVethPair, moveToNamespace, run, setLinkUp, spawnIn, uniqueName, type TestHost } from '../helpers/netns.js';
import { startDaemonRig, type DaemonRig } from '../helpers/daemon-rig.js';
import { startOvsUserspace, type OvsUserspace } from '../helpers/ovs-reference.js';

export interface RstpOvsPair {
  readonly ovs: OvsUserspace;
  readonly rig: DaemonRig;
  /** ofswitch's bridge. */
  readonly br: string;
  /** ofswitch's ends of the links (root namespace); OVS's are o1, o2, ... */
  readonly links: readonly string[];
  readonly a: TestHost;
  readonly b: TestHost;
  /** Interface `name`'s OpenFlow port number on ofswitch / on Open vSwitch. */
  ofport(name: string): Promise<string>;
  ovsOfport(name: string): Promise<string>;
  /** fdb/show of each: MAC -> [port, age]; asserted to have run unless `quiet` (polling). */
  ours(quiet?: boolean): Promise<Map<string, [string, number]>>;
  theirs(quiet?: boolean): Promise<Map<string, [string, number]>>;
  /** Port `name`'s rstp_status column as ovs-vsctl prints it, on ofswitch / on Open vSwitch. */
  ourStatus(name: string): Promise<string>;
  theirStatus(name: string): Promise<string>;
  /**
   * A topology change on Open vSwitch: a new port o3 (a veth whose far end stays unused), neither
   * admin nor auto edge, so designated without agreement and forwarding after two forward delays.
   */
  ovsNewPort(): Promise<void>;
  /** rstp/show of each ('' when it failed). */
  ourShow(): Promise<string>;
  theirShow(): Promise<string>;
}

/** fdb/show's entries: MAC -> [port, age]. */
export function parseFdb(text: string): Map<string, [string, number]> {
  const m = new Map<string, [string, number]>();
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length === 4) m.set(f[2]!, [f[0]!, Number(f[3])]);
  }
  return m;
}

export interface RstpOvsPairOptions {
  /** Namespace tag (a few letters) and the hosts' /24 ("10.74.0"). */
  readonly tag: string;
  readonly subnet: string;
  readonly links: number;
  /** `key=value` other_config of each bridge. */
  readonly ovsConfig?: readonly string[];
  readonly ourConfig?: readonly string[];
  /** Called once the links are up, before either bridge exists (to start a capture). */
  readonly onLinks?: (links: readonly string[]) => void | Promise<void>;
}

/**
 * `count` veth links from the root namespace (the names returned, up, IPv6 off) to Open vSwitch's
 * namespace, where their ends are o1, o2, ... (up, not yet on a bridge).
 */
export async function linksToOvs(t: Test, ovs: OvsUserspace, tag: string, count: number): Promise<string[]> {
  const links: string[] = [];
  for (let n = 1; n <= count; n++) {
    const s = uniqueName(`${tag}l${n}`);
    await createVethPair(s, `${s}p`.slice(0, 15), t);
    await moveToNamespace(`${s}p`.slice(0, 15), ovs.ns, `o${n}`);
    await setLinkUp(`o${n}`, ovs.ns);
    await run('sysctl', ['-qw', `net.ipv6.conf.${s}.disable_ipv6=1`]).catch(() => undefined);
    await setLinkUp(s);
    links.push(s);
  }
  return links;
}

export async function startRstpOvsPair(t: Test, o: RstpOvsPairOptions): Promise<RstpOvsPair> {
  const ovs = await startOvsUserspace(t, { tag: `${o.tag}ov` });
  const links = await linksToOvs(t, ovs, o.tag, o.links);
  await o.onLinks?.(links);
  const a = await addHost(t, `${o.tag}a`, { ip: `${o.subnet}.1/24` });
  const b = await addHost(t, `${o.tag}b`, { ip: `${o.subnet}.2/24` });
  await run('ip', ['neigh', 'replace', b.ip, 'lladdr', b.mac, 'dev', 'eth0', 'nud', 'permanent'], a.ns);
  await run('ip', ['neigh', 'replace', a.ip, 'lladdr', a.mac, 'dev', 'eth0', 'nud', 'permanent'], b.ns);
  await run('ip', ['link', 'set', b.port, 'netns', ovs.ns]);
  await setLinkUp(b.port, ovs.ns);
  const ovsLinks = links.flatMap((_l, i) => ['--', 'add-port', 'br0', `o${i + 1}`]);
  await ovs.vsctl([
    'add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=netdev', 'fail_mode=standalone', 'rstp_enable=true',
    ...(o.ovsConfig ?? []).map((kv) => `other_config:${kv}`), ...ovsLinks, '--', 'add-port', 'br0', b.port,
  ]);

  const rig = await startDaemonRig(t);
  const br = `br${process.pid}`.slice(0, 15);
  rig.owns(br);
  await rig.vsctl([
    'add-br', br, '--', 'set', 'bridge', br, 'fail_mode=standalone', 'rstp_enable=true', ...(o.ourConfig ?? []).map((kv) => `other_config:${kv}`),
    '--', 'add-port', br, a.port, ...links.flatMap((l) => ['--', 'add-port', br, l]),
  ], { wait: true });

  return {
    ovs, rig, br, links, a, b,
    ofport: async (name) => (await rig.vsctl(['get', 'interface', name, 'ofport'])).trim(),
    ovsOfport: async (name) => (await ovs.vsctl(['get', 'interface', name, 'ofport'])).trim(),
    ours: async (quiet = false) => {
      const r = await rig.appctl(['fdb/show', br]);
      if (!quiet) assertRan(t, r, 'ofswitch fdb/show');
      return parseFdb(r.stdout);
    },
    theirs: async (quiet = false) => {
      const r = await ovs.tryAppctl(['fdb/show', 'br0']);
      if (!quiet) assertRan(t, r, 'Open vSwitch fdb/show');
      return parseFdb(r.stdout);
    },
    ovsNewPort: async () => {
      await run('ip', ['link', 'add', 'o3', 'type', 'veth', 'peer', 'name', 'o3far'], ovs.ns);
      await setLinkUp('o3', ovs.ns);
      await setLinkUp('o3far', ovs.ns);
      await ovs.vsctl(['add-port', 'br0', 'o3', '--', 'set', 'port', 'o3', 'other_config:rstp-port-admin-edge=false', 'other_config:rstp-port-auto-edge=false']);
    },
    ourStatus: async (name) => (await rig.vsctl(['get', 'port', name, 'rstp_status'])).trim(),
    theirStatus: async (name) => (await ovs.vsctl(['get', 'port', name, 'rstp_status'])).trim(),
    ourShow: async () => {
      const r = await rig.appctl(['rstp/show', br]);
      return r.code === 0 ? r.stdout : '';
    },
    theirShow: async () => {
      const r = await ovs.tryAppctl(['rstp/show', 'br0']);
      return r.code === 0 ? r.stdout : '';
    },
  };
}

/** One BPDU tcpdump saw: who sent it, which kind, its flags as tcpdump names them, and when. */
export interface SeenBpdu {
  readonly src: string;
  readonly kind: 'rstp' | 'config' | 'tcn';
  readonly flags: string;
  readonly at: number;
}

/** A running `tcpdump -e -vv` of the BPDUs on an interface. */
export interface BpduCapture {
  /** Everything seen so far, in order. */
  seen(): SeenBpdu[];
  /** The raw text (for failure messages). */
  text(): string;
}

/** Captures the BPDUs crossing `ifname` (in namespace `ns`) until the test ends. */
export function captureBpdus(t: Test, ifname: string, ns?: string): BpduCapture {
  const proc = spawnIn('tcpdump', ['-i', ifname, '-e', '-nn', '-vv', '-l', 'ether dst 01:80:c2:00:00:00'], ns);
  let text = '';
  const seen: SeenBpdu[] = [];
  let partial = '';
  proc.stdout?.on('data', (d: Buffer) => {
    text += d.toString();
    partial += d.toString();
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      // The first line of each frame: "HH:MM:SS.us SRC > 01:80:c2:00:00:00, 802.3, ...: STP 802.1w, Rapid STP, Flags [...], ..."
      const m = /^\d\d:\d\d:\d\d\.\d+ ([0-9a-f:]{17}) > 01:80:c2:00:00:00.*STP 802\.1(?:d|w), (Config|Rapid STP|Topology Change)(?:, Flags \[([^\]]*)\])?/.exec(line);
      if (m) seen.push({ src: m[1]!, kind: m[2] === 'Rapid STP' ? 'rstp' : m[2] === 'Config' ? 'config' : 'tcn', flags: m[3] ?? '', at: Date.now() });
    }
  });
  t.teardown(() => {
    proc.kill('SIGKILL');
  });
  return { seen: () => [...seen], text: () => text };
}
