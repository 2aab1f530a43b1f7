/**
 * ofswitch's codec against Open vSwitch 3.1's ovs-ofctl, in both directions:
 * - every message of the corpus (every message, stats and action type), encoded by ofswitch, is
 *   decoded by `ovs-ofctl ofp-print` with no complaint, and the field values it prints, parsed
 *   back, are the message's own;
 * - FLOW_MODs that ovs-ofctl encodes from flow descriptions (`parse-flows`: every match field,
 *   every action, reserved ports, a Nicira vendor action) and its HELLO (`encode-hello`) decode in
 *   ofswitch to the values ovs-ofctl says it encoded, and re-encode to ovs-ofctl's very bytes;
 * - every request ovs-ofctl sends on a live connection (show, dump-*, add/mod/del-flows with and
 *   without --strict, packet-out, mod-port, set-frags, queue commands, probe), recorded by a
 *   scripted switch, decodes in ofswitch to the values the command asked for.
 */
import t, { type Test } from 'tap';
import {
  decodeMessage,
  encodeMessage,
  OFP_DEFAULT_PRIORITY,
  OFP_ERROR_CODES,
  OFP_NO_BUFFER,
  OFPAT,
  OFPC_FRAG,
  OFPET,
  OFPFC,
  OFPFF,
  OFPP,
  OFPPR,
  OFPR,
  OFPRR,
  OFPST,
  OFPT,
  nameOf,
} from '../../protocol/index.js';
import type { Action, Match, OfpMessage, PhyPort } from '../../protocol/index.js';
import { CORPUS, PORT_1, PORT_2, RESUBMIT_ACTION, comparable } from '../helpers/of10-corpus.js';
import { OfctlCapture } from '../helpers/ofctl-capture.js';
import {
  ACTION_BIT_NAMES,
  CAPABILITY_NAMES,
  CONFIG_NAMES,
  FEATURE_NAMES,
  asOfctlShowsThem,
  bitsOf,
  matchFieldsOf,
  ofctlComplaints,
  ofctlFlowMods,
  ofctlPort,
  ofctlSync,
  ofpPrint,
  parseHexDump,
  parseOfctlActions,
  parseOfctlMatch,
  parseOfctlPorts,
  splitMessages,
} from '../helpers/ofctl-peer.js';

/** `NAME (xid=0x1f): rest` of the first line. */
function headline(out: string): { name: string; xid: number; rest: string } {
  const m = /^(\S+(?: request| reply)?) \(xid=0x([0-9a-f]+)\):\s?(.*)$/m.exec(out);
  if (!m) throw new Error(`no message line in ${out}`);
  return { name: m[1] ?? '', xid: parseInt(m[2] ?? '', 16), rest: m[3] ?? '' };
}

/** `key=value` / `key:value` pairs of a line, as strings. */
function pairs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/([a-z_]+)[=:]([^\s,]+)/g)) out[m[1] ?? ''] = m[2] ?? '';
  return out;
}

/** The name ovs-ofctl prints for each message (and stats type) ofswitch encodes: the spec's, from constants.ts. */
function expectedName(msg: OfpMessage): string {
  if (msg.type === OFPT.VENDOR) return 'NXT_SET_FLOW_FORMAT'; // the corpus' vendor message
  if (msg.type === OFPT.STATS_REQUEST || msg.type === OFPT.STATS_REPLY) {
    const kind = msg.type === OFPT.STATS_REQUEST ? 'request' : 'reply';
    return `${msg.statsType === OFPST.VENDOR ? 'NXST_AGGREGATE' : `OFPST_${nameOf(OFPST, msg.statsType)}`} ${kind}`;
  }
  return `OFPT_${nameOf(OFPT, msg.type)}`;
}

/** The error type and code of a name like OFPBAC_BAD_OUT_PORT. */
function errorOf(name: string): { errorType: number; code: number } | null {
  const prefixes: Record<string, number> = {
    OFPHFC: OFPET.HELLO_FAILED,
    OFPBRC: OFPET.BAD_REQUEST,
    OFPBAC: OFPET.BAD_ACTION,
    OFPFMFC: OFPET.FLOW_MOD_FAILED,
    OFPPMFC: OFPET.PORT_MOD_FAILED,
    OFPQOFC: OFPET.QUEUE_OP_FAILED,
  };
  const [prefix = '', ...rest] = name.split('_');
  const errorType = prefixes[prefix];
  if (errorType === undefined) return null;
  const codes = OFP_ERROR_CODES[errorType as keyof typeof OFP_ERROR_CODES] as Record<string, number>;
  const code = codes[rest.join('_')];
  return code === undefined ? null : { errorType, code };
}

function portOf(p: PhyPort): Record<string, number | string> {
  return { portNo: p.portNo, name: p.name, hwAddr: p.hwAddr, config: p.config, state: p.state, curr: p.curr, advertised: p.advertised, supported: p.supported, peer: p.peer };
}

/** ovs-ofctl's `duration=7.000008s` / `duration7.000008s` for seconds and nanoseconds. */
function durationText(sec: number, nsec: number): string {
  return `${sec}.${String(nsec).padStart(9, '0')}`.replace(/0+$/, '').replace(/\.$/, '');
}

/** Splits `<match> <key:value ...> actions=<list>` of a FLOW_MOD line. */
function flowModParts(rest: string): { command: string; match: string; info: Record<string, string>; flags: string[]; actions: string } {
  const m = /^(\S+) (\S*)\s?(.*?)\s?actions=(\S*)$/.exec(rest);
  if (!m) throw new Error(`unexpected FLOW_MOD text ${rest}`);
  const info = m[3] ?? '';
  return {
    command: m[1] ?? '',
    match: m[2] ?? '',
    info: pairs(info),
    flags: info.split(' ').filter((w) => /^[a-z_]+$/.test(w)),
    actions: m[4] ?? '',
  };
}

/**
 * Open vSwitch gives an exact-match OpenFlow 1.0 flow (no wildcard bit) the highest priority,
 * whatever the message says: that is the spec's rule that exact matches beat wildcarded ones.
 */
function ofctlPriority(match: Match, priority: number): number {
  return match.wildcards === 0 ? 0xffff : priority;
}

const COMMANDS: Record<string, number> = { ADD: OFPFC.ADD, MOD: OFPFC.MODIFY, MOD_STRICT: OFPFC.MODIFY_STRICT, DEL: OFPFC.DELETE, DEL_STRICT: OFPFC.DELETE_STRICT };

/** The checks, per message type, of what ovs-ofctl printed against the message. */
function checkFields(t: Test, out: string, msg: OfpMessage): void {
  const head = headline(out);
  t.equal(head.name, expectedName(msg), 'message type');
  t.equal(head.xid, msg.xid, 'xid');
  const lines = out.split('\n');
  switch (msg.type) {
    case OFPT.HELLO:
      t.match(out, /version bitmap: 0x01/, 'a HELLO of version 1 offers 1.0');
      break;
    case OFPT.ERROR: {
      t.same(errorOf(head.rest), { errorType: msg.errorType, code: msg.code }, 'error type and code');
      const embedded = lines[1] ?? '';
      t.match(embedded, /^OFPT_FLOW_MOD \(xid=0x2\): ADD actions=output:99$/, 'the offending message, decoded');
      break;
    }
    case OFPT.ECHO_REQUEST:
    case OFPT.ECHO_REPLY:
      t.equal(head.rest, `${msg.data.length} bytes of payload`, 'payload length');
      t.equal(parseHexDump(lines.slice(1)).toString('hex'), Buffer.from(msg.data).toString('hex'), 'payload');
      break;
    case OFPT.VENDOR:
      t.equal(msg.vendor, 0x2320, 'Nicira vendor id recognised');
      t.equal(head.rest, 'format=openflow10', 'vendor body decoded');
      break;
    case OFPT.FEATURES_REPLY: {
      t.match(out, new RegExp(`dpid:${msg.datapathId.toString(16).padStart(16, '0')}\\b`), 'datapath id');
      t.match(out, new RegExp(`n_tables:${msg.nTables}, n_buffers:${msg.nBuffers}\\b`), 'tables and buffers');
      t.equal(bitsOf(/capabilities: (.*)/.exec(out)?.[1] ?? '', CAPABILITY_NAMES), msg.capabilities, 'capabilities');
      const actionNames = (/^actions: (.*)$/m.exec(out)?.[1] ?? '').split(' ');
      const actionBits = actionNames.reduce((bits, name) => bits | (1 << ACTION_BIT_NAMES.indexOf(name === 'enqueue' ? 'enqueue' : name)), 0);
      t.equal(actionBits, msg.actions, 'supported actions');
      t.same(parseOfctlPorts(out), msg.ports.map(portOf), 'ports');
      break;
    }
    case OFPT.GET_CONFIG_REPLY:
    case OFPT.SET_CONFIG: {
      const p = pairs(head.rest);
      const frags: Record<string, number> = { normal: OFPC_FRAG.NORMAL, drop: OFPC_FRAG.DROP, reassemble: OFPC_FRAG.REASM };
      t.equal(frags[p.frags ?? ''], msg.flags, 'fragment handling');
      t.equal(Number(p.miss_send_len), msg.missSendLen, 'miss_send_len');
      break;
    }
    case OFPT.PACKET_IN: {
      const p = pairs(head.rest);
      t.equal(Number(p.total_len), msg.totalLen, 'total_len');
      t.equal(ofctlPort(p.in_port ?? ''), msg.inPort, 'in_port');
      t.match(head.rest, msg.reason === OFPR.NO_MATCH ? /\(via no_match\)/ : /\(via action\)/, 'reason');
      t.equal(Number(p.data_len), msg.data.length, 'data length');
      if (msg.bufferId === OFP_NO_BUFFER) t.match(head.rest, /\(unbuffered\)/, 'unbuffered');
      else t.equal(parseInt(p.buffer ?? '', 16), msg.bufferId, 'buffer_id');
      t.equal(parseHexDump(lines.slice(2)).toString('hex'), Buffer.from(msg.data).toString('hex'), 'frame');
      break;
    }
    case OFPT.FLOW_REMOVED: {
      const m = /^priority=(\d+),(\S*) reason=(\w+) cookie:(0x[0-9a-f]+) duration([0-9.]+)s idle(\d+) pkts(\d+) bytes(\d+)$/.exec(head.rest);
      t.ok(m, 'FLOW_REMOVED fields');
      if (!m) break;
      t.equal(Number(m[1]), msg.priority, 'priority');
      t.same(parseOfctlMatch(m[2] ?? ''), matchFieldsOf(msg.match), 'match');
      t.equal({ idle: OFPRR.IDLE_TIMEOUT, hard: OFPRR.HARD_TIMEOUT, delete: OFPRR.DELETE }[m[3] ?? ''], msg.reason, 'reason');
      t.equal(BigInt(m[4] ?? ''), msg.cookie, 'cookie');
      t.equal(m[5], durationText(msg.durationSec, msg.durationNsec), 'duration');
      t.equal(Number(m[6]), msg.idleTimeout, 'idle timeout');
      t.equal(BigInt(m[7] ?? ''), msg.packetCount, 'packet count');
      t.equal(BigInt(m[8] ?? ''), msg.byteCount, 'byte count');
      break;
    }
    case OFPT.PORT_STATUS:
      t.equal({ ADD: OFPPR.ADD, DEL: OFPPR.DELETE, MOD: OFPPR.MODIFY }[head.rest.split(':')[0] ?? ''], msg.reason, 'reason');
      t.same(parseOfctlPorts(out), [portOf(msg.desc)], 'port');
      break;
    case OFPT.PACKET_OUT: {
      const p = pairs(head.rest);
      t.equal(ofctlPort(p.in_port ?? ''), msg.inPort, 'in_port');
      t.same(parseOfctlActions(/actions=(\S*)/.exec(head.rest)?.[1] ?? ''), asOfctlShowsThem(msg.actions), 'actions');
      if (msg.bufferId === OFP_NO_BUFFER) {
        t.equal(Number(p.data_len), msg.data.length, 'data length');
        t.equal(parseHexDump(lines.slice(2)).toString('hex'), Buffer.from(msg.data).toString('hex'), 'frame');
      } else {
        t.equal(parseInt(p.buffer ?? '', 16), msg.bufferId, 'buffer_id');
      }
      break;
    }
    case OFPT.FLOW_MOD: {
      const f = flowModParts(head.rest);
      t.equal(COMMANDS[f.command], msg.command, 'command');
      t.same(parseOfctlMatch(f.match), matchFieldsOf(msg.match), 'match');
      t.equal(BigInt(f.info.cookie ?? '0'), msg.cookie, 'cookie');
      t.equal(Number(f.info.idle ?? 0), msg.idleTimeout, 'idle timeout');
      t.equal(Number(f.info.hard ?? 0), msg.hardTimeout, 'hard timeout');
      t.equal(Number(f.info.pri ?? OFP_DEFAULT_PRIORITY), ofctlPriority(msg.match, msg.priority), 'priority');
      t.equal(f.info.buf === undefined ? OFP_NO_BUFFER : parseInt(f.info.buf, 16), msg.bufferId, 'buffer_id');
      t.equal(f.info.out_port === undefined ? OFPP.NONE : ofctlPort(f.info.out_port), msg.outPort, 'out_port');
      const flagBits = { send_flow_rem: OFPFF.SEND_FLOW_REM, check_overlap: OFPFF.CHECK_OVERLAP, emerg: OFPFF.EMERG };
      t.equal(bitsOf(f.flags.join(' '), flagBits), msg.flags, 'flags');
      const vendor = msg.actions.filter((a) => a.type === OFPAT.VENDOR);
      const printed = f.actions.split(',');
      t.same(printed.slice(printed.length - vendor.length), vendor.map(() => 'resubmit:3'), 'vendor action decoded');
      t.same(parseOfctlActions(printed.slice(0, printed.length - vendor.length).join(',')), asOfctlShowsThem(msg.actions.filter((a) => a.type !== OFPAT.VENDOR)), 'actions');
      break;
    }
    case OFPT.PORT_MOD: {
      t.match(head.rest, new RegExp(`^port: ${msg.portNo}: addr:${msg.hwAddr}$`), 'port and address');
      t.equal(bitsOf(/config: (.*)/.exec(out)?.[1] ?? '', CONFIG_NAMES), msg.config, 'config');
      t.equal(bitsOf(/mask: {3}(.*)/.exec(out)?.[1] ?? '', CONFIG_NAMES), msg.mask, 'mask');
      t.equal(bitsOf(/advertise: (.*)/.exec(out)?.[1] ?? '', FEATURE_NAMES), msg.advertise, 'advertise');
      break;
    }
    case OFPT.QUEUE_GET_CONFIG_REQUEST:
      t.equal(head.rest, `port=${msg.port}`, 'port');
      break;
    case OFPT.QUEUE_GET_CONFIG_REPLY: {
      t.equal(head.rest, `port=${msg.port}`, 'port');
      const queues = [...out.matchAll(/^queue (\d+):(?: min_rate:([0-9.]+)%)?$/gm)].map((q) =>
        q[2] === undefined ? { queueId: Number(q[1]), properties: [{ property: 0 }] } : { queueId: Number(q[1]), properties: [{ property: 1, rate: Math.round(Number(q[2]) * 10) }] },
      );
      t.same(queues, msg.queues, 'queues and their properties');
      break;
    }
    case OFPT.STATS_REQUEST:
      checkStatsRequest(t, head.rest, msg);
      break;
    case OFPT.STATS_REPLY:
      checkStatsReply(t, out, head.rest, msg);
      break;
    default:
      t.equal(head.rest, '', 'no body');
  }
}

function checkStatsRequest(t: Test, rest: string, msg: Extract<OfpMessage, { type: typeof OFPT.STATS_REQUEST }>): void {
  switch (msg.statsType) {
    case OFPST.FLOW:
    case OFPST.AGGREGATE: {
      const words = rest.split(' ').filter(Boolean);
      const p = pairs(words.filter((w) => /^(table|out_port)=/.test(w)).join(' '));
      t.same(parseOfctlMatch(words.filter((w) => !/^(table|out_port)=/.test(w)).join(',')), matchFieldsOf(msg.match), 'match');
      t.equal(p.table === undefined ? 0xff : Number(p.table), msg.tableId, 'table_id');
      t.equal(p.out_port === undefined ? OFPP.NONE : ofctlPort(p.out_port), msg.outPort, 'out_port');
      break;
    }
    case OFPST.PORT:
      t.equal(ofctlPort(pairs(rest).port_no ?? ''), msg.portNo, 'port_no');
      break;
    case OFPST.QUEUE: {
      const p = pairs(rest);
      // OpenFlow 1.0 asks for all ports' queues with OFPP_ALL; Open vSwitch calls that ANY
      t.equal(p.port === 'ANY' ? OFPP.ALL : ofctlPort(p.port ?? ''), msg.portNo, 'port');
      t.equal(p.queue === 'ALL' ? 0xffffffff : Number(p.queue), msg.queueId, 'queue');
      break;
    }
    case OFPST.PORT_DESC:
      t.equal(rest, 'port=ANY', 'all ports');
      break;
    case OFPST.VENDOR:
      t.equal(rest, '', 'NXST_AGGREGATE of everything');
      break;
    default:
      t.equal(rest, '', 'no body');
  }
}

function checkStatsReply(t: Test, out: string, rest: string, msg: Extract<OfpMessage, { type: typeof OFPT.STATS_REPLY }>): void {
  t.equal(/flags=\[more\]/.test(rest) ? 1 : 0, msg.flags, 'flags');
  switch (msg.statsType) {
    case OFPST.DESC: {
      const line = (label: string): string => new RegExp(`^${label}: (.*)$`, 'm').exec(out)?.[1] ?? '';
      t.same(
        { mfrDesc: line('Manufacturer'), hwDesc: line('Hardware'), swDesc: line('Software'), serialNum: line('Serial Num'), dpDesc: line('DP Description') },
        msg.desc,
        'descriptions',
      );
      break;
    }
    case OFPST.FLOW: {
      const flows = out.split('\n').filter((l) => l.startsWith(' cookie='));
      t.equal(flows.length, msg.flows.length, 'entries');
      msg.flows.forEach((flow, i) => {
        const m = /^ cookie=(0x[0-9a-f]+), duration=([0-9.]+)s, table=(\d+), n_packets=(\d+), n_bytes=(\d+), idle_timeout=(\d+), hard_timeout=(\d+), priority=(\d+),?(\S*) actions=(\S*)$/.exec(flows[i] ?? '');
        t.ok(m, `entry ${i} fields`);
        if (!m) return;
        t.same(
          {
            cookie: BigInt(m[1] ?? ''),
            duration: m[2],
            tableId: Number(m[3]),
            packetCount: BigInt(m[4] ?? ''),
            byteCount: BigInt(m[5] ?? ''),
            idleTimeout: Number(m[6]),
            hardTimeout: Number(m[7]),
            priority: Number(m[8]),
            match: parseOfctlMatch(m[9] ?? ''),
            actions: comparable(parseOfctlActions(m[10] ?? '')),
          },
          {
            cookie: flow.cookie,
            duration: durationText(flow.durationSec, flow.durationNsec),
            tableId: flow.tableId,
            packetCount: flow.packetCount,
            byteCount: flow.byteCount,
            idleTimeout: flow.idleTimeout,
            hardTimeout: flow.hardTimeout,
            priority: flow.priority,
            match: matchFieldsOf(flow.match),
            actions: comparable(asOfctlShowsThem(flow.actions)),
          },
          `entry ${i}`,
        );
      });
      break;
    }
    case OFPST.AGGREGATE: {
      const p = pairs(rest);
      t.same(
        { packetCount: BigInt(p.packet_count ?? ''), byteCount: BigInt(p.byte_count ?? ''), flowCount: Number(p.flow_count) },
        msg.stats,
        'aggregate counters',
      );
      break;
    }
    case OFPST.TABLE: {
      const tables = [...out.matchAll(/table (\d+) \("([^"]*)"\):\n\s+active=(\d+), lookup=(\d+), matched=(\d+)\n\s+max_entries=(\d+)/g)];
      t.same(
        tables.map((m) => ({ tableId: Number(m[1]), name: m[2], activeCount: Number(m[3]), lookupCount: BigInt(m[4] ?? ''), matchedCount: BigInt(m[5] ?? ''), maxEntries: Number(m[6]) })),
        msg.tables.map((x) => ({ tableId: x.tableId, name: x.name, activeCount: x.activeCount, lookupCount: x.lookupCount, matchedCount: x.matchedCount, maxEntries: x.maxEntries })),
        'tables',
      );
      break;
    }
    case OFPST.PORT: {
      t.match(rest, new RegExp(`^${msg.ports.length} ports$`), 'port count');
      const ports = [...out.matchAll(/port +(\w+): rx pkts=(\d+), bytes=(\d+), drop=(\d+), errs=(\d+), frame=(\d+), over=(\d+), crc=(\d+)\n\s+tx pkts=(\d+), bytes=(\d+), drop=(\d+), errs=(\d+), coll=(\d+)/g)];
      t.same(
        ports.map((m) => ({
          portNo: ofctlPort(m[1] ?? ''),
          rxPackets: BigInt(m[2] ?? ''), rxBytes: BigInt(m[3] ?? ''), rxDropped: BigInt(m[4] ?? ''), rxErrors: BigInt(m[5] ?? ''),
          rxFrameErr: BigInt(m[6] ?? ''), rxOverErr: BigInt(m[7] ?? ''), rxCrcErr: BigInt(m[8] ?? ''),
          txPackets: BigInt(m[9] ?? ''), txBytes: BigInt(m[10] ?? ''), txDropped: BigInt(m[11] ?? ''), txErrors: BigInt(m[12] ?? ''), collisions: BigInt(m[13] ?? ''),
        })),
        msg.ports,
        'port counters',
      );
      break;
    }
    case OFPST.QUEUE: {
      const queues = [...out.matchAll(/port (\w+) queue (\d+): bytes=(\d+), pkts=(\d+), errors=(\d+)/g)];
      t.same(
        queues.map((m) => ({ portNo: ofctlPort(m[1] ?? ''), queueId: Number(m[2]), txBytes: BigInt(m[3] ?? ''), txPackets: BigInt(m[4] ?? ''), txErrors: BigInt(m[5] ?? '') })),
        msg.queues,
        'queue counters',
      );
      break;
    }
    case OFPST.PORT_DESC:
      t.same(parseOfctlPorts(out), msg.ports.map(portOf), 'ports');
      break;
    case OFPST.VENDOR:
      t.equal(rest, 'packet_count=5 byte_count=600 flow_count=7', 'NXST_AGGREGATE reply body');
      break;
  }
}

t.test('ofswitch encodes, ovs-ofctl ofp-print decodes the same values', async (t) => {
  for (const [name, msg] of Object.entries(CORPUS)) {
    t.test(name, async (t) => {
      const out = ofpPrint(encodeMessage(msg));
      t.same(ofctlComplaints(out), [], 'no decode complaint');
      checkFields(t, out, msg);
    });
  }
});

t.test('ovs-ofctl notices a mangled encoding (so a clean print means something)', async (t) => {
  const bytes = encodeMessage(CORPUS.flowMod as OfpMessage);
  bytes.writeUInt16BE(bytes.length - 3, 2); // cut into the last action
  t.not(ofctlComplaints(ofpPrint(bytes)), [], 'complains');
});

// ---- ovs-ofctl encodes, ofswitch decodes ---------------------------------------------------------------

/** Flow descriptions covering every OpenFlow 1.0 match field and action, in ovs-ofctl's syntax. */
const FLOWS: readonly string[] = [
  'priority=100,in_port=3,dl_vlan=5,dl_vlan_pcp=3,dl_src=00:01:02:03:04:05,dl_dst=0a:0b:0c:0d:0e:0f,dl_type=0x0800,nw_tos=8,' +
    'nw_proto=6,nw_src=10.0.0.0/8,nw_dst=192.168.1.1,tp_src=80,tp_dst=443,idle_timeout=10,hard_timeout=20,cookie=0x1234,' +
    'actions=output:1,mod_vlan_vid:7,mod_vlan_pcp:2,strip_vlan,mod_dl_src:00:00:00:00:00:01,mod_dl_dst:00:00:00:00:00:02,' +
    'mod_nw_src:1.2.3.4,mod_nw_dst:5.6.7.8,mod_nw_tos:16,mod_tp_src:1,mod_tp_dst:2,enqueue:3:4,controller:100',
  'in_port=1,dl_vlan=0xffff,actions=in_port,normal,flood,all,local,controller',
  'arp,arp_op=2,arp_spa=10.0.0.1,arp_tpa=10.0.0.0/24,actions=resubmit:3',
  'icmp,icmp_type=8,icmp_code=0,nw_tos=4,actions=drop',
  'udp,nw_dst=172.16.0.0/12,tp_dst=53,priority=7,send_flow_rem,check_overlap,actions=output:2',
  'dl_type=0x88cc,dl_dst=01:80:c2:00:00:0e,actions=controller:65535',
  'actions=mod_vlan_vid:4095,mod_vlan_pcp:7,mod_nw_tos:252,mod_tp_src:65535,output:65279',
];

t.test('ovs-ofctl encodes FLOW_MODs, ofswitch decodes the values it printed', async (t) => {
  const mods = ofctlFlowMods(FLOWS);
  t.equal(mods.length, FLOWS.length, 'one FLOW_MOD per flow');
  for (const [i, mod] of mods.entries()) {
    t.test(`flow ${i}: ${FLOWS[i]}`, async (t) => {
      const result = decodeMessage(mod.bytes);
      if (!result.ok || result.message.type !== OFPT.FLOW_MOD) {
        t.fail(`not decoded as a FLOW_MOD: ${result.ok ? result.message.type : result.reason}`);
        return;
      }
      const fm = result.message;
      const head = headline(mod.text);
      t.equal(fm.xid, head.xid, 'xid');
      const f = flowModParts(head.rest);
      t.equal(fm.command, COMMANDS[f.command], 'command');
      t.same(matchFieldsOf(fm.match), parseOfctlMatch(f.match), 'match');
      t.equal(fm.cookie, BigInt(f.info.cookie ?? '0'), 'cookie');
      t.equal(fm.idleTimeout, Number(f.info.idle ?? 0), 'idle timeout');
      t.equal(fm.hardTimeout, Number(f.info.hard ?? 0), 'hard timeout');
      t.equal(ofctlPriority(fm.match, fm.priority), Number(f.info.pri ?? OFP_DEFAULT_PRIORITY), 'priority');
      t.equal(fm.bufferId, OFP_NO_BUFFER, 'no buffer');
      t.equal(fm.outPort, OFPP.NONE, 'out_port NONE');
      t.equal(fm.flags, bitsOf(f.flags.join(' '), { send_flow_rem: OFPFF.SEND_FLOW_REM, check_overlap: OFPFF.CHECK_OVERLAP }), 'flags');
      if (f.actions === 'resubmit:3') {
        t.same(comparable(fm.actions), comparable([RESUBMIT_ACTION]), 'the Nicira vendor action, whole');
      } else {
        t.same(comparable(asOfctlShowsThem(fm.actions)), comparable(parseOfctlActions(f.actions)), 'actions');
        for (const a of fm.actions) if (a.type === OFPAT.OUTPUT && a.port !== OFPP.CONTROLLER) t.equal(a.maxLen, 0, 'max_len 0 on a port output');
      }
      t.equal(encodeMessage(fm).toString('hex'), mod.bytes.toString('hex'), "re-encodes to ovs-ofctl's bytes");
    });
  }
});

t.test('the match ovs-ofctl sends for "any flow" is 0x003820ff and decodes as all-wildcards', async (t) => {
  const [mod] = ofctlFlowMods(['actions=drop']);
  const result = mod ? decodeMessage(mod.bytes) : null;
  t.ok(result?.ok, 'decoded');
  if (result?.ok && result.message.type === OFPT.FLOW_MOD) {
    t.equal(result.message.match.wildcards, 0x003820ff, 'wildcards');
    t.same(matchFieldsOf(result.message.match), {}, 'matches on nothing');
    t.same(result.message.actions as readonly Action[], [], 'no actions: drop');
  } else {
    t.fail('not a FLOW_MOD');
  }
});

t.test("ovs-ofctl's HELLO (encode-hello) decodes in ofswitch", async (t) => {
  const out = ofctlSync(['encode-hello', '0x02']);
  const bytes = parseHexDump(out.split('\n'));
  const result = decodeMessage(bytes);
  t.ok(result.ok, 'decoded');
  if (result.ok && result.message.type === OFPT.HELLO) {
    t.equal(result.message.version, 1, 'version 1');
    t.equal(result.message.xid, headline(splitMessages(out)[0]?.text ?? out).xid, 'xid');
    t.equal(result.message.body.length, bytes.length - 8, 'body: the version bitmap element, whole');
    t.equal(encodeMessage(result.message).toString('hex'), bytes.toString('hex'), 're-encodes to the same bytes');
  } else {
    t.fail('not a HELLO');
  }
});

// ---- ovs-ofctl's requests on a live connection ------------------------------------------------------

/** A frame for packet-out: broadcast ARP-like bytes, 60 long. */
const PACKET_HEX = 'ffffffffffff000000000011' + '0806' + '00'.repeat(46);

/** Each ovs-ofctl command, and the message of it whose values are checked. */
const COMMANDS_TO_CAPTURE: ReadonlyArray<{ args: string[]; want: Record<string, unknown> }> = [
  { args: ['probe'], want: { type: OFPT.ECHO_REQUEST } },
  { args: ['show'], want: { type: OFPT.FEATURES_REQUEST } },
  { args: ['get-frags'], want: { type: OFPT.GET_CONFIG_REQUEST } },
  { args: ['set-frags', 'drop'], want: { type: OFPT.SET_CONFIG, flags: OFPC_FRAG.DROP, missSendLen: 128 } },
  { args: ['dump-desc'], want: { type: OFPT.STATS_REQUEST, statsType: OFPST.DESC } },
  { args: ['dump-tables'], want: { type: OFPT.STATS_REQUEST, statsType: OFPST.TABLE } },
  { args: ['dump-ports'], want: { type: OFPT.STATS_REQUEST, statsType: OFPST.PORT, portNo: OFPP.NONE } },
  { args: ['dump-ports', '2'], want: { type: OFPT.STATS_REQUEST, statsType: OFPST.PORT, portNo: 2 } },
  { args: ['dump-ports-desc'], want: { type: OFPT.STATS_REQUEST, statsType: OFPST.PORT_DESC } },
  { args: ['queue-stats'], want: { type: OFPT.STATS_REQUEST, statsType: OFPST.QUEUE, portNo: OFPP.ALL, queueId: 0xffffffff } },
  { args: ['queue-get-config', '1'], want: { type: OFPT.QUEUE_GET_CONFIG_REQUEST, port: 1 } },
  { args: ['dump-flows'], want: { type: OFPT.STATS_REQUEST, statsType: OFPST.FLOW, tableId: 0xff, outPort: OFPP.NONE, match: { wildcards: 0x003820ff } } },
  { args: ['dump-aggregate', 'in_port=1'], want: { type: OFPT.STATS_REQUEST, statsType: OFPST.AGGREGATE, match: { inPort: 1 } } },
  {
    args: ['add-flow', 'priority=5,in_port=1,actions=output:2'],
    want: { type: OFPT.FLOW_MOD, command: OFPFC.ADD, priority: 5, match: { inPort: 1 }, actions: [{ type: OFPAT.OUTPUT, port: 2 }] },
  },
  { args: ['mod-flows', 'in_port=1,actions=drop'], want: { type: OFPT.FLOW_MOD, command: OFPFC.MODIFY, match: { inPort: 1 }, actions: [] } },
  { args: ['--strict', 'mod-flows', 'priority=5,in_port=1,actions=drop'], want: { type: OFPT.FLOW_MOD, command: OFPFC.MODIFY_STRICT, priority: 5 } },
  { args: ['del-flows', 'in_port=1'], want: { type: OFPT.FLOW_MOD, command: OFPFC.DELETE, match: { inPort: 1 } } },
  { args: ['--strict', 'del-flows', 'priority=5,in_port=1'], want: { type: OFPT.FLOW_MOD, command: OFPFC.DELETE_STRICT, priority: 5 } },
  { args: ['del-flows', 'out_port=2'], want: { type: OFPT.FLOW_MOD, command: OFPFC.DELETE, outPort: 2 } },
  {
    args: ['packet-out', `in_port=1 packet=${PACKET_HEX} actions=flood`],
    want: { type: OFPT.PACKET_OUT, bufferId: OFP_NO_BUFFER, inPort: 1, actions: [{ type: OFPAT.OUTPUT, port: OFPP.FLOOD }] },
  },
  { args: ['mod-port', '1', 'down'], want: { type: OFPT.PORT_MOD, portNo: 1, hwAddr: '00:00:00:00:00:11', config: 1, mask: 1 } },
];

t.test('ovs-ofctl on a live connection: every request it sends decodes in ofswitch', async (t) => {
  const capture = new OfctlCapture([PORT_1, PORT_2]);
  await capture.listen();
  t.teardown(() => capture.close());
  for (const { args, want } of COMMANDS_TO_CAPTURE) {
    t.test(`ovs-ofctl ${args.join(' ')}`, async (t) => {
      const [first = '', ...rest] = args.filter((a) => !a.startsWith('--'));
      const run = await capture.run(first, ...rest, ...args.filter((a) => a.startsWith('--')));
      t.equal(run.code, 0, `ovs-ofctl exits 0 (${run.stderr.trim()})`);
      t.ok(run.sent.length > 0, `ovs-ofctl sent ${run.sent.length} messages`);
      const decoded = run.sent.map((b) => decodeMessage(b));
      t.same(decoded.filter((d) => !d.ok).map((d) => (d.ok ? '' : d.reason)), [], 'ofswitch decodes every message ovs-ofctl sent');
      const messages = decoded.flatMap((d) => (d.ok ? [d.message] : []));
      t.same(messages.map((m) => encodeMessage(m).toString('hex')), run.sent.map((b) => b.toString('hex')), "each re-encodes to ovs-ofctl's bytes");
      const found = messages.find((m) => m.type === want.type && (!('statsType' in want) || ('statsType' in m && m.statsType === want.statsType)));
      t.ok(found, `sent a message of type ${String(want.type)}`);
      if (found) t.has(found, want, 'with the values the command asked for');
      if (found?.type === OFPT.PACKET_OUT) t.equal(Buffer.from(found.data).toString('hex'), PACKET_HEX, 'the packet');
    });
  }
});
