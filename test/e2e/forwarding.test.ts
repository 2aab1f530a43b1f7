/**
 * Real packets between test hosts through a running ofswitch, with flows set by the real
 * ovs-ofctl: ping and a TCP transfer; a flow pair that rewrites addresses and ports under a TCP
 * connection (checksums must be right or the connection fails); a VLAN tag pushed and seen by
 * tcpdump on the receiving host; a storm of malformed frames after which the switch still
 * forwards; a link taken down and up producing PORT_STATUS on an OpenFlow connection.
 */
import t, { type Test } from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually } from '../helpers/wait.js';
import { addHost, assertRan, spawnIn, startTcpdump, tryRun, waitTcpListening, type TestHost } from '../helpers/netns.js';
import { startOfswitch, type OfswitchProcess } from '../helpers/ofswitch-process.js';
import { ofctl } from '../helpers/ofctl.js';
import { freePort, waitListening } from '../helpers/free-port.js';
import { OfClient } from '../helpers/of-client.js';
import { OFPPR, OFPPS, OFPT } from '../../protocol/index.js';

interface Rig {
  h: TestHost[];
  sw: OfswitchProcess;
  target: string;
  port: number;
  flows(...specs: string[]): Promise<void>;
}

/** Three hosts on a secure switch with an empty table: nothing moves until a flow says so. */
async function rig(t: Test, tag: string): Promise<Rig> {
  const h: TestHost[] = [];
  for (let i = 1; i <= 3; i++) h.push(await addHost(t, `${tag}${i}`, { ip: `10.78.0.${i}/24`, mac: `02:00:00:78:00:0${i}` }));
  const port = await freePort();
  const sw = await startOfswitch(t, [...h.flatMap((x) => ['--port', x.port]), '--listen', `ptcp:${port}`, '--fail-mode', 'secure']);
  const target = `tcp:127.0.0.1:${port}`;
  return {
    h, sw, target, port,
    async flows(...specs) {
      for (const spec of specs) {
        const r = await ofctl(undefined, target, 'add-flow', spec);
        t.equal(r.code, 0, `add-flow ${spec}${r.stderr ? `: ${r.stderr}` : ''}`);
      }
    },
  };
}

/** Port-to-port forwarding between ports 1 and 2 (ARP included). */
const LINK_1_2 = ['in_port=1,actions=output:2', 'in_port=2,actions=output:1'];

t.test('ping and a TCP transfer through flows set with ovs-ofctl', async (t) => {
  const { h, flows, target } = await rig(t, 'fa');
  const [h1, h2] = h as [TestHost, TestHost];
  t.not((await tryRun('ping', ['-c', '1', '-W', '1', h2.ip], h1.ns)).code, 0, 'nothing passes an empty secure table');
  // The kernel goes on resolving h2's address after that ping, and marks it failed after three
  // unanswered probes: had the flows below taken longer to add than those probes (a loaded machine),
  // the next ping would fail at once. Forget it, so that the next ping starts afresh.
  await h1.run('ip', ['neigh', 'flush', 'dev', 'eth0']);
  await flows(...LINK_1_2);
  const ping = await tryRun('ping', ['-c', '3', '-i', '0.2', '-W', '2', h2.ip], h1.ns);
  t.match(ping.stdout, / 3 received/, 'ping through output actions');
  const server = spawnIn('iperf3', ['-s', '-1', '-B', h2.ip], h2.ns);
  t.teardown(() => void server.kill());
  await waitTcpListening(h2.ns, 5201); // until it listens: a fixed pause was too short on a loaded machine
  const client = await tryRun('iperf3', ['-c', h2.ip, '-n', '8M', '-J'], h1.ns);
  t.equal(client.code, 0, 'iperf3 TCP transfer completes');
  type Sums = { end?: { sum_sent?: { bytes?: number }; sum_received?: { bytes?: number } } };
  const end = (JSON.parse(client.stdout || '{}') as Sums).end;
  t.ok((end?.sum_sent?.bytes ?? 0) >= 8 * 1024 * 1024, `8 MiB sent (${end?.sum_sent?.bytes})`);
  t.ok((end?.sum_received?.bytes ?? 0) > 0, `and received (${end?.sum_received?.bytes})`);
  const stats = await ofctl(undefined, target, 'dump-flows');
  assertRan(t, stats, 'ovs-ofctl dump-flows');
  t.match(stats.stdout, /n_packets=[1-9]\d*.*in_port=1 actions=output:2/, 'the flow counted the packets');
});

t.test('a flow pair rewriting addresses and ports carries a TCP connection', async (t) => {
  const { h, flows } = await rig(t, 'fb');
  const [h1, h2] = h as [TestHost, TestHost];
  // h1 talks to a virtual service 10.78.0.99:7000 (MAC 02:00:00:78:00:99); the switch rewrites it
  // to h2's 10.78.0.2:5202 and rewrites the replies back, so every segment needs new checksums.
  await h1.run('ip', ['neigh', 'add', '10.78.0.99', 'lladdr', '02:00:00:78:00:99', 'dev', 'eth0']);
  await flows(
    'priority=10,arp,actions=flood',
    'priority=100,tcp,in_port=1,nw_dst=10.78.0.99,tp_dst=7000,' +
      'actions=mod_dl_dst:02:00:00:78:00:02,mod_nw_dst:10.78.0.2,mod_tp_dst:5202,output:2',
    'priority=100,tcp,in_port=2,nw_src=10.78.0.2,tp_src=5202,' +
      'actions=mod_dl_src:02:00:00:78:00:99,mod_nw_src:10.78.0.99,mod_tp_src:7000,output:1',
  );
  const server = spawnIn('iperf3', ['-s', '-1', '-p', '5202'], h2.ns);
  t.teardown(() => void server.kill());
  await waitTcpListening(h2.ns, 5202); // until it listens: a fixed pause was too short on a loaded machine
  const client = await tryRun('iperf3', ['-c', '10.78.0.99', '-p', '7000', '-n', '4M', '-J'], h1.ns);
  t.equal(client.code, 0, `TCP through the rewrite completes${client.code ? `: ${client.stdout.slice(-300)}` : ''}`);
  const bad = await tryRun('nstat', ['-az', 'TcpInCsumErrors'], h2.ns);
  assertRan(t, bad, 'nstat');
  t.match(bad.stdout, /TcpInCsumErrors\s+0\b/, 'the receiver saw no bad TCP checksum');
});

t.test('a VLAN tag pushed by a flow is seen by tcpdump on the receiving host', async (t) => {
  const { h, flows } = await rig(t, 'fc');
  const [h1, , h3] = h as [TestHost, TestHost, TestHost];
  await flows('in_port=1,icmp,actions=mod_vlan_vid:42,mod_vlan_pcp:5,output:3');
  const dump = await startTcpdump(['-i', 'eth0', '-e', '-n', '-c', '2', '-l', 'vlan'], h3.ns);
  t.teardown(() => void dump.proc.kill());
  await h1.run('ip', ['neigh', 'add', '10.78.0.3', 'lladdr', h3.mac, 'dev', 'eth0']);
  await tryRun('ping', ['-c', '3', '-i', '0.2', '-W', '1', '10.78.0.3'], h1.ns);
  await eventually(() => /vlan 42/.test(dump.out()), 20_000);
  t.match(dump.out(), /vlan 42, p 5/, 'tagged VLAN 42 priority 5 on the wire');
  t.match(dump.out(), /ethertype IPv4/, 'the IPv4 packet inside the tag');
});

t.test('a storm of malformed frames leaves the switch forwarding', async (t) => {
  const { h, flows, sw } = await rig(t, 'fd');
  const [h1, h2] = h as [TestHost, TestHost];
  await flows(...LINK_1_2, 'in_port=3,actions=output:1');
  // Truncated headers, lengths that lie, bogus VLAN and IP headers, from scapy on the third host.
  const storm = `
from scapy.all import Ether, Dot1Q, IP, IPv6, TCP, UDP, ICMP, ARP, Raw, sendp
import random
random.seed(7)
frames = []
for i in range(300):
    base = [
        Ether(dst='ff:ff:ff:ff:ff:ff', type=0x8100) / Raw(b'\\x00'),
        Ether() / Dot1Q(vlan=4095, type=0x8100) / Dot1Q(vlan=1) / Raw(b'\\x01\\x02'),
        Ether() / IP(ihl=15, len=20) / Raw(b'\\x45'),
        Ether() / IP(ihl=2, proto=6) / TCP(),
        Ether() / IP(len=9999, proto=17) / Raw(b'\\x00\\x01'),
        Ether() / IP(proto=6, frag=0, flags=1) / Raw(b'\\x00'),
        Ether(type=0x86dd) / Raw(b'\\x60\\x00'),
        Ether() / IPv6(nh=6, plen=4000) / Raw(b'\\x00' * 3),
        Ether(type=0x0806) / Raw(b'\\x00\\x01\\x08'),
        Ether(type=0x0020) / Raw(b'\\xaa\\xaa\\x03\\x00\\x00'),
    ][i % 10]
    raw = bytes(base)
    cut = random.randint(1, len(raw))
    frames.append(raw[:cut] if i % 3 == 0 else raw)
    frames.append(bytes(random.getrandbits(8) for _ in range(random.randint(1, 80))))
sendp([Ether(f) if len(f) >= 14 else Raw(f) for f in frames], iface='eth0', verbose=False)
print(len(frames))
`;
  const sent = await tryRun('/usr/bin/python3', ['-c', storm], h[2]?.ns);
  t.equal(sent.code, 0, `scapy sent the storm${sent.code ? `: ${sent.stderr}` : ''}`);
  t.match(sent.stdout.trim(), /^600$/, '600 malformed frames');
  await sleep(300);
  t.equal(sw.child.exitCode, null, 'the switch is still running');
  const ping = await tryRun('ping', ['-c', '3', '-i', '0.2', '-W', '2', h2.ip], h1.ns);
  t.match(ping.stdout, / 3 received/, 'and still forwards');
});

t.test('a link taken down and up produces PORT_STATUS on an OpenFlow connection', async (t) => {
  const { h, port } = await rig(t, 'fe');
  const h3 = h[2] as TestHost;
  t.ok(await waitListening(port));
  const client = await OfClient.connect(port);
  t.teardown(() => void client.socket.destroy());
  await client.monitor(); // a listener's connection gets PORT_STATUS once it asks, as in OVS
  await h3.run('ip', ['link', 'set', 'eth0', 'down']);
  const down = await client.next((m) => m.type === OFPT.PORT_STATUS, 3000);
  t.match(down, { reason: OFPPR.MODIFY, desc: { portNo: 3, name: h3.port } }, 'PORT_STATUS MODIFY for port 3');
  t.ok(down.type === OFPT.PORT_STATUS && (down.desc.state & OFPPS.LINK_DOWN) !== 0, 'link down');
  await h3.run('ip', ['link', 'set', 'eth0', 'up']);
  const up = await client.next((m) => m.type === OFPT.PORT_STATUS && (m.desc.state & OFPPS.LINK_DOWN) === 0, 3000);
  t.match(up, { reason: OFPPR.MODIFY, desc: { portNo: 3 } }, 'and PORT_STATUS again when it comes back up');
});
