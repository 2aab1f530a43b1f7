/**
 * `npm run soak` kept working: the built soak (dist/bench/soak/main.js) run as a user runs it,
 * short and light (about 20 s at 1,000 frames/s), must pass and print its report with the memory
 * table; its --self-check must catch the barrier order and the model it makes wrong on purpose;
 * SIGINT must stop it early; and after each run nothing named after its pid (sk<pid>...) is left:
 * no namespace, no link. A bad option is exit 2 with one message. The long run is
 * `npm run soak -- --minutes N` (README, "Soak").
 */
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBuilt, ROOT } from '../helpers/ofswitch-process.js';

const SOAK = join(ROOT, 'dist', 'bench', 'soak', 'main.js');
/** A light soak: little flood, short stalls, quick cycles (two CPUs, other tests beside it). */
const LIGHT = ['--flood-pps', '1000', '--bad-frames-pps', '100', '--flappers', '2', '--stall-seconds', '4', '--stall-read-seconds', '3',
  '--port-seconds', '2', '--check-seconds', '2', '--max-flows', '500'];

interface Run {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  pid: number;
}

function soak(args: readonly string[], options: { interruptAfter?: RegExp } = {}): Promise<Run> {
  ensureBuilt();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SOAK, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (options.interruptAfter && !interrupted && options.interruptAfter.test(stdout)) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code, signal) => resolve({ code, signal, stdout, stderr, pid: child.pid ?? -1 }));
  });
}

/** Namespaces and links named after the soak's pid that still exist. */
function leftovers(pid: number): string[] {
  const prefix = `sk${pid}`;
  const mine = (n: string): boolean => n.startsWith(prefix) && !/[0-9]/.test(n.charAt(prefix.length));
  const links = readdirSync('/sys/class/net').filter((n) => mine(n) || mine(n.replace(/^ofl-/, '')));
  const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0] ?? '').filter(mine);
  return [...links, ...namespaces];
}

t.test('a short soak passes and reports the memory table', async (t) => {
  const r = await soak(['--minutes', '0.34', ...LIGHT]);
  t.equal(r.code, 0, `exit 0${r.code !== 0 ? `:\n${r.stdout.slice(-3000)}\n${r.stderr}` : ''}`);
  t.match(r.stdout, /SOAK PASSED: \d+ s, no failure\n$/, 'the verdict is the last line');
  t.match(r.stdout, /flow-mod storm: [1-9]\d* FLOW_MODs .* [1-9]\d* table checks equal to the model/, 'the storm ran and its table was checked');
  t.match(r.stdout, /flapping controllers: #1 [1-9]\d* connections/, 'controllers flapped');
  t.match(r.stdout, /packet-ins received \(storm \+ flappers\): [1-9]/, 'the flood became packet-ins');
  t.match(r.stdout, /stalled reader: [1-9]\d* connections from the switch, [1-9]\d* stalls/, 'the stalled reader stalled');
  t.match(r.stdout, /ports: [1-9]\d* add\/delete cycles/, 'ports came and went');
  t.match(r.stdout, /malformed OpenFlow messages: [1-9]/, 'malformed messages were sent');
  t.match(r.stdout, /time \(s\) {3}RSS \(MB\)[\s\S]*min [\d.]+ MB, max [\d.]+ MB, last [\d.]+ MB; start [\d.]+ MB, bound [\d.]+ MB \(start \+ 300\.0 MB\)/, 'the memory table');
  t.same(leftovers(r.pid), [], 'nothing left behind');
});

t.test('--self-check: the barrier and table checks catch what is made wrong on purpose', async (t) => {
  const r = await soak(['--self-check', '--minutes', '1', ...LIGHT, '--no-stalled-reader', '--port-seconds', '0']);
  t.equal(r.code, 0, `exit 0${r.code !== 0 ? `:\n${r.stdout.slice(-3000)}\n${r.stderr}` : ''}`);
  t.match(r.stdout, /SELF-CHECK PASSED: the barrier check caught the misordered barriers \(BARRIER_REPLY xid \d+ arrived before/, 'barriers');
  t.match(r.stdout, /and the table check caught the wrong model \(the switch's table differs from the model .* 1 entries with other cookie or actions/, 'table');
  t.match(r.stdout, /stalled reader: off/, 'the stalled reader can be turned off');
  t.same(leftovers(r.pid), [], 'nothing left behind');
});

t.test('SIGINT stops a soak early and it still cleans up', async (t) => {
  const r = await soak(['--minutes', '5', ...LIGHT], { interruptAfter: /bridge sk\d+br: ports/ });
  t.equal(r.code, 130, `exit 130${r.code !== 130 ? `:\n${r.stdout.slice(-3000)}\n${r.stderr}` : ''}`);
  t.match(r.stdout, /SIGINT: stopping/, 'it says so');
  t.match(r.stdout, /INTERRUPTED/, 'and the report too');
  t.same(leftovers(r.pid), [], 'nothing left behind');
});

t.test('a bad option is exit 2 with one message', async (t) => {
  const r = await soak(['--minutes', 'soon']);
  t.equal(r.code, 2);
  t.match(r.stderr, /option '--minutes <n>' argument 'soon' is invalid\. needs a number of at least/);
  t.equal(r.stdout, '', 'nothing ran');
});
