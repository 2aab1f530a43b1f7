/**
 * The protocol machines (stp/stp.ts, stp/rstp.ts) and the BPDU codec on their own: bridges wired
 * by in-memory links whose BPDUs go through encodeBpdu/decodeBpdu, time moved by tick.
 */
import t, { type Test } from 'tap';
import { OFPPS, STP_FLAG } from '../../protocol/constants.js';
import { bridgeId, decodeBpdu, encodeBpdu, isBpduFrame, rstpIdText, stpIdText, type Bpdu } from '../../stp/bpdu.js';
import { Rstp } from '../../stp/rstp.js';
import { Stp, stpBridgeTimes } from '../../stp/stp.js';
import type { SpanningTree, TreeOutputs } from '../../stp/tree.js';

const MAC = new Uint8Array([2, 0, 0, 0, 0, 1]);

/** Bridges joined by links; BPDUs cross a link (through the codec) only while it is up. */
class Net {
  readonly trees = new Map<string, SpanningTree>();
  readonly links: { a: [string, number]; b: [string, number]; up: boolean; mute?: boolean }[] = [];
  readonly flushes = new Map<string, number>();
  private readonly queue: { to: [string, number]; frame: Uint8Array }[] = [];
  readonly sent: { from: string; port: number; bpdu: Bpdu }[] = [];

  outputs(name: string): TreeOutputs {
    return {
      send: (key, bpdu) => {
        this.sent.push({ from: name, port: key, bpdu });
        for (const l of this.links) {
          if (!l.up || l.mute) continue;
          if (l.a[0] === name && l.a[1] === key) this.queue.push({ to: l.b, frame: encodeBpdu(MAC, bpdu) });
          else if (l.b[0] === name && l.b[1] === key) this.queue.push({ to: l.a, frame: encodeBpdu(MAC, bpdu) });
        }
      },
      flush: () => this.flushes.set(name, (this.flushes.get(name) ?? 0) + 1),
    };
  }

  deliver(): void {
    for (let n = 0; this.queue.length > 0 && n < 10_000; n++) {
      const { to, frame } = this.queue.shift()!;
      const bpdu = decodeBpdu(frame);
      if (typeof bpdu === 'string') throw new Error(bpdu);
      this.trees.get(to[0])!.receive(to[1], bpdu);
    }
  }

  run(ms: number, step = 100): void {
    for (let t = 0; t < ms; t += step) {
      for (const tree of this.trees.values()) tree.tick(step);
      this.deliver();
    }
  }

  setLink(i: number, up: boolean): void {
    const l = this.links[i]!;
    l.up = up;
    this.trees.get(l.a[0])!.setPortEnabled(l.a[1], up);
    this.trees.get(l.b[0])!.setPortEnabled(l.b[1], up);
    this.deliver();
  }
}

const port = (name: string, portNum: number, pathCost: number) => ({ name, portNum, priority: 128, pathCost });

/** Bridges `a` and `b` in `net`, joined by two links: a1-b1 and a2-b2, each port of path cost `cost`. */
function joinTwice(net: Net, a: SpanningTree, b: SpanningTree, cost: number): void {
  net.trees.set('a', a).set('b', b);
  net.links.push({ a: ['a', 1], b: ['b', 1], up: true }, { a: ['a', 2], b: ['b', 2], up: true });
  a.addPort(1, port('a1', 1, cost), true);
  a.addPort(2, port('a2', 2, cost), true);
  b.addPort(1, port('b1', 1, cost), true);
  b.addPort(2, port('b2', 2, cost), true);
}

/**
 * Mutes link 0 (b's root port: BPDUs stop, the link stays up) for 7 s, `aged` checking that b has
 * moved its root port; then b counts a receive error on port 1 and port 2 is removed (twice).
 */
function ageOutThenRemove(t: Test, net: Net, b: SpanningTree, aged: () => void): void {
  net.links[0]!.mute = true;
  net.run(7000);
  aged();
  net.links[0]!.mute = false;
  b.receiveError(1);
  t.equal(b.counters(1)!.errors, 1);
  b.removePort(2);
  b.removePort(2);
  t.notOk(b.hasPort(2));
}

t.test('BPDU codec: config, RST and TCN BPDUs round trip; bad frames are named', async (t) => {
  const config: Bpdu = { type: 'config', flags: STP_FLAG.TOPOLOGY_CHANGE | STP_FLAG.PROPOSAL, rootId: bridgeId(4096, 0x0200000000aan), rootPathCost: 4, bridgeId: bridgeId(32768, 0x0200000000bbn), portId: 0x8002, messageAge: 256, maxAge: 20 * 256, helloTime: 512, forwardDelay: 15 * 256 };
  const f = encodeBpdu(MAC, config);
  t.equal(f.length, 60, 'padded to 60 bytes');
  t.same([...f.subarray(0, 6)], [1, 0x80, 0xc2, 0, 0, 0], 'to the bridge group address');
  t.same([...f.subarray(12, 17)], [0, 38, 0x42, 0x42, 3], '802.3 length 38, LLC 42 42 03');
  t.ok(isBpduFrame(f));
  t.same(decodeBpdu(f), { ...config, flags: STP_FLAG.TOPOLOGY_CHANGE }, 'an 802.1D BPDU carries only TC and TCA');
  const rst: Bpdu = { ...config, type: 'rstp', flags: 0x7f };
  const r = encodeBpdu(MAC, rst);
  t.same([r[17 + 2], r[17 + 3], r[17 + 35]], [2, 2, 0], 'version 2, type 2, version 1 length 0');
  t.same(decodeBpdu(r), rst);
  t.same(decodeBpdu(encodeBpdu(MAC, { type: 'tcn' })), { type: 'tcn' });
  const bad = (mutate: (g: Uint8Array) => Uint8Array): string => decodeBpdu(mutate(f.slice())) as string;
  t.match(bad((g) => ((g[0] = 0), g)), /not an 802\.3 frame/);
  t.match(bad((g) => g.subarray(0, 18)), /too short/);
  t.match(bad((g) => ((g[14] = 0xaa), g)), /LLC/);
  t.match(bad((g) => ((g[17] = 1), g)), /protocol identifier/);
  t.match(bad((g) => ((g[20] = 0x33), g)), /unknown BPDU type 51/);
  t.match(bad((g) => ((g[20] = 2), g.subarray(0, 52))), /BPDU too short/);
  t.equal(stpIdText(bridgeId(0x8000, 0x0a1b2c3d4e5fn)), '8000.0a1b2c3d4e5f');
  t.equal(rstpIdText(bridgeId(0x8000, 0x0a1b2c3d4e5fn)), '8.000.0a1b2c3d4e5f');
  t.same(stpBridgeTimes(1, 6, 4), { hello: 256, maxAge: 6 * 256, fwd: 4 * 256 }, 'OVS clamps: forward delay >= max age / 2 + 1');
  t.same(stpBridgeTimes(0, 100, 1), { hello: 256, maxAge: 40 * 256, fwd: 21 * 256 });
});

function stpPair(rootPriority = 4096) {
  const net = new Net();
  const a = new Stp({ name: 'a', bridgeId: bridgeId(rootPriority, 0xaan), helloTime: 1, maxAge: 6, forwardDelay: 4 }, net.outputs('a'));
  const b = new Stp({ name: 'b', bridgeId: bridgeId(32768, 0xbbn), helloTime: 1, maxAge: 6, forwardDelay: 4 }, net.outputs('b'));
  joinTwice(net, a, b, 2);
  a.addPort(3, port('a3', 3, 2), false);
  b.addPort(3, port('b3', 3, 2), true);
  net.deliver();
  return { net, a, b };
}

t.test('802.1D: two bridges, two links: one blocks; failover; message age; TCN', async (t) => {
  const { net, a, b } = stpPair();
  net.run(1100);
  t.equal(b.stateOf(1), 'listening', 'the root port listens after the first hello');
  t.equal(b.stateOf(2), 'blocking', 'the other blocks');
  t.equal(b.ofState(2), OFPPS.STP_BLOCK);
  t.notOk(b.learning(2));
  net.run(3100);
  t.equal(b.stateOf(1), 'learning', 'learning after one forward delay');
  t.equal(b.ofState(1), OFPPS.STP_LEARN);
  t.ok(b.learning(1) && !b.forwarding(1));
  net.run(4100);
  t.equal(b.stateOf(1), 'forwarding', 'forwarding after two');
  t.equal(a.stateOf(1), 'forwarding');
  t.equal(a.stateOf(2), 'forwarding', 'the root forwards on both links');
  t.equal(b.roleOf(2), 'alternate');
  t.equal(b.roleOf(1), 'root');
  t.equal(a.roleOf(1), 'designated');
  t.equal(a.roleOf(3), 'designated', 'a disabled port is designated for its segment (as OVS names it)');
  t.ok(a.forwarding(3) && a.learning(3) && a.ofState(3) === 0, 'a disabled port is not held');
  t.ok(a.forwarding(99) && a.learning(99), 'nor a port outside the tree');
  t.same(b.bridgeStatus(), { stp_bridge_id: '8000.0000000000bb', stp_designated_root: '1000.0000000000aa', stp_root_path_cost: '2' });
  t.same(b.portStatus(2), { stp_port_id: '32770', stp_role: 'alternate', stp_sec_in_state: String(Math.floor(b.portStatus(2)!['stp_sec_in_state'] as unknown as number)), stp_state: 'blocking' });
  t.equal(b.portStatus(7), null);
  t.ok(b.counters(1)!.rx > 5 && b.counters(2)!.rx > 5 && a.counters(1)!.tx > 5, 'BPDUs counted');
  t.equal(b.counters(7), null);
  t.match(b.show(), /^---- b ----\nRoot ID:\n  stp-priority  4096\n  stp-system-id   00:00:00:00:00:aa\n  stp-hello-time  1s\n  stp-max-age     6s\n  stp-fwd-delay   4s\n  root-port       b1\n  root-path-cost  2\n\nBridge ID:\n  stp-priority  32768\n/);
  t.match(b.show(), /  b2         alternate  blocking   2     128\.2\n  b3         designated forwarding 2     128\.3\n\n$/);
  t.match(a.show(), /This bridge is the root\n/);
  t.notMatch(a.show(), /a3/, 'disabled ports are left out');

  // The root port's link goes down: the alternate listens, learns, forwards; a TCN reaches the root.
  const flushes = net.flushes.get('a') ?? 0;
  net.setLink(0, false);
  t.equal(b.roleOf(2), 'root');
  t.equal(b.stateOf(2), 'listening');
  net.run(8200);
  t.equal(b.stateOf(2), 'forwarding', 'the other link forwards after two forward delays');
  t.ok(net.sent.some((s) => s.from === 'b' && s.bpdu.type === 'tcn'), 'b sent a TCN');
  t.ok((net.flushes.get('a') ?? 0) > flushes, 'the root flushed its MAC table');
  net.run(12_000);
  net.setLink(0, true);
  net.run(9000);
  t.equal(b.roleOf(1), 'root', 'the first link is back as the root port');
  t.equal(b.stateOf(2), 'blocking');

  // BPDUs stop on the root port's link without the link going down: its information ages out.
  ageOutThenRemove(t, net, b, () => t.equal(b.roleOf(2), 'root', 'after max age the other link is the root port'));
  net.run(9000);
  t.equal(b.roleOf(1), 'root');
  a.setPortEnabled(3, true);
  t.equal(a.stateOf(3), 'listening');
  a.setPortEnabled(3, true);
});

t.test('802.1D: the root gives up being the root', async (t) => {
  const { net, a, b } = stpPair(40000);
  net.run(1100);
  t.equal(a.roleOf(1), 'root', 'b is the root (lower priority)');
  net.setLink(0, false);
  net.setLink(1, false);
  t.match(a.show(), /This bridge is the root/, 'a with no links is its own root');
  t.equal(b.bridgeStatus()['stp_root_path_cost'], '0');
});

function rstpPair(opts: { aPriority?: number; stpB?: boolean } = {}) {
  const net = new Net();
  const a = new Rstp({ name: 'a', bridgeId: bridgeId(opts.aPriority ?? 4096, 0xaan), ...(opts.stpB ? { forwardDelay: 4, maxAge: 6 } : {}) }, net.outputs('a'));
  const b = opts.stpB
    ? new Stp({ name: 'b', bridgeId: bridgeId(32768, 0xbbn), helloTime: 1, maxAge: 6, forwardDelay: 4 }, net.outputs('b'))
    : new Rstp({ name: 'b', bridgeId: bridgeId(32768, 0xbbn), forwardDelay: 4, maxAge: 6 }, net.outputs('b'));
  joinTwice(net, a, b, 2000);
  a.addPort(3, port('a3', 3, 2000), true, { autoEdge: true });
  a.addPort(4, port('a4', 4, 2000), true, { adminEdge: true });
  net.deliver();
  return { net, a, b };
}

t.test('802.1w: proposal and agreement converge at once; failover to the alternate', async (t) => {
  const { net, a, b } = rstpPair();
  const rb = b as Rstp;
  t.equal(rb.roleOf(1), 'Root');
  t.equal(rb.stateOf(1), 'Forwarding', 'the root port forwards at once');
  t.equal(rb.roleOf(2), 'Alternate');
  t.equal(rb.stateOf(2), 'Discarding');
  t.equal(a.stateOf(1), 'Forwarding', 'the designated port forwards on the agreement');
  t.equal(a.stateOf(2), 'Forwarding', 'so does the other (the alternate agreed)');
  t.equal(a.stateOf(4), 'Forwarding', 'an admin edge port forwards at once');
  t.equal(a.stateOf(3), 'Discarding', 'an auto edge port waits');
  net.run(3100);
  t.equal(a.stateOf(3), 'Forwarding', 'and forwards after 3 s without BPDUs');
  t.equal(b.ofState(2), OFPPS.STP_LISTEN);
  t.equal(b.ofState(1), OFPPS.STP_FORWARD);
  t.ok(!b.forwarding(2) && !b.learning(2) && b.forwarding(1));
  t.same(b.bridgeStatus(), {
    rstp_bridge_id: '8.000.0000000000bb', rstp_bridge_port_id: '8001', rstp_designated_id: '1.000.0000000000aa',
    rstp_designated_port_id: '8001', rstp_root_id: '1.000.0000000000aa', rstp_root_path_cost: '2000',
  });
  t.same(a.bridgeStatus()['rstp_bridge_port_id'], '0000');
  t.same(b.portStatus(2), {
    rstp_designated_bridge_id: '1.000.0000000000aa', rstp_designated_path_cost: '0', rstp_designated_port_id: '8002',
    rstp_port_id: '8002', rstp_port_role: 'Alternate', rstp_port_state: 'Discarding',
  });
  t.equal(b.portStatus(9), null);
  t.equal(rb.uptime(1), 3);
  t.equal(rb.uptime(9), 0);
  t.match(b.show(), /^---- b ----\nRoot ID:\n  stp-priority    4096\n  stp-system-id   00:00:00:00:00:aa\n  stp-hello-time  2s\n  stp-max-age     20s\n  stp-fwd-delay   15s\n  root-port       b1\n  root-path-cost  2000\n/);
  t.match(b.show(), /  b2         Alternate  Discarding 2000     128\.2\n\n$/);
  t.match(a.show(), /This bridge is the root\n[^]*  a4         Designated Forwarding 2000     128\.4\n/);

  net.setLink(0, false);
  t.equal(rb.roleOf(2), 'Root');
  t.equal(rb.stateOf(2), 'Forwarding', 'the alternate forwards at once');
  t.equal(rb.stateOf(1), 'Disabled');
  t.notMatch(b.show(), /b1/, 'a disabled port is left out of rstp/show');
  net.run(5000);
  net.setLink(0, true);
  net.run(100);
  t.equal(rb.roleOf(1), 'Root', 'back');
  t.equal(rb.stateOf(2), 'Discarding');
  // The root stops speaking on the root port's link: the information ages out (3 hello times).
  ageOutThenRemove(t, net, b, () => t.equal(rb.roleOf(2), 'Root', 'aged out: the other link is the root port'));
  t.equal(b.counters(9), null);
  b.receive(9, { type: 'tcn' });
  net.run(7000);
  t.equal(rb.roleOf(1), 'Root');
  t.ok(b.forwarding(99) && b.learning(99), 'a port outside the tree is not held');
});

t.test('802.1w: a new root takes over; topology changes flush', async (t) => {
  const { net, a, b } = rstpPair({ aPriority: 61440 });
  t.equal((a as Rstp).roleOf(1), 'Root', 'b is the root');
  t.equal((a as Rstp).roleOf(3), 'Designated');
  const before = net.flushes.get('b') ?? 0;
  net.run(3000);
  t.ok(net.sent.some((s) => s.bpdu.type !== 'tcn' && (s.bpdu.flags & STP_FLAG.TOPOLOGY_CHANGE) !== 0), 'TC flags were sent');
  t.ok((net.flushes.get('b') ?? 0) >= before, 'flushes counted');
  b.receive(1, { type: 'tcn' });
  t.equal((b as Rstp).stateOf(1), 'Forwarding');
});

t.test('802.1w against an 802.1D bridge: it answers with configuration BPDUs', async (t) => {
  const { net, a, b } = rstpPair({ stpB: true });
  // b counts a's RST BPDUs as errors and ignores them (OVS's stp_received_bpdu): it speaks as the root
  t.ok(b.counters(1)!.errors >= 1, 'the 802.1D bridge counts RST BPDUs as errors');
  t.equal(b.counters(1)!.rx, 0, 'not as received');
  t.equal((b as Stp).roleOf(1), 'designated', 'and ignores them');
  net.run(4000);
  // after its migrate time a senses b's configuration BPDUs and answers in 802.1D
  net.run(9000);
  t.equal((b as Stp).roleOf(1), 'root');
  t.equal((b as Stp).stateOf(1), 'forwarding');
  t.equal((b as Stp).stateOf(2), 'blocking');
  t.ok(net.sent.some((s) => s.from === 'a' && s.bpdu.type === 'config'), 'the RSTP bridge sent 802.1D BPDUs');
  t.equal((a as Rstp).stateOf(1), 'Forwarding', 'after two forward delays');
  net.setLink(0, false);
  net.run(9000);
  t.equal((b as Stp).stateOf(2), 'forwarding', 'failover through the timers');
});
