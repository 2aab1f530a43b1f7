/**
 * readConfig's Mirror rows: the Bridge `mirrors` column read as vswitch.xml defines the Mirror
 * table, its weak references to Port rows as the ports' names, and the columns ofswitch lacks.
 */
import t from 'tap';
import type { Row } from '../../ovsdb/index.js';
import { MONITORED_TABLES, readConfig, type ConfigSource } from '../../vswitchd/config.js';

const row = (uuid: string, cols: Record<string, unknown>): Row => ({ _uuid: uuid, ...cols }) as Row;

function source(tables: Record<string, Row[]>): ConfigSource {
  const maps = new Map(Object.entries(tables).map(([name, rows]) => [name, new Map(rows.map((r) => [r._uuid, r]))]));
  return { table: (name) => maps.get(name) ?? new Map(), first: (name) => tables[name]?.[0] };
}

t.test('Mirror rows', async (t) => {
  t.ok(MONITORED_TABLES.Mirror.includes('statistics'), 'the Mirror table is monitored, statistics too (the daemon writes it)');
  const c = readConfig(
    source({
      Open_vSwitch: [row('root', { bridges: ['b1'], next_cfg: 1 })],
      Bridge: [row('b1', { name: 'br1', ports: ['p1', 'p2'], controller: [], fail_mode: null, protocols: [], other_config: new Map(), mirrors: ['m2', 'm1', 'gone'] })],
      Port: [
        row('p1', { name: 'a', interfaces: [], tag: null, trunks: [], vlan_mode: null }),
        row('p2', { name: 'b', interfaces: [], tag: null, trunks: [], vlan_mode: null }),
      ],
      Mirror: [
        row('m1', { name: 'span', select_all: false, select_src_port: ['p2', 'p1', 'nope'], select_dst_port: [], select_vlan: [20, 10], output_port: 'p2', output_vlan: null, snaplen: null }),
        row('m2', { name: 'rspan', select_all: true, select_src_port: [], select_dst_port: ['p1'], select_vlan: [], output_port: null, output_vlan: 99, snaplen: 64 }),
      ],
    }),
  );
  t.same(c.bridges[0]?.mirrors, [
    { uuid: 'm2', name: 'rspan', selectAll: true, selectSrcPorts: [], selectDstPorts: ['a'], selectVlans: [], outputPort: null, outputVlan: 99 },
    { uuid: 'm1', name: 'span', selectAll: false, selectSrcPorts: ['a', 'b'], selectDstPorts: [], selectVlans: [10, 20], outputPort: 'b', outputVlan: null },
  ], 'by name; ports by name (a row that is gone left out); VLANs sorted');
  t.same(c.bridges[0]?.unsupported, [], 'mirrors are no longer a feature to come');
  t.same(c.problems.map((p) => p.message), ['mirror rspan: snaplen is not supported: mirrored frames are not truncated']);
});
