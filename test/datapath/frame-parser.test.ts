import t from 'tap';
import { newFlowKey, unpackFlowKey } from '../../flowtable/flow-key.js';
import { L3, parseFrame } from '../../datapath/frame-parser.js';
import {
  ethFrame, icmpMessage, ipv4Packet, ipv6, ipv6Packet, tcpSegment, udpDatagram, withL4Checksum4,
} from './frames.js';
import { craftedFrames, DST_MAC, SRC_MAC } from './crafted-frames.js';

function parse(frame: Uint8Array, inPort = 3) {
  const key = newFlowKey();
  const layout = parseFrame(frame, inPort, key);
  return { f: unpackFlowKey(key), layout };
}

t.test('IPv4 TCP: every field, untagged is dl_vlan 0xffff pcp 0, nw_tos drops the ECN bits', async (t) => {
  const frame = ethFrame(0x0800, withL4Checksum4(ipv4Packet({ proto: 6, tos: 0xbb, src: 0xc0a80001, dst: 0xc0a80002 }, tcpSegment(1234, 80))), { src: '0a:00:00:00:00:01', dst: 'ff:ff:ff:ff:ff:fe' });
  const { f, layout } = parse(frame);
  t.same(f, {
    inPort: 3, dlVlan: 0xffff, dlVlanPcp: 0, dlSrc: '0a:00:00:00:00:01', dlDst: 'ff:ff:ff:ff:ff:fe', dlType: 0x0800,
    nwTos: 0xb8, nwProto: 6, nwSrc: 0xc0a80001, nwDst: 0xc0a80002, tpSrc: 1234, tpDst: 80,
  });
  t.same(layout, { vlanOffset: -1, l3Offset: 14, l3Kind: L3.IPV4, l4Offset: 34, l4Proto: 6, fragment: false });
});

t.test('802.1Q tag: vid and pcp, type from inside the tag, offsets shifted', async (t) => {
  const frame = ethFrame(0x0800, ipv4Packet({ proto: 17 }, udpDatagram(53, 5353)), { vlan: { vid: 100, pcp: 5 } });
  const { f, layout } = parse(frame);
  t.equal(f.dlVlan, 100);
  t.equal(f.dlVlanPcp, 5);
  t.equal(f.dlType, 0x0800);
  t.equal(f.tpSrc, 53);
  t.equal(f.tpDst, 5353);
  t.equal(layout.vlanOffset, 12);
  t.equal(layout.l3Offset, 18);
});

t.test('IPv4 options move the L4 header', async (t) => {
  const { f, layout } = parse(ethFrame(0x0800, ipv4Packet({ proto: 6, options: [1, 1, 1, 0, 0x94, 4, 0, 0] }, tcpSegment(7, 8))));
  t.equal(layout.l4Offset, 14 + 28);
  t.equal(f.tpSrc, 7);
  t.equal(f.tpDst, 8);
});

t.test('ICMP type and code go in tp_src and tp_dst', async (t) => {
  const { f } = parse(ethFrame(0x0800, ipv4Packet({ proto: 1 }, icmpMessage(8, 3))));
  t.equal(f.nwProto, 1);
  t.equal(f.tpSrc, 8);
  t.equal(f.tpDst, 3);
});

t.test('fragments: the first keeps its L4 header (for actions) but not its ports (frags=normal), later ones have none', async (t) => {
  const first = parse(ethFrame(0x0800, ipv4Packet({ proto: 17, moreFragments: true }, udpDatagram(1, 2))));
  t.equal(first.f.tpSrc, 0);
  t.equal(first.f.tpDst, 0);
  t.equal(first.layout.l4Offset, 34);
  t.ok(first.layout.fragment);
  const later = parse(ethFrame(0x0800, ipv4Packet({ proto: 17, fragOffset: 10 }, udpDatagram(1, 2))));
  t.equal(later.f.tpSrc, 0);
  t.equal(later.f.tpDst, 0);
  t.equal(later.f.nwProto, 17);
  t.equal(later.f.nwSrc, 0x0a000001);
  t.equal(later.layout.l4Offset, -1);
  t.ok(later.layout.fragment);
});

t.test('ARP: opcode in nw_proto, sender and target IP in nw_src and nw_dst', async (t) => {
  const arp = [0, 1, 8, 0, 6, 4, 0, 2, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 2, 0, 0, 0, 0, 2, 10, 0, 0, 2];
  const { f, layout } = parse(ethFrame(0x0806, arp));
  t.equal(f.nwProto, 2);
  t.equal(f.nwSrc, 0x0a000001);
  t.equal(f.nwDst, 0x0a000002);
  t.equal(layout.l3Kind, L3.ARP);
  const bad = parse(ethFrame(0x0806, arp.slice(0, 20)));
  t.equal(bad.f.nwProto, 0, 'truncated ARP leaves nw fields zero');
  t.equal(bad.f.dlType, 0x0806);
});

t.test('802.3: SNAP gives its type, plain LLC is 0x05ff', async (t) => {
  const snap = parse(ethFrame(50, [0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00, ...ipv4Packet({ proto: 6 }, tcpSegment(5, 6))]));
  t.equal(snap.f.dlType, 0x0800);
  t.equal(snap.f.tpDst, 6);
  t.equal(snap.layout.l3Offset, 22);
  const llc = parse(ethFrame(50, [0x42, 0x42, 0x03, 0, 0, 0, 0, 0]));
  t.equal(llc.f.dlType, 0x05ff);
  const otherOui = parse(ethFrame(50, [0xaa, 0xaa, 0x03, 0, 0, 0x0c, 0x20, 0x00]));
  t.equal(otherOui.f.dlType, 0x05ff);
});

t.test('IPv6: traffic class as nw_tos, next header as nw_proto, ports, no addresses', async (t) => {
  const tcp6 = parse(ethFrame(0x86dd, ipv6Packet(6, tcpSegment(4000, 443), 0xb9)));
  t.equal(tcp6.f.dlType, 0x86dd);
  t.equal(tcp6.f.nwTos, 0xb8);
  t.equal(tcp6.f.nwProto, 6);
  t.equal(tcp6.f.nwSrc, 0);
  t.equal(tcp6.f.nwDst, 0);
  t.equal(tcp6.f.tpSrc, 4000);
  t.equal(tcp6.f.tpDst, 443);
  t.equal(tcp6.layout.l3Kind, L3.IPV6);
  const icmp6 = parse(ethFrame(0x86dd, ipv6Packet(58, [135, 0, 0, 0, 0, 0, 0, 0])));
  t.equal(icmp6.f.tpSrc, 135);
  // A hop-by-hop header is skipped to find UDP.
  const hbh = parse(ethFrame(0x86dd, ipv6Packet(0, [17, 0, 1, 4, 0, 0, 0, 0, ...udpDatagram(11, 22)])));
  t.equal(hbh.f.nwProto, 17);
  t.equal(hbh.f.tpDst, 22);
  // A later fragment: no ports, nw_proto IPPROTO_FRAGMENT as OVS has it.
  const frag = parse(ethFrame(0x86dd, ipv6Packet(44, [17, 0, 0, 0x10, 0, 0, 0, 1, ...udpDatagram(11, 22)])));
  t.equal(frag.f.nwProto, 44);
  t.equal(frag.f.tpSrc, 0);
  t.ok(frag.layout.fragment);
  t.same(ipv6('fd00::1').length, 16);
});

t.test('truncations leave later fields zero', async (t) => {
  const full = ethFrame(0x0800, withL4Checksum4(ipv4Packet({ proto: 6 }, tcpSegment(1234, 80, []))), { vlan: { vid: 7 } });
  for (let n = 0; n <= full.length; n++) {
    const { f } = parse(full.subarray(0, n));
    if (n < 18 + 20) t.equal(f.nwSrc, 0, `no nw_src at ${n}`);
    if (n < full.length) t.equal(f.tpSrc, 0, `no tp_src at ${n}`);
  }
  t.equal(parse(full.subarray(0, 16)).f.dlType, 0x8100, 'a tag cut short is not a tag');
  t.equal(parse(full.subarray(0, 8)).f.dlDst, '02:00:00:00:00:02');
  t.equal(parse(full).f.tpSrc, 1234);
  // IPv4 total length beyond the frame: no network fields.
  const lying = ethFrame(0x0800, ipv4Packet({ proto: 6 }, tcpSegment(1, 2)));
  lying[17] = 0xff;
  t.equal(parse(lying).f.nwProto, 0);
  // IPv4 padding after total length does not count as L4.
  const padded = ethFrame(0x0800, [...ipv4Packet({ proto: 6 }, []), ...new Array(30).fill(0)]);
  t.equal(parse(padded).layout.l4Offset, -1);
});

t.test('a storm of random and mangled frames never throws', async (t) => {
  const key = newFlowKey();
  const seeds = [
    ethFrame(0x0800, ipv4Packet({ proto: 6 }, tcpSegment(1, 2)), { vlan: { vid: 1 } }),
    ethFrame(0x86dd, ipv6Packet(0, [44, 0, 1, 4, 0, 0, 0, 0, 17, 0, 0, 0, 0, 0, 0, 0, ...udpDatagram(1, 2)])),
    ethFrame(40, [0xaa, 0xaa, 3, 0, 0, 0, 0x86, 0xdd, ...ipv6Packet(60, [6, 200, 0, 0])]),
  ];
  let state = 12345;
  const rand = (n: number): number => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state % n;
  };
  let parsed = 0;
  for (let i = 0; i < 100_000; i++) {
    const seed = seeds[i % seeds.length] as Uint8Array;
    const f = i % 4 === 0 ? new Uint8Array(rand(120)).map(() => rand(256)) : seed.slice(0, rand(seed.length + 1));
    for (let k = rand(4); k > 0 && f.length > 0; k--) f[rand(f.length)] = rand(256);
    parseFrame(f, i & 0xffff, key);
    parsed++;
  }
  t.equal(parsed, 100_000);
});

t.test('SCTP ports are tp_src/tp_dst (as Open vSwitch matches them); a short SCTP header leaves them zero', async (t) => {
  const sctp = [0x0b, 0xb8, 0x0f, 0xa0, 0, 0, 0, 1, 0, 0, 0, 0]; // ports 3000 -> 4000, tag, crc
  const { f } = parse(ethFrame(0x0800, ipv4Packet({ proto: 132 }, sctp)));
  t.match(f, { nwProto: 132, tpSrc: 3000, tpDst: 4000 });
  const short = parse(ethFrame(0x0800, ipv4Packet({ proto: 132 }, sctp.slice(0, 8))));
  t.match(short.f, { nwProto: 132, tpSrc: 0, tpDst: 0 });
});

t.test('crafted frames (scapy): fragments, IP versions and bad headers, 802.1ad tags, as OVS derives them', async (t) => {
  const frames = craftedFrames();
  t.ok(frames.length >= 18, 'scapy made the frames');
  for (const { name, frame, expect } of frames) {
    const { f, layout } = parse(frame, 1);
    const want = {
      inPort: 1, dlVlan: expect.dlVlan ?? 0xffff, dlVlanPcp: expect.dlVlanPcp ?? 0, dlSrc: SRC_MAC, dlDst: DST_MAC, dlType: expect.dlType,
      nwTos: expect.nwTos ?? 0, nwProto: expect.nwProto ?? 0, nwSrc: expect.nwSrc ?? 0, nwDst: expect.nwDst ?? 0,
      tpSrc: expect.tpSrc ?? 0, tpDst: expect.tpDst ?? 0,
    };
    t.same(f, want, name);
    t.equal(layout.vlanOffset, expect.dlVlan !== undefined ? 12 : -1, `${name}: tag offset`);
  }
  const byName = new Map(frames.map((c) => [c.name, c]));
  const first = parse(byName.get('UDP first fragment (MF, offset 0)')!.frame);
  t.equal(first.layout.l4Offset, 34, 'a first fragment keeps its L4 header for actions');
  t.ok(first.layout.fragment);
  t.equal(parse(byName.get('UDP later fragment')!.frame).layout.l4Offset, -1, 'a later one has none');
  t.equal(parse(byName.get('IP version 6 in an 0x0800 frame')!.frame).layout.l3Kind, L3.IPV4, 'version 6 in 0x0800: IPv4 all the same');
  t.equal(parse(byName.get('IP header length 4 (bad)')!.frame).layout.l3Kind, L3.NONE, 'a bad header: no network layer');
});

t.test('TCP: the ports only when the header its data offset gives is all there', async (t) => {
  const ok = parse(ethFrame(0x0800, ipv4Packet({ proto: 6 }, tcpSegment(1, 2))));
  t.equal(ok.f.tpSrc, 1);
  const seg = tcpSegment(1, 2);
  seg[12] = 0x40; // data offset 4 words: below the minimum
  t.equal(parse(ethFrame(0x0800, ipv4Packet({ proto: 6 }, seg))).f.tpSrc, 0, 'data offset below 5');
  seg[12] = 0xf0; // 60 bytes, more than the segment
  t.equal(parse(ethFrame(0x0800, ipv4Packet({ proto: 6 }, seg))).f.tpSrc, 0, 'data offset beyond the segment');
});

t.test('IPv6 fragments: no ports for the first, nw_proto 44 for later ones; offset 0 without M is no fragment', async (t) => {
  const first = parse(ethFrame(0x86dd, ipv6Packet(44, [17, 0, 0, 1, 0, 0, 0, 1, ...udpDatagram(11, 22)])));
  t.equal(first.f.nwProto, 17);
  t.equal(first.f.tpSrc, 0);
  t.equal(first.f.tpDst, 0);
  t.ok(first.layout.fragment);
  t.ok(first.layout.l4Offset > 0);
  const atomic = parse(ethFrame(0x86dd, ipv6Packet(44, [17, 0, 0, 0, 0, 0, 0, 1, ...udpDatagram(11, 22)])));
  t.equal(atomic.f.tpSrc, 11, 'an atomic fragment is a whole packet');
  t.notOk(atomic.layout.fragment);
});
