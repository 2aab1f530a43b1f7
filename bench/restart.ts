/**
 * Restart benchmark for the flow journal (journal/flow-journal.ts): ofswitch killed with SIGKILL
 * under a large flow table, and how long until it forwards again with the table restored.
 *
 * Topology, made anew and removed afterwards (also on failure or ^C), all inside namespaces:
 *   namespace <p>h1 (eth0 10.98.0.1) <-veth-> <p>a [namespace <p>sw: ofswitch] <p>b <-veth-> (eth0 10.98.0.2) namespace <p>h2
 * ofswitch runs with --fail-mode secure and the table given with `ovs-ofctl add-flows`:
 * `--entries` N (default 100,000) flows, N-2 of them `priority=100,ip,nw_dst=10.x.y.z,actions=drop`
 * (exact /32 destinations no test frame has) and the two that carry h1 <-> h2
 * (`priority=200,in_port=1,actions=output:2` and back).
 *
 * Measured, `--runs` times (default 3; median and range):
 * - add-flows rate with the journal on (`--flow-journal FILE`) and off, each on a fresh switch:
 *   flows per second `ovs-ofctl add-flows` takes to add the first `--ofctl-entries` M of them
 *   (default 5,000). ovs-ofctl sends a BARRIER
 *   after every FLOW_MOD and waits for its reply (vconn_transact_noreply), so with the journal on
 *   every flow costs one write(2) of its record (not an fdatasync: those are batched in the
 *   background): this is the journal's worst case;
 * - the same flows as one pipelined stream (every FLOW_MOD, then one BARRIER, over a raw
 *   OpenFlow connection), as a controller that batches sends them: flows per second until the
 *   BARRIER_REPLY, journal on and off;
 * - restart: the switch with the journal on, filled by the pipelined stream (N entries), once it
 *   is quiet: h1 pings h2 every 5 ms; the switch is killed with SIGKILL
 *   and the same command started at once. Reported: the ms from the kill to the first echo reply
 *   after it (forwarding resumed, through the restored flows: nothing else would carry it in
 *   secure mode), the ms from the kill to "switch started", the entries restored (the journal's
 *   log line, and dump-aggregate's flow_count after the restart), and the journal's size; beside
 *   it the ms from spawning a switch without a journal to its "switch started" (what a start
 *   costs anyway).
 *
 *   npm run bench:restart [-- --entries N] [-- --ofctl-entries M] [-- --runs N] [-- --quick] [-- --json]
 *
 * `--quick`: 10,000 entries, 1,000 through ovs-ofctl, one run.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { matchFrom } from '../lib/flow-spec.js';
import { MessageFramer, OFP_NO_BUFFER, OFP_VERSION, OFPAT, OFPFC, OFPP, OFPT, encodeMessage } from '../protocol/index.js';
import type { Match } from '../protocol/index.js';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const argv = process.argv.slice(2);
const num = (name: string, dflt: number): number => {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(argv[i + 1]);
  if (!(v > 0)) throw new Error(`--${name} needs a positive number, not ${String(argv[i + 1])}`);
  return v;
};
const QUICK = argv.includes('--quick');
const ENTRIES = Math.round(num('entries', QUICK ? 10_000 : 100_000));
const RUNS = Math.round(num('runs', QUICK ? 1 : 3));
/** Flows added with ovs-ofctl (one barrier, so one write of the journal, per flow). */
const OFCTL_ENTRIES = Math.min(ENTRIES, Math.round(num('ofctl-entries', QUICK ? 1000 : 5000)));
const JSON_OUT = argv.includes('--json');
const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'ofswitch.js');
const P = `rj${process.pid % 100000}`;
const NS = { sw: `${P}sw`, h1: `${P}h1`, h2: `${P}h2` };
/** The switch's OpenFlow socket: a unix socket, reachable from this namespace and the switch's. */
let SOCKET = '';
const target = (): string => `unix:${SOCKET}`;

const log = (s: string): void => void process.stderr.write(`${s}\n`);
const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 << 20 });
const inNs = (ns: string, cmd: string, args: string[]): string => sh('ip', ['netns', 'exec', ns, cmd, ...args]);

function cleanup(): void {
  for (const ns of Object.values(NS)) {
    try {
      sh('ip', ['netns', 'del', ns]);
    } catch {
      /* not there */
    }
  }
}

function topology(): void {
  cleanup();
  for (const ns of Object.values(NS)) sh('ip', ['netns', 'add', ns]);
  inNs(NS.sw, 'ip', ['link', 'set', 'lo', 'up']);
  const hosts: [string, string, string][] = [[NS.h1, `${P}a`, '10.98.0.1/24'], [NS.h2, `${P}b`, '10.98.0.2/24']];
  for (const [ns, port, ip] of hosts) {
    sh('ip', ['link', 'add', port, 'netns', NS.sw, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    inNs(NS.sw, 'ip', ['link', 'set', port, 'up']);
    inNs(ns, 'ip', ['addr', 'add', ip, 'dev', 'eth0']);
    inNs(ns, 'ip', ['link', 'set', 'eth0', 'up']);
  }
}

interface Running {
  readonly child: ChildProcess;
  readonly stderr: () => string;
  readonly exited: Promise<void>;
}

async function startSwitch(journal: string | null): Promise<Running> {
  rmSync(SOCKET, { force: true });
  const args = ['--port', `${P}a`, '--port', `${P}b`, '--listen', `punix:${SOCKET}`, '--fail-mode', 'secure', '--log-level', 'info'];
  if (journal) args.push('--flow-journal', journal);
  const child = spawn('ip', ['netns', 'exec', NS.sw, process.execPath, CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 120_000;
  while (!err.includes('"switch started"')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`ofswitch did not start:\n${err}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return { child, stderr: () => err, exited };
}

async function stopSwitch(s: Running): Promise<void> {
  s.child.kill('SIGTERM');
  await s.exited;
}

/** Gives a compaction the first fill may have started (logged when done) time to finish. */
async function waitQuiet(s: Running): Promise<void> {
  await new Promise((r) => setTimeout(r, 500));
  const deadline = Date.now() + 60_000;
  let seen = s.stderr().length;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    if (s.stderr().length === seen) return;
    seen = s.stderr().length;
  }
}

function flowsFile(dir: string): string {
  const lines = ['priority=200,in_port=1,actions=output:2', 'priority=200,in_port=2,actions=output:1'];
  for (let i = 0; lines.length < OFCTL_ENTRIES; i++) lines.push(`priority=100,ip,nw_dst=10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255},actions=drop`);
  const path = join(dir, 'flows.txt');
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

/** The same N flows as FLOW_MODs on one connection, then one BARRIER; seconds until its reply. */
async function pipelined(): Promise<number> {
  const msgs: Buffer[] = [encodeMessage({ version: OFP_VERSION, type: OFPT.HELLO, xid: 1, body: new Uint8Array(0) })];
  const mod = (match: Match, priority: number, port: number | null, xid: number): Buffer =>
    encodeMessage({
      version: OFP_VERSION, type: OFPT.FLOW_MOD, xid, match, cookie: 0n, command: OFPFC.ADD, idleTimeout: 0, hardTimeout: 0, priority,
      bufferId: OFP_NO_BUFFER, outPort: OFPP.NONE, flags: 0, actions: port === null ? [] : [{ type: OFPAT.OUTPUT, port, maxLen: 0 }],
    });
  msgs.push(mod(matchFrom({ inPort: 1 }), 200, 2, 2));
  msgs.push(mod(matchFrom({ inPort: 2 }), 200, 1, 3));
  for (let i = 0; msgs.length - 1 < ENTRIES; i++) msgs.push(mod(matchFrom({ dlType: 0x0800, nwDst: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` }), 100, null, i + 10));
  const BARRIER_XID = 0x7fffffff;
  msgs.push(encodeMessage({ version: OFP_VERSION, type: OFPT.BARRIER_REQUEST, xid: BARRIER_XID }));
  const wire = Buffer.concat(msgs);
  return new Promise<number>((resolve, reject) => {
    const socket = connect(SOCKET);
    const framer = new MessageFramer();
    let t0 = 0;
    socket.once('connect', () => {
      t0 = performance.now();
      socket.write(wire);
    });
    socket.on('data', (chunk: Buffer) => {
      for (const m of framer.push(chunk)) {
        if (m[1] === OFPT.ERROR) return reject(new Error('the switch refused a FLOW_MOD'));
        if (m[1] === OFPT.BARRIER_REPLY && Buffer.from(m).readUInt32BE(4) === BARRIER_XID) {
          socket.destroy();
          resolve((performance.now() - t0) / 1000);
        }
      }
    });
    socket.once('error', reject);
  });
}

function addFlows(file: string): number {
  const t0 = performance.now();
  sh('ovs-ofctl', ['--timeout=600', 'add-flows', target(), file]);
  return (performance.now() - t0) / 1000;
}

function flowCount(): number {
  const out = sh('ovs-ofctl', ['--timeout=120', 'dump-aggregate', target()]);
  return Number(/flow_count=(\d+)/.exec(out)?.[1] ?? NaN);
}

interface RestartResult {
  readonly forwardingMs: number;
  readonly startedMs: number;
  readonly restored: number;
  readonly flowCount: number;
  readonly journalBytes: number;
}

interface RunResult {
  readonly addOn: number;
  readonly addOff: number;
  readonly pipelinedOn: number;
  readonly pipelinedOff: number;
  readonly plainStartMs: number;
  readonly restart: RestartResult;
}

async function restartRun(dir: string, file: string): Promise<RunResult> {
  const journal = join(dir, 'br.flows');
  rmSync(journal, { force: true });
  let t0 = Date.now();
  const off = await startSwitch(null);
  const plainStartMs = Date.now() - t0;
  const pipelinedOff = ENTRIES / (await pipelined());
  await stopSwitch(off);
  const off2 = await startSwitch(null);
  const addOff = OFCTL_ENTRIES / addFlows(file);
  await stopSwitch(off2);
  const on1 = await startSwitch(journal);
  const addOn = OFCTL_ENTRIES / addFlows(file);
  await stopSwitch(on1);
  rmSync(journal, { force: true });
  const on = await startSwitch(journal);
  const pipelinedOn = ENTRIES / (await pipelined());
  await waitQuiet(on); // the background compaction of a first fill, if any, is not part of the restart
  const journalBytes = statSync(journal).size;

  // h1 pings h2 every 5 ms, timestamps on
  const ping = spawn('ip', ['netns', 'exec', NS.h1, 'ping', '-D', '-n', '-i', '0.005', '-W', '1', '10.98.0.2'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const replies: number[] = [];
  let buf = '';
  ping.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const m = /^\[(\d+\.\d+)\] \d+ bytes from/.exec(line);
      if (m) replies.push(Number(m[1]) * 1000);
    }
  });
  const until = async (check: () => boolean, what: string, ms = 120_000): Promise<void> => {
    const end = Date.now() + ms;
    while (!check()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  };
  try {
    await until(() => replies.length >= 20, 'pings through the switch before the kill', 20_000);
    t0 = Date.now();
    const killedAt = t0;
    on.child.kill('SIGKILL');
    await on.exited;
    const again = await startSwitch(journal);
    const startedMs = Date.now() - killedAt;
    await until(() => replies.some((r) => r > killedAt + 1), 'an echo reply after the restart');
    const forwardingMs = replies.find((r) => r > killedAt + 1)! - killedAt;
    const restored = Number(/"entries":(\d+),"records":\d+,"msg":"flow journal restored"/.exec(again.stderr())?.[1] ?? NaN);
    const count = flowCount();
    await stopSwitch(again);
    return { addOn, addOff, pipelinedOn, pipelinedOff, plainStartMs, restart: { forwardingMs, startedMs, restored, flowCount: count, journalBytes } };
  } finally {
    ping.kill('SIGTERM');
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (xs: number[], digits = 0): string =>
  `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)})`;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ofswitch-bench-restart-'));
  process.once('SIGINT', () => {
    cleanup();
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  });
  try {
    topology();
    SOCKET = join(dir, 'sw.mgmt');
    const file = flowsFile(dir);
    const runs: RunResult[] = [];
    for (let i = 0; i < RUNS; i++) {
      log(`run ${i + 1}/${RUNS}: ${ENTRIES} entries`);
      runs.push(await restartRun(dir, file));
      log(`  ${JSON.stringify(runs.at(-1))}`);
    }
    const result = {
      entries: ENTRIES,
      runs: RUNS,
      addFlowsPerSecJournalOn: runs.map((r) => r.addOn),
      addFlowsPerSecJournalOff: runs.map((r) => r.addOff),
      pipelinedPerSecJournalOn: runs.map((r) => r.pipelinedOn),
      pipelinedPerSecJournalOff: runs.map((r) => r.pipelinedOff),
      plainStartMs: runs.map((r) => r.plainStartMs),
      killToForwardingMs: runs.map((r) => r.restart.forwardingMs),
      killToStartedMs: runs.map((r) => r.restart.startedMs),
      restored: runs.map((r) => r.restart.restored),
      flowCountAfter: runs.map((r) => r.restart.flowCount),
      journalBytes: runs.map((r) => r.restart.journalBytes),
    };
    if (JSON_OUT) {
      process.stdout.write(JSON.stringify(result) + '\n');
      return;
    }
    const ratio = runs.map((r) => r.addOn / r.addOff);
    const pipeRatio = runs.map((r) => r.pipelinedOn / r.pipelinedOff);
    process.stdout.write(
      [
        `flow journal restart benchmark: ${ENTRIES} entries (${OFCTL_ENTRIES} through ovs-ofctl), ${RUNS} run(s), median (range)`,
        `  add-flows, journal off:  ${fmt(result.addFlowsPerSecJournalOff)} flows/s`,
        `  add-flows, journal on:   ${fmt(result.addFlowsPerSecJournalOn)} flows/s  (on/off ${fmt(ratio, 2)}; ovs-ofctl waits for a barrier after every flow)`,
        `  pipelined, journal off:  ${fmt(result.pipelinedPerSecJournalOff)} flows/s`,
        `  pipelined, journal on:   ${fmt(result.pipelinedPerSecJournalOn)} flows/s  (on/off ${fmt(pipeRatio, 2)})`,
        `  kill -9 -> forwarding:   ${fmt(result.killToForwardingMs)} ms  (kill -9 -> "switch started" ${fmt(result.killToStartedMs)} ms; a start without journal ${fmt(result.plainStartMs)} ms)`,
        `  entries restored:        ${result.restored.join(', ')} (dump-aggregate after: ${result.flowCountAfter.join(', ')})`,
        `  journal size:            ${fmt(result.journalBytes.map((b) => b / 1e6), 1)} MB`,
        '',
      ].join('\n'),
    );
  } finally {
    cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
