/**
 * Bridge other_config:rstp-force-protocol-version, against Open vSwitch's RSTP (userspace), with
 * real BPDUs seen by tcpdump. ofswitch (database mode, rstp-priority=4096: the root) and Open
 * vSwitch (default version 2) are joined by one link, short timers on both (max age 6 s, forward
 * delay 4 s).
 *
 * - Version 0 (STP compatibility): ofswitch sends only 802.1D configuration BPDUs, never RST ones;
 *   Open vSwitch's port migrates to 802.1D on that link (it sends TCNs, not RST BPDUs); no
 *   agreement is possible, so ofswitch's designated port goes through Learning by the forward
 *   delay timer; pings pass. A topology change on Open vSwitch (a new port that starts
 *   forwarding) makes it send TCNs every hello time until ofswitch acknowledges one with the
 *   TC-ack flag of its configuration BPDU, then they stop. rstp-port-mcheck=true changes nothing.
 * - Back to version 2: ofswitch restarts in RSTP and Open vSwitch, hearing RST BPDUs again,
 *   migrates back: it answers ofswitch's proposal with an RST BPDU carrying the agreement.
 */
import t from 'tap';
import { macOf, tryRun } from '../helpers/netns.js';
import { sleep } from '../helpers/wait.js';
import { waitUntil } from '../helpers/daemon-rig.js';
import { captureBpdus, startRstpOvsPair, type BpduCapture } from './rstp-ovs-pair.js';

t.test('rstp-force-protocol-version=0 against Open vSwitch in RSTP, then back to 2', async (t) => {
  let cap: BpduCapture | null = null;
  const timers = ['rstp-max-age=6', 'rstp-forward-delay=4'];
  const pair = await startRstpOvsPair(t, {
    tag: 'rfv', subnet: '10.75.0', links: 1,
    ovsConfig: timers,
    ourConfig: [...timers, 'rstp-priority=4096', 'rstp-force-protocol-version=0'],
    onLinks: (links) => {
      cap = captureBpdus(t, links[0]!);
    },
  });
  const capture = cap as unknown as BpduCapture;
  const { rig, br, ovs, links, a, b } = pair;
  const ours = await macOf(links[0]!);
  const theirs = await macOf('o1', ovs.ns);
  const link = links[0]!;

  // Both ports through Learning (no agreement in 802.1D), then forwarding.
  const states = { ours: new Set<string>(), theirs: new Set<string>() };
  await waitUntil(async () => {
    const o = /rstp_port_state=(\w+)/.exec(await pair.ourStatus(link))?.[1] ?? '';
    const th = /rstp_port_state=(\w+)/.exec(await pair.theirStatus('o1'))?.[1] ?? '';
    states.ours.add(o);
    states.theirs.add(th);
    return o === 'Forwarding' && th === 'Forwarding';
  }, 'both ports forward', 30_000);
  t.ok(states.ours.has('Learning'), `ofswitch's designated port went through Learning (${[...states.ours].join(', ')})`);
  t.match(await pair.theirStatus('o1'), /rstp_port_role=Root/, 'Open vSwitch: its port is the root port (ofswitch is the root)');
  await waitUntil(async () => (await tryRun('ping', ['-c', '1', '-W', '1', b.ip], a.ns)).code === 0, 'A pings B', 15_000);
  t.pass('A pings B');

  // A topology change on Open vSwitch: a new non-edge port forwards after two forward delays.
  const changeAt = Date.now();
  await pair.ovsNewPort();
  const fail = (err: Error): Promise<never> => Promise.reject(new Error(`${err.message}:\n${capture.text()}`));
  await waitUntil(() => capture.seen().some((s) => s.src === theirs && s.at >= changeAt && s.kind === 'tcn'), 'Open vSwitch sends a TCN (802.1D towards ofswitch)', 20_000).catch(fail);
  const tcnAt = capture.seen().find((s) => s.src === theirs && s.at >= changeAt && s.kind === 'tcn')!.at;
  await waitUntil(() => capture.seen().some((s) => s.src === ours && s.at >= tcnAt && /Topology change ACK/i.test(s.flags)), 'ofswitch acknowledges the TCN', 10_000).catch(fail);
  const ackAt = capture.seen().find((s) => s.src === ours && s.at >= tcnAt && /Topology change ACK/i.test(s.flags))!.at;
  t.pass('ofswitch acknowledged the TCN (TC-ack flag on its configuration BPDU)');
  await sleep(4500); // two hello times
  t.equal(capture.seen().filter((s) => s.src === theirs && s.kind === 'tcn' && s.at > ackAt + 500).length, 0, 'Open vSwitch took the acknowledgement: no more TCNs');
  const mine = capture.seen().filter((s) => s.src === ours);
  t.ok(mine.filter((s) => s.kind === 'config').length >= 2, `ofswitch sent configuration BPDUs (${mine.length})`);
  t.equal(mine.filter((s) => s.kind !== 'config').length, 0, 'and nothing else');

  // rstp-port-mcheck=true in STP compatibility: nothing (still no RST BPDU from ofswitch).
  await rig.vsctl(['set', 'port', link, 'other_config:rstp-port-mcheck=true']);
  const mcheckAt = Date.now();
  await waitUntil(() => capture.seen().filter((s) => s.src === ours && s.at > mcheckAt + 3500).length > 0, 'a BPDU of ofswitch 3.5 s after mcheck', 10_000);
  t.equal(capture.seen().filter((s) => s.src === ours && s.kind === 'rstp').length, 0, 'mcheck has no effect in STP compatibility: no RST BPDU');
  t.notMatch(await pair.ourShow(), /version|ageing|mcheck/i, 'rstp/show prints none of them, as Open vSwitch\'s');

  // Version 2 again: both speak RSTP, Open vSwitch agrees to ofswitch's proposal.
  const backAt = Date.now();
  await rig.vsctl(['set', 'bridge', br, 'other_config:rstp-force-protocol-version=2', '--', 'remove', 'port', link, 'other_config', 'rstp-port-mcheck']);
  await waitUntil(() => capture.seen().some((s) => s.src === theirs && s.at >= backAt && s.kind === 'rstp' && /Agreement/.test(s.flags)), 'Open vSwitch agrees in an RST BPDU', 15_000)
    .catch((err: Error) => Promise.reject(new Error(`${err.message}:\n${capture.text()}`)));
  t.ok(capture.seen().some((s) => s.src === ours && s.at >= backAt && s.kind === 'rstp' && /Proposal/.test(s.flags)), 'ofswitch proposed in an RST BPDU');
  t.pass('Open vSwitch migrated back to RSTP and agreed');
  await waitUntil(async () => /rstp_port_state=Forwarding/.test(await pair.ourStatus(link)), 'ofswitch forwards again', 10_000);
});
