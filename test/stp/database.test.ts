/**
 * The spanning tree in database mode, configured by ovs-vsctl as an OVS operator does: the Bridge's
 * stp_enable / rstp_enable and other_config, the Port's other_config, read back from what ofswitch
 * writes (Bridge status / rstp_status, Port status / rstp_status) and from ovs-appctl stp/show and
 * rstp/show. The ports lead to hosts that send no BPDUs: every port ends designated.
 */
import t from 'tap';
import { addHost, uniqueName } from '../helpers/netns.js';
import { startDaemonRig, waitUntil } from '../helpers/daemon-rig.js';

t.test('stp_enable, then rstp_enable, from ovs-vsctl', async (t) => {
  const rig = await startDaemonRig(t);
  const h1 = await addHost(t, 'sd1');
  const h2 = await addHost(t, 'sd2');
  const br = uniqueName('sdbr');
  rig.owns(br);
  await rig.vsctl(['add-br', br], { wait: true });
  await rig.vsctl(['add-port', br, h1.port, '--', 'add-port', br, h2.port], { wait: true });
  await rig.vsctl(['set', 'bridge', br, 'stp_enable=true', 'other_config:stp-priority=0x1000', 'other_config:stp-forward-delay=4', 'other_config:stp-max-age=6', 'other_config:stp-hello-time=1',
    '--', 'set', 'port', h2.port, 'other_config:stp-path-cost=7'], { wait: true });
  const get = async (table: string, row: string, column: string): Promise<string> => (await rig.vsctl(['get', table, row, column])).trim();

  await waitUntil(async () => (await get('port', h1.port, 'status')).includes('stp_state=listening'), 'Port status stp_state=listening', 5000);
  const bridgeStatus = await get('bridge', br, 'status');
  t.match(bridgeStatus, /stp_bridge_id="1000\.[0-9a-f]{12}"/, `Bridge status stp_bridge_id: ${bridgeStatus}`);
  t.match(bridgeStatus, /stp_root_path_cost="0"/, 'the bridge is its own root');
  const portStatus = await get('port', h1.port, 'status');
  t.match(portStatus, /stp_port_id="32769", stp_role=designated, stp_sec_in_state="\d+", stp_state=listening/, `Port status: ${portStatus}`);
  t.equal(await get('port', br, 'status'), '{}', 'the internal port takes no part');
  const show = await rig.appctl(['stp/show', br]);
  t.equal(show.code, 0, 'stp/show answers');
  t.match(show.stdout, new RegExp(`^---- ${br} ----\\nRoot ID:\\n  stp-priority  4096\\n`), 'stp/show: the heading and the priority');
  t.match(show.stdout, /  This bridge is the root\n/, 'stp/show: the root');
  t.match(show.stdout, /designated listening  7     128\.2\n/, 'stp/show: the path cost from other_config');
  const none = await rig.appctl(['rstp/show', br]);
  t.equal(none.code, 2, 'rstp/show of an STP bridge fails');
  t.match(none.stderr, /No such RSTP object/, 'with OVS\'s text');
  const start = Date.now();
  await waitUntil(async () => /designated forwarding/.test((await rig.appctl(['stp/show', br])).stdout), 'forwarding after two forward delays', 15000);
  t.ok(Date.now() - start > 4000, 'listening and learning take the forward delays');
  const seen = Date.now();
  await waitUntil(async () => (await get('port', h1.port, 'status')).includes('stp_state=forwarding'), 'the Port status says forwarding', 5000);
  t.ok(Date.now() - seen < 1000, `the status column follows within a second (${Date.now() - seen} ms after stp/show)`);
  const ofShow = await rig.ofctl(['show', br]);
  t.match(ofShow.stdout, /state:\s+STP_FORWARD/, 'ovs-ofctl show: STP_FORWARD');

  await rig.vsctl(['set', 'bridge', br, 'stp_enable=false', 'rstp_enable=true', 'other_config:rstp-priority=8192'], { wait: true });
  await waitUntil(async () => (await get('port', h1.port, 'rstp_status')).includes('rstp_port_role=Designated'), 'Port rstp_status', 5000);
  t.equal(await get('port', h1.port, 'status'), '{}', 'the STP status is gone');
  t.equal(await get('bridge', br, 'status'), '{}', 'the Bridge STP status is gone');
  t.match(await get('bridge', br, 'rstp_status'), /rstp_bridge_id="2\.000\.[0-9a-f]{12}"/, 'Bridge rstp_status: priority 8192');
  const rshow = await rig.appctl(['rstp/show']);
  t.match(rshow.stdout, /Designated (Discarding|Forwarding) 2000     128\.1\n/, `rstp/show: ${rshow.stdout}`);
  // No BPDU comes back: after 3 s the host ports are edge ports and forward.
  await waitUntil(async () => (await get('port', h2.port, 'rstp_status')).includes('rstp_port_state=Forwarding'), 'edge port forwarding', 8000);
  t.pass('the host ports forward as edge ports');
});
