/**
 * The flow journal's file format (no I/O here: bytes in, bytes out).
 *
 *   file    = header record*
 *   header  = "OFSJ" u16 version (1) u16 zero                          8 bytes
 *   record  = u32 length, u32 crc32(payload), payload[length]          big-endian
 *   payload = u8 kind, body
 *     kind 1 (FLOW_MOD): body is an OpenFlow 1.0 FLOW_MOD as protocol/ encodes it, xid 0 and
 *                        buffer_id OFP_NO_BUFFER (the table change, not the packet it released)
 *     kind 2 (CONFIG):   body is u8 controllers (0/1), u8 fail mode (0 standalone, 1 secure):
 *                        the configuration the table was made under (lib/switch.ts compares it
 *                        with the one after a restart, to flush as a live change would)
 *
 * The checksum is CRC-32 (node:zlib crc32) of the payload. Scanning stops at the first record
 * that is cut short, longer than any record can be, or whose checksum is wrong: what follows is
 * not trusted (a torn last write after a crash, or damage), and the caller truncates the file
 * there so that new records follow valid ones.
 */
import { crc32 } from 'node:zlib';
import { decodeMessage, encodeMessage, OFP_NO_BUFFER, OFPT } from '../protocol/index.js';
import type { FlowMod } from '../protocol/index.js';

export const MAGIC = 'OFSJ';
export const FORMAT_VERSION = 1;
export const HEADER_SIZE = 8;
const RECORD_HEAD = 8;
/** A payload is one kind byte and at most one OpenFlow message (whose length is 16 bits). */
const MAX_PAYLOAD = 1 + 0xffff;

export const RECORD_KIND = { FLOW_MOD: 1, CONFIG: 2 } as const;

/** The configuration a table was made under. */
export interface TableConfig {
  readonly controllers: boolean;
  readonly failMode: 'secure' | 'standalone';
}

export type JournalRecord =
  | { readonly kind: 'flow-mod'; readonly mod: FlowMod }
  | { readonly kind: 'config'; readonly config: TableConfig };

export function encodeHeader(): Buffer {
  const b = Buffer.alloc(HEADER_SIZE);
  b.write(MAGIC, 0, 'latin1');
  b.writeUInt16BE(FORMAT_VERSION, 4);
  return b;
}

/** Whether `bytes` start with a header this version reads; a reason when they do not. */
export function checkHeader(bytes: Uint8Array): string | null {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < HEADER_SIZE || b.toString('latin1', 0, 4) !== MAGIC) return 'not an ofswitch flow journal';
  const version = b.readUInt16BE(4);
  if (version !== FORMAT_VERSION) return `flow journal format ${version}, this ofswitch reads ${FORMAT_VERSION}`;
  return null;
}

function frame(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(RECORD_HEAD + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.writeUInt32BE(crc32(payload), 4);
  payload.copy(out, RECORD_HEAD);
  return out;
}

/** A FLOW_MOD record (xid 0, no buffer), made with one copy of the encoded message. */
export function encodeFlowModRecord(mod: FlowMod): Buffer {
  const body = encodeMessage({ ...mod, xid: 0, bufferId: OFP_NO_BUFFER });
  const out = Buffer.allocUnsafe(RECORD_HEAD + 1 + body.length);
  out.writeUInt32BE(1 + body.length, 0);
  out[RECORD_HEAD] = RECORD_KIND.FLOW_MOD;
  body.copy(out, RECORD_HEAD + 1);
  out.writeUInt32BE(crc32(out.subarray(RECORD_HEAD)), 4);
  return out;
}

export function encodeConfigRecord(config: TableConfig): Buffer {
  return frame(Buffer.of(RECORD_KIND.CONFIG, config.controllers ? 1 : 0, config.failMode === 'secure' ? 1 : 0));
}

export interface ScanResult {
  /** Records in file order, each with the offset where it ends (empty when a visitor took them). */
  readonly records: { readonly record: JournalRecord | null; readonly end: number }[];
  /** Where the valid records end (the file is truncated there when it is longer). */
  readonly validEnd: number;
  /** Why scanning stopped before the end of the bytes, if it did. */
  readonly stopped: string | null;
  /** Records whose checksum was right but whose payload was not understood (skipped). */
  readonly unreadable: number;
}

/**
 * Reads the records after the header. A record with a good checksum whose payload is not
 * understood (an unknown kind, a FLOW_MOD protocol/ refuses) is counted and skipped: the
 * framing is intact, so the records after it are still read. With `visit`, each record goes to it
 * as it is read and none is kept (a restore of a large table holds one at a time).
 */
export function scanRecords(bytes: Uint8Array, visit?: (record: JournalRecord | null, end: number) => void): ScanResult {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: { record: JournalRecord | null; end: number }[] = [];
  let off = HEADER_SIZE;
  let unreadable = 0;
  let stopped: string | null = null;
  let lastEnd = HEADER_SIZE;
  while (off < b.length) {
    if (b.length - off < RECORD_HEAD) {
      stopped = `a record header cut short at offset ${off}`;
      break;
    }
    const length = b.readUInt32BE(off);
    if (length === 0 || length > MAX_PAYLOAD) {
      stopped = `a record of impossible length ${length} at offset ${off}`;
      break;
    }
    if (b.length - off - RECORD_HEAD < length) {
      stopped = `a record cut short at offset ${off} (${b.length - off - RECORD_HEAD} of ${length} bytes)`;
      break;
    }
    const payload = b.subarray(off + RECORD_HEAD, off + RECORD_HEAD + length);
    if (crc32(payload) !== b.readUInt32BE(off + 4)) {
      stopped = `a record with a wrong checksum at offset ${off}`;
      break;
    }
    off += RECORD_HEAD + length;
    lastEnd = off;
    const record = decodePayload(payload);
    if (record === null) unreadable++;
    if (visit) visit(record, off);
    else records.push({ record, end: off });
  }
  return { records, validEnd: lastEnd, stopped, unreadable };
}

function decodePayload(payload: Buffer): JournalRecord | null {
  const kind = payload[0];
  if (kind === RECORD_KIND.CONFIG && payload.length === 3) {
    return { kind: 'config', config: { controllers: payload[1] === 1, failMode: payload[2] === 1 ? 'secure' : 'standalone' } };
  }
  if (kind !== RECORD_KIND.FLOW_MOD) return null;
  const decoded = decodeMessage(payload.subarray(1));
  if (!decoded.ok || decoded.message.type !== OFPT.FLOW_MOD) return null;
  return { kind: 'flow-mod', mod: decoded.message };
}
