/**
 * QoS type linux-htb, as Open vSwitch's lib/netdev-linux.c defines it: what a QoS row and its
 * queues ask for (other_config, read as OVS reads it), the HTB classes that makes on the port's
 * egress, and the `tc` commands that make them. Pure: no I/O (tc.ts runs the commands).
 *
 * Classes (constants.ts HTB): qdisc 1: with default class 1:1 (queue 0), the root class 1:fffe
 * (rate = ceil = the QoS's max-rate), and queue N as class 1:(N+1) under it. Queue 0 always
 * exists: when the QoS has none, it is made with empty settings, as bridge.c does.
 *
 * Values, as netdev-linux.c computes them (rates in bytes/s; other_config in bits):
 * - QoS max-rate: other_config:max-rate / 8; unset or 0: the link speed, else 10 Gbit/s.
 * - Queue min-rate: at least the MTU (HTB sends nothing below one frame per second), at most the
 *   QoS's max-rate. max-rate: other_config:max-rate / 8, unset: the QoS's; at least min-rate, at
 *   most the QoS's. burst: other_config:burst / 8, at least MTU + 64 bytes. priority: as given
 *   (HTB has 8 levels: the kernel takes anything above 7 as 7, so it is given as 7).
 * - tc's burst (and cburst) for a class: the larger of its burst and what one timer tick at its
 *   rate (or ceil) sends plus an MTU, as tc_calc_buffer computes it (the kernel's packet-scheduler
 *   clock runs at 1 GHz on every kernel since 2.6.32, so the tick adds less than a byte per Gbit/s).
 * - quantum: the MTU when rate / r2q (10) would be less, else HTB's own (rate / r2q).
 * A number other_config cannot be read as (not decimal digits) counts as unset, as smap_get_ullong
 * reads it.
 */
import { HTB } from '../protocol/constants.js';

/** A QoS row of type linux-htb and its queues, as other_config gives them (bits/s, bits). */
export interface HtbSettings {
  /** QoS other_config:max-rate (bits/s); 0: unset. */
  readonly maxRate: number;
  /** Queue id to the queue's settings (Queue other_config). */
  readonly queues: ReadonlyMap<number, HtbQueueSettings>;
}

/** A Queue row's other_config (bits/s, bits; 0: unset). */
export interface HtbQueueSettings {
  readonly minRate: number;
  readonly maxRate: number;
  readonly burst: number;
  readonly priority: number;
}

/** One HTB class as it is made (bytes/s, bytes). */
export interface HtbClass {
  /** The class's minor number: 0xfffe for the root, queue id + 1 for a queue. */
  readonly minor: number;
  /** The queue it serves; null for the root class. */
  readonly queueId: number | null;
  readonly minRate: number;
  readonly maxRate: number;
  readonly burst: number;
  readonly priority: number;
}

/** What a port's linux-htb QoS makes: the root class first, then one class per queue by id. */
export interface HtbPlan {
  /** The QoS's max-rate in bytes/s (what min-rates are a share of). */
  readonly maxRate: number;
  readonly classes: readonly HtbClass[];
}

/** An other_config number as smap_get_ullong reads it: decimal digits, else 0 (unset). */
export function configNumber(value: string | undefined): number {
  if (value === undefined || !/^\d+$/.test(value.trim())) return 0;
  const n = Number(value.trim());
  return Number.isSafeInteger(n) ? n : 0;
}

/** A Queue row's other_config read into settings. */
export function queueSettings(otherConfig: Readonly<Record<string, string>>): HtbQueueSettings {
  return {
    minRate: configNumber(otherConfig['min-rate']),
    maxRate: configNumber(otherConfig['max-rate']),
    burst: configNumber(otherConfig['burst']),
    priority: configNumber(otherConfig['priority']),
  };
}

const NO_SETTINGS: HtbQueueSettings = { minRate: 0, maxRate: 0, burst: 0, priority: 0 };

/** The classes a linux-htb QoS makes on a port of this MTU and link speed (Mb/s, 0: unknown). */
export function htbPlan(settings: HtbSettings, mtu: number, speedMbps: number): HtbPlan {
  const rootRate =
    Math.floor(settings.maxRate / 8) || (speedMbps > 0 ? (speedMbps / 8) * 1_000_000 : HTB.DEFAULT_BPS / 8);
  const classes: HtbClass[] = [
    { minor: HTB.ROOT_MINOR, queueId: null, minRate: rootRate, maxRate: rootRate, burst: 0, priority: 0 },
  ];
  const ids = [...settings.queues.keys()].filter((id) => id >= 0 && id < HTB.N_QUEUES);
  if (!ids.includes(0)) ids.push(0);
  ids.sort((a, b) => a - b);
  for (const queueId of ids) {
    const q = settings.queues.get(queueId) ?? NO_SETTINGS;
    const minRate = Math.min(Math.max(Math.floor(q.minRate / 8), mtu), rootRate);
    const asked = Math.floor(q.maxRate / 8) || rootRate;
    const maxRate = Math.min(Math.max(asked, minRate), rootRate);
    const burst = Math.max(Math.floor(q.burst / 8), mtu + 64);
    classes.push({ minor: queueId + 1, queueId, minRate, maxRate, burst, priority: q.priority });
  }
  return { maxRate: rootRate, classes };
}

/** A class handle as tc writes it: "1:fffe". */
export function classHandle(minor: number): string {
  return `${HTB.MAJOR}:${minor.toString(16)}`;
}

/** The packet-scheduler clock's ticks per second (the kernel's psched "buffer_hz" since 2.6.32). */
const BUFFER_HZ = 1_000_000_000;

/** tc_calc_buffer's burst in bytes: the class's, or a tick's worth at `rate` plus an MTU, whichever is larger. */
function tcBurst(rate: number, mtu: number, burst: number): number {
  return Math.max(burst, Math.floor(rate / BUFFER_HZ) + mtu);
}

/** `tc` arguments that make (or change) one class on `dev` ("class replace", as OVS's htb_setup_class__). */
export function classCommand(dev: string, c: HtbClass, mtu: number): string[] {
  const parent = c.queueId === null ? `${HTB.MAJOR}:` : classHandle(HTB.ROOT_MINOR);
  const args = [
    'class', 'replace', 'dev', dev, 'parent', parent, 'classid', classHandle(c.minor), 'htb',
    'rate', `${c.minRate * 8}bit`, 'ceil', `${c.maxRate * 8}bit`,
    'burst', `${tcBurst(c.minRate, mtu, c.burst)}b`, 'cburst', `${tcBurst(c.maxRate, mtu, c.burst)}b`,
    'prio', String(Math.min(c.priority, 7)), 'mpu', String(HTB.MPU),
  ];
  if (c.minRate / HTB.RATE2QUANTUM < mtu) args.push('quantum', String(mtu));
  return args;
}

/** `tc` arguments for the qdisc itself ("tc qdisc add dev DEV root handle 1: htb default 1"). */
export function qdiscCommand(dev: string): string[] {
  return ['qdisc', 'add', 'dev', dev, 'root', 'handle', `${HTB.MAJOR}:`, 'htb', 'default', HTB.DEFAULT_MINOR.toString(16), 'r2q', String(HTB.RATE2QUANTUM)];
}

/**
 * OFPQT_MIN_RATE of a queue: its min-rate as a share of the QoS's max-rate in tenths of a percent
 * (1000 is all of it), as OpenFlow 1.0 defines the property.
 */
export function minRateTenths(queue: HtbClass, plan: HtbPlan): number {
  return Math.min(1000, Math.round((queue.minRate * 1000) / plan.maxRate));
}

/** One class's counters as the kernel keeps them. */
export interface ClassCounters {
  readonly bytes: bigint;
  readonly packets: bigint;
  readonly drops: bigint;
}

/**
 * The counters of every HTB class of qdisc 1: in `tc -s class show` output, by minor number
 * (this machine's iproute2 prints HTB classes as text only, even with -j).
 */
export function parseClassStats(text: string): Map<number, ClassCounters> {
  const out = new Map<number, ClassCounters>();
  const re = /^class htb ([0-9a-f]+):([0-9a-f]+) [^\n]*\n\s*Sent (\d+) bytes (\d+) pkt \(dropped (\d+)/gm;
  for (const m of text.matchAll(re)) {
    if (parseInt(m[1] as string, 16) !== HTB.MAJOR) continue;
    out.set(parseInt(m[2] as string, 16), { bytes: BigInt(m[3] as string), packets: BigInt(m[4] as string), drops: BigInt(m[5] as string) });
  }
  return out;
}
