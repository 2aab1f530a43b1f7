/**
 * The soak's checks (bench/soak/), without a switch: each must be able to fail.
 * - The flow-table model: every command's semantics by hand, then a differential run of the
 *   storm's own FLOW_MODs through the model and through the project's FlowTable (the switch's
 *   table, in process), dumped and compared with the soak's diffTable after every batch; then
 *   the same with the model made wrong on purpose (caught), and dumps with an entry missing, one
 *   too many, one changed and one no actor made (each caught and named).
 * - The storm makes only matches in Open vSwitch's normal form (flowtable's normalizeMatch leaves
 *   them as they are), so the switch must report exactly the bytes sent.
 * - Barrier bookkeeping: in order passes; out of order, unknown, and overdue replies are named.
 * - Memory: VmRSS parsing, the bound (first sample + growth), the table.
 * - Malformed messages: every FLOW_MOD among them is refused by the codec or validation.
 * - The command line: defaults, values, refusals.
 */
import t from 'tap';
import { FlowTable } from '../../flowtable/flow-table.js';
import { normalizeMatch } from '../../flowtable/match.js';
import { decodeMessage } from '../../protocol/decode.js';
import { encodeMessage } from '../../protocol/encode.js';
import { MATCH_ALL } from '../../protocol/match.js';
import { OFP_NO_BUFFER, OFP_VERSION, OFPAT, OFPFC, OFPFW, OFPP, OFPT, OFPTT } from '../../protocol/constants.js';
import { validateMessage } from '../../protocol/validate.js';
import type { Action, FlowMod, FlowStats, Match } from '../../protocol/types.js';
import { BarrierTracker, MemoryLog, parseCpuSeconds, parseVmRss, Verdict } from '../../bench/soak/checks.js';
import { covers, describeDiff, diffTable, FlowModel, isEqual, matchBytes, outputsTo } from '../../bench/soak/model.js';
import { FOREIGN_DL_TYPE, floodConfig, malformedFramesConfig, malformedMessage } from '../../bench/soak/malformed.js';
import { parseOptions } from '../../bench/soak/options.js';
import { DEFAULTS } from '../../bench/soak/soak.js';
import { ARP, flapperFlowMod, IPV4, isFlapperEntry, isStormEntry, makeMatch, Random, StormGenerator } from '../../bench/soak/storm.js';

const out = (port: number): Action => ({ type: OFPAT.OUTPUT, port, maxLen: 0 });

function mod(command: number, match: Match, priority: number, cookie: bigint, actions: Action[] = [], outPort: number = OFPP.NONE): FlowMod {
  return {
    version: OFP_VERSION, type: OFPT.FLOW_MOD, xid: 1, match, cookie, command, idleTimeout: 0, hardTimeout: 0, priority,
    bufferId: OFP_NO_BUFFER, outPort, flags: 0, actions,
  };
}

const dumpOf = (table: FlowTable): FlowStats[] => table.flowStats({ match: MATCH_ALL, tableId: OFPTT.ALL, outPort: OFPP.NONE });

t.test('covers: exact fields must agree, prefixes must be at least as long and agree', async (t) => {
  const vlan5 = makeMatch({ dlType: IPV4, dlVlan: 5 });
  const vlan5tcp = makeMatch({ dlType: IPV4, dlVlan: 5, nwProto: 6, tpDst: 80 });
  t.ok(covers(vlan5, vlan5tcp), 'a broader request covers a narrower entry');
  t.notOk(covers(vlan5tcp, vlan5), 'a narrower request does not cover a broader entry');
  t.notOk(covers(makeMatch({ dlType: IPV4, dlVlan: 6 }), vlan5tcp), 'another VLAN');
  t.ok(covers(makeMatch({}), vlan5), 'the match-all request covers everything');
  const net8 = makeMatch({ dlType: IPV4, nwSrc: [0x0a000000, 8] });
  const host = makeMatch({ dlType: IPV4, nwSrc: [0x0a010203, 32] });
  t.ok(covers(net8, host), '10.0.0.0/8 covers 10.1.2.3/32');
  t.notOk(covers(host, net8), '10.1.2.3/32 does not cover 10.0.0.0/8');
  t.notOk(covers(makeMatch({ dlType: IPV4, nwSrc: [0xc0a80000, 16] }), host), '192.168.0.0/16 does not cover 10.1.2.3');
  t.ok(covers(makeMatch({ dlType: IPV4, nwDst: [0x0a010000, 16] }), makeMatch({ dlType: IPV4, nwDst: [0x0a010200, 24] })), 'nw_dst too');
  t.notOk(covers(makeMatch({ dlType: IPV4, nwDst: [0x0a020000, 16] }), makeMatch({ dlType: IPV4, nwDst: [0x0a010200, 24] })), 'nw_dst disagreeing');
  t.ok(outputsTo([out(3)], 3) && outputsTo([], OFPP.NONE), 'out_port filter: an output to it, or NONE');
  t.ok(outputsTo([{ type: OFPAT.ENQUEUE, port: 4, queueId: 1 }], 4), 'an ENQUEUE counts');
  t.notOk(outputsTo([out(3)], 4), 'an output elsewhere does not');
});

t.test('the model: each FLOW_MOD command', async (t) => {
  const m = new FlowModel();
  const a = makeMatch({ dlType: IPV4, dlVlan: 101, nwProto: 6 });
  const b = makeMatch({ dlType: IPV4, dlVlan: 101, nwProto: 17 });
  m.apply(mod(OFPFC.ADD, a, 100, 1n, [out(1)]));
  m.apply(mod(OFPFC.ADD, a, 200, 2n, [out(2)]));
  m.apply(mod(OFPFC.ADD, a, 100, 3n, [out(3)]));
  t.equal(m.size, 2, 'ADD of the same match and priority replaces');
  t.equal(m.list().find((e) => e.priority === 100)?.cookie, 3n, 'with the new cookie');
  m.apply(mod(OFPFC.MODIFY_STRICT, a, 200, 4n, [out(4)]));
  t.same(m.list().find((e) => e.priority === 200)?.actions, [out(4)], 'MODIFY_STRICT replaces actions');
  m.apply(mod(OFPFC.MODIFY_STRICT, b, 300, 5n, [out(5)]));
  t.equal(m.size, 3, 'MODIFY_STRICT of nothing adds');
  m.apply(mod(OFPFC.MODIFY, makeMatch({ dlType: IPV4, dlVlan: 101, nwProto: 6 }), 1, 6n, [out(6)]));
  t.same(m.list().filter((e) => e.cookie === 6n).map((e) => e.priority).sort(), [100, 200], 'MODIFY changes every covered entry, any priority');
  m.apply(mod(OFPFC.MODIFY, makeMatch({ dlType: IPV4, dlVlan: 999 }), 7, 7n, [out(7)]));
  t.equal(m.size, 4, 'MODIFY covering nothing adds');
  m.apply(mod(OFPFC.DELETE_STRICT, a, 100, 0n, [], 5));
  t.equal(m.size, 4, 'DELETE_STRICT with an out_port the entry does not output to leaves it');
  m.apply(mod(OFPFC.DELETE_STRICT, a, 100, 0n, [], 6));
  t.equal(m.size, 3, 'with the right out_port it goes');
  m.apply(mod(OFPFC.DELETE, makeMatch({ dlType: IPV4, dlVlan: 101 }), 0, 0n, [], 5));
  t.equal(m.size, 2, 'DELETE with out_port takes only the covered entries that output there');
  m.apply(mod(OFPFC.DELETE, makeMatch({ dlType: IPV4 }), 0, 0n));
  t.equal(m.size, 0, 'DELETE of all IPv4 empties it');
  t.throws(() => m.apply(mod(9, a, 1, 1n)), /no command 9/, 'an unknown command is the soak\'s bug, not a silent no-op');
});

t.test('the storm through the model and through the switch\'s flow table agree, batch after batch', async (t) => {
  const table = new FlowTable({ cacheSlots: 0 });
  const model = new FlowModel();
  const gen = new StormGenerator(42, 300);
  const r = new Random(7);
  let xid = 1;
  let largest = 0;
  for (let batch = 0; batch < 60; batch++) {
    for (let i = 0; i < 50; i++) {
      const m = gen.next(xid++, model.list());
      const result = table.flowMod(m);
      if (!result.ok) t.fail(`the flow table refused a storm FLOW_MOD: ${result.reason}`);
      model.apply(m);
      const f = flapperFlowMod(r, xid++);
      const fr = table.flowMod(f);
      if (!fr.ok) t.fail(`the flow table refused a flapper FLOW_MOD: ${fr.reason}`);
    }
    largest = Math.max(largest, model.size);
    const diff = diffTable(model, dumpOf(table), isStormEntry, isFlapperEntry);
    if (!isEqual(diff)) {
      t.fail(`batch ${batch}: ${describeDiff(diff)}`);
      break;
    }
  }
  t.ok(largest > 100, `the table grew (largest ${largest} entries)`);
  t.ok(dumpOf(table).some((f) => isFlapperEntry(f.match)), 'flapper entries were there beside the storm\'s');
  const note = model.corrupt();
  const diff = diffTable(model, dumpOf(table), isStormEntry, isFlapperEntry);
  t.notOk(isEqual(diff), `a deliberately wrong model is caught (${note})`);
  t.equal(diff.changed.length, 1, 'as one changed entry');
  t.match(describeDiff(diff), /1 entries with other cookie or actions: switch: cookie=/, 'named with both sides');
});

t.test('diffTable names what is missing, unexpected, changed and foreign', async (t) => {
  const table = new FlowTable({ cacheSlots: 0 });
  const model = new FlowModel();
  const a = mod(OFPFC.ADD, makeMatch({ dlType: IPV4, dlVlan: 101 }), 100, 1n, [out(1)]);
  const b = mod(OFPFC.ADD, makeMatch({ dlType: IPV4, dlVlan: 102 }), 100, 2n, [out(2)]);
  for (const m of [a, b]) {
    table.flowMod(m);
    model.apply(m);
  }
  t.ok(isEqual(diffTable(model, dumpOf(table), isStormEntry, isFlapperEntry)), 'equal to start with');
  const dump = dumpOf(table);
  const [first, second] = dump as [FlowStats, FlowStats];
  const missing = diffTable(model, [first], isStormEntry, isFlapperEntry);
  t.equal(missing.missing.length, 1, 'an entry gone from the switch is missing');
  const twice = diffTable(model, [...dump, first], isStormEntry, isFlapperEntry);
  t.equal(twice.unexpected.length, 1, 'an entry dumped twice is one too many');
  const changed = diffTable(model, [first, { ...second, actions: [out(9)] }], isStormEntry, isFlapperEntry);
  t.equal(changed.changed.length, 1, 'other actions: changed');
  const cookie = diffTable(model, [first, { ...second, cookie: 99n }], isStormEntry, isFlapperEntry);
  t.equal(cookie.changed.length, 1, 'another cookie: changed');
  const prio = diffTable(model, [first, { ...second, priority: 101 }], isStormEntry, isFlapperEntry);
  t.same([prio.missing.length, prio.unexpected.length], [1, 1], 'another priority: one missing, one unexpected');
  const renormalised = diffTable(model, [first, { ...second, match: { ...second.match, wildcards: second.match.wildcards | OFPFW.NW_SRC_MASK } }], isStormEntry, isFlapperEntry);
  t.same([renormalised.missing.length, renormalised.unexpected.length], [1, 1], 'other match bytes (wildcards) are another entry');
  const foreign = { ...first, match: makeMatch({ dlType: FOREIGN_DL_TYPE }) };
  const withForeign = diffTable(model, [...dump, foreign], isStormEntry, isFlapperEntry);
  t.equal(withForeign.foreign.length, 1, 'an entry no actor made is foreign');
  t.match(describeDiff(withForeign), /1 entries no soak actor made/, 'and named');
  const flapper = { ...first, match: makeMatch({ dlType: ARP }) };
  t.ok(isEqual(diffTable(model, [...dump, flapper], isStormEntry, isFlapperEntry)), 'a flapper\'s entry is expected, not modelled');
  const many = diffTable(new FlowModel(), [...dump, ...dump, ...dump, ...dump], isStormEntry, isFlapperEntry);
  t.match(describeDiff(many, 2), /8 entries in the switch the model lacks: .* \| .* \| \.\.\.$/, 'long lists are cut');
  const empty = new FlowModel();
  t.match(empty.corrupt(), /never sent/, 'an empty model is made wrong by an entry never sent');
  t.equal(diffTable(empty, [], isStormEntry, isFlapperEntry).missing.length, 1, 'and that is caught');
});

t.test('the storm makes matches in normal form, and valid FLOW_MODs', async (t) => {
  const gen = new StormGenerator(3, 50);
  const model = new FlowModel();
  const commands = new Set<number>();
  let bad = 0;
  for (let i = 0; i < 3000; i++) {
    const m = gen.next(i, model.list());
    model.apply(m);
    commands.add(m.command);
    if (matchBytes(normalizeMatch(m.match)) !== matchBytes(m.match)) bad++;
    if (validateMessage(m) !== null) bad++;
    if ((m.match.wildcards & OFPFW.ALL) === 0) bad++;
  }
  t.equal(bad, 0, 'every match is already normal, no request is exact, every request valid');
  t.same([...commands].sort(), [OFPFC.ADD, OFPFC.MODIFY, OFPFC.MODIFY_STRICT, OFPFC.DELETE, OFPFC.DELETE_STRICT].sort(), 'all five commands');
  t.ok(model.size <= 50 + 50, `past max-flows the storm shrinks the table (${model.size})`);
  const again = new StormGenerator(3, 50);
  t.same(encodeMessage(again.next(0, [])), encodeMessage(new StormGenerator(3, 50).next(0, [])), 'the same seed gives the same storm');
});

t.test('barrier bookkeeping', async (t) => {
  const b = new BarrierTracker();
  b.sent(1, 0);
  b.sent(2, 0);
  b.sent(3, 0);
  t.equal(b.replied(1), null, 'the oldest first: fine');
  t.match(b.replied(3), /xid 3 arrived before the reply to xid 2.*out of order/, 'a reply that overtakes an earlier one');
  t.equal(b.replied(2), null);
  t.equal(b.replied(3), null);
  t.match(b.replied(9), /no BARRIER_REQUEST outstanding/, 'a reply to nothing');
  b.sent(4, 1000);
  t.match(b.replied(8), /answers no outstanding BARRIER_REQUEST \(expected xid 4\)/, 'a reply to an xid never sent');
  t.equal(b.overdue(30_000, 30_000), null, 'not late yet');
  t.match(b.overdue(31_001, 30_000), /xid 4 unanswered after 30\.0 s \(1 outstanding\)/, 'a lost reply');
  b.forget(4);
  t.equal(b.pending, 0, 'forget drops it');
  t.equal(b.answered, 3);
});

t.test('memory: VmRSS, the bound, the table', async (t) => {
  t.equal(parseVmRss('Name:\tnode\nVmRSS:\t  123456 kB\nVmData: 1 kB\n'), 123456 * 1024);
  t.equal(parseVmRss('Name:\tzombie\n'), null, 'no VmRSS line (a zombie)');
  const m = new MemoryLog(300);
  t.equal(m.table(), 'memory: no samples');
  t.equal(m.bound, null);
  const MB = 1048576;
  t.equal(m.add({ t: 0, rss: 80 * MB, note: '' }), null, 'the first sample sets the bound');
  t.equal(m.bound, 380 * MB);
  t.equal(m.add({ t: 2, rss: 379 * MB, note: 'stalled' }), null, 'under it: fine');
  t.match(m.add({ t: 4, rss: 381 * MB, note: '' }), /RSS 381\.0 MB at 4 s is past the bound 380\.0 MB \(start 80\.0 MB \+ 300\.0 MB\)/, 'past it: a failure');
  const table = m.table();
  t.match(table, /min 80\.0 MB, max 381\.0 MB, last 381\.0 MB/, 'min, max, last');
  t.match(table, /379\.0 +- {3}stalled/, 'with the notes (no CPU figure given: -)');
  const withCpu = new MemoryLog(300);
  withCpu.add({ t: 0, rss: MB, cpu: 42.4, note: '' });
  t.match(withCpu.table(), /\n +0 +1\.0 +42 {3}\n/, 'and the switch\'s CPU when given');
  const stat = '1234 (node (weird) name) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 11 0 100 200 300';
  t.equal(parseCpuSeconds(stat), 3, 'utime + stime (fields 14 and 15) in seconds, a name with spaces and parentheses');
  t.equal(parseCpuSeconds('1 (x) S 1'), null, 'a short line is no answer');
  const long = new MemoryLog(10);
  for (let i = 0; i < 100; i++) long.add({ t: i, rss: (50 + (i === 57 ? 5 : 0)) * MB, note: '' });
  const rows = long.table(10).split('\n').filter((l) => /^\s+\d+\s+\d/.test(l));
  t.ok(rows.length <= 11 && rows.length >= 10, `a long run is cut to about 10 rows (${rows.length})`);
  t.ok(rows.some((r) => /^\s+57\s+55\.0/.test(r)), 'the largest sample is always among them');
});

t.test('verdict: the first failure is the one message', async (t) => {
  const seen: string[] = [];
  const v = new Verdict((m) => seen.push(m));
  t.notOk(v.failed);
  v.fail('one');
  v.fail('two');
  t.ok(v.failed);
  t.same(seen, ['one'], 'told once');
  t.same(v.failures, ['one', 'two'], 'all kept');
});

t.test('malformed messages never carry a FLOW_MOD the switch would accept', async (t) => {
  const r = new Random(11);
  const names = new Set<string>();
  const table = new FlowTable({ cacheSlots: 0 });
  let flowMods = 0;
  let accepted = 0;
  for (let i = 0; i < 2000; i++) {
    const m = malformedMessage(r, i);
    names.add(m.name);
    if (m.bytes.length >= 8 && m.bytes[1] === OFPT.FLOW_MOD && m.bytes[0] === OFP_VERSION) {
      flowMods++;
      const d = decodeMessage(m.bytes);
      if (d.ok && d.message.type === OFPT.FLOW_MOD && validateMessage(d.message) === null && table.flowMod(d.message).ok) accepted++;
    }
  }
  t.ok(flowMods > 500, `FLOW_MODs among them (${flowMods})`);
  t.equal(accepted, 0, 'every one refused by decoding, validation or the flow table');
  t.equal(table.size, 0, 'the table stays empty');
  t.ok(names.size >= 20, `every kind comes up (${names.size})`);
  t.match(malformedFramesConfig(), /drnd\(61\)/, 'frame templates with random bytes');
  t.match(floodConfig(), /udp\(sp=drnd\(\), dp=drnd\(\)\)/, 'the flood: random UDP ports');
});

t.test('the command line', async (t) => {
  t.same(parseOptions([]), DEFAULTS, 'defaults');
  const o = parseOptions(['--minutes', '0.5', '--no-stalled-reader', '--flood-pps', '0', '--rss-growth-mb', '50', '--self-check', '--no-malformed']);
  t.match(o, { minutes: 0.5, stalledReader: false, floodPps: 0, rssGrowthMb: 50, selfCheck: true, malformed: false });
  const write = process.stderr.write.bind(process.stderr);
  let err = '';
  process.stderr.write = ((s: string) => {
    err += s;
    return true;
  }) as typeof process.stderr.write;
  try {
    t.throws(() => parseOptions(['--minutes', 'x']), 'a bad number is refused');
    t.throws(() => parseOptions(['--flappers', '1.5']), 'a fraction where an integer is needed');
    t.throws(() => parseOptions(['--bogus']), 'an unknown option');
  } finally {
    process.stderr.write = write;
  }
  t.match(err, /needs a number of at least/, 'with a message');
});
