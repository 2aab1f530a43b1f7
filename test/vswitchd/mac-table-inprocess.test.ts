/**
 * The MAC table's configuration and commands in-process: the daemon applies Bridge
 * other_config:mac-table-size and mac-aging-time (written with ovs-vsctl to a real ovsdb-server)
 * to the bridge's switch, clamped as OVS clamps them, and back to the defaults when removed;
 * fdb/stats-show and fdb/stats-clear answer from the switch's counters; flag mode's options reach
 * the switch it starts.
 */
import t from 'tap';
import { silentLogger } from '../../lib/log.js';
import { parseCommandLine } from '../../lib/options.js';
import { Switch, createSwitch } from '../../lib/switch.js';
import { formatFdbStats, registerBridgeCommands } from '../../vswitchd/commands.js';
import { UnixctlError, type UnixctlRegistry } from '../../unixctl/index.js';
import { startInProcessDaemon as startDaemon } from '../helpers/inprocess-daemon.js';
import { startOvsdbServer } from '../helpers/ovsdb-server.js';
import { uniqueName } from '../helpers/netns.js';
import { ethFrame } from '../datapath/frames.js';

t.test('other_config:mac-table-size and mac-aging-time from ovs-vsctl reach the bridge, clamped; removed, the defaults return', async (t) => {
  const db = await startOvsdbServer(t);
  const daemon = await startDaemon(t, db.remote);
  const br = uniqueName('mb');
  await db.vsctl(['add-br', br, '--', 'set', 'bridge', br, 'datapath_type=netdev', 'other_config:mac-table-size=50000', 'other_config:mac-aging-time=60'], { wait: true });
  const sw = (): Switch => daemon.reconciler.bridges.get(br)!.sw;
  t.same(sw().macTableOptions(), { maxEntries: 50000, idleSeconds: 60 });
  await db.vsctl(['set', 'bridge', br, 'other_config:mac-table-size=3', 'other_config:mac-aging-time=100000'], { wait: true });
  t.same(sw().macTableOptions(), { maxEntries: 10, idleSeconds: 3600 }, 'clamped to 10 and 3600 s as OVS does');
  await db.vsctl(['remove', 'bridge', br, 'other_config', 'mac-table-size', '--', 'remove', 'bridge', br, 'other_config', 'mac-aging-time'], { wait: true });
  t.same(sw().macTableOptions(), { maxEntries: 8192, idleSeconds: 300 }, 'the defaults again');
});

/** A registry that keeps the handlers, to call them directly. */
function registry(): { reg: UnixctlRegistry; call: (name: string, args?: string[]) => string } {
  const handlers = new Map<string, (args: string[]) => string | void>();
  return {
    reg: { register: (name, _usage, _min, _max, handler) => void handlers.set(name, handler as (args: string[]) => string) },
    call: (name, args = []) => String(handlers.get(name)!(args) ?? ''),
  };
}

t.test('fdb/stats-show and fdb/stats-clear answer from the switch counters, in OVS 3.1 words', async (t) => {
  const a = createSwitch({ linkPollMs: 0 });
  const b = createSwitch({ linkPollMs: 0 });
  t.teardown(() => Promise.all([a.close(), b.close()]));
  const p1 = a.addPort({ name: 'p1', type: 'memory' });
  a.addPort({ name: 'p2', type: 'memory' });
  a.setMacTableOptions({ maxEntries: 10 });
  for (let i = 0; i < 15; i++) p1.device.inject(ethFrame(0x0800, new Array(46).fill(0), { src: `02:00:00:00:01:${(0x10 + i).toString(16)}`, dst: 'ff:ff:ff:ff:ff:ff' }));
  const { reg, call } = registry();
  registerBridgeCommands(reg, { bridge: (n) => (n === 'a' ? a : n === 'b' ? b : undefined), bridges: () => new Map([['a', a], ['b', b]]) });
  t.equal(
    call('fdb/stats-show', ['a']),
    'Statistics for bridge "a":\n' +
      '  Current/maximum MAC entries in the table: 10/10\n' +
      '  Current static MAC entries in the table : 0\n' +
      '  Total number of learned MAC entries     : 15\n' +
      '  Total number of expired MAC entries     : 0\n' +
      '  Total number of evicted MAC entries     : 5\n' +
      '  Total number of port moved MAC entries  : 0\n',
  );
  t.equal(call('fdb/stats-clear', ['a']), 'statistics successfully cleared');
  t.match(formatFdbStats('a', a), /learned MAC entries {5}: 0\n[^]*evicted MAC entries {5}: 0\n/);
  t.match(formatFdbStats('a', a), /10\/10/, 'the entries stay');
  t.equal(call('fdb/stats-clear'), 'statistics successfully cleared', 'every bridge');
  t.throws(() => call('fdb/stats-show', ['nope']), UnixctlError);
  t.throws(() => call('fdb/stats-clear', ['nope']), /no such bridge/);
});

t.test("flag mode's --mac-table-size and --mac-aging-time reach the switch it starts", async (t) => {
  const parsed = parseCommandLine(['--mac-table-size', '4096', '--mac-aging-time', '20', '--listen', 'ptcp:0']);
  if (parsed.kind !== 'run') throw new Error('expected run');
  const sw = await Switch.start(parsed.options, silentLogger);
  t.teardown(() => sw.stop());
  t.same(sw.macTableOptions(), { maxEntries: 4096, idleSeconds: 20 });
  const only = parseCommandLine(['--mac-aging-time', '30', '--listen', 'ptcp:0']);
  if (only.kind !== 'run') throw new Error('expected run');
  const sw2 = await Switch.start(only.options, silentLogger);
  t.teardown(() => sw2.stop());
  t.same(sw2.macTableOptions(), { maxEntries: 8192, idleSeconds: 30 }, 'the size not given keeps its default');
});
