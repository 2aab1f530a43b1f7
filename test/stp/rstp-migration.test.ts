/**
 * stp/rstp.ts against hand-made BPDUs, for what OVS's lib/rstp-state-machines.c does and the
 * tests against real peers only show from outside: protocol migration both ways and mcheck
 * (17.24), STP compatibility (rstp-force-protocol-version=0: configuration BPDUs, TCNs and their
 * acknowledgement, no agreements, no auto-edge, timers), the root port change that moves the
 * old root port's addresses (rstp_shift_root_learned_address) and the ageing time kept as is.
 * Also the driver and the settings: lib/spanning-tree.ts's reading of the keys, and the Switch's
 * handling of an invalid version (kept) and of mcheck (when it turns true).
 */
import t from 'tap';
import { RSTP_FLAG_ROLE, STP_FLAG } from '../../protocol/constants.js';
import { bridgeId, type Bpdu, type ConfigBpdu } from '../../stp/bpdu.js';
import { Rstp } from '../../stp/rstp.js';
import { SpanningTreeError, checkSpanningTreeSpec, resolveSpanningTree, spanningTreeFromOtherConfig } from '../../lib/spanning-tree.js';
import { Switch } from '../../lib/switch.js';
import type { MemoryPort } from '../../datapath/ports/memory-port.js';

const ROOT = bridgeId(4096, 0x0200000000aan);
const SELF = bridgeId(32768, 0x0200000000bbn);
const SIDE = bridgeId(16384, 0x0200000000ddn);
const DOWN = bridgeId(61440, 0x0200000000ccn);
const COST = 2000;
const times = { messageAge: 0, maxAge: 6 * 256, helloTime: 2 * 256, forwardDelay: 4 * 256 };
const role = (r: number, extra = 0): number => (r << STP_FLAG.ROLE_SHIFT) | extra;
const rootInfo = (type: 'rstp' | 'config', extra = 0, cost = 0, bridge = ROOT): ConfigBpdu => ({
  type, flags: type === 'rstp' ? role(RSTP_FLAG_ROLE.DESIGNATED, STP_FLAG.LEARNING | STP_FLAG.FORWARDING | extra) : extra,
  rootId: ROOT, rootPathCost: cost, bridgeId: bridge, portId: 0x8001, ...times,
});
const inferior = (type: 'rstp' | 'config', extra = 0): ConfigBpdu => ({
  type, flags: type === 'rstp' ? role(RSTP_FLAG_ROLE.ROOT, extra) : extra, rootId: SELF, rootPathCost: COST, bridgeId: DOWN, portId: 0x8001, ...times,
});

function bridge(version: 0 | 2 = 2, ports = 1) {
  const sent: { port: number; bpdu: Bpdu }[] = [];
  const flushed: number[] = [];
  const moved: [number, number][] = [];
  const rstp = new Rstp({ name: 'x', bridgeId: SELF, forceProtocolVersion: version, forwardDelay: 4, maxAge: 6 }, {
    send: (port, bpdu) => sent.push({ port, bpdu }),
    flush: (port) => flushed.push(port ?? -1),
    move: (from, to) => moved.push([from, to]),
  });
  for (let n = 1; n <= ports; n++) rstp.addPort(n, { name: `p${n}`, portNum: n, priority: 128, pathCost: COST }, true);
  const last = (port: number): Bpdu | undefined => sent.filter((s) => s.port === port).at(-1)?.bpdu;
  return { rstp, sent, flushed, moved, last };
}

t.test('protocol migration: 802.1D after the migrate time, back to RSTP on an RST BPDU, mcheck', async (t) => {
  const { rstp, last } = bridge(2, 1);
  rstp.receive(1, inferior('config'));
  t.equal(rstp.sendsRstp(1), true, 'a configuration BPDU while checking (the first 3 s) changes nothing');
  rstp.tick(3000);
  rstp.receive(1, inferior('config'));
  t.equal(rstp.sendsRstp(1), false, 'after it, the port sends 802.1D');
  rstp.tick(2000);
  t.equal(last(1)?.type, 'config', 'a designated port sends configuration BPDUs');
  rstp.receive(1, inferior('rstp'));
  t.equal(rstp.sendsRstp(1), false, 'an RST BPDU within 3 s of the switch changes nothing (SELECTING_STP)');
  rstp.tick(3000);
  rstp.receive(1, inferior('rstp'));
  t.equal(rstp.sendsRstp(1), true, 'after it, an RST BPDU brings RSTP back');
  rstp.tick(3000);
  rstp.receive(1, inferior('config'));
  t.equal(rstp.sendsRstp(1), false, '802.1D again');
  rstp.mcheck(1);
  t.equal(rstp.sendsRstp(1), true, 'mcheck: RST BPDUs for the migrate time');
  rstp.tick(2000);
  t.equal(last(1)?.type, 'rstp', 'sent at the next hello');
  rstp.mcheck(9);
  rstp.setPortEnabled(1, false);
  rstp.mcheck(1);
  t.equal(rstp.sendsRstp(9), undefined, 'no such port');
  t.equal(rstp.forceProtocolVersion, 2);
  t.equal(rstp.ageingTime, 300, 'the ageing time defaults to 300 s and is only kept');
});

t.test('STP compatibility (force protocol version 0)', async (t) => {
  const { rstp, sent, last } = bridge(0, 3);
  t.equal(rstp.rstpVersion, false);
  t.equal(rstp.sendsRstp(1), false, 'every port sends 802.1D');
  t.ok(sent.length > 0 && sent.every((s) => s.bpdu.type === 'config'), 'only configuration BPDUs');
  rstp.mcheck(1);
  t.equal(rstp.sendsRstp(1), false, 'mcheck does nothing in STP compatibility');
  // Port 1 hears the root: the root port, through Learning by the forward delay (4 s each).
  rstp.receive(1, rootInfo('rstp', STP_FLAG.PROPOSAL));
  t.equal(rstp.roleOf(1), 'Root');
  t.equal(rstp.stateOf(1), 'Discarding', 'no rapid transition');
  rstp.receive(2, inferior('rstp', STP_FLAG.AGREEMENT));
  t.equal(rstp.stateOf(2), 'Discarding', 'an agreement is not recorded');
  // The root speaks every hello time (2 s).
  let clock = 0;
  const run = (ms: number): void => {
    for (let end = clock + ms; clock < end; clock += 1000) {
      rstp.tick(1000);
      if (clock % 2000 === 1000) rstp.receive(1, rootInfo('config'));
    }
  };
  run(4000);
  t.equal(rstp.stateOf(1), 'Learning');
  t.equal(rstp.stateOf(2), 'Learning');
  run(3000);
  t.equal(rstp.stateOf(3), 'Learning', 'no auto-edge towards 802.1D');
  const before = sent.length;
  run(1000);
  t.equal(rstp.stateOf(1), 'Forwarding');
  t.equal(rstp.stateOf(2), 'Forwarding');
  const tcns = sent.slice(before).filter((s) => s.port === 1 && s.bpdu.type === 'tcn').length;
  t.ok(tcns >= 1, 'the root port announces the topology change with a TCN');
  run(2000);
  t.ok(sent.filter((s) => s.port === 1 && s.bpdu.type === 'tcn').length > tcns, 'repeated every hello time until acknowledged');
  rstp.receive(1, rootInfo('config', STP_FLAG.TOPOLOGY_CHANGE_ACK));
  const acked = sent.length;
  run(4000);
  t.equal(sent.slice(acked).filter((s) => s.bpdu.type === 'tcn').length, 0, 'no more TCNs after the acknowledgement');
  // A TCN on the designated port: acknowledged on its next configuration BPDU, once.
  rstp.receive(2, { type: 'tcn' });
  run(2000);
  const l2 = last(2);
  t.ok(l2?.type === 'config' && (l2.flags & STP_FLAG.TOPOLOGY_CHANGE_ACK) !== 0, 'TC-ack on port 2\'s next configuration BPDU');
  run(2000);
  const again = last(2);
  t.ok(again?.type === 'config' && (again.flags & STP_FLAG.TOPOLOGY_CHANGE_ACK) === 0, 'and not on the one after');
  t.ok(l2?.type === 'config' && (l2.flags & STP_FLAG.TOPOLOGY_CHANGE) !== 0, 'with TC (its tcWhile runs max age + forward delay)');
});

t.test('a root port change moves the old root port\'s addresses to the new one', async (t) => {
  const { rstp, flushed, moved } = bridge(2, 3);
  rstp.receive(1, rootInfo('rstp', STP_FLAG.PROPOSAL));
  rstp.receive(2, rootInfo('rstp', 0, COST, SIDE));
  t.same([rstp.roleOf(1), rstp.roleOf(2)], ['Root', 'Alternate']);
  flushed.length = 0;
  rstp.setPortEnabled(1, false);
  t.equal(rstp.roleOf(2), 'Root', 'the alternate took over');
  t.same(moved, [[1, 2]], 'port 1\'s addresses moved to port 2');
  t.notOk(flushed.includes(1), 'the old root port was not flushed');
  // Not an alternate: a designated port that becomes the root port moves nothing.
  rstp.setPortEnabled(1, true);
  moved.length = 0;
  rstp.receive(3, rootInfo('rstp', STP_FLAG.PROPOSAL, 0, bridgeId(4096, 0x0200000000a0n)));
  t.equal(rstp.roleOf(3), 'Root', 'a better root on a designated port');
  t.same(moved, [], 'no move');
});

t.test('the settings: keys, checks, the driver', async (t) => {
  const problems: string[] = [];
  const spec = spanningTreeFromOtherConfig('rstp', { 'rstp-ageing-time': '5', 'rstp-force-protocol-version': '1' }, new Map([['p', { 'rstp-port-mcheck': 'true' }], ['q', { 'rstp-port-mcheck': 'false' }]]), problems);
  t.same(spec, { protocol: 'rstp', ports: { p: { mcheck: true } } }, 'out of range: ignored');
  t.equal(problems.length, 2, problems.join('; '));
  t.same(spanningTreeFromOtherConfig('rstp', { 'rstp-ageing-time': 'soon', 'rstp-force-protocol-version': 'x' }, new Map(), []), { protocol: 'rstp', ageingTime: 300, forceProtocolVersion: 2 }, 'no number: the defaults');
  t.same(spanningTreeFromOtherConfig('rstp', { 'rstp-ageing-time': '1000000', 'rstp-force-protocol-version': '0' }, new Map(), []), { protocol: 'rstp', ageingTime: 1000000, forceProtocolVersion: 0 });
  t.throws(() => checkSpanningTreeSpec({ protocol: 'rstp', ageingTime: 9 }), SpanningTreeError);
  t.throws(() => checkSpanningTreeSpec({ protocol: 'rstp', forceProtocolVersion: 1 as 0 }), SpanningTreeError);
  const r = resolveSpanningTree({ protocol: 'rstp', ageingTime: 20, forceProtocolVersion: 0, ports: { p: { mcheck: true } } }, 'br', '02:00:00:00:00:01', [{ name: 'p', ofport: 1, type: 'system', speedMbps: 10000 }]);
  t.same([r.bridge.ageingTime, r.bridge.forceProtocolVersion, r.ports[0]?.mcheck], [20, 0, true]);

  const sw = new Switch({ linkPollMs: 0 });
  t.teardown(() => sw.close());
  const m1 = sw.addPort({ name: 'm1', type: 'memory', options: { mac: '02:00:00:00:0e:01' } }).device as MemoryPort;
  const frames: Uint8Array[] = [];
  m1.on('frame', (f: Uint8Array) => frames.push(f));
  sw.setSpanningTree({ protocol: 'rstp', name: 'e', forceProtocolVersion: 0 });
  const first = sw.spanningTree() as Rstp;
  t.equal(first.forceProtocolVersion, 0);
  sw.setSpanningTree({ protocol: 'rstp', name: 'e', ageingTime: 50 });
  t.equal(sw.spanningTree(), first, 'no version given (an invalid one): the machine and its version stay');
  t.equal(first.ageingTime, 50, 'the ageing time set without a restart');
  sw.setSpanningTree({ protocol: 'rstp', name: 'e', forceProtocolVersion: 2 });
  const second = sw.spanningTree() as Rstp;
  t.not(second, first, 'a new version restarts the protocol (BEGIN), as OVS');
  t.equal(second.ageingTime, 50, 'keeping the ageing time');
  // mcheck when it turns true, once; not again while it stays true.
  second.receive(1, inferior('config'));
  second.tick(3000);
  second.receive(1, inferior('config'));
  t.equal(second.sendsRstp(1), false, '802.1D on m1');
  sw.setSpanningTree({ protocol: 'rstp', name: 'e', forceProtocolVersion: 2, ports: { m1: { mcheck: true } } });
  t.equal(second.sendsRstp(1), true, 'mcheck turned true: a migration check');
  second.tick(3000);
  second.receive(1, inferior('config'));
  sw.setSpanningTree({ protocol: 'rstp', name: 'e', forceProtocolVersion: 2, ports: { m1: { mcheck: true } } });
  t.equal(second.sendsRstp(1), false, 'still true: no new check');
  sw.setSpanningTree({ protocol: 'rstp', name: 'e', forceProtocolVersion: 2, ports: { m1: { mcheck: false } } });
  sw.setSpanningTree({ protocol: 'rstp', name: 'e', forceProtocolVersion: 2, ports: { m1: { mcheck: true } } });
  t.equal(second.sendsRstp(1), true, 'false then true: a check again');
  t.ok(frames.length > 0, 'BPDUs left m1');
});

t.test('a designated port that lost its agreement discards when the root port syncs', async (t) => {
  const { rstp } = bridge(2, 2);
  rstp.receive(1, rootInfo('rstp', STP_FLAG.PROPOSAL));
  rstp.receive(2, inferior('rstp', STP_FLAG.AGREEMENT));
  t.equal(rstp.stateOf(2), 'Forwarding', 'agreed: forwarding');
  rstp.receive(2, inferior('rstp'));
  rstp.receive(1, rootInfo('rstp', STP_FLAG.PROPOSAL, 100)); // the same root port, worse: agree again
  t.equal(rstp.stateOf(2), 'Discarding', 'synced by discarding');
});

t.test('MacTable.movePort keeps the entries and their ages (OVS\'s bundle_move)', async (t) => {
  const { MacTable } = await import('../../datapath/mac-table.js');
  let now = 0;
  const table = new MacTable({ now: () => now });
  table.learn(0, 0xa1, 1);
  now = 1000;
  table.learn(0, 0xa2, 1);
  table.learn(0, 0xb1, 2);
  now = 3000;
  table.movePort(1, 2);
  table.movePort(1, 3);
  table.movePort(2, 2);
  t.same(table.entries().map((e) => [e.mac, e.port, e.ageMs]), [[0xa1, 2, 3000], [0xa2, 2, 2000], [0xb1, 2, 2000]]);
  t.equal(table.stats().moved, 0, 'not counted as moves');
  table.forgetPort(2);
  t.equal(table.size, 0, 'all on port 2 now');
});
