import t from 'tap';
import { newFlowKey } from '../../flowtable/flow-key.js';
import { parseFrame } from '../../datapath/frame-parser.js';
import { LearningBridge, macAt, resolvePortVlan, type BridgePort, type VlanMode } from '../../datapath/normal.js';
import { ethFrame, macBytes } from './frames.js';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const C = '02:00:00:00:00:0c';
const BCAST = 'ff:ff:ff:ff:ff:ff';

function port(portNo: number, o: { tag?: number; trunks?: number[]; vlanMode?: VlanMode; floods?: boolean } = {}): BridgePort {
  return { portNo, vlan: resolvePortVlan(o), floods: o.floods ?? true };
}

function setup(ports: BridgePort[]) {
  let clock = 1_000_000;
  const bridge = new LearningBridge({ now: () => clock });
  const sent: { port: number; frame: Uint8Array }[] = [];
  const send = (frame: Uint8Array, inPort: number) => {
    sent.length = 0;
    const layout = parseFrame(frame, inPort, newFlowKey());
    bridge.process(frame, layout, ports.find((p) => p.portNo === inPort)!, ports, (p, f) => sent.push({ port: p.portNo, frame: f.slice() }));
    return sent.map((s) => s.port);
  };
  return { bridge, send, sent, advance: (ms: number) => (clock += ms) };
}

const frame = (src: string, dst: string, vlan?: number) =>
  ethFrame(0x0800, new Array(46).fill(0), { src, dst, ...(vlan !== undefined ? { vlan: { vid: vlan } } : {}) });

t.test('learning: unknown floods, known goes to its port, never back out of the input port', async (t) => {
  const { send, bridge } = setup([port(1), port(2), port(3)]);
  t.same(send(frame(A, B), 1), [2, 3], 'unknown destination floods');
  t.same(send(frame(B, A), 2), [1], 'A was learned on 1');
  t.same(send(frame(A, B), 1), [2], 'B was learned on 2');
  t.same(send(frame(A, BCAST), 1), [2, 3], 'broadcast floods');
  t.same(send(frame(A, '01:00:5e:00:00:01'), 1), [2, 3], 'multicast floods');
  t.same(send(frame(C, A), 1), [], 'destination on the input port: dropped');
  t.equal(bridge.lookup(0, macAt(Uint8Array.from(macBytes(A)), 0)), 1);
});

t.test('a moving host moves; entries age out after 300 s; a multicast source is not learned', async (t) => {
  const { send, advance, bridge } = setup([port(1), port(2), port(3)]);
  send(frame(A, BCAST), 1);
  t.same(send(frame(B, A), 2), [1]);
  send(frame(A, BCAST), 3);
  t.same(send(frame(B, A), 2), [3], 'A moved to 3');
  advance(299_000);
  t.same(send(frame(C, A), 2), [3], 'still known at 299 s');
  advance(2_000);
  t.same(send(frame(C, A), 2), [1, 3], 'aged out after 300 s');
  send(frame('03:00:00:00:00:01', BCAST), 1);
  t.same(send(frame(B, '03:00:00:00:00:01'), 2), [1, 3]);
  advance(400_000);
  bridge.macs.run();
  t.equal(bridge.size, 0, 'run() expires aged entries');
  send(frame(A, BCAST), 1);
  bridge.forgetPort(1);
  t.equal(bridge.size, 0);
});

t.test('NO_FLOOD ports get no floods but still known unicast', async (t) => {
  const { send } = setup([port(1), port(2, { floods: false }), port(3)]);
  send(frame(B, BCAST), 2);
  t.same(send(frame(A, BCAST), 1), [3]);
  t.same(send(frame(A, B), 1), [2]);
});

t.test('access ports keep VLANs apart; trunks carry tagged frames of their VLANs', async (t) => {
  const ports = [port(1, { tag: 10 }), port(2, { tag: 10 }), port(3, { tag: 20 }), port(4, { trunks: [10] }), port(5)];
  const { send, sent } = setup(ports);
  t.same(send(frame(A, BCAST), 1), [2, 4, 5], 'VLAN 10 reaches port 2, the trunk and the all-VLAN port, not VLAN 20');
  t.equal(sent[0]!.frame.length, 60, 'access port: untagged');
  t.equal(sent[1]!.frame.length, 64, 'trunk: tagged');
  t.equal(((sent[1]!.frame[14]! << 8) | sent[1]!.frame[15]!) & 0xfff, 10);
  t.same(send(frame(C, BCAST), 3), [5], 'VLAN 20 reaches only the all-VLAN port');
  t.same(send(frame(B, BCAST, 10), 1), [], 'tagged frame on an access port: dropped');
  t.same(send(frame(B, A, 10), 4), [1], 'tagged VLAN 10 from the trunk reaches A untagged');
  t.equal(sent[0]!.frame.length, 60);
  t.same(send(frame(B, BCAST, 30), 4), [], 'trunk refuses VLANs outside its set');
  t.same(send(frame(B, BCAST), 5), [], 'untagged (VLAN 0) on the all-VLAN port: nobody else carries VLAN 0');
  t.same(send(frame(C, BCAST, 20), 5), [3], 'tagged VLAN 20 from the all-VLAN port reaches the VLAN 20 access port');
  const tagged = setup([port(1), port(2), port(3, { trunks: [0, 5] })]);
  t.same(tagged.send(frame(A, BCAST, 5), 1), [2, 3], 'a tag passes through as it came');
  t.equal(tagged.sent[0]!.frame.length, 64);
  t.same(tagged.send(frame(A, BCAST), 1), [2, 3], 'VLAN 0 on a trunk listing 0');
  t.equal(tagged.sent[1]!.frame.length, 60);
});

t.test('a frame shorter than Ethernet is ignored; learn=false teaches nothing', async (t) => {
  const bridge = new LearningBridge();
  const p = [port(1), port(2)];
  const sent: number[] = [];
  bridge.process(new Uint8Array(10), parseFrame(new Uint8Array(10), 1, newFlowKey()), p[0]!, p, (q) => sent.push(q.portNo));
  t.same(sent, []);
  const f = frame(A, B);
  bridge.process(f, parseFrame(f, 9, newFlowKey()), port(9), p, (q) => sent.push(q.portNo), false);
  t.same(sent, [1, 2]);
  t.equal(bridge.size, 0);
});

// ---- vlan_mode (vswitch.xml's Port table; ofproto-dpif-xlate.c) ----------------------------------

/** What left each port: `port:untagged` or `port:VID` (`port:VID/pPCP` with a priority). */
function leaving(sent: { port: number; frame: Uint8Array }[]): string[] {
  return sent.map(({ port, frame }) => {
    if (((frame[12]! << 8) | frame[13]!) !== 0x8100) return `${port}:untagged`;
    const tci = (frame[14]! << 8) | frame[15]!;
    return `${port}:${tci & 0xfff}${tci >>> 13 ? `/p${tci >>> 13}` : ''}`;
  });
}

const tagged = (src: string, dst: string, vid: number, pcp = 0) =>
  ethFrame(0x0800, new Array(46).fill(0), { src, dst, vlan: { vid, pcp } });

t.test('access: untagged or priority-tagged frames only, in the port\'s VLAN; out untagged', async (t) => {
  const ports = [
    port(1, { tag: 10, vlanMode: 'access' }),
    port(2, { tag: 10 }), // access by default
    port(3, { tag: 10, trunks: [20], vlanMode: 'access' }), // trunks ignored
    port(4, { trunks: [10] }),
    port(5, { vlanMode: 'access' }), // no tag: VLAN 0
    port(6),
  ];
  const { send, sent } = setup(ports);
  send(frame(A, BCAST), 1);
  t.same(leaving(sent), ['2:untagged', '3:untagged', '4:10', '6:10'], 'VLAN 10: untagged out of access ports, tagged out of trunks');
  send(tagged(A, BCAST, 0, 5), 1);
  t.same(leaving(sent), ['2:untagged', '3:untagged', '4:10/p5', '6:10/p5'], 'a priority tag is accepted; its priority stays on trunks');
  t.same(send(tagged(A, BCAST, 10), 1), [], 'a tag with a nonzero VID is dropped, even the port\'s own VLAN');
  t.same(send(tagged(A, BCAST, 20), 3), [], 'trunks do not make an access port a trunk');
  send(frame(B, BCAST), 5);
  t.same(leaving(sent), ['6:untagged'], 'access without tag is VLAN 0: only the all-VLAN trunk, untagged');
  send(tagged(C, BCAST, 10), 6);
  t.same(leaving(sent), ['1:untagged', '2:untagged', '3:untagged', '4:10'], 'VLAN 10 from a trunk: untagged to the access ports');
});

t.test('trunk: the frame\'s own VID, untagged is VLAN 0; trunks empty carry every VLAN; tag ignored', async (t) => {
  const ports = [
    port(1, { trunks: [10, 20], vlanMode: 'trunk' }),
    port(2, { tag: 30, vlanMode: 'trunk' }), // a trunk ignores tag: every VLAN
    port(3, { tag: 30 }),
    port(4, { trunks: [0, 10] }),
  ];
  const { send, sent } = setup(ports);
  send(tagged(A, BCAST, 10), 1);
  t.same(leaving(sent), ['2:10', '4:10'], 'VLAN 10 tagged out of the trunks that carry it');
  t.same(send(frame(A, BCAST), 1), [], 'untagged is VLAN 0, which trunks=10,20 does not carry');
  t.same(send(tagged(A, BCAST, 30), 1), [], 'a VLAN outside trunks is dropped');
  send(frame(B, BCAST), 2);
  t.same(leaving(sent), ['4:untagged'], 'untagged on a trunk with a tag is VLAN 0, not 30');
  send(tagged(B, BCAST, 30), 2);
  t.same(leaving(sent), ['3:untagged'], 'VLAN 30 reaches the access port');
  send(tagged(C, BCAST, 0, 3), 4);
  t.same(leaving(sent), ['2:0/p3'], 'a priority-tagged frame (VLAN 0) keeps its priority tag');
});

t.test('native-tagged: untagged input is the native VLAN; native VLAN frames leave tagged', async (t) => {
  const ports = [
    port(1, { tag: 10, trunks: [20], vlanMode: 'native-tagged' }),
    port(2, { tag: 10, vlanMode: 'native-tagged' }),
    port(3, { tag: 10 }),
    port(4), // trunk of every VLAN
  ];
  const { send, sent } = setup(ports);
  send(frame(A, BCAST), 1);
  t.same(leaving(sent), ['2:10', '3:untagged', '4:10'], 'untagged in: native VLAN 10, tagged out of the native-tagged port');
  send(tagged(A, BCAST, 10), 1);
  t.same(leaving(sent), ['2:10', '3:untagged', '4:10'], 'the native VLAN tagged is accepted though trunks leaves it out');
  send(tagged(A, BCAST, 20), 1);
  t.same(leaving(sent), ['2:20', '4:20'], 'a trunked VLAN');
  t.same(send(tagged(A, BCAST, 30), 1), [], 'a VLAN neither native nor trunked is dropped');
  send(tagged(B, BCAST, 30), 4);
  t.same(leaving(sent), ['2:30'], 'native-tagged without trunks carries every VLAN');
  t.same(send(frame(B, BCAST), 4), [], 'but never VLAN 0 when the native VLAN is not 0');
  send(tagged(C, BCAST, 0, 6), 2);
  t.same(leaving(sent), ['1:10/p6', '3:untagged', '4:10/p6'], 'a priority tag in: native VLAN with that priority');
});

t.test('native-untagged: like native-tagged, but native VLAN frames leave untagged', async (t) => {
  const ports = [
    port(1, { tag: 20, trunks: [10], vlanMode: 'native-untagged' }),
    port(2, { tag: 20, trunks: [10], vlanMode: 'native-untagged' }),
    port(3, { tag: 10, vlanMode: 'native-untagged' }),
    port(4, { trunks: [10, 20] }),
  ];
  const { send, sent } = setup(ports);
  send(frame(A, BCAST), 1);
  t.same(leaving(sent), ['2:untagged', '3:20', '4:20'], 'VLAN 20: untagged out of its native port, tagged elsewhere');
  send(tagged(A, BCAST, 20, 2), 1);
  t.same(leaving(sent), ['2:untagged', '3:20/p2', '4:20/p2'], 'native VLAN tagged in: untagged out of native ports (priority gone)');
  send(tagged(A, BCAST, 10), 4);
  t.same(leaving(sent), ['1:10', '2:10', '3:untagged'], 'VLAN 10: tagged out of VLAN 20 native ports, untagged out of VLAN 10\'s');
  const none = setup([port(1, { vlanMode: 'native-untagged' }), port(2, { vlanMode: 'native-tagged' }), port(3, { trunks: [0] })]);
  none.send(frame(A, BCAST), 1);
  t.same(leaving(none.sent), ['2:untagged', '3:untagged'], 'a native port without tag: native VLAN 0, which VLAN 0 tags leave off');
});

t.test('known unicast goes to its port only in its VLAN; a partial VLAN tag is dropped; same tag, same frame', async (t) => {
  const ports = [port(1, { tag: 10 }), port(2, { tag: 20 }), port(3, { trunks: [10, 20] })];
  const { send } = setup(ports);
  send(frame(A, BCAST), 1);
  t.same(send(tagged(B, A, 10), 3), [1], 'A learned in VLAN 10 on port 1');
  t.same(send(tagged(B, A, 20), 3), [2], 'unknown in VLAN 20: flooded there only');
  t.same(send(ethFrame(0x8100, [0x00]), 1), [], 'a VLAN type without a whole tag is dropped');
  const bridge = new LearningBridge();
  const f = tagged(A, BCAST, 10, 1);
  const out: Uint8Array[] = [];
  const trunks = [port(1), port(2), port(3)];
  bridge.process(f, parseFrame(f, 1, newFlowKey()), trunks[0]!, trunks, (_, g) => out.push(g));
  t.ok(out.length === 2 && out[0] === f && out[1] === f, 'a tag that stays is not copied');
});

t.test('resolvePortVlan refuses what is not a VLAN or a mode', async (t) => {
  t.throws(() => resolvePortVlan({ tag: 4096 }), new RangeError('tag 4096 is not a VLAN (0..4095)'));
  t.throws(() => resolvePortVlan({ trunks: [1, -1] }), new RangeError('trunk -1 is not a VLAN (0..4095)'));
  t.throws(() => resolvePortVlan({ vlanMode: 'dot1q-tunnel' as VlanMode }), /vlan_mode "dot1q-tunnel" is not one of access, trunk, native-tagged, native-untagged/);
  t.same(resolvePortVlan({ trunks: [] }), { mode: 1, vlan: -1, trunks: null }, 'empty trunks: every VLAN');
});

t.test('802.1ad outer tags are VLAN tags to NORMAL, as in OVS: the VID picks the VLAN, a rewritten tag keeps its TPID', async (t) => {
  const ports = [port(1, { trunks: [10, 20] }), port(2, { tag: 10 }), port(3, { trunks: [10] })];
  const { send, sent } = setup(ports);
  const adTagged = (src: string, dst: string, vid: number, pcp = 0) => {
    const f = tagged(src, dst, vid, pcp);
    f[12] = 0x88;
    f[13] = 0xa8;
    return f;
  };
  t.same(send(adTagged(A, BCAST, 10, 2), 1), [2, 3], 'VLAN 10 by its 802.1ad VID');
  const out2 = sent.find((s) => s.port === 2)!.frame;
  const out3 = sent.find((s) => s.port === 3)!.frame;
  t.equal(((out2[12]! << 8) | out2[13]!).toString(16), '800', 'untagged out of the access port');
  t.same([...out3.subarray(12, 16)], [0x88, 0xa8, 0x40, 10], 'tagged out of the trunk with its TPID and priority');
  t.same(send(adTagged(A, BCAST, 30), 1), [], 'a VLAN the port does not trunk is dropped');
  t.same(send(ethFrame(0x88a8, [0x00]), 1), [], 'an 802.1ad type without a whole tag is dropped');
  t.same(send(tagged(B, A, 10), 3), [1], 'learned from the 802.1ad frame in VLAN 10');
});
