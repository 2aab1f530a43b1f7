// protocol/flow-format.ts against ovs-ofctl's own printer: every flow of a corpus covering every
// OpenFlow 1.0 match field (prefixes, wildcards, each shorthand, VLAN none, reserved ports, values
// OVS cuts) and every action is encoded by ofswitch as an OFPST_FLOW reply; `ovs-ofctl ofp-parse`
// prints the replies and each flow line must equal formatFlowStats' line, byte for byte. The
// matches here are raw (not normalised): ofp-print prints what it is given, and so must we.
// What the peer cannot print (actions OVS refuses to decode, ages of Nicira replies) is checked
// against OVS's source rules below.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OFPAT, OFPFW, OFPP, OFPP_UNSET, OFPST, OFPT } from '../../protocol/constants.js';
import { encodeMessage } from '../../protocol/encode.js';
import {
  formatAction,
  formatActions,
  formatBridgeFlow,
  formatDuration,
  formatFlowStats,
  formatMatch,
  formatPort,
} from '../../protocol/flow-format.js';
import type { Action, FlowStats, Match } from '../../protocol/types.js';
import { ofctlComplaints } from '../helpers/ofctl-peer.js';

const ALL = OFPFW.ALL;
/** Wildcards with the given bits cleared (those fields exact). */
const on = (...bits: number[]): number => bits.reduce((w, b) => w & ~b, ALL);
/** Wildcards `w` with nw_src/nw_dst wildcard counts `src`/`dst`. */
const nw = (w: number, src: number, dst: number): number =>
  (w & ~OFPFW.NW_SRC_MASK & ~OFPFW.NW_DST_MASK) | (src << OFPFW.NW_SRC_SHIFT) | (dst << OFPFW.NW_DST_SHIFT);
const { IN_PORT, DL_VLAN, DL_SRC, DL_DST, DL_TYPE, NW_PROTO, TP_SRC, TP_DST, DL_VLAN_PCP, NW_TOS } = OFPFW;

/** Every field set to something non-zero: wildcarded ones must not show. */
const base: Match = {
  wildcards: ALL, inPort: 3, dlSrc: '0a:00:00:00:00:01', dlDst: 'ff:ff:ff:ff:ff:ff', dlVlan: 0x0123, dlVlanPcp: 5,
  dlType: 0x0800, nwTos: 0xb9, nwProto: 6, nwSrc: 0x0a0b0c0d, nwDst: 0xc0a80107, tpSrc: 1234, tpDst: 80,
};
const m = (wildcards: number, fields: Partial<Match> = {}): Match => ({ ...base, ...fields, wildcards: wildcards >>> 0 });

const out = (port: number, maxLen = 0): Action => ({ type: OFPAT.OUTPUT, port, maxLen });
const A = {
  vid: (vlanVid: number): Action => ({ type: OFPAT.SET_VLAN_VID, vlanVid }),
  pcp: (vlanPcp: number): Action => ({ type: OFPAT.SET_VLAN_PCP, vlanPcp }),
  strip: { type: OFPAT.STRIP_VLAN } as Action,
  dlSrc: (dlAddr: string): Action => ({ type: OFPAT.SET_DL_SRC, dlAddr }),
  dlDst: (dlAddr: string): Action => ({ type: OFPAT.SET_DL_DST, dlAddr }),
  nwSrc: (nwAddr: number): Action => ({ type: OFPAT.SET_NW_SRC, nwAddr }),
  nwDst: (nwAddr: number): Action => ({ type: OFPAT.SET_NW_DST, nwAddr }),
  tos: (nwTos: number): Action => ({ type: OFPAT.SET_NW_TOS, nwTos }),
  tpSrc: (tpPort: number): Action => ({ type: OFPAT.SET_TP_SRC, tpPort }),
  tpDst: (tpPort: number): Action => ({ type: OFPAT.SET_TP_DST, tpPort }),
  enqueue: (port: number, queueId: number): Action => ({ type: OFPAT.ENQUEUE, port, queueId }),
};

const flow = (match: Match, actions: readonly Action[], extra: Partial<FlowStats> = {}): FlowStats => ({
  tableId: 0, match, durationSec: 12, durationNsec: 345_000_000, priority: 32768, idleTimeout: 0, hardTimeout: 0,
  cookie: 0n, packetCount: 0n, byteCount: 0n, actions, ...extra,
});
const NORMAL = [out(OFPP.NORMAL)];

/** The corpus: [what it covers, flow]. */
const corpus: Array<[string, FlowStats]> = [
  // the catch-alls, priorities, stats fields
  ['all wildcarded, default priority, drop', flow(m(ALL), [])],
  ['priority 0 NORMAL', flow(m(ALL), NORMAL, { priority: 0 })],
  ['priority 65535, exact match', flow(m(0), NORMAL, { priority: 65535 })],
  ['priority 32767', flow(m(on(IN_PORT)), NORMAL, { priority: 32767 })],
  ['cookie, table, timeouts, counters', flow(m(ALL), NORMAL, {
    cookie: 0x0123456789abcdefn, tableId: 3, idleTimeout: 60, hardTimeout: 3600, packetCount: 42n, byteCount: 4242n, priority: 1,
  })],
  ['largest cookie, unknown counters', flow(m(ALL), [], { cookie: 0xffffffffffffffffn, packetCount: 0xffffffffffffffffn, byteCount: 0xffffffffffffffffn })],
  ['hard timeout only, table 254', flow(m(ALL), [], { hardTimeout: 1, tableId: 254 })],
  ['duration whole seconds', flow(m(ALL), [], { durationSec: 5, durationNsec: 0 })],
  ['duration zero', flow(m(ALL), [], { durationSec: 0, durationNsec: 0 })],
  ['duration microseconds', flow(m(ALL), [], { durationSec: 0, durationNsec: 123_456_000 })],
  ['duration nanoseconds', flow(m(ALL), [], { durationSec: 4294967295, durationNsec: 5 })],
  ['duration 999999999 ns', flow(m(ALL), [], { durationSec: 1, durationNsec: 999_999_999 })],
  ['duration 10 ms', flow(m(ALL), [], { durationSec: 1, durationNsec: 10_000_000 })],
  // in_port
  ['in_port 1', flow(m(on(IN_PORT), { inPort: 1 }), NORMAL)],
  ['in_port 65279', flow(m(on(IN_PORT), { inPort: 0xfeff }), NORMAL)],
  ['in_port LOCAL', flow(m(on(IN_PORT), { inPort: OFPP.LOCAL }), NORMAL)],
  ['in_port CONTROLLER', flow(m(on(IN_PORT), { inPort: OFPP.CONTROLLER }), NORMAL)],
  ['in_port IN_PORT', flow(m(on(IN_PORT), { inPort: OFPP.IN_PORT }), NORMAL)],
  ['in_port TABLE', flow(m(on(IN_PORT), { inPort: OFPP.TABLE }), NORMAL)],
  ['in_port NORMAL', flow(m(on(IN_PORT), { inPort: OFPP.NORMAL }), NORMAL)],
  ['in_port FLOOD', flow(m(on(IN_PORT), { inPort: OFPP.FLOOD }), NORMAL)],
  ['in_port ALL', flow(m(on(IN_PORT), { inPort: OFPP.ALL }), NORMAL)],
  ['in_port NONE (ANY)', flow(m(on(IN_PORT), { inPort: OFPP.NONE }), NORMAL)],
  ['in_port 0xfff7 (UNSET)', flow(m(on(IN_PORT), { inPort: OFPP_UNSET }), NORMAL)],
  ['in_port 0xff00', flow(m(on(IN_PORT), { inPort: OFPP.MAX }), NORMAL)],
  // VLAN
  ['dl_vlan none', flow(m(on(DL_VLAN), { dlVlan: 0xffff }), NORMAL)],
  ['dl_vlan none with pcp', flow(m(on(DL_VLAN, DL_VLAN_PCP), { dlVlan: 0xffff }), NORMAL)],
  ['dl_vlan 100', flow(m(on(DL_VLAN), { dlVlan: 100 }), NORMAL)],
  ['dl_vlan 0', flow(m(on(DL_VLAN), { dlVlan: 0 }), NORMAL)],
  ['dl_vlan beyond 12 bits', flow(m(on(DL_VLAN), { dlVlan: 0x1005 }), NORMAL)],
  ['dl_vlan_pcp alone', flow(m(on(DL_VLAN_PCP)), NORMAL)],
  ['dl_vlan_pcp beyond 3 bits', flow(m(on(DL_VLAN_PCP), { dlVlanPcp: 9 }), NORMAL)],
  ['dl_vlan and pcp', flow(m(on(DL_VLAN, DL_VLAN_PCP), { dlVlan: 4095, dlVlanPcp: 7 }), NORMAL)],
  // Ethernet
  ['dl_src', flow(m(on(DL_SRC)), NORMAL)],
  ['dl_dst', flow(m(on(DL_DST)), NORMAL)],
  ['dl_src dl_dst in_port', flow(m(on(IN_PORT, DL_SRC, DL_DST), { dlSrc: '00:00:00:00:00:00' }), NORMAL)],
  ['dl_type LLDP', flow(m(on(DL_TYPE), { dlType: 0x88cc }), NORMAL)],
  ['dl_type 802.3 (0x05ff)', flow(m(on(DL_TYPE), { dlType: 0x05ff }), NORMAL)],
  ['dl_type 0', flow(m(on(DL_TYPE), { dlType: 0 }), NORMAL)],
  ['dl_type 802.1Q', flow(m(on(DL_TYPE, DL_VLAN), { dlType: 0x8100 }), NORMAL)],
  // IPv4 and its shorthands
  ['ip', flow(m(on(DL_TYPE)), NORMAL)],
  ['ip with other protocol', flow(m(on(DL_TYPE, NW_PROTO), { nwProto: 47 }), NORMAL)],
  ['ip protocol 0', flow(m(on(DL_TYPE, NW_PROTO), { nwProto: 0 }), NORMAL)],
  ['icmp', flow(m(on(DL_TYPE, NW_PROTO), { nwProto: 1 }), NORMAL)],
  ['icmp type and code', flow(m(on(DL_TYPE, NW_PROTO, TP_SRC, TP_DST), { nwProto: 1, tpSrc: 8, tpDst: 0 }), NORMAL)],
  ['icmp type beyond 8 bits', flow(m(on(DL_TYPE, NW_PROTO, TP_SRC), { nwProto: 1, tpSrc: 300 }), NORMAL)],
  ['tcp', flow(m(on(DL_TYPE, NW_PROTO), { nwProto: 6 }), NORMAL)],
  ['tcp ports', flow(m(on(DL_TYPE, NW_PROTO, TP_SRC, TP_DST), { nwProto: 6, tpSrc: 0, tpDst: 65535 }), NORMAL)],
  ['udp dst port', flow(m(on(DL_TYPE, NW_PROTO, TP_DST), { nwProto: 17, tpDst: 53 }), NORMAL)],
  ['sctp ports', flow(m(on(DL_TYPE, NW_PROTO, TP_SRC, TP_DST), { nwProto: 132 }), NORMAL)],
  ['ip ports without protocol', flow(m(on(DL_TYPE, TP_SRC, TP_DST)), NORMAL)],
  ['nw_src /8 (address cut)', flow(m(nw(on(DL_TYPE), 24, 32)), NORMAL)],
  ['nw_src /24 nw_dst /16', flow(m(nw(on(DL_TYPE), 8, 16)), NORMAL)],
  ['nw_src /32 nw_dst /31', flow(m(nw(on(DL_TYPE), 0, 1)), NORMAL)],
  ['nw_src /1', flow(m(nw(on(DL_TYPE), 31, 32)), NORMAL)],
  ['wildcard counts 33 and 63', flow(m(nw(on(DL_TYPE), 33, 63)), NORMAL)],
  ['nw_tos DSCP bits only', flow(m(on(DL_TYPE, NW_TOS), { nwTos: 0xff }), NORMAL)],
  ['nw_tos ECN bits only', flow(m(on(DL_TYPE, NW_TOS), { nwTos: 3 }), NORMAL)],
  ['tcp everything', flow(m(nw(on(IN_PORT, DL_VLAN, DL_VLAN_PCP, DL_SRC, DL_DST, DL_TYPE, NW_PROTO, NW_TOS, TP_SRC, TP_DST), 8, 0)), NORMAL)],
  ['icmp with protocol wildcarded is not icmp', flow(m(on(DL_TYPE, TP_SRC), { nwProto: 1 }), NORMAL)],
  // fields without their prerequisites (raw, as a switch that does not normalise would report)
  ['nw_proto without dl_type', flow(m(on(NW_PROTO, TP_SRC)), NORMAL)],
  ['addresses without dl_type', flow(m(nw(ALL, 0, 8)), NORMAL)],
  ['nw_tos without dl_type', flow(m(on(NW_TOS)), NORMAL)],
  ['every field exact, unused wildcard bits set', flow(m(0xffc00000), NORMAL, { priority: 65535 })],
  // ARP and RARP
  ['arp', flow(m(on(DL_TYPE), { dlType: 0x0806 }), NORMAL)],
  ['arp_op', flow(m(on(DL_TYPE, NW_PROTO), { dlType: 0x0806, nwProto: 2 }), NORMAL)],
  ['arp_spa arp_tpa', flow(m(nw(on(DL_TYPE, NW_PROTO), 0, 8), { dlType: 0x0806, nwProto: 1 }), NORMAL)],
  ['arp with ports and tos', flow(m(on(DL_TYPE, TP_SRC, NW_TOS), { dlType: 0x0806 }), NORMAL)],
  ['rarp', flow(m(nw(on(DL_TYPE, NW_PROTO), 16, 32), { dlType: 0x8035, nwProto: 3 }), NORMAL)],
  // IPv6: no addresses in an OpenFlow 1.0 match
  ['ipv6', flow(m(on(DL_TYPE), { dlType: 0x86dd }), NORMAL)],
  ['ipv6 with addresses', flow(m(nw(on(DL_TYPE), 0, 0), { dlType: 0x86dd }), NORMAL)],
  ['tcp6 ports', flow(m(on(DL_TYPE, NW_PROTO, TP_SRC, TP_DST), { dlType: 0x86dd, nwProto: 6 }), NORMAL)],
  ['udp6', flow(m(on(DL_TYPE, NW_PROTO, NW_TOS), { dlType: 0x86dd, nwProto: 17 }), NORMAL)],
  ['sctp6', flow(m(on(DL_TYPE, NW_PROTO), { dlType: 0x86dd, nwProto: 132 }), NORMAL)],
  ['icmp6 type code', flow(m(on(DL_TYPE, NW_PROTO, TP_SRC, TP_DST), { dlType: 0x86dd, nwProto: 58, tpSrc: 135, tpDst: 0 }), NORMAL)],
  ['ipv6 other protocol', flow(m(on(DL_TYPE, NW_PROTO), { dlType: 0x86dd, nwProto: 50 }), NORMAL)],
  // other Ethernet types OVS names or treats specially
  ['mpls with addresses and protocol', flow(m(nw(on(DL_TYPE, NW_PROTO), 0, 32), { dlType: 0x8847 }), NORMAL)],
  ['mplsm', flow(m(on(DL_TYPE), { dlType: 0x8848 }), NORMAL)],
  ['nsh drops addresses', flow(m(nw(on(DL_TYPE, NW_PROTO), 0, 0), { dlType: 0x894f }), NORMAL)],
  // actions
  ['output physical ports', flow(m(ALL), [out(1), out(2, 128), out(0xfeff)])],
  ['output reserved ports', flow(m(ALL), [out(OFPP.IN_PORT), out(OFPP.NORMAL), out(OFPP.FLOOD), out(OFPP.ALL), out(OFPP.LOCAL)])],
  ['output CONTROLLER max_len', flow(m(ALL), [out(OFPP.CONTROLLER, 0), out(OFPP.CONTROLLER, 128), out(OFPP.CONTROLLER, 65535)])],
  ['output port 0', flow(m(ALL), [out(0)])],
  ['VLAN actions', flow(m(ALL), [A.vid(0), A.vid(4095), A.pcp(0), A.pcp(7), A.strip, out(1)])],
  ['MAC rewrites', flow(m(ALL), [A.dlSrc('0a:00:27:00:00:01'), A.dlDst('ff:ff:ff:ff:ff:ff'), out(OFPP.IN_PORT)])],
  ['IP rewrites', flow(m(on(DL_TYPE)), [A.nwSrc(0x0a000001), A.nwDst(0xffffffff), A.nwSrc(0), A.tos(0), A.tos(0xfc), out(2)])],
  ['port rewrites', flow(m(on(DL_TYPE, NW_PROTO), { nwProto: 17 }), [A.tpSrc(0), A.tpDst(65535), A.tpSrc(5353), out(OFPP.LOCAL)])],
  ['enqueue', flow(m(ALL), [A.enqueue(1, 0), A.enqueue(OFPP.IN_PORT, 7), A.enqueue(OFPP.LOCAL, 0xffffffff)])],
  ['every action once', flow(m(on(IN_PORT), { inPort: 2 }), [
    A.vid(10), A.pcp(3), A.strip, A.dlSrc('02:00:00:00:00:0a'), A.dlDst('02:00:00:00:00:0b'), A.nwSrc(0xc0a80001), A.nwDst(0xc0a80002),
    A.tos(0x20), A.tpSrc(1), A.tpDst(2), A.enqueue(3, 4), out(OFPP.CONTROLLER, 64), out(OFPP.FLOOD), out(5),
  ], { priority: 100, cookie: 7n, idleTimeout: 10 })],
];

t.ok(corpus.length >= 60, `corpus has ${corpus.length} flows`);

/** One OFPST_FLOW reply per flow (xid = index + 1), so a line maps back to its flow. */
function replies(): Buffer {
  return Buffer.concat(corpus.map(([, f], i) => encodeMessage({
    type: OFPT.STATS_REPLY, version: 1, xid: i + 1, statsType: OFPST.FLOW, flags: 0, flows: [f],
  })));
}

t.test('every corpus flow prints as ovs-ofctl ofp-parse prints it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ofsw-fmt-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'replies.bin');
  writeFileSync(file, replies());
  // execFileSync throws unless ovs-ofctl exits 0
  const text = execFileSync('ovs-ofctl', ['ofp-parse', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  t.not(text.trim(), '', 'ovs-ofctl printed something');
  t.same(ofctlComplaints(text), [], 'ovs-ofctl decoded every reply');
  const lines = new Map<number, string>();
  let xid = 0;
  for (const line of text.split('\n')) {
    const head = /^OFPST_FLOW reply \(xid=0x([0-9a-f]+)\):$/.exec(line);
    if (head) xid = parseInt(head[1] ?? '', 16);
    else if (line.startsWith(' cookie=')) lines.set(xid, line);
  }
  t.equal(lines.size, corpus.length, 'one flow line per reply');
  corpus.forEach(([name, f], i) => t.equal(formatFlowStats(f), lines.get(i + 1), name));
});

t.test('formatMatch alone', async (t) => {
  t.equal(formatMatch(m(ALL)), '', 'catch-all at the default priority is empty');
  t.equal(formatMatch(m(ALL), 32768), '', 'default priority given explicitly is not printed');
  t.equal(formatMatch(m(ALL), 0), 'priority=0');
  t.equal(formatMatch(m(on(DL_TYPE, NW_PROTO, TP_DST), { nwProto: 6 }), 10), 'priority=10,tcp,tp_dst=80');
  t.equal(formatMatch(m(on(DL_SRC), { dlSrc: '0A:0B:0C:0D:0E:0F' })), 'dl_src=0a:0b:0c:0d:0e:0f', 'MACs lowercase');
});

t.test('actions OVS refuses to decode are still printed, by format_OUTPUT rules', async (t) => {
  t.equal(formatAction(out(OFPP.NONE)), 'ANY');
  t.equal(formatAction(out(OFPP_UNSET)), 'UNSET');
  t.equal(formatAction(out(OFPP.MAX)), '65280', 'a port at or above OFPP_MAX has no output: prefix');
  t.equal(formatAction(out(OFPP.TABLE)), 'TABLE');
  t.equal(formatAction({ type: OFPAT.VENDOR, vendor: 0x2320, body: new Uint8Array() }), 'vendor:0x2320');
  t.equal(formatAction({ type: OFPAT.VENDOR, vendor: 0x2320, body: Uint8Array.of(0, 1, 0xab) }), 'vendor:0x2320:0001ab');
  t.equal(formatActions([]), 'drop');
  t.equal(formatActions([out(1), out(2)]), 'output:1,output:2');
  t.equal(formatPort(OFPP.CONTROLLER), 'CONTROLLER');
  t.equal(formatPort(7), '7');
});

t.test('durations as ofp_print_duration', async (t) => {
  t.equal(formatDuration(0, 0), '0s');
  t.equal(formatDuration(3, 1_000_000), '3.001s');
  t.equal(formatDuration(3, 100), '3.0000001s');
  t.equal(formatDuration(3, 120_000), '3.00012s');
});

t.test('ages: printed only when given, hard_age only when it differs from the duration', async (t) => {
  const f = flow(m(ALL), NORMAL, { priority: 0, durationSec: 9, durationNsec: 0 });
  t.equal(formatFlowStats(f), ' cookie=0x0, duration=9s, table=0, n_packets=0, n_bytes=0, priority=0 actions=NORMAL');
  t.equal(formatFlowStats(f, { idleAge: 3, hardAge: 9 }),
    ' cookie=0x0, duration=9s, table=0, n_packets=0, n_bytes=0, idle_age=3, priority=0 actions=NORMAL');
  t.equal(formatFlowStats(f, { idleAge: 3, hardAge: 4 }),
    ' cookie=0x0, duration=9s, table=0, n_packets=0, n_bytes=0, idle_age=3, hard_age=4, priority=0 actions=NORMAL');
  t.equal(formatFlowStats(f, { idleAge: -1, hardAge: -1 }), formatFlowStats(f), 'negative ages mean unknown, as in OVS');
});

t.test('bridge/dump-flows lines (flow_stats_ds)', async (t) => {
  t.equal(formatBridgeFlow(flow(m(ALL), NORMAL, { priority: 0, durationSec: 2 })), 'duration=2s, n_packets=0, n_bytes=0, priority=0,actions=NORMAL');
  t.equal(formatBridgeFlow(flow(m(ALL), [], { durationSec: 0 })), 'duration=0s, n_packets=0, n_bytes=0, ,actions=drop',
    'catch-all at the default priority leaves an empty field, as OVS');
  t.equal(
    formatBridgeFlow(flow(m(on(DL_TYPE, NW_PROTO), { nwProto: 1 }), [out(1)], { tableId: 2, packetCount: 0xffffffffffffffffn, byteCount: 5n, cookie: 9n, idleTimeout: 5 })),
    'table_id=2, duration=12s, n_packets=18446744073709551615, n_bytes=5, icmp,actions=output:1',
    'table_id outside table 0; no cookie, timeouts or "?" for counters',
  );
});
