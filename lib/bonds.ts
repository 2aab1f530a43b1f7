/**
 * Bonds as a switch's users give them (BondSpec: the Port table's bond and LACP columns, by name)
 * and as the datapath runs them (datapath/bond-set.ts's ResolvedBond, by port number). The
 * defaults and ranges are bridge.c's (port_configure_bond, port_configure_lacp,
 * iface_configure_lacp in Open vSwitch 3.1):
 *   mode             active-backup
 *   lacp             off; active or passive turns it on
 *   lacpTime         slow (PDUs every 30 s); fast: every second
 *   lacpSystemId     the bridge's MAC (the datapath id's low 48 bits)
 *   lacpSystemPriority  1..65535, else 65534 (a bond: "prefer bondable links")
 *   updelay, downdelay  ms, negative is 0
 *   rebalanceInterval   ms, default 10,000; below 1,000 (but not 0) is 1,000; 0: never
 *   member lacp port id: its OpenFlow port number; priority 65535; key 0 (the key member's port id)
 * A bond needs two members that are ports of the switch; a spec naming fewer is reported and left
 * out (its members stay plain ports), as OVS makes a bond only of a Port with several interfaces.
 */
import { BOND_REBALANCE_INTERVAL_DEFAULT, BOND_REBALANCE_INTERVAL_MIN } from '../protocol/constants.js';
import { BOND_MODES, type BondMode } from '../bond/bond.js';
import { macNumber } from '../bond/lacp.js';
import type { ResolvedBond } from '../datapath/bond-set.js';

export class BondError extends Error {}

export type LacpMode = 'active' | 'passive' | 'off';

/** A member's own LACP settings (Interface other_config:lacp-port-id, -port-priority, -aggregation-key). */
export interface BondMemberSpec {
  readonly name: string;
  readonly lacpPortId?: number;
  readonly lacpPortPriority?: number;
  readonly lacpAggregationKey?: number;
}

export interface BondSpec {
  /** The Port's name: what bond/show and lacp/show call it. */
  readonly name: string;
  /** Its interfaces (ports of the switch), by name or with their LACP settings. */
  readonly members: readonly (string | BondMemberSpec)[];
  readonly mode?: BondMode;
  readonly lacp?: LacpMode;
  readonly lacpTime?: 'fast' | 'slow';
  readonly lacpSystemId?: string;
  readonly lacpSystemPriority?: number;
  readonly lacpFallbackAb?: boolean;
  readonly updelay?: number;
  readonly downdelay?: number;
  readonly rebalanceInterval?: number;
  readonly hashBasis?: number;
  /** other_config:bond-primary (active-backup). */
  readonly primary?: string;
  /** The active member's MAC to start with (Port bond_active_slave). */
  readonly activeMemberMac?: string;
}

const LACP_MODES: readonly LacpMode[] = ['active', 'passive', 'off'];

/** Checks what no bridge could apply (a BondError naming it). */
export function checkBondSpec(spec: BondSpec): void {
  const where = `bond ${spec.name}`;
  if (typeof spec.name !== 'string' || spec.name === '') throw new BondError('a bond needs a name');
  if (!Array.isArray(spec.members)) throw new BondError(`${where}: members must be a list`);
  if (spec.mode !== undefined && !BOND_MODES.includes(spec.mode)) throw new BondError(`${where}: bond_mode "${String(spec.mode)}" is not one of ${BOND_MODES.join(', ')}`);
  if (spec.lacp !== undefined && !LACP_MODES.includes(spec.lacp)) throw new BondError(`${where}: lacp "${String(spec.lacp)}" is not one of ${LACP_MODES.join(', ')}`);
  if (spec.lacpTime !== undefined && spec.lacpTime !== 'fast' && spec.lacpTime !== 'slow') throw new BondError(`${where}: lacp-time "${String(spec.lacpTime)}" is not fast or slow`);
  if (spec.lacpSystemId !== undefined && !macNumber(spec.lacpSystemId)) throw new BondError(`${where}: lacp-system-id "${spec.lacpSystemId}" is not a non-zero Ethernet address`);
  for (const [key, v] of Object.entries({ updelay: spec.updelay, downdelay: spec.downdelay, rebalanceInterval: spec.rebalanceInterval, hashBasis: spec.hashBasis, lacpSystemPriority: spec.lacpSystemPriority })) {
    if (v !== undefined && !Number.isInteger(v)) throw new BondError(`${where}: ${key} ${String(v)} is not an integer`);
  }
}

const memberName = (m: string | BondMemberSpec): string => (typeof m === 'string' ? m : m.name);

/**
 * The bonds with their members' port numbers. `portNoOf` gives a port's number by name;
 * `bridgeMac` is the default LACP system id. Problems (specs left out) are returned as texts.
 */
export function resolveBonds(specs: readonly BondSpec[], portNoOf: (name: string) => number | undefined, bridgeMac: number): { bonds: ResolvedBond[]; problems: string[] } {
  const problems: string[] = [];
  const bonds: ResolvedBond[] = [];
  for (const spec of specs) {
    const members = spec.members.flatMap((m) => {
      const portNo = portNoOf(memberName(m));
      if (portNo === undefined) {
        problems.push(`bond ${spec.name}: member ${memberName(m)} is not a port of this bridge`);
        return [];
      }
      const s: Partial<BondMemberSpec> = typeof m === 'string' ? {} : m;
      const inRange = (v: number | undefined, max: number): v is number => v !== undefined && v > 0 && v <= max;
      return [
        {
          name: memberName(m),
          portNo,
          lacp: {
            name: memberName(m),
            portId: inRange(s.lacpPortId, 0xffff) ? s.lacpPortId : portNo & 0xffff,
            portPriority: inRange(s.lacpPortPriority, 0xffff) ? s.lacpPortPriority : 0xffff,
            key: s.lacpAggregationKey !== undefined && s.lacpAggregationKey >= 0 && s.lacpAggregationKey <= 0xffff ? s.lacpAggregationKey : 0,
          },
        },
      ];
    });
    if (members.length < 2) {
      problems.push(`bond ${spec.name}: fewer than two members, not a bond`);
      continue;
    }
    const lacpOn = spec.lacp === 'active' || spec.lacp === 'passive';
    const sysPri = spec.lacpSystemPriority;
    let interval = spec.rebalanceInterval ?? BOND_REBALANCE_INTERVAL_DEFAULT;
    if (interval !== 0 && interval < BOND_REBALANCE_INTERVAL_MIN) interval = BOND_REBALANCE_INTERVAL_MIN;
    bonds.push({
      settings: {
        name: spec.name,
        mode: spec.mode ?? 'active-backup',
        updelay: Math.max(0, spec.updelay ?? 0),
        downdelay: Math.max(0, spec.downdelay ?? 0),
        basis: (spec.hashBasis ?? 0) >>> 0,
        rebalanceInterval: interval,
        lacpFallbackAb: spec.lacpFallbackAb === true,
        primary: spec.mode === 'active-backup' || spec.mode === undefined || spec.lacpFallbackAb === true ? (spec.primary ?? null) : null,
        activeMemberMac: (spec.activeMemberMac !== undefined ? macNumber(spec.activeMemberMac) : null) ?? 0,
      },
      lacp: lacpOn
        ? {
            name: spec.name,
            sysId: (spec.lacpSystemId !== undefined ? macNumber(spec.lacpSystemId) : null) ?? bridgeMac,
            sysPriority: sysPri !== undefined && sysPri > 0 && sysPri <= 0xffff ? sysPri : 0xfffe,
            active: spec.lacp === 'active',
            fast: spec.lacpTime === 'fast',
            fallbackAb: spec.lacpFallbackAb === true,
          }
        : null,
      members,
    });
  }
  return { bonds, problems };
}

const SPEC_KEYS = [
  'name', 'members', 'mode', 'lacp', 'lacpTime', 'lacpSystemId', 'lacpSystemPriority', 'lacpFallbackAb',
  'updelay', 'downdelay', 'rebalanceInterval', 'hashBasis', 'primary',
] as const;
const MEMBER_KEYS = ['name', 'lacpPortId', 'lacpPortPriority', 'lacpAggregationKey'] as const;

/**
 * A bond of a `--config` file: {"name", "members": [NAME | {"name", "lacpPortId", ...}], "mode",
 * "lacp", "lacpTime", "lacpSystemId", "lacpSystemPriority", "lacpFallbackAb", "updelay",
 * "downdelay", "rebalanceInterval", "hashBasis", "primary"}; a BondError names what is wrong.
 */
export function bondFromObject(o: unknown): BondSpec {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new BondError('a bond must be an object');
  const r = o as Record<string, unknown>;
  const name = r['name'];
  if (typeof name !== 'string' || name === '') throw new BondError('a bond needs a "name"');
  const unknown = Object.keys(r).find((k) => !(SPEC_KEYS as readonly string[]).includes(k));
  if (unknown !== undefined) throw new BondError(`bond ${name}: unknown setting "${unknown}" (${SPEC_KEYS.join(', ')})`);
  const members = r['members'];
  if (!Array.isArray(members) || members.length < 2) throw new BondError(`bond ${name}: "members" must list two or more ports`);
  const memberOf = (m: unknown): string | BondMemberSpec => {
    if (typeof m === 'string' && m !== '') return m;
    if (typeof m !== 'object' || m === null || typeof (m as Record<string, unknown>)['name'] !== 'string')
      throw new BondError(`bond ${name}: a member must be a port name or {"name", "lacpPortId", "lacpPortPriority", "lacpAggregationKey"}`);
    const bad = Object.entries(m).find(([k, v]) => !(MEMBER_KEYS as readonly string[]).includes(k) || (k !== 'name' && !Number.isInteger(v)));
    if (bad) throw new BondError(`bond ${name}: member setting "${bad[0]}" is unknown or not an integer`);
    return m as BondMemberSpec;
  };
  for (const key of ['lacpFallbackAb'] as const) {
    if (r[key] !== undefined && typeof r[key] !== 'boolean') throw new BondError(`bond ${name}: "${key}" must be true or false`);
  }
  for (const key of ['mode', 'lacp', 'lacpTime', 'lacpSystemId', 'primary'] as const) {
    if (r[key] !== undefined && typeof r[key] !== 'string') throw new BondError(`bond ${name}: "${key}" must be a string`);
  }
  const spec = { ...(r as unknown as BondSpec), members: members.map(memberOf) };
  checkBondSpec(spec);
  return spec;
}
