import t from 'tap';
import { newFlowKey } from '../../flowtable/flow-key.js';
import { parseFrame } from '../../datapath/frame-parser.js';
import { LearningBridge, macAt, type BridgePort } from '../../datapath/normal.js';
import { ethFrame, macBytes } from './frames.js';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const C = '02:00:00:00:00:0c';
const BCAST = 'ff:ff:ff:ff:ff:ff';

function port(portNo: number, o: { tag?: number; trunks?: number[]; floods?: boolean } = {}): BridgePort {
  return { portNo, tag: o.tag, trunks: o.trunks ? new Set(o.trunks) : undefined, floods: o.floods ?? true };
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
  bridge.sweep();
  t.equal(bridge.size, 0, 'sweep removes aged entries');
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
