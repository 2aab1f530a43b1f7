/**
 * Real frames between test hosts (network namespaces and veth pairs) through a Datapath on its
 * AF_PACKET ports (datapath/ports/af-packet-port.ts), with a stub flow table standing in for the
 * classifier.
 */
import t from 'tap';
import { unpackFlowKey, type FlowKey, type FlowFields } from '../../flowtable/flow-key.js';
import { Datapath, type FlowLookup } from '../../datapath/datapath.js';
import { OFPAT, OFPP, OFPPC, OFPPR, OFPPS } from '../../protocol/constants.js';
import type { Action, PhyPort } from '../../protocol/types.js';
import { AfPacketPort } from '../../datapath/ports/af-packet-port.js';
import { createPort } from '../../datapath/ports/factory.js';
import { addHost, run, spawnIn, startTcpdump, tryRun, waitTcpListening, type Teardownable, type TestHost } from '../helpers/netns.js';

class StubTable implements FlowLookup {
  rules: { when: (k: FlowFields) => boolean; actions: Action[] }[] = [];
  seen: FlowFields[] = [];
  lookup(key: FlowKey) {
    const f = unpackFlowKey(key);
    if (this.seen.length < 10_000) this.seen.push(f);
    return this.rules.find((r) => r.when(f)) ?? null;
  }
}
const out = (port: number): Action => ({ type: OFPAT.OUTPUT, port, maxLen: 0 });
const ip = (s: string) => s.split('.').reduce((a, b) => a * 256 + Number(b), 0);


async function topology(t: Teardownable, n: number, vlans: { tag?: number }[] = [], keepOffloads = false) {
  const table = new StubTable();
  const dp = new Datapath({ flowTable: table, linkPollMs: 100 });
  t.teardown(() => dp.close());
  const hosts: TestHost[] = [];
  for (let i = 1; i <= n; i++) hosts.push(await addHost(t, `r${i}`, { ip: `10.0.0.${i}/24`, keepOffloads }));
  hosts.forEach((h, i) => dp.registry.addPort(createPort({ name: h.port }), i + 1, vlans[i] ?? {}));
  return { dp, table, hosts };
}

/** Two hosts with offloads on, on ports opened here (to read their offload counters). */
async function offloadTopology(t: Teardownable) {
  const table = new StubTable();
  const dp = new Datapath({ flowTable: table, linkPollMs: 100 });
  t.teardown(() => dp.close());
  const hosts = [await addHost(t, 'o1', { ip: '10.0.0.1/24', keepOffloads: true }), await addHost(t, 'o2', { ip: '10.0.0.2/24', keepOffloads: true })];
  const ports = hosts.map((h, i) => {
    const p = new AfPacketPort(h.port);
    dp.registry.addPort(p, i + 1);
    return p;
  });
  return { dp, table, hosts, ports };
}

const crossConnect = (table: StubTable) => {
  table.rules = [
    { when: (k) => k.inPort === 1, actions: [out(2)] },
    { when: (k) => k.inPort === 2, actions: [out(1)] },
  ];
};

t.test('ping and a TCP transfer through output actions; own transmissions never read back', async (t) => {
  const { dp, table, hosts } = await topology(t, 2);
  const [h1, h2] = hosts as [TestHost, TestHost];
  crossConnect(table);
  const ping = await tryRun('ping', ['-c', '3', '-i', '0.2', '-W', '2', '10.0.0.2'], h1.ns);
  t.equal(ping.code, 0, `ping: ${ping.stdout}`);
  const server = spawnIn('iperf3', ['-s', '-1', '-p', '5201'], h2.ns);
  await waitTcpListening(h2.ns, 5201); // until it listens: a fixed pause was too short on a loaded machine
  const client = await tryRun('iperf3', ['-c', '10.0.0.2', '-p', '5201', '-n', '4M', '-J'], h1.ns);
  t.equal(client.code, 0, client.stderr);
  const end = client.code === 0 ? JSON.parse(client.stdout).end : undefined;
  t.ok(end?.sum_sent.bytes >= 4 * 1024 * 1024 && end?.sum_received.bytes > 0, `sent ${end?.sum_sent.bytes} bytes`);
  server.kill();
  t.ok(table.seen.some((k) => k.inPort === 1 && k.dlSrc === h1.mac), "port 1 read h1's frames (so the lookups were recorded)");
  t.ok(table.seen.some((k) => k.inPort === 2 && k.dlSrc === h2.mac), "port 2 read h2's frames");
  t.notOk(table.seen.some((k) => k.inPort === 2 && k.dlSrc === h1.mac), 'port 2 never reads what the switch sent on it');
  t.notOk(table.seen.some((k) => k.inPort === 1 && k.dlSrc === h2.mac), 'nor port 1');
  const [s1] = dp.registry.portStats(1);
  const [s2] = dp.registry.portStats(2);
  t.ok(s1!.rxPackets > 0n && s2!.txPackets === s1!.rxPackets, 'what port 1 received, port 2 sent');
  dp.close();
});

t.test('a rewrite carries a TCP connection (addresses and ports, checksums right)', async (t) => {
  const { dp, table, hosts } = await topology(t, 2);
  const [h1, h2] = hosts as [TestHost, TestHost];
  const VIP = ip('10.0.0.100');
  table.rules = [
    {
      when: (k) => k.inPort === 1 && k.dlType === 0x0800 && k.nwProto === 6 && k.nwDst === VIP && k.tpDst === 8000,
      actions: [{ type: OFPAT.SET_NW_DST, nwAddr: ip('10.0.0.2') }, { type: OFPAT.SET_TP_DST, tpPort: 5201 }, out(2)],
    },
    {
      when: (k) => k.inPort === 2 && k.dlType === 0x0800 && k.nwProto === 6 && k.tpSrc === 5201,
      actions: [{ type: OFPAT.SET_NW_SRC, nwAddr: VIP }, { type: OFPAT.SET_TP_SRC, tpPort: 8000 }, out(1)],
    },
    { when: (k) => k.inPort === 1, actions: [out(2)] },
    { when: (k) => k.inPort === 2, actions: [out(1)] },
  ];
  await h1.run('ip', ['neigh', 'add', '10.0.0.100', 'lladdr', h2.mac, 'dev', 'eth0']);
  const server = spawnIn('iperf3', ['-s', '-1', '-p', '5201'], h2.ns);
  await waitTcpListening(h2.ns, 5201); // until it listens: a fixed pause was too short on a loaded machine
  const client = await tryRun('iperf3', ['-c', '10.0.0.100', '-p', '8000', '-n', '2M', '-J'], h1.ns);
  t.equal(client.code, 0, client.stderr || client.stdout.slice(0, 300));
  server.kill();
  const snmp = await h2.run('nstat', ['-az', 'TcpInCsumErrors']); // run() rejects unless nstat exits 0
  t.match(snmp, /TcpInCsumErrors\s+0\s/, 'the receiver saw no bad TCP checksum');
  dp.close();
});

t.test('a pushed VLAN tag is seen by tcpdump on the receiving host; a tag arriving is read', async (t) => {
  const { dp, table, hosts } = await topology(t, 2);
  const [h1, h2] = hosts as [TestHost, TestHost];
  table.rules = [{ when: (k) => k.inPort === 1 && k.dlVlan === 0xffff, actions: [{ type: OFPAT.SET_VLAN_VID, vlanVid: 42 }, { type: OFPAT.SET_VLAN_PCP, vlanPcp: 3 }, out(2)] }];
  const dump = await startTcpdump(['-i', 'eth0', '-e', '-n', '-c', '1', '-l', 'vlan 42'], h2.ns);
  await tryRun('ping', ['-c', '3', '-i', '0.2', '-W', '1', '10.0.0.2'], h1.ns);
  t.ok(await eventually(() => /vlan 42, p 3/.test(dump.out()), 20_000), `tcpdump saw: ${dump.out()}`);
  // A tagged frame from h1 (scapy): the kernel strips the tag into metadata, the port puts it back,
  // and it leaves through port 2 tagged as it came.
  table.rules.push({ when: (k) => k.inPort === 1 && k.dlVlan === 7, actions: [out(2)] });
  const dump7 = await startTcpdump(['-i', 'eth0', '-e', '-n', '-c', '1', '-l', 'vlan 7'], h2.ns);
  const scapy = "from scapy.all import *; sendp(Ether(dst='ff:ff:ff:ff:ff:ff')/Dot1Q(vlan=7,prio=2)/ARP(pdst='10.7.0.2'), iface='eth0', verbose=0)";
  await h1.run('/usr/bin/python3', ['-c', scapy]);
  await eventually(() => table.seen.some((k) => k.dlVlan === 7), 20_000);
  t.ok(table.seen.some((k) => k.inPort === 1 && k.dlVlan === 7 && k.dlVlanPcp === 2 && k.dlType === 0x0806), 'tagged ARP parsed with dl_vlan 7, pcp 2');
  t.ok(await eventually(() => /vlan 7, p 2, ethertype ARP/.test(dump7.out()), 20_000), `forwarded with its tag: ${dump7.out()}`);
  dp.close();
});

t.test('NORMAL: three hosts learn each other; access ports keep VLANs apart', async (t) => {
  const { dp, table, hosts } = await topology(t, 3, [{ tag: 10 }, { tag: 10 }, { tag: 20 }]);
  const [h1, h2, h3] = hosts as [TestHost, TestHost, TestHost];
  table.rules = [{ when: () => true, actions: [out(OFPP.NORMAL)] }];
  t.equal((await tryRun('ping', ['-c', '2', '-i', '0.2', '-W', '2', '10.0.0.2'], h1.ns)).code, 0, 'h1 reaches h2 (VLAN 10)');
  t.not((await tryRun('ping', ['-c', '2', '-i', '0.2', '-W', '1', '10.0.0.3'], h1.ns)).code, 0, 'h1 cannot reach h3 (VLAN 20)');
  t.not((await tryRun('ping', ['-c', '1', '-W', '1', '10.0.0.1'], h3.ns)).code, 0, 'nor h3 h1');
  t.equal(dp.registry.portStats(3)[0]!.txPackets, 0n, 'nothing of VLAN 10 left on the VLAN 20 port');
  const before = dp.registry.portStats(3)[0]!.txPackets;
  await tryRun('ping', ['-c', '3', '-i', '0.2', '-W', '1', '10.0.0.2'], h1.ns);
  t.equal(dp.registry.portStats(3)[0]!.txPackets, before);
  void h2;
  dp.close();
});

// Link changes are read by a 250 ms poll (datapath/port-registry.ts) and at once on a socket error:
// noticed well within a second on a quiet machine. The waits below give a loaded machine 10 s; a
// missing poll would never notice at all.
t.test('link down and up on a host are noticed within a second; PORT_DOWN takes the interface down', async (t) => {
  const { dp, hosts } = await topology(t, 2);
  const [h1] = hosts as [TestHost, TestHost];
  const events: [number, PhyPort][] = [];
  dp.registry.on('port-status', (r, d) => events.push([r, d]));
  await h1.run('ip', ['link', 'set', 'eth0', 'down']);
  t.ok(await eventually(() => events.some(([r, d]) => r === OFPPR.MODIFY && d.portNo === 1 && (d.state & OFPPS.LINK_DOWN) !== 0), 10_000), 'link down noticed');
  await h1.run('ip', ['link', 'set', 'eth0', 'up']);
  t.ok(await eventually(() => (dp.registry.port(1)!.state & OFPPS.LINK_DOWN) === 0, 10_000), 'link up noticed');
  t.equal(events.at(-1)![1].state, 0);
  const desc = dp.registry.port(2)!;
  t.equal(desc.name, hosts[1]!.port);
  dp.registry.modifyPort({ portNo: 2, hwAddr: desc.hwAddr, config: OFPPC.PORT_DOWN, mask: OFPPC.PORT_DOWN, advertise: 0 });
  t.ok(await eventually(() => !/UP/.test(flagsOf(hosts[1]!.port)), 10_000));
  const flags = await run('ip', ['-br', 'link', 'show', hosts[1]!.port]);
  t.match(flags, /DOWN/);
  t.equal(dp.registry.port(2)!.config & OFPPC.PORT_DOWN, OFPPC.PORT_DOWN);
  dp.registry.modifyPort({ portNo: 2, hwAddr: desc.hwAddr, config: 0, mask: OFPPC.PORT_DOWN, advertise: 0 });
  t.ok(await eventually(() => (dp.registry.port(2)!.config & OFPPC.PORT_DOWN) === 0, 10_000));
  dp.close();
});

t.test('the first packets after the ports open are forwarded at once', async (t) => {
  const { table, hosts } = await topology(t, 2);
  crossConnect(table);
  const ping = await tryRun('ping', ['-c', '1', '-W', '1', '10.0.0.2'], hosts[0]!.ns);
  t.equal(ping.code, 0, 'the very first ping is answered');
  // At once: without the kernel's ARP retransmission (1 s, retrans_time_ms), which a lost first
  // frame would cost. Not a speed figure: a loaded machine took 99 ms.
  const ms = Number(/time=([\d.]+) ms/.exec(ping.stdout)?.[1] ?? 'NaN');
  t.ok(ms < 900, `round trip ${ms} ms: no retransmission`);
});

t.test('hosts with checksum and segmentation offloads on: TCP works end to end', async (t) => {
  const { dp, table, hosts, ports } = await offloadTopology(t);
  const [h1, h2] = hosts as [TestHost, TestHost];
  t.match(await h1.run('ethtool', ['-k', 'eth0']), /tx-checksumming: on[\s\S]*tcp-segmentation-offload: on/, 'offloads on');
  crossConnect(table);
  const server = spawnIn('iperf3', ['-s', '-1', '-p', '5201'], h2.ns);
  await waitTcpListening(h2.ns, 5201); // until it listens: a fixed pause was too short on a loaded machine
  const client = await tryRun('iperf3', ['-c', '10.0.0.2', '-p', '5201', '-n', '8M', '-J'], h1.ns);
  t.equal(client.code, 0, client.stderr || client.stdout.slice(0, 300));
  const end = client.code === 0 ? JSON.parse(client.stdout).end : undefined;
  t.ok(end?.sum_sent.bytes >= 8 * 1024 * 1024, `sent ${end?.sum_sent.bytes} bytes`);
  server.kill();
  t.match(await h2.run('nstat', ['-az', 'TcpInCsumErrors']), /TcpInCsumErrors\s+0\s/, 'the receiver saw no bad TCP checksum');
  t.match(await h1.run('nstat', ['-az', 'TcpInCsumErrors']), /TcpInCsumErrors\s+0\s/, 'nor the sender');
  const [s1, s2] = [dp.registry.portStats(1)[0]!, dp.registry.portStats(2)[0]!];
  t.equal(s2.txPackets, s1.rxPackets, `${s1.rxPackets} frames in, all out`);
  t.ok(s2.txBytes <= s2.txPackets * 1514n, `wire-sized frames: ${s2.txBytes} bytes in ${s2.txPackets}`);
  t.ok(ports[0]!.superFramesSegmented > 0, `${ports[0]!.superFramesSegmented} GSO super-frames segmented`);
  t.ok(ports[0]!.checksumsCompleted + ports[1]!.checksumsCompleted > 0, 'partial checksums completed');
  t.equal(ports[0]!.rxErrors + ports[1]!.rxErrors, 0, 'nothing dropped as unfinishable');
  dp.close();
});

t.test('an operator taking a port down, then deleting it, while open: PORT_STATUS, no crash', async (t) => {
  const { dp, table, hosts } = await topology(t, 3);
  crossConnect(table);
  const events: PhyPort[] = [];
  dp.registry.on('port-status', (r, d) => r === OFPPR.MODIFY && events.push(d));
  const port = hosts[1]!.port;
  const start = Date.now();
  await run('ip', ['link', 'set', port, 'down']);
  // The poll notices within 250 ms; 10 s is the deadline for a loaded machine.
  t.ok(await eventually(() => events.some((d) => d.portNo === 2 && (d.config & OFPPC.PORT_DOWN) !== 0), 10_000), `PORT_DOWN reported (after ${Date.now() - start} ms)`);
  t.not((await tryRun('ping', ['-c', '1', '-W', '1', '10.0.0.2'], hosts[0]!.ns)).code, 0, 'nothing through a down port');
  // The kernel goes on resolving the address the failed ping asked for, and marks it failed after
  // three unanswered probes; forget it, so that the next ping starts afresh however long this took.
  await run('ip', ['neigh', 'flush', 'dev', 'eth0'], hosts[0]!.ns);
  await run('ip', ['link', 'set', port, 'up']);
  t.ok(await eventually(() => (dp.registry.port(2)!.state & OFPPS.LINK_DOWN) === 0, 10_000), 'up again');
  t.equal((await tryRun('ping', ['-c', '1', '-W', '2', '10.0.0.2'], hosts[0]!.ns)).code, 0, 'and forwarding again');
  events.length = 0;
  await run('ip', ['link', 'del', port]);
  t.ok(await eventually(() => events.some((d) => d.portNo === 2 && (d.state & OFPPS.LINK_DOWN) !== 0), 10_000), 'a deleted interface reads link down');
  table.rules = [{ when: () => true, actions: [out(OFPP.FLOOD)] }];
  await tryRun('ping', ['-c', '2', '-i', '0.2', '-W', '1', '10.0.0.3'], hosts[0]!.ns);
  t.equal((await tryRun('ping', ['-c', '1', '-W', '2', '10.0.0.3'], hosts[0]!.ns)).code, 0, 'the other ports still forward');
  dp.close();
});

import { readFileSync } from 'node:fs';
import { eventually, sleep } from '../helpers/wait.js';
function flagsOf(name: string): string {
  return (parseInt(readFileSync(`/sys/class/net/${name}/flags`, 'latin1'), 16) & 1) !== 0 ? 'UP' : 'DOWN';
}
