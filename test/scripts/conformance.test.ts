/**
 * scripts/conformance.sh (`npm run conformance`) with stand-in harnesses: it refuses to run
 * without the patterns or the harness (one message, exit 2), hands the harness the built
 * ofswitch and the patterns, and passes only on the harness's exit 0 with "N passed, 0 failed".
 * The real run (os-ken's tester, 192 tests, about a minute) is `npm run conformance` itself.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, ROOT, ensureBuilt } from '../helpers/ofswitch-process.js';

const SCRIPT = join(ROOT, 'scripts', 'conformance.sh');

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

function conformance(env: Record<string, string>): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    execFile('bash', [SCRIPT], { env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'ofswitch-conformance-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const patterns = join(dir, 'ryu-of10');
mkdirSync(patterns);

/** A stand-in harness: prints its target and test directory, then `lines`, and exits `status`. */
function harness(name: string, lines: string[], status: number): string {
  const file = join(dir, `${name}.sh`);
  writeFileSync(file, ['#!/bin/bash', 'echo "target: $1"', 'echo "tests: $RT_TEST_DIR"', ...lines.map((l) => `echo '${l}'`), `exit ${status}`, ''].join('\n'));
  chmodSync(file, 0o755);
  return file;
}

t.test('without the patterns and the harness: one clear message, exit 2', async (t) => {
  const r = await conformance({ OFSWITCH_RYU_PATTERNS: join(dir, 'none'), OFSWITCH_RYU_TOOL: join(dir, 'none.sh') });
  t.equal(r.code, 2);
  t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  t.match(r.stderr, /cannot run the Ryu OpenFlow 1\.0 tests: no test patterns at .*none \(set OFSWITCH_RYU_PATTERNS\); no harness at .*none\.sh \(set OFSWITCH_RYU_TOOL\)/);
  const one = await conformance({ OFSWITCH_RYU_PATTERNS: patterns, OFSWITCH_RYU_TOOL: join(dir, 'none.sh') });
  t.equal(one.code, 2, 'either one missing is enough');
  t.match(one.stderr, /no harness at/);
  t.notMatch(one.stderr, /no test patterns/);
});

t.test('all passed: exit 0, the harness given the built switch and the patterns', async (t) => {
  ensureBuilt();
  const r = await conformance({ OFSWITCH_RYU_PATTERNS: patterns, OFSWITCH_RYU_TOOL: harness('pass', ['PASS  [match: 01] x', '192 passed, 0 failed'], 0) });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, new RegExp(`^target: exec \\S+ ${CLI} --dpid \\$RT_DPID --port \\$RT_PORT1 --port \\$RT_PORT2 --port \\$RT_PORT3 --controller \\$RT_CONTROLLER --fail-mode secure`, 'm'), 'the target command, for the harness to expand');
  t.match(r.stdout, `tests: ${patterns}`, 'the patterns directory');
  t.match(r.stdout, /^conformance: 192 passed, 0 failed$/m);
});

t.test('any failure, a silent harness or a harness exit status fails the run', async (t) => {
  ensureBuilt();
  const cases: [string, string[], number, RegExp][] = [
    ['failed', ['191 passed, 1 failed'], 1, /FAILED: 191 passed, 1 failed \(harness exit 1\)/],
    ['failed-exit0', ['191 passed, 1 failed'], 0, /FAILED: 191 passed, 1 failed \(harness exit 0\)/],
    ['nothing-ran', ['0 passed, 0 failed'], 0, /FAILED: 0 passed, 0 failed/],
    ['no-summary', ['ryu-switch-test: needs root'], 3, /printed no 'N passed, M failed' line \(exit 3\)/],
    ['exit-status', ['192 passed, 0 failed'], 1, /FAILED: 192 passed, 0 failed \(harness exit 1\)/],
  ];
  for (const [name, lines, status, message] of cases) {
    const r = await conformance({ OFSWITCH_RYU_PATTERNS: patterns, OFSWITCH_RYU_TOOL: harness(name, lines, status) });
    t.equal(r.code, 1, `${name}: exit 1`);
    t.match(r.stderr, message, `${name}: says why`);
  }
});
