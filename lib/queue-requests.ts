/**
 * The agent's answers about egress queues (QoS, qos/): OFPT_QUEUE_GET_CONFIG and OFPST_QUEUE,
 * as Open vSwitch's ofproto.c answers them.
 *
 * - Queue statistics: one port or OFPP_ALL, one queue or OFPQ_ALL. With OFPQ_ALL a port lists
 *   every queue it has (none without QoS: no error). A named queue a port lacks is
 *   OFPQOFC_BAD_QUEUE for that port; with OFPP_ALL the request fails only when no port has it.
 *   A port number that is no port is OFPQOFC_BAD_PORT (the caller checks). Counters are the
 *   kernel's for the queue's HTB class: tx_packets, tx_bytes, and tx_errors the class's drops.
 * - Queue configuration: the port's queues, each with OFPQT_MIN_RATE (tenths of a percent of the
 *   port's max-rate). Deliberate difference: Open vSwitch 3.1 leaves the property out (it
 *   hard-codes "no min rate"); OpenFlow 1.0 defines it, and the issue asks for it.
 */
import { HTB, OFPQ_ALL, OFPQOFC, OFPQT } from '../protocol/index.js';
import type { PacketQueue, QueueStats } from '../protocol/index.js';
import { minRateTenths } from '../qos/htb.js';
import type { PortQos } from '../qos/port-qos.js';

/** One queue's counters as the kernel keeps them. */
export interface QueueCounters {
  readonly txBytes: bigint;
  readonly txPackets: bigint;
  readonly txErrors: bigint;
}

/** A switch's egress queues, as the agent asks about them. */
export interface AgentQueues {
  /** The queues of port `portNo` with their properties, by id; empty when it has no QoS. */
  config(portNo: number): readonly PacketQueue[];
  /** The counters of port `portNo`'s queues, by queue id (read from the kernel). */
  counters(portNo: number): Promise<ReadonlyMap<number, QueueCounters>>;
}

export type QueueStatsResult = { readonly ok: true; readonly stats: QueueStats[] } | { readonly ok: false; readonly code: number; readonly text: string };

/** OFPST_QUEUE for the ports `portNos` (one, or every port for OFPP_ALL: `all`). */
export async function queueStats(queues: AgentQueues, portNos: readonly number[], queueId: number, all: boolean): Promise<QueueStatsResult> {
  const stats: QueueStats[] = [];
  let found = false;
  for (const portNo of portNos) {
    const ids = queues.config(portNo).map((q) => q.queueId);
    const wanted = queueId === OFPQ_ALL ? ids : ids.filter((id) => id === queueId);
    if (queueId === OFPQ_ALL || wanted.length > 0) found = true;
    if (wanted.length === 0) continue;
    const counters = await queues.counters(portNo);
    for (const id of wanted) {
      const c = counters.get(id);
      if (c) stats.push({ portNo, queueId: id, txBytes: c.txBytes, txPackets: c.txPackets, txErrors: c.txErrors });
    }
  }
  if (!found)
    return { ok: false, code: OFPQOFC.BAD_QUEUE, text: `${all ? 'no port has' : `port ${portNos[0] ?? '?'} has no`} queue ${queueId}` };
  return { ok: true, stats };
}

/** A switch's PortQos as the agent asks about it, ports named by `nameOf` (their OpenFlow number). */
export function agentQueues(qos: PortQos, nameOf: (portNo: number) => string | undefined): AgentQueues {
  return {
    config(portNo) {
      const name = nameOf(portNo);
      const plan = name === undefined ? undefined : qos.plan(name);
      if (!plan) return [];
      return plan.classes
        .filter((c) => c.queueId !== null)
        .map((c) => ({ queueId: c.queueId as number, properties: [{ property: OFPQT.MIN_RATE, rate: minRateTenths(c, plan) }] }));
    },
    async counters(portNo) {
      const name = nameOf(portNo);
      const out = new Map<number, QueueCounters>();
      if (name === undefined) return out;
      for (const [minor, c] of await qos.counters(name)) {
        if (minor >= 1 && minor <= HTB.N_QUEUES) out.set(minor - 1, { txBytes: c.bytes, txPackets: c.packets, txErrors: c.drops });
      }
      return out;
    },
  };
}
