/**
 * The BFD session (oam/bfd.ts) on a fake clock: the packet as lib/bfd.c builds it, two sessions
 * coming up through down/init/up, detection time expiry, a poll sequence for changed intervals,
 * cpath_down, the remote's admin down, decay_min_rx, forwarding_if_rx, what a session accepts and
 * what it refuses, the forwarding override, and the `bfd` column as bfd_configure reads it.
 */
import t from 'tap';
import { BFD_STATE } from '../../oam/constants.js';
import { BfdSession, bfdDiagText, bfdFlagText, bfdSettings, bfdStateText, type BfdSettings } from '../../oam/bfd.js';
import { ethPayload, ipChecksum } from '../../oam/frames.js';
import { clock, MAC_A, MAC_B } from './fixtures.js';

const settings = (extra: Record<string, string> = {}): BfdSettings => bfdSettings({ enable: 'true', ...extra })!;

function deliver(to: BfdSession, frame: Uint8Array): boolean {
  const eth = ethPayload(frame)!;
  if (!to.accepts(frame, eth.type, eth.offset)) return false;
  to.receive(frame, eth.offset);
  return true;
}

/** Runs both sessions for `ms`, in steps of 10 ms, delivering what each sends (unless cut). */
function exchange(c: ReturnType<typeof clock>, a: BfdSession, b: BfdSession, ms: number, cut: { ab?: boolean; ba?: boolean } = {}): void {
  for (let elapsed = 0; elapsed < ms; elapsed += 10) {
    if (a.shouldSend()) {
      const f = a.compose(MAC_A);
      if (!cut.ab) deliver(b, f);
    }
    if (b.shouldSend()) {
      const f = b.compose(MAC_B);
      if (!cut.ba) deliver(a, f);
    }
    a.run();
    b.run();
    c.advance(10);
  }
}

t.test('the control packet as lib/bfd.c builds it', async (t) => {
  const c = clock();
  const a = new BfdSession('a', settings(), { now: c.now, random: () => 0.5 });
  t.ok(a.shouldSend(), 'the first packet is due at once');
  const f = a.compose(MAC_A);
  t.equal(f.length, 14 + 20 + 8 + 24);
  t.same([...f.subarray(0, 6)], [0x00, 0x23, 0x20, 0x00, 0x00, 0x01], 'to 00:23:20:00:00:01');
  t.same([...f.subarray(6, 12)], [...MAC_A], 'from the interface');
  t.same([f[14], f[15], f[22], f[23]], [0x45, 0xc0, 255, 17], 'IPv4, TOS 0xc0, TTL 255, UDP');
  t.same([...f.subarray(26, 34)], [169, 254, 1, 1, 169, 254, 1, 0], '169.254.1.1 -> 169.254.1.0');
  t.equal(ipChecksum(f, 14, 20), 0, 'a correct header checksum');
  const sport = (f[34]! << 8) | f[35]!;
  t.ok(sport >= 49152 && sport <= 65535, `source port ${sport} in 49152..65535`);
  t.same([f[36], f[37], f[38], f[39]], [0x0e, 0xc8, 0, 32], 'to 3784, length 32');
  t.same([f[42], f[43], f[44], f[45]], [0x20, 0x40, 3, 24], 'version 1, no diagnostic, state down, mult 3, length 24');
  const v = new DataView(f.buffer, 42);
  t.equal(v.getUint32(4), a.disc, 'my discriminator');
  t.equal(v.getUint32(8), 0, 'your discriminator 0 while down');
  t.equal(v.getUint32(12), 1_000_000, 'min tx 1 s while not up (RFC 5880 6.8.3)');
  t.equal(v.getUint32(16), 1_000_000, 'min rx 1000 ms');
  t.notOk(a.shouldSend());
  t.equal(a.wakeTime(), c.now() + 1000 - 130, 'next after the interval less the jitter (random 0.5: 13 %)');
  a.close();
});

t.test('two sessions come up, go down on silence, come back', async (t) => {
  const c = clock();
  const a = new BfdSession('a', settings({ min_rx: '300', min_tx: '100' }), { now: c.now });
  const b = new BfdSession('b', settings({ min_rx: '300', min_tx: '100' }), { now: c.now });
  const logs: string[] = [];
  a.onLog = (_l, m) => logs.push(m);
  t.match(a.status(), { state: 'down', forwarding: false, diagnostic: 'No Diagnostic', remoteState: 'down' });
  exchange(c, a, b, 3000);
  t.match(a.status(), { state: 'up', forwarding: true, remoteState: 'up' }, 'a up');
  t.match(b.status(), { state: 'up', forwarding: true, remoteState: 'up' }, 'b up');
  t.match(logs.join('\n'), /a: BFD state change: down->(init|up) "No Diagnostic"->"No Diagnostic"/);
  t.match(a.show(), /Local Session State: up\n[^]*Remote Discriminator: 0x[0-9a-f]+\n/);
  t.equal(a.rxInterval(), 300, 'rx interval: max(min_rx, remote min_tx)');
  t.equal(a.txInterval(), 300, 'tx interval: max(min_tx, remote min_rx)');
  t.ok(a.takeStatusChange());
  // b hears nothing: down after 3 x 300 ms, "Control Detection Time Expired"; a then hears b down.
  exchange(c, a, b, 600, { ab: true });
  t.equal(b.status().state, 'up', 'still up after 600 ms');
  exchange(c, a, b, 400, { ab: true });
  t.match(b.status(), { state: 'down', diagnostic: 'Control Detection Time Expired', forwarding: false }, 'b down after the detection time');
  exchange(c, a, b, 400, { ab: true });
  t.match(a.status(), { state: 'down', diagnostic: 'Neighbor Signaled Session Down' }, 'a down: b said so');
  exchange(c, a, b, 4000);
  t.match(a.statusMap(), new Map([['diagnostic', 'Neighbor Signaled Session Down'], ['flap_count', '3'], ['forwarding', 'true'], ['remote_diagnostic', 'Control Detection Time Expired'], ['remote_state', 'up'], ['state', 'up']]), 'up again; three flaps (up, down, up)');
  a.close();
  b.close();
});

t.test('a poll sequence for new intervals; cpath_down; the remote admin down', async (t) => {
  const c = clock();
  const a = new BfdSession('a', settings(), { now: c.now });
  const b = new BfdSession('b', settings(), { now: c.now });
  exchange(c, a, b, 5000);
  t.equal(a.status().state, 'up');
  a.configure(settings({ min_tx: '50', min_rx: '200' }));
  t.match(a.show(), /Local Flags: poll/, 'a polls');
  const poll = a.compose(MAC_A);
  t.equal(poll[43]! & 0x3f, 0x20, 'the P bit is sent');
  deliver(b, poll);
  t.ok(b.shouldSend(), 'b answers at once');
  t.equal(b.wakeTime(), 0);
  const fin = b.compose(MAC_B);
  t.equal(fin[43]! & 0x3f, 0x10, 'with the F bit');
  deliver(a, fin);
  t.match(a.show(), /Local Flags: none\n[^]*Local Minimum TX Interval: 50ms\n {2}Local Minimum RX Interval: 200ms/, 'the poll ends; the new intervals apply');
  exchange(c, a, b, 2000);
  t.equal(b.txInterval(), 200, "b sends as fast as a's new min_rx allows");
  // cpath_down: a says "Concatenated Path Down"; b stops forwarding, a stays up.
  a.configure(settings({ min_tx: '50', min_rx: '200', cpath_down: 'true' }));
  exchange(c, a, b, 3000);
  t.match(a.status(), { state: 'up', diagnostic: 'Concatenated Path Down' });
  t.match(b.status(), { state: 'up', forwarding: false, remoteDiagnostic: 'Concatenated Path Down' }, 'b: not forwarding');
  t.match(a.show(), /Concatenated Path Down: true/);
  // The remote says admin down: down with "Neighbor Signaled Session Down".
  const admin = b.compose(MAC_B);
  admin[43] = (admin[43]! & 0x3f) | BFD_STATE.ADMIN_DOWN;
  deliver(a, admin);
  t.match(a.status(), { state: 'down', diagnostic: 'Concatenated Path Down' }, 'down (cpath_down keeps its diagnostic)');
  a.close();
  b.close();
});

t.test('decay_min_rx on an idle interface; forwarding_if_rx', async (t) => {
  const c = clock();
  let rx = 0;
  let busy = false;
  const a = new BfdSession('a', settings({ min_rx: '100', decay_min_rx: '3000' }), { now: c.now, rxPackets: () => (busy ? (rx += 1000) : rx) });
  const b = new BfdSession('b', settings({ min_rx: '100' }), { now: c.now });
  exchange(c, a, b, 6000);
  t.equal(a.status().state, 'up');
  t.match(a.show(), /Local Minimum RX Interval: 3000ms/, 'idle: decayed to decay_min_rx');
  busy = true;
  exchange(c, a, b, 4000);
  t.match(a.show(), /Local Minimum RX Interval: 100ms/, 'busy: back to min_rx');
  const logs: string[] = [];
  a.onLog = (_l, m) => logs.push(m);
  a.configure(settings({ min_rx: '100', decay_min_rx: '50' }));
  t.match(logs.join('\n'), /decay_min_rx cannot be less than 100 ms/);
  a.close();
  b.close();

  const d = new BfdSession('d', settings({ forwarding_if_rx: 'true' }), { now: c.now });
  const e = new BfdSession('e', settings(), { now: c.now });
  exchange(c, d, e, 5000);
  t.equal(d.status().forwarding, true);
  exchange(c, d, e, 4000, { ba: true });
  t.equal(d.status().state, 'down', 'd down: e is silent');
  d.accountRx();
  t.equal(d.status().forwarding, true, 'data received: still forwarding (forwarding_if_rx)');
  c.advance(3000);
  t.equal(d.status().forwarding, false, 'no data for a while: not forwarding');
  e.accountRx(); // without forwarding_if_rx: nothing
  d.configure(settings({ forwarding_if_rx: 'true', mult: '5' }));
  d.configure(settings());
  d.close();
  e.close();
});

t.test('what a session accepts and what it refuses', async (t) => {
  const c = clock();
  const a = new BfdSession('a', settings({ bfd_src_ip: '10.0.0.1', bfd_remote_dst_mac: '02:00:00:00:00:0a' }), { now: c.now });
  const b = new BfdSession('b', settings({ bfd_dst_ip: '10.0.0.1', bfd_local_dst_mac: '02:00:00:00:00:0a', bfd_local_src_mac: '02:00:00:00:00:99' }), { now: c.now });
  const f = b.compose(MAC_B);
  t.same([...f.subarray(0, 12)], [2, 0, 0, 0, 0, 0x0a, 2, 0, 0, 0, 0, 0x99], 'bfd_local_dst_mac and bfd_local_src_mac');
  t.ok(deliver(a, f), 'to bfd_src_ip and bfd_remote_dst_mac: taken');
  // [byte offset, value, why it is not taken]
  for (const [at, value, what] of [
    [33, 2, 'to another IP: not taken'],
    [5, 0x0b, 'to another MAC: not taken'],
    [23, 6, 'not UDP'],
    [21, 8, 'a later fragment'],
    [37, 0xc9, 'another UDP port'],
  ] as const) {
    const g = f.slice();
    g[at] = value;
    t.notOk(deliver(a, g), what);
  }
  t.notOk(a.accepts(f.subarray(0, 30), 0x0800, 14), 'a runt');
  t.notOk(a.accepts(f.subarray(0, 36), 0x0800, 14), 'no UDP ports');
  t.notOk(a.accepts(f, 0x86dd, 14), 'not IPv4');
  t.ok(a.accepts(f, 0x0800, 14, 5), 'from a tunnel with key 5: taken (check_tnl_key off)');
  const keyed = new BfdSession('k', settings({ check_tnl_key: 'true' }), { now: c.now });
  t.notOk(keyed.accepts(f, 0x0800, 14, 5), 'check_tnl_key: not from a tunnel with key 5');
  t.ok(keyed.accepts(f, 0x0800, 14, 0), 'check_tnl_key: from one without a key (or no tunnel)');
  keyed.close();

  const logs: string[] = [];
  a.onLog = (_l, m) => logs.push(m);
  const mutate = (fn: (g: Uint8Array) => void): Uint8Array => {
    const g = b.compose(MAC_B);
    fn(g);
    return g;
  };
  deliver(a, mutate((g) => (g[22] = 64)));
  t.equal(logs.length, 0, 'TTL 64: dropped silently');
  // Each change to b's packet, and what a logs of it.
  const refused: [(g: Uint8Array) => void, RegExp][] = [
    [(g) => (g[42] = 0x40), /Incorrect version/],
    [(g) => (g[43]! |= 0x04), /Authenticated control message/],
    [(g) => (g[45] = 20), /Unexpected length/],
    [(g) => (g[45] = 28), /Unexpected length/],
    [(g) => (g[44] = 0), /Zero multiplier/],
    [(g) => (g[43]! |= 0x01), /multipoint/],
    [(g) => g.fill(0, 46, 50), /NULL my_disc/],
    [(g) => g.fill(1, 50, 54), /Incorrect your_disc/],
    [(g) => (g[43] = BFD_STATE.UP), /Null your_disc/],
  ];
  for (const [change] of refused) deliver(a, mutate(change));
  deliver(a, f.subarray(0, 60));
  t.match(logs, [...refused.map(([, logged]) => logged), /too-short BFD control message/]);
  a.close();
  b.close();
});

t.test('overrides, texts, settings', async (t) => {
  const c = clock();
  const a = new BfdSession('a', settings(), { now: c.now });
  a.setForwardingOverride(true);
  t.equal(a.status().forwarding, true, 'forced forwarding');
  a.setForwardingOverride(false);
  t.equal(a.status().forwarding, false);
  a.setForwardingOverride(null);
  t.equal(a.forwardingOverride, -1);
  a.close();
  t.equal(bfdStateText(0), 'admin_down');
  t.equal(bfdStateText(5), 'invalid');
  t.equal(bfdDiagText(7), 'Administratively Down');
  t.equal(bfdDiagText(9), 'Invalid Diagnostic');
  t.equal(bfdFlagText(0x3f), 'multipoint demand auth ctl final poll');
  t.equal(bfdSettings({}), null, 'not enabled');
  t.equal(bfdSettings({ enable: 'yes' }), null, 'only "true" enables');
  t.match(bfdSettings({ enable: 'true' }), { minTxMs: 100, minRxMs: 1000, mult: 3, decayMinRxMs: 0, cpathDown: false, srcIp: '169.254.1.1', dstIp: '169.254.1.0', localSrcMac: null });
  t.match(bfdSettings({ enable: 'true', mult: '300', min_tx: '0', min_rx: 'x' }), { mult: 3, minTxMs: 1, minRxMs: 1000 }, 'out of range or no number: defaults, at least 1 ms');
  t.match(bfdSettings({ enable: 'true', mult: '99999999999' }), { mult: 3 });
  t.match(bfdSettings({ enable: 'true', bfd_local_src_mac: '00:00:00:00:00:00' }), { localSrcMac: null }, 'the zero MAC is none');
  const problems: string[] = [];
  t.match(bfdSettings({ enable: 'true', bfd_src_ip: 'nowhere', bfd_dst_ip: '300.1.1.1' }, problems), { srcIp: '169.254.1.1', dstIp: '169.254.1.0' });
  t.same(problems, ['"nowhere" is not a valid IP address', '"300.1.1.1" is not a valid IP address']);
});
