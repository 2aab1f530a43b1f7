/**
 * An ofswitch bond against an Open vSwitch 3.1 userspace bond, with a test host behind each, for
 * the bond tests that use OVS as the partner (bond-ovs.test.ts, bond-liveness-ovs.test.ts):
 *
 *   host A -- ofswitch (database mode, bridge BR, bond of m1, m2) ==veth x2== OVS br0 (bond0 of o1, o2) -- host B
 *
 * Both bonds are made with the stock ovs-vsctl (`add-bond`), with the settings each test gives.
 * The member veths' OVS ends live in OVS's own namespace. Also here: a ping every 50 ms while
 * something happens (`pingThrough`), a filter that drops one kind of frame leaving a veth end
 * while its carrier stays up (`dropLeaving`), the texts of both sides made comparable (`normalise`,
 * `sideNames`), one member's lines of a bond/show text (`memberOf`), and OVS's active member made
 * the mirror of ours (`mirrorActive`), and one ovs-appctl command run on both sides with the same
 * (mapped) arguments and proved to answer alike (`same`).
 */
import type { Test } from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { addHost, createVethPair, disableOffloads, moveToNamespace, run, setLinkUp, spawnIn, tryRun, uniqueName, type RunResult, type TestHost } from './netns.js';
import { startDaemonRig, waitUntil, type DaemonRig } from './daemon-rig.js';
import { startOvsUserspace, type OvsUserspace } from './ovs-reference.js';

export interface BondOvsRig {
  rig: DaemonRig;
  ovs: OvsUserspace;
  br: string;
  /** Our bond's (Port's) name. */
  bond: string;
  /** Our members. */
  m: [string, string];
  /** OVS's members, o[i] joined to m[i]. */
  o: [string, string];
  a: TestHost;
  b: TestHost;
}

/** The name of OVS's bond. */
export const OVS_BOND = 'bond0';

/**
 * ofswitch (database mode, bridge BR) and OVS userspace (br0, netdev) joined by two veth links
 * m1-o1 and m2-o2 (offloads off, IPv6 off), and hosts A (10.NET.0.1) and B (10.NET.0.2) made but
 * attached to neither: what every rig here starts from.
 */
async function linkedSwitches(t: Test, net: number, tag: string) {
  const rig = await startDaemonRig(t);
  const ovs = await startOvsUserspace(t, { tag: `${tag}o` });
  const br = uniqueName(`${tag}br`);
  rig.owns(br);
  await rig.vsctl(['add-br', br], { wait: true });
  await run('sysctl', ['-qw', `net.ipv6.conf.${br}.disable_ipv6=1`]);
  await ovs.vsctl(['add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=netdev']);
  const m: [string, string] = [uniqueName(`${tag}m1`), uniqueName(`${tag}m2`)];
  const o: [string, string] = [uniqueName(`${tag}o1`), uniqueName(`${tag}o2`)];
  for (let i = 0; i < 2; i++) {
    await createVethPair(m[i]!, o[i]!, t);
    await moveToNamespace(o[i]!, ovs.ns);
    await run('sysctl', ['-qw', `net.ipv6.conf.${m[i]}.disable_ipv6=1`]);
    await disableOffloads(m[i]!);
    await disableOffloads(o[i]!, ovs.ns);
    await setLinkUp(m[i]!);
    await setLinkUp(o[i]!, ovs.ns);
  }
  const a = await addHost(t, `${tag}a`, { ip: `10.${net}.0.1/24` });
  const b = await addHost(t, `${tag}b`, { ip: `10.${net}.0.2/24` });
  return { rig, ovs, br, m, o, a, b };
}

/**
 * The rig, hosts at 10.NET.0.1 (A, behind ofswitch) and 10.NET.0.2 (B, behind OVS); `ours` and
 * `theirs` are the add-bond settings of each side.
 */
export async function startBondOvsRig(t: Test, net: number, tag: string, ours: readonly string[], theirs: readonly string[]): Promise<BondOvsRig> {
  const { rig, ovs, br, m, o, a, b } = await linkedSwitches(t, net, tag);
  await moveToNamespace(b.port, ovs.ns);
  await setLinkUp(b.port, ovs.ns);
  await rig.vsctl(['add-port', br, a.port], { wait: true });
  await ovs.vsctl(['add-port', 'br0', b.port]);
  const bond = uniqueName(`${tag}bnd`);
  await ovs.vsctl(['add-bond', 'br0', OVS_BOND, o[0], o[1], ...theirs]);
  await rig.vsctl(['add-bond', br, bond, m[0], m[1], ...ours], { wait: true });
  return { rig, ovs, br, bond, m, o, a, b };
}

/** The output of an ovs-appctl that must have worked (exit 0, some output); a failure otherwise. */
export function appctlOk(t: Test, r: { code: number | null; stdout: string; stderr: string }, what: string): string {
  if (r.code !== 0 || r.stdout === '') t.fail(`${what} failed: ${r.code} ${r.stderr}`);
  return r.stdout;
}

/** A ping every 50 ms from A to B for `seconds`, running `during` after 1 s; the number of echo requests lost. */
export async function pingThrough(x: BondOvsRig, seconds: number, during: () => Promise<void>): Promise<{ sent: number; lost: number }> {
  const count = Math.round(seconds / 0.05);
  const p = spawnIn('ping', ['-c', String(count), '-i', '0.05', '-W', '1', x.b.ip], x.a.ns);
  let out = '';
  p.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<void>((resolve) => p.once('exit', () => resolve()));
  await sleep(1000);
  await during();
  await done;
  const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
  const sent = Number(m?.[1] ?? 0);
  return { sent, lost: sent - Number(m?.[2] ?? 0) };
}

/**
 * Classic BPF programs (tcpdump -ddd, on Ethernet frames) that return TC_ACT_SHOT (2) for the frames
 * to drop and TC_ACT_OK (0) for the rest: CCMs (Ethernet type 0x8902, untagged) and BFD control
 * packets (UDP to port 3784, IPv4 or IPv6), LACP PDUs (slow protocols, Ethernet type 0x8809).
 */
const DROP_PROGRAMS = {
  cfm: '4,40 0 0 12,21 0 1 35074,6 0 0 2,6 0 0 0',
  lacp: '4,40 0 0 12,21 0 1 34825,6 0 0 2,6 0 0 0',
  bfd: '16,40 0 0 12,21 0 4 34525,48 0 0 20,21 0 11 17,40 0 0 56,21 8 9 3784,21 0 8 2048,48 0 0 23,21 0 6 17,40 0 0 20,69 4 0 8191,177 0 0 14,72 0 0 16,21 0 1 3784,6 0 0 2,6 0 0 0',
} as const;

/**
 * Drops the CCMs, BFD packets or LACP PDUs leaving `ifname` (a clsact qdisc with a direct-action cBPF filter on
 * egress; the kernel has no gact), until the returned function removes the qdisc again. The link,
 * its carrier and every other frame are untouched. Egress, because an AF_PACKET socket (ofswitch's
 * and OVS's) sees a received frame before tc ingress could drop it; a switch's own sends pass egress.
 */
export async function dropLeaving(ifname: string, what: keyof typeof DROP_PROGRAMS, ns?: string): Promise<() => Promise<void>> {
  await run('tc', ['qdisc', 'add', 'dev', ifname, 'clsact'], ns);
  await run('tc', ['filter', 'add', 'dev', ifname, 'egress', 'bpf', 'da', 'bytecode', DROP_PROGRAMS[what]], ns);
  return async () => {
    await run('tc', ['qdisc', 'del', 'dev', ifname, 'clsact'], ns);
  };
}

/** The names of one side, each mapped to a neutral name (BOND, MEMBER1, MEMBER2) for `normalise`. */
export function sideNames(x: BondOvsRig, side: 'ours' | 'theirs'): Record<string, string> {
  return side === 'ours' ? { [x.bond]: 'BOND', [x.m[0]]: 'MEMBER1', [x.m[1]]: 'MEMBER2' } : { [OVS_BOND]: 'BOND', [x.o[0]]: 'MEMBER1', [x.o[1]]: 'MEMBER2' };
}

/**
 * An ovs-appctl text with names, addresses and numbers replaced, so that both sides' texts can be
 * compared line by line: MACs, port ids, keys, recirculation ids, the time to the next rebalance
 * or to a delay's end, LACP counters; `hash N: K kB load` lines are left out (which buckets carry
 * load depends on each side's own hosts' addresses), unless `keepHashes` (then H and K).
 */
export function normalise(text: string, names: Record<string, string>, keepHashes = false): string[] {
  let s = text;
  for (const [from, to] of Object.entries(names)) s = s.split(from).join(to);
  return s
    .replace(/([0-9a-f]{2}:){5}[0-9a-f]{2}/g, 'MAC')
    .replace(/(port_id|key|Recirc-ID|aggregation key|next rebalance|expires in): -?\d+/g, '$1: N')
    .replace(/expires in -?\d+ ms/g, 'expires in N ms')
    .replace(/^( {2}(?:TX|RX|Link|Carrier) [^:]*): \d+$/gm, '$1: N')
    .replace(/Recirc-ID : -?\d+/g, 'Recirc-ID : N')
    .replace(/^ {2}hash \d+: \d+ kB load$/gm, '  hash H: K kB load')
    .split('\n')
    .filter((l) => keepHashes || l !== '  hash H: K kB load');
}

/** One member's lines of a bond/show text (OVS's or ours). */
export function memberOf(show: string, member: string): string {
  return (show.split('\n\n').find((s) => s.startsWith(`member ${member}:`)) ?? `(no member ${member} in bond/show)`).trimEnd();
}

/**
 * Makes OVS's active member the mirror of ours (each side chooses its own) and waits until A pings
 * B; the index of ours. Without LACP a bond takes multicast only on its active member, and a
 * balance-slb bond sends its host's broadcasts (ARP) by the bucket of the host's MAC: that bucket
 * is migrated to the active member on each side, so that A's and B's ARP requests pass.
 */
export async function mirrorActive(t: Test, x: BondOvsRig): Promise<number> {
  const show = (await x.rig.appctl(['bond/show', x.bond])).stdout;
  const ourActive = /active member mac: \S+\((\S+)\)/.exec(show)?.[1];
  const i = x.m.indexOf(ourActive as string);
  t.ok(i >= 0, `our active member ${ourActive} is one of ours`);
  t.match((await x.ovs.tryAppctl(['bond/set-active-member', OVS_BOND, x.o[i] ?? ''])).stdout, /done|no change/, `OVS's active member set to ${x.o[i]}`);
  if (/^bond_mode: balance-slb$/m.test(show)) {
    const hashA = (await x.rig.appctl(['bond/hash', x.a.mac])).stdout.trim();
    const hashB = (await x.ovs.tryAppctl(['bond/hash', x.b.mac])).stdout.trim();
    t.equal((await x.rig.appctl(['bond/migrate', x.bond, hashA, x.m[i] ?? ''])).stdout.trim(), 'migrated', `ofswitch: A's bucket ${hashA} on its active member`);
    t.equal((await x.ovs.tryAppctl(['bond/migrate', OVS_BOND, hashB, x.o[i] ?? ''])).stdout.trim(), 'migrated', `OVS: B's bucket ${hashB} on its active member`);
  }
  await waitUntil(async () => (await tryRun('ping', ['-c', '1', '-W', '1', x.b.ip], x.a.ns)).code === 0, 'A pings B', 10_000);
  return i;
}

/** One side of the rig: ofswitch (ours) or OVS (theirs). */
export type Side = 'ours' | 'theirs';

/** An argument list with BOND, MEMBER1, MEMBER2 replaced by one side's names. */
function argsOf(x: BondOvsRig, side: Side, args: readonly string[]): string[] {
  const names = Object.fromEntries(Object.entries(sideNames(x, side)).map(([k, v]) => [v, k]));
  return args.map((a) => names[a] ?? a);
}

/** ovs-appctl on one side, BOND, MEMBER1, MEMBER2 in `args` standing for its names. */
export const appctl = (x: BondOvsRig, side: Side, args: readonly string[]): Promise<RunResult> =>
  side === 'ours' ? x.rig.appctl(argsOf(x, side, args)) : x.ovs.tryAppctl(argsOf(x, side, args));

/** ovs-appctl's own last line names its target (ofswitch or OVS's control socket). */
const stderrOf = (r: RunResult): string => r.stderr.replace(/^ovs-appctl: .*: server returned an error$/m, 'ovs-appctl: TARGET: server returned an error');

/** bond/list: recirculation ids are each side's own; members are in hash order in OVS. */
const listLines = (lines: readonly string[]): string[] =>
  lines.map((l) => l.replace(/^([^\t]+\t[^\t]+\t)\d+\t(.*)$/, (_, head: string, members: string) => `${head}N\t${members.split(', ').sort().join(', ')}`));

/** Runs `args` (BOND, MEMBER1, MEMBER2 for each side's names) on both sides and proves the same exit status, stdout and stderr (normalised); the two results. */
export async function same(t: Test, x: BondOvsRig, args: readonly string[], opts: { keepHashes?: boolean } = {}): Promise<[RunResult, RunResult]> {
  const [ours, theirs] = [await appctl(x, 'ours', args), await appctl(x, 'theirs', args)];
  const what = `ovs-appctl ${args.join(' ')}`;
  t.not(theirs.code, null, `${what}: OVS answered`);
  t.ok(theirs.stdout !== '' || theirs.stderr !== '' || theirs.code === 0, `${what}: OVS said something`);
  t.equal(ours.code, theirs.code, `${what}: exit status ${theirs.code} on both sides`);
  let [o, th] = [normalise(ours.stdout, sideNames(x, 'ours'), opts.keepHashes), normalise(theirs.stdout, sideNames(x, 'theirs'), opts.keepHashes)];
  if (args[0] === 'bond/list') [o, th] = [listLines(o), listLines(th)];
  t.same(o, th, `${what}: the same output as OVS's`);
  t.equal(stderrOf(ours), stderrOf(theirs), `${what}: the same error text as OVS's${theirs.stderr ? `: ${theirs.stderr.split('\n')[0]}` : ''}`);
  return [ours, theirs];
}


/** One side's `bond/show BOND` text. */
export const showOf = async (x: BondOvsRig, side: Side): Promise<string> => (await appctl(x, side, ['bond/show', 'BOND'])).stdout;

/** A member enabled and with may_enable true in a bond/show text. */
export const enabledIn = (show: string, member: string): boolean => /: enabled\n(?:.*\n)*? {2}may_enable: true$/m.test(memberOf(show, member));

/** Waits until both members are enabled (and may be) on both sides. */
export async function bothEnabled(x: BondOvsRig, timeoutMs = 20_000): Promise<void> {
  await waitUntil(async () => { const s = await showOf(x, 'ours'); return x.m.every((n) => enabledIn(s, n)); }, 'both of our members enabled', timeoutMs);
  await waitUntil(async () => { const s = await showOf(x, 'theirs'); return x.o.every((n) => enabledIn(s, n)); }, "both of OVS's members enabled", timeoutMs);
}

/**
 * A balance-slb bond without LACP, in the way it is meant to be used, with a host behind, and an
 * ordinary switch upstream that knows nothing of the bond (two plain ports) with a host behind:
 *
 *   host A -- S (bond of s1, s2: balance-slb, lacp off, no rebalancing) ==veth x2== U (ports u1, u2) -- host B
 *
 * U floods a broadcast that came in on one link out of the other, so S gets its own broadcasts
 * back on the bond (the reflection gratuitous-ARP locking is about). `under` names who is S:
 * 'ours' (ofswitch, with Open vSwitch as U) or 'theirs' (Open vSwitch, with ofswitch as U), so
 * that a test runs the same steps on both and compares. Hosts at 10.NET.0.1 (A) and 10.NET.0.2 (B).
 */
export interface SlbUpstreamRig {
  rig: DaemonRig;
  ovs: OvsUserspace;
  under: Side;
  /** S's bridge, bond, members (s[i] joined to U's u[i]) and the namespace the members are in (undefined: the root one). */
  bridge: string;
  bond: string;
  s: [string, string];
  sNs: string | undefined;
  /** U's bridge and ports. */
  upstream: string;
  u: [string, string];
  a: TestHost;
  b: TestHost;
  /** ovs-appctl on S (ofswitch's control socket or OVS's). */
  appctl(args: readonly string[]): Promise<RunResult>;
  /** An Interface's ofport on S. */
  ofport(iface: string): Promise<number>;
}

export async function startSlbUpstreamRig(t: Test, net: number, tag: string, under: Side): Promise<SlbUpstreamRig> {
  const { rig, ovs, br: ofsw, m, o, a, b } = await linkedSwitches(t, net, tag);
  const [onOvs, onOurs] = under === 'ours' ? [b, a] : [a, b];
  await moveToNamespace(onOvs.port, ovs.ns);
  await setLinkUp(onOvs.port, ovs.ns);
  await ovs.vsctl(['add-port', 'br0', onOvs.port]);
  await rig.vsctl(['add-port', ofsw, onOurs.port], { wait: true });
  const slb = ['bond_mode=balance-slb', 'lacp=off', 'other_config:bond-rebalance-interval=0'];
  const bond = under === 'ours' ? uniqueName(`${tag}bnd`) : OVS_BOND;
  if (under === 'ours') {
    await rig.vsctl(['add-bond', ofsw, bond, m[0], m[1], ...slb], { wait: true });
    for (const p of o) await ovs.vsctl(['add-port', 'br0', p]);
  } else {
    await ovs.vsctl(['add-bond', 'br0', bond, o[0], o[1], ...slb]);
    for (const p of m) await rig.vsctl(['add-port', ofsw, p], { wait: true });
  }
  const ours = under === 'ours';
  return {
    rig, ovs, under, a, b, bond,
    bridge: ours ? ofsw : 'br0',
    s: ours ? m : o,
    sNs: ours ? undefined : ovs.ns,
    upstream: ours ? 'br0' : ofsw,
    u: ours ? o : m,
    appctl: (args) => (ours ? rig.appctl(args) : ovs.tryAppctl(args)),
    ofport: async (iface) => Number((ours ? await rig.vsctl(['get', 'interface', iface, 'ofport']) : await ovs.vsctl(['get', 'interface', iface, 'ofport'])).trim()),
  };
}

/** `fdb/show` parsed: MAC -> { port, vlan } (the port as printed: a number or LOCAL). */
export function fdbOf(text: string): Map<string, { port: string; vlan: number }> {
  const out = new Map<string, { port: string; vlan: number }>();
  for (const m of text.matchAll(/^\s*(\S+)\s+(\d+)\s+((?:[0-9a-f]{2}:){5}[0-9a-f]{2})\s+\d+\s*$/gm)) out.set(m[3]!, { port: m[1]!, vlan: Number(m[2]) });
  return out;
}

/**
 * Sends one gratuitous ARP request from inside `ns` out of `ifname` with scapy: Ethernet source
 * and sender `mac`, sender and target IP `ip`, to ff:ff:ff:ff:ff:ff (what a host that comes up or
 * moves sends).
 */
export async function sendGratuitousArp(ns: string, ifname: string, mac: string, ip: string): Promise<void> {
  const py = [
    'from scapy.all import Ether, ARP, sendp',
    `sendp(Ether(src="${mac}", dst="ff:ff:ff:ff:ff:ff")/ARP(op=1, hwsrc="${mac}", psrc="${ip}", hwdst="00:00:00:00:00:00", pdst="${ip}"), iface="${ifname}", verbose=False)`,
  ].join('\n');
  await run('/usr/bin/python3', ['-c', py], ns);
}
