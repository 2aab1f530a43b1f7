/**
 * MAC-flood benchmark: forwarding rate over time while every frame comes from a new random
 * source MAC, through ofswitch and through Open vSwitch's userspace datapath, both running the
 * learning bridge (the one flow `actions=NORMAL`) on the same topology (bench/trafgen-rig.ts):
 *   namespace <p>tx (eth0) <-veth-> <p>a  [switch namespace <p>sw]  <p>b <-veth-> (eth0) namespace <p>rx
 * trafgen sends 64-byte UDP frames from <p>tx (CPU 0) as fast as it can, each from
 * 02:XX:XX:XX:XX:XX (five random bytes: practically never the same MAC twice) to the receiver's
 * MAC, which the switch never learns, so every frame is flooded to port 2; the switch runs on CPU 1.
 * Every frame teaches the switch a new MAC: the table fills to its size (8,192 by default in both)
 * and from then on every frame evicts one entry.
 *
 * What is measured: the frames/s reaching the receiver (its kernel's rx_packets) in consecutive
 * buckets of `--bucket` seconds over `--seconds` (after one second of warm-up), and the switch
 * process's resident memory at the end of each bucket. A flat rate is the goal: the figure of merit
 * is the last bucket's rate over the first's ("flatness"), beside Open vSwitch's.
 *
 *   npm run bench:mac-flood [-- --seconds N] [-- --bucket N] [-- --runs N] [-- --quick] [-- --json]
 *
 * Defaults: 90 s in 10-s buckets, 1 run a switch; `--quick`: 12 s in 3-s buckets (development).
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TrafgenRig, alternating, benchArgs, log, sleep } from './trafgen-rig.js';
import { SWITCHES, SWITCH_LABEL, startSwitch, type SwitchName } from './switches.js';

const QUICK = process.argv.includes('--quick');
const ARGS = benchArgs(QUICK ? 12 : 90, { bucket: QUICK ? 3 : 10 });
if (!process.argv.includes('--runs')) ARGS.runs = 1;

/**
 * 64-byte frames (60 + FCS) from a random unicast source MAC (drnd(5): five random bytes after
 * 0x02) to 02:00:00:00:00:02: IPv4 10.99.0.1 -> 10.99.0.2, UDP 1000 -> 2000, written out byte by
 * byte (trafgen loops without sending when its ipv4()/udp() helpers follow raw bytes).
 */
const FLOOD_FRAME =
  '{ 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, drnd(5), c16(0x0800),\n' +
  '  0x45, 0x00, c16(46), c16(0), c16(0), 64, 17, csumip(14, 33), 10, 99, 0, 1, 10, 99, 0, 2,\n' +
  '  c16(1000), c16(2000), c16(26), c16(0), fill(0x00, 18) }\n';

interface Bucket {
  /** Seconds since the warm-up ended, at the bucket's end. */
  endSec: number;
  receivedPerSec: number;
  offeredPerSec: number;
  rssMiB: number;
}

interface Run {
  buckets: Bucket[];
  /** The last bucket's rate over the first's. */
  flatness: number;
  receivedPerSec: number;
}

function rssMiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function runOnce(name: SwitchName): Promise<Run> {
  const rig = new TrafgenRig(name === 'ofswitch' ? 'mf' : 'mo', { switchNamespace: true });
  try {
    const sw = await startSwitch(name, rig);
    sw.ofctl('add-flow', 'actions=NORMAL');
    if (sw.flowCount() !== 1) throw new Error(`${name}: the NORMAL flow is not installed`);
    const conf = join(rig.workDir, 'flood.cfg');
    writeFileSync(conf, FLOOD_FRAME);
    const gen = rig.track(
      spawn('ip', ['netns', 'exec', rig.ns.tx, 'taskset', '-c', '0', 'trafgen', '--dev', 'eth0', '--conf', conf, '-P', '1', '-q'], {
        stdio: ['ignore', 'ignore', 'pipe'],
        detached: true,
      }),
    );
    let stderr = '';
    gen.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise((r) => gen.once('exit', r));
    const alive = (): void => {
      if (gen.exitCode !== null || gen.signalCode !== null) throw new Error(`trafgen stopped early: ${stderr.trim()}`);
    };
    await sleep(1000);
    alive();
    const start = process.hrtime.bigint();
    let t0 = start;
    let rx0 = rig.rxPackets();
    let tx0 = rig.txPackets();
    const buckets: Bucket[] = [];
    const n = Math.max(1, Math.floor(ARGS.seconds / ARGS.bucket));
    for (let i = 0; i < n; i++) {
      await sleep(ARGS.bucket * 1000);
      const t1 = process.hrtime.bigint();
      const rx1 = rig.rxPackets();
      const tx1 = rig.txPackets();
      const sec = Number(t1 - t0) / 1e9;
      buckets.push({
        endSec: Number((Number(t1 - start) / 1e9).toFixed(1)),
        receivedPerSec: Math.round((rx1 - rx0) / sec),
        offeredPerSec: Math.round((tx1 - tx0) / sec),
        rssMiB: Number(rssMiB(sw.pid).toFixed(1)),
      });
      [t0, rx0, tx0] = [t1, rx1, tx1];
    }
    alive();
    process.kill(-(gen.pid ?? 0), 'SIGINT');
    await exited;
    await sw.stop();
    const first = buckets[0]!.receivedPerSec;
    const last = buckets[buckets.length - 1]!.receivedPerSec;
    const total = buckets.reduce((s, b) => s + b.receivedPerSec, 0) / buckets.length;
    log(`  ${name.padEnd(8)} ${buckets.map((b) => b.receivedPerSec).join(' ')} frames/s; RSS ${buckets[0]!.rssMiB} -> ${buckets[buckets.length - 1]!.rssMiB} MiB`);
    return { buckets, flatness: Number((last / first).toFixed(3)), receivedPerSec: Math.round(total) };
  } finally {
    rig.cleanup();
  }
}

async function main(): Promise<void> {
  log(`bench:mac-flood: ${ARGS.runs} run(s) a switch, ${ARGS.seconds} s in ${ARGS.bucket}-s buckets; random source MAC on every frame, actions=NORMAL`);
  const runs = await alternating(SWITCHES, ARGS.runs, (name) => runOnce(name as SwitchName));
  const results = SWITCHES.map((name) => ({ switch: name, runs: runs.get(name)! }));
  if (ARGS.json) {
    process.stdout.write(`${JSON.stringify({ seconds: ARGS.seconds, bucket: ARGS.bucket, node: process.version, results }, null, 2)}\n`);
    return;
  }
  const buckets = results[0]!.runs[0]!.buckets.map((b) => b.endSec);
  console.log(`\n| switch | ${buckets.map((s) => `frames/s at ${s} s`).join(' | ')} | last / first | RSS at the end, MiB |`);
  console.log(`| --- | ${buckets.map(() => '---:').join(' | ')} | ---: | ---: |`);
  for (const r of results) {
    for (const run of r.runs) {
      const rss = run.buckets[run.buckets.length - 1]!.rssMiB;
      console.log(`| ${SWITCH_LABEL[r.switch]} | ${run.buckets.map((b) => b.receivedPerSec.toLocaleString('en')).join(' | ')} | ${run.flatness.toFixed(2)} | ${rss} |`);
    }
  }
  const mean = (name: SwitchName): number => {
    const rs = runs.get(name)!;
    return rs.reduce((s, r) => s + r.receivedPerSec, 0) / rs.length;
  };
  console.log(`\nofswitch / Open vSwitch, mean forwarding rate over the run: ${(mean('ofswitch') / mean('ovs')).toFixed(2)}`);
}

main().catch((e: unknown) => {
  log(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
