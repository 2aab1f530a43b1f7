/**
 * Spanning tree BPDUs on the wire (802.1D-2004 clause 9): configuration and TCN BPDUs of 802.1D
 * and RST BPDUs of 802.1w, in 802.3 frames to 01:80:c2:00:00:00 with an LLC header 42 42 03, as
 * Open vSwitch's lib/stp.c and lib/rstp-state-machines.c send them (padded to 60 bytes). Times are
 * kept in 1/256 s as they travel. Pure: no I/O.
 */
import { STP_FLAG, STP_LLC_CNTL, STP_LLC_SAP, STP_PROTOCOL_ID, STP_TYPE, STP_VERSION } from '../protocol/constants.js';

export interface ConfigBpdu {
  readonly type: 'config' | 'rstp';
  readonly flags: number;
  readonly rootId: bigint;
  readonly rootPathCost: number;
  readonly bridgeId: bigint;
  readonly portId: number;
  /** 1/256 s. */
  readonly messageAge: number;
  readonly maxAge: number;
  readonly helloTime: number;
  readonly forwardDelay: number;
}

export type Bpdu = ConfigBpdu | { readonly type: 'tcn' };

const ETH_LLC = 17; // 14 bytes of 802.3 header and 3 of LLC
const CONFIG_LEN = 35;
const RSTP_LEN = 36;
const TCN_LEN = 4;
const MIN_FRAME = 60;

/** Whether a frame is addressed to the bridge group address (what a spanning tree takes off the path). */
export function isBpduFrame(f: Uint8Array): boolean {
  return f.length >= 14 && f[0] === 0x01 && f[1] === 0x80 && f[2] === 0xc2 && f[3] === 0 && f[4] === 0 && f[5] === 0 && ((f[12]! << 8) | f[13]!) < 0x600;
}

/** The BPDU in a frame, or a text saying why there is none (counted as an error, as OVS counts). */
export function decodeBpdu(f: Uint8Array): Bpdu | string {
  if (!isBpduFrame(f)) return 'not an 802.3 frame to the bridge group address';
  if (f.length < ETH_LLC + TCN_LEN) return 'frame too short';
  if (f[14] !== STP_LLC_SAP || f[15] !== STP_LLC_SAP || f[16] !== STP_LLC_CNTL) return 'not an STP LLC header';
  const b = ETH_LLC;
  if (((f[b]! << 8) | f[b + 1]!) !== STP_PROTOCOL_ID) return 'bad protocol identifier';
  const type = f[b + 3]!;
  if (type === STP_TYPE.TCN) return { type: 'tcn' };
  if (type !== STP_TYPE.CONFIG && type !== STP_TYPE.RSTP) return `unknown BPDU type ${type}`;
  if (f.length < b + (type === STP_TYPE.RSTP ? RSTP_LEN : CONFIG_LEN)) return 'BPDU too short';
  const v = new DataView(f.buffer, f.byteOffset + b, CONFIG_LEN);
  return {
    type: type === STP_TYPE.RSTP ? 'rstp' : 'config',
    flags: v.getUint8(4),
    rootId: v.getBigUint64(5),
    rootPathCost: v.getUint32(13),
    bridgeId: v.getBigUint64(17),
    portId: v.getUint16(25),
    messageAge: v.getUint16(27),
    maxAge: v.getUint16(29),
    helloTime: v.getUint16(31),
    forwardDelay: v.getUint16(33),
  };
}

/** The frame carrying `bpdu` from `srcMac` (6 bytes). */
export function encodeBpdu(srcMac: Uint8Array, bpdu: Bpdu): Uint8Array {
  const len = bpdu.type === 'tcn' ? TCN_LEN : bpdu.type === 'rstp' ? RSTP_LEN : CONFIG_LEN;
  const f = new Uint8Array(Math.max(MIN_FRAME, ETH_LLC + len));
  f.set([0x01, 0x80, 0xc2, 0, 0, 0], 0);
  f.set(srcMac.subarray(0, 6), 6);
  f[12] = (3 + len) >> 8;
  f[13] = (3 + len) & 0xff;
  f[14] = STP_LLC_SAP;
  f[15] = STP_LLC_SAP;
  f[16] = STP_LLC_CNTL;
  const v = new DataView(f.buffer, ETH_LLC, len);
  v.setUint16(0, STP_PROTOCOL_ID);
  if (bpdu.type === 'tcn') {
    v.setUint8(2, STP_VERSION.STP);
    v.setUint8(3, STP_TYPE.TCN);
    return f;
  }
  const rstp = bpdu.type === 'rstp';
  v.setUint8(2, rstp ? STP_VERSION.RSTP : STP_VERSION.STP);
  v.setUint8(3, rstp ? STP_TYPE.RSTP : STP_TYPE.CONFIG);
  v.setUint8(4, rstp ? bpdu.flags : bpdu.flags & (STP_FLAG.TOPOLOGY_CHANGE | STP_FLAG.TOPOLOGY_CHANGE_ACK));
  v.setBigUint64(5, bpdu.rootId);
  v.setUint32(13, bpdu.rootPathCost >>> 0);
  v.setBigUint64(17, bpdu.bridgeId);
  v.setUint16(25, bpdu.portId);
  v.setUint16(27, bpdu.messageAge);
  v.setUint16(29, bpdu.maxAge);
  v.setUint16(31, bpdu.helloTime);
  v.setUint16(33, bpdu.forwardDelay);
  if (rstp) v.setUint8(35, 0); // version 1 length
  return f;
}

const MAC_BITS = (1n << 48n) - 1n;

/** A MAC address (aa:bb:...) as a number. */
export function macToBigint(mac: string): bigint {
  return BigInt('0x' + mac.replaceAll(':', ''));
}

function macText(id: bigint): string {
  return (id & MAC_BITS).toString(16).padStart(12, '0').replace(/(..)(?!$)/g, '$1:');
}

/** A bridge id from a priority (16 bits) and a system id (MAC). */
export function bridgeId(priority: number, systemId: bigint): bigint {
  return (BigInt(priority & 0xffff) << 48n) | (systemId & MAC_BITS);
}

/** OVS's STP_ID_FMT: "8000.0a1b2c3d4e5f". */
export function stpIdText(id: bigint): string {
  return `${(id >> 48n).toString(16).padStart(4, '0')}.${(id & MAC_BITS).toString(16).padStart(12, '0')}`;
}

/** OVS's RSTP_ID_FMT: "8.000.0a1b2c3d4e5f" (priority, system id extension, address). */
export function rstpIdText(id: bigint): string {
  const top = Number(id >> 48n);
  return `${(top >> 12).toString(16)}.${(top & 0xfff).toString(16).padStart(3, '0')}.${(id & MAC_BITS).toString(16).padStart(12, '0')}`;
}

/** The lines of OVS's stp_bridge_id_details / rstp_bridge_id_details (times in seconds). */
export function bridgeIdDetails(id: bigint, hello: number, maxAge: number, fwdDelay: number, rstp: boolean): string {
  return (
    `  stp-priority  ${rstp ? '  ' : ''}${Number(id >> 48n)}\n` +
    `  stp-system-id   ${macText(id)}\n` +
    `  stp-hello-time  ${hello}s\n` +
    `  stp-max-age     ${maxAge}s\n` +
    `  stp-fwd-delay   ${fwdDelay}s\n`
  );
}

/** printf's "%-W.Ps": cut to P characters, padded to W. */
export function col(text: string, width: number): string {
  return text.slice(0, width - 1).padEnd(width);
}
