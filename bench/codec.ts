/**
 * Codec benchmark: `npm run build && npm run bench:codec` (a table) or `... -- --json` (one JSON
 * document on stdout; progress on stderr). About a minute.
 *
 * Messages per second of decodeMessage and encodeMessage for
 * - FLOW_MOD: a 5-tuple match and three actions (104 bytes),
 * - PACKET_IN: a 128-byte frame (146 bytes),
 * - PACKET_OUT: two actions and a 128-byte frame, unbuffered (160 bytes),
 * - FLOW stats reply of 1,000 entries: two messages of 500 entries (the first with REPLY_MORE:
 *   1,000 entries do not fit one 65,535-byte message), counted as one reply;
 * each beside a plain baseline in the same process: a hand-unrolled DataView decode and a
 * hand-written Buffer-write encode of the same message that build the same typed values. Before
 * timing, the baselines are checked against the codec (same values, same bytes), so the ratio
 * codec/baseline is the price of the codec's generality and safety checks, nothing else.
 */
import { deepStrictEqual } from 'node:assert';
import { createRequire } from 'node:module';
import {
  decodeMessage,
  encodeMessage,
  OFP_NO_BUFFER,
  OFPAT,
  OFPFC,
  OFPFF,
  OFPFW,
  OFPP,
  OFPR,
  OFPSF,
  OFPST,
  OFPT,
} from '../protocol/index.js';
import type { Action, FlowMod, FlowStats, FlowStatsReply, Match, OfpMessage, PacketIn, PacketOut } from '../protocol/index.js';

// ---- benchmark.js (CommonJS, no bundled types: the little used here) ---------------------------

interface BenchTarget {
  readonly name: string;
  readonly hz: number;
  readonly stats: { readonly rme: number; readonly sample: readonly number[] };
}
interface Suite {
  add(name: string, fn: () => void, options?: object): Suite;
  on(event: string, listener: (event: { target: BenchTarget }) => void): Suite;
  run(options?: { async: boolean }): Suite;
}
const Benchmark = createRequire(import.meta.url)('benchmark') as { Suite: new () => Suite };

const json = process.argv.includes('--json');
const log = (s: string): void => {
  process.stderr.write(`${s}\n`);
};

// ---- the messages --------------------------------------------------------------------------------

const V = 0x01;
function frame(size: number): Uint8Array {
  const f = new Uint8Array(size);
  f.set([0x0a, 0, 0x27, 0, 0, 2, 0x0a, 0, 0x27, 0, 0, 1, 0x08, 0x00, 0x45], 0);
  for (let i = 15; i < size; i++) f[i] = (i * 7) & 0xff;
  return f;
}

const match5Tuple: Match = {
  wildcards: (OFPFW.IN_PORT | OFPFW.DL_VLAN | OFPFW.DL_VLAN_PCP | OFPFW.DL_SRC | OFPFW.DL_DST | OFPFW.NW_TOS) >>> 0,
  inPort: 0,
  dlSrc: '00:00:00:00:00:00',
  dlDst: '00:00:00:00:00:00',
  dlVlan: 0,
  dlVlanPcp: 0,
  dlType: 0x0800,
  nwTos: 0,
  nwProto: 6,
  nwSrc: 0x0a000001,
  nwDst: 0x0a000002,
  tpSrc: 34567,
  tpDst: 80,
};

const flowMod: FlowMod = {
  version: V,
  type: OFPT.FLOW_MOD,
  xid: 0x1234,
  match: match5Tuple,
  cookie: 0xabcdn,
  command: OFPFC.ADD,
  idleTimeout: 60,
  hardTimeout: 0,
  priority: 1000,
  bufferId: OFP_NO_BUFFER,
  outPort: OFPP.NONE,
  flags: OFPFF.SEND_FLOW_REM,
  actions: [
    { type: OFPAT.SET_VLAN_VID, vlanVid: 10 },
    { type: OFPAT.SET_DL_DST, dlAddr: '0a:00:27:00:00:09' },
    { type: OFPAT.OUTPUT, port: 2, maxLen: 0 },
  ],
};

const packetIn: PacketIn = {
  version: V,
  type: OFPT.PACKET_IN,
  xid: 0,
  bufferId: 77,
  totalLen: 1500,
  inPort: 1,
  reason: OFPR.NO_MATCH,
  data: frame(128),
};

const packetOut: PacketOut = {
  version: V,
  type: OFPT.PACKET_OUT,
  xid: 99,
  bufferId: OFP_NO_BUFFER,
  inPort: 1,
  actions: [
    { type: OFPAT.SET_NW_TOS, nwTos: 0x20 },
    { type: OFPAT.OUTPUT, port: OFPP.FLOOD, maxLen: 0 },
  ],
  data: frame(128),
};

function flowEntry(i: number): FlowStats {
  return {
    tableId: 0,
    match: { ...match5Tuple, nwSrc: (0x0a000000 + i) >>> 0, tpSrc: 1024 + i },
    durationSec: i,
    durationNsec: i * 1000,
    priority: 1000 + (i % 7),
    idleTimeout: 60,
    hardTimeout: 0,
    cookie: BigInt(i),
    packetCount: BigInt(i * 3),
    byteCount: BigInt(i * 300),
    actions: [{ type: OFPAT.OUTPUT, port: 1 + (i % 4), maxLen: 0 }],
  };
}
const ENTRIES = Array.from({ length: 1000 }, (_, i) => flowEntry(i));
const flowStatsParts: FlowStatsReply[] = [0, 500].map((from) => ({
  version: V,
  type: OFPT.STATS_REPLY,
  xid: 5,
  flags: from === 0 ? OFPSF.REPLY_MORE : 0,
  statsType: OFPST.FLOW,
  flows: ENTRIES.slice(from, from + 500),
}));

// ---- the baseline: hand-unrolled DataView decode ---------------------------------------------

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const macAt = (b: Uint8Array, o: number): string =>
  `${HEX[b[o]!]}:${HEX[b[o + 1]!]}:${HEX[b[o + 2]!]}:${HEX[b[o + 3]!]}:${HEX[b[o + 4]!]}:${HEX[b[o + 5]!]}`;

function dvMatch(dv: DataView, b: Uint8Array, o: number): Match {
  return {
    wildcards: dv.getUint32(o),
    inPort: dv.getUint16(o + 4),
    dlSrc: macAt(b, o + 6),
    dlDst: macAt(b, o + 12),
    dlVlan: dv.getUint16(o + 18),
    dlVlanPcp: b[o + 20]!,
    dlType: dv.getUint16(o + 22),
    nwTos: b[o + 24]!,
    nwProto: b[o + 25]!,
    nwSrc: dv.getUint32(o + 28),
    nwDst: dv.getUint32(o + 32),
    tpSrc: dv.getUint16(o + 36),
    tpDst: dv.getUint16(o + 38),
  };
}

function dvActions(dv: DataView, b: Uint8Array, o: number, end: number): Action[] {
  const out: Action[] = [];
  while (o < end) {
    const type = dv.getUint16(o);
    const len = dv.getUint16(o + 2);
    if (len < 8 || o + len > end) throw new RangeError('bad action length');
    switch (type) {
      case OFPAT.OUTPUT: out.push({ type, port: dv.getUint16(o + 4), maxLen: dv.getUint16(o + 6) }); break;
      case OFPAT.SET_VLAN_VID: out.push({ type, vlanVid: dv.getUint16(o + 4) }); break;
      case OFPAT.SET_VLAN_PCP: out.push({ type, vlanPcp: b[o + 4]! }); break;
      case OFPAT.STRIP_VLAN: out.push({ type }); break;
      case OFPAT.SET_DL_SRC:
      case OFPAT.SET_DL_DST: out.push({ type, dlAddr: macAt(b, o + 4) }); break;
      case OFPAT.SET_NW_SRC:
      case OFPAT.SET_NW_DST: out.push({ type, nwAddr: dv.getUint32(o + 4) }); break;
      case OFPAT.SET_NW_TOS: out.push({ type, nwTos: b[o + 4]! }); break;
      case OFPAT.SET_TP_SRC:
      case OFPAT.SET_TP_DST: out.push({ type, tpPort: dv.getUint16(o + 4) }); break;
      case OFPAT.ENQUEUE: out.push({ type, port: dv.getUint16(o + 4), queueId: dv.getUint32(o + 12) }); break;
      case OFPAT.VENDOR: out.push({ type, vendor: dv.getUint32(o + 4), body: b.subarray(o + 8, o + len) }); break;
      default: throw new RangeError('bad action type');
    }
    o += len;
  }
  return out;
}

const dvOf = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

function dvFlowMod(b: Uint8Array): FlowMod {
  const dv = dvOf(b);
  return {
    version: b[0]!,
    type: OFPT.FLOW_MOD,
    xid: dv.getUint32(4),
    match: dvMatch(dv, b, 8),
    cookie: dv.getBigUint64(48),
    command: dv.getUint16(56),
    idleTimeout: dv.getUint16(58),
    hardTimeout: dv.getUint16(60),
    priority: dv.getUint16(62),
    bufferId: dv.getUint32(64),
    outPort: dv.getUint16(68),
    flags: dv.getUint16(70),
    actions: dvActions(dv, b, 72, b.length),
  };
}

function dvPacketIn(b: Uint8Array): PacketIn {
  const dv = dvOf(b);
  return {
    version: b[0]!,
    type: OFPT.PACKET_IN,
    xid: dv.getUint32(4),
    bufferId: dv.getUint32(8),
    totalLen: dv.getUint16(12),
    inPort: dv.getUint16(14),
    reason: b[16]!,
    data: b.subarray(18),
  };
}

function dvPacketOut(b: Uint8Array): PacketOut {
  const dv = dvOf(b);
  const end = 16 + dv.getUint16(14);
  return {
    version: b[0]!,
    type: OFPT.PACKET_OUT,
    xid: dv.getUint32(4),
    bufferId: dv.getUint32(8),
    inPort: dv.getUint16(12),
    actions: dvActions(dv, b, 16, end),
    data: b.subarray(end),
  };
}

function dvFlowStatsReply(b: Uint8Array): FlowStatsReply {
  const dv = dvOf(b);
  const flows: FlowStats[] = [];
  for (let o = 12; o < b.length; ) {
    const len = dv.getUint16(o);
    flows.push({
      tableId: b[o + 2]!,
      match: dvMatch(dv, b, o + 4),
      durationSec: dv.getUint32(o + 44),
      durationNsec: dv.getUint32(o + 48),
      priority: dv.getUint16(o + 52),
      idleTimeout: dv.getUint16(o + 54),
      hardTimeout: dv.getUint16(o + 56),
      cookie: dv.getBigUint64(o + 64),
      packetCount: dv.getBigUint64(o + 72),
      byteCount: dv.getBigUint64(o + 80),
      actions: dvActions(dv, b, o + 88, o + len),
    });
    o += len;
  }
  return { version: b[0]!, type: OFPT.STATS_REPLY, xid: dv.getUint32(4), flags: dv.getUint16(10), statsType: OFPST.FLOW, flows };
}

// ---- the baseline: hand-written Buffer-write encode ---------------------------------------------

const ACTION_LEN = (a: Action): number =>
  a.type === OFPAT.VENDOR ? 8 + a.body.length : a.type === OFPAT.SET_DL_SRC || a.type === OFPAT.SET_DL_DST || a.type === OFPAT.ENQUEUE ? 16 : 8;
const actionsLen = (actions: readonly Action[]): number => {
  let n = 0;
  for (const a of actions) n += ACTION_LEN(a);
  return n;
};

function writeMacAt(mac: string, buf: Buffer, o: number): void {
  for (let i = 0; i < 6; i++) buf[o + i] = parseInt(mac.slice(i * 3, i * 3 + 2), 16);
}

function writeHeader(buf: Buffer, type: number, xid: number): void {
  buf[0] = V;
  buf[1] = type;
  buf.writeUInt16BE(buf.length, 2);
  buf.writeUInt32BE(xid, 4);
}

function writeMatchAt(m: Match, buf: Buffer, o: number): void {
  buf.writeUInt32BE(m.wildcards, o);
  buf.writeUInt16BE(m.inPort, o + 4);
  writeMacAt(m.dlSrc, buf, o + 6);
  writeMacAt(m.dlDst, buf, o + 12);
  buf.writeUInt16BE(m.dlVlan, o + 18);
  buf[o + 20] = m.dlVlanPcp;
  buf.writeUInt16BE(m.dlType, o + 22);
  buf[o + 24] = m.nwTos;
  buf[o + 25] = m.nwProto;
  buf.writeUInt32BE(m.nwSrc, o + 28);
  buf.writeUInt32BE(m.nwDst, o + 32);
  buf.writeUInt16BE(m.tpSrc, o + 36);
  buf.writeUInt16BE(m.tpDst, o + 38);
}

function writeActionsAt(actions: readonly Action[], buf: Buffer, o: number): number {
  for (const a of actions) {
    const len = ACTION_LEN(a);
    buf.writeUInt16BE(a.type, o);
    buf.writeUInt16BE(len, o + 2);
    switch (a.type) {
      case OFPAT.OUTPUT: buf.writeUInt16BE(a.port, o + 4); buf.writeUInt16BE(a.maxLen, o + 6); break;
      case OFPAT.SET_VLAN_VID: buf.writeUInt16BE(a.vlanVid, o + 4); break;
      case OFPAT.SET_VLAN_PCP: buf[o + 4] = a.vlanPcp; break;
      case OFPAT.STRIP_VLAN: break;
      case OFPAT.SET_DL_SRC:
      case OFPAT.SET_DL_DST: writeMacAt(a.dlAddr, buf, o + 4); break;
      case OFPAT.SET_NW_SRC:
      case OFPAT.SET_NW_DST: buf.writeUInt32BE(a.nwAddr, o + 4); break;
      case OFPAT.SET_NW_TOS: buf[o + 4] = a.nwTos; break;
      case OFPAT.SET_TP_SRC:
      case OFPAT.SET_TP_DST: buf.writeUInt16BE(a.tpPort, o + 4); break;
      case OFPAT.ENQUEUE: buf.writeUInt16BE(a.port, o + 4); buf.writeUInt32BE(a.queueId, o + 12); break;
      case OFPAT.VENDOR: buf.writeUInt32BE(a.vendor, o + 4); buf.set(a.body, o + 8); break;
    }
    o += len;
  }
  return o;
}

function bufFlowMod(m: FlowMod): Buffer {
  const buf = Buffer.alloc(72 + actionsLen(m.actions));
  writeHeader(buf, OFPT.FLOW_MOD, m.xid);
  writeMatchAt(m.match, buf, 8);
  buf.writeBigUInt64BE(m.cookie, 48);
  buf.writeUInt16BE(m.command, 56);
  buf.writeUInt16BE(m.idleTimeout, 58);
  buf.writeUInt16BE(m.hardTimeout, 60);
  buf.writeUInt16BE(m.priority, 62);
  buf.writeUInt32BE(m.bufferId, 64);
  buf.writeUInt16BE(m.outPort, 68);
  buf.writeUInt16BE(m.flags, 70);
  writeActionsAt(m.actions, buf, 72);
  return buf;
}

function bufPacketIn(m: PacketIn): Buffer {
  const buf = Buffer.alloc(18 + m.data.length);
  writeHeader(buf, OFPT.PACKET_IN, m.xid);
  buf.writeUInt32BE(m.bufferId, 8);
  buf.writeUInt16BE(m.totalLen, 12);
  buf.writeUInt16BE(m.inPort, 14);
  buf[16] = m.reason;
  buf.set(m.data, 18);
  return buf;
}

function bufPacketOut(m: PacketOut): Buffer {
  const alen = actionsLen(m.actions);
  const buf = Buffer.alloc(16 + alen + m.data.length);
  writeHeader(buf, OFPT.PACKET_OUT, m.xid);
  buf.writeUInt32BE(m.bufferId, 8);
  buf.writeUInt16BE(m.inPort, 12);
  buf.writeUInt16BE(alen, 14);
  buf.set(m.data, writeActionsAt(m.actions, buf, 16));
  return buf;
}

function bufFlowStatsReply(m: FlowStatsReply): Buffer {
  let len = 12;
  for (const f of m.flows) len += 88 + actionsLen(f.actions);
  const buf = Buffer.alloc(len);
  writeHeader(buf, OFPT.STATS_REPLY, m.xid);
  buf.writeUInt16BE(OFPST.FLOW, 8);
  buf.writeUInt16BE(m.flags, 10);
  let o = 12;
  for (const f of m.flows) {
    const flen = 88 + actionsLen(f.actions);
    buf.writeUInt16BE(flen, o);
    buf[o + 2] = f.tableId;
    writeMatchAt(f.match, buf, o + 4);
    buf.writeUInt32BE(f.durationSec, o + 44);
    buf.writeUInt32BE(f.durationNsec, o + 48);
    buf.writeUInt16BE(f.priority, o + 52);
    buf.writeUInt16BE(f.idleTimeout, o + 54);
    buf.writeUInt16BE(f.hardTimeout, o + 56);
    buf.writeBigUInt64BE(f.cookie, o + 64);
    buf.writeBigUInt64BE(f.packetCount, o + 72);
    buf.writeBigUInt64BE(f.byteCount, o + 80);
    writeActionsAt(f.actions, buf, o + 88);
    o += flen;
  }
  return buf;
}

// ---- the cases -----------------------------------------------------------------------------------

interface Case {
  readonly name: string;
  /** The messages one operation decodes or encodes (the stats reply is two). */
  readonly messages: readonly OfpMessage[];
  readonly baselineDecode: (b: Uint8Array) => OfpMessage;
  readonly baselineEncode: (m: never) => Buffer;
}

const CASES: readonly Case[] = [
  { name: 'FLOW_MOD, 3 actions', messages: [flowMod], baselineDecode: dvFlowMod, baselineEncode: bufFlowMod },
  { name: 'PACKET_IN, 128-byte frame', messages: [packetIn], baselineDecode: dvPacketIn, baselineEncode: bufPacketIn },
  { name: 'PACKET_OUT, 2 actions + 128-byte frame', messages: [packetOut], baselineDecode: dvPacketOut, baselineEncode: bufPacketOut },
  { name: 'FLOW stats reply, 1,000 entries (2 msgs)', messages: flowStatsParts, baselineDecode: dvFlowStatsReply, baselineEncode: bufFlowStatsReply },
];

/** Values as plain data: bytes as hex (a Buffer view and a Uint8Array view compare equal). */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

/** The baselines must do the codec's job exactly, or the ratio means nothing. */
function checkBaselines(c: Case, wire: readonly Buffer[]): void {
  c.messages.forEach((m, i) => {
    const bytes = wire[i]!;
    deepStrictEqual((c.baselineEncode as (m: OfpMessage) => Buffer)(m).toString('hex'), bytes.toString('hex'), `${c.name}: baseline encode`);
    const r = decodeMessage(bytes);
    if (!r.ok) throw new Error(`${c.name}: the codec refuses its own encoding: ${r.reason}`);
    deepStrictEqual(plain(c.baselineDecode(bytes)), plain(r.message), `${c.name}: baseline decode`);
    deepStrictEqual(plain(r.message), plain(m), `${c.name}: codec round trip`);
  });
}

interface Row {
  message: string;
  bytes: number;
  op: 'decode' | 'encode';
  impl: 'codec' | 'baseline';
  perSec: number;
  rmePercent: number;
  samples: number;
}

/** Keeps results alive so the work cannot be optimised away. */
const sink: unknown[] = [null];

function runCase(c: Case): Row[] {
  const wire = c.messages.map((m) => encodeMessage(m));
  checkBaselines(c, wire);
  const bytes = wire.reduce((n, b) => n + b.length, 0);
  const encodeBaseline = c.baselineEncode as (m: OfpMessage) => Buffer;
  const fns: Record<string, () => void> = {
    'decode codec': () => {
      for (const b of wire) sink[0] = decodeMessage(b);
    },
    'decode baseline': () => {
      for (const b of wire) sink[0] = c.baselineDecode(b);
    },
    'encode codec': () => {
      for (const m of c.messages) sink[0] = encodeMessage(m);
    },
    'encode baseline': () => {
      for (const m of c.messages) sink[0] = encodeBaseline(m);
    },
  };
  const rows: Row[] = [];
  const suite = new Benchmark.Suite();
  for (const [name, fn] of Object.entries(fns)) suite.add(name, fn, { maxTime: 1.5, minSamples: 10 });
  suite.on('cycle', ({ target }) => {
    const [op, impl] = target.name.split(' ') as [Row['op'], Row['impl']];
    rows.push({ message: c.name, bytes, op, impl, perSec: Math.round(target.hz), rmePercent: Number(target.stats.rme.toFixed(1)), samples: target.stats.sample.length });
    log(`  ${c.name}: ${target.name} ${Math.round(target.hz).toLocaleString('en-US')}/s ±${target.stats.rme.toFixed(1)}%`);
  });
  suite.run({ async: false });
  return rows;
}

log(`codec benchmark on Node.js ${process.version}`);
const rows = CASES.flatMap(runCase);

const rate = (message: string, op: string, impl: string): number =>
  rows.find((r) => r.message === message && r.op === op && r.impl === impl)?.perSec ?? NaN;
const summary = CASES.map((c) => {
  const dc = rate(c.name, 'decode', 'codec');
  const db = rate(c.name, 'decode', 'baseline');
  const ec = rate(c.name, 'encode', 'codec');
  const eb = rate(c.name, 'encode', 'baseline');
  return {
    message: c.name,
    bytes: rows.find((r) => r.message === c.name)?.bytes ?? 0,
    decodeCodec: dc,
    decodeBaseline: db,
    decodeRatio: Number((dc / db).toFixed(2)),
    encodeCodec: ec,
    encodeBaseline: eb,
    encodeRatio: Number((ec / eb).toFixed(2)),
  };
});

if (json) {
  process.stdout.write(`${JSON.stringify({ benchmark: 'codec', node: process.version, unit: 'messages/s (the stats reply: 1,000-entry replies/s)', rows, summary }, null, 2)}\n`);
} else {
  const n = (x: number): string => x.toLocaleString('en-US');
  const lines = [
    '| message | bytes | decode codec/s | decode baseline/s | ratio | encode codec/s | encode baseline/s | ratio |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...summary.map((s) => `| ${s.message} | ${n(s.bytes)} | ${n(s.decodeCodec)} | ${n(s.decodeBaseline)} | ${s.decodeRatio} | ${n(s.encodeCodec)} | ${n(s.encodeBaseline)} | ${s.encodeRatio} |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
