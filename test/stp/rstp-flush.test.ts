/**
 * Which ports' learned addresses an 802.1w topology change flushes, as OVS's RSTP does it
 * (lib/rstp-state-machines.c topology_change_sm, ofproto-dpif.c rstp_run and update_rstp_port_state):
 * never the whole table; a TC received on an active (root or designated, forwarding, non-edge)
 * port flushes the other active ports, not itself, not edge ports, not alternates; a change
 * detected on a port flushes the other active ports; a port that starts or stops learning forgets
 * its own addresses. One bridge under test, its neighbours played by hand-made BPDUs.
 */
import t from 'tap';
import { RSTP_FLAG_ROLE, STP_FLAG } from '../../protocol/constants.js';
import { bridgeId, type Bpdu, type ConfigBpdu } from '../../stp/bpdu.js';
import { Rstp } from '../../stp/rstp.js';

const ROOT = bridgeId(4096, 0x0200000000aan); // the upstream root, on port 1
const SELF = bridgeId(32768, 0x0200000000bbn);
const DOWN = bridgeId(61440, 0x0200000000ccn); // a downstream bridge, on port 2
const SIDE = bridgeId(16384, 0x0200000000ddn); // a better neighbour than us, on port 4: our alternate
const COST = 2000;

const flags = (role: number, extra = 0): number => (role << STP_FLAG.ROLE_SHIFT) | extra;
const times = { messageAge: 0, maxAge: 20 * 256, helloTime: 2 * 256, forwardDelay: 15 * 256 };
const fromRoot = (extra = 0): ConfigBpdu => ({
  type: 'rstp', flags: flags(RSTP_FLAG_ROLE.DESIGNATED, STP_FLAG.LEARNING | STP_FLAG.FORWARDING | extra), rootId: ROOT, rootPathCost: 0, bridgeId: ROOT, portId: 0x8001, ...times,
});
const fromDown = (extra = 0): ConfigBpdu => ({
  type: 'rstp', flags: flags(RSTP_FLAG_ROLE.ROOT, STP_FLAG.LEARNING | STP_FLAG.FORWARDING | extra), rootId: ROOT, rootPathCost: COST + COST, bridgeId: DOWN, portId: 0x8001, ...times,
});
const fromSide: ConfigBpdu = {
  type: 'rstp', flags: flags(RSTP_FLAG_ROLE.DESIGNATED, STP_FLAG.LEARNING | STP_FLAG.FORWARDING), rootId: ROOT, rootPathCost: COST, bridgeId: SIDE, portId: 0x8001, ...times,
};

function bridge() {
  const flushed: (number | 'all')[] = [];
  const sent: { port: number; bpdu: Bpdu }[] = [];
  const rstp = new Rstp({ name: 'x', bridgeId: SELF }, {
    send: (port, bpdu) => sent.push({ port, bpdu }),
    flush: (port) => flushed.push(port ?? 'all'),
  });
  const settings = (n: number) => ({ name: `p${n}`, portNum: n, priority: 128, pathCost: COST });
  rstp.addPort(1, settings(1), true);
  rstp.addPort(2, settings(2), true);
  rstp.addPort(3, settings(3), true, { adminEdge: true });
  rstp.addPort(4, settings(4), true);
  rstp.receive(1, fromRoot(STP_FLAG.PROPOSAL)); // the root port, synced at once
  rstp.receive(4, fromSide);
  rstp.receive(2, fromDown(STP_FLAG.AGREEMENT)); // our designated port, agreed: forwarding
  return { rstp, flushed, sent };
}

const sorted = (xs: readonly (number | 'all')[]): (number | 'all')[] => [...new Set(xs)].sort();

t.test('the set-up: root, designated, edge and alternate ports', async (t) => {
  const { rstp, flushed } = bridge();
  t.same([1, 2, 3, 4].map((p) => [rstp.roleOf(p), rstp.stateOf(p)]), [
    ['Root', 'Forwarding'], ['Designated', 'Forwarding'], ['Designated', 'Forwarding'], ['Alternate', 'Discarding'],
  ]);
  t.notOk(flushed.includes('all'), 'the whole table is never flushed');
});

t.test('a TC received on the root port flushes the other active ports only', async (t) => {
  const { rstp, flushed, sent } = bridge();
  rstp.tick(4000); // the TC the set-up itself made (port 2 started forwarding) is over
  t.equal(rstp.roleOf(4), 'Alternate', 'still alternate after 4 s');
  flushed.length = 0;
  sent.length = 0;
  rstp.receive(1, fromRoot(STP_FLAG.TOPOLOGY_CHANGE));
  t.same(sorted(flushed), [2], 'port 2 (designated, forwarding) forgets its addresses; 1 (the receiver), 3 (edge), 4 (alternate) keep theirs');
  t.ok(sent.some((s) => s.port === 2 && s.bpdu.type === 'rstp' && (s.bpdu.flags & STP_FLAG.TOPOLOGY_CHANGE) !== 0), 'and the TC goes on out of port 2');
  t.notOk(sent.some((s) => s.port === 3 && s.bpdu.type === 'rstp' && (s.bpdu.flags & STP_FLAG.TOPOLOGY_CHANGE) !== 0), 'not out of the edge port');
});

t.test('a TC received on a designated port flushes the root port, not itself', async (t) => {
  const { rstp, flushed } = bridge();
  flushed.length = 0;
  rstp.receive(2, fromDown(STP_FLAG.TOPOLOGY_CHANGE));
  t.same(sorted(flushed), [1]);
  flushed.length = 0;
  rstp.receive(2, { type: 'tcn' });
  t.same(sorted(flushed), [1], 'a TCN the same way');
});

t.test('a TC received on an alternate or an edge port is not acted on', async (t) => {
  const { rstp, flushed } = bridge();
  flushed.length = 0;
  rstp.receive(4, { ...fromSide, flags: fromSide.flags | STP_FLAG.TOPOLOGY_CHANGE });
  t.same(flushed, [], 'an alternate is not active');
  t.equal(rstp.roleOf(3), 'Designated');
});

t.test('a change detected on a port flushes the other active ports', async (t) => {
  const { rstp, flushed } = bridge();
  rstp.addPort(5, { name: 'p5', portNum: 5, priority: 128, pathCost: COST }, true);
  flushed.length = 0;
  rstp.receive(5, { ...fromDown(STP_FLAG.AGREEMENT), portId: 0x8002 }); // agreed: forwards, a new non-edge forwarding port
  t.equal(rstp.stateOf(5), 'Forwarding');
  t.same(sorted(flushed.filter((p) => p !== 5)), [1, 2], 'the root port and the other designated port are flushed; the edge port and the alternate are not');
  t.same(flushed.filter((p) => p === 5).length, 1, 'port 5 forgets only its own addresses, once, as it starts learning (update_rstp_port_state)');
});

t.test('a port that stops learning forgets its own addresses only', async (t) => {
  const { rstp, flushed } = bridge();
  flushed.length = 0;
  rstp.setPortEnabled(2, false);
  t.same(flushed, [2], 'the disabled port, nobody else');
  flushed.length = 0;
  rstp.setPortEnabled(3, false);
  t.same(flushed, [3], 'the edge port too: no topology change from an edge port');
});

t.test('an edge port that hears a BPDU while forwarding detects a change', async (t) => {
  const { rstp, flushed } = bridge();
  flushed.length = 0;
  rstp.receive(3, { ...fromDown(), bridgeId: bridgeId(61440, 0x0200000000een) });
  t.same(sorted(flushed), [1, 2], 'the port is no edge any more: the other active ports flush');
});
