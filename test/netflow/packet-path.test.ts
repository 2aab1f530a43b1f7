/**
 * The packet path's accounting hook (datapath/flow-accounting.ts): every received frame that went
 * through the table is counted once, after its actions, with where it went: its one output port,
 * FLOOD for FLOOD/ALL, MULTI for several ports, DROP for none; nothing once the accountant is removed.
 */
import t from 'tap';
import { unpackFlowKey, type FlowKey } from '../../flowtable/flow-key.js';
import { ACCT_OUT_DROP, ACCT_OUT_FLOOD, ACCT_OUT_MULTI, type FlowAccounting } from '../../datapath/flow-accounting.js';
import { OFPAT, OFPP } from '../../protocol/constants.js';
import type { Action } from '../../protocol/types.js';
import { ethFrame, ipv4Packet, udpDatagram, withL4Checksum4 } from '../datapath/frames.js';
import { udpDstPath } from '../helpers/udp-dst-path.js';

const out = (port: number): Action => ({ type: OFPAT.OUTPUT, port, maxLen: 0 });

t.test('each received frame counted once with its output', async (t) => {
  const byDst = new Map<number, Action[]>([
    [1, [out(2)]],
    [2, [out(2), out(3)]],
    [3, [out(OFPP.FLOOD)]],
    [4, []],
    [5, [out(2), out(2)]],
    [6, [{ type: OFPAT.STRIP_VLAN }, out(2)]],
    [7, [{ type: OFPAT.SET_VLAN_VID, vlanVid: 9 }, out(3)]],
  ]);
  const { dp, ports, udp } = udpDstPath(byDst, 3, 'nf', '02');
  const seen: { tpDst: number; inPort: number; out: number; ipLen: number }[] = [];
  const acct: FlowAccounting = {
    account(key: FlowKey, frame: Uint8Array, l3Offset: number, _l4Offset: number, outIface: number) {
      const f = unpackFlowKey(key);
      seen.push({ tpDst: f.tpDst, inPort: f.inPort, out: outIface, ipLen: (frame[l3Offset + 2]! << 8) | frame[l3Offset + 3]! });
    },
  };
  dp.path.setAccounting(acct);
  for (const dst of [1, 2, 3, 4, 5]) ports[0]!.inject(udp(dst));
  t.same(seen.map((s) => [s.tpDst, s.inPort, s.out]), [
    [1, 1, 2],
    [2, 1, ACCT_OUT_MULTI],
    [3, 1, ACCT_OUT_FLOOD],
    [4, 1, ACCT_OUT_DROP],
    [5, 1, 2],
  ], 'one port, several, flood, none, the same port twice');
  t.ok(seen.every((s) => s.ipLen === udp(1).length - 14), 'the frame handed over whole (its IP total length)');
  // Actions that change the frame's length build a new one: the offsets are the received frame's.
  ports[0]!.inject(ethFrame(0x0800, withL4Checksum4(ipv4Packet({ proto: 17 }, udpDatagram(1, 6))), { vlan: { vid: 5 } }));
  ports[0]!.inject(udp(7));
  t.same(seen.slice(5).map((s) => [s.tpDst, s.out, s.ipLen]), [[6, 2, udp(1).length - 14], [7, 3, udp(1).length - 14]], 'STRIP_VLAN and a pushed tag: the IP length still read right');
  dp.path.setAccounting(null);
  ports[0]!.inject(udp(1));
  t.equal(seen.length, 7, 'nothing counted once removed');
  dp.close();
});
