/**
 * An 802.1w topology change flushes only what the standard says, on ofswitch as on Open vSwitch
 * (userspace, test/helpers/ovs-reference.ts), with real packets. ofswitch (database mode,
 * rstp_enable) has host A on an edge port and one link to OVS (rstp_enable, the root), which has
 * host B on an edge port. A ping teaches both bridges both MACs (the hosts' neighbours are static,
 * so nothing else is sent afterwards). Then OVS gets a new non-edge port that starts forwarding
 * after two forward delays: OVS detects a topology change, flushes the addresses of its other
 * active port (the link: A's MAC goes) but not of its edge port (B's MAC stays), and sends TC
 * BPDUs to ofswitch (tcpdump sees them). ofswitch receives the TC on its root port: the receiving
 * port keeps its addresses (B's MAC) and so does the edge port (A's MAC, not re-learned: its age
 * runs on). Before, ofswitch flushed its whole table, or every port but the receiving one.
 */
import t from 'tap';
import { spawnIn, tryRun } from '../helpers/netns.js';
import { waitUntil } from '../helpers/daemon-rig.js';
import { startRstpOvsPair } from './rstp-ovs-pair.js';

t.test('802.1w: a TC from Open vSwitch flushes no edge port and not the receiving port', async (t) => {
  const pair = await startRstpOvsPair(t, {
    tag: 'rfl', subnet: '10.73.0', links: 1,
    ovsConfig: ['rstp-priority=4096', 'rstp-max-age=6', 'rstp-forward-delay=4'], // OVS wants 2 x (delay - 1) >= max age
  });
  const { ovs, a, b } = pair;
  const link = pair.links[0]!;
  const [aPort, linkPort] = [await pair.ofport(a.port), await pair.ofport(link)];

  const rstpStatus = (port: string): Promise<string> => pair.ourStatus(port);
  let status = '';
  await waitUntil(async () => {
    status = `${await rstpStatus(link)} ${await rstpStatus(a.port)}`;
    return /rstp_port_role=Root, rstp_port_state=Forwarding.* rstp_port_role=Designated, rstp_port_state=Forwarding/.test(status);
  }, 'ofswitch: the link is the root port, the host port an edge forwarding', 20_000).catch((err: Error) => Promise.reject(new Error(`${err.message}: ${status}`)));
  await waitUntil(async () => (await tryRun('ping', ['-c', '1', '-W', '1', b.ip], a.ns)).code === 0, 'A pings B', 15_000);
  const learned = Date.now();

  const ours = (): Promise<Map<string, [string, number]>> => pair.ours();
  const theirs = (): Promise<Map<string, [string, number]>> => pair.theirs();
  const before = await ours();
  t.equal(before.get(a.mac)?.[0], aPort, 'ofswitch learned A on its edge port');
  t.equal(before.get(b.mac)?.[0], linkPort, 'and B on the link');
  const ovsBefore = await theirs();
  t.ok(ovsBefore.has(a.mac) && ovsBefore.has(b.mac), 'Open vSwitch learned both');

  // A new non-edge port on OVS: designated, no agreement, forwarding after 2 x 4 s: a detected change.
  const tcpdump = spawnIn('tcpdump', ['-i', link, '-nn', '-vv', '-l', 'ether dst 01:80:c2:00:00:00']);
  let captured = '';
  tcpdump.stdout?.on('data', (d: Buffer) => (captured += d.toString()));
  await pair.ovsNewPort();
  let ovsShow = '';
  await waitUntil(async () => /o3\s+Designated Forwarding/.test((ovsShow = (await ovs.tryAppctl(['rstp/show', 'br0'])).stdout)), 'OVS: o3 forwards', 20_000)
    .catch((err: Error) => Promise.reject(new Error(`${err.message}:\n${ovsShow}`)));
  await waitUntil(() => /Topology change/.test(captured), 'a TC BPDU from OVS on the link', 10_000);
  tcpdump.kill('SIGINT');
  t.match(captured, /STP 802\.1w.*Flags \[[^\]]*Topology change/s, 'tcpdump saw OVS send RST BPDUs with the TC flag');
  await new Promise((r) => setTimeout(r, 500)); // the TC is taken in

  const ovsAfter = await theirs();
  t.notOk(ovsAfter.has(a.mac), 'Open vSwitch flushed what it learned on its other active port (A, on the link)');
  t.equal(ovsAfter.get(b.mac)?.[0], ovsBefore.get(b.mac)?.[0], 'and kept its edge port\'s (B)');
  const after = await ours();
  const since = Math.floor((Date.now() - learned) / 1000);
  t.equal(after.get(a.mac)?.[0], aPort, 'ofswitch kept A on its edge port');
  t.ok((after.get(a.mac)?.[1] ?? -1) >= since - 1, `not re-learned: its age ${after.get(a.mac)?.[1]} s runs on (${since} s since the ping)`);
  t.equal(after.get(b.mac)?.[0], linkPort, 'and B on the port that received the TC');
});
