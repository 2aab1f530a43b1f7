/**
 * The spanning tree inside Switch (lib/switch.ts, datapath/spanning-tree.ts, the packet path's
 * gates), in process: two switches whose memory ports are wired into a loop of two links, a host
 * port on each, and the show commands over a stand-in registry.
 */
import t from 'tap';
import { Switch } from '../../lib/switch.js';
import { SpanningTreeError, checkSpanningTreeSpec, resolveSpanningTree, rstpCost, spanningTreeFromOtherConfig, stpCost } from '../../lib/spanning-tree.js';
import { registerSpanningTreeCommands } from '../../lib/spanning-tree-commands.js';
import type { MemoryPort } from '../../datapath/ports/memory-port.js';
import { OFPP, OFPPS, OFPPR } from '../../protocol/constants.js';
import { Datapath } from '../../datapath/datapath.js';
import { MemoryPort as Mem } from '../../datapath/ports/memory-port.js';
import { DropLog } from '../../datapath/drop-record.js';
import type { UnixctlHandler } from '../../unixctl/index.js';
import { waitFor } from '../helpers/wait.js';

const BROADCAST = (src: number): Uint8Array => {
  const f = new Uint8Array(60);
  f.fill(0xff, 0, 6);
  f.set([2, 0, 0, 0, 9, src], 6);
  f[12] = 0x08;
  f[13] = 0x06;
  return f;
};

function wire(a: MemoryPort, b: MemoryPort): { cut(): void } {
  let up = true;
  a.on('frame', (f) => setImmediate(() => up && b.inject(f)));
  b.on('frame', (f) => setImmediate(() => up && a.inject(f)));
  return {
    cut: () => {
      up = false;
      a.link = { ...a.link, carrier: false };
      b.link = { ...b.link, carrier: false };
    },
  };
}

t.test('two switches, two links, RSTP then STP: one link held; FLOOD and ALL; failover', async (t) => {
  const A = new Switch({ linkPollMs: 50 });
  const B = new Switch({ linkPollMs: 50 });
  t.teardown(async () => {
    await A.close();
    await B.close();
  });
  const mem = (sw: Switch, name: string, mac: string): MemoryPort => sw.addPort({ name, type: 'memory', options: { mac } }).device as MemoryPort;
  const a1 = mem(A, 'a1', '02:00:00:00:0a:01');
  const a2 = mem(A, 'a2', '02:00:00:00:0a:02');
  const ah = mem(A, 'ah', '02:00:00:00:0a:03');
  const b1 = mem(B, 'b1', '02:00:00:00:0b:01');
  const b2 = mem(B, 'b2', '02:00:00:00:0b:02');
  const bh = new Mem('bh', { record: true, hwAddr: '02:00:00:00:0b:03' });
  B.addPort({ name: 'bh', type: 'memory', options: { mac: '02:00:00:00:0b:03' } });
  const bhDev = B.port('bh')!;
  t.ok(bhDev, 'host port on B');
  void bh;
  const link1 = wire(a1, b1);
  wire(a2, b2);
  const statuses: number[] = [];
  B.events.on('port-status', (reason, desc) => {
    if (reason === OFPPR.MODIFY) statuses.push(desc.state);
  });
  let changes = 0;
  B.events.on('spanning-tree', () => changes++);

  A.setSpanningTree({ protocol: 'rstp', name: 'A', priority: 4096, ports: { ah: { adminEdge: true } } });
  B.setSpanningTree({ protocol: 'rstp', name: 'B', ports: { bh: { adminEdge: true } } });
  const roles = (): string => B.spanningTree()!.show();
  await waitFor(() => /Root       Forwarding/.test(roles()) && /Alternate  Discarding/.test(roles()), 5000);
  await waitFor(() => (A.spanningTree()!.show().match(/Designated Forwarding/g) ?? []).length === 3, 5000);
  t.pass(`converged:\n${roles()}`);
  t.ok(changes > 0, "the switch told of the tree's changes");
  const state = (sw: Switch, name: string): number => sw.port(name)!.description.state & OFPPS.STP_MASK;
  t.equal(state(B, 'b1'), OFPPS.STP_FORWARD, 'b1 forwards');
  t.equal(state(B, 'b2'), OFPPS.STP_LISTEN, 'b2 discards (STP_LISTEN)');
  t.ok(statuses.includes(OFPPS.STP_FORWARD), 'PORT_STATUS MODIFY carried the STP bits');

  // A broadcast from A's host reaches B once, over b1 only (b2 is held): no loop.
  const seen: Uint8Array[] = [];
  const bhPort = B.port('bh')!;
  void bhPort;
  const bhMem = (B as unknown as { portsByName: Map<string, { device: MemoryPort }> }).portsByName.get('bh')!.device;
  bhMem.on('frame', (f) => seen.push(f));
  ah.inject(BROADCAST(1));
  await new Promise((r) => setTimeout(r, 200));
  t.equal(seen.filter((f) => f[11] === 1).length, 1, 'the broadcast reaches B\'s host once');

  // FLOOD from a controller flow skips the held port; ALL does not.
  const sentOn = (p: MemoryPort): (() => number) => {
    let n = 0;
    p.on('frame', () => n++);
    return () => n;
  };
  const b2Sent = sentOn(b2);
  const b1Sent = sentOn(b1);
  B.addFlow({ match: { inPort: B.port('bh')!.ofport }, priority: 100, actions: [{ output: 'flood' }] });
  bhMem.inject(BROADCAST(2));
  t.equal(b2Sent(), 0, 'FLOOD: nothing out of the held port');
  t.equal(b1Sent(), 1, 'FLOOD: out of the forwarding one');
  B.addFlow({ match: { inPort: B.port('bh')!.ofport }, priority: 100, actions: [{ output: 'all' }] });
  bhMem.inject(BROADCAST(3));
  t.equal(b2Sent(), 1, 'ALL: out of the held port too (as OVS)');
  B.addFlow({ match: { inPort: B.port('bh')!.ofport }, priority: 100, actions: [{ output: B.port('b2')!.ofport }] });
  bhMem.inject(BROADCAST(4));
  t.equal(b2Sent(), 1, 'output:b2 is dropped while it is held');
  t.ok(B.dropLog().records().some((e) => /not forwarding \(spanning tree\)/.test(e.text)), 'ofswitch/drops names the spanning tree');
  B.deleteFlows();
  B.addFlow({ priority: 0, actions: [{ output: 'normal' }] });

  // The root port's link goes: the alternate forwards at once.
  link1.cut();
  await waitFor(() => /b2\s+Root       Forwarding/.test(roles()), 3000);
  t.pass('failover to b2');

  // Back to no tree: every port forwards, no STP bits.
  B.setSpanningTree(null);
  t.equal(B.spanningTree(), null);
  t.equal(state(B, 'b2'), 0, 'no STP bits without a tree');
  // STP on A (RSTP replaced), a port added and removed while it runs.
  A.setSpanningTree({ protocol: 'stp', name: 'A', priority: 4096, helloTime: 1, maxAge: 6, forwardDelay: 4, ports: { a2: { pathCost: 9 } } });
  t.match(A.spanningTree()!.show(), /a2         designated listening  9     128\.2\n/, 'STP with the path cost given');
  mem(A, 'a4', '02:00:00:00:0a:04');
  t.match(A.spanningTree()!.show(), /a4         designated listening  2     128\.4\n/, 'a port added joins the tree');
  A.removePort('a4');
  t.notMatch(A.spanningTree()!.show(), /a4/, 'and leaves it');
  A.setSpanningTree({ protocol: 'stp', name: 'A', priority: 8192, ports: { a2: { pathCost: 9 } } });
  t.match(A.spanningTree()!.show(), /stp-priority  8192/, 'new bridge settings: a new machine');
  t.throws(() => A.setSpanningTree({ protocol: 'xstp' as 'stp' }), SpanningTreeError);
});

t.test('a port held by the tree: learning ports learn and send nothing; blocked ones drop', async (t) => {
  const drops = new DropLog();
  const misses: number[] = [];
  const dp = new Datapath({ flowTable: { lookup: () => null }, linkPollMs: 0, drops, onMiss: (_f, p) => misses.push(p) });
  t.teardown(() => dp.close());
  const ports = [1, 2, 3].map((i) => {
    const p = new Mem(`m${i}`, { record: true, hwAddr: `02:00:00:00:01:0${i}` });
    dp.registry.addPort(p, i);
    return p;
  });
  dp.path.missPolicy = 'normal';
  dp.path.setBpduGate({ takes: () => false });
  dp.registry.setStpState(1, false, true, OFPPS.STP_LEARN);
  ports[0]!.inject(BROADCAST(7));
  t.same(ports.map((p) => p.take().length), [0, 0, 0], 'a learning port sends nothing on');
  t.equal(dp.path.bridge.lookup(0, 0x020000000907), 1, 'but NORMAL learned the source');
  dp.path.missPolicy = 'controller';
  ports[0]!.inject(BROADCAST(7));
  t.same(misses, [], 'nor is anything sent to the controller');
  dp.registry.setStpState(1, false, false, OFPPS.STP_BLOCK);
  ports[0]!.inject(BROADCAST(8));
  t.same(misses, [], 'a blocked port drops');
  t.equal(dp.registry.port(1)!.state & OFPPS.STP_MASK, OFPPS.STP_BLOCK);
  dp.registry.setStpState(9, true, true, 0);
  const reasons = drops.records().map((e) => e.text);
  t.ok(reasons.some((r) => /learning, not forwarding/.test(r)) && reasons.some((r) => /not learning or forwarding/.test(r)), 'drops named');
  dp.path.sendBpdu(9, BROADCAST(1));
  t.equal(OFPP.LOCAL, 0xfffe);
});

t.test('settings: resolution as ovs-vswitchd does it, other_config parsing, errors', async (t) => {
  t.same([10000, 1000, 100, 16, 10, 4, 0].map(stpCost), [2, 4, 19, 62, 100, 250, 2]);
  t.same([10000000, 1000000, 100000, 10000, 1000, 100, 10, 1, 0].map(rstpCost), [2, 20, 200, 2000, 20000, 200000, 2000000, 20000000, 200000]);
  const ports = [
    { name: 'p2', ofport: 2, type: 'system', speedMbps: 1000 },
    { name: 'p1', ofport: 1, type: 'system', speedMbps: 100 },
    { name: 'br', ofport: 65534, type: 'internal', speedMbps: 10000 },
    { name: 'p3', ofport: 3, type: 'system', speedMbps: 10000 },
  ];
  const r = resolveSpanningTree({ protocol: 'stp', ports: { p3: { enable: false } } }, 'br', '02:00:00:00:00:01', ports);
  t.same(r.ports.map((p) => [p.name, p.portNum, p.pathCost]), [['p1', 1, 19], ['p2', 2, 4]], 'internal and disabled ports left out; numbered in ofport order');
  t.equal(r.bridge.bridgeId, 0x8000020000000001n);
  const problems: string[] = [];
  t.same(resolveSpanningTree({ protocol: 'stp', ports: { p1: { portNum: 5 } } }, 'br', '02:00:00:00:00:01', ports, problems).ports, []);
  t.match(problems[0], /must manually configure all STP port IDs or none/);
  const dup: string[] = [];
  const rr = resolveSpanningTree({ protocol: 'rstp', priority: 0x1234, systemId: '02:00:00:00:00:09', ports: { p1: { portNum: 7, priority: 0x9f }, p2: { portNum: 7, adminEdge: true, autoEdge: false } } }, 'br', '02:00:00:00:00:01', ports, dup);
  t.match(dup[0], /duplicate rstp-port-num 7/);
  t.same(rr.ports.map((p) => [p.name, p.portNum, p.priority, p.pathCost]), [['p1', 7, 0x90, 200000], ['p3', 1, 128, 2000]], 'RSTP: given numbers kept, others the lowest free; priorities rounded');
  t.equal(rr.bridge.bridgeId, 0x1000020000000009n, 'RSTP priority rounded to 4096');
  for (const bad of [
    { protocol: 'stp', systemId: 'x' },
    { protocol: 'stp', priority: 70000 },
    { protocol: 'stp', maxAge: 0 },
    { protocol: 'stp', ports: { p: { portNum: 300 } } },
    { protocol: 'stp', ports: { p: { priority: 300 } } },
    { protocol: 'stp', ports: { p: { pathCost: 0 } } },
  ] as const) {
    t.throws(() => checkSpanningTreeSpec(bad), SpanningTreeError, JSON.stringify(bad));
  }
  const texts: string[] = [];
  const spec = spanningTreeFromOtherConfig(
    'stp',
    { 'stp-system-id': 'nope', 'stp-priority': '0x1000', 'stp-hello-time': 'x', 'stp-max-age': '0', 'stp-forward-delay': '4' },
    new Map<string, Record<string, string>>([
      ['p1', { 'stp-enable': 'maybe', 'stp-port-num': '999', 'stp-port-priority': '64', 'stp-path-cost': '0' }],
      ['p2', { 'stp-enable': 'false' }],
      ['p3', {}],
    ]),
    texts,
  );
  t.same(spec, { protocol: 'stp', priority: 4096, forwardDelay: 4, ports: { p1: { enable: false, priority: 64, pathCost: 1 }, p2: { enable: false } } });
  t.equal(texts.length, 5, texts.join('; '));
  const rspec = spanningTreeFromOtherConfig('rstp', { 'rstp-address': '02:AA:00:00:00:01', 'rstp-transmit-hold-count': '3' }, new Map([['p', { 'rstp-port-admin-edge': 'true', 'rstp-port-auto-edge': 'no' }]]), texts);
  t.same(rspec, { protocol: 'rstp', systemId: '02:aa:00:00:00:01', transmitHoldCount: 3, ports: { p: { adminEdge: true } } });
});

t.test('stp/show and rstp/show over the bridges', async (t) => {
  const handlers = new Map<string, UnixctlHandler>();
  registerSpanningTreeCommands({ register: (name, _u, _min, _max, h) => handlers.set(name, h) }, () => bridges);
  const sw = new Switch({ linkPollMs: 0 });
  t.teardown(() => sw.close());
  sw.addPort({ name: 'm1', type: 'memory' });
  const bridges = new Map([['br1', sw], ['br0', new Switch({ linkPollMs: 0 })]]);
  t.teardown(() => bridges.get('br0')!.close());
  sw.setSpanningTree({ protocol: 'stp', name: 'br1' });
  const stp = handlers.get('stp/show')!;
  const rstp = handlers.get('rstp/show')!;
  t.match(await stp([]), /^---- br1 ----\n/);
  t.match(await stp(['br1']), /^---- br1 ----\n/);
  await t.rejects(async () => stp(['br0']), /no such stp object/);
  t.equal(await rstp([]), '', 'no RSTP bridge');
  await t.rejects(async () => rstp(['br1']), /No such RSTP object/);
});

t.test('BPDUs are taken on every port while a tree runs; bad ones are counted', async (t) => {
  const sw = new Switch({ linkPollMs: 0 });
  t.teardown(() => sw.close());
  const ports = ['m1', 'm2', 'm3'].map((name, i) => sw.addPort({ name, type: 'memory', options: { mac: `02:00:00:00:0c:0${i + 1}` } }).device as MemoryPort);
  sw.setSpanningTree({ protocol: 'stp', name: 'c', ports: { m2: { enable: false }, m3: { enable: false } } });
  let out = 0;
  ports[2]!.on('frame', () => out++);
  const bpdu = new Uint8Array(60);
  bpdu.set([1, 0x80, 0xc2, 0, 0, 0, 2, 0, 0, 0, 0, 9, 0, 7, 0x42, 0x42, 3, 0, 0, 0, 0x80]);
  ports[1]!.inject(bpdu);
  t.equal(out, 0, 'a BPDU on a port outside the tree goes nowhere');
  const bad = bpdu.slice();
  bad[14] = 0xaa;
  ports[0]!.inject(bad);
  t.equal(sw.spanningTree()!.counters(1)!.errors, 1, 'a frame to the group address that is no BPDU: an error');
  ports[0]!.inject(bpdu);
  t.equal(sw.spanningTree()!.counters(1)!.rx, 1, 'a TCN counted');
  t.equal(out, 0);
});
