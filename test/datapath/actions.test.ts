import t from 'tap';
import { newFlowKey, unpackFlowKey } from '../../flowtable/flow-key.js';
import { runActions, type ActionOutputs } from '../../datapath/actions.js';
import { parseFrame, type FrameLayout } from '../../datapath/frame-parser.js';
import { internetChecksum, onesComplementSum } from '../../datapath/checksum.js';
import { OFPAT, OFPP } from '../../protocol/constants.js';
import type { Action } from '../../protocol/types.js';
import {
  checksumProblems, ethFrame, hex, icmpMessage, ipv4Packet, ipv6Packet, refChecksum, tcpSegment, udpDatagram,
  withL4Checksum4, withL4Checksum6,
} from './frames.js';

interface Sent { port: number; maxLen: number; frame: Uint8Array; l3: number }

function run(frame: Uint8Array, actions: Action[], owned = false): Sent[] {
  const sent: Sent[] = [];
  const outputs: ActionOutputs = {
    output: (port: number, maxLen: number, f: Uint8Array, layout: FrameLayout) =>
      sent.push({ port, maxLen, frame: f.slice(), l3: layout.l3Offset }),
  };
  runActions(frame, parseFrame(frame, 1, newFlowKey()), actions, outputs, owned);
  return sent;
}
const out = (port: number, maxLen = 0): Action => ({ type: OFPAT.OUTPUT, port, maxLen });
const fieldsOf = (f: Uint8Array) => {
  const k = newFlowKey();
  parseFrame(f, 1, k);
  return unpackFlowKey(k);
};

const tcp4 = () => ethFrame(0x0800, withL4Checksum4(ipv4Packet({ proto: 6, tos: 0x03 }, tcpSegment(1000, 80))));
const udp4 = () => ethFrame(0x0800, withL4Checksum4(ipv4Packet({ proto: 17 }, udpDatagram(5000, 53))));
const tcp6 = () => ethFrame(0x86dd, withL4Checksum6(ipv6Packet(6, tcpSegment(1000, 80), 0x01)));
const udp6 = () => ethFrame(0x86dd, withL4Checksum6(ipv6Packet(17, udpDatagram(1000, 80))));

t.test('checksum helpers agree with the reference', async (t) => {
  const bytes = Uint8Array.from([1, 2, 3, 4, 5]);
  t.equal(internetChecksum(bytes, 0, 5), refChecksum(bytes));
  t.equal(onesComplementSum(bytes, 0, 4, 0xffff), ((0x0102 + 0x0304 + 0xffff) % 0xffff));
});

t.test('outputs see the frame as it is at that point (copy on write)', async (t) => {
  const frame = tcp4();
  const original = hex(frame);
  const sent = run(frame, [
    out(2), { type: OFPAT.SET_DL_DST, dlAddr: 'aa:bb:cc:dd:ee:ff' }, out(3),
    { type: OFPAT.SET_DL_SRC, dlAddr: '00:11:22:33:44:55' }, out(OFPP.CONTROLLER, 128),
    { type: OFPAT.ENQUEUE, port: 4, queueId: 1 }, { type: OFPAT.VENDOR, vendor: 0x2320, body: new Uint8Array() },
  ]);
  t.same(sent.map((s) => s.port), [2, 3, OFPP.CONTROLLER, 4]);
  t.equal(hex(sent[0]!.frame), original);
  t.equal(fieldsOf(sent[1]!.frame).dlDst, 'aa:bb:cc:dd:ee:ff');
  t.equal(fieldsOf(sent[1]!.frame).dlSrc, '02:00:00:00:00:01');
  t.equal(fieldsOf(sent[2]!.frame).dlSrc, '00:11:22:33:44:55');
  t.equal(sent[2]!.maxLen, 128);
  t.equal(hex(frame), original, 'a frame not owned is never written');
  run(frame, [{ type: OFPAT.SET_DL_DST, dlAddr: 'aa:bb:cc:dd:ee:ff' }], true);
  t.equal(fieldsOf(frame).dlDst, 'aa:bb:cc:dd:ee:ff', 'an owned frame is rewritten in place');
});

t.test('SET_NW_SRC/DST on IPv4 TCP and UDP: addresses set, every checksum right', async (t) => {
  for (const [name, make] of [['tcp', tcp4], ['udp', udp4]] as const) {
    const [s] = run(make(), [
      { type: OFPAT.SET_NW_SRC, nwAddr: 0xc0a80a0b }, { type: OFPAT.SET_NW_DST, nwAddr: 0xfffffffe }, out(2),
    ]);
    const f = fieldsOf(s!.frame);
    t.equal(f.nwSrc, 0xc0a80a0b, name);
    t.equal(f.nwDst, 0xfffffffe, name);
    t.same(checksumProblems(s!.frame, 14), [], `${name} checksums`);
  }
});

t.test('SET_TP_SRC/DST on TCP and UDP over IPv4 and IPv6', async (t) => {
  for (const [name, make] of [['tcp4', tcp4], ['udp4', udp4], ['tcp6', tcp6], ['udp6', udp6]] as const) {
    const [s] = run(make(), [{ type: OFPAT.SET_TP_SRC, tpPort: 65535 }, { type: OFPAT.SET_TP_DST, tpPort: 8080 }, out(2)]);
    const f = fieldsOf(s!.frame);
    t.equal(f.tpSrc, 65535, name);
    t.equal(f.tpDst, 8080, name);
    t.same(checksumProblems(s!.frame, 14), [], `${name} checksums`);
  }
});

t.test('UDP checksum 0 (none) stays 0', async (t) => {
  const frame = ethFrame(0x0800, ipv4Packet({ proto: 17 }, udpDatagram(1, 2)));
  const [s] = run(frame, [{ type: OFPAT.SET_NW_SRC, nwAddr: 0x01020304 }, { type: OFPAT.SET_TP_DST, tpPort: 99 }, out(2)]);
  t.equal(s!.frame[14 + 20 + 6], 0);
  t.equal(s!.frame[14 + 20 + 7], 0);
  t.same(checksumProblems(s!.frame, 14), []);
});

t.test('SET_NW_TOS keeps the ECN bits, on IPv4 (checksum right) and IPv6', async (t) => {
  const [s4] = run(tcp4(), [{ type: OFPAT.SET_NW_TOS, nwTos: 0xff }, out(2)]);
  t.equal(s4!.frame[15], 0xff);
  t.same(checksumProblems(s4!.frame, 14), []);
  const [s4b] = run(tcp4(), [{ type: OFPAT.SET_NW_TOS, nwTos: 0x28 }, out(2)]);
  t.equal(s4b!.frame[15], 0x2b);
  const [s6] = run(tcp6(), [{ type: OFPAT.SET_NW_TOS, nwTos: 0xa0 }, out(2)]);
  t.equal(fieldsOf(s6!.frame).nwTos, 0xa0);
  t.equal(((s6!.frame[14]! & 0x0f) << 4) | (s6!.frame[15]! >>> 4), 0xa1, 'traffic class keeps ECN');
  t.equal(s6!.frame[14]! >>> 4, 6, 'version kept');
  t.same(checksumProblems(s6!.frame, 14), []);
});

t.test('VLAN: set vid and pcp push a tag with the other field 0, rewrite an existing one, strip removes it', async (t) => {
  const [pushed] = run(tcp4(), [{ type: OFPAT.SET_VLAN_VID, vlanVid: 42 }, out(2)]);
  t.equal(pushed!.frame.length, tcp4().length + 4);
  t.equal(hex(pushed!.frame.subarray(12, 16)), '8100002a');
  t.equal(pushed!.l3, 18, 'layout follows the push');
  t.same(checksumProblems(pushed!.frame, 18), []);
  const [pcp] = run(tcp4(), [{ type: OFPAT.SET_VLAN_PCP, vlanPcp: 5 }, out(2)]);
  t.equal(hex(pcp!.frame.subarray(12, 16)), '8100a000');
  const tagged = ethFrame(0x0800, withL4Checksum4(ipv4Packet({ proto: 6 }, tcpSegment(1, 2))), { vlan: { vid: 7, pcp: 3 } });
  const [both] = run(tagged, [{ type: OFPAT.SET_VLAN_VID, vlanVid: 4095 }, { type: OFPAT.SET_VLAN_PCP, vlanPcp: 1 }, out(2)]);
  t.equal(hex(both!.frame.subarray(12, 16)), '81002fff');
  const [stripped] = run(tagged, [{ type: OFPAT.STRIP_VLAN }, { type: OFPAT.SET_NW_DST, nwAddr: 5 }, out(2)]);
  t.equal(stripped!.frame.length, tagged.length - 4);
  t.equal(fieldsOf(stripped!.frame).dlVlan, 0xffff);
  t.equal(fieldsOf(stripped!.frame).nwDst, 5, 'rewrite after strip uses the shifted layout');
  t.same(checksumProblems(stripped!.frame, 14), []);
  const [none] = run(tcp4(), [{ type: OFPAT.STRIP_VLAN }, out(2)]);
  t.equal(hex(none!.frame), hex(tcp4()), 'strip of an untagged frame changes nothing');
  const [own] = run(tagged.slice(), [{ type: OFPAT.SET_VLAN_VID, vlanVid: 9 }, out(2)], true);
  t.equal(fieldsOf(own!.frame).dlVlan, 9);
});

t.test('rewrites the frame lacks are no-ops', async (t) => {
  const icmp = ethFrame(0x0800, ipv4Packet({ proto: 1 }, icmpMessage(8, 0)));
  const [s] = run(icmp, [{ type: OFPAT.SET_TP_SRC, tpPort: 1 }, out(2)]);
  t.equal(hex(s!.frame), hex(icmp));
  const arp = ethFrame(0x0806, [0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2]);
  const [a] = run(arp, [{ type: OFPAT.SET_NW_SRC, nwAddr: 1 }, { type: OFPAT.SET_NW_TOS, nwTos: 4 }, out(2)]);
  t.equal(hex(a!.frame), hex(arp));
  const later = ethFrame(0x0800, ipv4Packet({ proto: 6, fragOffset: 3 }, [1, 2, 3, 4]));
  const [l] = run(later, [{ type: OFPAT.SET_NW_SRC, nwAddr: 0x0b0b0b0b }, { type: OFPAT.SET_TP_DST, tpPort: 1 }, out(2)]);
  t.equal(fieldsOf(l!.frame).nwSrc, 0x0b0b0b0b);
  t.same(checksumProblems(l!.frame, 14), []);
  t.equal(hex(l!.frame.subarray(34)), '01020304', 'later fragment payload untouched');
  const tiny = Uint8Array.from([1, 2, 3]);
  const [x] = run(tiny, [{ type: OFPAT.SET_DL_SRC, dlAddr: '00:00:00:00:00:01' }, { type: OFPAT.SET_DL_DST, dlAddr: '00:00:00:00:00:01' }, { type: OFPAT.SET_VLAN_VID, vlanVid: 1 }, out(2)]);
  t.equal(hex(x!.frame), '010203');
});

t.test('random rewrite sequences keep every checksum right (against a from-scratch recomputation)', async (t) => {
  let state = 7;
  const rand = (n: number): number => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state % n;
  };
  const makers = [tcp4, udp4, tcp6, udp6];
  const failures: string[] = [];
  let checked = 0;
  for (let i = 0; i < 2000; i++) {
    const actions: Action[] = [];
    for (let k = 0; k < 4; k++) {
      const r = rand(7);
      if (r === 0) actions.push({ type: OFPAT.SET_NW_SRC, nwAddr: (rand(0x10000) * 0x10000 + rand(0x10000)) >>> 0 });
      else if (r === 1) actions.push({ type: OFPAT.SET_NW_DST, nwAddr: rand(0x7fffffff) });
      else if (r === 2) actions.push({ type: OFPAT.SET_TP_SRC, tpPort: rand(0x10000) });
      else if (r === 3) actions.push({ type: OFPAT.SET_TP_DST, tpPort: rand(0x10000) });
      else if (r === 4) actions.push({ type: OFPAT.SET_NW_TOS, nwTos: rand(256) & 0xfc });
      else if (r === 5) actions.push({ type: OFPAT.SET_VLAN_VID, vlanVid: rand(4096) });
      else actions.push({ type: OFPAT.STRIP_VLAN });
    }
    actions.push(out(2));
    const sent = run((makers[i % 4] as () => Uint8Array)(), actions);
    const s = sent[0];
    if (sent.length !== 1 || s === undefined) {
      failures.push(`${sent.length} frames sent for ${JSON.stringify(actions)}`);
      continue;
    }
    checked++;
    const problems = checksumProblems(s.frame, s.l3);
    if (problems.length > 0) failures.push(`${problems.join(', ')} after ${JSON.stringify(actions)}`);
  }
  t.same(failures, [], 'every checksum right after every sequence');
  t.equal(checked, 2000, '2000 sequences checked, each sent one frame');
});
