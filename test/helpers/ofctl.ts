/**
 * Running the real ovs-ofctl against a switch (inside its namespace), and normalising what it
 * prints so that ofswitch's output and Open vSwitch's can be compared: transaction ids,
 * durations, ages and counters are replaced by placeholders; nothing else is touched.
 */
import { tryRun, type RunResult } from './netns.js';
import { ovsEnv } from './ovs-rundir.js';

export type OfctlResult = RunResult;

/** `ovs-ofctl --timeout=10 ARGS...` with `target` inserted after the command word. */
export async function ofctl(ns: string | undefined, target: string, command: string, ...args: string[]): Promise<OfctlResult> {
  const opts = args.filter((a) => a.startsWith('--'));
  const rest = args.filter((a) => !a.startsWith('--'));
  return tryRun('ovs-ofctl', ['--timeout=10', ...opts, command, target, ...rest], ns, { env: ovsEnv() });
}

/** ovs-ofctl with no target (ofp-print, parse-flows). */
export async function ofctlOffline(...args: string[]): Promise<OfctlResult> {
  return tryRun('ovs-ofctl', args, undefined, { env: ovsEnv() });
}

const VOLATILE: readonly [RegExp, string][] = [
  [/xid=0x[0-9a-f]+/g, 'xid=X'],
  [/duration=[0-9.]+s/g, 'duration=D'],
  [/(idle_age|hard_age)=[0-9]+/g, '$1=A'],
  [/(n_packets|n_bytes|packet_count|byte_count)=[0-9]+/g, '$1=N'],
  [/(lookup|matched)=[0-9]+/g, '$1=N'],
  [/(pkts|bytes|drop|errs|frame|over|crc|coll)=[0-9?]+/g, '$1=N'],
];

/** Replaces the parts that legitimately differ between two runs. */
export function normalize(output: string): string {
  let text = output;
  for (const [re, by] of VOLATILE) text = text.replace(re, by);
  return text.trim();
}
