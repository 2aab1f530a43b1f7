/**
 * ofswitch in ovs-vswitchd's place moves real frames, configured only with the stock ovs-vsctl:
 * test hosts (network namespaces) ping each other through a standalone bridge; a real
 * ovs-testcontroller set with `ovs-vsctl set-controller` takes the bridge over (Controller
 * is_connected, its exact-match flows in `ovs-ofctl dump-flows`, the hosts still ping); without a
 * controller in fail mode secure nothing passes; `ovs-appctl -t ofswitch fdb/show` lists the
 * learned MACs on their OpenFlow ports; Port `tag` separates VLANs; a port added before its
 * interface exists comes up when the interface appears.
 */
import t, { type Test } from 'tap';
import { addHost, assertRan, tryRun, uniqueName, type TestHost } from '../helpers/netns.js';
import { startDaemonRig, waitUntil, type DaemonRig } from '../helpers/daemon-rig.js';
import { freePort } from '../helpers/free-port.js';
import { startOvsTestcontroller } from '../helpers/ovs-testcontroller.js';

async function pings(from: TestHost, to: TestHost, count = 2): Promise<number> {
  const r = await tryRun('ping', ['-c', String(count), '-W', '1', '-i', '0.2', to.ip], from.ns);
  return r.code;
}

/** Pings until one answer comes (a host's first ARP may race the port being added), at most ~5 s. */
async function reaches(from: TestHost, to: TestHost): Promise<boolean> {
  for (let i = 0; i < 5; i++) if ((await pings(from, to, 1)) === 0) return true;
  return false;
}

/** The Interface's ofport column as ovs-vsctl reads it. */
async function ofportOf(rig: DaemonRig, iface: string): Promise<number> {
  return Number((await rig.vsctl(['get', 'Interface', iface, 'ofport'])).trim());
}

/** fdb/show's rows: port (as printed), VLAN, MAC. */
async function fdb(t: Test, rig: DaemonRig, br: string): Promise<{ port: string; vlan: number; mac: string }[]> {
  const r = await rig.appctl(['fdb/show', br]);
  assertRan(t, r, `ovs-appctl -t ofswitch fdb/show ${br}`);
  const [header, ...rows] = r.stdout.trimEnd().split('\n');
  t.equal(header, ' port  VLAN  MAC                Age', 'fdb/show prints OVS\'s header');
  return rows.map((line) => {
    const [port = '', vlan = '', mac = ''] = line.trim().split(/\s+/);
    return { port, vlan: Number(vlan), mac };
  });
}

t.test('standalone bridge from ovs-vsctl, then ovs-testcontroller, then fail mode secure without it', async (t) => {
  const rig = await startDaemonRig(t);
  const h1 = await addHost(t, 'f1', { ip: '10.81.0.1/24' });
  const h2 = await addHost(t, 'f2', { ip: '10.81.0.2/24' });
  const br = uniqueName('fbr');
  rig.owns(br);
  await rig.vsctl(['add-br', br], { wait: true });
  await rig.vsctl(['add-port', br, h1.port], { wait: true });
  await rig.vsctl(['add-port', br, h2.port], { wait: true });
  const p1 = await ofportOf(rig, h1.port);
  const p2 = await ofportOf(rig, h2.port);
  t.same([p1, p2], [1, 2], 'the ports get OpenFlow numbers 1 and 2 in the order they were added');

  // Standalone: the NORMAL flow of a bridge without controllers.
  t.ok(await reaches(h1, h2), 'h1 pings h2 through the standalone bridge');
  t.equal(await pings(h2, h1), 0, 'and h2 pings h1');
  const standalone = await rig.ofctl(['dump-flows', br]);
  assertRan(t, standalone, 'ovs-ofctl dump-flows');
  t.match(standalone.stdout, /priority=0 actions=NORMAL/, 'the one flow of a standalone bridge: NORMAL');
  const learned = await fdb(t, rig, br);
  t.same(
    learned.filter((e) => e.mac === h1.mac || e.mac === h2.mac).sort((a, b) => Number(a.port) - Number(b.port)),
    [
      { port: String(p1), vlan: 0, mac: h1.mac },
      { port: String(p2), vlan: 0, mac: h2.mac },
    ],
    'fdb/show lists each host\'s MAC on its OpenFlow port, VLAN 0',
  );
  const show = await rig.ofctl(['show', br]);
  assertRan(t, show, 'ovs-ofctl show');
  t.match(show.stdout, new RegExp(`\\b${p1}\\(${h1.port}\\):`), 'ovs-ofctl show agrees on h1\'s port number');
  t.match(show.stdout, new RegExp(`\\b${p2}\\(${h2.port}\\):`), 'and on h2\'s');
  t.match(show.stdout, new RegExp(`LOCAL\\(${br}\\):`), 'the bridge\'s internal interface is LOCAL');

  // A real controller: ovs-testcontroller's learning switch installs exact-match flows.
  const port = await freePort();
  const controller = await startOvsTestcontroller(t, port);
  const target = `tcp:127.0.0.1:${port}`;
  await rig.vsctl(['set-controller', br, target], { wait: true });
  t.equal((await rig.vsctl(['get', 'Controller', br, 'target'])).trim(), `"${target}"`, 'the Controller row holds the target');
  await waitUntil(async () => (await rig.vsctl(['get', 'Controller', br, 'is_connected'])).trim() === 'true', 'Controller is_connected is true');
  t.pass('Controller is_connected becomes true');
  t.equal((await rig.vsctl(['get', 'Controller', br, 'role'])).trim(), 'other', 'role "other" (OpenFlow 1.0 has no roles)');
  t.ok(await reaches(h1, h2), 'h1 still pings h2, now through the controller');
  // The first request was flooded (h2 unknown to the controller then); these install its flow.
  t.equal(await pings(h1, h2), 0, 'and again, on the controller\'s flows');
  const flows = await rig.ofctl(['dump-flows', br]);
  assertRan(t, flows, 'ovs-ofctl dump-flows');
  t.notMatch(flows.stdout, /actions=NORMAL/, 'no NORMAL flow while a controller is connected');
  t.match(
    flows.stdout,
    new RegExp(`priority=65535,icmp,in_port=${p1},vlan_tci=0x0000,dl_src=${h1.mac},dl_dst=${h2.mac},nw_src=${h1.ip},nw_dst=${h2.ip},nw_tos=0,icmp_type=8,icmp_code=0 actions=output:${p2}`),
    'the controller\'s exact-match flow for h1\'s echo requests',
  );
  t.match(
    flows.stdout,
    new RegExp(`priority=65535,icmp,in_port=${p2},vlan_tci=0x0000,dl_src=${h2.mac},dl_dst=${h1.mac},nw_src=${h2.ip},nw_dst=${h1.ip},nw_tos=0,icmp_type=0,icmp_code=0 actions=output:${p1}`),
    'and for h2\'s echo replies',
  );
  t.equal(controller.child.exitCode, null, 'ovs-testcontroller still runs');

  // No controller, fail mode secure: an empty table, nothing passes.
  await rig.vsctl(['del-controller', br], { wait: true });
  await rig.vsctl(['set-fail-mode', br, 'secure'], { wait: true });
  t.equal((await rig.vsctl(['get-fail-mode', br])).trim(), 'secure', 'ovs-vsctl get-fail-mode: secure');
  const none = await rig.ofctl(['dump-flows', br]);
  assertRan(t, none, 'ovs-ofctl dump-flows');
  t.equal(none.stdout.trim(), 'OFPST_FLOW reply (xid=0x4):', 'no flows at all');
  t.equal(await pings(h1, h2), 1, 'h1 no longer reaches h2 (ping exits 1: no reply)');

  // Back to standalone: NORMAL again.
  await rig.vsctl(['set-fail-mode', br, 'standalone'], { wait: true });
  t.ok(await reaches(h1, h2), 'standalone again: h1 reaches h2');
});

t.test('VLANs from Port tag: tag 10 reaches tag 10, not tag 20', async (t) => {
  const rig = await startDaemonRig(t);
  const a = await addHost(t, 'va', { ip: '10.82.0.1/24' });
  const b = await addHost(t, 'vb', { ip: '10.82.0.2/24' });
  const c = await addHost(t, 'vc', { ip: '10.82.0.3/24' });
  const br = uniqueName('vbr');
  rig.owns(br);
  await rig.vsctl(['add-br', br], { wait: true });
  await rig.vsctl(['add-port', br, a.port, 'tag=10'], { wait: true });
  await rig.vsctl(['add-port', br, b.port, 'tag=10'], { wait: true });
  await rig.vsctl(['add-port', br, c.port, 'tag=20'], { wait: true });
  t.equal((await rig.vsctl(['get', 'Port', c.port, 'tag'])).trim(), '20', 'the Port row holds tag 20');
  t.ok(await reaches(a, b), 'a (tag 10) pings b (tag 10)');
  t.equal(await pings(a, c), 1, 'a (tag 10) does not reach c (tag 20)');
  t.equal(await pings(c, b), 1, 'c (tag 20) does not reach b (tag 10)');
  const learned = await fdb(t, rig, br);
  const pa = String(await ofportOf(rig, a.port));
  const pb = String(await ofportOf(rig, b.port));
  const pc = String(await ofportOf(rig, c.port));
  t.same(learned.find((e) => e.mac === a.mac), { port: pa, vlan: 10, mac: a.mac }, 'fdb/show: a learned on its port in VLAN 10');
  t.same(learned.find((e) => e.mac === b.mac), { port: pb, vlan: 10, mac: b.mac }, 'b in VLAN 10');
  t.same(learned.find((e) => e.mac === c.mac), { port: pc, vlan: 20, mac: c.mac }, 'c in VLAN 20');
  // The same port moved to VLAN 10 reaches the others: the separation was the tag's doing.
  await rig.vsctl(['set', 'Port', c.port, 'tag=10'], { wait: true });
  t.ok(await reaches(c, a), 'c, retagged 10, reaches a');
});

t.test('a port added before its interface exists comes up when the interface appears', async (t) => {
  const rig = await startDaemonRig(t);
  const br = uniqueName('lbr');
  rig.owns(br);
  const h1 = await addHost(t, 'l1', { ip: '10.86.0.1/24' });
  const late = uniqueName('l2'); // the name addHost(t, 'l2') gives its port, not made yet
  await rig.vsctl(['add-br', br, '--', 'add-port', br, h1.port, '--', 'add-port', br, late], { wait: true });
  t.equal(await ofportOf(rig, late), -1, 'ofport -1 while the interface is missing');
  t.equal(
    (await rig.vsctl(['get', 'Interface', late, 'error'])).trim(),
    `"could not open network device ${late} (No such device)"`,
    'with OVS\'s error text',
  );
  const h2 = await addHost(t, 'l2', { ip: '10.86.0.2/24' });
  t.equal(h2.port, late, 'the interface appears under that name');
  // ovs-vswitchd hears of it at once (rtnetlink); ofswitch retries at its next round, which the
  // statistics write-back brings within STATS_INTERVAL_MS (5 s).
  await waitUntil(async () => (await ofportOf(rig, late)) === 2, 'the port gets a number', 8000);
  t.pass('the port gets number 2 without any change to the database');
  t.equal((await rig.vsctl(['get', 'Interface', late, 'error'])).trim(), '[]', 'and its error is cleared');
  t.ok(await reaches(h1, h2), 'h1 reaches h2 through it');
});
