/**
 * The ovs-appctl commands about bonds and LACP, with ofproto/bond.c's and lib/lacp.c's names,
 * arguments, texts and errors (Open vSwitch 3.1): bond/list, bond/show [port], bond/migrate,
 * bond/set-active-member (and -slave), bond/enable-member, bond/disable-member (and -slave),
 * bond/hash, lacp/show [port], lacp/show-stats [port]. The old -slave names are registered without
 * a usage, as bond.c registers them (NULL), so list-commands leaves them out as OVS's does. Bonds are looked up across every bridge,
 * as OVS keeps one list of all bonds. Registered by the daemon (vswitchd/commands.ts) and by
 * flag mode's control socket.
 */
import { BOND_BUCKETS } from '../protocol/constants.js';
import type { Bond } from '../bond/bond.js';
import { hashMac } from '../bond/hash.js';
import type { BondSet } from '../datapath/bond-set.js';
import { UnixctlError, type UnixctlRegistry } from '../unixctl/index.js';

/** What the commands need of a switch (lib/switch.ts's Switch). */
export interface BondSource {
  readonly bondSet: BondSet | null;
}

const byName = (a: Bond, b: Bond): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

function allBonds(bridges: () => ReadonlyMap<string, BondSource>): Bond[] {
  return [...bridges().values()].flatMap((sw) => sw.bondSet?.bonds() ?? []).sort(byName);
}

function findBond(bridges: () => ReadonlyMap<string, BondSource>, name: string): { bond: Bond; set: BondSet } {
  for (const sw of bridges().values()) {
    const bond = sw.bondSet?.bond(name);
    if (bond && sw.bondSet) return { bond, set: sw.bondSet };
  }
  throw new UnixctlError('no such bond');
}

function findMember(bond: Bond, name: string): NonNullable<ReturnType<Bond['members']['get']>> {
  const m = bond.members.get(name);
  if (!m) throw new UnixctlError('no such member');
  return m;
}

export function registerBondCommands(registry: UnixctlRegistry, bridges: () => ReadonlyMap<string, BondSource>, now: () => number = Date.now): void {
  registry.register('bond/list', '', 0, 0, () => {
    const lines = ['bond\ttype\trecircID\tmembers'];
    for (const b of allBonds(bridges)) {
      const recirc = b.mode === 'active-backup' ? 0 : b.recircId;
      lines.push(`${b.name}\t${b.mode}\t${recirc}\t${[...b.members.keys()].join(', ')}`);
    }
    return lines.join('\n') + '\n';
  });
  registry.register('bond/show', '[port]', 0, 1, ([name]) => {
    if (name !== undefined) return findBond(bridges, name).bond.show(now());
    return allBonds(bridges).map((b) => b.show(now())).join('');
  });
  registry.register('bond/migrate', 'port hash member', 3, 3, ([bondName = '', hashText = '', memberName = '']) => {
    const { bond } = findBond(bridges, bondName);
    if (bond.mode !== 'balance-slb') throw new UnixctlError('not an SLB bond');
    if (!/^\d*$/.test(hashText)) throw new UnixctlError('bad hash');
    const member = findMember(bond, memberName);
    if (!member.enabled) throw new UnixctlError('cannot migrate to disabled member');
    bond.migrate((Number(hashText) || 0) & (BOND_BUCKETS - 1), member);
    return 'migrated';
  });
  const setActive = ([bondName = '', memberName = '']: readonly string[]): string => {
    const { bond } = findBond(bridges, bondName);
    const member = findMember(bond, memberName);
    if (!member.enabled) throw new UnixctlError('cannot make disabled member active');
    return bond.setActive(member) ? 'done' : 'no change';
  };
  registry.register('bond/set-active-member', 'port member', 2, 2, setActive);
  registry.register('bond/set-active-slave', null, 2, 2, setActive);
  const enable = (on: boolean) => ([bondName = '', memberName = '']: readonly string[]): string => {
    const { bond } = findBond(bridges, bondName);
    bond.forceEnable(findMember(bond, memberName), on);
    return on ? 'enabled' : 'disabled';
  };
  registry.register('bond/enable-member', 'port member', 2, 2, enable(true));
  registry.register('bond/disable-member', 'port member', 2, 2, enable(false));
  registry.register('bond/enable-slave', null, 2, 2, enable(true));
  registry.register('bond/disable-slave', null, 2, 2, enable(false));
  registry.register('bond/hash', 'mac [vlan] [basis]', 1, 3, ([macText = '', vlanText, basisText]) => {
    // hash_mac takes the VLAN as 16 bits and the basis as 32, as bond.c hands them over.
    const vlan = vlanText === undefined ? 0 : scanUnsigned(vlanText, 16);
    if (vlan === null) throw new UnixctlError('invalid vlan');
    const basis = basisText === undefined ? 0 : scanUnsigned(basisText, 32);
    if (basis === null) throw new UnixctlError('invalid basis');
    const mac = scanMac(macText);
    if (mac === null) throw new UnixctlError('invalid mac');
    return String(hashMac(mac, vlan, basis) & (BOND_BUCKETS - 1));
  });
  const lacpObjects = (name: string | undefined) => {
    const all = allBonds(bridges).filter((b) => b.lacp !== null);
    if (name === undefined) return all;
    const found = all.filter((b) => b.lacp?.name === name);
    if (found.length === 0) throw new UnixctlError('no such lacp object');
    return found;
  };
  registry.register('lacp/show', '[port]', 0, 1, ([name]) => lacpObjects(name).map((b) => b.lacp!.show()).join(''));
  registry.register('lacp/show-stats', '[port]', 0, 1, ([name]) => lacpObjects(name).map((b) => b.lacp!.showStats()).join(''));
}

/**
 * One integer as OVS's ovs_scan reads a conversion (lib/util.c scan_int): spaces, a sign, digits
 * of `base` (16 takes a 0x prefix), whatever follows left alone; negative values wrap. The value
 * modulo 2^bits and the text after it, or null when there is no digit.
 */
function scanInt(text: string, base: 10 | 16, bits: number): { value: number; rest: string } | null {
  const m = /^\s*([-+]?)/.exec(text) as RegExpExecArray;
  let s = text.slice(m[0].length);
  if (base === 16 && /^0[xX]/.test(s)) s = s.slice(2);
  const digits = (base === 16 ? /^[0-9a-fA-F]+/ : /^[0-9]+/).exec(s);
  if (!digits) return null;
  const mod = 1n << BigInt(bits);
  let v = BigInt(base === 16 ? `0x${digits[0]}` : digits[0]) % mod;
  if (m[1] === '-') v = (mod - v) % mod;
  return { value: Number(v), rest: s.slice(digits[0].length) };
}

/** ovs_scan(text, "%u"): bond/hash's VLAN and basis. */
function scanUnsigned(text: string, bits: number): number | null {
  return scanInt(text, 10, bits)?.value ?? null;
}

/** ovs_scan(text, ETH_ADDR_SCAN_FMT): six %hhx joined by colons, anything after them ignored. */
function scanMac(text: string): number | null {
  let s = text;
  let mac = 0;
  for (let i = 0; i < 6; i++) {
    if (i > 0) {
      if (s[0] !== ':') return null;
      s = s.slice(1);
    }
    const byte = scanInt(s, 16, 8);
    if (!byte) return null;
    mac = mac * 256 + byte.value;
    s = byte.rest;
  }
  return mac;
}
