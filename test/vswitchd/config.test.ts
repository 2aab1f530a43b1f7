/**
 * readConfig: the database's rows, as the replica decodes them, read into bridge configurations,
 * including the rows OVS ignores (a port in two bridges, an interface in two ports, a bad
 * datapath-id or hwaddr) and the columns of features still to come.
 */
import t from 'tap';
import type { Row } from '../../ovsdb/index.js';
import { readConfig, type ConfigSource } from '../../vswitchd/config.js';

type Tables = Record<string, Row[]>;

function source(tables: Tables): ConfigSource {
  const maps = new Map(Object.entries(tables).map(([name, rows]) => [name, new Map(rows.map((r) => [r._uuid, r]))]));
  return {
    table: (name) => maps.get(name) ?? new Map(),
    first: (name) => tables[name]?.[0],
  };
}

const row = (uuid: string, cols: Record<string, unknown>): Row => ({ _uuid: uuid, ...cols }) as Row;

t.test('no Open_vSwitch row: nothing to serve', async (t) => {
  const c = readConfig(source({}));
  t.same(c, { uuid: null, nextCfg: 0, bridges: [], problems: [] });
});

t.test('bridges, ports, interfaces and controllers, sorted by name, with defaults', async (t) => {
  const c = readConfig(
    source({
      Open_vSwitch: [row('root', { bridges: ['b2', 'b1', 'gone'], next_cfg: 7 })],
      Bridge: [
        row('b1', {
          name: 'br1', ports: ['p2', 'p1'], controller: ['c1'], fail_mode: 'secure', protocols: ['OpenFlow10'],
          other_config: new Map([['datapath-id', '00000000000000aB'], ['hwaddr', '02:00:00:00:00:AA']]), datapath_type: 'netdev',
          mirrors: [], netflow: null, sflow: ['s1'], ipfix: ['x1'], stp_enable: true, rstp_enable: false,
          mcast_snooping_enable: true, flood_vlans: [],
        }),
        row('b2', { name: 'br0', ports: [], controller: [], fail_mode: null, protocols: [], other_config: new Map(), datapath_type: '' }),
      ],
      Port: [
        row('p1', { name: 'a', interfaces: ['i1'], tag: 10, trunks: [], vlan_mode: null }),
        row('p2', { name: 'b', interfaces: ['i3', 'i2'], tag: null, trunks: [30, 20], vlan_mode: 'trunk' }),
      ],
      Interface: [
        row('i1', { name: 'a', type: '', options: new Map(), ofport_request: 5, ofport: -1, mtu_request: null }),
        row('i2', { name: 'b1', type: 'internal', options: new Map(), ofport_request: null, ofport: 3, mtu_request: 1400 }),
        row('i3', { name: 'b2', type: 'patch', options: new Map([['peer', 'x']]), ofport_request: null, ofport: null, mtu_request: null }),
      ],
      Controller: [row('c1', { target: 'tcp:127.0.0.1', connection_mode: 'out-of-band', inactivity_probe: 0, max_backoff: 1000, controller_rate_limit: 100, controller_burst_limit: 25 })],
    }),
  );
  t.equal(c.uuid, 'root');
  t.equal(c.nextCfg, 7);
  t.same(c.problems, []);
  t.same(c.bridges.map((b) => b.name), ['br0', 'br1'], 'by name; a missing bridge row is left out');
  const [br0, br1] = c.bridges;
  t.equal(br0?.failMode, 'standalone', 'an empty fail_mode is standalone');
  t.equal(br0?.datapathId, null);
  t.same(br0?.unsupported, []);
  t.equal(br1?.failMode, 'secure');
  t.equal(br1?.datapathId, 0xabn);
  t.equal(br1?.hwaddr, '02:00:00:00:00:aa');
  t.equal(br1?.datapathType, 'netdev');
  t.same(br1?.unsupported, ['mcast_snooping_enable'], 'features ofswitch lacks are named when set (sflow, ipfix, stp_enable are read now)');
  t.same(br1?.spanningTree, { protocol: 'stp', name: br1?.name }, 'stp_enable: STP with the defaults');
  t.equal(c.bridges.find((b) => b.name === 'br0')?.spanningTree, null, 'no stp_enable: no spanning tree');
  t.same(br1?.controllers, [
    { uuid: 'c1', target: 'tcp:127.0.0.1', connectionMode: 'out-of-band', inactivityProbeMs: 0, maxBackoffMs: 1000, rateLimit: 100, burstLimit: 25 },
  ]);
  t.same(br1?.ports.map((p) => p.name), ['a', 'b']);
  const [a, b] = br1?.ports ?? [];
  t.same(a, { uuid: 'p1', name: 'a', tag: 10, trunks: [], vlanMode: null, interfaces: [
    { uuid: 'i1', name: 'a', type: 'system', ofportRequest: 5, lastOfport: null, options: {}, mtuRequest: null },
  ] });
  t.same(b?.trunks, [20, 30]);
  t.same(b?.interfaces.map((i) => [i.name, i.type, i.lastOfport, i.options]), [
    ['b1', 'internal', 3, {}],
    ['b2', 'patch', null, { peer: 'x' }],
  ]);
});

t.test('rows used twice and bad other_config values are problems, as OVS ignores them', async (t) => {
  const c = readConfig(
    source({
      Open_vSwitch: [row('root', { bridges: ['b1', 'b2'], next_cfg: 1 })],
      Bridge: [
        row('b1', { name: 'br1', ports: ['p1'], controller: [], fail_mode: null, protocols: [], other_config: new Map([['datapath-id', 'xyz'], ['hwaddr', 'nope']]) }),
        row('b2', { name: 'br2', ports: ['p1', 'p2'], controller: [], fail_mode: null, protocols: [], other_config: new Map() }),
      ],
      Port: [
        row('p1', { name: 'p1', interfaces: ['i1'], tag: null, trunks: [], vlan_mode: null }),
        row('p2', { name: 'p2', interfaces: ['i1'], tag: null, trunks: [], vlan_mode: null }),
      ],
      Interface: [row('i1', { name: 'i1', type: 'system', options: new Map(), ofport_request: null, ofport: 1, mtu_request: null })],
    }),
  );
  t.same(c.problems.map((p) => p.message), [
    'other_config:datapath-id "xyz" is not 16 hex digits: ignored',
    'other_config:hwaddr "nope" is not a MAC address: ignored',
    'port p1 is already in bridge br1: ignored here',
    'interface i1 is already in port p1: ignored in port p2',
  ]);
  t.same(c.bridges[1]?.ports.map((p) => [p.name, p.interfaces.length]), [['p2', 0]]);
});

t.test('other_config:mac-table-size and mac-aging-time are read as OVS reads them', async (t) => {
  const bridgeWith = (other: [string, string][]) => {
    const c = readConfig(
      source({
        Open_vSwitch: [row('root', { bridges: ['b1'], next_cfg: 1 })],
        Bridge: [row('b1', { name: 'br1', ports: [], controller: [], fail_mode: null, protocols: [], other_config: new Map(other) })],
      }),
    );
    return { br: c.bridges[0], problems: c.problems.map((p) => p.message) };
  };
  const none = bridgeWith([]);
  t.equal(none.br?.macTableSize, null, 'absent: the default');
  t.equal(none.br?.macAgingTime, null);
  const set = bridgeWith([['mac-table-size', '50000'], ['mac-aging-time', '60']]);
  t.equal(set.br?.macTableSize, 50000);
  t.equal(set.br?.macAgingTime, 60);
  t.same(set.problems, []);
  const zero = bridgeWith([['mac-table-size', '0'], ['mac-aging-time', '+0']]);
  t.equal(zero.br?.macTableSize, null, '0 is the default, as in bridge.c');
  t.equal(zero.br?.macAgingTime, null);
  const negative = bridgeWith([['mac-table-size', '-5'], ['mac-aging-time', '-1']]);
  t.ok((negative.br?.macTableSize ?? 0) > 1_000_000, 'negative: as large as OVS makes it (then clamped to the maximum)');
  t.ok((negative.br?.macAgingTime ?? 0) > 3600);
  const bad = bridgeWith([['mac-table-size', 'lots'], ['mac-aging-time', '99999999999']]);
  t.equal(bad.br?.macTableSize, null);
  t.equal(bad.br?.macAgingTime, null, 'beyond int: the default');
  t.same(bad.problems, [
    'other_config:mac-table-size "lots" is not an integer: the default is used',
    'other_config:mac-aging-time "99999999999" is not an integer: the default is used',
  ]);
});
