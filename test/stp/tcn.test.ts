/**
 * `ovs-appctl stp/tcn [BRIDGE]` and `rstp/tcn [BRIDGE]`, against Open vSwitch in userspace
 * (test/helpers/ovs-reference.ts) with the same commands: both answer "OK", name the same errors
 * for a bridge that does not run the protocol; after stp/tcn a root bridge's BPDUs carry the
 * topology change flag (tcpdump on the far end of a port), before it they do not. rstp/tcn runs
 * the machines only (OVS's rstp_unixctl_tcn), so it changes nothing on the wire. The machine
 * itself: stp/tcn flushes the MAC table, a bridge that is not the root sends a TCN to the root.
 */
import t, { type Test } from 'tap';
import { STP_FLAG } from '../../protocol/constants.js';
import { bridgeId, type Bpdu } from '../../stp/bpdu.js';
import { Stp } from '../../stp/stp.js';
import { addHost, run, setLinkUp, tryRun, type RunResult } from '../helpers/netns.js';
import { startDaemonRig } from '../helpers/daemon-rig.js';
import { startOvsUserspace } from '../helpers/ovs-reference.js';

interface Target {
  readonly what: string;
  readonly bridge: string;
  readonly port: string;
  /** Far end of the port: [namespace, interface]. */
  readonly far: readonly [string, string];
  vsctl(args: readonly string[]): Promise<string>;
  appctl(args: readonly string[]): Promise<RunResult>;
}

/** tcpdump -vv of the BPDUs on the far end for `seconds`. */
async function capture(t: Test, target: Target, seconds: number): Promise<string> {
  const r = await tryRun('timeout', ['-s', 'INT', String(seconds), 'tcpdump', '-i', target.far[1], '-nn', '-vv', '-l', 'ether dst 01:80:c2:00:00:00'], target.far[0]);
  t.match(r.stderr, /\d+ packets? captured/, `${target.what}: tcpdump ran`);
  return r.stdout;
}

interface Seen {
  readonly stpTcn: string;
  readonly rstpTcnOnStp: string;
  readonly unknown: string;
  readonly tcBefore: boolean;
  readonly tcAfter: boolean;
  readonly rstpTcn: string;
  readonly stpTcnOnRstp: string;
}

async function scenario(t: Test, target: Target): Promise<Seen> {
  const br = target.bridge;
  await target.vsctl(['set', 'bridge', br, 'stp_enable=true', 'other_config:stp-hello-time=1']);
  const before = await capture(t, target, 3);
  t.match(before, /STP 802\.1d, Config/, `${target.what}: configuration BPDUs leave the port`);
  const stpTcn = await target.appctl(['stp/tcn', br]);
  const after = await capture(t, target, 3);
  const rstpTcnOnStp = await target.appctl(['rstp/tcn', br]);
  const unknown = await target.appctl(['stp/tcn', 'nosuchbr']);
  await target.vsctl(['set', 'bridge', br, 'stp_enable=false', 'rstp_enable=true']);
  const rstpTcn = await target.appctl(['rstp/tcn']);
  const stpTcnOnRstp = await target.appctl(['stp/tcn', br]);
  await target.vsctl(['set', 'bridge', br, 'rstp_enable=false']);
  // ovs-appctl's own line names the socket, which differs: the server's answer is compared.
  const text = (r: RunResult): string => `${r.code} ${r.stdout}${r.stderr.split('\n').filter((l) => !l.startsWith('ovs-appctl:')).join('\n')}`;
  return {
    stpTcn: text(stpTcn), rstpTcnOnStp: text(rstpTcnOnStp), unknown: text(unknown),
    tcBefore: /Topology change/.test(before), tcAfter: /Flags \[Topology change\]/.test(after),
    rstpTcn: text(rstpTcn), stpTcnOnRstp: text(stpTcnOnRstp),
  };
}

t.test('stp/tcn and rstp/tcn, as Open vSwitch answers them', async (t) => {
  const ovs = await startOvsUserspace(t, { tag: 'tcnov' });
  await run('ip', ['link', 'add', 'p1', 'type', 'veth', 'peer', 'name', 'p1far'], ovs.ns);
  await setLinkUp('p1', ovs.ns);
  await setLinkUp('p1far', ovs.ns);
  await ovs.vsctl(['add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=netdev', 'fail_mode=standalone', '--', 'add-port', 'br0', 'p1']);
  const rig = await startDaemonRig(t);
  const h = await addHost(t, 'tcn1');
  const br = `br${process.pid}`.slice(0, 15);
  rig.owns(br);
  await rig.vsctl(['add-br', br, '--', 'set', 'bridge', br, 'fail_mode=standalone', '--', 'add-port', br, h.port], { wait: true });
  const ours = await scenario(t, {
    what: 'ofswitch', bridge: br, port: h.port, far: [h.ns, h.hostIf], vsctl: (a) => rig.vsctl(a, { wait: true }), appctl: (a) => rig.appctl(a),
  });
  const theirs = await scenario(t, {
    what: 'Open vSwitch', bridge: 'br0', port: 'p1', far: [ovs.ns, 'p1far'], vsctl: (a) => ovs.vsctl(a), appctl: (a) => ovs.tryAppctl(a),
  });
  t.equal(theirs.stpTcn, '0 OK\n', 'Open vSwitch: stp/tcn answers OK');
  t.equal(ours.stpTcn, theirs.stpTcn, 'ofswitch: stp/tcn answers the same');
  t.same([theirs.tcBefore, theirs.tcAfter], [false, true], 'Open vSwitch: the root\'s BPDUs carry TC after stp/tcn, not before');
  t.same([ours.tcBefore, ours.tcAfter], [theirs.tcBefore, theirs.tcAfter], 'ofswitch: the same');
  t.equal(ours.rstpTcnOnStp, theirs.rstpTcnOnStp, `rstp/tcn of an STP bridge: ${theirs.rstpTcnOnStp.trim()}`);
  t.equal(ours.unknown, theirs.unknown, `stp/tcn of an unknown bridge: ${theirs.unknown.trim()}`);
  t.equal(theirs.rstpTcn, '0 OK\n', 'Open vSwitch: rstp/tcn answers OK');
  t.equal(ours.rstpTcn, theirs.rstpTcn, 'ofswitch: the same');
  t.equal(ours.stpTcnOnRstp, theirs.stpTcnOnRstp, `stp/tcn of an RSTP bridge: ${theirs.stpTcnOnRstp.trim()}`);
});

t.test('the machine: stp/tcn flushes, and a bridge that is not the root sends a TCN', async (t) => {
  const sent: Bpdu[] = [];
  let flushes = 0;
  const stp = new Stp({ name: 'x', bridgeId: bridgeId(32768, 0xbbn), helloTime: 1, maxAge: 6, forwardDelay: 4 }, {
    send: (_port, bpdu) => sent.push(bpdu),
    flush: () => flushes++,
  });
  stp.addPort(1, { name: 'p1', portNum: 1, priority: 128, pathCost: 2 }, true);
  stp.receive(1, {
    type: 'config', flags: 0, rootId: bridgeId(4096, 0xaan), rootPathCost: 0, bridgeId: bridgeId(4096, 0xaan), portId: 0x8001,
    messageAge: 0, maxAge: 6 * 256, helloTime: 256, forwardDelay: 4 * 256,
  });
  sent.length = 0;
  flushes = 0;
  stp.detectTopologyChange();
  t.same(sent, [{ type: 'tcn' }], 'a TCN to the root');
  t.equal(flushes, 1, 'the MAC table is flushed');
  stp.detectTopologyChange();
  t.same(sent.length, 1, 'one TCN until the root acknowledges (the TCN timer repeats it)');
  t.equal(STP_FLAG.TOPOLOGY_CHANGE, 1);
});
