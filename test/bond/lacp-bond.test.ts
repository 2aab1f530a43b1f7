/**
 * The LACP and bond state machines on their own, with a hand-driven clock: LACP's timers
 * (current -> expired -> defaulted), passive sides, loopback, keys, fallback to active-backup,
 * PDU parsing; the bond's updelay/downdelay, primary member, admissibility rules and rebalancing
 * as ofproto/bond.c does them.
 */
import t from 'tap';
import { Bond, type BondSettings } from '../../bond/bond.js';
import { Lacp, composeLacpPdu, macNumber, macText, parseLacpPdu, stateText, type LacpSettings } from '../../bond/lacp.js';
import { LACP_STATE } from '../../protocol/constants.js';

const lacpSettings = (name: string, sysId: number, o: Partial<LacpSettings> = {}): LacpSettings => ({
  name, sysId, sysPriority: 65534, active: true, fast: true, fallbackAb: false, ...o,
});

/** Two LACP objects with two members each, cabled member to member. */
function lacpPair(a: Partial<LacpSettings> = {}, b: Partial<LacpSettings> = {}) {
  const x = new Lacp(lacpSettings('x', 0x020000000001, a));
  const y = new Lacp(lacpSettings('y', 0x020000000002, b));
  let now = 1000;
  const cut = new Set<string>();
  for (const [l, names] of [[x, ['x1', 'x2']], [y, ['y1', 'y2']]] as const) {
    names.forEach((n, i) => {
      l.registerMember({ name: n, portId: i + 1, portPriority: 65535, key: 0 }, now);
      l.carrierChanged(n, true, now);
    });
  }
  const peer: Record<string, [Lacp, string]> = { x1: [y, 'y1'], x2: [y, 'y2'], y1: [x, 'x1'], y2: [x, 'x2'] };
  const step = (ms: number): void => {
    for (let i = 0; i < ms; i += 100) {
      now += 100;
      for (const l of [x, y]) {
        l.run(now, (member, pdu) => {
          const [other, to] = peer[member]!;
          if (!cut.has(member) && !cut.has(to)) other.processPdu(to, pdu, now);
        });
      }
    }
  };
  return { x, y, step, cut, now: () => now };
}

t.test('LACP: negotiation, expiry, defaulting, passive, loopback', async (t) => {
  const { x, y, step, cut } = lacpPair();
  step(500);
  t.equal(x.status(), 'negotiated', 'x negotiated');
  t.equal(y.status(), 'negotiated', 'y negotiated');
  t.ok(x.mayEnable('x1') && x.mayEnable('x2'), 'both members may be enabled');
  t.equal(x.isCurrent('x1'), true, 'x1 current');
  t.equal(x.isCurrent('nope'), null, 'no such member');
  t.match(x.show(), /member: x1: current attached\n/, 'show: current attached');
  t.match(x.show(), /actor state: activity timeout aggregation synchronized collecting distributing\n/, 'actor state names');
  t.match(x.showStats(), /---- x statistics ----\n\nmember: x1:\n {2}TX PDUs: \d+\n/, 'show-stats');

  // The cable of x2 cut (no carrier change seen): expired after 3 s, defaulted 3 s later.
  cut.add('x2');
  step(3100);
  t.match(x.show(), /member: x2: expired/, 'x2 expired after 3 intervals');
  step(3100);
  t.match(x.show(), /member: x2: defaulted detached/, 'then defaulted');
  t.equal(x.isCurrent('x2'), false, 'lacp_current false');
  t.equal(x.mayEnable('x2'), false, 'x2 may not be enabled');
  t.equal(x.status(), 'negotiated', 'the bond stays negotiated on x1');
  cut.delete('x2');
  step(31_000); // a defaulted partner asked for nothing: the next PDU comes after the slow interval
  t.equal(x.mayEnable('x2'), true, 'x2 back');

  // Carrier down: expired at once; PDUs on a member without carrier are ignored.
  x.carrierChanged('x1', false, 0);
  t.match(x.show(), /member: x1: expired/, 'carrier down: expired');
  t.equal(x.processPdu('x1', composeLacpPdu({ sysPriority: 1, sysId: 5, key: 1, portPriority: 1, portId: 1, state: 0 }, { sysPriority: 1, sysId: 5, key: 1, portPriority: 1, portId: 1, state: 0 }), 0), false, 'ignored without carrier');
  t.equal(x.processPdu('nope', new Uint8Array(110), 0), false, 'no such member');

  // Bad and marker PDUs are counted.
  x.processPdu('x2', new Uint8Array(10), 0);
  const marker = new Uint8Array(110);
  marker[0] = 2;
  x.processPdu('x2', marker, 0);
  t.match(x.showStats(), /RX Bad PDUs: 1\n {2}RX Marker Request PDUs: 1\n/, 'bad and marker PDUs counted');

  // Unregistering the key member: the next one gives the key.
  x.unregisterMember('x1');
  x.unregisterMember('x1');
  t.same(x.memberNames(), ['x2'], 'x1 gone');
  t.match(x.show(), /aggregation key: 2\n/, 'the key is x2\'s port id now');
  x.unregisterMember('x2');
  t.match(x.show(), /aggregation key: none\n/, 'no member, no key');
});

t.test('LACP: passive sides, loopback, fallback-ab, reconfiguration', async (t) => {
  const pp = lacpPair({ active: false }, { active: false });
  pp.step(2000);
  t.equal(pp.x.status(), 'configured', 'passive against passive never negotiates');
  t.match(pp.x.showStats(), /TX PDUs: 0/, 'and never sends');
  const ap = lacpPair({}, { active: false, fast: false });
  ap.step(1000);
  t.equal(ap.y.status(), 'negotiated', 'passive answers an active partner');
  t.match(ap.y.show(), /status: passive negotiated\n[\s\S]*lacp_time: slow\n/, 'passive, slow');

  // Loopback: a member hearing its own system is never attached.
  const l = new Lacp(lacpSettings('l', 7));
  l.registerMember({ name: 'l1', portId: 1, portPriority: 1, key: 0 }, 0);
  l.registerMember({ name: 'l2', portId: 2, portPriority: 1, key: 0 }, 0);
  l.carrierChanged('l1', true, 0);
  l.carrierChanged('l2', true, 0);
  const pdus: Uint8Array[] = [];
  l.run(0, (_m, p) => void pdus.push(p));
  t.equal(pdus.length, 2, 'an active side sends at once');
  l.processPdu('l2', pdus[0]!, 0);
  l.run(10, () => undefined);
  t.match(l.show(), /member: l2: current detached/, 'looped back: detached');

  // Fallback to active-backup: a defaulted member is attached and may be enabled.
  const f = new Lacp(lacpSettings('f', 9, { fallbackAb: true }));
  f.registerMember({ name: 'f1', portId: 1, portPriority: 1, key: 3 }, 0);
  f.carrierChanged('f1', true, 0);
  f.run(10_000, () => undefined);
  f.run(20_000, () => undefined);
  t.equal(f.mayEnable('f1'), true, 'lacp-fallback-ab: a defaulted member may be enabled');
  t.match(f.show(), /aggregation key: 3\n/, 'a configured key');
  f.configure(lacpSettings('f2', 10, { fallbackAb: false, fast: false }));
  f.run(30_000, () => undefined);
  t.equal(f.mayEnable('f1'), false, 'without it, not');
  t.match(f.show(), /---- f2 ----[\s\S]*sys_id: 00:00:00:00:00:0a/, 'renamed, new system id');
  f.registerMember({ name: 'f1', portId: 4, portPriority: 1, key: 3 }, 0);
  t.match(f.show(), /port_id: 4/, 'member settings changed');
});

t.test('LACP PDU and text helpers', async (t) => {
  const pdu = composeLacpPdu(
    { sysPriority: 1, sysId: 0x0a0b0c0d0e0f, key: 2, portPriority: 3, portId: 4, state: 0x3d },
    { sysPriority: 5, sysId: 1, key: 6, portPriority: 7, portId: 8, state: 0 },
  );
  t.equal(pdu.length, 110, '110 bytes');
  const back = parseLacpPdu(pdu);
  t.ok(back !== null && back !== 'marker' && back.actor.sysId === 0x0a0b0c0d0e0f && back.partner.portId === 8, 'parsed back');
  t.equal(parseLacpPdu(new Uint8Array(5)), null, 'too short');
  t.equal(macText(0x0a0b0c0d0e0f), '0a:0b:0c:0d:0e:0f');
  t.equal(macNumber('0a:0b:0c:0d:0e:0f'), 0x0a0b0c0d0e0f);
  t.equal(macNumber('nope'), null);
  t.equal(stateText(LACP_STATE.DEF | LACP_STATE.EXP), ' defaulted expired');
});

const bondSettings = (o: Partial<BondSettings> = {}): BondSettings => ({
  name: 'b', mode: 'active-backup', updelay: 0, downdelay: 0, basis: 0, rebalanceInterval: 10_000,
  lacpFallbackAb: false, primary: null, activeMemberMac: 0, ...o,
});

t.test('bond: delays, primary, remembered active member, admissibility', async (t) => {
  const up = new Map<string, boolean>([['m1', true], ['m2', true]]);
  const b = new Bond(bondSettings({ updelay: 300, downdelay: 200, activeMemberMac: 2 }), 1, 0);
  b.macOf = (m) => (m === 'm1' ? 1 : 2);
  let changes = 0;
  b.onChange = () => void changes++;
  const m1 = b.addMember('m1', 1, true);
  const m2 = b.addMember('m2', 2, true);
  t.equal(b.addMember('m1', 1, true), m1, 'registering again changes nothing');
  const run = (now: number): void => {
    for (const m of b.members.values()) m.mayEnable = up.get(m.name)!;
    b.run(now, 'off', (m) => up.get(m.name)!);
  };
  run(0);
  t.equal(b.active, m2, 'the remembered active member (bond_active_slave) is chosen');
  up.set('m2', false);
  run(100);
  t.equal(m2.enabled, true, 'still enabled during its downdelay');
  t.match(b.show(150), /member m2: enabled\n {2}active member\n {2}downdelay expires in 150 ms\n/, 'bond/show: downdelay');
  run(300);
  t.equal(m2.enabled, false, 'disabled after 200 ms');
  t.equal(b.active, m1, 'm1 active now');
  up.set('m2', true);
  run(400);
  t.match(b.show(500), /member m2: disabled\n {2}updelay expires in 200 ms\n/, 'bond/show: updelay');
  up.set('m2', false);
  run(450);
  t.notMatch(b.show(450), /updelay expires/, 'the pending change is off when the link goes back');
  up.set('m2', true);
  run(500);
  run(800);
  t.equal(m2.enabled, true, 'enabled after 300 ms up');
  t.ok(changes > 0, 'changes were told');

  // Both down: every member disabled; one coming up skips its updelay (no member enabled).
  up.set('m1', false);
  up.set('m2', false);
  run(1000);
  run(1300);
  t.equal(b.active, null, 'all members disabled');
  t.match(b.show(1300), /active member mac: 00:00:00:00:00:00\(none\)\n/, 'no active member');
  up.set('m1', true);
  run(1400);
  t.equal(b.active, m1, 'm1 active at once');
  t.equal(m1.enabled, true, 'skipping its updelay');

  // Primary member.
  b.reconfigure(bondSettings({ primary: 'm2' }), 2000);
  up.set('m2', true);
  run(2000);
  t.equal(b.active, m2, 'the primary becomes active once enabled');
  t.match(b.show(2000), /active-backup primary: m2\n/, 'bond/show: primary');
  b.reconfigure(bondSettings({ primary: 'zz' }), 2000);
  t.match(b.show(2000), /active-backup primary: zz \(no such member\)\n/, 'bond/show: a primary that is no member');

  // Admissibility.
  t.equal(b.admissibility(m2, false), 'accept', 'active-backup: the active member accepts');
  t.equal(b.admissibility(m1, false), 'drop', 'the backup drops');
  t.equal(b.admissibility(m1, true), 'drop', 'multicast on the backup drops');
  b.reconfigure(bondSettings({ mode: 'balance-tcp' }), 2000);
  t.equal(b.admissibility(m2, false), 'drop', 'balance-tcp without LACP drops everything');
  t.equal(b.chooseOutput(() => 0, () => 0, 0), null, 'and sends nothing');
  b.reconfigure(bondSettings({ mode: 'balance-tcp', lacpFallbackAb: true }), 2000);
  b.run(2000, 'configured', () => true);
  t.equal(b.admissibility(b.active!, false), 'accept', 'falling back to active-backup: the active member accepts');
  t.equal(b.chooseOutput(() => 0, () => 0, 0), b.active, 'and sends');
  t.equal(b.mayRecirc(), false, 'no recirculation while falling back');
  b.reconfigure(bondSettings({ mode: 'balance-tcp' }), 2000);
  b.run(2000, 'configured', () => true);
  t.equal(b.admissibility(m2, false), 'drop', 'LACP configured, not negotiated: drop');
  t.equal(b.chooseOutput(() => 0, () => 0, 0), null, 'and send nothing');
  b.run(2000, 'negotiated', () => true);
  t.equal(b.admissibility(m2, false), 'accept', 'negotiated: an enabled member accepts');
  m1.mayEnable = false;
  b.forceEnable(m1, false);
  t.equal(b.admissibility(m1, false), 'drop', 'negotiated: a member that may not be enabled drops');
  b.removeMember('m2');
  b.removeMember('m2');
  t.equal(b.members.size, 1, 'm2 removed');
});

t.test('bond: balance-slb buckets and rebalancing', async (t) => {
  const logs: string[] = [];
  const b = new Bond(bondSettings({ mode: 'balance-slb', rebalanceInterval: 1000 }), 1, 0);
  const m1 = b.addMember('m1', 1, true);
  const m2 = b.addMember('m2', 2, true);
  b.run(0, 'off', () => true);
  // Four hashes, all first given to m1 by hand, heavily loaded.
  for (const h of [1, 2, 3, 4]) b.migrate(h, m1);
  let onM1 = 0;
  for (let i = 0; i < 100; i++) for (const h of [1, 2, 3, 4]) if (b.chooseOutput(() => h, () => 0, 10_000) === m1) onM1++;
  t.equal(onM1, 400, 'the four hashes go to m1');
  t.match(b.show(0), /next rebalance: 1000 ms\n[\s\S]*member m1: enabled\n[\s\S]*hash 1: 976 kB load\n/, 'bond/show lists the loaded hashes');
  b.rebalance(500, (l) => void logs.push(l));
  t.equal(logs.length, 0, 'not before the interval');
  b.rebalance(1000, (l) => void logs.push(l));
  t.ok(logs.length >= 1 && /bond b: shift \d+kB of load \(with hash \d\) from m1 to m2/.test(logs[0]!), `load shifted: ${logs[0]}`);
  const onM2 = [1, 2, 3, 4].filter((h) => b.chooseOutput(() => h, () => 0, 0) === m2).length;
  t.equal(onM2, 2, 'two of the four hashes moved to m2');
  b.forceEnable(m2, false);
  t.equal(b.chooseOutput(() => 1, () => 0, 0), m1, 'a bucket on a disabled member moves to an enabled one');
  b.forceEnable(m1, false);
  t.equal(b.chooseOutput(() => 1, () => 0, 0), null, 'none enabled: nowhere');
  t.equal(b.isBalanced(), true, 'balanced');
  b.reconfigure(bondSettings({ mode: 'balance-slb', rebalanceInterval: 0 }), 0);
  t.equal(b.isBalanced(), false, 'interval 0: never rebalanced');
  b.reconfigure(bondSettings({ mode: 'active-backup' }), 0);
  t.equal(b.hash, null, 'active-backup has no buckets');
  b.migrate(1, m1);
  b.rebalance(99_999);
  t.equal(b.setActive(m2), true, 'set active');
  t.equal(b.setActive(m2), false, 'no change');
});
