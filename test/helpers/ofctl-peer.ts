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
import { ovsEnv } from './ovs-rundir.js';
import { OFPAT, OFPC, OFPFW, OFPP, OFPPC, OFPPS } from '../../protocol/constants.js';
import type { Action, Match } from '../../protocol/types.js';
import { RESERVED_PORT_NUMBERS } from '../../protocol/flow-format.js';

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** ovs-ofctl, run to completion: its stdout; throws when it fails or prints nothing. */
export function ofctlSync(args: readonly string[]): string {
  const out = execFileSync('ovs-ofctl', args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...ovsEnv() },
  });
  if (out.trim() === '') throw new Error(`ovs-ofctl ${args.join(' ')} printed nothing`);
  return out;
}

/**
 * `ovs-ofctl ofp-print HEX 4`: the decoded text (verbosity 4 prints wildcarded fields as `*`).
 * Throws when ovs-ofctl fails or prints nothing, so an empty text never passes for a clean one.
 */
export function ofpPrint(bytes: Uint8Array, verbosity = 4): string {
  return ofctlSync(['ofp-print', hex(bytes), String(verbosity)]);
}

/** Lines where ovs-ofctl reports a decode problem (it prints them and still exits 0). */
export function ofctlComplaints(text: string): string[] {
  // \b keeps error names (OFPBAC_BAD_OUT_PORT, OFPT_ERROR) and counters (errors=5) out
  return text.split('\n').filter((line) => /\*\*\*|\bbad\b|\berror\b|\btruncated\b|\bunknown\b|\binvalid\b|not supported/i.test(line));
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
    const messages = splitMessages(ofctlSync(['-O', 'OpenFlow10', '-mmmmm', 'parse-flows', file]));
    if (messages.length !== flows.length) throw new Error(`ovs-ofctl parse-flows gave ${messages.length} messages for ${flows.length} flows`);
    return messages;
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


function portNumber(text: string): number {
  return RESERVED_PORT_NUMBERS[text.toUpperCase()] ?? Number(text);
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
  return untaggedWithoutPcp(fields);
}

/** Open vSwitch ignores the priority of untagged frames (dl_vlan 0xffff): so do both sides. */
function untaggedWithoutPcp(fields: MatchFields): MatchFields {
  if (fields.dl_vlan === 0xffff) delete fields.dl_vlan_pcp;
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
  if (!(w & OFPFW.DL_VLAN_PCP)) f.dl_vlan_pcp = m.dlVlanPcp;
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
  return untaggedWithoutPcp(f);
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

// ---- ports, flags and the rest of ofp-print's vocabulary --------------------------------------------

/** ovs-ofctl's names for ofp_port_config bits: the spec's. */
export const CONFIG_NAMES: Record<string, number> = { ...OFPPC };
/** ovs-ofctl's names for ofp_port_state (LINK_DOWN and the STP state): the spec's. */
const { STP_MASK: _stpMask, ...stateNames } = OFPPS;
export const STATE_NAMES: Record<string, number> = stateNames;
/** ovs-ofctl's names for ofp_port_features bits. */
export const FEATURE_NAMES: Record<string, number> = {
  '10MB-HD': 1 << 0,
  '10MB-FD': 1 << 1,
  '100MB-HD': 1 << 2,
  '100MB-FD': 1 << 3,
  '1GB-HD': 1 << 4,
  '1GB-FD': 1 << 5,
  '10GB-FD': 1 << 6,
  COPPER: 1 << 7,
  FIBER: 1 << 8,
  AUTO_NEG: 1 << 9,
  AUTO_PAUSE: 1 << 10,
  AUTO_PAUSE_ASYM: 1 << 11,
};
/** ovs-ofctl's names for ofp_capabilities bits: the spec's, but for the reserved bit. */
const { RESERVED: _reserved, ...capabilityNames } = OFPC;
export const CAPABILITY_NAMES: Record<string, number> = capabilityNames;
/** ovs-ofctl's names for the supported-actions bitmap (bit n is action type n). */
export const ACTION_BIT_NAMES: readonly string[] = [
  'output', 'set_vlan_vid', 'set_vlan_pcp', 'strip_vlan', 'mod_dl_src', 'mod_dl_dst',
  'mod_nw_src', 'mod_nw_dst', 'mod_nw_tos', 'mod_tp_src', 'mod_tp_dst', 'enqueue',
];

/** "NO_FLOOD PORT_DOWN" (or "0") to the bits the table names. */
export function bitsOf(names: string, table: Record<string, number>): number {
  let bits = 0;
  for (const name of names.trim().split(/\s+/)) {
    if (name === '0' || name === '') continue;
    const bit = table[name];
    if (bit === undefined) throw new Error(`unknown flag ${name}`);
    bits |= bit;
  }
  return bits >>> 0;
}

/** The port number ovs-ofctl prints: a number or a reserved port's name. */
export function ofctlPort(text: string): number {
  return portNumber(text);
}

/**
 * The ofp_phy_port blocks of a features reply, port status or port-description reply:
 * ` 1(veth-a1): addr:..` followed by `config:`, `state:`, `current:`... lines (a zero feature
 * set is not printed).
 */
export function parseOfctlPorts(text: string): Array<Record<string, number | string>> {
  const ports: Array<Record<string, number | string>> = [];
  let port: Record<string, number | string> | null = null;
  for (const line of text.split('\n')) {
    const head = /(?:^|: )\s*(\w+)\(([^)]*)\): addr:([0-9a-f:]{17})$/.exec(line);
    if (head) {
      port = { portNo: portNumber(head[1] ?? ''), name: head[2] ?? '', hwAddr: head[3] ?? '', config: 0, state: 0, curr: 0, advertised: 0, supported: 0, peer: 0 };
      ports.push(port);
      continue;
    }
    const field = /^\s+(config|state|current|advertised|supported|peer):\s+(.*)$/.exec(line);
    if (!port || !field) continue;
    const [, key = '', value = ''] = field;
    if (key === 'config') port.config = bitsOf(value, CONFIG_NAMES);
    else if (key === 'state') port.state = bitsOf(value, STATE_NAMES);
    else port[key === 'current' ? 'curr' : key] = bitsOf(value, FEATURE_NAMES);
  }
  return ports;
}
