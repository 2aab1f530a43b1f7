/**
 * A frame as Open vSwitch 3.1's flow_format prints the flow of a packet, for the `Flow:` and
 * `Final flow:` lines of ofproto/trace: the protocol shorthand (ip, icmp, tcp, udp, sctp, arp,
 * rarp; ipv6, icmp6, tcp6, udp6, sctp6), in_port, the VLAN (`vlan_tci=0x0000` untagged,
 * `dl_vlan=,dl_vlan_pcp=,vlan_tci1=0x0000` tagged), dl_src, dl_dst, dl_type when there is no
 * shorthand, then the network fields (nw_src, nw_dst, nw_proto for plain ip, nw_tos, nw_ecn,
 * nw_ttl, nw_frag) and the transport ones (tp_src/tp_dst, tcp_flags; icmp_type/icmp_code), or
 * ARP's (arp_spa, arp_tpa, arp_op, arp_sha, arp_tha), each in OVS's order. The fields come from
 * parseFrame (the flow key the switch itself matches on) and, for those an OpenFlow 1.0 key lacks
 * (TTL, ECN, TCP flags, ARP hardware addresses, IPv6 addresses), from the frame's headers.
 */
import { newFlowKey, unpackFlowKey } from '../../flowtable/flow-key.js';
import { ETH_TYPE, IPPROTO, OFP_VLAN_NONE, OFPP } from '../../protocol/constants.js';
import { formatIpv4 } from '../../protocol/flow-format.js';
import { L3, newFrameLayout, parseFrame } from '../frame-parser.js';

const TCP_FLAG_NAMES = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ece', 'cwr', 'ns'];

/** in_port as OVS prints it: a number, or a reserved port's name. */
export function formatInPort(port: number): string {
  if (port < OFPP.MAX) return String(port);
  for (const [name, value] of Object.entries(OFPP)) if (value === port) return name;
  return String(port);
}

function hex(v: number, digits: number): string {
  return '0x' + v.toString(16).padStart(digits, '0');
}

function macText(f: Uint8Array, o: number): string {
  return [...f.subarray(o, o + 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** An IPv6 address as inet_ntop writes it (the longest run of two or more zero groups as ::). */
export function formatIpv6(f: Uint8Array, o: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((((f[o + 2 * i] ?? 0) << 8) | (f[o + 2 * i + 1] ?? 0)) >>> 0);
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const text = (g: number[]): string => g.map((x) => x.toString(16)).join(':');
  if (bestAt < 0) return text(groups);
  return `${text(groups.slice(0, bestAt))}::${text(groups.slice(bestAt + bestLen))}`;
}

/**
 * The flow of `frame` received on `inPort`, as flow_format prints it. `dlType`: the dl_type of the
 * traced flow when its frame cannot carry it (below 0x0600), in place of the 0x05ff it parses to.
 */
export function formatFlow(frame: Uint8Array, inPort: number, dlType: number | null = null): string {
  const key = newFlowKey();
  const layout = parseFrame(frame, inPort & 0xffff, key, newFrameLayout());
  const k = unpackFlowKey(key);
  if (dlType !== null) k.dlType = dlType;
  const parts: string[] = [];
  const ipv4 = layout.l3Kind === L3.IPV4;
  const ipv6 = layout.l3Kind === L3.IPV6;
  const proto = k.nwProto;
  const l4Named = proto === IPPROTO.ICMP || proto === IPPROTO.TCP || proto === IPPROTO.UDP || proto === IPPROTO.SCTP;
  let shorthand: string | null = null;
  if (k.dlType === ETH_TYPE.IP) shorthand = ipv4 ? ({ 1: 'icmp', 6: 'tcp', 17: 'udp', 132: 'sctp' } as Record<number, string>)[proto] ?? 'ip' : 'ip';
  else if (k.dlType === ETH_TYPE.IPV6)
    shorthand = ({ 58: 'icmp6', 6: 'tcp6', 17: 'udp6', 132: 'sctp6' } as Record<number, string>)[proto] ?? 'ipv6';
  else if (k.dlType === ETH_TYPE.ARP) shorthand = 'arp';
  else if (k.dlType === ETH_TYPE.RARP) shorthand = 'rarp';
  if (shorthand !== null) parts.push(shorthand);
  parts.push(`in_port=${formatInPort(inPort)}`);
  if (k.dlVlan === OFP_VLAN_NONE) parts.push('vlan_tci=0x0000');
  else parts.push(`dl_vlan=${k.dlVlan}`, `dl_vlan_pcp=${k.dlVlanPcp}`, 'vlan_tci1=0x0000');
  parts.push(`dl_src=${k.dlSrc}`, `dl_dst=${k.dlDst}`);
  if (shorthand === null) parts.push(`dl_type=${hex(k.dlType, 4)}`);
  const l3 = layout.l3Offset;
  if (shorthand === 'arp' || shorthand === 'rarp') {
    const arp = layout.l3Kind === L3.ARP;
    parts.push(`arp_spa=${formatIpv4(k.nwSrc)}`, `arp_tpa=${formatIpv4(k.nwDst)}`, `arp_op=${k.nwProto}`);
    parts.push(`arp_sha=${arp ? macText(frame, l3 + 8) : '00:00:00:00:00:00'}`, `arp_tha=${arp ? macText(frame, l3 + 18) : '00:00:00:00:00:00'}`);
  } else if (ipv4 || ipv6 || shorthand === 'ip') {
    let ecn = 0;
    let ttl = 0;
    if (ipv4) {
      ecn = (frame[l3 + 1] ?? 0) & 3;
      ttl = frame[l3 + 8] ?? 0;
      parts.push(`nw_src=${formatIpv4(k.nwSrc)}`, `nw_dst=${formatIpv4(k.nwDst)}`);
    } else if (ipv6) {
      ecn = ((frame[l3 + 1] ?? 0) >>> 4) & 3;
      ttl = frame[l3 + 7] ?? 0;
      const label = (((frame[l3 + 1] ?? 0) & 0x0f) << 16) | ((frame[l3 + 2] ?? 0) << 8) | (frame[l3 + 3] ?? 0);
      parts.push(`ipv6_src=${formatIpv6(frame, l3 + 8)}`, `ipv6_dst=${formatIpv6(frame, l3 + 24)}`, `ipv6_label=${hex(label, 5)}`);
    } else {
      parts.push('nw_src=0.0.0.0', 'nw_dst=0.0.0.0');
    }
    if (shorthand === 'ip' || shorthand === 'ipv6') parts.push(`nw_proto=${proto}`);
    const frag = !layout.fragment ? 'no' : layout.l4Offset >= 0 ? 'first' : 'later';
    parts.push(`nw_tos=${k.nwTos}`, `nw_ecn=${ecn}`, `nw_ttl=${ttl}`, `nw_frag=${frag}`);
    if (l4Named || proto === IPPROTO.ICMPV6) {
      if (proto === IPPROTO.ICMP || proto === IPPROTO.ICMPV6) parts.push(`icmp_type=${k.tpSrc}`, `icmp_code=${k.tpDst}`);
      else parts.push(`tp_src=${k.tpSrc}`, `tp_dst=${k.tpDst}`);
      if (proto === IPPROTO.TCP) {
        const l4 = layout.l4Offset;
        const flags = l4 >= 0 && !layout.fragment ? (((frame[l4 + 12] ?? 0) & 1) << 8) | (frame[l4 + 13] ?? 0) : 0;
        parts.push(`tcp_flags=${flags === 0 ? '0' : TCP_FLAG_NAMES.filter((_, i) => (flags & (1 << i)) !== 0).join('|')}`);
      }
    }
  }
  return parts.join(',');
}
