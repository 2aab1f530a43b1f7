/**
 * Policing (datapath/policer.ts) on a fake clock: the token bucket's arithmetic (starts full,
 * refills at the rate up to its size, a frame passes only whole), OVS's conversions of the
 * columns (kbit/s * 1000 / 8, burst 0 -> 8000 kbit, burst * 1024 / 8, the Ethernet header not
 * counted), and the packet path on memory ports: ingress drops before the table (rx_dropped, the
 * drop record, nothing sent), egress drops in transmit (tx_dropped), settings kept or replaced.
 */
import t from 'tap';
import { Datapath, type FlowLookup } from '../../datapath/datapath.js';
import { DROP_REASON, DropLog } from '../../datapath/drop-record.js';
import { formatDropLog } from '../../datapath/drop-text.js';
import { Policer, TokenBucket, egressPolicing, ingressPolicing, turnClock } from '../../datapath/policer.js';
import { MemoryPort } from '../../datapath/ports/memory-port.js';
import { OFPAT } from '../../protocol/constants.js';
import type { Action } from '../../protocol/types.js';

t.test('token bucket: starts full, refills at the rate up to its size, whole frames only', async (t) => {
  let now = 1000;
  const b = new TokenBucket({ rate: 1000, size: 1500 }, () => now); // 1000 bytes/s
  t.equal(b.level(), 1500, 'full at the start');
  t.ok(b.take(1000), 'a frame the bucket holds passes');
  t.notOk(b.take(600), 'one larger than what is left does not');
  t.equal(b.level(), 500, 'and takes nothing');
  now += 100; // +100 bytes
  t.ok(b.take(600), 'after 100 ms it does');
  t.equal(b.level(), 0);
  now += 60_000;
  t.equal(b.level(), 1500, 'a long idle time fills it to its size, no more');
  t.notOk(b.take(1501), 'a frame larger than the bucket never passes');
  t.throws(() => new TokenBucket({ rate: 0, size: 1 }), RangeError, 'a zero rate is refused');
  t.throws(() => new TokenBucket({ rate: 1, size: Number.NaN }), RangeError, 'a size that is no number too');
  const real = new TokenBucket({ rate: 1e6, size: 100 });
  t.ok(real.take(100), 'the default clock works');
});

t.test('turnClock: read once per turn of the event loop', async (t) => {
  const first = turnClock();
  const busy = performance.now() + 5;
  while (performance.now() < busy); // time passes within the turn
  t.equal(turnClock(), first, 'the same time for the rest of the turn');
  await new Promise((r) => setTimeout(r, 5));
  t.ok(turnClock() >= first + 5, 'a later turn reads the clock again');
});

t.test('a policer over time passes the rate: 10 Mbit/s of 1514-byte frames offered at 100', async (t) => {
  let now = 0;
  const p = new Policer('ingress', ingressPolicing(10_000, 100)!, () => now);
  let passed = 0;
  // 1514-byte frames (1500 counted), one every 0.12 ms: 100 Mbit/s for 10 s.
  for (let i = 0; i < 83_333; i++) {
    now = i * 0.12;
    if (p.admits(1514)) passed += 1500;
  }
  const mbps = (passed * 8) / 10 / 1e6;
  t.ok(mbps > 9.9 && mbps < 10.2, `10 Mbit/s of IP bytes pass (${mbps.toFixed(3)})`);
  t.equal(p.dropped, 83_333 - passed / 1500, 'every other frame is counted as dropped');
  const tiny = new Policer('egress', { rate: 1, size: 1 }, () => 0);
  t.ok(tiny.admits(15), 'a 15-byte frame takes the one token (its Ethernet header is not counted)');
  t.notOk(tiny.admits(15), 'the next finds none');
  t.ok(tiny.admits(14) && tiny.admits(10), 'a bare header, or a runt, needs no token');
});

t.test('OVS conversions of the columns', async (t) => {
  t.equal(ingressPolicing(0, 500), null, 'rate 0: no policing, whatever the burst');
  t.same(ingressPolicing(10_000, 0), { rate: 1_250_000, size: 1_024_000 }, 'burst 0 is 8000 kbit, at 1024 bits a kbit (netdev-linux.c)');
  t.same(ingressPolicing(1000, 100), { rate: 125_000, size: 12_800 }, 'rate kbit/s * 1000 / 8, burst kbit * 1024 / 8');
  t.throws(() => ingressPolicing(-1, 0), RangeError, 'a negative rate is refused');
  t.throws(() => ingressPolicing(1, 0.5), RangeError, 'a fractional burst too');
  t.same(egressPolicing(46_000_000, 1500), { rate: 46_000_000, size: 1500 }, 'cir and cbs as given');
  t.throws(() => egressPolicing(0, 1500), /cir 0 is not a positive integer/, 'a zero cir is refused, as rte_meter refuses it');
  t.throws(() => egressPolicing(1000, 0), /cbs 0/, 'a zero cbs too');
});

class OutTable implements FlowLookup {
  readonly entry = { actions: [{ type: OFPAT.OUTPUT, port: 2, maxLen: 0 } as Action] };
  lookups = 0;
  lookup() {
    this.lookups++;
    return this.entry;
  }
}

t.test('the packet path: ingress before the table, egress in transmit, counted and recorded', async (t) => {
  const table = new OutTable();
  const log = new DropLog(16, () => Date.UTC(2026, 10, 28));
  const dp = new Datapath({ flowTable: table, linkPollMs: 0, drops: log });
  t.teardown(() => dp.close());
  const a = new MemoryPort('pa', { record: true });
  const b = new MemoryPort('pb', { record: true });
  dp.registry.addPort(a, 1);
  dp.registry.addPort(b, 2);
  const frame = new Uint8Array(1014).fill(0xab); // 1000 bytes counted
  frame.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
  const port = (n: number) => dp.registry.get(n)!;

  t.ok(dp.registry.setPolicer(1, 'ingress', { rate: 1, size: 2500 }), 'ingress policer on port 1');
  for (let i = 0; i < 4; i++) a.inject(frame);
  t.equal(b.take().length, 2, 'two frames fit the bucket and are forwarded');
  t.equal(table.lookups, 2, 'the dropped ones never reached the table');
  t.equal(port(1).rxPackets, 2, 'rx_packets counts what passed');
  t.equal(Number(port(1).stats().rxDropped), 2, 'rx_dropped what the policer dropped');
  t.same(log.records().map((r) => [r.reason, r.inPort]), [[DROP_REASON.POLICED_IN, 1], [DROP_REASON.POLICED_IN, 1]], 'each drop recorded');
  t.match(formatDropLog('br0', log), /in_port=1 drop: over the ingress policing rate of the input port/, 'in words');
  t.equal(port(1).ingressPolicer?.dropped, 2, 'the policer counts them too');

  const kept = port(1).ingressPolicer;
  dp.registry.setPolicer(1, 'ingress', { rate: 1, size: 2500 });
  t.equal(port(1).ingressPolicer, kept, 'the same settings keep the bucket');
  dp.registry.setPolicer(1, 'ingress', { rate: 1, size: 5000 });
  t.not(port(1).ingressPolicer, kept, 'new settings a new, full bucket');
  dp.registry.setPolicer(1, 'ingress', null);
  t.equal(port(1).ingressPolicer, null, 'null removes it');
  t.notOk(dp.registry.setPolicer(9, 'ingress', null), 'no such port: false');

  log.clear();
  dp.registry.setPolicer(2, 'egress', { rate: 1, size: 1000 });
  for (let i = 0; i < 3; i++) a.inject(frame);
  t.equal(b.take().length, 1, 'the egress policer lets one frame leave');
  t.equal(Number(port(2).stats().txDropped), 2, 'tx_dropped counts the others');
  t.equal(Number(port(2).stats().txPackets), 3, 'tx_packets only what left (3 with the first two)');
  t.same(log.records().map((r) => [r.reason, r.inPort]), [[DROP_REASON.POLICED_OUT, 1], [DROP_REASON.POLICED_OUT, 1]], 'recorded with the input port');
  t.match(formatDropLog('br0', log), /drop: over the egress-policer rate of output port 2/, 'naming the output port');
  t.equal(log.totals().dropped, 2, 'counted among the drops');
});
