/**
 * A bridge's spanning tree settings as an operator gives them (the Bridge's stp_enable /
 * rstp_enable and other_config stp-* / rstp-* keys, the Port's other_config, or the flag mode's
 * config file), checked and resolved against the bridge's ports the way ovs-vswitchd's
 * bridge_configure_stp / bridge_configure_rstp do:
 *
 * - internal ports never take part; a port with `enable: false` neither, nor a mirror's output
 *   port (OVS's port_configure_stp/rstp: "STP on mirror output ports is not supported"; such a
 *   port neither sends nor takes part in BPDUs, and NORMAL never outputs to it);
 * - STP port numbers: all given (1..255, no repeats) or none (then 1, 2, ... in OpenFlow port
 *   order); RSTP: a given number, else the lowest free one;
 * - path cost from the port's speed when not given (STP: 10 Gb/s 2, 1 Gb/s 4, 100 Mb/s 19,
 *   16 Mb/s 62, 10 Mb/s 100, 4 Mb/s 250; RSTP: 20,000,000,000 / Mb/s, as 802.1D-2004's table:
 *   10 Gb/s 2,000);
 * - bridge id: priority and the system id (stp-system-id / rstp-address, default the bridge's
 *   MAC); RSTP's priority is rounded down to a multiple of 4,096, a port's to a multiple of 16.
 * - RSTP's rstp-ageing-time and rstp-force-protocol-version as bridge.c reads them
 *   (smap_get_ullong: a value that is no number gives the default, 300 s / 2) and lib/rstp.c sets
 *   them: a number outside 10..1,000,000 s, or a version other than 0 and 2, is ignored (the
 *   running value stays); rstp-port-mcheck true asks for a migration check.
 */
import type { TreeBridgeConfig, TreePortConfig } from '../datapath/spanning-tree.js';
import { RSTP_DEFAULTS, STP_DEFAULTS } from '../protocol/constants.js';
import { bridgeId, macToBigint } from '../stp/bpdu.js';

export type SpanningTreeProtocol = 'stp' | 'rstp';

/** One port's settings (the Port table's other_config stp-* or rstp-*). */
export interface SpanningTreePortSpec {
  /** stp-enable / rstp-enable (default true). */
  readonly enable?: boolean;
  /** stp-port-num / rstp-port-num. */
  readonly portNum?: number;
  /** stp-port-priority / rstp-port-priority. */
  readonly priority?: number;
  /** stp-path-cost / rstp-path-cost. */
  readonly pathCost?: number;
  /** rstp-port-admin-edge (default false), rstp-port-auto-edge (default true). */
  readonly adminEdge?: boolean;
  readonly autoEdge?: boolean;
  /** rstp-port-mcheck (default false): turning true restarts the port's protocol migration check. */
  readonly mcheck?: boolean;
  /**
   * rstp-admin-p2p-mac as OVS's bridge.c reads it (smap_get_ullong, default 1): 0 force false,
   * 1 force true, 2 auto (false: OVS determines no point-to-point MAC); 'ignored': another
   * number, which lib/rstp.c ignores (the running value stays).
   */
  readonly adminP2p?: 0 | 1 | 2 | 'ignored';
}

export interface SpanningTreeSpec {
  readonly protocol: SpanningTreeProtocol;
  /** The bridge's name in stp/show and rstp/show (default "ofswitch"). */
  readonly name?: string;
  /** stp-system-id / rstp-address: a MAC; default the bridge's. */
  readonly systemId?: string;
  /** stp-priority / rstp-priority. */
  readonly priority?: number;
  /** Seconds: stp-hello-time (STP only), stp-max-age / rstp-max-age, stp-forward-delay / rstp-forward-delay. */
  readonly helloTime?: number;
  readonly maxAge?: number;
  readonly forwardDelay?: number;
  /** rstp-transmit-hold-count. */
  readonly transmitHoldCount?: number;
  /** rstp-ageing-time, seconds (10..1,000,000; default 300). Changes nothing else, as in OVS 3.1. */
  readonly ageingTime?: number;
  /** rstp-force-protocol-version: 0 STP compatibility, 2 RSTP (the default). */
  readonly forceProtocolVersion?: 0 | 2;
  /** By port name. */
  readonly ports?: Readonly<Record<string, SpanningTreePortSpec>>;
}

export class SpanningTreeError extends Error {
  override readonly name = 'SpanningTreeError';
}

/** What the resolution needs to know of a port. */
export interface TreeCandidatePort {
  readonly name: string;
  readonly ofport: number;
  readonly type: string;
  readonly speedMbps: number;
  /** The output port of a running mirror (reserved for mirroring: no spanning tree there). */
  readonly mirrorOutput?: boolean;
}

const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

/** OVS's stp_convert_speed_to_cost. */
export function stpCost(mbps: number): number {
  return mbps >= 10000 ? 2 : mbps >= 1000 ? 4 : mbps >= 100 ? 19 : mbps >= 16 ? 62 : mbps >= 10 ? 100 : mbps >= 4 ? 250 : 2;
}

/** OVS's rstp_convert_speed_to_cost (802.1D-2004 table 17-3). */
export function rstpCost(mbps: number): number {
  return mbps >= 10000000 ? 2 : mbps >= 1000000 ? 20 : mbps >= 100000 ? 200 : mbps >= 10000 ? 2000 : mbps >= 1000 ? 20000 : mbps >= 100 ? 200000 : mbps >= 10 ? 2000000 : mbps >= 1 ? 20000000 : 200000;
}

const isInt = (v: unknown, min: number, max: number): v is number => Number.isInteger(v) && (v as number) >= min && (v as number) <= max;

/** A SpanningTreeError for values no bridge could take. */
export function checkSpanningTreeSpec(spec: SpanningTreeSpec): void {
  if (spec.protocol !== 'stp' && spec.protocol !== 'rstp') throw new SpanningTreeError(`spanning tree protocol "${String(spec.protocol)}" is not stp or rstp`);
  if (spec.systemId !== undefined && !MAC.test(spec.systemId)) throw new SpanningTreeError(`system id "${spec.systemId}" is not a MAC address`);
  if (spec.priority !== undefined && !isInt(spec.priority, 0, 65535)) throw new SpanningTreeError(`priority ${spec.priority} is not 0..65535`);
  for (const [key, v] of [['helloTime', spec.helloTime], ['maxAge', spec.maxAge], ['forwardDelay', spec.forwardDelay], ['transmitHoldCount', spec.transmitHoldCount]] as const) {
    if (v !== undefined && !isInt(v, 1, 255)) throw new SpanningTreeError(`${key} ${v} is not a whole number of 1..255`);
  }
  for (const [name, p] of Object.entries(spec.ports ?? {})) {
    if (p.portNum !== undefined && !isInt(p.portNum, 1, spec.protocol === 'stp' ? 255 : 4095)) throw new SpanningTreeError(`port ${name}: port number ${p.portNum} is out of range`);
    if (p.priority !== undefined && !isInt(p.priority, 0, 255)) throw new SpanningTreeError(`port ${name}: priority ${p.priority} is not 0..255`);
    if (p.pathCost !== undefined && !isInt(p.pathCost, 1, spec.protocol === 'stp' ? 65535 : 200000000)) throw new SpanningTreeError(`port ${name}: path cost ${p.pathCost} is out of range`);
  }
  if (spec.ageingTime !== undefined && !isInt(spec.ageingTime, 10, 1000000)) throw new SpanningTreeError(`ageingTime ${spec.ageingTime} is not a whole number of 10..1000000`);
  if (spec.forceProtocolVersion !== undefined && spec.forceProtocolVersion !== 0 && spec.forceProtocolVersion !== 2) {
    throw new SpanningTreeError(`forceProtocolVersion ${String(spec.forceProtocolVersion)} is not 0 or 2`);
  }
}

/**
 * The driver's configuration for `spec` on a bridge named `name` whose MAC is `bridgeMac` and
 * whose ports are `ports`; `problems` gets what OVS would log (and the port left out).
 */
export function resolveSpanningTree(
  spec: SpanningTreeSpec,
  name: string,
  bridgeMac: string,
  ports: readonly TreeCandidatePort[],
  problems: string[] = [],
): { bridge: TreeBridgeConfig; ports: TreePortConfig[] } {
  const stp = spec.protocol === 'stp';
  const defaults = stp ? STP_DEFAULTS : RSTP_DEFAULTS;
  let priority = spec.priority ?? defaults.BRIDGE_PRIORITY;
  if (!stp) priority = priority & 0xf000;
  const bridge: TreeBridgeConfig = {
    protocol: spec.protocol,
    name,
    bridgeId: bridgeId(priority, macToBigint(spec.systemId ?? bridgeMac)),
    helloTime: spec.helloTime ?? defaults.HELLO_TIME,
    maxAge: spec.maxAge ?? defaults.MAX_AGE,
    forwardDelay: spec.forwardDelay ?? defaults.FORWARD_DELAY,
    transmitHoldCount: spec.transmitHoldCount ?? RSTP_DEFAULTS.TRANSMIT_HOLD_COUNT,
    ...(!stp && spec.ageingTime !== undefined ? { ageingTime: spec.ageingTime } : {}),
    ...(!stp && spec.forceProtocolVersion !== undefined ? { forceProtocolVersion: spec.forceProtocolVersion } : {}),
  };
  const members = [...ports]
    .sort((a, b) => a.ofport - b.ofport)
    .filter((p) => p.type !== 'internal' && p.mirrorOutput !== true && (spec.ports?.[p.name]?.enable ?? true));
  const given = members.filter((p) => spec.ports?.[p.name]?.portNum !== undefined);
  if (stp && given.length > 0 && given.length < members.length) {
    problems.push(`bridge ${name}: must manually configure all STP port IDs or none, disabling`);
    return { bridge, ports: [] };
  }
  const used = new Set<number>();
  const out: TreePortConfig[] = [];
  for (const p of given) {
    const n = spec.ports![p.name]!.portNum!;
    if (used.has(n)) {
      problems.push(`port ${p.name}: duplicate ${spec.protocol}-port-num ${n}, disabling`);
      continue;
    }
    used.add(n);
  }
  let next = 1;
  for (const p of members) {
    const ps = spec.ports?.[p.name] ?? {};
    let portNum = ps.portNum;
    if (portNum === undefined) {
      while (used.has(next)) next++;
      portNum = next;
      used.add(next);
    } else if (out.some((o) => o.portNum === portNum)) continue;
    let portPriority = ps.priority ?? defaults.PORT_PRIORITY;
    if (!stp) portPriority &= 0xf0;
    out.push({
      portNo: p.ofport,
      name: p.name,
      portNum,
      priority: portPriority,
      pathCost: ps.pathCost ?? (stp ? stpCost(p.speedMbps) : rstpCost(p.speedMbps)),
      ...(ps.adminEdge !== undefined ? { adminEdge: ps.adminEdge } : {}),
      ...(ps.autoEdge !== undefined ? { autoEdge: ps.autoEdge } : {}),
      ...(!stp && ps.mcheck === true ? { mcheck: true } : {}),
      ...(!stp && ps.adminP2p !== 'ignored' ? { adminP2p: ps.adminP2p ?? 1 } : {}),
    });
  }
  return { bridge, ports: out };
}

/** The other_config keys read, per protocol: the bridge's, then a port's. */
const BRIDGE_KEYS = {
  stp: { systemId: 'stp-system-id', priority: 'stp-priority', helloTime: 'stp-hello-time', maxAge: 'stp-max-age', forwardDelay: 'stp-forward-delay' },
  rstp: {
    systemId: 'rstp-address', priority: 'rstp-priority', maxAge: 'rstp-max-age', forwardDelay: 'rstp-forward-delay', transmitHoldCount: 'rstp-transmit-hold-count',
    ageingTime: 'rstp-ageing-time', forceProtocolVersion: 'rstp-force-protocol-version',
  },
} as const;
const PORT_KEYS = {
  stp: { enable: 'stp-enable', portNum: 'stp-port-num', priority: 'stp-port-priority', pathCost: 'stp-path-cost' },
  rstp: {
    enable: 'rstp-enable', portNum: 'rstp-port-num', priority: 'rstp-port-priority', pathCost: 'rstp-path-cost', adminEdge: 'rstp-port-admin-edge',
    autoEdge: 'rstp-port-auto-edge', mcheck: 'rstp-port-mcheck', adminP2p: 'rstp-admin-p2p-mac',
  },
} as const;

/** Every other_config key the spanning tree reads (the bridge's and the ports'). */
export const SPANNING_TREE_KEYS: readonly string[] = [
  ...Object.values(BRIDGE_KEYS.stp), ...Object.values(BRIDGE_KEYS.rstp), ...Object.values(PORT_KEYS.stp), ...Object.values(PORT_KEYS.rstp),
];

/**
 * The spanning tree `protocol` asks for, read from the Bridge's other_config and each Port's (by
 * name), with vswitch.xml's key names. A value that does not parse (a number that is none, a
 * boolean other than true/false, a MAC that is none) is left out and reported in `problems`:
 * the default applies, as OVS's smap_get_* fall back to it.
 */
export function spanningTreeFromOtherConfig(
  protocol: SpanningTreeProtocol,
  bridge: Readonly<Record<string, string>>,
  ports: ReadonlyMap<string, Readonly<Record<string, string>>>,
  problems: string[],
): SpanningTreeSpec {
  const num = (map: Readonly<Record<string, string>>, key: string, where: string): number | undefined => {
    const text = map[key];
    if (text === undefined) return undefined;
    const n = /^\s*(0x[0-9a-fA-F]+|\d+)\s*$/.test(text) ? Number(text) : NaN;
    if (Number.isSafeInteger(n)) return n;
    problems.push(`${where}: other_config:${key} "${text}" is not a number: the default is used`);
    return undefined;
  };
  const bool = (map: Readonly<Record<string, string>>, key: string, where: string): boolean | undefined => {
    const text = map[key];
    if (text === undefined) return undefined;
    if (text === 'true' || text === 'false') return text === 'true';
    problems.push(`${where}: other_config:${key} "${text}" is not true or false: the default is used`);
    return undefined;
  };
  const bk = BRIDGE_KEYS[protocol];
  const where = 'bridge';
  let systemId = bridge[bk.systemId];
  if (systemId !== undefined && !MAC.test(systemId)) {
    problems.push(`bridge: invalid ${bk.systemId} "${systemId}", the bridge's address is used`);
    systemId = undefined;
  }
  const range = (v: number | undefined, min: number, max: number, key: string): number | undefined => {
    if (v === undefined || (v >= min && v <= max)) return v;
    problems.push(`bridge: other_config:${key} ${v} is not ${min}..${max}: the default is used`);
    return undefined;
  };
  const priority = range(num(bridge, bk.priority, where), 0, 65535, bk.priority);
  const helloTime = 'helloTime' in bk ? range(num(bridge, bk.helloTime, where), 1, 255, bk.helloTime) : undefined;
  const maxAge = range(num(bridge, bk.maxAge, where), 1, 255, bk.maxAge);
  const forwardDelay = range(num(bridge, bk.forwardDelay, where), 1, 255, bk.forwardDelay);
  const transmitHoldCount = 'transmitHoldCount' in bk ? range(num(bridge, bk.transmitHoldCount, where), 1, 255, bk.transmitHoldCount) : undefined;
  // rstp-ageing-time / rstp-force-protocol-version: no number -> the default; a number out of range -> ignored (kept as it runs)
  let ageingTime: number | undefined;
  let forceProtocolVersion: 0 | 2 | undefined;
  if ('ageingTime' in bk) {
    const ageingText = bridge[bk.ageingTime];
    const ageing = num(bridge, bk.ageingTime, where);
    if (ageingText !== undefined && ageing === undefined) ageingTime = RSTP_DEFAULTS.AGEING_TIME;
    else if (ageing !== undefined && ageing >= 10 && ageing <= 1000000) ageingTime = ageing;
    else if (ageing !== undefined) problems.push(`bridge: other_config:${bk.ageingTime} ${ageing} is not 10..1000000: ignored`);
    const versionText = bridge[bk.forceProtocolVersion];
    const version = num(bridge, bk.forceProtocolVersion, where);
    if (versionText !== undefined && version === undefined) forceProtocolVersion = 2;
    else if (version === 0 || version === 2) forceProtocolVersion = version;
    else if (version !== undefined) problems.push(`bridge: other_config:${bk.forceProtocolVersion} ${version} is not 0 or 2: ignored`);
  }
  const pk = PORT_KEYS[protocol];
  const portSpecs: Record<string, SpanningTreePortSpec> = {};
  for (const [name, other] of ports) {
    const at = `port ${name}`;
    const spec: Record<string, unknown> = {};
    const enable = bool(other, pk.enable, at);
    if (enable !== undefined) spec['enable'] = enable;
    const portNum = num(other, pk.portNum, at);
    if (portNum !== undefined) {
      if (portNum >= 1 && portNum <= (protocol === 'stp' ? 255 : 4095)) spec['portNum'] = portNum;
      else {
        problems.push(`port ${name}: invalid ${pk.portNum}, disabling`);
        spec['enable'] = false;
      }
    }
    const prio = num(other, pk.priority, at);
    if (prio !== undefined) spec['priority'] = prio & 0xff;
    const cost = num(other, pk.pathCost, at);
    if (cost !== undefined) spec['pathCost'] = Math.min(Math.max(cost, 1), protocol === 'stp' ? 65535 : 200000000);
    if ('adminEdge' in pk) {
      const adminEdge = bool(other, pk.adminEdge, at);
      if (adminEdge !== undefined) spec['adminEdge'] = adminEdge;
      const autoEdge = bool(other, pk.autoEdge, at);
      if (autoEdge !== undefined) spec['autoEdge'] = autoEdge;
      const mcheck = bool(other, pk.mcheck, at);
      if (mcheck === true) spec['mcheck'] = true;
      // smap_get_ullong: no number -> the default (1); lib/rstp.c ignores numbers other than 0..2
      const p2pText = other[pk.adminP2p];
      const p2p = num(other, pk.adminP2p, at);
      if (p2p === 0 || p2p === 1 || p2p === 2) spec['adminP2p'] = p2p;
      else if (p2p !== undefined) {
        problems.push(`port ${name}: other_config:${pk.adminP2p} ${p2p} is not 0, 1 or 2: ignored`);
        spec['adminP2p'] = 'ignored';
      } else if (p2pText !== undefined) spec['adminP2p'] = 1;
    }
    if (Object.keys(spec).length > 0) portSpecs[name] = spec as SpanningTreePortSpec;
  }
  return {
    protocol,
    ...(systemId !== undefined ? { systemId: systemId.toLowerCase() } : {}),
    ...(priority !== undefined ? { priority } : {}),
    ...(helloTime !== undefined ? { helloTime } : {}),
    ...(maxAge !== undefined ? { maxAge } : {}),
    ...(forwardDelay !== undefined ? { forwardDelay } : {}),
    ...(transmitHoldCount !== undefined ? { transmitHoldCount } : {}),
    ...(ageingTime !== undefined ? { ageingTime } : {}),
    ...(forceProtocolVersion !== undefined ? { forceProtocolVersion } : {}),
    ...(Object.keys(portSpecs).length > 0 ? { ports: portSpecs } : {}),
  };
}
