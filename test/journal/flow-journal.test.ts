/**
 * The flow journal on its own (journal/flow-journal.ts, record-format.ts): a table changed through
 * it comes back the same from the file; a torn or damaged end is cut off with one log line; a
 * file that is not a journal is refused; compaction keeps the table and shrinks the file, also
 * while changes go on; written() puts every record in the file at once, synced() resolves once they
 * are fdatasync'd, and the group commit syncs within its window without any barrier; expired
 * entries stay gone; a write failure stops the journal without stopping anyone.
 */
import t, { type Test } from 'tap';
import { closeSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlowTable } from '../../flowtable/flow-table.js';
import { FlowJournal, JournalError, additionOf, removalOf } from '../../journal/index.js';
import { checkHeader, encodeConfigRecord, encodeHeader, scanRecords } from '../../journal/record-format.js';
import { flowModFrom } from '../../lib/flow-spec.js';
import type { FlowSpec } from '../../lib/flow-spec.js';
import { MATCH_ALL, OFPFC, OFPFF, OFPTT, OFPP, OFP_VERSION, OFPST, OFPT } from '../../protocol/index.js';
import type { FlowMod, FlowStatsRequest } from '../../protocol/index.js';

const ALL: FlowStatsRequest = { version: OFP_VERSION, type: OFPT.STATS_REQUEST, xid: 0, flags: 0, statsType: OFPST.FLOW, match: MATCH_ALL, tableId: OFPTT.ALL, outPort: OFPP.NONE };

interface Logged {
  level: string;
  msg: string;
  fields?: Record<string, unknown>;
}

function recorder(): { log: { info: (m: string, f?: Record<string, unknown>) => void; warn: (m: string, f?: Record<string, unknown>) => void; error: (m: string, f?: Record<string, unknown>) => void }; lines: Logged[] } {
  const lines: Logged[] = [];
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => void lines.push({ level, msg, ...(fields ? { fields } : {}) });
  return { log: { info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'ofswitch-journal-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A table and its journal: every change goes through both, as lib/switch.ts wires them. */
function journaled(path: string, opts: { now?: () => number; compactMinBytes?: number; groupCommitMs?: number } = {}) {
  const table = new FlowTable(opts.now ? { now: opts.now } : {});
  const { log, lines } = recorder();
  const journal = new FlowJournal(path, {
    log,
    liveEntries: () => table.size + table.emergencySize,
    ...(opts.compactMinBytes !== undefined ? { compactMinBytes: opts.compactMinBytes } : {}),
    ...(opts.groupCommitMs !== undefined ? { groupCommitMs: opts.groupCommitMs } : {}),
  });
  const opened = journal.open(table);
  const mod = (m: FlowMod) => {
    const r = table.flowMod(m);
    journal.flowModApplied(m, r);
    return r;
  };
  const add = (spec: FlowSpec, flags = 0) => mod({ ...flowModFrom(spec, OFPFC.ADD), flags: flowModFrom(spec).flags | flags });
  return { table, journal, opened, lines, mod, add };
}

/** What dump-flows shows of a table, counters and durations left out, in its order. */
function dump(table: FlowTable) {
  return table.flowStats(ALL).map((f) => ({ tableId: f.tableId, match: f.match, priority: f.priority, cookie: f.cookie, idle: f.idleTimeout, hard: f.hardTimeout, actions: f.actions }));
}

t.test('append and replay: every kind of change comes back the same, counters reset', async (t) => {
  const path = join(tempDir(t), 'br0.flows');
  const a = journaled(path);
  t.same(a.opened, { existed: false, config: null, replayed: 0, refused: 0 }, 'a missing file is a new journal');
  t.equal(checkHeader(readFileSync(path)), null, 'the new file has its header at once');
  a.add({ match: { dlType: 0x0800, nwDst: '10.0.0.0/24' }, priority: 100, cookie: 7n, actions: [{ output: 1 }], idleTimeout: 30, hardTimeout: 300 }, OFPFF.SEND_FLOW_REM);
  a.add({ match: { dlType: 0x0800, nwDst: '10.0.1.0/24' }, priority: 100, cookie: 8n, actions: [{ output: 2 }] });
  a.add({ match: { inPort: 3 }, priority: 5, actions: [{ output: 'normal' }] });
  // an exact-match request: stored at 65535, ranked above wildcarded entries of that priority
  a.add({
    match: { inPort: 1, dlSrc: '00:00:00:00:00:01', dlDst: '00:00:00:00:00:02', dlVlan: 0xffff, dlVlanPcp: 0, dlType: 0x0806, nwTos: 0, nwProto: 1, nwSrc: '10.0.0.1', nwDst: '10.0.0.2', tpSrc: 0, tpDst: 0 },
    actions: [{ output: 4 }],
  });
  a.add({ match: { dlType: 0x0806 }, priority: 65535, actions: [{ output: 5 }] });
  a.add({ match: { dlType: 0x86dd }, priority: 9, actions: [] }, OFPFF.EMERG); // the emergency table
  a.mod({ ...flowModFrom({ match: { dlType: 0x0800 }, cookie: 9n, actions: [{ output: 6 }] }, OFPFC.MODIFY) }); // non-strict: both /24s
  a.mod(flowModFrom({ match: { inPort: 3 }, priority: 5 }, OFPFC.DELETE_STRICT));
  a.mod(flowModFrom({ match: { inPort: 77 } }, OFPFC.DELETE)); // deletes nothing: not recorded
  a.mod(flowModFrom({ match: { dlType: 0x0800, nwDst: '10.9.0.0/16' }, priority: 1, actions: [{ output: 3 }] }, OFPFC.MODIFY_STRICT)); // adds
  const before = dump(a.table);
  t.equal(before.length, 6, 'six entries (one of them emergency)');
  t.ok(a.journal.unwritten > 0, 'records wait in memory within the turn');
  const size = statSync(path).size;
  t.equal(a.journal.written(), null, 'written() writes at once: nothing to wait for');
  t.equal(a.journal.unwritten, 0, 'all written');
  t.ok(statSync(path).size > size, 'the file has them (in the page cache: a kill -9 keeps them)');
  t.ok(a.journal.unsynced > 0, 'not yet fdatasync\'d: that is the group commit\'s');
  await a.journal.synced();
  t.equal(a.journal.unsynced, 0, 'synced() resolves once they are');
  await a.journal.synced(); // nothing to sync: at once
  await a.journal.close();
  await a.journal.close(); // idempotent

  const b = journaled(path);
  t.match(b.opened, { existed: true, replayed: 9, refused: 0 }, 'nine changes were recorded (the empty delete was not)');
  t.same(dump(b.table), before, 'the same entries in the same order, exact-match rank included');
  t.ok(b.table.flowStats(ALL).every((f) => f.packetCount === 0n), 'counters start at zero');
  t.match(b.lines, [{ level: 'info', msg: 'flow journal restored', fields: { entries: 6, records: 9 } }]);
  await b.journal.close();
});

t.test('an empty file is a new journal; a file that is not one is refused, untouched', async (t) => {
  const dir = tempDir(t);
  const empty = join(dir, 'empty');
  writeFileSync(empty, '');
  const a = journaled(empty);
  t.equal(a.opened.existed, false);
  await a.journal.close();
  const other = join(dir, 'notes.txt');
  writeFileSync(other, 'my precious notes\n');
  t.throws(() => journaled(other), new JournalError(`${other}: not an ofswitch flow journal`));
  t.equal(readFileSync(other, 'utf8'), 'my precious notes\n', 'the file is left as it was');
  const future = join(dir, 'future');
  const head = encodeHeader();
  head.writeUInt16BE(9, 4);
  writeFileSync(future, head);
  t.throws(() => journaled(future), /flow journal format 9, this ofswitch reads 1/);
  t.throws(() => journaled(join(dir, 'no', 'such', 'dir', 'j')), /cannot lock the flow journal .*ENOENT/);
  mkdirSync(join(dir, 'blocked.compact')); // where the new file is written first
  t.throws(() => journaled(join(dir, 'blocked')), /cannot create the flow journal/);
  t.throws(() => journaled(dir), /cannot read the flow journal/, 'a directory');
});

t.test('a torn last record is cut off with one log line, and what follows it is readable again', async (t) => {
  const path = join(tempDir(t), 'j');
  const a = journaled(path);
  for (let i = 1; i <= 5; i++) a.add({ match: { inPort: i }, priority: 10, actions: [{ output: i + 1 }] });
  await a.journal.close();
  const full = statSync(path).size;
  truncateSync(path, full - 3); // the last write cut short by a crash
  const b = journaled(path);
  t.equal(b.table.size, 4, 'the four whole records are restored');
  const warns = b.lines.filter((l) => l.level === 'warn');
  t.equal(warns.length, 1, 'one log line');
  t.match(warns[0], { msg: 'flow journal: skipped a torn or damaged end', fields: { detail: /cut short/ } });
  t.ok(statSync(path).size < full - 3, 'the torn record is cut off the file');
  b.add({ match: { inPort: 9 }, priority: 10, actions: [] });
  await b.journal.close();
  const c = journaled(path);
  t.equal(c.table.size, 5, 'a record appended after the cut is read back');
  t.equal(c.lines.filter((l) => l.level === 'warn').length, 0, 'and the file is clean again');
  await c.journal.close();

  truncateSync(path, statSync(path).size - 1 - 8 - 60 ); // into the middle of a record header or body
  const d = journaled(path);
  t.ok(d.table.size < 5, 'a cut anywhere keeps the records before it');
  t.equal(d.lines.filter((l) => l.level === 'warn').length, 1);
  await d.journal.close();
});

t.test('a record with a wrong checksum ends the replay there, with one log line', async (t) => {
  const path = join(tempDir(t), 'j');
  const a = journaled(path);
  for (let i = 1; i <= 3; i++) a.add({ match: { inPort: i }, priority: 10, actions: [{ output: i + 1 }] });
  await a.journal.close();
  const bytes = readFileSync(path);
  bytes[bytes.length - 2] = (bytes[bytes.length - 2] ?? 0) ^ 0xff; // a bit flipped in the last record's actions
  writeFileSync(path, bytes);
  const b = journaled(path);
  t.equal(b.table.size, 2);
  t.match(b.lines.filter((l) => l.level === 'warn'), [{ fields: { detail: /wrong checksum/ } }]);
  await b.journal.close();
  // a length no record can have
  const c0 = readFileSync(path);
  writeFileSync(path, Buffer.concat([c0, Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])]));
  const c = journaled(path);
  t.equal(c.table.size, 2);
  t.match(c.lines.filter((l) => l.level === 'warn'), [{ fields: { detail: /impossible length/ } }]);
  await c.journal.close();
  // a record header cut short
  writeFileSync(path, Buffer.concat([readFileSync(path), Buffer.from([0, 0, 0])]));
  const d = journaled(path);
  t.match(d.lines.filter((l) => l.level === 'warn'), [{ fields: { detail: /header cut short/ } }]);
  await d.journal.close();
});

t.test('records with a good checksum that are not understood are skipped; refused ones too', async (t) => {
  const path = join(tempDir(t), 'j');
  const a = journaled(path);
  a.add({ match: { inPort: 1 }, priority: 10, actions: [] });
  await a.journal.close();
  const { crc32 } = await import('node:zlib');
  const payload = Buffer.from([99, 1, 2, 3]); // an unknown kind
  const head = Buffer.alloc(8);
  head.writeUInt32BE(payload.length, 0);
  head.writeUInt32BE(crc32(payload), 4);
  // and a FLOW_MOD the table refuses on replay: an emergency entry with a timeout
  const bad = { ...flowModFrom({ match: { inPort: 2 }, hardTimeout: 5 }), flags: OFPFF.EMERG };
  const record = (await import('../../journal/record-format.js')).encodeFlowModRecord(bad);
  writeFileSync(path, Buffer.concat([readFileSync(path), head, payload, record, encodeConfigRecord({ controllers: true, failMode: 'secure' })]));
  const b = journaled(path);
  t.match(b.opened, { replayed: 1, refused: 1, config: { controllers: true, failMode: 'secure' } });
  t.match(b.lines.filter((l) => l.level === 'warn'), [
    { msg: 'flow journal: skipped records this ofswitch does not understand', fields: { records: 1 } },
    { msg: 'flow journal: the table refused records on replay', fields: { records: 1 } },
  ]);
  t.equal(b.table.size, 1);
  await b.journal.close();
  t.equal(scanRecords(readFileSync(path)).unreadable, 1, 'the unknown record stays (its framing is intact)');
});

t.test('expired entries are recorded as removed: they do not come back', async (t) => {
  const path = join(tempDir(t), 'j');
  let now = 1000;
  const a = journaled(path, { now: () => now });
  a.add({ match: { inPort: 1 }, priority: 10, hardTimeout: 2, actions: [] });
  a.add({ match: { inPort: 2 }, priority: 10, idleTimeout: 1, actions: [] });
  a.add({ match: { inPort: 3 }, priority: 10, hardTimeout: 100, actions: [] });
  // a wildcarded request with dl_vlan NONE whose normalised match has no wildcard left
  a.add({
    match: { inPort: 4, dlSrc: '00:00:00:00:00:01', dlDst: '00:00:00:00:00:02', dlVlan: 0xffff, dlType: 0x0800, nwTos: 0, nwProto: 6, nwSrc: '1.1.1.1', nwDst: '2.2.2.2', tpSrc: 1, tpDst: 2 },
    priority: 77,
    idleTimeout: 1,
    actions: [],
  });
  t.equal(a.table.size, 4);
  now += 2500;
  const removed = a.table.expire();
  t.equal(removed.length, 3);
  a.journal.entriesRemoved(removed);
  await a.journal.close();
  const b = journaled(path);
  t.same(b.table.flowStats(ALL).map((f) => f.match.inPort), [3], 'only the entry that had not expired');
  t.equal(b.opened.refused, 0, 'every removal found its entry');
  await b.journal.close();
});

t.test('additionOf and removalOf give requests that make and remove exactly the entry', async (t) => {
  const table = new FlowTable();
  const exactSpec: FlowSpec = {
    match: { inPort: 1, dlSrc: '00:00:00:00:00:01', dlDst: '00:00:00:00:00:02', dlVlan: 5, dlVlanPcp: 3, dlType: 0x0806, nwTos: 0, nwProto: 1, nwSrc: '10.0.0.1', nwDst: '10.0.0.2', tpSrc: 0, tpDst: 0 },
    actions: [{ output: 4 }],
  };
  const r = table.flowMod(flowModFrom(exactSpec));
  t.ok(r.ok && r.entry);
  if (!r.ok || !r.entry) return;
  const again = new FlowTable();
  const made = again.flowMod(additionOf(r.entry, true));
  t.ok(made.ok && made.entry && Math.floor(made.entry.rank / 2 ** 32) === Math.floor(r.entry.rank / 2 ** 32), 'the same priority and exactness as the original');
  t.same(dump(again), dump(table));
  const gone = again.flowMod(removalOf(r.entry, true));
  t.ok(gone.ok && gone.removed.length === 1 && again.size === 0, 'the removal finds it');
});

t.test('compaction: the file shrinks to the live table, also while changes go on, and replays the same', async (t) => {
  const path = join(tempDir(t), 'j');
  const a = journaled(path, { compactMinBytes: 64 * 1024 });
  // the same 50 flows replaced over and over: the log grows, the table does not
  for (let round = 0; round < 80; round++) {
    for (let i = 0; i < 50; i++) a.add({ match: { inPort: i + 1 }, priority: 10, cookie: BigInt(round), actions: [{ output: (round % 5) + 1 }] });
    if (round % 10 === 0) await new Promise((r) => setImmediate(r));
  }
  await a.journal.compacted();
  t.ok(a.journal.compactions >= 1, 'compacted by itself once the log passed twice the live size');
  await a.journal.compactNow(); // once more with nothing going on: exactly the live table
  await a.journal.synced();
  t.ok(statSync(path).size < 50 * 100, `the file holds the 50 live entries and no more (${statSync(path).size} bytes)`);
  t.match(a.lines, [{ msg: 'flow journal compacted' }]);

  // changes while a compaction runs: an add after the snapshot, a non-strict modify that must
  // not reach it, a delete of a snapshot entry
  for (let i = 0; i < 20_000; i++) a.add({ match: { dlType: 0x0800, nwDst: `10.${i >> 8}.${i & 255}.0/24` }, priority: 20, actions: [{ output: 1 }] });
  const compaction = a.journal.compactNow();
  a.mod(flowModFrom({ match: { dlType: 0x0800 }, actions: [{ output: 2 }] }, OFPFC.MODIFY)); // every 10.x entry
  a.add({ match: { dlType: 0x0800, nwDst: '11.0.0.0/8' }, priority: 20, actions: [{ output: 3 }] }); // after the modify: keeps output 3
  a.mod(flowModFrom({ match: { inPort: 1 }, priority: 10 }, OFPFC.DELETE_STRICT));
  a.add({ match: { inPort: 2 }, priority: 10, cookie: 1234n, actions: [] }); // replaces a snapshot entry
  const synced = a.journal.synced();
  await compaction;
  await synced;
  t.equal(a.journal.unsynced, 0, 'a sync asked for during the compaction is done by it');
  a.add({ match: { inPort: 100 }, priority: 10, actions: [] }); // after the switch to the new file
  const before = dump(a.table);
  await a.journal.close();
  const b = journaled(path);
  t.same(dump(b.table), before, 'the compacted journal gives the same table');
  t.same(b.table.flowStats(ALL).find((f) => f.match.nwDst === 0x0b000000)?.actions, [{ type: 0, port: 3, maxLen: 0 }], 'the entry added after the modify kept its own action');
  await b.journal.close();
});

interface CompactionInside {
  mirrorFd: number;
}

t.test('compaction: a record written at any moment of it is in the file FILE names', async (t) => {
  const path = join(tempDir(t), 'j');
  const a = journaled(path, { compactMinBytes: 1 << 30 });
  for (let i = 0; i < 10_000; i++) a.add({ match: { dlType: 0x0800, nwDst: `10.${i >> 8}.${i & 255}.0/24` }, priority: 20, actions: [{ output: 1 }] });
  a.journal.written();
  let done = false;
  const compaction = a.journal.compactNow().then(() => (done = true));
  let turns = 0;
  let mirrored = 0;
  let missing = 0;
  while (!done) {
    const cookie = BigInt(++turns);
    a.add({ match: { inPort: 1 }, priority: 7, cookie, actions: [] });
    if ((a.journal as unknown as CompactionInside).mirrorFd >= 0) mirrored++;
    a.journal.written();
    const last = scanRecords(readFileSync(path)).records.at(-1)?.record;
    if (!(last?.kind === 'flow-mod' && last.mod.cookie === cookie)) missing++;
    await new Promise((r) => setImmediate(r));
  }
  await compaction;
  t.equal(a.journal.compactions, 1);
  t.ok(turns > 1, `changes went on during the compaction (${turns} turns)`);
  t.ok(mirrored > 0, `some were written to both files (${mirrored} turns)`);
  t.equal(missing, 0, 'after every write, FILE ended with the record just written');
  const before = dump(a.table);
  await a.journal.close();
  const b = journaled(path);
  t.same(dump(b.table), before, 'the same table');
  await b.journal.close();
});

t.test('compaction: a failed write to the new file abandons it; the journal goes on in the old one', async (t) => {
  const path = join(tempDir(t), 'j');
  const a = journaled(path, { compactMinBytes: 1 << 30 });
  for (let i = 0; i < 10_000; i++) a.add({ match: { dlType: 0x0800, nwDst: `10.${i >> 8}.${i & 255}.0/24` }, priority: 20, actions: [{ output: 1 }] });
  let done = false;
  const compaction = a.journal.compactNow().then(() => (done = true));
  let broke = false;
  while (!done) {
    const inside = a.journal as unknown as CompactionInside;
    if (!broke && inside.mirrorFd >= 0) {
      closeSync(inside.mirrorFd); // the new file's writes fail from here
      broke = true;
    }
    a.add({ match: { inPort: 2 }, priority: 7, actions: [] });
    a.journal.written();
    await new Promise((r) => setImmediate(r));
  }
  await compaction;
  t.ok(broke, 'the new file was broken during the last step');
  t.equal(a.journal.compactions, 0, 'not compacted');
  t.match(a.lines.filter((l) => l.level !== 'info'), [{ level: 'warn', msg: 'flow journal compaction failed: the journal goes on uncompacted' }]);
  t.notOk(existsSync(`${path}.compact`), 'the new file is removed');
  a.add({ match: { inPort: 3 }, priority: 7, actions: [] });
  const before = dump(a.table);
  await a.journal.close();
  const b = journaled(path);
  t.same(dump(b.table), before, 'the old file has every change');
  await b.journal.close();
});

t.test('a write that fails stops the journal with one error line; replies no longer wait', async (t) => {
  const path = join(tempDir(t), 'j');
  const a = journaled(path);
  a.add({ match: { inPort: 1 }, priority: 10, actions: [] });
  const waiting = a.journal.synced();
  closeSync((a.journal as unknown as { fd: number }).fd); // the file goes away under it
  t.equal(a.journal.written(), null, 'a reply does not wait for a journal that failed');
  await waiting;
  t.match(a.lines.filter((l) => l.level === 'error'), [{ msg: 'flow journal write failed: the switch goes on without it' }]);
  t.equal(a.journal.written(), null);
  await a.journal.synced(); // failed: at once
  a.add({ match: { inPort: 2 }, priority: 10, actions: [] }); // ignored, no second error
  a.journal.entriesRemoved([]);
  a.journal.configChanged({ controllers: true, failMode: 'standalone' });
  t.equal(a.lines.filter((l) => l.level === 'error').length, 1);
  (a.journal as unknown as { fd: number }).fd = -1;
  await a.journal.close();
});

t.test('an fdatasync that fails stops the journal the same way; a later sync waits for its own records', async (t) => {
  const path = join(tempDir(t), 'j');
  const a = journaled(path);
  a.add({ match: { inPort: 1 }, priority: 10, actions: [] });
  const first = a.journal.synced();
  for (let i = 0; i < 3; i++) await Promise.resolve(); // its fdatasync has begun (and cannot end before the event loop runs)
  a.add({ match: { inPort: 2 }, priority: 10, actions: [] });
  const second = a.journal.synced(); // the first sync began before this record: it needs its own
  await first;
  t.equal(a.journal.unsynced, 1, 'the first sync covered only the record before it');
  await second;
  t.equal(a.journal.unsynced, 0);
  a.add({ match: { inPort: 3 }, priority: 10, actions: [] });
  a.journal.written();
  closeSync((a.journal as unknown as { fd: number }).fd); // written, then the file goes away
  await a.journal.synced();
  t.match(a.lines.filter((l) => l.level === 'error'), [{ msg: 'flow journal write failed: the switch goes on without it' }]);
  (a.journal as unknown as { fd: number }).fd = -1;
  await a.journal.close();
});

t.test('group commit: written at the end of the turn, fdatasync\'d within the window without any barrier', async (t) => {
  const path = join(tempDir(t), 'j');
  const a = journaled(path, { groupCommitMs: 50 });
  const started = performance.now();
  a.add({ match: { inPort: 1 }, priority: 10, actions: [] });
  a.journal.configChanged({ controllers: false, failMode: 'standalone' });
  a.journal.configChanged({ controllers: false, failMode: 'standalone' }); // unchanged: not recorded again
  t.equal(a.journal.unwritten, 2);
  await new Promise((r) => setImmediate(r));
  t.equal(a.journal.unwritten, 0, 'written at the end of the turn');
  t.equal(scanRecords(readFileSync(path)).records.length, 2, 'both records are in the file');
  t.equal(a.journal.unsynced, 2, 'not synced yet: the window has not passed');
  // The window plus one fdatasync: about 50 ms on a quiet machine. The upper bound is for a loaded
  // one (late timers, a busy disk); a timer that never fires fails it all the same.
  const deadline = Date.now() + 20_000;
  while (a.journal.unsynced > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
  const took = performance.now() - started;
  t.equal(a.journal.unsynced, 0, 'fdatasync\'d by the timer, no barrier asked');
  t.ok(took >= 45, `not before the window (${took.toFixed(0)} ms)`);
  t.ok(took < 10_000, `within the window plus one fdatasync (${took.toFixed(0)} ms)`);
  t.ok(a.journal.size > 8);
  await a.journal.close();
  a.add({ match: { inPort: 2 }, priority: 10, actions: [] }); // after close: not recorded, no crash
  t.equal(scanRecords(readFileSync(path)).records.length, 2);
});

t.test('one switch per journal: a second one is refused, the lock of a killed one is taken over', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'j');
  const a = journaled(path);
  t.ok(existsSync(`${path}.lock`), 'the lock names its process');
  t.throws(() => journaled(path), /the flow journal .* is in use by this process/);
  await a.journal.close();
  t.notOk(existsSync(`${path}.lock`), 'released at close');
  writeFileSync(`${path}.lock`, '999999999 12345\n'); // a process that is gone
  const b = journaled(path);
  t.equal(b.opened.existed, true, 'a stale lock is taken over');
  await b.journal.close();
  writeFileSync(`${path}.lock`, 'garbage');
  const c = journaled(path);
  t.equal(c.opened.existed, true, 'so is an unreadable one');
  await c.journal.close();
});
