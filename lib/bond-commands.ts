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
import { macNumber } from '../bond/lacp.js';
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
    if (vlanText !== undefined && !/^\d+/.test(vlanText)) throw new UnixctlError('invalid vlan');
    if (basisText !== undefined && !/^\d+/.test(basisText)) throw new UnixctlError('invalid basis');
    const mac = macNumber(macText);
    if (mac === null) throw new UnixctlError('invalid mac');
    const vlan = vlanText === undefined ? 0 : parseInt(vlanText, 10);
    const basis = basisText === undefined ? 0 : parseInt(basisText, 10);
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
