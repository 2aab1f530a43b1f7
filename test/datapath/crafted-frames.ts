/**
 * Frames crafted with scapy (/usr/bin/python3) for the three cases where Open vSwitch 3.1's
 * miniflow_extract and frag handling decide what ofswitch's parser must do: IPv4 fragments, 0x0800
 * frames whose IP version is not 4 or whose header is bad, and 802.1ad (0x88a8) outer tags. Each
 * comes with the OpenFlow 1.0 fields OVS derives for it (checked against OVS itself in
 * test/datapath/parse-compare-ovs.test.ts).
 */
import { execFileSync } from 'node:child_process';

export interface CraftedFrame {
  readonly name: string;
  readonly frame: Uint8Array;
  /** What OVS derives (fields not named: as the frame's untagged/zero defaults below). */
  readonly expect: {
    readonly dlVlan?: number;
    readonly dlVlanPcp?: number;
    readonly dlType: number;
    readonly nwTos?: number;
    readonly nwProto?: number;
    readonly nwSrc?: number;
    readonly nwDst?: number;
    readonly tpSrc?: number;
    readonly tpDst?: number;
  };
}

export const SRC_MAC = '02:00:00:00:00:11';
export const DST_MAC = '02:00:00:00:00:22';
const A = 0x0a000001; // 10.0.0.1
const B = 0x0a000002;

/** name -> scapy expression of the frame; `E` is the Ethernet header, `ip` an IPv4 header 10.0.0.1 -> 10.0.0.2. */
const SCAPY: Record<string, string> = {
  'UDP first fragment (MF, offset 0)': "E/ip(flags='MF', tos=0x28)/UDP(sport=1234, dport=5678)/Raw(b'x'*24)",
  'UDP later fragment': "E/ip(frag=3, proto=17)/Raw(b'x'*24)",
  'UDP last fragment (offset, no MF)': "E/ip(frag=6, proto=17)/Raw(b'x'*8)",
  'TCP first fragment': "E/ip(flags='MF')/TCP(sport=80, dport=443)/Raw(b'x'*16)",
  'ICMP echo first fragment': "E/ip(flags='MF')/ICMP(type=8, code=0)/Raw(b'x'*24)",
  'ICMP later fragment': "E/ip(frag=4, proto=1)/Raw(b'x'*24)",
  'UDP with DF (not a fragment)': "E/ip(flags='DF')/UDP(sport=1234, dport=5678)",
  'IP version 6 in an 0x0800 frame': "E/ip(version=6)/UDP(sport=7, dport=9)",
  'IP version 0 in an 0x0800 frame': "E/ip(version=0, tos=0xfd)/ICMP(type=3, code=1)",
  'IP header length 4 (bad)': "E/ip(ihl=4)/UDP(sport=7, dport=9)",
  'IP header length beyond the frame': "E/ip(ihl=15)/UDP(sport=7, dport=9)",
  'IP total length below the header length': "E/ip(len=19)/UDP(sport=7, dport=9)",
  'IP header cut short': "Raw(bytes(E/ip()/UDP())[:14+16])",
  '802.1ad tag': "Ether(src=S, dst=D)/Dot1AD(vlan=5, prio=3)/ip()/UDP(sport=7, dport=9)",
  '802.1ad priority tag (VID 0)': "Ether(src=S, dst=D)/Dot1AD(vlan=0, prio=5)/ip()/UDP(sport=7, dport=9)",
  '802.1ad then 802.1Q': "Ether(src=S, dst=D)/Dot1AD(vlan=5, prio=3)/Dot1Q(vlan=7, prio=1)/ip()/UDP(sport=7, dport=9)",
  '802.1Q then 802.1Q': "Ether(src=S, dst=D)/Dot1Q(vlan=5, prio=2)/Dot1Q(vlan=7)/ip()/UDP(sport=7, dport=9)",
  '802.1ad tag cut short': "Raw(bytes(Ether(src=S, dst=D, type=0x88a8))+b'\\x60\\x05')",
};

const EXPECT: Record<string, CraftedFrame['expect']> = {
  'UDP first fragment (MF, offset 0)': { dlType: 0x0800, nwTos: 0x28, nwProto: 17, nwSrc: A, nwDst: B, tpSrc: 0, tpDst: 0 },
  'UDP later fragment': { dlType: 0x0800, nwProto: 17, nwSrc: A, nwDst: B },
  'UDP last fragment (offset, no MF)': { dlType: 0x0800, nwProto: 17, nwSrc: A, nwDst: B },
  'TCP first fragment': { dlType: 0x0800, nwProto: 6, nwSrc: A, nwDst: B, tpSrc: 0, tpDst: 0 },
  'ICMP echo first fragment': { dlType: 0x0800, nwProto: 1, nwSrc: A, nwDst: B, tpSrc: 0, tpDst: 0 },
  'ICMP later fragment': { dlType: 0x0800, nwProto: 1, nwSrc: A, nwDst: B },
  'UDP with DF (not a fragment)': { dlType: 0x0800, nwProto: 17, nwSrc: A, nwDst: B, tpSrc: 1234, tpDst: 5678 },
  'IP version 6 in an 0x0800 frame': { dlType: 0x0800, nwProto: 17, nwSrc: A, nwDst: B, tpSrc: 7, tpDst: 9 },
  'IP version 0 in an 0x0800 frame': { dlType: 0x0800, nwTos: 0xfc, nwProto: 1, nwSrc: A, nwDst: B, tpSrc: 3, tpDst: 1 },
  'IP header length 4 (bad)': { dlType: 0x0800 },
  'IP header length beyond the frame': { dlType: 0x0800 },
  'IP total length below the header length': { dlType: 0x0800 },
  'IP header cut short': { dlType: 0x0800 },
  '802.1ad tag': { dlVlan: 5, dlVlanPcp: 3, dlType: 0x0800, nwProto: 17, nwSrc: A, nwDst: B, tpSrc: 7, tpDst: 9 },
  '802.1ad priority tag (VID 0)': { dlVlan: 0, dlVlanPcp: 5, dlType: 0x0800, nwProto: 17, nwSrc: A, nwDst: B, tpSrc: 7, tpDst: 9 },
  '802.1ad then 802.1Q': { dlVlan: 5, dlVlanPcp: 3, dlType: 0x8100 },
  '802.1Q then 802.1Q': { dlVlan: 5, dlVlanPcp: 2, dlType: 0x8100 },
  '802.1ad tag cut short': { dlType: 0x88a8 },
};

let cache: CraftedFrame[] | undefined;

/** Every crafted frame (scapy runs once per process). */
export function craftedFrames(): CraftedFrame[] {
  if (cache) return cache;
  const script = [
    'import json, sys',
    'from scapy.all import Ether, IP, UDP, TCP, ICMP, Raw, Dot1Q, Dot1AD',
    `S, D = ${JSON.stringify(SRC_MAC)}, ${JSON.stringify(DST_MAC)}`,
    'E = Ether(src=S, dst=D)',
    "def ip(**kw): return IP(src='10.0.0.1', dst='10.0.0.2', **kw)",
    `frames = ${JSON.stringify(SCAPY)}`,
    'print(json.dumps({name: bytes(eval(expr)).hex() for name, expr in frames.items()}))',
  ].join('\n');
  const out = JSON.parse(execFileSync('/usr/bin/python3', ['-c', script], { encoding: 'utf8' })) as Record<string, string>;
  cache = Object.keys(SCAPY).map((name) => {
    const hex = out[name];
    const expect = EXPECT[name];
    if (hex === undefined || expect === undefined) throw new Error(`scapy made no frame "${name}"`);
    return { name, frame: Uint8Array.from(Buffer.from(hex, 'hex')), expect };
  });
  return cache;
}
