/**
 * Version negotiation from the peer's HELLO, as Open vSwitch does it (ofputil_decode_hello).
 *
 * The peer can speak 1.0 unless it says otherwise: a HELLO of version 1 or more negotiates 1.0
 * (ovs-testcontroller sends version 6 with no body), whatever body it carries. Only an explicit
 * version bitmap (an OpenFlow 1.3+ hello element of type OFPHET_VERSIONBITMAP) can exclude 1.0,
 * by lacking bit 1. Version 0 is incompatible. Malformed hello elements are ignored.
 */
import { OFP_VERSION, OFPHET } from './constants.js';
import type { Hello } from './types.js';

/** The version to speak with the peer (1), or null when the peer cannot speak 1.0. */
export function negotiateVersion(hello: Hello): number | null {
  if (hello.version < OFP_VERSION) return null;
  const bitmap = versionBitmap(hello.body);
  if (bitmap === null) return OFP_VERSION;
  const word0 = bitmap[0] ?? 0;
  return (word0 & (1 << OFP_VERSION)) !== 0 ? OFP_VERSION : null;
}

/** The 32-bit words of the first well-formed version bitmap element, or null if there is none. */
export function versionBitmap(body: Uint8Array): number[] | null {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let off = 0;
  while (body.length - off >= 4) {
    const type = view.getUint16(off);
    const len = view.getUint16(off + 2);
    if (len < 4 || off + len > body.length) return null;
    if (type === OFPHET.VERSIONBITMAP) {
      const words: number[] = [];
      for (let w = off + 4; w + 4 <= off + len; w += 4) words.push(view.getUint32(w));
      return words;
    }
    off += Math.ceil(len / 8) * 8; // elements are padded to a multiple of 8 bytes
  }
  return null;
}
