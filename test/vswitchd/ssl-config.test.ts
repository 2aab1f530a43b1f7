/**
 * The SSL row in database mode, in process: readConfig reads Open_vSwitch:ssl's row as
 * `ovs-vsctl set-ssl [--bootstrap]` writes it, and the reconciler hands its files to the one
 * TlsConfig every bridge shares, logging each change once (an incomplete row counts as none).
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Row } from '../../ovsdb/index.js';
import { createLogger } from '../../lib/log.js';
import { MONITORED_TABLES, readConfig, type ConfigSource, type SystemConfig } from '../../vswitchd/config.js';
import { Reconciler } from '../../vswitchd/reconciler.js';

const row = (uuid: string, cols: Record<string, unknown>): Row => ({ _uuid: uuid, ...cols }) as Row;

function source(tables: Record<string, Row[]>): ConfigSource {
  const maps = new Map(Object.entries(tables).map(([name, rows]) => [name, new Map(rows.map((r) => [r._uuid, r]))]));
  return { table: (name) => maps.get(name) ?? new Map(), first: (name) => tables[name]?.[0] };
}

t.test('readConfig reads the SSL row', async (t) => {
  t.same(MONITORED_TABLES.SSL, ['private_key', 'certificate', 'ca_cert', 'bootstrap_ca_cert'], 'the SSL columns are monitored');
  const sslRow = row('s1', { private_key: '/k.pem', certificate: '/c.pem', ca_cert: '/ca.pem', bootstrap_ca_cert: true });
  const c = readConfig(source({ Open_vSwitch: [row('root', { bridges: [], next_cfg: 1, ssl: 's1' })], SSL: [sslRow] }));
  t.same(c.ssl, { privateKey: '/k.pem', certificate: '/c.pem', caCert: '/ca.pem', bootstrapCaCert: true }, 'as set-ssl --bootstrap writes it');
  const none = readConfig(source({ Open_vSwitch: [row('root', { bridges: [], next_cfg: 1, ssl: null })] }));
  t.equal(none.ssl, null, 'no ssl: none');
  const dangling = readConfig(source({ Open_vSwitch: [row('root', { bridges: [], ssl: 'gone' })] }));
  t.equal(dangling.ssl, null, 'a reference to no row: none');
  const partial = readConfig(source({ Open_vSwitch: [row('root', { bridges: [], ssl: 's2' })], SSL: [row('s2', { private_key: '/k.pem' })] }));
  t.same(partial.ssl, { privateKey: '/k.pem', certificate: '', caCert: '', bootstrapCaCert: false }, 'missing columns are empty');
});

t.test('the reconciler gives the SSL row to the shared TlsConfig, logging each change once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ofswitch-sslrec-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const lines: string[] = [];
  const reconciler = new Reconciler({ rundir: dir, log: createLogger({ level: 'info', write: (l) => lines.push(l) }) });
  const config = (ssl: SystemConfig['ssl']): SystemConfig => ({ uuid: 'root', nextCfg: 1, ssl, bridges: [], problems: [] });
  const files = { privateKey: '/k.pem', certificate: '/c.pem', caCert: '/ca.pem', bootstrapCaCert: false };
  t.equal(reconciler.tls.files, null, 'none at first');
  await reconciler.apply(config(files));
  t.same(reconciler.tls.files, files, 'set-ssl: the files');
  await reconciler.apply(config(files));
  t.equal(lines.filter((l) => l.includes('SSL configured')).length, 1, 'the same row again: logged once');
  await reconciler.apply(config({ ...files, caCert: '' }));
  t.equal(reconciler.tls.files, null, 'an incomplete row: none');
  t.ok(lines.some((l) => l.includes('SSL row incomplete')), 'with a warning');
  await reconciler.apply(config(null));
  t.ok(lines.some((l) => l.includes('SSL not configured')), 'del-ssl: none, logged');
});
