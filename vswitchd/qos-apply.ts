/**
 * Applies the Port rows' linux-htb QoS (qos-htb.ts reads them) to the running bridges, for the
 * reconciler: a port's queues are set when its settings change or its interface is added anew,
 * and taken away when its QoS goes. A failure is logged (as ovs-vswitchd logs a tc failure) and
 * tried again at the next reconfiguration.
 *
 * Crash recovery: the interfaces given a qdisc are recorded in `RUNDIR/ofswitch.qos` (the form of
 * internal-record.ts). A clean stop removes the qdiscs (the switches' close) and leaves the record
 * empty; after a kill, the next daemon's first reconfiguration deletes the HTB root qdisc of
 * every recorded interface that is not given QoS again.
 */
import type { Logger } from '../lib/log.js';
import type { HtbSettings } from '../qos/htb.js';
import { deleteHtbRootSync } from '../qos/tc.js';
import type { BridgeConfig } from './config.js';
import { InternalRecord } from './internal-record.js';

export const QOS_RECORD_FILE = 'ofswitch.qos';

/** What the reconciler knows of a running bridge, as far as QoS needs it. */
export interface QosBridge {
  readonly name: string;
  readonly sw: {
    setPortQos(name: string, settings: HtbSettings | null): Promise<boolean>;
    qosDevices(): string[];
  };
  /** The running interfaces by name (each object stands for one addition of the interface). */
  readonly interfaces: ReadonlyMap<string, object>;
}

/** Settings as a comparable text (queues in id order). */
function keyOf(settings: HtbSettings | null | undefined): string {
  if (!settings) return '';
  return JSON.stringify([settings.maxRate, [...settings.queues].sort((a, b) => a[0] - b[0])]);
}

export class QosApplier {
  private readonly log: Logger;
  private readonly record: InternalRecord;
  /** Interfaces a killed daemon left a qdisc on, until the first round has dealt with them. */
  private leftovers: string[] | null;
  /** The settings applied to each running interface (by its reconciler object). */
  private readonly applied = new WeakMap<object, string>();

  constructor(rundir: string, log: Logger) {
    this.log = log;
    this.record = new InternalRecord(rundir, QOS_RECORD_FILE);
    this.leftovers = this.record.read();
  }

  /** Gives each of the bridge's ports the QoS its row asks for (after its interfaces were added). */
  async applyBridge(running: QosBridge, want: BridgeConfig): Promise<void> {
    for (const port of want.ports) {
      const iface = port.interfaces[0];
      const current = iface && running.interfaces.get(iface.name);
      if (!iface || !current) continue;
      const key = keyOf(port.htb);
      if ((this.applied.get(current) ?? '') === key) continue;
      try {
        await running.sw.setPortQos(iface.name, port.htb ?? null);
        this.applied.set(current, key);
        this.log.info(port.htb ? 'QoS linux-htb configured' : 'QoS removed', { bridge: want.name, port: iface.name });
      } catch (err) {
        this.applied.delete(current);
        this.log.warn('cannot configure QoS', { bridge: want.name, port: iface.name, err: (err as Error).message });
      }
    }
  }

  /** After a round: the record names the interfaces with a qdisc now; a killed daemon's leftovers go. */
  noteRound(bridges: Iterable<QosBridge>): void {
    const devices = new Set<string>();
    for (const b of bridges) for (const d of b.sw.qosDevices()) devices.add(d);
    if (this.leftovers) {
      for (const dev of this.leftovers) {
        if (!devices.has(dev) && deleteHtbRootSync(dev)) this.log.info('removed the qdisc of a QoS no longer configured', { interface: dev });
      }
      this.leftovers = null;
    }
    try {
      this.record.write(devices);
    } catch (err) {
      this.log.warn('cannot record the interfaces given QoS', { path: this.record.path, err: (err as Error).message });
    }
  }

  /** The daemon stopped (its switches removed their qdiscs): the record is emptied. */
  closed(): void {
    if (this.leftovers === null) this.noteRound([]);
  }
}
