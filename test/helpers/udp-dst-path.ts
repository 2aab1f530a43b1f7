/**
 * A Datapath for the flow-accounting tests (test/netflow, test/ipfix packet-path): its table gives
 * a UDP frame the actions `byDst` has for its destination port (none when absent), and it has
 * memory ports 1..`count` named `${prefix}1`, ... with MACs 02:00:00:00:`macByte`:0i. `udp(dst)`
 * builds such a frame. The caller closes `dp`.
 */
import { unpackFlowKey, type FlowKey } from '../../flowtable/flow-key.js';
import { Datapath, type FlowLookup } from '../../datapath/datapath.js';
import { MemoryPort } from '../../datapath/ports/memory-port.js';
import type { Action } from '../../protocol/types.js';
import { ethFrame, ipv4Packet, udpDatagram, withL4Checksum4 } from '../datapath/frames.js';

export function udpDstPath(byDst: ReadonlyMap<number, Action[]>, count: number, prefix: string, macByte: string): { dp: Datapath; ports: MemoryPort[]; udp: (dst: number) => Uint8Array } {
  const table: FlowLookup = { lookup: (key: FlowKey) => ({ actions: byDst.get(unpackFlowKey(key).tpDst) ?? [] }) };
  const dp = new Datapath({ flowTable: table, linkPollMs: 0 });
  const ports = Array.from({ length: count }, (_, k) => {
    const i = k + 1;
    const p = new MemoryPort(`${prefix}${i}`, { hwAddr: `02:00:00:00:${macByte}:0${i}` });
    dp.registry.addPort(p, i);
    return p;
  });
  const udp = (dst: number): Uint8Array => ethFrame(0x0800, withL4Checksum4(ipv4Packet({ proto: 17 }, udpDatagram(1, dst))));
  return { dp, ports, udp };
}
