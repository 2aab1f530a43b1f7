/**
 * The MAC-learning table behind NORMAL: (VLAN, MAC) -> the port the address was last seen on, as
 * Open vSwitch 3.1's lib/mac-learning.c keeps it, bounded in size and in time.
 *
 * - Size: at most `maxEntries` (other_config:mac-table-size, default 8,192, clamped to
 *   10..1,000,000 as mac_learning_set_max_entries does). Learning a new address in a full table
 *   first evicts one entry *fairly*: the least recently seen entry of the port that holds the most
 *   entries (ties: any of them). A flood of random source MACs on one port so only ever evicts
 *   that port's own entries; the other ports' hosts stay known (OVS's reason: an attacker must not
 *   be able to push the other hosts out and have their traffic flooded to him).
 * - Time: an entry not seen for `idle` seconds (other_config:mac-aging-time, default 300, clamped
 *   to 15..3600) is expired. Changing the idle time applies to the entries already learned.
 * - Counters, as `ovs-appctl fdb/stats-show` prints them: entries learned, expired (by age, or
 *   because the size was lowered below the count), evicted (to make room) and moved (a known
 *   address seen on another port). fdb/flush and a removed port drop entries without counting them.
 *
 * Everything is constant time, never a sweep of the whole table: every entry is on two intrusive
 * doubly-linked lists ordered by when it was last seen, one for the whole table (ageing walks it
 * from its least recently seen end and stops at the first live entry) and one per port (eviction
 * takes its head); the ports are kept in buckets by entry count, with the highest count known, so
 * the fullest port is found at once (OVS uses a heap there: log(ports)). A frame's source address
 * refreshes its entry: a move to the tail of both lists.
 *
 * Clock: milliseconds (injected by tests); an entry is expired when `now - seen >= idle`. OVS counts
 * whole seconds, so its entries live up to a second longer or shorter; nothing depends on that.
 *
 * Gratuitous-ARP lock (OVS's mac_entry_set_grat_arp_lock, is_mac_learning_update_needed): a
 * gratuitous ARP learned on a port that is not a bond locks its entry for GRAT_ARP_LOCK_TIME (5 s);
 * while locked, a gratuitous ARP from that address arriving on a bond does not move it (the entry
 * is refreshed, as OVS's mac_learning_insert refreshes it first): it is most likely the host's own ARP reflected back by the switch beyond a
 * balance-slb bond. OVS counts the lock in whole seconds (locked while now < set + 5, so 4 to 5 s);
 * here it is 5,000 ms.
 *
 * Not done (as in ofswitch's NORMAL generally): static entries (fdb/add, fdb/del: the counter
 * "Current static MAC entries" is always 0), flood VLANs.
 */
import {
  GRAT_ARP_LOCK_TIME,
  MAC_DEFAULT_MAX,
  MAC_ENTRY_DEFAULT_IDLE_TIME,
  MAC_MAX_IDLE_TIME,
  MAC_MAX_MAX,
  MAC_MIN_IDLE_TIME,
  MAC_MIN_MAX,
} from '../protocol/constants.js';

/** The counters of `ovs-appctl fdb/stats-show`. */
export interface MacTableStats {
  /** Entries now in the table. */
  readonly current: number;
  /** The configured maximum (after clamping). */
  readonly max: number;
  /** Static entries (always 0: ofswitch has no fdb/add). */
  readonly staticEntries: number;
  readonly learned: number;
  readonly expired: number;
  readonly evicted: number;
  readonly moved: number;
}

export interface MacTableOptions {
  /** Maximum number of entries (other_config:mac-table-size); clamped to 10..1,000,000. */
  readonly maxEntries?: number;
  /** Seconds an entry lives unseen (other_config:mac-aging-time); clamped to 15..3600. */
  readonly idleSeconds?: number;
}

/** One learned address. */
interface Entry {
  readonly vlan: number;
  readonly mac: number;
  port: PortList;
  /** When a frame from the address was last seen (ms). */
  seen: number;
  /** Until when (ms) gratuitous ARPs from a bond are not learned (-Infinity: never locked). */
  garpLock: number;
  /** The table's list, least recently seen first. */
  prev: Entry | null;
  next: Entry | null;
  /** Its port's list, least recently seen first. */
  portPrev: Entry | null;
  portNext: Entry | null;
}

/** A port's entries, least recently seen first, and their count. */
interface PortList {
  readonly portNo: number;
  count: number;
  head: Entry | null;
  tail: Entry | null;
}

/** (maxEntries) clamped as mac_learning_set_max_entries does. */
export function clampMacTableSize(n: number): number {
  return n < MAC_MIN_MAX ? MAC_MIN_MAX : n > MAC_MAX_MAX ? MAC_MAX_MAX : Math.floor(n);
}

/** (idle seconds) clamped as normalize_idle_time does. */
export function clampMacAgingTime(s: number): number {
  return s < MAC_MIN_IDLE_TIME ? MAC_MIN_IDLE_TIME : s > MAC_MAX_IDLE_TIME ? MAC_MAX_IDLE_TIME : Math.floor(s);
}

export class MacTable {
  private readonly now: () => number;
  private maxEntries = MAC_DEFAULT_MAX;
  private idleMs = MAC_ENTRY_DEFAULT_IDLE_TIME * 1000;
  /** VLAN -> MAC (48-bit number) -> entry. */
  private readonly byVlan = new Map<number, Map<number, Entry>>();
  private readonly ports = new Map<number, PortList>();
  /** Ports by their entry count (count -> ports with that many); `fullest` is the highest count in use. */
  private readonly buckets = new Map<number, Set<PortList>>();
  private fullest = 0;
  private head: Entry | null = null;
  private tail: Entry | null = null;
  private count = 0;
  private learned = 0;
  private expired = 0;
  private evicted = 0;
  private moved = 0;

  constructor(opts: MacTableOptions & { now?: () => number } = {}) {
    this.now = opts.now ?? Date.now;
    this.configure(opts);
  }

  /** Sets the size and idle time (either left as it is when not given); a smaller size expires the excess at once, oldest first. */
  configure(opts: MacTableOptions): void {
    if (opts.maxEntries !== undefined) this.maxEntries = clampMacTableSize(opts.maxEntries);
    if (opts.idleSeconds !== undefined) this.idleMs = clampMacAgingTime(opts.idleSeconds) * 1000;
    this.run(this.now());
  }

  /** The size and idle time in force. */
  get options(): { maxEntries: number; idleSeconds: number } {
    return { maxEntries: this.maxEntries, idleSeconds: this.idleMs / 1000 };
  }

  /** Number of entries held. */
  get size(): number {
    return this.count;
  }

  /**
   * Learns that `mac` in `vlan` was just seen on `portNo`: refreshes its entry (moving it, and
   * counting the move, when the port changed), or adds one, evicting fairly when the table is full.
   * `gratArp`: the frame is a gratuitous ARP (isGratuitousArp); `fromBond`: `portNo` is a bond. A
   * gratuitous ARP from a port that is not a bond sets the entry's lock; one from a bond while the
   * entry is locked only refreshes it, never moves it (OVS's mac_learning_update). False then.
   */
  learn(vlan: number, mac: number, portNo: number, now = this.now(), gratArp = false, fromBond = false): boolean {
    this.run(now);
    let table = this.byVlan.get(vlan);
    if (table === undefined) this.byVlan.set(vlan, (table = new Map()));
    const lock = gratArp && !fromBond ? now + GRAT_ARP_LOCK_TIME * 1000 : -Infinity;
    const e = table.get(mac);
    if (e !== undefined) {
      // A locked entry is refreshed (mac_learning_insert runs first) but stays on its port.
      const locked = gratArp && fromBond && now < e.garpLock;
      if (gratArp && !fromBond) e.garpLock = lock;
      e.seen = now;
      this.unlink(e);
      this.append(e);
      if (locked || e.port.portNo === portNo) {
        this.portUnlink(e);
        this.portAppend(e);
        if (locked) return false;
      } else {
        this.moved++;
        this.detachFromPort(e);
        e.port = this.portList(portNo);
        this.attachToPort(e);
      }
      return true;
    }
    if (this.count >= this.maxEntries) {
      this.evictFairly();
      // evicting may have emptied this VLAN's table: it stays (a map per VLAN in use is cheap)
    }
    const entry: Entry = { vlan, mac, port: this.portList(portNo), seen: now, garpLock: lock, prev: null, next: null, portPrev: null, portNext: null };
    table.set(mac, entry);
    this.append(entry);
    this.attachToPort(entry);
    this.count++;
    this.learned++;
    return true;
  }

  /** Whether `mac`'s live entry in `vlan` is under a gratuitous-ARP lock (mac_entry_is_grat_arp_locked); changes nothing. */
  isGratArpLocked(vlan: number, mac: number, now = this.now()): boolean {
    const e = this.byVlan.get(vlan)?.get(mac);
    return e !== undefined && now - e.seen < this.idleMs && now < e.garpLock;
  }

  /** The port `mac` was last seen on in `vlan`, if it has not expired. */
  lookup(vlan: number, mac: number, now = this.now()): number | undefined {
    this.run(now);
    return this.byVlan.get(vlan)?.get(mac)?.port.portNo;
  }

  /** The port `mac` was last seen on in `vlan`, if not aged out, changing nothing (no expiry run): for ofproto/trace. */
  peek(vlan: number, mac: number, now = this.now()): number | undefined {
    const e = this.byVlan.get(vlan)?.get(mac);
    return e !== undefined && now - e.seen < this.idleMs ? e.port.portNo : undefined;
  }

  /** Expires the entries idle too long and, after the size was lowered, the excess (mac_learning_run). */
  run(now = this.now()): void {
    let e = this.head;
    while (e !== null && (this.count > this.maxEntries || now - e.seen >= this.idleMs)) {
      const next = e.next;
      this.expired++;
      this.remove(e);
      e = next;
    }
  }

  /** Every entry, least recently seen first (fdb/show's order in OVS), with its age. */
  entries(now = this.now()): { port: number; vlan: number; mac: number; ageMs: number }[] {
    this.run(now);
    const out: { port: number; vlan: number; mac: number; ageMs: number }[] = [];
    for (let e = this.head; e !== null; e = e.next) out.push({ port: e.port.portNo, vlan: e.vlan, mac: e.mac, ageMs: now - e.seen });
    return out;
  }

  /** The counters fdb/stats-show prints. */
  stats(now = this.now()): MacTableStats {
    this.run(now);
    return {
      current: this.count,
      max: this.maxEntries,
      staticEntries: 0,
      learned: this.learned,
      expired: this.expired,
      evicted: this.evicted,
      moved: this.moved,
    };
  }

  /** Zeroes the counters (fdb/stats-clear); the entries stay. */
  clearStats(): void {
    this.learned = this.expired = this.evicted = this.moved = 0;
  }

  /** Forgets every address learned on a port (the port went away); not counted as expired. */
  forgetPort(portNo: number): void {
    const list = this.ports.get(portNo);
    while (list?.head) this.remove(list.head);
  }

  /**
   * Moves every address learned on `from` to `to`, keeping when each was last seen and counting
   * no move (OVS's bundle_move, which RSTP does when an alternate port becomes the root port).
   */
  movePort(from: number, to: number): void {
    const list = this.ports.get(from);
    if (list === undefined || from === to) return;
    while (list.head) {
      const e = list.head;
      this.detachFromPort(e);
      e.port = this.portList(to);
      this.attachToPort(e);
    }
  }

  /** Forgets every address (fdb/flush); not counted as expired. */
  flush(): void {
    this.byVlan.clear();
    this.ports.clear();
    this.buckets.clear();
    this.fullest = 0;
    this.head = this.tail = null;
    this.count = 0;
  }

  // ---- the lists -------------------------------------------------------------------------------

  /** Evicts the least recently seen entry of a port holding the most (the table is full, so there is one). */
  private evictFairly(): void {
    const fullest = this.buckets.get(this.fullest)!.values().next().value as PortList;
    this.evicted++;
    this.remove(fullest.head!);
  }

  private remove(e: Entry): void {
    const table = this.byVlan.get(e.vlan);
    table?.delete(e.mac);
    this.unlink(e);
    this.detachFromPort(e);
    this.count--;
  }

  private portList(portNo: number): PortList {
    let list = this.ports.get(portNo);
    if (list === undefined) this.ports.set(portNo, (list = { portNo, count: 0, head: null, tail: null }));
    return list;
  }

  private append(e: Entry): void {
    e.prev = this.tail;
    e.next = null;
    if (this.tail) this.tail.next = e;
    else this.head = e;
    this.tail = e;
  }

  private unlink(e: Entry): void {
    if (e.prev) e.prev.next = e.next;
    else this.head = e.next;
    if (e.next) e.next.prev = e.prev;
    else this.tail = e.prev;
    e.prev = e.next = null;
  }

  private portAppend(e: Entry): void {
    const list = e.port;
    e.portPrev = list.tail;
    e.portNext = null;
    if (list.tail) list.tail.portNext = e;
    else list.head = e;
    list.tail = e;
  }

  private portUnlink(e: Entry): void {
    const list = e.port;
    if (e.portPrev) e.portPrev.portNext = e.portNext;
    else list.head = e.portNext;
    if (e.portNext) e.portNext.portPrev = e.portPrev;
    else list.tail = e.portPrev;
    e.portPrev = e.portNext = null;
  }

  /** Puts `e` at the tail of its port's list and counts it there. */
  private attachToPort(e: Entry): void {
    this.portAppend(e);
    this.recount(e.port, e.port.count + 1);
  }

  /** Takes `e` off its port's list; a port left without entries is forgotten. */
  private detachFromPort(e: Entry): void {
    const list = e.port;
    this.portUnlink(e);
    this.recount(list, list.count - 1);
    if (list.count === 0) this.ports.delete(list.portNo);
  }

  /** Moves a port from its count's bucket to the new count's, keeping `fullest` right (counts change by one). */
  private recount(list: PortList, to: number): void {
    const from = list.count;
    if (from > 0) {
      const bucket = this.buckets.get(from)!;
      bucket.delete(list);
      if (bucket.size === 0) {
        this.buckets.delete(from);
        if (this.fullest === from) this.fullest = to;
      }
    }
    list.count = to;
    if (to > 0) {
      let bucket = this.buckets.get(to);
      if (bucket === undefined) this.buckets.set(to, (bucket = new Set()));
      bucket.add(list);
      if (to > this.fullest) this.fullest = to;
    }
  }
}
