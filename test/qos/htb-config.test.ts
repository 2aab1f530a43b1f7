/**
 * QoS linux-htb without a kernel: the classes a QoS and its queues make (OVS's defaults and
 * bounds), `tc` arguments, min rates for QUEUE_GET_CONFIG, tc's counters parsed, Port rows read
 * from the database (other types left alone or reported), ENQUEUE's skb priority.
 */
import t from 'tap';
import type { Row } from '../../ovsdb/index.js';
import { readConfig, type ConfigSource } from '../../vswitchd/config.js';
import { classCommand, configNumber, htbPlan, minRateTenths, parseClassStats, qdiscCommand, queueSettings, type HtbSettings } from '../../qos/htb.js';
import { queuePriority } from '../../datapath/actions.js';
import { parseConfigFile } from '../../lib/options.js';

const MBIT = 1_000_000;

t.test('configNumber reads other_config as smap_get_ullong does', async (t) => {
  t.equal(configNumber('20000000'), 20_000_000);
  t.equal(configNumber(' 7 '), 7);
  t.equal(configNumber(undefined), 0, 'unset');
  t.equal(configNumber('10M'), 0, 'not digits: unset');
  t.equal(configNumber('-5'), 0, 'negative: unset');
  t.equal(configNumber('99999999999999999999'), 0, 'beyond exact numbers: unset');
});

t.test('the classes of a QoS: root 1:fffe, queue N as 1:(N+1), queue 0 always', async (t) => {
  const settings: HtbSettings = {
    maxRate: 100 * MBIT,
    queues: new Map([
      [1, queueSettings({ 'min-rate': String(10 * MBIT), 'max-rate': String(20 * MBIT), priority: '9' })],
      [7, queueSettings({ 'min-rate': String(500 * MBIT), burst: '800000' })],
      [2, queueSettings({ 'max-rate': '8' })],
    ]),
  };
  const plan = htbPlan(settings, 1500, 10_000);
  t.equal(plan.maxRate, 12_500_000, 'max-rate in bytes/s');
  t.same(plan.classes.map((c) => [c.minor, c.queueId]), [[0xfffe, null], [1, 0], [2, 1], [3, 2], [8, 7]], 'root first, then queues by id, queue 0 added');
  const [root, q0, q1, q2, q7] = plan.classes;
  t.same([root?.minRate, root?.maxRate], [12_500_000, 12_500_000], 'root: rate = ceil = max-rate');
  t.same([q0?.minRate, q0?.maxRate, q0?.burst], [1500, 12_500_000, 1564], 'queue 0: min-rate one MTU, ceil the port, burst MTU + 64');
  t.same([q1?.minRate, q1?.maxRate, q1?.priority], [1_250_000, 2_500_000, 9], 'queue 1 as asked');
  t.same([q2?.minRate, q2?.maxRate], [1500, 1500], 'a max-rate below min-rate is raised to it');
  t.same([q7?.minRate, q7?.maxRate, q7?.burst], [12_500_000, 12_500_000, 100_000], 'a min-rate above the port is cut to it; burst in bytes');
  t.equal(minRateTenths(q1!, plan), 100, 'queue 1 has 10.0 % of the port');
  t.equal(minRateTenths(q7!, plan), 1000, 'queue 7 all of it');

  const args = classCommand('eth9', q1!, 1500);
  t.same(args.slice(0, 9), ['class', 'replace', 'dev', 'eth9', 'parent', '1:fffe', 'classid', '1:2', 'htb']);
  t.same(args.slice(9, 13), ['rate', '10000000bit', 'ceil', '20000000bit']);
  t.ok(args.includes('prio') && args[args.indexOf('prio') + 1] === '7', 'priority above 7 given as 7 (what the kernel takes it for)');
  t.notOk(args.includes('quantum'), 'rate/10 above the MTU: HTB\'s own quantum');
  const slow = classCommand('eth9', q0!, 1500);
  t.ok(slow.includes('quantum') && slow[slow.indexOf('quantum') + 1] === '1500', 'quantum the MTU when rate/10 is less');
  const rootArgs = classCommand('eth9', root!, 1500);
  t.same(rootArgs.slice(4, 8), ['parent', '1:', 'classid', '1:fffe'], 'the root class hangs from the qdisc');
  t.same(qdiscCommand('eth9'), ['qdisc', 'add', 'dev', 'eth9', 'root', 'handle', '1:', 'htb', 'default', '1', 'r2q', '10']);
});

t.test('a QoS without max-rate runs at the link speed, or 10 Gbit/s when unknown', async (t) => {
  t.equal(htbPlan({ maxRate: 0, queues: new Map() }, 1500, 1000).maxRate, 125_000_000, 'a 1 Gbit/s link');
  t.equal(htbPlan({ maxRate: 0, queues: new Map() }, 1500, 0).maxRate, 1_250_000_000, 'no speed: NETDEV_DEFAULT_BPS');
  t.same(htbPlan({ maxRate: 0, queues: new Map([[0xf000, queueSettings({})]]) }, 1500, 0).classes.map((c) => c.minor), [0xfffe, 1], 'a queue id HTB cannot number is left out');
});

t.test('tc -s class show parsed', async (t) => {
  const text = [
    'class htb 1:fffe root rate 100Mbit ceil 100Mbit burst 1500b cburst 1500b ',
    ' Sent 5000 bytes 50 pkt (dropped 0, overlimits 0 requeues 0) ',
    ' backlog 0b 0p requeues 0',
    'class htb 1:2 parent 1:fffe prio 2 rate 10Mbit ceil 20Mbit burst 1562b cburst 1560b ',
    ' Sent 1960 bytes 20 pkt (dropped 3, overlimits 0 requeues 0) ',
    'class htb 2:5 parent 2: prio 0 rate 1Mbit ceil 1Mbit burst 1600b cburst 1600b ',
    ' Sent 1 bytes 1 pkt (dropped 0, overlimits 0 requeues 0) ',
  ].join('\n');
  const stats = parseClassStats(text);
  t.same([...stats.keys()], [0xfffe, 2], 'qdisc 1:\'s classes only');
  t.same(stats.get(2), { bytes: 1960n, packets: 20n, drops: 3n });
});

t.test('ENQUEUE\'s skb priority is TC_H_MAKE(1:0, queue + 1)', async (t) => {
  t.equal(queuePriority(0), 0x10001);
  t.equal(queuePriority(1), 0x10002);
  t.equal(queuePriority(0xefff), 0x1f000);
  t.equal(queuePriority(0xf000), 0, 'beyond HTB\'s queues: no priority (the default class)');
  t.equal(queuePriority(0xffffffff), 0);
});

type Tables = Record<string, Row[]>;
function source(tables: Tables): ConfigSource {
  const maps = new Map(Object.entries(tables).map(([name, rows]) => [name, new Map(rows.map((r) => [r._uuid, r]))]));
  return { table: (name) => maps.get(name) ?? new Map(), first: (name) => tables[name]?.[0] };
}
const row = (uuid: string, cols: Record<string, unknown>): Row => ({ _uuid: uuid, ...cols }) as Row;

t.test('Port qos read from the database', async (t) => {
  const c = readConfig(
    source({
      Open_vSwitch: [row('root', { bridges: ['b1'] })],
      Bridge: [row('b1', { name: 'br0', ports: ['p1', 'p2', 'p3', 'p4', 'p5'], other_config: new Map() })],
      Port: [
        row('p1', { name: 'a', interfaces: ['i1'], qos: 'q1' }),
        row('p2', { name: 'b', interfaces: ['i2'], qos: 'q2' }),
        row('p3', { name: 'c', interfaces: ['i3'], qos: 'q3' }),
        row('p4', { name: 'd', interfaces: ['i4'], qos: 'q4' }),
        row('p5', { name: 'e', interfaces: ['i5'], qos: 'gone' }),
      ],
      Interface: ['1', '2', '3', '4', '5'].map((n) => row(`i${n}`, { name: `if${n}`, type: '', options: new Map() })),
      QoS: [
        row('q1', { type: 'linux-htb', other_config: new Map([['max-rate', '60000000']]), queues: new Map<number, string>([[1, 'u1'], [2, 'u2'], [61440, 'u1'], [3, 'nope']]) }),
        row('q2', { type: 'egress-policer', other_config: new Map([['cir', '1000'], ['cbs', '1000']]), queues: new Map() }),
        row('q3', { type: 'linux-hfsc', other_config: new Map(), queues: new Map() }),
        row('q4', { type: '', other_config: new Map(), queues: new Map() }),
      ],
      Queue: [
        row('u1', { other_config: new Map([['min-rate', '20000000'], ['max-rate', '30000000'], ['burst', '80000'], ['priority', '3']]) }),
        row('u2', { other_config: new Map() }),
      ],
    }),
  );
  const ports = c.bridges[0]?.ports ?? [];
  const htb = ports[0]?.htb;
  t.equal(htb?.maxRate, 60_000_000, 'QoS other_config:max-rate');
  t.same([...(htb?.queues ?? new Map()).entries()], [
    [1, { minRate: 20_000_000, maxRate: 30_000_000, burst: 80_000, priority: 3 }],
    [2, { minRate: 0, maxRate: 0, burst: 0, priority: 0 }],
  ], 'queues by id, each with its Queue row\'s other_config; a missing Queue row left out');
  t.same(ports.slice(1).map((p) => p.htb), [undefined, undefined, undefined, undefined], 'egress-policer, linux-hfsc, an empty type and a missing row: no linux-htb QoS');
  t.same(c.problems.map((p) => p.message), [
    'port a: queue 61440 is beyond what linux-htb numbers (0..61439): ignored',
    'port c: QoS type "linux-hfsc" is not supported (ofswitch has linux-htb and egress-policer)',
  ], 'an unsupported type and a queue id out of range are problems; egress-policer is not');
});

t.test('the --config file\'s qos object (flag mode)', async (t) => {
  const parse = (qos: unknown) => parseConfigFile('c.json', () => JSON.stringify({ qos }));
  const ok = parse({ v3: { type: 'linux-htb', other_config: { 'max-rate': '60000000' }, queues: { '0': {}, '2': { other_config: { 'min-rate': 5, priority: '1' } } } } });
  const v3 = ok.qos?.['v3'];
  t.equal(v3?.maxRate, 60_000_000, 'a decimal string');
  t.same([...(v3?.queues ?? new Map()).entries()], [[0, { minRate: 0, maxRate: 0, burst: 0, priority: 0 }], [2, { minRate: 5, maxRate: 0, burst: 0, priority: 1 }]]);
  t.equal(parse({ v1: { type: 'linux-htb' } }).qos?.['v1']?.maxRate, 0, 'no other_config: max-rate unset');
  const bad: [unknown, RegExp][] = [
    [[], /qos must be an object of port names/],
    [{ v1: 'linux-htb' }, /qos: v1 must be an object/],
    [{ v1: { type: 'linux-htb', queue: {} } }, /unknown key "queue"/],
    [{ v1: { type: 'linux-htb', other_config: [] } }, /"other_config" must be an object/],
    [{ v1: { type: 'linux-htb', other_config: { 'max-rate': -1 } } }, /must be a non-negative integer/],
    [{ v1: { type: 'linux-htb', other_config: { 'max-rate': true } } }, /must be a non-negative integer/],
    [{ v1: { type: 'linux-htb', queues: [] } }, /"queues" must be an object of queue ids/],
    [{ v1: { type: 'linux-htb', queues: { x: {} } } }, /queue "x" is not a queue id/],
    [{ v1: { type: 'linux-htb', queues: { '1': 5 } } }, /queue 1 must be \{"other_config"/],
    [{ v1: { type: 'linux-htb', queues: { '1': { min: 1 } } } }, /queue 1 must be \{"other_config"/],
    [{ v1: { type: 'egress-policer' } }, /qos: v1: type "egress-policer" is not a "qos" object in flag mode: give the port's keys egress_policer_cir and egress_policer_cbs instead \(--port v1,egress_policer_cir=BYTES_PER_S,egress_policer_cbs=BYTES\)$/],
  ];
  for (const [qos, message] of bad) t.throws(() => parse(qos), message, message.source);
});
