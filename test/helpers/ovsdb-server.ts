/**
 * A real ovsdb-server holding a fresh Open_vSwitch database (Debian's vswitch.ovsschema) in a
 * directory of its own, for tests of the database client and of the daemon that uses it.
 *
 *   const db = await startOvsdbServer(t);      // db.remote is unix:DIR/db.sock
 *   await db.vsctl(['add-br', 'br0']);         // ovs-vsctl --db=... --no-wait add-br br0
 *   await db.vsctl(['add-br', 'br1'], { wait: true, timeoutSec: 5 });  // without --no-wait
 *   await db.restart({ kill: true });          // SIGKILL, then start again on the same file and socket
 *
 * Like Debian's ovs-ctl it also serves the remotes named by Manager rows
 * (`db:Open_vSwitch,Open_vSwitch,manager_options`). OVS_RUNDIR, OVS_DBDIR and OVS_LOGDIR point at
 * the directory, with --unixctl and --pidfile inside it: nothing needs /run/openvswitch. The server
 * is stopped and the directory removed by t.teardown, and the server is also killed if the test
 * process exits without it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { withoutLoadWarnings, type Teardownable } from './netns.js';

const execFileAsync = promisify(execFile);

export const VSWITCH_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface VsctlOptions {
  /** Leave out --no-wait: ovs-vsctl then waits for cur_cfg to reach next_cfg. */
  readonly wait?: boolean;
  /** --timeout in seconds (default 10). */
  readonly timeoutSec?: number;
}

export interface OvsdbServer {
  readonly dir: string;
  /** `unix:DIR/db.sock`, for ovs-vsctl --db and the client under test. */
  readonly remote: string;
  /** The server's control socket, for `ovs-appctl -t`. */
  readonly ctl: string;
  readonly dbFile: string;
  /** ovs-vsctl against this server; resolves with stdout, rejects (with stderr) on a non-zero exit. */
  vsctl(args: readonly string[], options?: VsctlOptions): Promise<string>;
  /** The same, resolving with exit code and both outputs whatever the exit code. */
  tryVsctl(args: readonly string[], options?: VsctlOptions): Promise<CommandResult>;
  /** ovs-appctl -t CTL args. */
  appctl(args: readonly string[]): Promise<string>;
  /** The server's process id (from its pid file). */
  pid(): number;
  /** Stops the server (SIGTERM, or SIGKILL with kill: true) and waits for it to be gone. */
  stop(options?: { kill?: boolean }): Promise<void>;
  /** Stops the server and starts it again on the same database file and socket. */
  restart(options?: { kill?: boolean }): Promise<void>;
}

export interface OvsdbServerOptions {
  /** Directory to use (default: a new temporary one, removed at teardown). */
  readonly dir?: string;
  /** Run `ovs-vsctl init` so the Open_vSwitch row exists (default true). */
  readonly init?: boolean;
}

const running = new Set<string>(); // pid files of servers not yet stopped
let exitHooked = false;

function readPid(pidFile: string): number | null {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    return pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** Whether the process runs; a zombie (exited, not yet reaped by init, which can take a second here) does not. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false; // gone between the two checks
  }
}

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.once('exit', () => {
    for (const pidFile of running) {
      const pid = readPid(pidFile);
      if (pid !== null && alive(pid)) process.kill(pid, 'SIGKILL');
    }
  });
}

async function runCommand(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<CommandResult> {
  try {
    const { stdout, stderr } = await execFileAsync(file, args, { env, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr: withoutLoadWarnings(stderr) };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr !== undefined ? withoutLoadWarnings(e.stderr) : e.message };
  }
}

async function mustRun(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<string> {
  const result = await runCommand(file, args, env);
  if (result.code !== 0) throw new Error(`${file} ${args.join(' ')} exited ${result.code}: ${result.stderr.trim()}`);
  return result.stdout;
}

export async function startOvsdbServer(t: Teardownable, options: OvsdbServerOptions = {}): Promise<OvsdbServer> {
  hookExit();
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'ofswitch-ovsdb-'));
  const env = { ...process.env, OVS_RUNDIR: dir, OVS_DBDIR: dir, OVS_LOGDIR: dir };
  const dbFile = join(dir, 'conf.db');
  const socket = join(dir, 'db.sock');
  const ctl = join(dir, 'ovsdb-server.ctl');
  const pidFile = join(dir, 'ovsdb-server.pid');
  const remote = `unix:${socket}`;

  const launch = async (): Promise<void> => {
    running.add(pidFile);
    await mustRun(
      'ovsdb-server',
      [
        dbFile,
        `--remote=punix:${socket}`,
        '--remote=db:Open_vSwitch,Open_vSwitch,manager_options',
        `--unixctl=${ctl}`,
        `--pidfile=${pidFile}`,
        `--log-file=${join(dir, 'ovsdb-server.log')}`,
        '-vconsole:off',
        '--detach', // returns once the server listens
        '--no-chdir',
      ],
      env,
    );
  };

  const stop = async (stopOptions: { kill?: boolean } = {}): Promise<void> => {
    const pid = readPid(pidFile);
    running.delete(pidFile);
    if (pid === null || !alive(pid)) return;
    process.kill(pid, stopOptions.kill ? 'SIGKILL' : 'SIGTERM');
    for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20));
    if (alive(pid)) {
      process.kill(pid, 'SIGKILL');
      while (alive(pid)) await new Promise((r) => setTimeout(r, 20));
    }
  };

  const vsctlArgs = (args: readonly string[], o: VsctlOptions = {}): string[] => [
    `--db=${remote}`,
    `--timeout=${o.timeoutSec ?? 30}`, // for a loaded machine: ovs-vsctl returns as soon as it is done
    ...(o.wait ? [] : ['--no-wait']),
    ...args,
  ];

  t.teardown(async () => {
    await stop();
    if (!options.dir) rmSync(dir, { recursive: true, force: true });
  });
  await mustRun('ovsdb-tool', ['create', dbFile, VSWITCH_SCHEMA], env);
  await launch();

  const server: OvsdbServer = {
    dir,
    remote,
    ctl,
    dbFile,
    vsctl: (args, o) => mustRun('ovs-vsctl', vsctlArgs(args, o), env),
    tryVsctl: (args, o) => runCommand('ovs-vsctl', vsctlArgs(args, o), env),
    appctl: (args) => mustRun('ovs-appctl', ['-t', ctl, ...args], env),
    pid: () => {
      const pid = readPid(pidFile);
      if (pid === null) throw new Error(`no pid in ${pidFile}`);
      return pid;
    },
    stop,
    restart: async (o) => {
      await stop(o);
      await launch();
    },
  };
  if (options.init ?? true) await server.vsctl(['init']);
  return server;
}

