/**
 * A small RFC 7011 reader for the unit tests (written from the RFC, independently of ipfix/):
 * messages into header, template records and data records, the data records' fields split by the
 * templates seen before (numbers for fixed-length fields up to 8 bytes, bytes otherwise; variable
 * length with the one- or three-byte length prefix).
 */
export interface Field {
  readonly id: number;
  readonly length: number;
  readonly enterprise: number;
}
export interface Message {
  readonly version: number;
  readonly length: number;
  readonly exportTime: number;
  readonly sequence: number;
  readonly domain: number;
  readonly sets: { id: number; length: number }[];
  readonly templates: { id: number; scope: number; fields: Field[] }[];
  readonly records: { templateId: number; values: Map<number, number | Buffer>; all: [number, number | Buffer][] }[];
}

export class Decoder {
  readonly templates = new Map<number, Field[]>();

  decode(buf: Buffer): Message {
    const m: Message = {
      version: buf.readUInt16BE(0), length: buf.readUInt16BE(2), exportTime: buf.readUInt32BE(4), sequence: buf.readUInt32BE(8), domain: buf.readUInt32BE(12),
      sets: [], templates: [], records: [],
    };
    let off = 16;
    while (off < buf.length) {
      const id = buf.readUInt16BE(off);
      const length = buf.readUInt16BE(off + 2);
      m.sets.push({ id, length });
      const end = off + length;
      let p = off + 4;
      if (id === 2 || id === 3) {
        while (p + 4 <= end) {
          const tid = buf.readUInt16BE(p);
          const count = buf.readUInt16BE(p + 2);
          let scope = 0;
          p += 4;
          if (id === 3) {
            scope = buf.readUInt16BE(p);
            p += 2;
          }
          const fields: Field[] = [];
          for (let i = 0; i < count; i++) {
            const raw = buf.readUInt16BE(p);
            const length = buf.readUInt16BE(p + 2);
            const ent = (raw & 0x8000) !== 0;
            fields.push({ id: raw & 0x7fff, length, enterprise: ent ? buf.readUInt32BE(p + 4) : 0 });
            p += ent ? 8 : 4;
          }
          this.templates.set(tid, fields);
          m.templates.push({ id: tid, scope, fields });
        }
      } else {
        const fields = this.templates.get(id);
        if (!fields) throw new Error(`data set ${id} without its template`);
        while (p < end) {
          const values = new Map<number, number | Buffer>();
          const all: [number, number | Buffer][] = [];
          for (const f of fields) {
            let len = f.length;
            if (len === 0xffff) {
              len = buf[p]!;
              p++;
              if (len === 255) {
                len = buf.readUInt16BE(p);
                p += 2;
              }
            }
            const bytes = buf.subarray(p, p + len);
            let n = 0n;
            for (const b of bytes) n = n * 256n + BigInt(b);
            const v = f.length !== 0xffff && len <= 8 && f.id !== 56 && f.id !== 80 ? Number(n) : Buffer.from(bytes);
            values.set(f.id, v);
            all.push([f.id, v]);
            p += len;
          }
          m.records.push({ templateId: id, values, all });
        }
      }
      off = end;
    }
    return m;
  }
}
