// Every FLOW_MOD rule of issue 3, one test each, error cases included.
import t from 'tap';
import { OFPAT, OFPET, OFPFC, OFPFF, OFPFMFC, OFPFW, OFPP, OFPRR, OFPT, OFPTT } from '../../protocol/constants.js';
import type { Action, FlowMod, Match } from '../../protocol/types.js';
import { encodeMessage } from '../../protocol/encode.js';
import { OfpError } from '../../protocol/errors.js';
import { FlowTable } from '../../flowtable/index.js';
import { packFlowKey, type FlowFields } from '../../flowtable/flow-key.js';

const ALL = OFPFW.ALL;
const anyMatch: Match = {
  wildcards: ALL, inPort: 0, dlSrc: '00:00:00:00:00:00', dlDst: '00:00:00:00:00:00', dlVlan: 0, dlVlanPcp: 0,
  dlType: 0, nwTos: 0, nwProto: 0, nwSrc: 0, nwDst: 0, tpSrc: 0, tpDst: 0,
};
const out = (port: number): Action[] => [{ type: OFPAT.OUTPUT, port, maxLen: 0 }];
const mod = (command: number, over: Partial<FlowMod> = {}, match: Partial<Match> = {}): FlowMod => ({
  type: OFPT.FLOW_MOD, version: 1, xid: 1, match: { ...anyMatch, ...match }, cookie: 0n, command, idleTimeout: 0,
  hardTimeout: 0, priority: 0x8000, bufferId: 0xffffffff, outPort: OFPP.NONE, flags: 0, actions: out(1), ...over,
});
const pkt: FlowFields = {
  inPort: 1, dlVlan: 0xffff, dlVlanPcp: 0, dlSrc: '00:00:00:00:00:01', dlDst: '00:00:00:00:00:02', dlType: 0x0800,
  nwTos: 0, nwProto: 6, nwSrc: 0x0a000001, nwDst: 0x0a000002, tpSrc: 1234, tpDst: 80,
};
const key = (over: Partial<FlowFields> = {}): Uint32Array => packFlowKey({ ...pkt, ...over });
/** The IPv4/TCP match of one field, others wildcarded. */
const tcp = (m: Partial<Match> = {}, wildcardsOff = 0): Partial<Match> => ({
  wildcards: ALL & ~OFPFW.DL_TYPE & ~OFPFW.NW_PROTO & ~wildcardsOff, dlType: 0x0800, nwProto: 6, ...m,
});
const mustOk = (r: ReturnType<FlowTable['flowMod']>): NonNullable<Extract<typeof r, { ok: true }>> => {
  if (!r.ok) throw new Error(`flow mod failed: ${r.reason}`);
  return r;
};

for (const cached of [true, false]) {
  const mk = (opts: { capacity?: number; now?: () => number } = {}): FlowTable =>
    new FlowTable({ ...opts, cacheSlots: cached ? 1024 : 0 });

  t.test(`${cached ? 'with' : 'without'} the microflow cache`, async (t) => {
    t.test('ADD installs; lookup finds it and counts', async (t) => {
      const ft = mk();
      const r = mustOk(ft.flowMod(mod(OFPFC.ADD, {}, tcp({ tpDst: 80 }, OFPFW.TP_DST))));
      t.ok(r.entry);
      t.equal(ft.lookup(key(), 100), r.entry);
      t.equal(ft.lookup(key({ tpDst: 81 }), 100), null, 'other port misses');
      t.equal(r.entry!.packetCount, 1);
      t.equal(r.entry!.byteCount, 100);
      const [ts] = ft.tableStats();
      t.equal(ts!.lookupCount, 2n);
      t.equal(ts!.matchedCount, 1n);
      t.equal(ts!.activeCount, 1);
    });

    t.test('higher priority wins; an exact-match request outranks every wildcarded entry', async (t) => {
      const ft = mk();
      ft.flowMod(mod(OFPFC.ADD, { priority: 10, actions: out(1) }));
      const hi = mustOk(ft.flowMod(mod(OFPFC.ADD, { priority: 20, actions: out(2) }, tcp()))).entry;
      t.equal(ft.lookup(key(), 60), hi);
      const top = mustOk(ft.flowMod(mod(OFPFC.ADD, { priority: 0xffff, actions: out(3) }, tcp()))).entry;
      t.equal(ft.lookup(key(), 60), top);
      const exact = mustOk(ft.flowMod(mod(OFPFC.ADD, { priority: 1, actions: out(4) }, { ...pkt, wildcards: 0 }))).entry!;
      t.equal(exact.priority, 0xffff, 'stored at priority 65535, as OVS');
      t.equal(ft.lookup(key(), 60), exact, 'beats a wildcarded entry of priority 65535');
      const stats = ft.flowStats({ match: anyMatch, tableId: OFPTT.ALL, outPort: OFPP.NONE });
      t.equal(stats[0]!.priority, 0xffff);
      t.equal(stats[0]!.match.wildcards, 0);
    });

    t.test('ADD of the same match and priority replaces the entry and resets its counters', async (t) => {
      const ft = mk();
      const a = mustOk(ft.flowMod(mod(OFPFC.ADD, { cookie: 1n, flags: OFPFF.SEND_FLOW_REM }, tcp()))).entry!;
      ft.lookup(key(), 60);
      const b = mustOk(ft.flowMod(mod(OFPFC.ADD, { cookie: 2n, actions: out(2) }, tcp())));
      t.same(b.removed, [], 'no FLOW_REMOVED for the replaced entry');
      t.equal(ft.size, 1);
      t.equal(a.alive, false);
      t.equal(ft.lookup(key(), 60), b.entry, 'no stale cached entry');
      const [s] = ft.flowStats({ match: anyMatch, tableId: 0, outPort: OFPP.NONE });
      t.equal(s!.packetCount, 1n, 'counter restarted');
      t.equal(s!.cookie, 2n);
      t.same(s!.actions, out(2));
      ft.flowMod(mod(OFPFC.ADD, { priority: 7 }, tcp()));
      t.equal(ft.size, 2, 'another priority is another entry');
    });

    t.test('CHECK_OVERLAP refuses an overlapping entry of equal priority', async (t) => {
      const ft = mk();
      ft.flowMod(mod(OFPFC.ADD, { priority: 5 }, tcp({ tpDst: 80 }, OFPFW.TP_DST)));
      const r = ft.flowMod(mod(OFPFC.ADD, { priority: 5, flags: OFPFF.CHECK_OVERLAP }, tcp({ tpSrc: 9 }, OFPFW.TP_SRC)));
      t.match(r, { ok: false, errorType: OFPET.FLOW_MOD_FAILED, code: OFPFMFC.OVERLAP });
      const same = ft.flowMod(mod(OFPFC.ADD, { priority: 5, flags: OFPFF.CHECK_OVERLAP }, tcp({ tpDst: 80 }, OFPFW.TP_DST)));
      t.equal(same.ok, false, 'an identical entry overlaps too');
      t.ok(ft.flowMod(mod(OFPFC.ADD, { priority: 6, flags: OFPFF.CHECK_OVERLAP }, tcp({ tpSrc: 9 }, OFPFW.TP_SRC))).ok,
        'other priority: accepted');
      t.ok(ft.flowMod(mod(OFPFC.ADD, { priority: 5, flags: OFPFF.CHECK_OVERLAP }, tcp({ tpDst: 81 }, OFPFW.TP_DST))).ok,
        'disjoint: accepted');
      t.equal(ft.size, 3);
    });

    t.test('a full table refuses new entries with ALL_TABLES_FULL but still replaces', async (t) => {
      const ft = mk({ capacity: 2 });
      t.ok(ft.flowMod(mod(OFPFC.ADD, { priority: 1 })).ok);
      t.ok(ft.flowMod(mod(OFPFC.ADD, { priority: 2 })).ok);
      t.match(ft.flowMod(mod(OFPFC.ADD, { priority: 3 })),
        { ok: false, errorType: OFPET.FLOW_MOD_FAILED, code: OFPFMFC.ALL_TABLES_FULL });
      t.ok(ft.flowMod(mod(OFPFC.ADD, { priority: 2, cookie: 9n })).ok, 'replacing needs no room');
      t.equal(ft.tableStats()[0]!.maxEntries, 2);
    });

    t.test('EMERG entries: own table, no timeouts (BAD_EMERG_TIMEOUT), used in emergency mode', async (t) => {
      const ft = mk();
      t.match(ft.flowMod(mod(OFPFC.ADD, { flags: OFPFF.EMERG, idleTimeout: 5 })),
        { ok: false, errorType: OFPET.FLOW_MOD_FAILED, code: OFPFMFC.BAD_EMERG_TIMEOUT });
      t.equal(ft.flowMod(mod(OFPFC.ADD, { flags: OFPFF.EMERG, hardTimeout: 5 })).ok, false);
      const em = mustOk(ft.flowMod(mod(OFPFC.ADD, { flags: OFPFF.EMERG, actions: out(9) }))).entry!;
      const normal = mustOk(ft.flowMod(mod(OFPFC.ADD, { priority: 1 }))).entry!;
      t.equal(ft.size, 1);
      t.equal(ft.emergencySize, 1);
      t.equal(ft.lookup(key(), 60), normal, 'emergency entries unused in normal operation');
      t.same(ft.flowStats({ match: anyMatch, tableId: OFPTT.EMERG, outPort: OFPP.NONE }).map((s) => s.tableId), [OFPTT.EMERG]);
      t.equal(ft.flowStats({ match: anyMatch, tableId: OFPTT.ALL, outPort: OFPP.NONE }).length, 2);
      t.equal(ft.flowStats({ match: anyMatch, tableId: 3, outPort: OFPP.NONE }).length, 0, 'no table 3');
      const gone = ft.enterEmergencyMode();
      t.equal(gone.length, 1);
      t.equal(ft.emergencyMode, true);
      t.equal(ft.lookup(key(), 60), em);
      ft.leaveEmergencyMode();
      t.equal(ft.lookup(key(), 60), null, 'normal entries were deleted');
      t.equal(mustOk(ft.flowMod(mod(OFPFC.DELETE, { flags: OFPFF.EMERG }))).removed.length, 1, 'DELETE with EMERG');
    });

    t.test('MODIFY replaces actions (and cookie) of every covered entry, keeping counters', async (t) => {
      const ft = mk();
      const a = mustOk(ft.flowMod(mod(OFPFC.ADD, { priority: 1 }, tcp({ tpDst: 80 }, OFPFW.TP_DST)))).entry!;
      const b = mustOk(ft.flowMod(mod(OFPFC.ADD, { priority: 2 }, tcp({ tpDst: 22 }, OFPFW.TP_DST)))).entry!;
      const c = mustOk(ft.flowMod(mod(OFPFC.ADD, { priority: 3 }, { wildcards: ALL & ~OFPFW.IN_PORT, inPort: 1 }))).entry!;
      ft.lookup(key(), 60);
      const r = mustOk(ft.flowMod(mod(OFPFC.MODIFY, { priority: 99, cookie: 5n, actions: out(7) }, tcp())));
      t.equal(ft.size, 3, 'nothing added');
      t.ok(r.entry === a || r.entry === b);
      t.same(a.actions, out(7));
      t.same(b.actions, out(7));
      t.same(c.actions, out(1), 'not covered: unchanged');
      t.equal(a.cookie, 5n);
      t.equal(c.packetCount, 1, 'counters kept');
      t.equal(ft.lookup(key(), 60), c);
    });

    t.test('MODIFY_STRICT needs the same match and priority', async (t) => {
      const ft = mk();
      const a = mustOk(ft.flowMod(mod(OFPFC.ADD, { priority: 1, idleTimeout: 30 }, tcp()))).entry!;
      ft.lookup(key(), 60);
      const r = mustOk(ft.flowMod(mod(OFPFC.MODIFY_STRICT, { priority: 1, actions: out(3), idleTimeout: 0 }, tcp())));
      t.equal(r.entry, a);
      t.same(a.actions, out(3));
      t.equal(a.packetCount, 1);
      t.equal(a.idleTimeout, 30, 'timeouts kept, as OVS');
      t.equal(ft.size, 1);
    });

    t.test('MODIFY and MODIFY_STRICT with nothing to modify add', async (t) => {
      const ft = mk();
      const r = mustOk(ft.flowMod(mod(OFPFC.MODIFY_STRICT, { priority: 4 }, tcp())));
      t.equal(ft.size, 1);
      t.equal(r.entry!.priority, 4);
      const r2 = mustOk(ft.flowMod(mod(OFPFC.MODIFY, { priority: 4, idleTimeout: 9 }, tcp({ tpDst: 1 }, OFPFW.TP_DST))));
      t.equal(ft.size, 2);
      t.equal(r2.entry!.idleTimeout, 9);
      const r3 = mustOk(ft.flowMod(mod(OFPFC.MODIFY_STRICT, { priority: 5 }, tcp())));
      t.equal(ft.size, 3, 'strict: other priority is nothing to modify');
      t.equal(r3.entry!.priority, 5);
      t.match(ft.flowMod(mod(OFPFC.MODIFY, { flags: OFPFF.EMERG, idleTimeout: 1 }, tcp({ tpDst: 2 }, OFPFW.TP_DST))),
        { ok: false, errorType: OFPET.FLOW_MOD_FAILED, code: OFPFMFC.BAD_EMERG_TIMEOUT }, 'the add rules apply');
    });

    t.test('DELETE removes every covered entry; FLOW_REMOVED data for each', async (t) => {
      let now = 0;
      const ft = mk({ now: () => now });
      ft.flowMod(mod(OFPFC.ADD, { priority: 1, flags: OFPFF.SEND_FLOW_REM, cookie: 3n }, tcp({ tpDst: 80 }, OFPFW.TP_DST)));
      ft.flowMod(mod(OFPFC.ADD, { priority: 2 }, tcp({ tpDst: 22 }, OFPFW.TP_DST)));
      ft.flowMod(mod(OFPFC.ADD, { priority: 3 }, { wildcards: ALL & ~OFPFW.IN_PORT, inPort: 1 }));
      ft.lookup(key(), 60);
      now = 2500;
      const r = mustOk(ft.flowMod(mod(OFPFC.DELETE, { priority: 77 }, tcp())));
      t.equal(r.removed.length, 2);
      t.equal(ft.size, 1);
      const rem = r.removed.find((x) => x.entry.cookie === 3n)!;
      t.equal(rem.reason, OFPRR.DELETE);
      t.equal(rem.durationSec, 2);
      t.equal(rem.durationNsec, 500_000_000);
      t.equal(ft.lookup(key({ inPort: 2 }), 60), null, 'no stale cached entry');
      t.same(mustOk(ft.flowMod(mod(OFPFC.DELETE, {}, tcp({ tpDst: 5 }, OFPFW.TP_DST)))).removed, [],
        'deleting nothing is not an error');
      t.equal(mustOk(ft.flowMod(mod(OFPFC.DELETE))).removed.length, 1, 'all-wildcards deletes all');
      t.equal(ft.size, 0);
    });

    t.test('DELETE covers only entries at least as specific as the request (prefixes)', async (t) => {
      const ft = mk();
      const ip = (srcBits: number, nwSrc: number): Partial<Match> => ({
        wildcards: (ALL & ~OFPFW.DL_TYPE & ~OFPFW.NW_SRC_MASK) | (srcBits << OFPFW.NW_SRC_SHIFT), dlType: 0x0800, nwSrc,
      });
      ft.flowMod(mod(OFPFC.ADD, {}, ip(8, 0x0a000100)));   // 10.0.1.0/24
      ft.flowMod(mod(OFPFC.ADD, {}, ip(0, 0x0a000105)));   // 10.0.1.5/32
      ft.flowMod(mod(OFPFC.ADD, {}, ip(16, 0x0a000000)));  // 10.0.0.0/16: less specific than the request
      ft.flowMod(mod(OFPFC.ADD, {}, ip(8, 0x0a000200)));   // 10.0.2.0/24: outside
      const r = mustOk(ft.flowMod(mod(OFPFC.DELETE, {}, ip(8, 0x0a000100))));
      t.equal(r.removed.length, 2);
      t.equal(ft.size, 2);
    });

    t.test('DELETE_STRICT needs the same match and priority', async (t) => {
      const ft = mk();
      ft.flowMod(mod(OFPFC.ADD, { priority: 1 }, tcp()));
      ft.flowMod(mod(OFPFC.ADD, { priority: 2 }, tcp()));
      ft.flowMod(mod(OFPFC.ADD, { priority: 1 }, tcp({ tpDst: 80 }, OFPFW.TP_DST)));
      const r = mustOk(ft.flowMod(mod(OFPFC.DELETE_STRICT, { priority: 1 }, tcp())));
      t.equal(r.removed.length, 1);
      t.equal(r.removed[0]!.entry.priority, 1);
      t.equal(ft.size, 2);
      t.equal(mustOk(ft.flowMod(mod(OFPFC.DELETE_STRICT, { priority: 3 }, tcp()))).removed.length, 0);
      ft.flowMod(mod(OFPFC.ADD, { priority: 1 }, { ...pkt, wildcards: 0 }));
      t.equal(mustOk(ft.flowMod(mod(OFPFC.DELETE_STRICT, { priority: 1 }, { ...pkt, wildcards: 0 }))).removed.length, 1,
        'an exact-match request names priority 65535 whatever it says');
    });

    t.test('DELETE and DELETE_STRICT honour out_port (OUTPUT or ENQUEUE)', async (t) => {
      const ft = mk();
      ft.flowMod(mod(OFPFC.ADD, { priority: 1, actions: out(1) }));
      ft.flowMod(mod(OFPFC.ADD, { priority: 2, actions: out(2) }));
      ft.flowMod(mod(OFPFC.ADD, { priority: 3, actions: [{ type: OFPAT.ENQUEUE, port: 2, queueId: 1 }] }));
      t.equal(mustOk(ft.flowMod(mod(OFPFC.DELETE, { outPort: 2 }))).removed.length, 2);
      t.equal(mustOk(ft.flowMod(mod(OFPFC.DELETE_STRICT, { priority: 1, outPort: 3 }))).removed.length, 0);
      t.equal(mustOk(ft.flowMod(mod(OFPFC.DELETE_STRICT, { priority: 1, outPort: 1 }))).removed.length, 1);
      t.equal(ft.size, 0);
    });

    t.test('an unknown command is BAD_COMMAND', async (t) => {
      const ft = mk();
      const request = mod(9);
      const r = ft.flowMod(request);
      t.ok(r instanceof OfpError, 'an OfpError, ready to send');
      t.match(r, { ok: false, errorType: OFPET.FLOW_MOD_FAILED, code: OFPFMFC.BAD_COMMAND, xid: request.xid, reason: /BAD_COMMAND: command 9/ });
      if (!r.ok) t.ok(Buffer.from(r.data).equals(encodeMessage(request)), 'its data is the request, encoded');
    });
  });
}
