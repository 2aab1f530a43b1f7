/**
 * Policing from the database, as ovs-vswitchd's bridge.c iface_configure_qos reads it, and its
 * application to the running bridges through the Switch's public interface.
 *
 * Read (readPolicing, pure, from the rows config.ts already gave to each bridge's ports):
 * - Interface `ingress_policing_rate` (kbit/s) and `ingress_policing_burst` (kbit), each capped at
 *   2^32-1 as bridge.c passes them on (MIN(UINT32_MAX, ...)); rate 0 is no policing and burst 0
 *   the 8000 kbit default (datapath/policer.ts). `ingress_policing_kpkts_rate` is not supported: a
 *   problem when set.
 * - Port `qos` -> QoS row of type `egress-policer`: `other_config:cir` (bytes/s) and `cbs` (bytes),
 *   read as OVS's smap_get_ullong reads them (a decimal number, anything else 0). A zero or missing
 *   one is a problem, and the port is not policed (OVS's rte_meter refuses it and the port gets no
 *   QoS). Other QoS types are not this module's (linux-htb has its own; an empty type is none).
 *
 * Applied (applyPolicing) every reconfiguration to each interface that runs, level-triggered: the
 * switch keeps a policer whose settings did not change (bucket and drop count) and replaces or
 * removes the others at once, so a changed column takes effect with the next frame.
 */
import type { Datum, Row } from '../ovsdb/index.js';
import type { Switch } from '../lib/switch.js';
import type { BridgeConfig, ConfigProblem, ConfigSource } from './config.js';

/** The QoS type this module reads. */
export const EGRESS_POLICER = 'egress-policer';

/** The columns policing reads, for the daemon's monitor (merged into MONITORED_TABLES). */
export const POLICING_COLUMNS = {
  Interface: ['ingress_policing_rate', 'ingress_policing_burst', 'ingress_policing_kpkts_rate'],
  QoS: ['type', 'other_config'],
} as const;

/** The daemon's monitored tables with the policing columns added (a table already there keeps its columns, the new ones appended). */
export function withPolicingColumns(tables: Readonly<Record<string, readonly string[]>>): Record<string, readonly string[]> {
  const out: Record<string, readonly string[]> = { ...tables };
  for (const [table, columns] of Object.entries(POLICING_COLUMNS)) out[table] = [...new Set([...(out[table] ?? []), ...columns])];
  return out;
}

/** One interface's policing as the database asks for it. */
export interface InterfacePolicing {
  readonly name: string;
  /** kbit/s, 0: none. */
  readonly ingressRate: number;
  /** kbit, 0: the default. */
  readonly ingressBurst: number;
  /** The port's egress-policer, or null (none, or one that cannot be applied). */
  readonly egress: { readonly cir: number; readonly cbs: number } | null;
}

/** Per bridge name, its interfaces' policing (first interface of each port, as config.ts keeps them). */
export type PolicingConfig = ReadonlyMap<string, readonly InterfacePolicing[]>;

const UINT32_MAX = 0xffff_ffff;

function count(d: Datum | undefined): number {
  return typeof d === 'number' && d > 0 ? Math.min(d, UINT32_MAX) : 0;
}

/** A value as OVS's smap_get_ullong reads it: a decimal number, anything else (or nothing) 0. */
function ullong(text: string | undefined): number {
  if (text === undefined || !/^\s*\+?\d+$/.test(text)) return 0;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : 0;
}

function otherConfig(d: Datum | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (d instanceof Map) for (const [k, v] of d) out[String(k)] = String(v);
  return out;
}

/** Reads every bridge's policing; what cannot be applied goes to `problems`. */
export function readPolicing(db: ConfigSource, bridges: readonly BridgeConfig[], problems: ConfigProblem[]): PolicingConfig {
  const out = new Map<string, InterfacePolicing[]>();
  const interfaces = db.table('Interface');
  const ports = db.table('Port');
  const qosRows = db.table('QoS');
  for (const bridge of bridges) {
    const list: InterfacePolicing[] = [];
    for (const port of bridge.ports) {
      const iface = port.interfaces[0];
      if (!iface) continue;
      const row: Row | undefined = interfaces.get(iface.uuid);
      if (count(row?.['ingress_policing_kpkts_rate']) > 0)
        problems.push({ bridge: bridge.name, message: `interface ${iface.name}: ingress_policing_kpkts_rate is not supported: ignored` });
      const qosUuid = ports.get(port.uuid)?.['qos'];
      const qos = typeof qosUuid === 'string' ? qosRows.get(qosUuid) : undefined;
      let egress: InterfacePolicing['egress'] = null;
      if (qos?.['type'] === EGRESS_POLICER) {
        const other = otherConfig(qos['other_config']);
        const cir = ullong(other['cir']);
        const cbs = ullong(other['cbs']);
        if (cir > 0 && cbs > 0) egress = { cir, cbs };
        else {
          const zero = [cir === 0 ? 'cir' : '', cbs === 0 ? 'cbs' : ''].filter((k) => k !== '').join(' and ');
          problems.push({
            bridge: bridge.name,
            message: `port ${port.name}: QoS type egress-policer needs other_config:${zero} greater than 0 (bytes/s, bytes): the port is not policed`,
          });
        }
      }
      list.push({ name: iface.name, ingressRate: count(row?.['ingress_policing_rate']), ingressBurst: count(row?.['ingress_policing_burst']), egress });
    }
    out.set(bridge.name, list);
  }
  return out;
}

/** Applies a bridge's policing to its switch: every interface the switch runs gets exactly what the database says. */
export function applyPolicing(sw: Switch, policing: readonly InterfacePolicing[]): void {
  for (const p of policing) {
    // Values come from readPolicing (non-negative integers within range): the setters accept them.
    if (!sw.setIngressPolicing(p.name, p.ingressRate, p.ingressBurst)) continue; // not running (an error of its own)
    sw.setEgressPolicer(p.name, p.egress);
  }
}
