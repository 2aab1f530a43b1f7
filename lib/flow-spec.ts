/**
 * Flows as an embedding program writes them: a partial match (only the fields given are matched,
 * as in `ovs-ofctl add-flow`) and a list of actions, turned into the FLOW_MOD a controller would
 * send. A field name that does not exist, a value out of range, or an action the switch would
 * refuse from a controller (protocol/validate.ts) is a FlowSpecError naming it.
 */
import {
  MATCH_ALL,
  OFP_DEFAULT_PRIORITY,
  OFP_NO_BUFFER,
  OFP_VERSION,
  OFPAT,
  OFPFC,
  OFPFF,
  OFPFW,
  OFPP,
  OFPT,
  validateMessage,
} from '../protocol/index.js';
import type { Action, FlowMod, Match } from '../protocol/index.js';

export class FlowSpecError extends Error {
  override readonly name = 'FlowSpecError';
}

/** Match fields, named as in protocol/types.ts's Match; addresses as text, nwSrc/nwDst with an optional /prefix. */
export interface FlowMatchSpec {
  readonly inPort?: number;
  readonly dlSrc?: string;
  readonly dlDst?: string;
  /** 0xffff: untagged frames only. */
  readonly dlVlan?: number;
  readonly dlVlanPcp?: number;
  readonly dlType?: number;
  readonly nwTos?: number;
  readonly nwProto?: number;
  /** "10.0.0.1" or "10.0.0.0/24". */
  readonly nwSrc?: string;
  readonly nwDst?: string;
  readonly tpSrc?: number;
  readonly tpDst?: number;
}

/** Reserved output ports by the names ovs-ofctl gives them. */
export const OUTPUT_PORT_NAMES = {
  in_port: OFPP.IN_PORT,
  normal: OFPP.NORMAL,
  flood: OFPP.FLOOD,
  all: OFPP.ALL,
  controller: OFPP.CONTROLLER,
  local: OFPP.LOCAL,
} as const;

/** An OpenFlow action as decoded (protocol/types.ts), or the shorthand `{ output: port }`. */
export type FlowActionSpec = Action | { readonly output: number | keyof typeof OUTPUT_PORT_NAMES; readonly maxLen?: number };

export interface FlowSpec {
  readonly match?: FlowMatchSpec;
  /** Default 32768, as OpenFlow's. */
  readonly priority?: number;
  /** None: drop. */
  readonly actions?: readonly FlowActionSpec[];
  readonly idleTimeout?: number;
  readonly hardTimeout?: number;
  readonly cookie?: bigint;
  /** Ask for FLOW_REMOVED when the entry goes. */
  readonly sendFlowRemoved?: boolean;
  /** Refuse the flow if one of the same priority overlaps it (OFPFF_CHECK_OVERLAP). */
  readonly checkOverlap?: boolean;
}

/** Which wildcard bit each plain field clears, and its largest value. */
const FIELDS: Readonly<Record<string, { bit: number; max: number } | undefined>> = {
  inPort: { bit: OFPFW.IN_PORT, max: 0xffff },
  dlVlan: { bit: OFPFW.DL_VLAN, max: 0xffff },
  dlVlanPcp: { bit: OFPFW.DL_VLAN_PCP, max: 7 },
  dlType: { bit: OFPFW.DL_TYPE, max: 0xffff },
  nwTos: { bit: OFPFW.NW_TOS, max: 0xff },
  nwProto: { bit: OFPFW.NW_PROTO, max: 0xff },
  tpSrc: { bit: OFPFW.TP_SRC, max: 0xffff },
  tpDst: { bit: OFPFW.TP_DST, max: 0xffff },
};

const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i;

function ipv4(text: string, what: string): { addr: number; prefix: number } {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(text);
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const prefix = m?.[5] === undefined ? 32 : Number(m[5]);
  if (!m || octets.some((o) => o > 255) || prefix > 32) throw new FlowSpecError(`match ${what}: "${text}" is not an IPv4 address or prefix`);
  return { addr: octets.reduce((a, o) => a * 256 + o, 0), prefix };
}

/** The OpenFlow match for a partial match spec: every field not given is wildcarded. */
export function matchFrom(spec: FlowMatchSpec = {}): Match {
  let wildcards: number = OFPFW.ALL;
  const fields: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(spec)) {
    if (value === undefined) continue;
    const plain = FIELDS[name];
    if (plain) {
      if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > plain.max)
        throw new FlowSpecError(`match ${name}: ${String(value)} is not an integer in 0..${plain.max}`);
      wildcards &= ~plain.bit;
      fields[name] = value;
    } else if (name === 'dlSrc' || name === 'dlDst') {
      if (typeof value !== 'string' || !MAC.test(value)) throw new FlowSpecError(`match ${name}: "${String(value)}" is not a MAC address`);
      wildcards &= ~(name === 'dlSrc' ? OFPFW.DL_SRC : OFPFW.DL_DST);
      fields[name] = value.toLowerCase();
    } else if (name === 'nwSrc' || name === 'nwDst') {
      const { addr, prefix } = ipv4(String(value), name);
      const shift = name === 'nwSrc' ? OFPFW.NW_SRC_SHIFT : OFPFW.NW_DST_SHIFT;
      const mask = name === 'nwSrc' ? OFPFW.NW_SRC_MASK : OFPFW.NW_DST_MASK;
      wildcards = (wildcards & ~mask) | ((32 - prefix) << shift);
      fields[name] = addr;
    } else {
      throw new FlowSpecError(`match: unknown field "${name}"`);
    }
  }
  return { ...MATCH_ALL, ...fields, wildcards };
}

function actionFrom(spec: FlowActionSpec): Action {
  if (!('output' in spec)) return spec;
  const port = typeof spec.output === 'number' ? spec.output : OUTPUT_PORT_NAMES[spec.output];
  if (port === undefined) throw new FlowSpecError(`action output: unknown port "${String(spec.output)}"`);
  return { type: OFPAT.OUTPUT, port, maxLen: spec.maxLen ?? (port === OFPP.CONTROLLER ? 0xffff : 0) };
}

function uint(value: number | undefined, what: string, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0 || value > max) throw new FlowSpecError(`${what}: ${value} is not an integer in 0..${max}`);
  return value;
}

/** The FLOW_MOD (ADD by default) a flow spec stands for; a FlowSpecError when it is not valid. */
export function flowModFrom(spec: FlowSpec, command: number = OFPFC.ADD): FlowMod {
  const mod: FlowMod = {
    version: OFP_VERSION,
    type: OFPT.FLOW_MOD,
    xid: 0,
    match: matchFrom(spec.match),
    cookie: spec.cookie ?? 0n,
    command,
    idleTimeout: uint(spec.idleTimeout, 'idleTimeout', 0xffff, 0),
    hardTimeout: uint(spec.hardTimeout, 'hardTimeout', 0xffff, 0),
    priority: uint(spec.priority, 'priority', 0xffff, OFP_DEFAULT_PRIORITY),
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.NONE,
    flags: (spec.sendFlowRemoved ? OFPFF.SEND_FLOW_REM : 0) | (spec.checkOverlap ? OFPFF.CHECK_OVERLAP : 0),
    actions: (spec.actions ?? []).map(actionFrom),
  };
  const bad = validateMessage(mod);
  if (bad) throw new FlowSpecError(bad.reason);
  return mod;
}
