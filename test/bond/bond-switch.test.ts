/**
 * Bonds through the Switch's public interface on memory ports: two switches joined by two links,
 * each with a bond over its two ends, LACP between them (ofswitch against itself; against Open
 * vSwitch: bond-ovs.test.ts). NORMAL sees a bond as one port (one copy of a flood, never back into
 * the bond), members go down with their carrier and with the liveness hook, the admissibility
 * rules drop what OVS drops, active-backup sends learning RARPs, and the bond/* and lacp/* commands
 * answer as OVS's do.
 */
import t, { type Test } from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSwitch, type Switch } from '../../index.js';
import { BondError, type BondSpec } from '../../lib/bonds.js';
import { registerBondCommands } from '../../lib/bond-commands.js';
import type { Logger } from '../../lib/log.js';
import type { MemoryPort } from '../../datapath/ports/memory-port.js';
import { ETH_TYPE_LACP } from '../../protocol/constants.js';
import { composeRarp } from '../../datapath/bond-set.js';
import { UnixctlError, type UnixctlHandler } from '../../unixctl/index.js';
import { waitUntil } from '../helpers/daemon-rig.js';
import { cfmSettings } from '../../oam/index.js';
import { ethFrame, ipv4Packet, udpDatagram, withL4Checksum4 } from '../datapath/frames.js';

const H1 = '02:00:00:00:01:01';
const H2 = '02:00:00:00:02:02';
const BCAST = 'ff:ff:ff:ff:ff:ff';
const udp = (src: string, dst: string, sport = 1, dport = 2): Uint8Array =>
  ethFrame(0x0800, withL4Checksum4(ipv4Packet({ proto: 17 }, udpDatagram(sport, dport))), { src, dst });
const isLacp = (f: Uint8Array): boolean => f[12] === ETH_TYPE_LACP >> 8 && f[13] === (ETH_TYPE_LACP & 0xff);

function quietLogger(logs: string[]): Logger {
  const logger = {
    debug: () => undefined,
    info: (msg: string) => void logs.push(`info: ${msg}`),
    warn: (msg: string) => void logs.push(`warn: ${msg}`),
    error: (msg: string) => void logs.push(`error: ${msg}`),
    debugEnabled: false,
    level: 'info',
    setLevel: () => undefined,
    child: () => logger,
  };
  return logger as unknown as Logger;
}

interface Side {
  sw: Switch;
  dev: Map<string, MemoryPort>;
  /** Data frames (not LACP) each port sent. */
  sent: Map<string, Uint8Array[]>;
  logs: string[];
}

function side(t: Test, ports: string[], dpid: string): Side {
  const logs: string[] = [];
  const sw = createSwitch({ linkPollMs: 0, logger: quietLogger(logs), datapathId: dpid });
  t.teardown(() => sw.close());
  const dev = new Map<string, MemoryPort>();
  const sent = new Map<string, Uint8Array[]>();
  for (const name of ports) {
    const added = sw.addPort({ name, type: 'memory' });
    dev.set(name, added.device);
    const list: Uint8Array[] = [];
    sent.set(name, list);
    added.device.on('frame', (f: Uint8Array) => {
      if (!isLacp(f)) list.push(f.slice());
    });
  }
  return { sw, dev, sent, logs };
}

/** Joins two memory ports like a cable (frames delivered on the next turn of the loop). */
function cable(a: MemoryPort, b: MemoryPort): void {
  a.on('frame', (f: Uint8Array) => void setImmediate(() => b.inject(f.slice())));
  b.on('frame', (f: Uint8Array) => void setImmediate(() => a.inject(f.slice())));
}

function pair(t: Test, spec: Omit<BondSpec, 'name' | 'members'>): { s1: Side; s2: Side } {
  const s1 = side(t, ['h1', 'a1', 'a2'], '0000020000000001');
  const s2 = side(t, ['h2', 'b1', 'b2'], '0000020000000002');
  cable(s1.dev.get('a1')!, s2.dev.get('b1')!);
  cable(s1.dev.get('a2')!, s2.dev.get('b2')!);
  t.same(s1.sw.setBonds([{ name: 'bond1', members: ['a1', 'a2'], ...spec }]), [], 'bond1 made');
  t.same(s2.sw.setBonds([{ name: 'bond2', members: ['b1', { name: 'b2', lacpPortPriority: 100 }], ...spec }]), [], 'bond2 made');
  return { s1, s2 };
}

const take = (s: Side, ...ports: string[]): number => ports.reduce((n, p) => n + s.sent.get(p)!.splice(0).length, 0);

function commands(sw: Switch): Map<string, UnixctlHandler> {
  const handlers = new Map<string, UnixctlHandler>();
  registerBondCommands({ register: (name, _usage, _min, _max, h) => void handlers.set(name, h) }, () => new Map([['br', sw]]));
  return handlers;
}

async function call(h: Map<string, UnixctlHandler>, name: string, ...args: string[]): Promise<string> {
  return String(await h.get(name)!(args));
}

t.test('LACP between two ofswitch bonds; NORMAL sees one port; carrier and liveness', async (t) => {
  const { s1, s2 } = pair(t, { mode: 'balance-tcp', lacp: 'active', lacpTime: 'fast' });
  await waitUntil(() => s1.sw.bondSet?.bond('bond1')?.lacpStatus === 'negotiated' && s2.sw.bondSet?.bond('bond2')?.lacpStatus === 'negotiated', 'LACP negotiated', 5000);
  await waitUntil(() => [...s1.sw.bondSet!.bond('bond1')!.members.values()].every((m) => m.enabled && m.mayEnable), 'members enabled', 5000);
  const show = s1.sw.bondSet!.bond('bond1')!.lacp!.show();
  t.match(show, /partner sys_id: 02:00:00:00:00:02/, 'bond1 sees bond2\'s system (the datapath id\'s MAC)');
  t.match(show, /status: active negotiated/, 'lacp/show: negotiated');

  // A broadcast from h1: one copy into the bond, one out to h2, nothing back.
  take(s1, 'a1', 'a2', 'h1');
  take(s2, 'b1', 'b2', 'h2');
  s1.dev.get('h1')!.inject(udp(H1, BCAST));
  await sleep(50);
  t.equal(take(s1, 'a1', 'a2'), 1, 'one copy of the flood into bond1');
  t.equal(take(s2, 'h2'), 1, 'h2 gets it once');
  t.equal(take(s2, 'b1', 'b2'), 0, 'bond2 sends nothing back into the bond');
  t.equal(take(s1, 'h1'), 0, 'h1 gets nothing back');
  // h2 answers: bond2 learned h1 on the bond; bond1 delivers to h1.
  s2.dev.get('h2')!.inject(udp(H2, H1));
  await sleep(50);
  t.equal(take(s2, 'b1', 'b2'), 1, 'unicast to h1 leaves bond2 once');
  t.equal(take(s1, 'h1'), 1, 'h1 gets it');
  const fdb = s2.sw.macTable().find((e) => e.mac === H1);
  t.equal(fdb?.port, s2.sw.port('b1')!.ofport, 'learned on the bond (its lowest member\'s number)');

  // Many flows: both members carry some.
  for (let i = 0; i < 64; i++) s1.dev.get('h1')!.inject(udp(H1, H2, 1000 + i, 2000));
  await sleep(50);
  const a1 = take(s1, 'a1');
  const a2 = take(s1, 'a2');
  t.ok(a1 > 0 && a2 > 0 && a1 + a2 === 64, `balance-tcp spreads 64 flows: ${a1} and ${a2}`);

  // Carrier down on a1 (and its far end): everything through a2.
  s1.dev.get('a1')!.setCarrier(false);
  s2.dev.get('b1')!.setCarrier(false);
  await waitUntil(() => !s1.sw.bondSet!.bond('bond1')!.members.get('a1')!.enabled, 'a1 disabled', 2000);
  t.ok(s1.logs.includes('info: member a1: disabled'), 'logged as OVS logs it: member a1: disabled');
  for (let i = 0; i < 16; i++) s1.dev.get('h1')!.inject(udp(H1, H2, 3000 + i, 2000));
  await sleep(50);
  t.equal(take(s1, 'a1'), 0, 'nothing out of a1');
  t.equal(take(s1, 'a2'), 16, 'everything out of a2');
  const stats = await call(commands(s1.sw), 'lacp/show-stats', 'bond1');
  t.match(stats, /Carrier Status Changed: [1-9]/, 'lacp/show-stats counts the carrier change');
  s1.dev.get('a1')!.setCarrier(true);
  s2.dev.get('b1')!.setCarrier(true);
  await waitUntil(() => s1.sw.bondSet!.bond('bond1')!.members.get('a1')!.enabled, 'a1 enabled again', 5000);

  // The liveness hook (CFM/BFD): a2 declared down.
  // It takes effect at once (as OVS's port_run feeds the bond in the same turn), not at the next run.
  s1.sw.setBondMemberLiveness('a2', false);
  t.notOk(s1.sw.bondSet!.bond('bond1')!.members.get('a2')!.enabled, 'a2 disabled by its liveness source at once');
  s1.sw.setBondMemberLiveness('a2', false);
  t.notOk(s1.sw.bondSet!.bond('bond1')!.members.get('a2')!.enabled, 'the same verdict again changes nothing');
  // The partner's LACP PDUs (fast: one a second on a2) do not override the liveness fault: a CI run
  // caught bond/show saying may_enable true between a PDU and the next bond run.
  const a2Member = s1.sw.bondSet!.bond('bond1')!.members.get('a2')!;
  const rxOfA2 = async (): Promise<number> => {
    const text = await call(commands(s1.sw), 'lacp/show-stats', 'bond1');
    return Number(/member: a2:[\s\S]*?RX PDUs: (\d+)/.exec(text)?.[1] ?? NaN);
  };
  const rxBefore = await rxOfA2();
  let sampledTrue = 0;
  const sampleUntil = Date.now() + 2500;
  while (Date.now() < sampleUntil) {
    if (a2Member.mayEnable || a2Member.enabled) sampledTrue++;
    await sleep(5);
  }
  t.ok((await rxOfA2()) > rxBefore, `PDUs arrived on a2 meanwhile (RX PDUs ${rxBefore} before)`);
  t.equal(sampledTrue, 0, 'a2 stayed disabled with may_enable false while they did');
  s1.sw.setBondMemberLiveness('a2', null);
  t.ok(s1.sw.bondSet!.bond('bond1')!.members.get('a2')!.enabled, 'a2 back at once without a liveness source');

  // CFM on a member is its liveness, as OVS's may_enable_port: alone (no CCMs from the far side)
  // it faults and the bond stops using a2; once the far side runs CFM too, a2 is back; CFM off, no source.
  const cfm = (mpid: number) => cfmSettings(mpid, { cfm_interval: '20', cfm_extended: 'true' })!;
  s1.sw.monitor.setCfm('a2', cfm(1));
  await waitUntil(() => !s1.sw.bondSet!.bond('bond1')!.members.get('a2')!.enabled, 'a2 disabled by its CFM fault (no remote MEP)', 3000);
  s2.sw.monitor.setCfm('b2', cfm(2));
  await waitUntil(() => s1.sw.bondSet!.bond('bond1')!.members.get('a2')!.enabled, 'a2 enabled once CFM hears MPID 2', 3000);
  t.same(s1.sw.monitor.cfm('a2')!.status().remoteMpids, [2], 'CFM over the bond member hears the far member');
  s1.sw.monitor.setCfm('a2', null);
  s2.sw.monitor.setCfm('b2', null);
  t.equal(s1.sw.monitor.live('a2'), undefined, 'CFM off: no liveness source');
  await waitUntil(() => s1.sw.bondSet!.bond('bond1')!.members.get('a2')!.enabled, 'a2 still enabled', 2000);

  // A member replaced by another port: the bond follows (LACP forgets the old one).
  t.same(s1.sw.setBonds([{ name: 'bond1', members: ['a1', 'h1'], mode: 'balance-tcp', lacp: 'active', lacpTime: 'fast' }]), [], 'members changed');
  t.same([...s1.sw.bondSet!.bond('bond1')!.members.keys()], ['a1', 'h1'], 'a2 out, h1 in');
  t.same(s1.sw.bondSet!.bond('bond1')!.lacp!.memberNames(), ['a1', 'h1'], 'LACP follows');
  t.same(s1.sw.setBonds([{ name: 'bond1', members: ['a1', 'a2'], mode: 'balance-tcp', lacp: 'active', lacpTime: 'fast' }]), [], 'back as it was');

  // Removing a member port leaves a one-member "bond": no bond (logged); adding it back, a bond again.
  s1.sw.removePort('a2');
  t.equal(s1.sw.bondSet, null, 'no bond with one member');
  t.ok(s1.logs.some((l) => l.includes('fewer than two members')), 'logged');
  s1.sw.addPort({ name: 'a2', type: 'memory' });
  t.ok(s1.sw.bondSet?.bond('bond1'), 'a bond again');
  t.same(s1.sw.setBonds([]), [], 'bonds removed');
  t.equal(s1.sw.bondSet, null, 'none left');
});

t.test('active-backup without LACP: backup member admits nothing, learning packets, commands', async (t) => {
  const { s1, s2 } = pair(t, { mode: 'active-backup', updelay: 0, downdelay: 0 });
  const bond = s1.sw.bondSet!.bond('bond1')!;
  t.equal(bond.active?.name, 'a1', 'a1 active (the first enabled)');
  // Learn h1 on s1, then a frame for h1 arriving on the backup a2: dropped.
  s1.dev.get('h1')!.inject(udp(H1, BCAST));
  await sleep(30);
  take(s1, 'h1', 'a1', 'a2');
  take(s2, 'h2', 'b1', 'b2');
  s1.dev.get('a2')!.inject(udp(H2, H1));
  s1.dev.get('a2')!.inject(udp(H2, BCAST));
  await sleep(30);
  t.equal(take(s1, 'h1'), 0, 'frames on the backup member are dropped');
  s1.dev.get('a1')!.inject(udp(H2, H1));
  await sleep(30);
  t.equal(take(s1, 'h1'), 1, 'frames on the active member pass');

  const h = commands(s1.sw);
  t.match(await call(h, 'bond/show', 'bond1'), /bond_mode: active-backup\n/, 'bond/show');
  t.match(await call(h, 'bond/show'), /---- bond1 ----/, 'bond/show without a name');
  t.match(await call(h, 'bond/list'), /^bond\ttype\trecircID\tmembers\nbond1\tactive-backup\t0\ta1, a2\n$/, 'bond/list');
  await t.rejects(call(h, 'bond/show', 'nope'), new UnixctlError('no such bond'));
  await t.rejects(call(h, 'bond/set-active-member', 'bond1', 'zz'), new UnixctlError('no such member'));
  await t.rejects(call(h, 'bond/migrate', 'bond1', '1', 'a1'), new UnixctlError('not an SLB bond'));
  await t.rejects(call(h, 'lacp/show', 'bond1'), new UnixctlError('no such lacp object'));
  t.equal(await call(h, 'lacp/show'), '', 'lacp/show: no LACP object');

  // Make a2 active by hand: a learning RARP for h1 leaves by a2 (the new active member).
  t.equal(await call(h, 'bond/set-active-member', 'bond1', 'a2'), 'done', 'bond/set-active-member');
  s1.dev.get('a2')!.setCarrier(false);
  await waitUntil(() => s1.logs.includes('info: bond bond1: active member is now a1'), 'the active member moves back to a1 (logged)', 2000);
  s1.dev.get('a1')!.setCarrier(false);
  await waitUntil(() => s1.logs.includes('info: bond bond1: all members disabled'), 'all members disabled (logged)', 2000);
  s1.dev.get('a1')!.setCarrier(true);
  s1.dev.get('a2')!.setCarrier(true);
  await waitUntil(() => s1.sw.bondSet!.bond('bond1')!.members.get('a2')!.enabled, 'a2 enabled again', 2000);
  t.equal(await call(h, 'bond/set-active-member', 'bond1', 'a2'), 'done', 'a2 active again');
  t.equal(await call(h, 'bond/set-active-slave', 'bond1', 'a2'), 'no change', 'the old name too');
  await sleep(120);
  const rarps = s1.sent.get('a2')!.splice(0).filter((f) => f[12] === 0x80 && f[13] === 0x35);
  t.ok(rarps.length >= 1, 'a RARP for the learned address left by the new active member');
  t.equal(Buffer.from(rarps[0]!.subarray(6, 12)).toString('hex'), H1.replace(/:/g, ''), 'from h1\'s address');
  t.equal(await call(h, 'bond/disable-member', 'bond1', 'a1'), 'disabled', 'bond/disable-member');
  await t.rejects(call(h, 'bond/set-active-member', 'bond1', 'a1'), new UnixctlError('cannot make disabled member active'));
  t.equal(await call(h, 'bond/enable-member', 'bond1', 'a1'), 'enabled', 'bond/enable-member');
  t.equal(await call(h, 'bond/disable-slave', 'bond1', 'a1'), 'disabled', 'bond/disable-slave');
  t.equal(await call(h, 'bond/enable-slave', 'bond1', 'a1'), 'enabled', 'bond/enable-slave');
  t.equal(await call(h, 'bond/hash', '00:00:00:00:00:01'), String(Number(await call(h, 'bond/hash', '00:00:00:00:00:01', '0', '0'))), 'bond/hash defaults');
  await t.rejects(call(h, 'bond/hash', 'xx'), new UnixctlError('invalid mac'));
  await t.rejects(call(h, 'bond/hash', '00:00:00:00:00:01', 'x'), new UnixctlError('invalid vlan'));
  await t.rejects(call(h, 'bond/hash', '00:00:00:00:00:01', '1', 'y'), new UnixctlError('invalid basis'));
  // Read as OVS's ovs_scan reads them (bond-appctl-ovs.test.ts compares with OVS): a sign wraps,
  // trailing text is ignored, MAC bytes are hex with an optional 0x, taken modulo 256.
  const hashOf = (...a: string[]): Promise<string> => call(h, 'bond/hash', ...a);
  t.equal(await hashOf('00:11:22:33:44:55', '-1'), await hashOf('00:11:22:33:44:55', '65535'), 'VLAN -1 is 65535');
  t.equal(await hashOf('00:11:22:33:44:55', '65546', '-1'), await hashOf('00:11:22:33:44:55', ' +10xyz', '4294967295'), 'VLAN modulo 2^16, basis -1 is 2^32 - 1');
  t.equal(await hashOf('00:11:22:33:44:55:66'), await hashOf('00:11:22:33:44:55'), 'a MAC with more after it');
  t.equal(await hashOf('0x0:0X111:22:33:44:-0xbb'), await hashOf('00:11:22:33:44:45'), 'MAC bytes: 0x prefixes, modulo 256, negative');
  for (const bad of ['0x:11:22:33:44:55', '00:11:22:33:44', '00-11-22-33-44-55', '00:11:22:33:44:+']) await t.rejects(hashOf(bad), new UnixctlError('invalid mac'), `invalid mac: ${bad}`);
  await t.rejects(hashOf('00:11:22:33:44:55', '-'), new UnixctlError('invalid vlan'));
});

t.test('balance-slb: a frame that comes back is dropped; migrate; LACP passive on both sides never negotiates', async (t) => {
  const { s1 } = pair(t, { mode: 'balance-slb', rebalanceInterval: 500 });
  const h = commands(s1.sw);
  s1.dev.get('h1')!.inject(udp(H1, BCAST));
  await sleep(30);
  take(s1, 'h1', 'a1', 'a2');
  // h1's own broadcast back on the bond (learned on h1: it moved? no: it came back): dropped.
  s1.dev.get('a1')!.inject(udp(H1, '02:00:00:00:09:09'));
  await sleep(30);
  t.equal(take(s1, 'h1'), 0, 'a frame whose source was learned elsewhere is dropped (drop-if-moved)');
  t.equal(await call(h, 'bond/migrate', 'bond1', '7', 'a2'), 'migrated', 'bond/migrate');
  await t.rejects(call(h, 'bond/migrate', 'bond1', 'x', 'a2'), new UnixctlError('bad hash'));
  await s1.sw.bondSet!.bond('bond1')!.members.get('a2') && call(h, 'bond/disable-member', 'bond1', 'a2');
  await t.rejects(call(h, 'bond/migrate', 'bond1', '7', 'a2'), new UnixctlError('cannot migrate to disabled member'));
  t.match(await call(h, 'bond/show', 'bond1'), /all members active: false\n/, 'SLB line in bond/show');

  const p = pair(t, { mode: 'balance-tcp', lacp: 'passive' });
  await sleep(300);
  t.equal(p.s1.sw.bondSet!.bond('bond1')!.lacpStatus, 'configured', 'passive against passive: configured, never negotiated');
  t.match(await call(commands(p.s1.sw), 'lacp/show'), /status: passive\n/, 'lacp/show: passive');
  take(p.s1, 'a1', 'a2');
  p.s1.dev.get('h1')!.inject(udp(H1, BCAST));
  await sleep(30);
  t.equal(take(p.s1, 'a1', 'a2'), 0, 'a balance-tcp bond without LACP sends nothing');
});

t.test('learning packets carry the VLAN the address was learned in', async (t) => {
  const rarp = composeRarp(0x020000000101, 10);
  t.equal(rarp.length, 60, 'padded to 60 bytes');
  t.same([...rarp.subarray(12, 18)], [0x81, 0x00, 0x00, 10, 0x80, 0x35], 'tagged VLAN 10, RARP');
  t.same([...rarp.subarray(6, 12)], [2, 0, 0, 0, 1, 1], 'from the address');
  const plain = composeRarp(0x020000000101, 0);
  t.same([...plain.subarray(12, 14)], [0x80, 0x35], 'untagged in VLAN 0');
});

t.test('setBonds refuses what no bridge could apply', async (t) => {
  const s = side(t, ['x1', 'x2'], '0000020000000009');
  t.throws(() => s.sw.setBonds([{ name: 'b', members: ['x1', 'x2'], mode: 'balance-xx' as never }]), /bond_mode "balance-xx" is not one of/);
  t.throws(() => s.sw.setBonds([{ name: 'b', members: ['x1', 'x2'], lacp: 'on' as never }]), /lacp "on"/);
  t.throws(() => s.sw.setBonds([{ name: 'b', members: ['x1', 'x2'], lacpTime: 'quick' as never }]), /lacp-time "quick"/);
  t.throws(() => s.sw.setBonds([{ name: 'b', members: ['x1', 'x2'], lacpSystemId: '00:00:00:00:00:00' }]), /non-zero Ethernet address/);
  t.throws(() => s.sw.setBonds([{ name: 'b', members: ['x1', 'x2'], updelay: 1.5 }]), /updelay 1.5 is not an integer/);
  t.throws(() => s.sw.setBonds([{ name: '', members: ['x1', 'x2'] }]), /needs a name/);
  let caught: unknown;
  try {
    s.sw.setBonds([{ name: 'b', members: 'x1' as never }]);
  } catch (err) {
    caught = err;
  }
  t.ok(caught instanceof BondError && /members must be a list/.test(caught.message), 'a BondError names what is wrong');
  t.throws(() => s.sw.setBonds([{ name: 'b', members: ['x1', 'x2'] }, { name: 'b', members: ['x1', 'x2'] }]), /given twice/);
  t.same(s.sw.setBonds([{ name: 'b', members: ['x1', 'nope'] }]), ['bond b: member nope is not a port of this bridge', 'bond b: fewer than two members, not a bond'], 'problems returned');
  t.equal(s.sw.bondSet, null, 'no bond made');
});
