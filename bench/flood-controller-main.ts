/**
 * The miss-flood benchmark's controller as a process of its own (bench/flood-controller.ts):
 *
 *   node dist/bench/flood-controller-main.js --port PORT
 * prints `listening`, then `connected` when a FEATURES_REPLY arrived; reads commands on stdin:
 * `probe MS` (start echoing every MS ms), `stop` (stop echoing), `stats` (one JSON line: FloodStats).
 */
import { createInterface } from 'node:readline';
import { FloodController } from './flood-controller.js';

function main(): void {
  const args = process.argv.slice(2);
  const i = args.indexOf('--port');
  const port = Number(i >= 0 ? args[i + 1] : NaN);
  if (!(port > 0)) throw new Error('--port PORT is required');
  const controller = new FloodController(() => process.stdout.write('connected\n'));
  controller.listen(port).then(() => process.stdout.write('listening\n'), (e: unknown) => {
    process.stderr.write(`${String(e)}\n`);
    process.exit(1);
  });
  createInterface({ input: process.stdin })
    .on('line', (line) => {
      const [cmd, arg] = line.trim().split(/\s+/);
      if (cmd === 'probe') controller.startProbe(Number(arg) || 20);
      else if (cmd === 'stop') controller.stopProbe();
      else if (cmd === 'stats') process.stdout.write(`${JSON.stringify(controller.stats)}\n`);
    })
    .on('close', () => process.exit(0));
}

main();
