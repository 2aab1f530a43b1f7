/**
 * qos/show and qos/show-types against Open vSwitch's own: ofswitch in database mode and Open
 * vSwitch 3.1 in userspace (its ports are system veths, so netdev-linux's real linux-htb), both
 * configured with the same ovs-vsctl commands on ports of the same names, compared line by line:
 * a port without QoS, linux-htb with queues (queue order, details, defaults), linux-htb without
 * queues or max-rate, after a reconfiguration that drops and adds queues, an unknown interface.
 * Normalised: only the tx_packets/tx_bytes/tx_errors numbers (each side's kernel counts the frames
 * that side sent; ofswitch's are compared with `tc -s class show` instead). egress-policer differs
 * on purpose (lib/qos-commands.ts): OVS cannot set it on a veth and says "QoS not configured".
 * Also list-commands: the qos/ and bond/ lines are OVS's, the old bond/*-slave names unlisted.
 */
import t from 'tap';
import { addHost, assertRan, run, type RunResult } from '../helpers/netns.js';
import { startDaemonRig } from '../helpers/daemon-rig.js';
import { startOvsUserspace } from '../helpers/ovs-reference.js';
import { tcClasses } from './rig.js';

const counters = (text: string): string => text.replace(/^( {2}tx_(?:packets|bytes|errors): )\d+$/gm, '$1N');

t.test('qos/show and qos/show-types as Open vSwitch prints them', async (t) => {
  const rig = await startDaemonRig(t);
  const ovs = await startOvsUserspace(t, { tag: 'qsovs' });
  const hosts = await Promise.all(['qa', 'qb', 'qc', 'qd'].map((tag) => addHost(t, tag)));
  const [a, b, c, d] = hosts.map((h) => h.port) as [string, string, string, string];
  const br = `${a}br`.slice(0, 15);
  rig.owns(br);
  for (const name of [a, b, c, d]) {
    const peer = `${name}x`.slice(0, 15);
    await run('ip', ['link', 'add', name, 'type', 'veth', 'peer', 'name', peer], ovs.ns);
    await run('ip', ['link', 'set', name, 'up'], ovs.ns);
    await run('ip', ['link', 'set', peer, 'up'], ovs.ns);
  }
  const bridge = (extra: readonly string[]): string[] => ['add-br', br, '--', 'set', 'bridge', br, 'fail-mode=secure', ...extra, '--', ...[a, b, c, d].flatMap((p) => ['add-port', br, p, '--'])].slice(0, -1);
  await rig.vsctl(bridge([]), { wait: true });
  await ovs.vsctl(bridge(['datapath_type=netdev']));

  const both = async (args: readonly string[]): Promise<void> => {
    await rig.vsctl(args, { wait: true });
    await ovs.vsctl(args);
  };
  const appctl = async (args: readonly string[]): Promise<[RunResult, RunResult]> => [await rig.appctl(args), await ovs.tryAppctl(args)];
  const same = async (args: readonly string[], what: string): Promise<string> => {
    const [mine, theirs] = await appctl(args);
    assertRan(t, theirs, `Open vSwitch: ovs-appctl ${args.join(' ')}`);
    t.equal(mine.code, 0, `ofswitch: ovs-appctl ${args.join(' ')}: ${mine.stderr}`);
    t.equal(counters(mine.stdout), counters(theirs.stdout), what);
    return mine.stdout;
  };

  // No QoS, and an interface neither has.
  await same(['qos/show', d], 'a port without QoS');
  t.equal((await same(['qos/show', br], 'the bridge\'s own interface')).trim(), `QoS not configured on ${br}`);
  for (const cmd of ['qos/show', 'qos/show-types']) {
    const [mine, theirs] = await appctl([cmd, 'nosuchiface']);
    t.equal(theirs.code, 2, `Open vSwitch: ${cmd} of an unknown interface fails`);
    t.equal(theirs.stderr.split('\n')[0], 'no such interface', 'OVS\'s error text');
    t.equal(mine.code, 2, `ofswitch: ${cmd} of an unknown interface fails with status 2`);
    t.equal(mine.stderr.split('\n')[0], theirs.stderr.split('\n')[0], 'with OVS\'s error text');
  }

  // Types: OVS offers its netdev-linux types on a veth; ofswitch linux-htb and egress-policer.
  const [mineTypes, theirTypes] = await appctl(['qos/show-types', a]);
  assertRan(t, theirTypes, 'Open vSwitch: qos/show-types');
  t.equal(mineTypes.code, 0, mineTypes.stderr);
  t.match(theirTypes.stdout, /^QoS type: linux-htb$/m, 'OVS lists linux-htb for a veth');
  t.notMatch(theirTypes.stdout, /egress-policer/, 'OVS does not list egress-policer for a veth (a DPDK type)');
  t.equal(mineTypes.stdout, 'QoS type: egress-policer\nQoS type: linux-htb\n', 'ofswitch lists its two types in sset order');
  const theirHtbLine = theirTypes.stdout.split('\n').find((l) => l.includes('linux-htb'));
  t.ok(mineTypes.stdout.split('\n').includes(theirHtbLine ?? '?'), 'the linux-htb line is OVS\'s');

  // linux-htb with queues 1, 2 and 7 (queue 0 made though not configured).
  await both([
    'set', 'port', a, 'qos=@q', '--',
    '--id=@q', 'create', 'qos', 'type=linux-htb', 'other-config:max-rate=100000000', 'queues:1=@q1', 'queues:7=@q7', 'queues:2=@q2', '--',
    '--id=@q1', 'create', 'queue', 'other-config:min-rate=10000000', 'other-config:max-rate=20000000', 'other-config:priority=2', '--',
    '--id=@q7', 'create', 'queue', 'other-config:min-rate=25000000', 'other-config:burst=800000', '--',
    '--id=@q2', 'create', 'queue', 'other-config:max-rate=8',
  ]);
  const show = await same(['qos/show', a], 'linux-htb with three queues: queue order, details and their order as OVS');
  t.match(show, /^QoS: \S+ linux-htb\nmax-rate: 100000000\n\nDefault:\n/, 'the QoS, then the default queue');
  t.comment(show);
  const tc = await tcClasses(a);
  const q1 = tc.get('1:2');
  t.ok(q1, 'tc shows class 1:2 (queue 1)');
  t.match(show, new RegExp(`Queue 1:\\n(?:  \\S+: \\d+\\n)*  tx_packets: ${q1?.packets}\\n  tx_bytes: ${q1?.bytes}\\n  tx_errors: ${q1?.dropped}\\n`), 'queue 1\'s counters are the kernel\'s class 1:2');

  // linux-htb without queues or max-rate: the link's speed, queue 0 alone.
  await both(['set', 'port', c, 'qos=@q', '--', '--id=@q', 'create', 'qos', 'type=linux-htb']);
  await same(['qos/show', c], 'linux-htb without queues or max-rate');

  // Reconfigured: queue 7 goes, queues 3 and 0 come, queue 1 changes.
  const qos = (await rig.vsctl(['get', 'port', a, 'qos'])).trim();
  const theirQos = (await ovs.vsctl(['get', 'port', a, 'qos'])).trim();
  for (const [side, uuid] of [[rig, qos], [ovs, theirQos]] as const) {
    await side.vsctl(['--', 'remove', 'qos', uuid, 'queues', '7', '--', 'set', 'qos', uuid, 'queues:3=@q3', 'queues:0=@q0', '--',
      '--id=@q3', 'create', 'queue', 'other-config:min-rate=30000000', '--', '--id=@q0', 'create', 'queue', 'other-config:priority=5'], ...(side === rig ? [{ wait: true }] : []));
  }
  await same(['qos/show', a], 'after queues went and came');

  // egress-policer: OVS cannot set it on a veth; ofswitch polices and shows it as netdev-dpdk does.
  await both(['set', 'port', b, 'qos=@q', '--', '--id=@q', 'create', 'qos', 'type=egress-policer', 'other-config:cir=1000000', 'other-config:cbs=20000']);
  const [minePolicer, theirPolicer] = await appctl(['qos/show', b]);
  assertRan(t, theirPolicer, 'Open vSwitch: qos/show of the egress-policer port');
  t.equal(theirPolicer.stdout, `QoS not configured on ${b}\n`, 'OVS on a veth: no egress-policer');
  t.equal(minePolicer.stdout, `QoS: ${b} egress-policer\ncir: 1000000\ncbs: 20000\n`, 'ofswitch: egress_policer_qos_get\'s lines');

  // QoS removed.
  await both(['clear', 'port', a, 'qos']);
  await same(['qos/show', a], 'after the QoS was removed');

  // list-commands: the qos/ and bond/ commands as OVS lists them.
  const [mineList, theirList] = await appctl(['list-commands']);
  assertRan(t, theirList, 'Open vSwitch: list-commands');
  const pick = (text: string): string[] => text.split('\n').filter((l) => /^ {2}(qos|bond)\//.test(l));
  t.same(pick(mineList.stdout), pick(theirList.stdout), 'qos/ and bond/ lines of list-commands are OVS\'s (the -slave aliases unlisted)');
  for (const alias of ['bond/enable-slave', 'bond/disable-slave', 'bond/set-active-slave']) {
    const [mine, theirs] = await appctl([alias, 'nobond', 'nomember']);
    t.equal(theirs.code, 2, `OVS still answers ${alias}`);
    t.equal(mine.code, 2, `ofswitch still answers ${alias}`);
    t.equal(mine.stderr.split('\n')[0], theirs.stderr.split('\n')[0], `${alias}: OVS's error`);
  }
});
