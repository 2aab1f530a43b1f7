/**
 * The daemon in-process against the real ovsdb-server, driven by the stock ovs-vsctl: bridges and
 * ports appear as ovs-vsctl adds them, plain ovs-vsctl (waiting for cur_cfg) returns once the daemon has
 * applied the change (it exits non-zero at its --timeout if cur_cfg never reaches next_cfg), and
 * what the daemon writes back is what `ovs-vsctl get/list` shows.
 */
import t from 'tap';
import { startInProcessDaemon as startDaemon } from '../helpers/inprocess-daemon.js';
import { startOvsdbServer } from '../helpers/ovsdb-server.js';
import { uniqueName } from '../helpers/netns.js';

t.test('add-br without --no-wait returns once the daemon acknowledges next_cfg', async (t) => {
  const db = await startOvsdbServer(t);
  await startDaemon(t, db.remote);
  const br = uniqueName('b0');
  const r = await db.tryVsctl(['add-br', br], { wait: true, timeoutSec: 30 });
  t.equal(r.code, 0, `ovs-vsctl add-br exits 0 (${r.stderr})`);
  t.equal(r.stderr, '', 'and reports no error');
  const cfg = (name: string): Promise<string> => db.vsctl(['get', 'Open_vSwitch', '.', name]).then((s) => s.trim());
  const nextCfg = await cfg('next_cfg');
  t.ok(Number(nextCfg) > 0, `ovs-vsctl raised next_cfg (${nextCfg})`);
  t.equal(await cfg('cur_cfg'), nextCfg, 'and returned after the daemon acknowledged it in cur_cfg');
  t.equal((await db.vsctl(['get', 'Interface', br, 'ofport'])).trim(), '65534', 'the bridge interface is LOCAL');
  const dpid = (await db.vsctl(['get', 'Bridge', br, 'datapath_id'])).trim();
  t.match(dpid, /^"[0-9a-f]{16}"$/, 'datapath_id written');
  const r2 = await db.tryVsctl(['del-br', br], { wait: true, timeoutSec: 30 });
  t.equal(r2.code, 0, 'del-br exits 0');
});
