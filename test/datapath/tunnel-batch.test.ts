/**
 * Batched tunnel sends (datapath/tunnel/underlay.ts, datapath/native/raw_ip.c): what one receive
 * batch stages for one endpoint leaves with one sendmmsg, complete and in order, each packet with
 * its own port's TOS, TTL and DF; frames too large are dropped one by one, before the batch (the
 * route's MTU) or when the kernel refuses them in it (EMSGSIZE); a packet the kernel refuses for
 * another reason is counted a tx_error of its port and the rest of the batch still leaves.
 *
 * The receiver is independent of ofswitch: Python's raw IPv4 socket (UDP for VXLAN and Geneve,
 * protocol 47 for GRE) bound to 127.0.0.2, reading the outer IP headers as they arrived. Loopback
 * only (127.0.0.1 -> 127.0.0.2); packets are told from other tests' by the UDP port the kernel
 * found free, or a random GRE key.
 */
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import t, { type Test } from 'tap';
import { DROP_REASON } from '../../datapath/drop-record.js';
import { createPort } from '../../datapath/ports/factory.js';
import { formatDropLog } from '../../datapath/drop-text.js';
import type { TunnelPort } from '../../datapath/ports/tunnel-port.js';
import { enterBatch, leaveBatch } from '../../datapath/ports/tx-batch.js';
import { decapsulate, type Decoded } from '../../datapath/tunnel/codec.js';
import { freePort } from '../helpers/free-port.js';
import { createSwitch } from '../../lib/switch.js';
import { bfdSettings } from '../../oam/index.js';

type Kind = 'vxlan' | 'geneve' | 'gre';

/** One packet as the receiver saw it: outer TOS, TTL, DF, and the tunnel packet (UDP or IP payload). */
interface Seen {
  tos: number;
  ttl: number;
  df: boolean;
  payload: Uint8Array;
}

const RECEIVER = `
import json, socket, struct, sys
proto, port, key, want, secs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, proto)
try:
    s.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)  # SO_RCVBUFFORCE: a whole batch waits in the queue
except OSError:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
s.bind(('127.0.0.2', 0))
s.settimeout(secs)
print('ready', flush=True)
got = []
try:
    while len(got) < want:
        b = s.recv(70000)
        ihl = (b[0] & 15) * 4
        if b[16:20] != bytes([127, 0, 0, 2]):
            continue
        if proto == 17:
            if struct.unpack('!H', b[ihl + 2:ihl + 4])[0] != port:
                continue
            payload = b[ihl + 8:]
        else:
            payload = b[ihl:]
            flags = struct.unpack('!H', payload[0:2])[0]
            if not flags & 0x2000 or struct.unpack("!I", payload[4 + (4 if flags & 0x8000 else 0):][:4])[0] not in (key, key + 1):
                continue
        got.append({'tos': b[1], 'ttl': b[8], 'df': bool(b[6] & 0x40), 'payload': payload.hex()})
except socket.timeout:
    pass
print(json.dumps(got), flush=True)
`;

/** Starts the receiver; resolves when it is bound. `done` gives what it saw (`want` packets, or what came in `secs`). */
async function receiver(kind: Kind, port: number, key: number, want: number, secs = 5): Promise<{ done: Promise<Seen[]> }> {
  const child = spawn('/usr/bin/python3', ['-c', RECEIVER, kind === 'gre' ? '47' : '17', String(port), String(key), String(want), String(secs)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.startsWith('ready\n')) resolve();
    });
    void exited.then((code) => reject(new Error(`receiver exited ${code}: ${err}`)));
  });
  const done = exited.then((code) => {
    if (code !== 0) throw new Error(`receiver exited ${code}: ${err}`);
    const json = out.slice('ready\n'.length).trim();
    if (json === '') throw new Error('receiver printed nothing');
    return (JSON.parse(json) as { tos: number; ttl: number; df: boolean; payload: string }[]).map((p) => ({ ...p, payload: Uint8Array.from(Buffer.from(p.payload, 'hex')) }));
  });
  return { done };
}

/** An IPv4-in-Ethernet frame of `len` bytes numbered `seq` (bytes 34..35), with inner TOS and TTL. */
function frame(seq: number, len = 80, tos = 0, ttl = 64): Uint8Array {
  const f = new Uint8Array(len);
  f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45, tos]);
  f[22] = ttl;
  f[34] = seq >> 8;
  f[35] = seq & 0xff;
  return f;
}

/** The key and sequence number of a received tunnel packet (null: not a well-formed one). */
function unpack(kind: Kind, p: Uint8Array): { key: number; seq: number; len: number } | null {
  const d: Decoded = { key: 0, frameOffset: 0 };
  if (!decapsulate(kind, p, d)) return null;
  const f = p.subarray(d.frameOffset);
  return { key: d.key, seq: ((f[34] as number) << 8) | (f[35] as number), len: f.length };
}

/** Two ports of `kind` on one endpoint (127.0.0.1), to 127.0.0.2 with keys k and k+1 and different outer-header options. */
async function twoPorts(t: Test, kind: Kind) {
  const port = kind === 'gre' ? 0 : await freePort();
  const key = kind === 'gre' ? randomInt(1 << 20, 1 << 30) : randomInt(1, 1 << 23);
  const udp: Record<string, string> = kind === 'gre' ? {} : { dst_port: String(port) };
  const base = { remote_ip: '127.0.0.2', local_ip: '127.0.0.1', ...udp };
  const a = createPort({ name: `${kind}ba`, type: kind, options: { ...base, key: String(key), tos: '184', ttl: '7' } }) as TunnelPort;
  const b = createPort({ name: `${kind}bb`, type: kind, options: { ...base, key: String(key + 1), tos: 'inherit', ttl: 'inherit', df_default: 'false' } }) as TunnelPort;
  const drops: [number, number, boolean, number | undefined][] = [];
  // The datapath's input port now: what a staged packet notes for a refusal found when its batch leaves.
  const forwarding = { inPort: 3 };
  a.open(() => undefined, (reason, _f, aux, received, inPort) => drops.push([reason, aux, received, inPort]), () => forwarding.inPort);
  b.open(() => undefined);
  t.teardown(() => {
    a.close();
    b.close();
  });
  return { a, b, port, key, drops, forwarding };
}

for (const kind of ['vxlan', 'geneve', 'gre'] as const) {
  t.test(`${kind}: a batch to one endpoint leaves in one sendmmsg, complete, in order, each packet with its port's TOS, TTL and DF`, async (t) => {
    const { a, b, port, key } = await twoPorts(t, kind);
    const N = 200;
    const rx = await receiver(kind, port, key, N);
    const before = a.endpointCounters!.flushes;
    enterBatch();
    for (let i = 0; i < N; i++) {
      // Alternating ports: per-packet TOS/TTL control messages, and DF on, off, on...
      if (i % 2 === 0) a.send(frame(i));
      else b.send(frame(i, 80, 0x20 + (i % 8) * 4, 10 + (i % 50)));
    }
    t.equal(a.endpointCounters!.flushes, before, 'nothing left while the batch runs');
    leaveBatch();
    t.equal(a.endpointCounters!.flushes, before + 1, 'the batch left with one flush when it ended');
    const seen = await rx.done;
    t.equal(seen.length, N, `all ${N} packets arrived`);
    const decoded = seen.map((s) => unpack(kind, s.payload));
    t.ok(decoded.every((d) => d !== null), 'every one a well-formed tunnel packet');
    t.same(decoded.map((d) => d?.seq), Array.from({ length: N }, (_, i) => i), 'in the order sent');
    t.ok(decoded.every((d, i) => d?.key === key + (i % 2) && d.len === 80), 'each with its port key, the frame whole');
    const wrong = seen.filter((s, i) =>
      i % 2 === 0 ? s.tos !== 184 || s.ttl !== 7 || !s.df : s.tos !== 0x20 + (i % 8) * 4 || s.ttl !== 10 + (i % 50) || s.df,
    );
    t.same(wrong.length, 0, "port a's packets: TOS 184, TTL 7, DF; port b's: the inner TOS and TTL (inherit), no DF (df_default=false)");
    t.equal(a.txDropped + b.txDropped + a.txErrors + b.txErrors, 0, 'no drops, no errors');
  });
}

t.test('more than the staging area holds: it leaves as it fills, still whole and in order', async (t) => {
  const { a, port, key } = await twoPorts(t, 'vxlan');
  const N = 600; // 256 slots a flush, and 4,000-byte frames fill the 512 KiB area first
  const rx = await receiver('vxlan', port, key, N);
  const before = a.endpointCounters!.flushes;
  enterBatch();
  for (let i = 0; i < N; i++) a.send(frame(i, i < 300 ? 4000 : 64));
  leaveBatch();
  const flushes = a.endpointCounters!.flushes - before;
  t.ok(flushes >= 3 && flushes <= 5, `${flushes} flushes`);
  const seen = (await rx.done).map((s) => unpack('vxlan', s.payload));
  t.equal(seen.length, N, 'all arrived');
  t.same(seen.map((d) => d?.seq), Array.from({ length: N }, (_, i) => i), 'in order');
  t.ok(seen.every((d, i) => d?.len === (i < 300 ? 4000 : 64)), 'each whole');
});

t.test('frames too large are dropped one by one: before the batch (route MTU) and by the kernel in it (EMSGSIZE)', async (t) => {
  const { a, port, key, drops, forwarding } = await twoPorts(t, 'vxlan');
  t.ok(a.routeMtu > 60000, `loopback's MTU (${a.routeMtu})`);
  const big = a.maxFrame + 1;
  const rx = await receiver('vxlan', port, key, 4, 3);
  enterBatch();
  a.send(frame(0));
  a.send(frame(1, big)); // dropped at once: the route's MTU says it cannot fit
  a.send(frame(2));
  a.routeMtu = 0; // as if the MTU were not known: the kernel finds it too large (DF) when the batch leaves
  forwarding.inPort = 5;
  a.send(frame(3, big));
  forwarding.inPort = 3;
  a.send(frame(4));
  t.equal(a.tooBig, 1, 'the first too-large frame counted before the batch left');
  t.same(drops, [[DROP_REASON.TUNNEL_TOO_BIG, big - 1, false, undefined]], 'and recorded with the input port of the frame being forwarded');
  leaveBatch();
  t.equal(a.tooBig, 2, 'the second counted when the kernel refused it');
  t.equal(a.txDropped, 2, 'both tx_dropped');
  t.equal(a.txErrors, 0, 'not errors');
  t.ok(a.routeMtu > 60000, 'the refusal made the port read its route again');
  t.same(drops[1], [DROP_REASON.TUNNEL_TOO_BIG, big - 1, false, 5], 'recorded with the input port its frame came from when sent (the batch left after its send returned)');
  const seen = (await rx.done).map((s) => unpack('vxlan', s.payload)?.seq);
  t.same(seen, [0, 2, 4], 'the rest of the batch arrived, in order, and nothing cut');
});

t.test('a packet the kernel refuses otherwise is a tx_error of its port; the rest of the batch leaves', async (t) => {
  const { a, port, key } = await twoPorts(t, 'vxlan');
  // To the limited broadcast address: the kernel refuses it (EACCES) to a socket without SO_BROADCAST; nothing leaves the machine.
  const bad = createPort({ name: 'vxbad', type: 'vxlan', options: { remote_ip: '255.255.255.255', local_ip: '127.0.0.1', dst_port: String(port), key: '3' } }) as TunnelPort;
  bad.open(() => undefined);
  t.teardown(() => bad.close());
  t.not(bad.routeErrno, 0, 'no route known');
  t.throws(() => bad.send(frame(99)), /cannot send to 255\.255\.255\.255 \(errno 13\)/, 'without a route a frame is sent at once and its refusal thrown');
  bad.routeErrno = 0; // as if a route had been read: its frames are staged like any other
  const rx = await receiver('vxlan', port, key, 3, 3);
  enterBatch();
  a.send(frame(0));
  bad.send(frame(1));
  a.send(frame(2));
  bad.send(frame(3));
  a.send(frame(4));
  leaveBatch();
  t.equal(bad.txErrors, 2, 'each refused packet counted');
  t.not(bad.routeErrno, 0, 'the refusal made it read its route again');
  t.equal(a.txErrors + a.txDropped, 0, 'the other port lost nothing');
  t.same((await rx.done).map((s) => unpack('vxlan', s.payload)?.seq), [0, 2, 4], 'its packets arrived, in order');
  // No room in the kernel (a full socket buffer or queue: not to be had on loopback, so told directly).
  for (const errno of [11, 105]) bad.refused(errno, frame(6), 1); // EAGAIN, ENOBUFS
  t.equal(bad.txDropped, 2, 'a packet refused for want of room is tx_dropped');
  t.equal(bad.txErrors, 2, 'not an error');
});

t.test('in a bridge: a refusal after the send moves the frame from tx_packets to tx_errors; staged packets leave when the last port closes', async (t) => {
  const dstPort = await freePort();
  const sw = createSwitch({ failMode: 'standalone', linkPollMs: 0 });
  t.teardown(() => sw.stop());
  const mem = sw.addPort({ name: 'm1', type: 'memory' });
  const vx = sw.addPort({ name: 'vx1', type: 'vxlan', options: { remote_ip: '255.255.255.255', local_ip: '127.0.0.1', dst_port: String(dstPort), key: '9' } });
  (vx.device as TunnelPort).routeErrno = 0;
  mem.device.inject(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, ...frame(1).subarray(6)]));
  await new Promise((res) => setImmediate(res));
  const stats = sw.port('vx1')!.stats;
  t.equal(stats.txErrors, 1n, 'tx_errors');
  t.equal(stats.txPackets, 0n, 'not counted as sent');
  // Recorded as the datapath records a send refused at once: with the frame's input port (1, m1), the tunnel's number.
  t.match(formatDropLog('br0', sw.dropLog()), /in_port=1 drop: send on port 2 failed/, 'the drop record names the real input port');

  const key = randomInt(1, 1 << 23);
  const last = createPort({ name: 'vxlast', type: 'vxlan', options: { remote_ip: '127.0.0.2', local_ip: '127.0.0.3', dst_port: String(dstPort), key: String(key) } }) as TunnelPort;
  last.open(() => undefined);
  const rx = await receiver('vxlan', dstPort, key, 2, 3);
  enterBatch();
  last.send(frame(7));
  last.send(frame(8));
  last.close(); // its endpoint (127.0.0.3) closes with it: what it staged goes first
  leaveBatch();
  t.same((await rx.done).map((s) => unpack('vxlan', s.payload)?.seq), [7, 8], 'both arrived');
});

t.test('oam: a frame sent inside withOam carries the Geneve O bit, the others do not', async (t) => {
  const { a, port, key } = await twoPorts(t, 'geneve');
  const rx = await receiver('geneve', port, key, 3, 3);
  a.withOam(() => a.send(frame(0)));
  a.send(frame(1));
  t.throws(() => a.withOam(() => { throw new Error('boom'); }), /boom/, 'what withOam runs may throw');
  a.send(frame(2));
  const seen = await rx.done;
  t.same(seen.map((s) => unpack('geneve', s.payload)?.seq), [0, 1, 2], 'all arrived, each a well-formed Geneve packet');
  t.same(seen.map((s) => s.payload[1]), [0x80, 0, 0], 'only the first with the O bit');
});

t.test('BFD with oam=true on a Geneve port sends its packets with the O bit; without it, not', async (t) => {
  const dstPort = await freePort();
  const sw = createSwitch({ failMode: 'secure', linkPollMs: 0 });
  t.teardown(() => sw.stop());
  sw.addPort({ name: 'g1', type: 'geneve', options: { remote_ip: '127.0.0.2', local_ip: '127.0.0.1', dst_port: String(dstPort), key: '4' } });
  sw.addPort({ name: 'v1', type: 'vxlan', options: { remote_ip: '127.0.0.2', local_ip: '127.0.0.1', dst_port: String(await freePort()), key: '4' } });
  const bfd = (oam: string) => bfdSettings({ enable: 'true', oam, min_tx: '20', min_rx: '20' })!;
  for (const oam of ['true', 'false']) {
    const rx = await receiver('geneve', dstPort, 4, 1, 5);
    sw.monitor.setBfd('g1', bfd(oam));
    sw.monitor.setBfd('v1', bfd(oam)); // no O bit in VXLAN: its header stays as it is (checked in the codec's test)
    const [p] = await rx.done;
    t.ok(p, `oam=${oam}: a BFD packet arrived`);
    const inner = p!.payload.subarray(8);
    t.equal(((inner[36] as number) << 8) | (inner[37] as number), 3784, 'a BFD packet (UDP to 3784) inside');
    t.equal(p!.payload[1], oam === 'true' ? 0x80 : 0, `oam=${oam}: O bit ${oam === 'true' ? 'set' : 'clear'}`);
    sw.monitor.setBfd('g1', null);
    sw.monitor.setBfd('v1', null);
  }
});
