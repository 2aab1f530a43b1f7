/**
 * The ovs-appctl commands about QoS, with vswitchd/bridge.c's names, texts and errors (Open vSwitch
 * 3.1, checked against its ovs-vswitchd in userspace on veth ports, test/qos/qos-show.test.ts):
 *
 *   qos/show-types INTERFACE   "QoS type: T" per type the interface can have
 *   qos/show INTERFACE         "QoS: IFACE TYPE", the QoS's details, then each queue with its
 *                              details and the kernel's counters; "QoS not configured on IFACE"
 *
 * An interface is any port of any bridge (OVS's iface_find); another name is the error "no such
 * interface" (ovs-appctl exits 2).
 *
 * linux-htb (qos/): what netdev-linux's htb_qdisc_get and htb_class_get give, from the classes as
 * made: the QoS's `max-rate` (bits/s); per queue ("Default:" for queue 0, "Queue N:" otherwise)
 * `min-rate`, `max-rate` only when it differs from min-rate, `burst` (bits), `priority` only when
 * not 0; then the class's tx_packets, tx_bytes and tx_errors (its drops) as the kernel counts them.
 * Queues and details come in the order OVS's hash maps give them (qos/ovs-hmap.ts).
 *
 * egress-policer (datapath/policer.ts): what netdev-dpdk's egress_policer_qos_get gives, `cir`
 * (bytes/s) and `cbs` (bytes), and no queues. Deliberate difference: OVS has egress-policer only
 * on its DPDK ports; on a system (veth) port it cannot set it and says "QoS not configured". ofswitch
 * polices every port in its datapath, so it shows the policer as OVS shows it on a port that has
 * one, and lists egress-policer among every port's types. Its types are linux-htb (ports with a
 * kernel interface) and egress-policer; OVS's linux-hfsc, -codel, -fq_codel, -sfq, -netem and -noop
 * are not offered. A qdisc that someone else put on the interface is not looked at (OVS reports it
 * as linux-other): ofswitch shows the QoS it made.
 */
import type { ClassCounters, HtbPlan } from '../qos/htb.js';
import { OvsHmap, ovsHashString, ovsStringOrder } from '../qos/ovs-hmap.js';
import { UnixctlError, type UnixctlRegistry } from '../unixctl/index.js';

export const LINUX_HTB = 'linux-htb';
export const EGRESS_POLICER = 'egress-policer';

/** One port's QoS as the commands need it (lib/switch.ts's qosState). */
export interface PortQosState {
  /** Whether the port has a kernel interface (linux-htb needs one). */
  readonly kernel: boolean;
  readonly htb: HtbPlan | undefined;
  /** Queue ids in OVS's order. */
  readonly queueOrder: readonly number[];
  /** The egress policer: rate (cir) in bytes/s, burst (cbs) in bytes. */
  readonly egress: { readonly rate: number; readonly burst: number } | null;
  counters(): Promise<ReadonlyMap<number, ClassCounters>>;
}

/** What the commands need of a switch. */
export interface QosSource {
  qosState(name: string): PortQosState | undefined;
}

function findInterface(bridges: () => ReadonlyMap<string, QosSource>, name: string): PortQosState {
  for (const sw of bridges().values()) {
    const state = sw.qosState(name);
    if (state) return state;
  }
  throw new UnixctlError('no such interface');
}

/** `qos/show-types`: the types in an sset's order (egress-policer is always one: OVS's "No QoS types supported" never applies). */
export function formatQosTypes(state: PortQosState): string {
  const types = state.kernel ? [LINUX_HTB, EGRESS_POLICER] : [EGRESS_POLICER];
  return ovsStringOrder(types).map((t) => `QoS type: ${t}\n`).join('');
}

/** Details in an smap's order, each line `${indent}key: value`; `map` is the smap (its buckets kept across calls, as smap_clear keeps them). */
function details(entries: readonly (readonly [string, string])[], indent: string, map = new OvsHmap<string>(ovsHashString)): string {
  map.clear();
  const values = new Map(entries);
  return ovsStringOrder(entries.map(([k]) => k), map).map((k) => `${indent}${k}: ${values.get(k) ?? ''}\n`).join('');
}

/** `qos/show` of a port with linux-htb: the QoS, then each queue with its counters (null: they could not be read). */
export function formatHtb(name: string, plan: HtbPlan, order: readonly number[], counters: ReadonlyMap<number, ClassCounters> | null): string {
  let out = `QoS: ${name} ${LINUX_HTB}\n` + details([['max-rate', String(8 * plan.maxRate)]], '');
  const smap = new OvsHmap<string>(ovsHashString);
  for (const id of order) {
    const c = plan.classes.find((k) => k.queueId === id);
    if (!c) continue;
    out += id === 0 ? '\nDefault:\n' : `\nQueue ${id}:\n`;
    const entries: [string, string][] = [['min-rate', String(8 * c.minRate)]];
    if (c.minRate !== c.maxRate) entries.push(['max-rate', String(8 * c.maxRate)]);
    entries.push(['burst', String(8 * c.burst)]);
    if (c.priority !== 0) entries.push(['priority', String(c.priority)]);
    out += details(entries, '  ', smap);
    const k = counters?.get(c.minor);
    if (k) out += `  tx_packets: ${k.packets}\n  tx_bytes: ${k.bytes}\n  tx_errors: ${k.drops}\n`;
    else out += `  Failed to get statistics for queue ${id}: No such file or directory`;
  }
  return out;
}

/** `qos/show` of a port with an egress policer. */
export function formatEgressPolicer(name: string, egress: { readonly rate: number; readonly burst: number }): string {
  return `QoS: ${name} ${EGRESS_POLICER}\n` + details([['cir', String(egress.rate)], ['cbs', String(egress.burst)]], '');
}

export async function formatQosShow(name: string, state: PortQosState): Promise<string> {
  if (state.htb) {
    const counters = await state.counters().catch(() => null);
    return formatHtb(name, state.htb, state.queueOrder, counters);
  }
  if (state.egress) return formatEgressPolicer(name, state.egress);
  return `QoS not configured on ${name}\n`;
}

export function registerQosCommands(registry: UnixctlRegistry, bridges: () => ReadonlyMap<string, QosSource>): void {
  registry.register('qos/show-types', 'interface', 1, 1, ([name = '']) => formatQosTypes(findInterface(bridges, name)));
  registry.register('qos/show', 'interface', 1, 1, ([name = '']) => formatQosShow(name, findInterface(bridges, name)));
}
