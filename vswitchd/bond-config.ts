/**
 * A Port row's bond and LACP columns, read as ovs-vswitchd's bridge.c reads them (OVS 3.1
 * port_configure_bond, port_configure_lacp, iface_configure_lacp; vswitch.xml's "Bonding
 * Configuration"): `bond_mode`, `lacp`, `bond_updelay`, `bond_downdelay`, `bond_active_slave`,
 * and other_config `lacp-time` (fast, case-insensitive, else slow), `lacp-system-id`,
 * `lacp-system-priority`, `lacp-fallback-ab`, `bond-detect-mode` (carrier; miimon is read as
 * carrier, a problem says so; anything else too, as OVS defaults it), `bond-rebalance-interval`,
 * `bond-hash-basis`, `bond-primary`; an Interface's other_config `lacp-port-id`,
 * `lacp-port-priority`, `lacp-aggregation-key`. Numbers are read as OVS's smap_get_int reads
 * them (not a number: 0, then the default). Pure: the reconciler hands the result to the switch.
 */
import type { Datum } from '../ovsdb/index.js';
import type { BondMemberSpec, BondSpec } from '../lib/bonds.js';

/** A Port row's bond columns, without its members (the reconciler adds them). */
export type PortBondColumns = Omit<BondSpec, 'members'>;

function stringMap(d: Datum | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (d instanceof Map) for (const [k, v] of d) out[String(k)] = String(v);
  return out;
}

/** smap_get_int: a decimal int, else `dflt`. */
function smapInt(map: Record<string, string>, key: string, dflt: number): number {
  const text = map[key];
  if (text === undefined || !/^\s*[-+]?\d+\s*$/.test(text)) return dflt;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : dflt;
}

const single = (d: Datum | undefined): string | null => (typeof d === 'string' ? d : null);
const integer = (d: Datum | undefined): number | null => (typeof d === 'number' ? d : null);

/** The bond columns of a Port row; `problem` receives what cannot be applied as written. */
export function readPortBond(row: Record<string, Datum | undefined>, problem: (text: string) => void): PortBondColumns {
  const name = String(row['name']);
  const other = stringMap(row['other_config']);
  const mode = single(row['bond_mode']);
  const lacp = single(row['lacp']);
  const detect = other['bond-detect-mode'];
  if (detect === 'miimon') problem(`port ${name}: bond-detect-mode miimon is read as carrier (ofswitch reads the kernel's carrier of each member)`);
  else if (detect !== undefined && detect !== 'carrier') problem(`port ${name}: unsupported bond-detect-mode ${detect}, defaulting to carrier`);
  let systemId = other['lacp-system-id'];
  if (systemId !== undefined && !/^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$/.test(systemId)) {
    problem(`port ${name}: LACP system ID (${systemId}) must be an Ethernet address.`);
    systemId = undefined;
  }
  const active = single(row['bond_active_slave']);
  const primary = other['bond-primary'];
  return {
    name,
    ...(mode === 'active-backup' || mode === 'balance-slb' || mode === 'balance-tcp' ? { mode } : {}),
    ...(lacp === 'active' || lacp === 'passive' || lacp === 'off' ? { lacp } : {}),
    lacpTime: (other['lacp-time'] ?? '').toLowerCase() === 'fast' ? 'fast' : 'slow',
    ...(systemId !== undefined ? { lacpSystemId: systemId } : {}),
    lacpSystemPriority: smapInt(other, 'lacp-system-priority', 0),
    lacpFallbackAb: other['lacp-fallback-ab'] === 'true',
    updelay: integer(row['bond_updelay']) ?? 0,
    downdelay: integer(row['bond_downdelay']) ?? 0,
    rebalanceInterval: smapInt(other, 'bond-rebalance-interval', 10_000),
    hashBasis: smapInt(other, 'bond-hash-basis', 0),
    ...(primary !== undefined ? { primary } : {}),
    ...(active !== null ? { activeMemberMac: active } : {}),
  };
}

/** An Interface row's LACP settings as a bond member. */
export function readMemberLacp(row: Record<string, Datum | undefined>): BondMemberSpec {
  const other = stringMap(row['other_config']);
  return {
    name: String(row['name']),
    lacpPortId: smapInt(other, 'lacp-port-id', 0),
    lacpPortPriority: smapInt(other, 'lacp-port-priority', 0),
    lacpAggregationKey: smapInt(other, 'lacp-aggregation-key', 0),
  };
}
