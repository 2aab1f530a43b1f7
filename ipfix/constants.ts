/**
 * IPFIX constants: RFC 7011's message format, RFC 5102/IANA Information Element numbers and sizes,
 * and the values Open vSwitch's bridge exporter (ofproto/ofproto-dpif-ipfix.c) uses, under OVS's
 * names.
 */
export const IPFIX_VERSION = 0x000a;
/** Bytes of the message header (version, length, export time, sequence number, observation domain). */
export const IPFIX_HEADER_LEN = 16;
/** Bytes of a set header (set id, length). */
export const IPFIX_SET_HEADER_LEN = 4;
export const IPFIX_SET_ID_TEMPLATE = 2;
export const IPFIX_SET_ID_OPTION_TEMPLATE = 3;
/** Template IDs start here (RFC 7011 3.4.1). */
export const IPFIX_TEMPLATE_ID_MIN = 256;
/** Seconds between template resends over UDP (RFC 7011 10.3.6, OVS's IPFIX_TEMPLATE_INTERVAL). */
export const IPFIX_TEMPLATE_INTERVAL = 600;
/** A message is closed once it reaches this many bytes (OVS's MAX_MESSAGE_LEN, for low MTUs). */
export const IPFIX_MAX_MESSAGE_LEN = 1024;
/** The port of a target given without one (RFC 7011 10.3.4; OVS's IPFIX_DEFAULT_COLLECTOR_PORT). */
export const IPFIX_DEFAULT_COLLECTOR_PORT = 4739;
/** One packet in this many is sampled when the row leaves `sampling` empty (vswitch.xml). */
export const IPFIX_DEFAULT_SAMPLING = 400;
/** Longest other_config:virtual_obs_id (OVS's IPFIX_VIRTUAL_OBS_MAX_LEN). */
export const IPFIX_VIRTUAL_OBS_MAX_LEN = 254;
/** Longest interfaceName and interfaceDescription values (OVS's MAX_IF_NAME_LEN, MAX_IF_DESCR_LEN). */
export const MAX_IF_NAME_LEN = 64;
export const MAX_IF_DESCR_LEN = 128;
/** Enterprise number of OVS's own elements (tunnel fields, virtualObsID): VMware. */
export const IPFIX_ENTERPRISE_VMWARE = 6876;
/** UDP destination ports of BFD control and echo packets, which OVS never samples (RFC 5881). */
export const BFD_CONTROL_DEST_PORT = 3784;
export const BFD_ECHO_DEST_PORT = 3785;

/** flowEndReason values (RFC 5102 5.11.3). */
export const FLOW_END_REASON = { IDLE_TIMEOUT: 1, ACTIVE_TIMEOUT: 2, END_OF_FLOW_DETECTED: 3, FORCED_END: 4, LACK_OF_RESOURCES: 5 } as const;
/** flowDirection values (RFC 5102 5.11.6). */
export const INGRESS_FLOW = 0;
export const EGRESS_FLOW = 1;

/** An Information Element: its number, its length in a template (0: variable), its enterprise (0: IANA). */
export interface InformationElement {
  readonly id: number;
  readonly size: number;
  readonly enterprise: number;
}
const ie = (id: number, size: number, enterprise = 0): InformationElement => ({ id, size, enterprise });

/**
 * The elements OVS's bridge exporter uses (its ipfix-entities.def and ipfix-enterprise-entities.def),
 * less its running totals (templates.ts says why), with tcpControlBits.
 */
export const IE = {
  OCTET_DELTA_COUNT: ie(1, 8),
  PACKET_DELTA_COUNT: ie(2, 8),
  PROTOCOL_IDENTIFIER: ie(4, 1),
  /** RFC 7125: unsigned16; sent in 2 bytes. */
  TCP_CONTROL_BITS: ie(6, 2),
  IP_CLASS_OF_SERVICE: ie(5, 1),
  SOURCE_TRANSPORT_PORT: ie(7, 2),
  SOURCE_IPV4_ADDRESS: ie(8, 4),
  INGRESS_INTERFACE: ie(10, 4),
  DESTINATION_TRANSPORT_PORT: ie(11, 2),
  DESTINATION_IPV4_ADDRESS: ie(12, 4),
  EGRESS_INTERFACE: ie(14, 4),
  POST_MCAST_PACKET_DELTA_COUNT: ie(19, 8),
  POST_MCAST_OCTET_DELTA_COUNT: ie(20, 8),
  MINIMUM_IP_TOTAL_LENGTH: ie(25, 8),
  MAXIMUM_IP_TOTAL_LENGTH: ie(26, 8),
  SOURCE_IPV6_ADDRESS: ie(27, 16),
  DESTINATION_IPV6_ADDRESS: ie(28, 16),
  FLOW_LABEL_IPV6: ie(31, 4),
  SOURCE_MAC_ADDRESS: ie(56, 6),
  VLAN_ID: ie(58, 2),
  IP_VERSION: ie(60, 1),
  FLOW_DIRECTION: ie(61, 1),
  DESTINATION_MAC_ADDRESS: ie(80, 6),
  INTERFACE_NAME: ie(82, 0),
  INTERFACE_DESCRIPTION: ie(83, 0),
  DROPPED_OCTET_DELTA_COUNT: ie(132, 8),
  DROPPED_PACKET_DELTA_COUNT: ie(133, 8),
  FLOW_END_REASON: ie(136, 1),
  OBSERVATION_POINT_ID: ie(138, 4),
  EXPORTING_PROCESS_ID: ie(144, 4),
  FLOW_START_DELTA_MICROSECONDS: ie(158, 4),
  FLOW_END_DELTA_MICROSECONDS: ie(159, 4),
  NOT_SENT_PACKET_TOTAL_COUNT: ie(167, 8),
  ICMP_TYPE_IPV4: ie(176, 1),
  ICMP_CODE_IPV4: ie(177, 1),
  ICMP_TYPE_IPV6: ie(178, 1),
  ICMP_CODE_IPV6: ie(179, 1),
  IP_TTL: ie(192, 1),
  IP_DIFF_SERV_CODE_POINT: ie(195, 1),
  IP_PRECEDENCE: ie(196, 1),
  OCTET_DELTA_SUM_OF_SQUARES: ie(198, 8),
  OCTET_TOTAL_SUM_OF_SQUARES: ie(199, 8),
  ETHERNET_HEADER_LENGTH: ie(240, 1),
  DOT1Q_VLAN_ID: ie(243, 2),
  DOT1Q_PRIORITY: ie(244, 1),
  ETHERNET_TYPE: ie(256, 2),
  LAYER2_OCTET_DELTA_COUNT: ie(352, 8),
  INGRESS_INTERFACE_TYPE: ie(368, 4),
  EGRESS_INTERFACE_TYPE: ie(369, 4),
  TUNNEL_TYPE: ie(891, 1, IPFIX_ENTERPRISE_VMWARE),
  TUNNEL_KEY: ie(892, 0, IPFIX_ENTERPRISE_VMWARE),
  TUNNEL_SOURCE_IPV4_ADDRESS: ie(893, 4, IPFIX_ENTERPRISE_VMWARE),
  TUNNEL_DESTINATION_IPV4_ADDRESS: ie(894, 4, IPFIX_ENTERPRISE_VMWARE),
  TUNNEL_PROTOCOL_IDENTIFIER: ie(895, 1, IPFIX_ENTERPRISE_VMWARE),
  TUNNEL_SOURCE_TRANSPORT_PORT: ie(896, 2, IPFIX_ENTERPRISE_VMWARE),
  TUNNEL_DESTINATION_TRANSPORT_PORT: ie(897, 2, IPFIX_ENTERPRISE_VMWARE),
  VIRTUAL_OBS_ID: ie(898, 0, IPFIX_ENTERPRISE_VMWARE),
} as const;
