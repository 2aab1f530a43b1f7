/**
 * What the packet path asks of flow accounting (NetFlow's, in netflow/): the datapath knows only
 * this interface and never imports the accountant itself.
 *
 * Every IPv4 frame received on a port and put through the flow table is counted once, after its
 * actions ran, with its parsed flow key, where its IP and L4 headers are in `frame` (the frame as
 * received: actions that change its length build a new one, and those that rewrite it in place
 * change neither the IP total length nor the TCP flags; -1 when absent) and where it went (`outIface`: one port number, or the NF_OUT_* codes for flooded, several ports, none).
 * `outPorts[0..outCount)` lists every port it was sent out of, in order, once per output (a
 * port output twice is listed twice; IPFIX samples each output, as OVS does).
 * The accountant must not keep `key`, `frame` or `outPorts`: all are reused for the next frame.
 */
import type { FlowKey } from '../flowtable/flow-key.js';

export interface FlowAccounting {
  account(key: FlowKey, frame: Uint8Array, l3Offset: number, l4Offset: number, outIface: number, outPorts: readonly number[], outCount: number): void;
}

/** `outIface` of a frame flooded (FLOOD or ALL), sent out of several ports, or out of none (as OVS's netflow.h). */
export const ACCT_OUT_FLOOD = 0xffff;
export const ACCT_OUT_MULTI = 0xfffe;
export const ACCT_OUT_DROP = 0xfffd;
