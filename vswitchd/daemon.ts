/**
 * ofswitch as the switch daemon of an Open vSwitch database: what ovs-vswitchd is to
 * ovsdb-server. It keeps a replica of the Open_vSwitch database (ovsdb/idl.ts), and whenever it
 * changes runs one round:
 *
 *   read the whole configuration (config.ts) -> make the bridges match it (reconciler.ts)
 *   -> write back what runs, and cur_cfg = the next_cfg just applied (status.ts), in one transaction
 *
 * Rounds never overlap: a change during a round marks it dirty and another round follows, so the
 * last round always sees the last change (level-triggered). Link changes and controller
 * connections schedule a write-back of their own; interface statistics are written every
 * STATS_INTERVAL_MS. When the database connection is lost the bridges keep forwarding with the
 * last configuration; the replica comes back after reconnection and the next round applies
 * whatever changed meanwhile. A restart (even after kill -9) rebuilds everything from the
 * database, port numbers included (the Interface `ofport` column is read back).
 *
 * Each bridge's flow table is journaled in `RUNDIR/BRIDGE.flows` (journal/; off with
 * `flowJournal: false`): a restarted daemon's bridges come back with their flows before their ports
 * forward. A bridge deleted from the database takes its journal with it (also one deleted while
 * the daemon was not running: after the first round, journals of bridges the database lacks are
 * removed). A journal that is not one (damaged beyond its records) is moved aside to
 * `BRIDGE.flows.bad`, logged, and the bridge starts empty: the daemon never fails on it.
 *
 * Operators reach it as they reach ovs-vswitchd: each bridge listens on
 * `punix:RUNDIR/BRIDGE.mgmt` (ovs-ofctl by bridge name), and the control socket
 * `RUNDIR/ofswitch.PID.ctl` with `RUNDIR/ofswitch.pid` serves ovs-appctl (commands.ts).
 */
import { readdirSync, readFileSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { checkHeader, HEADER_SIZE, JOURNAL_SUFFIX, journalFileOf } from '../journal/index.js';
import { Idl, Transaction, type DatumInput } from '../ovsdb/index.js';
import type { Logger } from '../lib/log.js';
import type { PortView } from '../lib/switch.js';
import { packageVersion } from '../lib/version.js';
import { macText } from '../bond/lacp.js';
import { MONITORED_TABLES, readConfig, type SystemConfig } from './config.js';
import { withPolicingColumns } from './policing.js';
import { DATABASE_PORT_TYPES, Reconciler } from './reconciler.js';
import { Rstp } from '../stp/rstp.js';
import {
  NO_INTERFACE_STATUS, bridgeTreeStatus, portTreeStatus, changedColumns, interfaceStatistics, interfaceStatus, mirrorStatistics, monitorStatus,
} from './status.js';

/** How often interface statistics are written (OVS's default stats-update-interval). */
export const STATS_INTERVAL_MS = 5000;
/** Bridge `datapath_version`: OVS's words for a datapath inside the daemon (its netdev datapath's). */
const BUILT_IN_DATAPATH = '<built-in>';
/** Open_vSwitch `dpdk_version`: what an Open vSwitch built without DPDK writes. */
const NO_DPDK = 'none';
/** How soon a link or controller change is written back. */
const STATUS_DELAY_MS = 100;

export interface DaemonOptions {
  /** `unix:PATH` or `tcp:IP:PORT` of ovsdb-server. */
  readonly remote: string;
  readonly rundir: string;
  readonly log: Logger;
  /** Port types the database may name (tests add "memory"). */
  readonly portTypes?: readonly string[];
  /** `--enable-dummy[=override]`: in-memory ports for "dummy" interfaces (and, overriding, system and internal ones). */
  readonly dummy?: 'on' | 'override';
  readonly statsIntervalMs?: number;
  /** Journal each bridge's flow table in RUNDIR/BRIDGE.flows (default true). */
  readonly flowJournal?: boolean;
}

export class Daemon {
  readonly idl: Idl;
  readonly reconciler: Reconciler;
  private readonly log: Logger;
  private readonly statsIntervalMs: number;
  private running: Promise<void> | null = null;
  private dirty = false;
  private stopped = false;
  private applied: SystemConfig | null = null;
  private statusTimer: NodeJS.Timeout | null = null;
  private statsTimer: NodeJS.Timeout | null = null;
  private statsDue = true;
  private readonly rundir: string;
  /** Journals of bridges the database lacks are still to be removed (after the first round). */
  private journalsToSweep: boolean;
  /** Rounds completed (tests wait on it). */
  rounds = 0;

  constructor(options: DaemonOptions) {
    this.log = options.log;
    this.statsIntervalMs = options.statsIntervalMs ?? STATS_INTERVAL_MS;
    this.rundir = options.rundir;
    const journals = options.flowJournal ?? true;
    this.journalsToSweep = journals;
    this.idl = new Idl({ remote: options.remote, tables: withPolicingColumns(MONITORED_TABLES), log: options.log.child({ ovsdb: options.remote }) });
    this.reconciler = new Reconciler({
      rundir: options.rundir,
      log: options.log,
      portTypes: options.portTypes ?? DATABASE_PORT_TYPES,
      ...(options.dummy ? { dummy: options.dummy } : {}),
      onStatusChange: () => this.scheduleStatus(),
      ...(journals
        ? {
            switchConfig: (bridge: string) => ({ flowJournal: this.journalFor(bridge) }),
            onBridgeDeleted: (bridge: string) => this.removeJournal(bridge),
          }
        : {}),
    });
    this.idl.on('change', () => this.kick());
    this.idl.on('state', (state) => this.log.info('database connection', { state }));
  }

  start(): void {
    this.idl.start();
    this.statsTimer = setInterval(() => {
      this.statsDue = true;
      this.kick();
    }, this.statsIntervalMs);
    this.statsTimer.unref();
  }

  /** Runs a round now, or after the one under way. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.dirty = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = null;
    });
  }

  /** Resolves when no round is under way or pending. */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  private async loop(): Promise<void> {
    do {
      this.dirty = false;
      await this.round();
      this.rounds++;
    } while (this.dirty && !this.stopped);
  }

  private async round(): Promise<void> {
    if (this.idl.state !== 'connected') return;
    const config = readConfig(this.idl);
    if (config.uuid === null) return;
    try {
      await this.reconciler.apply(config);
    } catch (err) {
      // A bug in applying: logged with its stack; the write-back below still reports what runs.
      this.log.error('reconfiguration failed', { err });
    }
    this.applied = config;
    if (this.journalsToSweep) {
      this.journalsToSweep = false;
      this.sweepJournals(new Set(config.bridges.map((b) => b.name)));
    }
    await this.writeStatus(config);
  }

  /** A bridge's journal path; a file there that is not a journal is moved aside (logged). */
  private journalFor(bridge: string): string {
    const path = join(this.rundir, journalFileOf(bridge));
    let head: Buffer;
    try {
      head = readFileSync(path).subarray(0, HEADER_SIZE);
    } catch {
      return path; // none yet: a new journal
    }
    const bad = head.length === 0 ? null : checkHeader(head);
    if (bad) {
      try {
        renameSync(path, `${path}.bad`);
        this.log.error('flow journal unusable: moved aside, the bridge starts with an empty table', { bridge, path, reason: bad });
      } catch (err) {
        this.log.error('flow journal unusable and cannot be moved aside', { bridge, path, reason: bad, err: (err as Error).message });
      }
    }
    return path;
  }

  private removeJournal(bridge: string): void {
    const path = join(this.rundir, journalFileOf(bridge));
    try {
      unlinkSync(path);
      this.log.info('flow journal removed with its bridge', { bridge, path });
    } catch {
      /* none */
    }
  }

  /** Removes the journals of bridges the database no longer has (deleted while no daemon ran). */
  private sweepJournals(bridges: ReadonlySet<string>): void {
    let names: string[];
    try {
      names = readdirSync(this.rundir);
    } catch {
      return;
    }
    for (const file of names) {
      if (file.endsWith(`${JOURNAL_SUFFIX}.lock`)) {
        // a killed daemon's lock (this one holds the run directory's pid file)
        if (!bridges.has(file.slice(0, -`${JOURNAL_SUFFIX}.lock`.length))) rmSync(join(this.rundir, file), { force: true });
        continue;
      }
      if (!file.endsWith(JOURNAL_SUFFIX)) continue;
      const bridge = file.slice(0, -JOURNAL_SUFFIX.length);
      if (!bridges.has(bridge)) this.removeJournal(bridge);
    }
  }

  private scheduleStatus(): void {
    if (this.statusTimer || this.stopped) return;
    this.statusTimer = setTimeout(() => {
      this.statusTimer = null;
      this.kick();
    }, STATUS_DELAY_MS);
    this.statusTimer.unref();
  }

  /** One transaction with every status column that changed, and cur_cfg. */
  private async writeStatus(config: SystemConfig): Promise<void> {
    if (config.uuid === null) return;
    const txn = new Transaction(this.idl);
    const withStats = this.statsDue;
    const interfaces = this.idl.table('Interface');
    // Each bridge's port views built once per round (Switch.port builds all of them to find one).
    const views = new Map<string, ReadonlyMap<string, PortView>>();
    const viewOf = (bridge: string, name: string): PortView | undefined => {
      let byName = views.get(bridge);
      if (!byName) views.set(bridge, (byName = new Map(this.reconciler.bridges.get(bridge)?.sw.ports().map((v) => [v.name, v]))));
      return byName.get(name);
    };
    for (const [uuid, outcome] of this.reconciler.outcomes) {
      const row = interfaces.get(uuid);
      if (!row) continue;
      const view = outcome.ofport > 0 ? viewOf(outcome.bridge, outcome.name) : undefined;
      const lacpCurrent = view ? this.reconciler.bridges.get(outcome.bridge)?.sw.bondSet?.bondOf(view.ofport)?.lacp?.isCurrent(view.name) : undefined;
      const wanted: Record<string, DatumInput> = {
        ofport: outcome.ofport,
        error: outcome.error ?? [],
        lacp_current: typeof lacpCurrent === 'boolean' ? lacpCurrent : [],
        ...(view ? interfaceStatus(view) : NO_INTERFACE_STATUS),
        ...monitorStatus(view ? this.reconciler.bridges.get(outcome.bridge)?.sw.monitor : undefined, outcome.name),
        ...(withStats ? { statistics: view ? interfaceStatistics(view) : new Map() } : {}),
      };
      const changed = changedColumns(row, wanted);
      if (Object.keys(changed).length > 0) txn.update('Interface', uuid, changed);
    }
    this.writeBondStatus(txn, config);
    const bridges = this.idl.table('Bridge');
    for (const running of this.reconciler.bridges.values()) {
      const row = bridges.get(running.uuid);
      if (!row) continue;
      const tree = running.sw.spanningTree();
      const changed = changedColumns(row, {
        datapath_id: running.sw.datapathId.toString(16).padStart(16, '0'),
        datapath_version: BUILT_IN_DATAPATH,
        ...bridgeTreeStatus(tree),
      });
      if (Object.keys(changed).length > 0) txn.update('Bridge', running.uuid, changed);
    }
    // The spanning tree's Port columns (bridge.c's port_refresh_stp_status and _rstp_status).
    const portRows = this.idl.table('Port');
    for (const b of config.bridges) {
      const running = this.reconciler.bridges.get(b.name);
      const tree = running?.sw.spanningTree() ?? null;
      const uptime = (ofport: number): number => (tree instanceof Rstp ? tree.uptime(ofport) : 0);
      for (const p of b.ports) {
        const row = portRows.get(p.uuid);
        if (!row) continue;
        const ofport = running?.sw.port(p.name)?.ofport ?? null;
        const changed = changedColumns(row, portTreeStatus(tree, ofport, withStats, uptime));
        if (Object.keys(changed).length > 0) txn.update('Port', p.uuid, changed);
      }
    }
    if (withStats) {
      const mirrors = this.idl.table('Mirror');
      for (const running of this.reconciler.bridges.values()) {
        for (const view of running.sw.mirrors()) {
          const row = mirrors.get(view.id);
          if (!row || !view.active) continue;
          const changed = changedColumns(row, { statistics: mirrorStatistics(view) });
          if (Object.keys(changed).length > 0) txn.update('Mirror', view.id, changed);
        }
      }
    }
    const controllers = this.idl.table('Controller');
    for (const b of config.bridges) {
      const running = this.reconciler.bridges.get(b.name);
      const views = new Map(running?.sw.controllers().map((c) => [c.target, c]) ?? []);
      for (const c of b.controllers) {
        const row = controllers.get(c.uuid);
        if (!row) continue;
        const view = views.get(running?.canonicalTarget(c.target) ?? c.target);
        const service = running?.services.has(c.target) ?? false;
        const connected = view?.connected ?? false;
        const state = !view ? 'VOID' : view.connected ? 'ACTIVE' : view.state === 'backoff' ? 'BACKOFF' : 'CONNECTING';
        const changed = changedColumns(row, {
          is_connected: connected,
          role: connected ? 'other' : [],
          // A service (ptcp:/punix:) has no connection of its own: OVS leaves its status empty.
          // Connected: the packet-in counters OVS writes there too (and ofswitch's overflow drops).
          status: service ? new Map() : new Map([['state', state], ...Object.entries(view?.counters ?? {})]),
        });
        if (Object.keys(changed).length > 0) txn.update('Controller', c.uuid, changed);
      }
    }
    const root = this.idl.first('Open_vSwitch');
    const changed = changedColumns(root, {
      cur_cfg: config.nextCfg,
      ovs_version: packageVersion(),
      datapath_types: ['netdev', 'system'],
      iface_types: this.reconciler.interfaceTypes(),
      dpdk_version: NO_DPDK,
    });
    if (Object.keys(changed).length > 0) txn.update('Open_vSwitch', config.uuid, changed);
    if (txn.size === 0) {
      if (withStats) this.statsDue = false;
      return;
    }
    const result = await txn.commit();
    if (result.status === 'success') {
      if (withStats) this.statsDue = false;
      return;
    }
    // Stale or disconnected: the replica's next change runs another round, which writes again.
    if (result.status === 'error') this.log.warn('status write failed', { error: result.error, details: result.details });
    else this.log.debug('status write not committed', { status: result.status });
  }

  /** Port `bond_active_slave`: the MAC of each bond's active member, as ovs-vswitchd writes it. */
  private writeBondStatus(txn: Transaction, config: SystemConfig): void {
    const ports = this.idl.table('Port');
    for (const b of config.bridges) {
      const bonds = this.reconciler.bridges.get(b.name)?.sw.bondSet;
      if (!bonds) continue;
      for (const p of b.ports) {
        const bond = bonds.bond(p.name);
        const row = ports.get(p.uuid);
        if (!bond || !row) continue;
        const changed = changedColumns(row, { bond_active_slave: macText(bond.activeMac) });
        if (Object.keys(changed).length > 0) txn.update('Port', p.uuid, changed);
      }
    }
  }

  /** The configuration of the last round (null before the first). */
  get config(): SystemConfig | null {
    return this.applied;
  }

  /** Stops: closes the database connection and every bridge (their internal interfaces go). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.statsTimer) clearInterval(this.statsTimer);
    if (this.statusTimer) clearTimeout(this.statusTimer);
    await this.settled();
    this.idl.close();
    await this.reconciler.close();
  }
}
