/**
 * On the wire, end to end against the running ofswitch:
 * - a table of malformed and invalid messages sent over a raw socket, each earning its error
 *   type and code, with the request's xid and its first bytes; the connection stays up after each;
 * - garbage (an unframeable length) and a huge length on one connection leave the others working;
 * - the whole session, ovs-ofctl commands included, captured with tcpdump: tshark decodes it with
 *   no malformed frame, and `ovs-ofctl ofp-print` decodes every message the switch sent.
 */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  OFP_NO_BUFFER, OFP_VERSION, OFPAT, OFPBAC, OFPBRC, OFPET, OFPFC, OFPFF, OFPFMFC, OFPHFC, OFPP, OFPPMFC, OFPQOFC, OFPST, OFPT,
  encodeMessage,
} from '../../protocol/index.js';
import type { Action, FlowMod, Match, OfpMessage } from '../../protocol/index.js';
import { MATCH_ALL } from '../../protocol/index.js';
import { addHost, assertRan, run, spawnIn, tryRun } from '../helpers/netns.js';
import { ofctl, ofctlOffline } from '../helpers/ofctl.js';
import { OfClient } from '../helpers/of-client.js';
import { startOfswitch } from '../helpers/ofswitch-process.js';
import { freePort } from '../helpers/free-port.js';

const ANY: Match = MATCH_ALL;
const flowMod = (xid: number, over: Partial<FlowMod> = {}): FlowMod => ({
  version: OFP_VERSION, type: OFPT.FLOW_MOD, xid, match: ANY, cookie: 0n, command: OFPFC.ADD, idleTimeout: 0,
  hardTimeout: 0, priority: 100, bufferId: OFP_NO_BUFFER, outPort: OFPP.NONE, flags: 0, actions: [], ...over,
});
const output = (port: number): Action => ({ type: OFPAT.OUTPUT, port, maxLen: 0 });
const bytes = (m: OfpMessage): Uint8Array => new Uint8Array(encodeMessage(m));
/** `b` with a 16-bit value written at `offset`. */
function patch16(b: Uint8Array, offset: number, value: number): Uint8Array {
  const c = Uint8Array.from(b);
  c[offset] = value >> 8;
  c[offset + 1] = value & 0xff;
  return c;
}
function withLength(b: Uint8Array, length: number): Uint8Array {
  return patch16(b.subarray(0, length), 2, length);
}

t.test('malformed and invalid messages, a capture of the session', async (t) => {
  const host = await addHost(t, 'w1', { ip: '10.8.0.1/24' });
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'ofswitch-wire-'));
  t.teardown(() => process.env['KEEP_PCAP'] || rmSync(dir, { recursive: true, force: true }));
  const pcap = join(dir, 'session.pcap');
  const tcpdump = spawnIn('tcpdump', ['-i', 'lo', '-U', '-s', '0', '-w', pcap, `tcp port ${port}`]);
  t.teardown(() => void tcpdump.kill('SIGTERM'));
  const listening = await new Promise<boolean>((resolve) => {
    tcpdump.stderr?.on('data', (d: Buffer) => d.toString().includes('listening on') && resolve(true));
    tcpdump.once('exit', () => resolve(false));
    setTimeout(() => resolve(false), 5000);
  });
  t.ok(listening, 'tcpdump is capturing');
  await startOfswitch(t, ['--port', `${host.port},ofport=1`, '--listen', `ptcp:${port}`, '--fail-mode', 'secure']);
  const target = `tcp:127.0.0.1:${port}`;
  const c = await OfClient.connect(port);
  t.teardown(() => c.close());
  const features = await c.request({ version: 1, type: OFPT.FEATURES_REQUEST, xid: 1 });
  const hwAddr = features.type === OFPT.FEATURES_REPLY ? (features.ports[0]?.hwAddr ?? '') : '';

  const flowModAt = (xid: number): Uint8Array => bytes(flowMod(xid, { actions: [output(1)] }));
  const cases: [string, Uint8Array, number, number][] = [
    ['FLOW_MOD shorter than its struct', withLength(flowModAt(101), 60), OFPET.BAD_REQUEST, OFPBRC.BAD_LEN],
    ['unknown message type', Uint8Array.from([1, 25, 0, 8, 0, 0, 0, 102]), OFPET.BAD_REQUEST, OFPBRC.BAD_TYPE],
    ['another version after the handshake', Uint8Array.from([2, 5, 0, 8, 0, 0, 0, 103]), OFPET.BAD_REQUEST, OFPBRC.BAD_VERSION],
    ['VENDOR message (Nicira)', bytes({ version: 1, type: OFPT.VENDOR, xid: 104, vendor: 0x2320, data: Uint8Array.from([0, 0, 0, 12, 0, 0, 0, 2]) }), OFPET.BAD_REQUEST, OFPBRC.BAD_VENDOR],
    ['vendor statistics', bytes({ version: 1, type: OFPT.STATS_REQUEST, xid: 105, flags: 0, statsType: OFPST.VENDOR, vendor: 0x2320, body: new Uint8Array(8) }), OFPET.BAD_REQUEST, OFPBRC.BAD_VENDOR],
    ['unknown statistics type', patch16(bytes({ version: 1, type: OFPT.STATS_REQUEST, xid: 106, flags: 0, statsType: OFPST.DESC }), 8, 9), OFPET.BAD_REQUEST, OFPBRC.BAD_STAT],
    ['FEATURES_REPLY sent to the switch', bytes({ ...features, xid: 107 }), OFPET.BAD_REQUEST, OFPBRC.BAD_TYPE],
    ['PACKET_OUT naming an unknown buffer', bytes({ version: 1, type: OFPT.PACKET_OUT, xid: 108, bufferId: 0x4242, inPort: OFPP.NONE, actions: [output(1)], data: new Uint8Array(0) }), OFPET.BAD_REQUEST, OFPBRC.BUFFER_UNKNOWN],
    ['vendor action (resubmit)', bytes(flowMod(110, { actions: [{ type: OFPAT.VENDOR, vendor: 0x2320, body: Uint8Array.from([0, 1, 0, 3, 0, 0, 0, 0]) }] })), OFPET.BAD_ACTION, OFPBAC.BAD_VENDOR],
    ['OUTPUT to OFPP_NONE', bytes(flowMod(111, { actions: [output(OFPP.NONE)] })), OFPET.BAD_ACTION, OFPBAC.BAD_OUT_PORT],
    ['OUTPUT to reserved 0xff01', bytes(flowMod(112, { actions: [output(0xff01)] })), OFPET.BAD_ACTION, OFPBAC.BAD_OUT_PORT],
    ['OUTPUT to TABLE in a flow', bytes(flowMod(113, { actions: [output(OFPP.TABLE)] })), OFPET.BAD_ACTION, OFPBAC.BAD_OUT_PORT],
    ['unknown action type', patch16(flowModAt(114), 72, 20), OFPET.BAD_ACTION, OFPBAC.BAD_TYPE],
    ['action of the wrong length', patch16(flowModAt(115), 74, 16), OFPET.BAD_ACTION, OFPBAC.BAD_LEN],
    ['SET_VLAN_VID above 4095', bytes(flowMod(116, { actions: [{ type: OFPAT.SET_VLAN_VID, vlanVid: 5000 }] })), OFPET.BAD_ACTION, OFPBAC.BAD_ARGUMENT],
    ['unknown FLOW_MOD command', bytes(flowMod(117, { command: 9 })), OFPET.FLOW_MOD_FAILED, OFPFMFC.BAD_COMMAND],
    ['EMERG entry with a timeout', bytes(flowMod(118, { flags: OFPFF.EMERG, idleTimeout: 5 })), OFPET.FLOW_MOD_FAILED, OFPFMFC.BAD_EMERG_TIMEOUT],
    ['CHECK_OVERLAP against an overlapping entry', bytes(flowMod(119, { priority: 5, flags: OFPFF.CHECK_OVERLAP, match: { ...ANY, wildcards: ANY.wildcards & ~1, inPort: 1 } })), OFPET.FLOW_MOD_FAILED, OFPFMFC.OVERLAP],
    ['PORT_MOD of a port that does not exist', bytes({ version: 1, type: OFPT.PORT_MOD, xid: 120, portNo: 9, hwAddr, config: 0, mask: 0, advertise: 0 }), OFPET.PORT_MOD_FAILED, OFPPMFC.BAD_PORT],
    ['PORT_MOD with another hardware address', bytes({ version: 1, type: OFPT.PORT_MOD, xid: 121, portNo: 1, hwAddr: '02:de:ad:be:ef:00', config: 0, mask: 0, advertise: 0 }), OFPET.PORT_MOD_FAILED, OFPPMFC.BAD_HW_ADDR],
    ['QUEUE_GET_CONFIG of a port that does not exist', bytes({ version: 1, type: OFPT.QUEUE_GET_CONFIG_REQUEST, xid: 122, port: 99 }), OFPET.QUEUE_OP_FAILED, OFPQOFC.BAD_PORT],
  ];
  c.send(flowMod(100, { priority: 5, actions: [output(1)] })); // for CHECK_OVERLAP to collide with
  for (const [what, request, errorType, code] of cases) {
    const xid = ((request[4] ?? 0) << 24) | ((request[5] ?? 0) << 16) | ((request[6] ?? 0) << 8) | (request[7] ?? 0);
    c.sendRaw(request);
    const reply = await c.next((m) => m.xid === xid);
    t.match(reply, { type: OFPT.ERROR, errorType, code }, what);
    const data = reply.type === OFPT.ERROR ? reply.data : new Uint8Array(0);
    t.same([...data.subarray(0, 64)], [...request.subarray(0, 64)], `${what}: the error carries the request's first bytes`);
    t.match(await c.request({ version: 1, type: OFPT.ECHO_REQUEST, xid: 1000 + xid, data: new Uint8Array(0) }), { type: OFPT.ECHO_REPLY }, `${what}: the connection is still up`);
  }

  const v0 = await OfClient.connect(port, '127.0.0.1', { hello: false });
  t.teardown(() => v0.close());
  v0.sendRaw(Uint8Array.from([0, 0, 0, 8, 0, 0, 0, 7]));
  t.match(await v0.next((m) => m.type === OFPT.ERROR), { errorType: OFPET.HELLO_FAILED, code: OFPHFC.INCOMPATIBLE, xid: 7 }, 'HELLO of version 0');
  await v0.waitClosed();

  const garbage = await OfClient.connect(port);
  t.teardown(() => garbage.close());
  garbage.sendRaw(Uint8Array.from([0xde, 0xad, 0x00, 0x02, 0xbe, 0xef, 0, 0, 1, 2, 3, 4]));
  await garbage.waitClosed();
  t.ok(garbage.closed, 'a length below 8 cannot be framed: that connection is closed');
  const huge = await OfClient.connect(port);
  t.teardown(() => huge.close());
  huge.sendRaw(Uint8Array.from([1, 2, 0xff, 0xff, 0, 0, 0, 1, 0, 0, 0, 0]));
  t.match(await c.request({ version: 1, type: OFPT.BARRIER_REQUEST, xid: 2000 }), { type: OFPT.BARRIER_REPLY }, 'others keep working');
  assertRan(t, await ofctl(undefined, target, 'show'), 'ovs-ofctl show, too');

  // ovs-ofctl's own session, for the capture.
  for (const args of [['add-flow', 'priority=9,ip,actions=output:1'], ['dump-flows'], ['dump-aggregate'], ['dump-tables'], ['dump-ports'], ['dump-ports-desc'], ['dump-desc'], ['get-frags'], ['probe'], ['del-flows', '--strict', 'priority=9,ip']]) {
    const [command = '', ...rest] = args;
    t.equal((await ofctl(undefined, target, command, ...rest)).code, 0, `ovs-ofctl ${args.join(' ')}`);
  }
  // A flow statistics reply past 64 KiB arrives in parts (OFPSF_REPLY_MORE): ovs-ofctl reads them all.
  const many = join(dir, 'many.txt');
  writeFileSync(many, Array.from({ length: 1500 }, (_, i) => `priority=${i + 1},tcp,tp_src=${i},actions=output:1\n`).join(''));
  t.equal((await ofctl(undefined, target, 'add-flows', many)).code, 0);
  const dump = await ofctl(undefined, target, 'dump-flows');
  assertRan(t, dump, 'ovs-ofctl dump-flows');
  t.equal(dump.stdout.split('\n').filter((l) => l.includes('tcp,tp_src=')).length, 1500, 'all 1500 entries (about 140 KiB) listed');
  t.equal((await ofctl(undefined, target, 'del-flows', 'tcp')).code, 0);

  // Every message the switch sent us decodes with ovs-ofctl ofp-print.
  const sent = new Map<number, Uint8Array[]>();
  for (const m of c.history) sent.set(m.bytes[1] ?? 0, [...(sent.get(m.bytes[1] ?? 0) ?? []), m.bytes]);
  const all = [...sent.values()].flat();
  t.ok(all.length > 20, `the switch sent ${all.length} messages`);
  for (const b of all) {
    const out = await ofctlOffline('ofp-print', Buffer.from(b).toString('hex'));
    const head = out.stdout.split('\n')[0] ?? '';
    if (out.code !== 0 || !/^OFP(T|ST)_\w+/.test(head)) {
      t.fail(`ofp-print of type ${b[1]} gave exit ${out.code}, first line "${head}" ${out.stderr}`);
      continue;
    }
    // An error's data is the offending request, malformed on purpose here: judge the error's own line.
    const text = b[1] === OFPT.ERROR ? head : out.stdout + out.stderr;
    t.notMatch(text, /\*\*\*|decode error|truncated/i, `ofp-print reads ${head}`);
  }
  c.close();
  huge.close();
  await new Promise((resolve) => setTimeout(resolve, 500));
  tcpdump.kill('SIGTERM');
  await new Promise((resolve) => tcpdump.once('exit', resolve));
  // What the switch sent: tshark decodes it all, with no malformed frame. (The requests above are
  // malformed on purpose; tshark flags those, as it should.)
  const fromSwitch = `tcp.srcport==${port}`;
  const decoded = await run('tshark', ['-r', pcap, '-d', `tcp.port==${port},openflow`, '-Y', `openflow_v1 && ${fromSwitch}`, '-T', 'fields', '-e', 'openflow_1_0.type']);
  const types = new Set(decoded.split(/[\s,]+/).filter((x) => x !== '').map(Number));
  for (const type of [OFPT.HELLO, OFPT.ERROR, OFPT.ECHO_REPLY, OFPT.FEATURES_REPLY, OFPT.GET_CONFIG_REPLY, OFPT.STATS_REPLY, OFPT.BARRIER_REPLY])
    t.ok(types.has(type), `tshark decodes the switch's ${type} messages`);
  const malformed = await tryRun('tshark', ['-r', pcap, '-d', `tcp.port==${port},openflow`, '-Y', `${fromSwitch} && (_ws.malformed || _ws.expert.severity >= error)`]);
  assertRan(t, malformed, 'tshark reading the capture', { output: false });
  t.equal(malformed.stdout.trim(), '', 'no malformed frame from the switch');
});
