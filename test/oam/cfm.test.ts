/**
 * The CFM endpoint (oam/cfm.ts) on a fake clock: two MEPs handing each other their CCMs, the
 * frame's bytes as lib/cfm.c lays them out, the faults (recv, rdi, maid, loopback, overflow,
 * override), health, extended mode (its own address, 64-bit MPID, opdown, any interval), CCM VLAN
 * tags, and the settings as bridge.c reads an Interface row (oam/settings.ts).
 */
import t from 'tap';
import { CfmSession, isValidMpid, msToCcmInterval, type CfmSettings } from '../../oam/cfm.js';
import { cfmSettings } from '../../oam/settings.js';
import { ethPayload } from '../../oam/frames.js';
import { clock, MAC_A, MAC_B } from './fixtures.js';

const base: CfmSettings = { mpid: 1, intervalMs: 1000, extended: false, opUp: true, ccmVlan: 0, ccmPcp: 0 };

/** Delivers `frame` to `to` as the monitor does; whether it was taken. */
function deliver(to: CfmSession, frame: Uint8Array): boolean {
  const eth = ethPayload(frame)!;
  if (!to.accepts(frame, eth.type)) return false;
  to.receive(frame, eth.offset);
  return true;
}

t.test('the CCM as lib/cfm.c composes it', async (t) => {
  const c = clock();
  const a = new CfmSession('a', c.now);
  t.ok(a.configure({ ...base, mpid: 0x123 }));
  t.ok(a.shouldSend(), 'the first CCM is due at once');
  const f = a.compose(MAC_A);
  t.equal(f.length, 14 + 75, '75 bytes after the Ethernet header');
  t.same([...f.subarray(0, 6)], [0x01, 0x80, 0xc2, 0x00, 0x00, 0x30], 'to the 802.1ag CCM group address');
  t.same([...f.subarray(6, 12)], [...MAC_A], 'from the interface');
  t.same([f[12], f[13]], [0x89, 0x02], 'EtherType 0x8902');
  t.same([f[14], f[15], f[16], f[17]], [0, 1, 4, 70], 'level/version 0, opcode CCM, interval code 4 (1 s), TLV offset 70');
  t.same([...f.subarray(18, 22)], [0, 0, 0, 1], 'sequence 1');
  t.same([f[22], f[23]], [0x01, 0x23], 'the MPID');
  t.same([...f.subarray(24, 34)], [4, 3, 0x6f, 0x76, 0x73, 2, 3, 0x6f, 0x76, 0x73], 'MAID: MD "ovs", MA "ovs"');
  t.ok(f.subarray(34, 89).every((b) => b === 0), 'then zeros: padding, OVS fields unused in standard mode, end TLV');
  t.notOk(a.shouldSend(), 'the next one waits an interval');
  c.advance(1000);
  t.ok(a.shouldSend());
  t.same([...a.compose(MAC_A).subarray(18, 22)], [0, 0, 0, 2], 'sequence 2');
  t.equal(a.wakeTime(), c.now() + 1000, 'wakes for the next CCM (the first check is 3.5 s after start)');
});

t.test('two MEPs: no fault while CCMs flow, recv then rdi when one direction stops', async (t) => {
  const c = clock();
  const a = new CfmSession('a', c.now);
  const b = new CfmSession('b', c.now);
  const logs: string[] = [];
  a.onLog = (_l, m) => logs.push(m);
  let changes = 0;
  a.onStatusChange = () => changes++;
  a.configure(base);
  b.configure({ ...base, mpid: 2 });
  t.same(a.status(), { faults: 0, faultNames: [], remoteOpstate: -1, flapCount: 0, health: -1, remoteMpids: [] }, 'no fault before the first check, as OVS');
  t.ok(a.takeStatusChange(), 'a new MEP has a status to write');
  t.notOk(a.takeStatusChange(), 'once');
  const tick = (deliverAtoB: boolean, deliverBtoA: boolean): void => {
    for (const [from, to, mac, ok] of [[a, b, MAC_A, deliverAtoB], [b, a, MAC_B, deliverBtoA]] as const) {
      if (from.shouldSend()) {
        const f = from.compose(mac);
        if (ok) t.ok(deliver(to, f), 'taken');
      }
      from.run();
    }
  };
  for (let i = 0; i < 8; i++) {
    tick(true, true);
    c.advance(500);
  }
  t.same(a.status().remoteMpids, [2], 'a knows MPID 2 after the first check');
  t.equal(a.faults(), 0, 'no fault');
  t.ok(changes > 0 && a.takeStatusChange(), 'the check changed the status');
  // b stops hearing a: after its checks, b has the recv fault and sets RDI; a then has rdi.
  for (let i = 0; i < 16; i++) {
    tick(false, true);
    c.advance(500);
  }
  t.same(b.status().faultNames, ['recv'], 'b: recv');
  t.same(b.status().remoteMpids, [], 'b: no remote left');
  t.same(a.status().faultNames, ['rdi'], 'a: rdi (b says it hears nothing)');
  t.equal(a.status().flapCount, 1, 'a flapped once');
  t.match(logs.join('\n'), /CFM faults changed from \[\] to \[rdi\]/, 'a logged the change as OVS does');
  t.match(b.show(), /^---- b ----\nMPID 2:\n {2}fault: recv\n/, 'cfm/show names the fault');
  // Everything flows again.
  for (let i = 0; i < 16; i++) {
    tick(true, true);
    c.advance(500);
  }
  t.equal(a.faults() | b.faults(), 0, 'no fault on either side');
  t.equal(a.status().flapCount, 2, 'a flapped back');
});

t.test('health: per cent of the CCMs expected every 6 checks; undefined with two remotes', async (t) => {
  const c = clock();
  const a = new CfmSession('a', c.now);
  const b = new CfmSession('b', c.now);
  const d = new CfmSession('d', c.now);
  a.configure(base);
  b.configure({ ...base, mpid: 2 });
  d.configure({ ...base, mpid: 3 });
  const run = (ms: number, senders: CfmSession[]): void => {
    for (let elapsed = 0; elapsed < ms; elapsed += 250) {
      for (const s of senders) if (s.shouldSend()) deliver(a, s.compose(MAC_B));
      if (a.shouldSend()) a.compose(MAC_A);
      a.run();
      c.advance(250);
    }
  };
  run(7 * 3500 + 100, [b]);
  t.equal(a.status().health, 100, 'one remote sending every interval: 100');
  run(7 * 3500, [b, d]);
  t.equal(a.status().health, -1, 'two remotes: undefined');
  t.same(a.status().remoteMpids, [2, 3]);
  t.match(a.show(), /average health: undefined/);
  run(7 * 3500, []);
  t.equal(a.status().health, 0, 'none: 0');
});

t.test('faults from what CCMs say: maid, loopback, overflow; and what is not a CCM', async (t) => {
  const c = clock();
  const a = new CfmSession('a', c.now);
  const logs: string[] = [];
  a.onLog = (_l, m) => logs.push(m);
  a.configure(base);
  const other = new CfmSession('o', c.now);
  other.configure({ ...base, mpid: 9 });
  const foreign = other.compose(MAC_B);
  foreign[14 + 12] = 0x78; // MD name "oxs"
  deliver(a, foreign);
  c.advance(3500);
  a.run();
  t.same(a.status().faultNames, ['recv', 'maid'], 'another MAID: maid (and nothing received: recv)');
  const self = new CfmSession('s', c.now);
  self.configure(base);
  deliver(a, self.compose(MAC_B));
  c.advance(3500);
  a.run();
  t.same(a.status().faultNames, ['loopback'], 'our own MPID: loopback');
  const bad = other.compose(MAC_B);
  bad[15] = 3; // opcode: not a CCM
  deliver(a, bad);
  deliver(a, other.compose(MAC_B).subarray(0, 14 + 70)); // too short
  t.match(logs.join('\n'), /unsupported 802.1ag message. \(opcode 3\)/);
  t.match(logs.join('\n'), /unparseable 802.1ag CCM/);
  const nonCfm = other.compose(MAC_B);
  nonCfm[12] = 0x08;
  nonCfm[13] = 0x00;
  t.notOk(deliver(a, nonCfm), 'another EtherType is not taken');
  const wrongInterval = new CfmSession('w', c.now);
  wrongInterval.configure({ ...base, mpid: 7, intervalMs: 100 });
  deliver(a, wrongInterval.compose(MAC_B));
  t.match(logs.join('\n'), /unexpected interval \(3\) from RMP 7/);
  const seqGap = new CfmSession('g', c.now);
  seqGap.configure({ ...base, mpid: 8 });
  deliver(a, seqGap.compose(MAC_B));
  seqGap.compose(MAC_B);
  deliver(a, seqGap.compose(MAC_B));
  t.match(logs.join('\n'), /detected sequence numbers which indicate possible connectivity problems \(previous 1\) \(current 3\)/);
  for (let mpid = 1000; mpid < 1000 + 257; mpid++) {
    const s = new CfmSession('x', c.now);
    s.configure({ ...base, mpid });
    deliver(a, s.compose(MAC_B));
  }
  t.match(logs.join('\n'), /dropped CCM with MPID 1256/, 'the 257th remote is dropped');
  c.advance(3500);
  a.run();
  // lib/cfm.c records a CCM's faults only with a remote MP, which a dropped CCM has not: OVS 3.1
  // never reports overflow, and neither does ofswitch.
  t.notOk(a.status().faultNames.includes('overflow'), 'no overflow fault, as in OVS 3.1');
  t.ok(a.status().remoteMpids.length <= 256, 'at most 256 remote MPs kept');
});

t.test('extended mode: its address, 64-bit MPID, opdown, any interval', async (t) => {
  const c = clock();
  const x = { ...base, extended: true, intervalMs: 500 };
  const a = new CfmSession('a', c.now);
  const b = new CfmSession('b', c.now);
  t.ok(a.configure({ ...x, mpid: 2 ** 40 + 5 }), 'an MPID above 8191 is fine in extended mode');
  t.ok(b.configure({ ...x, mpid: 7, opUp: false }));
  t.equal(a.intervalMs, 500, '500 ms kept');
  const f = a.compose(MAC_A);
  t.same([...f.subarray(0, 6)], [0x01, 0x23, 0x20, 0x00, 0x00, 0x30], "OVS's extended CCM address");
  t.equal(f[16], 0, 'interval code 0');
  t.same([f[72], f[73]], [0x01, 0xf4], 'the interval in ms');
  t.same([...f.subarray(74, 82)], [0, 0, 1, 0, 0, 0, 0, 5], 'the 64-bit MPID');
  t.ok(deliver(b, f), 'taken by an extended MEP');
  const down = b.compose(MAC_B);
  t.equal(down[82], 1, 'opdown set');
  t.ok(deliver(a, down));
  const std = new CfmSession('s', c.now);
  std.configure(base);
  t.notOk(deliver(std, down), 'a standard MEP ignores the extended address');
  c.advance(1750);
  a.run();
  t.equal(a.remoteOpstate(), 0, 'the remote is operationally down');
  t.same(a.status().remoteMpids, [7]);
  t.equal(std.remoteOpstate(), -1, 'unknown outside extended mode');
  t.match(b.show(), /MPID 7: extended\n[^]*opstate: down/, 'cfm/show: extended, opstate down');
  t.ok(a.configure({ ...x, mpid: 2 ** 40 + 5, intervalMs: 100_000 }));
  t.equal(a.intervalMs, 65535, 'at most 65535 ms');
});

t.test('intervals, MPIDs, VLAN tags, the fault override', async (t) => {
  t.same([1, 3, 9, 10, 99, 100, 999, 1000, 5000, 60000, 700000].map(msToCcmInterval), [1, 1, 1, 2, 2, 3, 3, 4, 4, 6, 7], 'rounded down to 802.1ag intervals');
  t.notOk(isValidMpid(false, 0));
  t.notOk(isValidMpid(false, 8192));
  t.ok(isValidMpid(true, 8192));
  const c = clock();
  const a = new CfmSession('a', c.now, () => 0.5);
  t.notOk(a.configure({ ...base, mpid: 8192 }), 'MPID 8192 refused in standard mode');
  t.notOk(a.configure({ ...base, intervalMs: 0 }), 'interval 0 refused');
  t.throws(() => a.compose(MAC_A), /not configured/);
  a.configure({ ...base, intervalMs: 300, ccmVlan: 10, ccmPcp: 5 });
  t.equal(a.intervalMs, 100, '300 ms rounds down to 100');
  const tagged = a.compose(MAC_A);
  t.same([...tagged.subarray(12, 18)], [0x81, 0x00, 0xa0, 0x0a, 0x89, 0x02], 'tagged VID 10 PCP 5, then 0x8902');
  const b = new CfmSession('b', c.now);
  b.configure({ ...base, mpid: 2, intervalMs: 100 });
  t.ok(deliver(b, tagged), 'a tagged CCM is taken');
  a.configure({ ...base, intervalMs: 100, ccmVlan: 'random', ccmPcp: 0 });
  t.same([a.compose(MAC_A)[12], a.compose(MAC_A)[13]], [0x89, 0x02], 'a random VID of 0 (0x8000 & 0xfff) without PCP: untagged, as in OVS');
  const r = new CfmSession('r', c.now, () => 0.3);
  r.configure({ ...base, ccmVlan: 'random' });
  const random = r.compose(MAC_A);
  t.same([random[14], random[15]], [0x0c, 0xcc], 'a random VID (0x4ccc & 0xfff)');
  a.configure({ ...base, intervalMs: 100, ccmVlan: 0, ccmPcp: 0 });
  a.setFaultOverride(true);
  t.same(a.status().faultNames, ['override']);
  t.match(a.show(), /MPID 1: fault_override\n {2}fault: override/);
  a.setFaultOverride(false);
  t.equal(a.faults(), 0);
  a.setFaultOverride(null);
  t.equal(a.faultOverride, -1);
});

t.test('settings from an Interface row, as bridge.c reads them', async (t) => {
  t.equal(cfmSettings(null, {}), null, 'no cfm_mpid: CFM off');
  t.same(cfmSettings(5, {}), { mpid: 5, intervalMs: 1000, extended: false, opUp: true, ccmVlan: 0, ccmPcp: 0 }, 'defaults');
  t.equal(cfmSettings(5, { cfm_interval: '-3' })!.intervalMs, 1000, 'a negative interval: the default');
  t.equal(cfmSettings(5, { cfm_interval: 'fast' })!.intervalMs, 1000, 'not a number: the default');
  t.equal(cfmSettings(5, { cfm_interval: '100' })!.intervalMs, 100);
  t.equal(cfmSettings(5, { cfm_ccm_vlan: 'Random' })!.ccmVlan, 'random');
  t.equal(cfmSettings(5, { cfm_ccm_vlan: '12abc' })!.ccmVlan, 12, 'atoi');
  t.equal(cfmSettings(5, { cfm_ccm_vlan: '65535' })!.ccmVlan, 0, 'CFM_RANDOM_VLAN as a number is 0');
  t.equal(cfmSettings(5, { cfm_ccm_vlan: 'x' })!.ccmVlan, 0);
  t.equal(cfmSettings(5, { cfm_opstate: 'DOWN' })!.opUp, false);
  t.equal(cfmSettings(5, { cfm_opstate: 'Up' })!.opUp, true);
  t.equal(cfmSettings(5, { cfm_extended: 'true', cfm_ccm_pcp: '3' })!.extended, true);
  const problems: string[] = [];
  cfmSettings(5, { cfm_demand: 'true' }, problems);
  t.match(problems, [/cfm_demand is not supported/]);
});
