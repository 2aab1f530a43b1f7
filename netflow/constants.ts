/** NetFlow v5 constants (Cisco's NetFlow v5 export format, and OVS's ofproto/netflow.[ch] names). */
export const NETFLOW_V5_VERSION = 5;
/** Bytes of the v5 datagram header. */
export const NF_V5_HEADER_LEN = 24;
/** Bytes of one v5 flow record. */
export const NF_V5_RECORD_LEN = 48;
/** Records a v5 datagram holds at most. */
export const NF_V5_MAX_RECORDS = 30;
/** OVS's default active timeout, seconds (netflow.h NF_ACTIVE_TIMEOUT_DEFAULT). */
export const NF_ACTIVE_TIMEOUT_DEFAULT = 600;
/**
 * Seconds without a packet after which a flow's record is exported and forgotten: OVS exports a
 * record when the datapath flow behind it is removed, which for an idle flow is after
 * other_config:max-idle (default 10000 ms).
 */
export const NF_IDLE_TIMEOUT = 10;
/** Output interface of a flow that was flooded (FLOOD/ALL), sent out of several ports, or dropped (the datapath's codes). */
export { ACCT_OUT_DROP as NF_OUT_DROP, ACCT_OUT_FLOOD as NF_OUT_FLOOD, ACCT_OUT_MULTI as NF_OUT_MULTI } from '../datapath/flow-accounting.js';
/** Flows the cache keeps at most: when full, every record is exported and the cache starts afresh. */
export const NF_MAX_FLOWS = 65536;
