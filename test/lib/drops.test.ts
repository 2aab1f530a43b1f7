/**
 * The drop record's packet-in reasons and its commands: the scheduler's drops for a full queue
 * (lib/packet-in-scheduler.ts), a connection whose output queue is full and no controller at all
 * (lib/agent.ts), through the Switch's public interface with a real controller connection where
 * one is needed, and `ofswitch/drops` / `ofswitch/drops-clear` as the control socket registers
 * them (lib/control-socket.ts). The datapath's own reasons: test/datapath/drops.test.ts.
 */
import t from 'tap';
import { Agent } from '../../lib/agent.js';
import type { Connection } from '../../lib/connection.js';
import { registerDropsCommands, singleBridge, type DropsSource } from '../../lib/control-socket.js';
import { FailModeState } from '../../lib/fail-mode.js';
import { silentLogger } from '../../lib/log.js';
import { PacketInScheduler } from '../../lib/packet-in-scheduler.js';
import { createSwitch, type Switch } from '../../lib/switch.js';
import { DROP_REASON, DropLog } from '../../datapath/drop-record.js';
import type { MemoryPort } from '../../datapath/ports/memory-port.js';
import { UnixctlError, type UnixctlHandler } from '../../unixctl/index.js';
import { controllerRig, missFrame as frame } from '../helpers/controller-rig.js';
import { registerBridgeCommands } from '../../vswitchd/commands.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The commands as registered, called as the control server would. */
function commands(bridges: () => ReadonlyMap<string, DropsSource>): Map<string, UnixctlHandler> {
  const handlers = new Map<string, UnixctlHandler>();
  registerDropsCommands({ register: (name, _usage, _min, _max, handler) => void handlers.set(name, handler) }, bridges);
  return handlers;
}

t.test('the scheduler tells of each packet-in it drops for a full queue', async (t) => {
  const released: string[] = [];
  const dropped: string[] = [];
  const s = new PacketInScheduler<string>({ rateLimit: 1, burstLimit: 1 }, (x) => void released.push(x), () => 0, (x) => void dropped.push(x));
  s.send(1, 'a');
  s.send(1, 'b');
  s.send(1, 'c');
  t.same(released, ['a'], 'the first went at once');
  t.same(dropped, ['b'], 'the oldest queued one was dropped for the newest');
  t.equal(s.stats.dropped, 1);
  s.close();
});


t.test('misses punted to a rate-limited controller: punts, then the packet-ins its full queue dropped', async (t) => {
  const sw = createSwitch({ failMode: 'secure', linkPollMs: 0 });
  const r = await controllerRig(t, sw, 1);
  sw.setControllers([{ target: r.target, probeIntervalMs: 0, rateLimit: 1, burstLimit: 2 }]);
  for (let i = 0; i < 2000 && !sw.controllers()[0]?.connected; i++) await sleep(10); // 20 s for a loaded machine
  t.ok(sw.controllers()[0]?.connected, 'connected');
  for (let i = 0; i < 6; i++) r.port.inject(frame(i));
  const records = sw.dropLog().records();
  const punts = records.filter((x) => x.reason === DROP_REASON.PUNT_MISS);
  const full = records.filter((x) => x.reason === DROP_REASON.PACKET_IN_QUEUE_FULL);
  t.equal(punts.length, 6, 'every miss was punted');
  t.equal(full.length, 2, 'burst 2: two sent at once, two queued, two dropped from the queue');
  t.ok(full.every((x) => x.inPort === 1 && x.length === 60), 'recorded from the queued packet-in: its input port and frame');
  t.equal(full[0]?.frame[35], 2, 'the oldest queued (source port 2) went first');
  t.equal(String(sw.controllers()[0]?.counters['packet-in-miss-dropped']), '2', "agrees with the Controller status's count");

  const cmd = commands(singleBridge('br0', sw));
  const text = String(await cmd.get('ofswitch/drops')!([]));
  t.match(text, /^bridge br0: 2 dropped, 6 sent to a controller; the last 8 \(at most 256\), oldest first:\n/);
  t.match(text, /Z in_port=1 controller: sent to controller: no match\n  ip,in_port=1,vlan_tci=0x0000,dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:02,nw_src=0\.0\.0\.0/);
  t.match(text, /Z in_port=1 drop: packet-in dropped: rate-limit queue full\n  ip,in_port=1,/);
  t.equal(String(await cmd.get('ofswitch/drops')!(['br0'])), text, 'the bridge named: the same');
  await t.rejects(async () => cmd.get('ofswitch/drops')!(['br9']), new UnixctlError('no such bridge'));
  t.equal(await cmd.get('ofswitch/drops-clear')!(['br0']), 'drop record cleared');
  t.match(String(await cmd.get('ofswitch/drops')!([])), /^bridge br0: 0 dropped, 0 sent to a controller; the last 0 \(at most 256\), oldest first:\n$/);
  t.equal(await cmd.get('ofswitch/drops-clear')!([]), 'drop record cleared', 'every bridge');
  await t.rejects(async () => cmd.get('ofswitch/drops-clear')!(['nope']), new UnixctlError('no such bridge'));
});

t.test('no controller: an OUTPUT:CONTROLLER entry in standalone mode, and a miss meant for a controller', async (t) => {
  const sw = createSwitch({ failMode: 'standalone', linkPollMs: 0 });
  t.teardown(() => sw.close());
  const port = sw.addPort({ name: 'm1', type: 'memory', ofport: 1 }).device as MemoryPort;
  sw.addFlow({ match: { tpSrc: 7 }, priority: 200, cookie: 0x77n, actions: [{ output: 'controller' }] });
  port.inject(frame(7));
  t.same(
    sw.dropLog().records().map((x) => [x.reason, x.entry]),
    [[DROP_REASON.PUNT_ACTION, { priority: 200, cookie: 0x77n }], [DROP_REASON.NO_CONTROLLER, null]],
  );
  sw.dropLog().clear();
  sw.traceTarget().path.missPolicy = 'controller'; // as the fail mode sets it while a controller is expected
  sw.deleteFlows();
  port.inject(frame(8));
  t.same(sw.dropLog().records().map((x) => x.reason), [DROP_REASON.PUNT_MISS, DROP_REASON.NO_CONTROLLER]);
  t.equal(sw.dropLog().records()[1]?.inPort, 1);
});

t.test("a packet-in the connection's full output queue drops is recorded from its encoding", async (t) => {
  const drops = new DropLog();
  const failMode = new FailModeState({ mode: 'secure', haveControllers: true, probeIntervalMs: 5000, onPolicyChange: () => undefined });
  const agent = new Agent({
    datapathId: 1n,
    flowTable: {} as never,
    datapath: {} as never,
    failMode,
    log: silentLogger,
    drops,
  });
  const sent: number[] = [];
  const conn = { isActive: true, kind: 'controller', sendAsync: (_m: unknown, bytes: Buffer) => (sent.push(bytes.length), false) } as unknown as Connection;
  agent.onActive(conn);
  agent.onController(frame(9), 3, 0xffff, 1);
  t.equal(sent.length, 1, 'the connection was asked');
  const [r] = drops.records();
  t.equal(r?.reason, DROP_REASON.PACKET_IN_OVERFLOW);
  t.equal(r?.inPort, 3);
  t.same([...r!.frame], [...frame(9)], 'the frame from the PACKET_IN');
  t.equal(r?.text, "packet-in dropped: controller connection's output queue full");
  agent.onClose(conn);
});

t.test("the database mode's bridge commands include ofswitch/drops for every bridge", async (t) => {
  const a = createSwitch({ failMode: 'secure', linkPollMs: 0 });
  const b = createSwitch({ failMode: 'secure', linkPollMs: 0 });
  t.teardown(() => Promise.all([a.close(), b.close()]));
  const port = b.addPort({ name: 'p1', type: 'memory', ofport: 4 }).device as MemoryPort;
  port.inject(frame(1));
  const handlers = new Map<string, UnixctlHandler>();
  registerBridgeCommands(
    { register: (name, _usage, _min, _max, handler) => void handlers.set(name, handler) },
    { bridge: (n) => (n === 'a' ? a : n === 'b' ? b : undefined), bridges: () => new Map([['b', b], ['a', a]]) },
  );
  const all = String(await handlers.get('ofswitch/drops')!([]));
  t.match(all, /^bridge a: 0 dropped, 0 sent to a controller; the last 0 \(at most 256\), oldest first:\nbridge b: 1 dropped, 0 sent to a controller; the last 1 \(at most 256\), oldest first:\n\S+Z in_port=4 drop: no match/, 'every bridge, by name');
  t.equal(await handlers.get('ofswitch/drops-clear')!(['b']), 'drop record cleared');
  t.same(b.dropLog().records(), []);
});
