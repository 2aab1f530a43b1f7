/**
 * The soak's own model of the flow table, written from the OpenFlow 1.0 spec (and Open vSwitch
 * where the spec leaves room), independently of flowtable/: the soak applies every FLOW_MOD it
 * sends to this model in the order it sends them, and compares the switch's flow statistics dump
 * against it, entry for entry, byte for byte (match, priority, cookie, actions).
 *
 * Semantics modelled:
 * - ADD: the entry with the same match and priority is replaced (or a new one made).
 * - MODIFY: every entry the request covers (any priority) gets the request's actions and cookie;
 *   with none covered, the request is added. MODIFY_STRICT: the same for the entry of the same
 *   match and priority.
 * - DELETE: every covered entry whose actions output (OUTPUT or ENQUEUE) to out_port, or any
 *   covered entry when out_port is OFPP_NONE. DELETE_STRICT: the same for the entry of the same
 *   match and priority.
 * - A request covers an entry when every field the request matches exactly, the entry matches
 *   exactly with the same value, and its nw_src/nw_dst prefixes are at least as long as the
 *   request's and agree on the request's prefix.
 * Matches given to the model must already be in Open vSwitch's normal form (storm.ts makes only
 * such matches): then the switch reports exactly the bytes that were sent, and any normalisation
 * it did on top of that shows as a difference.
 */
import { encodeActions } from '../../protocol/actions.js';
import { OFPAT, OFPFC, OFPFW, OFPP, OFP_SIZE } from '../../protocol/constants.js';
import { formatActions, formatMatch } from '../../protocol/flow-format.js';
import { encodeMatch } from '../../protocol/match.js';
import type { Action, FlowMod, FlowStats, Match } from '../../protocol/types.js';

export interface ModelEntry {
  readonly match: Match;
  readonly priority: number;
  readonly cookie: bigint;
  readonly actions: readonly Action[];
}

/** The 40 bytes of a match, as hex: two matches are the same entry's when these are equal. */
export function matchBytes(m: Match): string {
  const buf = Buffer.alloc(OFP_SIZE.match);
  encodeMatch(m, buf, 0);
  return buf.toString('hex');
}

function entryKey(match: Match, priority: number): string {
  return `${priority}/${matchBytes(match)}`;
}

/** One entry as a line: what a difference report prints. */
export function describeEntry(e: { match: Match; priority: number; cookie: bigint; actions: readonly Action[] }): string {
  return `cookie=0x${e.cookie.toString(16)}, ${formatMatch(e.match, e.priority)} actions=${formatActions(e.actions)}`;
}

const EXACT_FIELDS = [
  ['inPort', OFPFW.IN_PORT],
  ['dlVlan', OFPFW.DL_VLAN],
  ['dlSrc', OFPFW.DL_SRC],
  ['dlDst', OFPFW.DL_DST],
  ['dlType', OFPFW.DL_TYPE],
  ['nwProto', OFPFW.NW_PROTO],
  ['tpSrc', OFPFW.TP_SRC],
  ['tpDst', OFPFW.TP_DST],
  ['dlVlanPcp', OFPFW.DL_VLAN_PCP],
  ['nwTos', OFPFW.NW_TOS],
] as const satisfies readonly (readonly [keyof Match, number])[];

/** Bits of nw_src (or nw_dst) a match holds exact: 32 minus the wildcard count, never below 0. */
function prefixLength(wildcards: number, mask: number, shift: number): number {
  return 32 - Math.min(32, (wildcards & mask) >>> shift);
}

function prefixCovers(reqLen: number, reqAddr: number, entryLen: number, entryAddr: number): boolean {
  if (entryLen < reqLen) return false;
  const mask = reqLen === 0 ? 0 : (0xffffffff << (32 - reqLen)) >>> 0;
  return ((entryAddr & mask) >>> 0) === ((reqAddr & mask) >>> 0);
}

/** Whether a non-strict request with match `req` selects an entry with match `entry`. */
export function covers(req: Match, entry: Match): boolean {
  for (const [field, bit] of EXACT_FIELDS) {
    if ((req.wildcards & bit) !== 0) continue;
    if ((entry.wildcards & bit) !== 0 || entry[field] !== req[field]) return false;
  }
  const src = prefixCovers(
    prefixLength(req.wildcards, OFPFW.NW_SRC_MASK, OFPFW.NW_SRC_SHIFT), req.nwSrc,
    prefixLength(entry.wildcards, OFPFW.NW_SRC_MASK, OFPFW.NW_SRC_SHIFT), entry.nwSrc,
  );
  return src && prefixCovers(
    prefixLength(req.wildcards, OFPFW.NW_DST_MASK, OFPFW.NW_DST_SHIFT), req.nwDst,
    prefixLength(entry.wildcards, OFPFW.NW_DST_MASK, OFPFW.NW_DST_SHIFT), entry.nwDst,
  );
}

/** Whether `actions` output to `port` (OUTPUT or ENQUEUE), as the out_port filter asks; NONE: always. */
export function outputsTo(actions: readonly Action[], port: number): boolean {
  if (port === OFPP.NONE) return true;
  return actions.some((a) => (a.type === OFPAT.OUTPUT || a.type === OFPAT.ENQUEUE) && a.port === port);
}

export class FlowModel {
  private readonly entries = new Map<string, ModelEntry>();

  get size(): number {
    return this.entries.size;
  }

  list(): ModelEntry[] {
    return [...this.entries.values()];
  }

  /** Applies one FLOW_MOD the switch has been sent (and is expected to accept). */
  apply(mod: FlowMod): void {
    const key = entryKey(mod.match, mod.priority);
    const fresh: ModelEntry = { match: mod.match, priority: mod.priority, cookie: mod.cookie, actions: mod.actions };
    switch (mod.command) {
      case OFPFC.ADD:
        this.entries.set(key, fresh);
        return;
      case OFPFC.MODIFY: {
        let any = false;
        for (const [k, e] of this.entries) {
          if (!covers(mod.match, e.match)) continue;
          this.entries.set(k, { ...e, cookie: mod.cookie, actions: mod.actions });
          any = true;
        }
        if (!any) this.entries.set(key, fresh);
        return;
      }
      case OFPFC.MODIFY_STRICT: {
        const e = this.entries.get(key);
        this.entries.set(key, e ? { ...e, cookie: mod.cookie, actions: mod.actions } : fresh);
        return;
      }
      case OFPFC.DELETE:
        for (const [k, e] of this.entries) if (covers(mod.match, e.match) && outputsTo(e.actions, mod.outPort)) this.entries.delete(k);
        return;
      case OFPFC.DELETE_STRICT: {
        const e = this.entries.get(key);
        if (e && outputsTo(e.actions, mod.outPort)) this.entries.delete(key);
        return;
      }
      default:
        throw new Error(`the model has no command ${mod.command}`);
    }
  }

  /**
   * Makes the model deliberately wrong (for --self-check): the cookie of one entry changes, or,
   * with no entry, an entry that was never sent appears. Returns what was changed.
   */
  corrupt(): string {
    const first = this.entries.entries().next();
    if (!first.done) {
      const [k, e] = first.value;
      const wrong = { ...e, cookie: e.cookie ^ 0x5eed_0000_0000_0001n };
      this.entries.set(k, wrong);
      return `changed the cookie of ${describeEntry(e)} to 0x${wrong.cookie.toString(16)}`;
    }
    const ghost: ModelEntry = {
      match: { wildcards: OFPFW.ALL & ~OFPFW.DL_TYPE, inPort: 0, dlSrc: '00:00:00:00:00:00', dlDst: '00:00:00:00:00:00',
        dlVlan: 0, dlVlanPcp: 0, dlType: 0x0800, nwTos: 0, nwProto: 0, nwSrc: 0, nwDst: 0, tpSrc: 0, tpDst: 0 },
      priority: 1, cookie: 0x5eedn, actions: [],
    };
    this.entries.set(entryKey(ghost.match, ghost.priority), ghost);
    return `added ${describeEntry(ghost)}, which was never sent`;
  }
}

/** How the switch's table differs from the model (empty lists: equal). */
export interface TableDiff {
  /** In the model, not in the switch's table. */
  readonly missing: string[];
  /** In the switch's table (in the model's part of it), not in the model. */
  readonly unexpected: string[];
  /** Same match and priority, other cookie or actions: "switch: ... / model: ...". */
  readonly changed: string[];
  /** Entries belonging to no actor of the soak at all. */
  readonly foreign: string[];
}

export function isEqual(d: TableDiff): boolean {
  return d.missing.length + d.unexpected.length + d.changed.length + d.foreign.length === 0;
}

/** One line per kind of difference, at most `max` entries each. */
export function describeDiff(d: TableDiff, max = 3): string {
  const part = (what: string, list: string[]): string[] =>
    list.length === 0 ? [] : [`${list.length} ${what}: ${list.slice(0, max).join(' | ')}${list.length > max ? ' | ...' : ''}`];
  return [
    ...part('entries missing from the switch', d.missing),
    ...part('entries in the switch the model lacks', d.unexpected),
    ...part('entries with other cookie or actions', d.changed),
    ...part('entries no soak actor made', d.foreign),
  ].join('; ');
}

/**
 * Compares the flows the switch dumped with the model. `mine(match)` says which dumped entries the
 * model describes (the storm's part of the table); `known(match)` which other entries are expected
 * (other actors' parts, not modelled); anything else is foreign.
 */
export function diffTable(model: FlowModel, dumped: readonly FlowStats[], mine: (m: Match) => boolean, known: (m: Match) => boolean): TableDiff {
  const diff: TableDiff = { missing: [], unexpected: [], changed: [], foreign: [] };
  const want = new Map(model.list().map((e) => [entryKey(e.match, e.priority), e]));
  for (const f of dumped) {
    if (!mine(f.match)) {
      if (!known(f.match)) diff.foreign.push(describeEntry(f));
      continue;
    }
    const key = entryKey(f.match, f.priority);
    const e = want.get(key);
    if (!e) {
      diff.unexpected.push(describeEntry(f));
      continue;
    }
    want.delete(key);
    if (e.cookie !== f.cookie || !encodeActions(e.actions).equals(encodeActions(f.actions))) {
      diff.changed.push(`switch: ${describeEntry(f)} / model: ${describeEntry(e)}`);
    }
  }
  for (const e of want.values()) diff.missing.push(describeEntry(e));
  return diff;
}
