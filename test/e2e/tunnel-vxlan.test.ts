/**
 * VXLAN against the Linux kernel's own vxlan device. ofswitch runs inside a namespace of its own
 * (flag mode, `--port vx0,type=vxlan,options:remote_ip=...,options:key=5000`), so its UDP socket
 * lives there; the far end's namespace has a kernel `vxlan` device (VNI 5000, dstport 4789) with
 * the far host's address on it. Proved: pings and iperf3 TCP in both directions; tcpdump on the
 * underlay, read by tshark, shows well-formed VXLAN with VNI 5000 both ways; a frame too large for
 * the underlay is dropped and counted (tx_dropped, the drop record), never sent; VNI 5001 from the
 * same remote reaches no port and is recorded as an unknown key.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { assertRan, run, spawnIn, tryRun } from '../helpers/netns.js';
import { startOfswitch } from '../helpers/ofswitch-process.js';
import { hostOn, iperfReceivedBytes, underlay, waitTcpListen } from '../helpers/tunnel-rig.js';

const VNI = 5000;
const MTU = 1450; // 1500 less VXLAN's 50 bytes, as the kernel's vxlan device sets it

t.test('VXLAN with the kernel vxlan device: ping, TCP both ways, VNI on the wire, MTU and key drops', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ofswitch-tnl-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const u = await underlay(t, 'tvx', 93);
  const h1 = await hostOn(t, 'tvh', u.sw, '10.94.0.1/24', MTU);
  // The far end: the kernel's VXLAN, its host address on the vxlan device itself.
  await run('ip', ['link', 'add', 'vx0', 'type', 'vxlan', 'id', String(VNI), 'remote', u.swIp, 'local', u.farIp, 'dstport', '4789'], u.far);
  await run('ip', ['link', 'set', 'vx0', 'mtu', String(MTU)], u.far);
  await tryRun('ethtool', ['-K', 'vx0', 'tx', 'off'], u.far); // inner checksums complete, as on a real wire
  await run('ip', ['addr', 'add', '10.94.0.2/24', 'dev', 'vx0'], u.far);
  await run('ip', ['link', 'set', 'vx0', 'up'], u.far);

  const ctl = join(dir, 'sw.ctl');
  const sw = await startOfswitch(t, ['--port', h1.port, '--port', `vx0,type=vxlan,options:remote_ip=${u.farIp},options:key=${VNI}`, '--unixctl', ctl], { ns: u.sw });
  t.match(sw.stderr(), /"ports":\["1\(\S+\)","2\(vx0\)"\]/, 'the tunnel is OpenFlow port 2');

  const pcap = join(dir, 'underlay.pcap');
  const dump = spawnIn('tcpdump', ['-i', u.swIf, '--immediate-mode', '-U', '-n', '-w', pcap, 'udp port 4789'], u.sw);
  const listening = await new Promise<boolean>((resolve) => {
    let err = '';
    const timer = setTimeout(() => resolve(false), 10_000);
    dump.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('listening on')) {
        clearTimeout(timer);
        resolve(true);
      }
    });
  });
  t.ok(listening, 'tcpdump captures on the underlay');

  const ping = await tryRun('ping', ['-c', '3', '-i', '0.2', '-W', '2', '10.94.0.2'], h1.ns);
  t.match(ping.stdout, / 3 received/, `h1 pings the far host across VXLAN${ping.code ? `: ${ping.stdout}` : ''}`);
  const back = await tryRun('ping', ['-c', '3', '-i', '0.2', '-W', '2', '10.94.0.1'], u.far);
  t.match(back.stdout, / 3 received/, 'and the far host pings h1');

  dump.kill('SIGINT');
  await new Promise((r) => dump.once('exit', r));
  const fields = await tryRun('tshark', ['-r', pcap, '-Y', 'vxlan && icmp', '-T', 'fields', '-e', 'ip.src', '-e', 'udp.dstport', '-e', 'vxlan.flags', '-e', 'vxlan.vni', '-e', 'eth.type']);
  assertRan(t, fields, 'tshark reads the underlay capture');
  const lines = fields.stdout.trim().split('\n').map((l) => l.split('\t'));
  const fromSw = lines.filter((l) => l[0]?.startsWith(u.swIp));
  const fromFar = lines.filter((l) => l[0]?.startsWith(u.farIp));
  t.ok(fromSw.length >= 4 && fromFar.length >= 4, `ICMP inside VXLAN both ways (${fromSw.length} from ofswitch, ${fromFar.length} from the kernel)`);
  t.ok(lines.every((l) => l[1] === '4789' && l[3] === String(VNI)), 'every packet to UDP 4789 with VNI 5000');
  t.ok(fromSw.every((l) => l[2] === '0x08000000' || l[2] === '0x0800'), `ofswitch sets the I flag (flags ${fromSw[0]?.[2]})`);

  for (const reverse of [false, true]) {
    const port = reverse ? 5212 : 5211;
    spawnIn('iperf3', ['-s', '-1', '-p', String(port)], u.far);
    t.ok(await waitTcpListen(u.far, port), 'iperf3 server listening');
    const r = await tryRun('iperf3', ['-c', '10.94.0.2', '-p', String(port), '-t', '3', '-J', ...(reverse ? ['-R'] : [])], h1.ns);
    assertRan(t, r, `iperf3${reverse ? ' -R' : ''}`);
    const bytes = iperfReceivedBytes(r.stdout);
    t.ok(bytes > 1_000_000, `TCP ${reverse ? 'far host -> h1' : 'h1 -> far host'}: ${bytes} bytes received`);
  }


  // A frame too large once encapsulated: dropped and counted, not sent.
  await run('ip', ['link', 'set', 'eth0', 'mtu', '1500'], h1.ns);
  const big = await tryRun('ping', ['-c', '1', '-W', '1', '-M', 'do', '-s', '1472', '10.94.0.2'], h1.ns);
  t.not(big.code, 0, 'a 1514-byte frame does not cross a 1500-byte underlay with DF');
  const ports = await run('ovs-ofctl', ['dump-ports', 'tcp:127.0.0.1:6634', '2'], u.sw);
  const drop = /tx pkts=\d+, bytes=\d+, drop=(\d+)/.exec(ports);
  t.ok(Number(drop?.[1] ?? 0) >= 1, `tx_dropped of the tunnel port counts it (${drop?.[0]})`);

  // VNI 5001 from the same remote: no port has it.
  await run('ip', ['link', 'add', 'vx1', 'type', 'vxlan', 'id', '5001', 'remote', u.swIp, 'local', u.farIp, 'dstport', '4789'], u.far);
  await run('ip', ['addr', 'add', '10.95.0.2/24', 'dev', 'vx1'], u.far);
  await run('ip', ['link', 'set', 'vx1', 'up'], u.far);
  const stray = await tryRun('ping', ['-c', '2', '-i', '0.3', '-W', '1', '10.95.0.1'], u.far);
  t.not(stray.code, 0, 'nothing answers on VNI 5001');
  const drops = await run('ovs-appctl', ['-t', ctl, 'ofswitch/drops']);
  t.match(drops, /in_port=1 drop: frame too large for the tunnel's underlay \(at most 1464 bytes fit/, 'the drop record names the frame too large');
  t.match(drops, /in_port=NONE drop: tunnel packet with key 5001: no tunnel port to its remote has that key/, 'and the unknown VNI');
  t.equal(await sw.stop(), 0, 'ofswitch stops cleanly');
});
