/**
 * OfpError: the one error value of every layer, and the OFPT_ERROR it becomes.
 *
 * Whatever refuses a request answers with an OfpError: decoding (decode.ts, actions.ts),
 * validation (validate.ts), the flow table (flowtable/flow-table.ts), the agent (lib/agent.ts) and
 * the connection (lib/connection.ts). It holds everything the reply needs -- the OpenFlow error
 * type and code, the request's xid, and the data to send after them (the offending request) --
 * and a detail for logs. An OfpError is returned, never thrown: an exception is a bug, and the
 * connection answers it with `internalError`, apart from the errors the spec names.
 *
 * `ok: false` lets a result be `{ ok: true, ... } | OfpError` and be told apart by `result.ok`.
 */
import {
  NX_VENDOR_ERROR_LEN,
  NX_VENDOR_ID,
  NXBRC_UNENCODABLE_ERROR,
  NXET_VENDOR,
  NXVC_VENDOR_ERROR,
  OFP_MAX_MESSAGE_LEN,
  OFP_SIZE,
  OFP_VERSION,
  OFPET,
  OFPT,
  errorName,
} from './constants.js';
import type { ErrorMsg } from './types.js';

/** Most data an OFPT_ERROR can carry: the reply must fit the 16-bit length. */
const MAX_ERROR_DATA = OFP_MAX_MESSAGE_LEN - OFP_SIZE.error_msg;

export class OfpError {
  readonly ok = false as const;
  /** OFPET_* (or NXET_VENDOR for an internal error). */
  readonly errorType: number;
  /** The code of `errorType` (OFPBRC_*, OFPBAC_*, ...). */
  readonly code: number;
  /** The request's xid, which the reply carries. */
  readonly xid: number;
  /** What the reply carries after type and code: the offending request, whole (cut to fit on sending). */
  readonly data: Uint8Array;
  /** `BAD_REQUEST/BAD_LEN: <detail>`, for logs. */
  readonly reason: string;

  constructor(errorType: number, code: number, xid: number, data: Uint8Array, detail: string) {
    this.errorType = errorType;
    this.code = code;
    this.xid = xid;
    this.data = data;
    this.reason = `${errorName(errorType, code)}: ${detail}`;
  }

  /**
   * The OFPT_ERROR to send: the request's xid and, as data, the offending request whole when it
   * fits (the spec asks for at least its first 64 bytes; Open vSwitch too sends it whole).
   */
  toMessage(): ErrorMsg {
    const data = this.data.length > MAX_ERROR_DATA ? this.data.subarray(0, MAX_ERROR_DATA) : this.data;
    return { version: OFP_VERSION, type: OFPT.ERROR, xid: this.xid, errorType: this.errorType, code: this.code, data };
  }
}

/** The xid of a (possibly truncated) message: 0 when its header is incomplete. */
export function xidOf(bytes: Uint8Array): number {
  if (bytes.length < 8) return 0;
  return (((bytes[4] ?? 0) << 24) | ((bytes[5] ?? 0) << 16) | ((bytes[6] ?? 0) << 8) | (bytes[7] ?? 0)) >>> 0;
}

/** The error `errorType`/`code` for the request `request` (its bytes as received: xid and data from them). */
export function requestError(errorType: number, code: number, request: Uint8Array, detail: string): OfpError {
  return new OfpError(errorType, code, xidOf(request), request, detail);
}

/**
 * The answer to a request whose handling failed unexpectedly (an exception: a bug, not the
 * request's fault). The spec names no error for that; this is Open vSwitch's: NXBRC_UNENCODABLE_ERROR,
 * which OpenFlow 1.0 can only carry as a Nicira extension error (NXET_VENDOR/NXVC_VENDOR_ERROR,
 * then struct nx_vendor_error, then the request). ovs-ofctl prints it as NXBRC_UNENCODABLE_ERROR;
 * any peer reads it as an error with the request's xid.
 */
export function internalError(request: Uint8Array, detail: string): OfpError {
  const data = new Uint8Array(NX_VENDOR_ERROR_LEN + request.length);
  const nx = new DataView(data.buffer);
  nx.setUint32(0, NX_VENDOR_ID);
  nx.setUint16(4, OFPET.BAD_REQUEST);
  nx.setUint16(6, NXBRC_UNENCODABLE_ERROR);
  data.set(request, NX_VENDOR_ERROR_LEN);
  return new OfpError(NXET_VENDOR, NXVC_VENDOR_ERROR, xidOf(request), data, `NXBRC_UNENCODABLE_ERROR: ${detail}`);
}
