/**
 * A crash-safe journal of one switch's flow table: the table comes back after a restart, even
 * after `kill -9`, before any port forwards. Neither Open vSwitch nor the other OpenFlow 1.0
 * switches keep flows without a controller; this is ofswitch's own.
 *
 * What is written (record-format.ts for the bytes):
 * - every FLOW_MOD that changed the table, as the request itself (xid 0, no buffer): ADD,
 *   MODIFY[_STRICT] (also one that added), DELETE[_STRICT] that removed something. Replaying the
 *   requests in order on an empty table gives the same table, because the table's semantics are
 *   deterministic (non-strict MODIFY and DELETE select from the same entries again);
 * - every entry that expired, as a DELETE_STRICT of it (so that it does not come back);
 * - the configuration the table was made under (controllers or not, fail mode), when it changes.
 * Emergency entries (OFPFF_EMERG) are kept like the others: the spec's emergency flow cache is
 * there for when no controller is reachable, which is exactly the state right after a restart,
 * and dump-flows shows them (table 0xfe) to a controller that reconnects.
 *
 * When it is kept, two levels:
 * - written (write(2) done, the bytes in the kernel's page cache): records are appended to memory
 *   in the same turn as the change and written at the end of that event-loop turn (setImmediate),
 *   and at once, synchronously, before a reply that reveals the table (written(): the agent calls
 *   it before BARRIER_REPLY and every STATS_REPLY). A written record survives `kill -9` and any
 *   crash of the switch process: the kernel has it. A writeSync of what one turn appended is a few
 *   microseconds; a barrier never waits for the disk.
 * - synced (fdatasync done): by group commit in the background, at most GROUP_COMMIT_MS (100 ms)
 *   after the first change not yet synced, and at once when 4 MiB are waiting; never on a
 *   barrier's path. A machine crash or power loss loses at most the changes of the last 100 ms
 *   (plus the time one fdatasync takes), barrier or not. This is deliberate: an fdatasync per
 *   barrier cost 5-10 ms each, and `ovs-ofctl add-flows` sends a BARRIER after every FLOW_MOD and
 *   waits for it, so it added 175 flows/s instead of ~2,160 (the disk's sync latency, not the
 *   switch). Open vSwitch itself keeps no flows at all across a restart, so losing the last 100 ms
 *   of changes to a power cut is still far more than any peer keeps; a controller that reconnects
 *   reconciles by cookie. synced() (the switch's flowsDurable()) waits for the disk when a caller
 *   needs it.
 * Not held back: FLOW_REMOVED for what a DELETE removed, and the packet a FLOW_MOD's buffer_id
 * releases (asynchronous effects, not replies; they are written at the end of the turn anyway).
 *
 * Compaction, in the background: when the file is more than twice the live table (estimated from
 * the entry count and the average ADD record) and has grown by COMPACT_MIN_BYTES since the last
 * compaction, the live entries are written as ADD records to FILE.compact, in chunks between
 * which the switch runs, followed by every record appended since the compaction began; the new
 * file is fdatasync'd, renamed over FILE and the directory fsync'd. The last records of the tail are
 * written to the new file synchronously, and from then until the rename every write goes to both
 * files, so whichever file FILE names when the process dies holds every record written. Entries are taken in the order
 * they were added, so entries of equal priority keep their order. The in-memory cost is one
 * reference per entry (a Set in insertion order); the journal reads an entry's `alive` to skip
 * one an ADD replaced (the table does not report those as removed).
 *
 * One switch per journal: FILE.lock names the process holding it (journal-lock.ts); a second
 * switch on the same FILE is a JournalError, a lock left by a killed one is taken over.
 *
 * Restart (open()): a missing or empty file is a new journal; a file that is not a journal is a
 * JournalError (the caller's start fails with its message: nothing of the user's is overwritten).
 * The records are replayed into the given (empty) table: timeouts count from the restart (an
 * entry's remaining time is not recorded, and the clock is monotonic per process) and counters
 * start at zero. A torn or damaged end (a cut record, a wrong checksum) is logged in one line and
 * cut off, and the start goes on with what came before it.
 *
 * A write that fails (disk full, I/O error) is logged as an error once; the journal stops and the
 * switch goes on without it (forwarding matters more than persistence).
 */
import { closeSync, fdatasyncSync, fsyncSync, openSync, readFileSync, renameSync, truncateSync, unlinkSync, writeSync } from 'node:fs';
import { close, fdatasync, fsync, open, rename, unlink, write } from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { OFP_NO_BUFFER, OFP_VERSION, OFPFC, OFPFF, OFPFW, OFPP, OFPT } from '../protocol/index.js';
import type { FlowMod, Match } from '../protocol/index.js';
import type { FlowEntry, RemovedFlow } from '../flowtable/flow-entry.js';
import type { FlowModResult } from '../flowtable/flow-table.js';
import { lockJournal } from './journal-lock.js';
import { checkHeader, encodeConfigRecord, encodeFlowModRecord, encodeHeader, HEADER_SIZE, scanRecords, type TableConfig } from './record-format.js';

export type { TableConfig } from './record-format.js';

/**
 * At most this long between a change and its fdatasync (ms): what a machine crash or power loss
 * can lose. Barriers do not shorten it (they wait for the write only).
 */
export const GROUP_COMMIT_MS = 100;
/** Records not yet fdatasync'd past this many bytes are synced at once. */
const SYNC_BYTES = 4 << 20;
/** The file must have grown this much since the last compaction before another. */
export const COMPACT_MIN_BYTES = 1 << 20;
/** Entries encoded per step of a compaction (the switch runs between steps). */
const COMPACT_CHUNK = 4096;
/** ADD record size assumed before any was written (bytes). */
const TYPICAL_ADD_RECORD = 96;

const writeAsync = promisify(write);
const fdatasyncAsync = promisify(fdatasync);
const fsyncAsync = promisify(fsync);
const openAsync = promisify(open);
const closeAsync = promisify(close);
const renameAsync = promisify(rename);
const unlinkAsync = promisify(unlink);

/** A journal that cannot be used, for a reason the user can fix (the command exits with status 2). */
export class JournalError extends Error {
  override readonly name = 'JournalError';
}

/** Where the journal logs (lib/log.ts's Logger fits). */
export interface JournalLog {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** The table as replay uses it. */
export interface JournalTable {
  flowMod(mod: FlowMod): FlowModResult;
}

export interface FlowJournalOptions {
  readonly log: JournalLog;
  /** How many entries the table holds (both tables); default: the journal's own count. */
  readonly liveEntries?: () => number;
  readonly groupCommitMs?: number;
  readonly compactMinBytes?: number;
}

export interface OpenResult {
  /** False for a new journal (nothing restored). */
  readonly existed: boolean;
  /** The configuration recorded last (null: none recorded). */
  readonly config: TableConfig | null;
  /** FLOW_MOD records replayed, and those the table refused (logged). */
  readonly replayed: number;
  readonly refused: number;
}

interface Waiter {
  readonly upTo: number;
  readonly resolve: () => void;
}

class Aborted extends Error {}

export class FlowJournal {
  readonly path: string;
  private readonly log: JournalLog;
  private readonly groupCommitMs: number;
  private readonly compactMinBytes: number;
  private readonly liveEntries: () => number;
  private fd = -1;
  /** Live entries in the order they were added (dead ones pruned by compaction). */
  private readonly live = new Set<FlowEntry>();
  /** Entries added by an exact-match request (stored at priority 65535 above wildcarded ones). */
  private readonly exact = new WeakSet<FlowEntry>();
  private config: TableConfig | null = null;
  /** Records appended but not yet written. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes appended since the last fdatasync began. */
  private unsyncedBytes = 0;
  /** Records appended, how many of them are written, and how many fdatasync'd. */
  private appended = 0;
  private writtenCount = 0;
  private syncedCount = 0;
  private waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private queuedSync: Promise<void> | null = null;
  /** During a compaction's last step: the new file, which gets every write too (-1: none). */
  private mirrorFd = -1;
  private mirrorError: Error | null = null;
  private mirroredBytes = 0;
  /** File I/O, one task at a time. */
  private io: Promise<void> = Promise.resolve();
  /** Bytes in the file plus those pending. */
  private fileBytes = 0;
  private sizeAfterCompaction = 0;
  private addBytes = 0;
  private addCount = 0;
  private compaction: Promise<void> | null = null;
  /** Records appended since the running compaction took its snapshot. */
  private compactTail: Buffer[] | null = null;
  private closing = false;
  private failed = false;
  private unlock: (() => void) | null = null;
  /** Compactions finished (tests and logs). */
  compactions = 0;

  constructor(path: string, options: FlowJournalOptions) {
    this.path = path;
    this.log = options.log;
    this.groupCommitMs = options.groupCommitMs ?? GROUP_COMMIT_MS;
    this.compactMinBytes = options.compactMinBytes ?? COMPACT_MIN_BYTES;
    this.liveEntries = options.liveEntries ?? (() => this.live.size);
  }

  /**
   * Opens the journal, synchronously (a switch calls it before its ports forward): replays an
   * existing one into `table`, which must be empty, or creates a new one.
   */
  open(table: JournalTable): OpenResult {
    this.unlock = lockJournal(this.path, (message) => new JournalError(message));
    try {
      return this.load(table);
    } catch (err) {
      this.unlock();
      this.unlock = null;
      throw err;
    }
  }

  private load(table: JournalTable): OpenResult {
    let bytes: Buffer | null = null;
    try {
      bytes = readFileSync(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new JournalError(`cannot read the flow journal ${this.path}: ${(err as Error).message}`);
    }
    try {
      unlinkSync(this.compactPath);
    } catch {
      /* no compaction was interrupted */
    }
    if (bytes === null || bytes.length === 0) {
      this.create();
      return { existed: false, config: null, replayed: 0, refused: 0 };
    }
    const bad = checkHeader(bytes);
    if (bad) throw new JournalError(`${this.path}: ${bad}`);
    let replayed = 0;
    let refused = 0;
    let start = HEADER_SIZE;
    const scan = scanRecords(bytes, (record, end) => {
      const length = end - start;
      start = end;
      if (record === null) return;
      if (record.kind === 'config') {
        this.config = record.config;
        return;
      }
      const result = table.flowMod(record.mod);
      if (!result.ok) {
        refused++;
        return;
      }
      replayed++;
      this.track(record.mod, result);
      if (record.mod.command === OFPFC.ADD) {
        this.addCount++;
        this.addBytes += length;
      }
    });
    if (scan.stopped !== null) {
      this.log.warn('flow journal: skipped a torn or damaged end', { path: this.path, detail: scan.stopped, bytes: bytes.length - scan.validEnd });
    }
    if (scan.unreadable > 0) this.log.warn('flow journal: skipped records this ofswitch does not understand', { path: this.path, records: scan.unreadable });
    if (refused > 0) this.log.warn('flow journal: the table refused records on replay', { path: this.path, records: refused });
    try {
      if (scan.validEnd < bytes.length) truncateSync(this.path, scan.validEnd);
      this.fd = openSync(this.path, 'a');
      if (scan.validEnd < bytes.length) fdatasyncSync(this.fd);
    } catch (err) {
      throw new JournalError(`cannot write the flow journal ${this.path}: ${(err as Error).message}`);
    }
    this.fileBytes = scan.validEnd;
    this.sizeAfterCompaction = scan.validEnd;
    this.log.info('flow journal restored', { path: this.path, entries: this.liveEntries(), records: replayed });
    this.maybeCompact();
    return { existed: true, config: this.config, replayed, refused };
  }

  private get compactPath(): string {
    return `${this.path}.compact`;
  }

  /** A new file holding the header only, made atomically (written aside, renamed). */
  private create(): void {
    try {
      const tmp = this.compactPath;
      const fd = openSync(tmp, 'w');
      writeSync(fd, encodeHeader());
      fdatasyncSync(fd);
      closeSync(fd);
      renameSync(tmp, this.path);
      syncDirectorySync(dirname(this.path));
      this.fd = openSync(this.path, 'a');
    } catch (err) {
      throw new JournalError(`cannot create the flow journal ${this.path}: ${(err as Error).message}`);
    }
    this.fileBytes = HEADER_SIZE;
    this.sizeAfterCompaction = HEADER_SIZE;
  }

  // ---- what the switch tells it ----------------------------------------------------------------

  /** A FLOW_MOD the table accepted: recorded when it changed something. */
  flowModApplied(mod: FlowMod, result: FlowModResult): void {
    if (!result.ok || this.stopped) return;
    this.track(mod, result);
    const deletes = mod.command === OFPFC.DELETE || mod.command === OFPFC.DELETE_STRICT;
    if (deletes && result.removed.length === 0) return;
    const record = encodeFlowModRecord(mod);
    if (mod.command === OFPFC.ADD) {
      this.addCount++;
      this.addBytes += record.length;
    }
    this.append(record);
  }

  /** Entries the table removed by itself (expiry): each recorded as a DELETE_STRICT. */
  entriesRemoved(removed: readonly RemovedFlow[]): void {
    if (this.stopped) return;
    for (const r of removed) {
      this.live.delete(r.entry);
      this.append(encodeFlowModRecord(removalOf(r.entry, this.exact.has(r.entry))));
    }
  }

  /** The configuration the table is now made under (recorded when it changed). */
  configChanged(config: TableConfig): void {
    if (this.stopped) return;
    if (this.config && this.config.controllers === config.controllers && this.config.failMode === config.failMode) return;
    this.config = config;
    this.append(encodeConfigRecord(config));
  }

  /** The configuration recorded last. */
  get tableConfig(): TableConfig | null {
    return this.config;
  }

  private track(mod: FlowMod, result: Extract<FlowModResult, { ok: true }>): void {
    const { entry, removed } = result;
    if (entry && !this.live.has(entry)) {
      this.live.add(entry);
      if ((mod.match.wildcards & OFPFW.ALL) === 0) this.exact.add(entry);
    }
    for (const r of removed) this.live.delete(r.entry);
  }

  private get stopped(): boolean {
    return this.failed || this.closing || this.fd < 0;
  }

  // ---- durability ----------------------------------------------------------------------------------

  /**
   * Writes every record appended so far (synchronously: write(2) into the page cache, no sync), so
   * that a reply sent after it survives a crash of this process. Null: the reply can go at once
   * (the agent's tableDurable hook may also return a promise).
   */
  written(): null {
    this.writePending();
    return null;
  }

  /** Resolves once every record appended so far is fdatasync'd (at once when they are). */
  synced(): Promise<void> {
    if (this.syncedCount >= this.appended || this.failed) return Promise.resolve();
    const upTo = this.appended;
    const promise = new Promise<void>((resolve) => this.waiters.push({ upTo, resolve }));
    void this.requestSync();
    return promise;
  }

  /** Records appended but not yet written (tests). */
  get unwritten(): number {
    return this.appended - this.writtenCount;
  }

  /** Records appended but not yet fdatasync'd (tests). */
  get unsynced(): number {
    return this.appended - this.syncedCount;
  }

  /** The journal's size: the file and what waits to be written (bytes). */
  get size(): number {
    return this.fileBytes;
  }

  private append(record: Buffer): void {
    this.pending.push(record);
    this.pendingBytes += record.length;
    this.unsyncedBytes += record.length;
    this.fileBytes += record.length;
    this.appended++;
    this.compactTail?.push(record);
    this.immediate ??= setImmediate(() => {
      this.immediate = null;
      this.writePending();
    });
    if (this.unsyncedBytes >= SYNC_BYTES) void this.requestSync();
    else if (this.timer === null && this.queuedSync === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.requestSync();
      }, this.groupCommitMs);
    }
    this.maybeCompact();
  }

  /**
   * Writes the pending records to the file (and to the new file during a compaction's last step),
   * synchronously, in the order they were appended. False when the journal has failed.
   */
  private writePending(): boolean {
    if (this.failed) return false;
    if (this.pending.length === 0 || this.fd < 0) return true;
    const batch = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    try {
      writeAllSync(this.fd, batch);
    } catch (err) {
      this.fail(err as Error);
      return false;
    }
    if (this.mirrorFd >= 0 && this.mirrorError === null) {
      try {
        this.mirroredBytes += writeAllSync(this.mirrorFd, batch);
      } catch (err) {
        this.mirrorError = err as Error;
      }
    }
    this.writtenCount = this.appended;
    return true;
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.io.then(task);
    this.io = run.catch(() => {});
    return run;
  }

  /** Writes what is pending and fdatasyncs it, in the background (one I/O task at a time). */
  private requestSync(): Promise<void> {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.queuedSync ??= this.enqueue(async () => {
      this.queuedSync = null;
      await this.syncWritten();
    });
    return this.queuedSync;
  }

  private async syncWritten(): Promise<void> {
    if (!this.writePending() || this.fd < 0 || this.syncedCount >= this.writtenCount) return;
    const upTo = this.writtenCount;
    this.unsyncedBytes = 0;
    try {
      await fdatasyncAsync(this.fd);
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    this.markSynced(upTo);
  }

  private markSynced(upTo: number): void {
    if (upTo > this.syncedCount) this.syncedCount = upTo;
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.upTo <= this.syncedCount) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.log.error('flow journal write failed: the switch goes on without it', { path: this.path, err: err.message });
    this.pending = [];
    this.pendingBytes = 0;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
  }

  // ---- compaction ----------------------------------------------------------------------------------

  private maybeCompact(): void {
    if (this.compaction !== null || this.stopped) return;
    if (this.fileBytes - this.sizeAfterCompaction < this.compactMinBytes) return;
    const average = this.addCount > 0 ? this.addBytes / this.addCount : TYPICAL_ADD_RECORD;
    if (this.fileBytes <= 2 * (HEADER_SIZE + this.liveEntries() * average)) return;
    this.compaction = this.compact().finally(() => {
      this.compaction = null;
    });
  }

  /** Resolves when no compaction runs (tests). */
  async compacted(): Promise<void> {
    while (this.compaction) await this.compaction;
  }

  /** Starts a compaction now, whatever the sizes (tests, and an operator's command later). */
  compactNow(): Promise<void> {
    if (this.compaction === null && !this.stopped) {
      this.compaction = this.compact().finally(() => {
        this.compaction = null;
      });
    }
    return this.compacted();
  }

  private async compact(): Promise<void> {
    const started = performance.now();
    const snapshot = [...this.live];
    const config = this.config;
    this.compactTail = [];
    const tmp = this.compactPath;
    let fd = -1;
    let size = 0;
    try {
      fd = await openAsync(tmp, 'w');
      const head = [encodeHeader()];
      if (config) head.push(encodeConfigRecord(config));
      size += await writeAll(fd, Buffer.concat(head));
      for (let i = 0; i < snapshot.length; i += COMPACT_CHUNK) {
        if (this.closing) throw new Aborted();
        const records: Buffer[] = [];
        for (const e of snapshot.slice(i, i + COMPACT_CHUNK)) {
          if (!e.alive) {
            this.live.delete(e);
            continue;
          }
          records.push(encodeFlowModRecord(additionOf(e, this.exact.has(e))));
        }
        if (records.length > 0) size += await writeAll(fd, Buffer.concat(records));
      }
      const newFd = fd;
      await this.enqueue(async () => {
        if (this.closing || this.failed) throw new Aborted();
        // What was appended since the snapshot: first the bulk, while the switch goes on...
        const bulk = this.compactTail ?? [];
        this.compactTail = [];
        if (bulk.length > 0) size += await writeAll(newFd, Buffer.concat(bulk));
        if (this.closing || this.failed) throw new Aborted();
        // ...then, synchronously, the old file gets everything appended so far and the new one
        // the rest of the tail; from here until the rename every write goes to both files, so
        // that whichever FILE names holds every record written.
        if (!this.writePending()) throw new Aborted();
        const rest = this.compactTail;
        this.compactTail = null;
        if (rest.length > 0) size += writeAllSync(newFd, Buffer.concat(rest));
        const upTo = this.appended;
        this.mirrorFd = newFd;
        this.mirrorError = null;
        this.mirroredBytes = 0;
        try {
          await fdatasyncAsync(newFd);
          if (this.mirrorError) throw this.mirrorError;
          if (this.closing || this.failed) throw new Aborted();
          await renameAsync(tmp, this.path);
        } catch (err) {
          this.mirrorFd = -1;
          throw err;
        }
        const old = this.fd;
        this.fd = newFd;
        this.mirrorFd = -1;
        fd = -1;
        size += this.mirroredBytes;
        this.fileBytes = size + this.pendingBytes;
        this.sizeAfterCompaction = size;
        // a record written to the old file only (its write to the new one failed) is lost
        if (this.mirrorError) this.fail(this.mirrorError);
        await closeAsync(old);
        await syncDirectory(dirname(this.path));
        this.markSynced(upTo);
      });
      this.compactions++;
      this.log.info('flow journal compacted', { path: this.path, entries: this.live.size, bytes: size, ms: Math.round(performance.now() - started) });
    } catch (err) {
      this.compactTail = null;
      this.sizeAfterCompaction = this.fileBytes; // not again before it grows as much once more
      if (fd >= 0) {
        await closeAsync(fd).catch(() => {});
        await unlinkAsync(tmp).catch(() => {});
      }
      if (!(err instanceof Aborted)) this.log.warn('flow journal compaction failed: the journal goes on uncompacted', { path: this.path, err: (err as Error).message });
    }
  }

  // ---- closing -------------------------------------------------------------------------------------

  /** Writes what is pending, fdatasyncs it and closes the file (a clean stop). */
  async close(): Promise<void> {
    if (this.closing) return this.io;
    this.closing = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.immediate !== null) clearImmediate(this.immediate);
    this.immediate = null;
    await this.compacted();
    await this.enqueue(() => this.syncWritten());
    if (this.fd >= 0) {
      const fd = this.fd;
      this.fd = -1;
      await closeAsync(fd).catch(() => {});
    }
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
    this.unlock?.();
    this.unlock = null;
  }
}

/**
 * A match a request can give again: an entry of an exact-match request is written without any
 * wildcard (so that the replay stores it as exact again); a wildcarded entry whose normalised
 * match lost every wildcard bit (dl_vlan NONE makes dl_vlan_pcp exact) gets the dl_vlan_pcp bit
 * back, which normalisation clears again, so that it is not taken for an exact request.
 */
function requestMatch(e: FlowEntry, exact: boolean): Match {
  if (exact) return { ...e.match, wildcards: 0 };
  if ((e.match.wildcards & OFPFW.ALL) === 0) return { ...e.match, wildcards: OFPFW.DL_VLAN_PCP };
  return e.match;
}

function flowMod(e: FlowEntry, exact: boolean, command: number): FlowMod {
  const adds = command === OFPFC.ADD;
  return {
    version: OFP_VERSION,
    type: OFPT.FLOW_MOD,
    xid: 0,
    match: requestMatch(e, exact),
    cookie: adds ? e.cookie : 0n,
    command,
    idleTimeout: adds ? e.idleTimeout : 0,
    hardTimeout: adds ? e.hardTimeout : 0,
    priority: e.priority,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.NONE,
    flags: adds ? e.flags : e.flags & OFPFF.EMERG,
    actions: adds ? e.actions : [],
  };
}

/** The ADD that makes entry `e` again. */
export function additionOf(e: FlowEntry, exact: boolean): FlowMod {
  return flowMod(e, exact, OFPFC.ADD);
}

/** The DELETE_STRICT that removes exactly entry `e`. */
export function removalOf(e: FlowEntry, exact: boolean): FlowMod {
  return flowMod(e, exact, OFPFC.DELETE_STRICT);
}

function writeAllSync(fd: number, data: Buffer): number {
  let off = 0;
  while (off < data.length) off += writeSync(fd, data, off, data.length - off, null);
  return data.length;
}

async function writeAll(fd: number, data: Buffer): Promise<number> {
  let off = 0;
  while (off < data.length) off += (await writeAsync(fd, data, off, data.length - off, null)).bytesWritten;
  return data.length;
}

/** Makes a rename in `dir` durable. */
async function syncDirectory(dir: string): Promise<void> {
  const fd = await openAsync(dir, 'r');
  try {
    await fsyncAsync(fd);
  } finally {
    await closeAsync(fd);
  }
}

function syncDirectorySync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
