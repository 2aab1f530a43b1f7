/**
 * struct ofp_match (40 bytes): decoded with binary-parser, encoded with Buffer writes. Values are
 * kept exactly as on the wire (no normalisation of wildcarded fields: that is the flow table's
 * business), so decoding then encoding gives the same bytes.
 */
import { Parser } from 'binary-parser';
import { OFP_SIZE, OFPFW } from './constants.js';
import type { Match } from './types.js';
import { MAC_FIELD, plainView, writeMac } from './wire.js';

/** The match that matches everything: every wildcard bit set, every field zero. */
export const MATCH_ALL: Match = Object.freeze({
  wildcards: OFPFW.ALL,
  inPort: 0,
  dlSrc: '00:00:00:00:00:00',
  dlDst: '00:00:00:00:00:00',
  dlVlan: 0,
  dlVlanPcp: 0,
  dlType: 0,
  nwTos: 0,
  nwProto: 0,
  nwSrc: 0,
  nwDst: 0,
  tpSrc: 0,
  tpDst: 0,
});

/** A match with the given fields; the others are zero and `wildcards` defaults to OFPFW_ALL. */
export function matchWith(fields: Partial<Match>): Match {
  return { ...MATCH_ALL, ...fields };
}


/** The match as a nestable parser (used inside flow mods, flow removed and flow stats). */
export const matchParser = new Parser()
  .uint32('wildcards')
  .uint16('inPort')
  .buffer('dlSrc', MAC_FIELD)
  .buffer('dlDst', MAC_FIELD)
  .uint16('dlVlan')
  .uint8('dlVlanPcp')
  .seek(1)
  .uint16('dlType')
  .uint8('nwTos')
  .uint8('nwProto')
  .seek(2)
  .uint32('nwSrc')
  .uint32('nwDst')
  .uint16('tpSrc')
  .uint16('tpDst');

/** Decodes the 40-byte match at `offset`; the caller guarantees the bytes are there. */
export function decodeMatch(bytes: Uint8Array, offset = 0): Match {
  return matchParser.parse(plainView(bytes).subarray(offset, offset + OFP_SIZE.match)) as Match;
}

/** Writes `m` at `offset` (pads zero); returns the offset after it. */
export function encodeMatch(m: Match, buf: Buffer, offset: number): number {
  buf.writeUInt32BE(m.wildcards >>> 0, offset);
  buf.writeUInt16BE(m.inPort, offset + 4);
  writeMac(m.dlSrc, buf, offset + 6);
  writeMac(m.dlDst, buf, offset + 12);
  buf.writeUInt16BE(m.dlVlan, offset + 18);
  buf[offset + 20] = m.dlVlanPcp;
  buf[offset + 21] = 0;
  buf.writeUInt16BE(m.dlType, offset + 22);
  buf[offset + 24] = m.nwTos;
  buf[offset + 25] = m.nwProto;
  buf.writeUInt16BE(0, offset + 26);
  buf.writeUInt32BE(m.nwSrc >>> 0, offset + 28);
  buf.writeUInt32BE(m.nwDst >>> 0, offset + 32);
  buf.writeUInt16BE(m.tpSrc, offset + 36);
  buf.writeUInt16BE(m.tpDst, offset + 38);
  return offset + OFP_SIZE.match;
}
