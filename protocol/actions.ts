/**
 * Action lists (struct ofp_action_*): decoded with binary-parser after a structural walk, encoded
 * with Buffer writes.
 *
 * Decoding walks the list once checking each action's header as Open vSwitch does
 * (ofp-actions.c): a length below 8, not a multiple of 8, overrunning the list or wrong for its
 * type is OFPET_BAD_ACTION/OFPBAC_BAD_LEN; an unknown type is OFPBAC_BAD_TYPE. Vendor actions
 * decode (so that they round-trip); refusing them is validate.ts's job. A list whose total length
 * is not a multiple of 8 is the enclosing message's length error (OFPBRC_BAD_LEN), checked by the
 * caller, as in OVS's ofpacts_pull_openflow_actions.
 */
import { Parser } from 'binary-parser';
import { OFP_ACTION_LEN, OFPAT, OFPBAC, OFPET } from './constants.js';
import { type OfpError, requestError } from './errors.js';
import type { Action } from './types.js';
import { MAC_FIELD, plainView, unreachable, writeMac } from './wire.js';

const actionHeader = (): Parser => new Parser().uint16('type').seek(2);

const portParser = actionHeader().uint16('port').uint16('maxLen');
const vlanVidParser = actionHeader().uint16('vlanVid');
const vlanPcpParser = actionHeader().uint8('vlanPcp');
const stripVlanParser = actionHeader();
const dlAddrParser = actionHeader().buffer('dlAddr', MAC_FIELD);
const nwAddrParser = actionHeader().uint32('nwAddr');
const nwTosParser = actionHeader().uint8('nwTos');
const tpPortParser = actionHeader().uint16('tpPort');
const enqueueParser = actionHeader().uint16('port').seek(6).uint32('queueId');
const vendorParser = actionHeader().uint32('vendor');

const ACTION_PARSERS: Readonly<Record<number, Parser>> = {
  [OFPAT.OUTPUT]: portParser,
  [OFPAT.SET_VLAN_VID]: vlanVidParser,
  [OFPAT.SET_VLAN_PCP]: vlanPcpParser,
  [OFPAT.STRIP_VLAN]: stripVlanParser,
  [OFPAT.SET_DL_SRC]: dlAddrParser,
  [OFPAT.SET_DL_DST]: dlAddrParser,
  [OFPAT.SET_NW_SRC]: nwAddrParser,
  [OFPAT.SET_NW_DST]: nwAddrParser,
  [OFPAT.SET_NW_TOS]: nwTosParser,
  [OFPAT.SET_TP_SRC]: tpPortParser,
  [OFPAT.SET_TP_DST]: tpPortParser,
  [OFPAT.ENQUEUE]: enqueueParser,
  [OFPAT.VENDOR]: vendorParser,
};

/**
 * Decodes the actions in `message[start, end)`; errors name `message` (the whole request) as the
 * offending bytes. The caller has checked that `end` lies inside `message`.
 */
export function decodeActionList(message: Uint8Array, start: number, end: number): Action[] | OfpError {
  const bytes = plainView(message);
  const actions: Action[] = [];
  let off = start;
  while (off < end) {
    if (end - off < 4) return badLen(message, `${end - off} stray bytes at the end of the action list`);
    const type = ((bytes[off] ?? 0) << 8) | (bytes[off + 1] ?? 0);
    const len = ((bytes[off + 2] ?? 0) << 8) | (bytes[off + 3] ?? 0);
    if (len < 8 || len % 8 !== 0) return badLen(message, `action length ${len} at offset ${off}`);
    if (len > end - off) return badLen(message, `action length ${len} at offset ${off} overruns the action list`);
    const parser = ACTION_PARSERS[type];
    if (!parser) {
      return requestError(OFPET.BAD_ACTION, OFPBAC.BAD_TYPE, message, `unknown action type ${type}`);
    }
    const fixedLen = (OFP_ACTION_LEN as Readonly<Record<number, number>>)[type] ?? 8;
    if (type !== OFPAT.VENDOR && len !== fixedLen) {
      return badLen(message, `action type ${type} has length ${len}, not ${fixedLen}`);
    }
    const action = parser.parse(bytes.subarray(off, off + len)) as { body?: Uint8Array } & Action;
    if (type === OFPAT.VENDOR) action.body = bytes.subarray(off + 8, off + len);
    actions.push(action);
    off += len;
  }
  return actions;
}

function badLen(message: Uint8Array, detail: string): OfpError {
  return requestError(OFPET.BAD_ACTION, OFPBAC.BAD_LEN, message, detail);
}

/** Decodes a bare action list (exactly the actions' bytes). */
export function decodeActions(bytes: Uint8Array): Action[] | OfpError {
  return decodeActionList(bytes, 0, bytes.length);
}

/** Wire length of one action (vendor bodies are padded to a multiple of 8). */
function actionLength(a: Action): number {
  if (a.type === OFPAT.VENDOR) return 8 + Math.ceil(a.body.length / 8) * 8;
  return OFP_ACTION_LEN[a.type];
}

/** Wire length of an action list. */
export function actionsLength(actions: readonly Action[]): number {
  let n = 0;
  for (const a of actions) n += actionLength(a);
  return n;
}

/** Writes the actions at `offset` into a zero-filled `buf`; returns the offset after them. */
export function writeActions(actions: readonly Action[], buf: Buffer, offset: number): number {
  let off = offset;
  for (const a of actions) {
    const len = actionLength(a);
    buf.writeUInt16BE(a.type, off);
    buf.writeUInt16BE(len, off + 2);
    switch (a.type) {
      case OFPAT.OUTPUT:
        buf.writeUInt16BE(a.port, off + 4);
        buf.writeUInt16BE(a.maxLen, off + 6);
        break;
      case OFPAT.SET_VLAN_VID:
        buf.writeUInt16BE(a.vlanVid, off + 4);
        break;
      case OFPAT.SET_VLAN_PCP:
        buf[off + 4] = a.vlanPcp;
        break;
      case OFPAT.STRIP_VLAN:
        break;
      case OFPAT.SET_DL_SRC:
      case OFPAT.SET_DL_DST:
        writeMac(a.dlAddr, buf, off + 4);
        break;
      case OFPAT.SET_NW_SRC:
      case OFPAT.SET_NW_DST:
        buf.writeUInt32BE(a.nwAddr >>> 0, off + 4);
        break;
      case OFPAT.SET_NW_TOS:
        buf[off + 4] = a.nwTos;
        break;
      case OFPAT.SET_TP_SRC:
      case OFPAT.SET_TP_DST:
        buf.writeUInt16BE(a.tpPort, off + 4);
        break;
      case OFPAT.ENQUEUE:
        buf.writeUInt16BE(a.port, off + 4);
        buf.writeUInt32BE(a.queueId >>> 0, off + 12);
        break;
      case OFPAT.VENDOR:
        buf.writeUInt32BE(a.vendor >>> 0, off + 4);
        buf.set(a.body, off + 8);
        break;
      default:
        return unreachable(a, 'action');
    }
    off += len;
  }
  return off;
}

/** The actions as their wire bytes. */
export function encodeActions(actions: readonly Action[]): Buffer {
  const buf = Buffer.alloc(actionsLength(actions));
  writeActions(actions, buf, 0);
  return buf;
}
