/**
 * Flag mode gets the same QoS: the `--config` file's "qos" object (QoS and Queue columns) gives
 * h3's port a queue of max-rate 20 Mbit/s; a flow from ovs-ofctl ENQUEUEs h1's traffic there and
 * iperf3 measures 20 Mbit/s; a clean stop removes the qdisc. Bad "qos" objects: exit 2 with one
 * message.
 */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addHost, assertRan, run, tryRun } from '../helpers/netns.js';
import { freePort } from '../helpers/free-port.js';
import { CLI, startOfswitch } from '../helpers/ofswitch-process.js';
import { GOODPUT, streams, within10 } from './rig.js';

const MBIT = 1_000_000;

t.test('flag mode: a queue from the --config file limits an ENQUEUEd stream', async (t) => {
  const h1 = await addHost(t, 'k1', { ip: '10.125.0.1/24' });
  const h3 = await addHost(t, 'k3', { ip: '10.125.0.3/24' });
  const dir = mkdtempSync(join(tmpdir(), 'ofqos-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({
    ports: [h1.port, h3.port],
    listen: [`ptcp:${port}:127.0.0.1`],
    failMode: 'secure',
    qos: { [h3.port]: { type: 'linux-htb', other_config: { 'max-rate': 1_000_000_000 }, queues: { '1': { other_config: { 'max-rate': String(20 * MBIT) } } } } },
  }));
  const sw = await startOfswitch(t, ['--config', file]);
  t.teardown(() => sw.stop());
  t.match(await run('tc', ['class', 'show', 'dev', h3.port]), /class htb 1:2 parent 1:fffe prio 0 rate \S+ ceil 20Mbit/, 'queue 1 is class 1:2, ceil 20 Mbit/s');
  const target = `tcp:127.0.0.1:${port}`;
  for (const flow of [`priority=10,ip,in_port=1,nw_dst=${h3.ip},actions=enqueue:2:1`, 'priority=0,actions=NORMAL'])
    assertRan(t, await tryRun('ovs-ofctl', ['add-flow', target, flow]), `ovs-ofctl add-flow ${flow}`, { output: false });
  const config = await tryRun('ovs-ofctl', ['queue-get-config', target, '2']);
  assertRan(t, config, 'ovs-ofctl queue-get-config');
  t.match(config.stdout, /queue 1: min_rate:0\.0%/, 'queue 1 listed');
  const [bps = 0] = await streams([[h1, h3]], 4);
  t.comment(`queue 1: ${(bps / MBIT).toFixed(1)} Mbit/s (expected ${(20 * GOODPUT).toFixed(1)} of TCP payload)`);
  t.ok(within10(bps, 20 * MBIT), `h1 -> h3 through queue 1 (max-rate 20 Mbit/s) delivers ${(bps / MBIT).toFixed(1)} Mbit/s`);
  t.equal(await sw.stop(), 0, 'the switch stops cleanly');
  t.notMatch(await run('tc', ['qdisc', 'show', 'dev', h3.port, 'root']), /htb/, 'and leaves no qdisc');
});

t.test('flag mode: a bad qos object is one message and exit 2', async (t) => {
  const h1 = await addHost(t, 'k4');
  const dir = mkdtempSync(join(tmpdir(), 'ofqos-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cases: [unknown, RegExp][] = [
    [{ [h1.port]: { type: 'linux-hfsc' } }, /qos: \S+: "type" must be "linux-htb"/],
    [{ [h1.port]: { type: 'egress-policer', other_config: { cir: 1000, cbs: 1000 } } }, /qos: \S+: type "egress-policer" is not a "qos" object in flag mode: give the port's keys egress_policer_cir and egress_policer_cbs instead/],
    [{ [h1.port]: { type: 'linux-htb', other_config: { 'max-rate': '10M' } } }, /other_config:max-rate must be a non-negative integer/],
    [{ [h1.port]: { type: 'linux-htb', queues: { '61440': {} } } }, /queue "61440" is not a queue id/],
    [{ [h1.port]: { type: 'linux-htb', queues: { '1': { other_config: { rate: 5 } } } } }, /unknown other_config key "rate"/],
    [{ nosuchport: { type: 'linux-htb' } }, /qos: nosuchport is not one of the switch's ports/],
  ];
  for (const [i, [qos, message]] of cases.entries()) {
    const file = join(dir, `bad${i}.json`);
    writeFileSync(file, JSON.stringify({ ports: [h1.port], listen: [`ptcp:${await freePort()}:127.0.0.1`], qos }));
    const r = await tryRun(process.execPath, [CLI, '--config', file]);
    t.equal(r.code, 2, `case ${i}: exit 2`);
    t.match(r.stderr, message, `case ${i}: ${message.source}`);
    t.equal(r.stderr.trim().split('\n').length, 1, `case ${i}: one message`);
  }
  t.notMatch(await run('tc', ['qdisc', 'show', 'dev', h1.port, 'root']), /htb/, 'no qdisc left by a switch that did not start');
});
