/**
 * The policing benchmark (bench/policer.ts) runs as its README line says, on a tiny workload: one
 * round of every case, each in its own process, and the 'none' case of another build's dist/ (this
 * one's here); one JSON document with a positive rate per case.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ensureBuilt, ROOT } from '../helpers/ofswitch-process.js';

t.test('bench/policer.js --json: every case reports a rate', async (t) => {
  ensureBuilt();
  const dist = join(ROOT, 'dist');
  const r = spawnSync(process.execPath, [join(dist, 'bench', 'policer.js'), '--frames', '5000', '--rounds', '1', '--root', dist, '--json'], { encoding: 'utf8' });
  t.equal(r.status, 0, `the benchmark exits 0${r.status ? `: ${r.stderr}` : ''}`);
  const doc = JSON.parse(r.stdout) as { results: { case: string; framesPerSec: number }[] };
  t.same(doc.results.map((x) => x.case), ['none', 'policed', 'dropping', `none (${dist})`], 'the four cases');
  t.ok(doc.results.every((x) => x.framesPerSec > 0), 'each with a positive rate');
  const text = spawnSync(process.execPath, [join(dist, 'bench', 'policer.js'), '--frames', '2000', '--rounds', '1'], { encoding: 'utf8' });
  t.equal(text.status, 0, 'without --json it exits 0 too');
  t.match(text.stderr, /^none +[\d.]+ M frames\/s +[\d.]+ ns\/frame$/m, 'and prints a line per case');
  const bad = spawnSync(process.execPath, [join(dist, 'bench', 'policer.js'), '--frames', '0'], { encoding: 'utf8' });
  t.equal(bad.status, 2, 'a bad option: exit 2');
});
