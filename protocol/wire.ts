/**
 * Small wire-format helpers shared by decode and encode: MAC addresses and NUL-padded strings.
 */
import { OFP_ETH_ALEN } from './constants.js';
import type { MacAddress } from './types.js';

const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Six bytes to "0a:00:27:00:00:01". */
function macFromBytes(bytes: Uint8Array): MacAddress {
  const h = (i: number): string => HEX_BYTE[bytes[i] ?? 0] ?? '00';
  return `${h(0)}:${h(1)}:${h(2)}:${h(3)}:${h(4)}:${h(5)}`;
}

/** binary-parser options of a MAC address field: OFP_ETH_ALEN bytes read as "0a:00:27:00:00:01". */
export const MAC_FIELD = { length: OFP_ETH_ALEN, formatter: (b: Uint8Array): MacAddress => macFromBytes(b) };

/** Writes "0a:00:27:00:00:01" as six bytes at `offset`; missing or invalid octets are written as 0. */
export function writeMac(mac: MacAddress, buf: Uint8Array, offset: number): void {
  for (let i = 0; i < 6; i++) {
    const octet = parseInt(mac.slice(i * 3, i * 3 + 2), 16);
    buf[offset + i] = Number.isNaN(octet) ? 0 : octet;
  }
}

const utf8Encoder = new TextEncoder();

/**
 * A NUL-padded char array to a string: everything before the first NUL, one character per byte
 * (latin1). The spec's names are C strings of unspecified encoding; reading them byte for byte is
 * what lets any name, UTF-8 or not, be written back exactly as it came.
 */
export function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  const text = end < 0 ? bytes : bytes.subarray(0, end);
  return Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('latin1');
}

/**
 * Writes `text` into a `size`-byte char array at `offset`, truncated so that at least one NUL
 * terminates it (the spec's strings are NUL-terminated). A string of byte-sized characters (every
 * name this codec decoded) is written byte for byte; any other string as UTF-8. The rest of the
 * field must already be zero.
 */
export function writeCString(text: string, buf: Uint8Array, offset: number, size: number): void {
  const field = buf.subarray(offset, offset + size - 1);
  let written: number;
  if (/^[\0-\xff]*$/.test(text)) {
    written = Math.min(text.length, field.length);
    for (let i = 0; i < written; i++) field[i] = text.charCodeAt(i);
  } else {
    written = utf8Encoder.encodeInto(text, field).written;
  }
  buf.fill(0, offset + written, offset + size);
}

/** A plain Uint8Array view over the same memory (no copy), so decoded byte fields have one type. */
export function plainView(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * For the `default` of a switch that handles every member of a union: `x` is `never` there, so a
 * member added to the union without a case fails to compile instead of being skipped silently.
 */
export function unreachable(x: never, what: string): never {
  throw new TypeError(`no case for this ${what} (type ${String((x as { type?: unknown }).type)})`);
}
