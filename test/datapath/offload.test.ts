/**
 * Completing partial checksums and segmenting GSO super-frames (datapath/offload.ts), checked
 * against checksums recomputed from scratch (frames.ts).
 */
import t from 'tap';
import { completeChecksum, segmentTcp } from '../../datapath/offload.js';
import { checksumProblems, ethFrame, icmpMessage, ipv4Packet, ipv6Packet, tcpSegment, udpDatagram, withL4Checksum4, withL4Checksum6 } from './frames.js';

/** Overwrites the L4 checksum with a partial value, as a sender's tx offload leaves it. */
function partial(frame: Uint8Array, at: number): Uint8Array {
  frame[at] = 0x12;
  frame[at + 1] = 0x34;
  return frame;
}

t.test('completeChecksum: TCP and UDP over IPv4 and IPv6, tagged or not', async (t) => {
  const cases: [string, Uint8Array, number, number][] = [
    ['tcp/ipv4', ethFrame(0x0800, withL4Checksum4(ipv4Packet({ proto: 6 }, tcpSegment(1, 2, [1, 2, 3, 4, 5])))), 14, 14 + 20 + 16],
    ['udp/ipv4', ethFrame(0x0800, withL4Checksum4(ipv4Packet({ proto: 17 }, udpDatagram(1, 2)))), 14, 14 + 20 + 6],
    ['tcp/ipv6', ethFrame(0x86dd, withL4Checksum6(ipv6Packet(6, tcpSegment(3, 4)))), 14, 14 + 40 + 16],
    ['udp/ipv6', ethFrame(0x86dd, withL4Checksum6(ipv6Packet(17, udpDatagram(3, 4)))), 14, 14 + 40 + 6],
    [
      'tcp/ipv4 in a VLAN, IP options',
      ethFrame(0x0800, withL4Checksum4(ipv4Packet({ proto: 6, options: [1, 1, 1, 0] }, tcpSegment(5, 6))), { vlan: { vid: 9 } }),
      18,
      18 + 24 + 16,
    ],
  ];
  for (const [name, good, l3, at] of cases) {
    const f = partial(good.slice(), at);
    t.not(checksumProblems(f, l3).length, 0, `${name}: broken first`);
    t.ok(completeChecksum(f), name);
    t.same(checksumProblems(f, l3), [], `${name}: right after`);
    t.same(f, good, `${name}: the same bytes as computed from scratch`);
  }
});

t.test('completeChecksum: Ethernet padding is not summed; a UDP sum of 0 is sent as 0xffff', async (t) => {
  const good = ethFrame(0x0800, withL4Checksum4(ipv4Packet({ proto: 17 }, udpDatagram(1, 2, [])))); // 42 bytes
  const padded = Uint8Array.from([...good, ...new Array(18).fill(0xee)]);
  completeChecksum(partial(padded, 14 + 20 + 6));
  t.same(padded.subarray(0, good.length), good);
  // Find a payload word that makes the sum come out 0, then check it is written as 0xffff.
  for (let w = 0; w < 0x10000; w++) {
    const f = ethFrame(0x0800, ipv4Packet({ proto: 17 }, udpDatagram(1, 2, [w >>> 8, w & 0xff])));
    completeChecksum(f);
    if (f[40] === 0xff && f[41] === 0xff) {
      t.same(checksumProblems(f, 14), [], `payload word ${w.toString(16)}: 0xffff`);
      return;
    }
  }
  t.fail('no payload word gave a zero sum');
});

t.test('completeChecksum leaves frames without a TCP/UDP segment alone', async (t) => {
  const frames = [
    ethFrame(0x0800, ipv4Packet({ proto: 1 }, icmpMessage(8, 0))),
    ethFrame(0x0806, new Array(28).fill(0)),
    ethFrame(0x0800, ipv4Packet({ proto: 6, moreFragments: true }, tcpSegment(1, 2))),
    new Uint8Array(10),
  ];
  for (const f of frames) {
    const before = f.slice();
    t.notOk(completeChecksum(f));
    t.same(f, before);
  }
});

/** A TCP super-frame with `payload` bytes, flags PSH|ACK|FIN|CWR, seq 1000, and a partial checksum. */
function superFrame(v6: boolean, payload: number): Uint8Array {
  const data = Array.from({ length: payload }, (_, i) => (i * 7) & 0xff);
  const seg = tcpSegment(40000, 5201, data);
  seg[4] = 0;
  seg[5] = 0;
  seg[6] = 0x03;
  seg[7] = 0xe8; // seq 1000
  seg[13] = 0x80 | 0x10 | 0x08 | 0x01; // CWR ACK PSH FIN
  return v6 ? ethFrame(0x86dd, ipv6Packet(6, seg)) : ethFrame(0x0800, ipv4Packet({ proto: 6 }, seg));
}

t.test('segmentTcp cuts a super-frame into MSS-sized frames with lengths, ids, seqs, flags and checksums right', async (t) => {
  for (const v6 of [false, true]) {
    const name = v6 ? 'ipv6' : 'ipv4';
    const l4 = v6 ? 14 + 40 : 14 + 20;
    const big = superFrame(v6, 3000);
    const segs: Uint8Array[] = [];
    t.equal(segmentTcp(big, 1448, (s) => segs.push(s.slice())), 3, `${name}: 1448 + 1448 + 104`);
    t.same(segs.map((s) => s.length - l4 - 20), [1448, 1448, 104]);
    const payload: number[] = [];
    segs.forEach((s, i) => {
      t.same(checksumProblems(s, 14), [], `${name} segment ${i}: checksums`);
      const seq = ((s[l4 + 4] as number) << 24) | ((s[l4 + 5] as number) << 16) | ((s[l4 + 6] as number) << 8) | (s[l4 + 7] as number);
      t.equal(seq, 1000 + i * 1448, `${name} segment ${i}: seq`);
      const flags = s[l4 + 13] as number;
      t.equal(flags & 0x09, i === 2 ? 0x09 : 0, `${name} segment ${i}: FIN and PSH on the last only`);
      t.equal(flags & 0x80, i === 0 ? 0x80 : 0, `${name} segment ${i}: CWR on the first only`);
      t.equal(flags & 0x10, 0x10, 'ACK on all');
      if (!v6) t.equal(((s[18] as number) << 8) | (s[19] as number), 0x1234 + i, 'IPv4 id counts up');
      payload.push(...s.subarray(l4 + 20));
    });
    t.same(payload, Array.from(big.subarray(l4 + 20)), `${name}: the payload, in order, whole`);
  }
});

t.test('segmentTcp: a frame within one segment comes out as itself; non-TCP frames are refused', async (t) => {
  const small = superFrame(false, 100);
  const out: Uint8Array[] = [];
  t.equal(segmentTcp(small, 1448, (s) => out.push(s.slice())), 1);
  t.same(checksumProblems(out[0]!, 14), []);
  t.equal(out[0]!.length, small.length);
  const udp = ethFrame(0x0800, ipv4Packet({ proto: 17 }, udpDatagram(1, 2)));
  t.equal(segmentTcp(udp, 1448, () => t.fail('nothing emitted')), 0);
  t.equal(segmentTcp(small, 0, () => t.fail('nothing emitted')), 0, 'no segment size');
});
