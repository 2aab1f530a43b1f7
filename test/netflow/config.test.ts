/**
 * NetFlow's settings as both modes read them: the database's NetFlow row (vswitchd/config.ts
 * readConfig, empty optional columns left to the exporter's defaults) and the `--config` file's
 * `netflow` object (lib/options.ts: its keys checked, a bad value one usage error).
 */
import t from 'tap';
import type { Row } from '../../ovsdb/index.js';
import { readConfig, type ConfigSource } from '../../vswitchd/config.js';
import { parseCommandLine, UsageError } from '../../lib/options.js';

const row = (uuid: string, cols: Record<string, unknown>): Row => ({ _uuid: uuid, ...cols }) as Row;

function source(tables: Record<string, Row[]>): ConfigSource {
  const maps = new Map(Object.entries(tables).map(([name, rows]) => [name, new Map(rows.map((r) => [r._uuid, r]))]));
  return { table: (name) => maps.get(name) ?? new Map(), first: (name) => tables[name]?.[0] };
}

t.test('the bridge\'s NetFlow row', async (t) => {
  const bridge = (cols: Record<string, unknown>) => row('b1', { name: 'br1', ports: [], controller: [], fail_mode: null, protocols: [], other_config: new Map(), ...cols });
  const c = readConfig(source({
    Open_vSwitch: [row('root', { bridges: ['b1', 'b2', 'b3'], next_cfg: 1 })],
    Bridge: [
      bridge({ netflow: 'n1' }),
      { ...bridge({ netflow: 'n2' }), _uuid: 'b2', name: 'br2' } as Row,
      { ...bridge({ netflow: ['set', []] }), _uuid: 'b3', name: 'br3' } as Row,
    ],
    NetFlow: [
      row('n1', { targets: ['10.0.0.2:2055', '10.0.0.1:2055'], engine_type: 7, engine_id: 9, active_timeout: 30, add_id_to_interface: true }),
      row('n2', { targets: ['10.0.0.1:2055'], engine_type: ['set', []], engine_id: ['set', []], active_timeout: 0, add_id_to_interface: false }),
    ],
  }));
  const [b1, b2, b3] = c.bridges;
  t.same(b1?.netflow, { uuid: 'n1', targets: ['10.0.0.1:2055', '10.0.0.2:2055'], engine_type: 7, engine_id: 9, active_timeout: 30, add_id_to_interface: true });
  t.same(b2?.netflow, { uuid: 'n2', targets: ['10.0.0.1:2055'], active_timeout: 0, add_id_to_interface: false }, 'empty optional columns left out');
  t.equal(b3?.netflow, null, 'no row');
  t.same(b1?.unsupported, [], 'netflow is no longer a feature still to come');
});

t.test('the --config file\'s netflow object', async (t) => {
  const parse = (config: unknown) => parseCommandLine(['--config', 'c.json'], () => JSON.stringify(config));
  const r = parse({ ports: ['veth0'], netflow: { targets: ['127.0.0.1:2055'], active_timeout: 60, engine_type: 1, engine_id: 2, add_id_to_interface: true } });
  t.same(r.kind === 'run' ? r.options.netflow : null, { targets: ['127.0.0.1:2055'], active_timeout: 60, engine_type: 1, engine_id: 2, add_id_to_interface: true });
  const none = parse({ ports: ['veth0'] });
  t.equal(none.kind === 'run' ? none.options.netflow : 'x', undefined, 'none without the key');
  t.throws(() => parse({ netflow: [] }), UsageError);
  t.throws(() => parse({ netflow: null }), /"netflow" must be an object/);
  t.throws(() => parse({ netflow: { targets: ['127.0.0.1:2055'], sampling: 1 } }), /unknown netflow setting "sampling"/);
  t.throws(() => parse({ netflow: { targets: ['127.0.0.1:2055'], engine_id: 300 } }), /engine_id 300/);
});
