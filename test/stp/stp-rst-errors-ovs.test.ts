/**
 * RST BPDUs reaching an 802.1D bridge (Bridge stp_enable), on ofswitch and on Open vSwitch side by
 * side in the same role. Open vSwitch's lib/stp.c knows configuration and TCN BPDUs only: a BPDU
 * of type 2 is "of unexpected type", counted in the Port's statistics as stp_error_count (not
 * stp_rx_count) and otherwise ignored.
 *
 * One Open vSwitch userspace instance holds the RSTP peer br0 (rstp_enable, rstp-priority=4096:
 * the root) with two ports: o1 leads to ofswitch's STP bridge, o2 to s2 of a second OVS bridge br1
 * with stp_enable. br0 starts with RST BPDUs on both (its migrate time), both STP bridges count
 * them as errors and speak as their own root with configuration BPDUs, br0 migrates both ports to
 * 802.1D and both STP bridges take br0 as the root (stp/show: root port, the same root id). Then
 * `rstp-port-mcheck=true` on o1 and o2 makes br0 send RST BPDUs again for 3 s (seen by tcpdump):
 * the error count rises on both STP bridges, the received count does not move for them, and the
 * root port stays as it was.
 */
import t from 'tap';
import { assertRan, createVethPair, macOf, moveToNamespace, run, setLinkUp, uniqueName } from '../helpers/netns.js';
import { startDaemonRig, waitUntil } from '../helpers/daemon-rig.js';
import { startOvsUserspace } from '../helpers/ovs-reference.js';
import { captureBpdus } from './rstp-ovs-pair.js';

/** The stp_* counters of a Port's statistics column as ovs-vsctl prints it. */
function stpStats(text: string): { errors: number; rx: number; tx: number } | null {
  const e = /stp_error_count=(\d+)/.exec(text);
  const r = /stp_rx_count=(\d+)/.exec(text);
  const x = /stp_tx_count=(\d+)/.exec(text);
  return e && r && x ? { errors: Number(e[1]), rx: Number(r[1]), tx: Number(x[1]) } : null;
}

t.test('RST BPDUs on an 802.1D bridge: errors, ignored, on ofswitch as on Open vSwitch', async (t) => {
  const ovs = await startOvsUserspace(t, { tag: 'srov' });
  const link = uniqueName('srl');
  await createVethPair(link, `${link}p`, t);
  await moveToNamespace(`${link}p`, ovs.ns, 'o1');
  await setLinkUp('o1', ovs.ns);
  await run('sysctl', ['-qw', `net.ipv6.conf.${link}.disable_ipv6=1`]).catch(() => undefined);
  await setLinkUp(link);
  await run('ip', ['link', 'add', 'o2', 'type', 'veth', 'peer', 'name', 's2'], ovs.ns);
  await setLinkUp('o2', ovs.ns);
  await setLinkUp('s2', ovs.ns);
  const capture = captureBpdus(t, link);
  const peerMac = await macOf('o1', ovs.ns);

  const rig = await startDaemonRig(t);
  const br = `br${process.pid}`.slice(0, 15);
  rig.owns(br);
  await rig.vsctl(['add-br', br, '--', 'set', 'bridge', br, 'fail_mode=standalone', 'stp_enable=true', '--', 'add-port', br, link], { wait: true });
  await ovs.vsctl([
    'add-br', 'br1', '--', 'set', 'bridge', 'br1', 'datapath_type=netdev', 'fail_mode=standalone', 'stp_enable=true', '--', 'add-port', 'br1', 's2',
    '--', 'add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=netdev', 'fail_mode=standalone', 'rstp_enable=true',
    'other_config:rstp-priority=4096', '--', 'add-port', 'br0', 'o1', '--', 'add-port', 'br0', 'o2',
  ]);

  const ours = async () => stpStats(await rig.vsctl(['get', 'port', link, 'statistics']));
  const theirs = async () => stpStats(await ovs.vsctl(['get', 'port', 's2', 'statistics']));
  const ourShow = async () => {
    const r = await rig.appctl(['stp/show', br]);
    assertRan(t, r, 'ofswitch stp/show');
    return r.stdout;
  };
  const theirShow = async () => {
    const r = await ovs.tryAppctl(['stp/show', 'br1']);
    assertRan(t, r, 'Open vSwitch stp/show br1');
    return r.stdout;
  };

  // The first RST BPDUs (br0's migrate time): errors on both, then both follow br0 as the root.
  await waitUntil(() => capture.seen().some((s) => s.src === peerMac && s.kind === 'rstp'), 'br0 sends RST BPDUs', 20_000);
  await waitUntil(async () => ((await ours())?.errors ?? 0) >= 1 && ((await theirs())?.errors ?? 0) >= 1, 'both STP bridges count an error', 30_000);
  t.pass('an RST BPDU counts as an error on ofswitch and on Open vSwitch');
  const rootPort = (show: string, port: string) => new RegExp(`root-port       ${port}\\n`).test(show) && new RegExp(`${port.slice(0, 10)} +root +`).test(show);
  await waitUntil(async () => rootPort(await ourShow(), link) && rootPort(await theirShow(), 's2'), 'both STP bridges take br0 as the root', 30_000);
  const rootId = (show: string) => /Root ID:\n  stp-priority  (\d+)\n  stp-system-id   ([0-9a-f:]+)/.exec(show)?.slice(1).join(' ');
  const [ourRoot, theirRoot] = [rootId(await ourShow()), rootId(await theirShow())];
  t.ok(ourRoot, `ofswitch names a root (${ourRoot})`);
  t.equal(ourRoot, theirRoot, 'both name the same root (br0, after its ports migrated to 802.1D)');

  // Settle the statistics (written every 5 s on both), then ask br0 for RST BPDUs again.
  const before = { ours: (await ours())!, theirs: (await theirs())! };
  const mcheckAt = Date.now();
  await ovs.vsctl(['set', 'port', 'o1', 'other_config:rstp-port-mcheck=true', '--', 'set', 'port', 'o2', 'other_config:rstp-port-mcheck=true']);
  await waitUntil(() => capture.seen().some((s) => s.src === peerMac && s.kind === 'rstp' && s.at >= mcheckAt), 'br0 sends RST BPDUs again (mcheck)', 15_000)
    .catch((err: Error) => Promise.reject(new Error(`${err.message}:\n${capture.text()}`)));
  await waitUntil(async () => ((await ours())?.errors ?? 0) > before.ours.errors && ((await theirs())?.errors ?? 0) > before.theirs.errors, 'the error counts rise on both', 30_000);
  const rst = capture.seen().filter((s) => s.src === peerMac && s.kind === 'rstp').length;
  const after = { ours: (await ours())!, theirs: (await theirs())! };
  t.ok(after.ours.errors >= 2 && after.ours.errors <= rst, `ofswitch: one error per RST BPDU (${after.ours.errors} errors, ${rst} RST BPDUs seen)`);
  t.ok(after.theirs.errors >= 2, `Open vSwitch: errors too (${after.theirs.errors})`);
  t.ok(after.ours.rx > 0 && after.theirs.rx > 0, `configuration BPDUs count as received (ofswitch ${after.ours.rx}, Open vSwitch ${after.theirs.rx})`);
  t.ok(rootPort(await ourShow(), link) && rootPort(await theirShow(), 's2'), 'the RST BPDUs changed nothing: still the root port on both');
  t.equal(rootId(await ourShow()), rootId(await theirShow()), 'and the same root');

  // stp/show line by line, names and the bridges' own addresses normalised.
  const norm = (show: string, bridge: string, port: string) => {
    const own = /Bridge ID:\n  stp-priority  \d+\n  stp-system-id   ([0-9a-f:]+)/.exec(show)?.[1] ?? 'none';
    return show.replace(`---- ${bridge} ----`, '---- BR ----').replace(`root-port       ${port}\n`, 'root-port       PORT\n')
      .replace(new RegExp(`  ${port.slice(0, 10)} *`), '  PORT       ').replaceAll(own, 'OWN').split('\n');
  };
  const [mine, other] = [norm(await ourShow(), br, link), norm(await theirShow(), 'br1', 's2')];
  t.same(mine, other, `stp/show, line by line:\n${mine.join('\n')}\n----\n${other.join('\n')}`);
});
