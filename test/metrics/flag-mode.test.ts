/**
 * `ofswitch --metrics ptcp:PORT` in flag mode, read by the real promtool and compared with the
 * real ovs-ofctl: after pings between test hosts through flows set with ovs-ofctl, each port's
 * counters match `dump-ports`, the table's match `dump-tables` and `dump-aggregate`, FLOW_MODs are
 * counted by command and OFPT_ERRORs by type; with ovs-testcontroller as the controller, its
 * connection state and the packet-ins it was sent. Every scrape passes `promtool check metrics`
 * without a lint warning. Start errors: a bad value, a busy port (exit status 2, one message).
 */
import t from 'tap';
import { createServer } from 'node:net';
import { addHost, assertRan, tryRun, type TestHost } from '../helpers/netns.js';
import { startOfswitch } from '../helpers/ofswitch-process.js';
import { ofctl } from '../helpers/ofctl.js';
import { freePort, waitListening } from '../helpers/free-port.js';
import { OfClient } from '../helpers/of-client.js';
import { startOvsTestcontroller } from '../helpers/ovs-testcontroller.js';
import { OFP_VERSION, OFPT } from '../../protocol/index.js';
import { labelSets, parseDumpPorts, promtoolPasses, sample, scrape } from './scrape.js';

const BRIDGE = 'ofswitch';

t.test('port, table, FLOW_MOD and error counters agree with ovs-ofctl after real packets', async (t) => {
  const h1 = await addHost(t, 'ma1', { ip: '10.93.0.1/24' });
  const h2 = await addHost(t, 'ma2', { ip: '10.93.0.2/24' });
  const ofPort = await freePort();
  const metricsPort = await freePort();
  const sw = await startOfswitch(t, ['--port', h1.port, '--port', h2.port, '--listen', `ptcp:${ofPort}`, '--fail-mode', 'secure', '--metrics', `ptcp:${metricsPort}`]);
  t.match(sw.stderr(), /serving metrics/, 'the switch logs where the metrics are');
  const target = `tcp:127.0.0.1:${ofPort}`;
  for (const spec of ['in_port=1,actions=output:2', 'in_port=2,actions=output:1', 'priority=5,ip,nw_dst=10.93.0.9,actions=drop']) {
    const r = await ofctl(undefined, target, 'add-flow', spec);
    assertRan(t, r, `ovs-ofctl add-flow ${spec}`, { output: false });
  }
  assertRan(t, await ofctl(undefined, target, 'del-flows', '--strict', 'priority=5,ip,nw_dst=10.93.0.9'), 'ovs-ofctl del-flows --strict', { output: false });
  // an OFPT_ERROR: a message type only a switch sends (BAD_REQUEST), from a raw connection (ovs-ofctl's
  // own vendor probes earn some too: the count is compared before and after)
  const errorsBefore = sample((await scrape(metricsPort)).text, 'ofswitch_openflow_errors_sent_total', { bridge: BRIDGE, type: 'bad_request' }) ?? -1;
  const client = await OfClient.connect(ofPort);
  t.teardown(() => void client.socket.destroy());
  const reply = await client.request({ version: OFP_VERSION, type: OFPT.FEATURES_REPLY, xid: 77, datapathId: 1n, nBuffers: 0, nTables: 1, capabilities: 0, actions: 0, ports: [] } as never);
  t.equal(reply.type, OFPT.ERROR, 'the switch answered with an OFPT_ERROR');
  client.socket.destroy();
  await client.waitClosed().catch(() => undefined);
  await new Promise((r) => setTimeout(r, 200));
  const errorsAfter = sample((await scrape(metricsPort)).text, 'ofswitch_openflow_errors_sent_total', { bridge: BRIDGE, type: 'bad_request' });
  t.equal(errorsAfter, errorsBefore + 1, `the BAD_REQUEST sent is counted, and kept after its connection closed (${errorsBefore} before)`);

  const ping = await tryRun('ping', ['-c', '5', '-i', '0.2', '-W', '2', h2.ip], h1.ns);
  t.match(ping.stdout, / 5 received/, 'h1 pings h2 through the flows');

  const before = await scrape(metricsPort);
  t.equal(before.status, 200, 'GET /metrics is 200');
  t.match(before.contentType, /^text\/plain; version=0\.0\.4/, 'in the Prometheus text format');
  promtoolPasses(t, before.text);
  const ports = await ofctl(undefined, target, 'dump-ports');
  assertRan(t, ports, 'ovs-ofctl dump-ports');
  const tables = await ofctl(undefined, target, 'dump-tables');
  assertRan(t, tables, 'ovs-ofctl dump-tables');
  const aggregate = await ofctl(undefined, target, 'dump-aggregate');
  assertRan(t, aggregate, 'ovs-ofctl dump-aggregate');
  const after = await scrape(metricsPort);
  promtoolPasses(t, after.text);

  // a counter read by ovs-ofctl between two scrapes lies between their two values
  const between = (name: string, labels: Record<string, string>, value: number, what: string): void => {
    const a = sample(before.text, name, labels);
    const b = sample(after.text, name, labels);
    t.ok(a !== undefined && b !== undefined && a <= value && value <= b, `${what}: ${name} ${JSON.stringify(labels)} ${a}..${b} holds ${value}`);
  };
  const dumped = parseDumpPorts(ports.stdout);
  t.equal(dumped.size, 2, 'dump-ports lists the two ports');
  const named = new Map([['1', h1.port], ['2', h2.port]]);
  for (const [no, name] of named) {
    const d = dumped.get(no);
    t.ok(d, `dump-ports has port ${no}`);
    for (const [key, value] of Object.entries(d ?? {})) between(`ofswitch_port_${key}_total`, { bridge: BRIDGE, port: name }, value, `port ${no}`);
  }
  t.ok((sample(after.text, 'ofswitch_port_rx_packets_total', { bridge: BRIDGE, port: h1.port }) ?? 0) >= 5, 'the pings were counted on h1\'s port');
  t.ok((sample(after.text, 'ofswitch_port_tx_bytes_total', { bridge: BRIDGE, port: h2.port }) ?? 0) >= 5 * 98, 'and sent to h2\'s');

  const active = /active=(\d+), lookup=(\d+), matched=(\d+)/.exec(tables.stdout);
  t.ok(active, `dump-tables has active, lookup and matched: ${tables.stdout}`);
  t.equal(sample(after.text, 'ofswitch_flow_entries', { bridge: BRIDGE }), Number(active?.[1]), 'flow entries as dump-tables active');
  between('ofswitch_flow_lookups_total', { bridge: BRIDGE }, Number(active?.[2]), 'dump-tables lookup');
  between('ofswitch_flow_matched_total', { bridge: BRIDGE }, Number(active?.[3]), 'dump-tables matched');
  const flowCount = /flow_count=(\d+)/.exec(aggregate.stdout);
  t.equal(sample(after.text, 'ofswitch_flow_entries', { bridge: BRIDGE }), Number(flowCount?.[1]), 'and as dump-aggregate flow_count');
  t.equal(Number(flowCount?.[1]), 2, 'two flows left');
  const lookups = sample(after.text, 'ofswitch_flow_lookups_total', { bridge: BRIDGE }) ?? 0;
  const hits = sample(after.text, 'ofswitch_microflow_cache_hits_total', { bridge: BRIDGE }) ?? -1;
  const misses = sample(after.text, 'ofswitch_microflow_cache_misses_total', { bridge: BRIDGE }) ?? -1;
  t.ok(lookups >= 10, `the pings were looked up (${lookups})`);
  t.ok(misses >= 2 && hits >= 1, `the microflow cache missed each new flow and hit the rest (hits ${hits}, misses ${misses})`);
  t.equal(sample(after.text, 'ofswitch_classifier_subtables', { bridge: BRIDGE }), 1, 'one mask (in_port) in the classifier');

  t.equal(sample(after.text, 'ofswitch_flow_mods_total', { bridge: BRIDGE, command: 'add' }), 3, 'three FLOW_MOD ADDs');
  t.equal(sample(after.text, 'ofswitch_flow_mods_total', { bridge: BRIDGE, command: 'delete_strict' }), 1, 'one DELETE_STRICT');
  t.equal(sample(after.text, 'ofswitch_flow_mods_total', { bridge: BRIDGE, command: 'modify' }), 0, 'no MODIFY');
  t.equal(sample(after.text, 'ofswitch_openflow_errors_sent_total', { bridge: BRIDGE, type: 'flow_mod_failed' }), 0, 'no FLOW_MOD_FAILED');
  t.ok((sample(after.text, 'process_resident_memory_bytes') ?? 0) > 1e6, 'process_resident_memory_bytes');
  t.ok((sample(after.text, 'nodejs_heap_used_bytes') ?? 0) > 1e5, 'nodejs_heap_used_bytes');
  t.same(labelSets(after.text, 'ofswitch_controller_connected'), [], 'no controller configured, no controller series');

  t.equal((await scrape(metricsPort, '/')).status, 404, 'any other path is 404');
  t.equal((await scrape(metricsPort, '/metricsx')).status, 404, '/metricsx too');
  const post = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { method: 'POST' });
  t.equal(post.status, 405, 'POST /metrics is 405');
});

t.test('with ovs-testcontroller: its connection state, the packet-ins it was sent, its FLOW_MODs', async (t) => {
  const h1 = await addHost(t, 'mb1', { ip: '10.94.0.1/24' });
  const h2 = await addHost(t, 'mb2', { ip: '10.94.0.2/24' });
  const controllerPort = await freePort();
  const controller = await startOvsTestcontroller(t, controllerPort);
  const metricsPort = await freePort();
  const sw = await startOfswitch(t, ['--port', h1.port, '--port', h2.port, '--listen', `ptcp:${await freePort()}`, '--controller', `tcp:127.0.0.1:${controllerPort}`, '--metrics', `ptcp:${metricsPort}:127.0.0.1`]);
  await sw.waitForLog('handshake done');
  let ok = false;
  for (let i = 0; i < 5 && !ok; i++) ok = (await tryRun('ping', ['-c', '1', '-W', '1', h2.ip], h1.ns)).code === 0;
  t.ok(ok, `h1 pings h2 through ovs-testcontroller's flows${ok ? '' : `: ${controller.output()}`}`);
  const s = await scrape(metricsPort);
  promtoolPasses(t, s.text);
  const target = `tcp:127.0.0.1:${controllerPort}`;
  t.equal(sample(s.text, 'ofswitch_controller_connected', { bridge: BRIDGE, target }), 1, 'the controller is connected');
  t.ok((sample(s.text, 'ofswitch_packet_ins_sent_total', { bridge: BRIDGE, reason: 'no_match' }) ?? 0) >= 1, 'table misses went to it as PACKET_INs');
  t.equal(sample(s.text, 'ofswitch_packet_ins_dropped_total', { bridge: BRIDGE, reason: 'no_match', cause: 'rate_limit' }), 0, 'none dropped by the rate limit');
  t.ok((sample(s.text, 'ofswitch_flow_mods_total', { bridge: BRIDGE, command: 'add' }) ?? 0) >= 1, 'its FLOW_MOD ADDs counted');
  // the controller gone: the state follows, the counters stay
  controller.child.kill('SIGTERM');
  let down: number | undefined = 1;
  for (let i = 0; i < 60 && down !== 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    down = sample((await scrape(metricsPort)).text, 'ofswitch_controller_connected', { bridge: BRIDGE, target });
  }
  t.equal(down, 0, 'the controller gone: ofswitch_controller_connected 0');
  const gone = await scrape(metricsPort);
  promtoolPasses(t, gone.text);
  t.ok((sample(gone.text, 'ofswitch_packet_ins_sent_total', { bridge: BRIDGE, reason: 'no_match' }) ?? 0) >= (sample(s.text, 'ofswitch_packet_ins_sent_total', { bridge: BRIDGE, reason: 'no_match' }) ?? 0), 'its packet-ins stay counted');
});

t.test('a bad --metrics value, a busy port: exit status 2 and one message', async (t) => {
  for (const bad of ['tcp:9100', 'ptcp:', 'ptcp:70000', 'ptcp:9100:nowhere', 'punix:/tmp/m.sock']) {
    const p = await startOfswitch(t, ['--metrics', bad], { ready: false });
    t.equal(await p.exited, 2, `--metrics ${bad}: exit status 2`);
    const lines = p.stderr().trim().split('\n');
    t.equal(lines.length, 1, 'one line');
    t.match(lines[0], /^ofswitch: --metrics/, `naming the option: ${lines[0]}`);
  }
  const busy = createServer();
  const port = await freePort();
  await new Promise<void>((resolve) => busy.listen(port, '127.0.0.1', resolve));
  t.teardown(() => void busy.close());
  t.ok(await waitListening(port), 'something listens on the port');
  const ofPort = await freePort();
  const p = await startOfswitch(t, ['--listen', `ptcp:${ofPort}`, '--metrics', `ptcp:${port}`], { ready: false });
  t.equal(await p.exited, 2, 'a busy metrics port: exit status 2');
  t.equal(p.stderr().trim(), `ofswitch: --metrics ptcp:${port}:127.0.0.1: the port is in use`, 'one message naming it');
  t.notOk(await waitListening(ofPort, 300), 'and no switch was started');
});

t.test('--metrics with --ovsdb is accepted by the command line', async (t) => {
  const { parseCommandLine } = await import('../../lib/options.js');
  const c = parseCommandLine(['--ovsdb', 'unix:/tmp/db.sock', '--metrics', 'ptcp:9100:0.0.0.0']);
  t.equal(c.kind, 'daemon');
  t.same(c.kind === 'daemon' ? c.options.metrics : null, { port: 9100, host: '0.0.0.0' }, 'the address');
  const f = parseCommandLine(['--metrics', 'ptcp:9100']);
  t.same(f.kind === 'run' ? f.options.metrics : null, { port: 9100, host: '127.0.0.1' }, 'IP default 127.0.0.1');
  t.same(parseCommandLine([]).kind === 'run' && (parseCommandLine([]) as { options: { metrics?: unknown } }).options.metrics, undefined, 'none by default');
});
