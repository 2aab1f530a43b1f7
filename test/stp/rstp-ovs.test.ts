/**
 * 802.1w against Open vSwitch's own RSTP (userspace, test/helpers/ovs-reference.ts), with real
 * packets: ofswitch (flag mode, `--config` with rstpEnable) and an OVS bridge with
 * `rstp_enable=true` joined by two veth links, a host on each. OVS is the root (rstp-priority
 * 4096), so ofswitch has the root port and the alternate. Checked: the tree converges through
 * proposal and agreement in seconds, both sides agree on the root and the roles (rstp/show on both,
 * OVS's rstp_status columns), pings pass, and cutting the forwarding link moves the traffic to the
 * alternate within seconds.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { addHost, run, setLinkDown, setLinkUp, tryRun } from '../helpers/netns.js';
import { linksToOvs } from './rstp-ovs-pair.js';
import { startOfswitch } from '../helpers/ofswitch-process.js';
import { startOvsUserspace } from '../helpers/ovs-reference.js';
import { freePort } from '../helpers/free-port.js';
import { sleep } from '../helpers/wait.js';

async function until(what: () => Promise<boolean>, ms: number): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if (await what()) return Date.now() - start;
    await sleep(200);
  }
  return -1;
}

t.test('802.1w: ofswitch and Open vSwitch in a loop of two links', async (t) => {
  const ovs = await startOvsUserspace(t, { tag: 'rstpov' });
  const links = await linksToOvs(t, ovs, 'rsts', 2);
  const a = await addHost(t, 'rstha', { ip: '10.72.0.1/24' });
  const b = await addHost(t, 'rsthb', { ip: '10.72.0.2/24' });
  await run('ip', ['link', 'set', b.port, 'netns', ovs.ns]);
  await setLinkUp(b.port, ovs.ns);
  await ovs.vsctl([
    'add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=netdev', 'fail_mode=standalone', 'rstp_enable=true', 'other_config:rstp-priority=4096',
    '--', 'add-port', 'br0', 'o1', '--', 'add-port', 'br0', 'o2', '--', 'add-port', 'br0', b.port,
  ]);

  const dir = mkdtempSync(join(tmpdir(), 'ofswitch-rstp-'));
  const ctl = join(dir, 'ofswitch.ctl');
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ rstpEnable: true }));
  const port = await freePort();
  await startOfswitch(t, ['--port', `${a.port},ofport=1`, '--port', `${links[0]},ofport=2`, '--port', `${links[1]},ofport=3`, '--listen', `ptcp:${port}:127.0.0.1`, '--unixctl', ctl, '--config', config]);
  const show = async (): Promise<string> => {
    const r = await tryRun('ovs-appctl', ['-t', ctl, 'rstp/show']);
    return r.code === 0 ? r.stdout : '';
  };
  const ovsShow = async (): Promise<string> => {
    const r = await ovs.tryAppctl(['rstp/show', 'br0']);
    return r.code === 0 ? r.stdout : '';
  };

  const converged = await until(async () => /Root\s+Forwarding/.test(await show()) && /Alternate\s+Discarding/.test(await show()), 20_000);
  const ours = await show();
  const theirs = await ovsShow();
  t.ok(converged >= 0 && converged < 10_000, `converged in ${converged} ms:\n${ours}`);
  t.match(ours, /^---- ofswitch ----\nRoot ID:\n  stp-priority    4096\n/, 'ofswitch: Open vSwitch is the root');
  // Which link is the root port depends on the port ids OVS gave o1 and o2.
  const rootNum = /\S+\s+Root       Forwarding 2000     128\.([23])\n/.exec(ours)?.[1];
  const altNum = /\S+\s+Alternate  Discarding 2000     128\.([23])\n/.exec(ours)?.[1];
  t.ok(rootNum !== undefined && altNum !== undefined && rootNum !== altNum, `ofswitch: one link is the root port (${rootNum}), the other the alternate (${altNum})`);
  t.match(ours, /  Interface  Role       State      Cost     Pri\.Nbr \n  ---------- ---------- ---------- -------- -------\n/, 'OVS\'s table layout');
  t.match(theirs, /This bridge is the root/, `Open vSwitch is the root:\n${theirs}`);
  const rootId = /stp-system-id   (\S+)/.exec(theirs)?.[1];
  t.ok(rootId !== undefined && ours.includes(`stp-system-id   ${rootId}\n  stp-hello-time  2s\n  stp-max-age     20s\n  stp-fwd-delay   15s\n  root-port`), 'both sides name the same root');
  t.match(theirs, /o1\s+Designated Forwarding/, 'Open vSwitch: o1 designated, forwarding');
  t.match(theirs, /o2\s+Designated Forwarding/, 'Open vSwitch: o2 designated, forwarding');
  const status = await ovs.vsctl(['get', 'port', 'o2', 'rstp_status']);
  t.match(status, /rstp_port_role=Designated/, 'OVS rstp_status: o2 designated');
  const ofShow = await run('ovs-ofctl', ['show', `tcp:127.0.0.1:${port}`]);
  const portState = (n: string | undefined): string => new RegExp(` ${n}\\([^)]*\\):[^\\n]*\\n\\s+config:[^\\n]*\\n\\s+state:\\s+(\\S+)`).exec(ofShow)?.[1] ?? '';
  t.equal(portState(rootNum), 'STP_FORWARD', 'OpenFlow: the root port is STP_FORWARD');
  t.equal(portState(altNum), '0', 'OpenFlow: the alternate is STP_LISTEN (0), as OVS reports discarding');

  const ping = async (): Promise<boolean> => (await tryRun('ping', ['-c', '1', '-W', '1', b.ip], a.ns)).code === 0;
  t.ok((await until(ping, 10_000)) >= 0, 'hosts ping each other');

  await setLinkDown(links[Number(rootNum) - 2]!);
  const start = Date.now();
  const moved = await until(async () => new RegExp(`\\S+\\s+Root       Forwarding 2000     128\\.${altNum}\\n`).test(await show()) && (await ping()), 20_000);
  const took = moved < 0 ? -1 : Date.now() - start;
  t.ok(took >= 0 && took < 5_000, `traffic moved to the alternate link in ${took} ms`);
  t.match(await ovsShow(), new RegExp(`o${Number(altNum) - 1}\\s+Designated Forwarding`), 'Open vSwitch forwards on the other link');
});
