/**
 * 802.1D against the Linux bridge's own spanning tree (kernel STP, `stp_state 1`), with real
 * packets: ofswitch (flag mode, `--config` with stpEnable) and a Linux bridge in its namespace are
 * joined by two veth links, a host on each. The Linux bridge is the root (priority 4096) with short
 * timers (hello 1 s, max age 6 s, forward delay 4 s), so ofswitch has the blocking port. Checked:
 * both sides agree (root, which port blocks, read from stp/show, the OpenFlow port state and the
 * kernel's brport state), pings pass, frame counters stay bounded (no storm), and cutting the
 * forwarding link moves the traffic to the other one within the protocol's timers.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { addHost, createNamespace, createVethPair, moveToNamespace, run, setLinkDown, setLinkUp, tryRun, uniqueName } from '../helpers/netns.js';
import { startOfswitch } from '../helpers/ofswitch-process.js';
import { freePort } from '../helpers/free-port.js';
import { sleep } from '../helpers/wait.js';

const rxPackets = async (ifname: string): Promise<number> => Number((await run('cat', [`/sys/class/net/${ifname}/statistics/rx_packets`])).trim());

async function until(what: () => Promise<boolean>, ms: number): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if (await what()) return Date.now() - start;
    await sleep(250);
  }
  return -1;
}

t.test('802.1D: ofswitch and a Linux bridge in a loop of two links', async (t) => {
  const lb = await createNamespace('stplb', t);
  await run('ip', ['link', 'add', 'br0', 'type', 'bridge', 'stp_state', '1', 'forward_delay', '400', 'hello_time', '100', 'max_age', '600', 'priority', '4096'], lb);
  await run('sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1'], lb);
  const links: string[] = [];
  for (const n of [1, 2]) {
    const s = uniqueName(`stps${n}`);
    await createVethPair(s, `${s}p`.slice(0, 15), t);
    await moveToNamespace(`${s}p`.slice(0, 15), lb, `l${n}`);
    await run('ip', ['link', 'set', `l${n}`, 'master', 'br0'], lb);
    await setLinkUp(`l${n}`, lb);
    await run('sysctl', ['-qw', `net.ipv6.conf.${s}.disable_ipv6=1`]).catch(() => undefined);
    await setLinkUp(s);
    links.push(s);
  }
  const a = await addHost(t, 'stpha', { ip: '10.71.0.1/24' });
  const b = await addHost(t, 'stphb', { ip: '10.71.0.2/24' });
  await run('ip', ['link', 'set', b.port, 'netns', lb]);
  await run('ip', ['link', 'set', b.port, 'master', 'br0'], lb);
  await setLinkUp(b.port, lb);
  await setLinkUp('br0', lb);

  const dir = mkdtempSync(join(tmpdir(), 'ofswitch-stp-'));
  const ctl = join(dir, 'ofswitch.ctl');
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ stpEnable: true, otherConfig: { 'stp-hello-time': 1, 'stp-max-age': 6, 'stp-forward-delay': 4 } }));
  const port = await freePort();
  await startOfswitch(t, ['--port', `${a.port},ofport=1`, '--port', `${links[0]},ofport=2`, '--port', `${links[1]},ofport=3`, '--listen', `ptcp:${port}:127.0.0.1`, '--unixctl', ctl, '--config', config]);
  const show = async (): Promise<string> => {
    const r = await tryRun('ovs-appctl', ['-t', ctl, 'stp/show']);
    return r.code === 0 ? r.stdout : '';
  };
  const kernelState = async (ifname: string): Promise<string> => (await run('cat', [`/sys/class/net/${ifname}/brport/state`], lb)).trim();

  // Converged: ofswitch's root port forwards, the other link blocks; the kernel has both designated and forwarding.
  const converged = await until(async () => {
    const s = await show();
    return /root\s+forwarding/.test(s) && /alternate\s+blocking/.test(s);
  }, 30_000);
  const text = await show();
  t.ok(converged >= 0, `stp/show converged (${converged} ms):\n${text}`);
  t.match(text, /^---- ofswitch ----\nRoot ID:\n  stp-priority  4096\n/, 'the Linux bridge is the root');
  t.match(text, new RegExp(`root-port       ${links[0]}\\n  root-path-cost  2\\n`), 'root port: the first link');
  t.match(text, /  \S+\s+alternate  blocking   2     128\.3\n/, 'the second link (stp port 3) blocks; names cut to 10 characters as OVS cuts them');
  t.match(text, /  Interface  Role       State      Cost  Pri\.Nbr \n  ---------- ---------- ---------- ----- -------\n/, 'OVS\'s table layout');
  await until(async () => (await kernelState('l1')) === '3' && (await kernelState('l2')) === '3', 15_000);
  t.equal(await kernelState('l1'), '3', 'kernel: l1 forwarding');
  t.equal(await kernelState('l2'), '3', 'kernel: l2 forwarding (designated: the block is on ofswitch\'s side)');
  const ofShow = await run('ovs-ofctl', ['show', `tcp:127.0.0.1:${port}`]);
  const portState = (n: number): string => new RegExp(` ${n}\\([^)]*\\):[^\\n]*\\n\\s+config:[^\\n]*\\n\\s+state:\\s+(\\S+)`).exec(ofShow)?.[1] ?? '';
  t.equal(portState(3), 'STP_BLOCK', 'OpenFlow: port 3 is STP_BLOCK');
  t.equal(portState(2), 'STP_FORWARD', 'OpenFlow: port 2 is STP_FORWARD');

  const ping = async (): Promise<boolean> => (await tryRun('ping', ['-c', '1', '-W', '1', b.ip], a.ns)).code === 0;
  t.ok((await until(ping, 10_000)) >= 0, 'hosts ping each other');
  const before = await rxPackets(links[1]!);
  await tryRun('ping', ['-c', '3', '-b', '-i', '0.3', '10.71.0.255'], a.ns);
  await sleep(2000);
  const grown = (await rxPackets(links[1]!)) - before;
  t.ok(grown < 100, `no broadcast storm: ${grown} frames in about 3 s on the blocked link`);

  // Cut the forwarding link: the blocked one takes over within max age + 2 forward delays.
  await setLinkDown(links[0]!);
  const start = Date.now();
  const moved = await until(async () => /root-port       .*\n/.test(await show()) && new RegExp(`root-port       ${links[1]}`).test(await show()) && (await ping()), 30_000);
  const took = moved < 0 ? -1 : Date.now() - start;
  t.ok(took >= 0 && took < 6_000 + 2 * 4_000 + 4_000, `traffic moved to the other link in ${took} ms`);
  t.match(await show(), /\S+\s+root       forwarding 2     128\.3\n/, 'the second link is the root port now');
});
