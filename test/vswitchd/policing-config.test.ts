/**
 * Policing's configuration without traffic: the database columns as readConfig reads them
 * (vswitchd/policing.ts: Interface ingress_policing_*, a Port's QoS of type egress-policer, the
 * problems logged for what cannot be applied, other QoS types left alone), applied to a Switch
 * with memory ports (Switch.setIngressPolicing / setEgressPolicer / policing), and the flag-mode
 * port settings (lib/options.ts parsePort and the --config file's port objects).
 */
import t from 'tap';
import type { Row } from '../../ovsdb/index.js';
import { createSwitch } from '../../lib/switch.js';
import { parseCommandLine, parsePort, UsageError } from '../../lib/options.js';
import { MONITORED_TABLES, readConfig, type ConfigSource } from '../../vswitchd/config.js';
import { applyPolicing, withPolicingColumns } from '../../vswitchd/policing.js';
import { PortError } from '../../datapath/ports/port-type.js';

type Tables = Record<string, Row[]>;

function source(tables: Tables): ConfigSource {
  const maps = new Map(Object.entries(tables).map(([name, rows]) => [name, new Map(rows.map((r) => [r._uuid, r]))]));
  return { table: (name) => maps.get(name) ?? new Map(), first: (name) => tables[name]?.[0] };
}

const row = (uuid: string, cols: Record<string, unknown>): Row => ({ _uuid: uuid, ...cols }) as Row;
const port = (uuid: string, name: string, iface: string, qos: string | string[] = []): Row =>
  row(uuid, { name, interfaces: [iface], tag: null, trunks: [], vlan_mode: null, qos });
const iface = (uuid: string, name: string, cols: Record<string, unknown> = {}): Row =>
  row(uuid, { name, type: '', options: new Map(), ofport_request: null, ofport: null, mtu_request: null, ...cols });

t.test('the monitor gets the policing columns beside the others', async (t) => {
  const tables = withPolicingColumns(MONITORED_TABLES);
  t.ok(tables['Interface']?.includes('ingress_policing_rate') && tables['Interface'].includes('ingress_policing_burst'), 'Interface policing columns');
  t.ok(tables['Interface']?.includes('ofport'), 'the Interface columns already there stay');
  t.ok(tables['QoS']?.includes('type') && tables['QoS'].includes('other_config'), 'the QoS table (beside the columns linux-htb reads)');
  t.same(withPolicingColumns({ QoS: ['type', 'queues'] })['QoS'], ['type', 'queues', 'other_config'], 'a QoS table already monitored keeps its columns');
  t.same(MONITORED_TABLES.Interface.includes('ingress_policing_rate' as never), false, 'the shared table is not changed');
});

t.test('readConfig: ingress columns, egress-policer rows, problems, other QoS types', async (t) => {
  const c = readConfig(
    source({
      Open_vSwitch: [row('root', { bridges: ['b1'], next_cfg: 1 })],
      Bridge: [row('b1', { name: 'br1', ports: ['p1', 'p2', 'p3', 'p4', 'p5'], controller: [], fail_mode: null, protocols: [], other_config: new Map() })],
      Port: [
        port('p1', 'a', 'i1', 'q1'),
        port('p2', 'b', 'i2', 'q2'),
        port('p3', 'c', 'i3', 'q3'),
        port('p4', 'd', 'i4', 'gone'),
        row('p5', { name: 'e', interfaces: [], tag: null, trunks: [], vlan_mode: null, qos: [] }),
      ],
      Interface: [
        iface('i1', 'a', { ingress_policing_rate: 10_000, ingress_policing_burst: 0 }),
        iface('i2', 'b', { ingress_policing_rate: 2 ** 40, ingress_policing_burst: 2 ** 33, ingress_policing_kpkts_rate: 5 }),
        iface('i3', 'c'),
        iface('i4', 'd', { ingress_policing_rate: 0, ingress_policing_burst: 700 }),
      ],
      QoS: [
        row('q1', { type: 'egress-policer', other_config: new Map([['cir', '1250000'], ['cbs', '250000']]) }),
        row('q2', { type: 'egress-policer', other_config: new Map([['cir', 'fast']]) }),
        row('q3', { type: 'linux-htb', other_config: new Map([['max-rate', '1000000']]) }),
      ],
    }),
  );
  t.same(c.policing?.get('br1'), [
    { name: 'a', ingressRate: 10_000, ingressBurst: 0, egress: { cir: 1_250_000, cbs: 250_000 } },
    { name: 'b', ingressRate: 0xffff_ffff, ingressBurst: 0xffff_ffff, egress: null },
    { name: 'c', ingressRate: 0, ingressBurst: 0, egress: null },
    { name: 'd', ingressRate: 0, ingressBurst: 700, egress: null },
  ], 'per interface, in port order; rates capped at 2^32-1 as bridge.c caps them; a port without interfaces left out');
  t.same(c.problems.map((p) => p.message), [
    'interface b: ingress_policing_kpkts_rate is not supported: ignored',
    'port b: QoS type egress-policer needs other_config:cir and cbs greater than 0 (bytes/s, bytes): the port is not policed',
  ], 'what cannot be applied is a problem; linux-htb is not this module\'s to judge');
  const onlyCbs = readConfig(
    source({
      Open_vSwitch: [row('root', { bridges: ['b1'], next_cfg: 1 })],
      Bridge: [row('b1', { name: 'br1', ports: ['p1'], controller: [], fail_mode: null, protocols: [], other_config: new Map() })],
      Port: [port('p1', 'a', 'i1', 'q1')],
      Interface: [iface('i1', 'a')],
      QoS: [row('q1', { type: 'egress-policer', other_config: new Map([['cir', '99999999999999999999'], ['cbs', ' 1500']]) })],
    }),
  );
  t.same(onlyCbs.problems.map((p) => p.message), ['port a: QoS type egress-policer needs other_config:cir greater than 0 (bytes/s, bytes): the port is not policed'], 'a cir beyond what is exact is read as 0; leading spaces are fine');
  t.equal(readConfig(source({})).policing, undefined, 'no Open_vSwitch row: nothing');
});

t.test('applyPolicing and the Switch: set, kept, changed, removed; bad values refused', async (t) => {
  const logs: string[] = [];
  const logger = {
    info: (msg: string) => void logs.push(msg),
    warn: () => undefined,
    error: () => undefined,
    debug: () => undefined,
    child() {
      return this;
    },
  };
  const sw = createSwitch({ linkPollMs: 0, logger: logger as never });
  t.teardown(() => sw.close());
  sw.addPort({ name: 'm1', type: 'memory' });
  sw.addPort({ name: 'm2', type: 'memory' });
  applyPolicing(sw, [
    { name: 'm1', ingressRate: 10_000, ingressBurst: 0, egress: { cir: 1000, cbs: 1500 } },
    { name: 'gone', ingressRate: 1, ingressBurst: 1, egress: null },
  ]);
  t.same(sw.policing('m1'), { ingress: { rate: 1_250_000, burst: 1_024_000, dropped: 0 }, egress: { rate: 1000, burst: 1500, dropped: 0 } }, 'both policers set');
  t.same(sw.policing(2), { ingress: null, egress: null }, 'the other port has none (by number)');
  t.equal(sw.policing('gone'), undefined, 'no such port');
  t.same(logs.filter((l) => /policing/.test(l)), ['ingress policing set', 'egress policing set'], 'logged once each');
  applyPolicing(sw, [{ name: 'm1', ingressRate: 10_000, ingressBurst: 0, egress: { cir: 1000, cbs: 1500 } }]);
  t.equal(logs.filter((l) => /policing/.test(l)).length, 2, 'the same settings again change (and log) nothing');
  applyPolicing(sw, [{ name: 'm1', ingressRate: 0, ingressBurst: 0, egress: null }]);
  t.same(sw.policing('m1'), { ingress: null, egress: null }, 'rate 0 and no QoS remove them');
  t.same(logs.slice(-2), ['ingress policing off', 'egress policing off']);
  t.throws(() => sw.setIngressPolicing('m1', -1), PortError, 'a negative rate is a PortError');
  t.throws(() => sw.setIngressPolicing('m1', 2 ** 32), /at most 4294967295/, 'one beyond 2^32-1 too');
  t.throws(() => sw.setEgressPolicer('m1', { cir: 0, cbs: 1 }), /port m1: egress-policer cir 0/, 'a zero cir too');
  t.equal(sw.setEgressPolicer('nope', null), false, 'no such port: false');
});

t.test('flag mode: policing settings of --port and of --config port objects', async (t) => {
  t.same(parsePort('eth1,ingress_policing_rate=10000,ingress_policing_burst=2000'), { name: 'eth1', ingressPolicingRate: 10_000, ingressPolicingBurst: 2000 });
  t.same(parsePort('eth1,egress_policer_cir=1250000,egress_policer_cbs=1500'), { name: 'eth1', egressPolicer: { cir: 1_250_000, cbs: 1500 } });
  t.throws(() => parsePort('eth1,egress_policer_cir=1000'), new UsageError('--port eth1: egress_policer_cir and egress_policer_cbs go together'));
  t.throws(() => parsePort('eth1,egress_policer_cbs=0,egress_policer_cir=1'), /out of range 1\.\./, 'a zero cbs is refused');
  t.throws(() => parsePort('eth1,ingress_policing_rate=-5'), /is not a number/);
  t.throws(() => parsePort('eth1,ingress_policing_burst=4294967296'), /out of range 0\.\.4294967295/);
  const r = parseCommandLine(['--config', 'c.json'], () =>
    JSON.stringify({ ports: [{ name: 'eth1', ingress_policing_rate: 8000, egress_policer_cir: 100000, egress_policer_cbs: 3000 }] }),
  );
  if (r.kind !== 'run') throw new Error('expected run');
  t.same(r.options.ports[0], { name: 'eth1', ofport: 1, ingressPolicingRate: 8000, egressPolicer: { cir: 100_000, cbs: 3000 } }, 'a config file port object');
});
