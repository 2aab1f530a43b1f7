/**
 * The soak's surroundings: test hosts (network namespaces with a veth pair whose other end is a
 * switch port in the root namespace), an ovsdb-server of its own, and ofswitch started as an
 * operator starts it in database mode (`ofswitch --ovsdb unix:DIR/db.sock --rundir DIR`), with
 * `ovs-vsctl` (OVS_RUNDIR=DIR) to configure it.
 *
 * Every name is `sk<pid><tag>` (at most 15 characters), so the soak never meets the tests'
 * (`of<pid>...`) or the benchmarks' (`bn...`) names. Everything made is recorded and removed by
 * cleanup() (the switch and its daemon stopped first, then the hosts, the bridge's internal
 * interface and the directory), and again synchronously when the process exits however it exits,
 * so a failed or interrupted soak leaves nothing behind.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const CLI = join(ROOT, 'dist', 'cli', 'ofswitch.js');
const SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';
const IFNAMSIZ = 15;
const OFFLOADS = ['rx', 'off', 'tx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off'];

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Host {
  /** The namespace. */
  readonly ns: string;
  /** The veth end in the root namespace: the switch's port. */
  readonly port: string;
}

/** The switch process: its pid, its last log lines, counts of its log lines by level. */
export interface SwitchProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves with the exit code or signal when the process ends. */
  readonly exited: Promise<string>;
  readonly running: () => boolean;
  /** The last log lines (at most 200). */
  readonly lastLines: () => string[];
  /** Log lines by level ("info", "warn", "error", ...) and, for warn and above, by message. */
  readonly counts: Map<string, number>;
  /** Resolves when a log line satisfies `match` (lines written from now on). */
  waitForLine(match: (line: string) => boolean, timeoutMs: number): Promise<void>;
}

export class SoakRig {
  readonly prefix = `sk${process.pid}`;
  readonly dir = mkdtempSync(join(tmpdir(), 'ofswitch-soak-'));
  readonly env: NodeJS.ProcessEnv = { ...process.env, OVS_RUNDIR: this.dir, OVS_DBDIR: this.dir, OVS_LOGDIR: this.dir };
  readonly bridge = this.name('br');
  private readonly namespaces = new Set<string>();
  private readonly links = new Set<string>();
  private readonly children = new Set<ChildProcess>();
  private ovsdbPid: number | null = null;
  private sw: SwitchProcess | null = null;
  private cleaned = false;
  private readonly onExit = (): void => this.cleanupSync();

  constructor() {
    process.once('exit', this.onExit);
    // Links the switch makes for the bridge's internal interface (its LOCAL port).
    this.links.add(this.bridge);
    this.links.add(`ofl-${this.bridge}`.slice(0, IFNAMSIZ));
  }

  /** `sk<pid><tag>`; throws past 15 characters. */
  name(tag: string): string {
    const n = `${this.prefix}${tag}`;
    if (n.length > IFNAMSIZ) throw new Error(`name ${n} is longer than ${IFNAMSIZ} characters`);
    return n;
  }

  /** Runs a command, resolving with stdout; rejects with the command and its stderr. */
  async run(cmd: string, args: readonly string[], options: { ns?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<string> {
    const [file, argv] = options.ns ? ['ip', ['netns', 'exec', options.ns, cmd, ...args]] : [cmd, [...args]];
    try {
      const { stdout } = await execFileAsync(file, argv, { env: options.env ?? process.env, maxBuffer: 64 * 1024 * 1024, timeout: options.timeoutMs ?? 60_000 });
      return stdout;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`${file} ${argv.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
    }
  }

  /** `ovs-vsctl --timeout=SECS ARGS` against the soak's database, waiting for the switch (cur_cfg). */
  vsctl(args: readonly string[], timeoutSec = 30): Promise<string> {
    return this.run('ovs-vsctl', [`--db=unix:${join(this.dir, 'db.sock')}`, `--timeout=${timeoutSec}`, ...args], { env: this.env, timeoutMs: (timeoutSec + 5) * 1000 });
  }

  /** A child process killed at cleanup. */
  track(child: ChildProcess): ChildProcess {
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Namespace sk<pid><tag> holding eth0 (up, offloads off, no IPv6), its veth peer sk<pid><tag> up in the root namespace. */
  async addHost(tag: string): Promise<Host> {
    const ns = this.name(tag);
    const port = this.name(tag);
    await this.run('ip', ['netns', 'add', ns]);
    this.namespaces.add(ns);
    await this.run('ip', ['link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    this.links.add(port);
    await this.run('sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1'], { ns });
    await this.run('sysctl', ['-qw', `net.ipv6.conf.${port}.disable_ipv6=1`]).catch(() => undefined);
    await this.run('ethtool', ['-K', port, ...OFFLOADS]).catch(() => undefined);
    await this.run('ethtool', ['-K', 'eth0', ...OFFLOADS], { ns }).catch(() => undefined);
    await this.run('ip', ['link', 'set', 'lo', 'up'], { ns });
    await this.run('ip', ['link', 'set', 'eth0', 'up'], { ns });
    await this.run('ip', ['link', 'set', port, 'up']);
    return { ns, port };
  }

  /** Deletes a host's link (both ends go) and namespace; missing ones are fine. */
  async removeHost(host: Host): Promise<void> {
    await this.deleteLink(host.port);
    if (this.namespaces.delete(host.ns)) await this.run('ip', ['netns', 'del', host.ns]).catch(() => undefined);
  }

  /** Deletes one of the soak's links if it exists (the switch may hold it as a port). */
  async deleteLink(name: string): Promise<void> {
    this.links.delete(name);
    if (existsSync(join('/sys/class/net', name))) await this.run('ip', ['link', 'del', name]).catch(() => undefined);
  }

  /** A fresh database (ovsdb-tool create) served by ovsdb-server in the soak's directory; `ovs-vsctl init`. */
  async startOvsdb(): Promise<void> {
    const d = this.dir;
    await this.run('ovsdb-tool', ['create', join(d, 'conf.db'), SCHEMA], { env: this.env });
    await this.run('ovsdb-server', [join(d, 'conf.db'), `--remote=punix:${join(d, 'db.sock')}`, `--unixctl=${join(d, 'ovsdb-server.ctl')}`,
      `--pidfile=${join(d, 'ovsdb-server.pid')}`, `--log-file=${join(d, 'ovsdb-server.log')}`, '-vconsole:off', '--detach', '--no-chdir'], { env: this.env });
    this.ovsdbPid = Number(readFileSync(join(d, 'ovsdb-server.pid'), 'utf8').trim());
    await this.vsctl(['--no-wait', 'init']);
  }

  /** Starts `ofswitch --ovsdb unix:DIR/db.sock --rundir DIR`; resolves once its database connection is up. */
  async startSwitch(): Promise<SwitchProcess> {
    const child = this.track(spawn(process.execPath, [CLI, '--ovsdb', `unix:${join(this.dir, 'db.sock')}`, '--rundir', this.dir, '--log-level', 'info'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: this.env,
    }));
    const lines: string[] = [];
    const counts = new Map<string, number>();
    const watchers = new Set<(line: string) => void>();
    let partial = '';
    let done = false;
    const take = (d: Buffer): void => {
      partial += d.toString();
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        if (line === '') continue;
        lines.push(line);
        if (lines.length > 200) lines.shift();
        const level = /"level":"(\w+)"/.exec(line)?.[1] ?? 'raw';
        counts.set(level, (counts.get(level) ?? 0) + 1);
        if (level !== 'info' && level !== 'debug') {
          const msg = /"msg":"((?:[^"\\]|\\.)*)"/.exec(line)?.[1] ?? line.slice(0, 80);
          counts.set(`${level}: ${msg}`, (counts.get(`${level}: ${msg}`) ?? 0) + 1);
        }
        for (const w of watchers) w(line);
      }
    };
    child.stderr?.on('data', take);
    child.stdout?.on('data', take);
    const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => {
      done = true;
      resolve(signal ?? `exit ${code}`);
    }));
    const waitForLine = (match: (line: string) => boolean, timeoutMs: number): Promise<void> =>
      new Promise((resolve, reject) => {
        const finish = (err: Error | null): void => {
          clearTimeout(timer);
          watchers.delete(watch);
          if (err) reject(err);
          else resolve();
        };
        const watch = (line: string): void => {
          if (match(line)) finish(null);
        };
        const timer = setTimeout(() => finish(new Error(`ofswitch did not log the awaited line in ${timeoutMs} ms:\n${lines.slice(-20).join('\n')}`)), timeoutMs);
        watchers.add(watch);
        void exited.then((how) => finish(new Error(`ofswitch ended (${how}) before the awaited line:\n${lines.slice(-20).join('\n')}`)));
      });
    const connected = waitForLine((l) => l.includes('"database connection"') && l.includes('"connected"'), 15_000);
    const sw: SwitchProcess = { child, pid: child.pid ?? -1, exited, running: () => !done, lastLines: () => [...lines], counts, waitForLine };
    this.sw = sw;
    await connected;
    return sw;
  }

  /** Stops the switch (SIGTERM; SIGKILL after 5 s). */
  async stopSwitch(): Promise<void> {
    const sw = this.sw;
    if (!sw || !sw.running()) return;
    sw.child.kill('SIGTERM');
    const timer = setTimeout(() => sw.child.kill('SIGKILL'), 5000);
    await sw.exited;
    clearTimeout(timer);
  }

  /** Removes everything the soak made: the switch and peers stopped, then links, namespaces, ovsdb-server, the directory. */
  async cleanup(): Promise<void> {
    if (this.cleaned) return;
    await this.stopSwitch();
    for (const c of this.children) killGroup(c);
    for (const l of [...this.links]) await this.deleteLink(l);
    for (const ns of [...this.namespaces]) {
      this.namespaces.delete(ns);
      await this.run('ip', ['netns', 'del', ns]).catch(() => undefined);
    }
    this.cleanupSync();
  }

  /** The same, synchronously (from the exit hook): nothing is awaited, everything is killed. */
  cleanupSync(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    process.removeListener('exit', this.onExit);
    for (const c of this.children) killGroup(c, 'SIGKILL');
    const quiet = (cmd: string, args: string[]): void => {
      try {
        execFileSync(cmd, args, { stdio: 'ignore' });
      } catch {
        /* already gone */
      }
    };
    for (const l of this.links) if (existsSync(join('/sys/class/net', l))) quiet('ip', ['link', 'del', l]);
    for (const ns of this.namespaces) quiet('ip', ['netns', 'del', ns]);
    if (this.ovsdbPid !== null) {
      try {
        process.kill(this.ovsdbPid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Kills a child and, when it leads a process group of its own (trafgen's forks), the group. */
function killGroup(c: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): void {
  if (c.exitCode !== null || c.signalCode !== null || c.pid === undefined) return;
  try {
    process.kill(-c.pid, signal);
  } catch {
    try {
      c.kill(signal);
    } catch {
      /* gone */
    }
  }
}
