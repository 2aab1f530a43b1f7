/**
 * Flows that survive `kill -9`, against the real ovs-ofctl (and, in database mode, the real
 * ovsdb-server and ovs-vsctl): flows added with `ovs-ofctl add-flows` (which ends with a barrier)
 * are shown again by `ovs-ofctl dump-flows` after the switch was killed and started again --
 * cookies, priorities, matches, timeouts and actions; counters from zero. Deleted flows stay
 * deleted. A torn last record (a write cut short) costs that record only, with one log line.
 * In database mode the journal is RUNDIR/BRIDGE.flows, on by default, and goes with its bridge.
 */
import t, { type Test } from 'tap';
import { appendFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemonRig, waitUntil } from '../helpers/daemon-rig.js';
import { freePort } from '../helpers/free-port.js';
import { assertRan, uniqueName } from '../helpers/netns.js';
import { ofctl } from '../helpers/ofctl.js';
import { startOfswitch, type OfswitchProcess } from '../helpers/ofswitch-process.js';

const FLOWS = [
  'cookie=0x1234,priority=300,ip,nw_dst=10.20.0.0/16,actions=mod_nw_tos:32,output:2',
  'cookie=0x5,priority=200,tcp,nw_src=10.1.2.3,tp_dst=443,idle_timeout=600,hard_timeout=3600,actions=drop',
  'priority=100,in_port=3,dl_vlan=7,actions=strip_vlan,output:1',
  'cookie=0xffff0000,priority=50,arp,actions=NORMAL',
  'send_flow_rem,priority=10,dl_dst=01:80:c2:00:00:00/ff:ff:ff:ff:ff:ff,actions=CONTROLLER:128',
  'in_port=1,dl_src=00:00:00:00:00:01,dl_dst=00:00:00:00:00:02,dl_vlan=0xffff,dl_type=0x0800,nw_src=1.1.1.1,nw_dst=2.2.2.2,nw_proto=17,nw_tos=0,tp_src=53,tp_dst=53,actions=output:4',
];

/** dump-flows lines without what a restart legitimately changes (durations, ages), sorted. */
function flowLines(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => l.includes('actions='))
    .map((l) => l.replace(/ duration=[0-9.]+s,/, '').replace(/ (idle|hard)_age=\d+,/g, '').trim())
    .sort();
}

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'ofswitch-e2e-journal-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function kill9(t: Test, proc: OfswitchProcess): Promise<void> {
  proc.child.kill('SIGKILL');
  t.equal(await proc.exited, 'SIGKILL', 'killed with SIGKILL');
}

t.test('flag mode: --flow-journal FILE, kill -9, the same command: dump-flows shows the same flows', async (t) => {
  const dir = tempDir(t);
  const journal = join(dir, 'flows.journal');
  const flowsFile = join(dir, 'flows.txt');
  writeFileSync(flowsFile, FLOWS.join('\n') + '\n');
  const port = await freePort();
  const target = `tcp:127.0.0.1:${port}`;
  const args = ['--listen', `ptcp:${port}:127.0.0.1`, '--fail-mode', 'secure', '--flow-journal', journal];
  const first = await startOfswitch(t, args);
  assertRan(t, await ofctl(undefined, target, 'add-flows', flowsFile), 'ovs-ofctl add-flows', { output: false });
  const before = await ofctl(undefined, target, 'dump-flows');
  assertRan(t, before, 'ovs-ofctl dump-flows before');
  t.equal(flowLines(before.stdout).length, FLOWS.length, 'every flow was added');
  await kill9(t, first);

  const second = await startOfswitch(t, args);
  t.match(second.stderr(), /"entries":6,"records":6,"msg":"flow journal restored"/, 'the restart says what it restored');
  const after = await ofctl(undefined, target, 'dump-flows');
  assertRan(t, after, 'ovs-ofctl dump-flows after the restart');
  t.same(flowLines(after.stdout), flowLines(before.stdout), 'the same cookies, priorities, matches, timeouts and actions');
  t.ok(flowLines(after.stdout).every((l) => l.includes('n_packets=0, n_bytes=0')), 'counters start from zero');

  // more changes, then kill -9 again: deletes and modifies are kept too
  assertRan(t, await ofctl(undefined, target, 'del-flows', 'arp'), 'ovs-ofctl del-flows arp', { output: false });
  assertRan(t, await ofctl(undefined, target, 'mod-flows', 'ip,nw_dst=10.20.0.0/16,actions=output:9'), 'ovs-ofctl mod-flows', { output: false });
  assertRan(t, await ofctl(undefined, target, 'add-flow', 'priority=5,udp,actions=output:3'), 'ovs-ofctl add-flow', { output: false });
  const changed = await ofctl(undefined, target, 'dump-flows');
  assertRan(t, changed, 'ovs-ofctl dump-flows after the changes');
  await kill9(t, second);
  // a write cut short by the crash: garbage after the last whole record
  appendFileSync(journal, Buffer.from([0, 0, 0, 90, 1, 2, 3, 4, 5]));

  const third = await startOfswitch(t, args);
  const again = await ofctl(undefined, target, 'dump-flows');
  assertRan(t, again, 'ovs-ofctl dump-flows after the second restart');
  t.same(flowLines(again.stdout), flowLines(changed.stdout), 'the changed table came back');
  t.notMatch(again.stdout, /arp/, 'the deleted flow stayed deleted');
  t.match(again.stdout, /nw_dst=10\.20\.0\.0\/16 actions=output:9/, 'the modified flow kept its new actions');
  t.equal(third.stderr().split('skipped a torn or damaged end').length - 1, 1, 'the torn end is one log line');
  t.equal(await third.stop(), 0, 'a clean stop');
  const fourth = await startOfswitch(t, args);
  const clean = await ofctl(undefined, target, 'dump-flows');
  t.same(flowLines(clean.stdout), flowLines(changed.stdout), 'a clean stop keeps the table as well');
  t.notMatch(fourth.stderr(), /torn/, 'and the torn end is gone from the file');
});

t.test('database mode: RUNDIR/BRIDGE.flows by default; kill -9 of the daemon keeps the flows; del-br removes it', async (t) => {
  const rig = await startDaemonRig(t);
  const br = uniqueName('jb');
  rig.owns(br);
  await rig.vsctl(['add-br', br, '--', 'set', 'Bridge', br, 'fail_mode=secure'], { wait: true });
  const dir = tempDir(t);
  const flowsFile = join(dir, 'flows.txt');
  writeFileSync(flowsFile, FLOWS.join('\n') + '\n');
  assertRan(t, await rig.ofctl(['add-flows', br, flowsFile]), 'ovs-ofctl add-flows BRIDGE', { output: false });
  const before = await rig.ofctl(['dump-flows', br]);
  assertRan(t, before, 'ovs-ofctl dump-flows before');
  t.equal(flowLines(before.stdout).length, FLOWS.length);
  const journal = join(rig.dir, `${br}.flows`);
  t.ok(existsSync(journal), 'the bridge has its journal in the run directory');

  await rig.kill();
  await rig.start();
  await waitUntil(async () => (await rig.ofctl(['dump-flows', br])).code === 0, `${br} answers again`);
  const after = await rig.ofctl(['dump-flows', br]);
  assertRan(t, after, 'ovs-ofctl dump-flows after the restart');
  t.same(flowLines(after.stdout), flowLines(before.stdout), 'the same flows after kill -9 and restart');
  t.notMatch(rig.proc.stderr(), /"level":"(error|warn)"/, 'the restart logs no error or warning');

  await rig.vsctl(['del-br', br], { wait: true });
  t.notOk(existsSync(journal), 'deleting the bridge deletes its journal');
  await rig.vsctl(['add-br', br, '--', 'set', 'Bridge', br, 'fail_mode=secure'], { wait: true });
  const fresh = await rig.ofctl(['dump-flows', br]);
  assertRan(t, fresh, 'ovs-ofctl dump-flows of the new bridge', { output: false });
  t.same(flowLines(fresh.stdout), [], 'a bridge made again under the same name starts empty');
});
