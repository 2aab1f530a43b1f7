/**
 * How much a hostile peer makes a switch log: the same fixed abuse (the wire fuzzer with half its
 * sessions connection churn, `--seconds` long, one seed) against ofswitch's command and against
 * Open vSwitch in userspace (ovs-vswitchd, bridge datapath_type=netdev protocols=OpenFlow10,
 * listener ptcp:PORT:127.0.0.1, default log levels), then the log lines and bytes each wrote
 * (ofswitch's stderr, ovs-vswitchd's log file) beside the connections and messages it was sent.
 *
 *   npm run build && flock /tmp/ovs-userspace.lock node dist/bench/log-abuse.js [--seconds 60]
 *   --ofswitch PATH measures another build's command (e.g. an older checkout's dist/cli/ofswitch.js);
 *   --no-ovs skips Open vSwitch (then no lock is needed).
 */
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { startOvsReference } from '../test/helpers/ovs-reference.js';
import { freePort } from '../test/helpers/free-port.js';

const num = (v: string): number => {
  const n = Number(v);
  if (!(n > 0)) throw new InvalidArgumentError('needs a positive number');
  return n;
};
const program = new Command('log-abuse')
  .description('Log lines and bytes written by ofswitch and by Open vSwitch under the same fuzzing and connection churn.')
  .option('--seconds <n>', 'length of the abuse', num, 60)
  .option('--seed <n>', 'the fuzzer\'s seed', num, 20261127)
  .option('--ofswitch <path>', 'ofswitch command to measure', fileURLToPath(new URL('../cli/ofswitch.js', import.meta.url)))
  .option('--no-ovs', 'measure ofswitch only')
  .parse();
const o = program.opts<{ seconds: number; seed: number; ofswitch: string; ovs: boolean }>();
const fuzzer = fileURLToPath(new URL('./fuzz.js', import.meta.url));

interface Measure {
  readonly switch: string;
  readonly logLines: number;
  readonly logBytes: number;
  readonly fuzz: Record<string, unknown>;
}

/** Runs the fuzzer (in namespace `ns`, if given) against tcp:127.0.0.1:PORT; its JSON summary. */
function abuse(port: number, ns?: string): Promise<Record<string, unknown>> {
  const args = [fuzzer, '--target', `tcp:127.0.0.1:${port}`, '--seconds', String(o.seconds), '--seed', String(o.seed), '--churn', '0.5'];
  const child = ns ? spawn('ip', ['netns', 'exec', ns, process.execPath, ...args]) : spawn(process.execPath, args);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', () => undefined); // findings: the fuzz tests report them; here only volume counts
  return new Promise((resolve, reject) =>
    child.on('exit', () => {
      try {
        resolve(JSON.parse(out) as Record<string, unknown>);
      } catch {
        reject(new Error(`the fuzzer printed no summary: ${out}`));
      }
    }),
  );
}

function countLines(path: string): { lines: number; bytes: number } {
  const text = readFileSync(path, 'utf8');
  return { lines: text.split('\n').filter((l) => l !== '').length, bytes: statSync(path).size };
}

async function measureOfswitch(): Promise<Measure> {
  const dir = await mkdtemp(join(tmpdir(), 'log-abuse-'));
  const logPath = join(dir, 'ofswitch.log');
  const port = await freePort();
  const log = createWriteStream(logPath);
  const sw = spawn(process.execPath, [o.ofswitch, '--listen', `ptcp:${port}:127.0.0.1`, '--dpid', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
  sw.stderr.pipe(log);
  const started = (): boolean => {
    try {
      return readFileSync(logPath, 'utf8').includes('switch started');
    } catch {
      return false; // not created yet
    }
  };
  for (let i = 0; i < 100 && !started(); i++) await new Promise((r) => setTimeout(r, 100));
  const fuzz = await abuse(port);
  sw.kill('SIGTERM');
  await new Promise((r) => sw.on('exit', r));
  await new Promise((r) => log.end(r));
  const { lines, bytes } = countLines(logPath);
  await rm(dir, { recursive: true, force: true });
  return { switch: `ofswitch (${o.ofswitch})`, logLines: lines, logBytes: bytes, fuzz };
}

async function measureOvs(): Promise<Measure> {
  const teardowns: (() => unknown)[] = [];
  const port = 6634;
  const ovs = await startOvsReference({ teardown: (fn) => teardowns.push(fn) }, { listenPort: port, tag: "logab" });
  try {
    const logPath = join(ovs.dir, 'ovs-vswitchd.log');
    const before = countLines(logPath);
    const fuzz = await abuse(port, ovs.ns);
    await new Promise((r) => setTimeout(r, 1000));
    const after = countLines(logPath);
    return { switch: 'Open vSwitch (ovs-vswitchd, userspace)', logLines: after.lines - before.lines, logBytes: after.bytes - before.bytes, fuzz };
  } finally {
    for (const fn of teardowns.reverse()) await fn();
  }
}

const results = [await measureOfswitch(), ...(o.ovs ? [await measureOvs()] : [])];
for (const r of results) {
  const f = r.fuzz;
  console.log(
    `${r.switch}: ${r.logLines} log lines, ${r.logBytes} bytes in ${o.seconds} s ` +
      `(${f['sessions']} fuzzing sessions + ${f['churned']} churned connections, ${f['messages']} mutated messages, findings ${f['findings']})`,
  );
}
console.log(JSON.stringify(results, null, 2));
