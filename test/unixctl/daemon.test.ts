/**
 * Open vSwitch's run-directory conventions against the real ovs-appctl: `ovs-appctl -t ofswitch`
 * with OVS_RUNDIR finds RUNDIR/ofswitch.pid (which must be fcntl-locked by the pid it names) and
 * connects to RUNDIR/ofswitch.PID.ctl. A stale pid file is replaced, a running daemon's refused,
 * and both files disappear on close, or at exit when a process never closes.
 *
 * The pid file is never opened in this process while held (closing any descriptor of it would
 * drop this process's lock): other processes (ovs-appctl, a node child) read it.
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, ROOT } from '../helpers/ofswitch-process.js';
import {
  controlSocketPath,
  OVS_DEFAULT_RUNDIR,
  ovsRundir,
  PidFile,
  PidFileError,
  pidFilePath,
  serveInRundir,
  UnixctlServer,
  UnixSocketError,
} from '../../unixctl/index.js';
import { appctl, runTool } from './appctl.js';

const quiet = { debug: () => {}, warn: () => {}, error: () => {} };

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'rundir-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Another process serving as `program` in `dir`; `exit()` makes it exit without closing anything. */
async function otherDaemon(t: Test, dir: string, program: string): Promise<{ pid: number; exit: () => Promise<void> }> {
  ensureBuilt();
  const script = `
    const { UnixctlServer, serveInRundir } = await import(${JSON.stringify(join(ROOT, 'dist', 'unixctl', 'index.js'))});
    const server = new UnixctlServer({ version: 'other', log: { debug() {}, warn() {}, error() {} } });
    await serveInRundir(server, ${JSON.stringify(dir)}, ${JSON.stringify(program)});
    process.stdout.write('ready\\n');
    process.stdin.on('data', () => process.exit(0));
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.teardown(() => {
    child.kill('SIGKILL');
    return exited;
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the other daemon exited with ${code}`)));
  });
  return {
    pid: child.pid as number,
    exit: async () => {
      child.stdin?.write('exit\n');
      await exited;
    },
  };
}

t.test('ovs-appctl -t ofswitch finds the daemon through OVS_RUNDIR; close removes both files', async (t) => {
  const dir = tempDir(t);
  const server = new UnixctlServer({ version: 'ofswitch (ofswitch) 1.2.3', log: quiet });
  const control = await serveInRundir(server, dir, 'ofswitch');
  t.equal(control.pidFile, join(dir, 'ofswitch.pid'));
  t.equal(control.socket, join(dir, `ofswitch.${process.pid}.ctl`));
  t.equal(server.path, control.socket);

  const byName = await appctl('ofswitch', ['version'], dir);
  t.equal(byName.code, 0, byName.stderr);
  t.equal(byName.stdout, 'ofswitch (ofswitch) 1.2.3\n');
  const byPath = await appctl(control.socket, ['version']);
  t.equal(byPath.code, 0, byPath.stderr);
  t.equal(byPath.stdout, byName.stdout);
  const pidText = await runTool('cat', [control.pidFile]);
  t.equal(pidText.stdout, `${process.pid}\n`, 'the pid file holds our pid, newline-terminated');

  await control.close();
  t.notOk(existsSync(control.pidFile), 'pid file removed');
  t.notOk(existsSync(control.socket), 'socket removed');
  const gone = await appctl('ofswitch', ['version'], dir);
  t.not(gone.code, 0);
  t.match(gone.stderr, /cannot read pidfile/);
});

t.test('a stale pid file (its process gone, nothing locks it) is replaced', async (t) => {
  const dir = tempDir(t);
  writeFileSync(pidFilePath(dir, 'ofswitch'), '999999\n');
  const before = await appctl('ofswitch', ['version'], dir);
  t.match(before.stderr, /No such process/, 'ovs-appctl itself calls an unlocked pid file dead');
  const control = await serveInRundir(new UnixctlServer({ version: 'v', log: quiet }), dir, 'ofswitch');
  t.teardown(() => control.close());
  const after = await appctl('ofswitch', ['version'], dir);
  t.equal(after.code, 0, after.stderr);
  t.equal(after.stdout, 'v\n');
});

t.test('a running daemon\'s pid file is refused, naming its pid; its files are left alone', async (t) => {
  const dir = tempDir(t);
  const other = await otherDaemon(t, dir, 'ofswitch');
  const error = await serveInRundir(new UnixctlServer({ version: 'v', log: quiet }), dir, 'ofswitch').catch((e: unknown) => e);
  t.type(error, PidFileError);
  t.equal((error as Error).message, `${pidFilePath(dir, 'ofswitch')}: already running as pid ${other.pid}`);
  const still = await appctl('ofswitch', ['version'], dir);
  t.equal(still.code, 0, still.stderr);
  t.equal(still.stdout, 'other\n', 'the running daemon still answers');

  await other.exit();
  t.notOk(existsSync(pidFilePath(dir, 'ofswitch')), 'a process that exits without closing leaves no pid file');
  t.notOk(existsSync(controlSocketPath(dir, 'ofswitch', other.pid)), '...and no socket');
});

t.test('failures name the path and leave nothing behind', async (t) => {
  const dir = tempDir(t);
  await t.rejects(PidFile.create(join(dir, 'missing', 'x.pid')), PidFileError);
  await t.rejects(PidFile.create(join(dir, 'missing', 'x.pid')), /missing\/x\.pid\.tmp\d+: ENOENT/);
  writeFileSync(join(dir, 'dir-pid'), '');
  await t.rejects(PidFile.create(join(dir, 'dir-pid', 'x.pid')), PidFileError, 'a pid file under a file');

  writeFileSync(controlSocketPath(dir, 'ofswitch', process.pid), 'not a socket');
  await t.rejects(serveInRundir(new UnixctlServer({ version: 'v', log: quiet }), dir, 'ofswitch'), UnixSocketError);
  t.notOk(existsSync(pidFilePath(dir, 'ofswitch')), 'the pid file is removed when the socket cannot be made');

  const pidFile = await PidFile.create(join(dir, 'twice.pid'));
  pidFile.remove();
  pidFile.remove();
  t.notOk(existsSync(join(dir, 'twice.pid')));
  const removedUnderneath = await PidFile.create(join(dir, 'gone.pid'));
  unlinkSync(join(dir, 'gone.pid'));
  removedUnderneath.remove();
  t.notOk(existsSync(join(dir, 'gone.pid')), 'a pid file someone else removed is no error');
});

t.test('RUNDIR: $OVS_RUNDIR, else Open vSwitch\'s default', async (t) => {
  t.equal(ovsRundir({ OVS_RUNDIR: '/tmp/x' }), '/tmp/x');
  t.equal(ovsRundir({}), OVS_DEFAULT_RUNDIR);
  t.equal(ovsRundir({ OVS_RUNDIR: '' }), OVS_DEFAULT_RUNDIR);
  t.equal(controlSocketPath('/r', 'ovs-vswitchd', 42), '/r/ovs-vswitchd.42.ctl');
});
