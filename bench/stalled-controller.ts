/**
 * Stalled-controller benchmark: a controller that completes the handshake and then never reads,
 * while a table-miss flood (a new flow on almost every frame) hits the switch; the switch's
 * resident memory (VmRSS of node; of ovs-vswitchd) is sampled every second, for ofswitch and for
 * Open vSwitch's userspace datapath, one after the other on the same rig (bench/trafgen-rig.ts,
 * bench/switches.ts: fail_mode=secure, the controller at tcp:127.0.0.1:6653 in the switch's
 * namespace, the default probe interval of 5 s).
 *
 * The controller is this file run with `--serve PORT` in the switch namespace: it sends HELLO to
 * each switch that connects, then stops reading (and never sends again), and prints one line per
 * connection, so the benchmark also reports how often the switch dropped it and came back.
 *
 * Reported per switch: RSS before the flood, its peak and its last value during the flood, the
 * growth, the connections the stalled controller saw (1 + the times it was dropped and
 * reconnected), and the offered load. The goal (issue 10): ofswitch grows by less than 300 MB
 * during a 25-second, 100k frames/s flood and stays bounded.
 *
 *   npm run bench:stalled-controller [-- --seconds 25] [-- --offered 100000] [-- --switch ofswitch|ovs] [-- --quick] [-- --json]
 *
 * Run it under the machine-wide lock of Open vSwitch userspace:
 *   flock /tmp/ovs-userspace.lock npm run bench:stalled-controller
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { OFP_VERSION, OFPT } from '../protocol/index.js';
import { SWITCHES, SWITCH_LABEL, startSwitch, type SwitchName } from './switches.js';
import { FRAMES, TrafgenRig, log, sleep } from './trafgen-rig.js';

const CONTROLLER_PORT = 6653;
const SELF = fileURLToPath(import.meta.url);

/** The controller that never reads: `--serve PORT`. */
async function serve(port: number): Promise<void> {
  let n = 0;
  const server = createServer((socket) => {
    n++;
    socket.on('error', () => undefined);
    socket.write(Buffer.from([OFP_VERSION, OFPT.HELLO, 0, 8, 0, 0, 0, 1]));
    socket.pause();
    process.stdout.write(`connection ${n}\n`);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  process.stdout.write('listening\n');
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

function positive(name: string, dflt: number): number {
  const text = argValue(name);
  if (text === undefined) return dflt;
  const v = Number(text);
  if (!(v > 0)) throw new Error(`--${name} needs a positive number, not ${text}`);
  return v;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) / 1024;
}

interface Result {
  readonly switch: SwitchName;
  readonly rssBeforeMb: number;
  readonly rssPeakMb: number;
  readonly rssLastMb: number;
  readonly growthMb: number;
  /** RSS each second of the flood, MB. */
  readonly samplesMb: readonly number[];
  /** Connections the stalled controller accepted (1 + reconnections after a drop). */
  readonly controllerConnections: number;
  readonly offeredPerSec: number;
  readonly seconds: number;
}

async function runOne(name: SwitchName, seconds: number, offered: number): Promise<Result> {
  const rig = new TrafgenRig('sc', { switchNamespace: true });
  try {
    const controller = rig.track(
      spawn('ip', ['netns', 'exec', rig.ns.sw as string, process.execPath, SELF, '--serve', String(CONTROLLER_PORT)], { stdio: ['ignore', 'pipe', 'inherit'] }),
    );
    let connections = 0;
    let listening = false;
    createInterface({ input: controller.stdout! }).on('line', (l) => {
      if (l === 'listening') listening = true;
      else if (l.startsWith('connection ')) connections = Number(l.slice('connection '.length));
    });
    for (let i = 0; !listening; i++) {
      if (i > 100) throw new Error('the stalled controller did not start');
      await sleep(100);
    }
    const sw = await startSwitch(name, rig, { controllerPort: CONTROLLER_PORT });
    try {
      for (let i = 0; connections === 0; i++) {
        if (i > 150) throw new Error(`${name} did not connect to the controller`);
        await sleep(100);
      }
      await sleep(1000);
      const before = rssMb(sw.pid);
      const samples: number[] = [];
      const sampler = setInterval(() => samples.push(rssMb(sw.pid)), 1000);
      let m;
      try {
        m = await rig.measure(seconds, { frame: FRAMES.newFlows, ratePps: offered });
      } finally {
        clearInterval(sampler);
      }
      samples.push(rssMb(sw.pid));
      const peak = Math.max(before, ...samples);
      return {
        switch: name,
        rssBeforeMb: before,
        rssPeakMb: peak,
        rssLastMb: samples.at(-1) ?? before,
        growthMb: peak - before,
        samplesMb: samples,
        controllerConnections: connections,
        offeredPerSec: m.offeredPerSec,
        seconds,
      };
    } finally {
      await sw.stop();
    }
  } finally {
    rig.cleanup();
  }
}

async function main(): Promise<void> {
  const port = argValue('serve');
  if (port !== undefined) return serve(Number(port));
  const quick = process.argv.includes('--quick');
  const seconds = positive('seconds', quick ? 5 : 25);
  const offered = positive('offered', 100_000);
  const only = argValue('switch');
  if (only !== undefined && !SWITCHES.includes(only as SwitchName)) throw new Error(`--switch: one of ${SWITCHES.join(', ')}`);
  const names = only ? [only as SwitchName] : [...SWITCHES];
  const results: Result[] = [];
  for (const name of names) {
    log(`${SWITCH_LABEL[name]}: stalled controller, ${offered} frames/s of misses for ${seconds} s`);
    const r = await runOne(name, seconds, offered);
    log(`  RSS ${r.samplesMb.map((x) => x.toFixed(0)).join(' ')} MB`);
    results.push(r);
  }
  if (process.argv.includes('--json')) {
    process.stdout.write(JSON.stringify(results, null, 2) + '\n');
    return;
  }
  const mb = (x: number): string => `${x.toFixed(0)} MB`;
  const lines = [
    `Stalled controller + ${offered.toLocaleString('en')} frames/s table-miss flood for ${seconds} s`,
    '',
    '| switch | RSS before | peak | last | growth | controller connections | offered, frames/s |',
    '|---|---|---|---|---|---|---|',
    ...results.map((r) =>
      `| ${SWITCH_LABEL[r.switch]} | ${mb(r.rssBeforeMb)} | ${mb(r.rssPeakMb)} | ${mb(r.rssLastMb)} | ${mb(r.growthMb)} | ${r.controllerConnections} | ${Math.round(r.offeredPerSec).toLocaleString('en')} |`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((err: unknown) => {
  log(err instanceof Error ? err.stack : err);
  process.exit(1);
});
