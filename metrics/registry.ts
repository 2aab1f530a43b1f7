/**
 * The switch's Prometheus metrics: a prom-client Registry of our own (the library's default Node
 * collectors are not registered: promtool's lint refuses some of their names) whose every metric
 * is filled by its collect() callback at scrape time from the bridges' plain counters
 * (lib/switch.ts's read-only accessors). Nothing here runs per packet: the packet path keeps
 * counting in plain numbers, and a scrape reads them.
 *
 * One scrape reads each bridge once (a snapshot taken before the registry renders, which calls
 * every collect() synchronously), so the metrics of one scrape agree with each other. Bridges
 * appear and disappear with what `bridges()` returns (database mode: the rows of the Bridge
 * table); every series is rebuilt at each scrape.
 *
 * Names follow the Prometheus conventions (base units in the name, `_total` for counters):
 * ofswitch_port_* are what `ovs-ofctl dump-ports` shows, ofswitch_flow_* what `dump-tables`
 * shows, labelled bridge="BRIDGE" and port="INTERFACE".
 */
import { memoryUsage } from 'node:process';
import { Counter, Gauge, Registry } from 'prom-client';
import { NXET_VENDOR, OFPET, OFPFC, nameOf } from '../protocol/index.js';
import type { ControllerView, OpenflowCounters, PortView, Switch, TableCounters } from '../lib/switch.js';

/** The bridges to report, by name (read at every scrape). */
export type BridgeSource = () => ReadonlyMap<string, Switch>;

interface BridgeSnapshot {
  readonly ports: readonly PortView[];
  readonly table: TableCounters;
  readonly openflow: OpenflowCounters;
  readonly controllers: readonly ControllerView[];
}

type Snapshot = ReadonlyMap<string, BridgeSnapshot>;

const PORT_COUNTERS = [
  ['rx_packets', 'rxPackets', 'Packets received by the port'],
  ['tx_packets', 'txPackets', 'Packets sent by the port'],
  ['rx_bytes', 'rxBytes', 'Bytes received by the port'],
  ['tx_bytes', 'txBytes', 'Bytes sent by the port'],
  ['rx_dropped', 'rxDropped', 'Packets dropped on receive'],
  ['tx_dropped', 'txDropped', 'Packets dropped on send'],
  ['rx_errors', 'rxErrors', 'Receive errors'],
  ['tx_errors', 'txErrors', 'Send errors'],
] as const;

/** OpenFlow's packet-in reasons, as the label values (OFPR_NO_MATCH, OFPR_ACTION). */
const REASONS = [
  ['miss', 'no_match'],
  ['action', 'action'],
] as const;

const lower = (name: string): string => name.toLowerCase();

/** The label value of an OFPT_ERROR type: its OFPET name, lower case ("bad_request"). */
export function errorTypeLabel(type: number): string {
  return type === NXET_VENDOR ? 'nxet_vendor' : lower(nameOf(OFPET, type));
}

/** A registry whose metrics read `bridges()` at every scrape; `render()` is the text exposition. */
export class SwitchMetrics {
  readonly registry = new Registry();
  private snapshot: Snapshot = new Map();
  private readonly bridges: BridgeSource;

  constructor(bridges: BridgeSource) {
    this.bridges = bridges;
    const self = this;
    const each = (f: (bridge: string, b: BridgeSnapshot) => void): void => {
      for (const [bridge, b] of self.snapshot) f(bridge, b);
    };
    const registers = [this.registry];

    for (const [name, key, help] of PORT_COUNTERS) {
      new Counter({
        name: `ofswitch_port_${name}_total`,
        help: `${help} (ovs-ofctl dump-ports).`,
        labelNames: ['bridge', 'port'],
        registers,
        collect() {
          this.reset();
          each((bridge, b) => {
            for (const p of b.ports) this.inc({ bridge, port: p.name }, Number(p.stats[key]));
          });
        },
      });
    }

    const tableGauge = (name: string, help: string, read: (t: TableCounters) => number, counter: boolean): void => {
      const config = {
        name,
        help,
        labelNames: ['bridge'],
        registers,
      };
      if (counter)
        new Counter({
          ...config,
          collect() {
            this.reset();
            each((bridge, b) => this.inc({ bridge }, read(b.table)));
          },
        });
      else
        new Gauge({
          ...config,
          collect() {
            this.reset();
            each((bridge, b) => this.set({ bridge }, read(b.table)));
          },
        });
    };
    tableGauge('ofswitch_flow_entries', 'Flow entries in the table (dump-tables active).', (t) => t.activeCount, false);
    tableGauge('ofswitch_flow_lookups_total', 'Packets looked up in the flow table (dump-tables lookup).', (t) => t.lookups, true);
    tableGauge('ofswitch_flow_matched_total', 'Packets that matched a flow entry (dump-tables matched).', (t) => t.matched, true);
    tableGauge('ofswitch_microflow_cache_hits_total', 'Flow table lookups answered by the microflow cache.', (t) => t.cacheHits, true);
    tableGauge('ofswitch_microflow_cache_misses_total', 'Flow table lookups that went past the microflow cache to the classifier.', (t) => t.cacheMisses, true);
    tableGauge('ofswitch_classifier_subtables', 'Classifier subtables (distinct masks) in the flow table.', (t) => t.subtables, false);

    const packetIn = (name: string, help: string, read: keyof OpenflowCounters['packetIns']['miss']): void => {
      new Counter({
        name,
        help,
        labelNames: ['bridge', 'reason'],
        registers,
        collect() {
          this.reset();
          each((bridge, b) => {
            for (const [kind, reason] of REASONS) this.inc({ bridge, reason }, b.openflow.packetIns[kind][read]);
          });
        },
      });
    };
    packetIn('ofswitch_packet_ins_sent_total', 'PACKET_INs sent to OpenFlow connections, by reason.', 'sent');
    packetIn('ofswitch_packet_ins_queued_total', 'PACKET_INs queued by the controller rate limit, by reason.', 'queued');
    new Gauge({
      name: 'ofswitch_packet_ins_backlog',
      help: 'PACKET_INs waiting in the controller rate limit queues now, by reason.',
      labelNames: ['bridge', 'reason'],
      registers,
      collect() {
        this.reset();
        each((bridge, b) => {
          for (const [kind, reason] of REASONS) this.set({ bridge, reason }, b.openflow.packetIns[kind].backlog);
        });
      },
    });
    new Counter({
      name: 'ofswitch_packet_ins_dropped_total',
      help: 'PACKET_INs dropped, by reason and cause (rate_limit: the rate limit queues were full; queue_overflow: the connection output queue was full).',
      labelNames: ['bridge', 'reason', 'cause'],
      registers,
      collect() {
        this.reset();
        each((bridge, b) => {
          for (const [kind, reason] of REASONS) {
            const c = b.openflow.packetIns[kind];
            this.inc({ bridge, reason, cause: 'rate_limit' }, c.rateLimitDropped);
            this.inc({ bridge, reason, cause: 'queue_overflow' }, c.overflowDropped);
          }
        });
      },
    });
    new Counter({
      name: 'ofswitch_flow_mods_total',
      help: 'FLOW_MOD messages received from OpenFlow connections, by command (refused ones included).',
      labelNames: ['bridge', 'command'],
      registers,
      collect() {
        this.reset();
        each((bridge, b) => {
          for (const [name, command] of Object.entries(OFPFC)) this.inc({ bridge, command: lower(name) }, b.openflow.flowMods.get(command) ?? 0);
        });
      },
    });
    new Counter({
      name: 'ofswitch_openflow_errors_sent_total',
      help: 'OFPT_ERROR messages sent to OpenFlow connections, by error type.',
      labelNames: ['bridge', 'type'],
      registers,
      collect() {
        this.reset();
        each((bridge, b) => {
          for (const type of Object.values(OFPET)) this.inc({ bridge, type: errorTypeLabel(type) }, b.openflow.errors.get(type) ?? 0);
          const vendor = b.openflow.errors.get(NXET_VENDOR);
          if (vendor !== undefined) this.inc({ bridge, type: errorTypeLabel(NXET_VENDOR) }, vendor);
        });
      },
    });
    new Gauge({
      name: 'ofswitch_controller_connected',
      help: 'Whether the OpenFlow connection to a configured controller is up (1) or not (0).',
      labelNames: ['bridge', 'target'],
      registers,
      collect() {
        this.reset();
        each((bridge, b) => {
          for (const c of b.controllers) this.set({ bridge, target: c.target }, c.connected ? 1 : 0);
        });
      },
    });
    new Gauge({
      name: 'ofswitch_bridges',
      help: 'Bridges the switch serves.',
      registers,
      collect() {
        this.set(self.snapshot.size);
      },
    });
    new Gauge({
      name: 'process_resident_memory_bytes',
      help: 'Resident memory size in bytes.',
      registers,
      collect() {
        this.set(memoryUsage.rss());
      },
    });
    new Gauge({
      name: 'nodejs_heap_used_bytes',
      help: 'V8 heap in use in bytes.',
      registers,
      collect() {
        this.set(memoryUsage().heapUsed);
      },
    });
  }

  /** The text exposition of every metric, read from the bridges now. */
  async render(): Promise<string> {
    const snapshot = new Map<string, BridgeSnapshot>();
    for (const [name, sw] of this.bridges())
      snapshot.set(name, { ports: sw.ports(), table: sw.tableCounters(), openflow: sw.openflowCounters(), controllers: sw.controllers() });
    // registry.metrics() calls every collect() before its first await: they all see this snapshot
    this.snapshot = snapshot;
    try {
      return await this.registry.metrics();
    } finally {
      this.snapshot = new Map();
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
