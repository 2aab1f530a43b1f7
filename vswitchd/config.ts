/**
 * What the database asks for: the Open_vSwitch database's rows read into plain bridge
 * configurations, the way ovs-vswitchd's bridge_reconfigure() reads its IDL. Pure: no I/O, no
 * switches; the reconciler (reconciler.ts) compares the result with what runs.
 *
 * Reading follows vswitchd/vswitch.xml:
 * - Open_vSwitch: `bridges` and `next_cfg` (the generation the daemon acknowledges in `cur_cfg`),
 *   `ssl`: the SSL row (`private_key`, `certificate`, `ca_cert`, `bootstrap_ca_cert`, as
 *   `ovs-vsctl set-ssl [--bootstrap] KEY CERT CA` writes it) for `ssl:` and `pssl:` targets.
 * - Bridge: `name`, `ports`, `controller`, `fail_mode` (empty: standalone), `protocols`,
 *   `other_config:datapath-id` (16 hex digits; anything else is ignored with a problem, as OVS
 *   ignores it), `other_config:hwaddr`, `other_config:mac-table-size` and `mac-aging-time` (read
 *   as OVS's smap_get_int reads them: a decimal int; 0 or anything else is the default, with a
 *   problem logged for text that is no number; a negative one is, as OVS's cast to unsigned makes
 *   it, the largest), `other_config:max-connections` (ofswitch's own, read the same way: OVS has
 *   no cap on the connections a bridge accepts), `datapath_type` (recorded only), `sflow` (the sFlow
 *   row below), `netflow` (the NetFlow row below), `ipfix` (the IPFIX row below), `mirrors`,
 *   `stp_enable` and `rstp_enable` with the stp-* / rstp-* keys of its and its Ports'
 *   `other_config` (lib/spanning-tree.ts reads them). The columns of features still to come are
 *   listed in `unsupported` so the daemon can say once that it ignores them.
 * - Mirror: `name`, `select_all`, `select_src_port`, `select_dst_port` and `output_port` (weak
 *   references to Port rows, read as the ports' names), `select_vlan`, `output_vlan`; `snaplen`
 *   is not supported (a problem: copies are not truncated). Whether the ports are this bridge's
 *   is the switch's to check (Switch.setMirrors), as bridge.c's mirror_configure does.
 * - Port: `name`, `interfaces`, `tag`, `trunks`, `vlan_mode`; with two or more interfaces it is a
 *   bond, and its bond and LACP columns are read (bond-config.ts).
 * - Interface: `name`, `type` ("" is "system"), `ofport_request`, `options`, `mtu_request`, and
 *   `ofport` as last written, so a restarted daemon gives every port its old number back;
 *   `cfm_mpid`, `other_config` (its cfm_* keys) and `bfd`, read by oam/settings.ts and oam/bfd.ts.
 * - sFlow: `targets`, `agent`, `sampling`, `polling`, `header` (empty: OVS's defaults, applied by
 *   sflow/settings.ts).
 * - NetFlow: `targets`, `engine_type`, `engine_id`, `active_timeout`, `add_id_to_interface` (empty:
 *   OVS's defaults, applied by netflow/settings.ts).
 * - IPFIX (the bridge exporter): `targets`, `sampling`, `obs_domain_id`, `obs_point_id`,
 *   `cache_active_timeout`, `cache_max_flows`, `other_config` (empty: OVS's defaults, applied by
 *   ipfix/settings.ts). Flow_Sample_Collector_Set rows (per-flow sampling) are not read.
 * - Controller: `target`, `connection_mode`, `inactivity_probe`, `max_backoff`,
 *   `controller_rate_limit`, `controller_burst_limit` (packet-ins per second, and queued).
 * - Policing (Interface `ingress_policing_*`, QoS type `egress-policer`): policing.ts.
 *
 * A row referenced twice (a port in two bridges, an interface in two ports) belongs to the first
 * bridge or port in name order; the others are reported as problems and left out, as OVS does.
 */
import type { Datum, Row } from '../ovsdb/index.js';
import type { BondMemberSpec } from '../lib/bonds.js';
import { readMemberLacp, readPortBond, type PortBondColumns } from './bond-config.js';
import type { HtbSettings } from '../qos/htb.js';
import { QOS_COLUMNS, readHtbQos } from './qos-htb.js';
import { readPolicing, type PolicingConfig } from './policing.js';
import { spanningTreeFromOtherConfig, type SpanningTreeSpec } from '../lib/spanning-tree.js';

/** The part of the replica the configuration is read from (an Idl satisfies it). */
export interface ConfigSource {
  table(name: string): ReadonlyMap<string, Row>;
  first(name: string): Row | undefined;
}

/** Tables and columns the daemon monitors: what it reads, and the columns it writes back (to guard them). */
export const MONITORED_TABLES = {
  Open_vSwitch: ['bridges', 'next_cfg', 'cur_cfg', 'ssl', 'ovs_version', 'datapath_types', 'iface_types', 'dpdk_version'],
  Bridge: [
    'name', 'ports', 'controller', 'fail_mode', 'protocols', 'other_config', 'datapath_type', 'datapath_id', 'datapath_version',
    'mirrors', 'netflow', 'sflow', 'ipfix', 'stp_enable', 'rstp_enable', 'status', 'rstp_status',
    'mcast_snooping_enable', 'flood_vlans', 'auto_attach',
  ],
  Port: [
    'name', 'interfaces', 'tag', 'trunks', 'vlan_mode', 'bond_mode', 'lacp', 'qos',
    'bond_updelay', 'bond_downdelay', 'bond_active_slave', 'other_config', 'status', 'statistics', 'rstp_status', 'rstp_statistics',
  ],
  Interface: [
    'name', 'type', 'options', 'ofport_request', 'mtu_request', 'ofport', 'error', 'admin_state', 'link_state',
    'link_speed', 'duplex', 'mtu', 'mac_in_use', 'ifindex',
    'other_config', 'lacp_current',
    'cfm_mpid', 'other_config', 'bfd', 'cfm_fault', 'cfm_fault_status', 'cfm_remote_mpids', 'cfm_flap_count', 'cfm_health',
    'cfm_remote_opstate', 'bfd_status', 'status',
  ],
  SSL: ['private_key', 'certificate', 'ca_cert', 'bootstrap_ca_cert'],
  Mirror: ['name', 'select_all', 'select_src_port', 'select_dst_port', 'select_vlan', 'output_port', 'output_vlan', 'snaplen', 'statistics'],
  Controller: [
    'target', 'connection_mode', 'inactivity_probe', 'max_backoff', 'controller_rate_limit', 'controller_burst_limit',
    'is_connected', 'role', 'status',
  ],
  sFlow: ['targets', 'agent', 'sampling', 'polling', 'header'],
  NetFlow: ['targets', 'engine_type', 'engine_id', 'active_timeout', 'add_id_to_interface'],
  ...QOS_COLUMNS,
  IPFIX: ['targets', 'sampling', 'obs_domain_id', 'obs_point_id', 'cache_active_timeout', 'cache_max_flows', 'other_config'],
} as const satisfies Record<string, readonly string[]>;

export type FailMode = 'secure' | 'standalone';

export interface InterfaceConfig {
  readonly uuid: string;
  readonly name: string;
  /** Canonical type: "system" for "" and "system". */
  readonly type: string;
  readonly ofportRequest: number | null;
  /** The number written back last time (null when none or -1). */
  readonly lastOfport: number | null;
  readonly options: Readonly<Record<string, string>>;
  readonly mtuRequest: number | null;
  /** Its LACP settings as a bond member (other_config lacp-port-id, ...; bond-config.ts). */
  readonly lacp?: BondMemberSpec;
  /** cfm_mpid (absent: CFM off). */
  readonly cfmMpid?: number;
  /** other_config, when not empty. */
  readonly otherConfig?: Readonly<Record<string, string>>;
  /** The `bfd` map, when not empty (BFD on with enable=true). */
  readonly bfd?: Readonly<Record<string, string>>;
}

export interface PortConfig {
  readonly uuid: string;
  readonly name: string;
  readonly tag: number | null;
  readonly trunks: readonly number[];
  readonly vlanMode: string | null;
  readonly interfaces: readonly InterfaceConfig[];
  /** Bond and LACP columns (bond-config.ts): used when the port has two or more interfaces. */
  readonly bond?: PortBondColumns;
  /** The `qos` column's QoS of type linux-htb (vswitchd/qos-htb.ts); null or absent: none. */
  readonly htb?: HtbSettings | null;
}

export interface ControllerConfig {
  readonly uuid: string;
  readonly target: string;
  readonly connectionMode: string | null;
  /** Milliseconds; null: the default. 0 disables probing. */
  readonly inactivityProbeMs: number | null;
  readonly maxBackoffMs: number | null;
  /** controller_rate_limit (packet-ins/s, >= 100 by the schema); null: the default. */
  readonly rateLimit: number | null;
  /** controller_burst_limit (>= 25 by the schema); null: a quarter of the rate. */
  readonly burstLimit: number | null;
}

/** A bridge's sFlow row; empty columns are undefined (the defaults are the agent's). */
export interface SflowRowConfig {
  readonly uuid: string;
  readonly targets: readonly string[];
  readonly agent?: string;
  readonly sampling?: number;
  readonly polling?: number;
  readonly header?: number;
}

/** A bridge's NetFlow row; empty optional columns are undefined (the defaults are the exporter's). */
export interface NetflowRowConfig {
  readonly uuid: string;
  readonly targets: readonly string[];
  readonly engine_type?: number;
  readonly engine_id?: number;
  readonly active_timeout?: number;
  readonly add_id_to_interface?: boolean;
}

/** A bridge's IPFIX row; empty optional columns are undefined (the defaults are the exporter's). */
export interface IpfixRowConfig {
  readonly uuid: string;
  readonly targets: readonly string[];
  readonly sampling?: number;
  readonly obs_domain_id?: number;
  readonly obs_point_id?: number;
  readonly cache_active_timeout?: number;
  readonly cache_max_flows?: number;
  readonly other_config: Readonly<Record<string, string>>;
}

/** A Mirror row, its ports by the Port rows' names. */
export interface MirrorConfig {
  readonly uuid: string;
  readonly name: string;
  readonly selectAll: boolean;
  readonly selectSrcPorts: readonly string[];
  readonly selectDstPorts: readonly string[];
  readonly selectVlans: readonly number[];
  readonly outputPort: string | null;
  readonly outputVlan: number | null;
}

export interface BridgeConfig {
  readonly uuid: string;
  readonly name: string;
  readonly failMode: FailMode;
  readonly protocols: readonly string[];
  readonly datapathId: bigint | null;
  readonly hwaddr: string | null;
  /** other_config:mac-table-size; null: the default (8,192). Not clamped yet (the switch does that). */
  readonly macTableSize: number | null;
  /** other_config:mac-aging-time in seconds; null: the default (300). Not clamped yet. */
  readonly macAgingTime: number | null;
  /** other_config:max-connections (ofswitch's own); null: the default (1,000). */
  readonly maxConnections: number | null;
  readonly datapathType: string;
  readonly controllers: readonly ControllerConfig[];
  readonly ports: readonly PortConfig[];
  /** The `sflow` column's row, or null. */
  readonly sflow: SflowRowConfig | null;
  /** The `netflow` column's row, or null. */
  readonly netflow: NetflowRowConfig | null;
  /** The `ipfix` column's row, or null. */
  readonly ipfix: IpfixRowConfig | null;
  /** The `mirrors` column's rows, in name order. */
  readonly mirrors: readonly MirrorConfig[];
  /** stp_enable / rstp_enable with the Bridge's and Ports' stp-* / rstp-* other_config (both: RSTP, as OVS); null: neither. */
  readonly spanningTree: SpanningTreeSpec | null;
  /** Columns set on the row for features ofswitch does not have yet. */
  readonly unsupported: readonly string[];
}

/** Something in the database that cannot be applied as written; the daemon logs it. */
export interface ConfigProblem {
  readonly bridge?: string;
  readonly message: string;
}

/** The SSL row: the files of `ssl:` and `pssl:` connections (lib/tls-config.ts's TlsFiles). */
export interface SslConfig {
  readonly privateKey: string;
  readonly certificate: string;
  readonly caCert: string;
  readonly bootstrapCaCert: boolean;
}

export interface SystemConfig {
  /** The Open_vSwitch row's UUID (null while the database has none). */
  readonly uuid: string | null;
  readonly nextCfg: number;
  /** Open_vSwitch:ssl, null when it is empty. */
  readonly ssl?: SslConfig | null;
  readonly bridges: readonly BridgeConfig[];
  readonly problems: readonly ConfigProblem[];
  /** Each bridge's policing (policing.ts); absent: none. */
  readonly policing?: PolicingConfig;
}

/** Bridge columns of OVS features ofswitch does not have: set, they are ignored with one log line. */
const LATER_FEATURES = ['mcast_snooping_enable', 'flood_vlans', 'auto_attach'] as const;

const DPID = /^[0-9a-fA-F]{16}$/;
const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

function str(d: Datum | undefined): string | null {
  return typeof d === 'string' ? d : null;
}

function int(d: Datum | undefined): number | null {
  return typeof d === 'number' ? d : null;
}

/** A set column of strings or UUIDs. */
function strings(d: Datum | undefined): string[] {
  return Array.isArray(d) ? d.filter((x): x is string => typeof x === 'string') : [];
}

function stringMap(d: Datum | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (d instanceof Map) for (const [k, v] of d) out[String(k)] = String(v);
  return out;
}

function isSet(d: Datum | undefined): boolean {
  if (d === undefined || d === null || d === false) return false;
  if (Array.isArray(d)) return d.length > 0;
  if (d instanceof Map) return d.size > 0;
  return true;
}

const byName = <T extends { readonly name: string }>(a: T, b: T): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Reads the whole configuration from the replica. */
export function readConfig(db: ConfigSource): SystemConfig {
  const problems: ConfigProblem[] = [];
  const root = db.first('Open_vSwitch');
  if (!root) return { uuid: null, nextCfg: 0, bridges: [], problems };
  const bridgeRows = strings(root['bridges'])
    .map((u) => db.table('Bridge').get(u))
    .filter((r): r is Row => r !== undefined)
    .sort((a, b) => byName({ name: String(a['name']) }, { name: String(b['name']) }));
  const portOwner = new Map<string, string>(); // port uuid -> bridge name
  const ifaceOwner = new Map<string, string>(); // interface uuid -> port name
  const bridges = bridgeRows.map((row) => readBridge(db, row, portOwner, ifaceOwner, problems));
  const policing = readPolicing(db, bridges, problems);
  return { uuid: root._uuid, nextCfg: int(root['next_cfg']) ?? 0, ssl: readSsl(db, root), bridges, problems, policing };
}

function readSsl(db: ConfigSource, root: Row): SslConfig | null {
  const uuid = str(root['ssl']);
  const row = uuid === null ? undefined : db.table('SSL').get(uuid);
  if (!row) return null;
  return {
    privateKey: str(row['private_key']) ?? '',
    certificate: str(row['certificate']) ?? '',
    caCert: str(row['ca_cert']) ?? '',
    bootstrapCaCert: row['bootstrap_ca_cert'] === true,
  };
}

function readBridge(
  db: ConfigSource,
  row: Row,
  portOwner: Map<string, string>,
  ifaceOwner: Map<string, string>,
  problems: ConfigProblem[],
): BridgeConfig {
  const name = String(row['name']);
  const other = stringMap(row['other_config']);
  let datapathId: bigint | null = null;
  const dpidText = other['datapath-id'];
  if (dpidText !== undefined) {
    if (DPID.test(dpidText)) datapathId = BigInt('0x' + dpidText);
    else problems.push({ bridge: name, message: `other_config:datapath-id "${dpidText}" is not 16 hex digits: ignored` });
  }
  let hwaddr: string | null = null;
  const hw = other['hwaddr'];
  if (hw !== undefined) {
    if (MAC.test(hw)) hwaddr = hw.toLowerCase();
    else problems.push({ bridge: name, message: `other_config:hwaddr "${hw}" is not a MAC address: ignored` });
  }
  const macTableSize = otherInt(other, 'mac-table-size', name, problems);
  const macAgingTime = otherInt(other, 'mac-aging-time', name, problems);
  const maxConnections = otherInt(other, 'max-connections', name, problems);
  const failMode: FailMode = str(row['fail_mode']) === 'secure' ? 'secure' : 'standalone';
  const protocols = strings(row['protocols']);
  const controllers = strings(row['controller'])
    .map((u) => db.table('Controller').get(u))
    .filter((r): r is Row => r !== undefined)
    .map(readController)
    .sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
  const ports: PortConfig[] = [];
  const portRows = strings(row['ports'])
    .map((u) => db.table('Port').get(u))
    .filter((r): r is Row => r !== undefined)
    .sort((a, b) => byName({ name: String(a['name']) }, { name: String(b['name']) }));
  for (const p of portRows) {
    const owner = portOwner.get(p._uuid);
    if (owner !== undefined) {
      problems.push({ bridge: name, message: `port ${String(p['name'])} is already in bridge ${owner}: ignored here` });
      continue;
    }
    portOwner.set(p._uuid, name);
    ports.push(readPort(db, p, ifaceOwner, problems, name));
  }
  const mirrors = strings(row['mirrors'])
    .map((u) => db.table('Mirror').get(u))
    .filter((r): r is Row => r !== undefined)
    .map((m) => readMirror(db, m, name, problems))
    .sort((a, b) => byName(a, b) || (a.uuid < b.uuid ? -1 : 1));
  const unsupported = LATER_FEATURES.filter((c) => isSet(row[c]));
  const spanningTree = readSpanningTree(row, portRows, name, problems);
  return {
    uuid: row._uuid,
    name,
    failMode,
    protocols,
    datapathId,
    hwaddr,
    macTableSize,
    macAgingTime,
    maxConnections,
    datapathType: str(row['datapath_type']) ?? '',
    controllers,
    ports,
    sflow: readSflow(db, str(row['sflow'])),
    netflow: readNetflow(db, str(row['netflow'])),
    ipfix: readIpfix(db, str(row['ipfix'])),
    mirrors,
    spanningTree,
    unsupported,
  };
}

/** The Bridge's stp_enable / rstp_enable and the stp-* / rstp-* other_config of it and its ports (bridge_configure_spanning_tree). */
function readSpanningTree(row: Row, portRows: readonly Row[], bridge: string, problems: ConfigProblem[]): SpanningTreeSpec | null {
  const rstp = row['rstp_enable'] === true;
  const stp = row['stp_enable'] === true;
  if (!rstp && !stp) return null;
  if (rstp && stp) problems.push({ bridge, message: `${bridge}: RSTP and STP are mutually exclusive but both are configured; enabling RSTP` });
  const texts: string[] = [];
  const ports = new Map(portRows.map((p) => [String(p['name']), stringMap(p['other_config'])]));
  const spec = spanningTreeFromOtherConfig(rstp ? 'rstp' : 'stp', stringMap(row['other_config']), ports, texts);
  for (const message of texts) problems.push({ bridge, message });
  return { ...spec, name: bridge };
}

/** The sFlow row a bridge's `sflow` column names (an optional reference: a UUID or an empty set). */
function readSflow(db: ConfigSource, uuid: string | null): SflowRowConfig | null {
  const row = uuid === null ? undefined : db.table('sFlow').get(uuid);
  if (!row) return null;
  const agent = str(row['agent']);
  const sampling = int(row['sampling']);
  const polling = int(row['polling']);
  const header = int(row['header']);
  return {
    uuid: row._uuid,
    targets: strings(row['targets']).sort(),
    ...(agent !== null ? { agent } : {}),
    ...(sampling !== null ? { sampling } : {}),
    ...(polling !== null ? { polling } : {}),
    ...(header !== null ? { header } : {}),
  };
}

/** The NetFlow row a bridge's `netflow` column names (an optional reference: a UUID or an empty set). */
function readNetflow(db: ConfigSource, uuid: string | null): NetflowRowConfig | null {
  const row = uuid === null ? undefined : db.table('NetFlow').get(uuid);
  if (!row) return null;
  const engineType = int(row['engine_type']);
  const engineId = int(row['engine_id']);
  const activeTimeout = int(row['active_timeout']);
  const addId = row['add_id_to_interface'];
  return {
    uuid: row._uuid,
    targets: strings(row['targets']).sort(),
    ...(engineType !== null ? { engine_type: engineType } : {}),
    ...(engineId !== null ? { engine_id: engineId } : {}),
    ...(activeTimeout !== null ? { active_timeout: activeTimeout } : {}),
    ...(typeof addId === 'boolean' ? { add_id_to_interface: addId } : {}),
  };
}

/** The IPFIX row a bridge's `ipfix` column names (an optional reference: a UUID or an empty set). */
function readIpfix(db: ConfigSource, uuid: string | null): IpfixRowConfig | null {
  const row = uuid === null ? undefined : db.table('IPFIX').get(uuid);
  if (!row) return null;
  const optional = (column: string): Record<string, number> => {
    const v = int(row[column]);
    return v !== null ? { [column]: v } : {};
  };
  return {
    uuid: row._uuid,
    targets: strings(row['targets']).sort(),
    ...optional('sampling'),
    ...optional('obs_domain_id'),
    ...optional('obs_point_id'),
    ...optional('cache_active_timeout'),
    ...optional('cache_max_flows'),
    other_config: stringMap(row['other_config']),
  };
}

function readMirror(db: ConfigSource, row: Row, bridge: string, problems: ConfigProblem[]): MirrorConfig {
  const name = String(row['name']);
  const portNames = (d: Datum | undefined): string[] =>
    (typeof d === 'string' ? [d] : strings(d))
      .map((u) => db.table('Port').get(u))
      .filter((r): r is Row => r !== undefined)
      .map((r) => String(r['name']))
      .sort();
  const vlans = Array.isArray(row['select_vlan']) ? row['select_vlan'].filter((x): x is number => typeof x === 'number').sort((a, b) => a - b) : [];
  if (isSet(row['snaplen'])) problems.push({ bridge, message: `mirror ${name}: snaplen is not supported: mirrored frames are not truncated` });
  return {
    uuid: row._uuid,
    name,
    selectAll: row['select_all'] === true,
    selectSrcPorts: portNames(row['select_src_port']),
    selectDstPorts: portNames(row['select_dst_port']),
    selectVlans: vlans,
    outputPort: portNames(row['output_port'])[0] ?? null,
    outputVlan: int(row['output_vlan']),
  };
}

const INT_MAX = 2 ** 31 - 1;

/**
 * An other_config integer as bridge.c reads it (smap_get_int, then 0 meaning the default): null
 * when absent, 0, or not a decimal int (a problem then); a negative value becomes the largest one
 * (OVS passes it on as unsigned, which its clamping turns into the maximum).
 */
function otherInt(other: Record<string, string>, key: string, bridge: string, problems: ConfigProblem[]): number | null {
  const text = other[key];
  if (text === undefined) return null;
  const n = /^\s*[-+]?\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n > INT_MAX || n < -INT_MAX - 1) {
    problems.push({ bridge, message: `other_config:${key} "${text}" is not an integer: the default is used` });
    return null;
  }
  if (n === 0) return null;
  return n < 0 ? Number.MAX_SAFE_INTEGER : n;
}

function readPort(db: ConfigSource, row: Row, ifaceOwner: Map<string, string>, problems: ConfigProblem[], bridge: string): PortConfig {
  const name = String(row['name']);
  const interfaces: InterfaceConfig[] = [];
  const rows = strings(row['interfaces'])
    .map((u) => db.table('Interface').get(u))
    .filter((r): r is Row => r !== undefined)
    .sort((a, b) => byName({ name: String(a['name']) }, { name: String(b['name']) }));
  for (const i of rows) {
    const owner = ifaceOwner.get(i._uuid);
    if (owner !== undefined) {
      problems.push({ bridge, message: `interface ${String(i['name'])} is already in port ${owner}: ignored in port ${name}` });
      continue;
    }
    ifaceOwner.set(i._uuid, name);
    interfaces.push(readInterface(i));
  }
  // A bond's members carry their LACP settings too.
  if (interfaces.length > 1) interfaces.forEach((iface, k) => (interfaces[k] = { ...iface, lacp: readMemberLacp(db.table('Interface').get(iface.uuid)!) }));
  const trunks = Array.isArray(row['trunks']) ? row['trunks'].filter((x): x is number => typeof x === 'number').sort((a, b) => a - b) : [];
  const bond = interfaces.length > 1 ? readPortBond(row, (message) => problems.push({ bridge, message })) : undefined;
  const htb = readHtbQos(db, row, problems, bridge);
  return { uuid: row._uuid, name, tag: int(row['tag']), trunks, vlanMode: str(row['vlan_mode']), interfaces, ...(bond ? { bond } : {}), ...(htb ? { htb } : {}) };
}

function readInterface(row: Row): InterfaceConfig {
  const type = str(row['type']) ?? '';
  const last = int(row['ofport']);
  return {
    uuid: row._uuid,
    name: String(row['name']),
    type: type === '' ? 'system' : type,
    ofportRequest: int(row['ofport_request']),
    lastOfport: last !== null && last > 0 ? last : null,
    options: stringMap(row['options']),
    mtuRequest: int(row['mtu_request']),
    ...optionalColumns(row),
  };
}

/** The CFM and BFD columns, left out when empty (most interfaces have none). */
function optionalColumns(row: Row): Pick<InterfaceConfig, 'cfmMpid' | 'otherConfig' | 'bfd'> {
  const mpid = int(row['cfm_mpid']);
  const other = stringMap(row['other_config']);
  const bfd = stringMap(row['bfd']);
  return {
    ...(mpid !== null ? { cfmMpid: mpid } : {}),
    ...(Object.keys(other).length > 0 ? { otherConfig: other } : {}),
    ...(Object.keys(bfd).length > 0 ? { bfd } : {}),
  };
}

function readController(row: Row): ControllerConfig {
  return {
    uuid: row._uuid,
    target: String(row['target']),
    connectionMode: str(row['connection_mode']),
    inactivityProbeMs: int(row['inactivity_probe']),
    maxBackoffMs: int(row['max_backoff']),
    rateLimit: int(row['controller_rate_limit']),
    burstLimit: int(row['controller_burst_limit']),
  };
}
