/**
 * The templates of Open vSwitch's bridge exporter (ofproto-dpif-ipfix.c), element for element: one
 * template per combination of L2 (plain Ethernet or 802.1Q), L3 (other, IPv4, IPv6), L4 (other,
 * TCP, UDP, SCTP, ICMP; only with IP), tunnelled or not, and flow direction (ingress, egress), 88 in
 * all, numbered from 256 as OVS numbers them, and the Options Template of the Exporting Process
 * Reliability Statistics (exportingProcessId scoping notSentPacketTotalCount). Pure data, no I/O.
 *
 * A record of template T carries, in order: the flow key (observation point, direction, MACs,
 * EtherType, Ethernet header length; the ingress interface's index, type, name and description, the
 * egress one's too for egress flows; VLAN; IP version, TTL, protocol, DSCP, precedence, TOS;
 * addresses and flow label; ports or ICMP type and code; tunnel fields), then virtualObsID when
 * configured, then the counters (see record.ts).
 *
 * One deliberate difference from OVS: OVS also sends, after each delta counter, the exporter's
 * running total over all flows under the matching *TotalCount element (packetTotalCount,
 * octetTotalCount, layer2OctetTotalCount, the ingress/egress unicast/multicast/broadcast totals,
 * and for TCP six tcp*TotalCount flag counters). RFC 5102 defines those elements per flow, and
 * collectors read them so: nfdump takes packetTotalCount and octetTotalCount as the flow's packets
 * and bytes, and reports OVS's exporter-wide totals in their place. ofswitch leaves them out, and
 * sends the flow's TCP flags as tcpControlBits (the union over its packets) instead.
 */
import { IE, IPFIX_TEMPLATE_ID_MIN, EGRESS_FLOW, type InformationElement } from './constants.js';

export const L2 = { ETH: 0, VLAN: 1 } as const;
export const L3 = { UNKNOWN: 0, IPV4: 1, IPV6: 2 } as const;
export const L4 = { UNKNOWN: 0, TCP: 1, UDP: 2, SCTP: 3, ICMP: 4 } as const;
const NUM_L2 = 2;
const NUM_L3 = 3;
const NUM_L4 = 5;
const NUM_TUNNEL = 2;
const NUM_DIRECTION = 2;

/** OVS's ipfix_get_template_id. */
export function templateId(l2: number, l3: number, l4: number, tunnel: number, direction: number): number {
  return IPFIX_TEMPLATE_ID_MIN + ((((l2 * NUM_L3 + l3) * NUM_L4 + l4) * NUM_TUNNEL + tunnel) * NUM_DIRECTION + direction);
}

/** The Options Template's ID: the one after the highest template combination (OVS: 462). */
export const OPTIONS_TEMPLATE_ID_EXPORTER_STATS = templateId(NUM_L2, NUM_L3, NUM_L4, NUM_TUNNEL, NUM_DIRECTION);

/** The elements of template (l2, l3, l4, tunnel, direction), in record order. */
export function templateFields(l2: number, l3: number, l4: number, tunnel: number, direction: number, virtualObsId: boolean): InformationElement[] {
  const f: InformationElement[] = [IE.OBSERVATION_POINT_ID, IE.FLOW_DIRECTION, IE.SOURCE_MAC_ADDRESS, IE.DESTINATION_MAC_ADDRESS, IE.ETHERNET_TYPE, IE.ETHERNET_HEADER_LENGTH,
    IE.INGRESS_INTERFACE, IE.INGRESS_INTERFACE_TYPE, IE.INTERFACE_NAME, IE.INTERFACE_DESCRIPTION];
  if (direction === EGRESS_FLOW) f.push(IE.EGRESS_INTERFACE, IE.EGRESS_INTERFACE_TYPE, IE.INTERFACE_NAME, IE.INTERFACE_DESCRIPTION);
  if (l2 === L2.VLAN) f.push(IE.VLAN_ID, IE.DOT1Q_VLAN_ID, IE.DOT1Q_PRIORITY);
  const ports = l4 === L4.TCP || l4 === L4.UDP || l4 === L4.SCTP;
  if (l3 !== L3.UNKNOWN) {
    f.push(IE.IP_VERSION, IE.IP_TTL, IE.PROTOCOL_IDENTIFIER, IE.IP_DIFF_SERV_CODE_POINT, IE.IP_PRECEDENCE, IE.IP_CLASS_OF_SERVICE);
    if (l3 === L3.IPV4) {
      f.push(IE.SOURCE_IPV4_ADDRESS, IE.DESTINATION_IPV4_ADDRESS);
      if (ports) f.push(IE.SOURCE_TRANSPORT_PORT, IE.DESTINATION_TRANSPORT_PORT);
      else if (l4 === L4.ICMP) f.push(IE.ICMP_TYPE_IPV4, IE.ICMP_CODE_IPV4);
    } else {
      f.push(IE.SOURCE_IPV6_ADDRESS, IE.DESTINATION_IPV6_ADDRESS, IE.FLOW_LABEL_IPV6);
      if (ports) f.push(IE.SOURCE_TRANSPORT_PORT, IE.DESTINATION_TRANSPORT_PORT);
      else if (l4 === L4.ICMP) f.push(IE.ICMP_TYPE_IPV6, IE.ICMP_CODE_IPV6);
    }
  }
  if (tunnel !== 0) {
    f.push(IE.TUNNEL_SOURCE_IPV4_ADDRESS, IE.TUNNEL_DESTINATION_IPV4_ADDRESS, IE.TUNNEL_PROTOCOL_IDENTIFIER, IE.TUNNEL_SOURCE_TRANSPORT_PORT,
      IE.TUNNEL_DESTINATION_TRANSPORT_PORT, IE.TUNNEL_TYPE, IE.TUNNEL_KEY);
  }
  if (virtualObsId) f.push(IE.VIRTUAL_OBS_ID);
  f.push(IE.FLOW_START_DELTA_MICROSECONDS, IE.FLOW_END_DELTA_MICROSECONDS, IE.DROPPED_PACKET_DELTA_COUNT, IE.PACKET_DELTA_COUNT,
    IE.POST_MCAST_PACKET_DELTA_COUNT, IE.LAYER2_OCTET_DELTA_COUNT, IE.FLOW_END_REASON);
  if (l3 !== L3.UNKNOWN) {
    f.push(IE.DROPPED_OCTET_DELTA_COUNT, IE.OCTET_DELTA_COUNT, IE.OCTET_DELTA_SUM_OF_SQUARES, IE.MINIMUM_IP_TOTAL_LENGTH, IE.MAXIMUM_IP_TOTAL_LENGTH,
      IE.POST_MCAST_OCTET_DELTA_COUNT);
  }
  if (l4 === L4.TCP) f.push(IE.TCP_CONTROL_BITS);
  return f;
}

export interface Template {
  readonly id: number;
  readonly fields: readonly InformationElement[];
}

/** Every template in OVS's order (L2, L3, L4, tunnel, direction; L4 other than "unknown" only with IP). */
export function allTemplates(virtualObsId: boolean): Template[] {
  const out: Template[] = [];
  for (let l2 = 0; l2 < NUM_L2; l2++)
    for (let l3 = 0; l3 < NUM_L3; l3++)
      for (let l4 = 0; l4 < NUM_L4; l4++) {
        if (l3 === L3.UNKNOWN && l4 !== L4.UNKNOWN) continue;
        for (let tunnel = 0; tunnel < NUM_TUNNEL; tunnel++)
          for (let dir = 0; dir < NUM_DIRECTION; dir++) out.push({ id: templateId(l2, l3, l4, tunnel, dir), fields: templateFields(l2, l3, l4, tunnel, dir, virtualObsId) });
      }
  return out;
}

/** The Options Template: scope exportingProcessId, then notSentPacketTotalCount. */
export const EXPORTER_STATS_OPTIONS_TEMPLATE = { id: OPTIONS_TEMPLATE_ID_EXPORTER_STATS, scope: [IE.EXPORTING_PROCESS_ID], fields: [IE.NOT_SENT_PACKET_TOTAL_COUNT] } as const;
