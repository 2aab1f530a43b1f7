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
import t from 'tap';
import { assertRan, requireCommand, tryRun } from '../helpers/netns.js';
import { freePort } from '../helpers/free-port.js';
import { bridgeHosts, flagModeHosts, mixedTraffic, rejectsConfig, startFlagSwitch } from '../helpers/flow-export-rig.js';
import { nfdumpFlags, startNfcapd, total } from './collector.js';

requireCommand('nfcapd');
requireCommand('nfdump');
requireCommand('tcpdump');
requireCommand('tshark');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test('database mode: ovs-vsctl create NetFlow, read back by nfcapd/nfdump', async (t) => {
  const { rig, br, h1, h2, dir } = await bridgeHosts(t, ['n1', 'n2'], '10.85.0', 'nfbr');
  const p1 = (await rig.vsctl(['get', 'Interface', h1.port, 'ofport'])).trim();
  const p2 = (await rig.vsctl(['get', 'Interface', h2.port, 'ofport'])).trim();

  const nfcapd = await startNfcapd(t, await freePort());
  await rig.vsctl(['--', 'set', 'Bridge', br, 'netflow=@nf', '--', '--id=@nf', 'create', 'NetFlow', `targets="127.0.0.1:${nfcapd.port}"`,
    'active_timeout=60', 'engine_type=7', 'engine_id=9'], { wait: true });
  await sleep(300);

  const PINGS = 5;
  const tcp = await mixedTraffic(t, h1, h2, dir, PINGS);

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
  const hosts = await flagModeHosts(t, ['m1', 'm2'], '10.86.0');
  const { h1, h2, dir } = hosts;
  const nfcapd = await startNfcapd(t, await freePort());
  await startFlagSwitch(t, hosts, {
    netflow: { targets: [`127.0.0.1:${nfcapd.port}`], active_timeout: 1, add_id_to_interface: true, engine_id: 2 },
  }, /NetFlow export started/, 'the switch says NetFlow is on');
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

  await rejectsConfig(t, dir, { ports: [h1.port], netflow: { targets: ['nowhere:2055'] } },
    'a bad NetFlow target: exit 2', /NetFlow target "nowhere:2055" is not IP:PORT/, 'with one message naming it');
  await rejectsConfig(t, dir, { ports: [h1.port], netflow: { targets: ['127.0.0.1:2055'], timeout: 5 } },
    'an unknown NetFlow key: exit 2', /unknown netflow setting "timeout"/);
});
