import t from 'tap';
import { unpackFlowKey, type FlowKey } from '../../flowtable/flow-key.js';
import { Datapath, type FlowLookup } from '../../datapath/datapath.js';
import { MemoryPort } from '../../datapath/ports/memory-port.js';
import { OFPAT, OFPC_FRAG, OFPP, OFPPC, OFPPF, OFPPR, OFPPS, OFPR } from '../../protocol/constants.js';
import type { Action, PhyPort } from '../../protocol/types.js';
import { ethFrame, ipv4Packet, tcpSegment, udpDatagram, withL4Checksum4 } from './frames.js';

/** A stub flow table: a list of (predicate, actions), first match wins; records lookups. */
class StubTable implements FlowLookup {
  rules: { when: (k: ReturnType<typeof unpackFlowKey>) => boolean; actions: Action[] }[] = [];
  lookups: { fields: ReturnType<typeof unpackFlowKey>; len: number }[] = [];
  lookup(key: FlowKey, len: number) {
    const fields = unpackFlowKey(key);
    this.lookups.push({ fields, len });
    return this.rules.find((r) => r.when(fields)) ?? null;
  }
}

/** A memory port that records what it sends (for take()). */
const mem = (name: string, hwAddr?: string, speedMbps?: number) =>
  new MemoryPort(name, { record: true, ...(hwAddr ? { hwAddr } : {}), ...(speedMbps !== undefined ? { speedMbps } : {}) });
const out = (port: number, maxLen = 0): Action => ({ type: OFPAT.OUTPUT, port, maxLen });
const udp = (o: { src?: string; dst?: string } = {}) => ethFrame(0x0800, withL4Checksum4(ipv4Packet({ proto: 17 }, udpDatagram(1, 2))), o);

function setup(n = 3) {
  const table = new StubTable();
  const misses: { frame: Uint8Array; inPort: number }[] = [];
  const toController: { frame: Uint8Array; inPort: number; maxLen: number; reason: number }[] = [];
  const events: [number, PhyPort][] = [];
  const dp = new Datapath({
    flowTable: table,
    linkPollMs: 0,
    onMiss: (frame, inPort) => misses.push({ frame: frame.slice(), inPort }),
    onController: (frame, inPort, maxLen, reason) => toController.push({ frame: frame.slice(), inPort, maxLen, reason }),
  });
  dp.registry.on('port-status', (reason, desc) => events.push([reason, desc]));
  const ports: MemoryPort[] = [];
  for (let i = 1; i <= n; i++) {
    const p = mem(`mem${i}`, `02:00:00:00:01:0${i}`);
    ports.push(p);
    dp.registry.addPort(p, i);
  }
  const local = mem('memlocal', '02:00:00:00:01:ff');
  dp.registry.addPort(local, OFPP.LOCAL);
  const sentTo = () => [...ports, local].map((p) => p.take().length);
  return { dp, table, misses, toController, events, ports, local, sentTo };
}

t.test('miss goes to onMiss with the in port; lookups get the key and length', async (t) => {
  const { dp, table, misses, ports } = setup();
  const f = udp();
  ports[0]!.inject(f);
  t.equal(misses.length, 1);
  t.equal(misses[0]!.inPort, 1);
  t.equal(table.lookups[0]!.len, f.length);
  t.equal(table.lookups[0]!.fields.tpDst, 2);
  t.equal(dp.registry.portStats(1)[0]!.rxPackets, 1n);
  t.equal(dp.registry.portStats(1)[0]!.rxBytes, BigInt(f.length));
  dp.close();
});

t.test('outputs: port, IN_PORT, FLOOD, ALL, LOCAL, CONTROLLER, NONE; never back out of the input port', async (t) => {
  const s = setup();
  const { table, ports, sentTo, toController, dp } = s;
  const frame = udp();
  const cases: [Action[], number[]][] = [
    [[out(2)], [0, 1, 0, 0]],
    [[out(1)], [0, 0, 0, 0]],
    [[out(OFPP.IN_PORT)], [1, 0, 0, 0]],
    [[out(OFPP.FLOOD)], [0, 1, 1, 1]],
    [[out(OFPP.ALL)], [0, 1, 1, 1]],
    [[out(OFPP.LOCAL)], [0, 0, 0, 1]],
    [[out(OFPP.NONE), out(77), out(OFPP.TABLE)], [0, 0, 0, 0]],
    [[{ type: OFPAT.ENQUEUE, port: 3, queueId: 0 }], [0, 0, 1, 0]],
    [[out(2), out(3)], [0, 1, 1, 0]],
  ];
  for (const [actions, expected] of cases) {
    table.rules = [{ when: () => true, actions }];
    ports[0]!.inject(frame);
    t.same(sentTo(), expected, JSON.stringify(actions));
  }
  table.rules = [{ when: () => true, actions: [out(OFPP.CONTROLLER, 64)] }];
  ports[1]!.inject(frame);
  t.same(toController.map((c) => [c.inPort, c.maxLen, c.reason]), [[2, 64, OFPR.ACTION]]);
  t.equal(dp.registry.portStats(2)[0]!.txPackets, 4n);
  t.equal(dp.registry.portStats().length, 4);
  t.same(dp.registry.portStats(99), []);
  // Frames the interface refused after accepting them are errors, not sent packets.
  ports[1]!.txErrors = 1;
  ports[1]!.rxErrors = 2;
  t.match(dp.registry.portStats(2)[0], { txPackets: 3n, txErrors: 1n, rxErrors: 2n });
  dp.close();
});

t.test('NO_FLOOD, NO_FWD, NO_RECV, NO_PACKET_IN', async (t) => {
  const { dp, table, ports, sentTo, misses, toController, events } = setup();
  const hw = (n: number) => dp.registry.port(n)!.hwAddr;
  t.equal(dp.registry.modifyPort({ portNo: 3, hwAddr: hw(3), config: OFPPC.NO_FLOOD, mask: OFPPC.NO_FLOOD, advertise: 0 }), 'ok');
  t.same(events.at(-1)![0], OFPPR.MODIFY);
  t.equal(events.at(-1)![1].config, OFPPC.NO_FLOOD);
  table.rules = [{ when: () => true, actions: [out(OFPP.FLOOD)] }];
  ports[0]!.inject(udp());
  t.same(sentTo(), [0, 1, 0, 1], 'FLOOD skips NO_FLOOD');
  table.rules = [{ when: () => true, actions: [out(OFPP.ALL)] }];
  ports[0]!.inject(udp());
  t.same(sentTo(), [0, 1, 1, 1], 'ALL does not');
  dp.registry.modifyPort({ portNo: 2, hwAddr: hw(2), config: OFPPC.NO_FWD, mask: OFPPC.NO_FWD, advertise: 0 });
  ports[0]!.inject(udp());
  t.same(sentTo(), [0, 0, 1, 1], 'NO_FWD port sends nothing');
  t.equal(dp.registry.portStats(2)[0]!.txDropped, 1n);
  dp.registry.modifyPort({ portNo: 1, hwAddr: hw(1), config: OFPPC.NO_RECV, mask: OFPPC.NO_RECV, advertise: 0 });
  ports[0]!.inject(udp());
  t.same(sentTo(), [0, 0, 0, 0], 'NO_RECV drops what arrives');
  t.equal(dp.registry.portStats(1)[0]!.rxDropped, 1n);
  dp.registry.modifyPort({ portNo: 1, hwAddr: hw(1), config: OFPPC.NO_PACKET_IN, mask: OFPPC.NO_PACKET_IN | OFPPC.NO_RECV, advertise: 0 });
  table.rules = [];
  ports[0]!.inject(udp());
  table.rules = [{ when: () => true, actions: [out(OFPP.CONTROLLER, 0)] }];
  ports[0]!.inject(udp());
  t.equal(misses.length + toController.length, 0, 'NO_PACKET_IN: nothing to the controller');
  t.equal(dp.registry.modifyPort({ portNo: 9, hwAddr: hw(1), config: 0, mask: 0, advertise: 0 }), 'bad-port');
  t.equal(dp.registry.modifyPort({ portNo: 1, hwAddr: '00:00:00:00:00:00', config: 0, mask: 0, advertise: 0 }), 'bad-hw-addr');
  dp.close();
});

t.test('PORT_DOWN brings the interface down; link changes are noticed as MODIFY', async (t) => {
  const { dp, ports, events } = setup();
  const hw = dp.registry.port(1)!.hwAddr;
  t.equal(dp.registry.modifyPort({ portNo: 1, hwAddr: hw, config: OFPPC.PORT_DOWN, mask: OFPPC.PORT_DOWN, advertise: 0 }), 'ok');
  await new Promise((r) => setImmediate(r));
  t.equal(ports[0]!.link.adminUp, false);
  t.equal(dp.registry.port(1)!.config & OFPPC.PORT_DOWN, OFPPC.PORT_DOWN);
  t.equal(dp.registry.port(1)!.state & OFPPS.LINK_DOWN, OFPPS.LINK_DOWN);
  dp.registry.modifyPort({ portNo: 1, hwAddr: hw, config: 0, mask: OFPPC.PORT_DOWN, advertise: 0 });
  await new Promise((r) => setImmediate(r));
  t.equal(ports[0]!.link.adminUp, true);
  events.length = 0;
  ports[1]!.setCarrier(false);
  dp.registry.pollLinks();
  t.same(events.map(([r, d]) => [r, d.portNo, d.state]), [[OFPPR.MODIFY, 2, OFPPS.LINK_DOWN]]);
  dp.registry.pollLinks();
  t.equal(events.length, 1, 'no change, no event');
  ports[1]!.setCarrier(true);
  dp.registry.pollLinks();
  t.same(events.at(-1)![1].state, 0);
  t.equal(dp.registry.port(2)!.curr, OFPPF['10GB_FD'] | OFPPF.COPPER);
  dp.close();
});

t.test('ports: descriptions, add/remove events, duplicates refused', async (t) => {
  const { dp, events } = setup(2);
  t.same(dp.registry.ports().map((p) => p.portNo), [1, 2, OFPP.LOCAL]);
  t.same(dp.registry.port(1), {
    portNo: 1, hwAddr: '02:00:00:00:01:01', name: 'mem1', config: 0, state: 0,
    curr: OFPPF['10GB_FD'] | OFPPF.COPPER, advertised: 0, supported: 0, peer: 0,
  });
  t.equal(events.filter(([r]) => r === OFPPR.ADD).length, 3);
  t.throws(() => dp.registry.addPort(mem('x'), 1));
  t.throws(() => dp.registry.addPort(mem('mem1'), 5));
  t.throws(() => dp.registry.addPort(mem('y'), 0));
  t.equal(dp.registry.portNoOf('mem2'), 2);
  t.ok(dp.registry.removePort(2));
  t.notOk(dp.registry.removePort(2));
  t.same(events.at(-1)!.slice(0, 1), [OFPPR.DELETE]);
  t.same(dp.registry.ports().map((p) => p.portNo), [1, OFPP.LOCAL]);
  const slow = mem('slow', '02:00:00:00:00:09', 100);
  t.equal(dp.registry.addPort(slow, 3).curr, OFPPF['100MB_FD'] | OFPPF.COPPER);
  dp.registry.removePort(3);
  t.equal(dp.registry.addPort(mem('g', '02:00:00:00:00:09', 1000), 3).curr, OFPPF['1GB_FD'] | OFPPF.COPPER);
  t.equal(dp.registry.addPort(mem('t', '02:00:00:00:00:09', 10), 4).curr, OFPPF['10MB_FD'] | OFPPF.COPPER);
  t.equal(dp.registry.addPort(mem('u', '02:00:00:00:00:09', 0), 5).curr, 0);
  dp.close();
});

t.test('execute (PACKET_OUT): does not modify its frame; TABLE runs the flow table, miss goes to onMiss', async (t) => {
  const { dp, table, ports, sentTo, misses } = setup();
  const f = udp();
  const copy = f.slice();
  dp.path.execute(f, OFPP.NONE, [{ type: OFPAT.SET_NW_DST, nwAddr: 1 }, out(1), out(2)]);
  t.same(f, copy);
  t.same(sentTo(), [1, 1, 0, 0]);
  dp.path.execute(f, 1, [out(OFPP.IN_PORT), out(1)]);
  t.same(sentTo(), [1, 0, 0, 0]);
  table.rules = [{ when: (k) => k.inPort === 2 && k.nwDst === 9, actions: [out(3), out(OFPP.TABLE)] }];
  dp.path.execute(f, 2, [{ type: OFPAT.SET_NW_DST, nwAddr: 9 }, out(OFPP.TABLE)]);
  t.same(sentTo(), [0, 0, 1, 0], 'TABLE inside a flow entry does nothing');
  dp.path.execute(f, 2, [out(OFPP.TABLE)]);
  t.equal(misses.length, 1);
  t.equal(misses[0]!.inPort, 2);
  dp.path.execute(f, OFPP.CONTROLLER, [out(OFPP.FLOOD)]);
  t.same(sentTo(), [1, 1, 1, 1]);
  void ports;
  dp.close();
});

t.test('fragments: dropped in DROP mode, forwarded in NORMAL mode', async (t) => {
  const { dp, table, ports, sentTo } = setup();
  table.rules = [{ when: () => true, actions: [out(2)] }];
  const frag = ethFrame(0x0800, ipv4Packet({ proto: 17, moreFragments: true }, udpDatagram(1, 2)));
  ports[0]!.inject(frag);
  t.same(sentTo(), [0, 1, 0, 0]);
  dp.path.setFragMode(OFPC_FRAG.DROP);
  ports[0]!.inject(frag);
  dp.path.execute(frag, 1, [out(OFPP.TABLE)]);
  t.same(sentTo(), [0, 0, 0, 0]);
  ports[0]!.inject(udp());
  t.same(sentTo(), [0, 1, 0, 0], 'non-fragments still pass');
  dp.path.setFragMode(OFPC_FRAG.NORMAL);
  ports[0]!.inject(frag);
  t.same(sentTo(), [0, 1, 0, 0]);
  dp.close();
});

t.test('NORMAL through the datapath: learns, then forwards to the known port; PACKET_OUT NORMAL learns nothing', async (t) => {
  const { dp, table, ports, sentTo } = setup();
  table.rules = [{ when: () => true, actions: [out(OFPP.NORMAL)] }];
  const A = '02:00:00:00:00:0a';
  const B = '02:00:00:00:00:0b';
  ports[0]!.inject(udp({ src: A, dst: B }));
  t.same(sentTo(), [0, 1, 1, 1]);
  ports[1]!.inject(udp({ src: B, dst: A }));
  t.same(sentTo(), [1, 0, 0, 0]);
  dp.path.execute(udp({ src: '02:00:00:00:00:0c', dst: A }), OFPP.NONE, [out(OFPP.NORMAL)]);
  t.same(sentTo(), [1, 0, 0, 0]);
  dp.path.execute(udp({ src: '02:00:00:00:00:0c', dst: 'ff:ff:ff:ff:ff:ff' }), OFPP.CONTROLLER, [out(OFPP.NORMAL)]);
  t.same(sentTo(), [1, 1, 1, 1], 'from CONTROLLER too: a trunk of every VLAN');
  dp.path.execute(udp({ src: '02:00:00:00:00:0c', dst: A }), 77, [out(OFPP.NORMAL)]);
  t.same(sentTo(), [0, 0, 0, 0], 'from a port that does not exist: dropped, as in OVS');
  t.equal(dp.path.bridge.size, 2);
  dp.registry.removePort(1);
  t.equal(dp.path.bridge.size, 1, 'a removed port forgets its addresses');
  dp.close();
});

t.test('a send that fails counts a tx error; link polling runs on its own timer', async (t) => {
  const table = new StubTable();
  const dp = new Datapath({ flowTable: table, linkPollMs: 20 });
  const a = mem('a');
  const b = mem('b');
  dp.registry.addPort(a, 1);
  dp.registry.addPort(b, 2);
  const events: number[] = [];
  dp.registry.on('port-status', (_r, d) => events.push(d.state));
  b.link = { ...b.link, adminUp: false };
  table.rules = [{ when: () => true, actions: [out(2)] }];
  a.inject(udp());
  t.equal(dp.registry.portStats(2)[0]!.txErrors, 1n);
  await new Promise((r) => setTimeout(r, 60));
  t.same(events, [OFPPS.LINK_DOWN]);
  t.equal(dp.registry.port(2)!.config & OFPPC.PORT_DOWN, OFPPC.PORT_DOWN);
  a.inject(udp());
  t.equal(dp.registry.portStats(2)[0]!.txDropped, 1n, 'a down port drops');
  dp.close();
  void tcpSegment;
});

t.test('miss policy: controller (onMiss, unless NO_PACKET_IN), normal (the bridge at once), drop', async (t) => {
  const { dp, ports, sentTo, misses } = setup();
  const A = '02:00:00:00:00:0a';
  const B = '02:00:00:00:00:0b';
  t.equal(dp.path.missPolicy, 'controller', 'the default');
  dp.path.missPolicy = 'normal';
  ports[0]!.inject(udp({ src: A, dst: B }));
  t.same(sentTo(), [0, 1, 1, 1], 'fail open: flooded by NORMAL');
  ports[1]!.inject(udp({ src: B, dst: A }));
  t.same(sentTo(), [1, 0, 0, 0], 'and learned: straight to A');
  t.equal(misses.length, 0, 'nothing went up');
  const hw = dp.registry.port(1)!.hwAddr;
  dp.registry.modifyPort({ portNo: 1, hwAddr: hw, config: OFPPC.NO_PACKET_IN, mask: OFPPC.NO_PACKET_IN, advertise: 0 });
  ports[0]!.inject(udp({ src: A, dst: B }));
  t.same(sentTo(), [0, 1, 0, 0], 'NO_PACKET_IN does not stop NORMAL');
  dp.path.missPolicy = 'drop';
  ports[0]!.inject(udp());
  t.same(sentTo(), [0, 0, 0, 0], 'drop: nothing');
  dp.path.missPolicy = 'controller';
  ports[0]!.inject(udp());
  t.equal(misses.length, 0, 'NO_PACKET_IN: no miss goes up');
  ports[1]!.inject(udp());
  t.same(misses.map((m) => m.inPort), [2]);
  dp.close();
});

t.test('a port changes its VLAN role at run time', async (t) => {
  const { dp, table, ports, sentTo } = setup();
  table.rules = [{ when: () => true, actions: [out(OFPP.NORMAL)] }];
  t.ok(dp.registry.setPortVlan(3, { tag: 10 }));
  ports[0]!.inject(udp());
  t.same(sentTo(), [0, 1, 0, 1], 'port 3 is on VLAN 10 now: VLAN 0 floods skip it');
  t.ok(dp.registry.setPortVlan(3, { trunks: [0, 10] }));
  ports[0]!.inject(udp());
  t.same(sentTo(), [0, 1, 1, 1], 'a trunk carrying VLAN 0 gets it again');
  t.notOk(dp.registry.setPortVlan(9, {}));
  dp.close();
});

t.test('a port removed while its watcher is still around is not polled', async (t) => {
  const { dp, ports, events } = setup();
  dp.registry.removePort(1);
  events.length = 0;
  ports[0]!.setCarrier(false);
  dp.registry.pollLinks();
  t.same(events, [], 'no MODIFY for a port that is gone');
  dp.close();
});
