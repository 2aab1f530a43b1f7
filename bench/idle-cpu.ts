/**
 * Idle cost: the CPU time an ofswitch with N idle ports uses while nothing happens (no traffic, no
 * controller): what its receive rings' block timers and its link polling cost.
 *
 * A namespace bnid<pid>sw holds N veth pairs, both ends up and with IPv6 off (so the kernel sends
 * nothing on them); the switch opens one end of each as a port (fail_mode=secure, listening for
 * ovs-ofctl on 127.0.0.1). After a settling second, its utime + stime (/proc/PID/stat) and its
 * context switches (voluntary + involuntary, /proc/PID/status: how often it woke) are read over
 * `--seconds` (default 10). `--cli PATH` measures another build (e.g. the main checkout's
 * dist/cli/ofswitch.js, for a before/after figure).
 *
 *   npm run bench:idle [-- --seconds N] [-- --ports N] [-- --runs N] [-- --cli PATH] [-- --json]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs, cpuSeconds, inNs, log, quiet, sh, sleep, spread, waitFor, fmtSpread } from './trafgen-rig.js';

const ARGS = benchArgs(10, { ports: 8 });
const cliArg = process.argv.indexOf('--cli');
const CLI = cliArg > 0 ? (process.argv[cliArg + 1] as string) : join(dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'ofswitch.js');

/** Context switches (voluntary + involuntary) of every thread of a process so far: how often it woke. */
function contextSwitches(pid: number): number {
  let total = 0;
  for (const tid of sh('ls', [`/proc/${pid}/task`]).split(/\s+/).filter(Boolean)) {
    const s = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
    total += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(s)?.[1] ?? 0) + Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(s)?.[1] ?? 0);
  }
  return total;
}

async function runOnce(run: number): Promise<{ cpuPercent: number; wakeupsPerSec: number }> {
  const ns = `bnid${process.pid}r${run}`;
  sh('ip', ['netns', 'add', ns]);
  let proc: ReturnType<typeof spawn> | undefined;
  try {
    inNs(ns, 'ip', ['link', 'set', 'lo', 'up']);
    inNs(ns, 'sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    const ports: string[] = [];
    for (let i = 0; i < ARGS.ports; i++) {
      inNs(ns, 'ip', ['link', 'add', `p${i}`, 'type', 'veth', 'peer', 'name', `q${i}`]);
      inNs(ns, 'ip', ['link', 'set', `p${i}`, 'up']);
      inNs(ns, 'ip', ['link', 'set', `q${i}`, 'up']);
      ports.push('--port', `p${i}`);
    }
    proc = spawn('ip', ['netns', 'exec', ns, process.execPath, CLI, ...ports, '--fail-mode', 'secure', '--listen', 'ptcp:6634:127.0.0.1',
      '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const pid = proc.pid ?? -1;
    await waitFor(() => {
      if (proc?.exitCode !== null) throw new Error(`ofswitch exited: ${err}`);
      try {
        inNs(ns, 'ovs-ofctl', ['-O', 'OpenFlow10', 'show', 'tcp:127.0.0.1:6634']);
        return true;
      } catch {
        return false;
      }
    }, 15_000, () => `ofswitch to answer ovs-ofctl ${err}`);
    await sleep(1000);
    const c0 = cpuSeconds(pid);
    const w0 = contextSwitches(pid);
    const t0 = process.hrtime.bigint();
    await sleep(ARGS.seconds * 1000);
    const c1 = cpuSeconds(pid);
    const w1 = contextSwitches(pid);
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    if (proc.exitCode !== null) throw new Error(`ofswitch exited during the measurement: ${err}`);
    const r = { cpuPercent: ((c1 - c0) / dt) * 100, wakeupsPerSec: (w1 - w0) / dt };
    log(`  run ${run + 1}: ${r.cpuPercent.toFixed(2)} % of a CPU, ${Math.round(r.wakeupsPerSec)} context switches/s`);
    return r;
  } finally {
    if (proc && proc.exitCode === null) {
      const exited = new Promise((r) => proc?.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
    quiet('ip', ['netns', 'del', ns]);
  }
}

async function main(): Promise<void> {
  log(`bench:idle: ofswitch (${CLI}) with ${ARGS.ports} idle ports, ${ARGS.seconds} s a run, ${ARGS.runs} runs`);
  const runs: { cpuPercent: number; wakeupsPerSec: number }[] = [];
  for (let i = 0; i < ARGS.runs; i++) runs.push(await runOnce(i));
  const cpu = spread(runs.map((r) => r.cpuPercent), 2);
  const wake = spread(runs.map((r) => r.wakeupsPerSec));
  if (ARGS.json) {
    process.stdout.write(`${JSON.stringify({ cli: CLI, ports: ARGS.ports, seconds: ARGS.seconds, cpuPercent: cpu, contextSwitchesPerSec: wake }, null, 2)}\n`);
    return;
  }
  console.log(`\n| idle ports | CPU, % of one core | context switches/s |\n| ---: | ---: | ---: |`);
  console.log(`| ${ARGS.ports} | ${fmtSpread(cpu, (x) => x.toFixed(2))} | ${fmtSpread(wake)} |`);
  console.log(`\nmedian (lowest–highest) of ${ARGS.runs} runs`);
}

main().catch((e: unknown) => {
  log(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
