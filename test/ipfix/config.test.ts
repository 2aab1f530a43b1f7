/**
 * IPFIX's settings as both modes read them: the database's IPFIX row (vswitchd/config.ts
 * readConfig: empty optional columns left to the exporter's defaults, other_config as a map) and
 * the `--config` file's `ipfix` object (lib/options.ts: its keys checked, a bad value one usage error).
 */
import t from 'tap';
import type { Row } from '../../ovsdb/index.js';
import { MONITORED_TABLES, readConfig, type ConfigSource } from '../../vswitchd/config.js';
import { parseCommandLine, UsageError } from '../../lib/options.js';

const row = (uuid: string, cols: Record<string, unknown>): Row => ({ _uuid: uuid, ...cols }) as Row;

function source(tables: Record<string, Row[]>): ConfigSource {
  const maps = new Map(Object.entries(tables).map(([name, rows]) => [name, new Map(rows.map((r) => [r._uuid, r]))]));
  return { table: (name) => maps.get(name) ?? new Map(), first: (name) => tables[name]?.[0] };
}

t.test('the bridge\'s IPFIX row', async (t) => {
  const bridge = (uuid: string, name: string, ipfix: unknown) => row(uuid, { name, ports: [], controller: [], fail_mode: null, protocols: [], other_config: new Map(), ipfix });
  const c = readConfig(source({
    Open_vSwitch: [row('root', { bridges: ['b1', 'b2', 'b3'], next_cfg: 1 })],
    Bridge: [bridge('b1', 'br1', 'i1'), bridge('b2', 'br2', 'i2'), bridge('b3', 'br3', ['set', []])],
    IPFIX: [
      row('i1', { targets: ['10.0.0.2:4739', '10.0.0.1'], sampling: 1, obs_domain_id: 123, obs_point_id: 9, cache_active_timeout: 5, cache_max_flows: 1000,
        other_config: new Map([['enable-output-sampling', 'false'], ['virtual_obs_id', 'rack-3']]) }),
      row('i2', { targets: ['10.0.0.1:4739'], sampling: ['set', []], obs_domain_id: ['set', []], obs_point_id: ['set', []], cache_active_timeout: ['set', []], cache_max_flows: ['set', []], other_config: new Map() }),
    ],
  }));
  const [b1, b2, b3] = c.bridges;
  t.same(b1?.ipfix, {
    uuid: 'i1', targets: ['10.0.0.1', '10.0.0.2:4739'], sampling: 1, obs_domain_id: 123, obs_point_id: 9, cache_active_timeout: 5, cache_max_flows: 1000,
    other_config: { 'enable-output-sampling': 'false', virtual_obs_id: 'rack-3' },
  });
  t.same(b2?.ipfix, { uuid: 'i2', targets: ['10.0.0.1:4739'], other_config: {} }, 'empty optional columns left out');
  t.equal(b3?.ipfix, null, 'no row');
  t.same(b1?.unsupported, [], 'ipfix is no longer a feature still to come');
  t.same(MONITORED_TABLES.IPFIX, ['targets', 'sampling', 'obs_domain_id', 'obs_point_id', 'cache_active_timeout', 'cache_max_flows', 'other_config'], 'the IPFIX columns of OVS 3.1\'s schema are monitored');
});

t.test('the --config file\'s ipfix object', async (t) => {
  const parse = (config: unknown) => parseCommandLine(['--config', 'c.json'], () => JSON.stringify(config));
  const ipfix = { targets: ['127.0.0.1:4739'], sampling: 10, obs_domain_id: 1, obs_point_id: 2, cache_active_timeout: 60, cache_max_flows: 100, template_interval: 30, other_config: { 'enable-input-sampling': 'false' } };
  const r = parse({ ports: ['veth0'], ipfix });
  t.same(r.kind === 'run' ? r.options.ipfix : null, ipfix);
  const none = parse({ ports: ['veth0'] });
  t.equal(none.kind === 'run' ? none.options.ipfix : 'x', undefined, 'none without the key');
  t.throws(() => parse({ ipfix: [] }), UsageError);
  t.throws(() => parse({ ipfix: null }), /"ipfix" must be an object/);
  t.throws(() => parse({ ipfix: { targets: ['127.0.0.1'], engine_id: 1 } }), /unknown ipfix setting "engine_id"/);
  t.throws(() => parse({ ipfix: { targets: ['127.0.0.1'], cache_active_timeout: 5000 } }), /--config c.json: IPFIX cache_active_timeout 5000/);
});
