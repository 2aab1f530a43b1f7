/**
 * Large-table benchmark (issue 10): a table of `--entries` flows (default 1,000,000) in ofswitch and
 * in Open vSwitch 3.1 userspace, side by side on the same rig (bench/switches.ts: the switch pinned
 * to CPU 1 in its namespace, ports 1 and 2 to a sender and a receiver host).
 *
 * For each switch, one after the other:
 * 1. `ovs-ofctl add-flows` of a file of typical entries
 *    (`priority=N,ip,nw_src=10.a.b.c,nw_dst=172.a.b.c,actions=output:2`, the last of them one at
 *    priority 65000 for the benchmark's traffic: `--entries` in all, the most ofswitch holds by default): the add rate (entries/s, wall time of ovs-ofctl)
 *    and the switch process's RSS growth per entry (VmRSS after minus before, over the entries).
 * 2. With trafgen sending 20,000 frames/s through that traffic entry and an OpenFlow connection
 *    (bench/echo-probe.ts, in the switch namespace) sending an echo request every 10 ms:
 *    dump-aggregate, dump-flows, `del-flows ip,nw_dst=172.0.0.0/8` (every entry but the traffic's)
 *    in turn. For each: its wall time, the longest gap in forwarding and the longest gap between
 *    echo replies. The forwarding gap is the longest time frames waited: the sender's tx and the
 *    receiver's rx counters are sampled together every 5 ms (by bench/counter-sampler.ts, a
 *    process of its own at real-time priority: this one also reads the whole flow dump), and a
 *    wait starts at the first sample
 *    where the sender has sent frames since the receiver's counter last moved, and ends when it
 *    moves again. (The receiver's counter alone standing still is no gap: trafgen itself pauses
 *    for up to a second when the machine is busy, and every switch then rightly forwards nothing;
 *    that is what made this column read about 0.9 s even for an idle switch.)
 *    The same gaps over 1.5 s with nothing to do come first ("idle"): the floor of the measure.
 * 3. RSS after del-flows, at once and 15 s later (V8 collects and returns memory on its own schedule:
 *    the 15 s figure is after its idle-time collection).
 *
 *   flock /tmp/ovs-userspace.lock node dist/bench/big-table.js [--entries N] [--json]
 *   npm run bench:big-table -- --entries 100000
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SWITCHES, SWITCH_LABEL, startSwitch, type BenchSwitch, type SwitchName } from './switches.js';
import { TrafgenRig, log, sleep } from './trafgen-rig.js';
import { benchOptions, count } from './bench-options.js';
import { longestForwardingGap, longestGap, type CounterSample } from './gaps.js';

const ARGS = benchOptions<{ entries: number; json: boolean }>(
  'big-table',
  'A table of --entries flows in ofswitch and in Open vSwitch userspace, side by side: add-flows rate and memory, then ' +
    'dump-aggregate, dump-flows and del-flows under traffic, with the longest gaps in forwarding and in echo replies. ' +
    'Needs root, trafgen and Open vSwitch; run it under flock /tmp/ovs-userspace.lock.',
  (c) => c
    .option('--entries <n>', 'flow entries in the table (one of them for the traffic)', count, 1_000_000)
    .option('--json', 'one JSON document on stdout', false),
);
const ENTRIES = ARGS.entries;
const PROBE = join(dirname(fileURLToPath(import.meta.url)), 'echo-probe.js');
const SAMPLER = join(dirname(fileURLToPath(import.meta.url)), 'counter-sampler.js');
const TRAFFIC_PPS = 20_000;
const RX_SAMPLE_MS = 5;

type Op = 'idle' | 'dump-aggregate' | 'dump-flows' | 'del-flows';

interface OpResult {
  readonly ms: number;
  readonly forwardingGapMs: number;
  readonly echoGapMs: number;
  readonly output: string;
}

interface SwitchResult {
  readonly addPerSec: number;
  readonly addSec: number;
  readonly rssBeforeMB: number;
  readonly rssAfterAddMB: number;
  readonly bytesPerEntry: number;
  readonly ops: Record<Op, OpResult>;
  readonly rssAfterDelMB: number;
  readonly rssAfterDelLaterMB: number;
  readonly flowCount: number;
  readonly dumped: number;
}

const now = (): number => performance.timeOrigin + performance.now();

function rssKB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

const ip = (i: number, a: number): string => `${a}.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;

function writeFlows(file: string): void {
  const lines = ['priority=65000,ip,nw_src=10.99.0.1,nw_dst=10.99.0.2,actions=output:2'];
  for (let i = 1; i < ENTRIES; i++) lines.push(`priority=${1 + (i % 1000)},ip,nw_src=${ip(i, 10)},nw_dst=${ip(i, 172)},actions=output:2`);
  writeFileSync(file, lines.join('\n') + '\n');
}

/** A process in namespace `ns` whose /proc/PID/net/dev is that namespace's. */
async function holder(rig: TrafgenRig, ns: string): Promise<number> {
  const child = rig.track(spawn('ip', ['netns', 'exec', ns, 'sleep', 'infinity'], { stdio: 'ignore' }));
  // `ip netns exec` enters the namespace, then execs sleep in the same process.
  for (let i = 0; readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim() !== 'sleep'; i++) {
    if (i > 100) throw new Error(`no process in namespace ${ns}`);
    await sleep(20);
  }
  return child.pid!;
}

/**
 * The sender's tx and the receiver's rx counters every RX_SAMPLE_MS, read by a process of its own
 * at real-time priority (bench/counter-sampler.ts), appended to `into` as they come.
 */
function startSampler(rig: TrafgenRig, into: CounterSample[]): { stop(): Promise<void> } {
  const ready = Promise.all([holder(rig, rig.ns.tx), holder(rig, rig.ns.rx)]).then(([tx, rx]) => {
    const child = rig.track(spawn('chrt', ['-f', '10', process.execPath, SAMPLER, String(tx), String(rx), String(RX_SAMPLE_MS)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    }));
    let rest = '';
    child.stdout!.on('data', (d: Buffer) => {
      const lines = (rest + d.toString()).split('\n');
      rest = lines.pop()!;
      for (const l of lines) {
        const [t, txN, rxN] = l.split(' ').map(Number);
        into.push({ t: t!, tx: txN!, rx: rxN! });
      }
    });
    return child;
  });
  return {
    async stop() {
      const child = await ready;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function runOne(name: SwitchName): Promise<SwitchResult> {
  const rig = new TrafgenRig('bt', { switchNamespace: true });
  let sw: BenchSwitch | undefined;
  try {
    sw = await startSwitch(name, rig);
    const file = join(rig.workDir, 'flows.txt');
    writeFlows(file);
    await sleep(1000);
    const rss0 = rssKB(sw.pid);
    const t0 = now();
    await sw.ofctlAsync('add-flows', file);
    const addSec = (now() - t0) / 1000;
    await sleep(2000);
    const rss1 = rssKB(sw.pid);
    log(`${name}: ${ENTRIES} entries added in ${addSec.toFixed(1)} s; RSS ${Math.round(rss0 / 1024)} -> ${Math.round(rss1 / 1024)} MB`);

    const probe = spawn('ip', ['netns', 'exec', rig.ns.sw!, process.execPath, PROBE, sw.openflowTarget], { stdio: ['ignore', 'pipe', 'pipe'] });
    rig.track(probe);
    let probeOut = '';
    let probeErr = '';
    probe.stdout.on('data', (d: Buffer) => (probeOut += d.toString()));
    probe.stderr.on('data', (d: Buffer) => (probeErr += d.toString()));
    const probeExit = new Promise((r) => probe.once('exit', r));

    const counters: CounterSample[] = [];
    const ops = {} as Record<Op, OpResult>;
    const windows = new Map<string, [number, number]>();
    let ran = false;
    await rig.measure(2, {
      ratePps: TRAFFIC_PPS,
      during: async () => {
        if (ran) return;
        ran = true;
        const sampler = startSampler(rig, counters);
        try {
          await sleep(500);
          {
            // the same gaps with nothing to do: the floor the figures below are read against
            const start = now();
            await sleep(1500);
            const end = now();
            ops.idle = { ms: end - start, forwardingGapMs: longestForwardingGap(counters, start, end), echoGapMs: Number.NaN, output: '' };
            windows.set('idle', [start, end]);
          }
          for (const op of ['dump-aggregate', 'dump-flows', 'del-flows'] as const) {
            const start = now();
            // del-flows takes the table's entries, not the traffic's (forwarding must go on)
            const output = await (op === 'del-flows' ? sw!.ofctlAsync(op, 'ip,nw_dst=172.0.0.0/8') : sw!.ofctlAsync(op));
            const end = now();
            await sleep(500);
            ops[op] = { ms: end - start, forwardingGapMs: longestForwardingGap(counters, start, end), echoGapMs: Number.NaN, output };
            windows.set(op, [start, end]);
            log(`${name}: ${op} in ${Math.round(end - start)} ms`);
          }
        } finally {
          await sampler.stop();
        }
      },
    });
    probe.kill('SIGTERM');
    await probeExit;
    if (!probeErr.includes('connected')) throw new Error(`echo probe did not connect: ${probeErr}`);
    const replies = JSON.parse(probeOut.trim() || '[]') as number[];
    if (replies.length === 0) throw new Error(`echo probe got no reply: ${probeErr}`);
    for (const op of Object.keys(ops) as (keyof typeof ops)[]) {
      const [from, to] = windows.get(op)!;
      ops[op] = { ...ops[op], echoGapMs: longestGap(replies, from, to) };
    }

    const rss2 = rssKB(sw.pid);
    await sleep(13_000);
    const rss3 = rssKB(sw.pid);
    const flowCount = Number(/flow_count=(\d+)/.exec(ops['dump-aggregate'].output)?.[1] ?? -1);
    const dumped = ops['dump-flows'].output.split('\n').filter((l) => l.includes('actions=output:2')).length;
    const after = sw.flowCount(60);
    if (after !== 1) throw new Error(`${name}: ${after} flows left after del-flows, not the traffic's one`);
    return {
      addPerSec: ENTRIES / addSec,
      addSec,
      rssBeforeMB: rss0 / 1024,
      rssAfterAddMB: rss1 / 1024,
      bytesPerEntry: ((rss1 - rss0) * 1024) / ENTRIES,
      ops,
      rssAfterDelMB: rss2 / 1024,
      rssAfterDelLaterMB: rss3 / 1024,
      flowCount,
      dumped,
    };
  } finally {
    await sw?.stop();
    rig.cleanup();
  }
}

async function main(): Promise<void> {
  const results: Partial<Record<SwitchName, SwitchResult>> = {};
  for (const name of SWITCHES) results[name] = await runOne(name);
  if (ARGS.json) {
    console.log(JSON.stringify({ entries: ENTRIES, results }, null, 2));
    return;
  }
  const fmt = (x: number, d = 0): string => x.toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d });
  console.log(`Large table: ${fmt(ENTRIES)} entries (one of them for the traffic), ${TRAFFIC_PPS.toLocaleString('en')} frames/s of traffic during the dumps`);
  for (const name of SWITCHES) {
    const r = results[name]!;
    console.log(`\n${SWITCH_LABEL[name]}`);
    console.log(`  add-flows: ${fmt(r.addSec, 1)} s, ${fmt(r.addPerSec)} entries/s`);
    console.log(`  RSS: ${fmt(r.rssBeforeMB)} MB -> ${fmt(r.rssAfterAddMB)} MB with the table: ${fmt(r.bytesPerEntry)} bytes per entry`);
    for (const op of ['idle', 'dump-aggregate', 'dump-flows', 'del-flows'] as const) {
      const o = r.ops[op];
      console.log(`  ${op.padEnd(14)} ${fmt(o.ms).padStart(7)} ms; longest gap: forwarding ${fmt(o.forwardingGapMs).padStart(5)} ms, echo ${fmt(o.echoGapMs).padStart(5)} ms`);
    }
    console.log(`  flow_count ${fmt(r.flowCount)}, dumped ${fmt(r.dumped)}`);
    console.log(`  RSS after del-flows: ${fmt(r.rssAfterDelMB)} MB, 15 s later ${fmt(r.rssAfterDelLaterMB)} MB`);
  }
}

await main();
