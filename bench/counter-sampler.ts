/**
 * A frame-counter sampler in a process of its own (bench/big-table.ts): every `interval` ms it
 * reads eth0's tx counter in the namespace of process TX_PID and eth0's rx counter in that of
 * RX_PID (/proc/PID/net/dev) and prints `time tx rx` (time: ms since the epoch, fractional). A
 * benchmark process that also reads a 150 MB flow dump cannot sample every 5 ms itself; this one
 * does nothing else, and the benchmark runs it at real-time priority.
 *
 *   node dist/bench/counter-sampler.js TX_PID RX_PID [INTERVAL_MS]
 */
import { readFileSync } from 'node:fs';

function eth0(pid: string, field: 'rx' | 'tx'): number {
  const line = /^\s*eth0:(.*)$/m.exec(readFileSync(`/proc/${pid}/net/dev`, 'utf8'));
  if (!line) throw new Error(`no eth0 in the namespace of process ${pid}`);
  const f = line[1]!.trim().split(/\s+/);
  return Number(f[field === 'rx' ? 1 : 9]);
}

const [txPid, rxPid, interval = '5'] = process.argv.slice(2);
if (txPid === undefined || rxPid === undefined || !(Number(interval) > 0)) {
  process.stderr.write('usage: counter-sampler TX_PID RX_PID [INTERVAL_MS]\n');
  process.exit(2);
}
const timer = setInterval(() => {
  const tx = eth0(txPid, 'tx');
  const rx = eth0(rxPid, 'rx');
  process.stdout.write(`${performance.timeOrigin + performance.now()} ${tx} ${rx}\n`);
}, Number(interval));
process.once('SIGTERM', () => clearInterval(timer));
