/**
 * The flow journal: a switch's flow table kept on disk so that it survives a restart
 * (flow-journal.ts), in the format of record-format.ts.
 */
export { FlowJournal, JournalError, GROUP_COMMIT_MS, COMPACT_MIN_BYTES, additionOf, removalOf } from './flow-journal.js';
export type { FlowJournalOptions, JournalLog, JournalTable, OpenResult, TableConfig } from './flow-journal.js';
export { checkHeader, HEADER_SIZE } from './record-format.js';

/** The file name of a bridge's journal in a daemon's run directory. */
export const journalFileOf = (bridge: string): string => `${bridge}.flows`;
export const JOURNAL_SUFFIX = '.flows';
