/**
 * The switch command as the stock Open vSwitch tools meet a drop-in ovs-vswitchd: ofswitch started
 * with `--listen punix:DIR/br0.mgmt --unixctl DIR/ofswitch.ctl` (one veth port), then
 * `OVS_RUNDIR=DIR ovs-ofctl show|add-flow|dump-flows br0` by bridge name, compared with the same
 * commands over TCP; `ovs-appctl -t DIR/ofswitch.ctl` list-commands, version, vlog/set, an unknown
 * command and wrong argument counts (stderr, status 2), and exit, which stops the switch cleanly.
 */
import t, { type Test } from 'tap';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/free-port.js';
import { addHost } from '../helpers/netns.js';
import { normalize } from '../helpers/ofctl.js';
import { startOfswitch } from '../helpers/ofswitch-process.js';
import { appctl, runTool, type ToolResult } from './appctl.js';

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'byname-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function ofctl(command: string, target: string, args: readonly string[], rundir: string): Promise<ToolResult> {
  return runTool('ovs-ofctl', ['--timeout=10', command, target, ...args], { OVS_RUNDIR: rundir });
}

t.test('ovs-ofctl by bridge name, ovs-appctl by socket path, exit', async (t) => {
  const dir = tempDir(t);
  const h1 = await addHost(t, 'b1');
  const port = await freePort();
  const mgmt = join(dir, 'br0.mgmt');
  const ctl = join(dir, 'ofswitch.ctl');
  const sw = await startOfswitch(t, [
    '--port', h1.port, '--dpid', '00000000000000b0', '--fail-mode', 'secure',
    '--listen', `punix:${mgmt}`, '--listen', `ptcp:${port}`, '--unixctl', ctl,
  ]);
  t.match(sw.stderr(), `"listen":"punix:${mgmt}"`);
  const tcp = `tcp:127.0.0.1:${port}`;

  const show = await ofctl('show', 'br0', [], dir);
  t.equal(show.code, 0, show.stderr);
  t.match(show.stdout, /dpid:00000000000000b0/);
  t.match(show.stdout, new RegExp(` 1\\(${h1.port}\\): addr:`));
  const showTcp = await ofctl('show', tcp, [], dir);
  t.equal(showTcp.code, 0, showTcp.stderr);
  t.equal(normalize(show.stdout), normalize(showTcp.stdout), 'show br0 says what show over TCP says');
  t.match(sw.stderr(), `"peer":"unix:${mgmt}"`, 'the connection is named after the socket path');

  const add = await ofctl('add-flow', 'br0', ['priority=7,ip,nw_dst=10.9.9.9,actions=output:1'], dir);
  t.equal(add.code, 0, add.stderr);
  const dump = await ofctl('dump-flows', 'br0', [], dir);
  t.equal(dump.code, 0, dump.stderr);
  t.match(dump.stdout, /priority=7,ip,nw_dst=10\.9\.9\.9 actions=output:1/);
  const dumpTcp = await ofctl('dump-flows', tcp, [], dir);
  t.equal(dumpTcp.code, 0, dumpTcp.stderr);
  t.equal(normalize(dump.stdout), normalize(dumpTcp.stdout), 'dump-flows br0 says what dump-flows over TCP says');

  const list = await appctl(ctl, ['list-commands']);
  t.equal(list.code, 0, list.stderr);
  t.equal(
    list.stdout,
    'The available commands are:\n' +
      '  bfd/set-forwarding      [interface] normal|false|true\n' +
      '  bfd/show                [interface]\n' +
      '  bond/disable-member     port member\n' +
      '  bond/enable-member      port member\n' +
      '  bond/hash               mac [vlan] [basis]\n' +
      '  bond/list               \n' +
      '  bond/migrate            port hash member\n' +
      '  bond/set-active-member  port member\n' +
      '  bond/show               [port]\n' +
      '  cfm/set-fault           [interface] normal|false|true\n' +
      '  cfm/show                [interface]\n' +
      '  exit                    [--cleanup]\n' +
      '  lacp/show               [port]\n' +
      '  lacp/show-stats         [port]\n' +
      '  list-commands           \n' +
      '  memory/show             \n' +
      '  ofproto/trace           {[dp_name]|bridge} odp_flow|br_flow [OPTIONS] [-generate|packet]\n' +
      '  ofswitch/drops          [bridge]\n' +
      '  ofswitch/drops-clear    [bridge]\n' +
      '  qos/show                interface\n' +
      '  qos/show-types          interface\n' +
      '  rstp/show               [bridge]\n' +
      '  rstp/tcn                [bridge]\n' +
      '  stp/show                [bridge]\n' +
      '  stp/tcn                 [bridge]\n' +
      '  tnl/ports/show          -v\n' +
      '  version                 \n' +
      '  vlog/list               \n' +
      '  vlog/reopen             \n' +
      '  vlog/set                {spec | PATTERN:destination:pattern}\n',
  );
  const version = await appctl(ctl, ['version']);
  t.equal(version.code, 0, version.stderr);
  t.match(version.stdout, /^ofswitch \(ofswitch\) \d+\.\d+\.\d+\n$/);

  t.notMatch(sw.stderr(), '"level":"debug"');
  const set = await appctl(ctl, ['vlog/set', 'ANY:console:dbg']);
  t.equal(set.code, 0, set.stderr);
  t.equal(set.stdout, '');
  const probe = await ofctl('dump-flows', 'br0', [], dir);
  t.equal(probe.code, 0, probe.stderr);
  await sw.waitForLog('"level":"debug"');
  t.pass('the running switch writes debug lines after vlog/set');

  const errors: [string[], string][] = [
    [['fdb/show', 'br0'], '"fdb/show" is not a valid command (use "list-commands" to see a list of valid commands)'],
    [['vlog/list', 'x'], '"vlog/list" command takes at most 0 arguments'],
    [['exit', '--cleanup', 'x'], '"exit" command takes at most 1 arguments'],
    [['vlog/set', 'nonsense'], 'no destination, level, or module "nonsense"'],
  ];
  for (const [args, text] of errors) {
    const r = await appctl(ctl, args);
    t.equal(r.code, 2, args.join(' '));
    t.equal(r.stdout, '');
    t.equal(r.stderr, `${text}\novs-appctl: ${ctl}: server returned an error\n`);
  }

  const exit = await appctl(ctl, ['exit']);
  t.equal(exit.code, 0, exit.stderr);
  t.equal(exit.stdout, '');
  t.equal(await sw.exited, 0, 'the switch process stops with status 0');
  t.match(sw.stderr(), '"msg":"exit requested over the control socket"');
  t.match(sw.stderr(), '"msg":"switch stopped"');
  t.notOk(existsSync(ctl), 'control socket removed');
  t.notOk(existsSync(mgmt), 'management socket removed');
});

t.test('sockets another switch is serving: one message, exit status 2', async (t) => {
  const dir = tempDir(t);
  const mgmt = join(dir, 'br0.mgmt');
  const ctl = join(dir, 'ofswitch.ctl');
  const first = await startOfswitch(t, ['--listen', `punix:${mgmt}`, '--unixctl', ctl]);

  const sameMgmt = await startOfswitch(t, ['--listen', `punix:${mgmt}`], { ready: false });
  t.equal(await sameMgmt.exited, 2);
  t.equal(sameMgmt.stderr().trim(), `ofswitch: punix:${mgmt}: another process is listening on this socket`);

  const sameCtl = await startOfswitch(t, ['--listen', `punix:${join(dir, 'br1.mgmt')}`, '--unixctl', ctl], { ready: false });
  t.equal(await sameCtl.exited, 2);
  t.equal(sameCtl.stderr(), `ofswitch: --unixctl ${ctl}: another process is listening on this socket\n`);
  t.notOk(existsSync(join(dir, 'br1.mgmt')), 'the refused switch never made its management socket');

  const ctl2 = join(dir, 'second.ctl');
  const busyAfterCtl = await startOfswitch(t, ['--listen', `punix:${mgmt}`, '--unixctl', ctl2], { ready: false });
  t.equal(await busyAfterCtl.exited, 2);
  t.match(busyAfterCtl.stderr(), `ofswitch: punix:${mgmt}: another process is listening on this socket\n`);
  t.notOk(existsSync(ctl2), 'a switch that cannot start removes its control socket');

  const show = await ofctl('show', 'br0', [], dir);
  t.equal(show.code, 0, show.stderr);
  t.match(show.stdout, /OFPT_FEATURES_REPLY/, 'the first switch is untouched');
  const version = await appctl(ctl, ['version']);
  t.equal(version.code, 0, version.stderr);
  t.equal(await first.stop(), 0);
});
