/**
 * BFD on tunnel ports in process: two bridges, each with a VXLAN port to the other over the
 * loopback interface only (local_ip 127.0.0.1 and 127.0.0.2, a UDP port the kernel found free),
 * run BFD through their tunnels (oam/monitor.ts sends through the tunnel port and catches what
 * comes out of it decapsulated):
 * - BFD comes up on both ends and goes down when the far end stops;
 * - check_tnl_key: a tunnel with a key takes no BFD packet (OVS: only tun_id 0), so the session
 *   never comes up and the far end's packets go to the flow table; a tunnel without a key does;
 * - forwarding_if_rx: data frames received on the tunnel keep it forwarding after the far end's
 *   BFD went quiet (OVS's bfd_account_rx, for tunnel and patch ports).
 * The same against Open vSwitch over Geneve and GRE: test/e2e/tunnel-bfd-ovs.test.ts.
 */
import t, { type Test } from 'tap';
import type { MemoryPort } from '../../datapath/ports/memory-port.js';
import { createSwitch, type Switch } from '../../lib/switch.js';
import { bfdSettings, type LinkMonitor } from '../../oam/index.js';
import { freePort } from '../helpers/free-port.js';

async function until(check: () => boolean, what: string, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`not ${what} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const state = (m: LinkMonitor, port: string): string | undefined => m.bfd(port)?.status().state;

/** Two bridges joined by VXLAN ports t1 (127.0.0.1 -> .2) and t2 (back), with `key`. */
async function pair(t: Test, key: string | null): Promise<{ sw1: Switch; sw2: Switch }> {
  const dstPort = String(await freePort());
  const sw1 = createSwitch({ failMode: 'secure', linkPollMs: 0 });
  const sw2 = createSwitch({ failMode: 'standalone', linkPollMs: 0 });
  t.teardown(() => Promise.all([sw1.stop(), sw2.stop()]));
  const k: Record<string, string> = key === null ? {} : { key };
  sw1.addPort({ name: 't1', type: 'vxlan', options: { remote_ip: '127.0.0.2', local_ip: '127.0.0.1', dst_port: dstPort, ...k } });
  sw2.addPort({ name: 't2', type: 'vxlan', options: { remote_ip: '127.0.0.1', local_ip: '127.0.0.2', dst_port: dstPort, ...k } });
  return { sw1, sw2 };
}

const fast = (extra: Record<string, string> = {}) => bfdSettings({ enable: 'true', min_rx: '20', min_tx: '20', ...extra })!;

t.test('BFD through a VXLAN tunnel: up on both ends, down when the far end stops', async (t) => {
  const { sw1, sw2 } = await pair(t, '5');
  sw1.monitor.setBfd('t1', fast());
  sw2.monitor.setBfd('t2', fast());
  await until(() => state(sw1.monitor, 't1') === 'up' && state(sw2.monitor, 't2') === 'up', 'up on both ends');
  t.equal(sw1.monitor.live('t1'), true, 'the tunnel is live by BFD');
  t.equal(sw1.lookupStats().lookups, 0, 'no BFD packet reached the flow table');
  sw2.monitor.setBfd('t2', null);
  await until(() => state(sw1.monitor, 't1') === 'down', 'down after the far end stopped');
  t.match(sw1.monitor.bfd('t1')!.status(), { forwarding: false, diagnostic: 'Control Detection Time Expired' });
  await until(() => sw1.monitor.live('t1') === false, 'not live');
  t.pass('liveness false');
});

t.test('check_tnl_key: a tunnel with a key takes no BFD packet, one without a key does', async (t) => {
  const keyed = await pair(t, '5');
  keyed.sw1.monitor.setBfd('t1', fast({ check_tnl_key: 'true' }));
  keyed.sw2.monitor.setBfd('t2', fast());
  await until(() => keyed.sw1.lookupStats().lookups >= 3, 'the far end\'s BFD packets in the flow table');
  t.equal(state(keyed.sw1.monitor, 't1'), 'down', 'key 5 with check_tnl_key: the session stays down');
  t.not(state(keyed.sw2.monitor, 't2'), 'up', 'and so does the far end');

  const keyless = await pair(t, null);
  keyless.sw1.monitor.setBfd('t1', fast({ check_tnl_key: 'true' }));
  keyless.sw2.monitor.setBfd('t2', fast());
  await until(() => state(keyless.sw1.monitor, 't1') === 'up', 'up without a key');
  t.equal(keyless.sw1.lookupStats().lookups, 0, 'without a key: BFD packets taken, none in the flow table');
});

t.test('forwarding_if_rx: data received on the tunnel keeps it forwarding when BFD goes quiet', async (t) => {
  const { sw1, sw2 } = await pair(t, '7');
  const m2 = sw2.addPort({ name: 'm2', type: 'memory' }).device as MemoryPort;
  sw1.monitor.setBfd('t1', bfdSettings({ enable: 'true', min_rx: '50', min_tx: '50', forwarding_if_rx: 'true' })!);
  sw2.monitor.setBfd('t2', bfdSettings({ enable: 'true', min_rx: '50', min_tx: '50' })!);
  await until(() => state(sw1.monitor, 't1') === 'up' && state(sw2.monitor, 't2') === 'up', 'up on both ends');
  sw2.monitor.setBfd('t2', null);
  await until(() => state(sw1.monitor, 't1') === 'down', 'down after the far end stopped');
  t.equal(sw1.monitor.live('t1'), false, 'no data yet: not forwarding');
  // A broadcast into sw2 floods (NORMAL) through t2 to t1: data on the tunnel.
  const data = new Uint8Array(60);
  data.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 0x22, 0x08, 0x06]);
  const feed = setInterval(() => m2.inject(data), 20);
  t.teardown(() => clearInterval(feed));
  await until(() => sw1.monitor.live('t1') === true, 'live again by the data received', 4000);
  t.match(sw1.monitor.bfd('t1')!.status(), { state: 'down', forwarding: true }, 'BFD down, yet forwarding by the data received');
  clearInterval(feed);
});
