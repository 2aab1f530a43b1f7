/**
 * sFlow version 5 numbers (sflow.org's sflow_version_5.txt), named as Open vSwitch's lib/sflow.h
 * and lib/sflow_api.h name them, and the defaults OVS applies to an sFlow row's empty columns.
 */

export const SFLDATAGRAM_VERSION5 = 5;

/** Agent address types. */
export const SFLADDRESSTYPE_IP_V4 = 1;
export const SFLADDRESSTYPE_IP_V6 = 2;

/** Sample types (enterprise 0). */
export const SFLFLOW_SAMPLE = 1;
export const SFLCOUNTERS_SAMPLE = 2;

/** Flow records. */
export const SFLFLOW_HEADER = 1;
export const SFLFLOW_EX_SWITCH = 1001;
/** Sampled header's protocol: Ethernet. */
export const SFLHEADER_ETHERNET_ISO8023 = 1;

/** Counter records. */
export const SFLCOUNTERS_GENERIC = 1;
export const SFLCOUNTERS_ETHERNET = 2;
export const SFLCOUNTERS_OPENFLOWPORT = 1004;
export const SFLCOUNTERS_PORTNAME = 1005;

/** Data source classes (the top byte of a source id). */
export const SFL_DSCLASS_IFINDEX = 0;
export const SFL_DSCLASS_PHYSICAL_ENTITY = 2;

/** Output port formats of a flow sample (sflow_version_5.txt, "Input/output port information"). */
export const SFL_OUTPUT_DISCARDED = 0x40000000;
export const SFL_OUTPUT_MULTIPLE = 0x80000000;
/** With SFL_OUTPUT_DISCARDED: dropped for an unknown reason (what OVS sends for no output). */
export const SFL_DROP_UNKNOWN = 256;

/** A counter the agent does not know (SFL_UNDEF_COUNTER). */
export const SFL_UNDEF_COUNTER = 0xffffffff;

/** Defaults of the sFlow row's columns (lib/sflow.h). */
export const SFL_DEFAULT_HEADER_SIZE = 128;
export const SFL_DEFAULT_COLLECTOR_PORT = 6343;
export const SFL_DEFAULT_SAMPLING_RATE = 400;
export const SFL_DEFAULT_POLLING_INTERVAL = 30;

/** Datagrams are at most this long (SFL_DEFAULT_DATAGRAM_SIZE); one sample at most half of it. */
export const SFL_DEFAULT_DATAGRAM_SIZE = 1400;

/** OVS's flow-sample data source: a physical entity numbered 1000 + the agent's sub-id. */
export const SFL_BRIDGE_DS_INDEX_BASE = 1000;
