/**
 * The little frame handling CFM and BFD need, without the datapath's parser: MAC text to bytes and
 * back, where an Ethernet frame's payload starts (past at most one 802.1Q tag, as a CCM with
 * other_config:cfm_ccm_vlan carries one) and the IPv4 header checksum.
 */
import { ETH_TYPE_VLAN } from './constants.js';

const MAC = /^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$/;

/** A MAC address `xx:xx:xx:xx:xx:xx` as 6 bytes; null when the text is none. */
export function macBytes(text: string): Uint8Array | null {
  if (!MAC.test(text)) return null;
  return Uint8Array.from(text.split(':').map((h) => parseInt(h, 16)));
}

export function macText(b: Uint8Array, offset = 0): string {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push((b[offset + i] ?? 0).toString(16).padStart(2, '0'));
  return parts.join(':');
}

/** Whether bytes `offset..offset+5` of `frame` are `mac`. */
export function macEquals(frame: Uint8Array, offset: number, mac: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (frame[offset + i] !== mac[i]) return false;
  return true;
}

/** A dotted IPv4 address as a 32-bit unsigned number; null when the text is none. */
export function ipv4Number(text: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/** The EtherType past at most one 802.1Q tag and where the payload starts; null for a runt. */
export function ethPayload(frame: Uint8Array): { type: number; offset: number } | null {
  if (frame.length < 14) return null;
  let type = (frame[12]! << 8) | frame[13]!;
  let offset = 14;
  if (type === ETH_TYPE_VLAN) {
    if (frame.length < 18) return null;
    type = (frame[16]! << 8) | frame[17]!;
    offset = 18;
  }
  return { type, offset };
}

/** The Internet checksum of `len` bytes at `offset`. */
export function ipChecksum(b: Uint8Array, offset: number, len: number): number {
  let sum = 0;
  for (let i = 0; i < len; i += 2) sum += ((b[offset + i] ?? 0) << 8) | (b[offset + i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
