/**
 * Forwarding benchmark: frames per second from one test host to another through ofswitch and
 * through Open vSwitch's userspace datapath (datapath_type=netdev) on the same topology, and the
 * switch process's CPU time per million forwarded frames at a fixed offered load.
 *
 * Topology, built anew for every run of every switch and removed afterwards (also on failure or ^C):
 *   namespace <p>tx (eth0) <-veth-> <p>a  [switch namespace <p>sw]  <p>b <-veth-> (eth0) namespace <p>rx
 * trafgen (netsniff-ng) sends 64-byte UDP frames from <p>tx, pinned to CPU 0; the switch runs
 * pinned to CPU 1 (bench/switches.ts).
 *
 * Two cases:
 * - one flow: the same UDP ports in every frame, the single rule `in_port=1,actions=output:2`;
 * - many flows: a random source port and a random destination port in 1..1100 on every frame
 *   (trafgen drnd()), 1,000 rules `priority=200,udp,tp_dst=N,actions=output:2` (N = 1..1000) and
 *   a catch-all `priority=1,actions=output:2`. Almost every frame is a flow neither switch has
 *   seen: ofswitch's microflow cache and Open vSwitch's exact-match cache miss, and the classifier
 *   (OVS: its megaflow cache, then its classifier) answers.
 * Each run has two phases on one switch instance:
 * 1. trafgen as fast as it can: what reaches the receiver (its kernel's rx_packets) per second over
 *    all but the first second of the phase, beside what the sender offered (its tx_packets);
 * 2. trafgen at a fixed rate (`--cpu-rate`, frames/s, meant to be below both switches' limits):
 *    the switch process's CPU time (utime + stime of all its threads, /proc/PID/stat; node for
 *    ofswitch, ovs-vswitchd for Open vSwitch) over the same window, per million forwarded frames.
 * In both, the frames received over the whole phase must not exceed the frames sent (else the
 * benchmark fails). Switches run in alternating order (A B, B A, A B), `--runs` times each
 * (default 3); the median and the range are reported.
 *
 * With `--sflow N` both switches export sFlow at 1 in N packets (agent lo, a target in the switch
 * namespace, OVS's other defaults: ovs-vsctl create sflow for Open vSwitch, the --config file's
 * sflow object for ofswitch): run it beside a run without to see what sampling costs.
 *
 * `--netflow`: both switches export NetFlow v5 (a target in the switch namespace, active_timeout 60:
 * ovs-vsctl create NetFlow for Open vSwitch, the --config file's netflow object for ofswitch): the
 * cost of per-flow accounting, beside a run without.
 * `--ipfix`: both switches export IPFIX (OVS's IPFIX table, bridge exporter: a target in the switch
 * namespace, sampling 1 in `--ipfix-sampling N` packets, default 400 as the table's, caching on with
 * cache_active_timeout 60 and cache_max_flows 1000): the cost of IPFIX sampling, beside a run without.
 * `--mirror`: every run has a third host and a select_all port mirror (OVS's Mirror table) to it,
 * so every frame is also copied to the mirror port: the cost of mirroring, beside a run without.
 *
 * `--tunnel [vxlan|geneve|gre|all]`: instead, the tunnel run (bench/forward-tunnel.ts): frames/s
 * encapsulated by one switch and decapsulated by another, ofswitch beside Open vSwitch userspace;
 * with `--quick`, one 3-second run of each.
 *
 *   npm run bench:forward [-- --seconds N] [-- --runs N] [-- --cpu-rate PPS] [-- --sflow N] [-- --netflow] [-- --mirror] [-- --json]
 *   npm run bench:forward -- --tunnel [KIND] [--quick] [--seconds N] [--runs N] [--json]
 */
import { CASES, belowLimit, runOnce, type Features, type Run } from './forward-run.js';
import { alternating, benchArgs, fmtSpread, log, spread, type Spread } from './trafgen-rig.js';
import { SWITCHES, SWITCH_LABEL, type SwitchName } from './switches.js';
import { tunnelBench } from './forward-tunnel.js';

const ARGS = benchArgs(4, { 'cpu-rate': 100_000, sflow: 0, 'ipfix-sampling': 400 });
const CPU_RATE = ARGS['cpu-rate'];
/** sFlow sampling rate (0: no sFlow). */
const SFLOW = Math.round(ARGS.sflow);
/** A select_all mirror to a third host in every run. */
const MIRROR = process.argv.includes('--mirror');
/** NetFlow export on both switches. */
const NETFLOW = process.argv.includes('--netflow');
/** IPFIX export on both switches, at 1 in IPFIX packets (0: off). */
const IPFIX = process.argv.includes('--ipfix') ? Math.round(ARGS['ipfix-sampling']) : 0;
const FEATURES: Features = { sflow: SFLOW, mirror: MIRROR, netflow: NETFLOW, ipfix: IPFIX };

interface SwitchResult {
  switch: SwitchName;
  framesPerSec: Spread;
  offeredPerSec: Spread;
  fixedRate: { offeredPerSec: Spread; framesPerSec: Spread; cpuSecPerMillion: Spread; belowLimit: boolean };
}

async function main(): Promise<void> {
  const tunnel = process.argv.indexOf('--tunnel');
  if (tunnel >= 0) return tunnelBench(process.argv[tunnel + 1]?.startsWith('--') ? undefined : process.argv[tunnel + 1]);
  log(`bench:forward: ${ARGS.runs} runs a switch and case, ${ARGS.seconds} s a phase, fixed rate ${CPU_RATE} frames/s; ` +
    `trafgen on CPU 0, switch on CPU 1${SFLOW > 0 ? `; sFlow on, sampling 1:${SFLOW}` : ''}${MIRROR ? '; a select_all mirror to a third host' : ''}${NETFLOW ? '; NetFlow v5 export on' : ''}${IPFIX > 0 ? `; IPFIX export on, sampling 1:${IPFIX}` : ''}`);
  const cases: { case: string; description: string; rules: number; switches: SwitchResult[]; ratio: { framesPerSec: number; cpuSecPerMillion: number } }[] = [];
  for (const c of CASES) {
    log(`${c.name}: ${c.description}`);
    const runs = await alternating(SWITCHES, ARGS.runs, (name): Promise<Run> =>
      runOnce(c, name as SwitchName, FEATURES, { seconds: ARGS.seconds, cpuRate: CPU_RATE, thirdHost: MIRROR }));
    const switches = SWITCHES.map((name): SwitchResult => {
      const r = runs.get(name)!;
      return {
        switch: name,
        framesPerSec: spread(r.map((x) => x.max.receivedPerSec)),
        offeredPerSec: spread(r.map((x) => x.max.offeredPerSec)),
        fixedRate: {
          offeredPerSec: spread(r.map((x) => x.fixed.offeredPerSec)),
          framesPerSec: spread(r.map((x) => x.fixed.receivedPerSec)),
          cpuSecPerMillion: spread(r.map((x) => x.cpuSecPerMillion), 3),
          // Below the switch's limit: it forwarded (nearly) all it was offered in every run.
          belowLimit: r.every(belowLimit),
        },
      };
    });
    const [a, b] = switches as [SwitchResult, SwitchResult];
    for (const s of switches) {
      if (!s.fixedRate.belowLimit) log(`  note: ${s.switch} did not forward all of the fixed rate in every run; its CPU figure is at its limit`);
    }
    cases.push({
      case: c.name,
      description: c.description,
      rules: c.flows.length,
      switches,
      ratio: {
        framesPerSec: Number((a.framesPerSec.median / b.framesPerSec.median).toFixed(3)),
        cpuSecPerMillion: Number((a.fixedRate.cpuSecPerMillion.median / b.fixedRate.cpuSecPerMillion.median).toFixed(3)),
      },
    });
  }
  if (ARGS.json) {
    process.stdout.write(`${JSON.stringify({ seconds: ARGS.seconds, runs: ARGS.runs, fixedRatePps: CPU_RATE, sflowSampling: SFLOW, mirror: MIRROR, netflow: NETFLOW, ipfixSampling: IPFIX, node: process.version, cases }, null, 2)}\n`);
    return;
  }
  for (const c of cases) {
    console.log(`\n${c.case}: ${c.description}\n`);
    console.log(`| switch | forwarded, frames/s | offered, frames/s | CPU s per million frames at ${CPU_RATE.toLocaleString('en')}/s |`);
    console.log('| --- | ---: | ---: | ---: |');
    for (const s of c.switches) {
      const cpu = fmtSpread(s.fixedRate.cpuSecPerMillion, (x) => x.toFixed(2)) + (s.fixedRate.belowLimit ? '' : ' (at its limit)');
      console.log(`| ${SWITCH_LABEL[s.switch]} | ${fmtSpread(s.framesPerSec)} | ${fmtSpread(s.offeredPerSec)} | ${cpu} |`);
    }
    console.log(`\nofswitch / Open vSwitch: forwarding ${c.ratio.framesPerSec.toFixed(2)}, CPU per frame ${c.ratio.cpuSecPerMillion.toFixed(2)}`);
  }
  console.log(`\nmedian (lowest–highest) of ${ARGS.runs} runs each, alternating order${SFLOW > 0 ? `; sFlow at 1:${SFLOW} on both switches` : ''}${NETFLOW ? '; NetFlow on both switches' : ''}${IPFIX > 0 ? `; IPFIX at 1:${IPFIX} on both switches` : ''}`);
}

main().catch((e: unknown) => {
  log(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
