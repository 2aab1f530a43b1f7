/**
 * The FLOW argument of `ofproto/trace BRIDGE FLOW`, in ovs-ofctl's syntax, as Open vSwitch 3.1's
 * parse_ofp_exact_flow reads it: comma- or space-separated `field=value` pairs and protocol
 * keywords (`ip`, `icmp`, `tcp`, `udp`, `sctp`, `arp`, `rarp`); every field not given is zero, and
 * in_port is OFPP_NONE when not given. A port may be given by number, by OVS's reserved name
 * (LOCAL, ...) or by the name of a port of the bridge. Errors are OVS's texts, for the caller to
 * prefix with "Bad openflow flow syntax: " as OVS does.
 *
 * The flow is then made into the frame it describes (composeFrame, like OVS's flow_compose), so
 * that a trace of a FLOW and of a real frame take the same path: parseFrame, lookup, actions.
 * A flow without an Ethernet type (or with one below 0x0600, which is a length) makes an 802.3
 * frame, which parses to dl_type 0x05ff; OVS traces the flow itself, dl_type 0x0000 (or as given),
 * so ofproto-trace.ts has the lookups and the flow's text keep the dl_type given. IPv6 flows are
 * traced from a real frame (PACKET_HEX) only: an OpenFlow 1.0 key has no IPv6 addresses.
 */
import { ETH_TYPE, IPPROTO, OFPP } from '../../protocol/constants.js';
import { RESERVED_PORT_NUMBERS } from '../../protocol/flow-format.js';

/** A flow's fields as ofproto/trace uses them; numbers are host order, addresses as numbers. */
export interface TraceFlow {
  inPort: number;
  dlSrc: number;
  dlDst: number;
  /** The 802.1Q TCI of a tagged frame (CFI set), or 0 for an untagged one. */
  vlanTci: number;
  dlType: number;
  nwSrc: number;
  nwDst: number;
  nwProto: number;
  /** The DSCP bits of the ToS byte (nw_tos), and its two ECN bits (nw_ecn). */
  nwTos: number;
  nwEcn: number;
  nwTtl: number;
  tpSrc: number;
  tpDst: number;
  arpSha: number;
  arpTha: number;
}

const VLAN_CFI = 0x1000;

/** Protocol keywords (ofp_parse_protocol) that describe IPv4 or ARP frames. */
const PROTOCOLS: Readonly<Record<string, { dlType: number; nwProto: number } | undefined>> = {
  ip: { dlType: ETH_TYPE.IP, nwProto: 0 },
  icmp: { dlType: ETH_TYPE.IP, nwProto: IPPROTO.ICMP },
  tcp: { dlType: ETH_TYPE.IP, nwProto: IPPROTO.TCP },
  udp: { dlType: ETH_TYPE.IP, nwProto: IPPROTO.UDP },
  sctp: { dlType: ETH_TYPE.IP, nwProto: IPPROTO.SCTP },
  arp: { dlType: ETH_TYPE.ARP, nwProto: 0 },
  rarp: { dlType: ETH_TYPE.RARP, nwProto: 0 },
};
const IPV6_PROTOCOLS = new Set(['ipv6', 'icmp6', 'tcp6', 'udp6', 'sctp6']);

type Prereq = (f: TraceFlow) => boolean;
const isIp: Prereq = (f) => f.dlType === ETH_TYPE.IP;
const isArp: Prereq = (f) => f.dlType === ETH_TYPE.ARP || f.dlType === ETH_TYPE.RARP;
const hasPorts: Prereq = (f) => isIp(f) && (f.nwProto === IPPROTO.TCP || f.nwProto === IPPROTO.UDP || f.nwProto === IPPROTO.SCTP);
const isIcmp: Prereq = (f) => isIp(f) && f.nwProto === IPPROTO.ICMP;

interface Field {
  readonly name: string;
  readonly kind: 'int' | 'mac' | 'ipv4' | 'port';
  /** Bytes of an integer field (for OVS's "too large" text) and its largest value. */
  readonly bytes?: number;
  readonly max?: number;
  readonly prereq?: Prereq;
  set(f: TraceFlow, v: number): void;
}

const FIELD_LIST: readonly (Field & { readonly aliases?: readonly string[] })[] = [
  { name: 'in_port', kind: 'port', set: (f, v) => (f.inPort = v) },
  { name: 'dl_src', aliases: ['eth_src'], kind: 'mac', set: (f, v) => (f.dlSrc = v) },
  { name: 'dl_dst', aliases: ['eth_dst'], kind: 'mac', set: (f, v) => (f.dlDst = v) },
  { name: 'dl_type', aliases: ['eth_type'], kind: 'int', bytes: 2, max: 0xffff, set: (f, v) => (f.dlType = v) },
  { name: 'vlan_tci', kind: 'int', bytes: 2, max: 0xffff, set: (f, v) => (f.vlanTci = v) },
  { name: 'dl_vlan', kind: 'int', bytes: 2, max: 0x0fff, set: (f, v) => (f.vlanTci = (f.vlanTci & 0xe000) | VLAN_CFI | v) },
  { name: 'dl_vlan_pcp', kind: 'int', bytes: 1, max: 7, set: (f, v) => (f.vlanTci = (f.vlanTci & 0x0fff) | VLAN_CFI | (v << 13)) },
  { name: 'nw_src', aliases: ['ip_src'], kind: 'ipv4', prereq: isIp, set: (f, v) => (f.nwSrc = v) },
  { name: 'nw_dst', aliases: ['ip_dst'], kind: 'ipv4', prereq: isIp, set: (f, v) => (f.nwDst = v) },
  { name: 'nw_proto', aliases: ['ip_proto'], kind: 'int', bytes: 1, max: 0xff, prereq: isIp, set: (f, v) => (f.nwProto = v) },
  { name: 'nw_tos', kind: 'int', bytes: 1, max: 0xfc, prereq: isIp, set: (f, v) => (f.nwTos = v & 0xfc) },
  { name: 'ip_dscp', kind: 'int', bytes: 1, max: 0x3f, prereq: isIp, set: (f, v) => (f.nwTos = v << 2) },
  { name: 'nw_ecn', aliases: ['ip_ecn'], kind: 'int', bytes: 1, max: 3, prereq: isIp, set: (f, v) => (f.nwEcn = v) },
  { name: 'nw_ttl', kind: 'int', bytes: 1, max: 0xff, prereq: isIp, set: (f, v) => (f.nwTtl = v) },
  { name: 'tp_src', aliases: ['tcp_src', 'udp_src', 'sctp_src'], kind: 'int', bytes: 2, max: 0xffff, prereq: hasPorts, set: (f, v) => (f.tpSrc = v) },
  { name: 'tp_dst', aliases: ['tcp_dst', 'udp_dst', 'sctp_dst'], kind: 'int', bytes: 2, max: 0xffff, prereq: hasPorts, set: (f, v) => (f.tpDst = v) },
  { name: 'icmp_type', kind: 'int', bytes: 1, max: 0xff, prereq: isIcmp, set: (f, v) => (f.tpSrc = v) },
  { name: 'icmp_code', kind: 'int', bytes: 1, max: 0xff, prereq: isIcmp, set: (f, v) => (f.tpDst = v) },
  { name: 'arp_spa', kind: 'ipv4', prereq: isArp, set: (f, v) => (f.nwSrc = v) },
  { name: 'arp_tpa', kind: 'ipv4', prereq: isArp, set: (f, v) => (f.nwDst = v) },
  { name: 'arp_op', kind: 'int', bytes: 2, max: 0xff, prereq: isArp, set: (f, v) => (f.nwProto = v) },
  { name: 'arp_sha', kind: 'mac', prereq: isArp, set: (f, v) => (f.arpSha = v) },
  { name: 'arp_tha', kind: 'mac', prereq: isArp, set: (f, v) => (f.arpTha = v) },
];

const FIELDS = new Map<string, Field>();
for (const f of FIELD_LIST) for (const n of [f.name, ...(f.aliases ?? [])]) FIELDS.set(n, f);


export class FlowSyntaxError extends Error {
  override readonly name = 'FlowSyntaxError';
}

export function emptyFlow(): TraceFlow {
  return { inPort: OFPP.NONE, dlSrc: 0, dlDst: 0, vlanTci: 0, dlType: 0, nwSrc: 0, nwDst: 0, nwProto: 0, nwTos: 0, nwEcn: 0, nwTtl: 0, tpSrc: 0, tpDst: 0, arpSha: 0, arpTha: 0 };
}

/** parse_int_string: decimal, or hex with 0x; the error text mf_from_integer_string gives. */
function parseInteger(s: string, field: Field): number {
  const m = /^(0x[0-9a-f]+|\d+)$/i.exec(s);
  if (!m) throw new FlowSyntaxError(`${s}: bad syntax for ${field.name} value`);
  const v = Number(s);
  if (v > 2 ** (8 * (field.bytes ?? 4)) - 1) throw new FlowSyntaxError(`${s}: value too large for ${field.bytes}-byte field ${field.name}`);
  if (v > (field.max ?? Infinity)) throw new FlowSyntaxError(`${s}: value ${v} out of range for ${field.name} (0..${field.max})`);
  return v;
}

function parseMac(s: string): number {
  if (!/^([0-9a-f]{1,2}:){5}[0-9a-f]{1,2}$/i.test(s)) throw new FlowSyntaxError(`${s}: invalid Ethernet address`);
  return s.split(':').reduce((a, h) => a * 256 + parseInt(h, 16), 0);
}

function parseIpv4(s: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  const octets = m ? m.slice(1, 5).map(Number) : [];
  if (!m || octets.some((o) => o > 255)) throw new FlowSyntaxError(`${s}: invalid IP address`);
  return octets.reduce((a, o) => a * 256 + o, 0) >>> 0;
}

function parsePort(s: string, portByName: (name: string) => number | undefined): number {
  if (/^\d+$/.test(s)) {
    const v = Number(s);
    if (v > 0xffff) throw new FlowSyntaxError(`${s}: port value out of range for in_port`);
    return v;
  }
  const reserved = RESERVED_PORT_NUMBERS[s.toUpperCase()];
  if (reserved !== undefined) return reserved;
  const named = portByName(s);
  if (named === undefined) throw new FlowSyntaxError(`${s}: invalid or unknown port for in_port`);
  return named;
}

/**
 * Parses FLOW (parse_ofp_exact_flow). `portByName`: the bridge's port numbers by name. Throws a
 * FlowSyntaxError with OVS's text.
 */
export function parseTraceFlow(text: string, portByName: (name: string) => number | undefined): TraceFlow {
  const flow = emptyFlow();
  const given = new Set<Field>();
  let protocolSet = false;
  for (const item of text.split(/[,\s]+/).filter((x) => x !== '')) {
    const eq = item.indexOf('=');
    const key = eq < 0 ? item : item.slice(0, eq);
    const value = eq < 0 ? '' : item.slice(eq + 1);
    const proto = PROTOCOLS[key];
    if (proto !== undefined || IPV6_PROTOCOLS.has(key)) {
      if (proto === undefined) throw new FlowSyntaxError(`${text}: ${key}: ofswitch traces IPv6 only from a packet (give PACKET_HEX)`);
      if (protocolSet || flow.dlType !== 0) throw new FlowSyntaxError(`${text}: Ethernet type set multiple times`);
      protocolSet = true;
      flow.dlType = proto.dlType;
      if (proto.nwProto !== 0) {
        if (flow.nwProto !== 0) throw new FlowSyntaxError(`${text}: network protocol set multiple times`);
        flow.nwProto = proto.nwProto;
      }
      continue;
    }
    const field = FIELDS.get(key);
    if (field === undefined) throw new FlowSyntaxError(`${text}: unknown field ${key}`);
    if (field.prereq && !field.prereq(flow)) throw new FlowSyntaxError(`${text}: prerequisites not met for setting ${key}`);
    if (given.has(field)) throw new FlowSyntaxError(`${text}: field ${key} set multiple times`);
    try {
      if (value.includes('/')) throw new FlowSyntaxError(`${value}: wildcards not allowed here`);
      const v =
        field.kind === 'int' ? parseInteger(value, field) : field.kind === 'mac' ? parseMac(value) : field.kind === 'ipv4' ? parseIpv4(value) : parsePort(value, portByName);
      field.set(flow, v);
      given.add(field);
    } catch (err) {
      if (!(err instanceof FlowSyntaxError)) throw err;
      throw new FlowSyntaxError(`${text}: bad value for ${key} (${err.message})`);
    }
  }
  return flow;
}

/**
 * A packet in hex (OVS's eth_from_hex): hex digit pairs, white space allowed between them; at
 * least an Ethernet header. OVS's error text when it is not one.
 */
export function frameFromHex(text: string): Uint8Array | string {
  const hex = text.replace(/\s+/g, '');
  const m = /^([0-9a-f]{2})*/i.exec(hex);
  const good = m ? m[0] : '';
  if (good.length !== hex.length) return 'Trailing garbage in packet data';
  if (good.length / 2 < 14) return 'Packet data too short for Ethernet';
  return Uint8Array.from(Buffer.from(good, 'hex'));
}

function put16(b: number[], v: number): void {
  b.push((v >>> 8) & 0xff, v & 0xff);
}
function put32(b: number[], v: number): void {
  b.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}
function putMac(b: number[], mac: number): void {
  put16(b, Math.floor(mac / 0x100000000));
  put32(b, mac % 0x100000000);
}

/** The ones' complement sum of `b` from `start` to `end`, folded and inverted (RFC 1071). */
function checksum(b: number[], start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i += 2) sum += ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** The frame a flow describes (flow_compose): headers only, IPv4 and ARP as given, checksums right. */
export function composeFrame(f: TraceFlow): Uint8Array {
  const b: number[] = [];
  putMac(b, f.dlDst);
  putMac(b, f.dlSrc);
  if ((f.vlanTci & VLAN_CFI) !== 0) {
    put16(b, ETH_TYPE.VLAN);
    put16(b, f.vlanTci & ~VLAN_CFI);
  }
  put16(b, f.dlType);
  if (f.dlType === ETH_TYPE.IP) {
    const l4 = f.nwProto === IPPROTO.TCP ? 20 : f.nwProto === IPPROTO.UDP || f.nwProto === IPPROTO.ICMP ? 8 : f.nwProto === IPPROTO.SCTP ? 12 : 0;
    const ip = b.length;
    b.push(0x45, f.nwTos | f.nwEcn);
    put16(b, 20 + l4);
    put32(b, 0); // id, flags, fragment offset
    b.push(f.nwTtl, f.nwProto);
    put16(b, 0);
    put32(b, f.nwSrc);
    put32(b, f.nwDst);
    const sum = checksum(b, ip, ip + 20);
    b[ip + 10] = sum >>> 8;
    b[ip + 11] = sum & 0xff;
    if (f.nwProto === IPPROTO.ICMP) {
      b.push(f.tpSrc, f.tpDst, 0, 0);
      put32(b, 0);
      const s = checksum(b, ip + 20, b.length);
      b[ip + 22] = s >>> 8;
      b[ip + 23] = s & 0xff;
    } else if (f.nwProto === IPPROTO.TCP) {
      put16(b, f.tpSrc);
      put16(b, f.tpDst);
      put32(b, 0);
      put32(b, 0);
      b.push(0x50, 0);
      put16(b, 0);
      put32(b, 0); // checksum and urgent pointer: a trace sends nothing
    } else if (f.nwProto === IPPROTO.UDP) {
      put16(b, f.tpSrc);
      put16(b, f.tpDst);
      put16(b, 8);
      put16(b, 0); // no checksum
    } else if (f.nwProto === IPPROTO.SCTP) {
      put16(b, f.tpSrc);
      put16(b, f.tpDst);
      put32(b, 0);
      put32(b, 0);
    }
  } else if (f.dlType === ETH_TYPE.ARP || f.dlType === ETH_TYPE.RARP) {
    put16(b, 1);
    put16(b, ETH_TYPE.IP);
    b.push(6, 4);
    put16(b, f.nwProto);
    putMac(b, f.arpSha);
    put32(b, f.nwSrc);
    putMac(b, f.arpTha);
    put32(b, f.nwDst);
  }
  return Uint8Array.from(b);
}
