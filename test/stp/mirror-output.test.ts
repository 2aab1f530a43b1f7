/**
 * A mirror's output port takes no part in the spanning tree, as in Open vSwitch (bridge.c's
 * port_configure_stp / port_configure_rstp: "STP on mirror output ports is not supported"). The
 * same ovs-vsctl commands go to ofswitch (database mode) and to Open vSwitch in userspace
 * (test/helpers/ovs-reference.ts): a bridge with stp_enable (then rstp_enable), three ports, a
 * mirror of the first port's ingress to the third. On both: tcpdump on the far end of the mirror
 * port sees no BPDU while the far end of the first port sees them; stp/show / rstp/show lists the
 * first two ports only; the mirror port's status / rstp_status column, written while it was in the
 * tree, is emptied. Removing the
 * mirror brings the port into the tree on both.
 */
import t, { type Test } from 'tap';
import { addHost, assertRan, run, setLinkUp, tryRun, type RunResult } from '../helpers/netns.js';
import { startDaemonRig, waitUntil } from '../helpers/daemon-rig.js';
import { startOvsUserspace } from '../helpers/ovs-reference.js';

type Protocol = 'stp' | 'rstp';

/** One switch under the same commands: its ports' names, where their far ends are, its tools. */
interface Target {
  readonly what: string;
  readonly bridge: string;
  /** The three ports' names on the switch. */
  readonly ports: readonly [string, string, string];
  /** The far end of each port: [namespace, interface]. */
  readonly far: readonly (readonly [string, string])[];
  vsctl(args: readonly string[]): Promise<string>;
  appctl(args: readonly string[]): Promise<RunResult>;
}

/** BPDUs (to 01:80:c2:00:00:00) tcpdump sees on each far end in `seconds`. */
async function captureBpdus(t: Test, target: Target, seconds: number): Promise<number[]> {
  const runs = await Promise.all(target.far.map(([ns, ifname]) =>
    tryRun('timeout', ['-s', 'INT', String(seconds), 'tcpdump', '-i', ifname, '-nn', '-e', '-l', 'ether dst 01:80:c2:00:00:00'], ns)));
  return runs.map((r, i) => {
    // tcpdump stopped by SIGINT exits 0 and counts what it captured on stderr: proof it ran.
    t.match(r.stderr, /\d+ packets? captured/, `${target.what}: tcpdump ran on the far end of port ${i + 1}`);
    return r.stdout.split('\n').filter((l) => l.includes('01:80:c2:00:00:00')).length;
  });
}

/** A port's name as the show commands print it (OVS's "%-11.10s": 10 characters at most). */
const shown = (name: string): string => name.slice(0, 10);

/** The interface names stp/show or rstp/show lists in its port table. */
function listed(show: string): string[] {
  const table = show.split(/-{10} -{10} -{10}[^\n]*\n/)[1] ?? '';
  return table.split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter((n) => n !== '');
}

async function scenario(t: Test, target: Target, protocol: Protocol): Promise<{ listed: string[]; bpdus: number[] }> {
  const [n1, n2, n3] = target.ports;
  const [p1, p2, p3] = target.ports.map(shown) as [string, string, string];
  const br = target.bridge;
  const bridgeSettings = protocol === 'stp' ? ['stp_enable=true', 'other_config:stp-hello-time=1'] : ['rstp_enable=true'];
  await target.vsctl(['set', 'bridge', br, ...bridgeSettings]);
  const status = protocol === 'stp' ? 'status' : 'rstp_status';
  const get = async (port: string): Promise<string> => (await target.vsctl(['get', 'port', port, status])).trim();
  await waitUntil(async () => (await get(n3)) !== '{}', `${target.what}: ${status} of ${n3} written before the mirror`, 15_000);
  await target.vsctl(['--id=@p1', 'get', 'port', n1, '--', '--id=@p3', 'get', 'port', n3,
    '--', '--id=@m', 'create', 'mirror', 'name=m0', 'select_src_port=@p1', 'output_port=@p3',
    '--', 'set', 'bridge', br, 'mirrors=@m']);
  const showCmd = `${protocol}/show`;
  await waitUntil(async () => (await get(n1)) !== '{}' && (await get(n2)) !== '{}' && (await get(n3)) === '{}', `${target.what}: ${status} of ${n1} and ${n2} written, of ${n3} emptied`, 15_000);
  const show = await target.appctl([showCmd, br]);
  assertRan(t, show, `${target.what}: ${showCmd}`);
  const names = listed(show.stdout).sort(); // OVS lists in its hash order
  t.same(names, [p1, p2], `${target.what}: ${showCmd} lists the first two ports, not the mirror's output:\n${show.stdout}`);
  t.equal(await get(n3), '{}', `${target.what}: the mirror port's ${status} is empty`);
  const bpdus = await captureBpdus(t, target, protocol === 'stp' ? 3 : 5);
  t.ok(bpdus[0]! >= 1, `${target.what}: BPDUs leave port 1 (${bpdus[0]})`);
  t.equal(bpdus[2], 0, `${target.what}: none leave the mirror's output port`);

  await target.vsctl(['clear', 'bridge', br, 'mirrors']);
  await waitUntil(async () => listed((await target.appctl([showCmd, br])).stdout).includes(p3), `${target.what}: without the mirror, ${p3} joins the tree`, 15_000);
  t.pass(`${target.what}: without the mirror, the port joins the ${protocol} tree`);
  await target.vsctl(['set', 'bridge', br, `${protocol}_enable=false`]);
  return { listed: names.map((n) => String(target.ports.map(shown).indexOf(n) + 1)).sort(), bpdus };
}

async function ofswitchTarget(t: Test): Promise<Target> {
  const rig = await startDaemonRig(t);
  const hosts = [await addHost(t, 'mo1'), await addHost(t, 'mo2'), await addHost(t, 'mo3')];
  const br = `br${process.pid}`.slice(0, 15);
  rig.owns(br);
  const ports = hosts.map((h) => h.port) as [string, string, string];
  await rig.vsctl(['add-br', br, '--', 'set', 'bridge', br, 'fail_mode=standalone', ...ports.flatMap((p) => ['--', 'add-port', br, p])], { wait: true });
  return {
    what: 'ofswitch',
    bridge: br,
    ports,
    far: hosts.map((h) => [h.ns, h.hostIf] as const),
    vsctl: (args) => rig.vsctl(args, { wait: true }),
    appctl: (args) => rig.appctl(args),
  };
}

async function ovsTarget(t: Test): Promise<Target> {
  const ovs = await startOvsUserspace(t, { tag: 'movs' });
  const ports = ['p1', 'p2', 'p3'] as const;
  for (const p of ports) {
    await run('ip', ['link', 'add', p, 'type', 'veth', 'peer', 'name', `${p}far`], ovs.ns);
    await setLinkUp(p, ovs.ns);
    await setLinkUp(`${p}far`, ovs.ns);
  }
  await ovs.vsctl(['add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=netdev', 'fail_mode=standalone', ...ports.flatMap((p) => ['--', 'add-port', 'br0', p])]);
  return {
    what: 'Open vSwitch',
    bridge: 'br0',
    ports: [...ports],
    far: ports.map((p) => [ovs.ns, `${p}far`] as const),
    vsctl: (args) => ovs.vsctl(args),
    appctl: (args) => ovs.tryAppctl(args),
  };
}

for (const protocol of ['stp', 'rstp'] as const) {
  t.test(`${protocol}: a mirror's output port is left out of the tree, as in Open vSwitch`, async (t) => {
    const [ours, theirs] = await Promise.all([ofswitchTarget(t), ovsTarget(t)]);
    const a = await scenario(t, ours, protocol);
    const b = await scenario(t, theirs, protocol);
    t.same(a.listed, b.listed, `both list the same ports (${a.listed.join(', ')})`);
    t.same(a.bpdus.map((n) => n > 0), b.bpdus.map((n) => n > 0), 'BPDUs leave the same ports');
  });
}
