/**
 * `ofswitch --ovsdb ... --metrics ptcp:PORT` with the real ovsdb-server: two bridges made with
 * ovs-vsctl, real pings through each; every bridge's ports are in one scrape, labelled by bridge
 * and interface name, their counters as `ovs-ofctl dump-ports BRIDGE` reads them; a bridge
 * deleted with ovs-vsctl leaves the metrics, one added joins them; promtool finds nothing to say.
 * A busy metrics port is a start error in this mode too.
 */
import t from 'tap';
import { createServer } from 'node:net';
import { addHost, assertRan, tryRun, uniqueName, type TestHost } from '../helpers/netns.js';
import { startDaemonRig, waitUntil, type DaemonRig } from '../helpers/daemon-rig.js';
import { freePort } from '../helpers/free-port.js';
import { startOfswitch } from '../helpers/ofswitch-process.js';
import { labelSets, parseDumpPorts, promtoolPasses, sample, scrape } from './scrape.js';

async function reaches(from: TestHost, to: TestHost): Promise<boolean> {
  for (let i = 0; i < 5; i++) if ((await tryRun('ping', ['-c', '2', '-i', '0.2', '-W', '1', to.ip], from.ns)).code === 0) return true;
  return false;
}

async function ofportOf(rig: DaemonRig, iface: string): Promise<string> {
  return (await rig.vsctl(['get', 'Interface', iface, 'ofport'])).trim();
}

const bridgesIn = (text: string): string[] => [...new Set(labelSets(text, 'ofswitch_flow_entries').map((l) => l.bridge ?? ''))].sort();

t.test('every bridge of the database, as ovs-ofctl dump-ports reads it, coming and going with its row', async (t) => {
  const metricsPort = await freePort();
  const rig = await startDaemonRig(t, ['--metrics', `ptcp:${metricsPort}`]);
  t.match(rig.proc.stderr(), /serving metrics/, 'the daemon serves metrics');
  const empty = await scrape(metricsPort);
  t.equal(empty.status, 200, 'GET /metrics before any bridge');
  promtoolPasses(t, empty.text);
  t.equal(sample(empty.text, 'ofswitch_bridges'), 0, 'no bridge yet');

  const brA = uniqueName('mba');
  const brB = uniqueName('mbb');
  rig.owns(brA, brB);
  const hosts: Record<string, [TestHost, TestHost]> = {
    [brA]: [await addHost(t, 'mda', { ip: '10.95.0.1/24' }), await addHost(t, 'mdb', { ip: '10.95.0.2/24' })],
    [brB]: [await addHost(t, 'mdc', { ip: '10.96.0.1/24' }), await addHost(t, 'mdd', { ip: '10.96.0.2/24' })],
  };
  for (const [br, [x, y]] of Object.entries(hosts)) {
    await rig.vsctl(['add-br', br], { wait: true });
    await rig.vsctl(['add-port', br, x.port], { wait: true });
    await rig.vsctl(['add-port', br, y.port], { wait: true });
  }
  for (const [br, [x, y]] of Object.entries(hosts)) t.ok(await reaches(x, y), `a host pings the other through ${br}`);

  const before = await scrape(metricsPort);
  promtoolPasses(t, before.text);
  t.same(bridgesIn(before.text), [brA, brB].sort(), 'both bridges are in one scrape');
  t.equal(sample(before.text, 'ofswitch_bridges'), 2, 'ofswitch_bridges 2');
  const dumps = new Map<string, string>();
  for (const br of [brA, brB]) {
    const r = await rig.ofctl(['--no-names', 'dump-ports', br]);
    assertRan(t, r, `ovs-ofctl dump-ports ${br}`);
    dumps.set(br, r.stdout);
  }
  const after = await scrape(metricsPort);
  for (const [br, [x, y]] of Object.entries(hosts)) {
    const dumped = parseDumpPorts(dumps.get(br) ?? '');
    t.equal(dumped.size, 3, `dump-ports ${br}: two ports and LOCAL`);
    const names = new Map([[await ofportOf(rig, x.port), x.port], [await ofportOf(rig, y.port), y.port], ['LOCAL', br]]);
    for (const [no, name] of names) {
      const d = dumped.get(no);
      t.ok(d, `dump-ports ${br} has port ${no}`);
      for (const [key, value] of Object.entries(d ?? {})) {
        const labels = { bridge: br, port: name };
        const a = sample(before.text, `ofswitch_port_${key}_total`, labels);
        const b = sample(after.text, `ofswitch_port_${key}_total`, labels);
        t.ok(a !== undefined && b !== undefined && a <= value && value <= b, `${br} ${name} ${key}: ${a}..${b} holds dump-ports' ${value}`);
      }
    }
    t.ok((sample(after.text, 'ofswitch_port_rx_packets_total', { bridge: br, port: x.port }) ?? 0) >= 2, `${br}: the pings counted on ${x.port}`);
    const agg = await rig.ofctl(['dump-aggregate', br]);
    assertRan(t, agg, `ovs-ofctl dump-aggregate ${br}`);
    t.equal(sample(after.text, 'ofswitch_flow_entries', { bridge: br }), Number(/flow_count=(\d+)/.exec(agg.stdout)?.[1]), `${br}: flow entries as dump-aggregate flow_count`);
  }

  await rig.vsctl(['del-br', brB], { wait: true });
  await waitUntil(async () => bridgesIn((await scrape(metricsPort)).text).length === 1, 'the deleted bridge leaves the metrics');
  const gone = await scrape(metricsPort);
  promtoolPasses(t, gone.text);
  t.same(bridgesIn(gone.text), [brA], `${brB} deleted with ovs-vsctl: only ${brA} left`);
  t.same(labelSets(gone.text, 'ofswitch_port_rx_packets_total').filter((l) => l.bridge === brB), [], 'none of its ports either');
  const brC = uniqueName('mbc');
  rig.owns(brC);
  await rig.vsctl(['add-br', brC], { wait: true });
  await waitUntil(async () => bridgesIn((await scrape(metricsPort)).text).includes(brC), 'the added bridge joins the metrics');
  const added = await scrape(metricsPort);
  promtoolPasses(t, added.text);
  t.same(bridgesIn(added.text), [brA, brC].sort(), `${brC} added with ovs-vsctl joins`);
  t.ok(sample(added.text, 'ofswitch_port_rx_packets_total', { bridge: brC, port: brC }) !== undefined, 'its LOCAL port is listed under the bridge\'s name');
});

t.test('database mode: a busy metrics port is a start error', async (t) => {
  const busy = createServer();
  const port = await freePort();
  await new Promise<void>((resolve) => busy.listen(port, '127.0.0.1', resolve));
  t.teardown(() => void busy.close());
  const rig = await startDaemonRig(t);
  const p = await startOfswitch(t, ['--ovsdb', rig.db.remote, '--rundir', `${rig.dir}/second`, '--metrics', `ptcp:${port}`], { ready: false });
  t.equal(await p.exited, 2, 'exit status 2');
  t.equal(p.stderr().trim(), `ofswitch: --metrics ptcp:${port}:127.0.0.1: the port is in use`, 'one message naming it');
});
