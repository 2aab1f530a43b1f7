/**
 * An Open vSwitch operator's session, typed as for Open vSwitch, against ofswitch serving a real
 * ovsdb-server (test/helpers/ofswitch-daemon.ts): plain ovs-vsctl (no --no-wait: each command
 * waits until the daemon has applied it, within --timeout=5), ovs-ofctl by bridge name and
 * ovs-appctl -t ofswitch.
 *
 * Then bad database content, each answered by the Interface `error` column or a log line, never
 * by a crash, and never disturbing a second bridge: its flows and ports stay as they were and an
 * OpenFlow connection to it, held open throughout, keeps answering.
 *
 * Every tool call is checked to have exited 0 (and, where it prints, to have printed) before its
 * output is looked at. Names come from uniqueName(): internal ports live in the root namespace.
 */
import t, { type Test } from 'tap';
import { connect } from 'node:net';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { OFP_VERSION, OFPT } from '../../protocol/index.js';
import { OfClient } from '../helpers/of-client.js';
import { createVethPair, run, setLinkUp, uniqueName } from '../helpers/netns.js';
import { freePort } from '../helpers/free-port.js';
import { startOvsTestcontroller } from '../helpers/ovs-testcontroller.js';
import { startOfswitchDaemon, type DaemonLogRecord, type OfswitchDaemon } from '../helpers/ofswitch-daemon.js';
import type { CommandResult } from '../helpers/ovsdb-server.js';

/** Asserts a tool call exited 0 with nothing on stderr; with `output`, that it printed something. */
function ran(t: Test, r: CommandResult, what: string, options: { output?: boolean } = {}): string {
  t.equal(r.code, 0, `${what}: exits 0${r.code !== 0 ? ` (${r.stderr.trim()})` : ''}`);
  t.equal(r.stderr, '', `${what}: nothing on stderr`);
  if (options.output) t.not(r.stdout.trim(), '', `${what}: prints something`);
  return r.stdout;
}

/** A plain ovs-vsctl command, as an operator types it: exit 0, silent, within its 5 s timeout. */
async function vsctl(t: Test, sw: OfswitchDaemon, args: readonly string[]): Promise<string> {
  return ran(t, await sw.tryVsctl(args), `ovs-vsctl ${args.join(' ')}`);
}

async function ofctl(t: Test, sw: OfswitchDaemon, args: readonly string[]): Promise<string> {
  return ran(t, await sw.tryOfctl(args), `ovs-ofctl ${args.join(' ')}`, { output: true });
}

async function appctl(t: Test, sw: OfswitchDaemon, args: readonly string[], options: { output?: boolean } = { output: true }): Promise<string> {
  return ran(t, await sw.tryAppctl(args), `ovs-appctl -t ofswitch ${args.join(' ')}`, options);
}

/** A column's value as ovs-vsctl prints it (`get`), trimmed. */
async function get(t: Test, sw: OfswitchDaemon, table: string, record: string, column: string): Promise<string> {
  return (await vsctl(t, sw, ['get', table, record, column])).trim();
}

/** A veth pair in the root namespace, both ends up: the first end is for the switch. */
async function veth(t: Test, tag: string): Promise<string> {
  const a = uniqueName(tag);
  const b = uniqueName(`${tag}p`);
  await createVethPair(a, b, t);
  // Without IPv6 the kernel sends nothing on them by itself (no router solicitations, no MLD),
  // so the MAC table holds only what a test sends.
  for (const end of [a, b]) await run('sysctl', ['-qw', `net.ipv6.conf.${end}.disable_ipv6=1`]);
  await setLinkUp(a);
  await setLinkUp(b);
  return a;
}

/** The flows as ovs-ofctl dump-flows prints them, without the parts that change by themselves. */
function flowsOf(dump: string): string[] {
  return dump
    .split('\n')
    .filter((l) => l.startsWith(' cookie='))
    .map((l) => l.replace(/cookie=0x0, /, '').replace(/duration=[0-9.]+s, /, '').replace(/n_packets=\d+, n_bytes=\d+, /, '').replace(/idle_age=\d+, /, '').trim());
}

/** The port lines of ovs-ofctl show (` N(NAME): addr:...`), number and name only. */
function portsOf(show: string): string[] {
  return [...show.matchAll(/^ (\w+)\((\S+)\): addr:/gm)].map((m) => `${m[1]}(${m[2]})`).sort();
}

/** An OpenFlow connection to a bridge's management socket, held open; `echo()` proves it answers. */
async function holdConnection(t: Test, sw: OfswitchDaemon, bridge: string): Promise<{ echo(): Promise<boolean> }> {
  const socket = connect({ path: join(sw.dir, `${bridge}.mgmt`) });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const client = OfClient.wrap(socket);
  t.teardown(() => client.close());
  client.send({ version: OFP_VERSION, type: OFPT.HELLO, xid: 1, body: new Uint8Array(0) });
  await client.next((m) => m.type === OFPT.HELLO);
  let xid = 100;
  return {
    echo: async () => {
      const reply = await client.request({ version: OFP_VERSION, type: OFPT.ECHO_REQUEST, xid: ++xid, data: new Uint8Array([1, 2, 3]) });
      return reply.type === OFPT.ECHO_REPLY;
    },
  };
}

function logged(records: readonly DaemonLogRecord[], level: string, text: string): boolean {
  return records.some((r) => r.level === level && JSON.stringify(r).includes(text));
}

t.test('an operator session: bridges, ports, flows, appctl, fail mode, controllers', async (t) => {
  const sw = await startOfswitchDaemon(t);
  const br = uniqueName('b1');
  const br2 = uniqueName('b2');
  const v1 = await veth(t, 'v1');
  const v2 = await veth(t, 'v2');

  await t.test('add-br and add-port return once applied; ofport_request is honoured', async (t) => {
    await vsctl(t, sw, ['add-br', br]);
    t.equal(await get(t, sw, 'Interface', br, 'ofport'), '65534', 'the bridge interface is LOCAL');
    t.ok(existsSync(`/sys/class/net/${br}`), 'its internal interface exists on the host');
    await run('sysctl', ['-qw', `net.ipv6.conf.${br}.disable_ipv6=1`]); // quiet, as the veths below
    await vsctl(t, sw, ['add-port', br, v1, '--', 'set', 'Interface', v1, 'ofport_request=5']);
    await vsctl(t, sw, ['add-port', br, v2]);
    t.equal(await get(t, sw, 'Interface', v1, 'ofport'), '5', 'ofport_request=5 gives port 5');
    t.equal(await get(t, sw, 'Interface', v2, 'ofport'), '1', 'a port without a request gets the first number handed out');
    t.equal(await get(t, sw, 'Interface', v1, 'error'), '[]', 'and no error');
    t.equal(await get(t, sw, 'Interface', v1, 'link_state'), 'up', 'link_state written');
    t.match(await get(t, sw, 'Interface', v1, 'mac_in_use'), /^"([0-9a-f]{2}:){5}[0-9a-f]{2}"$/, 'mac_in_use written');
    const show = await vsctl(t, sw, ['show']);
    t.match(show, new RegExp(`Bridge ${br}\\n(.*\\n)*\\s+Port ${v1}\\n\\s+Interface ${v1}\\n`), 'ovs-vsctl show lists the bridge and its ports');
    t.notMatch(show, /error:/, 'with no error');
  });

  await t.test('ovs-ofctl by bridge name', async (t) => {
    const show = await ofctl(t, sw, ['show', br]);
    t.same(portsOf(show), [`1(${v2})`, `5(${v1})`, `LOCAL(${br})`].sort(), 'ovs-ofctl show lists the ports with their numbers');
    const dpid = (await get(t, sw, 'Bridge', br, 'datapath_id')).replace(/"/g, '');
    t.match(show, `dpid:${dpid}`, 'the datapath id is the one in the database');
    t.same(flowsOf(await ofctl(t, sw, ['dump-flows', br])), ['table=0, priority=0 actions=NORMAL'], 'a standalone bridge without controller has the NORMAL flow');
    ran(t, await sw.tryOfctl(['add-flow', br, 'priority=100,in_port=5,actions=output:1']), 'ovs-ofctl add-flow');
    t.same(
      flowsOf(await ofctl(t, sw, ['dump-flows', br])),
      ['table=0, priority=100,in_port=5 actions=output:1', 'table=0, priority=0 actions=NORMAL'],
      'dump-flows shows the added flow',
    );
  });

  await t.test('ovs-appctl -t ofswitch', async (t) => {
    const list = await appctl(t, sw, ['list-commands']);
    for (const c of ['fdb/show', 'fdb/flush', 'ofproto/list', 'bridge/dump-flows', 'dpif/show', 'memory/show', 'vlog/set', 'exit'])
      t.match(list, new RegExp(`^  ${c} `, 'm'), `list-commands has ${c}`);
    t.match(await appctl(t, sw, ['version']), /^ofswitch \(ofswitch\) \d+\.\d+\.\d+\n$/, 'version');
    t.equal(await appctl(t, sw, ['ofproto/list']), `${br}\n`, 'ofproto/list names the bridge');
    t.match(await appctl(t, sw, ['fdb/show', br]), /^ port {2}VLAN {2}MAC {16}Age\n/, 'fdb/show has OVS header');
    t.equal(await appctl(t, sw, ['fdb/flush', br]), 'table successfully flushed\n', 'fdb/flush BRIDGE');
    t.equal(await appctl(t, sw, ['fdb/flush']), 'table successfully flushed\n', 'fdb/flush of every bridge');
    t.equal(await appctl(t, sw, ['fdb/show', br]), ' port  VLAN  MAC                Age\n', 'the table is empty after the flush');
    const dpif = await appctl(t, sw, ['dpif/show']);
    t.match(dpif, /^ofswitch@ofswitch: hit:\d+ missed:\d+\n/, 'dpif/show: the datapath line');
    t.match(dpif, `  ${br}:\n    ${v2} 1: (system)\n    ${v1} 5: (system)\n    ${br} LOCAL: (internal)\n`, 'dpif/show: the bridge and its ports');
    t.match(await appctl(t, sw, ['memory/show']), /^bridges:1 heap-kB:\d+ ports:3 rss-kB:\d+ rules:2\n$/, 'memory/show counts bridges, ports, rules');
    t.match(await appctl(t, sw, ['bridge/dump-flows', br]), /priority=100,in_port=5,actions=output:1\n/, 'bridge/dump-flows');
    await appctl(t, sw, ['vlog/set', 'ofswitch:console:dbg'], { output: false });
    t.match(await appctl(t, sw, ['vlog/list']), /^ofswitch +DBG +OFF +OFF$/m, 'vlog/set changed the level');
    await appctl(t, sw, ['vlog/set', 'ofswitch:console:info'], { output: false });
    for (const args of [['fdb/show', 'nosuchbr'], ['fdb/flush', 'nosuchbr'], ['bridge/dump-flows', 'nosuchbr']]) {
      const r = await sw.tryAppctl(args);
      t.equal(r.code, 2, `${args.join(' ')} of a missing bridge exits 2`);
      t.equal(r.stdout, '', 'prints nothing on stdout');
      t.match(r.stderr, /^no such bridge\n/, 'says "no such bridge"');
    }
    const bad = await sw.tryAppctl(['no/such/command']);
    t.equal(bad.code, 2, 'an unknown command exits 2');
    t.match(bad.stderr, /"no\/such\/command" is not a valid command/, 'with OVS\'s words');
  });

  await t.test('set-fail-mode is reflected in the flow table', async (t) => {
    await vsctl(t, sw, ['set-fail-mode', br, 'secure']);
    t.equal(await get(t, sw, 'Bridge', br, 'fail_mode'), 'secure', 'the column says secure');
    t.same(flowsOf(await ofctl(t, sw, ['dump-flows', br])), [], 'a secure bridge without controller has no flows (the table emptied, as OVS does)');
    await vsctl(t, sw, ['set-fail-mode', br, 'standalone']);
    t.same(flowsOf(await ofctl(t, sw, ['dump-flows', br])), ['table=0, priority=0 actions=NORMAL'], 'standalone again: the NORMAL flow only');
    await vsctl(t, sw, ['del-fail-mode', br]);
    t.same(flowsOf(await ofctl(t, sw, ['dump-flows', br])), ['table=0, priority=0 actions=NORMAL'], 'no fail mode is standalone');
  });

  await t.test('set-controller: an active controller connects (is_connected, role), a ptcp: one serves ovs-ofctl', async (t) => {
    const port = await freePort();
    await startOvsTestcontroller(t, port);
    await vsctl(t, sw, ['set-controller', br, `tcp:127.0.0.1:${port}`]);
    const uuid = (await get(t, sw, 'Bridge', br, 'controller')).replace(/[[\]]/g, '');
    t.match(uuid, /^[0-9a-f-]{36}$/, 'the Controller row exists');
    ran(t, await sw.tryVsctl(['wait-until', 'Controller', uuid, 'is_connected=true']), 'wait-until is_connected=true');
    t.equal(await get(t, sw, 'Controller', uuid, 'role'), 'other', 'role=other');
    t.match(await get(t, sw, 'Controller', uuid, 'status'), /state=ACTIVE/, 'status state=ACTIVE');
    await vsctl(t, sw, ['del-controller', br]);
    t.equal(await get(t, sw, 'Bridge', br, 'controller'), '[]', 'del-controller');

    await vsctl(t, sw, ['add-br', br2]);
    const service = await freePort();
    await vsctl(t, sw, ['set-controller', br2, `ptcp:${service}:127.0.0.1`]);
    const show = await ofctl(t, sw, ['show', `tcp:127.0.0.1:${service}`]);
    t.same(portsOf(show), [`LOCAL(${br2})`], 'ovs-ofctl reaches the bridge on its ptcp: service');
    await vsctl(t, sw, ['del-controller', br2]);
    const gone = await sw.tryOfctl(['--timeout=2', 'show', `tcp:127.0.0.1:${service}`]);
    t.not(gone.code, 0, 'the service is closed with its Controller row');
  });

  await t.test('a port moves between bridges; del-port, del-br', async (t) => {
    await vsctl(t, sw, ['del-port', br, v2, '--', 'add-port', br2, v2]);
    t.same(portsOf(await ofctl(t, sw, ['show', br])), [`5(${v1})`, `LOCAL(${br})`].sort(), 'gone from the first bridge');
    t.same(portsOf(await ofctl(t, sw, ['show', br2])), [`1(${v2})`, `LOCAL(${br2})`].sort(), 'and served by the second');
    t.equal(await get(t, sw, 'Interface', v2, 'error'), '[]', 'without error');
    await vsctl(t, sw, ['del-port', br, v1]);
    t.same(portsOf(await ofctl(t, sw, ['show', br])), [`LOCAL(${br})`], 'del-port');
    await vsctl(t, sw, ['del-br', br]);
    t.equal(await appctl(t, sw, ['ofproto/list']), `${br2}\n`, 'del-br: the bridge is gone');
    t.notOk(existsSync(`/sys/class/net/${br}`), 'and its internal interface with it');
    const r = await sw.tryOfctl(['show', br]);
    t.not(r.code, 0, 'ovs-ofctl no longer reaches it');
    await vsctl(t, sw, ['del-br', br2]);
    t.equal(await appctl(t, sw, ['ofproto/list'], { output: false }), '', 'no bridge left');
    t.ok(sw.running(), 'the daemon still runs');
  });
});

t.test('bad database content: an error column or a log line, the other bridge undisturbed', async (t) => {
  const sw = await startOfswitchDaemon(t);
  const good = uniqueName('g');
  const bad = uniqueName('x');
  const gv = await veth(t, 'gv');
  await vsctl(t, sw, ['add-br', good, '--', 'add-port', good, gv, '--', 'set', 'Interface', gv, 'ofport_request=3']);
  ran(t, await sw.tryOfctl(['add-flow', good, 'priority=50,dl_type=0x0800,actions=output:3']), 'add-flow to the good bridge');
  await vsctl(t, sw, ['add-br', bad]);
  const goodFlows = flowsOf(await ofctl(t, sw, ['dump-flows', good]));
  const goodPorts = portsOf(await ofctl(t, sw, ['show', good]));
  t.same(goodPorts, [`3(${gv})`, `LOCAL(${good})`].sort(), 'the good bridge before');
  const held = await holdConnection(t, sw, good);
  t.ok(await held.echo(), 'an OpenFlow connection to the good bridge answers');

  /** After each bad step: the daemon runs, the good bridge is as it was and still answers. */
  const undisturbed = async (t: Test): Promise<void> => {
    t.ok(sw.running(), 'the daemon still runs');
    t.same(flowsOf(await ofctl(t, sw, ['dump-flows', good])), goodFlows, 'the good bridge keeps its flows');
    t.same(portsOf(await ofctl(t, sw, ['show', good])), goodPorts, 'and its ports');
    t.ok(await held.echo(), 'and the connection held open to it still answers');
    t.equal(await get(t, sw, 'Interface', gv, 'ofport'), '3', 'and its port keeps its number');
  };

  await t.test('a port naming an interface that does not exist', async (t) => {
    const name = uniqueName('nx');
    const mark = sw.mark();
    const r = await sw.tryVsctl(['add-port', bad, name]);
    t.equal(r.code, 0, 'ovs-vsctl add-port exits 0 (as with OVS)');
    t.match(r.stderr, `Error detected while setting up '${name}'`, 'and relays the error column, as with OVS');
    t.equal(await get(t, sw, 'Interface', name, 'ofport'), '-1', 'ofport -1');
    t.equal(await get(t, sw, 'Interface', name, 'error'), `"could not open network device ${name} (No such device)"`, 'the error in OVS\'s words');
    t.ok(logged(sw.logsSince(mark), 'warn', `could not open network device ${name} (No such device)`), 'and a log line');
    await undisturbed(t);
  });

  await t.test('an interface type ofswitch does not have (stt)', async (t) => {
    const name = uniqueName('st');
    const mark = sw.mark();
    const r = await sw.tryVsctl(['add-port', bad, name, '--', 'set', 'Interface', name, 'type=stt', 'options:remote_ip=192.0.2.1']);
    t.equal(r.code, 0, 'ovs-vsctl exits 0');
    t.match(r.stderr, `Error detected while setting up '${name}'`, 'and relays the error');
    t.equal(await get(t, sw, 'Interface', name, 'ofport'), '-1', 'ofport -1');
    t.match(await get(t, sw, 'Interface', name, 'error'), /stt/, 'the error names the type');
    t.ok(logged(sw.logsSince(mark), 'warn', `could not open network device ${name}`), 'and a log line');
    await undisturbed(t);
  });

  await t.test('a duplicate ofport_request', async (t) => {
    const a = await veth(t, 'da');
    const b = await veth(t, 'db');
    await vsctl(t, sw, ['add-port', bad, a, '--', 'set', 'Interface', a, 'ofport_request=7']);
    const mark = sw.mark();
    await vsctl(t, sw, ['add-port', bad, b, '--', 'set', 'Interface', b, 'ofport_request=7']);
    t.equal(await get(t, sw, 'Interface', a, 'ofport'), '7', 'the first keeps its request');
    const other = Number(await get(t, sw, 'Interface', b, 'ofport'));
    t.ok(other > 0 && other !== 7, `the second gets another number (${other})`);
    t.equal(await get(t, sw, 'Interface', b, 'error'), `"ofport_request 7 is already used by ${a}"`, 'and an error text saying why');
    t.ok(logged(sw.logsSince(mark), 'warn', 'ofport_request 7 is already used'), 'and a log line');
    await undisturbed(t);
  });

  await t.test('protocols=OpenFlow13 only: served as OpenFlow10, with an error log line', async (t) => {
    const mark = sw.mark();
    await vsctl(t, sw, ['set', 'Bridge', bad, 'protocols=OpenFlow13']);
    t.ok(logged(sw.logsSince(mark), 'error', 'OpenFlow10'), 'an error log line');
    t.match(await ofctl(t, sw, ['show', bad]), /^OFPT_FEATURES_REPLY/, 'ovs-ofctl (OpenFlow 1.0) still reaches it');
    await undisturbed(t);
  });

  await t.test('an invalid other_config:datapath-id is ignored and logged', async (t) => {
    const before = await get(t, sw, 'Bridge', bad, 'datapath_id');
    const mark = sw.mark();
    await vsctl(t, sw, ['set', 'Bridge', bad, 'other_config:datapath-id=nothex']);
    t.ok(logged(sw.logsSince(mark), 'warn', 'datapath-id'), 'a log line');
    t.equal(await get(t, sw, 'Bridge', bad, 'datapath_id'), before, 'datapath_id unchanged');
    t.match(await ofctl(t, sw, ['show', bad]), `dpid:${before.replace(/"/g, '')}`, 'and the switch keeps it');
    await undisturbed(t);
  });

  await t.test('one Interface row in two Ports', async (t) => {
    const shared = await veth(t, 'sh');
    const p1 = uniqueName('sp1');
    const p2 = uniqueName('sp2');
    const mark = sw.mark();
    const r = await sw.tryVsctl([
      '--', '--id=@i', 'create', 'Interface', `name=${shared}`,
      '--', '--id=@p1', 'create', 'Port', `name=${p1}`, 'interfaces=@i',
      '--', '--id=@p2', 'create', 'Port', `name=${p2}`, 'interfaces=@i',
      '--', 'add', 'Bridge', bad, 'ports', '@p1', '@p2',
    ]);
    t.equal(r.code, 0, `the raw transaction commits (${r.stderr.trim()})`);
    t.ok(logged(sw.logsSince(mark), 'warn', `interface ${shared} is already in port`), 'the daemon logs it');
    const ports = portsOf(await ofctl(t, sw, ['show', bad]));
    t.equal(ports.filter((p) => p.endsWith(`(${shared})`)).length, 1, 'the interface is served once');
    t.not(await get(t, sw, 'Interface', shared, 'ofport'), '-1', 'with a number');
    await undisturbed(t);
    // While the inconsistency lasts, ovs-vsctl's commands that read the whole database (del-br,
    // add-port, ...) warn about it on stderr: repair it (the warning is OVS's own, not the daemon's).
    const p2uuid = (await sw.vsctl(['get', 'Port', p2, '_uuid'])).trim();
    const repair = await sw.tryVsctl(['remove', 'Bridge', bad, 'ports', p2uuid]);
    t.equal(repair.code, 0, 'the second port removed');
    t.equal(portsOf(await ofctl(t, sw, ['show', bad])).filter((p) => p.endsWith(`(${shared})`)).length, 1, 'the interface is still served');
  });

  await t.test('the bad bridge goes, the good one stays', async (t) => {
    await vsctl(t, sw, ['del-br', bad]);
    t.equal(await appctl(t, sw, ['ofproto/list']), `${good}\n`, 'ofproto/list');
    await undisturbed(t);
  });
});
