/**
 * The drop record (datapath/drop-record.ts) as the packet path fills it, on memory ports: one
 * test per reason the datapath and NORMAL record (with the deciding entry's priority and cookie
 * when one decided), the punts, nothing recorded for frames that are forwarded, the ring's bound,
 * and the command's text (datapath/drop-text.ts).
 */
import t from 'tap';
import { unpackFlowKey, type FlowKey } from '../../flowtable/flow-key.js';
import { Datapath, type FlowLookup } from '../../datapath/datapath.js';
import { DROP_REASON, DROP_SNAP_BYTES, DropLog } from '../../datapath/drop-record.js';
import { formatDropLog } from '../../datapath/drop-text.js';
import { MirrorSet } from '../../datapath/mirror.js';
import { MemoryPort } from '../../datapath/ports/memory-port.js';
import { OFPAT, OFPC_FRAG, OFPP, OFPPC } from '../../protocol/constants.js';
import type { Action } from '../../protocol/types.js';
import { ethFrame, ipv4Packet, udpDatagram, withL4Checksum4 } from './frames.js';

type Fields = ReturnType<typeof unpackFlowKey>;
interface Rule {
  when: (k: Fields) => boolean;
  actions: Action[];
  priority: number;
  cookie: bigint;
}

class StubTable implements FlowLookup {
  rules: Rule[] = [];
  lookup(key: FlowKey) {
    const fields = unpackFlowKey(key);
    return this.rules.find((r) => r.when(fields)) ?? null;
  }
}

const out = (port: number, maxLen = 0): Action => ({ type: OFPAT.OUTPUT, port, maxLen });
const udp = (o: { src?: string; dst?: string; vlan?: { vid: number } } = {}) =>
  ethFrame(0x0800, withL4Checksum4(ipv4Packet({ proto: 17 }, udpDatagram(1, 2))), o);
const any = () => true;

function setup(opts: { n?: number; size?: number } = {}) {
  const table = new StubTable();
  const log = new DropLog(opts.size ?? 256, () => Date.UTC(2026, 10, 28, 0, 1, 2, 345));
  const punted: number[] = [];
  const dp = new Datapath({
    flowTable: table,
    linkPollMs: 0,
    drops: log,
    onMiss: (_f, inPort) => void punted.push(inPort),
    onController: (_f, inPort) => void punted.push(inPort),
  });
  const ports: MemoryPort[] = [];
  for (let i = 1; i <= (opts.n ?? 3); i++) {
    const p = new MemoryPort(`mem${i}`, { record: true, hwAddr: `02:00:00:00:01:0${i}` });
    ports.push(p);
    dp.registry.addPort(p, i);
  }
  const port = (i: number) => ports[i - 1]!;
  const reasons = () => log.records().map((r) => r.reason);
  const setConfig = (portNo: number, config: number) => {
    const p = dp.registry.byNo.get(portNo)!;
    t.equal(dp.registry.modifyPort({ portNo, hwAddr: p.link.hwAddr, config, mask: 0x7f, advertise: 0 }), 'ok');
  };
  return { dp, table, log, punted, port, reasons, setConfig };
}

t.test('forwarded frames record nothing; a miss in secure mode is recorded with the frame', async (t) => {
  const { dp, table, log, port, reasons } = setup();
  table.rules.push({ when: (k) => k.inPort === 1, actions: [out(2)], priority: 10, cookie: 1n });
  port(1).inject(udp());
  t.equal(port(2).take().length, 1, 'forwarded');
  t.same(reasons(), [], 'nothing recorded for a forwarded frame');
  dp.path.missPolicy = 'drop';
  const f = udp({ src: '02:00:00:00:00:09' });
  port(3).inject(f);
  const [r] = log.records();
  t.equal(r?.reason, DROP_REASON.NO_MATCH);
  t.equal(r?.inPort, 3);
  t.equal(r?.entry, null, 'a miss names no entry');
  t.same([...r!.frame], [...f], 'the frame as received');
  t.equal(r?.kind, 'drop');
  t.same(log.totals(), { dropped: 1, punted: 0 });
  dp.close();
});

t.test('a drop entry (empty actions) names its priority and cookie', async (t) => {
  const { dp, table, log, port } = setup();
  table.rules.push({ when: any, actions: [], priority: 100, cookie: 0xabcn });
  port(1).inject(udp());
  const [r] = log.records();
  t.equal(r?.reason, DROP_REASON.DROP_ACTION);
  t.same(r?.entry, { priority: 100, cookie: 0xabcn });
  const text = formatDropLog('br0', log);
  t.match(text, /^bridge br0: 1 dropped, 0 sent to a controller; the last 1 \(at most 256\), oldest first:\n/);
  t.match(text, /\n2026-11-28T00:01:02\.345Z in_port=1 drop: drop action \(empty actions\) \[priority=100,cookie=0xabc\]\n  udp,in_port=1,vlan_tci=0x0000,dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:02,nw_src=10\.0\.0\.1,nw_dst=10\.0\.0\.2,.*tp_src=1,tp_dst=2\n$/);
  dp.close();
});

t.test('input port down or NO_RECV; output port down, NO_FWD, no such port, the input port', async (t) => {
  const { dp, table, log, port, reasons, setConfig } = setup();
  table.rules.push({ when: (k) => k.tpDst === 2 && k.inPort === 1, actions: [out(2), out(3), out(7), out(1)], priority: 5, cookie: 7n });
  setConfig(1, OFPPC.NO_RECV);
  port(1).inject(udp());
  setConfig(1, OFPPC.PORT_DOWN);
  port(1).inject(udp());
  t.same(reasons(), [DROP_REASON.NO_RECV, DROP_REASON.IN_PORT_DOWN]);
  log.clear();
  t.same(log.totals(), { dropped: 0, punted: 0 }, 'cleared');
  setConfig(1, 0);
  setConfig(2, OFPPC.NO_FWD);
  setConfig(3, OFPPC.PORT_DOWN);
  port(1).inject(udp());
  t.same(reasons(), [DROP_REASON.NO_FWD, DROP_REASON.PORT_DOWN, DROP_REASON.NO_SUCH_PORT, DROP_REASON.OUTPUT_IN_PORT]);
  const rs = log.records();
  t.same(rs.map((r) => r.text), ['output port 2 has NO_FWD', 'output port 3 down', 'output to port 7: no such port', 'output to the input port without IN_PORT']);
  t.ok(rs.every((r) => r.inPort === 1 && r.entry?.priority === 5 && r.entry.cookie === 7n), 'each names the input port and the entry');
  log.clear();
  setConfig(2, 0);
  port(2).send = () => {
    throw new Error('refused');
  };
  port(1).inject(udp());
  t.same(log.records().map((r) => r.text).slice(0, 1), ['send on port 2 failed'], 'a send the interface refused');
  dp.close();
});

t.test('FLOOD that NO_FLOOD leaves without a port; fragments under frag=drop', async (t) => {
  const { dp, table, port, reasons, setConfig } = setup({ n: 2 });
  table.rules.push({ when: any, actions: [out(OFPP.FLOOD)], priority: 1, cookie: 0n });
  port(1).inject(udp());
  t.equal(port(2).take().length, 1, 'flooded');
  t.same(reasons(), []);
  setConfig(2, OFPPC.NO_FLOOD);
  port(1).inject(udp());
  t.same(reasons(), [DROP_REASON.NO_FLOOD]);
  dp.path.setFragMode(OFPC_FRAG.DROP);
  port(1).inject(ethFrame(0x0800, ipv4Packet({ proto: 17, fragOffset: 10 }, [1, 2, 3, 4])));
  t.same(reasons(), [DROP_REASON.NO_FLOOD, DROP_REASON.FRAGMENT]);
  dp.close();
});

t.test('NORMAL: a VLAN not allowed, a malformed frame, a destination learned on the input port, NO_FLOOD', async (t) => {
  const { dp, table, log, port, reasons, setConfig } = setup();
  table.rules.push({ when: any, actions: [out(OFPP.NORMAL)], priority: 3, cookie: 3n });
  dp.registry.setPortVlan(1, { tag: 10 });
  port(1).inject(udp({ vlan: { vid: 20 } }));
  dp.registry.setPortVlan(2, { vlanMode: 'trunk', trunks: [30] });
  port(2).inject(udp({ vlan: { vid: 20 } }));
  t.same(reasons(), [DROP_REASON.VLAN, DROP_REASON.VLAN]);
  t.same(log.records().map((r) => r.text), ['VLAN 20 not allowed on the input port (NORMAL)', 'VLAN 20 not allowed on the input port (NORMAL)']);
  t.same(log.records()[0]?.entry, { priority: 3, cookie: 3n });
  log.clear();
  // A VLAN type without room for the tag.
  port(3).inject(Uint8Array.from([...udp().subarray(0, 12), 0x81, 0x00, 0x00]));
  t.same(reasons(), [DROP_REASON.MALFORMED]);
  log.clear();
  // Port 3 learns A; a frame to A from port 3 again goes nowhere.
  port(3).inject(udp({ src: '02:00:00:00:00:0a', dst: 'ff:ff:ff:ff:ff:ff' }));
  port(3).inject(udp({ src: '02:00:00:00:00:0b', dst: '02:00:00:00:00:0a' }));
  t.same(reasons(), [DROP_REASON.LEARNED_IN_PORT]);
  log.clear();
  dp.registry.setPortVlan(1, {});
  dp.registry.setPortVlan(2, {});
  setConfig(1, OFPPC.NO_FLOOD);
  setConfig(2, OFPPC.NO_FLOOD);
  port(3).inject(udp({ src: '02:00:00:00:00:0c', dst: 'ff:ff:ff:ff:ff:ff' }));
  t.same(reasons(), [DROP_REASON.NO_FLOOD]);
  dp.close();
});

t.test('punts (miss and action) and NO_PACKET_IN', async (t) => {
  const { dp, table, log, punted, port, reasons, setConfig } = setup();
  port(1).inject(udp());
  table.rules.push({ when: (k) => k.inPort === 2, actions: [out(OFPP.CONTROLLER, 128)], priority: 9, cookie: 9n });
  port(2).inject(udp());
  t.same(punted, [1, 2], 'both went up');
  t.same(reasons(), [DROP_REASON.PUNT_MISS, DROP_REASON.PUNT_ACTION]);
  t.same(log.records().map((r) => r.kind), ['controller', 'controller']);
  t.same(log.records()[1]?.entry, { priority: 9, cookie: 9n });
  t.same(log.totals(), { dropped: 0, punted: 2 });
  setConfig(1, OFPPC.NO_PACKET_IN);
  setConfig(2, OFPPC.NO_PACKET_IN);
  port(1).inject(udp());
  port(2).inject(udp());
  t.same(punted, [1, 2], 'nothing more went up');
  t.same(reasons().slice(2), [DROP_REASON.NO_PACKET_IN, DROP_REASON.NO_PACKET_IN]);
  t.match(formatDropLog('b', log), /in_port=2 controller: sent to controller: action \[priority=9,cookie=0x9\]/);
  dp.close();
});

t.test('a frame received on a mirror output port; PACKET_OUT drops name no entry', async (t) => {
  const { dp, port, reasons, log } = setup();
  const counters = { txPackets: 0, txBytes: 0 };
  const rule = { name: 'm', selectAll: true, srcPorts: [], dstPorts: [], vlans: [], outputPort: 3, outputVlan: null, counters };
  dp.path.setMirrors(new MirrorSet([rule], { get: (n) => dp.registry.byNo.get(n), list: dp.registry.list }, () => undefined));
  port(3).inject(udp());
  t.same(reasons(), [DROP_REASON.MIRROR_PORT]);
  dp.path.setMirrors(null);
  log.clear();
  dp.path.execute(udp(), OFPP.CONTROLLER, [out(9)]);
  t.same(log.records().map((r) => [r.reason, r.inPort, r.entry]), [[DROP_REASON.NO_SUCH_PORT, OFPP.CONTROLLER, null]]);
  dp.close();
});

t.test('the ring keeps the last N, in fixed memory, and cuts frames to the snap length', async (t) => {
  const log = new DropLog(4);
  const big = new Uint8Array(1500).fill(7);
  for (let i = 0; i < 10; i++) log.record(DROP_REASON.NO_MATCH, i === 9 ? big : udp(), i + 1, -1, null);
  const rs = log.records();
  t.equal(rs.length, 4, 'bounded');
  t.same(rs.map((r) => r.inPort), [7, 8, 9, 10], 'the newest four, oldest first');
  t.equal(rs[3]?.length, 1500, 'the real length is kept');
  t.equal(rs[3]?.frame.length, DROP_SNAP_BYTES, 'only the first bytes');
  t.same(log.totals(), { dropped: 10, punted: 0 }, 'the totals count every one');
  t.throws(() => new DropLog(0), RangeError);
  t.match(formatDropLog('x', log), /the last 4 \(at most 4\)/);
});

t.test('the default clock: the wall clock read once per turn of the event loop', async (t) => {
  const log = new DropLog(8);
  const frame = new Uint8Array(64);
  const before = Date.now();
  log.record(DROP_REASON.NO_MATCH, frame, 1, -1, null);
  const spin = Date.now() + 3;
  while (Date.now() < spin); // the same turn, 3 ms later
  log.record(DROP_REASON.NO_MATCH, frame, 1, -1, null);
  const [first, second] = log.records();
  t.equal(second?.time, first?.time, 'two records of one batch (one turn) get the batch\'s time');
  t.ok((first?.time ?? 0) >= before && (first?.time ?? 0) <= Date.now(), 'which is the wall clock');
  await new Promise((r) => setTimeout(r, 5));
  log.record(DROP_REASON.NO_MATCH, frame, 1, -1, null);
  const third = log.records()[2];
  t.ok((third?.time ?? 0) >= (first?.time ?? 0) + 5, `a later turn reads the clock again (${(third?.time ?? 0) - (first?.time ?? 0)} ms later)`);
  await undefined;
  log.record(DROP_REASON.NO_MATCH, frame, 1, -1, null);
  t.ok((log.records()[3]?.time ?? 0) >= (third?.time ?? 0), 'after a microtask checkpoint too');
});
