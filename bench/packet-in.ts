/**
 * Packet-in benchmark: how fast a switch hands table misses to a controller, and how fast it sets
 * up flows that a controller installs, for ofswitch and for Open vSwitch's userspace datapath
 * (datapath_type=netdev) given the same load and the same controller.
 *
 * Topology, built anew for every run of every switch and removed afterwards (also on failure or ^C):
 *   namespace <p>tx (eth0) <-veth-> <p>a  [switch namespace <p>sw + controller]  <p>b <-veth-> (eth0) namespace <p>rx
 * The switch (bench/switches.ts) runs pinned to CPU 1 with fail_mode=secure, an empty flow table
 * and one controller, tcp:127.0.0.1:6653 in its namespace: bench/bench-controller.ts, a Node.js
 * process pinned to CPU 0 beside trafgen, which sends 64-byte UDP frames from <p>tx at a fixed
 * rate (`--offered`, frames/s, meant to be above what either switch can punt), a random source
 * and destination UDP port on every frame (trafgen drnd()), so that (almost) every frame is a flow
 * the switch has not seen.
 *
 * Two cases:
 * - punt: the controller counts PACKET_INs and answers none. Reported: PACKET_INs the controller
 *   received per second.
 * - flow setup: the controller answers each PACKET_IN with a FLOW_MOD for the packet's exact flow
 *   naming its buffer_id, as ovs-testcontroller does (Open vSwitch 3.1 buffers nothing and sends
 *   buffer_id -1: the controller then sends the FLOW_MOD without a buffer and a PACKET_OUT with the
 *   frame). Reported: frames that reach the receiving host per second (each one a flow set up:
 *   released through its new flow, or sent by the PACKET_OUT), and flows added to the switch's
 *   table per second (ovs-ofctl dump-aggregate before and after the window), beside the
 *   FLOW_MODs the controller sent and the errors the switch returned.
 * Measured over all but the first second of each run; the counts over the whole run are checked:
 * no more PACKET_INs and no more frames at the receiver than frames sent. Switches run in
 * alternating order (A B, B A, A B), `--runs` times each (default 3); the median and the range are
 * reported.
 *
 *   npm run bench:packet-in [-- --seconds N] [-- --runs N] [-- --offered PPS] [-- --json]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Counters } from './bench-controller.js';
import { ControllerProcess } from './controller-process.js';
import { SWITCHES, SWITCH_LABEL, startSwitch, type SwitchName } from './switches.js';
import {
  FRAMES, TrafgenRig, alternating, fmtSpread, log, spread, type Measurement, type Spread,
} from './trafgen-rig.js';
import { above, benchOptions, count, positive } from './bench-options.js';

const ARGS = benchOptions<{ seconds: number; runs: number; offered: number; json: boolean }>(
  'packet-in',
  'How fast ofswitch and Open vSwitch userspace hand table misses to a controller (punt) and set up the flows it ' +
    'installs (flow setup), side by side. Needs root, trafgen and Open vSwitch; run it under flock /tmp/ovs-userspace.lock.',
  (c) => c
    .option('--seconds <n>', 'length of each run (the first second is warm-up)', above(1), 4)
    .option('--runs <n>', 'runs of each switch and case, alternating which goes first', count, 3)
    .option('--offered <pps>', 'frames per second trafgen offers', positive, 100_000)
    .option('--json', 'one JSON document on stdout', false),
);
const CONTROLLER = join(dirname(fileURLToPath(import.meta.url)), 'bench-controller.js');
const CONTROLLER_PORT = 6653;
/** ofswitch's --controller-rate-limit for this benchmark: far above any rate it reaches. */
const PUNT_UNLIMITED = 10_000_000;
/** How long dump-aggregate may take during traffic before the switch counts as not answering. */
const FLOW_COUNT_TIMEOUT_SEC = 5;

type Mode = 'count' | 'setup';

/** The controller process, its lines read one at a time. */
interface Run {
  m: Measurement;
  packetInsPerSec: number;
  /** Flows added to the table per second (setup); null when the switch did not answer dump-aggregate in time. */
  flowsPerSec: number | null;
  flowModsPerSec: number;
  /** Share of PACKET_INs that carried a buffer_id. */
  bufferedShare: number;
  errors: Record<string, number>;
}

async function runOnce(mode: Mode, name: SwitchName): Promise<Run> {
  const rig = new TrafgenRig(name === 'ofswitch' ? 'pw' : 'po', { switchNamespace: true });
  try {
    const sw = rig.ns.sw as string;
    const ctl = new ControllerProcess<Counters>(rig.track(spawn(
      'ip',
      ['netns', 'exec', sw, 'taskset', '-c', '0', process.execPath, CONTROLLER, '--port', String(CONTROLLER_PORT), '--mode', mode,
        '--out-port', '2'],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    )));
    await ctl.expect('listening');
    // No effective packet-in limit on ofswitch (Open vSwitch has none by default): this measures
    // how fast the switch punts, not its default limit of 10,000/s per kind.
    const bench = await startSwitch(name, rig, { controllerPort: CONTROLLER_PORT, ...(name === 'ofswitch' ? { controllerRateLimit: PUNT_UNLIMITED } : {}) });
    await ctl.expect('connected');
    const before = await ctl.stats();
    const samples: { c: Counters & { at: number }; flows: number | null; flowsAt: number }[] = [];
    const m = await rig.measure(ARGS.seconds, {
      frame: FRAMES.newFlows,
      ratePps: ARGS.offered,
      during: async () => {
        const c = await ctl.stats();
        const t0 = process.hrtime.bigint();
        const flows = mode === 'setup' ? bench.flowCount(FLOW_COUNT_TIMEOUT_SEC) : 0;
        const flowsAt = (Number(t0) + Number(process.hrtime.bigint())) / 2e9;
        samples.push({ c, flows, flowsAt });
      },
    });
    const after = await ctl.stats();
    await bench.stop();
    const [a, b] = samples as [(typeof samples)[0], (typeof samples)[0]];
    const packetIns = after.packetIns - before.packetIns;
    if (packetIns > m.sentTotal) throw new Error(`${name}: ${packetIns} PACKET_INs for ${m.sentTotal} frames sent`);
    if (m.receivedTotal > m.sentTotal) throw new Error(`${name}: ${m.receivedTotal} frames received for ${m.sentTotal} sent`);
    if (mode === 'count' && m.receivedTotal > 0) throw new Error(`${name}: ${m.receivedTotal} frames forwarded with no flow`);
    const dt = b.c.at - a.c.at;
    const run: Run = {
      m,
      packetInsPerSec: (b.c.packetIns - a.c.packetIns) / dt,
      flowsPerSec: a.flows === null || b.flows === null ? null : (b.flows - a.flows) / (b.flowsAt - a.flowsAt),
      flowModsPerSec: (b.c.flowMods - a.c.flowMods) / dt,
      bufferedShare: packetIns > 0 ? (after.buffered - before.buffered) / packetIns : 0,
      errors: after.errors,
    };
    log(`  ${name.padEnd(8)} ${mode}: offered ${Math.round(m.offeredPerSec)}/s, PACKET_IN ${Math.round(run.packetInsPerSec)}/s` +
      (mode === 'setup'
        ? `, FLOW_MOD ${Math.round(run.flowModsPerSec)}/s, flows +${run.flowsPerSec === null ? '? (no answer to dump-aggregate)' : Math.round(run.flowsPerSec)}/s, delivered ${Math.round(m.receivedPerSec)}/s`
        : '') +
      `, buffered ${(run.bufferedShare * 100).toFixed(0)} %${Object.keys(run.errors).length > 0 ? `, errors ${JSON.stringify(run.errors)}` : ''}`);
    return run;
  } finally {
    rig.cleanup();
  }
}

interface SwitchResult {
  switch: SwitchName;
  offeredPerSec: Spread;
  packetInsPerSec: Spread;
  bufferedShare: Spread;
  /** Setup only. */
  deliveredPerSec?: Spread;
  /** Over the runs in which the switch answered dump-aggregate during traffic (null: none did). */
  flowsAddedPerSec?: Spread | null;
  /** Runs in which it did not answer within FLOW_COUNT_TIMEOUT_SEC. */
  flowCountUnanswered?: number;
  flowModsPerSec?: Spread;
  /** Errors the switch sent, summed over the runs, by "type/code". */
  errors: Record<string, number>;
}

async function main(): Promise<void> {
  log(`bench:packet-in: ${ARGS.runs} runs a switch and case, ${ARGS.seconds} s a run, ${ARGS.offered} frames/s offered, ` +
    'each frame a new flow; trafgen and the controller on CPU 0, switch on CPU 1');
  const cases: { case: string; switches: SwitchResult[]; ratio: number }[] = [];
  for (const mode of ['count', 'setup'] as const) {
    const caseName = mode === 'count' ? 'punt' : 'flow-setup';
    log(caseName);
    const runs = await alternating(SWITCHES, ARGS.runs, (name) => runOnce(mode, name as SwitchName));
    const switches = SWITCHES.map((name): SwitchResult => {
      const r = runs.get(name)!;
      const errors: Record<string, number> = {};
      for (const x of r) for (const [k, v] of Object.entries(x.errors)) errors[k] = (errors[k] ?? 0) + v;
      const res: SwitchResult = {
        switch: name,
        offeredPerSec: spread(r.map((x) => x.m.offeredPerSec)),
        packetInsPerSec: spread(r.map((x) => x.packetInsPerSec)),
        bufferedShare: spread(r.map((x) => x.bufferedShare), 3),
        errors,
      };
      if (mode === 'setup') {
        res.deliveredPerSec = spread(r.map((x) => x.m.receivedPerSec));
        const answered = r.map((x) => x.flowsPerSec).filter((x): x is number => x !== null);
        res.flowsAddedPerSec = answered.length > 0 ? spread(answered) : null;
        res.flowCountUnanswered = r.length - answered.length;
        res.flowModsPerSec = spread(r.map((x) => x.flowModsPerSec));
      }
      return res;
    });
    const [a, b] = switches as [SwitchResult, SwitchResult];
    const key = (s: SwitchResult): number => (mode === 'count' ? s.packetInsPerSec.median : s.deliveredPerSec!.median);
    cases.push({ case: caseName, switches, ratio: Number((key(a) / key(b)).toFixed(3)) });
  }
  if (ARGS.json) {
    process.stdout.write(`${JSON.stringify({ seconds: ARGS.seconds, runs: ARGS.runs, offeredPps: ARGS.offered, node: process.version, cases }, null, 2)}\n`);
    return;
  }
  const [punt, setup] = cases as [(typeof cases)[0], (typeof cases)[0]];
  console.log('\npunt: table misses to a counting controller\n');
  console.log('| switch | PACKET_INs/s | offered, frames/s | buffered |\n| --- | ---: | ---: | ---: |');
  for (const s of punt.switches) {
    console.log(`| ${SWITCH_LABEL[s.switch]} | ${fmtSpread(s.packetInsPerSec)} | ${fmtSpread(s.offeredPerSec)} | ` +
      `${(s.bufferedShare.median * 100).toFixed(0)} % |`);
  }
  console.log(`\nofswitch / Open vSwitch = ${punt.ratio.toFixed(2)}`);
  console.log('\nflow setup: FLOW_MOD (+ PACKET_OUT without a buffer) for every PACKET_IN\n');
  console.log('| switch | flows set up (frames delivered)/s | flows added/s | FLOW_MODs sent/s | offered, frames/s | errors |\n' +
    '| --- | ---: | ---: | ---: | ---: | --- |');
  for (const s of setup.switches) {
    const errors = Object.entries(s.errors).map(([k, v]) => `${k}: ${v}`).join(', ') || 'none';
    const added = (s.flowsAddedPerSec ? fmtSpread(s.flowsAddedPerSec) : 'no answer') +
      (s.flowCountUnanswered ? ` (${s.flowCountUnanswered} of ${ARGS.runs} runs: no answer in ${FLOW_COUNT_TIMEOUT_SEC} s)` : '');
    console.log(`| ${SWITCH_LABEL[s.switch]} | ${fmtSpread(s.deliveredPerSec!)} | ${added} | ` +
      `${fmtSpread(s.flowModsPerSec!)} | ${fmtSpread(s.offeredPerSec)} | ${errors} |`);
  }
  console.log(`\nofswitch / Open vSwitch = ${setup.ratio.toFixed(2)}`);
  console.log(`\nmedian (lowest–highest) of ${ARGS.runs} runs each, alternating order`);
}

main().catch((e: unknown) => {
  log(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
