/**
 * The forwarding benchmarks' test rig: a sender and a receiver host, each a network namespace
 * holding `eth0`, whose veth peers (the switch's ports) are left in the root namespace or moved
 * into a switch namespace; trafgen (netsniff-ng) sending 64-byte UDP frames from the sender,
 * pinned to CPU 0, as fast as it can or at a fixed rate; and the hosts' kernels counting what
 * leaves the sender (offered load: its eth0 tx_packets) and what reaches the receiver (its eth0
 * rx_packets). Everything created is removed by cleanup(), which also runs on exit and on
 * SIGINT/SIGTERM.
 *
 * Names: `bn<tag><pid><role>`, so that a benchmark never meets a test's namespaces or links (the
 * tests' helpers name theirs `of<pid>...`) nor another benchmark's.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const log = (...m: unknown[]): void => console.error(...m);
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs a command and returns its stdout; throws with its stderr on failure. */
export function sh(cmd: string, argv: readonly string[], env?: NodeJS.ProcessEnv): string {
  return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}) });
}

/** The same, ignoring failure (cleanup, optional tuning). */
export function quiet(cmd: string, argv: readonly string[]): void {
  try {
    sh(cmd, argv);
  } catch {
    /* best effort */
  }
}

export function inNs(ns: string, cmd: string, argv: readonly string[], env?: NodeJS.ProcessEnv): string {
  return sh('ip', ['netns', 'exec', ns, cmd, ...argv], env);
}

/** Polls `what` every 100 ms until it is true; throws after `ms`. */
export async function waitFor(what: () => boolean, ms: number, label: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (what()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${label()}`);
}

/**
 * Benchmark options from the command line: `--seconds N` (each measurement's length, default
 * `defaultSeconds`), `--runs N` (default 3), `--json`, and any `--NAME N` asked for in `numbers`.
 * `--help` (or `-h`) prints these and the design comment's pointer, and exits 0 before anything
 * starts (it used to start a whole run, Open vSwitch included).
 */
export function benchArgs<K extends string>(
  defaultSeconds: number,
  numbers: Record<K, number> = {} as Record<K, number>,
): { seconds: number; runs: number; json: boolean } & Record<K, number> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    const script = process.argv[1]?.replace(/.*\/dist\//, '').replace(/\.js$/, '.ts') ?? 'the benchmark';
    const extra = Object.entries(numbers).map(([k, v]) => `  --${k} N  (default ${String(v)})\n`).join('');
    process.stdout.write(`Options (${script}'s top comment says what it measures, and names its flags):\n` +
      `  --seconds N  (default ${defaultSeconds})\n  --runs N  (default 3)\n${extra}  --json\n`);
    process.exit(0);
  }
  const num = (name: string, dflt: number): number => {
    const i = args.indexOf(`--${name}`);
    if (i < 0) return dflt;
    const v = Number(args[i + 1]);
    if (!(v > 0)) throw new Error(`--${name} needs a positive number, not ${String(args[i + 1])}`);
    return v;
  };
  const out: Record<string, number | boolean> = {
    seconds: num('seconds', defaultSeconds),
    runs: Math.round(num('runs', 3)),
    json: args.includes('--json'),
  };
  for (const [k, v] of Object.entries(numbers) as [K, number][]) out[k] = num(k, v);
  return out as { seconds: number; runs: number; json: boolean } & Record<K, number>;
}

/** trafgen frame templates: Ethernet + IPv4 + UDP + 18 bytes of padding = 60 bytes (64 on a wire). */
const frame = (ports: string): string =>
  '{ eth(da=02:00:00:00:00:02, sa=02:00:00:00:00:01, type=0x0800),\n' +
  '  ipv4(saddr=10.99.0.1, daddr=10.99.0.2, proto=17, ttl=64),\n' +
  `  udp(${ports}), fill(0x00, 18) }\n`;

export const FRAMES = {
  /** One flow: the same UDP ports in every frame. */
  oneFlow: frame('sp=1000, dp=2000'),
  /** Many flows: a random source port and a random destination port in 1..1100 on every frame. */
  randomPorts: frame('sp=drnd(), dp=drnd(1, 1100)'),
  /** A new flow (almost) every frame: both ports random, 2^32 combinations. */
  newFlows: frame('sp=drnd(), dp=drnd()'),
} as const;

/** What one trafgen run sent and what arrived. */
export interface Measurement {
  /** Frames/s the sender put on its link over the measured window (the offered load). */
  offeredPerSec: number;
  /** Frames/s the receiver's kernel counted over the same window. */
  receivedPerSec: number;
  /** Frames sent and received over the whole run (trafgen start to a moment after it stopped). */
  sentTotal: number;
  receivedTotal: number;
  /** Length of the measured window, seconds. */
  windowSec: number;
}

export interface TrafficOptions {
  /** A template from FRAMES (default: one flow). */
  frame?: string;
  /** Frames per second (trafgen --rate); as fast as trafgen can when absent. */
  ratePps?: number;
  /** Called (and awaited) at the start and the end of the measured window (to sample counters). */
  during?: () => void | Promise<void>;
}

const OFFLOADS = ['tx', 'off', 'rx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off'];

/** Rigs not yet cleaned up; removed on exit or a signal (one hook for all). */
const live = new Set<TrafgenRig>();
let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const rig of live) rig.cleanup();
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));
}

export class TrafgenRig {
  readonly ns: { readonly tx: string; readonly rx: string; readonly sw: string | undefined };
  /** The switch's two ports: `a` to the sender, `b` to the receiver. */
  readonly ports: { readonly a: string; readonly b: string };
  /** More hosts when asked (`extraHosts`): namespace `ns` holding eth0 (with `ip`, /24), switch port `port`. */
  readonly extra: readonly { readonly ns: string; readonly port: string; readonly ip: string }[];
  /** A scratch directory, removed with the rig. */
  readonly workDir: string;
  /** Namespaces a benchmark added beside the rig's own (removed with them at cleanup). */
  readonly extraNamespaces: string[] = [];
  private readonly children: ChildProcess[] = [];
  /** A process in each host namespace, whose /proc/PID/net/dev is that namespace's. */
  private readonly holders = new Map<string, number>();
  private done = false;

  /**
   * Builds the hosts; with `switchNamespace` the ports go into a namespace of their own; with
   * `extraHosts` N, N more hosts (`extra`), addressed 10.99.1.1, 10.99.1.2, ...
   */
  constructor(tag: string, options: { switchNamespace?: boolean; extraHosts?: number } = {}) {
    hookExit();
    live.add(this);
    const p = `bn${tag}${process.pid}`;
    this.ns = { tx: `${p}tx`, rx: `${p}rx`, sw: options.switchNamespace ? `${p}sw` : undefined };
    this.ports = { a: `${p}a`, b: `${p}b` };
    this.extra = Array.from({ length: options.extraHosts ?? 0 }, (_, i) => ({ ns: `${p}h${i + 1}`, port: `${p}p${i + 1}`, ip: `10.99.1.${i + 1}` }));
    this.workDir = mkdtempSync(join(tmpdir(), 'ofswitch-bench-'));
    for (const n of [this.ns.tx, this.ns.rx, this.ns.sw, ...this.extra.map((x) => x.ns)]) {
      if (!n) continue;
      sh('ip', ['netns', 'add', n]);
      inNs(n, 'ip', ['link', 'set', 'lo', 'up']);
      inNs(n, 'sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    }
    const sw = this.ns.sw;
    const onSwitch = (cmd: string, argv: readonly string[]): string => (sw ? inNs(sw, cmd, argv) : sh(cmd, argv));
    const hosts: (readonly [string, string])[] = [[this.ns.tx, this.ports.a], [this.ns.rx, this.ports.b], ...this.extra.map((x) => [x.ns, x.port] as const)];
    for (const [host, port] of hosts) {
      sh('ip', ['link', 'add', port, ...(sw ? ['netns', sw] : []), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host]);
      try {
        onSwitch('sysctl', ['-qw', `net.ipv6.conf.${port}.disable_ipv6=1`]);
      } catch {
        /* no IPv6 on this kernel */
      }
      onSwitch('ip', ['link', 'set', port, 'up']);
      inNs(host, 'ip', ['link', 'set', 'eth0', 'up']);
      try {
        onSwitch('ethtool', ['-K', port, ...OFFLOADS]);
        inNs(host, 'ethtool', ['-K', 'eth0', ...OFFLOADS]);
      } catch {
        /* offloads stay as they are */
      }
    }
    for (const x of this.extra) inNs(x.ns, 'ip', ['addr', 'add', `${x.ip}/24`, 'dev', 'eth0']);
  }

  /** A child process to kill at cleanup. */
  track(child: ChildProcess): ChildProcess {
    this.children.push(child);
    return child;
  }

  /** Frames the receiver's eth0 has counted so far. */
  rxPackets(): number {
    return this.eth0Counters(this.ns.rx).rx;
  }

  /** Frames the sender's eth0 has sent so far. */
  txPackets(): number {
    return this.eth0Counters(this.ns.tx).tx;
  }

  /**
   * eth0's packet counters in a host namespace, read from /proc/PID/net/dev of a process that
   * lives there (no command to start: a reading takes microseconds, so the clock and the
   * counters are read together).
   */
  private eth0Counters(ns: string): { rx: number; tx: number } {
    let holder = this.holders.get(ns);
    if (holder === undefined) {
      holder = this.track(spawn('ip', ['netns', 'exec', ns, 'sleep', 'infinity'], { stdio: 'ignore' })).pid ?? -1;
      this.holders.set(ns, holder);
    }
    // `ip netns exec` enters the namespace before it execs sleep: wait for that (its /proc/PID/net
    // is the root namespace's before).
    for (let i = 0; readFileSync(`/proc/${holder}/comm`, 'utf8').trim() !== 'sleep'; i++) {
      if (i > 100) throw new Error(`no process in namespace ${ns}`);
      execFileSync('sleep', ['0.02']);
    }
    const text = readFileSync(`/proc/${holder}/net/dev`, 'utf8');
    const line = /^\s*eth0:(.*)$/m.exec(text);
    if (!line) throw new Error(`no eth0 in namespace ${ns}`);
    const f = line[1]!.trim().split(/\s+/).map(Number);
    return { rx: f[1]!, tx: f[9]! };
  }

  /**
   * Runs trafgen for `seconds` and measures, over all but the first second (the warm-up), the
   * frames/s the sender offered and the receiver got.
   */
  async measure(seconds: number, options: TrafficOptions = {}): Promise<Measurement> {
    const conf = join(this.workDir, 'udp.cfg');
    writeFileSync(conf, options.frame ?? FRAMES.oneFlow);
    const during = options.during ?? ((): void => undefined);
    const rate = options.ratePps !== undefined ? ['--rate', `${Math.round(options.ratePps)}pps`] : [];
    const sent0 = this.txPackets();
    const received0 = this.rxPackets();
    const gen = this.track(
      spawn('ip', ['netns', 'exec', this.ns.tx, 'taskset', '-c', '0', 'trafgen', '--dev', 'eth0', '--conf', conf, '-P', '1', '-q', ...rate], {
        stdio: ['ignore', 'ignore', 'pipe'],
        // A process group of its own: trafgen forks one sender per CPU, and all must get the signal.
        detached: true,
      }),
    );
    let stderr = '';
    gen.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise((r) => gen.once('exit', r));
    const stillRunning = (): void => {
      if (gen.exitCode !== null || gen.signalCode !== null) throw new Error(`trafgen stopped early: ${stderr.trim()}`);
    };
    await sleep(1000);
    stillRunning();
    const t0 = process.hrtime.bigint();
    const sentA = this.txPackets();
    const receivedA = this.rxPackets();
    await during();
    await sleep((seconds - 1) * 1000);
    const t1 = process.hrtime.bigint();
    const sentB = this.txPackets();
    const receivedB = this.rxPackets();
    await during();
    stillRunning();
    process.kill(-(gen.pid ?? 0), 'SIGINT');
    await exited;
    await sleep(500); // let the switch drain what it still holds
    const windowSec = Number(t1 - t0) / 1e9;
    return {
      offeredPerSec: (sentB - sentA) / windowSec,
      receivedPerSec: (receivedB - receivedA) / windowSec,
      sentTotal: this.txPackets() - sent0,
      receivedTotal: this.rxPackets() - received0,
      windowSec,
    };
  }

  /** Kills what the rig started (and anything left in its namespaces) and removes everything. */
  cleanup(): void {
    if (this.done) return;
    this.done = true;
    live.delete(this);
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const n of [this.ns.tx, this.ns.rx, this.ns.sw, ...this.extra.map((x) => x.ns), ...this.extraNamespaces]) {
      if (!n) continue;
      let pids: string[] = [];
      try {
        pids = sh('ip', ['netns', 'pids', n]).split(/\s+/).filter(Boolean);
      } catch {
        /* no such namespace */
      }
      for (const pid of pids) quiet('kill', ['-9', pid]);
      quiet('ip', ['netns', 'del', n]);
    }
    if (!this.ns.sw) for (const port of [...Object.values(this.ports), ...this.extra.map((x) => x.port)]) quiet('ip', ['link', 'del', port]);
    rmSync(this.workDir, { recursive: true, force: true });
  }
}

/** CPU time (user + system, all threads) a process has used so far, in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces), which ends with the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]); // field 14 of proc(5)
  const stime = Number(fields[12]); // field 15
  return (utime + stime) / CLK_TCK;
}
const CLK_TCK = Number(sh('getconf', ['CLK_TCK']).trim()) || 100;

/** Median, lowest and highest of a few runs. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

export function spread(values: readonly number[], digits = 0): Spread {
  const round = (x: number): number => Number(x.toFixed(digits));
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median: round(median), min: round(sorted[0]!), max: round(sorted[sorted.length - 1]!), runs: values.map(round) };
}

/**
 * Runs `one(name)` for every switch `runs` times, alternating which goes first (A B, B A, A B,
 * ...), so that a drift in the machine's load does not always favour the same one.
 */
export async function alternating<T>(names: readonly string[], runs: number, one: (name: string, run: number) => Promise<T>):
  Promise<Map<string, T[]>> {
  const out = new Map<string, T[]>(names.map((n) => [n, []]));
  for (let run = 0; run < runs; run++) {
    const order = run % 2 === 0 ? names : [...names].reverse();
    for (const name of order) out.get(name)!.push(await one(name, run));
  }
  return out;
}

/** 1234567 -> "1,234,567"; a Spread -> "median (min–max)". */
export function fmtSpread(s: Spread, f: (x: number) => string = (x) => Math.round(x).toLocaleString('en')): string {
  return `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
}
