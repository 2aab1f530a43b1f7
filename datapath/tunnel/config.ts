/**
 * A tunnel port's options, read as Open vSwitch's Interface table defines them for types vxlan,
 * geneve and gre (vswitch.xml, "Tunnel Options"; parsed as netdev-vport.c's set_tunnel_config):
 *
 *   remote_ip   the far end's IPv4 address (required)
 *   local_ip    the address to send from and receive on (default: any, the kernel's choice)
 *   key         VNI (vxlan, geneve: 0..2^24-1, default 0) or GRE key (0..2^32-1; a GRE port
 *               without one sends no key field and receives packets without a key, or key 0)
 *   dst_port    UDP port (vxlan 4789, geneve 6081; not for gre)
 *   tos         outer TOS: a DSCP value (ECN bits zero), or "inherit" (the inner IP's), default 0
 *   ttl         outer TTL 1..255, or "inherit" (the inner IP's), default 64
 *   df_default  "true" (default): the outer packet carries DF and a frame too large for the
 *               underlay is dropped; "false": no DF, the kernel fragments the outer packet
 *   csum        "true": GRE checksum, or UDP checksum for vxlan/geneve; default "false"
 *
 * Refused, with a message the database writes into the Interface's `error` column:
 * `remote_ip=flow`, `local_ip=flow` and `key=flow` (their values come from tunnel metadata
 * fields set by flows, which only Nicira extensions carry; OpenFlow 1.0 has none), IPv6
 * addresses (the underlay here is IPv4), and values out of range. Pure: no I/O.
 */
import { isIPv4 } from 'node:net';
import { MAX_KEY, type EncapParams, type TunnelKind } from './codec.js';
import { PortError, type PortOptions } from '../ports/port-type.js';

/** The default UDP destination ports (IANA): VXLAN 4789, Geneve 6081. */
export const VXLAN_DST_PORT = 4789;
export const GENEVE_DST_PORT = 6081;
/** Open vSwitch's default outer TTL (netdev-vport.c DEFAULT_TTL). */
export const DEFAULT_TUNNEL_TTL = 64;
/** IP protocol number of GRE. */
export const IPPROTO_GRE = 47;

/** The options each type takes. */
export const TUNNEL_OPTIONS: Readonly<Record<TunnelKind, readonly string[]>> = {
  vxlan: ['remote_ip', 'local_ip', 'key', 'dst_port', 'tos', 'ttl', 'df_default', 'csum'],
  geneve: ['remote_ip', 'local_ip', 'key', 'dst_port', 'tos', 'ttl', 'df_default', 'csum'],
  gre: ['remote_ip', 'local_ip', 'key', 'tos', 'ttl', 'df_default', 'csum'],
};

export interface TunnelConfig extends EncapParams {
  /** The far end, as an unsigned 32-bit number (a.b.c.d = a<<24 | ...), and as written. */
  readonly remoteIp: number;
  readonly remoteText: string;
  /** The local address, 0 for any. */
  readonly localIp: number;
  /** UDP destination port (0 for gre). */
  readonly dstPort: number;
  readonly tos: number | 'inherit';
  readonly ttl: number | 'inherit';
  /** df_default. */
  readonly df: boolean;
}

/** An IPv4 address in dotted form as an unsigned 32-bit number. */
export function ipv4ToNumber(text: string): number {
  const [a, b, c, d] = text.split('.').map(Number) as [number, number, number, number];
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

/** An unsigned 32-bit number as a dotted IPv4 address. */
export function numberToIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

function text(options: PortOptions, key: string): string | undefined {
  const v = options[key];
  return v === undefined ? undefined : String(v);
}

function address(name: string, key: string, value: string): number {
  if (value === 'flow')
    throw new PortError(`port ${name}: ${key}=flow is not supported: the address would come from a flow's tunnel metadata, which needs Nicira extensions that OpenFlow 1.0 lacks`);
  if (!isIPv4(value)) throw new PortError(`port ${name}: ${key} "${value}" is not an IPv4 address`);
  return ipv4ToNumber(value);
}

function integer(name: string, key: string, value: string, min: number, max: number): number {
  const n = /^\d+$/.test(value) ? Number(value) : /^0x[0-9a-f]+$/i.test(value) ? parseInt(value, 16) : NaN;
  if (!(n >= min && n <= max)) throw new PortError(`port ${name}: ${key} "${value}" is not a number in ${min}..${max}`);
  return n;
}

function flag(name: string, key: string, value: string | undefined, dflt: boolean): boolean {
  if (value === undefined) return dflt;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new PortError(`port ${name}: ${key} "${value}" is not true or false`);
}

/** Reads a port's options (see the top of this file); a PortError naming the port and the option. */
export function tunnelConfig(kind: TunnelKind, name: string, options: PortOptions): TunnelConfig {
  const remote = text(options, 'remote_ip');
  if (remote === undefined || remote === '') throw new PortError(`port ${name}: ${kind} type requires valid 'remote_ip' argument`);
  const remoteIp = address(name, 'remote_ip', remote);
  const local = text(options, 'local_ip');
  const localIp = local === undefined ? 0 : address(name, 'local_ip', local);
  const keyText = text(options, 'key');
  if (keyText === 'flow')
    throw new PortError(`port ${name}: key=flow is not supported: the key would come from a flow's tunnel metadata (tun_id), which needs Nicira extensions that OpenFlow 1.0 lacks`);
  const key = keyText === undefined ? 0 : integer(name, 'key', keyText, 0, MAX_KEY[kind]);
  const portText = text(options, 'dst_port');
  const dstPort = kind === 'gre' ? 0 : portText === undefined ? (kind === 'vxlan' ? VXLAN_DST_PORT : GENEVE_DST_PORT) : integer(name, 'dst_port', portText, 1, 65535);
  const tosText = text(options, 'tos');
  let tos: number | 'inherit' = 0;
  if (tosText === 'inherit') tos = 'inherit';
  else if (tosText !== undefined) {
    tos = integer(name, 'tos', tosText, 0, 255);
    if ((tos & 0x03) !== 0) throw new PortError(`port ${name}: tos ${tos} has ECN bits set (only a DSCP value, a multiple of 4, or "inherit")`);
  }
  const ttlText = text(options, 'ttl');
  const ttl = ttlText === 'inherit' ? 'inherit' : ttlText === undefined ? DEFAULT_TUNNEL_TTL : integer(name, 'ttl', ttlText, 1, 255);
  return {
    kind,
    remoteIp,
    remoteText: remote,
    localIp,
    key,
    keyPresent: kind !== 'gre' || keyText !== undefined,
    dstPort,
    tos,
    ttl,
    df: flag(name, 'df_default', text(options, 'df_default'), true),
    csum: flag(name, 'csum', text(options, 'csum'), false),
  };
}
