/**
 * The daemon in-process against the real ovsdb-server, driven by the stock ovs-vsctl: bridges and
 * ports appear as ovs-vsctl adds them, plain ovs-vsctl (waiting for cur_cfg) returns promptly, and
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
  const started = Date.now();
  // ovs-vsctl exits 0 only once the daemon acknowledged (else it times out with an error); the
  // timeout is for a loaded machine, the time is reported.
  const r = await db.tryVsctl(['add-br', br], { wait: true, timeoutSec: 30 });
  t.equal(r.code, 0, `ovs-vsctl add-br exits 0 (${r.stderr})`);
  t.equal(r.stderr, '', 'and reports no error');
  t.ok(Date.now() - started < 30_000, `acknowledged after ${Date.now() - started} ms`);
  t.equal((await db.vsctl(['get', 'Interface', br, 'ofport'])).trim(), '65534', 'the bridge interface is LOCAL');
  const dpid = (await db.vsctl(['get', 'Bridge', br, 'datapath_id'])).trim();
  t.match(dpid, /^"[0-9a-f]{16}"$/, 'datapath_id written');
  const r2 = await db.tryVsctl(['del-br', br], { wait: true, timeoutSec: 30 });
  t.equal(r2.code, 0, 'del-br exits 0');
});
