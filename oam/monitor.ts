/**
 * A bridge's link monitoring: the CFM endpoints (cfm.ts) and BFD sessions (bfd.ts) of its
 * interfaces, what ofproto-dpif-monitor.c and process_special() are to Open vSwitch.
 *
 * - Receiving: the packet path hands every received frame to `intercept` before mirrors and the
 *   flow table, only while some session runs (`onActiveChange` tells the switch when to hook in). A CCM to the CCM address of a port with CFM, or a
 *   BFD control packet for a port's session, is consumed there, as OVS consumes them: flows never
 *   see them. Anything else goes on (BFD packets for no session are ordinary traffic, as in OVS
 *   2.14 and later). On a tunnel port, frames arrive decapsulated, so BFD from the far end of a
 *   tunnel is caught the same way; with BFD's check_tnl_key only a tunnel without a key (key 0)
 *   takes BFD packets, as OVS takes them only with tun_id 0. On tunnel and patch ports every other
 *   frame counts for BFD's forwarding_if_rx (OVS's bfd_account_rx), on no other kind of port.
 * - Sending: one timer, set to the earliest time any session wants to send or check; CCMs and BFD
 *   packets leave through the datapath's transmit (counted on the port like any frame). A BFD
 *   packet with the Poll bit is answered with Final at once.
 * - Liveness, the interface for bonds and tunnels: `live(port)` is true or false for a port that
 *   runs CFM or BFD (OVS's may_enable_port: CFM without fault and not remotely operationally down,
 *   or BFD forwarding), undefined for one that runs neither; the 'liveness' event says when it
 *   changes. Carrier is not part of it (that is the port's link state).
 * - 'status' is emitted (at most once per turn of the event loop) when a status column should be
 *   written again: a fault check changed something, a BFD state or forwarding changed.
 *
 * Ports are named by interface name; a port removed from the bridge takes its sessions with it
 * (removePort), as OVS's ofport does.
 */
import { EventEmitter } from 'eventemitter3';
import { BfdSession, type BfdSettings } from './bfd.js';
import { CfmSession, type CfmSettings } from './cfm.js';
import { ethPayload, macBytes } from './frames.js';

/** What the monitor needs of its bridge. */
export interface MonitorHost {
  /**
   * The port's OpenFlow number and MAC now, or undefined when there is no such port; for a tunnel
   * port its key (0 without one), and whether its received frames count for forwarding_if_rx
   * (tunnel and patch ports).
   */
  port(name: string): { readonly ofport: number; readonly hwAddr: string; readonly tunnelKey?: number; readonly accountsRx?: boolean } | undefined;
  /** Frames the port received so far (BFD's decay_min_rx). */
  rxPackets(name: string): number;
  /** Sends a frame out of an OpenFlow port; `oam`: with the tunnel header's OAM bit (BFD's oam=true). */
  send(ofport: number, frame: Uint8Array, oam?: boolean): void;
  log?(level: 'info' | 'warn', message: string, fields: Record<string, unknown>): void;
}

export interface LinkMonitorEvents {
  /** A status column of `port` should be written again. */
  status: (port: string) => void;
  /** The port's CFM/BFD liveness changed (undefined: it runs neither any more). */
  liveness: (port: string, live: boolean | undefined) => void;
}

/** Settings the monitor cannot apply. */
export class OamError extends Error {
  override readonly name = 'OamError';
}

interface Watched {
  readonly name: string;
  ofport: number;
  cfm: CfmSession | null;
  bfd: BfdSession | null;
  /** The tunnel key its frames arrive with (0: none, or not a tunnel). */
  tunnelKey: number;
  /** Whether its data frames count for BFD's forwarding_if_rx. */
  accountsRx: boolean;
  /** The liveness last announced. */
  live: boolean | undefined;
}

export class LinkMonitor extends EventEmitter<LinkMonitorEvents> {
  private readonly host: MonitorHost;
  private readonly now: () => number;
  private readonly ports = new Map<string, Watched>();
  private readonly byOfport = new Map<number, Watched>();
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private readonly dirty = new Set<string>();
  private flushQueued = false;
  private closed = false;

  constructor(host: MonitorHost, now: () => number) {
    super();
    this.host = host;
    this.now = now;
  }

  /** Called when the first session starts (true) and when the last one ends (false). */
  onActiveChange: ((active: boolean) => void) | null = null;

  /** Whether any session runs (the packet path calls `intercept` only then). */
  get active(): boolean {
    return this.ports.size > 0;
  }

  private watched(name: string): Watched {
    const port = this.host.port(name);
    if (!port) throw new OamError(`no port ${name}`);
    let w = this.ports.get(name);
    if (!w) {
      w = { name, ofport: port.ofport, cfm: null, bfd: null, tunnelKey: 0, accountsRx: false, live: undefined };
      this.ports.set(name, w);
      if (this.ports.size === 1) this.onActiveChange?.(true);
    }
    w.ofport = port.ofport;
    w.tunnelKey = port.tunnelKey ?? 0;
    w.accountsRx = port.accountsRx ?? false;
    this.byOfport.set(port.ofport, w);
    return w;
  }

  private forget(w: Watched): void {
    if (w.cfm || w.bfd) return;
    this.ports.delete(w.name);
    if (this.byOfport.get(w.ofport) === w) this.byOfport.delete(w.ofport);
    if (this.ports.size === 0) this.onActiveChange?.(false);
  }

  private logger(name: string): (level: 'info' | 'warn', message: string) => void {
    return (level, message) => this.host.log?.(level, message, { port: name });
  }

  /**
   * Starts, changes or (null) stops CFM on a port. An OamError for settings OVS refuses (an MPID
   * outside 1..8191, or 0 in extended mode; a non-positive interval): CFM is then off, as OVS
   * disables it.
   */
  setCfm(name: string, settings: CfmSettings | null): void {
    if (settings === null) {
      const w = this.ports.get(name);
      if (!w?.cfm) return;
      w.cfm = null;
      this.changed(w);
      this.forget(w);
      return;
    }
    const w = this.watched(name);
    const session = w.cfm ?? new CfmSession(name, this.now);
    if (!session.configure(settings)) {
      if (w.cfm) {
        w.cfm = null;
        this.changed(w);
      }
      this.forget(w);
      throw new OamError(`${name}: CFM configuration is invalid (mpid ${settings.mpid}${settings.extended ? ', extended' : ''}, interval ${settings.intervalMs} ms): CFM disabled`);
    }
    if (!w.cfm) {
      w.cfm = session;
      session.onStatusChange = () => this.changed(w);
      session.onLog = this.logger(name);
      this.changed(w);
    }
    this.schedule();
  }

  /** Starts, changes or (null) stops BFD on a port. */
  setBfd(name: string, settings: BfdSettings | null): void {
    if (settings === null) {
      const w = this.ports.get(name);
      if (!w?.bfd) return;
      w.bfd.close();
      w.bfd = null;
      this.changed(w);
      this.forget(w);
      return;
    }
    const w = this.watched(name);
    if (w.bfd) {
      w.bfd.configure(settings);
    } else {
      const session = new BfdSession(name, settings, { now: this.now, rxPackets: () => this.host.rxPackets(name) });
      session.onStatusChange = () => this.changed(w);
      session.onLog = this.logger(name);
      w.bfd = session;
      this.changed(w);
    }
    this.schedule();
  }

  /** The port left the bridge: its sessions end. */
  removePort(name: string): void {
    const w = this.ports.get(name);
    if (!w) return;
    w.bfd?.close();
    w.cfm = null;
    w.bfd = null;
    this.changed(w);
    this.forget(w);
  }

  cfm(name: string): CfmSession | undefined {
    return this.ports.get(name)?.cfm ?? undefined;
  }

  bfd(name: string): BfdSession | undefined {
    return this.ports.get(name)?.bfd ?? undefined;
  }

  /** Every CFM endpoint, by port name. */
  cfmSessions(): CfmSession[] {
    return [...this.ports.values()].flatMap((w) => (w.cfm ? [w.cfm] : [])).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  bfdSessions(): BfdSession[] {
    return [...this.ports.values()].flatMap((w) => (w.bfd ? [w.bfd] : [])).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** The port's liveness by CFM or BFD (may_enable_port without carrier); undefined when it runs neither. */
  live(name: string): boolean | undefined {
    const w = this.ports.get(name);
    return w ? liveness(w) : undefined;
  }

  /** A frame received on `ofport`: true when it was a CCM or BFD packet for a session here (consumed). */
  intercept(ofport: number, frame: Uint8Array): boolean {
    const w = this.byOfport.get(ofport);
    if (!w) return false;
    const eth = ethPayload(frame);
    if (!eth) return false;
    if (w.cfm?.accepts(frame, eth.type)) {
      w.cfm.receive(frame, eth.offset);
      return true;
    }
    const bfd = w.bfd;
    if (bfd?.accepts(frame, eth.type, eth.offset, w.tunnelKey)) {
      bfd.receive(frame, eth.offset);
      if (bfd.shouldSend()) this.sendBfd(w); // a Poll is answered at once
      this.noteLiveness(w);
      this.schedule();
      return true;
    }
    if (bfd && w.accountsRx) bfd.accountRx();
    return false;
  }

  private changed(w: Watched): void {
    this.dirty.add(w.name);
    if (this.flushQueued || this.closed) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      const names = [...this.dirty];
      this.dirty.clear();
      for (const name of names) {
        const cur = this.ports.get(name);
        if (cur) this.noteLiveness(cur);
        else this.announce(name, w.name === name ? w : undefined);
        this.emit('status', name);
      }
    });
  }

  /** A port no longer watched: its liveness goes back to undefined. */
  private announce(name: string, w: Watched | undefined): void {
    if (w && w.live !== undefined) {
      w.live = undefined;
      this.emit('liveness', name, undefined);
    }
  }

  private noteLiveness(w: Watched): void {
    const live = liveness(w);
    if (live !== w.live) {
      w.live = live;
      this.emit('liveness', w.name, live);
    }
  }

  private hwAddr(w: Watched): Uint8Array {
    return macBytes(this.host.port(w.name)?.hwAddr ?? '') ?? new Uint8Array(6);
  }

  private sendBfd(w: Watched): void {
    if (!w.bfd) return;
    this.host.send(w.ofport, w.bfd.compose(this.hwAddr(w)), w.bfd.oam);
  }

  /** Sends what is due and runs the sessions' checks (monitor_mport_run), then sets the timer again. */
  private runAll(): void {
    this.timer = null;
    this.timerAt = Infinity;
    if (this.closed) return;
    for (const w of this.ports.values()) {
      const cfm = w.cfm;
      if (cfm) {
        if (cfm.shouldSend()) this.host.send(w.ofport, cfm.compose(this.hwAddr(w)));
        cfm.run();
      }
      const bfd = w.bfd;
      if (bfd) {
        if (bfd.shouldSend()) this.sendBfd(w);
        bfd.run();
      }
      this.noteLiveness(w);
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.closed) return;
    let at = Infinity;
    for (const w of this.ports.values()) {
      if (w.cfm) at = Math.min(at, w.cfm.wakeTime());
      if (w.bfd) at = Math.min(at, w.bfd.wakeTime());
    }
    if (at === Infinity || at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.runAll(), Math.max(0, Math.ceil(at - this.now())));
    this.timer.unref();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const w of this.ports.values()) w.bfd?.close();
    const wasActive = this.ports.size > 0;
    this.ports.clear();
    this.byOfport.clear();
    if (wasActive) this.onActiveChange?.(false);
  }
}

function liveness(w: Watched): boolean | undefined {
  if (!w.cfm && !w.bfd) return undefined;
  const cfmUp = w.cfm !== null && w.cfm.faults() === 0 && w.cfm.remoteOpstate() !== 0;
  const bfdUp = w.bfd !== null && w.bfd.forwarding();
  return cfmUp || bfdUp;
}
