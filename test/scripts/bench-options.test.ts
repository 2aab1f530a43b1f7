/**
 * Benchmarks' command lines (bench/bench-options.ts): --help prints the options and runs nothing
 * (exit 0); a bad or unknown option is one message and exit 2; good ones parse to numbers. The
 * built big-table and packet-in benchmarks are run with --help and a bad option as a user would.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { above, benchOptions, count, positive } from '../../bench/bench-options.js';
import { ensureBuilt, ROOT } from '../helpers/ofswitch-process.js';

class Exit extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`exit ${code}`);
    this.code = code;
  }
}

/** benchOptions with process.exit and stderr/stdout caught. */
function parse(argv: string[]): { opts?: Record<string, unknown>; exit?: number; out: string } {
  const exit = process.exit;
  const writeErr = process.stderr.write;
  const writeOut = process.stdout.write;
  let out = '';
  process.exit = ((code: number) => {
    throw new Exit(code);
  }) as typeof process.exit;
  process.stderr.write = ((s: string) => ((out += s), true)) as typeof process.stderr.write;
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
  try {
    const opts = benchOptions<Record<string, unknown>>('demo', 'A demo benchmark.', (c) => c
      .option('--entries <n>', 'entries', count, 10)
      .option('--rate <pps>', 'rate', positive, 1.5)
      .option('--seconds <n>', 'seconds', above(1), 4)
      .option('--json', 'json', false), argv);
    return { opts, out };
  } catch (err) {
    if (err instanceof Exit) return { exit: err.code, out };
    throw err;
  } finally {
    process.exit = exit;
    process.stderr.write = writeErr;
    process.stdout.write = writeOut;
  }
}

t.test('options parse to numbers, with defaults', async (t) => {
  t.same(parse([]).opts, { entries: 10, rate: 1.5, seconds: 4, json: false });
  t.same(parse(['--entries', '7', '--rate', '0.5', '--seconds', '2.5', '--json']).opts, { entries: 7, rate: 0.5, seconds: 2.5, json: true });
});

t.test('--help exits 0 with the options; bad options exit 2 with one message', async (t) => {
  const help = parse(['--help']);
  t.equal(help.exit, 0);
  t.match(help.out, /--entries <n>/);
  for (const [argv, why] of [
    [['--entries', '1.5'], /whole number/], [['--entries', '0'], /whole number/], [['--rate', '-1'], /positive/],
    [['--rate', 'x'], /positive/], [['--seconds', '1'], /above 1/], [['--what'], /unknown option/], [['--entries'], /missing/],
  ] as const) {
    const r = parse([...argv]);
    t.equal(r.exit, 2, argv.join(' '));
    t.match(r.out, why);
    t.equal(r.out.trim().split('\n').length, 1, 'one message');
  }
});

t.test('the built big-table and packet-in benchmarks: --help runs nothing, a bad option exits 2', async (t) => {
  ensureBuilt();
  for (const bench of ['big-table', 'packet-in']) {
    const file = join(ROOT, 'dist', 'bench', `${bench}.js`);
    const help = spawnSync(process.execPath, [file, '--help'], { encoding: 'utf8', timeout: 20_000 });
    t.equal(help.status, 0, `${bench} --help exits 0`);
    t.match(help.stdout, /Usage: /);
    t.equal(help.stderr, '', 'nothing started (no progress on stderr)');
    const bad = spawnSync(process.execPath, [file, '--runs', 'many', '--entries', 'x'], { encoding: 'utf8', timeout: 20_000 });
    t.equal(bad.status, 2, `${bench} with a bad option exits 2`);
    t.match(bad.stderr, /^error: /);
    t.equal(bad.stderr.trim().split('\n').length, 1, 'one message');
  }
});
