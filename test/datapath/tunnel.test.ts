/**
 * Tunnel ports without a far end of another make: the headers (datapath/tunnel/codec.ts) byte by
 * byte, the options as OVS reads them (config.ts), and real ports of each type sending to each
 * other over the loopback interface only (local_ip 127.0.0.1 and 127.0.0.2, a UDP port the kernel
 * found free): frames cross whole, several ports share one socket and are told apart by remote
 * and key, strangers are dropped and counted, duplicates and clashes refused.
 * The interoperability tests with the kernel's vxlan and Open vSwitch are in test/e2e/tunnel-*.
 */
import t from 'tap';
import { DROP_REASON } from '../../datapath/drop-record.js';
import { formatDropLog } from '../../datapath/drop-text.js';
import { createPort, portTypeNames } from '../../datapath/ports/factory.js';
import { TunnelPort } from '../../datapath/ports/tunnel-port.js';
import { PortError } from '../../datapath/ports/port-type.js';
import { decapsulate, encapsulate, headerLength, innerIpFields, ipv4PayloadOffset, overhead, type Decoded, type EncapParams } from '../../datapath/tunnel/codec.js';
import { ipv4ToNumber, numberToIpv4, tunnelConfig } from '../../datapath/tunnel/config.js';
import { Endpoint, routeTo } from '../../datapath/tunnel/underlay.js';
import { dpifPortName, formatTunnelPorts } from '../../datapath/tunnel/show.js';
import { networkInterfaces } from 'node:os';
import { freePort } from '../helpers/free-port.js';
import { createSwitch } from '../../lib/switch.js';

const frame = (n: number, len = 64): Uint8Array => {
  const f = Uint8Array.from({ length: len }, (_, i) => (i * 7 + n) & 0xff);
  f[12] = 0x08;
  f[13] = 0x00; // IPv4 EtherType
  f[14] = 0x45;
  f[15] = 0xb8; // TOS (DSCP 46)
  f[22] = 17; // TTL
  return f;
};

function roundTrip(p: EncapParams, f: Uint8Array): { bytes: Uint8Array; decoded: Decoded | null } {
  const out = new Uint8Array(headerLength(p) + f.length);
  const n = encapsulate(p, f, out);
  const d: Decoded = { key: -1, frameOffset: -1 };
  return { bytes: out.subarray(0, n), decoded: decapsulate(p.kind, out.subarray(0, n), d) ? d : null };
}

t.test('codec: VXLAN, Geneve and GRE headers as the RFCs lay them out, and back', async (t) => {
  const f = frame(1);
  const vx = roundTrip({ kind: 'vxlan', key: 0x123456, keyPresent: true, csum: false }, f);
  t.same([...vx.bytes.subarray(0, 8)], [0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0], 'VXLAN: I flag, VNI in bytes 4..6');
  t.same(vx.decoded, { key: 0x123456, frameOffset: 8 });
  t.same(vx.bytes.subarray(8), f, 'the frame follows whole');
  const gn = roundTrip({ kind: 'geneve', key: 77, keyPresent: true, csum: false }, f);
  t.same([...gn.bytes.subarray(0, 8)], [0, 0, 0x65, 0x58, 0, 0, 77, 0], 'Geneve: version 0, no options, protocol 0x6558, VNI');
  t.same(gn.decoded, { key: 77, frameOffset: 8 });
  const gre = roundTrip({ kind: 'gre', key: 0xdeadbeef, keyPresent: true, csum: true }, f);
  t.same([...gre.bytes.subarray(0, 4)], [0xa0, 0, 0x65, 0x58], 'GRE: C and K flags, protocol 0x6558');
  t.same([...gre.bytes.subarray(8, 12)], [0xde, 0xad, 0xbe, 0xef], 'GRE key after the checksum word');
  t.same(gre.decoded, { key: 0xdeadbeef, frameOffset: 12 });
  const bad = Uint8Array.from(gre.bytes);
  bad[20] = (bad[20] as number) ^ 0xff;
  t.notOk(decapsulate('gre', bad, { key: 0, frameOffset: 0 }), 'a wrong GRE checksum is refused');
  const plain = roundTrip({ kind: 'gre', key: 0, keyPresent: false, csum: false }, f);
  t.equal(plain.bytes.length, 4 + f.length, 'GRE without key or checksum: 4 bytes');
  t.same(plain.decoded, { key: 0, frameOffset: 4 }, 'no key reads as key 0');
  t.equal(overhead({ kind: 'vxlan', key: 0, keyPresent: true, csum: false }), 50 - 14, 'VXLAN adds 36 bytes to the frame (50 with the inner Ethernet header)');
  t.equal(overhead({ kind: 'gre', key: 0, keyPresent: true, csum: false }), 28);

  // OAM (BFD's oam=true): Geneve's O bit; VXLAN and GRE have none, their headers stay as they are.
  for (const [kind, bytes] of [['geneve', [0, 0x80, 0x65, 0x58]], ['vxlan', [0x08, 0, 0, 0]], ['gre', [0x20, 0, 0x65, 0x58]]] as const) {
    const p: EncapParams = { kind, key: 5, keyPresent: true, csum: false };
    const out = new Uint8Array(headerLength(p) + f.length);
    const n = encapsulate(p, f, out, 0, true);
    t.same([...out.subarray(0, 4)], bytes, `${kind} with oam: ${kind === 'geneve' ? 'the O bit set' : 'no OAM bit to set'}`);
    t.ok(decapsulate(kind, out.subarray(0, n), { key: 0, frameOffset: 0 }), `${kind}: and still received`);
  }

  // Geneve options are skipped; sequence numbers in GRE are skipped.
  const withOpts = Uint8Array.from([0x02, 0, 0x65, 0x58, 0, 0, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, ...f]);
  t.same(decapsulate('geneve', withOpts, { key: 0, frameOffset: 0 }) && [withOpts[6]], [9]);
  const d: Decoded = { key: 0, frameOffset: 0 };
  t.ok(decapsulate('geneve', withOpts, d));
  t.equal(d.frameOffset, 16, 'Geneve options (length in 4-byte words) are stepped over');
  const seq = Uint8Array.from([0x30, 0, 0x65, 0x58, 0, 0, 0, 5, 0, 0, 0, 1, ...f]);
  t.ok(decapsulate('gre', seq, d));
  t.same(d, { key: 5, frameOffset: 12 }, 'GRE key and sequence number');

  const refused: [string, 'vxlan' | 'geneve' | 'gre', number[]][] = [
    ['VXLAN without the I flag', 'vxlan', [0, 0, 0, 0, 0, 0, 1, 0, ...f]],
    ['VXLAN too short for a frame', 'vxlan', [8, 0, 0, 0, 0, 0, 1, 0, 1, 2]],
    ['Geneve version 1', 'geneve', [0x40, 0, 0x65, 0x58, 0, 0, 1, 0, ...f]],
    ['Geneve carrying IPv4, not Ethernet', 'geneve', [0, 0, 0x08, 0x00, 0, 0, 1, 0, ...f]],
    ['Geneve shorter than its header', 'geneve', [0, 0, 0x65]],
    ['Geneve options longer than the packet', 'geneve', [0x3f, 0, 0x65, 0x58, 0, 0, 1, 0, ...f.subarray(0, 20)]],
    ['GRE version 1 (PPTP)', 'gre', [0x20, 0x01, 0x65, 0x58, 0, 0, 0, 5, ...f]],
    ['GRE with routing', 'gre', [0x40, 0, 0x65, 0x58, 0, 0, 0, 0, ...f]],
    ['GRE carrying IPv4', 'gre', [0, 0, 0x08, 0x00, ...f]],
    ['GRE shorter than its header', 'gre', [0, 0]],
    ['GRE key cut short', 'gre', [0x20, 0, 0x65, 0x58, 0, 0]],
    ['GRE checksum cut short', 'gre', [0x80, 0, 0x65, 0x58, 0]],
    ['GRE without a whole frame', 'gre', [0, 0, 0x65, 0x58, 1, 2, 3]],
  ];
  for (const [what, kind, bytes] of refused) t.notOk(decapsulate(kind, Uint8Array.from(bytes), d), what);

  t.equal(ipv4PayloadOffset(Uint8Array.from([0x46, ...new Array(23).fill(0)])), 24, 'IHL 6: options skipped');
  t.equal(ipv4PayloadOffset(Uint8Array.from([0x60, ...new Array(39).fill(0)])), -1, 'not IPv4');
  t.equal(ipv4PayloadOffset(Uint8Array.from([0x4f, ...new Array(19).fill(0)])), -1, 'IHL beyond the packet');
  t.equal(ipv4PayloadOffset(Uint8Array.from([0x45, 0])), -1, 'too short');

  t.same(innerIpFields(f), { tos: 0xb8, ttl: 17 }, 'inner IPv4 TOS and TTL');
  const tagged = Uint8Array.from([...f.subarray(0, 12), 0x81, 0, 0, 5, ...f.subarray(12)]);
  t.same(innerIpFields(tagged), { tos: 0xb8, ttl: 17 }, 'through an 802.1Q tag');
  const v6 = new Uint8Array(80);
  v6[12] = 0x86;
  v6[13] = 0xdd;
  v6[14] = 0x6b;
  v6[15] = 0x80;
  v6[21] = 33;
  t.same(innerIpFields(v6), { tos: 0xb8, ttl: 33 }, 'IPv6 traffic class and hop limit');
  const arp = new Uint8Array(60);
  arp[12] = 0x08;
  arp[13] = 0x06;
  t.equal(innerIpFields(arp), undefined, 'not IP');
});

t.test('options: OVS defaults, and what is refused with a message for the error column', async (t) => {
  const vx = tunnelConfig('vxlan', 'vx0', { remote_ip: '192.0.2.2' });
  t.match(vx, { kind: 'vxlan', remoteIp: ipv4ToNumber('192.0.2.2'), localIp: 0, key: 0, keyPresent: true, dstPort: 4789, tos: 0, ttl: 64, df: true, csum: false });
  t.equal(tunnelConfig('geneve', 'g', { remote_ip: '192.0.2.2' }).dstPort, 6081);
  const gre = tunnelConfig('gre', 'g', { remote_ip: '192.0.2.2' });
  t.match(gre, { dstPort: 0, keyPresent: false, key: 0 }, 'GRE without key: no key field');
  t.match(
    tunnelConfig('gre', 'g', { remote_ip: '192.0.2.2', local_ip: '192.0.2.1', key: 4294967295, tos: 'inherit', ttl: 'inherit', df_default: 'false', csum: 'true' }),
    { keyPresent: true, key: 4294967295, localIp: ipv4ToNumber('192.0.2.1'), tos: 'inherit', ttl: 'inherit', df: false, csum: true },
  );
  t.match(tunnelConfig('vxlan', 'v', { remote_ip: '192.0.2.2', key: '0x10', dst_port: '8472', tos: '184', ttl: '5' }), { key: 16, dstPort: 8472, tos: 184, ttl: 5 });
  t.equal(numberToIpv4(ipv4ToNumber('10.200.30.4')), '10.200.30.4');
  const bad: [Record<string, string | number>, RegExp][] = [
    [{}, /vxlan type requires valid 'remote_ip' argument/],
    [{ remote_ip: 'flow' }, /remote_ip=flow is not supported.*Nicira extensions/],
    [{ remote_ip: '192.0.2.2', local_ip: 'flow' }, /local_ip=flow is not supported/],
    [{ remote_ip: '192.0.2.2', key: 'flow' }, /key=flow is not supported.*tun_id/],
    [{ remote_ip: '2001:db8::1' }, /not an IPv4 address/],
    [{ remote_ip: '192.0.2.2', key: 16777216 }, /key "16777216" is not a number in 0..16777215/],
    [{ remote_ip: '192.0.2.2', dst_port: 0 }, /dst_port/],
    [{ remote_ip: '192.0.2.2', tos: 1 }, /ECN bits/],
    [{ remote_ip: '192.0.2.2', ttl: 0 }, /ttl "0"/],
    [{ remote_ip: '192.0.2.2', df_default: 'yes' }, /df_default "yes" is not true or false/],
  ];
  for (const [options, message] of bad) t.throws(() => tunnelConfig('vxlan', 'vx0', options), message, JSON.stringify(options));
  t.throws(() => createPort({ name: 'g0', type: 'gre', options: { remote_ip: '192.0.2.2', dst_port: 1 } }), /type gre has no option "dst_port"/);
  t.throws(() => createPort({ name: 'v0', type: 'vxlan', options: { remote_ip: '192.0.2.2', in_key: 1 } }), PortError);
  t.ok(['vxlan', 'geneve', 'gre'].every((n) => portTypeNames().includes(n)), 'the factory knows the three types');
});

/** Two ports of `type` on loopback, one per local address, pointing at each other. */
async function pair(type: 'vxlan' | 'geneve' | 'gre', extra: Record<string, string> = {}, dstPort?: number) {
  const port = dstPort ?? (await freePort());
  const udp: Record<string, string> = type === 'gre' ? {} : { dst_port: String(port) };
  const a = createPort({ name: `${type}a`, type, options: { remote_ip: '127.0.0.2', local_ip: '127.0.0.1', key: '5', ...udp, ...extra } }) as TunnelPort;
  const b = createPort({ name: `${type}b`, type, options: { remote_ip: '127.0.0.1', local_ip: '127.0.0.2', key: '5', ...udp, ...extra } }) as TunnelPort;
  return { a, b, port };
}

function collector(): { frames: Uint8Array[]; onFrame: (f: Uint8Array) => void; next: (ms?: number) => Promise<Uint8Array | undefined> } {
  const frames: Uint8Array[] = [];
  let waiting: ((f: Uint8Array | undefined) => void) | null = null;
  return {
    frames,
    onFrame: (f) => {
      const copy = Uint8Array.from(f);
      frames.push(copy);
      waiting?.(copy);
      waiting = null;
    },
    next: (ms = 2000) =>
      new Promise((resolve) => {
        const timer = setTimeout(() => resolve(undefined), ms);
        waiting = (f) => {
          clearTimeout(timer);
          resolve(f);
        };
      }),
  };
}

for (const type of ['vxlan', 'geneve', 'gre'] as const) {
  t.test(`${type} ports over loopback: frames cross whole both ways`, async (t) => {
    const { a, b } = await pair(type, type === 'gre' ? { csum: 'true' } : { csum: 'true', tos: 'inherit', ttl: 'inherit' });
    const ra = collector();
    const rb = collector();
    a.open(ra.onFrame);
    b.open(rb.onFrame);
    t.teardown(() => {
      a.close();
      b.close();
    });
    t.ok(a.readLink().carrier, 'link up');
    t.ok(a.routeMtu >= 1500, `a route to the remote, MTU ${a.routeMtu}`);
    t.equal(numberToIpv4(a.routeSource), '127.0.0.1');
    const f1 = frame(3, 1000);
    const got = rb.next();
    a.send(f1);
    t.same(await got, f1, 'a -> b');
    const back = ra.next();
    b.send(frame(4));
    t.same(await back, frame(4), 'b -> a');
    t.match(a.describe(), new RegExp(`^${type}a: ${type} remote_ip=127.0.0.2 local_ip=127.0.0.1 key=5`));
    await a.setAdminUp(false);
    t.notOk(a.readLink().carrier, 'down: no carrier');
    a.send(frame(5));
    t.equal(a.txDropped, 1, 'a down port drops what it is given');
    const none = ra.next(300);
    b.send(frame(6));
    t.equal(await none, undefined, 'and delivers nothing');
    await a.setAdminUp(true);
    await a.setAdminUp(true);
  });
}

t.test('one socket, several ports: told apart by remote and key; strangers dropped and recorded', async (t) => {
  const dstPort = await freePort();
  const opts = (remote: string, local: string, key: string) => ({ remote_ip: remote, local_ip: local, key, dst_port: String(dstPort) });
  const a5 = createPort({ name: 'a5', type: 'vxlan', options: opts('127.0.0.2', '127.0.0.1', '5') }) as TunnelPort;
  const a6 = createPort({ name: 'a6', type: 'vxlan', options: opts('127.0.0.2', '127.0.0.1', '6') }) as TunnelPort;
  const a5from3 = createPort({ name: 'a5from3', type: 'vxlan', options: opts('127.0.0.3', '127.0.0.1', '5') }) as TunnelPort;
  const b5 = createPort({ name: 'b5', type: 'vxlan', options: opts('127.0.0.1', '127.0.0.2', '5') }) as TunnelPort;
  const b7 = createPort({ name: 'b7', type: 'vxlan', options: opts('127.0.0.1', '127.0.0.2', '7') }) as TunnelPort;
  const c5 = createPort({ name: 'c5', type: 'vxlan', options: opts('127.0.0.1', '127.0.0.4', '5') }) as TunnelPort;
  const r = { a5: collector(), a6: collector(), a5from3: collector() };
  const drops: [number, number, boolean][] = [];
  a5.open(r.a5.onFrame, (reason, _f, aux, received) => drops.push([reason, aux, received]));
  a6.open(r.a6.onFrame);
  a5from3.open(r.a5from3.onFrame);
  b5.open(() => undefined);
  b7.open(() => undefined);
  c5.open(() => undefined);
  t.teardown(() => [a5, a6, a5from3, b5, b7, c5].forEach((p) => p.close()));
  t.equal(Endpoint.all().filter((e) => e.dstPort === dstPort).length, 3, 'one endpoint per local address');
  t.throws(() => createPort({ name: 'dup', type: 'vxlan', options: opts('127.0.0.2', '127.0.0.1', '6') }), /already exists as port a6/, 'same remote and key refused');
  t.throws(() => createPort({ name: 'gnv', type: 'geneve', options: opts('127.0.0.9', '127.0.0.1', '6') }).open(() => undefined), /UDP port \d+ is already used by vxlan tunnels/);

  const got5 = r.a5.next();
  b5.send(frame(5));
  t.same(await got5, frame(5), 'key 5 from 127.0.0.2 reaches a5');
  t.equal(r.a6.frames.length + r.a5from3.frames.length, 0, 'and no other port');
  const stranger = r.a5.next(400);
  b7.send(frame(7)); // 127.0.0.2 is known to the endpoint, key 7 is not
  c5.send(frame(8)); // 127.0.0.4 is no port's remote
  t.equal(await stranger, undefined, 'no port gets a stranger');
  await new Promise((res) => setTimeout(res, 100));
  const counters = a5.endpointCounters!;
  t.equal(counters.unknownKey, 1, 'unknown key counted');
  t.equal(counters.unknownRemote, 1, 'unknown remote counted');
  t.same(
    drops.sort((x, y) => x[0] - y[0]),
    [
      [DROP_REASON.TUNNEL_UNKNOWN_REMOTE, ipv4ToNumber('127.0.0.4') | 0, true],
      [DROP_REASON.TUNNEL_UNKNOWN_KEY, 7, true],
    ],
    'each reported by the endpoint first port as received frames',
  );
});

t.test('in a bridge: drops of unknown tunnels and frames too large land in the drop record', async (t) => {
  const dstPort = await freePort();
  const sw = createSwitch({ failMode: 'standalone', linkPollMs: 0 });
  t.teardown(() => sw.stop());
  const mem = sw.addPort({ name: 'm1', type: 'memory' });
  const vx = sw.addPort({ name: 'vx1', type: 'vxlan', options: { remote_ip: '127.0.0.2', local_ip: '127.0.0.1', dst_port: String(dstPort), key: '9' } });
  const far = createPort({ name: 'far', type: 'vxlan', options: { remote_ip: '127.0.0.1', local_ip: '127.0.0.2', dst_port: String(dstPort), key: '10' } }) as TunnelPort;
  far.open(() => undefined);
  t.teardown(() => far.close());
  far.send(frame(1));
  await new Promise((res) => setTimeout(res, 200));
  const huge = frame(2, 65535 - 8 + 1); // one byte beyond what a UDP datagram holds
  mem.device.inject(Uint8Array.from([...[0, 0, 0, 0, 0, 1], ...huge.subarray(6)]));
  const text = formatDropLog('br0', sw.dropLog());
  t.match(text, /in_port=NONE drop: tunnel packet with key 10: no tunnel port to its remote has that key/);
  t.match(text, /in_port=1 drop: frame too large for the tunnel's underlay/);
  const stats = sw.port('vx1')!.stats;
  t.equal(stats.txDropped, 1n, 'tx_dropped of the tunnel port');
  t.equal(stats.txPackets, 0n, 'not counted as sent');
  t.equal((vx.device as TunnelPort).tooBig, 1);
});

t.test('status: the interface the route to remote_ip leaves by, and its carrier (tunnel_egress_iface)', async (t) => {
  const r = routeTo(ipv4ToNumber('127.0.0.2'));
  t.match(r, { iface: 'lo', carrier: true }, 'the kernel routes 127.0.0.2 through lo, which has a carrier');
  const dstPort = await freePort();
  const p = createPort({ name: 'st1', type: 'geneve', options: { remote_ip: '127.0.0.2', local_ip: '127.0.0.1', dst_port: String(dstPort) } }) as TunnelPort;
  t.same(p.status(), new Map(), 'nothing before the port opens');
  p.open(() => undefined);
  t.teardown(() => p.close());
  t.same(p.status(), new Map([['tunnel_egress_iface', 'lo'], ['tunnel_egress_iface_carrier', 'up']]), 'the keys OVS writes');
  t.match(p.describe(), /route: src 127\.0\.0\.1 dev lo \(carrier up\)/);
  let changes = 0;
  p.watchStatus(() => changes++);
  p.readLink();
  t.equal(changes, 0, 'no change, no call');
  p.egressCarrier = false; // as if the carrier had been down at the last read
  p.readLink();
  t.equal(changes, 1, 'a change read at the link poll calls the watchers');
  t.equal(p.status().get('tunnel_egress_iface_carrier'), 'up');
  const none = createPort({ name: 'st2', type: 'gre', options: { remote_ip: '255.255.255.255', local_ip: '127.0.0.1' } }) as TunnelPort;
  none.open(() => undefined);
  t.teardown(() => none.close());
  t.same(none.status(), new Map(), 'no route: no keys (OVS writes none either)');

  // In a bridge: the port's view carries them, and a change is the switch's 'interface-status'.
  const sw = createSwitch({ failMode: 'secure', linkPollMs: 0 });
  t.teardown(() => sw.stop());
  const added = sw.addPort({ name: 'st3', type: 'vxlan', options: { remote_ip: '127.0.0.2', local_ip: '127.0.0.1', dst_port: String(await freePort()) } });
  t.same(sw.port('st3')!.status, new Map([['tunnel_egress_iface', 'lo'], ['tunnel_egress_iface_carrier', 'up']]), 'PortView.status');
  const events: string[] = [];
  sw.events.on('interface-status', (name) => events.push(name));
  (added.device as TunnelPort).egressIface = 'gone';
  added.device.readLink();
  t.same(events, ['st3'], 'the switch says which interface\'s status changed');
  sw.addPort({ name: 'st4', type: 'memory' });
  t.same(sw.port('st4')!.status, new Map(), 'other port types write no status keys');
});

t.test('tnl/ports/show: one line per OVS datapath port name, with how many ports use it; -v the addresses', async (t) => {
  t.equal(dpifPortName('vxlan', 4789), 'vxlan_sys_4789');
  t.equal(dpifPortName('geneve', 6081), 'genev_sys_6081');
  t.equal(dpifPortName('gre', 0), 'gre_sys');
  const [p1, p2] = [await freePort(), await freePort()];
  const open = (name: string, type: string, options: Record<string, string>): void => {
    const p = createPort({ name, type, options: { remote_ip: '127.0.0.2', local_ip: '127.0.0.1', ...options } }) as TunnelPort;
    p.open(() => undefined);
    t.teardown(() => p.close());
  };
  open('sha', 'geneve', { dst_port: String(p1), key: '1' });
  open('shb', 'gre', { key: '3' });
  open('shc', 'geneve', { dst_port: String(p1), key: '2' });
  open('shd', 'vxlan', { dst_port: String(p2) });
  const mine = Endpoint.all().filter((e) => e.localIp === ipv4ToNumber('127.0.0.1') && (e.kind === 'gre' || e.dstPort === p1 || e.dstPort === p2));
  t.equal(
    formatTunnelPorts(false, mine),
    `Listening ports:\ngenev_sys_${p1} (${p1}) ref_cnt=2\ngre_sys (47) ref_cnt=1\nvxlan_sys_${p2} (${p2}) ref_cnt=1\n`,
    'in the order they came, UDP ports numbered by port, GRE by protocol',
  );
  t.equal(formatTunnelPorts(true, mine), 'Listening ports:\n', '-v: bound to a loopback address, nothing listed (OVS leaves loopback out)');
  // An endpoint on any address takes packets on every address of the host but loopback's.
  const any = { kind: 'vxlan', dstPort: 4789, localIp: 0, portCount: 1 } as unknown as Endpoint;
  const addresses = Object.values(networkInterfaces()).flatMap((l) => (l ?? []).filter((a) => a.family === 'IPv4' && !a.internal));
  t.same(
    formatTunnelPorts(true, [any]).trim().split('\n').slice(1),
    addresses.map((a) => `vxlan_sys_4789 (4789) : eth(dst=${a.mac}),eth_type(0x0800),ipv4(dst=${a.address},proto=17,frag=no),udp(dst=4789)`),
    '-v: one line per host address, in OVS\'s flow syntax',
  );
  t.match(formatTunnelPorts(false), /^Listening ports:\n/, 'every endpoint of the process by default');
});

t.test('no route: the send is refused (tx_errors), the port says why', async (t) => {
  const r = routeTo(ipv4ToNumber('127.0.0.1'));
  t.ok('mtu' in r && r.mtu > 0, 'loopback has a route');
  // The limited broadcast address: the kernel refuses it to a socket without SO_BROADCAST (EACCES),
  // on any host, so nothing leaves the machine.
  const p = createPort({ name: 'nr', type: 'gre', options: { remote_ip: '255.255.255.255', local_ip: '127.0.0.1' } }) as TunnelPort;
  p.open(() => undefined);
  t.teardown(() => p.close());
  t.equal(p.maxFrame, 0, 'no MTU known');
  t.match(p.describe(), /route: none \(errno \d+\)/);
  t.throws(() => p.send(frame(1)), /cannot send to 255.255.255.255 \(errno 13\)/);
  p.close();
  t.throws(() => p.send(frame(1)), /closed/);
});

t.test('a tunnel is an OpenFlow port like any other: PORT_STATUS, NORMAL learning across it, stats', async (t) => {
  const dstPort = await freePort();
  const a = createSwitch({ failMode: 'standalone', linkPollMs: 0 });
  const b = createSwitch({ failMode: 'standalone', linkPollMs: 0 });
  t.teardown(async () => {
    await a.stop();
    await b.stop();
  });
  const added: string[] = [];
  a.events.on('port-status', (reason, desc) => added.push(`${reason}:${desc.name}`));
  const ma = a.addPort({ name: 'ma', type: 'memory' });
  const ta = a.addPort({ name: 'ta', type: 'geneve', options: { remote_ip: '127.0.0.2', local_ip: '127.0.0.1', dst_port: String(dstPort), key: '3' } });
  const mb = b.addPort({ name: 'mb', type: 'memory' });
  b.addPort({ name: 'tb', type: 'geneve', options: { remote_ip: '127.0.0.1', local_ip: '127.0.0.2', dst_port: String(dstPort), key: '3' } });
  t.same(added, ['0:ma', '0:ta'], 'PORT_STATUS ADD for the tunnel port');
  t.equal(ta.description.state, 0, 'link up');
  t.equal(ta.description.curr, 0, 'no speed');
  const got = new Promise<Uint8Array>((resolve) => mb.device.once('frame', (f: Uint8Array) => resolve(Uint8Array.from(f))));
  const bcast = Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x0a, ...frame(9).subarray(12)]);
  ma.device.inject(bcast);
  t.same(await got, bcast, 'a broadcast floods through the tunnel to the other bridge');
  t.match(b.macTable(), [{ port: 2, mac: '02:00:00:00:00:0a' }], 'bridge b learned the sender on its tunnel port');
  t.equal(b.port('tb')!.stats.rxPackets, 1n);
  t.equal(a.port('ta')!.stats.txPackets, 1n);
  t.ok(b.removePort('tb'), 'removing the port closes its socket');
  t.notOk(Endpoint.all().some((e) => e.dstPort === dstPort && e.localIp === ipv4ToNumber('127.0.0.2')), 'its endpoint is gone');
});

t.test('the drop record names an unknown remote', async (t) => {
  const dstPort = await freePort();
  const sw = createSwitch({ failMode: 'standalone', linkPollMs: 0 });
  t.teardown(() => sw.stop());
  sw.addPort({ name: 'g1', type: 'gre', options: { remote_ip: '127.0.0.2', local_ip: '127.0.0.1' } });
  sw.addPort({ name: 'v1', type: 'vxlan', options: { remote_ip: '127.0.0.2', local_ip: '127.0.0.1', dst_port: String(dstPort) } });
  const stranger = createPort({ name: 'st', type: 'vxlan', options: { remote_ip: '127.0.0.1', local_ip: '127.0.0.3', dst_port: String(dstPort) } }) as TunnelPort;
  stranger.open(() => undefined);
  t.teardown(() => stranger.close());
  stranger.send(frame(1));
  await new Promise((res) => setTimeout(res, 200));
  t.match(formatDropLog('br0', sw.dropLog()), /in_port=NONE drop: tunnel packet from 127\.0\.0\.3: no tunnel port has that remote_ip/);
});

t.test('an address the host lacks, and packets that are no tunnel packets', async (t) => {
  const dstPort = await freePort();
  // 192.0.2.0/24 is TEST-NET-1: no host has it, so bind fails (nothing is sent anywhere).
  t.throws(
    () => createPort({ name: 'nb', type: 'vxlan', options: { remote_ip: '127.0.0.2', local_ip: '192.0.2.77', dst_port: String(dstPort) } }).open(() => undefined),
    /cannot open UDP port \d+ on 192\.0\.2\.77: bind: Cannot assign requested address/,
  );
  t.notOk(Endpoint.all().some((e) => e.dstPort === dstPort), 'no endpoint left behind');
  const p = createPort({ name: 'mf', type: 'vxlan', options: { remote_ip: '127.0.0.2', local_ip: '127.0.0.1', dst_port: String(dstPort) } }) as TunnelPort;
  const got: Uint8Array[] = [];
  p.open((f) => got.push(f));
  t.teardown(() => p.close());
  const { createSocket } = await import('node:dgram');
  const s = createSocket('udp4');
  await new Promise<void>((res) => s.bind(0, '127.0.0.2', () => res()));
  await new Promise<void>((res) => s.send(Buffer.alloc(40), dstPort, '127.0.0.1', () => res()));
  s.close();
  await new Promise((res) => setTimeout(res, 200));
  t.equal(got.length, 0, 'nothing delivered');
  t.equal(p.endpointCounters?.malformed, 1, 'counted as malformed');
});
