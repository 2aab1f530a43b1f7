/**
 * Test hosts in network namespaces, for tests that move real frames.
 *
 * Every name is unique to the test process: a short prefix, the pid and a tag ("of1234567h1"), at
 * most 15 characters. Everything created is recorded and removed by `cleanup()`, which runs from
 * t.teardown (when a `t` is passed) and again, synchronously, when the process exits or is killed,
 * so a failed or timed-out test leaves nothing behind. Only namespaces and veth pairs made here are
 * ever touched.
 *
 * A typical topology: `const h1 = await addHost(t, 'h1', { ip: '10.0.0.1/24' })` makes namespace
 * `of<pid>h1` with interface `eth0` (offloads off, up, addressed), whose peer `h1.port`
 * ("of<pid>h1") stays in the root namespace, up, for the switch to open.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Test } from 'tap';

const execFileAsync = promisify(execFile);

/** The part of tap's Test that the helpers use. */
export interface Teardownable {
  teardown(fn: () => unknown): void;
}

const IFNAMSIZ = 15;
const namespaces = new Set<string>();
const links = new Set<string>(); // root-namespace interfaces we created
const children = new Set<ChildProcess>();
let exitHooked = false;

/** A name unique to this process: prefix + pid + tag; throws if it would exceed 15 characters. */
export function uniqueName(tag: string, prefix = 'of'): string {
  const name = `${prefix}${process.pid}${tag}`;
  if (name.length > IFNAMSIZ) throw new Error(`name ${name} is longer than ${IFNAMSIZ} characters`);
  return name;
}

/** Extra settings for a command: environment variables added to this process's own. */
export interface RunOptions {
  readonly env?: Readonly<Record<string, string>>;
}

const installed = new Map<string, boolean>();

/**
 * Throws "CMD is not installed" unless `cmd` is an executable file (a path) or found on PATH.
 * Checked before every run: inside `ip netns exec` a missing program is only "exit 1", which a
 * test expecting a failure (a ping that must not pass) would take for the failure it expects.
 */
export function requireCommand(cmd: string): void {
  let found = installed.get(cmd);
  if (found === undefined) {
    const candidates = cmd.includes('/') ? [cmd] : (process.env['PATH'] ?? '').split(':').filter((d) => d !== '').map((d) => join(d, cmd));
    found = candidates.some((file) => {
      try {
        accessSync(file, constants.X_OK);
        return statSync(file).isFile();
      } catch {
        return false; // not this one: try the next PATH entry
      }
    });
    installed.set(cmd, found);
  }
  if (!found) throw new Error(`${cmd} is not installed (not an executable on PATH)`);
}

function commandLine(cmd: string, args: readonly string[], ns: string | undefined): [string, string[]] {
  requireCommand(cmd);
  return ns ? ['ip', ['netns', 'exec', ns, cmd, ...args]] : [cmd, [...args]];
}

function envOf(options: RunOptions): NodeJS.ProcessEnv | undefined {
  return options.env ? { ...process.env, ...options.env } : undefined;
}

/** Runs a command (in namespace `ns` when given) and returns its stdout; rejects on failure. */
export async function run(cmd: string, args: readonly string[], ns?: string, options: RunOptions = {}): Promise<string> {
  const [file, argv] = commandLine(cmd, args, ns);
  try {
    const { stdout } = await execFileAsync(file, argv, { maxBuffer: 64 * 1024 * 1024, env: envOf(options) });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${file} ${argv.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

/** What a command that ran to its end did: its exit status and output. */
export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a command and resolves to its exit status and output, whatever the status (for ping -c and
 * the like, where failing is an answer). A command that could not run to an exit status at all
 * (not installed, killed by a signal, output past the buffer) rejects: that is never an answer.
 */
export async function tryRun(cmd: string, args: readonly string[], ns?: string, options: RunOptions = {}): Promise<RunResult> {
  const [file, argv] = commandLine(cmd, args, ns);
  try {
    const { stdout, stderr } = await execFileAsync(file, argv, { maxBuffer: 64 * 1024 * 1024, env: envOf(options) });
    return { code: 0, stdout, stderr: withoutLoadWarnings(stderr) };
  } catch (err) {
    const e = err as { code?: number | string; signal?: string | null; stdout?: string; stderr?: string; message: string };
    if (typeof e.code !== 'number') {
      throw new Error(`${file} ${argv.join(' ')} did not run to an exit status: ${e.signal ? `killed by ${e.signal}` : e.message}`);
    }
    return { code: e.code, stdout: e.stdout ?? '', stderr: withoutLoadWarnings(e.stderr ?? '') };
  }
}

/**
 * Asserts that a peer worked before its output is compared: exit status 0 and, unless
 * `output: false` (commands that print nothing when they succeed), something on stdout.
 */
export function assertRan(t: Test, r: RunResult, what: string, options: { output?: boolean } = {}): boolean {
  const ok = t.equal(r.code, 0, `${what}: exits 0${r.code !== 0 ? ` (${r.stderr.trim() || r.stdout.trim()})` : ''}`);
  if (options.output === false) return ok;
  return t.not(r.stdout.trim(), '', `${what}: prints something`) && ok;
}

/**
 * `stderr` without the lines Open vSwitch's programs (ovs-vsctl, ovs-ofctl, ovs-appctl) add about
 * the machine rather than the command: "timeval|WARN|Unreasonably long 1064ms poll interval" and
 * the "faults:" and "context switches:" lines after it, printed whenever the program's own main
 * loop waited over a second for the CPU (a loaded machine). A test asserting a silent command
 * means the command's own messages.
 */
export function withoutLoadWarnings(stderr: string): string {
  return stderr.replace(/^\S+\|\d+\|timeval\|WARN\|.*(\n|$)/gm, '');
}

/** Starts a long-running command (tcpdump, iperf3 -s, a controller); killed at cleanup. */
export function spawnIn(cmd: string, args: readonly string[], ns?: string, options: RunOptions = {}): ChildProcess {
  hookExit();
  const [file, argv] = commandLine(cmd, args, ns);
  const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: envOf(options) });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** A tcpdump running in the background: what it printed so far. */
export interface Tcpdump {
  readonly proc: ChildProcess;
  /** Its standard output so far (the packets, with -l). */
  out(): string;
}

/**
 * Starts `tcpdump ARGS` (in `ns`) and resolves once it says "listening on": its capture is open,
 * so a packet sent afterwards is seen (a fixed pause was too short on a loaded machine). Throws
 * after `ms` or when tcpdump exits first. Killed at cleanup.
 */
export async function startTcpdump(args: readonly string[], ns?: string, ms = 20_000): Promise<Tcpdump> {
  const proc = spawnIn('tcpdump', args, ns);
  let out = '';
  let err = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`tcpdump ${args.join(' ')} did not start listening within ${ms} ms: ${err.trim()}`)), ms);
    const onExit = (): void => finish(new Error(`tcpdump ${args.join(' ')} exited: ${err.trim()}`));
    const onErr = (d: Buffer): void => {
      err += d.toString();
      if (err.includes('listening on')) finish(null);
    };
    const finish = (e: Error | null): void => {
      clearTimeout(timer);
      proc.off('exit', onExit);
      proc.stderr?.off('data', onErr);
      proc.stderr?.resume();
      if (e) reject(e);
      else resolve();
    };
    proc.stderr?.on('data', onErr);
    proc.once('exit', onExit);
  });
  return { proc, out: () => out };
}

/** Creates a namespace with loopback up. */
export async function createNamespace(tag: string, t?: Teardownable): Promise<string> {
  hookExit();
  const ns = uniqueName(tag);
  await run('ip', ['netns', 'add', ns]);
  namespaces.add(ns);
  if (t) t.teardown(() => removeNamespace(ns));
  await run('ip', ['link', 'set', 'lo', 'up'], ns);
  return ns;
}

export async function removeNamespace(ns: string): Promise<void> {
  if (!namespaces.delete(ns)) return;
  await tryRun('ip', ['netns', 'del', ns]);
}

/** Creates a veth pair in the root namespace (both ends down); `a` and `b` are full names. */
export async function createVethPair(a: string, b: string, t?: Teardownable): Promise<void> {
  hookExit();
  await run('ip', ['link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
  links.add(a);
  if (t) t.teardown(() => removeLink(a));
}

/** Deletes an interface we created (deleting either end of a veth removes both). */
export async function removeLink(name: string): Promise<void> {
  if (!links.delete(name)) return;
  await tryRun('ip', ['link', 'del', name]);
}

/** Moves an interface into a namespace, renaming it there when `newName` is given. */
export async function moveToNamespace(ifname: string, ns: string, newName?: string): Promise<void> {
  await run('ip', ['link', 'set', ifname, 'netns', ns]);
  if (newName && newName !== ifname) await run('ip', ['link', 'set', ifname, 'name', newName], ns);
}

export async function setLinkUp(ifname: string, ns?: string): Promise<void> {
  await run('ip', ['link', 'set', ifname, 'up'], ns);
}

export async function setLinkDown(ifname: string, ns?: string): Promise<void> {
  await run('ip', ['link', 'set', ifname, 'down'], ns);
}

/** Adds an address such as "10.0.0.1/24". */
export async function setAddress(ifname: string, cidr: string, ns?: string): Promise<void> {
  await run('ip', ['addr', 'add', cidr, 'dev', ifname], ns);
}

export async function setMac(ifname: string, mac: string, ns?: string): Promise<void> {
  await run('ip', ['link', 'set', ifname, 'address', mac], ns);
}

/** Turns off checksum and segmentation offloads so frames on the wire carry complete checksums. */
export async function disableOffloads(ifname: string, ns?: string): Promise<void> {
  await tryRun('ethtool', ['-K', ifname, 'rx', 'off', 'tx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off'], ns);
}

/** The MAC address of an interface. */
export async function macOf(ifname: string, ns?: string): Promise<string> {
  return (await run('cat', [`/sys/class/net/${ifname}/address`], ns)).trim();
}

export interface TestHost {
  /** The namespace, to pass to run/spawnIn. */
  readonly ns: string;
  /** The interface inside the namespace ("eth0"). */
  readonly hostIf: string;
  /** The veth end left in the root namespace, for the switch to open as a port. */
  readonly port: string;
  readonly mac: string;
  /** The address without its prefix length, or '' when none was given. */
  readonly ip: string;
  /** Runs a command inside the host. */
  run(cmd: string, args: readonly string[]): Promise<string>;
}

export interface HostOptions {
  /** Address with prefix length, e.g. "10.0.0.1/24". */
  ip?: string;
  mac?: string;
  /** Keep offloads on (to test the switch's own checksum completion). */
  keepOffloads?: boolean;
}

/**
 * A test host: namespace `of<pid><tag>` holding `eth0`, whose veth peer `of<pid><tag>` stays in the
 * root namespace, up, with offloads off on both ends.
 */
export async function addHost(t: Teardownable | undefined, tag: string, opts: HostOptions = {}): Promise<TestHost> {
  const ns = await createNamespace(tag, t);
  const port = uniqueName(tag);
  const peer = uniqueName(`${tag}p`);
  await createVethPair(port, peer, t);
  await moveToNamespace(peer, ns, 'eth0');
  if (opts.mac) await setMac('eth0', opts.mac, ns);
  if (!opts.keepOffloads) {
    await disableOffloads('eth0', ns);
    await disableOffloads(port);
  }
  if (opts.ip) await setAddress('eth0', opts.ip, ns);
  await run('sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1'], ns);
  await setLinkUp('eth0', ns);
  await run('sysctl', ['-qw', `net.ipv6.conf.${port}.disable_ipv6=1`]).catch(() => undefined);
  await setLinkUp(port);
  await waitOperUp(port);
  await waitOperUp('eth0', ns);
  return {
    ns,
    hostIf: 'eth0',
    port,
    mac: await macOf('eth0', ns),
    ip: opts.ip ? (opts.ip.split('/')[0] ?? '') : '',
    run: (cmd, args) => run(cmd, args, ns),
  };
}

/**
 * Waits until the kernel reports an interface operationally up; throws after `ms`. The kernel
 * reports carrier changes through its link watch, which may defer them by a second, longer on a
 * loaded machine: 20 s is the deadline for such a machine, not the time it takes.
 */
export async function waitOperUp(ifname: string, ns?: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  let state = '';
  while (Date.now() < end) {
    state = (await tryRun('cat', [`/sys/class/net/${ifname}/operstate`], ns)).stdout.trim();
    if (state === 'up') return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${ifname}${ns ? ` in ${ns}` : ''} not operationally up after ${ms} ms (operstate ${state || 'unreadable'})`);
}

/**
 * Waits until something listens on TCP `port` in namespace `ns` (the root one when undefined), as
 * `ss` shows it; throws after `ms`. For servers started in the background (iperf3 -s), which a
 * client started a fixed time later would find not yet listening on a loaded machine.
 */
export async function waitTcpListening(ns: string | undefined, port: number, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if ((await tryRun('ss', ['-Hltn', `sport = :${port}`], ns)).stdout.trim() !== '') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on TCP port ${port}${ns ? ` in ${ns}` : ''} after ${ms} ms`);
}

/** Removes everything this process created; safe to call more than once. */
export async function cleanup(): Promise<void> {
  for (const c of children) c.kill('SIGKILL');
  children.clear();
  await Promise.all([...links].map((l) => removeLink(l)));
  await Promise.all([...namespaces].map((n) => removeNamespace(n)));
}

function cleanupSync(): void {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  children.clear();
  for (const l of links) {
    try {
      execFileSync('ip', ['link', 'del', l], { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
  }
  links.clear();
  for (const n of namespaces) {
    try {
      execFileSync('ip', ['netns', 'del', n], { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
  }
  namespaces.clear();
}

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.once('exit', cleanupSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      cleanupSync();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
}
