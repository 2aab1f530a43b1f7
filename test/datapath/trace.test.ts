/**
 * ofproto/trace in-process (datapath/trace/): the text for hits, misses (secure, fail open,
 * NO_PACKET_IN, fragments), actions, NORMAL (flood, learned port, VLAN drops), patch ports and the
 * datapath actions (rewrites committed before outputs); OVS's argument errors; and that tracing
 * changes nothing: flow, table and port counters, the MAC table, idle timeouts, packet-ins.
 * The layout itself is compared with Open vSwitch's in test/vswitchd/trace-compare-ovs.test.ts.
 */
import t, { type Test } from 'tap';
import { registerTraceCommand, singleBridge } from '../../lib/control-socket.js';
import { createSwitch, type Switch } from '../../lib/switch.js';
import { OFP_VERSION, OFPAT, OFPC_FRAG, OFPP, OFPPC, OFPT } from '../../protocol/constants.js';
import type { UnixctlRegistry } from '../../unixctl/index.js';
import { UnixctlError } from '../../unixctl/index.js';
import { frameFromHex, parseTraceFlow, composeFrame } from '../../datapath/trace/flow-syntax.js';
import { formatFlow, formatIpv6 } from '../../datapath/trace/flow-text.js';
import { OfClient } from '../helpers/of-client.js';
import { ethFrame } from './frames.js';

type Call = (...args: string[]) => string;

function traceOn(bridges: Record<string, Switch>): Call {
  let handler: ((args: string[]) => unknown) | undefined;
  const reg: UnixctlRegistry = { register: (_n, _u, _min, _max, h) => void (handler = h as (args: string[]) => unknown) };
  registerTraceCommand(reg, () => new Map(Object.entries(bridges)));
  return (...args) => String(handler!(args));
}

/** Two bridges as the OVS comparison has them: br0 (secure) with p1, p2, p3 (access VLAN 10) and patch pa; br1 (standalone) with patch pb and q2. */
function rig(t: Test) {
  const br0 = createSwitch({ linkPollMs: 0, failMode: 'secure' });
  const br1 = createSwitch({ linkPollMs: 0, failMode: 'standalone' });
  t.teardown(() => Promise.all([br0.close(), br1.close()]));
  const p = {
    p1: br0.addPort({ name: 'p1', type: 'memory', ofport: 1 }),
    p2: br0.addPort({ name: 'p2', type: 'memory', ofport: 2 }),
    p3: br0.addPort({ name: 'p3', type: 'memory', ofport: 3, tag: 10 }),
    pa: br0.addPort({ name: 'pa', type: 'patch', ofport: 4, options: { peer: 'pb' } }),
    pb: br1.addPort({ name: 'pb', type: 'patch', ofport: 1, options: { peer: 'pa' } }),
    q2: br1.addPort({ name: 'q2', type: 'memory', ofport: 2 }),
  };
  return { br0, br1, call: traceOn({ br0, br1 }), p };
}

const ICMP_FLOW = 'icmp,in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,nw_src=0.0.0.0,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no,icmp_type=0,icmp_code=0';

t.test('a miss in secure mode without controllers, then a hit with a cookie and a rewrite', async (t) => {
  const { br0, call } = rig(t);
  t.equal(
    call('br0', 'in_port=1,icmp,nw_dst=10.0.0.2'),
    `Flow: ${ICMP_FLOW}\n\nbridge("br0")\n-------------\n 0. No match.\n    drop\n\nFinal flow: unchanged\nDatapath actions: drop\n`,
  );
  br0.addFlow({ match: { dlType: 0x800, nwProto: 1, nwDst: '10.0.0.2' }, priority: 100, cookie: 0x1234n, actions: [{ type: OFPAT.SET_NW_TOS, nwTos: 8 }, { output: 2 }] });
  t.equal(
    call('br0', 'in_port=p1,icmp,nw_dst=10.0.0.2'),
    `Flow: ${ICMP_FLOW}\n\nbridge("br0")\n-------------\n 0. icmp,nw_dst=10.0.0.2, priority 100, cookie 0x1234\n    mod_nw_tos:8\n    output:2\n\n` +
      `Final flow: ${ICMP_FLOW.replace('nw_tos=0', 'nw_tos=8')}\nDatapath actions: set(ipv4(tos=0x8/0xfc)),2\n`,
  );
});

t.test('actions: input port, nonexistent and NO_FWD ports, drop, every rewrite committed before its output', async (t) => {
  const { br0, call } = rig(t);
  br0.addFlow({
    match: { dlType: 0x800, nwProto: 6 },
    priority: 10,
    actions: [
      { output: 1 },
      { output: 9 },
      { type: OFPAT.SET_DL_SRC, dlAddr: '00:00:00:00:00:09' },
      { type: OFPAT.SET_DL_DST, dlAddr: '00:00:00:00:00:0a' },
      { type: OFPAT.SET_NW_SRC, nwAddr: 0x01020304 },
      { type: OFPAT.SET_NW_DST, nwAddr: 0x05060708 },
      { type: OFPAT.SET_TP_SRC, tpPort: 80 },
      { type: OFPAT.SET_TP_DST, tpPort: 81 },
      { output: 2 },
      { type: OFPAT.SET_VLAN_PCP, vlanPcp: 3 },
      { output: 3 },
      { type: OFPAT.STRIP_VLAN },
      { output: 'in_port' },
      { output: 'local' },
    ],
  });
  br0.addFlow({ match: { dlType: 0x88cc }, priority: 10, actions: [] });
  const out = call('br0', 'in_port=1,tcp');
  t.match(out, /\n    output:1\n     >> skipping output to input port\n    output:9\n     >> Nonexistent output port\n    mod_dl_src:00:00:00:00:00:09\n/);
  t.match(out, /\n    IN_PORT\n    LOCAL\n     >> Nonexistent output port\n/);
  t.match(out, /Final flow: tcp,in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:09,dl_dst=00:00:00:00:00:0a,nw_src=1\.2\.3\.4,nw_dst=5\.6\.7\.8,.*tp_src=80,tp_dst=81,tcp_flags=0\n/);
  t.match(
    out,
    /Datapath actions: set\(eth\(src=00:00:00:00:00:09,dst=00:00:00:00:00:0a\)\),set\(ipv4\(src=1\.2\.3\.4,dst=5\.6\.7\.8\)\),set\(tcp\(src=80,dst=81\)\),2,push_vlan\(vid=0,pcp=3\),3,pop_vlan,1\n$/,
  );
  t.match(call('br0', 'in_port=1,dl_type=0x88cc'), /\n 0\. dl_type=0x88cc, priority 10\n    drop\n\nFinal flow: unchanged\nDatapath actions: drop\n$/);
});

t.test("datapath actions in OVS's commit order: Ethernet, IPv4 or IPv6, TCP/UDP, then the VLAN", async (t) => {
  const { br0, call } = rig(t);
  br0.addFlow({
    match: { dlType: 0x800, nwProto: 17 },
    priority: 10,
    actions: [
      { type: OFPAT.SET_VLAN_VID, vlanVid: 20 },
      { type: OFPAT.SET_NW_TOS, nwTos: 0x20 },
      { type: OFPAT.SET_TP_DST, tpPort: 99 },
      { type: OFPAT.SET_DL_SRC, dlAddr: '00:00:00:00:00:aa' },
      { type: OFPAT.ENQUEUE, port: 2, queueId: 1 },
      { type: OFPAT.SET_NW_TOS, nwTos: 0 },
      { type: OFPAT.STRIP_VLAN },
      { output: 3 },
    ],
  });
  t.match(
    call('br0', 'in_port=1,udp,dl_vlan=7,dl_vlan_pcp=2'),
    /\nDatapath actions: set\(eth\(src=00:00:00:00:00:aa\)\),set\(ipv4\(tos=0x20\/0xfc\)\),set\(udp\(dst=99\)\),pop_vlan,push_vlan\(vid=20,pcp=2\),set\(skb_priority\(0x10002\)\),2,set\(ipv4\(tos=0\/0xfc\)\),pop_vlan,set\(skb_priority\(0\)\),3\n$/,
    'the tag is changed after the headers, the skb priority last; a value back to 0 is "0", as %#x writes it',
  );
  br0.addFlow({ match: { dlType: 0x86dd }, priority: 10, actions: [{ type: OFPAT.SET_NW_TOS, nwTos: 0x20 }, { type: OFPAT.SET_TP_DST, tpPort: 99 }, { type: OFPAT.SET_VLAN_PCP, vlanPcp: 1 }, { output: 2 }] });
  const tcp6 =
    '000000000077' + '000000000066' + '86dd' + '60400000' + '00140640' + '20010db8000000000000000000000001' + '20010db8000000000000000000000002' +
    '03e80050' + '00000000' + '00000000' + '50020000' + '00000000';
  t.match(call('br0', 'in_port=1', tcp6), /\nDatapath actions: set\(ipv6\(tclass=0x20\/0xfc\)\),set\(tcp\(dst=99\)\),push_vlan\(vid=0,pcp=1\),2\n$/, 'IPv6: the traffic class');
});

t.test('a flow without dl_type is traced with dl_type 0x0000, as OVS traces it, not as its 802.3 frame', async (t) => {
  const { br0, call } = rig(t);
  br0.addFlow({ match: { dlType: 0x05ff }, priority: 20, actions: [{ output: 3 }] });
  br0.addFlow({ match: { dlSrc: '00:00:00:00:00:99' }, priority: 10, actions: [{ type: OFPAT.SET_VLAN_VID, vlanVid: 30 }, { output: 2 }] });
  const none = call('br0', 'in_port=1,dl_src=00:00:00:00:00:99');
  t.match(none, /^Flow: in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:99,dl_dst=00:00:00:00:00:00,dl_type=0x0000\n/);
  t.match(none, /\n 0\. dl_src=00:00:00:00:00:99, priority 10\n/, 'the dl_type=0x05ff entry does not match it');
  t.match(none, /\nFinal flow: in_port=1,dl_vlan=30,dl_vlan_pcp=0,vlan_tci1=0x0000,dl_src=00:00:00:00:00:99,dl_dst=00:00:00:00:00:00,dl_type=0x0000\nDatapath actions: push_vlan\(vid=30,pcp=0\),2\n$/);
  t.match(call('br0', 'in_port=1,dl_type=0x0100'), /^Flow: in_port=1,[^\n]*,dl_type=0x0100\n[^]* 0\. No match\./, 'a length given as dl_type stays as given');
  t.match(call('br0', 'in_port=1,dl_type=0x05ff'), /^Flow: in_port=1,[^\n]*,dl_type=0x05ff\n[^]* 0\. dl_type=0x05ff, priority 20\n/);
  const frame = Buffer.from(ethFrame(0x0000, new Array(46).fill(0))).toString('hex');
  t.match(call('br0', 'in_port=1', frame), /^Flow: in_port=1,[^\n]*,dl_type=0x05ff\n[^]* 0\. dl_type=0x05ff, priority 20\n/, 'a real 802.3 frame is dl_type 0x05ff');
});

t.test('NORMAL: flood with the ports skipped and why, VLAN access push, tagged frames refused, the learned port', async (t) => {
  const { br0, call, p } = rig(t);
  br0.addFlow({ match: {}, priority: 1, actions: [{ output: 'normal' }] });
  const flood = call('br0', 'in_port=1,dl_type=0x88b5,dl_src=00:00:00:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff');
  t.match(flood, /    NORMAL\n     -> no learned MAC for destination, flooding\n     -> port p3 is not in VLAN 0, skipped\n\nbridge\("br1"\)\n-------------\n 0\. priority 0\n    NORMAL\n     -> no learned MAC for destination, flooding\n/);
  t.match(flood, /Datapath actions: 2,br1:2\n$/);
  t.match(call('br0', 'in_port=3,dl_type=0x88b5,dl_src=00:00:00:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff'), /Datapath actions: push_vlan\(vid=10,pcp=0\),1,2,br1:2\n$/);
  t.match(
    call('br0', 'in_port=3,dl_vlan=10,dl_type=0x88b5'),
    /    NORMAL\n     >>>> dropping VLAN 10 tagged packet received on port p3 configured as VLAN 10 access port <<<<\n     >> disallowed VLAN VID for this input port, dropping\n\nFinal flow: unchanged\nDatapath actions: drop\n$/,
  );
  // learn 00:..:02 on p2 with a real frame, then trace towards it
  p.p2.device.inject(ethFrame(0x88b5, new Array(46).fill(0), { src: '00:00:00:00:00:02', dst: 'ff:ff:ff:ff:ff:ff' }));
  const known = call('br0', 'in_port=1,dl_type=0x88b5,dl_src=00:00:00:00:00:01,dl_dst=00:00:00:00:00:02');
  t.match(known, /     -> forwarding to learned port\nDUMMY|     -> forwarding to learned port\n/);
  t.match(known, /Datapath actions: 2\n$/);
  t.match(call('br0', 'in_port=2,dl_type=0x88b5,dl_src=00:00:00:00:00:02,dl_dst=00:00:00:00:00:02'), /learned port is input port, dropping\n[^]*Datapath actions: drop\n$/);
  const frame = ethFrame(0x88b5, new Array(46).fill(0), { src: '00:00:00:00:00:05', dst: '00:00:00:00:00:02' });
  const hex = Buffer.from(frame).toString('hex');
  t.match(call('br0', 'in_port=1', hex), /     -> would learn that 00:00:00:00:00:05 is on port p1 in VLAN 0\n     -> forwarding to learned port\n/);
  t.notOk(br0.macTable().some((e) => e.mac === '00:00:00:00:00:05'), 'nothing learned');
  // a frame to its own source: a real one would learn it first (as OVS's trace of a packet), a flow learns nothing
  t.match(call('br0', 'in_port=1,dl_type=0x88b5,dl_src=00:00:00:00:00:07,dl_dst=00:00:00:00:00:07'), /     -> no learned MAC for destination, flooding\n/, 'a flow: flooded');
  const self = Buffer.from(ethFrame(0x88b5, new Array(46).fill(0), { src: '00:00:00:00:00:07', dst: '00:00:00:00:00:07' })).toString('hex');
  t.match(call('br0', 'in_port=1', self), /     -> would learn that 00:00:00:00:00:07 is on port p1 in VLAN 0\n     -> learned port is input port, dropping\n/, 'a frame: back to its input');
});

t.test('fail open, NO_PACKET_IN, fragments dropped and a controller connected', async (t) => {
  const sw = createSwitch({ linkPollMs: 0, failMode: 'secure' });
  t.teardown(() => sw.close());
  const p1 = sw.addPort({ name: 'p1', type: 'memory', ofport: 1 });
  sw.addPort({ name: 'p2', type: 'memory', ofport: 2 });
  const call = traceOn({ br0: sw });
  const listener = await sw.addListener('ptcp:0:127.0.0.1');
  const client = await OfClient.connect(listener.port);
  t.teardown(() => client.socket.destroy());
  await client.request({ version: OFP_VERSION, type: OFPT.FEATURES_REQUEST, xid: 7 });
  t.match(call('br0', 'in_port=1,arp'), /No match\.\n +drop\n/, 'a service connection that asked for nothing gets no packet-in (as OVS)');
  await client.monitor();
  const miss = call('br0', 'in_port=1,arp');
  t.match(
    miss,
    /\n 0\. No match, and a "packet-in" is called for\.\n    controller\(reason=\)\n\nFinal flow: unchanged\nDatapath actions: userspace\(pid=0,controller\(reason=7,dont_send=1,continuation=0,rule_cookie=0,controller_id=0,max_len=65535\)\)\n$/,
    "a miss: OVS's miss rule and its packet-in (OFPR_IMPLICIT_MISS, the whole frame)",
  );
  sw.addFlow({ match: { dlType: 0x800 }, priority: 5, cookie: 0xc0ffeen, actions: [{ output: 'controller', maxLen: 128 }] });
  const action = /    CONTROLLER:128\n\nFinal flow: unchanged\nDatapath actions: userspace\(pid=0,controller\(reason=1,dont_send=1,continuation=0,rule_cookie=0xc0ffee,controller_id=0,max_len=128\)\)\n$/;
  t.match(call('br0', 'in_port=1,udp'), action, 'an action: reason 1, the entry\'s cookie, max_len as asked');
  sw.addFlow({ match: {}, priority: 0, actions: [{ output: 'controller', maxLen: 64 }] });
  t.match(call('br0', 'in_port=1,arp'), /    CONTROLLER:64\n\nFinal flow: unchanged\nDatapath actions: userspace\(pid=0,controller\(reason=6,/, "a table-miss entry's: OFPR_EXPLICIT_MISS");
  sw.deleteFlows({}, { strict: true, priority: 0 });
  await new Promise((r) => setTimeout(r, 300));
  t.notOk(client.received.some((r) => r.msg?.type === OFPT.PACKET_IN), 'no packet-in from the traces');
  p1.device.inject(ethFrame(0x0806, new Array(46).fill(0)));
  await client.next((m) => m.type === OFPT.PACKET_IN);
  t.pass('a real miss does send one (the connection works)');

  const portMod = async (portNo: number, config: number, mask: number): Promise<void> => {
    const hwAddr = sw.port(portNo)!.description.hwAddr;
    client.send({ version: OFP_VERSION, type: OFPT.PORT_MOD, xid: 30 + portNo, portNo, hwAddr, config, mask, advertise: 0 });
    await client.request({ version: OFP_VERSION, type: OFPT.BARRIER_REQUEST, xid: 40 + portNo });
  };
  await portMod(1, OFPPC.NO_PACKET_IN, OFPPC.NO_PACKET_IN);
  t.match(call('br0', 'in_port=1,arp'), /\n 0\. No match\.\n    drop\n[^]*Datapath actions: drop\n$/);
  t.match(call('br0', 'in_port=1,udp'), /    CONTROLLER:128\n     -> OFPPC_NO_PACKET_IN set on the input port, no packet-in\n[^]*Datapath actions: drop\n$/);
  await portMod(1, 0, OFPPC.NO_PACKET_IN);
  sw.addFlow({ match: { dlType: 0x800, nwProto: 6 }, priority: 6, actions: [{ output: 2 }] });
  await portMod(2, OFPPC.NO_FWD, OFPPC.NO_FWD);
  t.match(call('br0', 'in_port=1,tcp'), /    output:2\n     -> OFPPC_NO_FWD set, skipping output\n[^]*Datapath actions: drop\n$/);
  await portMod(2, OFPPC.PORT_DOWN, OFPPC.NO_FWD | OFPPC.PORT_DOWN);
  t.match(call('br0', 'in_port=1,tcp'), /    output:2\n     -> OFPPC_PORT_DOWN set, skipping output\n/);
  await portMod(2, 0, OFPPC.PORT_DOWN);

  client.send({ version: OFP_VERSION, type: OFPT.SET_CONFIG, xid: 50, flags: OFPC_FRAG.DROP, missSendLen: 128 });
  await client.request({ version: OFP_VERSION, type: OFPT.BARRIER_REQUEST, xid: 51 });
  const fragment = ethFrame(0x0800, [0x45, 0, 0, 28, 0, 0, 0x20, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0, 1, 0, 2, 0, 8, 0, 0]);
  t.match(call('br0', 'in_port=1', Buffer.from(fragment).toString('hex')), /nw_frag=first[^]* 0\. Packets are IP fragments and the fragment handling mode is "drop"\.\n    drop\n/);

  client.socket.destroy();
  for (let i = 0; i < 40 && sw.traceTarget().packetInsDelivered(); i++) await new Promise((r) => setTimeout(r, 50));
  t.match(call('br0', 'in_port=1,udp'), action, 'without a controller connection, as OVS: a trace sends nothing anyway (dont_send=1)');
  t.match(call('br0', 'in_port=1,arp'), /\n 0\. No match\.\n    drop\n/, "a miss with nobody to tell is OVS's no-packet-in miss");
});
t.test('fail open: the miss goes to NORMAL', async (t) => {
  const sw = createSwitch({ linkPollMs: 0, failMode: 'standalone', probeIntervalMs: 100 });
  t.teardown(() => sw.close());
  sw.addPort({ name: 'p1', type: 'memory', ofport: 1 });
  sw.addPort({ name: 'p2', type: 'memory', ofport: 2 });
  sw.setControllers(['tcp:127.0.0.1:1']);
  for (let i = 0; i < 100 && sw.missPolicy !== 'normal'; i++) await new Promise((r) => setTimeout(r, 50));
  t.equal(sw.missPolicy, 'normal', 'fail open after the probe interval');
  t.match(traceOn({ sw })('sw', 'in_port=1,arp,dl_src=00:00:00:00:00:01'), /\n 0\. No match \(fail open\)\.\n    NORMAL\n     -> no learned MAC for destination, flooding\n[^]*Datapath actions: 2\n$/);
});

t.test('tracing changes nothing: flow, table and port counters, the MAC table, idle timeouts', async (t) => {
  const { br0, br1, call, p } = rig(t);
  br0.addFlow({ match: { dlType: 0x88b5 }, priority: 7, idleTimeout: 1, actions: [{ output: 'normal' }] });
  br0.addFlow({ match: { dlType: 0x88b6 }, priority: 7, idleTimeout: 1, actions: [{ output: 'normal' }] });
  const frame = ethFrame(0x88b5, new Array(46).fill(0), { src: '00:00:00:00:00:01', dst: 'ff:ff:ff:ff:ff:ff' });
  const keep = ethFrame(0x88b6, new Array(46).fill(0), { src: '00:00:00:00:00:03', dst: 'ff:ff:ff:ff:ff:ff' });
  const start = Date.now();
  let injected = 0;
  // Traces every 100 ms for 1.6 s, and on until the traced entry expired (20 s for a loaded
  // machine); the traces' answers are asserted once after (how many there are is the machine's).
  const wrong: string[] = [];
  const traced = (): boolean => br0.dumpFlows().some((f) => f.match.dlType === 0x88b5);
  while (Date.now() - start < 1600 || (traced() && Date.now() - start < 20_000)) {
    // until the entry expires (it must), the trace floods; afterwards the miss drops
    const early = Date.now() - start < 700;
    const answer = call('br0', 'in_port=1', Buffer.from(frame).toString('hex'));
    if (!(early ? /Datapath actions: 2,br1:2\n$/ : /Datapath actions: (2,br1:2|drop)\n$/).test(answer)) wrong.push(`after ${Date.now() - start} ms: ${answer}`);
    call('br0', 'in_port=1,dl_type=0x88b5,dl_src=00:00:00:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff');
    p.p2.device.inject(keep);
    injected++;
    await new Promise((r) => setTimeout(r, 100));
  }
  t.same(wrong, [], 'the traces flood while the entry lives (and surely in its first 0.7 s), drop once it expired');
  const flows = br0.dumpFlows();
  t.notOk(flows.some((f) => f.match.dlType === 0x88b5), 'the traced flow expired: tracing did not refresh its idle time');
  t.ok(flows.some((f) => f.match.dlType === 0x88b6), 'the flow real packets hit stayed');
  t.notOk(br0.macTable().some((e) => e.mac === '00:00:00:00:00:01'), 'br0 learned nothing from traces');
  t.notOk(br1.macTable().some((e) => e.mac === '00:00:00:00:00:01'), 'br1 learned nothing from traces');
  t.same(br1.dumpFlows().map((f) => Number(f.packetCount)), [injected], 'br1 counted the real frames only');
  t.equal(br1.lookupStats().lookups, injected, "br1's lookups are the real frames only");
  t.equal(br0.macTableStats().learned, 1, 'br0 learned the real sender only');
  const p1 = br0.ports().find((x) => x.ofport === 1)!;
  t.equal(Number(p1.stats.rxPackets), 0, 'no rx counted on the traced input port');
  const p3 = br0.ports().find((x) => x.ofport === 3)!;
  t.equal(Number(p3.stats.txPackets), 0, 'no tx counted on the ports the trace outputs to (p3 not in VLAN 0 anyway)');
  const q2 = br1.ports().find((x) => x.ofport === 2)!;
  const realFloods = Number(q2.stats.txPackets);
  t.ok(realFloods > 0, 'the real frames reached br1 through the patch port');
  const stats = br0.lookupStats();
  t.equal(stats.lookups, stats.matched, 'every lookup counted was a real packet hitting the 0x88b6 flow');
  t.equal(stats.lookups, injected, 'lookups are the real frames only');
  t.equal(realFloods, injected);
});

t.test('argument and flow syntax errors, as Open vSwitch words them', async (t) => {
  const { call } = rig(t);
  const err = (args: string[], text: string | RegExp): void => {
    t.throws(() => call(...args), UnixctlError);
    try {
      call(...args);
    } catch (e) {
      if (typeof text === 'string') t.equal((e as Error).message, text);
      else t.match((e as Error).message, text);
    }
  };
  err(['in_port=1'], 'syntax error at in_port=1 (or the bridge name was omitted)');
  err(['brX', 'in_port=1'], 'brX: unknown bridge');
  err(['br0', 'in_prt=1'], 'Bad openflow flow syntax: in_prt=1: unknown field in_prt');
  err(['br0', 'in_port=1,nw_dst=300.1.1.1'], 'Bad openflow flow syntax: in_port=1,nw_dst=300.1.1.1: prerequisites not met for setting nw_dst');
  err(['br0', 'in_port=nosuch'], 'Bad openflow flow syntax: in_port=nosuch: bad value for in_port (nosuch: invalid or unknown port for in_port)');
  err(['br0', 'ip,nw_dst=300.1.1.1'], 'Bad openflow flow syntax: ip,nw_dst=300.1.1.1: bad value for nw_dst (300.1.1.1: invalid IP address)');
  err(['br0', 'in_port=1', 'zz', 'x'], 'too many arguments');
  err(['br0', 'in_port=1', 'zz'], 'Trailing garbage in packet data');
  err(['br0', 'in_port=1', '0011'], 'Packet data too short for Ethernet');
  err(['--bogus', 'br0', 'in_port=1'], '--bogus: unknown option');
  err(['br0', 'ip,tcp'], 'Bad openflow flow syntax: ip,tcp: Ethernet type set multiple times');
  err(['br0', 'ipv6'], /IPv6 only from a packet/);
  err(['br0', 'dl_vlan=4096'], /bad value for dl_vlan/);
  err(['br0', 'dl_type=0x10000'], 'Bad openflow flow syntax: dl_type=0x10000: bad value for dl_type (0x10000: value too large for 2-byte field dl_type)');
  err(['br0', 'dl_type=x'], 'Bad openflow flow syntax: dl_type=x: bad value for dl_type (x: bad syntax for dl_type value)');
  err(['br0', 'dl_src=1:2'], /invalid Ethernet address/);
  err(['br0', 'ip,nw_src=1.2.3.0/24'], /wildcards not allowed here/);
  err(['br0', 'in_port=1,in_port=2'], /field in_port set multiple times/);
  err(['br0', 'in_port=70000'], /port value out of range for in_port/);
  err(['br0', 'tcp,icmp_type=1'], /prerequisites not met for setting icmp_type/);
  t.match(call('--generate', 'br0', 'in_port=LOCAL,dl_type=0x88b5'), /^Flow: in_port=LOCAL,/, '--generate is accepted (a frame is always made)');
});

t.test('flows, frames and their text', async (t) => {
  const names = (n: string): number | undefined => (n === 'eth9' ? 9 : undefined);
  const arp = parseTraceFlow('arp,in_port=eth9,arp_spa=10.0.0.1,arp_tpa=10.0.0.2,arp_op=2,arp_sha=00:00:00:00:00:0a,arp_tha=00:00:00:00:00:0b', names);
  t.equal(
    formatFlow(composeFrame(arp), arp.inPort),
    'arp,in_port=9,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,arp_spa=10.0.0.1,arp_tpa=10.0.0.2,arp_op=2,arp_sha=00:00:00:00:00:0a,arp_tha=00:00:00:00:00:0b',
  );
  const udp = parseTraceFlow('udp,in_port=1,dl_vlan=5,dl_vlan_pcp=3,nw_tos=8,nw_ecn=1,nw_ttl=64,udp_src=53,udp_dst=54', names);
  t.equal(
    formatFlow(composeFrame(udp), 1),
    'udp,in_port=1,dl_vlan=5,dl_vlan_pcp=3,vlan_tci1=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,nw_src=0.0.0.0,nw_dst=0.0.0.0,nw_tos=8,nw_ecn=1,nw_ttl=64,nw_frag=no,tp_src=53,tp_dst=54',
  );
  const ip = parseTraceFlow('ip,nw_proto=47,ip_dscp=2', names);
  t.match(formatFlow(composeFrame(ip), ip.inPort), /^ip,in_port=NONE,.*nw_proto=47,nw_tos=8,/);
  t.match(formatFlow(composeFrame(parseTraceFlow('sctp,tp_src=1', names)), 1), /^sctp,.*tp_src=1,tp_dst=0$/);
  t.match(formatFlow(composeFrame(parseTraceFlow('rarp', names)), 1), /^rarp,/);
  t.match(formatFlow(composeFrame(parseTraceFlow('vlan_tci=0x1005', names)), 1), /dl_vlan=5,dl_vlan_pcp=0,/);
  const syn = frameFromHex('000000000002 000000000001 0800 4500002800000000400600000a0000010a000002 0050005100000000000000005012000000000000');
  if (typeof syn === 'string') throw new Error(syn);
  t.match(formatFlow(syn, 1), /^tcp,.*tp_src=80,tp_dst=81,tcp_flags=syn\|ack$/);
  const v6 = frameFromHex(
    '333300000001000000000001 86dd 6000000000083a40 fe800000000000000000000000000001 ff020000000000000000000000000001 8000000000000000',
  );
  if (typeof v6 === 'string') throw new Error(v6);
  t.match(formatFlow(v6, 1), /^icmp6,in_port=1,.*ipv6_src=fe80::1,ipv6_dst=ff02::1,ipv6_label=0x00000,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,icmp_type=128,icmp_code=0$/);
  t.equal(formatIpv6(Uint8Array.from([0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4, 0, 5]), 0), '1:0:2::3:4:5');
  t.equal(formatIpv6(new Uint8Array(16).fill(1), 0), '101:101:101:101:101:101:101:101');
  t.equal(formatFlow(composeFrame(parseTraceFlow('in_port=CONTROLLER', names)), OFPP.CONTROLLER).slice(0, 26), 'in_port=CONTROLLER,vlan_tc');
});

t.test("flag mode's bridge name: the --local interface, else ofswitch", async (t) => {
  const sw = createSwitch({ linkPollMs: 0 });
  t.teardown(() => sw.close());
  t.same([...singleBridge(undefined, sw)().keys()], ['ofswitch']);
  t.same([...singleBridge('br9', sw)().keys()], ['br9']);
});

t.test('NORMAL and outputs in the corners: NONE and unknown input ports, NO_FLOOD, trunks, partial tags, FLOOD, ALL, LOCAL', async (t) => {
  const { br0, call } = rig(t);
  br0.addFlow({ match: { dlType: 0x88b5 }, priority: 1, actions: [{ output: 'normal' }] });
  br0.addFlow({ match: { dlType: 0x88b6 }, priority: 1, actions: [{ output: 'flood' }, { output: 'all' }, { output: 'local' }] });
  t.match(call('br0', 'dl_type=0x88b5,dl_dst=ff:ff:ff:ff:ff:ff'), /^Flow: in_port=NONE,[^]*-> no learned MAC for destination, flooding\n[^]*Datapath actions: 1,2,/, 'a flow without in_port comes from NONE: a trunk of every VLAN');
  t.match(call('br0', 'in_port=9,dl_type=0x88b5'), /    NORMAL\n     >> no input bundle, dropping\n/);
  const path = br0.traceTarget().path;
  path.registry.byNo.get(2)!.config |= OFPPC.NO_FLOOD;
  t.match(call('br0', 'in_port=1,dl_type=0x88b5,dl_dst=ff:ff:ff:ff:ff:ff'), /     -> port p2 has OFPPC_NO_FLOOD, not flooded\n/);
  t.match(call('br0', 'in_port=1,dl_type=0x88b6'), /    FLOOD\n\n    bridge\("br1"\)[^]*    ALL\n\n    bridge\("br1"\)[^]*Datapath actions: 3,br1:2,2,3,br1:2\n$/, 'FLOOD leaves the NO_FLOOD port out, ALL does not');
  path.registry.byNo.get(2)!.config &= ~OFPPC.NO_FLOOD;
  t.ok(br0.setPortVlan('p2', { vlanMode: 'trunk', trunks: [20] }));
  t.match(
    call('br0', 'in_port=2,dl_vlan=10,dl_type=0x88b5'),
    /     >>>> dropping VLAN 10 packet received on port p2 not configured for trunking VLAN 10 <<<<\n     >> disallowed VLAN VID for this input port, dropping\n/,
  );
  br0.addFlow({ match: { dlType: 0x8100 }, priority: 1, actions: [{ output: 'normal' }] });
  t.match(call('br0', 'in_port=1', 'ffffffffffff0000000000018100'), /     >> partial VLAN tag, dropping\n/);
  t.match(call('br0', 'in_port=LOCAL,dl_type=0x88b6'), /    LOCAL\n     >> skipping output to input port\n/);
});

t.test('patch ports without a peer, with a peer not receiving, in a bridge not known, and a loop of two pairs', async (t) => {
  const a = createSwitch({ linkPollMs: 0, failMode: 'standalone' });
  const b = createSwitch({ linkPollMs: 0, failMode: 'standalone' });
  t.teardown(() => Promise.all([a.close(), b.close()]));
  a.addPort({ name: 'x1', type: 'memory', ofport: 1 });
  a.addPort({ name: 'lonely', type: 'patch', ofport: 2, options: { peer: 'nobody' } });
  const call = traceOn({ a, b });
  t.match(call('a', 'in_port=1,arp,dl_src=00:00:00:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff'), /     >> patch port lonely has no usable peer, dropping\n/);
  a.removePort('lonely');
  a.addPort({ name: 'ab1', type: 'patch', ofport: 2, options: { peer: 'ba1' } });
  b.addPort({ name: 'ba1', type: 'patch', ofport: 1, options: { peer: 'ab1' } });
  t.match(traceOn({ a })('a', 'in_port=1,arp,dl_src=00:00:00:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff'), /     >> patch port ba1's bridge is not known, dropping\n/);
  b.traceTarget().path.registry.byNo.get(1)!.config |= OFPPC.NO_RECV;
  t.match(call('a', 'in_port=1,arp,dl_src=00:00:00:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff'), /\n\nbridge\("b"\)\n-----------\n     -> ba1 does not receive \(OFPPC_NO_RECV or OFPPC_PORT_DOWN\), dropping\n/);
  b.traceTarget().path.registry.byNo.get(1)!.config &= ~OFPPC.NO_RECV;
  a.traceTarget().path.registry.byNo.get(1)!.config |= OFPPC.PORT_DOWN;
  t.match(call('a', 'in_port=1,arp'), /\nbridge\("a"\)\n-----------\n     -> x1 does not receive \(OFPPC_NO_RECV or OFPPC_PORT_DOWN\), dropping\n\nFinal flow: unchanged\nDatapath actions: drop\n$/);
  a.traceTarget().path.registry.byNo.get(1)!.config &= ~OFPPC.PORT_DOWN;
  a.addPort({ name: 'ab2', type: 'patch', ofport: 3, options: { peer: 'ba2' } });
  b.addPort({ name: 'ba2', type: 'patch', ofport: 2, options: { peer: 'ab2' } });
  const loop = call('a', 'in_port=1,arp,dl_dst=ff:ff:ff:ff:ff:ff,dl_src=00:00:00:00:00:01');
  t.match(loop, /over max translation depth 64/, 'the loop is cut as real frames are');
  t.match(loop, /\nDatapath actions: /);
});
