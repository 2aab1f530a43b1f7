/**
 * The soak's command-line options (commander): every knob of SoakOptions, with the defaults of
 * soak.ts DEFAULTS. A bad value throws commander's error (after printing it).
 */
import { Command, InvalidArgumentError } from 'commander';
import { DEFAULTS, type SoakOptions } from './soak.js';

function num(min: number, integer = false): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
      throw new InvalidArgumentError(`needs ${integer ? 'an integer' : 'a number'} of at least ${min}`);
    }
    return n;
  };
}

export function parseOptions(argv: readonly string[]): SoakOptions {
  const d = DEFAULTS;
  const program = new Command('soak')
    .description('Runs ofswitch (database mode) under flapping controllers, flow-mod storms with barriers, a packet-in flood, ' +
      'port churn and malformed input, checking the table, the barriers and the memory all along.')
    .option('--minutes <n>', 'length of the run', num(0.05), d.minutes)
    .option('--seed <n>', 'seed of the storm and of the other random choices', num(0, true), d.seed)
    .option('--rss-growth-mb <n>', 'fail when the switch\'s RSS grows past its first sample plus this', num(1), d.rssGrowthMb)
    .option('--sample-seconds <n>', 'RSS sampling interval', num(0.2), d.sampleSeconds)
    .option('--flood-pps <n>', 'table-miss frames per second into port 1 (0: no flood)', num(0, true), d.floodPps)
    .option('--bad-frames-pps <n>', 'malformed frames per second into port 2', num(0, true), d.badFramesPps)
    .option('--flappers <n>', 'controllers that connect, work and drop', num(0, true), d.flappers)
    .option('--no-stalled-reader', 'no controller that stops reading')
    .option('--stall-seconds <n>', 'how long the stalled reader stops reading each time', num(1), d.stallSeconds)
    .option('--stall-read-seconds <n>', 'how long it reads between stalls', num(1), d.stallReadSeconds)
    .option('--batch <n>', 'FLOW_MODs per barrier', num(1, true), d.batch)
    .option('--window <n>', 'barriers in flight', num(1, true), d.window)
    .option('--max-flows <n>', 'the storm deletes more than it adds past this many entries', num(1, true), d.maxFlows)
    .option('--check-seconds <n>', 'interval of the table checks', num(0.5), d.checkSeconds)
    .option('--reply-timeout-seconds <n>', 'a reply (barrier, stats, echo) later than this is lost', num(1), d.replyTimeoutSeconds)
    .option('--port-seconds <n>', 'length of one port add/delete cycle (0: no port churn)', num(0), d.portSeconds)
    .option('--no-malformed', 'no malformed frames or OpenFlow messages')
    .option('--self-check', 'make the barrier bookkeeping and the model wrong on purpose; passes only if both are caught', false)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program.parse(argv, { from: 'user' });
  const v = program.opts<SoakOptions>();
  return { ...d, ...v };
}

