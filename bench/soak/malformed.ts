/**
 * Malformed input for the soak: OpenFlow messages a careless or hostile controller might send
 * (each must earn an OFPT_ERROR, be ignored, or, for a broken stream, close the connection; never
 * crash the switch or make it change its table), and trafgen templates of malformed frames
 * (truncated headers, lengths that lie, random bytes) for a host to put on the wire.
 *
 * FLOW_MODs among the messages match dl_type 0x88b5, which no soak actor uses: if the switch ever
 * accepted one, the table check would find an entry no actor made.
 */
import { encodeMessage } from '../../protocol/encode.js';
import { OFP_NO_BUFFER, OFP_VERSION, OFPAT, OFPFC, OFPP, OFPT } from '../../protocol/constants.js';
import type { Action, FlowMod } from '../../protocol/types.js';
import { makeMatch, type Random } from './storm.js';

export const FOREIGN_DL_TYPE = 0x88b5;

export interface MalformedMessage {
  readonly name: string;
  readonly bytes: Uint8Array;
  /** Sent before the handshake instead of HELLO. */
  readonly beforeHello?: boolean;
  /** The stream is left cut (a declared length past what is sent): the soak closes the connection after it. */
  readonly abandon?: boolean;
}

function header(buf: Buffer, version: number, type: number, length: number, xid: number): Buffer {
  buf[0] = version;
  buf[1] = type;
  buf.writeUInt16BE(length, 2);
  buf.writeUInt32BE(xid >>> 0, 4);
  return buf;
}

function foreignFlowMod(xid: number, actions: readonly Action[], command: number = OFPFC.ADD): FlowMod {
  return {
    version: OFP_VERSION, type: OFPT.FLOW_MOD, xid, match: makeMatch({ dlType: FOREIGN_DL_TYPE }), cookie: 0xbadn, command,
    idleTimeout: 0, hardTimeout: 0, priority: 7, bufferId: OFP_NO_BUFFER, outPort: OFPP.NONE, flags: 0, actions,
  };
}

/** A FLOW_MOD whose one OUTPUT action has its length field set to `len` (and the message cut or padded to fit). */
function flowModActionLength(xid: number, len: number, messageExtra: number): Buffer {
  const base = encodeMessage(foreignFlowMod(xid, [{ type: OFPAT.OUTPUT, port: 1, maxLen: 0 }]));
  const buf = Buffer.alloc(base.length + messageExtra);
  base.copy(buf, 0, 0, Math.min(base.length, buf.length));
  buf.writeUInt16BE(buf.length, 2);
  buf.writeUInt16BE(len, 72 + 2);
  return buf;
}

const random = (r: Random, n: number): Buffer => Buffer.from(Array.from({ length: n }, () => r.int(0, 255)));

/** Types random bodies go to: none of them can change the table, the ports or the switch's config. */
const SAFE_TYPES = [
  OFPT.HELLO, OFPT.ECHO_REQUEST, OFPT.ECHO_REPLY, OFPT.VENDOR, OFPT.FEATURES_REQUEST, OFPT.GET_CONFIG_REQUEST,
  OFPT.PACKET_IN, OFPT.FLOW_REMOVED, OFPT.PORT_STATUS, OFPT.STATS_REQUEST, OFPT.STATS_REPLY, OFPT.BARRIER_REQUEST,
  OFPT.BARRIER_REPLY, OFPT.QUEUE_GET_CONFIG_REQUEST, OFPT.ERROR, 22, 23, 99, 255,
] as const;

/** One malformed message, chosen at random, with `xid`. */
export function malformedMessage(r: Random, xid: number): MalformedMessage {
  const cases: (() => MalformedMessage)[] = [
    () => ({ name: 'header length below 8', bytes: header(Buffer.alloc(8), OFP_VERSION, OFPT.ECHO_REQUEST, r.int(0, 7), xid) }),
    () => ({ name: 'unknown message type', bytes: header(Buffer.alloc(8), OFP_VERSION, r.int(22, 255), 8, xid) }),
    () => ({ name: 'another version after the handshake', bytes: header(Buffer.alloc(8), r.pick([2, 4, 6, 0x7f]), OFPT.ECHO_REQUEST, 8, xid) }),
    () => {
      const n = r.int(8, 71);
      return { name: 'FLOW_MOD shorter than its struct', bytes: header(random(r, n), OFP_VERSION, OFPT.FLOW_MOD, n, xid) };
    },
    () => ({ name: 'action length 0', bytes: flowModActionLength(xid, 0, 0) }),
    () => ({ name: 'action length not a multiple of 8', bytes: flowModActionLength(xid, 12, 4) }),
    () => ({ name: 'action length past the message', bytes: flowModActionLength(xid, 64, 0) }),
    () => ({ name: 'unknown action type', bytes: (() => {
      const b = encodeMessage(foreignFlowMod(xid, [{ type: OFPAT.OUTPUT, port: 1, maxLen: 0 }]));
      b.writeUInt16BE(r.int(12, 0xfffe), 72);
      return b;
    })() }),
    () => ({ name: 'output to port 0xff00', bytes: encodeMessage(foreignFlowMod(xid, [{ type: OFPAT.OUTPUT, port: 0xff00, maxLen: 0 }])) }),
    () => ({ name: 'set_vlan_vid past 4095', bytes: encodeMessage(foreignFlowMod(xid, [{ type: OFPAT.SET_VLAN_VID, vlanVid: 5000 }])) }),
    () => ({ name: 'set_nw_tos with ECN bits', bytes: encodeMessage(foreignFlowMod(xid, [{ type: OFPAT.SET_NW_TOS, nwTos: 0x03 }])) }),
    () => ({ name: 'unknown FLOW_MOD command', bytes: encodeMessage(foreignFlowMod(xid, [], r.int(5, 0xffff))) }),
    () => ({ name: 'unknown stats type', bytes: (() => {
      const b = header(Buffer.alloc(12), OFP_VERSION, OFPT.STATS_REQUEST, 12, xid);
      b.writeUInt16BE(r.int(14, 0xfffe), 8);
      return b;
    })() }),
    () => ({ name: 'flow stats request cut short', bytes: (() => {
      const n = r.int(12, 55);
      const b = header(Buffer.alloc(n), OFP_VERSION, OFPT.STATS_REQUEST, n, xid);
      b.writeUInt16BE(1, 8); // OFPST_FLOW
      return b;
    })() }),
    () => ({ name: 'PACKET_OUT actions_len past the message', bytes: (() => {
      const b = header(Buffer.alloc(24), OFP_VERSION, OFPT.PACKET_OUT, 24, xid);
      b.writeUInt32BE(OFP_NO_BUFFER, 8);
      b.writeUInt16BE(1, 12);
      b.writeUInt16BE(r.pick([16, 64, 4000]), 14);
      return b;
    })() }),
    () => ({ name: 'SET_CONFIG cut short', bytes: header(Buffer.alloc(10), OFP_VERSION, OFPT.SET_CONFIG, 10, xid) }),
    () => ({ name: 'PORT_MOD of a port that does not exist', bytes: (() => {
      const b = header(Buffer.alloc(32), OFP_VERSION, OFPT.PORT_MOD, 32, xid);
      b.writeUInt16BE(r.int(900, 999), 8);
      return b;
    })() }),
    () => ({ name: 'QUEUE_GET_CONFIG of a port that does not exist', bytes: (() => {
      const b = header(Buffer.alloc(12), OFP_VERSION, OFPT.QUEUE_GET_CONFIG_REQUEST, 12, xid);
      b.writeUInt16BE(r.int(900, 999), 8);
      return b;
    })() }),
    () => {
      const n = r.int(8, 200);
      return { name: 'random body', bytes: header(random(r, n), OFP_VERSION, r.pick(SAFE_TYPES), n, xid) };
    },
    () => ({ name: 'garbage instead of HELLO', bytes: random(r, r.int(8, 64)), beforeHello: true }),
    () => ({ name: 'declared length past what is sent', bytes: header(random(r, 20), OFP_VERSION, OFPT.ECHO_REQUEST, r.int(64, 65535), xid), abandon: true }),
  ];
  return r.pick(cases)();
}

/**
 * A trafgen configuration of malformed frames: truncated Ethernet, VLAN, IPv4, IPv6, ARP headers,
 * IPv4 headers whose IHL and total length lie, nested tags, and frames of random bytes.
 */
export function malformedFramesConfig(): string {
  const eth = (type: string): string => `eth(da=02:00:00:00:00:99, sa=02:00:00:00:00:98, type=${type})`;
  return [
    `{ ${eth('0x8100')}, 0x00 }`,
    `{ ${eth('0x8100')}, 0x0f, 0xff, 0x81, 0x00, 0x00 }`,
    `{ ${eth('0x0800')}, 0x4f, 0x00, 0x00, 0x14, 0x45 }`,
    `{ ${eth('0x0800')}, 0x42, 0x00, 0x27, 0x0f, 0x00, 0x00, 0x00, 0x00, 0x40, 0x06 }`,
    `{ ${eth('0x0800')}, 0x45, 0x00, 0xff, 0xff, 0x00, 0x00, 0x20, 0x00, 0x40, 0x11, 0x00, 0x00, 10, 0, 0, 1, 10, 0, 0, 2, 0x00 }`,
    `{ ${eth('0x86dd')}, 0x60, 0x00 }`,
    `{ ${eth('0x86dd')}, 0x60, 0x00, 0x00, 0x00, 0x0f, 0xa0, 0x06, 0x40, fill(0x00, 32), 0x00, 0x00, 0x00 }`,
    `{ ${eth('0x0806')}, 0x00, 0x01, 0x08 }`,
    `{ ${eth('0x0020')}, 0xaa, 0xaa, 0x03, 0x00, 0x00 }`,
    `{ ${eth('0x88a8')}, 0x00, 0x05, 0x81, 0x00 }`,
    '{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x97, drnd(2) }',
    '{ 0x02, 0x00, 0x00, 0x00, 0x00, 0x99, 0x02, 0x00, 0x00, 0x00, 0x00, 0x97, drnd(17) }',
    '{ 0x02, 0x00, 0x00, 0x00, 0x00, 0x99, 0x02, 0x00, 0x00, 0x00, 0x00, 0x97, drnd(61) }',
    '{ 0x02, 0x00, 0x00, 0x00, 0x00, 0x99, 0x02, 0x00, 0x00, 0x00, 0x00, 0x97, 0x08, 0x00, drnd(40) }',
    '{ 0x02, 0x00, 0x00, 0x00, 0x00, 0x99, 0x02, 0x00, 0x00, 0x00, 0x00, 0x97, 0x81, 0x00, drnd(30) }',
  ].join('\n') + '\n';
}

/** The packet-in flood: 60-byte UDP frames with random ports, untagged (so table misses). */
export function floodConfig(): string {
  return '{ eth(da=02:00:00:00:00:02, sa=02:00:00:00:00:01, type=0x0800),\n' +
    '  ipv4(saddr=10.99.0.1, daddr=10.99.0.2, proto=17, ttl=64),\n' +
    '  udp(sp=drnd(), dp=drnd()), fill(0x00, 18) }\n';
}
