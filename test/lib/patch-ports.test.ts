/**
 * Patch ports between Switch instances in one process, on memory ports: frames cross in both
 * directions through NORMAL and through explicit flows (at once, inside the send, and never
 * rewritten in place for the sending bridge); a peer added late brings the link up and a peer
 * removed takes it down, with PORT_STATUS on a connection; ports without a usable peer drop and
 * count; loops through two or three patch pairs end, and the drops are counted.
 */
import t, { type Test } from 'tap';
import { createSwitch, type AddedPort, type Switch } from '../../lib/switch.js';
import { createPort } from '../../datapath/ports/factory.js';
import type { MemoryPort } from '../../datapath/ports/memory-port.js';
import { PatchPort } from '../../datapath/ports/patch-port.js';
import { PortError } from '../../datapath/ports/port-type.js';
import { MAX_DEPTH, MAX_RESUBMITS, OFP_VERSION, OFPAT, OFPP, OFPPR, OFPPS, OFPT } from '../../protocol/index.js';
import { ethFrame, ipv4Packet, udpDatagram, withL4Checksum4 } from '../datapath/frames.js';
import { OfClient } from '../helpers/of-client.js';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const BCAST = 'ff:ff:ff:ff:ff:ff';
const udp = (src: string, dst: string) => ethFrame(0x0800, withL4Checksum4(ipv4Packet({ proto: 17 }, udpDatagram(1, 2))), { src, dst });

function make(t: Test, config: Parameters<typeof createSwitch>[0] = {}): Switch {
  const sw = createSwitch({ linkPollMs: 0, ...config });
  t.teardown(() => sw.close());
  return sw;
}

/** Every frame a memory port sends, as it is sent (synchronously). */
function record(port: MemoryPort): Uint8Array[] {
  const got: Uint8Array[] = [];
  port.on('frame', (f) => got.push(f));
  return got;
}

/** Two switches, each with memory port m (ofport 1) and patch port (ofport 2) joined to the other's. */
function pair(t: Test, names: [string, string], config: Parameters<typeof createSwitch>[0] = {}) {
  const [a, b] = names;
  const sw1 = make(t, config);
  const sw2 = make(t, config);
  const m1 = sw1.addPort({ name: 'm1', type: 'memory', ofport: 1 }).device;
  const m2 = sw2.addPort({ name: 'm2', type: 'memory', ofport: 1 }).device;
  const p1 = sw1.addPort({ name: a, type: 'patch', ofport: 2, options: { peer: b } });
  const p2 = sw2.addPort({ name: b, type: 'patch', ofport: 2, options: { peer: a } });
  return { sw1, sw2, m1, m2, p1, p2 };
}

t.test('frames cross between two switches through NORMAL, both ways, inside the send', async (t) => {
  const { sw1, sw2, m1, m2, p1, p2 } = pair(t, ['pa', 'pb']);
  const at1 = record(m1);
  const at2 = record(m2);
  t.ok(p1.device instanceof PatchPort);
  t.equal(p1.description.state, OFPPS.LINK_DOWN, 'the first of the pair was added without its peer: down');
  t.equal(p2.description.state, 0, 'the second found the first: link up at once');
  t.equal(sw1.port('pa')?.description.state, 0, 'and the first is up now too');
  t.match(p1.description.hwAddr, /^[0-9a-f][26ae](:[0-9a-f]{2}){5}$/, 'a random locally administered unicast MAC');
  t.not(p1.description.hwAddr, p2.description.hwAddr);
  t.equal(p1.description.curr, 0, 'no speed, as OVS reports');
  const hello = udp(A, BCAST);
  m1.inject(hello);
  t.equal(at2.length, 1, 'flooded into the other switch before inject returned');
  t.same(at2[0], hello, 'unchanged');
  m2.inject(udp(B, A));
  t.equal(at1.length, 1, 'the reply comes back');
  t.same(at1[0], udp(B, A));
  m1.inject(udp(A, B));
  t.equal(at2.length, 2, 'and unicast goes across to the learned address');
  t.same(sw1.macTable().map((e) => [e.port, e.mac]), [[1, A], [2, B]], 'switch 1 learned B behind its patch port');
  t.same(sw2.macTable().map((e) => [e.port, e.mac]), [[1, B], [2, A]]);
  t.match(sw1.port('pa')?.stats, { txPackets: 2n, rxPackets: 1n, txDropped: 0n });
  t.match(sw2.port('pb')?.stats, { txPackets: 1n, rxPackets: 2n });
  t.match(sw1.ports().find((p) => p.name === 'pa'), { type: 'patch' });
});

t.test('explicit flows: each switch sends through its patch port; a rewrite across never changes the sender\'s frame', async (t) => {
  const { sw1, sw2, m1, m2 } = pair(t, ['fa', 'fb'], { failMode: 'secure' });
  const m3 = sw1.addPort({ name: 'm3', type: 'memory', ofport: 3 }).device;
  const [at1, at2, at3] = [record(m1), record(m2), record(m3)];
  // Switch 1 sends out of its patch port first, then out of m3; switch 2 rewrites what it gets.
  sw1.addFlow({ match: { inPort: 1 }, actions: [{ output: 2 }, { output: 3 }] });
  sw2.addFlow({ match: { inPort: 2 }, actions: [{ type: OFPAT.SET_DL_SRC, dlAddr: '02:00:00:00:00:99' }, { output: 1 }] });
  sw2.addFlow({ match: { inPort: 1 }, actions: [{ output: 2 }] });
  sw1.addFlow({ match: { inPort: 2 }, actions: [{ type: OFPAT.STRIP_VLAN }, { output: 1 }] });
  const frame = udp(A, B);
  m1.inject(frame);
  t.equal(at2.length, 1, 'across');
  t.same([...at2[0]!.subarray(6, 12)], [2, 0, 0, 0, 0, 0x99], 'rewritten by switch 2');
  t.equal(at3.length, 1);
  t.same(at3[0], frame, 'switch 1\'s next output still has the frame it received');
  m2.inject(udp(B, A));
  t.same(at1, [udp(B, A)], 'the other way');
  t.equal(sw1.dumpFlows({ inPort: 2 })[0]?.packetCount, 1n, 'the flow on the patch port counted it');
});

t.test('a peer added late brings the link up, removed takes it down: PORT_STATUS; no peer, nothing sent', async (t) => {
  const sw1 = make(t);
  const sw2 = make(t);
  const m1 = sw1.addPort({ name: 'm1', type: 'memory' }).device;
  const m2 = sw2.addPort({ name: 'm2', type: 'memory' }).device;
  const lonely = sw1.addPort({ name: 'la', type: 'patch', options: { peer: 'lb' } });
  t.equal(lonely.description.state, OFPPS.LINK_DOWN, 'no peer yet: link down');
  const l = await sw1.addListener('ptcp:0:127.0.0.1');
  const c = await OfClient.connect(l.port);
  t.teardown(() => c.close());
  await c.monitor();
  t.match(await c.request({ version: OFP_VERSION, type: OFPT.FEATURES_REQUEST, xid: 2 }), { ports: [{ name: 'm1' }, { name: 'la', state: OFPPS.LINK_DOWN }] });
  const at2 = record(m2);
  m1.inject(udp(A, BCAST));
  t.match(sw1.port('la')?.stats, { txPackets: 0n, txDropped: 1n }, 'flooded to the peerless port: dropped and counted');

  const wrong = sw2.addPort({ name: 'lc', type: 'patch', options: { peer: 'la' } });
  t.equal(wrong.description.state, OFPPS.LINK_DOWN, 'a port naming la, which names another: down');
  t.equal(sw1.port('la')?.description.state, OFPPS.LINK_DOWN, 'and la stays down');
  t.ok(sw2.removePort('lc'));

  const events: [number, number, number][] = [];
  sw1.events.on('port-status', (reason, desc) => events.push([reason, desc.portNo, desc.state]));
  const peer = sw2.addPort({ name: 'lb', type: 'patch', options: { peer: 'la' } });
  t.equal(peer.description.state, 0, 'the late peer is up when added');
  t.same(events, [[OFPPR.MODIFY, lonely.ofport, 0]], 'the waiting port came up at once');
  t.match(await c.next((m) => m.type === OFPT.PORT_STATUS), { reason: OFPPR.MODIFY, desc: { portNo: lonely.ofport, name: 'la', state: 0 } });
  m1.inject(udp(A, BCAST));
  t.equal(at2.length, 1, 'frames cross now');

  t.ok(sw2.removePort('lb'));
  t.same(events.at(-1), [OFPPR.MODIFY, lonely.ofport, OFPPS.LINK_DOWN], 'the peer gone: link down at once');
  t.match(await c.next((m) => m.type === OFPT.PORT_STATUS), { reason: OFPPR.MODIFY, desc: { portNo: lonely.ofport, state: OFPPS.LINK_DOWN } });
  m1.inject(udp(A, BCAST));
  t.equal(at2.length, 1, 'nothing crosses any more');
  t.match(sw1.port('la')?.stats, { txPackets: 1n, txDropped: 2n });

  const again = sw2.addPort({ name: 'lb', type: 'patch', options: { peer: 'la' } });
  t.equal(again.description.state, 0, 'a peer added again links again');
  await sw2.close();
  t.equal(sw1.port('la')?.description.state, OFPPS.LINK_DOWN, 'a closed switch takes its patch ports away');
});

t.test('patch port settings are checked; names are unique in the process', async (t) => {
  const sw1 = make(t);
  const sw2 = make(t);
  sw1.addPort({ name: 'ua', type: 'patch', options: { peer: 'ub' } });
  t.throws(() => sw2.addPort({ name: 'ua', type: 'patch', options: { peer: 'uc' } }), new PortError('port ua: a patch port of that name already exists'));
  t.throws(() => sw1.addPort({ name: 'ub', type: 'patch' }), new PortError("port ub: patch type requires valid 'peer' argument"));
  t.throws(() => sw1.addPort({ name: 'ub', type: 'patch', options: { peer: '' } }), new PortError("port ub: patch type requires valid 'peer' argument"));
  t.throws(() => sw1.addPort({ name: 'ub', type: 'patch', options: { peer: true } }), new PortError("port ub: patch type requires valid 'peer' argument"));
  t.throws(() => sw1.addPort({ name: 'ub', type: 'patch', options: { peer: 'ub' } }), new PortError('port ub: patch peer must not be self'));
  t.throws(() => sw1.addPort({ name: 'ub', type: 'patch', options: { peer: 'ua', mac: 'x' } }), /type patch has no option "mac" \(it has peer\)/);
  t.throws(() => new PatchPort('', 'x'), new PortError('a patch port needs a name'));
  t.throws(() => sw1.addPort({ name: 'ud', type: 'patch', ofport: 1, options: { peer: 'ue' } }), /ofport 1 is already taken/);
  const ud = sw2.addPort({ name: 'ud', type: 'patch', options: { peer: 'ue' } });
  t.equal(ud.description.name, 'ud', 'a name refused before its port was made is free again');
});

t.test('a patch port administratively down neither sends nor has carrier; open twice or after close refused', async (t) => {
  const got: Uint8Array[] = [];
  const a = createPort({ name: 'da', type: 'patch', options: { peer: 'db' } }) as PatchPort;
  const b = createPort({ name: 'db', type: 'patch', options: { peer: 'da' } }) as PatchPort;
  t.teardown(() => (a.close(), b.close()));
  const changes: string[] = [];
  a.watchLink(() => changes.push(`a:${a.readLink().carrier}`));
  b.watchLink(() => changes.push(`b:${b.readLink().carrier}`));
  a.open(() => undefined);
  b.open((f) => got.push(f));
  t.same(changes, ['b:true', 'a:true'], 'both watchers told when the pair links');
  t.ok(a.linked && b.linked);
  a.send(new Uint8Array(60));
  t.equal(got.length, 1);
  await a.setAdminUp(false);
  t.match(a.readLink(), { adminUp: false, carrier: false });
  a.send(new Uint8Array(60));
  t.equal(got.length, 1, 'nothing sent while down');
  t.equal(a.txDropped, 1);
  await a.setAdminUp(false);
  await a.setAdminUp(true);
  t.same(changes, ['b:true', 'a:true', 'a:false', 'a:true']);
  const twin = new PatchPort('dc', 'dd');
  twin.open(() => undefined);
  const other = new PatchPort('dx', 'dy');
  t.throws(() => new PatchPort('dc', 'dz'), /a patch port of that name already exists/);
  const [x1, x2] = [new PatchPort('dq', 'dr'), new PatchPort('dq', 'ds')];
  x1.open(() => undefined);
  t.throws(() => x2.open(() => undefined), /port dq: a patch port of that name already exists/, 'made before either opened: the second open is refused');
  x1.close();
  twin.close();
  twin.close();
  t.throws(() => twin.open(() => undefined), /patch port dc is closed/);
  other.close();
});

/**
 * Two switches joined by `pairs` patch pairs, each with one memory port, both flooding (by NORMAL
 * or by a FLOOD flow): a broadcast goes round and round until the bound stops it.
 */
function loop(t: Test, tag: string, pairs: number, flood: 'normal' | 'flood') {
  const config = flood === 'normal' ? {} : { failMode: 'secure' as const };
  const sw1 = make(t, config);
  const sw2 = make(t, config);
  const m1 = sw1.addPort({ name: 'm1', type: 'memory' }).device;
  const m2 = sw2.addPort({ name: 'm2', type: 'memory' }).device;
  const patches: AddedPort<PatchPort>[] = [];
  for (let i = 0; i < pairs; i++) {
    patches.push(sw1.addPort({ name: `${tag}a${i}`, type: 'patch', options: { peer: `${tag}b${i}` } }));
    patches.push(sw2.addPort({ name: `${tag}b${i}`, type: 'patch', options: { peer: `${tag}a${i}` } }));
  }
  if (flood === 'flood') for (const sw of [sw1, sw2]) sw.addFlow({ actions: [{ output: 'flood' }] });
  return { sw1, sw2, m1, m2, patches };
}

for (const flood of ['normal', 'flood'] as const) {
  t.test(`a loop through two patch pairs, both switches ${flood === 'normal' ? 'NORMAL' : 'FLOOD'}: ends after the depth bound, drops counted`, async (t) => {
    const { sw1, sw2, m1, m2, patches } = loop(t, flood === 'normal' ? 'ln' : 'lf', 2, flood);
    const at2 = record(m2);
    const at1 = record(m1);
    m1.inject(udp(A, BCAST));
    const tooDeep = patches.reduce((n, p) => n + p.device.tooDeep, 0);
    t.ok(tooDeep > 0, `dropped at the bound and counted (${tooDeep})`);
    t.ok(at2.length > 0 && at2.length <= 2 * MAX_DEPTH, `m2 got the frame a bounded number of times (${at2.length})`);
    t.ok(at1.length > 0 && at1.length <= 2 * MAX_DEPTH, `and back to m1 (${at1.length})`);
    const dropped = [...sw1.ports(), ...sw2.ports()].reduce((n, p) => n + p.stats.txDropped, 0n);
    t.equal(dropped, BigInt(tooDeep), 'the drops show as tx_dropped of the patch ports');
    at2.length = 0;
    m1.inject(udp(A, BCAST));
    t.ok(at2.length > 0, 'the next frame starts from depth 0 again');
  });
}

t.test('a loop through three patch pairs (the frame doubles at each crossing) stops at the total bound', async (t) => {
  const { m1, m2, patches } = loop(t, 'lt', 3, 'normal');
  let at2 = 0;
  m2.on('frame', () => at2++);
  m1.inject(udp(A, BCAST));
  const crossings = patches.reduce((n, p) => n + p.device.tooDeep, 0);
  t.ok(crossings > 0, `drops counted (${crossings})`);
  t.ok(at2 > MAX_DEPTH && at2 <= MAX_RESUBMITS, `m2 got at most one copy per crossing (${at2})`);
});
