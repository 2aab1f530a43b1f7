/**
 * A plain reference model of the flow table for differential tests: a list of rules, searched
 * linearly, matching field by field on the unpacked packet (no masks, no hashing, no cache).
 * It shares only normalizeMatch with the engine (itself tested against Open vSwitch and the spec).
 *
 * Order: highest priority, then an exact-match request (no wildcard bits), then the older rule.
 */
import { OFPFC, OFPFW, OFPP, OFPRR, OFPAT, OFP_VLAN_NONE } from '../../protocol/constants.js';
import type { Action, FlowMod, Match } from '../../protocol/types.js';
import type { FlowFields } from '../../flowtable/flow-key.js';
import { normalizeMatch } from '../../flowtable/match.js';

export interface RefRule {
  match: Match;
  priority: number;
  exact: boolean;
  seq: number;
  actions: readonly Action[];
  cookie: bigint;
  idle: number;
  hard: number;
  modified: number;
  lastUsed: number;
  packets: number;
  bytes: number;
}

const ex = (w: number, bit: number): boolean => (w & bit) === 0;
const srcBits = (m: Match): number => Math.min(32, (m.wildcards >>> OFPFW.NW_SRC_SHIFT) & 63);
const dstBits = (m: Match): number => Math.min(32, (m.wildcards >>> OFPFW.NW_DST_SHIFT) & 63);
const netmask = (bits: number): number => (bits >= 32 ? 0 : (0xffffffff << bits) >>> 0);
const untagged = (m: Match): boolean => ex(m.wildcards, OFPFW.DL_VLAN) && m.dlVlan === OFP_VLAN_NONE;

const SIMPLE: [number, keyof Match & keyof FlowFields][] = [
  [OFPFW.IN_PORT, 'inPort'], [OFPFW.DL_SRC, 'dlSrc'], [OFPFW.DL_DST, 'dlDst'], [OFPFW.DL_TYPE, 'dlType'],
  [OFPFW.NW_PROTO, 'nwProto'], [OFPFW.TP_SRC, 'tpSrc'], [OFPFW.TP_DST, 'tpDst'], [OFPFW.DL_VLAN, 'dlVlan'],
];

/** Does a (normalised) match select the packet? */
export function refMatches(m: Match, p: FlowFields): boolean {
  const w = m.wildcards;
  for (const [bit, f] of SIMPLE) if (ex(w, bit) && m[f] !== p[f]) return false;
  if (ex(w, OFPFW.NW_TOS) && (p.nwTos & 0xfc) !== m.nwTos) return false;
  if (ex(w, OFPFW.DL_VLAN_PCP) && !untagged(m) && (p.dlVlan === OFP_VLAN_NONE || p.dlVlanPcp !== m.dlVlanPcp)) return false;
  if (((p.nwSrc & netmask(srcBits(m))) >>> 0) !== m.nwSrc) return false;
  if (((p.nwDst & netmask(dstBits(m))) >>> 0) !== m.nwDst) return false;
  return true;
}

/** Is entry E at least as specific as request R and inside it? */
export function refCovers(r: Match, e: Match): boolean {
  const rw = r.wildcards;
  const ew = e.wildcards;
  for (const [bit, f] of SIMPLE) if (ex(rw, bit) && !(ex(ew, bit) && e[f] === r[f])) return false;
  if (ex(rw, OFPFW.NW_TOS) && !(ex(ew, OFPFW.NW_TOS) && e.nwTos === r.nwTos)) return false;
  if (ex(rw, OFPFW.DL_VLAN_PCP) && !untagged(r) &&
      !(ex(ew, OFPFW.DL_VLAN_PCP) && !untagged(e) && e.dlVlanPcp === r.dlVlanPcp)) return false;
  if (srcBits(e) > srcBits(r) || ((e.nwSrc & netmask(srcBits(r))) >>> 0) !== r.nwSrc) return false;
  if (dstBits(e) > dstBits(r) || ((e.nwDst & netmask(dstBits(r))) >>> 0) !== r.nwDst) return false;
  return true;
}

const sameMatch = (a: Match, b: Match): boolean => JSON.stringify(a) === JSON.stringify(b);
const outputsTo = (r: RefRule, port: number): boolean =>
  port === OFPP.NONE || r.actions.some((a) => (a.type === OFPAT.OUTPUT || a.type === OFPAT.ENQUEUE) && a.port === port);

export class ReferenceTable {
  rules: RefRule[] = [];
  private seq = 0;
  now = 0;

  private better(a: RefRule, b: RefRule): boolean {
    if (a.priority !== b.priority) return a.priority > b.priority;
    if (a.exact !== b.exact) return a.exact;
    return a.seq < b.seq;
  }

  lookup(p: FlowFields, len: number): RefRule | null {
    let best: RefRule | null = null;
    for (const r of this.rules) if (refMatches(r.match, p) && (best === null || this.better(r, best))) best = r;
    if (best !== null) {
      best.packets++;
      best.bytes += len;
      best.lastUsed = this.now;
    }
    return best;
  }

  /** Applies ADD, MODIFY(_STRICT), DELETE(_STRICT) (normal table, no CHECK_OVERLAP); returns deleted rules. */
  flowMod(mod: FlowMod): RefRule[] {
    const exact = (mod.match.wildcards & OFPFW.ALL) === 0;
    const match = normalizeMatch(mod.match);
    const priority = exact ? 0xffff : mod.priority;
    const strictHit = (r: RefRule): boolean => sameMatch(r.match, match) && r.priority === priority;
    const add = (): void => {
      this.rules = this.rules.filter((r) => !strictHit(r));
      this.rules.push({
        match, priority, exact, seq: this.seq++, actions: mod.actions, cookie: mod.cookie, idle: mod.idleTimeout,
        hard: mod.hardTimeout, modified: this.now, lastUsed: this.now, packets: 0, bytes: 0,
      });
    };
    switch (mod.command) {
      case OFPFC.ADD:
        add();
        return [];
      case OFPFC.MODIFY:
      case OFPFC.MODIFY_STRICT: {
        const hits = this.rules.filter((r) => (mod.command === OFPFC.MODIFY ? refCovers(match, r.match) : strictHit(r)));
        if (hits.length === 0) add();
        for (const r of hits) {
          r.actions = mod.actions;
          r.cookie = mod.cookie;
          r.modified = this.now;
        }
        return [];
      }
      default: {
        const gone = this.rules.filter((r) =>
          (mod.command === OFPFC.DELETE ? refCovers(match, r.match) : strictHit(r)) && outputsTo(r, mod.outPort));
        this.rules = this.rules.filter((r) => !gone.includes(r));
        return gone;
      }
    }
  }

  /** Removes expired rules: [rule, reason] pairs. */
  expire(): [RefRule, number][] {
    const out: [RefRule, number][] = [];
    for (const r of this.rules) {
      if (r.hard > 0 && this.now >= r.modified + r.hard * 1000) out.push([r, OFPRR.HARD_TIMEOUT]);
      else if (r.idle > 0 && this.now >= r.lastUsed + r.idle * 1000) out.push([r, OFPRR.IDLE_TIMEOUT]);
    }
    this.rules = this.rules.filter((r) => !out.some(([g]) => g === r));
    return out;
  }
}
