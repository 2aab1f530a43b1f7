/**
 * `npm run fuzz -- --minutes N`: the wire fuzzer (bench/fuzz/wire-fuzz.ts) for as long as asked,
 * against a switch made in this process with the library API (two memory ports, a TCP listener
 * on loopback), or against any running switch given with --target (ofswitch's command, or Open
 * vSwitch: `ip netns exec NS node dist/bench/fuzz.js --target tcp:127.0.0.1:PORT`).
 *
 * Prints one JSON summary (sessions, messages, errors received, monitor echo latencies, log lines
 * and bytes of the in-process switch); each finding on stderr with the bytes that caused it, and,
 * with --save DIR, as DIR/finding-SEED-SESSION.bin, ready to join test/fuzz-corpus. Exit status 1
 * when anything was found, 2 for a bad option.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { createLogger } from '../lib/log.js';
import { createSwitch } from '../lib/switch.js';
import { loadCorpus } from './fuzz/mutate.js';
import { fuzzWire, type Finding, type FuzzTarget } from './fuzz/wire-fuzz.js';

function num(min: number, integer = false): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) throw new InvalidArgumentError(`needs ${integer ? 'an integer' : 'a number'} of at least ${min}`);
    return n;
  };
}

function target(value: string): FuzzTarget {
  const m = /^tcp:([^:]+):(\d+)$/.exec(value);
  if (!m || Number(m[2]) > 65535) throw new InvalidArgumentError('needs tcp:IP:PORT');
  return { host: m[1] as string, port: Number(m[2]) };
}

interface Options {
  minutes?: number;
  seconds?: number;
  seed: number;
  target?: FuzzTarget;
  concurrency: number;
  churn: number;
  maxMessages: number;
  replyBound: number;
  echoInterval: number;
  corpus: string;
  save?: string;
  codecRuns?: number;
}

const program = new Command('fuzz')
  .description('Sends mutated OpenFlow 1.0 messages to a switch over TCP: fails on an internal exception, a hang, or an unanswered echo.')
  .option('--minutes <n>', 'length of the run (default 1)', num(0.01))
  .option('--seconds <n>', 'length of the run in seconds (instead of --minutes)', num(1))
  .option('--seed <n>', 'seed of every random choice (the same seed sends the same bytes)', num(0, true), 20261127)
  .option('--target <tcp:IP:PORT>', 'fuzz a switch already running there (default: one made in this process)', target)
  .option('--concurrency <n>', 'fuzzing sessions at once', num(1, true), 4)
  .option('--churn <fraction>', 'share of sessions that only open and drop a connection', num(0), 0.1)
  .option('--max-messages <n>', 'the most mutated messages in one session', num(1, true), 8)
  .option('--reply-bound <ms>', 'how long a session may take to end after its last byte', num(10, true), 5000)
  .option('--echo-interval <ms>', 'the well-behaved connection\'s echo interval (0: none)', num(0, true), 100)
  .option('--corpus <dir>', 'the corpus to mutate', fileURLToPath(new URL('../../test/fuzz-corpus/', import.meta.url)))
  .option('--save <dir>', 'write each finding\'s bytes there as finding-SEED-SESSION.bin')
  .option('--codec-runs <n>', 'first run the codec fuzz test (test/protocol/fuzz.test.ts, no socket) with this many inputs', num(1, true))
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });
program.parse();
const o = program.opts<Options>();
const durationMs = o.seconds !== undefined ? o.seconds * 1000 : (o.minutes ?? 1) * 60_000;

if (o.codecRuns !== undefined) {
  // the decoder-level property test, longer than in CI (it was `npm run fuzz:long`)
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const codec = spawnSync('npx', ['tap', '--disable-coverage', '--timeout=0', 'test/protocol/fuzz.test.ts'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, FUZZ_RUNS: String(o.codecRuns), FUZZ_SEED: String(o.seed) },
  });
  if (codec.status !== 0) {
    process.stderr.write(`fuzz: the codec fuzz test failed (exit ${codec.status})\n`);
    process.exit(1);
  }
}

const { messages } = loadCorpus(o.corpus);
if (messages.length === 0) {
  process.stderr.write(`fuzz: no corpus messages in ${o.corpus}\n`);
  process.exit(2);
}

let logLines = 0;
let logBytes = 0;
const internalErrors: string[] = [];
let close = async (): Promise<void> => {};
let tgt = o.target;
if (!tgt) {
  const logger = createLogger({
    level: 'info',
    write: (l) => {
      logLines++;
      logBytes += Buffer.byteLength(l) + 1;
      if (l.includes('"level":"error"')) internalErrors.push(l);
    },
  });
  const sw = createSwitch({ logger, datapathId: 0xf022n });
  sw.addPort({ name: 'p1', type: 'memory' });
  sw.addPort({ name: 'p2', type: 'memory' });
  const { port } = await sw.addListener('ptcp:0:127.0.0.1');
  tgt = { host: '127.0.0.1', port };
  close = () => sw.close();
}
const uncaught: string[] = [];
process.on('uncaughtException', (err) => uncaught.push(err.stack ?? String(err)));
process.on('unhandledRejection', (err) => uncaught.push(String(err)));

const report = (f: Finding): void => {
  process.stderr.write(`finding (session ${f.session}): ${f.problem}\n  mutations: ${f.mutations}\n  sent: ${f.sent}\n`);
  if (o.save && f.sent) {
    mkdirSync(o.save, { recursive: true });
    writeFileSync(join(o.save, `finding-${o.seed}-${f.session}.bin`), Buffer.from(f.sent, 'hex'));
  }
};
const started = performance.now();
const result = await fuzzWire({
  target: tgt,
  seed: o.seed,
  durationMs,
  corpus: messages,
  concurrency: o.concurrency,
  churn: o.churn,
  maxMessages: o.maxMessages,
  replyBoundMs: o.replyBound,
  echoIntervalMs: o.echoInterval,
  onFinding: report,
});
await close();
for (const l of internalErrors) process.stderr.write(`internal error logged: ${l}\n`);
for (const u of uncaught) process.stderr.write(`uncaught: ${u}\n`);
const { findings, ...rest } = result;
const summary = {
  seed: o.seed,
  seconds: Math.round((performance.now() - started) / 100) / 10,
  target: o.target ? `tcp:${tgt.host}:${tgt.port}` : 'in-process',
  ...rest,
  findings: findings.length,
  ...(o.target ? {} : { logLines, logBytes, internalErrors: internalErrors.length }),
  uncaught: uncaught.length,
};
process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
process.exit(findings.length + internalErrors.length + uncaught.length > 0 ? 1 : 0);
