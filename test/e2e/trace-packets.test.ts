/**
 * ofproto/trace's `Datapath actions:` against where the same packet really goes: ofswitch in flag
 * mode (its --unixctl control socket, the real ovs-appctl) between four test hosts, h3 on an
 * access port of VLAN 10. For each frame the trace is taken first (with the frame itself as
 * PACKET_HEX), then scapy sends that frame from the host, and the ports whose tx counters
 * (`ovs-ofctl dump-ports`) rose must be exactly the ports the trace named. A trace learns nothing,
 * so the real frames teach the MAC table what the later traces then find.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { freePort, waitListening } from '../helpers/free-port.js';
import { addHost, run, tryRun, type TestHost } from '../helpers/netns.js';
import { startOfswitch } from '../helpers/ofswitch-process.js';

const SCAPY = '/usr/bin/python3';

/** An Ethernet frame as hex: dst, src, type, payload padded to 60 bytes. */
function frameHex(dst: string, src: string, type: number, payload: number[] = []): string {
  const body = [...payload];
  while (body.length < 46) body.push(0);
  return dst.replaceAll(':', '') + src.replaceAll(':', '') + type.toString(16).padStart(4, '0') + Buffer.from(body).toString('hex');
}

/** A UDP/IPv4 payload (checksums 0 in UDP: none) to `port`. */
function udp(port: number): number[] {
  const ip = [0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += ((ip[i] as number) << 8) | (ip[i + 1] as number);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  ip[10] = (~sum >>> 8) & 0xff;
  ip[11] = ~sum & 0xff;
  return [...ip, 0x30, 0x39, port >>> 8, port & 0xff, 0, 8, 0, 0];
}

t.test("the trace's datapath actions are the ports the packet really leaves by", { timeout: 120_000 }, async (t) => {
  const hosts: TestHost[] = [];
  for (const [i, tag] of ['t1', 't2', 't3', 't4'].entries()) hosts.push(await addHost(t, tag, { mac: `02:00:00:00:00:0${i + 1}` }));
  const [h1, h2, h3] = hosts as [TestHost, TestHost, TestHost, TestHost];
  const of = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'ofsw-trace-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ctl = join(dir, 'ofswitch.ctl');
  await startOfswitch(t, [
    ...hosts.flatMap((h, i) => ['--port', [h.port, `ofport=${i + 1}`, ...(i === 2 ? ['tag=10'] : [])].join(',')]),
    '--fail-mode', 'standalone', '--listen', `ptcp:${of}:127.0.0.1`, '--unixctl', ctl,
  ]);
  t.ok(await waitListening(of), 'listening');
  const target = `tcp:127.0.0.1:${of}`;
  await run('ovs-ofctl', ['add-flow', target, 'priority=100,udp,tp_dst=7777,actions=output:2']);
  await run('ovs-ofctl', ['add-flow', target, 'priority=100,udp,tp_dst=8888,actions=drop']);

  const appctl = (args: string[]) => tryRun('ovs-appctl', ['--timeout=10', '-t', ctl, ...args]);
  const txCounts = async (): Promise<Map<string, number>> => {
    const out = await run('ovs-ofctl', ['dump-ports', target]);
    const m = new Map<string, number>();
    for (const x of out.matchAll(/port\s+(\S+): rx pkts=\d+[^]*?tx pkts=(\d+)/g)) m.set(x[1] as string, Number(x[2]));
    return m;
  };

  /** Traces `hex` from port `inPort`, sends it from `host`, and compares. */
  const check = async (what: string, host: TestHost, inPort: number, hex: string, expected: string): Promise<void> => {
    const trace = await appctl(['ofproto/trace', 'ofswitch', `in_port=${inPort}`, hex]);
    t.equal(trace.code, 0, `${what}: traced`);
    const line = /\nDatapath actions: (.*)\n$/.exec(trace.stdout)?.[1] ?? '';
    t.equal(line, expected, `${what}: the trace says ${expected}`);
    const before = await txCounts();
    await run(SCAPY, ['-c', `from scapy.all import Ether, sendp; sendp(Ether(bytes.fromhex('${hex}')), iface='eth0', verbose=0)`], host.ns);
    let moved: string[] = [];
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const after = await txCounts();
      moved = [...after].filter(([p, n]) => n > (before.get(p) ?? 0)).map(([p]) => p);
      if (moved.length > 0 && i > 3) break;
    }
    const traced = line === 'drop' ? [] : line.split(',').filter((a) => /^\d+$/.test(a));
    t.same(moved.sort(), traced.sort(), `${what}: the packet left by exactly the ports the trace named`);
  };

  await check('udp 7777 to port 2 by a flow', h1, 1, frameHex(h2.mac, h1.mac, 0x0800, udp(7777)), '2');
  await check('udp 8888 dropped by a flow', h1, 1, frameHex(h2.mac, h1.mac, 0x0800, udp(8888)), 'drop');
  await check('broadcast flooded by NORMAL in VLAN 0', h1, 1, frameHex('ff:ff:ff:ff:ff:ff', h1.mac, 0x88b5), '2,4');
  await check('to a learned MAC', h2, 2, frameHex(h1.mac, h2.mac, 0x88b5), '1');
  await check('from the access port: tagged out of the trunks', h3, 3, frameHex('ff:ff:ff:ff:ff:ff', h3.mac, 0x88b5), 'push_vlan(vid=10,pcp=0),1,2,4');

  const bad = await appctl(['ofproto/trace', 'br0', 'in_port=1']);
  t.equal(bad.code, 2, 'an unknown bridge: exit status 2');
  t.match(bad.stderr, /^br0: unknown bridge\n/);
});
