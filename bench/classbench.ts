/**
 * A seeded, ClassBench-like rule and packet generator for the lookup benchmark (an ACL-style
 * 5-tuple set expressed as OpenFlow 1.0 matches; OpenFlow 1.0 has no port ranges, so a port is
 * exact or wildcarded).
 *
 * - Addresses come from a tree of networks (a few hundred /8../16 bases with subnets under
 *   them), so prefixes nest and overlap as in real ACLs; prefix lengths are mixed (0, 16, 24, 32
 *   for the source, 0, 24, 32 for the destination), weighted toward long prefixes.
 * - The protocol is TCP, UDP, ICMP or wildcarded; a port is exact (well-known or ephemeral) or
 *   wildcarded (a source port only with a host source). With the prefix lengths that gives a few
 *   tens of distinct masks.
 * - Priorities come from a few levels, more specific rules tending to higher levels (as ACLs are
 *   written), with random spread.
 * - Packets: most are drawn from a rule (its fields, wildcarded ones filled at random), so they
 *   hit; the rest are random headers, which mostly miss.
 */
import { OFPAT, OFPFC, OFPFW, OFPP, OFPT } from '../protocol/constants.js';
import type { FlowMod, Match } from '../protocol/types.js';
import { FLOW_KEY_WORDS, packFlowKey, type FlowFields } from '../flowtable/flow-key.js';

export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
}

const PROTOS = [6, 6, 6, 17, 17, 1, -1]; // -1: wildcard
const SRC_LENS = [0, 16, 24, 24, 32, 32];
const DST_LENS = [0, 24, 32, 32];
const WELL_KNOWN = [20, 21, 22, 23, 25, 53, 80, 110, 123, 143, 161, 389, 443, 445, 993, 3306, 5432, 8080];

export interface RuleSet {
  mods: FlowMod[];
  /** The matches, for packet generation. */
  matches: Match[];
}

export function generateRules(n: number, seed: number): RuleSet {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const bases = Array.from({ length: 300 }, () => ((Math.floor(rnd() * 223) + 1) << 24 | Math.floor(rnd() * 65536) << 8) >>> 0);
  const addr = (): number => (pick(bases) | Math.floor(rnd() * 256) << (rnd() < 0.5 ? 0 : 8)) >>> 0;
  const mods: FlowMod[] = [];
  const matches: Match[] = [];
  const seen = new Set<string>();
  while (mods.length < n) {
    const srcLen = pick(SRC_LENS);
    const dstLen = pick(DST_LENS);
    const proto = pick(PROTOS);
    let w = OFPFW.ALL & ~OFPFW.DL_TYPE;
    w = (w & ~OFPFW.NW_SRC_MASK & ~OFPFW.NW_DST_MASK) | ((32 - srcLen) << OFPFW.NW_SRC_SHIFT) | ((32 - dstLen) << OFPFW.NW_DST_SHIFT);
    let tpSrc = 0;
    let tpDst = 0;
    if (proto >= 0) {
      w &= ~OFPFW.NW_PROTO;
      if (proto !== 1 && srcLen === 32 && rnd() < 0.3) {
        w &= ~OFPFW.TP_SRC;
        tpSrc = rnd() < 0.5 ? pick(WELL_KNOWN) : 1024 + Math.floor(rnd() * 64000);
      }
      if (rnd() < (proto === 1 ? 0.3 : 0.7)) {
        w &= ~OFPFW.TP_DST;
        tpDst = proto === 1 ? Math.floor(rnd() * 16) : pick(WELL_KNOWN);
      }
    }
    const m: Match = {
      wildcards: w >>> 0, inPort: 0, dlSrc: '00:00:00:00:00:00', dlDst: '00:00:00:00:00:00', dlVlan: 0, dlVlanPcp: 0,
      dlType: 0x0800, nwTos: 0, nwProto: Math.max(0, proto), nwSrc: addr(), nwDst: addr(), tpSrc, tpDst,
    };
    const specificity = srcLen + dstLen + (proto >= 0 ? 8 : 0) + ((w & OFPFW.TP_DST) === 0 ? 16 : 0);
    const level = Math.min(7, Math.max(0, Math.floor(specificity / 14) + Math.floor(rnd() * 3) - 1));
    const priority = 1000 + level * 1000;
    const id = `${priority} ${JSON.stringify(m)}`;
    if (seen.has(id)) continue;
    seen.add(id);
    matches.push(m);
    mods.push({
      type: OFPT.FLOW_MOD, version: 1, xid: 0, match: m, cookie: BigInt(mods.length), command: OFPFC.ADD,
      idleTimeout: 0, hardTimeout: 0, priority, bufferId: 0xffffffff, outPort: OFPP.NONE, flags: 0,
      actions: [{ type: OFPAT.OUTPUT, port: 1 + (mods.length % 4), maxLen: 0 }],
    });
  }
  return { mods, matches };
}

/** `count` packed flow keys (count * 9 words), a fraction `hitRatio` drawn from the rules. */
export function generatePackets(rules: RuleSet, count: number, hitRatio: number, seed: number): Uint32Array {
  const rnd = prng(seed);
  const out = new Uint32Array(count * FLOW_KEY_WORDS);
  const key = new Uint32Array(FLOW_KEY_WORDS);
  const rand32 = (): number => Math.floor(rnd() * 2 ** 32) >>> 0;
  for (let i = 0; i < count; i++) {
    const f: FlowFields = {
      inPort: 1 + Math.floor(rnd() * 4), dlVlan: 0xffff, dlVlanPcp: 0, dlSrc: '02:00:00:00:00:01', dlDst: '02:00:00:00:00:02',
      dlType: 0x0800, nwTos: 0, nwProto: [6, 17, 1][Math.floor(rnd() * 3)]!, nwSrc: rand32(), nwDst: rand32(),
      tpSrc: Math.floor(rnd() * 65536), tpDst: Math.floor(rnd() * 65536),
    };
    if (rnd() < hitRatio) {
      const m = rules.matches[Math.floor(rnd() * rules.matches.length)]!;
      const srcMask = prefix((m.wildcards & OFPFW.NW_SRC_MASK) >>> OFPFW.NW_SRC_SHIFT);
      const dstMask = prefix((m.wildcards & OFPFW.NW_DST_MASK) >>> OFPFW.NW_DST_SHIFT);
      f.nwSrc = ((m.nwSrc & srcMask) | (f.nwSrc & ~srcMask)) >>> 0;
      f.nwDst = ((m.nwDst & dstMask) | (f.nwDst & ~dstMask)) >>> 0;
      if ((m.wildcards & OFPFW.NW_PROTO) === 0) f.nwProto = m.nwProto;
      if ((m.wildcards & OFPFW.TP_SRC) === 0) f.tpSrc = m.tpSrc;
      if ((m.wildcards & OFPFW.TP_DST) === 0) f.tpDst = m.tpDst;
    }
    if (f.nwProto === 1) {
      f.tpSrc &= 0xff;
      f.tpDst &= 0xff;
    }
    packFlowKey(f, key);
    out.set(key, i * FLOW_KEY_WORDS);
  }
  return out;
}

function prefix(wildcardBits: number): number {
  return wildcardBits >= 32 ? 0 : (0xffffffff << wildcardBits) >>> 0;
}
