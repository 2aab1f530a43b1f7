/**
 * BFD on tunnel ports between ofswitch (the database daemon, configured with the stock ovs-vsctl,
 * running in a namespace of its own whose IP stack is its underlay) and Open vSwitch 3.1 in
 * userspace as the far end of a Geneve, a GRE and a VXLAN tunnel (test/helpers/tunnel-rig.ts
 * ovsUnderlay: OVS's native tunnelling over br-phy). Both sides run `bfd:enable=true` with 300 ms
 * intervals on every tunnel; both bridges are fail_mode=secure without flows, so nothing but BFD crosses.
 *
 * The Geneve tunnel runs `bfd:oam=true` on both sides (OVS: the Geneve header's O bit on BFD packets).
 * Proved, for each tunnel:
 * - on the underlay, the BFD packets inside the tunnels are the ones Open vSwitch sends: inner
 *   Ethernet to 00:23:20:00:00:01, IPv4 169.254.1.1 -> 169.254.1.0 with TTL 255 and TOS 0xc0, UDP
 *   to 3784, and on Geneve the O bit set (tshark decodes both sides' packets; they must agree
 *   field by field); the sessions come up with it;
 * - up: bfd_status state=up, forwarding=true on both sides; `bfd/show` answers on both with the
 *   same lines, each side's remote discriminator the other's local one;
 * - cut (the underlay's far veth set down): state=down, forwarding=false, diagnostic "Control
 *   Detection Time Expired" on both sides within the detection time (3 x 300 ms) plus the time the
 *   status may take to be written and slack for a loaded machine;
 * - the tunnel's OpenFlow 1.0 port state is what OVS shows: BFD does not touch it (OVS's
 *   may_enable only clears OFPPS_LIVE, which OpenFlow 1.0 does not have, and tells bonds);
 * - restored: up and forwarding again on both sides, the flaps counted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import t from 'tap';
import { bfdShowField, bfdShowLabels, bfdStatusMap } from '../helpers/bfd-status.js';
import { startDaemonRig, waitUntil } from '../helpers/daemon-rig.js';
import { assertRan, run, setLinkDown, setLinkUp, spawnIn, tryRun, type RunResult } from '../helpers/netns.js';
import { ovsUnderlay } from '../helpers/tunnel-rig.js';

const INTERVAL_MS = 300;
const DETECT_MS = 3 * INTERVAL_MS; // mult 3 x the negotiated receive interval
const STATUS_MS = 1000; // the status column may be written up to this late
const SLACK_MS = 3000; // a loaded 2-core machine
const BFD = [`bfd:enable=true`, `bfd:min_rx=${INTERVAL_MS}`, `bfd:min_tx=${INTERVAL_MS}`];
const TUNNELS = [
  { kind: 'geneve', name: 'gnv0', key: 77, extra: ['bfd:oam=true'] },
  { kind: 'gre', name: 'gre0', key: 88, extra: [] },
  { kind: 'vxlan', name: 'vx0', key: 99, extra: [] },
] as const;

interface Side {
  readonly who: string;
  /** Every tunnel's bfd_status, in one ovs-vsctl run. */
  statuses(): Promise<Record<string, string>[]>;
  appctl(args: string[]): Promise<RunResult>;
  /** `ovs-ofctl show BRIDGE`'s `state:` line for the port `iface`. */
  portState(iface: string): Promise<string>;
}

/** What tshark prints of each BFD packet on the underlay (outer and inner values joined by ','). */
const PACKET_FIELDS = ['frame.protocols', 'ip.src', 'ip.dst', 'ip.ttl', 'ip.dsfield', 'eth.dst', 'udp.dstport', 'geneve.vni', 'vxlan.vni', 'gre.key', 'bfd.version', 'bfd.message_length', 'bfd.detect_time_multiplier', 'geneve.flags.oam'];

/** One tshark line, added to the set of its sender (the outer IPv4 source) as a summary. */
function sentBy(sent: Record<string, Set<string>>, line: string): void {
  const [protocols, src, dst, ttl, tos, ethDst, udpDst, vni, vxlanVni, greKey, version, length, mult, oam] = line.split('\t').map((f) => f.split(','));
  const last = (a: string[] | undefined): string => a?.[a.length - 1] ?? '';
  const kind = ['gre', 'geneve', 'vxlan'].find((k) => protocols?.join(',').includes(`:${k}:`)) ?? '?';
  const key = Number(last(kind === 'gre' ? greKey : kind === 'vxlan' ? vxlanVni : vni));
  const oamBit = kind === 'geneve' ? ` oam=${['1', 'True', 'true'].includes(last(oam)) ? 1 : 0}` : '';
  const summary = `${kind}${oamBit} key=${key} eth.dst=${last(ethDst)} ip ${last(src)}>${last(dst)} ttl=${last(ttl)} tos=${last(tos)} udp.dst=${last(udpDst)} bfd v${last(version)} len=${last(length)} mult=${last(mult)}`;
  sent[src?.[0] ?? '']?.add(summary);
}

/** The `state:` line under port `iface` in `ovs-ofctl show` output. */
function stateOf(show: string, iface: string): string {
  const block = new RegExp(`^ \\d+\\(${iface}\\): [^]*?^\\s+state:\\s+(.*)$`, 'm').exec(show);
  return block?.[1]?.trim() ?? '';
}

t.test('BFD over Geneve, GRE and VXLAN with Open vSwitch userspace: the packets OVS sends, up, cut, restored', async (t) => {
  const t0 = performance.now();
  const mark = (what: string): void => void t.comment(`${what}: ${Math.round(performance.now() - t0)} ms into the test`);
  const dir = mkdtempSync(join(tmpdir(), 'ofswitch-tbfd-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { ovs, u } = await ovsUnderlay(t, 'tbf', 93);
  const rig = await startDaemonRig(t, [], { ns: u.sw });
  await rig.vsctl(['add-br', 'br0', '--', 'set', 'bridge', 'br0', 'fail_mode=secure'], { wait: true });
  await ovs.vsctl(['add-br', 'br-int', '--', 'set', 'bridge', 'br-int', 'datapath_type=netdev', 'fail_mode=secure', 'protocols=OpenFlow10']);
  // The underlay, captured from before the first BFD packet until both sides are up.
  const capture = join(dir, 'underlay.pcap');
  const dump = spawnIn('tcpdump', ['-U', '-n', '-i', u.swIf, '-w', capture, 'udp port 6081 or udp port 4789 or ip proto 47'], u.sw);
  t.teardown(() => void dump.kill());
  let dumpErr = '';
  dump.stderr?.on('data', (d: Buffer) => (dumpErr += d.toString()));
  await waitUntil(() => dumpErr.includes('listening on'), 'tcpdump listens', 10_000);
  for (const { kind, name, key, extra } of TUNNELS) {
    await rig.vsctl(['add-port', 'br0', name, '--', 'set', 'interface', name, `type=${kind}`, `options:remote_ip=${u.farIp}`, `options:key=${key}`, ...BFD, ...extra], { wait: true });
    await ovs.vsctl(['add-port', 'br-int', name, '--', 'set', 'interface', name, `type=${kind}`, `options:remote_ip=${u.swIp}`, `options:key=${key}`, ...BFD, ...extra]);
  }
  const getAll = TUNNELS.flatMap(({ name }, i) => [...(i > 0 ? ['--'] : []), 'get', 'interface', name, 'bfd_status']);
  const statusLines = (out: string): Record<string, string>[] => out.trim().split('\n').map(bfdStatusMap);
  const ours: Side = {
    who: 'ofswitch',
    statuses: async () => statusLines(await rig.vsctl(getAll)),
    appctl: (args) => rig.appctl(args),
    portState: async (iface) => stateOf(await run('ovs-ofctl', ['show', 'br0'], undefined, { env: rig.env }), iface),
  };
  const theirs: Side = {
    who: 'Open vSwitch',
    statuses: async () => statusLines(await ovs.vsctl(getAll)),
    appctl: (args) => ovs.tryAppctl(args),
    portState: async (iface) => stateOf(await run('ovs-ofctl', ['show', 'br-int'], undefined, { env: ovs.env }), iface),
  };
  const sides = [ours, theirs];
  // Up on both ends: a side goes up on hearing the other's init, and sees it up one packet later.
  const upBoth = (s: Record<string, string>): boolean => s['state'] === 'up' && s['remote_state'] === 'up' && s['forwarding'] === 'true';
  /** Waits until every tunnel of each side satisfies `check`; the ms each side took from `since`. */
  const allUntil = async (check: (s: Record<string, string>) => boolean, what: string, timeoutMs: number, since: number): Promise<number[]> =>
    Promise.all(
      sides.map(async (side) => {
        await waitUntil(async () => {
          const all = await side.statuses();
          return all.length === TUNNELS.length && all.every(check);
        }, `${side.who}: ${what} on every tunnel`, timeoutMs);
        return performance.now() - since;
      }),
    );

  mark('configured');
  // Up: a few 1 s packets while down/init, then 300 ms.
  await allUntil(upBoth, 'bfd_status state=up remote_state=up forwarding=true', 20_000, performance.now());
  mark('up');
  dump.kill('SIGINT');
  await new Promise((r) => dump.once('exit', r));
  // What the checks below read, read at once (tshark takes seconds to start).
  const [upStatus, decoded, shows] = await Promise.all([
    Promise.all(sides.map((side) => side.statuses())),
    tryRun('tshark', ['-r', capture, '-Y', 'bfd', '-T', 'fields', '-E', 'occurrence=a', ...PACKET_FIELDS.flatMap((f) => ['-e', f])]),
    Promise.all(TUNNELS.map(({ name }) => Promise.all(sides.map((side) => side.appctl(['bfd/show', name]))))),
  ]);
  sides.forEach((side, i) =>
    TUNNELS.forEach(({ name }, j) =>
      t.match(upStatus[i]![j], { state: 'up', forwarding: 'true', remote_state: 'up' }, `${side.who} ${name}: BFD up and forwarding`),
    ),
  );
  t.same(Object.keys(upStatus[0]![0]!).sort(), Object.keys(upStatus[1]![0]!).sort(), 'bfd_status has the keys OVS writes');

  // The packets on the underlay, by sender: the tunnel and key, then the inner headers as BFD
  // puts them (fields that differ between any two senders, MACs and UDP source port, left out).
  if (assertRan(t, decoded, 'tshark on the underlay capture')) {
    const sent = { [u.swIp]: new Set<string>(), [u.farIp]: new Set<string>() };
    for (const line of decoded.stdout.trim().split('\n')) sentBy(sent, line);
    t.comment(`ofswitch sent: ${[...sent[u.swIp]!].join('; ')}`);
    t.comment(`OVS sent: ${[...sent[u.farIp]!].join('; ')}`);
    for (const { kind, key } of TUNNELS) {
      const want = `${kind}${kind === 'geneve' ? ' oam=1' : ''} key=${key} eth.dst=00:23:20:00:00:01 ip 169.254.1.1>169.254.1.0 ttl=255 tos=0xc0 udp.dst=3784 bfd v1 len=24 mult=3`;
      t.ok(sent[u.farIp]!.has(want), `Open vSwitch sends ${want}`);
      t.ok(sent[u.swIp]!.has(want), `and so does ofswitch`);
    }
    t.equal(sent[u.swIp]!.size, TUNNELS.length, 'ofswitch sends nothing else that tshark reads as BFD');
  }

  // bfd/show on both: the same lines; each side's remote discriminator is the other's local one.
  for (const [j, { name }] of TUNNELS.entries()) {
    const [ourShow, theirShow] = shows[j]! as [RunResult, RunResult];
    if (assertRan(t, ourShow, `ovs-appctl -t ofswitch bfd/show ${name}`) && assertRan(t, theirShow, `ovs-appctl bfd/show ${name} (Open vSwitch)`)) {
      t.same(bfdShowLabels(ourShow.stdout), bfdShowLabels(theirShow.stdout), `${name}: bfd/show prints the lines Open vSwitch prints`);
      t.equal(bfdShowField(ourShow.stdout, 'Remote Discriminator'), bfdShowField(theirShow.stdout, 'Local Discriminator'), `${name}: ofswitch's remote discriminator is OVS's local one`);
      t.equal(bfdShowField(theirShow.stdout, 'Remote Discriminator'), bfdShowField(ourShow.stdout, 'Local Discriminator'), `${name}: and OVS's remote discriminator ofswitch's local one`);
      for (const label of ['Forwarding', 'Local Session State', 'Remote Session State', 'Local Minimum TX Interval', 'Local Minimum RX Interval', 'Remote Detect Multiplier']) {
        t.equal(bfdShowField(ourShow.stdout, label), bfdShowField(theirShow.stdout, label), `${name}: ${label}: ${bfdShowField(theirShow.stdout, label)} on both`);
      }
    }
  }
  mark('compared');
  const statesUp = await Promise.all(sides.map((side) => Promise.all(TUNNELS.map(({ name }) => side.portState(name)))));

  // Cut: the far end's underlay veth down. Down on both sides within the detection time.
  const cutAt = performance.now();
  await setLinkDown(u.farIf, ovs.ns);
  const limit = DETECT_MS + STATUS_MS + SLACK_MS;
  const tookDown = await allUntil((s) => s['state'] === 'down' && s['forwarding'] === 'false', 'bfd_status state=down forwarding=false', limit + 5000, cutAt);
  tookDown.forEach((ms, i) => t.ok(ms <= limit, `${sides[i]!.who}: BFD down on both tunnels ${Math.round(ms)} ms after the cut (at most ${limit})`));
  mark('down');
  const downStatus = await Promise.all(sides.map((side) => side.statuses()));
  sides.forEach((side, i) =>
    TUNNELS.forEach(({ name }, j) => t.match(downStatus[i]![j], { diagnostic: 'Control Detection Time Expired' }, `${side.who} ${name}: detection time expired`)),
  );
  // The OpenFlow 1.0 port: what OVS shows, before and during the cut.
  const statesDown = await Promise.all(sides.map((side) => Promise.all(TUNNELS.map(({ name }) => side.portState(name)))));
  t.same(statesUp[0], statesUp[1], `the tunnels' OpenFlow port state while BFD is up is OVS's (${statesUp[1]!.join(', ')})`);
  t.same(statesDown[0], statesDown[1], `and while BFD is down (${statesDown[1]!.join(', ')})`);

  // Restored: up and forwarding again, the flaps counted.
  const backAt = performance.now();
  await setLinkUp(u.farIf, ovs.ns);
  await allUntil(upBoth, 'bfd_status state=up remote_state=up forwarding=true again', 20_000, backAt);
  mark('up again');
  const again = await ours.statuses();
  TUNNELS.forEach(({ name }, j) => t.match(again[j], { flap_count: /^[2-9]\d*$/ }, `ofswitch ${name}: up again, flaps counted`));
  t.equal(await rig.proc.stop(), 0, 'ofswitch stops cleanly');
  t.end();
});
