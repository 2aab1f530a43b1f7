/** One-line summaries of messages for logs: "FLOW_MOD xid=0x2a ADD", "STATS_REQUEST/FLOW xid=0x3". */
import { OFPFC, OFPST, OFPT, errorName, nameOf } from './constants.js';
import type { OfpMessage } from './types.js';

export function describeMessage(msg: OfpMessage): string {
  let name = nameOf(OFPT, msg.type);
  if (msg.type === OFPT.STATS_REQUEST || msg.type === OFPT.STATS_REPLY) name += `/${nameOf(OFPST, msg.statsType)}`;
  const head = `${name} xid=0x${msg.xid.toString(16)}`;
  switch (msg.type) {
    case OFPT.HELLO:
      return `${head} version=${msg.version}`;
    case OFPT.ERROR:
      return `${head} ${errorName(msg.errorType, msg.code)}`;
    case OFPT.FLOW_MOD:
      return `${head} ${nameOf(OFPFC, msg.command)} priority=${msg.priority} actions=${msg.actions.length}`;
    case OFPT.PACKET_IN:
      return `${head} in_port=${msg.inPort} total_len=${msg.totalLen}`;
    case OFPT.PACKET_OUT:
      return `${head} in_port=${msg.inPort} actions=${msg.actions.length} data=${msg.data.length}`;
    default:
      return head;
  }
}
