/**
 * Link monitoring inside switches (oam/monitor.ts through Switch.monitor), in process and on real
 * timers with short intervals: two bridges joined by a patch pair run CFM (extended mode, 20 ms)
 * and BFD against each other; liveness goes true, the protocols' frames never reach the flow
 * tables, removing one end takes liveness down on the other; a memory port shows CCMs leaving
 * and ordinary frames passing by. Also the appctl commands (oam/commands.ts) and the status
 * columns (vswitchd/status.ts's monitorStatus).
 */
import t from 'tap';
import { createSwitch } from '../../lib/switch.js';
import type { MemoryPort } from '../../datapath/ports/memory-port.js';
import { bfdSettings, cfmSettings, OamError, registerOamCommands, type LinkMonitor } from '../../oam/index.js';
import { monitorStatus } from '../../vswitchd/status.js';
import { UnixctlError, type UnixctlHandler } from '../../unixctl/index.js';

const fast = (mpid: number) => cfmSettings(mpid, { cfm_interval: '20', cfm_extended: 'true' })!;
const bfdFast = bfdSettings({ enable: 'true', min_rx: '20', min_tx: '20' })!;

async function untilLive(m: LinkMonitor, port: string, want: boolean | undefined, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (m.live(port) !== want) {
    if (Date.now() > end) throw new Error(`${port} liveness not ${String(want)} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

t.test('two bridges joined by patch ports: CFM and BFD up, liveness, frames consumed, one end removed', async (t) => {
  const sw1 = createSwitch({ failMode: 'secure', linkPollMs: 0 });
  const sw2 = createSwitch({ failMode: 'secure', linkPollMs: 0 });
  t.teardown(() => Promise.all([sw1.close(), sw2.close()]));
  sw1.addPort({ name: 'oamp1', type: 'patch', options: { peer: 'oamp2' } });
  sw2.addPort({ name: 'oamp2', type: 'patch', options: { peer: 'oamp1' } });
  const events: [string, boolean | undefined][] = [];
  sw1.monitor.on('liveness', (port, live) => events.push([port, live]));
  let statuses = 0;
  sw1.monitor.on('status', () => statuses++);
  t.equal(sw1.monitor.live('oamp1'), undefined, 'no CFM or BFD: no liveness');
  t.equal(sw1.monitor.active, false);
  sw1.monitor.setCfm('oamp1', fast(1));
  sw2.monitor.setCfm('oamp2', fast(2));
  sw1.monitor.setBfd('oamp1', bfdFast);
  sw2.monitor.setBfd('oamp2', bfdFast);
  t.equal(sw1.monitor.live('oamp1'), true, 'live before the first check (no fault yet, as OVS)');
  await untilLive(sw1.monitor, 'oamp1', true);
  await new Promise((r) => setTimeout(r, 200));
  t.same(sw1.monitor.cfm('oamp1')!.status().remoteMpids, [2], 'sw1 hears MPID 2');
  t.equal(sw1.monitor.cfm('oamp1')!.faults(), 0);
  const upUntil = Date.now() + 8000;
  while (sw1.monitor.bfd('oamp1')!.status().state !== 'up' && Date.now() < upUntil) await new Promise((r) => setTimeout(r, 20));
  t.equal(sw1.monitor.bfd('oamp1')!.status().state, 'up', 'BFD up');
  t.ok(statuses > 0, "'status' was emitted");
  t.equal(sw1.lookupStats().lookups + sw2.lookupStats().lookups, 0, 'no CCM or BFD packet reached a flow table');
  const cols = monitorStatus(sw1.monitor, 'oamp1');
  t.match(cols, { cfm_fault: false, cfm_fault_status: [], cfm_remote_mpids: [2], cfm_remote_opstate: 'up' }, 'status columns');
  t.equal((cols['bfd_status'] as Map<string, string>).get('state'), 'up');

  // One end goes: its sessions end with it; the other side loses both and is not live.
  sw2.removePort('oamp2');
  t.equal(sw2.monitor.live('oamp2'), undefined, 'a removed port has no liveness');
  t.equal(sw2.monitor.cfm('oamp2'), undefined);
  await untilLive(sw1.monitor, 'oamp1', false, 5000);
  t.match(sw1.monitor.cfm('oamp1')!.status().faultNames, ['recv'], 'sw1: recv');
  t.same(events[events.length - 1], ['oamp1', false], "a 'liveness' event said so");
  // CFM off, BFD off: no liveness any more.
  sw1.monitor.setCfm('oamp1', null);
  sw1.monitor.setCfm('oamp1', null);
  sw1.monitor.setBfd('oamp1', null);
  sw1.monitor.setBfd('oamp1', null);
  await new Promise((r) => setTimeout(r, 10));
  t.equal(sw1.monitor.live('oamp1'), undefined);
  t.equal(sw1.monitor.active, false, 'no session left: the monitor is unhooked');
  t.same(events[events.length - 1], ['oamp1', undefined], 'announced');
  t.match(monitorStatus(sw1.monitor, 'oamp1'), { cfm_fault: [], cfm_remote_mpids: [], bfd_status: new Map() }, 'columns emptied');
  t.match(monitorStatus(undefined, 'x'), { cfm_fault: [] });
});

t.test('a memory port: CCMs leave through it, ordinary frames pass by, errors', async (t) => {
  const sw = createSwitch({ failMode: 'secure', linkPollMs: 0 });
  t.teardown(() => sw.close());
  const port = sw.addPort({ name: 'oamm1', type: 'memory', ofport: 3, options: { mac: '02:00:00:00:00:31' } }).device as MemoryPort;
  // The monitor's timer does not hold the process: this wait does.
  let keep: NodeJS.Timeout | undefined;
  const sent = new Promise<Uint8Array>((resolve, reject) => {
    keep = setTimeout(() => reject(new Error('no CCM within 5 s')), 5000);
    port.once('frame', resolve);
  }).finally(() => clearTimeout(keep));
  sw.monitor.setCfm('oamm1', cfmSettings(7, { cfm_ccm_vlan: '5' })!);
  const ccm = await sent;
  t.same([...ccm.subarray(0, 18)], [1, 0x80, 0xc2, 0, 0, 0x30, 2, 0, 0, 0, 0, 0x31, 0x81, 0, 0, 5, 0x89, 0x02], 'a CCM from the port, tagged VLAN 5');
  t.same(sw.port('oamm1')!.stats.txPackets, 1n, 'counted on the port');
  const own = ccm.slice();
  own[6 + 5] = 0x32;
  port.inject(own);
  t.equal(sw.lookupStats().lookups, 0, 'a CCM is consumed');
  const plain = new Uint8Array(60);
  plain.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 9, 0x08, 0x06]);
  port.inject(plain);
  t.equal(sw.lookupStats().lookups, 1, 'an ARP frame goes to the table');
  port.inject(plain.subarray(0, 10));
  t.equal(sw.lookupStats().lookups, 2, 'a runt too');
  t.throws(() => sw.monitor.setCfm('oamm1', cfmSettings(9000, {})!), OamError, 'MPID 9000 refused: CFM off');
  t.equal(sw.monitor.cfm('oamm1'), undefined);
  t.throws(() => sw.monitor.setCfm('oamm1', cfmSettings(9000, {})!), /CFM configuration is invalid/, 'again, without a session');
  t.throws(() => sw.monitor.setCfm('nosuch', cfmSettings(1, {})!), /no port nosuch/);
  sw.monitor.setBfd('oamm1', bfdFast);
  sw.monitor.setBfd('oamm1', bfdSettings({ enable: 'true', min_rx: '40' })!);
  t.ok(sw.monitor.bfd('oamm1'));
  port.inject(plain);
  t.equal(sw.lookupStats().lookups, 3, 'not BFD: to the table');
});

t.test('cfm/show, cfm/set-fault, bfd/show, bfd/set-forwarding', async (t) => {
  const sw = createSwitch({ failMode: 'secure', linkPollMs: 0 });
  t.teardown(() => sw.close());
  sw.addPort({ name: 'oamc1', type: 'memory', ofport: 1 });
  sw.addPort({ name: 'oamc2', type: 'memory', ofport: 2 });
  sw.monitor.setCfm('oamc2', cfmSettings(2, {})!);
  sw.monitor.setCfm('oamc1', cfmSettings(1, {})!);
  sw.monitor.setBfd('oamc1', bfdFast);
  const handlers = new Map<string, UnixctlHandler>();
  registerOamCommands({ register: (name, _u, _min, _max, h) => void handlers.set(name, h) }, () => [sw.monitor]);
  const call = async (name: string, ...args: string[]): Promise<string> => String(await handlers.get(name)!(args));
  t.match(await call('cfm/show'), /^---- oamc1 ----\nMPID 1:\n[^]*---- oamc2 ----\nMPID 2:\n/, 'every MEP, by name');
  t.match(await call('cfm/show', 'oamc2'), /^---- oamc2 ----\nMPID 2:\n {2}average health: undefined\n {2}opstate: up\n {2}remote_opstate: up\n {2}interval: 1000ms\n {2}next CCM tx: \d+ms\n {2}next fault check: \d+ms\n$/);
  await t.rejects(call('cfm/show', 'x'), new UnixctlError('no such CFM object'));
  t.equal(sw.monitor.live('oamc1'), true, 'no fault before the first check: live');
  t.equal(await call('cfm/set-fault', 'oamc1', 'true'), 'OK');
  t.match(await call('cfm/show', 'oamc1'), /MPID 1: fault_override\n {2}fault: override\n/);
  t.equal(sw.monitor.live('oamc1'), false, 'a forced fault and BFD not up: not live');
  t.equal(await call('cfm/set-fault', 'normal'), 'OK', 'every MEP');
  await t.rejects(call('cfm/set-fault', 'maybe'), new UnixctlError('unknown fault string'));
  await t.rejects(call('cfm/set-fault', 'x', 'true'), new UnixctlError('no such CFM object'));
  t.match(await call('bfd/show'), /^---- oamc1 ----\n {2}Forwarding: false\n {2}Detect Multiplier: 3\n/);
  t.match(await call('bfd/show', 'oamc1'), /^ {2}Forwarding: false\n[^]* {2}Local Session State: down\n/);
  await t.rejects(call('bfd/show', 'x'), new UnixctlError('no such bfd object'));
  t.equal(await call('bfd/set-forwarding', 'oamc1', 'true'), 'OK');
  t.match(await call('bfd/show', 'oamc1'), /^ {2}Forwarding: true\n/);
  t.equal(await call('bfd/set-forwarding', 'false'), 'OK');
  await t.rejects(call('bfd/set-forwarding', 'x', 'true'), new UnixctlError('no such BFD object'));
  await t.rejects(call('bfd/set-forwarding', 'sometimes'), new UnixctlError('unknown fault string'));
});
