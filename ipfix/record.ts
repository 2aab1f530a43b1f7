/**
 * A data record's bytes (no I/O), field for field as templates.ts lists them: the flow-key part the
 * cache keeps (flow-cache.ts), virtualObsID when configured (a one-byte length, then the string),
 * and the delta counters, as OVS's ipfix_put_data_set writes them (without its running totals,
 * see templates.ts), and for TCP the flags seen. flowStartDeltaMicroseconds and
 * flowEndDeltaMicroseconds count back from the message's export time (whole seconds, rounded up
 * from the moment of export, as OVS does). The IP counters go only into IP templates, the TCP
 * flags only into TCP ones.
 */
import { IPFIX_TEMPLATE_ID_MIN } from './constants.js';
import type { FlowEndReason, IpfixEntry } from './flow-cache.js';
import { L3, L4 } from './templates.js';

/** The L3 and L4 layers of a template id (the inverse of templates.ts templateId). */
export function templateLayers(templateId: number): { l3: number; l4: number } {
  const x = templateId - IPFIX_TEMPLATE_ID_MIN;
  return { l3: Math.floor(x / 20) % 3, l4: Math.floor(x / 4) % 5 };
}


function u64(buf: Buffer, off: number, v: number): number {
  buf.writeUInt32BE(Math.floor(v / 0x100000000) >>> 0, off);
  buf.writeUInt32BE(v >>> 0, off + 4);
  return off + 8;
}

function delta(exportUs: number, t: number): number {
  return Math.min(0xffffffff, Math.max(0, Math.round(exportUs - t)));
}

/** The record of `entry`, ending for `reason`, in a message exported at `exportSec`. */
export function encodeDataRecord(entry: IpfixEntry, reason: FlowEndReason, exportSec: number, virtualObsId: Buffer | null): Buffer {
  const { l3, l4 } = templateLayers(entry.templateId);
  const ip = l3 !== L3.UNKNOWN;
  const tcp = l4 === L4.TCP;
  const len = entry.key.length + (virtualObsId ? 1 + virtualObsId.length : 0) + 8 + 4 * 8 + 1 + (ip ? 6 * 8 : 0) + (tcp ? 2 : 0);
  const b = Buffer.allocUnsafe(len);
  let o = entry.key.copy(b, 0);
  if (virtualObsId) {
    b[o++] = virtualObsId.length;
    o += virtualObsId.copy(b, o);
  }
  const exportUs = exportSec * 1e6;
  b.writeUInt32BE(delta(exportUs, entry.startUs), o);
  b.writeUInt32BE(delta(exportUs, entry.endUs), o + 4);
  o += 8;
  o = u64(b, o, entry.droppedPacketDelta);
  o = u64(b, o, entry.packetDelta);
  o = u64(b, o, entry.postMcastPacketDelta);
  o = u64(b, o, entry.layer2OctetDelta);
  b[o++] = reason;
  if (ip) {
    o = u64(b, o, entry.droppedOctetDelta);
    o = u64(b, o, entry.octetDelta);
    o = u64(b, o, entry.octetDeltaSumOfSquares);
    o = u64(b, o, entry.minIpTotalLength);
    o = u64(b, o, entry.maxIpTotalLength);
    o = u64(b, o, entry.postMcastOctetDelta);
  }
  if (tcp) b.writeUInt16BE(entry.tcpFlags & 0xffff, o);
  return b;
}

/** The Exporting Process Reliability Statistics record: exportingProcessId, notSentPacketTotalCount. */
export function encodeExporterStatsRecord(exporterId: number, notSent: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt32BE(exporterId >>> 0, 0);
  u64(b, 4, notSent);
  return b;
}
