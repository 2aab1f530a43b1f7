/**
 * The `ofswitch` command's settings: parsed from the command line and from a JSON `--config` file
 * holding the same settings (command-line options win; a list given on the command line replaces
 * the file's). Anything wrong raises a UsageError whose message names the culprit; the command
 * prints it and exits with status 2.
 *
 * commander reads the command line (flags, `--opt=value`, a missing value, unknown options,
 * --help and its text); each option's value goes through one of the exported value parsers below
 * (parsePort, parseDpid, parseListen, ...), which the config file uses too. Adding an option: a
 * parser, a `.option()` in commandLineProgram, a RawSettings key, a config-file key, and its
 * SwitchOptions field.
 */
import { parseRemote } from '../ovsdb/jsonrpc.js';
import { ovsRundir } from '../unixctl/daemon.js';
import { UNIX_PATH_MAX } from '../unixctl/unix-socket.js';
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import {
  DEFAULT_MAX_CONNECTIONS,
  INGRESS_POLICING_MAX,
  MAC_DEFAULT_MAX,
  MAC_ENTRY_DEFAULT_IDLE_TIME,
  MAC_MAX_IDLE_TIME,
  MAC_MAX_MAX,
  MAC_MIN_IDLE_TIME,
  MAC_MIN_MAX,
  OFP_DEFAULT_LISTEN_PORT,
  OFP_SSL_PORT,
  OFP_TCP_PORT,
  OFPP,
} from '../protocol/constants.js';
import { VLAN_MODES, type VlanMode } from '../datapath/normal.js';
import { SflowError, sflowConfig, type SflowSettings } from '../sflow/index.js';
import { NetflowError, netflowConfig, type NetflowSettings } from '../netflow/index.js';
import { SPANNING_TREE_KEYS, spanningTreeFromOtherConfig, type SpanningTreeSpec } from './spanning-tree.js';
import { IpfixError, ipfixConfig, type IpfixSettings } from '../ipfix/index.js';
import { LOG_LEVELS, type LogLevel } from './log.js';
import type { TlsFiles } from './tls-config.js';
import type { HtbSettings } from '../qos/htb.js';
import { parseQosObject } from './qos-option.js';
import type { MirrorSpec } from './switch.js';
import { BondError, bondFromObject, type BondSpec } from './bonds.js';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface PortOption {
  /** Linux interface name. */
  readonly name: string;
  /** OpenFlow port number; when absent the next free one counting from 1. */
  readonly ofport?: number;
  /** Access port VLAN for the NORMAL bridge. */
  readonly tag?: number;
  /** VLANs a trunk port carries (empty: all). */
  readonly trunks?: readonly number[];
  /** Port.vlan_mode: access, trunk, native-tagged, native-untagged (default: access with a tag, else trunk). */
  readonly vlanMode?: VlanMode;
  /** Interface ingress_policing_rate (kbit/s; 0: off) and ingress_policing_burst (kbit; 0: 8000). */
  readonly ingressPolicingRate?: number;
  readonly ingressPolicingBurst?: number;
  /** QoS type egress-policer: cir (bytes/s) and cbs (bytes), given together. */
  readonly egressPolicer?: { readonly cir: number; readonly cbs: number };
  /** CFM: `cfm_mpid` and the other_config keys `cfm_interval`, `cfm_extended`, ... (oam/settings.ts reads them). */
  readonly cfm?: Readonly<Record<string, string>>;
  /** BFD: the Interface `bfd` column's keys (`enable`, `min_rx`, ...; oam/bfd.ts reads them). */
  readonly bfd?: Readonly<Record<string, string>>;
  /** Interface type, as ovs-vsctl names it (default system; vxlan, geneve, gre: tunnel ports). */
  readonly type?: string;
  /** Interface options (`options:remote_ip=...` on the command line; an object in the file). */
  readonly options?: Readonly<Record<string, string>>;
}

/** The CFM keys a port takes: the Interface's cfm_mpid and its other_config:cfm_* keys. */
export const PORT_CFM_KEYS = ['cfm_mpid', 'cfm_interval', 'cfm_extended', 'cfm_opstate', 'cfm_ccm_vlan', 'cfm_ccm_pcp'] as const;
/** The BFD keys a port takes (`bfd:KEY=VALUE`), the Interface `bfd` column's. */
export const PORT_BFD_KEYS = [
  'enable', 'min_rx', 'min_tx', 'decay_min_rx', 'forwarding_if_rx', 'cpath_down', 'check_tnl_key', 'mult', 'oam',
  'bfd_local_src_mac', 'bfd_local_dst_mac', 'bfd_remote_dst_mac', 'bfd_src_ip', 'bfd_dst_ip',
] as const;

export interface Endpoint {
  readonly host: string;
  readonly port: number;
  /** TLS (`ssl:` / `pssl:`) rather than plain TCP (`tcp:` / `ptcp:`). */
  readonly tls?: boolean;
}

/** A unix-domain socket path (`punix:PATH`). */
export interface UnixEndpoint {
  readonly path: string;
}

/** Where OpenFlow connections are accepted: TCP or a unix-domain socket (tell them apart by `path`). */
export type ListenEndpoint = Endpoint | UnixEndpoint;

export type FailMode = 'secure' | 'standalone';

export interface SwitchOptions {
  /** Datapath id; undefined: derived from the first port's MAC. */
  readonly dpid: bigint | undefined;
  /** Ports with their OpenFlow numbers assigned. */
  readonly ports: readonly (PortOption & { readonly ofport: number })[];
  readonly local: string | undefined;
  readonly listen: readonly ListenEndpoint[];
  readonly controllers: readonly Endpoint[];
  readonly failMode: FailMode;
  /** Idle interval before an echo probe on controller connections, in milliseconds. */
  readonly probeIntervalMs: number;
  /** Packet-ins per second per connection and kind (controller_rate_limit); undefined: the default. */
  readonly controllerRateLimit: number | undefined;
  /** Packet-ins queued at most (controller_burst_limit); undefined: a quarter of the rate. */
  readonly controllerBurstLimit: number | undefined;
  readonly logLevel: LogLevel;
  /** Control socket path for ovs-appctl; none when undefined. */
  readonly unixctl: string | undefined;
  /** NORMAL's MAC table: most entries (default 8,192) and seconds an entry lives unseen (default 300). */
  readonly macTableSize?: number | undefined;
  readonly macAgingTime?: number | undefined;
  /** The flow journal's file (the table survives a restart); none when undefined. */
  readonly flowJournal?: string | undefined;
  /** sFlow export (config file only: `"sflow": {"targets": ["IP:PORT"], ...}`); none when undefined. */
  readonly sflow?: SflowSettings | undefined;
  /** NetFlow v5 export (config file only: `"netflow": {"targets": ["IP:PORT"], ...}`); none when undefined. */
  readonly netflow?: NetflowSettings | undefined;
  /** IPFIX bridge export (config file only: `"ipfix": {"targets": ["IP:PORT"], ...}`); none when undefined. */
  readonly ipfix?: IpfixSettings | undefined;
  /** --private-key, --certificate, --ca-cert (or --bootstrap-ca-cert): for ssl: and pssl:. */
  readonly tls?: TlsFiles | undefined;
  /** Port mirrors (`--config` key "mirrors"; the Mirror table's columns). */
  readonly mirrors?: readonly MirrorSpec[] | undefined;
  /** Bonds (`--config` key "bonds"; the Port table's bond and LACP columns, lib/bonds.ts). */
  readonly bonds?: readonly BondSpec[] | undefined;
  /** Egress queues per port name (`--config` key "qos": QoS linux-htb, lib/qos-option.ts). */
  readonly qos?: Readonly<Record<string, HtbSettings>> | undefined;
  /** Spanning tree (`--config` keys "stpEnable"/"rstpEnable", "otherConfig", "portOtherConfig"). */
  readonly spanningTree?: SpanningTreeSpec | undefined;
  /** Connections accepted on the listeners at once (default DEFAULT_MAX_CONNECTIONS). */
  readonly maxConnections?: number | undefined;
  /** --metrics: where Prometheus scrapes GET /metrics (metrics/); none when undefined. */
  readonly metrics?: Endpoint | undefined;
}

/** Database mode: the bridges come from an Open_vSwitch database, as ovs-vswitchd serves them. */
export interface DaemonOptions {
  /** ovsdb-server's remote: `unix:PATH` or `tcp:IP:PORT`. */
  readonly ovsdb: string;
  /** Where the pid file, the control socket and the bridges' management sockets go. */
  readonly rundir: string;
  readonly logLevel: LogLevel;
  /**
   * `--enable-dummy[=override]`, as ovs-vswitchd's option for its own tests: Interface type
   * "dummy" opens an in-memory port; with "override", "system" and "internal" interfaces are
   * in-memory ports too, so no kernel device is made or needed.
   */
  readonly dummy?: 'on' | 'override';
  /** Each bridge's flow table journaled in RUNDIR/BRIDGE.flows (default true; --no-flow-journal). */
  readonly flowJournal?: boolean;
  /** --metrics: where Prometheus scrapes GET /metrics, every bridge of the daemon (metrics/); none when undefined. */
  readonly metrics?: Endpoint;
}

export type CommandLine =
  | { readonly kind: 'run'; readonly options: SwitchOptions }
  | { readonly kind: 'daemon'; readonly options: DaemonOptions }
  | { readonly kind: 'help' }
  | { readonly kind: 'version' };

export const DEFAULT_PROBE_INTERVAL_MS = 5000;
export const DEFAULT_LISTEN: Endpoint = { host: '127.0.0.1', port: OFP_DEFAULT_LISTEN_PORT };

/**
 * Raw settings before defaults and port numbering: what the file and the command line give, keyed
 * as commander names the options' values (`--fail-mode` is failMode), so that the command line's
 * merge over the file's as they are.
 */
interface RawSettings {
  dpid?: bigint;
  port?: PortOption[];
  local?: string;
  listen?: ListenEndpoint[];
  controller?: Endpoint[];
  failMode?: FailMode;
  /** In milliseconds. */
  probeInterval?: number;
  controllerRateLimit?: number;
  controllerBurstLimit?: number;
  logLevel?: LogLevel;
  unixctl?: string;
  macTableSize?: number;
  macAgingTime?: number;
  /** false: --no-flow-journal. */
  flowJournal?: string | false;
  /** The config file's `sflow` object (as OVS's sFlow table). */
  sflow?: SflowSettings;
  /** The config file's `netflow` object (as OVS's NetFlow table). */
  netflow?: NetflowSettings;
  /** The config file's `ipfix` object (as OVS's IPFIX table). */
  ipfix?: IpfixSettings;
  privateKey?: string;
  certificate?: string;
  caCert?: string;
  bootstrapCaCert?: string;
  mirrors?: MirrorSpec[];
  bonds?: BondSpec[];
  qos?: Record<string, HtbSettings>;
  /** The config file's spanning tree: the Bridge's stp_enable / rstp_enable and other_config, the Ports' other_config by name. */
  stpEnable?: boolean;
  rstpEnable?: boolean;
  otherConfig?: Record<string, string>;
  portOtherConfig?: Record<string, Record<string, string>>;
  maxConnections?: number;
  /** --metrics (command line only). */
  metrics?: Endpoint;
}

const IFNAME = /^[^\s/:,]{1,15}$/;

function parseInteger(text: string, what: string, min: number, max: number): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${what}: "${text}" is not a number`);
  const n = Number(text);
  if (n < min || n > max) throw new UsageError(`${what}: ${n} is out of range ${min}..${max}`);
  return n;
}

export function parseDpid(text: string): bigint {
  const hex = text.replace(/^0x/i, '');
  if (!/^[0-9a-fA-F]{1,16}$/.test(hex)) throw new UsageError(`--dpid: "${text}" is not at most 16 hex digits`);
  return BigInt('0x' + hex);
}

export function parseInterfaceName(text: string, what: string): string {
  if (!IFNAME.test(text)) throw new UsageError(`${what}: "${text}" is not a valid interface name`);
  return text;
}

/**
 * `NAME[,ofport=N][,tag=VID][,trunks=VID:VID:...][,vlan_mode=MODE][,ingress_policing_rate=KBPS]
 * [,ingress_policing_burst=KBIT][,egress_policer_cir=BYTES_PER_S,egress_policer_cbs=BYTES]
 * [,cfm_mpid=N,...][,bfd:KEY=VALUE...][,type=TYPE][,options:KEY=VALUE...]`
 */
export function parsePort(text: string): PortOption {
  const [name = '', ...settings] = text.split(',');
  let port: PortOption = { name: parseInterfaceName(name, '--port') };
  let cir: number | undefined;
  let cbs: number | undefined;
  for (const setting of settings) {
    const [key, value = ''] = setting.split('=', 2);
    const what = `--port ${name}: ${key}`;
    if (key === 'ofport') port = { ...port, ofport: parseInteger(value, what, 1, OFPP.MAX - 1) };
    else if (key === 'tag') port = { ...port, tag: parseInteger(value, what, 0, 4095) };
    else if (key === 'trunks')
      port = { ...port, trunks: value.split(':').map((vid) => parseInteger(vid, what, 0, 4095)) };
    else if (key === 'vlan_mode') port = { ...port, vlanMode: parseVlanMode(value, what) };
    else if (key === 'ingress_policing_rate') port = { ...port, ingressPolicingRate: parseInteger(value, what, 0, INGRESS_POLICING_MAX) };
    else if (key === 'ingress_policing_burst') port = { ...port, ingressPolicingBurst: parseInteger(value, what, 0, INGRESS_POLICING_MAX) };
    else if (key === 'egress_policer_cir') cir = parseInteger(value, what, 1, Number.MAX_SAFE_INTEGER);
    else if (key === 'egress_policer_cbs') cbs = parseInteger(value, what, 1, Number.MAX_SAFE_INTEGER);
    else if ((PORT_CFM_KEYS as readonly string[]).includes(key ?? '')) {
      if (key === 'cfm_mpid') parseInteger(value, what, 1, Number.MAX_SAFE_INTEGER);
      port = { ...port, cfm: { ...port.cfm, [key!]: value } };
    } else if (key?.startsWith('bfd:') && (PORT_BFD_KEYS as readonly string[]).includes(key.slice(4))) {
      port = { ...port, bfd: { ...port.bfd, [key.slice(4)]: value } };
    } else if (key === 'type' && /^[a-z]+$/.test(value)) port = { ...port, type: value };
    else if (key !== undefined && key.startsWith('options:') && key.length > 'options:'.length)
      port = { ...port, options: { ...port.options, [key.slice('options:'.length)]: value } };
    else throw new UsageError(`--port ${name}: unknown setting "${setting}"`);
  }
  if ((cir === undefined) !== (cbs === undefined)) throw new UsageError(`--port ${name}: egress_policer_cir and egress_policer_cbs go together`);
  if (cir !== undefined && cbs !== undefined) port = { ...port, egressPolicer: { cir, cbs } };
  if (port.cfm && port.cfm['cfm_mpid'] === undefined) throw new UsageError(`--port ${name}: CFM settings need cfm_mpid`);
  return port;
}

function parseVlanMode(text: string, what: string): VlanMode {
  const mode = VLAN_MODES.find((m) => m === text);
  if (mode === undefined) throw new UsageError(`${what}: "${text}" is not one of ${VLAN_MODES.join(', ')}`);
  return mode;
}

function parseHost(text: string, what: string): string {
  if (isIP(text) === 0) throw new UsageError(`${what}: "${text}" is not an IP address`);
  return text;
}

/** A unix socket path: not empty, at most 107 bytes (the kernel's sun_path). */
export function parseSocketPath(text: string, what: string): string {
  if (text === '') throw new UsageError(`${what}: the socket path is empty`);
  if (Buffer.byteLength(text) > UNIX_PATH_MAX) throw new UsageError(`${what}: the socket path is longer than ${UNIX_PATH_MAX} bytes`);
  return text;
}

/** `ptcp:PORT[:IP]`, `pssl:PORT[:IP]` (TLS) or `punix:PATH` */
export function parseListen(text: string): ListenEndpoint {
  if (text.startsWith('punix:')) return { path: parseSocketPath(text.slice('punix:'.length), `--listen ${text}`) };
  const m = /^p(tcp|ssl):(\d+)(?::(.+))?$/.exec(text);
  if (!m) throw new UsageError(`--listen: "${text}" is not ptcp:PORT[:IP], pssl:PORT[:IP] or punix:PATH`);
  return {
    port: parseInteger(m[2] ?? '', `--listen ${text}`, 0, 65535),
    host: m[3] === undefined ? DEFAULT_LISTEN.host : parseHost(m[3], `--listen ${text}`),
    ...(m[1] === 'ssl' ? { tls: true } : {}),
  };
}

/** --metrics `ptcp:PORT[:IP]` (IP default 127.0.0.1, as --listen's), where GET /metrics is served. */
export function parseMetrics(text: string): Endpoint {
  const m = /^ptcp:(\d+)(?::(.+))?$/.exec(text);
  if (!m) throw new UsageError(`--metrics: "${text}" is not ptcp:PORT[:IP]`);
  return {
    port: parseInteger(m[1] ?? '', `--metrics ${text}`, 0, 65535),
    host: m[2] === undefined ? DEFAULT_LISTEN.host : parseHost(m[2], `--metrics ${text}`),
  };
}

/** `tcp:IP[:PORT]` or `ssl:IP[:PORT]` (TLS) */
export function parseController(text: string): Endpoint {
  const m = /^(tcp|ssl):([^:]+)(?::(\d+))?$/.exec(text);
  if (!m) throw new UsageError(`--controller: "${text}" is not tcp:IP[:PORT] or ssl:IP[:PORT]`);
  const tls = m[1] === 'ssl';
  return {
    host: parseHost(m[2] ?? '', `--controller ${text}`),
    port: m[3] === undefined ? (tls ? OFP_SSL_PORT : OFP_TCP_PORT) : parseInteger(m[3], `--controller ${text}`, 1, 65535),
    ...(tls ? { tls: true } : {}),
  };
}

/** A TLS file option's value: a path, not empty. */
export function parseTlsFile(text: string, what: string): string {
  if (text === '') throw new UsageError(`${what}: the file name is empty`);
  return text;
}

/**
 * The TLS files from --private-key, --certificate and --ca-cert (or --bootstrap-ca-cert, which
 * takes --ca-cert's place), all three needed as soon as one is given or an endpoint is ssl:/pssl:.
 */
function tlsFiles(s: RawSettings, listen: readonly ListenEndpoint[], controllers: readonly Endpoint[]): TlsFiles | undefined {
  const pssl = listen.find((e): e is Endpoint => !('path' in e) && e.tls === true);
  const ssl = controllers.find((e) => e.tls === true);
  const needed = pssl ? `pssl:${pssl.port}:${pssl.host}` : ssl ? `ssl:${ssl.host}:${ssl.port}` : undefined;
  const given = s.privateKey ?? s.certificate ?? s.caCert ?? s.bootstrapCaCert;
  if (needed === undefined && given === undefined) return undefined;
  if (s.caCert !== undefined && s.bootstrapCaCert !== undefined)
    throw new UsageError('--ca-cert and --bootstrap-ca-cert exclude each other (--bootstrap-ca-cert FILE is the CA certificate, saved from the first peer when FILE does not exist)');
  const ca = s.caCert ?? s.bootstrapCaCert;
  const missing = [
    ...(s.privateKey === undefined ? ['--private-key'] : []),
    ...(s.certificate === undefined ? ['--certificate'] : []),
    ...(ca === undefined ? ['--ca-cert (or --bootstrap-ca-cert)'] : []),
  ];
  if (missing.length > 0) {
    throw new UsageError(`${needed === undefined ? 'TLS' : needed} needs a private key, a certificate and a CA certificate: ${missing.join(', ')} missing`);
  }
  return {
    privateKey: s.privateKey!,
    certificate: s.certificate!,
    caCert: ca!,
    ...(s.bootstrapCaCert !== undefined ? { bootstrapCaCert: true } : {}),
  };
}

export function parseFailMode(text: string): FailMode {
  if (text !== 'secure' && text !== 'standalone')
    throw new UsageError(`--fail-mode: "${text}" is neither secure nor standalone`);
  return text;
}

export function parseLogLevel(text: string): LogLevel {
  const level = LOG_LEVELS.find((l) => l === text);
  if (!level) throw new UsageError(`--log-level: "${text}" is not one of ${LOG_LEVELS.join(', ')}`);
  return level;
}

export function parseProbeInterval(text: string): number {
  const secs = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || secs <= 0 || secs > 3600)
    throw new UsageError(`--probe-interval: "${text}" is not a number of seconds (0 < s <= 3600)`);
  return Math.round(secs * 1000);
}

/** `--mac-table-size`: entries, within the range OVS clamps other_config:mac-table-size to. */
export function parseMacTableSize(text: string): number {
  return parseInteger(text, '--mac-table-size', MAC_MIN_MAX, MAC_MAX_MAX);
}

/** `--mac-aging-time`: seconds, within the range OVS clamps other_config:mac-aging-time to. */
export function parseMacAgingTime(text: string): number {
  return parseInteger(text, '--mac-aging-time', MAC_MIN_IDLE_TIME, MAC_MAX_IDLE_TIME);
}

/** `--max-connections`: connections the listeners accept at once. */
export function parseMaxConnections(text: string): number {
  return parseInteger(text, '--max-connections', 1, 1_000_000);
}

/** `--controller-rate-limit`: packet-ins per second, at least 100 as the Controller table's column. */
export function parseControllerRateLimit(text: string): number {
  return parseInteger(text, '--controller-rate-limit', 100, 10_000_000);
}

/** `--controller-burst-limit`: packet-ins queued, at least 25 as the Controller table's column. */
export function parseControllerBurstLimit(text: string): number {
  return parseInteger(text, '--controller-burst-limit', 25, 10_000_000);
}

/** The settings of a `--config` file, checked field by field. */
export function parseConfigFile(path: string, read: (p: string) => string = (p) => readFileSync(p, 'utf8')): RawSettings {
  let text: string;
  try {
    text = read(path);
  } catch (err) {
    throw new UsageError(`--config: cannot read ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--config ${path}: not JSON: ${(err as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new UsageError(`--config ${path}: expected a JSON object`);
  const settings: RawSettings = {};
  const str = (key: string, v: unknown): string => {
    if (typeof v !== 'string') throw new UsageError(`--config ${path}: "${key}" must be a string`);
    return v;
  };
  const list = (key: string, v: unknown): unknown[] => {
    if (!Array.isArray(v)) throw new UsageError(`--config ${path}: "${key}" must be a list`);
    return v;
  };
  for (const [key, value] of Object.entries(json)) {
    switch (key) {
      case 'dpid':
        settings.dpid = parseDpid(str(key, value));
        break;
      case 'ports':
        settings.port = list(key, value).map((p) => (typeof p === 'string' ? parsePort(p) : portFromObject(path, p)));
        break;
      case 'local':
        settings.local = parseInterfaceName(str(key, value), '--local');
        break;
      case 'listen':
        settings.listen = list(key, value).map((l) => parseListen(str(key, l)));
        break;
      case 'controllers':
        settings.controller = list(key, value).map((c) => parseController(str(key, c)));
        break;
      case 'failMode':
        settings.failMode = parseFailMode(str(key, value));
        break;
      case 'probeInterval':
        settings.probeInterval = parseProbeInterval(String(value));
        break;
      case 'macTableSize':
        settings.macTableSize = parseMacTableSize(String(value));
        break;
      case 'macAgingTime':
        settings.macAgingTime = parseMacAgingTime(String(value));
        break;
      case 'maxConnections':
        settings.maxConnections = parseMaxConnections(String(value));
        break;
      case 'controllerRateLimit':
        settings.controllerRateLimit = parseControllerRateLimit(String(value));
        break;
      case 'controllerBurstLimit':
        settings.controllerBurstLimit = parseControllerBurstLimit(String(value));
        break;
      case 'logLevel':
        settings.logLevel = parseLogLevel(str(key, value));
        break;
      case 'unixctl':
        settings.unixctl = parseSocketPath(str(key, value), '--unixctl');
        break;
      case 'flowJournal':
        settings.flowJournal = parseJournalPath(str(key, value));
        break;
      case 'sflow':
        settings.sflow = parseSflowObject(path, value);
        break;
      case 'netflow':
        settings.netflow = parseNetflowObject(path, value);
        break;
      case 'ipfix':
        settings.ipfix = parseIpfixObject(path, value);
        break;
      case 'privateKey':
        settings.privateKey = parseTlsFile(str(key, value), '--private-key');
        break;
      case 'certificate':
        settings.certificate = parseTlsFile(str(key, value), '--certificate');
        break;
      case 'caCert':
        settings.caCert = parseTlsFile(str(key, value), '--ca-cert');
        break;
      case 'bootstrapCaCert':
        settings.bootstrapCaCert = parseTlsFile(str(key, value), '--bootstrap-ca-cert');
        break;
      case 'mirrors':
        settings.mirrors = list(key, value).map((m) => mirrorFromObject(path, m));
        break;
      case 'bonds':
        settings.bonds = list(key, value).map((b) => {
          try {
            return bondFromObject(b);
          } catch (err) {
            if (err instanceof BondError) throw new UsageError(`--config ${path}: bonds: ${err.message}`);
            throw err;
          }
        });
        break;
      case 'qos':
        settings.qos = parseQosObject(path, value);
        break;
      case 'stpEnable':
      case 'rstpEnable':
        if (typeof value !== 'boolean') throw new UsageError(`--config ${path}: "${key}" must be true or false`);
        settings[key] = value;
        break;
      case 'otherConfig':
        settings.otherConfig = stringMapOf(path, key, value);
        break;
      case 'portOtherConfig': {
        if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError(`--config ${path}: "portOtherConfig" must be an object of port names`);
        settings.portOtherConfig = Object.fromEntries(Object.entries(value).map(([port, m]) => [port, stringMapOf(path, `portOtherConfig.${port}`, m)]));
        break;
      }
      default:
        throw new UsageError(`--config ${path}: unknown setting "${key}"`);
    }
  }
  return settings;
}

/** An other_config object: spanning tree keys only, values as strings (numbers and booleans are written out). */
function stringMapOf(path: string, what: string, value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError(`--config ${path}: "${what}" must be an object`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (!SPANNING_TREE_KEYS.includes(k)) throw new UsageError(`--config ${path}: ${what}: unknown key "${k}" (flag mode reads the stp-* and rstp-* keys)`);
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') throw new UsageError(`--config ${path}: ${what}.${k} must be a string, number or boolean`);
    out[k] = String(v);
  }
  return out;
}

/** The config file's spanning tree as the database would give it; anything OVS would only log is an error here. */
function spanningTreeOf(s: RawSettings): SpanningTreeSpec | undefined {
  if (s.stpEnable === true && s.rstpEnable === true) throw new UsageError('--config: stpEnable and rstpEnable exclude each other');
  if (s.stpEnable !== true && s.rstpEnable !== true) {
    if (s.otherConfig !== undefined || s.portOtherConfig !== undefined) throw new UsageError('--config: otherConfig and portOtherConfig need stpEnable or rstpEnable');
    return undefined;
  }
  const problems: string[] = [];
  const spec = spanningTreeFromOtherConfig(s.rstpEnable === true ? 'rstp' : 'stp', s.otherConfig ?? {}, new Map(Object.entries(s.portOtherConfig ?? {})), problems);
  if (problems.length > 0) throw new UsageError(`--config: ${problems.join('; ')}`);
  return { ...spec, name: s.local ?? 'ofswitch' };
}

const SFLOW_KEYS = ['targets', 'agent', 'sampling', 'polling', 'header'];

/** The config file's `sflow` object: the sFlow table's columns (sflow/settings.ts checks them). */
function parseSflowObject(path: string, value: unknown): SflowSettings {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError(`--config ${path}: "sflow" must be an object`);
  const o = value as Record<string, unknown>;
  const unknown = Object.keys(o).find((k) => !SFLOW_KEYS.includes(k));
  if (unknown !== undefined) throw new UsageError(`--config ${path}: unknown sflow setting "${unknown}" (${SFLOW_KEYS.join(', ')})`);
  const settings = o as unknown as SflowSettings;
  try {
    sflowConfig(settings);
  } catch (err) {
    if (err instanceof SflowError) throw new UsageError(`--config ${path}: ${err.message}`);
    throw err;
  }
  return settings;
}

const NETFLOW_KEYS = ['targets', 'engine_type', 'engine_id', 'active_timeout', 'add_id_to_interface'];

/** The config file's `netflow` object: the NetFlow table's columns (netflow/settings.ts checks them). */
function parseNetflowObject(path: string, value: unknown): NetflowSettings {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError(`--config ${path}: "netflow" must be an object`);
  const o = value as Record<string, unknown>;
  const unknown = Object.keys(o).find((k) => !NETFLOW_KEYS.includes(k));
  if (unknown !== undefined) throw new UsageError(`--config ${path}: unknown netflow setting "${unknown}" (${NETFLOW_KEYS.join(', ')})`);
  const settings = o as unknown as NetflowSettings;
  try {
    netflowConfig(settings);
  } catch (err) {
    if (err instanceof NetflowError) throw new UsageError(`--config ${path}: ${err.message}`);
    throw err;
  }
  return settings;
}

const IPFIX_KEYS = ['targets', 'sampling', 'obs_domain_id', 'obs_point_id', 'cache_active_timeout', 'cache_max_flows', 'template_interval', 'other_config'];

/** The config file's `ipfix` object: the IPFIX table's columns (ipfix/settings.ts checks them). */
function parseIpfixObject(path: string, value: unknown): IpfixSettings {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError(`--config ${path}: "ipfix" must be an object`);
  const o = value as Record<string, unknown>;
  const unknown = Object.keys(o).find((k) => !IPFIX_KEYS.includes(k));
  if (unknown !== undefined) throw new UsageError(`--config ${path}: unknown ipfix setting "${unknown}" (${IPFIX_KEYS.join(', ')})`);
  const settings = o as unknown as IpfixSettings;
  try {
    ipfixConfig(settings);
  } catch (err) {
    if (err instanceof IpfixError) throw new UsageError(`--config ${path}: ${err.message}`);
    throw err;
  }
  return settings;
}

/** A flow journal's file: a path, not empty. */
export function parseJournalPath(text: string): string {
  if (text === '') throw new UsageError('--flow-journal: the file name is empty');
  return text;
}

/**
 * A mirror of the config file: {"name", "selectAll", "selectSrcPorts", "selectDstPorts",
 * "selectVlans", "outputPort", "outputVlan"}, the Mirror table's columns; ports by name.
 */
function mirrorFromObject(path: string, m: unknown): MirrorSpec {
  const where = `--config ${path}: mirrors`;
  if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new UsageError(`${where}: a mirror must be an object`);
  const o = m as Record<string, unknown>;
  const name = o['name'];
  if (typeof name !== 'string' || name === '') throw new UsageError(`${where}: a mirror needs a "name"`);
  const names = (key: string): string[] => {
    const v = o[key];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new UsageError(`${where}: ${name}: "${key}" must be a list of port names`);
    return v as string[];
  };
  const vlan = (key: string, v: unknown, min: number): number => {
    if (!Number.isInteger(v) || (v as number) < min || (v as number) > 4095) throw new UsageError(`${where}: ${name}: "${key}" ${JSON.stringify(v)} is not a VLAN (${min}..4095)`);
    return v as number;
  };
  let spec: { -readonly [K in keyof MirrorSpec]: MirrorSpec[K] } = { name };
  for (const [key, value] of Object.entries(o)) {
    switch (key) {
      case 'name':
        break;
      case 'selectAll':
        if (typeof value !== 'boolean') throw new UsageError(`${where}: ${name}: "selectAll" must be true or false`);
        spec = { ...spec, selectAll: value };
        break;
      case 'selectSrcPorts':
        spec = { ...spec, selectSrcPorts: names(key) };
        break;
      case 'selectDstPorts':
        spec = { ...spec, selectDstPorts: names(key) };
        break;
      case 'selectVlans':
        if (!Array.isArray(value)) throw new UsageError(`${where}: ${name}: "selectVlans" must be a list of VLANs`);
        spec = { ...spec, selectVlans: value.map((v) => vlan(key, v, 0)) };
        break;
      case 'outputPort':
        if (typeof value !== 'string' || value === '') throw new UsageError(`${where}: ${name}: "outputPort" must be a port name`);
        spec = { ...spec, outputPort: value };
        break;
      case 'outputVlan':
        spec = { ...spec, outputVlan: vlan(key, value, 1) };
        break;
      default:
        throw new UsageError(`${where}: ${name}: unknown setting "${key}"`);
    }
  }
  if ((spec.outputPort === undefined) === (spec.outputVlan === undefined))
    throw new UsageError(`${where}: ${name}: needs exactly one of "outputPort" and "outputVlan"`);
  return spec;
}

function portFromObject(path: string, p: unknown): PortOption {
  if (typeof p !== 'object' || p === null) throw new UsageError(`--config ${path}: a port must be a string or object`);
  const o = p as Record<string, unknown>;
  const parts = [String(o['name'])];
  for (const key of Object.keys(o)) {
    if (key === 'name') continue;
    const value = o[key];
    if (key === 'bfd' && typeof value === 'object' && value !== null && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) parts.push(`bfd:${k}=${String(v)}`);
      continue;
    }
    if (key === 'options') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError(`--config ${path}: port ${String(o['name'])}: "options" must be an object`);
      for (const [k, v] of Object.entries(value)) parts.push(`options:${k}=${String(v)}`);
      continue;
    }
    parts.push(`${key}=${Array.isArray(value) ? value.join(':') : String(value)}`);
  }
  return parsePort(parts.join(','));
}

/** Numbers ports 1, 2, 3... in order, skipping numbers given explicitly; refuses duplicates. */
export function numberPorts(ports: readonly PortOption[]): (PortOption & { ofport: number })[] {
  const taken = new Set<number>();
  const names = new Set<string>();
  for (const p of ports) {
    if (names.has(p.name)) throw new UsageError(`--port ${p.name}: given twice`);
    names.add(p.name);
    if (p.ofport === undefined) continue;
    if (taken.has(p.ofport)) throw new UsageError(`--port ${p.name}: ofport ${p.ofport} is already taken`);
    taken.add(p.ofport);
  }
  let next = 1;
  return ports.map((p) => {
    if (p.ofport !== undefined) return { ...p, ofport: p.ofport };
    while (taken.has(next)) next++;
    taken.add(next);
    return { ...p, ofport: next };
  });
}

const CONFIG_HELP = `
--config FILE holds the same settings as JSON, for example:
  {"dpid":"0000000000000001","ports":["veth0",{"name":"veth1","ofport":5},
   {"name":"vx0","type":"vxlan","options":{"remote_ip":"192.0.2.2","key":"5000"}}],
   "local":"br0","listen":["ptcp:6634"],"controllers":["tcp:127.0.0.1"],
   "failMode":"secure","probeInterval":5,"controllerRateLimit":1000,"controllerBurstLimit":250,
   "logLevel":"info","unixctl":"/tmp/ofswitch.ctl","macTableSize":8192,"macAgingTime":300,"maxConnections":1000,
   "flowJournal":"/var/lib/ofswitch/flows","privateKey":"sc-privkey.pem",
   "certificate":"sc-cert.pem","caCert":"/var/lib/ofswitch/pki/controllerca/cacert.pem",
   "sflow":{"targets":["127.0.0.1:6343"],"agent":"lo","sampling":400,"polling":30,"header":128},
   "netflow":{"targets":["127.0.0.1:2055"],"active_timeout":60,"engine_type":0,"engine_id":0},
   "mirrors":[{"name":"m0","selectAll":true,"outputPort":"veth2"}],
   "stpEnable":true,"otherConfig":{"stp-priority":4096,"stp-forward-delay":4},
   "portOtherConfig":{"veth1":{"stp-path-cost":10}}}
"rstpEnable" runs RSTP instead, with the rstp-* keys (vswitch.xml's Bridge and Port other_config).
   "ipfix":{"targets":["127.0.0.1:4739"],"sampling":400,"obs_domain_id":0,"cache_active_timeout":60,"cache_max_flows":1000},
   "mirrors":[{"name":"m0","selectAll":true,"outputPort":"veth2"}]}
A port object also takes CFM and BFD as the Interface table has them:
  {"name":"veth1","cfm_mpid":1,"cfm_interval":100,"bfd":{"enable":true,"min_rx":300}}
A mirror also takes "selectSrcPorts", "selectDstPorts" (port names), "selectVlans", and
"outputVlan" instead of "outputPort" (the Mirror table's columns).
A bond: "bonds":[{"name":"bond0","members":["veth1","veth2"],"mode":"balance-tcp",
"lacp":"active","lacpTime":"fast"}], also "lacpSystemId", "lacpSystemPriority", "lacpFallbackAb",
"updelay", "downdelay" (ms), "rebalanceInterval" (ms), "hashBasis", "primary" (the Port table's
bond columns); its members are ports listed in "ports".
"qos" gives ports egress queues as QoS and Queue rows do (type linux-htb), e.g.
  "qos":{"veth2":{"type":"linux-htb","other_config":{"max-rate":60000000},
         "queues":{"1":{"other_config":{"min-rate":20000000,"max-rate":30000000}}}}}
Options given on the command line win over the file's.
`;

/** A repeatable option: each value parsed and added to the list. */
function repeatable<T>(parse: (text: string) => T): (text: string, previous: T[] | undefined) => T[] {
  return (text, previous) => [...(previous ?? []), parse(text)];
}

/** The command line's options, each with its value parser; a new program for every parse. */
export function commandLineProgram(): Command {
  return new Command('ofswitch')
    .description('An OpenFlow 1.0 switch. Runs in the foreground until SIGINT or SIGTERM.')
    .option('--dpid <HEX>', "datapath id, up to 16 hex digits (default: from the first port's MAC)", parseDpid)
    .option(
      '--port <SPEC>',
      'attach a Linux interface, SPEC being NAME[,ofport=N][,tag=VID][,trunks=VID:VID:...][,vlan_mode=MODE][,type=TYPE][,options:KEY=VALUE...] (MODE: access, trunk, native-tagged, native-untagged; TYPE: system, or a tunnel: vxlan, geneve, gre with options:remote_ip=IP, key, local_ip, dst_port, tos, ttl, df_default, csum; repeatable; numbered 1, 2, 3... in order unless ofport is given), policing as the Interface and QoS tables have it: [,ingress_policing_rate=KBPS][,ingress_policing_burst=KBIT][,egress_policer_cir=BYTES_PER_S,egress_policer_cbs=BYTES], and CFM and BFD as the Interface table has them: [,cfm_mpid=N[,cfm_interval=MS][,cfm_extended=true][,cfm_opstate=down][,cfm_ccm_vlan=VID|random][,cfm_ccm_pcp=P]][,bfd:enable=true[,bfd:min_rx=MS][,bfd:min_tx=MS][,bfd:KEY=VALUE...]]',
      repeatable(parsePort),
    )
    .option(
      '--local <NAME>',
      "the switch's own host interface, the LOCAL port (created, and removed on exit, when no interface NAME exists)",
      (text: string) => parseInterfaceName(text, '--local'),
    )
    .option(
      '--listen <ptcp:PORT[:IP]|pssl:PORT[:IP]|punix:PATH>',
      `accept OpenFlow connections on TCP, TLS or a unix socket (repeatable; default ptcp:${OFP_DEFAULT_LISTEN_PORT}:127.0.0.1; IP default 127.0.0.1)`,
      repeatable(parseListen),
    )
    .option(
      '--controller <tcp:IP[:PORT]|ssl:IP[:PORT]>',
      `connect to a controller over TCP or TLS (repeatable; default port ${OFP_TCP_PORT})`,
      repeatable(parseController),
    )
    .option('--private-key <FILE>', "the switch's private key for ssl: and pssl: (PEM)", (text: string) => parseTlsFile(text, '--private-key'))
    .option('--certificate <FILE>', "the switch's certificate for ssl: and pssl:, signed by the CA its peers trust (PEM)", (text: string) =>
      parseTlsFile(text, '--certificate'),
    )
    .option('--ca-cert <FILE>', "the CA certificate a peer's certificate must be signed by (PEM)", (text: string) => parseTlsFile(text, '--ca-cert'))
    .option('--bootstrap-ca-cert <FILE>', "as --ca-cert, but when FILE does not exist the first peer's CA certificate is saved to it (trust on first use)", (text: string) =>
      parseTlsFile(text, '--bootstrap-ca-cert'),
    )
    .option(
      '--fail-mode <secure|standalone>',
      'without a controller: drop misses, or act as a learning switch (default standalone)',
      parseFailMode,
    )
    .option(
      '--probe-interval <SECS>',
      'echo a controller connection idle this long, drop it after as long again (default 5)',
      parseProbeInterval,
    )
    .option('--mac-table-size <N>', `NORMAL's MAC table holds at most N addresses, ${MAC_MIN_MAX}..${MAC_MAX_MAX} (default ${MAC_DEFAULT_MAX}), as OVS's other_config:mac-table-size`, parseMacTableSize)
    .option('--mac-aging-time <SECS>', `NORMAL forgets an address unseen this long, ${MAC_MIN_IDLE_TIME}..${MAC_MAX_IDLE_TIME} (default ${MAC_ENTRY_DEFAULT_IDLE_TIME}), as other_config:mac-aging-time`, parseMacAgingTime)
    .option(
      '--controller-rate-limit <N>',
      'send each OpenFlow connection at most N packet-ins per second for misses, and N for OUTPUT:CONTROLLER, queueing the excess fairly per ingress port (N >= 100; default 10000)',
      parseControllerRateLimit,
    )
    .option(
      '--controller-burst-limit <N>',
      'queue at most N packet-ins of each kind per connection before dropping (N >= 25; default a quarter of the rate limit)',
      parseControllerBurstLimit,
    )
    .option(
      '--max-connections <N>',
      `accept at most N connections at once on the listeners, refusing more with a log line (default ${DEFAULT_MAX_CONNECTIONS}; controller connections do not count)`,
      parseMaxConnections,
    )
    .option(`--log-level <${LOG_LEVELS.join('|')}>`, 'which log lines to write (default info)', parseLogLevel)
    .option('--unixctl <PATH>', 'serve ovs-appctl on the unix socket PATH (ovs-appctl -t PATH COMMAND)', (text: string) =>
      parseSocketPath(text, '--unixctl'),
    )
    .option(
      '--flow-journal <FILE>',
      'keep the flow table in FILE: every change is recorded, and a restart (even after kill -9) restores it before the ports forward',
      parseJournalPath,
    )
    .option('--no-flow-journal', 'keep no flow journal (with --ovsdb: none in the run directory either)')
    .option('--metrics <ptcp:PORT[:IP]>', 'serve Prometheus metrics on GET /metrics over HTTP (IP default 127.0.0.1; with --ovsdb too: every bridge)', parseMetrics)
    .option('--config <FILE>', 'the same settings from a JSON file (see below)')
    .option('--ovsdb <unix:PATH|tcp:IP:PORT>', 'serve the bridges of the Open_vSwitch database there, as ovs-vswitchd does (excludes the options above)', parseOvsdbRemote)
    .option('--enable-dummy [override]', 'with --ovsdb, for tests (as ovs-vswitchd): Interface type "dummy" is an in-memory port; =override: system and internal ones too')
    .option('--rundir <DIR>', 'with --ovsdb: where the pid file, control socket, BRIDGE.mgmt sockets and BRIDGE.flows journals go (default $OVS_RUNDIR, else /var/run/openvswitch)')
    .option('-V, --version', 'print the version')
    .helpOption('-h, --help', 'print this help')
    .addHelpText('after', CONFIG_HELP)
    // operands are refused by parseCommandLine, naming the first
    .allowExcessArguments(true)
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {} });
}

/** The --help text. */
export function usage(): string {
  let text = '';
  commandLineProgram()
    .configureOutput({ writeOut: (s) => (text += s) })
    .outputHelp();
  return text;
}

interface CommandLineValues extends RawSettings {
  config?: string;
  version?: boolean;
  ovsdb?: string;
  rundir?: string;
  enableDummy?: string | true;
}

/** `unix:PATH` or `tcp:IP:PORT`, as ovsdb-server's remotes are written. */
export function parseOvsdbRemote(text: string): string {
  try {
    parseRemote(text);
  } catch (err) {
    throw new UsageError(`--ovsdb: ${(err as Error).message}`);
  }
  return text;
}

/** Flag-mode settings that the database owns in database mode, by option name. */
const FLAG_MODE_ONLY: readonly (readonly [keyof CommandLineValues, string])[] = [
  ['dpid', '--dpid'],
  ['port', '--port'],
  ['local', '--local'],
  ['listen', '--listen'],
  ['controller', '--controller'],
  ['failMode', '--fail-mode'],
  ['probeInterval', '--probe-interval'],
  ['controllerRateLimit', '--controller-rate-limit'],
  ['controllerBurstLimit', '--controller-burst-limit'],
  ['unixctl', '--unixctl'],
  ['macTableSize', '--mac-table-size'],
  ['macAgingTime', '--mac-aging-time'],
  ['privateKey', '--private-key (the database\'s SSL table: ovs-vsctl set-ssl)'],
  ['certificate', '--certificate (the database\'s SSL table: ovs-vsctl set-ssl)'],
  ['caCert', '--ca-cert (the database\'s SSL table: ovs-vsctl set-ssl)'],
  ['bootstrapCaCert', '--bootstrap-ca-cert (the database\'s SSL table: ovs-vsctl set-ssl --bootstrap)'],
  ['maxConnections', '--max-connections'],
  ['config', '--config'],
];

/** Parses `argv` (without node and the script). */
export function parseCommandLine(argv: readonly string[], readConfig?: (p: string) => string): CommandLine {
  const program = commandLineProgram();
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    if (err.code === 'commander.helpDisplayed') return { kind: 'help' };
    // commander's own words ("unknown option '--x'", "option '--dpid <HEX>' argument missing"),
    // on one line, without its "error: "
    throw new UsageError(err.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' '));
  }
  const operand = program.args[0];
  if (operand !== undefined) throw new UsageError(`unexpected argument "${operand}" (options start with --)`);
  const values = program.opts<CommandLineValues>();
  const { config, version, ovsdb, rundir, enableDummy, ...cli } = values;
  if (cli.flowJournal === undefined) delete cli.flowJournal; // commander's default for --no-flow-journal
  if (version) return { kind: 'version' };
  if (ovsdb !== undefined) {
    const clash = FLAG_MODE_ONLY.find(([key]) => values[key] !== undefined);
    if (clash) throw new UsageError(`--ovsdb and ${clash[1]} exclude each other: with --ovsdb the database configures the bridges`);
    if (enableDummy !== undefined && enableDummy !== true && enableDummy !== 'override')
      throw new UsageError(`--enable-dummy: "${enableDummy}" is not "override"`);
    const dummy = enableDummy === undefined ? {} : { dummy: enableDummy === true ? ('on' as const) : ('override' as const) };
    if (typeof cli.flowJournal === 'string')
      throw new UsageError('--ovsdb keeps one flow journal per bridge in the run directory: --flow-journal FILE is for flag mode (--no-flow-journal keeps none)');
    const journal = cli.flowJournal === false ? { flowJournal: false } : {};
    const metrics = cli.metrics !== undefined ? { metrics: cli.metrics } : {};
    return { kind: 'daemon', options: { ovsdb, rundir: rundir ?? ovsRundir(), logLevel: cli.logLevel ?? 'info', ...dummy, ...journal, ...metrics } };
  }
  if (rundir !== undefined) throw new UsageError('--rundir needs --ovsdb (flag mode keeps no run directory)');
  if (enableDummy !== undefined) throw new UsageError('--enable-dummy needs --ovsdb (it gives database interfaces in-memory ports)');
  const s: RawSettings = { ...(config === undefined ? {} : parseConfigFile(config, readConfig)), ...cli };
  const ports = numberPorts(s.port ?? []);
  const listen = s.listen ?? [DEFAULT_LISTEN];
  const controllers = s.controller ?? [];
  const tls = tlsFiles(s, listen, controllers);
  const spanningTree = spanningTreeOf(s);
  if (s.local !== undefined && ports.some((p) => p.name === s.local))
    throw new UsageError(`--local ${s.local}: already given as a --port`);
  return {
    kind: 'run',
    options: {
      dpid: s.dpid,
      ports,
      local: s.local,
      listen,
      controllers,
      failMode: s.failMode ?? 'standalone',
      probeIntervalMs: s.probeInterval ?? DEFAULT_PROBE_INTERVAL_MS,
      controllerRateLimit: s.controllerRateLimit,
      controllerBurstLimit: s.controllerBurstLimit,
      logLevel: s.logLevel ?? 'info',
      unixctl: s.unixctl,
      ...(s.macTableSize !== undefined ? { macTableSize: s.macTableSize } : {}),
      ...(s.macAgingTime !== undefined ? { macAgingTime: s.macAgingTime } : {}),
      ...(s.maxConnections !== undefined ? { maxConnections: s.maxConnections } : {}),
      flowJournal: s.flowJournal === false ? undefined : s.flowJournal,
      ...(s.sflow !== undefined ? { sflow: s.sflow } : {}),
      ...(s.netflow !== undefined ? { netflow: s.netflow } : {}),
      ...(s.ipfix !== undefined ? { ipfix: s.ipfix } : {}),
      ...(tls ? { tls } : {}),
      ...(s.mirrors !== undefined ? { mirrors: s.mirrors } : {}),
      ...(s.bonds !== undefined ? { bonds: s.bonds } : {}),
      ...(s.qos !== undefined ? { qos: s.qos } : {}),
      ...(spanningTree !== undefined ? { spanningTree } : {}),
      ...(s.metrics !== undefined ? { metrics: s.metrics } : {}),
    },
  };
}
