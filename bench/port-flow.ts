/**
 * The one entry the datapath benchmarks install: frames in on port 1 go out of port 2. The match
 * is made by the caller's `matchWith`, since bench/policer.ts loads its modules from a chosen build.
 */
import { OFP_NO_BUFFER, OFPAT, OFPFC, OFPFW, OFPP, OFPT, OFP_VERSION } from '../protocol/constants.js';
import type { FlowMod, Match } from '../protocol/types.js';

export function port1ToPort2(matchWith: (fields: Partial<Match>) => Match): FlowMod {
  return {
    version: OFP_VERSION,
    type: OFPT.FLOW_MOD,
    xid: 1,
    match: matchWith({ wildcards: OFPFW.ALL & ~OFPFW.IN_PORT, inPort: 1 }),
    cookie: 0n,
    command: OFPFC.ADD,
    idleTimeout: 0,
    hardTimeout: 0,
    priority: 0x8000,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.NONE,
    flags: 0,
    actions: [{ type: OFPAT.OUTPUT, port: 2, maxLen: 0 }],
  };
}
