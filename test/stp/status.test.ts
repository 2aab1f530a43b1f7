/** The spanning tree's status columns as the daemon writes them (vswitchd/status.ts). */
import t from 'tap';
import { bridgeTreeStatus, portTreeStatus } from '../../vswitchd/status.js';
import { bridgeId } from '../../stp/bpdu.js';
import { Rstp } from '../../stp/rstp.js';
import { Stp } from '../../stp/stp.js';

const out = { send: () => undefined, flush: () => undefined };
const settings = { name: 'p1', portNum: 1, priority: 128, pathCost: 2 };

t.test('Bridge status / rstp_status and Port status, statistics, rstp_status, rstp_statistics', async (t) => {
  const stp = new Stp({ name: 'br', bridgeId: bridgeId(0x8000, 0xaan) }, out);
  stp.addPort(1, settings, true);
  const b = bridgeTreeStatus(stp);
  t.same(b['status'], new Map([['stp_bridge_id', '8000.0000000000aa'], ['stp_designated_root', '8000.0000000000aa'], ['stp_root_path_cost', '0']]));
  t.same(b['rstp_status'], new Map());
  t.same(bridgeTreeStatus(null), { status: new Map(), rstp_status: new Map() }, 'no tree: both empty (OVS clears them)');
  const p = portTreeStatus(stp, 1, true, () => 0);
  t.same(p['status'], new Map([['stp_port_id', '32769'], ['stp_role', 'designated'], ['stp_sec_in_state', '0'], ['stp_state', 'listening']]));
  t.same(p['statistics'], new Map([['stp_error_count', 0], ['stp_rx_count', 0], ['stp_tx_count', 0]]));
  t.same(p['rstp_statistics'], new Map());
  t.same(Object.keys(portTreeStatus(stp, 1, false, () => 0)), ['status', 'rstp_status'], 'statistics only when due');
  t.same(portTreeStatus(stp, null, true, () => 0)['status'], new Map(), 'a port that does not run');
  t.same(portTreeStatus(stp, 7, true, () => 0)['statistics'], new Map(), 'a port outside the tree');

  const rstp = new Rstp({ name: 'br', bridgeId: bridgeId(0x8000, 0xaan) }, out);
  rstp.addPort(1, settings, true);
  t.equal((bridgeTreeStatus(rstp)['rstp_status'] as Map<string, string>).get('rstp_root_id'), '8.000.0000000000aa');
  const r = portTreeStatus(rstp, 1, true, () => 5);
  t.equal((r['rstp_status'] as Map<string, string>).get('rstp_port_role'), 'Designated');
  t.same(r['rstp_statistics'], new Map([['rstp_error_count', 0], ['rstp_rx_count', 0], ['rstp_tx_count', 1], ['rstp_uptime', 5]]));
  t.same(r['statistics'], new Map());
});
