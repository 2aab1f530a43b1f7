/**
 * Port mirroring through the Switch's public interface on memory ports (frames in, frames out):
 * the selection rules of OVS's Mirror table (select_all, select_src_port, select_dst_port,
 * select_vlan), SPAN and RSPAN outputs, one copy per destination, the reserved output port,
 * counters, and the problems OVS logs. Real packets and ovs-vsctl: test/vswitchd/mirror.test.ts.
 */
import t, { type Test } from 'tap';
import { createSwitch, type Switch } from '../../index.js';
import { MirrorError, type MirrorSpec } from '../../lib/switch.js';
import type { Logger } from '../../lib/log.js';
import { MirrorSet } from '../../datapath/mirror.js';
import { OFPP } from '../../protocol/index.js';
import { ethFrame, ipv4Packet, udpDatagram, withL4Checksum4 } from '../datapath/frames.js';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const BCAST = 'ff:ff:ff:ff:ff:ff';
const payload = withL4Checksum4(ipv4Packet({ proto: 17 }, udpDatagram(1, 2)));
const udp = (src: string, dst: string, vlan?: { vid: number; pcp?: number }) => ethFrame(0x0800, payload, { src, dst, ...(vlan ? { vlan } : {}) });

interface Rig {
  sw: Switch;
  /** Frames each port sent, by port name. */
  seen: Map<string, Uint8Array[]>;
  inject(port: string, frame: Uint8Array): void;
  take(port: string): Uint8Array[];
  /** Forgets what every port sent so far. */
  clear(): void;
  logs: string[];
}

function rig(t: Test, ports: { name: string; tag?: number; trunks?: number[]; vlanMode?: 'access' | 'trunk' | 'native-tagged' | 'native-untagged' }[]): Rig {
  const logs: string[] = [];
  const logger: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: (msg: string) => void logs.push(`warn: ${msg}`),
    error: (msg: string) => void logs.push(`error: ${msg}`),
    debugEnabled: false,
    level: 'warn',
    setLevel: () => undefined,
    child: () => logger,
  } as unknown as Logger;
  const sw = createSwitch({ linkPollMs: 0, logger });
  t.teardown(() => sw.close());
  const seen = new Map<string, Uint8Array[]>();
  const devices = new Map<string, { inject(f: Uint8Array): void }>();
  for (const p of ports) {
    const added = sw.addPort({ type: 'memory', ...p });
    const list: Uint8Array[] = [];
    seen.set(p.name, list);
    added.device.on('frame', (f: Uint8Array) => void list.push(f.slice()));
    devices.set(p.name, added.device);
  }
  return {
    sw,
    seen,
    logs,
    inject: (port, frame) => devices.get(port)!.inject(frame),
    take: (port) => seen.get(port)!.splice(0),
    clear: () => {
      for (const list of seen.values()) list.splice(0);
    },
  };
}

const hexOf = (f: Uint8Array): string => Buffer.from(f).toString('hex');
const vidOf = (f: Uint8Array): number | null => (f[12] === 0x81 && f[13] === 0x00 ? ((f[14]! << 8) | f[15]!) & 0xfff : null);

t.test('select_all: every frame in or out, once each, on the reserved output port', async (t) => {
  const r = rig(t, [{ name: 'p1' }, { name: 'p2' }, { name: 'p3' }, { name: 'mon' }]);
  t.same(r.sw.setMirrors([{ name: 'm0', selectAll: true, outputPort: 'mon' }]), [], 'no problem');
  const f = udp(A, BCAST);
  r.inject('p1', f);
  t.same(r.take('p2').map(hexOf), [hexOf(f)], 'flooded to p2');
  t.same(r.take('p3').map(hexOf), [hexOf(f)], 'flooded to p3');
  t.same(r.take('mon').map(hexOf), [hexOf(f)], 'the mirror port got the frame once (not once per output), and was not flooded to');
  t.match(r.sw.mirrors(), [{ id: 'm0', name: 'm0', active: true, txPackets: 1, txBytes: f.length }]);

  // learned: p2 -> A goes straight to p1, mirrored once
  const back = udp(B, A);
  r.inject('p2', back);
  t.same(r.take('p1').length, 1);
  t.same(r.take('p3').length, 0, 'A was learned on p1');
  t.same(r.take('mon').map(hexOf), [hexOf(back)]);

  // what the mirror port receives is dropped, and not mirrored
  r.inject('mon', udp('02:00:00:00:00:99', BCAST));
  for (const p of ['p1', 'p2', 'p3', 'mon']) t.same(r.take(p).length, 0, `nothing out of ${p}`);
  t.match(r.sw.port('mon')!.stats, { rxPackets: 1n }, 'counted as received');
  t.match(r.sw.mirrors(), [{ txPackets: 2, txBytes: f.length + back.length }]);
  t.same(r.sw.macTable().filter((e) => e.port === r.sw.port('mon')!.ofport), [], 'nothing learned on the mirror port');
});

t.test('select_src_port and select_dst_port, by OpenFlow actions as by NORMAL', async (t) => {
  const r = rig(t, [{ name: 'p1' }, { name: 'p2' }, { name: 'p3' }, { name: 'mon' }]);
  r.sw.setMirrors([{ name: 'src', selectSrcPorts: ['p1'], outputPort: 'mon' }]);
  r.inject('p1', udp(A, BCAST));
  t.same(r.take('mon').length, 1, 'entering by p1: mirrored');
  r.inject('p2', udp(B, BCAST));
  t.same(r.take('mon').length, 0, 'entering by p2 and leaving by p1: not a source mirror');

  r.sw.setMirrors([{ name: 'dst', selectDstPorts: ['p1'], outputPort: 'mon' }]);
  r.clear();
  r.inject('p2', udp(B, A));
  t.same(r.take('p1').length, 1);
  t.same(r.take('mon').length, 1, 'leaving by p1: mirrored');
  r.inject('p1', udp(A, B));
  t.same(r.take('mon').length, 0, 'entering by p1: not a destination mirror');

  // an OpenFlow flow that outputs to p1 and p3 explicitly
  r.sw.deleteFlows();
  r.clear();
  r.sw.addFlow({ match: { inPort: 2 }, actions: [{ output: 1 }, { output: 3 }] });
  const f = udp(B, A);
  r.inject('p2', f);
  t.same(r.take('p1').length, 1);
  t.same(r.take('p3').length, 1);
  t.same(r.take('mon').map(hexOf), [hexOf(f)], 'a flow output to p1 is mirrored too');
  t.match(r.sw.mirrors(), [{ name: 'dst', txPackets: 2 }], 'the counters started with the new mirror (a new id)');

  // a flow may still output to the mirror port (OVS allows it); destination selection only sees p1
  r.sw.addFlow({ match: { inPort: 3 }, actions: [{ output: 4 }] });
  r.inject('p3', udp(A, B));
  t.same(r.take('mon').length, 1, 'the flow output to the mirror port');
});

t.test('two mirrors to the same port: one copy; to two ports: one each; a copy is never mirrored back', async (t) => {
  const r = rig(t, [{ name: 'p1' }, { name: 'p2' }, { name: 'mon1' }, { name: 'mon2' }]);
  r.sw.setMirrors([
    { name: 'a', selectSrcPorts: ['p1'], outputPort: 'mon1' },
    { name: 'b', selectDstPorts: ['p2'], outputPort: 'mon1' },
    { name: 'c', selectAll: true, outputPort: 'mon2' },
  ]);
  r.inject('p1', udp(A, B));
  t.same(r.take('p2').length, 1);
  t.same(r.take('mon1').length, 1, 'selected by a and b: one copy');
  t.same(r.take('mon2').length, 1, 'selected by c: one copy (the copy to mon1 leaves by a port c selects, but the packet was already mirrored there)');
  t.match(r.sw.mirrors(), [
    { name: 'a', txPackets: 1 },
    { name: 'b', txPackets: 0 },
    { name: 'c', txPackets: 1 },
  ], 'the duplicate counts nothing');
});

t.test('select_vlan: the VLAN the port puts the frame in; SPAN copies tagged as NORMAL would', async (t) => {
  const r = rig(t, [{ name: 'a10', tag: 10 }, { name: 'a20', tag: 20 }, { name: 'tr' }, { name: 'mon' }]);
  r.sw.setMirrors([{ name: 'v10', selectAll: true, selectVlans: [10], outputPort: 'mon' }]);
  const f = udp(A, BCAST);
  r.inject('a10', f);
  t.same(r.take('tr').map(vidOf), [10], 'the trunk gets it tagged 10');
  const copies = r.take('mon');
  t.same(copies.map(vidOf), [10], 'the mirror copy carries VLAN 10 (mon is a trunk)');
  t.same(copies[0]!.length, f.length + 4);
  r.inject('a20', udp(B, BCAST));
  t.same(r.take('tr').map(vidOf), [20]);
  t.same(r.take('mon').length, 0, 'VLAN 20 is not selected');
  r.inject('tr', udp(B, BCAST, { vid: 10, pcp: 5 }));
  t.same(r.take('a10').length, 1);
  const tagged = r.take('mon');
  t.same(tagged.map(vidOf), [10], 'tagged 10 on the trunk: selected');
  t.equal(tagged[0]![14]! >> 5, 5, 'with its priority');
  r.inject('a10', udp(A, B, { vid: 30 }));
  t.same(r.take('mon').length, 0, 'a tagged frame an access port does not admit is not mirrored');
});

t.test('a mirror port in access mode gets untagged copies', async (t) => {
  const r = rig(t, [{ name: 'tr' }, { name: 'a10', tag: 10 }, { name: 'mon', tag: 99 }]);
  r.sw.setMirrors([{ name: 'm', selectSrcPorts: ['tr'], outputPort: 'mon' }]);
  r.inject('tr', udp(A, BCAST, { vid: 10 }));
  t.same(r.take('mon').map(vidOf), [null], 'untagged, whatever the VLAN');
});

t.test('RSPAN: output_vlan tags the copies and floods them on that VLAN, never to mirror ports', async (t) => {
  const r = rig(t, [{ name: 'p1', tag: 10 }, { name: 'p2', tag: 10 }, { name: 'tr' }, { name: 'r20', tag: 20 }, { name: 'nat', tag: 20, vlanMode: 'native-untagged' }, { name: 'tr30', trunks: [30] }, { name: 'mon' }]);
  r.sw.setMirrors([
    { name: 'rspan', selectSrcPorts: ['p1'], outputVlan: 20 },
    { name: 'span', selectSrcPorts: ['p2'], outputPort: 'mon' },
  ]);
  const f = udp(A, B);
  r.inject('p1', f);
  t.same(r.take('p2').length, 1, 'normal forwarding: p2 (unknown B, VLAN 10)');
  t.same(r.take('tr').map(vidOf), [20, 10], 'the trunk: the copy tagged 20 (mirrored on entry, so first), and the frame in VLAN 10');
  t.same(r.take('r20').map(vidOf), [null], 'the access port of VLAN 20: the copy untagged');
  t.same(r.take('nat').map(vidOf), [null, 10], 'native-untagged of VLAN 20: the copy untagged, the frame tagged 10');
  t.same(r.take('tr30').length, 0, 'a trunk without VLAN 20: nothing');
  t.same(r.take('mon').length, 0, 'a mirror output port: nothing');
  t.same(r.take('p1').length, 0, 'p1 (VLAN 10 access) does not carry 20');
  r.inject('tr', udp(B, A, { vid: 20 }));
  t.same(r.take('r20').length, 1);
  t.same(r.take('tr').length, 0, 'already in VLAN 20 and not from p1: nothing more');
  // reserved multicast is not mirrored to a VLAN
  r.inject('p1', udp(A, '01:80:c2:00:00:00'));
  t.same(r.take('tr').map(vidOf), [10], 'STP address: no RSPAN copy');
  t.match(r.sw.mirrors(), [{ name: 'rspan', txPackets: 2 }, { name: 'span', txPackets: 0 }]);
});

t.test('PACKET_OUT: from a port its source mirrors apply, every output its destination mirrors', async (t) => {
  const r = rig(t, [{ name: 'p1' }, { name: 'p2' }, { name: 'mon' }]);
  r.sw.setMirrors([{ name: 'm', selectAll: true, outputPort: 'mon' }]);
  const path = (r.sw as unknown as { datapath: { path: { execute(f: Uint8Array, i: number, a: unknown[]): void } } }).datapath.path;
  path.execute(udp(A, B), OFPP.NONE, [{ type: 0, port: 2, maxLen: 0 }]);
  t.same(r.take('p2').length, 1);
  t.same(r.take('mon').length, 1, 'output to p2: mirrored');
  path.execute(udp(A, B), OFPP.NONE, [{ type: 0, port: OFPP.FLOOD, maxLen: 0 }]);
  t.same(r.take('mon').length, 2, 'FLOOD reaches the mirror port too, as in OVS: the frame itself and one copy');
  r.clear();
  path.execute(udp(A, B), 3, [{ type: 0, port: 1, maxLen: 0 }]);
  t.same(r.take('p1').length, 0, 'a PACKET_OUT from the reserved port does nothing');
  path.execute(udp(A, B), 1, [{ type: 0, port: OFPP.CONTROLLER, maxLen: 0 }]);
  t.same(r.take('mon').length, 1, 'from p1: its source mirror');
});

t.test('bad configurations: as OVS logs them; ports that come and go', async (t) => {
  const r = rig(t, [{ name: 'p1' }, { name: 'p2' }]);
  const specs: MirrorSpec[] = [
    { name: 'nowhere', selectAll: true, outputPort: 'gone' },
    { name: 'none', selectAll: true },
    { name: 'both', selectSrcPorts: ['p1', 'ghost'], outputPort: 'p2', outputVlan: 5 },
  ];
  t.same(r.sw.setMirrors(specs), [
    'mirror nowhere outputs to port not on bridge',
    'mirror none does not specify output; ignoring',
    'mirror both specifies both output port and output vlan; ignoring output vlan',
    'mirror both cannot match on nonexistent port ghost',
  ]);
  t.same(r.logs, [
    'error: mirror nowhere outputs to port not on bridge',
    'error: mirror none does not specify output; ignoring',
    'error: mirror both specifies both output port and output vlan; ignoring output vlan',
    'warn: mirror both cannot match on nonexistent port ghost',
  ]);
  t.match(r.sw.mirrors(), [{ name: 'nowhere', active: false }, { name: 'none', active: false }, { name: 'both', active: true }]);
  r.sw.setMirrors(specs);
  t.equal(r.logs.length, 4, 'each problem is logged once');
  r.inject('p1', udp(A, B));
  t.same(r.take('p2').length, 1, 'p2 got the copy only: reserved for mirroring, it is not flooded to');

  // the output port comes: the mirror runs; it goes: it stops and its counters go
  const gone = r.sw.addPort({ name: 'gone', type: 'memory' });
  t.match(r.sw.mirrors(), [{ name: 'nowhere', active: true, txPackets: 0 }]);
  let got = 0;
  gone.device.on('frame', () => void got++);
  r.inject('p1', udp(A, B));
  t.equal(got, 1, 'mirrored to the new port');
  t.match(r.sw.mirrors(), [{ name: 'nowhere', txPackets: 1 }]);
  r.sw.removePort('gone');
  t.match(r.sw.mirrors(), [{ name: 'nowhere', active: false, txPackets: 0 }]);

  t.throws(() => r.sw.setMirrors([{ name: 'x', selectVlans: [4096], outputPort: 'p2' }]), MirrorError);
  t.throws(() => r.sw.setMirrors([{ name: 'x', outputVlan: 0 }]), MirrorError);
  t.throws(() => r.sw.setMirrors([{ name: 'x', outputVlan: 3 }, { name: 'x', outputVlan: 4 }]), /given twice/);
  t.throws(() => r.sw.setMirrors([{ name: 5 as unknown as string, outputVlan: 3 }]), /needs a name/);
  const many = Array.from({ length: 33 }, (_, i) => ({ name: `m${i}`, outputVlan: 100 + i }));
  t.same(r.sw.setMirrors(many), ['maximum of 32 port mirrors reached, cannot create m32']);
  t.same(r.sw.setMirrors([]), []);
  t.same(r.sw.mirrors(), []);
  r.clear();
  r.inject('p1', udp(A, B));
  t.same(r.take('p2').length, 1, 'no mirrors: p2 is a plain port again');
});

t.test('MirrorSet checks its rules', async (t) => {
  const ports = { get: () => undefined, list: [] };
  const counters = { txPackets: 0, txBytes: 0 };
  const rule = { name: 'm', selectAll: true, srcPorts: [], dstPorts: [], vlans: [], outputPort: null, outputVlan: null, counters };
  t.throws(() => new MirrorSet([rule], ports, () => undefined), /exactly one/);
  t.throws(() => new MirrorSet([{ ...rule, outputVlan: 4096 }], ports, () => undefined), /1\.\.4095/);
  t.throws(() => new MirrorSet([{ ...rule, outputVlan: 5, vlans: [-1] }], ports, () => undefined), /not a VLAN/);
  t.throws(() => new MirrorSet(Array.from({ length: 33 }, () => ({ ...rule, outputVlan: 5 })), ports, () => undefined), /at most 32/);
  const sent: number[] = [];
  const set = new MirrorSet([{ ...rule, outputPort: 9 }], ports, (portNo) => void sent.push(portNo));
  set.end(); // unbalanced end: nothing under way
  t.equal(set.reserves(9), true);
  set.begin(60);
  set.ingress({ portNo: 1, floods: true, vlan: { mode: 1, vlan: -1, trunks: null } }, udp(A, B));
  set.end();
  t.same(sent, [], 'an output port the ports no longer have: nothing sent');
  t.same(counters, { txPackets: 1, txBytes: 60 }, 'counted as OVS counts it (the output is looked up after)');
});

t.test('a frame that comes back through patch ports is a new packet; the one it came back inside keeps its state', async (t) => {
  const sw1 = createSwitch({ linkPollMs: 0, failMode: 'secure' });
  const sw2 = createSwitch({ linkPollMs: 0, failMode: 'secure' });
  t.teardown(async () => {
    await sw1.close();
    await sw2.close();
  });
  const m = sw1.addPort({ name: 'm', type: 'memory', ofport: 1 });
  const mon = sw1.addPort({ name: 'mon', type: 'memory', ofport: 2 });
  sw1.addPort({ name: 'pa1', type: 'patch', ofport: 3, options: { peer: 'pb1' } });
  sw1.addPort({ name: 'pa2', type: 'patch', ofport: 4, options: { peer: 'pb2' } });
  sw2.addPort({ name: 'pb1', type: 'patch', ofport: 1, options: { peer: 'pa1' } });
  sw2.addPort({ name: 'pb2', type: 'patch', ofport: 2, options: { peer: 'pa2' } });
  // sw1: m -> pa1, then pa2; sw2 sends what comes by pb1 back by pb2, into sw1 by pa2 (dropped there).
  sw1.addFlow({ match: { inPort: 1 }, actions: [{ output: 3 }, { output: 4 }] });
  sw2.addFlow({ match: { inPort: 1 }, actions: [{ output: 2 }] });
  t.same(sw1.setMirrors([{ name: 'x', selectSrcPorts: ['m', 'pa2'], selectDstPorts: ['pa2'], outputPort: 'mon' }]), []);
  let copies = 0;
  mon.device.on('frame', () => void copies++);
  m.device.inject(udp(A, B));
  t.equal(copies, 2, 'one copy as it entered by m, one as it came back by pa2; none as the first left by pa2 (already mirrored)');
  t.match(sw1.mirrors(), [{ txPackets: 2 }]);
});
