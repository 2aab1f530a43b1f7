/**
 * The egress queues of one switch's ports: for each port with a linux-htb QoS, the HTB classes on
 * its kernel interface (htb.ts plans them, tc.ts makes them), and their counters when asked.
 *
 * A QoS set on a port that has none replaces the interface's root qdisc with HTB (as OVS's
 * htb_tc_install deletes the qdisc there first); a changed QoS replaces the classes in place and
 * deletes those of queues that went, so the counters of the queues that stay go on; a QoS removed
 * (or its port) deletes the qdisc, and the kernel's default comes back. Closing removes every
 * qdisc made here, and so does the process's exit (an exit hook, however the process ends short of
 * SIGKILL: the daemon's run-directory record deals with that, qos-record in vswitchd/).
 *
 * Changes to one port run one after another (a queue of promises per port), so a quick
 * succession of reconfigurations applies in order.
 */
import { readFileSync } from 'node:fs';
import { atExit } from '../unixctl/exit-cleanup.js';
import { htbPlan, parseClassStats, classCommand, classHandle, qdiscCommand, type ClassCounters, type HtbPlan, type HtbSettings } from './htb.js';
import { OvsHmap, ovsHashInt } from './ovs-hmap.js';
import { deleteHtbRootSync, deleteRootQdisc, runTc } from './tc.js';

interface Applied {
  readonly device: string;
  readonly plan: HtbPlan;
  /** The queue ids in the order OVS's netdev-linux would keep them (its tc queue hmap), for qos/show. */
  readonly order: OvsHmap<number>;
}

/**
 * The queue map as bridge.c's iface_configure_qos leaves it: queues the settings no longer name
 * removed (queue 0 too when the settings do not name it), then the named queues set in ascending id
 * order (a new one inserted), then queue 0 when not named. A fresh map on a new qdisc.
 */
function queueOrder(before: OvsHmap<number> | undefined, settings: HtbSettings, plan: HtbPlan): OvsHmap<number> {
  const order = before ?? new OvsHmap<number>((id) => ovsHashInt(id, 0));
  const planned = new Set(plan.classes.map((c) => c.queueId).filter((id): id is number => id !== null));
  const named = [...settings.queues.keys()].filter((id) => planned.has(id)).sort((a, b) => a - b);
  for (const id of order.keys()) if (!named.includes(id)) order.remove(id);
  for (const id of named) order.insert(id);
  order.insert(0);
  return order;
}

/** Every device with a qdisc made by a PortQos of this process (removed at exit). */
const liveDevices = new Map<string, number>();
let exitHooked = false;

function noteDevice(dev: string, delta: 1 | -1): void {
  const n = (liveDevices.get(dev) ?? 0) + delta;
  if (n > 0) liveDevices.set(dev, n);
  else liveDevices.delete(dev);
  if (!exitHooked && delta > 0) {
    exitHooked = true;
    atExit(() => {
      for (const d of liveDevices.keys()) deleteHtbRootSync(d);
    });
  }
}

function readMtu(dev: string): number {
  try {
    const mtu = parseInt(readFileSync(`/sys/class/net/${dev}/mtu`, 'latin1'), 10);
    return mtu > 0 ? mtu : 1500;
  } catch {
    return 1500;
  }
}

export class PortQos {
  private readonly applied = new Map<string, Applied>();
  private readonly pending = new Map<string, Promise<void>>();

  /**
   * Gives port `name` (its kernel interface `device`) the queues of `settings`, or none (null).
   * `speedMbps`: the link speed, the QoS's rate when it names no max-rate. Rejects with tc's
   * message when the kernel refuses; the port then has no QoS.
   */
  set(name: string, device: string, settings: HtbSettings | null, speedMbps = 0): Promise<void> {
    return this.serial(name, () => this.apply(name, device, settings, speedMbps));
  }

  /** Removes port `name`'s queues (its qdisc). */
  remove(name: string): Promise<void> {
    return this.serial(name, () => this.unapply(name));
  }

  /** The classes of port `name` (root first), or undefined when it has no QoS. */
  plan(name: string): HtbPlan | undefined {
    return this.applied.get(name)?.plan;
  }

  /** Port `name`'s queue ids in the order OVS lists them (qos/show), or [] when it has no QoS. */
  queueOrder(name: string): number[] {
    return this.applied.get(name)?.order.keys() ?? [];
  }

  /** The interfaces that have a qdisc made here. */
  devices(): string[] {
    return [...this.applied.values()].map((a) => a.device);
  }

  /** The kernel's counters of port `name`'s classes by minor number (empty without QoS). */
  async counters(name: string): Promise<Map<number, ClassCounters>> {
    const a = this.applied.get(name);
    if (!a) return new Map();
    return parseClassStats(await runTc([['-s', 'class', 'show', 'dev', a.device]]));
  }

  /** Removes every qdisc made here. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.applied.keys()].map((name) => this.remove(name)));
  }

  private serial(name: string, job: () => Promise<void>): Promise<void> {
    const before = this.pending.get(name) ?? Promise.resolve();
    const next = before.catch(() => undefined).then(job);
    const tail = next.catch(() => undefined);
    this.pending.set(name, tail);
    void tail.then(() => {
      if (this.pending.get(name) === tail) this.pending.delete(name);
    });
    return next;
  }

  private async apply(name: string, device: string, settings: HtbSettings | null, speedMbps: number): Promise<void> {
    const before = this.applied.get(name);
    if (settings === null) return this.unapply(name);
    if (before && before.device !== device) await this.unapply(name);
    const mtu = readMtu(device);
    const plan = htbPlan(settings, mtu, speedMbps);
    const commands = plan.classes.map((c) => classCommand(device, c, mtu));
    const current = this.applied.get(name);
    if (current) {
      const kept = new Set(plan.classes.map((c) => c.minor));
      for (const c of current.plan.classes) if (!kept.has(c.minor)) commands.push(['class', 'del', 'dev', device, 'classid', classHandle(c.minor)]);
    } else {
      await deleteRootQdisc(device);
      commands.unshift(qdiscCommand(device));
    }
    try {
      await runTc(commands);
    } catch (err) {
      await this.unapply(name, device).catch(() => undefined);
      throw err;
    }
    if (!current) noteDevice(device, 1);
    this.applied.set(name, { device, plan, order: queueOrder(current?.order, settings, plan) });
  }

  private async unapply(name: string, device?: string): Promise<void> {
    const a = this.applied.get(name);
    const dev = a?.device ?? device;
    if (a) {
      this.applied.delete(name);
      noteDevice(a.device, -1);
    }
    if (dev !== undefined) await deleteRootQdisc(dev);
  }
}
