/**
 * Gratuitous ARPs on a balance-slb bond without LACP, against Open vSwitch 3.1 in userspace, with
 * real packets from scapy:
 *
 *   host A -- S (balance-slb bond of s1, s2, lacp off) ==veth x2== U (two plain ports) -- host B
 *
 * U knows nothing of the bond, so a broadcast S sends into the bond comes back on the bond's other
 * member: the reflection OVS's gratuitous-ARP lock is for. A sends a gratuitous ARP: S learns A
 * on A's port and locks the entry for 5 s; A's ARP comes back on S's active member (tcpdump sees
 * it arrive) and is neither admitted nor learned: `fdb/show` keeps A on A's port and
 * `ofproto/trace` of that frame drops it ("SLB bond thinks this packet looped back"). After the lock a gratuitous ARP for A from behind U (the
 * host moved there) is learned: `fdb/show` puts A on the bond. The same steps run with ofswitch as
 * S (OVS upstream) and with OVS as S (ofswitch upstream), and what each S did must be the same.
 */
import t, { type Test } from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { run, spawnIn } from '../helpers/netns.js';
import { waitUntil } from '../helpers/daemon-rig.js';
import { enabledIn, fdbOf, sendGratuitousArp, startSlbUpstreamRig, type Side, type SlbUpstreamRig } from '../helpers/bond-ovs-rig.js';

/** What S did, in words both sides must share. */
interface Observed {
  reflectedOnActive: boolean;
  duringLock: string;
  traceDuringLock: string;
  traceReason: string;
  afterLock: string;
}

const where = (port: string | undefined, host: number, members: readonly number[]): string =>
  port === undefined ? 'unknown' : port === String(host) ? "A's port" : members.map(String).includes(port) ? 'the bond' : `port ${port}`;

async function scenario(t: Test, x: SlbUpstreamRig): Promise<Observed> {
  const show = async (): Promise<string> => (await x.appctl(['bond/show', x.bond])).stdout;
  await waitUntil(async () => { const s = await show(); return x.s.every((n) => enabledIn(s, n)); }, 'both members of S enabled', 20_000);
  const active = /active member mac: \S+\((\S+)\)/.exec(await show())?.[1] ?? '';
  const other = x.s.find((n) => n !== active) ?? '';
  t.ok(x.s.includes(active), `S's active member is ${active}`);
  // A's broadcasts leave by the other member (its bucket is moved there), so that U's flood brings
  // them back on the active member, the one a bond without LACP takes broadcasts on.
  const hash = (await x.appctl(['bond/hash', x.a.mac])).stdout.trim();
  t.match(hash, /^\d+$/, `A's bucket is ${hash}`);
  t.equal((await x.appctl(['bond/migrate', x.bond, hash, other])).stdout.trim(), 'migrated', `A's bucket moved to ${other}`);
  // The host must not answer the ARPs for its own address that come later (that would teach S).
  await run('sysctl', ['-qw', 'net.ipv4.conf.all.arp_ignore=8'], x.a.ns);
  const hostPort = await x.ofport(x.a.port);
  const members = [await x.ofport(x.s[0]), await x.ofport(x.s[1])];
  const activePort = await x.ofport(active);

  const cap = spawnIn('timeout', ['20', 'tcpdump', '-i', active, '-Q', 'in', '-c', '1', '-n', '-e', '-l', '--immediate-mode', `arp and ether src ${x.a.mac}`], x.sNs);
  let capOut = '';
  let capErr = '';
  cap.stdout?.on('data', (d: Buffer) => (capOut += d.toString()));
  cap.stderr?.on('data', (d: Buffer) => (capErr += d.toString()));
  const capDone = new Promise<number | null>((resolve) => cap.once('exit', (code) => resolve(code)));
  await waitUntil(() => capErr.includes('listening on'), 'tcpdump listening on the active member', 10_000);

  await sendGratuitousArp(x.a.ns, x.a.hostIf, x.a.mac, x.a.ip);
  const sentAt = Date.now();
  const capCode = await capDone;
  t.equal(capCode, 0, 'tcpdump exited 0');
  const reflectedOnActive = capOut.includes(x.a.mac) && /Request who-has (\S+) tell \1/.test(capOut);
  t.ok(reflectedOnActive, `A's gratuitous ARP came back to S on its active member ${active}: ${capOut.trim()}`);

  const fdb = await x.appctl(['fdb/show', x.bridge]);
  t.equal(fdb.code, 0, 'fdb/show answered');
  const duringLock = where(fdbOf(fdb.stdout).get(x.a.mac)?.port, hostPort, members);
  const flow = `in_port=${activePort},arp,dl_src=${x.a.mac},dl_dst=ff:ff:ff:ff:ff:ff,arp_op=1,arp_spa=${x.a.ip},arp_tpa=${x.a.ip}`;
  const trace = await x.appctl(['ofproto/trace', x.bridge, flow]);
  t.equal(trace.code, 0, 'ofproto/trace answered');
  const traceDuringLock = /^Datapath actions: (.*)$/m.exec(trace.stdout)?.[1] ?? '(no datapath actions)';
  const traceReason = /^\s+-> (.*, dropping)$/m.exec(trace.stdout)?.[1] ?? '(no reason)';
  const elapsed = Date.now() - sentAt;
  // OVS counts the lock in whole seconds: it lasts at least 4 s.
  t.ok(elapsed < 4000, `fdb/show and ofproto/trace ran ${elapsed} ms after the ARP, within the lock`);
  t.equal(duringLock, "A's port", `during the lock: A stays on A's port (fdb/show:\n${fdb.stdout})`);
  t.equal(traceDuringLock, 'drop', `during the lock ofproto/trace drops the reflected ARP:\n${trace.stdout}`);
  t.equal(traceReason, 'SLB bond thinks this packet looped back, dropping', "in OVS's words");

  // The lock runs out 5 s after A's ARP (the wait is the rule under test, not a guess at a delay);
  // then a gratuitous ARP for A from behind U (A moved there) is learned on the bond.
  await sleep(Math.max(0, sentAt + 5500 - Date.now()));
  let afterLock = 'unknown';
  await waitUntil(async () => {
    await sendGratuitousArp(x.b.ns, x.b.hostIf, x.a.mac, x.a.ip);
    afterLock = where(fdbOf((await x.appctl(['fdb/show', x.bridge])).stdout).get(x.a.mac)?.port, hostPort, members);
    return afterLock === 'the bond';
  }, 'A learned on the bond after the lock', 15_000);
  t.equal(afterLock, 'the bond', 'after the lock: the move is learned, A is on the bond');
  return { reflectedOnActive, duringLock, traceDuringLock, traceReason, afterLock };
}

const observed: Partial<Record<Side, Observed>> = {};

t.test('ofswitch as S, Open vSwitch upstream', async (t) => {
  observed.ours = await scenario(t, await startSlbUpstreamRig(t, 97, 'go', 'ours'));
});

t.test('Open vSwitch as S, ofswitch upstream', async (t) => {
  observed.theirs = await scenario(t, await startSlbUpstreamRig(t, 98, 'gt', 'theirs'));
});

t.test('ofswitch did what Open vSwitch did', async (t) => {
  t.ok(observed.ours && observed.theirs, 'both runs finished');
  t.same(observed.ours, observed.theirs, 'the same reflection, fdb/show during and after the lock, and trace verdict');
});
