/**
 * NetFlow v5 datagrams: a 24-byte header and up to 30 48-byte flow records, all big-endian, laid
 * out as OVS's ofproto/netflow.c (struct netflow_v5_header, struct netflow_v5_record) writes them.
 * No I/O here: `encodeV5` returns the bytes to send.
 */
import { NETFLOW_V5_VERSION, NF_V5_HEADER_LEN, NF_V5_MAX_RECORDS, NF_V5_RECORD_LEN } from './constants.js';

/** One exported flow record (counts since the flow's last export). */
export interface V5Record {
  readonly nwSrc: number;
  readonly nwDst: number;
  /** Interface fields as they go on the wire (add_id_to_interface already applied). */
  readonly input: number;
  readonly output: number;
  readonly packets: number;
  readonly bytes: number;
  /** System uptime (ms) at the first and the last packet. */
  readonly first: number;
  readonly last: number;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly tcpFlags: number;
  readonly proto: number;
  readonly tos: number;
}

export interface V5Header {
  /** Milliseconds since the exporter started. */
  readonly sysUptime: number;
  /** Wall clock, milliseconds since the epoch. */
  readonly unixMs: number;
  /** Flows exported before this datagram's first record. */
  readonly flowSequence: number;
  readonly engineType: number;
  readonly engineId: number;
}

const U32 = 0xffffffff;

/** One datagram holding `records` (1..30 of them). */
export function encodeV5(header: V5Header, records: readonly V5Record[]): Buffer {
  if (records.length === 0 || records.length > NF_V5_MAX_RECORDS) throw new RangeError(`a NetFlow v5 datagram holds 1..${NF_V5_MAX_RECORDS} records, not ${records.length}`);
  const buf = Buffer.alloc(NF_V5_HEADER_LEN + records.length * NF_V5_RECORD_LEN);
  buf.writeUInt16BE(NETFLOW_V5_VERSION, 0);
  buf.writeUInt16BE(records.length, 2);
  buf.writeUInt32BE(header.sysUptime >>> 0, 4);
  const secs = Math.floor(header.unixMs / 1000);
  buf.writeUInt32BE(secs >>> 0, 8);
  buf.writeUInt32BE((header.unixMs - secs * 1000) * 1_000_000, 12);
  buf.writeUInt32BE(header.flowSequence >>> 0, 16);
  buf.writeUInt8(header.engineType, 20);
  buf.writeUInt8(header.engineId, 21);
  // sampling_interval (22..23): 0, every packet counted
  let o = NF_V5_HEADER_LEN;
  for (const r of records) {
    buf.writeUInt32BE(r.nwSrc >>> 0, o);
    buf.writeUInt32BE(r.nwDst >>> 0, o + 4);
    // nexthop (o+8): 0
    buf.writeUInt16BE(r.input & 0xffff, o + 12);
    buf.writeUInt16BE(r.output & 0xffff, o + 14);
    buf.writeUInt32BE(Math.min(r.packets, U32), o + 16);
    buf.writeUInt32BE(Math.min(r.bytes, U32), o + 20);
    buf.writeUInt32BE(r.first >>> 0, o + 24);
    buf.writeUInt32BE(r.last >>> 0, o + 28);
    buf.writeUInt16BE(r.srcPort & 0xffff, o + 32);
    buf.writeUInt16BE(r.dstPort & 0xffff, o + 34);
    // pad1 (o+36)
    buf.writeUInt8(r.tcpFlags & 0xff, o + 37);
    buf.writeUInt8(r.proto & 0xff, o + 38);
    buf.writeUInt8(r.tos & 0xff, o + 39);
    // src_as, dst_as, src_mask, dst_mask, pad: 0
    o += NF_V5_RECORD_LEN;
  }
  return buf;
}

/** A datagram read back (the tests' and the exporter's own check). */
export function decodeV5(buf: Uint8Array): { header: V5Header & { count: number; version: number }; records: V5Record[] } {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < NF_V5_HEADER_LEN) throw new RangeError(`NetFlow v5 datagram of ${b.length} bytes is shorter than its header`);
  const count = b.readUInt16BE(2);
  if (b.length !== NF_V5_HEADER_LEN + count * NF_V5_RECORD_LEN) throw new RangeError(`NetFlow v5 datagram of ${b.length} bytes does not hold ${count} records`);
  const header = {
    version: b.readUInt16BE(0),
    count,
    sysUptime: b.readUInt32BE(4),
    unixMs: b.readUInt32BE(8) * 1000 + Math.floor(b.readUInt32BE(12) / 1_000_000),
    flowSequence: b.readUInt32BE(16),
    engineType: b[20]!,
    engineId: b[21]!,
  };
  const records: V5Record[] = [];
  for (let i = 0, o = NF_V5_HEADER_LEN; i < count; i++, o += NF_V5_RECORD_LEN) {
    records.push({
      nwSrc: b.readUInt32BE(o),
      nwDst: b.readUInt32BE(o + 4),
      input: b.readUInt16BE(o + 12),
      output: b.readUInt16BE(o + 14),
      packets: b.readUInt32BE(o + 16),
      bytes: b.readUInt32BE(o + 20),
      first: b.readUInt32BE(o + 24),
      last: b.readUInt32BE(o + 28),
      srcPort: b.readUInt16BE(o + 32),
      dstPort: b.readUInt16BE(o + 34),
      tcpFlags: b[o + 37]!,
      proto: b[o + 38]!,
      tos: b[o + 39]!,
    });
  }
  return { header, records };
}
