/**
 * The forwarding benchmarks' test rig: a sender and a receiver host, each a network namespace
 * holding `eth0`, whose veth peers (the switch's ports) are left in the root namespace or moved
 * into a switch namespace; trafgen (netsniff-ng) sending 64-byte UDP frames as fast as it can
 * from the sender, pinned to CPU 0; and the receiver's kernel counting what arrives. Everything
 * created is removed by cleanup(), which also runs on exit and on SIGINT/SIGTERM.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

/** Benchmark options from the command line: `--seconds N` (default 8) and `--json`. */
export function benchArgs(): { seconds: number; json: boolean } {
  const args = process.argv.slice(2);
  const i = args.indexOf('--seconds');
  return { seconds: (i >= 0 ? Number(args[i + 1]) : 0) || 8, json: args.includes('--json') };
}

const OFFLOADS = ['tx', 'off', 'rx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off'];
const UDP_FRAME =
  '{ eth(da=02:00:00:00:00:02, sa=02:00:00:00:00:01, type=0x0800),\n' +
  '  ipv4(saddr=10.99.0.1, daddr=10.99.0.2, proto=17, ttl=64),\n' +
  '  udp(sp=1000, dp=2000), fill(0x00, 18) }\n';

export class TrafgenRig {
  readonly ns: { readonly tx: string; readonly rx: string; readonly sw: string | undefined };
  /** The switch's two ports: `a` to the sender, `b` to the receiver. */
  readonly ports: { readonly a: string; readonly b: string };
  /** A scratch directory, removed with the rig. */
  readonly workDir: string;
  private readonly children: ChildProcess[] = [];
  private done = false;

  /** Builds the hosts; with `switchNamespace` the ports go into a namespace of their own. */
  constructor(prefix: string, options: { switchNamespace?: boolean } = {}) {
    const p = `${prefix}${process.pid % 100000}`;
    this.ns = { tx: `${p}tx`, rx: `${p}rx`, sw: options.switchNamespace ? `${p}sw` : undefined };
    this.ports = { a: `${p}a`, b: `${p}b` };
    this.workDir = mkdtempSync(join(tmpdir(), 'ofswitch-bench-'));
    process.once('exit', () => this.cleanup());
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));
    for (const n of [this.ns.tx, this.ns.rx, this.ns.sw]) {
      if (!n) continue;
      sh('ip', ['netns', 'add', n]);
      inNs(n, 'ip', ['link', 'set', 'lo', 'up']);
      inNs(n, 'sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    }
    const sw = this.ns.sw;
    const onSwitch = (cmd: string, argv: readonly string[]): string => (sw ? inNs(sw, cmd, argv) : sh(cmd, argv));
    for (const [host, port] of [[this.ns.tx, this.ports.a], [this.ns.rx, this.ports.b]] as const) {
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
  }

  /** A child process to kill at cleanup. */
  track(child: ChildProcess): ChildProcess {
    this.children.push(child);
    return child;
  }

  /** Frames the receiver's eth0 has counted so far. */
  rxPackets(): number {
    return Number(inNs(this.ns.rx, 'cat', ['/sys/class/net/eth0/statistics/rx_packets']).trim());
  }

  /**
   * Runs trafgen for `seconds` and returns the frames/s that reached the receiver over the
   * middle part of the run (the first second and the last are left out). `during` is called at
   * the start and the end of the measured part (to sample the switch's own counters).
   */
  async measure(seconds: number, during: () => void = () => undefined): Promise<number> {
    const conf = join(this.workDir, 'udp.cfg');
    writeFileSync(conf, UDP_FRAME);
    const gen = this.track(
      spawn('ip', ['netns', 'exec', this.ns.tx, 'taskset', '-c', '0', 'trafgen', '--dev', 'eth0', '--conf', conf, '-P', '1', '-q'], {
        stdio: 'ignore',
      }),
    );
    await sleep(1000);
    const start = this.rxPackets();
    during();
    const t0 = process.hrtime.bigint();
    await sleep((seconds - 2) * 1000);
    const end = this.rxPackets();
    during();
    const t1 = process.hrtime.bigint();
    gen.kill('SIGINT');
    await sleep(300);
    return (end - start) / (Number(t1 - t0) / 1e9);
  }

  /** Kills what the rig started (and anything left in its namespaces) and removes everything. */
  cleanup(): void {
    if (this.done) return;
    this.done = true;
    for (const c of this.children) if (c.exitCode === null) c.kill('SIGKILL');
    for (const n of [this.ns.tx, this.ns.rx, this.ns.sw]) {
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
    if (!this.ns.sw) for (const port of Object.values(this.ports)) quiet('ip', ['link', 'del', port]);
    rmSync(this.workDir, { recursive: true, force: true });
  }
}
