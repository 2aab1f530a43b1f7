/**
 * Abuse benchmark: connections that hold a switch's resources without being a controller, against
 * ofswitch and against Open vSwitch 3.1 in userspace, one after the other.
 *
 * Each switch serves the same kind of listener: a unix-socket service (ofswitch `--listen
 * punix:PATH`; Open vSwitch a Controller row `punix:PATH` on a netdev bridge, in a network
 * namespace of its own because its userspace datapath makes a tap). Both probe service
 * connections after 5 s (ofswitch's --probe-interval default; OVS's inactivity_probe default).
 * Two phases per switch:
 *
 * 1. Mixed: N idle connections (HELLO, then silence: they never answer an echo), N half-sent (HELLO,
 *    then part of a message that announces 64 KB and never completes) and N stalled (HELLO, then
 *    requests whose replies they never read: 2,000 DESC requests, about 2 MB of replies). Every
 *    second: how many of each the switch still holds open, and its resident memory (VmRSS).
 *    Reported: connections accepted, the time until the last of each kind was closed (or "held"
 *    at the end), peak memory.
 * 2. Memory: M connections each holding 60 KB of a 64 KB message. Reported: memory before, at
 *    the peak, per held connection, how long until they were all closed, and memory 5 s after
 *    the last closed (ofswitch gives it back itself, lib/memory.ts).
 *
 * ofswitch runs with its defaults (so the connection cap, --max-connections, 1,000, applies)
 * unless `--max-connections N` is given. Everything runs under one process of this benchmark as
 * the clients (its own file descriptor limit must allow some 2 x M sockets: ulimit -n).
 *
 *   npm run bench:abuse [-- --per-kind 670] [-- --holders 6000] [-- --seconds 90]
 *                       [-- --switch ofswitch|ovs] [-- --max-connections N] [-- --quick] [-- --json]
 *
 * --quick: 100 per kind, 1,000 holders, 25 s. Run it under the machine-wide lock of Open vSwitch
 * userspace:   flock /tmp/ovs-userspace.lock npm run bench:abuse
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Option } from 'commander';
import { OFP_VERSION, OFPST, OFPT } from '../protocol/index.js';
import { benchOptions, count } from './bench-options.js';
import { startOvsDaemons, type OvsDaemons } from './ovs-daemons.js';
import { waitFor } from './trafgen-rig.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'dist', 'cli', 'ofswitch.js');
const BRIDGE = 'abr';
const SWITCHES = ['ofswitch', 'ovs'] as const;
type SwitchName = (typeof SWITCHES)[number];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface AbuseOptions {
  perKind?: number;
  holders?: number;
  seconds?: number;
  switch?: SwitchName;
  maxConnections?: number;
  quick?: boolean;
  json?: boolean;
}

function parseOptions(): AbuseOptions {
  return benchOptions<AbuseOptions>(
    'bench:abuse',
    'Idle, half-sent and stalled OpenFlow connections, then thousands of partial 64 KB messages, against ' +
      'ofswitch and Open vSwitch 3.1 userspace side by side (run under flock /tmp/ovs-userspace.lock).',
    (c) =>
      c
        .option('--per-kind <N>', 'idle, half-sent and stalled connections each (default 670: ~2,000 in all)', count)
        .option('--holders <M>', 'connections each holding 60 KB of a 64 KB message (default 6000)', count)
        .option('--seconds <S>', 'how long the mixed phase watches (default 90)', count)
        .addOption(new Option('--switch <NAME>', 'only this switch').choices(SWITCHES))
        .option('--max-connections <N>', "ofswitch's cap on accepted connections (default: its own, 1000)", count)
        .option('--quick', '100 per kind, 1000 holders, 25 s')
        .option('--json', 'one JSON object instead of the table'),
  );
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

interface RunningSwitch {
  readonly pid: number;
  /** The unix socket the service listens on. */
  readonly path: string;
  stop(): Promise<void>;
}

function exists(path: string): boolean {
  try {
    readFileSync(path);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

async function startOfswitch(dir: string, maxConnections: number | undefined): Promise<RunningSwitch> {
  const path = join(dir, 'service.sock');
  const args = [CLI, '--listen', `punix:${path}`, '--fail-mode', 'secure', '--log-level', 'warn'];
  if (maxConnections !== undefined) args.push('--max-connections', String(maxConnections));
  const proc: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
  await waitFor(() => {
    if (proc.exitCode !== null) throw new Error(`ofswitch exited: ${err}`);
    return exists(path);
  }, 15_000, () => 'ofswitch to listen');
  return {
    pid: proc.pid ?? -1,
    path,
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

async function startOvs(dir: string): Promise<RunningSwitch> {
  const ns = `abuse${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  const removeNs = (): void => {
    try {
      execFileSync('ip', ['netns', 'del', ns]);
    } catch {
      /* gone */
    }
  };
  // OVS takes a punix controller only under RUNDIR/BRIDGE.* (bridge.c: no overwriting of other files).
  const path = join(dir, `${BRIDGE}.service`);
  let ovs: OvsDaemons;
  try {
    ovs = await startOvsDaemons(ns, dir);
  } catch (e) {
    removeNs();
    throw e;
  }
  const stop = async (): Promise<void> => {
    await ovs.stop();
    removeNs();
  };
  try {
    ovs.vsctl('add-br', BRIDGE, '--', 'set', 'bridge', BRIDGE, 'datapath_type=netdev', 'protocols=OpenFlow10',
      'fail_mode=secure', 'other-config:disable-in-band=true');
    ovs.vsctl('set-controller', BRIDGE, `punix:${path}`);
    await waitFor(() => exists(path), 15_000, () => 'Open vSwitch to listen');
  } catch (e) {
    await stop();
    throw e;
  }
  return { pid: ovs.pid, path, stop };
}

const HELLO = Buffer.from([OFP_VERSION, OFPT.HELLO, 0, 8, 0, 0, 0, 1]);
/** A message that announces 65535 bytes: its first `n` bytes. */
function partOf64k(n: number): Buffer {
  const b = Buffer.alloc(n);
  b.set([OFP_VERSION, OFPT.PACKET_OUT, 0xff, 0xff, 0, 0, 0, 2]);
  return b;
}
/** 2,000 DESC statistics requests (each reply is 1,068 bytes). */
const DESC_REQUESTS = Buffer.concat(
  Array.from({ length: 2000 }, (_, i) => Buffer.from([OFP_VERSION, OFPT.STATS_REQUEST, 0, 12, 0, 0, (i >> 8) & 0xff, i & 0xff, 0, OFPST.DESC, 0, 0])),
);

type Kind = 'idle' | 'half-sent' | 'stalled' | 'holder';

interface Client {
  readonly kind: Kind;
  readonly socket: Socket;
  /**
   * Whether the switch accepted it (its HELLO arrived), and how long it lived: ms from that HELLO
   * until the switch closed it (from the connect when it never said HELLO). A connect completes
   * when the connection is in the listener's backlog, before the switch accepts it: a busy switch
   * accepts late, and that wait is not the switch holding the connection.
   */
  greeted: boolean;
  greetedAt: number;
  closedAt: number | null;
  poke: NodeJS.Timeout | null;
}

const ECHO = Buffer.from([OFP_VERSION, OFPT.ECHO_REQUEST, 0, 8, 0, 0, 0, 9]);

/**
 * A connected socket; a unix socket's connect fails with EAGAIN while the listener's backlog is
 * full (the switch is not accepting fast enough): retried for up to 30 s, so that what is measured
 * is what the switch does with a connection, not how fast it accepts.
 */
async function connected(path: string): Promise<Socket | null> {
  const end = Date.now() + 30_000;
  for (;;) {
    const socket = connect({ path });
    const ok = await new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(true));
      socket.once('error', () => resolve(false));
    });
    if (ok) return socket;
    socket.destroy();
    if (Date.now() > end) return null;
    await sleep(50);
  }
}

async function open(path: string, kind: Kind): Promise<Client> {
  // Never connected: a socket that fails at once stands for it (counted as refused).
  const socket = (await connected(path)) ?? connect({ path: "/nonexistent/abuse.sock" });
  const t0 = Date.now();
  const c: Client = { kind, socket, greeted: false, greetedAt: t0, closedAt: null, poke: null };
  const greet = (): void => {
    if (c.greeted) return;
    c.greeted = true;
    c.greetedAt = Date.now();
  };
  socket.on('error', () => undefined);
  socket.on('close', () => {
    c.closedAt ??= Date.now() - c.greetedAt;
    if (c.poke) clearInterval(c.poke);
  });
  if (kind === 'stalled') {
    socket.once('data', () => {
      greet();
      socket.pause(); // never reads again
    });
    // A paused socket never sees the switch close it: a whole ECHO_REQUEST a second fails (EPIPE)
    // once it has. The switch does not read them while the replies wait, so they are no activity.
    c.poke = setInterval(() => socket.write(ECHO), 1000);
  } else {
    socket.on('data', greet); // read and ignored: HELLO, echo requests
  }
  if (socket.destroyed || socket.connecting) return c;
  if (kind === 'idle') socket.write(HELLO);
  else if (kind === 'half-sent') socket.write(Buffer.concat([HELLO, partOf64k(1000)]));
  else if (kind === 'stalled') socket.write(Buffer.concat([HELLO, DESC_REQUESTS]));
  else socket.write(Buffer.concat([HELLO, partOf64k(60 * 1024)]));
  return c;
}

async function openMany(path: string, kinds: readonly Kind[]): Promise<Client[]> {
  const out: Client[] = [];
  for (let i = 0; i < kinds.length; i += 50) {
    out.push(...(await Promise.all(kinds.slice(i, i + 50).map((k) => open(path, k)))));
  }
  return out;
}

interface KindResult {
  opened: number;
  /** Closed by the switch within a second of opening (refused: over a cap, or never greeted). */
  refused: number;
  /** The longest an accepted one lived, in seconds (from its connect until the switch closed it); null: some still open at the end. */
  allClosedSec: number | null;
  stillOpen: number;
}

interface SwitchResult {
  baselineMb: number;
  mixed: { kinds: Record<string, KindResult>; peakMb: number; openingSec: number; heldOverTime: { sec: number; open: number; rssMb: number }[] };
  holders: { opened: number; held: number; peakMb: number; perConnectionKb: number | null; allClosedSec: number | null; stillOpen: number; afterMb: number };
}

function summarize(clients: readonly Client[]): KindResult {
  const refused = clients.filter((c) => c.closedAt !== null && !c.greeted).length;
  const accepted = clients.filter((c) => c.greeted || c.closedAt === null);
  const open = clients.filter((c) => c.closedAt === null).length;
  const last = Math.max(0, ...accepted.map((c) => c.closedAt ?? 0));
  return { opened: clients.length, refused, allClosedSec: open > 0 ? null : Math.round(last / 100) / 10, stillOpen: open };
}

async function measure(sw: RunningSwitch, perKind: number, holders: number, seconds: number): Promise<SwitchResult> {
  await sleep(1000);
  const baselineMb = rssMb(sw.pid);
  // Phase 1: mixed.
  const t0 = Date.now();
  const kinds: Kind[] = [];
  for (let i = 0; i < perKind; i++) kinds.push('idle', 'half-sent', 'stalled');
  const clients = await openMany(sw.path, kinds);
  const openingSec = Math.round((Date.now() - t0) / 100) / 10;
  let peakMb = rssMb(sw.pid);
  const heldOverTime: SwitchResult['mixed']['heldOverTime'] = [];
  const end = t0 + seconds * 1000;
  while (Date.now() < end) {
    await sleep(1000);
    const rss = rssMb(sw.pid);
    peakMb = Math.max(peakMb, rss);
    const open = clients.filter((c) => c.greeted && c.closedAt === null).length;
    heldOverTime.push({ sec: Math.round((Date.now() - t0) / 1000), open, rssMb: Math.round(rss) });
    if (clients.every((c) => c.closedAt !== null)) break;
  }
  const byKind: Record<string, KindResult> = {};
  for (const k of ['idle', 'half-sent', 'stalled'] as const) byKind[k] = summarize(clients.filter((c) => c.kind === k));
  for (const c of clients) {
    if (c.poke) clearInterval(c.poke);
    c.socket.destroy();
  }
  await sleep(3000);
  // Phase 2: memory.
  const before = rssMb(sw.pid);
  const t1 = Date.now();
  const hs = await openMany(sw.path, Array.from({ length: holders }, () => 'holder' as const));
  let peak = rssMb(sw.pid);
  let held = hs.filter((c) => c.greeted && c.closedAt === null).length;
  const end2 = t1 + Math.max(seconds, 30) * 1000;
  while (Date.now() < end2) {
    await sleep(500);
    peak = Math.max(peak, rssMb(sw.pid));
    held = Math.max(held, hs.filter((c) => c.greeted && c.closedAt === null).length);
    if (hs.every((c) => c.closedAt !== null)) break;
  }
  const r = summarize(hs);
  for (const c of hs) c.socket.destroy();
  await sleep(5000);
  const afterMb = rssMb(sw.pid);
  return {
    baselineMb: Math.round(baselineMb),
    mixed: { kinds: byKind, peakMb: Math.round(peakMb), openingSec, heldOverTime },
    holders: {
      opened: holders,
      held,
      peakMb: Math.round(peak),
      perConnectionKb: held > 0 ? Math.round(((peak - before) * 1024) / held) : null,
      allClosedSec: r.allClosedSec,
      stillOpen: r.stillOpen,
      afterMb: Math.round(afterMb),
    },
  };
}

function report(results: Partial<Record<SwitchName, SwitchResult>>, settings: Record<string, unknown>): void {
  const fmt = (k: KindResult): string =>
    `${k.opened - k.refused} held of ${k.opened}, ${k.allClosedSec === null ? `${k.stillOpen} still open at the end` : `each closed within ${k.allClosedSec} s`}`;
  console.log(`abuse benchmark: ${JSON.stringify(settings)}`);
  for (const [name, r] of Object.entries(results)) {
    console.log(`\n${name === 'ovs' ? 'Open vSwitch 3.1, userspace' : 'ofswitch'} (RSS at rest ${r.baselineMb} MB)`);
    for (const [k, v] of Object.entries(r.mixed.kinds)) console.log(`  ${k.padEnd(10)} ${fmt(v)}`);
    console.log(`  mixed: connecting took ${r.mixed.openingSec} s; peak RSS ${r.mixed.peakMb} MB; accepted and open over time: ${r.mixed.heldOverTime.filter((_, i) => i % 5 === 0).map((s) => `${s.sec}s:${s.open}`).join(' ')}`);
    const h = r.holders;
    console.log(`  ${h.opened} partial 64 KB holders: ${h.held} held at once, peak RSS ${h.peakMb} MB (${h.perConnectionKb ?? '-'} KB per held connection), ` +
      `${h.allClosedSec === null ? `${h.stillOpen} still open at the end` : `each closed within ${h.allClosedSec} s`}, RSS 5 s later ${h.afterMb} MB`);
  }
}

async function main(): Promise<void> {
  const options = parseOptions();
  const quick = options.quick === true;
  const perKind = options.perKind ?? (quick ? 100 : 670);
  const holders = options.holders ?? (quick ? 1000 : 6000);
  const seconds = options.seconds ?? (quick ? 25 : 90);
  const maxConnections = options.maxConnections;
  const only = options.switch;
  const results: Partial<Record<SwitchName, SwitchResult>> = {};
  for (const name of SWITCHES) {
    if (only !== undefined && name !== only) continue;
    const dir = mkdtempSync(join(tmpdir(), `ofswitch-abuse-${name}-`));
    let sw: RunningSwitch;
    try {
      sw = name === 'ofswitch' ? await startOfswitch(dir, maxConnections) : await startOvs(dir);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    try {
      results[name] = await measure(sw, perKind, holders, seconds);
    } finally {
      await sw.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const settings = { perKind, holders, seconds, maxConnections: maxConnections ?? 'default' };
  if (options.json === true) console.log(JSON.stringify({ settings, results }, null, 2));
  else report(results, settings);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
