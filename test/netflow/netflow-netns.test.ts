/**
 * NetFlow configured as OVS users configure it, checked by Debian's nfdump (nfcapd receiving,
 * nfdump reading) on real packets between test hosts (network namespaces):
 * - database mode: `ovs-vsctl -- set Bridge BR netflow=@nf -- --id=@nf create NetFlow targets=...`
 *   against ovsdb-server; a ping of N packets, a UDP burst and a TCP exchange give records whose
 *   packets and IP bytes equal what the hosts sent (the TCP side as tcpdump captured it on the
 *   host, flags included), with the bridge's port numbers in and out and the engine type/id set;
 *   clearing the bridge's netflow column exports what was counted and stops the export.
 * - flag mode: the `--config` file's `netflow` object, active_timeout 1: a ping lasting 3 s is
 *   reported in several records adding up to what was sent.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addHost, assertRan, requireCommand, spawnIn, tryRun, uniqueName, type TestHost } from '../helpers/netns.js';
import { startDaemonRig } from '../helpers/daemon-rig.js';
import { freePort } from '../helpers/free-port.js';
import { CLI, startOfswitch } from '../helpers/ofswitch-process.js';
import { nfdumpFlags, startNfcapd, type NfdumpRecord } from './collector.js';

requireCommand('nfcapd');
requireCommand('nfdump');
requireCommand('tcpdump');
requireCommand('tshark');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function reaches(from: TestHost, to: TestHost): Promise<boolean> {
  for (let i = 0; i < 10; i++) if ((await tryRun('ping', ['-c', '1', '-W', '1', to.ip], from.ns)).code === 0) return true;
  return false;
}

/** Packets and bytes of the records matching `pick`, and their in/out interfaces. */
function total(records: readonly NfdumpRecord[], pick: (r: NfdumpRecord) => boolean): { records: number; packets: number; bytes: number; ins: string[]; outs: string[]; flags: string[] } {
  const rs = records.filter(pick);
  return {
    records: rs.length,
    packets: rs.reduce((s, r) => s + Number(r['ipkt']), 0),
    bytes: rs.reduce((s, r) => s + Number(r['ibyt']), 0),
    ins: [...new Set(rs.map((r) => r['in']!))],
    outs: [...new Set(rs.map((r) => r['out']!))],
    flags: [...new Set(rs.map((r) => r['flg']!))],
  };
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
const PY_UDP = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('0.0.0.0', 5000))
for i in range(7): s.sendto(b'u' * 200, (sys.argv[1], 5001))
print(7)
`;

/** A TCP exchange h1 -> h2:5002 (3000 bytes there and back) captured by tcpdump on h1: per direction packets, IP bytes, flags. */
async function tcpExchange(t: Test, h1: TestHost, h2: TestHost, dir: string): Promise<Record<'fwd' | 'rev', { packets: number; bytes: number; flags: number }>> {
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

t.test('database mode: ovs-vsctl create NetFlow, read back by nfcapd/nfdump', async (t) => {
  const rig = await startDaemonRig(t);
  const h1 = await addHost(t, 'n1', { ip: '10.85.0.1/24' });
  const h2 = await addHost(t, 'n2', { ip: '10.85.0.2/24' });
  const br = uniqueName('nfbr');
  rig.owns(br);
  await rig.vsctl(['add-br', br, '--', 'add-port', br, h1.port, '--', 'add-port', br, h2.port], { wait: true });
  t.ok(await reaches(h1, h2), 'h1 reaches h2 through the bridge');
  const p1 = (await rig.vsctl(['get', 'Interface', h1.port, 'ofport'])).trim();
  const p2 = (await rig.vsctl(['get', 'Interface', h2.port, 'ofport'])).trim();
  const dir = mkdtempSync(join(tmpdir(), 'ofnetflow-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  const nfcapd = await startNfcapd(t, await freePort());
  await rig.vsctl(['--', 'set', 'Bridge', br, 'netflow=@nf', '--', '--id=@nf', 'create', 'NetFlow', `targets="127.0.0.1:${nfcapd.port}"`,
    'active_timeout=60', 'engine_type=7', 'engine_id=9'], { wait: true });
  await sleep(300);

  const PINGS = 5;
  const ping = await tryRun('ping', ['-c', String(PINGS), '-i', '0.2', '-s', '100', '-W', '1', h2.ip], h1.ns);
  assertRan(t, ping, `ping -c ${PINGS}`);
  const udp = await tryRun('/usr/bin/python3', ['-c', PY_UDP, h2.ip], h1.ns);
  assertRan(t, udp, 'the UDP sender');
  const tcp = await tcpExchange(t, h1, h2, dir);
  t.ok(tcp.fwd.packets >= 4 && tcp.rev.packets >= 3, `tcpdump saw the exchange (${tcp.fwd.packets} + ${tcp.rev.packets} packets)`);

  // Clearing the column exports what the cache holds and stops NetFlow.
  await rig.vsctl(['clear', 'bridge', br, 'netflow'], { wait: true });
  await sleep(500);
  t.match(rig.proc.stderr(), /NetFlow export started/, 'the daemon started the export');
  const { code, stderr, records, log } = await nfcapd.stop();
  t.equal(code, 0, `nfdump read nfcapd's file ${stderr.trim()}`);
  t.ok(records.length > 0, `nfdump shows records (${records.length})`) || t.comment(log);
  t.match(log, /engine id 9, type 7/, 'nfcapd saw engine type 7 and id 9');

  const req = total(records, (r) => r['pr'] === 'ICMP' && r['sa'] === h1.ip && r['da'] === h2.ip);
  t.same([req.packets, req.bytes], [PINGS, PINGS * 128], `echo requests: ${PINGS} packets, ${PINGS} x 128 IP bytes`);
  t.same([req.ins, req.outs], [[p1], [p2]], `in port ${p1}, out port ${p2}`);
  t.ok(records.some((r) => r['pr'] === 'ICMP' && r['sa'] === h1.ip && Number(r['dp']) === 8 * 256), 'ICMP type 8 code 0 in the destination port');
  const rep = total(records, (r) => r['pr'] === 'ICMP' && r['sa'] === h2.ip && r['da'] === h1.ip && Number(r['dp']) === 0);
  t.same([rep.packets, rep.bytes, rep.ins, rep.outs], [PINGS, PINGS * 128, [p2], [p1]], 'echo replies: the same, the other way');

  const u = total(records, (r) => r['pr'] === 'UDP' && r['sa'] === h1.ip && r['sp'] === '5000' && r['dp'] === '5001');
  t.same([u.packets, u.bytes, u.ins, u.outs], [7, 7 * 228, [p1], [p2]], 'UDP: 7 datagrams of 200 bytes, 228 IP bytes each');

  const fwd = total(records, (r) => r['pr'] === 'TCP' && r['sa'] === h1.ip && r['dp'] === '5002');
  const rev = total(records, (r) => r['pr'] === 'TCP' && r['sa'] === h2.ip && r['sp'] === '5002');
  t.same([fwd.packets, fwd.bytes], [tcp.fwd.packets, tcp.fwd.bytes], `TCP h1 -> h2: ${tcp.fwd.packets} packets, ${tcp.fwd.bytes} bytes as tcpdump saw them`);
  t.same([rev.packets, rev.bytes], [tcp.rev.packets, tcp.rev.bytes], `TCP h2 -> h1: ${tcp.rev.packets} packets, ${tcp.rev.bytes} bytes`);
  t.same(fwd.flags, [nfdumpFlags(tcp.fwd.flags)], `TCP flags h1 -> h2 ${nfdumpFlags(tcp.fwd.flags)}`);
  t.same(rev.flags, [nfdumpFlags(tcp.rev.flags)], `TCP flags h2 -> h1 ${nfdumpFlags(tcp.rev.flags)}`);
  t.same([fwd.ins, fwd.outs, rev.ins, rev.outs], [[p1], [p2], [p2], [p1]], 'TCP ports in and out');
  t.ok(records.every((r) => r['eng'] === '7/9'), 'engine 7/9 in every record');

  // Off: nothing more is sent.
  const again = await startNfcapd(t, nfcapd.port);
  await tryRun('ping', ['-c', '2', '-i', '0.2', h2.ip], h1.ns);
  await sleep(1500);
  const after = await again.stop();
  t.equal(after.records.length, 0, 'no record once the bridge has no NetFlow row');
});

t.test('flag mode: the --config file\'s netflow object, active timeout 1 s', async (t) => {
  const h1 = await addHost(t, 'm1', { ip: '10.86.0.1/24' });
  const h2 = await addHost(t, 'm2', { ip: '10.86.0.2/24' });
  const nfcapd = await startNfcapd(t, await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'ofnetflow-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({
    ports: [h1.port, h2.port],
    listen: [`ptcp:${await freePort()}:127.0.0.1`],
    netflow: { targets: [`127.0.0.1:${nfcapd.port}`], active_timeout: 1, add_id_to_interface: true, engine_id: 2 },
  }));
  const sw = await startOfswitch(t, ['--config', file]);
  t.teardown(() => sw.stop());
  t.match(sw.stderr(), /NetFlow export started/, 'the switch says NetFlow is on');
  t.ok(await reaches(h1, h2), 'h1 reaches h2 through the flag-mode switch');
  await sleep(2500); // the reachability pings reported
  const PINGS = 15;
  const ping = await tryRun('ping', ['-c', String(PINGS), '-i', '0.2', '-p', 'b7d1', h2.ip], h1.ns);
  assertRan(t, ping, `ping -c ${PINGS}`);
  await sleep(2500); // the last active timeout
  const { code, records } = await nfcapd.stop();
  t.equal(code, 0, 'nfdump read the file');
  // Ports 1 and 2 (flag mode numbers them in order), engine id 2 in the top 7 bits.
  const id = 2 << 9;
  const req = total(records, (r) => r['pr'] === 'ICMP' && r['sa'] === h1.ip && r['da'] === h2.ip);
  t.ok(req.records >= 3, `the echo requests came in several records (${req.records}), one per second`);
  t.ok(req.packets >= PINGS + 1 && req.packets <= PINGS + 10, `all the requests counted (${req.packets}: ${PINGS} and the reachability pings)`);
  t.same([req.ins, req.outs], [[String(id | 1)], [String(id | 2)]], 'add_id_to_interface: engine id 2 in the interface fields');

  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ ports: [h1.port], netflow: { targets: ['nowhere:2055'] } }));
  const r2 = await tryRun(process.execPath, [CLI, '--config', bad]);
  t.equal(r2.code, 2, 'a bad NetFlow target: exit 2');
  t.match(r2.stderr, /NetFlow target "nowhere:2055" is not IP:PORT/, 'with one message naming it');
  const bad2 = join(dir, 'bad2.json');
  writeFileSync(bad2, JSON.stringify({ ports: [h1.port], netflow: { targets: ['127.0.0.1:2055'], timeout: 5 } }));
  const r3 = await tryRun(process.execPath, [CLI, '--config', bad2]);
  t.equal(r3.code, 2, 'an unknown NetFlow key: exit 2');
  t.match(r3.stderr, /unknown netflow setting "timeout"/);
});
