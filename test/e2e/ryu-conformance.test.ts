/**
 * Conformance: os-ken's switch tester with the Ryu OpenFlow 1.0 patterns, run by
 * ../shared/tools/ryu-switch-test.sh (beside this checkout, where CI has it) against the built
 * ofswitch. Open vSwitch passes all 192 tests, the IPv6 ones included; so must ofswitch. The
 * patterns are the Ryu project's and stay in ../shared; this test only runs the script.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, ROOT, ensureBuilt } from '../helpers/ofswitch-process.js';

const SCRIPT = join(ROOT, '..', 'shared', 'tools', 'ryu-switch-test.sh');

t.test('the Ryu OpenFlow 1.0 switch tests all pass', { timeout: 900_000 }, async (t) => {
  t.ok(existsSync(SCRIPT), `${SCRIPT} exists (../shared beside the checkout)`);
  ensureBuilt();
  const target =
    `exec ${process.execPath} ${CLI} --dpid $RT_DPID --port $RT_PORT1 --port $RT_PORT2 --port $RT_PORT3 ` +
    '--controller $RT_CONTROLLER --fail-mode secure --listen ptcp:6634:127.0.0.1';
  const child = spawn('bash', [SCRIPT, target], {
    env: { ...process.env, RT_LOGDIR: `/tmp/ofswitch-ryu-${process.pid}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGTERM');
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const failures = out.split('\n').filter((l) => l.startsWith('FAIL'));
  t.same(failures, [], 'no test failed');
  t.match(out, /^192 passed, 0 failed$/m, 'all 192 tests passed');
  t.equal(code, 0, 'the script exits 0');
});
