/**
 * The Switch's public interface in-process, on in-memory ports (no kernel, no root): ports added
 * and removed at run time without disturbing flows, counters or what NORMAL learned; flows from
 * partial matches; fail modes and miss policy; controllers reconciled as a set; listeners; the
 * views (ports, MAC table, flows); and PORT_STATUS reaching a connection.
 */
import t, { type Test } from 'tap';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSwitch, type Switch } from '../../index.js';
import { FlowSpecError, flowModFrom, matchFrom } from '../../lib/flow-spec.js';
import { registerPortType } from '../../datapath/ports/factory.js';
import { MemoryPort } from '../../datapath/ports/memory-port.js';
import { PortError } from '../../datapath/ports/port-type.js';
import type { Logger } from '../../lib/log.js';
import { OFP_VERSION, OFPAT, OFPET, OFPFC, OFPFW, OFPP, OFPPC, OFPPMFC, OFPPR, OFPR, OFPT } from '../../protocol/index.js';
import { ethFrame, ipv4Packet, udpDatagram, withL4Checksum4 } from '../datapath/frames.js';
import { OfClient } from '../helpers/of-client.js';
import { freePort } from '../helpers/free-port.js';
import { waitFor, sleep } from '../helpers/wait.js';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const udp = (src: string, dst: string) => ethFrame(0x0800, withL4Checksum4(ipv4Packet({ proto: 17 }, udpDatagram(1, 2))), { src, dst });


function make(t: Test, config: Parameters<typeof createSwitch>[0] = {}): Switch {
  const sw = createSwitch({ linkPollMs: 0, ...config });
  t.teardown(() => sw.close());
  return sw;
}

/** A TCP server standing in for a controller: counts connections, answers the handshake. */
async function fakeController(t: Test): Promise<{ port: number; server: Server; accepted: Socket[]; clients: OfClient[] }> {
  const accepted: Socket[] = [];
  const clients: OfClient[] = [];
  const server = createServer((socket) => {
    accepted.push(socket);
    const c = OfClient.wrap(socket);
    clients.push(c);
    c.send({ version: OFP_VERSION, type: OFPT.HELLO, xid: 1, body: new Uint8Array(0) });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  t.teardown(() => {
    for (const s of accepted) s.destroy();
    server.close();
  });
  return { port: typeof address === 'object' && address ? address.port : 0, server, accepted, clients };
}

t.test('a standalone switch on memory ports is a learning bridge through its visible NORMAL flow', async (t) => {
  const sw = make(t);
  const p1 = sw.addPort({ name: 'p1', type: 'memory' });
  const p2 = sw.addPort({ name: 'p2', type: 'memory' });
  const p3 = sw.addPort({ name: 'p3', type: 'memory', ofport: 7 });
  t.same([p1.ofport, p2.ofport, p3.ofport], [1, 2, 7], 'numbered from 1, or as asked');
  t.equal(sw.datapathId, BigInt('0x' + p1.description.hwAddr.replaceAll(':', '')), 'the datapath id comes from the first port');
  const seen2: Uint8Array[] = [];
  p2.device.on('frame', (f) => seen2.push(f));
  p1.device.inject(udp(A, B));
  t.equal(seen2.length, 1, 'flooded to port 2');
  const reply = p1.device.nextFrame();
  p2.device.inject(udp(B, A));
  t.same(await reply, udp(B, A), 'the reply goes straight to A');
  t.match(sw.dumpFlows(), [{ priority: 0, actions: [{ type: OFPAT.OUTPUT, port: OFPP.NORMAL }], packetCount: 2n }]);
  t.same(sw.macTable(), [
    { port: 1, vlan: 0, mac: A, age: 0 },
    { port: 2, vlan: 0, mac: B, age: 0 },
  ]);
  t.match(sw.ports(), [
    { ofport: 1, name: 'p1', type: 'memory', stats: { rxPackets: 1n, txPackets: 1n } },
    { ofport: 2, name: 'p2', type: 'memory', stats: { rxPackets: 1n, txPackets: 1n } },
    { ofport: 7, name: 'p3', type: 'memory', stats: { rxPackets: 0n, txPackets: 1n } },
  ]);
  t.equal(sw.port('p3')?.ofport, 7);
  t.equal(sw.port(2)?.name, 'p2');
  t.equal(sw.port('nope'), undefined);
  t.equal(sw.missPolicy, 'drop', 'no connection: a miss would be dropped (the NORMAL flow catches everything)');
});

t.test('vlan_mode on memory ports: each mode takes and gives the right tags; implicit access ignores trunks, with a warning', async (t) => {
  const warnings: [string, unknown][] = [];
  const logger: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: (msg, fields) => void warnings.push([msg, fields]),
    error: () => undefined,
    debugEnabled: false,
    level: 'warn',
    setLevel: () => undefined,
    child: () => logger,
    limited: () => logger,
  };
  const sw = make(t, { logger });
  const nu = sw.addPort({ name: 'nu', type: 'memory', tag: 10, trunks: [20], vlanMode: 'native-untagged' }).device;
  const nt = sw.addPort({ name: 'nt', type: 'memory', tag: 10, vlanMode: 'native-tagged' }).device;
  const ac = sw.addPort({ name: 'ac', type: 'memory', tag: 20, trunks: [10] }).device;
  const ax = sw.addPort({ name: 'ax', type: 'memory', tag: 10, vlanMode: 'access' }).device;
  const tr = sw.addPort({ name: 'tr', type: 'memory', tag: 30, trunks: [10, 20], vlanMode: 'trunk' }).device;
  t.same(warnings, [['ignoring trunks in favor of implicit vlan', { port: 'ac' }]], 'as ovs-vswitchd warns, for the implicit access port only');
  const vidOf = (f: Uint8Array) => (f[12] === 0x81 ? ((f[14]! << 8) | f[15]!) & 0xfff : 'untagged');
  /** What each other port (in the order nu, nt, ac, ax, tr) sent for a frame injected on `from`. */
  const got = async (from: typeof nu, frame: Uint8Array) => {
    const seen = Promise.all([nu, nt, ac, ax, tr].filter((p) => p !== from).map((p) => p.nextFrame(200).then(vidOf, () => 'nothing')));
    from.inject(frame);
    return seen;
  };
  const bcast = 'ff:ff:ff:ff:ff:ff';
  const tagged = (vid: number) =>
    ethFrame(0x8100, [vid >> 8, vid & 0xff, 0x08, 0x00, ...withL4Checksum4(ipv4Packet({ proto: 17 }, udpDatagram(1, 2)))], { src: B, dst: bcast });
  //                                                      nt      ac         ax          tr
  t.same(await got(nu, udp(A, bcast)), [10, 'nothing', 'untagged', 10], 'untagged into native-untagged: its VLAN 10');
  //                                                      nu          ac         ax          tr
  t.same(await got(nt, udp(B, bcast)), ['untagged', 'nothing', 'untagged', 10], 'untagged into native-tagged: VLAN 10, untagged out of the other native port');
  t.same(await got(nt, tagged(20)), [20, 'untagged', 'nothing', 20], 'VLAN 20 into native-tagged: tagged out of trunks, untagged out of its access port');
  t.same(await got(ax, tagged(10)), ['nothing', 'nothing', 'nothing', 'nothing'], 'a tagged frame into an access port: dropped');
  t.same(await got(tr, udp(A, bcast)), ['nothing', 'nothing', 'nothing', 'nothing'], 'untagged into a trunk of 10 and 20 (VLAN 0): dropped, the tag ignored');
  //                                                      nu  nt  ac          ax
  t.same(await got(tr, tagged(20)), [20, 20, 'untagged', 'nothing'], 'VLAN 20 from the trunk');
  t.match(sw.port('ac'), { tag: 20, trunks: [10], vlanMode: undefined });
  t.match(sw.port('tr'), { tag: 30, trunks: [10, 20], vlanMode: 'trunk' });
});

t.test('ports come and go at run time; flows, other counters and other MACs stay', async (t) => {
  const sw = make(t, { datapathId: '00000000000000ab' });
  t.equal(sw.datapathId, 0xabn);
  const p1 = sw.addPort({ name: 'p1', type: 'memory', tag: 10 });
  const p2 = sw.addPort({ name: 'p2', type: 'memory', tag: 10 });
  const p3 = sw.addPort({ name: 'p3', type: 'memory', trunks: [10, 20] });
  sw.addFlow({ priority: 100, match: { inPort: 2, dlType: 0x0806 }, actions: [] });
  p1.device.inject(udp(A, B));
  p3.device.inject(ethFrame(0x8100, [0x00, 0x0a, 0x08, 0x00, ...withL4Checksum4(ipv4Packet({ proto: 17 }, udpDatagram(1, 2)))], { src: B, dst: A }));
  t.same(sw.macTable().map((e) => [e.port, e.vlan, e.mac]), [[1, 10, A], [3, 10, B]]);
  t.match(sw.port('p3'), { tag: undefined, trunks: [10, 20], vlanMode: undefined });
  const events: [number, number][] = [];
  sw.events.on('port-status', (reason, desc) => events.push([reason, desc.portNo]));
  t.ok(sw.removePort('p1'));
  t.notOk(sw.removePort('p1'), 'gone already');
  t.same(sw.macTable().map((e) => e.port), [3], 'only what port 1 learned is forgotten');
  t.equal(sw.dumpFlows().length, 2, 'the flows stay');
  t.equal(sw.port('p3')?.stats.rxPackets, 1n, 'the other ports keep their counters');
  const again = sw.addPort({ name: 'p1', type: 'memory' });
  t.equal(again.ofport, 1, 'the lowest free number');
  t.ok(sw.removePort(2), 'by number');
  t.notOk(sw.removePort(99));
  t.same(events, [[OFPPR.DELETE, 1], [OFPPR.ADD, 1], [OFPPR.DELETE, 2]]);
  t.ok(sw.setPortVlan('p3', { tag: 20 }));
  t.match(sw.port('p3'), { tag: 20, trunks: undefined });
  t.same(sw.macTable(), [], 'a port whose VLAN changes forgets what it learned');
  t.notOk(sw.setPortVlan('nope', {}));
  t.throws(() => sw.setPortVlan('p3', { trunks: [5000] }), new PortError('port p3: trunk 5000 is not a VLAN (0..4095)'));
  t.throws(() => sw.setPortVlan('p3', { tag: -1 }), new PortError('port p3: tag -1 is not a VLAN (0..4095)'));
  t.throws(
    () => sw.setPortVlan('p3', { vlanMode: 'dot1q-tunnel' as 'trunk' }),
    new PortError('port p3: vlan_mode "dot1q-tunnel" is not one of access, trunk, native-tagged, native-untagged'),
  );
  t.match(sw.port('p3'), { tag: 20 }, 'a refused change changes nothing');
  t.ok(sw.setPortVlan('p3', { tag: 20, trunks: [10, 10, 5], vlanMode: 'native-untagged' }));
  t.match(sw.port('p3'), { tag: 20, trunks: [5, 10], vlanMode: 'native-untagged' });
  void p2;
  const local = sw.addPort({ name: 'br', type: 'memory', ofport: 'local' });
  t.equal(local.ofport, OFPP.LOCAL);
  t.equal(sw.ports().at(-1)?.ofport, OFPP.LOCAL);
  sw.setDatapathId(0x42n);
  t.equal(sw.datapathId, 0x42n);
  sw.setDatapathId('0x43');
  t.equal(sw.datapathId, 0x43n);
});

t.test('addPort refuses what cannot be, naming it, and leaves the switch as it was', async (t) => {
  const sw = make(t);
  sw.addPort({ name: 'p1', type: 'memory' });
  const cases: [Parameters<Switch['addPort']>[0], RegExp][] = [
    [{ name: 'p1', type: 'memory' }, /port p1 already exists/],
    [{ name: 'p2', type: 'memory', ofport: 1 }, /port p2: ofport 1 is already taken/],
    [{ name: 'p2', type: 'memory', ofport: 0 }, /port p2: ofport 0 is not 1\.\.65279 or local/],
    [{ name: 'p2', type: 'memory', ofport: 0xff00 }, /is not 1\.\.65279 or local/],
    [{ name: 'p2', type: 'memory', tag: 4096 }, /port p2: tag 4096 is not a VLAN/],
    [{ name: 'p2', type: 'tunnel' }, /unknown port type "tunnel"/],
    [{ name: 'p2', type: 'memory', options: { mtu: 9000 } }, /type memory has no option "mtu"/],
    [{ name: 'nosuchif9' }, /interface nosuchif9 does not exist/],
    [{ name: '' }, /a port needs a name/],
  ];
  for (const [config, message] of cases) t.throws(() => sw.addPort(config), message, JSON.stringify(config));
  sw.addPort({ name: 'br', type: 'memory', ofport: 'local' });
  t.throws(() => sw.addPort({ name: 'br2', type: 'memory', ofport: 'local' }), /ofport local is already taken/);
  t.same(sw.ports().map((p) => p.name), ['p1', 'br']);
});

t.test('flows from partial matches; delete, strict delete, dump by match; bad specs named', async (t) => {
  const sw = make(t, { failMode: 'secure' });
  t.same(sw.dumpFlows(), [], 'secure: no NORMAL flow');
  const p1 = sw.addPort({ name: 'p1', type: 'memory' });
  const p2 = sw.addPort({ name: 'p2', type: 'memory' });
  sw.addFlow({ match: { inPort: 1 }, actions: [{ output: 2 }] });
  sw.addFlow({ priority: 40000, match: { inPort: 1, dlType: 0x0800, nwProto: 17, nwDst: '10.0.0.0/24', tpDst: 2 }, actions: [{ output: 'in_port' }], cookie: 7n, idleTimeout: 30, hardTimeout: 60, sendFlowRemoved: true });
  const back = p1.device.nextFrame();
  p1.device.inject(udp(A, B));
  await back;
  t.pass('the higher-priority flow sent it back out of its input port');
  const fwd = p2.device.nextFrame();
  p1.device.inject(ethFrame(0x0806, new Array(28).fill(0), { src: A, dst: B }));
  await fwd;
  t.pass('an ARP frame took the in_port=1 flow');
  t.match(sw.dumpFlows(), [{ priority: 40000, cookie: 7n, idleTimeout: 30, hardTimeout: 60, packetCount: 1n }, { priority: 0x8000, packetCount: 1n }]);
  t.equal(sw.dumpFlows({ dlType: 0x0800, nwDst: '10.0.0.0/16' }).length, 1, 'a dump selects by match');
  t.equal(sw.deleteFlows({ inPort: 1 }, { strict: true, priority: 100 }), 0, 'strict: match and priority must both be equal');
  t.equal(sw.deleteFlows({ inPort: 1 }, { strict: true }), 1);
  t.equal(sw.deleteFlows(), 1);
  t.same(sw.dumpFlows(), []);
  const bad: [Parameters<Switch['addFlow']>[0], RegExp][] = [
    [{ match: { inPrt: 1 } as never }, /match: unknown field "inPrt"/],
    [{ match: { inPort: -1 } }, /match inPort: -1 is not an integer in 0\.\.65535/],
    [{ match: { dlSrc: 'zz' } }, /match dlSrc: "zz" is not a MAC address/],
    [{ match: { nwSrc: '10.0.0.300' } }, /match nwSrc: "10\.0\.0\.300" is not an IPv4 address/],
    [{ match: { nwDst: '10.0.0.0/33' } }, /is not an IPv4 address or prefix/],
    [{ priority: 70000 }, /priority: 70000 is not an integer/],
    [{ actions: [{ output: 'nowhere' as never }] }, /action output: unknown port "nowhere"/],
    [{ actions: [{ output: OFPP.TABLE }] }, /BAD_OUT_PORT/],
  ];
  for (const [spec, message] of bad) t.throws(() => sw.addFlow(spec), message);
  t.ok(new FlowSpecError('x') instanceof Error);
});

t.test('flow specs: wildcards, prefixes, shorthands', async (t) => {
  const m = matchFrom({ inPort: 3, dlSrc: '02:00:00:00:00:AA', nwSrc: '10.1.0.0/16', nwDst: '10.2.3.4' });
  t.equal(m.wildcards & OFPFW.IN_PORT, 0);
  t.equal(m.wildcards & OFPFW.DL_SRC, 0);
  t.equal(m.wildcards & OFPFW.DL_DST, OFPFW.DL_DST);
  t.equal((m.wildcards & OFPFW.NW_SRC_MASK) >> OFPFW.NW_SRC_SHIFT, 16);
  t.equal((m.wildcards & OFPFW.NW_DST_MASK) >> OFPFW.NW_DST_SHIFT, 0);
  t.same([m.inPort, m.dlSrc, m.nwSrc, m.nwDst], [3, '02:00:00:00:00:aa', 0x0a010000, 0x0a020304]);
  t.equal(matchFrom({ tpSrc: undefined }).wildcards, OFPFW.ALL, 'undefined fields are wildcards');
  const mod = flowModFrom({ actions: [{ output: 'controller' }, { output: 'local', maxLen: 5 }, { type: OFPAT.STRIP_VLAN }] }, OFPFC.MODIFY);
  t.same(mod.actions, [
    { type: OFPAT.OUTPUT, port: OFPP.CONTROLLER, maxLen: 0xffff },
    { type: OFPAT.OUTPUT, port: OFPP.LOCAL, maxLen: 5 },
    { type: OFPAT.STRIP_VLAN },
  ]);
  t.equal(mod.command, OFPFC.MODIFY);
  t.equal(mod.priority, 0x8000);
});

t.test('fail modes at run time: secure drops misses, standalone without controllers gets the NORMAL flow', async (t) => {
  const sw = make(t, { failMode: 'secure' });
  const p1 = sw.addPort({ name: 'p1', type: 'memory' });
  const p2 = sw.addPort({ name: 'p2', type: 'memory' });
  const seen: Uint8Array[] = [];
  p2.device.on('frame', (f) => seen.push(f));
  p1.device.inject(udp(A, B));
  t.equal(seen.length, 0, 'secure, no flows: dropped');
  t.equal(sw.failMode, 'secure');
  sw.setFailMode('standalone');
  t.equal(sw.failMode, 'standalone');
  t.equal(sw.dumpFlows().length, 1, 'the NORMAL flow appears');
  p1.device.inject(udp(A, B));
  t.equal(seen.length, 1);
  sw.setFailMode('secure');
  t.equal(sw.dumpFlows().length, 0, "a new fail mode without controllers empties the table, as OVS's connmgr does");
  t.throws(() => sw.setFailMode('open' as never), /neither secure nor standalone/);
  t.throws(() => createSwitch({ probeIntervalMs: 0 }), /probe interval 0 ms is not positive/);
});

t.test('controllers: reconciled as a set; links that stay keep their connection; none <-> some flushes flows', async (t) => {
  const ctl = await fakeController(t);
  const other = await fakeController(t);
  const sw = make(t, { probeIntervalMs: 60_000 });
  const p1 = sw.addPort({ name: 'p1', type: 'memory' });
  sw.addPort({ name: 'p2', type: 'memory' });
  t.equal(sw.dumpFlows().length, 1, 'standalone without controllers: the NORMAL flow');
  t.throws(() => sw.setControllers(['tcp:127.0.0.1', 'udp:1.2.3.4']), /is not tcp:IP\[:PORT\]/);
  t.same(sw.controllers(), [], 'a bad target changes nothing');
  sw.setControllers([`tcp:127.0.0.1:${ctl.port}`]);
  t.same(sw.dumpFlows(), [], 'none -> some: the flows are flushed, as Open vSwitch does');
  await waitFor(() => sw.controllers()[0]?.connected === true);
  t.match(sw.controllers(), [{ target: `tcp:127.0.0.1:${ctl.port}`, state: 'connected', connected: true }]);
  t.equal(sw.missPolicy, 'controller');
  const c = ctl.clients[0]!;
  p1.device.inject(udp(A, B));
  t.match(await c.next((m) => m.type === OFPT.PACKET_IN), { reason: OFPR.NO_MATCH, inPort: 1 }, 'a miss reaches the controller');
  sw.addFlow({ match: { inPort: 2 }, actions: [{ output: 1 }] });
  sw.setControllers([`tcp:127.0.0.1:${ctl.port}`, `tcp:127.0.0.1:${other.port}`]);
  await waitFor(() => sw.controllers().every((v) => v.connected));
  t.equal(ctl.accepted.length, 1, 'the link that stays was not reconnected');
  t.equal(sw.dumpFlows().length, 1, 'some -> some: flows stay');
  sw.setControllers([`tcp:127.0.0.1:${other.port}`]);
  await c.waitClosed();
  t.pass('the controller taken out of the set is disconnected');
  t.same(sw.controllers().map((v) => v.target), [`tcp:127.0.0.1:${other.port}`]);
  sw.setControllers([]);
  await waitFor(() => sw.missPolicy === 'drop');
  t.match(sw.dumpFlows(), [{ priority: 0, actions: [{ port: OFPP.NORMAL }] }], 'some -> none: flushed, and standalone gets its NORMAL flow');
});

t.test('fail open: standalone with an unreachable controller forwards by NORMAL after a probe interval', async (t) => {
  const port = await freePort();
  const sw = make(t);
  const p1 = sw.addPort({ name: 'p1', type: 'memory' });
  const p2 = sw.addPort({ name: 'p2', type: 'memory' });
  sw.setControllers([`tcp:127.0.0.1:${port}`]);
  t.throws(() => sw.setProbeInterval(-1), /probe interval -1 ms is not positive/);
  sw.setProbeInterval(100);
  t.equal(sw.missPolicy, 'drop');
  const seen: Uint8Array[] = [];
  p2.device.on('frame', (f) => seen.push(f));
  p1.device.inject(udp(A, B));
  t.equal(seen.length, 0, 'not yet');
  await waitFor(() => sw.missPolicy === 'normal');
  p1.device.inject(udp(A, B));
  t.equal(seen.length, 1, 'fail open: NORMAL in the datapath');
  t.match(sw.controllers(), [{ connected: false }]);
});

t.test('listeners: ovs-ofctl-style connections see the ports and their changes; removed at run time', async (t) => {
  const sw = make(t, { datapathId: 0x99n });
  sw.addPort({ name: 'p1', type: 'memory' });
  const l = await sw.addListener('ptcp:0:127.0.0.1');
  t.ok(l.port > 0);
  t.same(sw.listeners(), [{ target: `ptcp:${l.port}:127.0.0.1`, port: l.port }]);
  const c = await OfClient.connect(l.port);
  t.teardown(() => c.close());
  await c.monitor();
  t.match(await c.request({ version: OFP_VERSION, type: OFPT.FEATURES_REQUEST, xid: 2 }), { datapathId: 0x99n, ports: [{ portNo: 1, name: 'p1' }] });
  sw.addPort({ name: 'p2', type: 'memory' });
  t.match(await c.next((m) => m.type === OFPT.PORT_STATUS), { reason: OFPPR.ADD, desc: { portNo: 2, name: 'p2' } });
  sw.removePort('p2');
  t.match(await c.next((m) => m.type === OFPT.PORT_STATUS && m.reason === OFPPR.DELETE), { desc: { portNo: 2 } });
  await t.rejects(sw.addListener('ptcp:nope'), /is not ptcp:PORT\[:IP\]/);
  t.notOk(await sw.removeListener('ptcp:1:127.0.0.1'));
  const dir = mkdtempSync(join(tmpdir(), 'ofswitch-punix-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const mgmt = join(dir, 'br0.mgmt');
  t.same(await sw.addListener(`punix:${mgmt}`), { target: `punix:${mgmt}`, port: 0 });
  const u = OfClient.wrap(connect(mgmt));
  t.teardown(() => u.close());
  u.send({ version: OFP_VERSION, type: OFPT.HELLO, xid: 1, body: new Uint8Array(0) });
  t.match(await u.request({ version: OFP_VERSION, type: OFPT.FEATURES_REQUEST, xid: 3 }), { datapathId: 0x99n }, 'a unix-socket connection works the same');
  t.notOk(await sw.removeListener(`punix:${join(dir, 'other')}`));
  t.notOk(await sw.removeListener(`ptcp:${l.port}:127.0.0.2`), 'another address is another listener');
  t.ok(await sw.removeListener(l.target));
  t.same(sw.listeners().map((v) => v.target), [`punix:${mgmt}`]);
  t.equal(await sw.removeListener(l.target), false);
  t.ok(await sw.removeListener(`punix:${mgmt}`));
  await u.waitClosed();
  t.pass('its connection is closed with it');
  t.notOk(existsSync(mgmt), 'and its socket file removed');
});

t.test('close: ports, listeners, links and timers go; the switch refuses further changes', async (t) => {
  const sw = createSwitch();
  const p1 = sw.addPort({ name: 'p1', type: 'memory' });
  const frames = p1.device.frames();
  const l = await sw.addListener('ptcp:0');
  sw.setControllers(['tcp:127.0.0.1:1']);
  await sw.close();
  await sw.close();
  t.same(await frames.next(), { value: undefined, done: true }, 'the memory port is closed');
  t.same(sw.ports(), []);
  t.throws(() => sw.addPort({ name: 'p2', type: 'memory' }), /the switch is closed/);
  t.throws(() => sw.setControllers([]), /the switch is closed/);
  await t.rejects(sw.addListener('ptcp:0'), /the switch is closed/);
  await t.rejects(OfClient.connect(l.port), /ECONNREFUSED/, 'the listener is closed');
});

t.test('the rest of the interface: PORT_MOD through a connection, defaults, failing port types, overlaps, expiry', async (t) => {
  const bare = createSwitch();
  t.equal(bare.datapathId, 1n, 'no datapath id and no port yet: 1');
  await bare.close();
  const sw = make(t, { datapathId: 7n });
  const p1 = sw.addPort({ name: 'p1', type: 'memory', options: { mac: '02:00:00:00:00:01' } });
  const l = await sw.addListener('ptcp:0');
  const c = await OfClient.connect(l.port);
  t.teardown(() => c.close());
  await c.monitor();
  const watcher = await OfClient.connect(l.port);
  t.teardown(() => watcher.close());
  await watcher.monitor();
  c.send({ version: OFP_VERSION, type: OFPT.PORT_MOD, xid: 5, portNo: 1, hwAddr: '02:00:00:00:00:01', config: OFPPC.NO_FLOOD, mask: OFPPC.NO_FLOOD, advertise: 0 });
  t.match(await watcher.next((m) => m.type === OFPT.PORT_STATUS), { reason: OFPPR.MODIFY, desc: { config: OFPPC.NO_FLOOD } }, 'PORT_MOD reaches the port');
  await c.request({ version: OFP_VERSION, type: OFPT.BARRIER_REQUEST, xid: 4 });
  t.notOk(c.received.some((r) => r.msg?.type === OFPT.PORT_STATUS), 'as Open vSwitch before OpenFlow 1.5: no PORT_STATUS back to the connection whose PORT_MOD made it');
  t.match(await c.request({ version: OFP_VERSION, type: OFPT.PORT_MOD, xid: 6, portNo: 9, hwAddr: '02:00:00:00:00:01', config: 0, mask: 0, advertise: 0 }), { type: OFPT.ERROR, errorType: OFPET.PORT_MOD_FAILED, code: OFPPMFC.BAD_PORT });
  t.match(await c.request({ version: OFP_VERSION, type: OFPT.PORT_MOD, xid: 7, portNo: 1, hwAddr: '02:00:00:00:00:02', config: 0, mask: 0, advertise: 0 }), { type: OFPT.ERROR, code: OFPPMFC.BAD_HW_ADDR });
  t.equal(sw.port(1)?.description.config, OFPPC.NO_FLOOD);

  registerPortType({
    name: 'test-broken',
    options: [],
    create: (name) => Object.assign(new MemoryPort(name), { open: () => { throw new Error('no carrier today'); } }),
  });
  t.throws(() => sw.addPort({ name: 'x', type: 'test-broken' }), /no carrier today/);
  t.same(sw.ports().map((p) => p.name), ['p1'], 'a port that fails to open is not added');

  const C = '02:00:00:00:00:0c';
  p1.device.inject(udp(B, A));
  p1.device.inject(udp(C, A));
  p1.device.inject(udp(A, C));
  t.same(sw.macTable().map((e) => e.mac), [A, B, C], 'the MAC table is sorted by port, VLAN and address');

  sw.addFlow({ priority: 10, match: { inPort: 1 }, actions: [] });
  t.throws(() => sw.addFlow({ priority: 10, match: { dlType: 0x0800 }, actions: [], checkOverlap: true }), /the flow table refused the flow: FLOW_MOD_FAILED\/OVERLAP/);
  sw.addFlow({ priority: 20, match: { inPort: 2 }, hardTimeout: 1, sendFlowRemoved: true });
  const removed = await c.next((m) => m.type === OFPT.FLOW_REMOVED, 3000);
  t.match(removed, { priority: 20 }, 'a hard timeout expires the flow and FLOW_REMOVED reaches the connection');
  t.notOk(sw.dumpFlows().some((f) => f.priority === 20));
});

t.test('a listener that binds while the switch closes is closed again', async (t) => {
  const sw = createSwitch();
  const adding = sw.addListener('ptcp:0');
  await sw.close();
  await t.rejects(adding, /the switch is closed/);
  t.same(sw.listeners(), []);
  t.throws(() => sw.addFlow({}), /the switch is closed/);
});
