/**
 * Policing's cost on the packet path, in process (no kernel, no addon): frames per second through
 * a Datapath whose FlowTable holds `in_port=1,actions=output:2`, between two stub ports (receive is
 * a direct call, in batches of 256 frames with a microtask checkpoint between them as a port's
 * batches have; send does nothing), so the figure is the packet path itself, where policing sits.
 *
 * Three cases, each round running every case in a fresh process of its own (so that no case's
 * code is shaped by another's: a shared packet path that saw policers would not be the path of a
 * switch that never had one); the median of the rounds is reported:
 * - none:     no policer (every port's fields null): the path as every unpoliced port runs it;
 * - policed:  an ingress policer on port 1 and an egress policer on port 2, with a rate so high
 *             that every frame passes: the full cost of two buckets per frame (clock read and all);
 * - dropping: an ingress policer that drops every frame (after the first), each recorded in a
 *             drop log as a Switch records it (ofswitch/drops): the cost of a policed flood.
 * With `--root DIR` the 'none' case is also run against another build's dist/ (e.g. the main
 * checkout's, before policing existed), to show what the two field tests cost when nothing polices.
 *
 *   node dist/bench/policer.js [--frames N] [--rounds N] [--root /work/main/dist] [--json]
 */
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { DropLog } from '../datapath/drop-record.js';
import type { Match } from '../protocol/types.js';
import { benchOptions, count } from './bench-options.js';
import { port1ToPort2 } from './port-flow.js';

interface Opts {
  frames: number;
  rounds: number;
  root?: string;
  json?: boolean;
  only?: string;
}

const opts = benchOptions<Opts>('policer', "the packet path's cost of policing, frames per second in process", (c) =>
  c
    .option('--frames <n>', 'frames per round and case', count, 1_000_000)
    .option('--rounds <n>', 'rounds (each case once per round)', count, 7)
    .option('--root <dir>', "another build's dist/ to run the 'none' case against too")
    .option('--json', 'one JSON document on stdout')
    .option('--only <case>', '(internal) run one case in this process and print its rate: none, policed, dropping, or root'),
);

const log = (s: string): void => void process.stderr.write(`${s}\n`);

/** The modules a case needs, from this build or another one's dist/. */
interface Modules {
  Datapath: new (o: object) => {
    registry: { addPort(net: object, no: number): unknown; setPolicer?(no: number, d: string, s: object | null): boolean };
    close(): void;
  };
  FlowTable: new () => { flowMod(m: object): unknown };
  matchWith: (fields: Partial<Match>) => Match;
}

async function load(root: string): Promise<Modules> {
  const dp = (await import(`${root}/datapath/datapath.js`)) as { Datapath: Modules['Datapath'] };
  const ft = (await import(`${root}/flowtable/flow-table.js`)) as { FlowTable: Modules['FlowTable'] };
  const m = (await import(`${root}/protocol/match.js`)) as { matchWith: Modules['matchWith'] };
  return { Datapath: dp.Datapath, FlowTable: ft.FlowTable, matchWith: m.matchWith };
}

/** A port whose receive the bench calls directly and whose send does nothing. */
class StubPort {
  readonly name: string;
  deliver: (frame: Uint8Array) => void = () => undefined;
  constructor(name: string) {
    this.name = name;
  }
  open(onFrame: (frame: Uint8Array) => void): void {
    this.deliver = onFrame;
  }
  send(): void {}
  readLink() {
    return { adminUp: true, carrier: true, hwAddr: '02:00:00:00:00:01', speedMbps: 10_000 };
  }
  async setAdminUp(): Promise<void> {}
  close(): void {}
}

type Case = 'none' | 'policed' | 'dropping';

function build(mods: Modules, kind: Case): { run: (n: number) => Promise<void>; close: () => void } {
  const table = new mods.FlowTable();
  table.flowMod(port1ToPort2(mods.matchWith));
  // The drop log a Switch gives its datapath: every policed frame is recorded in it.
  const dp = new mods.Datapath({ flowTable: table, linkPollMs: 0, ...(kind === 'dropping' ? { drops: new DropLog() } : {}) });
  const a = new StubPort('a');
  const b = new StubPort('b');
  dp.registry.addPort(a, 1);
  dp.registry.addPort(b, 2);
  if (kind === 'policed') {
    dp.registry.setPolicer!(1, 'ingress', { rate: 1e15, size: 1e12 });
    dp.registry.setPolicer!(2, 'egress', { rate: 1e15, size: 1e12 });
  } else if (kind === 'dropping') {
    dp.registry.setPolicer!(1, 'ingress', { rate: 1e-9, size: 100 });
  }
  // A 64-byte UDP frame.
  const frame = new Uint8Array(64);
  frame.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45, 0, 0, 50, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0, 1, 0, 2, 0, 30, 0, 0]);
  return {
    // In batches of 256 frames, a microtask checkpoint between them, as a port delivers them.
    run: async (n) => {
      const deliver = a.deliver;
      for (let i = 0; i < n; i += 256) {
        for (let j = 0; j < 256; j++) deliver(frame);
        await undefined;
      }
    },
    close: () => dp.close(),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)]!;
}

/** One case in this process: warm up, then frames/s of one timed run. */
async function runOne(only: string): Promise<void> {
  const root = only === 'root' ? opts.root! : '..';
  const kind: Case = only === 'root' ? 'none' : (only as Case);
  const c = build(await load(root), kind);
  await c.run(Math.min(opts.frames, 300_000)); // optimised code from here
  const start = performance.now();
  await c.run(opts.frames);
  const rate = opts.frames / ((performance.now() - start) / 1000);
  c.close();
  process.stdout.write(`${rate}\n`);
}

async function main(): Promise<void> {
  if (opts.only !== undefined) return runOne(opts.only);
  const cases: { name: string; only: string }[] = [
    { name: 'none', only: 'none' },
    { name: 'policed', only: 'policed' },
    { name: 'dropping', only: 'dropping' },
  ];
  if (opts.root !== undefined) cases.push({ name: `none (${opts.root})`, only: 'root' });
  const rates = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (let r = 0; r < opts.rounds; r++) {
    for (const c of cases) {
      const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--frames', String(opts.frames), '--only', c.only, ...(opts.root ? ['--root', opts.root] : [])], {
        encoding: 'utf8',
      });
      rates.get(c.name)!.push(Number(out.trim()));
    }
  }
  const results = cases.map((c) => {
    const m = median(rates.get(c.name)!);
    return { case: c.name, framesPerSec: Math.round(m), nsPerFrame: Number((1e9 / m).toFixed(1)) };
  });
  if (opts.json) process.stdout.write(`${JSON.stringify({ frames: opts.frames, rounds: opts.rounds, results }, null, 2)}\n`);
  else for (const r of results) log(`${r.case.padEnd(28)} ${(r.framesPerSec / 1e6).toFixed(2)} M frames/s  ${r.nsPerFrame.toFixed(1)} ns/frame`);
}

await main();
