/**
 * The NetFlow exporter in process, on frames parsed as the datapath parses them and a clock the
 * test moves: per-flow keys as OVS keys them, counts, TCP flags, output interfaces, active and
 * idle timeouts, 30 records per datagram, the flow sequence, add_id_to_interface, the settings'
 * checks, and the packet path's hook (a frame counted once with where it went).
 */
import t from 'tap';
import { newFlowKey } from '../../flowtable/flow-key.js';
import { newFrameLayout, parseFrame } from '../../datapath/frame-parser.js';
import { NetflowCache, NetflowError, NetflowExporter, decodeV5, encodeV5, netflowConfig, parseNetflowTarget, type V5Record } from '../../netflow/index.js';
import { NF_OUT_DROP, NF_OUT_FLOOD, NF_OUT_MULTI } from '../../netflow/constants.js';

/** An Ethernet + IPv4 frame: `proto` 1 (ICMP type/code), 6 (TCP, flags) or 17; `payload` bytes after the L4 header. */
function frame(o: { src?: number; dst?: number; proto: number; sp?: number; dp?: number; flags?: number; payload?: number; tos?: number; ethType?: number }): Uint8Array {
  const l4len = o.proto === 6 ? 20 : 8;
  const ipLen = 20 + l4len + (o.payload ?? 0);
  const f = Buffer.alloc(14 + ipLen);
  f.writeUInt16BE(o.ethType ?? 0x0800, 12);
  f[14] = 0x45;
  f[15] = o.tos ?? 0;
  f.writeUInt16BE(ipLen, 16);
  f[22] = 64;
  f[23] = o.proto;
  f.writeUInt32BE(o.src ?? 0x0a000001, 26);
  f.writeUInt32BE(o.dst ?? 0x0a000002, 30);
  if (o.proto === 1) {
    f[34] = o.sp ?? 8;
    f[35] = o.dp ?? 0;
  } else {
    f.writeUInt16BE(o.sp ?? 1000, 34);
    f.writeUInt16BE(o.dp ?? 80, 36);
    if (o.proto === 6) {
      f[46] = 0x50;
      f[47] = o.flags ?? 0x10;
    }
  }
  return f;
}

function harness(opts: { active?: number; idleMs?: number; maxFlows?: number; engineId?: number; addId?: boolean } = {}) {
  let clock = 1_000_000;
  const datagrams: Buffer[] = [];
  const config = netflowConfig({
    targets: ['127.0.0.1:9'],
    active_timeout: opts.active ?? 60,
    engine_type: 3,
    engine_id: opts.engineId ?? 4,
    add_id_to_interface: opts.addId ?? false,
  })!;
  const ex = new NetflowExporter({
    config,
    now: () => clock,
    timer: false,
    send: (d) => datagrams.push(d),
    ...(opts.idleMs !== undefined ? { idleTimeoutMs: opts.idleMs } : {}),
    ...(opts.maxFlows !== undefined ? { maxFlows: opts.maxFlows } : {}),
  });
  const key = newFlowKey();
  const layout = newFrameLayout();
  const count = (f: Uint8Array, inPort: number, out: number): void => {
    parseFrame(f, inPort, key, layout);
    ex.account(key, f, layout.l3Offset, layout.l4Offset, out);
  };
  const records = (): V5Record[] => datagrams.flatMap((d) => decodeV5(d).records);
  return { ex, count, records, datagrams, advance: (ms: number) => (clock += ms), now: () => clock };
}

t.test('one record per flow as OVS keys them, counts in IP bytes, TCP flags, ICMP type/code', async (t) => {
  const h = harness();
  for (let i = 0; i < 5; i++) h.count(frame({ proto: 1, sp: 8, payload: 56 }), 1, 2);
  h.advance(100);
  for (let i = 0; i < 5; i++) h.count(frame({ proto: 1, src: 0x0a000002, dst: 0x0a000001, sp: 0, payload: 56 }), 2, 1);
  h.count(frame({ proto: 6, flags: 0x02 }), 1, 2);
  h.count(frame({ proto: 6, flags: 0x10, payload: 100 }), 1, 2);
  h.count(frame({ proto: 6, flags: 0x11 }), 1, 2);
  h.count(frame({ proto: 17, payload: 10 }), 1, 2);
  h.count(frame({ proto: 17, payload: 10 }), 3, 2); // another input port: another flow
  h.count(frame({ proto: 17, payload: 10, tos: 0x20 }), 1, 2); // another TOS: another flow
  h.count(frame({ proto: 17, ethType: 0x86dd }), 1, 2); // not IPv4: not counted
  t.equal(h.ex.flows, 6, 'six flows');
  t.equal(h.datagrams.length, 0, 'nothing sent before a timeout');
  h.ex.close();
  t.equal(h.datagrams.length, 1, 'close exports what the cache holds, in one datagram');
  const { header, records } = decodeV5(h.datagrams[0]!);
  t.match(header, { version: 5, count: 6, engineType: 3, engineId: 4, flowSequence: 0 });
  const req = records.find((r) => r.proto === 1 && r.nwSrc === 0x0a000001)!;
  t.match(req, { input: 1, output: 2, packets: 5, bytes: 5 * 84, srcPort: 0, dstPort: 0x0800 }, 'echo requests: type 8 in dst_port');
  const rep = records.find((r) => r.proto === 1 && r.nwSrc === 0x0a000002)!;
  t.match(rep, { input: 2, output: 1, packets: 5, bytes: 420, dstPort: 0 }, 'echo replies');
  t.equal(rep.first - req.first, 100, 'first seen: uptime ms');
  const tcp = records.find((r) => r.proto === 6)!;
  t.match(tcp, { packets: 3, bytes: 40 + 140 + 40, tcpFlags: 0x13, srcPort: 1000, dstPort: 80 }, 'TCP: flags ORed');
  t.equal(records.filter((r) => r.proto === 17).length, 3, 'UDP: three flows (input port and TOS key them)');
  t.ok(records.some((r) => r.proto === 17 && r.tos === 0x20), 'TOS recorded');
  h.ex.close();
  t.equal(h.datagrams.length, 1, 'a second close sends nothing');
});

t.test('active timeout: a busy flow is reported every active_timeout seconds; idle flows expire', async (t) => {
  const h = harness({ active: 2, idleMs: 10_000 });
  h.count(frame({ proto: 17 }), 1, 2);
  h.advance(1000);
  h.ex.sweep();
  t.equal(h.datagrams.length, 0, 'not before the active timeout');
  h.count(frame({ proto: 17 }), 1, 2);
  h.advance(1000);
  h.ex.sweep();
  t.equal(h.records().length, 1, 'after 2 s, one record');
  t.equal(h.records()[0]!.packets, 2);
  t.equal(h.ex.flows, 1, 'the flow stays');
  h.count(frame({ proto: 17 }), 1, 2);
  h.advance(2000);
  h.ex.sweep();
  t.same(h.records().map((r) => r.packets), [2, 1], 'the next interval holds only its packets');
  t.equal(decodeV5(h.datagrams[1]!).header.flowSequence, 1, 'the sequence counts records sent before');
  h.advance(2000);
  h.ex.sweep();
  t.equal(h.records().length, 2, 'no record for an interval without packets');
  h.advance(10_000);
  h.ex.sweep();
  t.equal(h.ex.flows, 0, 'idle for 10 s: forgotten');
  t.equal(h.records().length, 2, 'with nothing left to report');

  const idle = harness({ active: -1, idleMs: 3000 });
  idle.count(frame({ proto: 17 }), 1, 2);
  idle.advance(2000);
  idle.ex.sweep();
  t.equal(idle.datagrams.length, 0, 'active_timeout -1: none');
  idle.advance(1000);
  idle.ex.sweep();
  t.equal(idle.records().length, 1, 'idle expiry exports the record');
  t.equal(idle.ex.flows, 0);
  t.equal(netflowConfig({ targets: ['1.2.3.4:5'] })!.activeTimeoutMs, 600_000, 'left out: OVS default 600 s');
  t.equal(netflowConfig({ targets: ['1.2.3.4:5'], active_timeout: 0 })!.activeTimeoutMs, 600_000, '0: the default');
  t.equal(netflowConfig({ targets: ['1.2.3.4:5'], active_timeout: -1 })!.activeTimeoutMs, 0, '-1: no active timeout');
});

t.test('output interface: a change expires the counts so far; flood, multi, drop codes; add_id_to_interface', async (t) => {
  const h = harness({ engineId: 0x85, addId: true });
  h.count(frame({ proto: 17 }), 1, 2);
  h.count(frame({ proto: 17 }), 1, 3);
  t.equal(h.ex.flows, 1, 'one flow');
  h.count(frame({ proto: 17, sp: 1 }), 1, NF_OUT_FLOOD);
  h.count(frame({ proto: 17, sp: 2 }), 1, NF_OUT_MULTI);
  h.count(frame({ proto: 17, sp: 3 }), 1, NF_OUT_DROP);
  h.ex.close();
  const rs = h.records();
  const id = (0x85 & 0x7f) << 9;
  t.same(rs.filter((r) => r.srcPort === 1000).map((r) => [r.input, r.output, r.packets]), [[id | 1, id | 2, 1], [id | 1, id | 3, 1]], 'two records, the engine id in the interface fields');
  t.equal(rs.find((r) => r.srcPort === 1)!.output, id | (NF_OUT_FLOOD & 0x1ff));
  t.ok(rs.find((r) => r.srcPort === 3), 'a dropped flow is reported too');
});

t.test('30 records per datagram; a full cache exports every flow first', async (t) => {
  const h = harness({ maxFlows: 40 });
  for (let i = 0; i < 40; i++) h.count(frame({ proto: 17, sp: i }), 1, 2);
  t.equal(h.datagrams.length, 0);
  h.count(frame({ proto: 17, sp: 999 }), 1, 2);
  t.equal(h.datagrams.length, 1, 'the 41st flow: 30 records went at once');
  t.equal(h.ex.flows, 1, 'the cache holds the new flow only');
  h.ex.sweep();
  t.same(h.datagrams.map((d) => decodeV5(d).header.count), [30, 10], 'the rest at the sweep');
  t.same(h.datagrams.map((d) => decodeV5(d).header.flowSequence), [0, 30]);
  t.equal(new Set(h.records().map((r) => r.srcPort)).size, 40, 'every flow once');
  t.throws(() => encodeV5({ sysUptime: 0, unixMs: 0, flowSequence: 0, engineType: 0, engineId: 0 }, []), RangeError);
  t.throws(() => decodeV5(new Uint8Array(10)), RangeError);
  t.throws(() => decodeV5(new Uint8Array(30)), RangeError);
  const c = new NetflowCache({ activeTimeoutMs: 0, expire: () => undefined });
  const key = newFlowKey();
  const layout = newFrameLayout();
  const short = frame({ proto: 17 }).subarray(0, 16);
  parseFrame(frame({ proto: 17 }), 1, key, layout);
  c.account(key, short, layout.l3Offset, layout.l4Offset, 2);
  t.equal(c.size, 0, 'a frame too short for the IP length: not counted');
});

t.test('settings: targets IP:PORT, numbers in range', async (t) => {
  t.same(parseNetflowTarget('[::1]:2055'), { address: '::1', port: 2055, family: 6 });
  t.same(parseNetflowTarget('10.0.0.1:2055'), { address: '10.0.0.1', port: 2055, family: 4 });
  t.throws(() => parseNetflowTarget('10.0.0.1'), NetflowError, 'a port is needed');
  t.throws(() => parseNetflowTarget('collector:2055'), /not IP:PORT/);
  t.throws(() => parseNetflowTarget('10.0.0.1:0'), /not 1..65535/);
  t.equal(netflowConfig({ targets: [] }), null, 'no targets: off');
  t.throws(() => netflowConfig({ targets: 'x' as unknown as string[] }), /must be a list/);
  t.throws(() => netflowConfig({ targets: ['1.2.3.4:5'], engine_id: 256 }), /engine_id 256/);
  t.throws(() => netflowConfig({ targets: ['1.2.3.4:5'], engine_type: -1 }), /engine_type -1/);
  t.throws(() => netflowConfig({ targets: ['1.2.3.4:5'], active_timeout: -2 }), /active_timeout -2/);
  t.throws(() => netflowConfig({ targets: ['1.2.3.4:5'], add_id_to_interface: 'yes' as unknown as boolean }), /add_id_to_interface/);
});

t.test('over UDP: every target gets the datagram; a send that fails is counted and logged', async (t) => {
  const { createSocket } = await import('node:dgram');
  const got: Buffer[] = [];
  const sock = createSocket('udp4');
  sock.on('message', (m) => got.push(m));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  t.teardown(() => sock.close());
  const warnings: string[] = [];
  const config = netflowConfig({ targets: [`127.0.0.1:${sock.address().port}`, '255.255.255.255:9'] })!;
  const ex = new NetflowExporter({ config, log: { warn: (m, f) => warnings.push(`${m} ${JSON.stringify(f)}`) } });
  const key = newFlowKey();
  const layout = newFrameLayout();
  const f = frame({ proto: 17 });
  parseFrame(f, 1, key, layout);
  ex.account(key, f, layout.l3Offset, layout.l4Offset, 2);
  ex.sweep();
  t.equal(ex.datagrams, 0, 'nothing due yet');
  ex.close();
  ex.sweep(); // closed: nothing
  for (let i = 0; i < 40 && (got.length === 0 || ex.sendErrors === 0); i++) await new Promise((r) => setTimeout(r, 25));
  t.equal(got.length, 1, 'the collector got one datagram');
  t.equal(decodeV5(got[0]!).records[0]!.packets, 1);
  t.equal(ex.sendErrors, 1, 'the broadcast target (no SO_BROADCAST) failed');
  t.match(warnings.join('\n'), /cannot send NetFlow datagram .*255\.255\.255\.255:9/);
});
