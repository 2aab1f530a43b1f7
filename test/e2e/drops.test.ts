/**
 * `ovs-appctl ofswitch/drops` read by the real ovs-appctl after real traffic between test hosts:
 * ofswitch in flag mode (fail-mode secure, its --unixctl control socket) between three hosts;
 * scapy sends a UDP frame no entry matches (dropped as a secure-mode miss) and one an
 * `actions=drop` entry added by ovs-ofctl drops; ping sends an echo request that an entry outputs
 * to a port which `ovs-ofctl mod-port ... no-forward` set NO_FWD. Each shows up with its input
 * port, its flow, its reason and the deciding entry's priority and cookie; drops-clear empties it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { freePort, waitListening } from '../helpers/free-port.js';
import { addHost, run, tryRun, type TestHost } from '../helpers/netns.js';
import { startOfswitch } from '../helpers/ofswitch-process.js';

const SCAPY = '/usr/bin/python3';

t.test('ofswitch/drops shows real frames dropped by a miss in secure mode, a drop entry and a NO_FWD port', { timeout: 120_000 }, async (t) => {
  const hosts: TestHost[] = [];
  for (const [i, tag] of ['d1', 'd2', 'd3'].entries())
    hosts.push(await addHost(t, tag, { mac: `02:00:00:00:0d:0${i + 1}`, ip: `10.0.13.${i + 1}/24` }));
  const [h1, h2, h3] = hosts as [TestHost, TestHost, TestHost];
  const of = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'ofsw-drops-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ctl = join(dir, 'ofswitch.ctl');
  await startOfswitch(t, [
    ...hosts.flatMap((h, i) => ['--port', `${h.port},ofport=${i + 1}`]),
    '--fail-mode', 'secure', '--listen', `ptcp:${of}:127.0.0.1`, '--unixctl', ctl,
  ]);
  t.ok(await waitListening(of), 'listening');
  const target = `tcp:127.0.0.1:${of}`;
  const appctl = (args: string[]) => tryRun('ovs-appctl', ['--timeout=10', '-t', ctl, ...args]);
  /** ofswitch/drops once it shows `want` (up to 3 s). */
  const dropsShowing = async (want: RegExp): Promise<string> => {
    let last = '';
    for (let i = 0; i < 30; i++) {
      const r = await appctl(['ofswitch/drops']);
      t.equal(r.code, 0, r.stderr);
      last = r.stdout;
      if (want.test(last)) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    return last;
  };
  const sendUdp = (from: TestHost, to: TestHost, dport: number) =>
    run(SCAPY, ['-c', `from scapy.all import Ether, IP, UDP, sendp; sendp(Ether(src='${from.mac}', dst='${to.mac}')/IP(src='${from.ip}', dst='${to.ip}')/UDP(sport=4000, dport=${dport}), iface='eth0', verbose=0)`], from.ns);

  const empty = await appctl(['ofswitch/drops', 'ofswitch']);
  t.equal(empty.code, 0, empty.stderr);
  t.match(empty.stdout, /^bridge ofswitch: \d+ dropped, 0 sent to a controller; the last \d+ \(at most 256\), oldest first:\n/, 'the bridge header');

  // 1. A miss in secure mode.
  await sendUdp(h1, h2, 5555);
  const miss = await dropsShowing(/tp_dst=5555/);
  t.match(
    miss,
    new RegExp(`Z in_port=1 drop: no match \\(secure mode: misses are dropped\\)\\n  udp,in_port=1,vlan_tci=0x0000,dl_src=${h1.mac},dl_dst=${h2.mac},nw_src=10\\.0\\.13\\.1,nw_dst=10\\.0\\.13\\.2,[^\\n]*tp_src=4000,tp_dst=5555`),
    'the miss: input port, reason, flow',
  );

  // 2. An actions=drop entry.
  await run('ovs-ofctl', ['add-flow', target, 'priority=100,cookie=0x42,udp,tp_dst=8888,actions=drop']);
  await sendUdp(h2, h1, 8888);
  const dropped = await dropsShowing(/tp_dst=8888/);
  t.match(
    dropped,
    new RegExp(`Z in_port=2 drop: drop action \\(empty actions\\) \\[priority=100,cookie=0x42\\]\\n  udp,in_port=2,[^\\n]*dl_src=${h2.mac},dl_dst=${h1.mac},[^\\n]*tp_dst=8888`),
    'the drop entry, named by priority and cookie',
  );

  // 3. A port set NO_FWD by ovs-ofctl mod-port: the ping's echo request goes nowhere.
  await run('ovs-ofctl', ['add-flow', target, 'priority=50,cookie=0x7,icmp,actions=output:3']);
  await run('ovs-ofctl', ['mod-port', target, '3', 'no-forward']);
  await h1.run('ip', ['neigh', 'replace', h3.ip, 'lladdr', h3.mac, 'dev', 'eth0']);
  const ping = await tryRun('ping', ['-c', '1', '-W', '1', h3.ip], h1.ns);
  t.not(ping.code, 0, 'the ping got no answer');
  const nofwd = await dropsShowing(/output port 3 has NO_FWD/);
  t.match(
    nofwd,
    new RegExp(`Z in_port=1 drop: output port 3 has NO_FWD \\[priority=50,cookie=0x7\\]\\n  icmp,in_port=1,[^\\n]*nw_src=10\\.0\\.13\\.1,nw_dst=10\\.0\\.13\\.3,[^\\n]*icmp_type=8,icmp_code=0`),
    'the NO_FWD port, with the entry that sent there',
  );
  const ports = await run('ovs-ofctl', ['dump-ports', target, '3']);
  t.match(ports, /tx pkts=\d+, bytes=\d+, drop=[1-9]/, 'and the port counted it as tx_dropped');

  const bad = await appctl(['ofswitch/drops', 'nosuchbr']);
  t.equal(bad.code, 2, 'an unknown bridge: exit status 2');
  t.match(bad.stderr, /no such bridge/);
  const clear = await appctl(['ofswitch/drops-clear']);
  t.equal(clear.code, 0, clear.stderr);
  t.equal(clear.stdout, 'drop record cleared\n');
  const after = await appctl(['ofswitch/drops']);
  t.equal(after.code, 0, after.stderr);
  t.match(after.stdout, /^bridge ofswitch: \d+ dropped, 0 sent to a controller; the last \d+ \(at most 256\), oldest first:\n/);
  t.notMatch(after.stdout, /tp_dst=5555|tp_dst=8888|NO_FWD/, 'cleared');
});
