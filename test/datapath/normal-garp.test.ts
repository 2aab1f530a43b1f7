/**
 * The gratuitous-ARP lock of NORMAL's MAC table and the balance-slb admissibility that honours it,
 * as Open vSwitch 3.1 does them (ofproto-dpif-xlate.c's is_gratuitous_arp, is_admissible,
 * update_learning_table; lib/mac-learning.c's mac_learning_update and GRAT_ARP_LOCK_TIME): a
 * gratuitous ARP on a port that is not a bond locks its address's entry for 5 s; meanwhile a
 * gratuitous ARP from that address arriving on a bond is neither admitted by a balance-slb bond nor
 * learned; afterwards it is (the host really moved). The end-to-end proof against OVS is
 * test/bond/bond-garp-ovs.test.ts.
 */
import t from 'tap';
import { newFlowKey } from '../../flowtable/flow-key.js';
import { parseFrame } from '../../datapath/frame-parser.js';
import { isGratuitousArp, LearningBridge, macAt, resolvePortVlan, type BridgePort } from '../../datapath/normal.js';
import { MacTable } from '../../datapath/mac-table.js';
import { ethFrame, macBytes } from './frames.js';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const BCAST = 'ff:ff:ff:ff:ff:ff';
const macA = macAt(Uint8Array.from(macBytes(A)), 0);

/** An Ethernet/IPv4 ARP body: opcode, sender and target (MAC, IP). */
function arp(op: number, sha: string, spa: number[], tha: string, tpa: number[], head = [0, 1, 8, 0, 6, 4]): number[] {
  return [...head, op >> 8, op & 0xff, ...macBytes(sha), ...spa, ...macBytes(tha), ...tpa];
}
const IP_A = [10, 0, 0, 1];
const IP_B = [10, 0, 0, 2];
/** A gratuitous ARP request from A (sender IP = target IP), broadcast. */
const garp = (vlan?: number) => ethFrame(0x0806, arp(1, A, IP_A, '00:00:00:00:00:00', IP_A), { src: A, dst: BCAST, ...(vlan !== undefined ? { vlan: { vid: vlan } } : {}) });

t.test('isGratuitousArp reads a frame as OVS reads the flow', async (t) => {
  t.ok(isGratuitousArp(garp()), 'broadcast request, sender IP = target IP');
  t.ok(isGratuitousArp(garp(5)), 'the same under an 802.1Q tag');
  t.ok(isGratuitousArp(ethFrame(0x0806, arp(2, A, IP_A, B, IP_B), { src: A, dst: BCAST })), 'any broadcast reply');
  t.notOk(isGratuitousArp(ethFrame(0x0806, arp(1, A, IP_A, '00:00:00:00:00:00', IP_B), { src: A, dst: BCAST })), 'an ordinary request (another target IP)');
  t.notOk(isGratuitousArp(ethFrame(0x0806, arp(2, A, IP_A, B, IP_A), { src: A, dst: B })), 'a reply to a unicast destination');
  t.notOk(isGratuitousArp(ethFrame(0x8035, arp(3, A, IP_A, A, IP_A), { src: A, dst: BCAST })), 'RARP is not one (OVS: dl_type ARP only)');
  t.notOk(isGratuitousArp(ethFrame(0x0806, arp(3, A, IP_A, A, IP_A), { src: A, dst: BCAST })), 'another opcode');
  t.notOk(isGratuitousArp(ethFrame(0x0806, arp(1, A, IP_A, A, IP_A, [0, 6, 8, 0, 6, 4]), { src: A, dst: BCAST })), 'not Ethernet hardware: OVS reads no opcode');
  t.notOk(isGratuitousArp(ethFrame(0x0806, [0, 1, 8, 0, 6, 4, 0, 1], { src: A, dst: BCAST })), 'truncated');
  t.notOk(isGratuitousArp(ethFrame(0x0806, arp(0x101, A, IP_A, A, IP_A), { src: A, dst: BCAST })), 'an opcode above 255');
  t.notOk(isGratuitousArp(Uint8Array.from(macBytes(BCAST))), 'shorter than an Ethernet header');
  const snap = ethFrame(60, [0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x06, ...arp(1, A, IP_A, A, IP_A)], { src: A, dst: BCAST });
  t.ok(isGratuitousArp(snap), 'inside LLC/SNAP, as the frame parser reads it');
  const llc = ethFrame(60, [0xaa, 0xaa, 0x03, 0, 0, 1, 0x08, 0x06, ...arp(1, A, IP_A, A, IP_A)], { src: A, dst: BCAST });
  t.notOk(isGratuitousArp(llc), 'LLC/SNAP with another OUI');
});

t.test('MacTable: a gratuitous ARP on a non-bond port locks the entry for 5 s against bonds', async (t) => {
  let now = 1_000_000;
  const m = new MacTable({ now: () => now });
  t.ok(m.learn(0, macA, 1, now, true, false), 'learned from a gratuitous ARP on port 1 (not a bond)');
  t.ok(m.isGratArpLocked(0, macA, now), 'locked');
  t.notOk(m.isGratArpLocked(0, macA + 1, now), 'another address is not');
  t.notOk(m.learn(0, macA, 7, now + 100, true, true), 'a gratuitous ARP on bond 7 during the lock: not learned');
  t.equal(m.lookup(0, macA, now + 100), 1, 'still on port 1');
  t.same(m.entries(now + 100).map((e) => e.ageMs), [0], 'refreshed, as OVS refreshes it before looking at the lock');
  t.same(m.stats(now + 100).moved, 0, 'no move counted');
  t.ok(m.learn(0, macA, 7, now + 200, false, true), 'an ordinary frame from the bond is learned (the lock is for gratuitous ARPs)');
  t.equal(m.lookup(0, macA, now + 200), 7);
  t.ok(m.learn(0, macA, 1, now + 300, true, false), 'a gratuitous ARP on port 1 again');
  now += 300 + 4_999;
  t.ok(m.isGratArpLocked(0, macA, now), 'still locked just before 5 s');
  t.notOk(m.learn(0, macA, 7, now, true, true), 'not learned');
  now += 1;
  t.notOk(m.isGratArpLocked(0, macA, now), 'unlocked at 5 s');
  t.ok(m.learn(0, macA, 7, now, true, true), 'a gratuitous ARP on the bond is learned: the host moved');
  t.equal(m.lookup(0, macA, now), 7);
  t.notOk(m.isGratArpLocked(0, macA, now), 'learning from a bond sets no lock');
  t.ok(m.learn(0, macA, 7, now, true, false), 'a gratuitous ARP on a non-bond port refreshes and locks even where it already is');
  t.ok(m.isGratArpLocked(0, macA, now));
  t.ok(m.learn(0, macA + 1, 3, now, true, true), 'a new address from a bond gratuitous ARP is learned, unlocked');
  t.notOk(m.isGratArpLocked(0, macA + 1, now));
  now += 400_000;
  t.notOk(m.isGratArpLocked(0, macA, now - 100_000), 'an aged-out entry is not locked');
});

t.test('NORMAL: a bond port learns no locked address; slbLoopedBack is is_admissible', async (t) => {
  let clock = 2_000_000;
  const bridge = new LearningBridge({ now: () => clock });
  const host: BridgePort = { portNo: 1, vlan: resolvePortVlan({}), floods: true };
  const other: BridgePort = { portNo: 2, vlan: resolvePortVlan({}), floods: true };
  const bond: BridgePort = { portNo: 5, vlan: resolvePortVlan({}), floods: true, bond: {} };
  const ports = [host, other, bond];
  const send = (f: Uint8Array, from: BridgePort): number[] => {
    const out: number[] = [];
    bridge.process(f, parseFrame(f, from.portNo, newFlowKey()), from, ports, (p) => out.push(p.portNo));
    return out;
  };
  t.same(send(garp(), host), [2, 5], "A's gratuitous ARP floods from its port");
  t.equal(bridge.lookup(0, macA), 1);
  t.ok(bridge.slbLoopedBack(garp(), 0, 5), 'the same ARP back on the bond during the lock: looped back');
  const unicast = ethFrame(0x0800, new Array(46).fill(0), { src: A, dst: B });
  t.ok(bridge.slbLoopedBack(unicast, 0, 5), 'any other frame from A on the bond: looped back (learned elsewhere)');
  t.notOk(bridge.slbLoopedBack(ethFrame(0x0800, new Array(46).fill(0), { src: B, dst: A }), 0, 5), 'an unknown source: admitted');
  send(garp(), bond);
  t.equal(bridge.lookup(0, macA), 1, 'NORMAL learns nothing from a bond gratuitous ARP during the lock');
  send(garp(), other);
  t.equal(bridge.lookup(0, macA), 2, 'from a port that is not a bond it is learned (and locks again)');
  clock += 5_000;
  t.notOk(bridge.slbLoopedBack(garp(), 0, 5), 'after 5 s a gratuitous ARP on the bond is admitted: the host moved');
  t.ok(bridge.slbLoopedBack(unicast, 0, 5), 'but not an ordinary frame');
  send(garp(), bond);
  t.equal(bridge.lookup(0, macA), 5, 'and learned on the bond');
  t.notOk(bridge.slbLoopedBack(garp(), 0, 5), 'learned on the bond itself: admitted');
  t.notOk(bridge.slbLoopedBack(garp(), 9, 5), 'unknown in another VLAN: admitted');
});
