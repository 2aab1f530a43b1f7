/**
 * A controller developer's test: a complete switch in this process on in-memory ports (no
 * namespaces, no root), driven over TCP by a real controller, ovs-testcontroller (a MAC-learning
 * controller: PACKET_IN, buffered PACKET_OUT, FLOW_MODs naming the buffer). Host A's ARP request
 * on port 1 is flooded by the controller and leaves port 2; host B's reply comes back out of port 1;
 * A's UDP datagram to B gets a flow, and the next one is forwarded by that flow alone.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSwitch } from '../../lib/switch.js';
import { OFPAT } from '../../protocol/index.js';
import { ethFrame, ipv4Packet, macBytes, udpDatagram, withL4Checksum4 } from '../datapath/frames.js';
import { freePort, waitListening } from '../helpers/free-port.js';
import { eventually } from '../helpers/wait.js';

const A = { mac: '02:00:00:00:0a:01', ip: [10, 0, 0, 1] };
const B = { mac: '02:00:00:00:0a:02', ip: [10, 0, 0, 2] };
const BROADCAST = 'ff:ff:ff:ff:ff:ff';

/** An ARP packet (request 1, reply 2) in an Ethernet frame. */
function arp(op: number, from: typeof A, to: { mac: string; ip: number[] }, dst: string): Uint8Array {
  const body = [0, 1, 0x08, 0x00, 6, 4, 0, op, ...macBytes(from.mac), ...from.ip, ...macBytes(to.mac), ...to.ip];
  return ethFrame(0x0806, [...body, ...new Array(18).fill(0)], { src: from.mac, dst });
}


t.test('ovs-testcontroller drives an in-process switch on memory ports over TCP', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ofswitch-testcontroller-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const env = { ...process.env, OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir };
  const controller = spawn('ovs-testcontroller', [`--unixctl=${join(dir, 'ctl')}`, `ptcp:${port}:127.0.0.1`], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let controllerErr = '';
  controller.stderr.on('data', (d: Buffer) => (controllerErr += d.toString()));
  const exited = new Promise<number | null>((resolve) => controller.once('exit', resolve));
  t.teardown(() => void controller.kill('SIGTERM'));
  t.ok(await waitListening(port), `ovs-testcontroller listens${controllerErr ? `: ${controllerErr}` : ''}`);

  const sw = createSwitch({ datapathId: 0xe1n, failMode: 'secure' });
  t.teardown(() => sw.close());
  const p1 = sw.addPort({ name: 'hostA', type: 'memory' }).device;
  const p2 = sw.addPort({ name: 'hostB', type: 'memory' }).device;
  sw.setControllers([`tcp:127.0.0.1:${port}`]);
  t.ok(await eventually(() => sw.controllers()[0]?.connected === true, 10_000), 'the switch connects and completes the handshake');

  // The controller ignores PACKET_INs until it has the switch's features: A asks again, as ARP does.
  const request = arp(1, A, { mac: '00:00:00:00:00:00', ip: B.ip }, BROADCAST);
  const flooded = p2.nextFrame(5000);
  const retry = setInterval(() => p1.inject(request), 200);
  p1.inject(request);
  const first = await flooded.finally(() => clearInterval(retry));
  t.same(first, request, "A's ARP request leaves port 2 (PACKET_IN, the controller floods it)");

  const reply = arp(2, B, A, A.mac);
  const answered = p1.nextFrame(5000);
  p2.inject(reply);
  t.same(await answered, reply, "B's reply comes back out of port 1 (the controller has learned A)");

  const datagram = ethFrame(0x0800, withL4Checksum4(ipv4Packet({ proto: 17, src: 0x0a000001, dst: 0x0a000002 }, udpDatagram(4000, 5000))), { src: A.mac, dst: B.mac });
  const forwarded = p2.nextFrame(5000);
  p1.inject(datagram);
  t.same(await forwarded, datagram, "A's UDP datagram reaches B");
  const flowToB = () => sw.dumpFlows().find((f) => f.match.inPort === 1 && f.match.dlDst === B.mac && f.actions.some((a) => a.type === OFPAT.OUTPUT && a.port === 2));
  t.ok(await eventually(() => flowToB() !== undefined, 5000), 'the controller installed a flow for A -> B');
  const before = flowToB()?.packetCount ?? 0n;
  const again = p2.nextFrame(5000);
  p1.inject(datagram);
  t.same(await again, datagram, 'the next datagram is forwarded too');
  t.equal(flowToB()?.packetCount, before + 1n, 'by the flow, in the switch');
  t.same(sw.macTable(), [], 'NORMAL learned nothing: the controller did the switching');
  const [a, b] = sw.ports();
  t.same([a?.name, a?.stats.txPackets, b?.name, b?.stats.rxPackets], ['hostA', 1n, 'hostB', 1n], 'the ports counted what they carried');

  await sw.close();
  controller.kill('SIGTERM');
  t.not(await exited, undefined, 'ovs-testcontroller ended');
});
