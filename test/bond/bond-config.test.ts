/**
 * Where bonds come from: the Port and Interface rows as bridge.c reads them (bond-config.ts), and
 * flag mode's `--config` "bonds" list (a UsageError naming the culprit; Switch.start refuses a
 * bond it cannot make with a StartError).
 */
import t from 'tap';
import { readMemberLacp, readPortBond } from '../../vswitchd/bond-config.js';
import { resolveBonds } from '../../lib/bonds.js';
import { parseCommandLine, UsageError, type SwitchOptions } from '../../lib/options.js';
import { Switch, StartError } from '../../lib/switch.js';
import { silentLogger } from '../../lib/log.js';

t.test('Port and Interface rows', async (t) => {
  const problems: string[] = [];
  const row = {
    name: 'bond0',
    bond_mode: 'balance-slb',
    lacp: 'passive',
    bond_updelay: 100,
    bond_downdelay: 200,
    bond_active_slave: '02:00:00:00:00:01',
    other_config: new Map([
      ['lacp-time', 'FAST'], ['lacp-system-id', '02:00:00:00:00:99'], ['lacp-system-priority', '100'], ['lacp-fallback-ab', 'true'],
      ['bond-detect-mode', 'miimon'], ['bond-rebalance-interval', '500'], ['bond-hash-basis', 'x'], ['bond-primary', 'p1'],
    ]),
  };
  const bond = readPortBond(row, (p) => void problems.push(p));
  t.same(bond, {
    name: 'bond0', mode: 'balance-slb', lacp: 'passive', lacpTime: 'fast', lacpSystemId: '02:00:00:00:00:99', lacpSystemPriority: 100,
    lacpFallbackAb: true, updelay: 100, downdelay: 200, rebalanceInterval: 500, hashBasis: 0, primary: 'p1', activeMemberMac: '02:00:00:00:00:01',
  }, 'every column read');
  t.same(problems, ['port bond0: bond-detect-mode miimon is read as carrier (ofswitch reads the kernel\'s carrier of each member)'], 'miimon said');
  const plain = readPortBond({ name: 'b', other_config: new Map([['bond-detect-mode', 'arp'], ['lacp-system-id', 'nope']]) }, (p) => void problems.push(p));
  t.same(plain, { name: 'b', lacpTime: 'slow', lacpSystemPriority: 0, lacpFallbackAb: false, updelay: 0, downdelay: 0, rebalanceInterval: 10_000, hashBasis: 0 }, 'defaults');
  t.match(problems.slice(1), ['port b: unsupported bond-detect-mode arp, defaulting to carrier', 'port b: LACP system ID (nope) must be an Ethernet address.'], 'problems as OVS words them');
  t.same(readMemberLacp({ name: 'p1', other_config: new Map([['lacp-port-id', '7'], ['lacp-port-priority', '9'], ['lacp-aggregation-key', '3']]) }), {
    name: 'p1', lacpPortId: 7, lacpPortPriority: 9, lacpAggregationKey: 3,
  }, 'member settings');

  const { bonds } = resolveBonds([{ ...bond, members: [readMemberLacp({ name: 'p1', other_config: new Map([['lacp-port-id', '70000']]) }), 'p2'] }], (n) => (n === 'p1' ? 1 : 2), 0x020000000001);
  const r = bonds[0]!;
  t.equal(r.settings.rebalanceInterval, 1000, 'a rebalance interval under 1 s is 1 s');
  t.equal(r.settings.primary, 'p1', 'primary kept with lacp-fallback-ab');
  t.equal(r.lacp?.sysPriority, 100, 'system priority');
  t.equal(r.members[0]?.lacp.portId, 1, 'a port id out of range is the port number');
  t.equal(r.members[1]?.lacp.portPriority, 65535, 'default port priority');
  const dflt = resolveBonds([{ name: 'd', members: ['p1', 'p2'], lacp: 'active', rebalanceInterval: 0 }], (n) => (n === 'p1' ? 1 : 2), 0x020000000001).bonds[0]!;
  t.equal(dflt.lacp?.sysId, 0x020000000001, 'default system id: the bridge MAC');
  t.equal(dflt.lacp?.sysPriority, 65534, 'default system priority 65534');
  t.equal(dflt.settings.rebalanceInterval, 0, 'interval 0: never');
  t.equal(dflt.settings.mode, 'active-backup', 'default mode');
});

function options(config: unknown): SwitchOptions {
  const r = parseCommandLine(['--config', 'c.json'], () => JSON.stringify(config));
  if (r.kind !== 'run') throw new Error('expected run');
  return r.options;
}

t.test('the config file\'s bonds', async (t) => {
  t.equal(options({}).bonds, undefined, 'none unless given');
  t.same(options({ bonds: [{ name: 'b0', members: ['v1', { name: 'v2', lacpPortPriority: 5 }], mode: 'balance-tcp', lacp: 'active', lacpTime: 'fast', updelay: 100 }] }).bonds, [
    { name: 'b0', members: ['v1', { name: 'v2', lacpPortPriority: 5 }], mode: 'balance-tcp', lacp: 'active', lacpTime: 'fast', updelay: 100 },
  ], 'read as given');
  const bad: [unknown, RegExp][] = [
    [[1], /a bond must be an object/],
    [[{ members: ['a', 'b'] }], /a bond needs a "name"/],
    [[{ name: 'b', members: ['a'] }], /"members" must list two or more ports/],
    [[{ name: 'b', members: ['a', 'b'], speed: 1 }], /unknown setting "speed"/],
    [[{ name: 'b', members: ['a', 5] }], /a member must be a port name/],
    [[{ name: 'b', members: ['a', { name: 'c', colour: 1 }] }], /member setting "colour" is unknown/],
    [[{ name: 'b', members: ['a', 'c'], lacpFallbackAb: 'yes' }], /"lacpFallbackAb" must be true or false/],
    [[{ name: 'b', members: ['a', 'c'], mode: 5 }], /"mode" must be a string/],
    [[{ name: 'b', members: ['a', 'c'], mode: 'fast' }], /bond_mode "fast"/],
  ];
  for (const [bonds, message] of bad) t.throws(() => options({ bonds }), message) && t.throws(() => options({ bonds }), new UsageError(''));
});

t.test('Switch.start: a bond it cannot make is a StartError', async (t) => {
  const base: SwitchOptions = {
    dpid: undefined, ports: [], local: undefined, listen: [], controllers: [], failMode: 'standalone',
    probeIntervalMs: 5000, logLevel: 'info', unixctl: undefined, controllerRateLimit: undefined, controllerBurstLimit: undefined,
  };
  await t.rejects(Switch.start({ ...base, bonds: [{ name: 'b0', members: ['v1', 'v2'] }] }, silentLogger), new StartError('bond b0: member v1 is not a port of this bridge; bond b0: member v2 is not a port of this bridge; bond b0: fewer than two members, not a bond'));
  await t.rejects(Switch.start({ ...base, bonds: [{ name: 'b0', members: ['v1', 'v2'] }, { name: 'b0', members: ['v1', 'v2'] }] }, silentLogger), new StartError('bond b0 is given twice'));
});
