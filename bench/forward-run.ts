/**
 * One run of the forwarding benchmark's measurement, shared by bench:forward (ofswitch beside Open
 * vSwitch) and bench:features (what each observability feature costs, beside the same switch
 * without it): a rig built anew, the switch started with the features asked for, the case's rules
 * added, then trafgen as fast as it can and at a fixed rate (the switch's CPU time per million
 * frames forwarded). See bench/forward.ts for the topology and the two phases.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FRAMES, TrafgenRig, cpuSeconds, log, type Measurement } from './trafgen-rig.js';
import { startSwitch, type SwitchName } from './switches.js';

export interface Case {
  readonly name: string;
  readonly description: string;
  readonly frame: string;
  readonly flows: readonly string[];
}

const MANY_RULES = 1000;
export const CASES: readonly Case[] = [
  { name: 'one-flow', description: 'one flow, rule in_port=1,actions=output:2', frame: FRAMES.oneFlow, flows: ['in_port=1,actions=output:2'] },
  {
    name: 'many-flows',
    description: `random UDP ports on every frame, ${MANY_RULES.toLocaleString('en')} rules on tp_dst + a catch-all`,
    frame: FRAMES.randomPorts,
    flows: [
      ...Array.from({ length: MANY_RULES }, (_, i) => `priority=200,udp,tp_dst=${i + 1},actions=output:2`),
      'priority=1,actions=output:2',
    ],
  },
];

/** The observability features a run switches on (on both switches alike). */
export interface Features {
  /** sFlow at 1 in N packets (0 or absent: off). */
  readonly sflow?: number;
  /** A select_all mirror to the third host. */
  readonly mirror?: boolean;
  /** NetFlow v5 export. */
  readonly netflow?: boolean;
  /** IPFIX bridge export at 1 in N packets (0 or absent: off). */
  readonly ipfix?: number;
}

export interface RunSettings {
  readonly seconds: number;
  /** The fixed rate of the CPU phase, frames/s. */
  readonly cpuRate: number;
  /** A third host in the rig (the mirror's destination; also without a mirror, for the same topology). */
  readonly thirdHost: boolean;
}

export interface Run {
  max: Measurement;
  fixed: Measurement;
  /** CPU seconds of the switch process per million frames received, in the fixed-rate phase. */
  cpuSecPerMillion: number;
}

function checkNoExtraFrames(m: Measurement, what: string): void {
  if (m.receivedTotal > m.sentTotal) {
    throw new Error(`${what}: the receiver got ${m.receivedTotal} frames, more than the ${m.sentTotal} sent`);
  }
}

/** One run of case `c` through switch `name` with `features` on; `label` names it in the progress log. */
export async function runOnce(c: Case, name: SwitchName, features: Features, settings: RunSettings, label: string = name): Promise<Run> {
  if (features.mirror && !settings.thirdHost) throw new Error('a mirror needs the rig\'s third host');
  const rig = new TrafgenRig(name === 'ofswitch' ? 'fw' : 'fo', { switchNamespace: true, extraHosts: settings.thirdHost ? 1 : 0 });
  try {
    const sw = await startSwitch(name, rig, {
      ...(features.sflow ? { sflowSampling: features.sflow } : {}),
      ...(features.mirror ? { mirrorPort: rig.extra[0]!.port } : {}),
      ...(features.netflow ? { netflow: true } : {}),
      ...(features.ipfix ? { ipfixSampling: features.ipfix } : {}),
    });
    const flowFile = join(rig.workDir, 'flows.txt');
    writeFileSync(flowFile, `${c.flows.join('\n')}\n`);
    sw.ofctl('add-flows', flowFile);
    const installed = sw.flowCount();
    if (installed !== c.flows.length) throw new Error(`${name}: ${installed} flows installed, not ${c.flows.length}`);
    const max = await rig.measure(settings.seconds, { frame: c.frame });
    checkNoExtraFrames(max, `${label} ${c.name}`);
    const cpu: number[] = [];
    const fixed = await rig.measure(settings.seconds, { frame: c.frame, ratePps: settings.cpuRate, during: () => { cpu.push(cpuSeconds(sw.pid)); } });
    checkNoExtraFrames(fixed, `${label} ${c.name} at ${settings.cpuRate} frames/s`);
    await sw.stop();
    const cpuSecPerMillion = (cpu[1]! - cpu[0]!) / ((fixed.receivedPerSec * fixed.windowSec) / 1e6);
    log(`  ${label.padEnd(8)} ${c.name}: ${Math.round(max.receivedPerSec)} of ${Math.round(max.offeredPerSec)} frames/s offered; ` +
      `at ${Math.round(fixed.offeredPerSec)}/s offered ${Math.round(fixed.receivedPerSec)}/s forwarded, ` +
      `${cpuSecPerMillion.toFixed(2)} CPU s per million`);
    return { max, fixed, cpuSecPerMillion };
  } finally {
    rig.cleanup();
  }
}

/** Whether a run forwarded (nearly) all of the fixed rate: its CPU figure is then below the switch's limit. */
export function belowLimit(r: Run): boolean {
  return r.fixed.receivedPerSec >= 0.98 * r.fixed.offeredPerSec;
}
