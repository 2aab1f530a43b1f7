/**
 * Port mirroring configured with the stock ovs-vsctl (the Mirror table) on ofswitch in
 * ovs-vswitchd's place, checked with real packets: test hosts ping each other while tcpdump on the
 * mirror's host counts what arrives there (frames received only, `-Q in`): exactly the selected
 * frames, once each; select_all, select_src_port against select_dst_port as two mirrors,
 * select_vlan with RSPAN (output_vlan: the copies arrive tagged on a trunk, untagged on an access
 * port of that VLAN); the mirror host's own traffic goes nowhere; `statistics` is written back and
 * read with `ovs-vsctl list mirror`; a mirror whose output port is not on the bridge is not made
 * (the log says so, as ovs-vswitchd's). The same src/dst and RSPAN scenarios run on Open vSwitch
 * in userspace (under /tmp/ovs-userspace.lock) and tcpdump must see the same there.
 */
import t, { type Test } from 'tap';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { addHost, assertRan, moveToNamespace, run, setLinkUp, spawnIn, tryRun, uniqueName, type TestHost } from '../helpers/netns.js';
import { startDaemonRig, waitUntil, type DaemonRig } from '../helpers/daemon-rig.js';
import { startOvsUserspace } from '../helpers/ovs-reference.js';

const PINGS = 4;

/** tcpdump on a host's eth0, frames it receives only, one line each (with the Ethernet header). */
async function capture(t: Test, host: TestHost, filter: readonly string[] = []): Promise<{ stop(): Promise<string[]> }> {
  const p = spawnIn('tcpdump', ['-i', 'eth0', '-Q', 'in', '-e', '-n', '-l', '-U', ...filter], host.ns);
  let out = '';
  let err = '';
  p.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  t.teardown(() => void p.kill());
  await waitUntil(() => err.includes('listening on'), `tcpdump listens on ${host.ns}`, 5000);
  return {
    async stop() {
      await sleep(300); // the last frames reach tcpdump
      const exited = once(p, 'exit');
      p.kill('SIGINT');
      await exited;
      return out.split('\n').filter((l) => l.trim() !== '');
    },
  };
}

const requests = (lines: readonly string[]): number => lines.filter((l) => /ICMP echo request/.test(l)).length;
const replies = (lines: readonly string[]): number => lines.filter((l) => /ICMP echo reply/.test(l)).length;

/**
 * `ovs-vsctl add-br`, its internal interface (root namespace) without IPv6: else the kernel's MLD
 * reports from it enter the bridge and are flooded, and mirrored, among the pings.
 */
async function addBridge(rig: DaemonRig, br: string): Promise<void> {
  rig.owns(br);
  await rig.vsctl(['add-br', br], { wait: true });
  await run('sysctl', ['-qw', `net.ipv6.conf.${br}.disable_ipv6=1`]);
}

/** Static ARP both ways: the only frames are the pings'. */
async function neighbours(a: TestHost, b: TestHost): Promise<void> {
  await a.run('ip', ['neigh', 'replace', b.ip, 'lladdr', b.mac, 'dev', 'eth0', 'nud', 'permanent']);
  await b.run('ip', ['neigh', 'replace', a.ip, 'lladdr', a.mac, 'dev', 'eth0', 'nud', 'permanent']);
}

async function ping(t: Test, from: TestHost, to: TestHost, count = PINGS): Promise<void> {
  const r = await tryRun('ping', ['-c', String(count), '-i', '0.2', '-W', '1', to.ip], from.ns);
  t.equal(r.code, 0, `${from.ns} pings ${to.ip} ${count} times, every one answered`);
}

/** The Mirror row's statistics as `ovs-vsctl list mirror NAME` prints them. */
async function statistics(vsctl: (args: string[]) => Promise<string>, name: string): Promise<Record<string, number>> {
  const text = await vsctl(['list', 'mirror', name]);
  const m = /^statistics\s*:\s*\{(.*)\}$/m.exec(text);
  const out: Record<string, number> = {};
  for (const pair of (m?.[1] ?? '').split(',')) {
    const [k, v] = pair.trim().split('=');
    if (k && v) out[k] = Number(v);
  }
  return out;
}

/** What a switch under test offers the scenario: ovs-vsctl against its database, and its ports' namespace. */
interface Target {
  vsctl(args: string[]): Promise<string>;
  /** Puts the host's switch-side interface where the switch runs (OVS userspace: its namespace). */
  attach(host: TestHost): Promise<void>;
  bridge: string;
}

/**
 * Two mirrors: `in1` selects what h1 sends (select_src_port) to the host m1, `out1` what is sent
 * to h1 (select_dst_port) to m2. h1 pings h2: m1 sees the requests only, m2 the replies only.
 */
async function srcDstScenario(t: Test, target: Target, tag: string, net: number): Promise<{ m1: string[]; m2: string[]; outputPorts: [string, string] }> {
  const h1 = await addHost(t, `${tag}1`, { ip: `10.${net}.0.1/24` });
  const h2 = await addHost(t, `${tag}2`, { ip: `10.${net}.0.2/24` });
  const m1 = await addHost(t, `${tag}m`);
  const m2 = await addHost(t, `${tag}n`);
  const br = target.bridge;
  for (const h of [h1, h2, m1, m2]) {
    await target.attach(h);
    await target.vsctl(['add-port', br, h.port]);
  }
  await neighbours(h1, h2);
  await target.vsctl([
    '--', '--id=@h1', 'get', 'port', h1.port,
    '--', '--id=@m1', 'get', 'port', m1.port,
    '--', '--id=@m2', 'get', 'port', m2.port,
    '--', '--id=@in', 'create', 'mirror', 'name=in1', 'select-src-port=@h1', 'output-port=@m1',
    '--', '--id=@out', 'create', 'mirror', 'name=out1', 'select-dst-port=@h1', 'output-port=@m2',
    '--', 'add', 'bridge', br, 'mirrors', '@in', '@out',
  ]);
  const c1 = await capture(t, m1);
  const c2 = await capture(t, m2);
  await ping(t, h1, h2);
  return { m1: await c1.stop(), m2: await c2.stop(), outputPorts: [m1.port, m2.port] };
}

t.test('select_src_port and select_dst_port as two mirrors; statistics in the database', async (t) => {
  const rig = await startDaemonRig(t);
  const br = uniqueName('mbr');
  await addBridge(rig, br);
  const vsctl = (args: string[]): Promise<string> => rig.vsctl(args, { wait: true });
  const seen = await srcDstScenario(t, { vsctl, attach: async () => undefined, bridge: br }, 'ms', 83);
  t.equal(requests(seen.m1), PINGS, `m1 saw h1's ${PINGS} echo requests, once each`);
  t.equal(replies(seen.m1), 0, 'and no reply (they enter by h2)');
  t.equal(replies(seen.m2), PINGS, `m2 saw the ${PINGS} echo replies sent to h1, once each`);
  t.equal(requests(seen.m2), 0, 'and no request');
  const others = [...seen.m1, ...seen.m2].filter((l) => !/ICMP echo (request|reply)/.test(l));
  t.same(others, [], 'nothing else reached the mirror ports');

  // OVS writes statistics every 5 s (stats-update-interval); the same here. A mirror's output port
  // carries nothing but its copies, so its tx counter (dump-ports) is what the statistics must say,
  // whatever else the hosts sent after the captures stopped (ARP probes of a stale neighbour).
  const sentBy = async (port: string): Promise<{ tx_bytes: number; tx_packets: number }> => {
    const r = await rig.ofctl(['dump-ports', br, port]);
    assertRan(t, r, `ovs-ofctl dump-ports ${br} ${port}`);
    const m = /tx pkts=(\d+), bytes=(\d+)/.exec(r.stdout);
    return { tx_bytes: Number(m?.[2]), tx_packets: Number(m?.[1]) };
  };
  for (const [mirror, port] of [['in1', seen.outputPorts[0]], ['out1', seen.outputPorts[1]]] as const) {
    let sent = { tx_bytes: -1, tx_packets: -1 };
    let stats: Record<string, number> = {};
    await waitUntil(async () => {
      sent = await sentBy(port);
      stats = await statistics(vsctl, mirror);
      return stats['tx_packets'] === sent.tx_packets;
    }, `Mirror ${mirror} statistics equal to its output port's tx counter`, 15_000);
    t.ok(sent.tx_packets >= PINGS && sent.tx_bytes >= PINGS * 98, `${port} sent at least the ${PINGS} mirrored 98-byte echo frames (${sent.tx_packets})`);
    t.same(stats, sent, `ovs-vsctl list mirror ${mirror}: statistics are what its output port sent`);
  }
});

t.test('select_all: every frame once; the mirror host\'s own traffic goes nowhere; a bad output port', async (t) => {
  const rig = await startDaemonRig(t);
  const br = uniqueName('abr');
  await addBridge(rig, br);
  const h1 = await addHost(t, 'ma1', { ip: '10.84.0.1/24' });
  const h2 = await addHost(t, 'ma2', { ip: '10.84.0.2/24' });
  const h3 = await addHost(t, 'ma3', { ip: '10.84.0.3/24' });
  const mon = await addHost(t, 'mam', { ip: '10.84.0.9/24' });
  for (const h of [h1, h2, h3, mon]) await rig.vsctl(['add-port', br, h.port], { wait: true });
  await neighbours(h1, h2);
  await neighbours(h1, h3);
  await neighbours(mon, h1);
  await rig.vsctl([
    '--', '--id=@p', 'get', 'port', mon.port,
    '--', '--id=@m', 'create', 'mirror', 'name=m0', 'select-all=true', 'output-port=@p',
    '--', 'add', 'bridge', br, 'mirrors', '@m',
  ], { wait: true });
  t.match(await rig.vsctl(['list', 'mirror', 'm0']), /select_all\s*:\s*true/, 'the Mirror row as ovs-vsctl made it');

  const onMon = await capture(t, mon, ['icmp']);
  const onH1 = await capture(t, h1, ['icmp']);
  await ping(t, h1, h2);
  await ping(t, h3, h1);
  // The mirror host pings h1: dropped on entry (its port is reserved for mirroring), never mirrored.
  const own = await tryRun('ping', ['-c', '2', '-i', '0.2', '-W', '1', h1.ip], mon.ns);
  t.equal(own.code, 1, 'the mirror host gets no answer (ping exits 1)');
  const monLines = await onMon.stop();
  const h1Lines = await onH1.stop();
  t.equal(requests(monLines), 2 * PINGS, 'the mirror host saw every echo request once');
  t.equal(replies(monLines), 2 * PINGS, 'and every echo reply once');
  t.notOk(monLines.some((l) => l.includes('10.84.0.9')), 'none of its own pings came back to it');
  t.notOk(h1Lines.some((l) => l.includes('10.84.0.9')), 'h1 never saw the mirror host\'s pings');
  t.equal(requests(h1Lines) + replies(h1Lines), 2 * PINGS, 'h1 saw its own exchanges only');

  // An output port on another bridge: not created, and said so in the log (ovs-vswitchd's words).
  const other = uniqueName('obr');
  await addBridge(rig, other);
  await rig.vsctl([
    '--', '--id=@p', 'get', 'port', other,
    '--', '--id=@m', 'create', 'mirror', 'name=bad', 'select-all=true', 'output-port=@p',
    '--', 'add', 'bridge', br, 'mirrors', '@m',
  ], { wait: true });
  await rig.proc.waitForLog('mirror bad outputs to port not on bridge', 5000);
  t.pass('logged: mirror bad outputs to port not on bridge');
  await waitUntil(async () => (await statistics((a) => rig.vsctl(a), 'm0'))['tx_packets'] !== undefined, 'Mirror m0 statistics written', 15_000);
  t.same(await statistics((a) => rig.vsctl(a), 'bad'), {}, 'the mirror that was not made has no statistics');

  // Removing the mirror: the port forwards again.
  await rig.vsctl(['clear', 'bridge', br, 'mirrors'], { wait: true });
  await ping(t, mon, h1, 2);
});

/**
 * RSPAN: VLAN 10's frames (select_vlan=10) copied to VLAN 99. a, b on VLAN 10 and c, d on VLAN 20
 * ping each other; a trunk host and an access host of VLAN 99 count the copies.
 */
async function rspanScenario(t: Test, target: Target, tag: string, net: number): Promise<{ trunk: string[]; access: string[] }> {
  const a = await addHost(t, `${tag}a`, { ip: `10.${net}.0.1/24` });
  const b = await addHost(t, `${tag}b`, { ip: `10.${net}.0.2/24` });
  const c = await addHost(t, `${tag}c`, { ip: `10.${net}.1.1/24` });
  const d = await addHost(t, `${tag}d`, { ip: `10.${net}.1.2/24` });
  const trunk = await addHost(t, `${tag}t`);
  const access = await addHost(t, `${tag}v`);
  const br = target.bridge;
  const ports: [TestHost, string][] = [[a, 'tag=10'], [b, 'tag=10'], [c, 'tag=20'], [d, 'tag=20'], [trunk, 'trunks=10,20,99'], [access, 'tag=99']];
  for (const [h, vlan] of ports) {
    await target.attach(h);
    await target.vsctl(['add-port', br, h.port, vlan]);
  }
  await neighbours(a, b);
  await neighbours(c, d);
  await target.vsctl([
    '--', '--id=@m', 'create', 'mirror', 'name=r10', 'select-all=true', 'select-vlan=10', 'output-vlan=99',
    '--', 'add', 'bridge', br, 'mirrors', '@m',
  ]);
  const onTrunk = await capture(t, trunk, ['vlan', '99']);
  const onAccess = await capture(t, access, ['icmp']);
  await ping(t, a, b);
  await ping(t, c, d);
  return { trunk: await onTrunk.stop(), access: await onAccess.stop() };
}

function checkRspan(t: Test, seen: { trunk: string[]; access: string[] }, net: number, who: string): void {
  t.equal(requests(seen.trunk), PINGS, `${who}the trunk saw VLAN 10's echo requests once each, tagged 99`);
  t.equal(replies(seen.trunk), PINGS, `${who}and its replies`);
  t.ok(seen.trunk.every((l) => /vlan 99,/.test(l)), `${who}every copy carries VLAN 99`);
  t.notOk(seen.trunk.some((l) => l.includes(`10.${net}.1.`)), `${who}nothing of VLAN 20`);
  t.equal(requests(seen.access) + replies(seen.access), 2 * PINGS, `${who}the access port of VLAN 99 saw the same copies`);
  t.ok(seen.access.every((l) => !/vlan/.test(l)), `${who}untagged`);
  t.notOk(seen.access.some((l) => l.includes(`10.${net}.1.`)), `${who}nothing of VLAN 20 there either`);
}

t.test('select_vlan with RSPAN: output_vlan copies tagged on a trunk, untagged on an access port of that VLAN', async (t) => {
  const rig = await startDaemonRig(t);
  const br = uniqueName('rbr');
  await addBridge(rig, br);
  const vsctl = (args: string[]): Promise<string> => rig.vsctl(args, { wait: true });
  checkRspan(t, await rspanScenario(t, { vsctl, attach: async () => undefined, bridge: br }, 'r', 85), 85, '');
});

t.test('Open vSwitch in userspace: the same two mirrors and the same RSPAN, the same frames seen', async (t) => {
  // startOvsUserspace runs OVS in a namespace of its own, so this may overlap other OVS tests.
  const ovs = await startOvsUserspace(t, { tag: 'mref' });
  const br = 'br0';
  await ovs.vsctl(['add-br', br, '--', 'set', 'bridge', br, 'datapath_type=netdev']);
  const attach = async (h: TestHost): Promise<void> => {
    await moveToNamespace(h.port, ovs.ns);
    await setLinkUp(h.port, ovs.ns);
    await run('ethtool', ['-K', h.port, 'tx', 'off'], ovs.ns).catch(() => undefined);
  };
  const seen = await srcDstScenario(t, { vsctl: (a) => ovs.vsctl(a), attach, bridge: br }, 'mo', 86);
  t.equal(requests(seen.m1), PINGS, 'OVS: m1 saw the echo requests, once each');
  t.equal(replies(seen.m1), 0, 'OVS: and no reply');
  t.equal(replies(seen.m2), PINGS, 'OVS: m2 saw the echo replies, once each');
  t.equal(requests(seen.m2), 0, 'OVS: and no request');
  t.equal(seen.m1.length + seen.m2.length, 2 * PINGS, 'OVS: nothing else');
  const show = await ovs.tryAppctl(['bridge/dump-flows', br]);
  assertRan(t, show, 'ovs-appctl bridge/dump-flows');
  // RSPAN on a second bridge of the same Open vSwitch.
  const br1 = 'br1';
  await ovs.vsctl(['add-br', br1, '--', 'set', 'bridge', br1, 'datapath_type=netdev']);
  checkRspan(t, await rspanScenario(t, { vsctl: (a) => ovs.vsctl(a), attach, bridge: br1 }, 'ro', 88), 88, 'OVS: ');
});
