/**
 * `ovs-appctl ofswitch/drops`'s text (the record itself is drop-record.ts): per bridge a header
 * with the totals since start, then each frame held, oldest first, in two lines:
 *
 *   2026-11-28T00:01:02.345Z in_port=1 drop: drop action (empty actions) [priority=100,cookie=0x5]
 *     icmp,in_port=1,vlan_tci=0x0000,dl_src=...,dl_dst=...,nw_src=10.0.0.1,...
 *
 * the time (UTC, milliseconds), the input port, `drop` or `controller` (a punt) and the reason, the
 * deciding entry when there was one, then the frame's flow as ovs-ofctl and ofproto/trace print a
 * flow (trace/flow-text.ts).
 */
import type { DropLog, DropRecord } from './drop-record.js';
import { formatFlow, formatInPort } from './trace/flow-text.js';

/** One record's two lines. */
export function formatDropRecord(r: DropRecord): string {
  const entry = r.entry === null ? '' : ` [priority=${r.entry.priority},cookie=0x${r.entry.cookie.toString(16)}]`;
  return `${new Date(r.time).toISOString()} in_port=${formatInPort(r.inPort)} ${r.kind}: ${r.text}${entry}\n  ${formatFlow(r.frame, r.inPort)}\n`;
}

/** A bridge's section: its header line and every record held. */
export function formatDropLog(bridge: string, log: DropLog): string {
  const { dropped, punted } = log.totals();
  const records = log.records();
  let out = `bridge ${bridge}: ${dropped} dropped, ${punted} sent to a controller; the last ${records.length} (at most ${log.size}), oldest first:\n`;
  for (const r of records) out += formatDropRecord(r);
  return out;
}
