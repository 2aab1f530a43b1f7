/**
 * The FLOW_MODs the soak sends, from a seeded generator (the same seed gives the same storm).
 *
 * The table is split between the soak's actors so that the storm's part can be modelled exactly
 * while other connections change theirs and drop at random moments:
 * - the storm's entries all match dl_type=0x0800 and a dl_vlan from STORM_VLANS; its non-strict
 *   requests always name dl_type=0x0800 too, so they never touch another actor's entries;
 * - the flapping controllers' entries all match dl_type=0x0806 (ARP), and so do their deletes.
 * No frame the soak's hosts send is tagged, so no entry matches the flood: every frame it sends
 * is a table miss, a PACKET_IN.
 *
 * Every match is made in Open vSwitch's normal form (prerequisites present, wildcarded fields
 * zero, addresses cut to their prefix, prefix wildcard counts at most 32) and always wildcards
 * dl_src, so that no request is an exact match (which would be stored at priority 65535).
 */
import { OFP_NO_BUFFER, OFP_VERSION, OFPAT, OFPFC, OFPFW, OFPP, OFPT } from '../../protocol/constants.js';
import type { Action, FlowMod, Match } from '../../protocol/types.js';

export const IPV4 = 0x0800;
export const ARP = 0x0806;
export const STORM_VLANS = [101, 102, 103, 104, 105, 106, 107, 108] as const;
const PRIORITIES = [100, 200, 300, 0x8000] as const;
const TP_PORTS = [53, 80, 443, 8080] as const;
const NW_PREFIXES = [[0x0a000000, 8], [0x0a010000, 16], [0x0a010200, 24], [0x0a010203, 32], [0xc0a80000, 16]] as const;
const ZERO_MAC = '00:00:00:00:00:00';

/** A small seeded PRNG (mulberry32): the storm is reproducible from --seed. */
export class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.next() * list.length)] as T;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** Wildcard bits for "exact on these fields", with nw_src/nw_dst prefix lengths. */
export function wildcardsFor(exact: number, srcLen: number, dstLen: number): number {
  const plain = OFPFW.IN_PORT | OFPFW.DL_VLAN | OFPFW.DL_SRC | OFPFW.DL_DST | OFPFW.DL_TYPE | OFPFW.NW_PROTO |
    OFPFW.TP_SRC | OFPFW.TP_DST | OFPFW.DL_VLAN_PCP | OFPFW.NW_TOS;
  return ((plain & ~exact) | ((32 - srcLen) << OFPFW.NW_SRC_SHIFT) | ((32 - dstLen) << OFPFW.NW_DST_SHIFT)) >>> 0;
}

interface MatchParts {
  inPort?: number;
  dlVlan?: number;
  dlType?: number;
  nwProto?: number;
  tpDst?: number;
  nwSrc?: readonly [number, number];
  nwDst?: readonly [number, number];
}

/** A normalised match from the fields given (the others wildcarded and zero). */
export function makeMatch(p: MatchParts): Match {
  let exact = 0;
  if (p.inPort !== undefined) exact |= OFPFW.IN_PORT;
  if (p.dlVlan !== undefined) exact |= OFPFW.DL_VLAN;
  if (p.dlType !== undefined) exact |= OFPFW.DL_TYPE;
  if (p.nwProto !== undefined) exact |= OFPFW.NW_PROTO;
  if (p.tpDst !== undefined) exact |= OFPFW.TP_DST;
  const [src, srcLen] = p.nwSrc ?? [0, 0];
  const [dst, dstLen] = p.nwDst ?? [0, 0];
  return {
    wildcards: wildcardsFor(exact, srcLen, dstLen),
    inPort: p.inPort ?? 0,
    dlSrc: ZERO_MAC,
    dlDst: ZERO_MAC,
    dlVlan: p.dlVlan ?? 0,
    dlVlanPcp: 0,
    dlType: p.dlType ?? 0,
    nwTos: 0,
    nwProto: p.nwProto ?? 0,
    nwSrc: src,
    nwDst: dst,
    tpSrc: 0,
    tpDst: p.tpDst ?? 0,
  };
}

function flowMod(xid: number, command: number, match: Match, priority: number, cookie: bigint, actions: readonly Action[], outPort: number = OFPP.NONE): FlowMod {
  return {
    version: OFP_VERSION, type: OFPT.FLOW_MOD, xid, match, cookie, command, idleTimeout: 0, hardTimeout: 0, priority,
    bufferId: OFP_NO_BUFFER, outPort, flags: 0, actions,
  };
}

/** 0 to 3 actions the switch accepts (valid ports and arguments). */
export function randomActions(r: Random): Action[] {
  const out: Action[] = [];
  const n = r.int(0, 3);
  for (let i = 0; i < n; i++) {
    switch (r.int(0, 8)) {
      case 0:
      case 1:
        out.push({ type: OFPAT.OUTPUT, port: r.int(1, 6), maxLen: 0 });
        break;
      case 2:
        out.push({ type: OFPAT.OUTPUT, port: OFPP.CONTROLLER, maxLen: r.pick([0, 64, 128]) });
        break;
      case 3:
        out.push({ type: OFPAT.SET_VLAN_VID, vlanVid: r.int(1, 4095) });
        break;
      case 4:
        out.push({ type: OFPAT.STRIP_VLAN });
        break;
      case 5:
        out.push({ type: OFPAT.SET_NW_TOS, nwTos: r.int(0, 63) << 2 });
        break;
      case 6:
        out.push({ type: OFPAT.SET_TP_DST, tpPort: r.int(1, 65535) });
        break;
      case 7:
        out.push({ type: OFPAT.SET_DL_DST, dlAddr: `02:00:00:00:${r.int(0, 255).toString(16).padStart(2, '0')}:01` });
        break;
      default:
        out.push({ type: OFPAT.ENQUEUE, port: r.int(1, 6), queueId: r.int(0, 3) });
    }
  }
  return out;
}

/** A match in the storm's part of the table: IPv4 on one of STORM_VLANS, more fields at random. */
function stormMatch(r: Random): Match {
  const p: MatchParts = { dlVlan: r.pick(STORM_VLANS), dlType: IPV4 };
  if (r.chance(0.3)) p.inPort = r.int(1, 3);
  if (r.chance(0.6)) {
    p.nwProto = r.pick([6, 17]);
    if (r.chance(0.6)) p.tpDst = r.pick(TP_PORTS);
  }
  if (r.chance(0.5)) p.nwSrc = r.pick(NW_PREFIXES);
  if (r.chance(0.2)) p.nwDst = r.pick(NW_PREFIXES);
  return makeMatch(p);
}

/** A criterion for non-strict MODIFY/DELETE: IPv4, usually one VLAN, often a protocol or a source prefix; now and then all IPv4. */
function stormCriterion(r: Random): Match {
  const p: MatchParts = { dlType: IPV4 };
  if (r.chance(0.95)) p.dlVlan = r.pick(STORM_VLANS);
  if (r.chance(0.7)) p.nwProto = r.pick([6, 17]);
  if (r.chance(0.5)) p.nwSrc = r.pick(NW_PREFIXES.filter(([, len]) => len <= 16));
  return makeMatch(p);
}

/**
 * The storm's FLOW_MODs: ADD, MODIFY, MODIFY_STRICT, DELETE, DELETE_STRICT, strict ones mostly on
 * entries that exist (so that they hit), non-strict ones on broad criteria, out_port filters on
 * some deletes. Past `maxFlows` entries deletes take over until the table is smaller.
 */
export class StormGenerator {
  private readonly r: Random;
  private readonly maxFlows: number;
  private cookie = 1n;

  constructor(seed: number, maxFlows: number) {
    this.r = new Random(seed);
    this.maxFlows = maxFlows;
  }

  /** The next FLOW_MOD; `existing` are the model's entries (strict requests aim at them). */
  next(xid: number, existing: readonly { match: Match; priority: number }[]): FlowMod {
    const r = this.r;
    const cookie = this.cookie++;
    const full = existing.length >= this.maxFlows;
    const roll = r.next();
    const target = (): { match: Match; priority: number } =>
      existing.length > 0 && r.chance(0.85) ? r.pick(existing) : { match: stormMatch(r), priority: r.pick(PRIORITIES) };
    if (!full && roll < 0.55) return flowMod(xid, OFPFC.ADD, stormMatch(r), r.pick(PRIORITIES), cookie, randomActions(r));
    if (!full && roll < 0.67) {
      const t = target();
      return flowMod(xid, OFPFC.MODIFY_STRICT, t.match, t.priority, cookie, randomActions(r));
    }
    if (!full && roll < 0.72) return flowMod(xid, OFPFC.MODIFY, stormCriterion(r), r.pick(PRIORITIES), cookie, randomActions(r));
    if (roll < 0.98) {
      const t = target();
      return flowMod(xid, OFPFC.DELETE_STRICT, t.match, t.priority, 0n, [], r.chance(0.2) ? r.int(1, 6) : OFPP.NONE);
    }
    return flowMod(xid, OFPFC.DELETE, stormCriterion(r), 0, 0n, [], r.chance(0.3) ? r.int(1, 6) : OFPP.NONE);
  }
}

/** A flapping controller's FLOW_MOD: ARP entries (its own part of the table), added or deleted. */
export function flapperFlowMod(r: Random, xid: number): FlowMod {
  const match = makeMatch({
    dlType: ARP,
    ...(r.chance(0.5) ? { nwProto: r.int(1, 2) } : {}),
    ...(r.chance(0.5) ? { nwSrc: r.pick(NW_PREFIXES) } : {}),
  });
  if (r.chance(0.8)) return flowMod(xid, OFPFC.ADD, match, r.pick(PRIORITIES), BigInt(r.int(1, 1000)), randomActions(r));
  return flowMod(xid, r.chance(0.5) ? OFPFC.DELETE : OFPFC.DELETE_STRICT, match, r.pick(PRIORITIES), 0n, []);
}

/** Which part of the table an entry's match belongs to. */
export function isStormEntry(m: Match): boolean {
  return (m.wildcards & OFPFW.DL_TYPE) === 0 && m.dlType === IPV4;
}
export function isFlapperEntry(m: Match): boolean {
  return (m.wildcards & OFPFW.DL_TYPE) === 0 && m.dlType === ARP;
}
