/**
 * OVS's hash-map order (qos/ovs-hmap.ts), with the orders Open vSwitch 3.1 printed on this machine
 * (qos/show's queues and queue details, qos/show-types' sset), and qos/show's text when the
 * kernel's counters cannot be read (netdev's "Failed to get statistics" line, no newline).
 */
import t from 'tap';
import { OvsHmap, ovsHashInt, ovsHashString, ovsStringOrder } from '../../qos/ovs-hmap.js';
import { formatHtb, formatQosTypes } from '../../lib/qos-commands.js';
import { htbPlan, queueSettings } from '../../qos/htb.js';

t.test('orders Open vSwitch printed', async (t) => {
  const queues = new OvsHmap<number>((id) => ovsHashInt(id));
  for (const id of [1, 2, 7, 0]) queues.insert(id);
  t.same(queues.keys(), [0, 7, 1, 2], 'queues 1, 2, 7 configured, then 0: OVS listed 0, 7, 1, 2');
  t.same(ovsStringOrder(['min-rate', 'max-rate', 'burst', 'priority']), ['burst', 'priority', 'min-rate', 'max-rate'], 'htb_class_get\'s details');
  t.same(
    ovsStringOrder(['linux-htb', 'linux-hfsc', 'linux-codel', 'linux-fq_codel', 'linux-sfq', 'linux-netem', 'linux-noop']),
    ['linux-netem', 'linux-fq_codel', 'linux-codel', 'linux-hfsc', 'linux-noop', 'linux-sfq', 'linux-htb'],
    'netdev-linux\'s types as qos/show-types listed them',
  );
  t.equal(ovsHashString('abcde'), ovsHashString('abcde'), 'a string with a partial last word');
  t.not(ovsHashString('abcde'), ovsHashString('abcdf'));
});

t.test('the map: duplicates, removal, growth', async (t) => {
  const m = new OvsHmap<number>((id) => ovsHashInt(id));
  for (let i = 0; i < 20; i++) m.insert(i);
  m.insert(3);
  t.equal(m.size, 20, 'a key inserted twice is there once');
  t.same([...m.keys()].sort((a, b) => a - b), [...Array(20).keys()], 'every key, after the map grew twice');
  m.remove(3);
  m.remove(99);
  t.notOk(m.has(3));
  t.equal(m.size, 19);
  m.clear();
  t.same(m.keys(), []);
});

t.test('qos/show texts', async (t) => {
  const plan = htbPlan({ maxRate: 8_000_000, queues: new Map([[1, queueSettings({ priority: '3' })]]) }, 1500, 0);
  const text = formatHtb('v1', plan, [1, 0, 5], null);
  t.equal(
    text,
    'QoS: v1 linux-htb\nmax-rate: 8000000\n\nQueue 1:\n  burst: 12512\n  priority: 3\n  min-rate: 12000\n  max-rate: 8000000\n' +
      '  Failed to get statistics for queue 1: No such file or directory\nDefault:\n  burst: 12512\n  min-rate: 12000\n  max-rate: 8000000\n' +
      '  Failed to get statistics for queue 0: No such file or directory',
    'counters unreadable: OVS\'s line without a newline; a queue without a class left out',
  );
  const state = { kernel: false, htb: undefined, queueOrder: [], egress: null, counters: async () => new Map() };
  t.equal(formatQosTypes(state), 'QoS type: egress-policer\n', 'a port without a kernel interface: egress-policer only');
});
