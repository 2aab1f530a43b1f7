/**
 * The flow journal in database mode, in-process against the real ovsdb-server and ovs-vsctl (with
 * --enable-dummy=override, so no kernel device is made): RUNDIR/BRIDGE.flows by default, restored
 * by the next daemon; a file there that is not a journal is moved aside and the bridge starts
 * empty; journals of bridges the database no longer has are removed after the first round;
 * `flowJournal: false` keeps none. And the command line's journal options.
 */
import t, { type Test } from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../lib/log.js';
import { parseCommandLine } from '../../lib/options.js';
import { Daemon } from '../../vswitchd/daemon.js';
import { waitUntil } from '../helpers/daemon-rig.js';
import { uniqueName } from '../helpers/netns.js';
import { startOvsdbServer, type OvsdbServer } from '../helpers/ovsdb-server.js';

function rundirOf(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'ofsw-jrun-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function startDaemon(t: Test, db: OvsdbServer, rundir: string, options: { flowJournal?: boolean } = {}): Promise<{ daemon: Daemon; lines: string[] }> {
  const lines: string[] = [];
  const daemon = new Daemon({ remote: db.remote, rundir, dummy: 'override', log: createLogger({ level: 'info', write: (l) => lines.push(l) }), ...options });
  daemon.start();
  t.teardown(() => daemon.stop());
  await waitUntil(() => daemon.config !== null, 'the daemon applied the database');
  return { daemon, lines };
}

t.test('database mode: journals by default, restored by the next daemon, bad ones moved aside, stale ones removed', async (t) => {
  const db = await startOvsdbServer(t);
  const rundir = rundirOf(t);
  const br = uniqueName('jd');
  const gone = uniqueName('jg');
  writeFileSync(join(rundir, `${gone}.flows`), 'a journal of a bridge deleted while no daemon ran');
  writeFileSync(join(rundir, `${br}.flows`), 'damaged beyond its records');
  await db.vsctl(['add-br', br, '--', 'set', 'Bridge', br, 'fail_mode=secure']); // before any daemon runs
  const first = await startDaemon(t, db, rundir);
  await waitUntil(() => first.daemon.reconciler.bridges.has(br), `${br} runs`);
  t.notOk(existsSync(join(rundir, `${gone}.flows`)), 'the journal of a bridge the database lacks is removed');
  t.equal(readFileSync(join(rundir, `${br}.flows.bad`), 'utf8'), 'damaged beyond its records', 'the unusable journal is moved aside');
  t.match(first.lines.join('\n'), /"reason":"not an ofswitch flow journal","msg":"flow journal unusable: moved aside, the bridge starts with an empty table"/);
  const sw = first.daemon.reconciler.bridges.get(br)?.sw;
  t.ok(sw, 'the bridge runs');
  t.same(sw?.dumpFlows(), [], 'with an empty table');
  sw?.addFlow({ match: { inPort: 1 }, priority: 42, cookie: 0x77n, actions: [{ output: 2 }] });
  await first.daemon.stop();

  const second = await startDaemon(t, db, rundir);
  await waitUntil(() => second.daemon.reconciler.bridges.has(br), `${br} is back`);
  t.match(second.daemon.reconciler.bridges.get(br)?.sw.dumpFlows(), [{ priority: 42, cookie: 0x77n }], 'the next daemon has the flow back');
  await db.vsctl(['del-br', br], { wait: true });
  t.notOk(existsSync(join(rundir, `${br}.flows`)), 'del-br removes the journal');
});

t.test('database mode with flowJournal false keeps no journal', async (t) => {
  const db = await startOvsdbServer(t);
  const rundir = rundirOf(t);
  await startDaemon(t, db, rundir, { flowJournal: false });
  const br = uniqueName('jn');
  await db.vsctl(['add-br', br], { wait: true });
  t.notOk(existsSync(join(rundir, `${br}.flows`)), 'no journal file');
});

t.test('the command line: --flow-journal FILE in flag mode and --config, --no-flow-journal in both modes', async (t) => {
  const run = (argv: string[], config?: string) => parseCommandLine(argv, config === undefined ? undefined : () => config);
  t.match(run(['--flow-journal', '/var/lib/ofswitch/br0']), { kind: 'run', options: { flowJournal: '/var/lib/ofswitch/br0' } });
  t.match(run(['--config', 'c.json'], '{"flowJournal":"/tmp/j"}'), { kind: 'run', options: { flowJournal: '/tmp/j' } }, 'from the config file');
  t.match(run(['--config', 'c.json', '--no-flow-journal'], '{"flowJournal":"/tmp/j"}'), { kind: 'run', options: { flowJournal: undefined } }, 'the command line turns it off');
  t.match(run([]), { kind: 'run', options: { flowJournal: undefined } }, 'none by default in flag mode');
  t.throws(() => run(['--flow-journal', '']), /--flow-journal: the file name is empty/);
  t.throws(() => run(['--config', 'c.json'], '{"flowJournal":5}'), /"flowJournal" must be a string/);
  t.match(run(['--ovsdb', 'unix:/tmp/db.sock']), { kind: 'daemon', options: { flowJournal: undefined } }, 'on by default in database mode');
  t.match(run(['--ovsdb', 'unix:/tmp/db.sock', '--no-flow-journal']), { kind: 'daemon', options: { flowJournal: false } });
  t.throws(() => run(['--ovsdb', 'unix:/tmp/db.sock', '--flow-journal', 'x']), /--flow-journal FILE is for flag mode/);
});
