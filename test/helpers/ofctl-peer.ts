/**
 * Driving Open vSwitch's ovs-ofctl (3.1) as an independent OpenFlow 1.0 implementation.
 *
 * - `ofpPrint` decodes raw bytes with `ovs-ofctl ofp-print HEX 4` and returns its text; it exits 0
 *   even on malformed input, so `ofctlComplaints` finds the lines where it reports a problem.
 * - `ofctlFlowMods` turns flow descriptions into the FLOW_MODs ovs-ofctl itself encodes
 *   (`-O OpenFlow10 -mmmmm parse-flows FILE` prints each message followed by its hex dump).
 * - `parseOfctlMatch` / `matchFieldsOf` and `parseOfctlActions` bring ovs-ofctl's text and
 *   ofswitch's typed values to one comparable form: spec field names to values.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OFPAT, OFPFW, OFPP } from '../../protocol/constants.js';
import type { Action, Match } from '../../protocol/types.js';

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** `ovs-ofctl ofp-print HEX 4`: the decoded text (verbosity 4 prints wildcarded fields as `*`). */
export function ofpPrint(bytes: Uint8Array, verbosity = 4): string {
  return execFileSync('ovs-ofctl', ['ofp-print', hex(bytes), String(verbosity)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Lines where ovs-ofctl reports a decode problem (it prints them and still exits 0). */
export function ofctlComplaints(text: string): string[] {
  return text.split('\n').filter((line) => /\*\*\*|\bbad\b|error|truncated|unknown|invalid|not supported/i.test(line));
}

/** Bytes from ovs-ofctl's hex dump lines: `00000000  01 0e 00 48 ...-... |ascii|`. */
export function parseHexDump(lines: readonly string[]): Buffer {
  const bytes: number[] = [];
  for (const line of lines) {
    const m = /^[0-9a-f]{8} {2}(.*?)(?:\s\|.*)?$/.exec(line);
    if (!m?.[1]) continue;
    for (const pair of m[1].replace(/-/g, ' ').trim().split(/\s+/)) if (pair) bytes.push(parseInt(pair, 16));
  }
  return Buffer.from(bytes);
}

export interface OfctlMessage {
  /** ovs-ofctl's own one-line description of the message. */
  readonly text: string;
  /** The message's bytes, as ovs-ofctl encodes it. */
  readonly bytes: Buffer;
}

/** The OpenFlow 1.0 FLOW_MODs ovs-ofctl encodes for flow descriptions (one per flow). */
export function ofctlFlowMods(flows: readonly string[]): OfctlMessage[] {
  const dir = mkdtempSync(join(tmpdir(), 'ofsw-flows-'));
  try {
    const file = join(dir, 'flows.txt');
    writeFileSync(file, flows.join('\n') + '\n');
    const out = execFileSync('ovs-ofctl', ['-O', 'OpenFlow10', '-mmmmm', 'parse-flows', file], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return splitMessages(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Splits ovs-ofctl output into messages: a line starting `OFPT_`/`OFPST_`, then its hex dump. */
export function splitMessages(out: string): OfctlMessage[] {
  const messages: OfctlMessage[] = [];
  let text: string | null = null;
  let dump: string[] = [];
  const flush = (): void => {
    if (text !== null) messages.push({ text, bytes: parseHexDump(dump) });
  };
  for (const line of out.split('\n')) {
    if (/^(OFPT_|OFPST_|NXT_)/.test(line)) {
      flush();
      text = line;
      dump = [];
    } else if (/^[0-9a-f]{8} {2}/.test(line)) {
      dump.push(line);
    }
  }
  flush();
  return messages;
}

// ---- matches ---------------------------------------------------------------------------------------

/** A match as spec field names to values: only fields it matches on (MACs, "a.b.c.d[/len]"). */
export type MatchFields = Record<string, number | string>;

const SHORTHANDS: Record<string, MatchFields> = {
  ip: { dl_type: 0x0800 },
  icmp: { dl_type: 0x0800, nw_proto: 1 },
  tcp: { dl_type: 0x0800, nw_proto: 6 },
  udp: { dl_type: 0x0800, nw_proto: 17 },
  sctp: { dl_type: 0x0800, nw_proto: 132 },
  arp: { dl_type: 0x0806 },
  rarp: { dl_type: 0x8035 },
};

/** ovs-ofctl's names for OpenFlow 1.0 match fields in its two print styles. */
const ALIASES: Record<string, string> = {
  arp_op: 'nw_proto',
  arp_spa: 'nw_src',
  arp_tpa: 'nw_dst',
  icmp_type: 'tp_src',
  icmp_code: 'tp_dst',
};

const PORT_NAMES: Record<string, number> = {
  IN_PORT: OFPP.IN_PORT,
  TABLE: OFPP.TABLE,
  NORMAL: OFPP.NORMAL,
  FLOOD: OFPP.FLOOD,
  ALL: OFPP.ALL,
  CONTROLLER: OFPP.CONTROLLER,
  LOCAL: OFPP.LOCAL,
  NONE: OFPP.NONE,
  ANY: OFPP.NONE,
};

function portNumber(text: string): number {
  return PORT_NAMES[text.toUpperCase()] ?? Number(text);
}

/** Parses ovs-ofctl's match text ("tcp,in_port=3,nw_src=10.0.0.0/8,tp_dst=*") to MatchFields. */
export function parseOfctlMatch(text: string): MatchFields {
  const fields: MatchFields = {};
  for (const token of text.split(',')) {
    if (!token) continue;
    const eq = token.indexOf('=');
    if (eq < 0) {
      const expansion = SHORTHANDS[token];
      if (!expansion) throw new Error(`unknown match shorthand ${token}`);
      Object.assign(fields, expansion);
      continue;
    }
    const rawKey = token.slice(0, eq);
    const value = token.slice(eq + 1);
    if (rawKey === 'priority' || value === '*') continue;
    const key = ALIASES[rawKey] ?? rawKey;
    if (key === 'vlan_tci') {
      // match_format's spelling of "no 802.1Q header" (dl_vlan=0xffff)
      if (Number(value) !== 0) throw new Error(`unexpected ${token}`);
      fields.dl_vlan = 0xffff;
    } else if (key === 'dl_src' || key === 'dl_dst') {
      fields[key] = value.toLowerCase();
    } else if (key === 'nw_src' || key === 'nw_dst') {
      fields[key] = value.endsWith('/32') ? value.slice(0, -3) : value;
    } else if (key === 'in_port') {
      fields[key] = portNumber(value);
    } else {
      fields[key] = Number(value);
    }
  }
  return fields;
}

export function ipv4(addr: number): string {
  return [addr >>> 24, (addr >>> 16) & 0xff, (addr >>> 8) & 0xff, addr & 0xff].join('.');
}

export function ipv4Number(text: string): number {
  const parts = text.split('.').map(Number);
  return (((parts[0] ?? 0) << 24) | ((parts[1] ?? 0) << 16) | ((parts[2] ?? 0) << 8) | (parts[3] ?? 0)) >>> 0;
}

function prefix(addr: number, wildcardBits: number): string | null {
  if (wildcardBits >= 32) return null;
  const len = 32 - wildcardBits;
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  const masked = ipv4((addr & mask) >>> 0);
  return len === 32 ? masked : `${masked}/${len}`;
}

/** The fields an ofswitch Match matches on, in the form parseOfctlMatch gives. */
export function matchFieldsOf(m: Match): MatchFields {
  const w = m.wildcards;
  const f: MatchFields = {};
  if (!(w & OFPFW.IN_PORT)) f.in_port = m.inPort;
  if (!(w & OFPFW.DL_VLAN)) f.dl_vlan = m.dlVlan;
  // Open vSwitch ignores the priority of untagged frames (dl_vlan 0xffff)
  if (!(w & OFPFW.DL_VLAN_PCP) && !(!(w & OFPFW.DL_VLAN) && m.dlVlan === 0xffff)) f.dl_vlan_pcp = m.dlVlanPcp;
  if (!(w & OFPFW.DL_SRC)) f.dl_src = m.dlSrc;
  if (!(w & OFPFW.DL_DST)) f.dl_dst = m.dlDst;
  if (!(w & OFPFW.DL_TYPE)) f.dl_type = m.dlType;
  if (!(w & OFPFW.NW_TOS)) f.nw_tos = m.nwTos;
  if (!(w & OFPFW.NW_PROTO)) f.nw_proto = m.nwProto;
  const src = prefix(m.nwSrc, (w & OFPFW.NW_SRC_MASK) >>> OFPFW.NW_SRC_SHIFT);
  if (src !== null) f.nw_src = src;
  const dst = prefix(m.nwDst, (w & OFPFW.NW_DST_MASK) >>> OFPFW.NW_DST_SHIFT);
  if (dst !== null) f.nw_dst = dst;
  if (!(w & OFPFW.TP_SRC)) f.tp_src = m.tpSrc;
  if (!(w & OFPFW.TP_DST)) f.tp_dst = m.tpDst;
  return f;
}

// ---- actions ---------------------------------------------------------------------------------------

/**
 * Parses ovs-ofctl's action list ("output:1,mod_vlan_vid:7,CONTROLLER:100,drop") into ofswitch's
 * typed actions. Vendor actions (resubmit, dec_ttl, ...) have no typed form: an unknown action
 * name throws, so a test names vendor actions explicitly.
 */
export function parseOfctlActions(text: string): Action[] {
  if (text === 'drop' || text === '') return [];
  const actions: Action[] = [];
  for (const token of text.split(',')) {
    const colon = token.indexOf(':');
    const name = colon < 0 ? token : token.slice(0, colon);
    const arg = colon < 0 ? '' : token.slice(colon + 1);
    switch (name) {
      case 'output':
        actions.push({ type: OFPAT.OUTPUT, port: portNumber(arg), maxLen: 0 });
        break;
      case 'CONTROLLER':
        actions.push({ type: OFPAT.OUTPUT, port: OFPP.CONTROLLER, maxLen: Number(arg) });
        break;
      case 'IN_PORT':
      case 'TABLE':
      case 'NORMAL':
      case 'FLOOD':
      case 'ALL':
      case 'LOCAL':
        actions.push({ type: OFPAT.OUTPUT, port: portNumber(name), maxLen: 0 });
        break;
      case 'mod_vlan_vid':
        actions.push({ type: OFPAT.SET_VLAN_VID, vlanVid: Number(arg) });
        break;
      case 'mod_vlan_pcp':
        actions.push({ type: OFPAT.SET_VLAN_PCP, vlanPcp: Number(arg) });
        break;
      case 'strip_vlan':
        actions.push({ type: OFPAT.STRIP_VLAN });
        break;
      case 'mod_dl_src':
        actions.push({ type: OFPAT.SET_DL_SRC, dlAddr: arg.toLowerCase() });
        break;
      case 'mod_dl_dst':
        actions.push({ type: OFPAT.SET_DL_DST, dlAddr: arg.toLowerCase() });
        break;
      case 'mod_nw_src':
        actions.push({ type: OFPAT.SET_NW_SRC, nwAddr: ipv4Number(arg) });
        break;
      case 'mod_nw_dst':
        actions.push({ type: OFPAT.SET_NW_DST, nwAddr: ipv4Number(arg) });
        break;
      case 'mod_nw_tos':
        actions.push({ type: OFPAT.SET_NW_TOS, nwTos: Number(arg) });
        break;
      case 'mod_tp_src':
        actions.push({ type: OFPAT.SET_TP_SRC, tpPort: Number(arg) });
        break;
      case 'mod_tp_dst':
        actions.push({ type: OFPAT.SET_TP_DST, tpPort: Number(arg) });
        break;
      case 'enqueue': {
        const [port = '', queue = ''] = arg.split(/[:,]/);
        actions.push({ type: OFPAT.ENQUEUE, port: portNumber(port), queueId: Number(queue) });
        break;
      }
      default:
        throw new Error(`no typed form for ovs-ofctl action ${token}`);
    }
  }
  return actions;
}

/**
 * ovs-ofctl prints OUTPUT to CONTROLLER with its max_len, other outputs without: the same
 * actions with max_len cleared where ovs-ofctl does not show it.
 */
export function asOfctlShowsThem(actions: readonly Action[]): Action[] {
  return actions.map((a) =>
    a.type === OFPAT.OUTPUT && a.port !== OFPP.CONTROLLER ? { type: OFPAT.OUTPUT, port: a.port, maxLen: 0 } : a,
  );
}
