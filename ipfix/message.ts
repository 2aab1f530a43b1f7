/**
 * RFC 7011 messages, encoded (no I/O): the 16-byte header (version 10, length, export time in
 * seconds, sequence number, observation domain), then sets, each a 4-byte header (set id, length)
 * and records. Template Sets (id 2) and Options Template Sets (id 3) carry template records whose
 * field specifiers name an element, its length (65535: variable) and, with the enterprise bit, an
 * enterprise number. A Data Set's id is its records' template id.
 *
 * Templates are split over messages as OVS splits them: a new message begins once one reaches
 * IPFIX_MAX_MESSAGE_LEN bytes. Data records of one template share a set; a message closes before a
 * record would take it past IPFIX_MAX_MESSAGE_LEN (a record alone may be longer).
 */
import { IPFIX_HEADER_LEN, IPFIX_MAX_MESSAGE_LEN, IPFIX_SET_HEADER_LEN, IPFIX_SET_ID_OPTION_TEMPLATE, IPFIX_SET_ID_TEMPLATE, IPFIX_VERSION, type InformationElement } from './constants.js';
import type { Template } from './templates.js';

export interface MessageHeader {
  readonly exportTime: number;
  readonly sequence: number;
  readonly domain: number;
}

function header(buf: Buffer, h: MessageHeader, length: number): void {
  buf.writeUInt16BE(IPFIX_VERSION, 0);
  buf.writeUInt16BE(length, 2);
  buf.writeUInt32BE(h.exportTime >>> 0, 4);
  buf.writeUInt32BE(h.sequence >>> 0, 8);
  buf.writeUInt32BE(h.domain >>> 0, 12);
}

/** Bytes of one field specifier. */
function specifierLen(f: InformationElement): number {
  return f.enterprise !== 0 ? 8 : 4;
}

function putSpecifier(buf: Buffer, off: number, f: InformationElement): number {
  buf.writeUInt16BE(f.enterprise !== 0 ? f.id | 0x8000 : f.id, off);
  buf.writeUInt16BE(f.size === 0 ? 0xffff : f.size, off + 2);
  if (f.enterprise !== 0) buf.writeUInt32BE(f.enterprise, off + 4);
  return off + specifierLen(f);
}

function finish(parts: Buffer[], h: MessageHeader, setId: number): Buffer {
  const body = Buffer.concat(parts);
  const msg = Buffer.alloc(IPFIX_HEADER_LEN + IPFIX_SET_HEADER_LEN + body.length);
  header(msg, h, msg.length);
  msg.writeUInt16BE(setId, IPFIX_HEADER_LEN);
  msg.writeUInt16BE(IPFIX_SET_HEADER_LEN + body.length, IPFIX_HEADER_LEN + 2);
  body.copy(msg, IPFIX_HEADER_LEN + IPFIX_SET_HEADER_LEN);
  return msg;
}

/** The Template Set messages announcing `templates` (each message one set). */
export function encodeTemplateMessages(h: MessageHeader, templates: readonly Template[]): Buffer[] {
  const out: Buffer[] = [];
  let parts: Buffer[] = [];
  let size = IPFIX_HEADER_LEN + IPFIX_SET_HEADER_LEN;
  for (const t of templates) {
    if (size >= IPFIX_MAX_MESSAGE_LEN) {
      out.push(finish(parts, h, IPFIX_SET_ID_TEMPLATE));
      parts = [];
      size = IPFIX_HEADER_LEN + IPFIX_SET_HEADER_LEN;
    }
    const rec = Buffer.alloc(4 + t.fields.reduce((s, f) => s + specifierLen(f), 0));
    rec.writeUInt16BE(t.id, 0);
    rec.writeUInt16BE(t.fields.length, 2);
    let off = 4;
    for (const f of t.fields) off = putSpecifier(rec, off, f);
    parts.push(rec);
    size += rec.length;
  }
  out.push(finish(parts, h, IPFIX_SET_ID_TEMPLATE));
  return out;
}

/** An Options Template Set message with one options template (scope fields first). */
export function encodeOptionsTemplateMessage(h: MessageHeader, t: { readonly id: number; readonly scope: readonly InformationElement[]; readonly fields: readonly InformationElement[] }): Buffer {
  const all = [...t.scope, ...t.fields];
  const rec = Buffer.alloc(6 + all.reduce((s, f) => s + specifierLen(f), 0));
  rec.writeUInt16BE(t.id, 0);
  rec.writeUInt16BE(all.length, 2);
  rec.writeUInt16BE(t.scope.length, 4);
  let off = 6;
  for (const f of all) off = putSpecifier(rec, off, f);
  return finish([rec], h, IPFIX_SET_ID_OPTION_TEMPLATE);
}

/** One data record: its template and its encoded fields. */
export interface DataRecord {
  readonly templateId: number;
  readonly bytes: Buffer;
}

/**
 * Data messages for `records`, in order: consecutive records of one template share a set. Each
 * message's header carries the sequence number `h.sequence` plus the records sent before it.
 */
export function encodeDataMessages(h: MessageHeader, records: readonly DataRecord[]): { messages: Buffer[]; counts: number[] } {
  const messages: Buffer[] = [];
  const counts: number[] = [];
  let i = 0;
  let sequence = h.sequence;
  while (i < records.length) {
    const sets: { id: number; recs: Buffer[]; len: number }[] = [];
    let size = IPFIX_HEADER_LEN;
    let n = 0;
    for (; i < records.length; i++) {
      const r = records[i]!;
      const last = sets[sets.length - 1];
      const grow = last !== undefined && last.id === r.templateId ? r.bytes.length : IPFIX_SET_HEADER_LEN + r.bytes.length;
      if (n > 0 && size + grow > IPFIX_MAX_MESSAGE_LEN) break;
      if (last !== undefined && last.id === r.templateId) {
        last.recs.push(r.bytes);
        last.len += r.bytes.length;
      } else sets.push({ id: r.templateId, recs: [r.bytes], len: IPFIX_SET_HEADER_LEN + r.bytes.length });
      size += grow;
      n++;
    }
    const msg = Buffer.alloc(size);
    header(msg, { exportTime: h.exportTime, sequence, domain: h.domain }, size);
    let off = IPFIX_HEADER_LEN;
    for (const s of sets) {
      msg.writeUInt16BE(s.id, off);
      msg.writeUInt16BE(s.len, off + 2);
      off += IPFIX_SET_HEADER_LEN;
      for (const b of s.recs) off += b.copy(msg, off);
    }
    messages.push(msg);
    counts.push(n);
    sequence += n;
  }
  return { messages, counts };
}
