/**
 * Decode errors and the OFPT_ERROR replies they turn into.
 *
 * A message the codec cannot accept becomes a DecodeError value (never an exception) that
 * already holds everything the reply needs: the spec's error type and code, the request's xid
 * and the offending bytes. `errorReply` turns it into the ErrorMsg to send.
 */
import { OFP_MAX_MESSAGE_LEN, OFP_SIZE, OFP_VERSION, OFPT, errorName } from './constants.js';
import type { DecodeError, ErrorMsg } from './types.js';

/** The xid of a (possibly truncated) message: 0 when its header is incomplete. */
export function xidOf(bytes: Uint8Array): number {
  if (bytes.length < 8) return 0;
  return (((bytes[4] ?? 0) << 24) | ((bytes[5] ?? 0) << 16) | ((bytes[6] ?? 0) << 8) | (bytes[7] ?? 0)) >>> 0;
}

/** A DecodeError for `offending` (the whole message), with a detail for logs. */
export function decodeError(errorType: number, code: number, offending: Uint8Array, reason: string): DecodeError {
  return {
    ok: false,
    errorType,
    code,
    xid: xidOf(offending),
    offending,
    reason: `${errorName(errorType, code)}: ${reason}`,
  };
}

/** Most offending bytes an OFPT_ERROR can carry: the reply must fit the 16-bit length. */
const MAX_ERROR_DATA = OFP_MAX_MESSAGE_LEN - OFP_SIZE.error_msg;

/**
 * The OFPT_ERROR to send for a request: its xid, and as data the offending message, whole when
 * it fits (the spec asks for at least its first 64 bytes; Open vSwitch too sends it whole).
 */
export function errorMessage(xid: number, errorType: number, code: number, offending: Uint8Array): ErrorMsg {
  const data = offending.length > MAX_ERROR_DATA ? offending.subarray(0, MAX_ERROR_DATA) : offending;
  return { version: OFP_VERSION, type: OFPT.ERROR, xid, errorType, code, data };
}

export function errorReply(err: DecodeError): ErrorMsg {
  return errorMessage(err.xid, err.errorType, err.code, err.offending);
}
