/**
 * What ovs-vswitchd writes back to the database, written back by ofswitch: one transaction per
 * round holding only the columns whose values changed, so that `ovs-vsctl show`, `list` and
 * `wait-until` see what runs.
 *
 * - Interface: `ofport` (-1 with `error` when it could not be made), `error`, `admin_state`,
 *   `link_state`, `link_speed` (bit/s), `duplex`, `mtu`, `mac_in_use`, `ifindex`; `statistics`
 *   only when asked (every few seconds, as OVS's stats-update-interval); `status`, the keys the
 *   port type writes (netdev_get_status: a tunnel's tunnel_egress_iface and
 *   tunnel_egress_iface_carrier; the switch's 'interface-status' event schedules the write).
 * - Interface, CFM and BFD (bridge.c's iface_refresh_cfm_stats and bfd_status): `cfm_fault`,
 *   `cfm_fault_status`, `cfm_flap_count`, `cfm_remote_opstate` (extended mode only), `cfm_health`
 *   (when defined), `cfm_remote_mpids`, all empty without CFM; `bfd_status` (state, forwarding,
 *   diagnostic, remote_state, remote_diagnostic, flap_count), empty without BFD. The monitor's
 *   'status' event schedules the write (within STATUS_DELAY_MS, daemon.ts).
 * - Bridge: `datapath_id` (16 hex digits), `datapath_version` ("<built-in>", as OVS's netdev datapath).
 * - Controller: `is_connected`, `role` ("other" while connected, the OpenFlow 1.0 role), `status`
 *   (`state` as OVS's rconn names it; empty for ptcp:/punix: services, as OVS leaves it).
 * - Mirror: `statistics` (`tx_packets`, `tx_bytes`) of the mirrors that run, with the interface
 *   statistics (bridge.c's mirror_refresh_stats); a mirror that could not be made is left as it is.
 * - Open_vSwitch: `cur_cfg` (the `next_cfg` the round applied: what a plain ovs-vsctl waits for),
 *   `ovs_version`, `datapath_types`, `iface_types`, `dpdk_version` ("none", as OVS without DPDK).
 * New interfaces' `ofport` therefore lands in the transaction that advances `cur_cfg`, so it is
 * there when ovs-vsctl returns. Only ephemeral status columns and `error` are written: nothing
 * the operator owns.
 */
import { readFileSync } from 'node:fs';
import { OFPPC, OFPPF, OFPPS } from '../protocol/constants.js';
import type { Datum, DatumInput, Row } from '../ovsdb/index.js';
import type { MirrorView, PortView } from '../lib/switch.js';
import type { SpanningTree } from '../stp/tree.js';
import type { LinkMonitor } from '../oam/index.js';

/** OFPPF speed bits and the link speed each stands for, in bit/s. */
const SPEEDS: readonly (readonly [bit: number, bps: number, full: boolean])[] = [
  [OFPPF['10GB_FD'], 10_000_000_000, true],
  [OFPPF['1GB_FD'], 1_000_000_000, true],
  [OFPPF['1GB_HD'], 1_000_000_000, false],
  [OFPPF['100MB_FD'], 100_000_000, true],
  [OFPPF['100MB_HD'], 100_000_000, false],
  [OFPPF['10MB_FD'], 10_000_000, true],
  [OFPPF['10MB_HD'], 10_000_000, false],
];

function readSysInt(ifname: string, attr: string): number | null {
  try {
    const n = Number(readFileSync(`/sys/class/net/${ifname}/${attr}`, 'utf8').trim());
    return Number.isInteger(n) ? n : null;
  } catch {
    return null;
  }
}

/** Kernel-backed port types: they have an ifindex and an MTU. */
const KERNEL_TYPES: ReadonlySet<string> = new Set(['system', 'internal']);

/** The Interface status columns of a running port. */
export function interfaceStatus(view: PortView): Record<string, DatumInput> {
  const d = view.description;
  const speed = SPEEDS.find(([bit]) => (d.curr & bit) !== 0);
  const kernel = KERNEL_TYPES.has(view.type);
  const status: Record<string, DatumInput> = {
    admin_state: (d.config & OFPPC.PORT_DOWN) !== 0 ? 'down' : 'up',
    link_state: (d.state & OFPPS.LINK_DOWN) !== 0 ? 'down' : 'up',
    mac_in_use: d.hwAddr,
    link_speed: speed ? speed[1] : [],
    duplex: speed ? (speed[2] ? 'full' : 'half') : [],
    ifindex: kernel ? (readSysInt(view.name, 'ifindex') ?? []) : 0,
    mtu: kernel ? (readSysInt(view.name, 'mtu') ?? []) : [],
    status: new Map(view.status),
  };
  return status;
}

/** The CFM and BFD status columns of an interface (empty when it runs neither, or does not run). */
export function monitorStatus(monitor: LinkMonitor | undefined, name: string): Record<string, DatumInput> {
  const cfm = monitor?.cfm(name);
  const bfd = monitor?.bfd(name);
  const out: Record<string, DatumInput> = { bfd_status: bfd ? bfd.statusMap() : new Map<string, string>() };
  if (!cfm) {
    return { ...out, cfm_fault: [], cfm_fault_status: [], cfm_flap_count: [], cfm_remote_opstate: [], cfm_health: [], cfm_remote_mpids: [] };
  }
  const s = cfm.status();
  return {
    ...out,
    cfm_fault: s.faults !== 0,
    cfm_fault_status: [...s.faultNames].sort(),
    cfm_flap_count: s.flapCount,
    cfm_remote_opstate: s.remoteOpstate < 0 ? [] : s.remoteOpstate ? 'up' : 'down',
    cfm_health: s.health >= 0 ? s.health : [],
    cfm_remote_mpids: [...s.remoteMpids].sort((a, b) => a - b),
  };
}

/** The empty status of an interface that does not run. */
export const NO_INTERFACE_STATUS: Readonly<Record<string, DatumInput>> = {
  admin_state: [],
  link_state: [],
  mac_in_use: [],
  link_speed: [],
  duplex: [],
  ifindex: [],
  mtu: [],
  status: new Map<string, string>(),
};

/** The `statistics` map of a running port, with OVS's key names. */
export function interfaceStatistics(view: PortView): Map<string, number> {
  const s = view.stats;
  return new Map<string, number>([
    ['collisions', Number(s.collisions)],
    ['rx_bytes', Number(s.rxBytes)],
    ['rx_crc_err', Number(s.rxCrcErr)],
    ['rx_dropped', Number(s.rxDropped)],
    ['rx_errors', Number(s.rxErrors)],
    ['rx_frame_err', Number(s.rxFrameErr)],
    ['rx_over_err', Number(s.rxOverErr)],
    ['rx_packets', Number(s.rxPackets)],
    ['tx_bytes', Number(s.txBytes)],
    ['tx_dropped', Number(s.txDropped)],
    ['tx_errors', Number(s.txErrors)],
    ['tx_packets', Number(s.txPackets)],
  ]);
}

/** The `statistics` map of a running mirror, with OVS's key names. */
export function mirrorStatistics(view: MirrorView): Map<string, number> {
  return new Map<string, number>([
    ['tx_bytes', view.txBytes],
    ['tx_packets', view.txPackets],
  ]);
}

/** Whether `next` (as it would be written) differs from `current` (as the replica holds it). */
export function differs(current: Datum | undefined, next: DatumInput): boolean {
  const cur = current ?? null;
  if (next instanceof Map) {
    if (!(cur instanceof Map) || cur.size !== next.size) return true;
    for (const [k, v] of next) if (cur.get(k as string) !== v) return true;
    return false;
  }
  if (Array.isArray(next)) {
    if (next.length === 0) return !(cur === null || (Array.isArray(cur) && cur.length === 0) || (cur instanceof Map && cur.size === 0));
    if (!Array.isArray(cur) || cur.length !== next.length) return true;
    return next.some((v, i) => cur[i] !== v);
  }
  if (typeof next === 'bigint') return cur !== Number(next);
  return cur !== next;
}

/** The columns of `wanted` whose values differ from `row`'s (all of them when there is no row). */
export function changedColumns(row: Row | undefined, wanted: Readonly<Record<string, DatumInput>>): Record<string, DatumInput> {
  const out: Record<string, DatumInput> = {};
  for (const [column, value] of Object.entries(wanted)) {
    if (!row || differs(row[column], value)) out[column] = value;
  }
  return out;
}

/**
 * The spanning tree's Bridge columns (bridge.c's br_refresh_stp_status / br_refresh_rstp_status):
 * `status` holds stp_bridge_id, stp_designated_root, stp_root_path_cost while STP runs;
 * `rstp_status` the rstp_* keys while RSTP runs; each is empty otherwise.
 */
export function bridgeTreeStatus(tree: SpanningTree | null): Record<string, DatumInput> {
  const map = (r: Record<string, string> | null): Map<string, string> => new Map(Object.entries(r ?? {}));
  return {
    status: map(tree?.kind === 'stp' ? tree.bridgeStatus() : null),
    rstp_status: map(tree?.kind === 'rstp' ? tree.bridgeStatus() : null),
  };
}

/**
 * A Port's spanning tree columns (port_refresh_stp_status / _stats, port_refresh_rstp_status /
 * _stats): `status` (stp_port_id, stp_state, stp_sec_in_state, stp_role) and `rstp_status`, and,
 * with `withStats`, `statistics` (stp_tx_count, stp_rx_count, stp_error_count) and
 * `rstp_statistics` (rstp_tx_count, rstp_rx_count, rstp_error_count, rstp_uptime). Empty for a
 * port the tree does not run on. `ofport`: the port's number, or null when it does not run.
 */
export function portTreeStatus(tree: SpanningTree | null, ofport: number | null, withStats: boolean, uptime: (ofport: number) => number): Record<string, DatumInput> {
  const status = tree !== null && ofport !== null ? tree.portStatus(ofport) : null;
  const counters = tree !== null && ofport !== null ? tree.counters(ofport) : null;
  const stp = tree?.kind === 'stp';
  const out: Record<string, DatumInput> = {
    status: new Map(Object.entries(stp ? (status ?? {}) : {})),
    rstp_status: new Map(Object.entries(!stp ? (status ?? {}) : {})),
  };
  if (withStats) {
    out['statistics'] =
      stp && counters ? new Map([['stp_error_count', counters.errors], ['stp_rx_count', counters.rx], ['stp_tx_count', counters.tx]]) : new Map<string, number>();
    out['rstp_statistics'] =
      !stp && counters && ofport !== null
        ? new Map([['rstp_error_count', counters.errors], ['rstp_rx_count', counters.rx], ['rstp_tx_count', counters.tx], ['rstp_uptime', uptime(ofport)]])
        : new Map<string, number>();
  }
  return out;
}
