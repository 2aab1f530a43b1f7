/**
 * The packet path's list of outputs for flow accounting (datapath/flow-accounting.ts): every port
 * a received frame is sent out of, in order, once per output (what IPFIX samples on output), empty
 * for a frame sent nowhere; a flood lists each port it reached.
 */
import t from 'tap';
import type { FlowAccounting } from '../../datapath/flow-accounting.js';
import { OFPAT, OFPP } from '../../protocol/constants.js';
import type { Action } from '../../protocol/types.js';
import { udpDstPath } from '../helpers/udp-dst-path.js';

const out = (port: number): Action => ({ type: OFPAT.OUTPUT, port, maxLen: 0 });

t.test('each output listed', async (t) => {
  const byDst = new Map<number, Action[]>([
    [1, [out(2)]],
    [2, [out(3), out(2)]],
    [3, [out(OFPP.FLOOD)]],
    [4, []],
    [5, [out(2), out(2)]],
  ]);
  const { dp, ports, udp } = udpDstPath(byDst, 4, 'ipx', '03');
  const seen: number[][] = [];
  const acct: FlowAccounting = {
    account(_key, _frame, _l3, _l4, _out, outPorts, outCount) {
      seen.push(outPorts.slice(0, outCount));
    },
  };
  dp.path.setAccounting(acct);
  for (const dst of [1, 2, 3, 4, 5, 1]) ports[0]!.inject(udp(dst));
  t.same(seen, [[2], [3, 2], [2, 3, 4], [], [2, 2], [2]], 'one port, two in order, a flood, none, the same port twice; the list starts afresh for each frame');
  dp.close();
});
