/**
 * validateMessage: the semantic checks a decoded message must pass before the switch acts on it,
 * answering with the error the spec names (Open vSwitch's choices, from ofp-actions.c, where the
 * spec leaves room).
 *
 * - Vendor messages and vendor stats: OFPET_BAD_REQUEST/OFPBRC_BAD_VENDOR (no extensions here;
 *   ovs-ofctl falls back to standard messages when its Nicira ones are refused this way).
 * - Actions of FLOW_MOD and PACKET_OUT:
 *   - vendor actions: OFPBAC_BAD_VENDOR;
 *   - OUTPUT to a port that is neither physical (below OFPP_MAX, 0xff00) nor one of the reserved
 *     ports IN_PORT, TABLE, NORMAL, FLOOD, ALL, CONTROLLER, LOCAL: OFPBAC_BAD_OUT_PORT. So NONE and
 *     0xff00..0xfff7 are refused; 0xff00 itself too, as OVS's ofpact_check_output_port does;
 *   - OUTPUT to TABLE outside PACKET_OUT: OFPBAC_BAD_OUT_PORT (a flow cannot resubmit to itself);
 *   - ENQUEUE to anything but a physical port, IN_PORT or LOCAL: OFPBAC_BAD_OUT_PORT (as OVS's
 *     decoding of OFPAT10_ENQUEUE: a queue belongs to one port, so FLOOD or NONE make no sense);
 *   - SET_VLAN_VID above 4095, SET_VLAN_PCP above 7, SET_NW_TOS with either of its two low (ECN)
 *     bits set: OFPBAC_BAD_ARGUMENT.
 * Whether a physical port exists is not the codec's business.
 */
import { OFPAT, OFPBAC, OFPBRC, OFPET, OFPP, OFPST, OFPT } from './constants.js';
import { encodeMessage } from './encode.js';
import { OfpError } from './errors.js';
import type { Action, OfpMessage } from './types.js';

/**
 * The error to answer `msg` with, or null when it is acceptable. `raw` is the message as received
 * (echoed in the error); without it the message is re-encoded.
 */
export function validateMessage(msg: OfpMessage, raw?: Uint8Array): OfpError | null {
  const fail = (errorType: number, code: number, detail: string): OfpError =>
    new OfpError(errorType, code, msg.xid, raw ?? encodeMessage(msg), detail);
  switch (msg.type) {
    case OFPT.VENDOR:
      return fail(OFPET.BAD_REQUEST, OFPBRC.BAD_VENDOR, `vendor message 0x${msg.vendor.toString(16)}`);
    case OFPT.STATS_REQUEST:
    case OFPT.STATS_REPLY:
      if (msg.statsType !== OFPST.VENDOR) return null;
      return fail(OFPET.BAD_REQUEST, OFPBRC.BAD_VENDOR, `vendor stats 0x${msg.vendor.toString(16)}`);
    case OFPT.FLOW_MOD:
    case OFPT.PACKET_OUT: {
      const inPacketOut = msg.type === OFPT.PACKET_OUT;
      for (const action of msg.actions) {
        const bad = checkAction(action, inPacketOut);
        if (bad) return fail(OFPET.BAD_ACTION, bad.code, bad.detail);
      }
      return null;
    }
    default:
      return null;
  }
}

/** The reserved ports an OUTPUT action may name (TABLE only in PACKET_OUT). */
const OUTPUT_RESERVED: ReadonlySet<number> = new Set([
  OFPP.IN_PORT, OFPP.TABLE, OFPP.NORMAL, OFPP.FLOOD, OFPP.ALL, OFPP.CONTROLLER, OFPP.LOCAL,
]);

/** The OFPBAC code and a detail for an action the switch refuses, or null when it is acceptable. */
function checkAction(a: Action, inPacketOut: boolean): { code: number; detail: string } | null {
  switch (a.type) {
    case OFPAT.VENDOR:
      return { code: OFPBAC.BAD_VENDOR, detail: `vendor action 0x${a.vendor.toString(16)}` };
    case OFPAT.OUTPUT:
      if (a.port === OFPP.TABLE && !inPacketOut) {
        return { code: OFPBAC.BAD_OUT_PORT, detail: 'output to TABLE outside PACKET_OUT' };
      }
      if (a.port < OFPP.MAX || OUTPUT_RESERVED.has(a.port)) return null;
      return { code: OFPBAC.BAD_OUT_PORT, detail: `output to port 0x${a.port.toString(16)}` };
    case OFPAT.ENQUEUE:
      if (a.port < OFPP.MAX || a.port === OFPP.IN_PORT || a.port === OFPP.LOCAL) return null;
      return { code: OFPBAC.BAD_OUT_PORT, detail: `enqueue to port 0x${a.port.toString(16)}` };
    case OFPAT.SET_VLAN_VID:
      return a.vlanVid > 0xfff ? { code: OFPBAC.BAD_ARGUMENT, detail: `vlan_vid ${a.vlanVid}` } : null;
    case OFPAT.SET_VLAN_PCP:
      return a.vlanPcp > 7 ? { code: OFPBAC.BAD_ARGUMENT, detail: `vlan_pcp ${a.vlanPcp}` } : null;
    case OFPAT.SET_NW_TOS:
      return (a.nwTos & 0x03) !== 0 ? { code: OFPBAC.BAD_ARGUMENT, detail: `nw_tos 0x${a.nwTos.toString(16)}` } : null;
    default:
      return null;
  }
}
