/**
 * What each observability feature costs the forwarding path: the forwarding benchmark's two phases
 * (bench/forward.ts: highest rate, then CPU time per million frames at a fixed rate) for every
 * switch with no feature on, then with a select_all mirror, sFlow at 1:N, NetFlow v5 export and
 * IPFIX at 1:N (the IPFIX table's bridge exporter),
 * each in its own run, all in one invocation so that the machine's load falls alike on every
 * configuration: the order of the switches alternates run by run and the order of the
 * configurations rotates. Every configuration has the third host (the mirror's destination), so
 * the topology is the same with and without the mirror. The table gives each configuration's
 * median (lowest–highest) and its ratio to the same switch with nothing on.
 *
 *   npm run bench:features [-- --runs N] [-- --seconds N] [-- --features off,mirror,sflow,netflow,ipfix]
 *                          [-- --sflow N] [-- --ipfix N] [-- --switches ofswitch,ovs] [-- --cases one-flow,many-flows] [-- --json]
 */
import { CASES, belowLimit, runOnce, type Features, type Run } from './forward-run.js';
import { Option } from 'commander';
import { benchOptions, count, positive } from './bench-options.js';
import { fmtSpread, log, spread, type Spread } from './trafgen-rig.js';
import { SWITCHES, SWITCH_LABEL, type SwitchName } from './switches.js';

const CONFIGS = ['off', 'mirror', 'sflow', 'netflow', 'ipfix'] as const;
type Config = (typeof CONFIGS)[number];

function listOf<T extends string>(allowed: readonly T[], what: string): (value: string) => T[] {
  return (value) => {
    const items = value.split(',').filter((x) => x !== '');
    for (const x of items) if (!allowed.includes(x as T)) throw new Error(`unknown ${what} "${x}" (one of ${allowed.join(', ')})`);
    if (items.length === 0) throw new Error(`no ${what} given`);
    return items as T[];
  };
}

function parseOrExit<T>(parse: (v: string) => T): (v: string) => T {
  return (v) => {
    try {
      return parse(v);
    } catch (e) {
      process.stderr.write(`bench:features: ${(e as Error).message}\n`);
      process.exit(2);
    }
  };
}

/** A comma-separated list option whose items come from `allowed`, all of them by default. */
function listOption<T extends string>(flags: string, what: string, allowed: readonly T[], item: string): Option {
  return new Option(flags, `${what}, from ${allowed.join(',')}`)
    .argParser(parseOrExit(listOf(allowed, item)))
    .default([...allowed], allowed.join(','));
}

interface Options {
  runs: number;
  seconds: number;
  cpuRate: number;
  sflow: number;
  ipfix: number;
  features: Config[];
  switches: SwitchName[];
  cases: string[];
  json: boolean;
}

const opts = benchOptions<Options>('bench:features',
  'The forwarding cost of port mirroring, sFlow, NetFlow and IPFIX: each configuration beside the same switch with none of them, in one run (needs root, trafgen and Open vSwitch; run it under flock /tmp/ovs-userspace.lock).',
  (c) => c
    .option('--runs <n>', 'runs of every switch, case and configuration', count, 3)
    .option('--seconds <s>', 'length of each phase', positive, 4)
    .option('--cpu-rate <pps>', 'the fixed rate of the CPU phase, frames/s', positive, 100_000)
    .option('--sflow <n>', 'sFlow sampling rate of the sflow configuration (1 in N)', count, 1000)
    .option('--ipfix <n>', 'IPFIX sampling rate of the ipfix configuration (1 in N; the IPFIX table\'s default)', count, 400)
    .addOption(listOption('--features <list>', 'configurations', CONFIGS, 'configuration'))
    .addOption(listOption('--switches <list>', 'switches', SWITCHES, 'switch'))
    .addOption(listOption('--cases <list>', 'cases', CASES.map((c) => c.name), 'case'))
    .option('--json', 'one JSON document on stdout', false));

function featuresOf(config: Config): Features {
  switch (config) {
    case 'off': return {};
    case 'mirror': return { mirror: true };
    case 'sflow': return { sflow: opts.sflow };
    case 'netflow': return { netflow: true };
    case 'ipfix': return { ipfix: opts.ipfix };
  }
}

const rotate = <T>(xs: readonly T[], by: number): T[] => xs.map((_, i) => xs[(i + by) % xs.length]!);

interface Result {
  switch: SwitchName;
  config: Config;
  framesPerSec: Spread;
  cpuSecPerMillion: Spread;
  belowLimit: boolean;
  /** Medians relative to the same switch with nothing on (when 'off' was measured). */
  vsOff?: { framesPerSec: number; cpuSecPerMillion: number };
}

async function main(): Promise<void> {
  const configs = opts.features;
  log(`bench:features: ${opts.runs} runs of ${configs.join(', ')} (sFlow 1:${opts.sflow}) on ${opts.switches.join(', ')}, ` +
    `${opts.seconds} s a phase, fixed rate ${opts.cpuRate} frames/s`);
  const out: { case: string; description: string; results: Result[] }[] = [];
  for (const c of CASES.filter((x) => opts.cases.includes(x.name))) {
    log(`${c.name}: ${c.description}`);
    const runs = new Map<string, Run[]>();
    for (let run = 0; run < opts.runs; run++) {
      const switches = run % 2 === 0 ? opts.switches : [...opts.switches].reverse();
      for (const sw of switches) {
        for (const config of rotate(configs, run)) {
          const r = await runOnce(c, sw, featuresOf(config), { seconds: opts.seconds, cpuRate: opts.cpuRate, thirdHost: true }, `${sw}/${config}`);
          const key = `${sw}/${config}`;
          runs.set(key, [...(runs.get(key) ?? []), r]);
        }
      }
    }
    const results: Result[] = [];
    for (const sw of opts.switches) {
      for (const config of configs) {
        const r = runs.get(`${sw}/${config}`)!;
        results.push({
          switch: sw,
          config,
          framesPerSec: spread(r.map((x) => x.max.receivedPerSec)),
          cpuSecPerMillion: spread(r.map((x) => x.cpuSecPerMillion), 3),
          belowLimit: r.every(belowLimit),
        });
      }
      const off = results.find((x) => x.switch === sw && x.config === 'off');
      if (off) {
        for (const x of results.filter((y) => y.switch === sw)) {
          x.vsOff = {
            framesPerSec: Number((x.framesPerSec.median / off.framesPerSec.median).toFixed(3)),
            cpuSecPerMillion: Number((x.cpuSecPerMillion.median / off.cpuSecPerMillion.median).toFixed(3)),
          };
        }
      }
    }
    out.push({ case: c.name, description: c.description, results });
  }
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ runs: opts.runs, seconds: opts.seconds, fixedRatePps: opts.cpuRate, sflowSampling: opts.sflow, node: process.version, cases: out }, null, 2)}\n`);
    return;
  }
  for (const c of out) {
    console.log(`\n${c.case}: ${c.description}\n`);
    console.log(`| switch | configuration | forwarded, frames/s | vs off | CPU s per million frames at ${opts.cpuRate.toLocaleString('en')}/s | vs off |`);
    console.log('| --- | --- | ---: | ---: | ---: | ---: |');
    for (const r of c.results) {
      const cpu = fmtSpread(r.cpuSecPerMillion, (x) => x.toFixed(2)) + (r.belowLimit ? '' : ' (at its limit)');
      const name = r.config === 'sflow' ? `sflow 1:${opts.sflow}` : r.config === 'ipfix' ? `ipfix 1:${opts.ipfix}` : r.config;
      console.log(`| ${SWITCH_LABEL[r.switch]} | ${name} | ${fmtSpread(r.framesPerSec)} | ${r.vsOff?.framesPerSec.toFixed(2) ?? ''} | ${cpu} | ${r.vsOff?.cpuSecPerMillion.toFixed(2) ?? ''} |`);
    }
  }
  console.log(`\nmedian (lowest–highest) of ${opts.runs} runs each; switches alternating, configurations rotating run by run`);
}

main().catch((e: unknown) => {
  log(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
