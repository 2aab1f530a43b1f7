/**
 * The flow table engine: what lib/ and datapath/ use of flowtable/.
 *
 * - `FlowTable` (flow-table.ts): one OpenFlow 1.0 table plus the emergency table.
 *   - `new FlowTable({ capacity?, now?, cacheSlots? })`: capacity defaults to 1,000,000 entries;
 *     `now` is a monotonic ms clock (default performance.now); `cacheSlots` sizes the microflow
 *     cache (0 disables it).
 *   - `flowMod(mod: FlowMod)`: `{ ok: true, entry, removed }` or an OfpError (protocol/errors.ts:
 *     OFPET_FLOW_MOD_FAILED with BAD_COMMAND, OVERLAP, ALL_TABLES_FULL or BAD_EMERG_TIMEOUT, the
 *     request's xid, the request re-encoded as data), ready to send.
 *     `entry` is the added or first modified entry (null for deletes): run a buffered packet
 *     through its actions. `removed` lists every deleted entry (reason OFPRR_DELETE); send
 *     FLOW_REMOVED for those whose `flags` has OFPFF_SEND_FLOW_REM. Actions are stored as given,
 *     unchecked: run validateMessage (protocol/validate.ts) on the FLOW_MOD first, which refuses
 *     vendor actions and outputs to impossible port numbers. Whether an output port exists is
 *     not checked anywhere (Open vSwitch does not either): output to a missing port drops.
 *   - `lookup(key: FlowKey, frameLength: number): FlowEntry | null`: the datapath's per-packet
 *     call; counts the table's lookups and matches and the entry's packets and bytes; null is a
 *     table miss. After flowMod returns, the very next lookup sees the change.
 *   - `expire(): RemovedFlow[]` removes entries whose idle or hard timeout has passed (reasons
 *     OFPRR_IDLE_TIMEOUT / OFPRR_HARD_TIMEOUT); same FLOW_REMOVED rule as above.
 *   - `nextExpiry(): number | null`: when expire() next has work (the same clock): set one timer
 *     for it, and re-arm it after every flowMod and expire().
 *   - `flowStats(q)`, `aggregateStats(q)` with a StatsQuery `{ match, tableId, outPort }` (tableId 0,
 *     0xff all, 0xfe emergency; outPort OFPP_NONE for no filter); `tableStats()`: one table.
 *   - Large tables a chunk at a time (entry-scan.ts says what a scan sees of changes between
 *     chunks): `startFlowMod(mod)` returns a FlowModJob (`step(limit)` returns the entries that
 *     step removed; `done`, then `result`): ADD and strict commands are done at once, non-strict
 *     MODIFY and DELETE go `limit` entry ids per step; start no other FLOW_MOD before it is done.
 *     `flowStatsScan(q)` / `aggregateScan(q)`: `next(limit)` until `done`.
 *   - `enterEmergencyMode()` / `leaveEmergencyMode()`: spec 6.3 (optional for the agent).
 *   - `size`, `emergencySize`, `maskCount`, `capacity`, `emergencyMode`.
 * - `FlowEntry` (flow-entry.ts): match (normalised), priority (65535 for exact-match requests),
 *   cookie, actions, idleTimeout, hardTimeout, flags, emergency, packetCount and byteCount
 *   (numbers), created / modified / lastUsed (ms).
 * - `RemovedFlow`: { entry, reason (OFPRR_*), durationSec, durationNsec }.
 * - `normalizeMatch(match)`: a match as Open vSwitch normalises it (what flow stats report).
 * - Flow keys: flow-key.ts (layout, pack/unpack helpers).
 */
export {
  FlowTable, type FlowTableOptions, type FlowModResult, type StatsQuery, type FlowModJob, type FlowStatsScan, type AggregateScan,
} from './flow-table.js';
export { FlowEntry, type RemovedFlow } from './flow-entry.js';
export { normalizeMatch } from './match.js';
export * from './flow-key.js';
