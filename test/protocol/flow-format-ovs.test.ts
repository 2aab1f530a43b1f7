// protocol/flow-format.ts against a running Open vSwitch: the same flows go into OVS (ovs-ofctl
// add-flows, OpenFlow 1.0) and into ofswitch's FlowTable (ovs-ofctl's own FLOW_MOD bytes, decoded by
// ofswitch); what OVS prints for them must be what ofswitch prints for its entries:
// - `ovs-ofctl --flow-format=openflow10 dump-flows` (OFPST_FLOW) line for line = formatFlowStats;
// - `ovs-ofctl dump-flows` (Nicira NXST_FLOW: adds idle_age) = formatFlowStats with OVS's idle_age;
// - `ovs-appctl bridge/dump-flows` = formatBridgeFlow (OVS's hidden table 254 flows aside).
// Durations are the one thing that differs between the two: each line of ours takes OVS's duration
// for the flow (so the printing of durations is compared too); bridge/dump-flows lines carry no
// cookie to pair them by, so there durations are masked and the lines compared as sets.
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MATCH_ALL, OFP_DEFAULT_PRIORITY, OFP_NO_BUFFER, OFPFC, OFPFW, OFPP, OFPT, OFPTT, decodeMessage, matchWith, validateMessage,
} from '../../protocol/index.js';
import type { FlowMod, FlowStats, Match } from '../../protocol/index.js';
import { formatBridgeFlow, formatFlowStats } from '../../protocol/flow-format.js';
import { FlowTable } from '../../flowtable/index.js';
import { freePort } from '../helpers/free-port.js';
import { tryRun } from '../helpers/netns.js';
import { ofctl } from '../helpers/ofctl.js';
import { ofctlFlowMods, parseOfctlActions } from '../helpers/ofctl-peer.js';
import { startOvsReference } from '../helpers/ovs-reference.js';

/** Flows valid in OpenFlow 1.0 covering every field and action; each gets cookie index+1 below. */
const FLOWS: readonly string[] = [
  'priority=0,actions=NORMAL',
  'actions=drop',
  'priority=65535,actions=FLOOD',
  'in_port=1,actions=output:2',
  'in_port=LOCAL,actions=IN_PORT',
  'in_port=65279,actions=ALL',
  'dl_vlan=0xffff,actions=LOCAL',
  'dl_vlan=0xffff,dl_vlan_pcp=3,actions=drop',
  'dl_vlan=100,actions=strip_vlan,output:1',
  'dl_vlan_pcp=5,actions=mod_vlan_pcp:0,output:1',
  'dl_vlan=4095,dl_vlan_pcp=7,actions=mod_vlan_vid:1,mod_vlan_pcp:7,output:3',
  'dl_src=0a:00:00:00:00:01,actions=mod_dl_src:0a:00:00:00:00:02,output:1',
  'dl_dst=ff:ff:ff:ff:ff:ff,actions=mod_dl_dst:02:00:00:00:00:01,FLOOD',
  'dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:02,in_port=3,actions=output:4',
  'dl_type=0x88cc,actions=CONTROLLER:65535',
  'dl_type=0x8847,actions=drop',
  'ip,actions=NORMAL',
  'ip,nw_proto=47,actions=NORMAL',
  'icmp,actions=CONTROLLER:128',
  'icmp,icmp_type=8,icmp_code=0,actions=output:1',
  'tcp,tp_dst=80,actions=output:1',
  'tcp,tp_src=1024,tp_dst=22,nw_src=10.0.0.0/8,actions=mod_tp_dst:2222,output:2',
  'udp,tp_dst=53,actions=mod_tp_src:5353,output:1',
  'sctp,tp_src=9,actions=drop',
  'ip,nw_src=192.168.1.0/24,nw_dst=10.1.0.0/16,actions=mod_nw_src:1.2.3.4,mod_nw_dst:5.6.7.8,output:1',
  'ip,nw_src=10.0.0.1,actions=output:1',
  'ip,nw_dst=10.0.0.0/31,actions=drop',
  'ip,nw_src=128.0.0.0/1,actions=drop',
  'ip,nw_tos=184,actions=mod_nw_tos:4,output:1',
  'arp,actions=NORMAL',
  'arp,arp_op=1,actions=FLOOD',
  'arp,arp_spa=10.0.0.1,arp_tpa=10.0.0.0/8,arp_op=2,actions=LOCAL',
  'rarp,arp_op=3,actions=drop',
  'ipv6,actions=NORMAL',
  'in_port=1,dl_src=02:00:00:00:00:0a,dl_dst=02:00:00:00:00:0b,dl_vlan=5,dl_vlan_pcp=1,tcp,nw_src=1.1.1.1,nw_dst=2.2.2.2,nw_tos=8,tp_src=1,tp_dst=2,actions=output:2',
  'priority=100,idle_timeout=3600,hard_timeout=7200,in_port=2,actions=enqueue:1:0',
  'priority=1,hard_timeout=3600,actions=enqueue:LOCAL:7',
  'priority=32767,tcp,actions=CONTROLLER:0',
  'dl_vlan=1,actions=mod_vlan_vid:4095,mod_vlan_pcp:3,strip_vlan,output:1,output:2,output:3',
  'priority=2,actions=mod_nw_tos:252,output:1',
];
const withCookies = FLOWS.map((f, i) => `cookie=0x${(i + 1).toString(16)},${f}`);

/**
 * IPv6 flows with a protocol: ovs-ofctl encodes them only as Nicira flow mods (it holds OpenFlow
 * 1.0 has no IPv6), so OVS gets them that way and ofswitch gets the OpenFlow 1.0 match written out
 * here, which OVS keeps the same (test/flowtable/ovs-normalisation.test.ts). Cookies follow FLOWS'.
 */
const { DL_TYPE, NW_PROTO, NW_TOS, TP_SRC, TP_DST } = OFPFW;
const exactOn = (...bits: number[]): number => bits.reduce((w, b) => w & ~b, OFPFW.ALL as number);
const IPV6_FLOWS: ReadonlyArray<readonly [string, Partial<Match>]> = [
  ['tcp6,tp_dst=443,actions=output:1', { wildcards: exactOn(DL_TYPE, NW_PROTO, TP_DST), nwProto: 6, tpDst: 443 }],
  ['udp6,nw_tos=32,actions=drop', { wildcards: exactOn(DL_TYPE, NW_PROTO, NW_TOS), nwProto: 17, nwTos: 32 }],
  ['sctp6,tp_src=7,actions=drop', { wildcards: exactOn(DL_TYPE, NW_PROTO, TP_SRC), nwProto: 132, tpSrc: 7 }],
  ['icmp6,icmp_type=135,icmp_code=0,actions=CONTROLLER:64', { wildcards: exactOn(DL_TYPE, NW_PROTO, TP_SRC, TP_DST), nwProto: 58, tpSrc: 135, tpDst: 0 }],
  ['ipv6,nw_proto=50,actions=mod_dl_dst:02:00:00:00:00:07,output:7', { wildcards: exactOn(DL_TYPE, NW_PROTO), nwProto: 50 }],
];
const ipv6WithCookies = IPV6_FLOWS.map(([f], i) => `cookie=0x${(FLOWS.length + i + 1).toString(16)},${f}`);
const ALL_FLOWS = [...FLOWS, ...IPV6_FLOWS.map(([f]) => f)];

/** `duration=1.037s` in an OVS line: seconds and nanoseconds. */
function durationOf(line: string): { durationSec: number; durationNsec: number } {
  const d = /duration=(\d+)(?:\.(\d+))?s/.exec(line);
  if (!d) throw new Error(`no duration in ${line}`);
  return { durationSec: Number(d[1]), durationNsec: Number((d[2] ?? '').padEnd(9, '0')) };
}

function cookieOf(line: string): bigint {
  const c = /cookie=(0x[0-9a-f]+)/.exec(line);
  if (!c) throw new Error(`no cookie in ${line}`);
  return BigInt(c[1] ?? '');
}

/** ofswitch's table fed with the FLOW_MODs ovs-ofctl encodes for FLOWS: its flow stats by cookie. */
function ofswitchFlows(t: Test): Map<bigint, FlowStats> {
  const table = new FlowTable();
  const mods = ofctlFlowMods(withCookies);
  t.equal(mods.length, FLOWS.length, 'ovs-ofctl encoded every flow');
  for (const [i, mod] of mods.entries()) {
    t.match(mod.text, /^OFPT_FLOW_MOD/, `${FLOWS[i]}: an OpenFlow 1.0 FLOW_MOD`);
    const decoded = decodeMessage(mod.bytes);
    if (!decoded.ok || decoded.message.type !== OFPT.FLOW_MOD) throw new Error(`ofswitch cannot decode ${FLOWS[i]}`);
    t.equal(validateMessage(decoded.message), null, `${FLOWS[i]}: valid`);
    t.ok(table.flowMod(decoded.message).ok, `${FLOWS[i]}: added`);
  }
  for (const [i, [text, fields]] of IPV6_FLOWS.entries()) {
    const actions = parseOfctlActions(text.slice(text.indexOf('actions=') + 'actions='.length));
    const mod: FlowMod = {
      type: OFPT.FLOW_MOD, version: 1, xid: 0, match: matchWith({ ...fields, dlType: 0x86dd }), cookie: BigInt(FLOWS.length + i + 1),
      command: OFPFC.ADD, idleTimeout: 0, hardTimeout: 0, priority: OFP_DEFAULT_PRIORITY, bufferId: OFP_NO_BUFFER,
      outPort: OFPP.NONE, flags: 0, actions,
    };
    t.ok(table.flowMod(mod).ok, `${text}: added`);
  }
  const stats = table.flowStats({ match: MATCH_ALL, tableId: OFPTT.ALL, outPort: OFPP.NONE });
  return new Map(stats.map((s) => [s.cookie, s]));
}

t.test('OVS and ofswitch print the same flows the same way', async (t) => {
  const ours = ofswitchFlows(t);
  t.equal(ours.size, ALL_FLOWS.length, 'ofswitch holds every flow');

  const ovs = await startOvsReference(t, { tag: 'fmt', listenPort: await freePort() });
  const dir = mkdtempSync(join(tmpdir(), 'ofsw-fmt-ovs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'flows.txt');
  writeFileSync(file, withCookies.join('\n') + '\n');
  const add = await ofctl(ovs.ns, ovs.target, 'add-flows', '--protocols=OpenFlow10', file);
  t.equal(add.code, 0, `add-flows succeeded ${add.stderr}`);
  const ipv6File = join(dir, 'ipv6-flows.txt');
  writeFileSync(ipv6File, ipv6WithCookies.join('\n') + '\n');
  const addIpv6 = await ofctl(ovs.ns, ovs.target, 'add-flows', '--protocols=OpenFlow10', ipv6File);
  t.equal(addIpv6.code, 0, `add-flows (IPv6) succeeded ${addIpv6.stderr}`);

  const lineOf = (flow: FlowStats, ovsLine: string, idleAge?: number): string =>
    formatFlowStats({ ...flow, ...durationOf(ovsLine) }, idleAge === undefined ? {} : { idleAge });
  const flowLines = (stdout: string): string[] => stdout.split('\n').filter((l) => l.startsWith(' cookie='));
  /** `ovs-ofctl dump-flows OPTIONS`: it ran, its reply matches `reply`, it lists every flow; its flow lines. */
  const dumpedFlows = async (t: Test, options: string[], reply: RegExp, replyWhat: string): Promise<string[]> => {
    const dump = await ofctl(ovs.ns, ovs.target, 'dump-flows', ...options);
    t.equal(dump.code, 0, `dump-flows exit status ${dump.stderr}`);
    t.match(dump.stdout, reply, replyWhat);
    const lines = flowLines(dump.stdout);
    t.equal(lines.length, ALL_FLOWS.length, 'OVS lists every flow');
    return lines;
  };

  t.test('dump-flows over OFPST_FLOW', async (t) => {
    const lines = await dumpedFlows(t, ['--protocols=OpenFlow10', '--flow-format=openflow10'], /^OFPST_FLOW reply/, 'an OpenFlow 1.0 flow stats reply');
    for (const line of lines) {
      const cookie = cookieOf(line);
      const flow = ours.get(cookie);
      if (!flow) {
        t.fail(`no ofswitch flow with cookie ${cookie}`);
        continue;
      }
      t.equal(lineOf(flow, line), line, ALL_FLOWS[Number(cookie) - 1] ?? '');
    }
  });

  t.test('dump-flows over NXST_FLOW (idle_age)', async (t) => {
    const lines = await dumpedFlows(t, ['--protocols=OpenFlow10'], /^NXST_FLOW reply/, 'a Nicira flow stats reply');
    for (const line of lines) {
      const cookie = cookieOf(line);
      const flow = ours.get(cookie);
      const age = /idle_age=(\d+)/.exec(line);
      if (!flow || !age) {
        t.fail(`cookie ${cookie}: no ofswitch flow or no idle_age in ${line}`);
        continue;
      }
      t.equal(lineOf(flow, line, Number(age[1])), line, ALL_FLOWS[Number(cookie) - 1] ?? '');
    }
  });

  t.test('bridge/dump-flows', async (t) => {
    const dump = await tryRun('ovs-appctl', ['-t', `${ovs.dir}/ovs-vswitchd.ctl`, 'bridge/dump-flows', ovs.bridge]);
    t.equal(dump.code, 0, `ovs-appctl exit status ${dump.stderr}`);
    const masked = (line: string): string => line.replace(/duration=\d+s/, 'duration=Ds');
    const lines = dump.stdout.split('\n').filter((l) => l !== '' && !l.startsWith('table_id=254,'));
    t.equal(lines.length, ALL_FLOWS.length, 'OVS lists every flow (besides its hidden ones)');
    const theirs = lines.map(masked).sort();
    const mine = [...ours.values()].map((f) => masked(formatBridgeFlow(f))).sort();
    t.same(mine, theirs, 'the same lines');
  });
});
