/**
 * The database's knob for the connection cap, Bridge other_config:max-connections (ofswitch's own:
 * Open vSwitch has none), applied by the daemon (against the real ovsdb-server, set with the stock
 * ovs-vsctl) to the bridge's management socket; that socket's connections are service connections
 * (miss_send_len 0).
 */
import t from 'tap';
import { readdirSync, existsSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OFP_VERSION, OFPT } from '../../protocol/index.js';
import { readConfig } from '../../vswitchd/config.js';
import { startInProcessDaemon } from '../helpers/inprocess-daemon.js';
import { uniqueName } from '../helpers/netns.js';
import { OfClient } from '../helpers/of-client.js';
import { startOvsdbServer } from '../helpers/ovsdb-server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A client on a unix socket, HELLO sent; null when the switch closed it before its HELLO. */
async function unixClient(path: string): Promise<OfClient | null> {
  const socket = connect({ path });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const c = OfClient.wrap(socket);
  c.send({ version: OFP_VERSION, type: OFPT.HELLO, xid: 1, body: new Uint8Array(0) });
  try {
    await c.next((m) => m.type === OFPT.HELLO, 2000);
    return c;
  } catch {
    c.close();
    return null;
  }
}

t.test('other_config:max-connections caps the bridge; removing it restores the default', async (t) => {
  const db = await startOvsdbServer(t);
  await startInProcessDaemon(t, db.remote);
  const br = uniqueName('mc');
  await db.vsctl(['add-br', br, '--', 'set', 'bridge', br, 'other_config:max-connections=1'], { wait: true, timeoutSec: 10 });
  const mgmt = readdirSync(tmpdir())
    .filter((d) => d.startsWith('ofsw-run-'))
    .map((d) => join(tmpdir(), d, `${br}.mgmt`))
    .find((p) => existsSync(p));
  if (mgmt === undefined) throw new Error('no management socket');
  const first = await unixClient(mgmt);
  t.ok(first, 'the first connection is accepted');
  t.teardown(() => first?.close());
  t.match(await first!.request({ version: OFP_VERSION, type: OFPT.GET_CONFIG_REQUEST, xid: 2 }), { missSendLen: 0 }, 'a service connection: miss_send_len 0');
  t.equal(await unixClient(mgmt), null, 'a second one is refused');
  await db.vsctl(['remove', 'bridge', br, 'other_config', 'max-connections'], { wait: true, timeoutSec: 10 });
  await sleep(200);
  const second = await unixClient(mgmt);
  t.ok(second, 'the default cap again: accepted');
  second?.close();
});

t.test('other_config:max-connections is read as the other integers are', async (t) => {
  const bridge = (value: string) => {
    const row = (uuid: string, cols: Record<string, unknown>) => ({ _uuid: uuid, ...cols });
    const tables: Record<string, ReturnType<typeof row>[]> = {
      Open_vSwitch: [row('root', { bridges: ['b1'], next_cfg: 1 })],
      Bridge: [row('b1', { name: 'br1', ports: [], controller: [], fail_mode: null, protocols: [], other_config: new Map([['max-connections', value]]) })],
    };
    const src = {
      table: (name: string) => new Map((tables[name] ?? []).map((r) => [r._uuid, r])),
      first: (name: string) => tables[name]?.[0],
    };
    const c = readConfig(src as unknown as Parameters<typeof readConfig>[0]);
    return { max: c.bridges[0]?.maxConnections, problems: c.problems.map((p) => p.message) };
  };
  t.equal(bridge('50').max, 50);
  t.equal(bridge('0').max, null, '0: the default');
  t.match(bridge('many'), { max: null, problems: ['other_config:max-connections "many" is not an integer: the default is used'] });
});
