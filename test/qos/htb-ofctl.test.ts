/**
 * What ovs-ofctl shows of the queues (QoS linux-htb set with ovs-vsctl, ofswitch in database
 * mode): queue-get-config lists the port's queues with their min rates, queue-stats gives the
 * kernel's class counters (compared with `tc -s class show`), for one queue, every queue and every
 * port; errors for a port that does not exist and a queue a port does not have. An ENQUEUE to a
 * queue the port lacks is accepted and its frames leave by the default class (queue 0). Removing
 * the QoS removes the qdisc; stopping the daemon leaves none; after a kill, the next daemon
 * removes the one the killed daemon left.
 */
import t from 'tap';
import { assertRan, run, tryRun } from '../helpers/netns.js';
import { enqueueFlows, startQosRig, tcClasses } from './rig.js';

const MBIT = 1_000_000;

async function rootQdisc(dev: string): Promise<string> {
  return (await run('tc', ['qdisc', 'show', 'dev', dev, 'root'])).trim();
}

t.test('queue-get-config, queue-stats and the qdisc through the QoS life cycle', async (t) => {
  const r = await startQosRig(t, 123);
  const dev = r.h3.port;
  t.notMatch(await rootQdisc(dev), /htb/, 'no HTB on the port before QoS');
  await r.rig.vsctl([
    'set', 'port', dev, 'qos=@q', '--',
    '--id=@q', 'create', 'qos', 'type=linux-htb', `other-config:max-rate=${100 * MBIT}`, 'queues:1=@q1', 'queues:7=@q7', '--',
    '--id=@q1', 'create', 'queue', `other-config:min-rate=${10 * MBIT}`, `other-config:max-rate=${20 * MBIT}`, 'other-config:priority=2', '--',
    '--id=@q7', 'create', 'queue', `other-config:min-rate=${25 * MBIT}`, 'other-config:burst=800000',
  ], { wait: true });
  t.match(await rootQdisc(dev), /^qdisc htb 1: root .*default 0x1\b/, 'an HTB qdisc 1: with default class 1:1 on the port');
  const show = await run('tc', ['class', 'show', 'dev', dev]);
  t.match(show, /class htb 1:fffe root rate 100Mbit ceil 100Mbit/, 'root class 1:fffe at the QoS max-rate');
  t.match(show, /class htb 1:1 parent 1:fffe prio 0 rate 12Kbit ceil 100Mbit/, 'queue 0 (made though not configured): min-rate one MTU/s, ceil the port rate');
  t.match(show, /class htb 1:2 parent 1:fffe prio 2 rate 10Mbit ceil 20Mbit/, 'queue 1 is class 1:2 with its rates and priority');
  t.match(show, /class htb 1:8 parent 1:fffe prio 0 rate 25Mbit ceil 100Mbit burst 100000b/, 'queue 7 is class 1:8, burst in bytes');

  const config = await r.rig.ofctl(['queue-get-config', r.br, '3']);
  assertRan(t, config, 'ovs-ofctl queue-get-config');
  t.comment(config.stdout.trim());
  t.match(config.stdout, /queue 0:\s+min_rate:0\.0%/, 'queue 0: min rate 12 kbit/s of 100 Mbit/s rounds to 0.0 %');
  t.match(config.stdout, /queue 1:\s+min_rate:10\.0%/, 'queue 1: min rate 10 % of the port');
  t.match(config.stdout, /queue 7:\s+min_rate:25\.0%/, 'queue 7: 25 %');
  const noPort = await r.rig.ofctl(['queue-get-config', r.br, '9']);
  t.match(noPort.stdout, /^OFPT_ERROR .*: OFPQOFC_BAD_PORT/, 'queue-get-config of a port that does not exist: OFPQOFC_BAD_PORT (ovs-ofctl prints it, exits 0)');

  // Traffic: h1's pings to h3 in queue 1, h2's in queue 5, which the port does not have.
  await enqueueFlows(r, 1, 5);
  const flows = await r.rig.ofctl(['dump-flows', r.br]);
  assertRan(t, flows, 'ovs-ofctl dump-flows');
  t.match(flows.stdout, /actions=enqueue:3:5/, 'the ENQUEUE to a queue the port lacks was accepted');
  const before = await tcClasses(dev);
  assertRan(t, await tryRun('ping', ['-c', '20', '-i', '0.01', '-W', '1', r.h3.ip], r.h1.ns), 'h1 pings h3 through queue 1');
  assertRan(t, await tryRun('ping', ['-c', '10', '-i', '0.01', '-W', '1', r.h3.ip], r.h2.ns), 'h2 pings h3 through queue 5 (none)');
  const after = await tcClasses(dev);
  const delta = (c: string): number => (after.get(c)?.packets ?? 0) - (before.get(c)?.packets ?? 0);
  t.equal(delta('1:2'), 20, 'the 20 echo requests of h1 went through class 1:2 (queue 1)');
  t.ok(delta('1:1') >= 10, `h2's 10 went through the default class 1:1 (queue 0): ${delta('1:1')} frames there`);

  const stats = await r.rig.ofctl(['queue-stats', r.br, '3', '1']);
  assertRan(t, stats, 'ovs-ofctl queue-stats BR 3 1');
  t.comment(stats.stdout.trim());
  const tc = await tcClasses(dev);
  const q1 = tc.get('1:2');
  t.match(stats.stdout, new RegExp(`port 3 queue 1: bytes=${q1?.bytes}, pkts=${q1?.packets}, errors=${q1?.dropped}`), 'queue 1\'s counters are class 1:2\'s, as tc shows them');
  const allQueue1 = await r.rig.ofctl(['queue-stats', r.br, 'ALL', '1']);
  assertRan(t, allQueue1, 'ovs-ofctl queue-stats BR ALL 1');
  t.match(allQueue1.stdout, /: 1 queues\n\s*port 3 queue 1: /, 'queue 1 of every port: only port 3 has one');
  const allQueue9 = await r.rig.ofctl(['queue-stats', r.br, 'ALL', '9']);
  t.match(allQueue9.stdout, /^OFPT_ERROR .*: OFPQOFC_BAD_QUEUE/, 'a queue no port has: OFPQOFC_BAD_QUEUE');
  const all = await r.rig.ofctl(['queue-stats', r.br]);
  assertRan(t, all, 'ovs-ofctl queue-stats BR (every port, every queue)');
  t.match(all.stdout, /OFPST_QUEUE reply.*: 3 queues/, 'three queues in all');
  t.match(all.stdout, /port 3 queue 0: bytes=\d+, pkts=\d+, errors=0/, 'queue 0 listed');
  t.match(all.stdout, /port 3 queue 7: bytes=0, pkts=0, errors=0/, 'queue 7 listed, unused');
  const badQueue = await r.rig.ofctl(['queue-stats', r.br, '3', '5']);
  t.match(badQueue.stdout, /^OFPT_ERROR .*: OFPQOFC_BAD_QUEUE/, 'queue-stats of a queue the port lacks: OFPQOFC_BAD_QUEUE');
  const otherPort = await r.rig.ofctl(['queue-stats', r.br, '1', '1']);
  t.match(otherPort.stdout, /^OFPT_ERROR .*: OFPQOFC_BAD_QUEUE/, 'a port without QoS has no queue 1 either');
  const badPort = await r.rig.ofctl(['queue-stats', r.br, '9']);
  t.match(badPort.stdout, /^OFPT_ERROR .*: OFPQOFC_BAD_PORT/, 'a port that does not exist is OFPQOFC_BAD_PORT');

  // Changing a queue keeps the others' counters; removing one removes its class.
  await r.rig.vsctl(['remove', 'qos', await qosOf(r.rig, dev), 'queues', '7'], { wait: true });
  const changed = await run('tc', ['class', 'show', 'dev', dev]);
  t.notMatch(changed, /class htb 1:8 /, 'queue 7 removed from the QoS: class 1:8 is gone');
  t.equal((await tcClasses(dev)).get('1:2')?.packets, q1?.packets, 'class 1:2 kept its counters');

  await r.rig.vsctl(['clear', 'port', dev, 'qos'], { wait: true });
  t.notMatch(await rootQdisc(dev), /htb/, 'QoS cleared from the port: the qdisc is gone');
  const none = await r.rig.ofctl(['queue-get-config', r.br, '3']);
  assertRan(t, none, 'queue-get-config without QoS', { output: true });
  t.notMatch(none.stdout, /queue \d+:/, 'no queues listed any more');
});

async function qosOf(rig: { vsctl(a: readonly string[]): Promise<string> }, port: string): Promise<string> {
  return (await rig.vsctl(['get', 'port', port, 'qos'])).trim();
}

t.test('no qdisc is left behind: clean stop, and a kill followed by a restart', async (t) => {
  const r = await startQosRig(t, 124);
  const dev = r.h3.port;
  const dev2 = r.h2.port;
  const qos = (port: string): string[] => [
    'set', 'port', port, 'qos=@q', '--', '--id=@q', 'create', 'qos', 'type=linux-htb', `other-config:max-rate=${50 * MBIT}`,
  ];
  await r.rig.vsctl(qos(dev), { wait: true });
  await r.rig.vsctl(qos(dev2), { wait: true });
  t.match(await rootQdisc(dev), /htb 1:/, 'QoS on h3\'s port');
  t.match(await rootQdisc(dev2), /htb 1:/, 'and on h2\'s');
  await r.rig.kill();
  t.match(await rootQdisc(dev), /htb 1:/, 'SIGKILL leaves the qdisc (nothing runs at exit)');
  await r.rig.vsctl(['--no-wait', 'clear', 'port', dev2, 'qos']);
  const next = await r.rig.start();
  await next.waitForLog('removed the qdisc of a QoS no longer configured');
  t.notMatch(await rootQdisc(dev2), /htb/, 'the next daemon removed the qdisc of the QoS cleared meanwhile');
  t.match(await rootQdisc(dev), /htb 1:/, 'and keeps (makes again) the one still configured');
  t.equal(await next.stop(), 0, 'a clean stop exits 0');
  t.notMatch(await rootQdisc(dev), /htb/, 'a clean stop removes the qdisc');
});
