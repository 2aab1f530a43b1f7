/**
 * Port other_config:rstp-port-mcheck, on ofswitch and on Open vSwitch alike, against a legacy
 * 802.1D bridge: the Linux bridge's kernel STP, which drops RST BPDUs (it takes protocol version
 * 0 only). The RSTP bridge S (ofswitch in database mode, or Open vSwitch userspace; the root by
 * rstp-priority=4096, max age 6 s) and the Linux bridge are joined by one link; tcpdump watches it.
 *
 * S starts with RST BPDUs, which the Linux bridge ignores: it speaks as the root with
 * configuration BPDUs, so S's port migrates to 802.1D after its migrate time and sends
 * configuration BPDUs. Then `ovs-vsctl set port P other_config:rstp-port-mcheck=true`: S sends RST
 * BPDUs again (the migration check), the Linux bridge, hearing no 802.1D from S for its max age,
 * speaks as the root again, and S, sensing 802.1D, returns to configuration BPDUs. The same
 * sequence on both.
 */
import t, { type Test } from 'tap';
import { createNamespace, createVethPair, macOf, moveToNamespace, run, setLinkUp, uniqueName } from '../helpers/netns.js';
import { startDaemonRig, waitUntil } from '../helpers/daemon-rig.js';
import { startOvsUserspace } from '../helpers/ovs-reference.js';
import { captureBpdus } from './rstp-ovs-pair.js';

type Side = 'ofswitch' | 'Open vSwitch';

async function mcheck(t: Test, side: Side): Promise<void> {
  const tag = side === 'ofswitch' ? 'mca' : 'mcb';
  const lb = await createNamespace(`${tag}lb`, t);
  await run('ip', ['link', 'add', 'br0', 'type', 'bridge', 'stp_state', '1', 'forward_delay', '400', 'hello_time', '200', 'max_age', '600'], lb);
  await run('sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1'], lb);
  const link = uniqueName(`${tag}l`);
  await createVethPair(link, `${link}p`, t);
  await moveToNamespace(`${link}p`, lb, 'l1');
  await run('ip', ['link', 'set', 'l1', 'master', 'br0'], lb);
  await setLinkUp('l1', lb);
  await setLinkUp('br0', lb);
  const capture = captureBpdus(t, 'l1', lb);
  const other = ['other_config:rstp-priority=4096', 'other_config:rstp-max-age=6', 'other_config:rstp-forward-delay=4'];

  let src: string;
  let setMcheck: () => Promise<unknown>;
  if (side === 'ofswitch') {
    await run('sysctl', ['-qw', `net.ipv6.conf.${link}.disable_ipv6=1`]).catch(() => undefined);
    await setLinkUp(link);
    src = await macOf(link);
    const rig = await startDaemonRig(t);
    const br = `br${process.pid}`.slice(0, 15);
    rig.owns(br);
    await rig.vsctl(['add-br', br, '--', 'set', 'bridge', br, 'fail_mode=standalone', 'rstp_enable=true', ...other, '--', 'add-port', br, link], { wait: true });
    setMcheck = () => rig.vsctl(['set', 'port', link, 'other_config:rstp-port-mcheck=true']);
  } else {
    const ovs = await startOvsUserspace(t, { tag: `${tag}ov` });
    await moveToNamespace(link, ovs.ns, 'o1');
    await setLinkUp('o1', ovs.ns);
    src = await macOf('o1', ovs.ns);
    await ovs.vsctl(['add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=netdev', 'fail_mode=standalone', 'rstp_enable=true', ...other, '--', 'add-port', 'br0', 'o1']);
    setMcheck = () => ovs.vsctl(['set', 'port', 'o1', 'other_config:rstp-port-mcheck=true']);
  }
  const fail = (err: Error): Promise<never> => Promise.reject(new Error(`${err.message}:\n${capture.text()}`));
  const from = (kind: 'rstp' | 'config', after: number) => capture.seen().find((s) => s.src === src && s.kind === kind && s.at > after);

  await waitUntil(() => from('config', 0) !== undefined, `${side} migrates to 802.1D: configuration BPDUs`, 20_000).catch(fail);
  t.ok(from('rstp', 0) !== undefined, `${side} began with RST BPDUs`);
  await waitUntil(async () => (await run('cat', ['/sys/class/net/br0/bridge/root_port'], lb)).trim() !== '0', 'the Linux bridge takes it as the root', 20_000);
  t.pass(`the Linux bridge takes ${side} as the root`);

  const at = Date.now();
  await setMcheck();
  await waitUntil(() => from('rstp', at) !== undefined, `${side} sends RST BPDUs after mcheck`, 10_000).catch(fail);
  const rstpAt = from('rstp', at)!.at;
  t.pass(`${side}: rstp-port-mcheck=true: RST BPDUs again (${rstpAt - at} ms after)`);
  await waitUntil(() => from('config', rstpAt) !== undefined, `${side} returns to 802.1D`, 30_000).catch(fail);
  t.pass(`${side}: back to configuration BPDUs once the Linux bridge spoke 802.1D again`);
}

t.test('rstp-port-mcheck on ofswitch against a Linux bridge (802.1D)', (t) => mcheck(t, 'ofswitch'));
t.test('the same on Open vSwitch', (t) => mcheck(t, 'Open vSwitch'));
