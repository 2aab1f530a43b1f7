/**
 * The set-up the flow-export tests (NetFlow, IPFIX, sFlow on real packets) share: two test hosts
 * h1 (SUBNET.1) and h2 (SUBNET.2) in namespaces of their own, a scratch directory, and a switch
 * between them, checked by a ping from h1 to h2:
 * - `bridgeHosts`: database mode, ovsdb-server and the ofswitch daemon (daemon-rig.ts) with a
 *   bridge holding both hosts' ports, configured with ovs-vsctl as OVS users do;
 * - `flagModeHosts` + `startFlagSwitch`: flag mode, `ofswitch --config FILE` with the exporter's
 *   settings in FILE;
 * - `ovsHostsAndReceiver`: for the comparisons with Open vSwitch, OVS in userspace in a namespace of
 *   its own (ovs-reference.ts) holding two more hosts' ports and a UDP receiver for its exports.
 * Everything made here (namespaces, veth pairs, the bridge's interfaces, the processes, the
 * directory) is removed by t.teardown, also when the test fails or times out.
 * Also the traffic the NetFlow and IPFIX tests count (`mixedTraffic`: pings, `udpBurst`, `tcpExchange`) and
 * `rejectsConfig`, a `--config` file the CLI must refuse with exit 2 and one message.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { addHost, assertRan, moveToNamespace, setLinkUp, spawnIn, tryRun, uniqueName, type TestHost } from './netns.js';
import { startOvsUserspace, type OvsUserspace } from './ovs-reference.js';
import { startDaemonRig, type DaemonRig } from './daemon-rig.js';
import { freePort } from './free-port.js';
import { CLI, startOfswitch, type OfswitchProcess } from './ofswitch-process.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface FlowHosts {
  readonly h1: TestHost;
  readonly h2: TestHost;
  /** A scratch directory (config files, captures), removed at teardown. */
  readonly dir: string;
}

/** Whether a ping from `from` reaches `to` within 10 tries. */
export async function reaches(from: TestHost, to: TestHost): Promise<boolean> {
  for (let i = 0; i < 10; i++) if ((await tryRun('ping', ['-c', '1', '-W', '1', to.ip], from.ns)).code === 0) return true;
  return false;
}

async function hostsAndDir(t: Test, tags: readonly [string, string], subnet: string): Promise<FlowHosts> {
  const h1 = await addHost(t, tags[0], { ip: `${subnet}.1/24` });
  const h2 = await addHost(t, tags[1], { ip: `${subnet}.2/24` });
  const dir = mkdtempSync(join(tmpdir(), 'offlowexp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return { h1, h2, dir };
}

/**
 * Database mode: the daemon, hosts `tags` on `subnet` (e.g. '10.85.0'), both on bridge
 * uniqueName(`bridge`); asserts h1 reaches h2 unless `checkReach` is false.
 */
export async function bridgeHosts(t: Test, tags: readonly [string, string], subnet: string, bridge: string, checkReach = true): Promise<FlowHosts & { rig: DaemonRig; br: string }> {
  const rig = await startDaemonRig(t);
  const hosts = await hostsAndDir(t, tags, subnet);
  const { h1, h2 } = hosts;
  const br = uniqueName(bridge);
  rig.owns(br);
  await rig.vsctl(['add-br', br, '--', 'add-port', br, h1.port, '--', 'add-port', br, h2.port], { wait: true });
  if (checkReach) t.ok(await reaches(h1, h2), 'h1 reaches h2 through the bridge');
  return { ...hosts, rig, br };
}

const RECEIVER = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', int(sys.argv[2])))
with open(sys.argv[1], 'a') as f:
    while True:
        f.write(s.recv(65535).hex() + '\\n')
        f.flush()
`;

/**
 * Open vSwitch in userspace (namespace `tag`), hosts `tags` on `subnet` whose ports are moved into
 * its namespace (for the test to add to a bridge there), and a receiver on 127.0.0.1:`port` in that
 * namespace keeping every datagram; `received()` reads what it has kept so far.
 */
export async function ovsHostsAndReceiver(t: Test, tag: string, tags: readonly [string, string], subnet: string, port: number): Promise<{ ovs: OvsUserspace; o1: TestHost; o2: TestHost; received(): Buffer[] }> {
  const ovs = await startOvsUserspace(t, { tag });
  const { h1: o1, h2: o2, dir } = await hostsAndDir(t, tags, subnet);
  for (const h of [o1, o2]) {
    await moveToNamespace(h.port, ovs.ns);
    await setLinkUp(h.port, ovs.ns);
  }
  const file = join(dir, 'received.hex');
  const receiver = spawnIn('/usr/bin/python3', ['-c', RECEIVER, file, String(port)], ovs.ns);
  t.teardown(() => { receiver.kill('SIGKILL'); });
  const received = (): Buffer[] => existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter((l) => l).map((l) => Buffer.from(l, 'hex')) : [];
  return { ovs, o1, o2, received };
}

/** Flag mode, before the switch: hosts `tags` on `subnet` and the scratch directory. */
export const flagModeHosts = hostsAndDir;

/**
 * `ofswitch --config FILE` with both hosts' ports, an OpenFlow listener and `settings` (e.g.
 * `{ netflow: {...} }`); asserts its log has `started` (`what`) and that h1 reaches h2 through it.
 */
export async function startFlagSwitch(t: Test, hosts: FlowHosts, settings: Record<string, unknown>, started: RegExp, what: string): Promise<OfswitchProcess> {
  const { h1, h2, dir } = hosts;
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ ports: [h1.port, h2.port], listen: [`ptcp:${await freePort()}:127.0.0.1`], ...settings }));
  const sw = await startOfswitch(t, ['--config', file]);
  t.teardown(() => sw.stop());
  t.match(sw.stderr(), started, what);
  t.ok(await reaches(h1, h2), 'h1 reaches h2 through the flag-mode switch');
  return sw;
}

/** `ofswitch --config FILE` with `config` in FILE must exit 2 (`what`) with a message matching `message`. */
export async function rejectsConfig(t: Test, dir: string, config: Record<string, unknown>, what: string, message: RegExp, messageWhat?: string): Promise<void> {
  const file = join(dir, `bad-${Math.random().toString(36).slice(2, 8)}.json`);
  writeFileSync(file, JSON.stringify(config));
  const r = await tryRun(process.execPath, [CLI, '--config', file]);
  t.equal(r.code, 2, what);
  if (messageWhat === undefined) t.match(r.stderr, message);
  else t.match(r.stderr, message, messageWhat);
}

/**
 * `pings` pings of 100 bytes (128 IP bytes) from h1 to h2, then udpBurst and tcpExchange, each
 * checked to have run; returns what tcpdump saw of the TCP exchange.
 */
export async function mixedTraffic(t: Test, h1: TestHost, h2: TestHost, dir: string, pings: number): Promise<TcpSides> {
  const ping = await tryRun('ping', ['-c', String(pings), '-i', '0.2', '-s', '100', '-W', '1', h2.ip], h1.ns);
  assertRan(t, ping, `ping -c ${pings}`);
  await udpBurst(t, h1, h2);
  const tcp = await tcpExchange(t, h1, h2, dir);
  t.ok(tcp.fwd.packets >= 4 && tcp.rev.packets >= 3, `tcpdump saw the exchange (${tcp.fwd.packets} + ${tcp.rev.packets} packets)`);
  return tcp;
}

const PY_UDP = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('0.0.0.0', 5000))
for i in range(7): s.sendto(b'u' * 200, (sys.argv[1], 5001))
print(7)
`;

/** 7 UDP datagrams of 200 bytes (228 IP bytes) from h1:5000 to h2:5001. */
export async function udpBurst(t: Test, h1: TestHost, h2: TestHost): Promise<void> {
  const udp = await tryRun('/usr/bin/python3', ['-c', PY_UDP, h2.ip], h1.ns);
  assertRan(t, udp, 'the UDP sender');
}

const PY_SERVER = `
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', 5002)); s.listen(1)
print('ready', flush=True)
c, _ = s.accept()
while True:
    d = c.recv(65536)
    if not d: break
    c.sendall(d)
c.close()
`;
const PY_CLIENT = `
import socket, sys, time
for i in range(50):
    try:
        c = socket.create_connection((sys.argv[1], 5002), timeout=2); break
    except OSError: time.sleep(0.1)
c.sendall(b'x' * 3000); c.shutdown(socket.SHUT_WR)
n = 0
while True:
    d = c.recv(65536)
    if not d: break
    n += len(d)
c.close(); print(n)
`;

export type TcpSides = Record<'fwd' | 'rev', { packets: number; bytes: number; flags: number }>;

/** A TCP exchange h1 -> h2:5002 (3000 bytes there and back) captured by tcpdump on h1: per direction packets, IP bytes, flags. */
export async function tcpExchange(t: Test, h1: TestHost, h2: TestHost, dir: string): Promise<TcpSides> {
  const pcap = join(dir, 'tcp.pcap');
  const dump = spawnIn('tcpdump', ['-i', 'eth0', '-n', '-U', '-Z', 'root', '-w', pcap, 'tcp port 5002'], h1.ns);
  let dumpErr = '';
  dump.stderr?.on('data', (d: Buffer) => (dumpErr += d.toString()));
  for (let i = 0; i < 50 && !/listening/.test(dumpErr); i++) await sleep(100);
  await sleep(1000); // the capture running, not only announced
  const server = spawnIn('/usr/bin/python3', ['-c', PY_SERVER], h2.ns);
  let ready = '';
  server.stdout?.on('data', (d: Buffer) => (ready += d.toString()));
  server.stderr?.resume();
  for (let i = 0; i < 50 && !ready.includes('ready'); i++) await sleep(100);
  t.match(ready, /ready/, 'the TCP server listens');
  const client = await tryRun('/usr/bin/python3', ['-c', PY_CLIENT, h2.ip], h1.ns);
  assertRan(t, client, 'the TCP client');
  t.equal(client.stdout.trim(), '3000', 'the echo came back whole');
  await sleep(1000);
  const gone = new Promise((r) => dump.once('exit', r));
  dump.kill('SIGINT');
  await gone;
  const r = await tryRun('tshark', ['-r', pcap, '-T', 'fields', '-e', 'ip.src', '-e', 'ip.len', '-e', 'tcp.flags']);
  assertRan(t, r, 'tshark reads the capture') || t.comment(`tcpdump: ${dumpErr}`);
  const out = { fwd: { packets: 0, bytes: 0, flags: 0 }, rev: { packets: 0, bytes: 0, flags: 0 } };
  for (const line of r.stdout.trim().split('\n')) {
    const [src, len, flags] = line.split('\t');
    const side = src === h1.ip ? out.fwd : out.rev;
    side.packets++;
    side.bytes += Number(len);
    side.flags |= Number(flags);
  }
  return out;
}
