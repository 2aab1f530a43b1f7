/**
 * AfPacketPort: a Linux interface as a datapath port (type "system"), over our own AF_PACKET addon
 * (datapath/native/af_packet.c: a TPACKET_V3 receive ring, batched sendmmsg).
 *
 * The addon is loaded when the first port opens its socket, not when this module is imported: the
 * rest of the switch (and every in-memory port) runs without a C build.
 *
 * Receiving: the addon calls `onBatch(count)` once per batch of frames; each frame is a view of
 * the memory-mapped ring (no copy), described by 4 words in the shared `meta` array (offset,
 * length, flags, GSO segment size) and valid during that call only. A batch holds at most
 * RX_BUDGET frames, and is cut short after RX_TIME_BUDGET_MS (the frames not taken are handed
 * over again first in the next batch): after it the event loop runs timers, OpenFlow I/O and the
 * other ports before this port's next batch, so a flooded port cannot starve the switch however
 * costly its frames are (af_packet.c). Frames the kernel left
 * unfinished are finished here first (offload.ts): a partial checksum is completed, a GSO
 * super-frame is cut into wire-sized segments; a frame longer than the ring could hold is dropped.
 *
 * Sending: `send` copies the frame into the addon's staging slots, with its skb priority (0 but
 * for ENQUEUE: the HTB class of its queue, qos/); the staged frames of every
 * port go out with one sendmmsg per port at the end of the receive batch being processed, or, for
 * frames sent from anywhere else (PACKET_OUT, timers), on a microtask (tx-batch.ts, shared with
 * the tunnel ports). A frame larger than a slot goes out alone at once.
 *
 * Counters: frames the kernel had no room for in the receive ring are `rxDropped` (the ring's
 * PACKET_STATISTICS); frames the kernel refused on send are `txDropped` when it had no room
 * (ENOBUFS, EAGAIN: as Linux counts a full queue) and `txErrors` otherwise (interface down, ...).
 * Read when asked (stats requests), kept across a reopened socket.
 *
 * Link: admin state (IFF_UP), carrier (IFF_RUNNING, as Open vSwitch reads it) and MAC come from
 * three ioctls (the addon's link(): no file opened, so polling many ports stays cheap); speed and
 * MTU from /sys/class/net, speed read again only when the link changed. A socket error (the
 * interface going down: ENETDOWN; deleted: ENXIO/ENODEV) is reported with the 'socket-error'
 * event and to `watchLink` listeners, never thrown; the socket keeps working when the interface
 * comes back, and an interface deleted and created again under the same name is reopened.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { EventEmitter } from 'eventemitter3';
import { completeChecksum, segmentTcp } from '../offload.js';
import type { LinkInfo, NetPort } from './net-port.js';
import { checkAddonAbi } from './addon-abi.js';
import { PortError, checkInterfaceName, type PortType } from './port-type.js';
import { enterBatch, leaveBatch, noteStaged } from './tx-batch.js';

/** Per-frame flags in the meta array (af_packet.c's FRAME_*). */
export const FRAME_FLAG = {
  CSUM_NOT_READY: 0x1,
  TRUNCATED: 0x2,
  GSO_TCPV4: 0x4,
  GSO_TCPV6: 0x8,
  GSO_OTHER: 0x10,
} as const;
const META_WORDS = 4;

/** What the addon returns from open(). */
interface NativeSocket {
  readonly ring: ArrayBuffer;
  readonly meta: ArrayBuffer;
  readonly tx: ArrayBuffer;
  readonly txLengths: ArrayBuffer;
  readonly txPriorities: ArrayBuffer;
  readonly ifindex: number;
  readonly lastError?: number;
}
interface NativeOptions {
  blockSize: number;
  blockCount: number;
  blockTimeoutMs: number;
  rxBudget: number;
  txSlotSize: number;
  txSlots: number;
}
interface Addon {
  open(
    ifname: string,
    opts: NativeOptions,
    onBatch: (count: number) => number,
    onError: (errno: number, message: string) => void,
  ): NativeSocket;
  flush(sock: NativeSocket, count: number): number;
  sendOne(sock: NativeSocket, frame: Uint8Array, priority: number): number;
  close(sock: NativeSocket): void;
  stats(sock: NativeSocket): NativeStats;
  link(ifname: string): NativeLink | null;
}
/** What the addon's stats() returns: totals since the socket was opened. */
interface NativeStats {
  ringPackets: number;
  ringDrops: number;
  ringFreezes: number;
  txDropped: number;
  txErrors: number;
}
/** What the addon's link() returns. */
interface NativeLink {
  ifindex: number;
  flags: number;
  mac: string;
}

/** Where the built addon may be: beside the sources (datapath/ports/) or seen from the build (dist/datapath/ports/). */
export function addonCandidates(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  const rel = join('native', 'build', 'Release', 'af_packet.node');
  return [join(here, '..', rel), join(here, '..', '..', '..', 'datapath', rel)];
}

let loaded: Addon | undefined;

/** The built addon, loaded on first use. */
function addon(): Addon {
  if (loaded) return loaded;
  const candidates = addonCandidates();
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`af_packet addon not built (run npm run build:native): looked for ${candidates.join(', ')}`);
  const candidate = createRequire(import.meta.url)(found) as Addon & { readonly abi?: unknown };
  checkAddonAbi('af_packet', found, candidate);
  loaded = candidate;
  return loaded;
}
const execFileAsync = promisify(execFile);

const IFF_UP = 0x1;
const IFF_RUNNING = 0x40;
const ENOBUFS = 105;
const EAGAIN = 11;
/** Ring blocks: large enough for a 64 KiB GSO super-frame; 32 of them (4 MiB) per port. */
const BLOCK_SIZE = 128 * 1024;
const BLOCK_COUNT = 32;
const TX_SLOTS = 256;
/**
 * Frames a port hands the datapath per event-loop turn at most. 256 keeps a turn short (at about
 * 1.3 us a forwarded frame and some 5-10 us a table miss sent to a controller, 0.3 to 2.5 ms per
 * busy port) so timers, OpenFlow connections and the other ports wait at most a few ms however
 * hard one port is flooded; and large enough that the per-batch costs (the call into JS, an
 * epoll_wait, one sendmmsg per output port: the TX_SLOTS staging slots fill exactly once) stay
 * negligible per frame. Open vSwitch's netdev ports take 32 (NETDEV_MAX_BURST) per poll, in C.
 */
export const RX_BUDGET = 256;
/**
 * How long one batch may take, in ms: the bound on a turn when frames are costly (a table miss
 * that becomes a PACKET_IN costs tens of us: 256 of them would hold the loop for ~10 ms).
 * Checked every RX_TIME_CHECK frames; forwarding (about 1 us a frame) never reaches it.
 */
export const RX_TIME_BUDGET_MS = 1;
const RX_TIME_CHECK = 16;
/** Ethernet header, two VLAN tags and some slack over the MTU. */
const FRAME_OVERHEAD = 32;

export interface AfPacketPortOptions {
  /** Longest a lone received frame waits in the ring before it is handed over, in ms (>= 1). */
  blockTimeoutMs?: number;
  /** Frames per receive batch at most (default RX_BUDGET). */
  rxBudget?: number;
  /** Time per receive batch at most, in ms (default RX_TIME_BUDGET_MS). */
  rxTimeBudgetMs?: number;
}

export interface AfPacketPortEvents {
  /** The socket reported an error: ENETDOWN (interface down), ENXIO/ENODEV (deleted), ... */
  'socket-error': (errno: number, message: string) => void;
}

export class AfPacketPort extends EventEmitter<AfPacketPortEvents> implements NetPort {
  readonly name: string;
  /** Frames received that could not be forwarded (truncated, not segmentable). */
  rxErrors = 0;
  /** Frames received with a partial checksum, completed here; GSO super-frames cut into segments. */
  checksumsCompleted = 0;
  superFramesSegmented = 0;
  private readonly blockTimeoutMs: number;
  private readonly rxBudget: number;
  private readonly rxTimeBudgetMs: number;
  /** Counters of the sockets closed so far (a reopened socket starts from zero). */
  private readonly before: NativeStats = { ringPackets: 0, ringDrops: 0, ringFreezes: 0, txDropped: 0, txErrors: 0 };
  /** Speed as last read, and the link it was read for (read again when that changes). */
  private speedMbps = 0;
  private speedFor = '';
  private sock: NativeSocket | undefined;
  private ring = new Uint8Array(0);
  private meta = new Uint32Array(0);
  private tx = new Uint8Array(0);
  private txLengths = new Uint32Array(0);
  private txPriorities = new Uint32Array(0);
  private slotSize = 0;
  private txCount = 0;
  private onFrame: ((frame: Uint8Array) => void) | undefined;
  private readonly linkWatchers: (() => void)[] = [];
  private readonly deliver = (segment: Uint8Array): void => this.onFrame?.(segment);

  constructor(name: string, opts: AfPacketPortOptions = {}) {
    super();
    this.name = name;
    this.blockTimeoutMs = Math.max(1, opts.blockTimeoutMs ?? 1);
    this.rxBudget = opts.rxBudget ?? RX_BUDGET;
    this.rxTimeBudgetMs = opts.rxTimeBudgetMs ?? RX_TIME_BUDGET_MS;
  }

  /** Totals over every socket this port has had: the closed ones and the one open now. */
  private counters(): NativeStats {
    const now = this.sock ? addon().stats(this.sock) : undefined;
    const b = this.before;
    return now
      ? {
          ringPackets: b.ringPackets + now.ringPackets,
          ringDrops: b.ringDrops + now.ringDrops,
          ringFreezes: b.ringFreezes + now.ringFreezes,
          txDropped: b.txDropped + now.txDropped,
          txErrors: b.txErrors + now.txErrors,
        }
      : { ...b };
  }

  /** Frames lost because the receive ring was full (the kernel's tp_drops): rx_dropped. */
  get rxDropped(): number {
    return this.counters().ringDrops;
  }

  /** Times the kernel found the receive ring full (tp_freeze_q_cnt; events, not frames). */
  get ringFreezes(): number {
    return this.counters().ringFreezes;
  }

  /** Frames the kernel refused on send for want of room (ENOBUFS, EAGAIN): tx_dropped. */
  get txDropped(): number {
    return this.counters().txDropped;
  }

  /** Frames the kernel refused on send for any other reason (interface down, ...): tx_errors. */
  get txErrors(): number {
    return this.counters().txErrors;
  }

  open(onFrame: (frame: Uint8Array) => void): void {
    this.onFrame = onFrame;
    this.openSocket();
  }

  /** The interface whose egress qdisc the frames sent here pass (QoS, qos/): this one. */
  get qdiscDevice(): string {
    return this.name;
  }

  /** Calls `onChange` whenever the socket reports an error (the link most likely changed). */
  watchLink(onChange: () => void): void {
    this.linkWatchers.push(onChange);
  }

  private openSocket(): void {
    this.closeSocket();
    const mtu = parseInt(readSys(this.name, 'mtu') ?? '1500', 10);
    this.slotSize = Math.ceil((mtu + FRAME_OVERHEAD) / 64) * 64;
    const sock = addon().open(
      this.name,
      {
        blockSize: BLOCK_SIZE,
        blockCount: BLOCK_COUNT,
        blockTimeoutMs: this.blockTimeoutMs,
        rxBudget: this.rxBudget,
        txSlotSize: this.slotSize,
        txSlots: TX_SLOTS,
      },
      (count) => this.onBatch(count),
      (errno, message) => this.onSocketError(errno, message),
    );
    this.sock = sock;
    this.ring = new Uint8Array(sock.ring);
    this.meta = new Uint32Array(sock.meta);
    this.tx = new Uint8Array(sock.tx);
    this.txLengths = new Uint32Array(sock.txLengths);
    this.txPriorities = new Uint32Array(sock.txPriorities);
    this.txCount = 0;
  }

  /** Takes frames [0, count) of the batch until the time budget runs out; returns how many it took. */
  private onBatch(count: number): number {
    const onFrame = this.onFrame;
    if (!onFrame) return count;
    const meta = this.meta;
    const ring = this.ring;
    const deadline = performance.now() + this.rxTimeBudgetMs;
    let i = 0;
    enterBatch();
    try {
      for (let m = 0; i < count; m += META_WORDS) {
        const offset = meta[m] as number;
        const frame = ring.subarray(offset, offset + (meta[m + 1] as number));
        const flags = meta[m + 2] as number;
        i++;
        if (flags === 0) onFrame(frame);
        else this.unfinished(frame, flags, meta[m + 3] as number, onFrame);
        if (this.sock === undefined) break; // closed by a callback
        if (i % RX_TIME_CHECK === 0 && i < count && performance.now() > deadline) break;
      }
    } finally {
      leaveBatch();
    }
    return i;
  }

  /** A frame the kernel flagged: truncated (dropped), GSO (segmented) or partially checksummed. */
  private unfinished(frame: Uint8Array, flags: number, gsoSize: number, onFrame: (frame: Uint8Array) => void): void {
    if ((flags & (FRAME_FLAG.TRUNCATED | FRAME_FLAG.GSO_OTHER)) !== 0) {
      this.rxErrors++;
      return;
    }
    if ((flags & (FRAME_FLAG.GSO_TCPV4 | FRAME_FLAG.GSO_TCPV6)) !== 0) {
      if (segmentTcp(frame, gsoSize, this.deliver) === 0) this.rxErrors++;
      else this.superFramesSegmented++;
      return;
    }
    if (completeChecksum(frame)) this.checksumsCompleted++;
    onFrame(frame);
  }

  private onSocketError(errno: number, message: string): void {
    this.emit('socket-error', errno, message);
    for (const watcher of this.linkWatchers) watcher();
  }

  send(frame: Uint8Array, priority = 0): void {
    const sock = this.sock;
    if (!sock) throw new Error(`${this.name} is closed`);
    if (frame.length > this.slotSize) {
      const errno = addon().sendOne(sock, frame, priority);
      // No room: dropped and counted by the addon (txDropped); anything else is the caller's error.
      if (errno !== 0 && errno !== ENOBUFS && errno !== EAGAIN) throw new Error(`${this.name}: send failed (errno ${errno})`);
      return;
    }
    const slot = this.txCount;
    this.tx.set(frame, slot * this.slotSize);
    this.txLengths[slot] = frame.length;
    this.txPriorities[slot] = priority;
    this.txCount = slot + 1;
    if (slot === 0) noteStaged(this);
    if (this.txCount === TX_SLOTS) this.flush();
  }

  /** Sends every staged frame now (one sendmmsg; what the kernel refuses, the addon counts). */
  flush(): void {
    const count = this.txCount;
    if (count === 0 || !this.sock) return;
    this.txCount = 0;
    addon().flush(this.sock, count);
  }

  readLink(): LinkInfo {
    const link = linkOf(this.name);
    if (this.onFrame && (!this.sock || this.sock.ifindex !== link?.ifindex)) this.reopen(link);
    if (!link) return { adminUp: false, carrier: false, hwAddr: '00:00:00:00:00:00', speedMbps: 0 };
    const carrier = (link.flags & IFF_RUNNING) !== 0;
    const key = `${link.ifindex}/${link.flags}`;
    if (key !== this.speedFor) {
      const speed = parseInt(readSys(this.name, 'speed') ?? '0', 10);
      this.speedMbps = speed > 0 ? speed : 0;
      this.speedFor = key;
    }
    return { adminUp: (link.flags & IFF_UP) !== 0, carrier, hwAddr: link.mac, speedMbps: this.speedMbps };
  }

  /** The interface was deleted (and maybe created again): open the one that has the name now. */
  private reopen(link: NativeLink | null): void {
    if (link === null) {
      if (this.sock) this.closeSocket(); // gone: nothing to receive until it is back
      return;
    }
    try {
      this.openSocket();
    } catch {
      /* not ready yet: next poll */
    }
  }

  async setAdminUp(up: boolean): Promise<void> {
    await execFileAsync('ip', ['link', 'set', 'dev', this.name, up ? 'up' : 'down']);
  }

  /** A frame larger than the send slots sized at open goes out on its own (see above). */
  async setMtu(mtu: number): Promise<void> {
    await execFileAsync('ip', ['link', 'set', 'dev', this.name, 'mtu', String(mtu)]);
  }

  close(): void {
    this.onFrame = undefined;
    this.closeSocket();
  }

  private closeSocket(): void {
    if (!this.sock) return;
    this.flush();
    const last = addon().stats(this.sock);
    for (const k of Object.keys(this.before) as (keyof NativeStats)[]) this.before[k] += last[k];
    addon().close(this.sock);
    this.sock = undefined;
    this.ring = new Uint8Array(0);
    this.meta = new Uint32Array(0);
    this.tx = new Uint8Array(0);
    this.txLengths = new Uint32Array(0);
    this.txPriorities = new Uint32Array(0);
    this.txCount = 0;
  }
}

/** A /sys/class/net attribute, trimmed; undefined when unreadable (e.g. carrier of a down link). */
function readSys(name: string, attr: string): string | undefined {
  try {
    return readFileSync(`/sys/class/net/${name}/${attr}`, 'latin1').trim();
  } catch {
    return undefined;
  }
}

/**
 * An interface's index, flags (IFF_UP, IFF_RUNNING, ...) and MAC by ioctl, or null when there is
 * none of that name in this network namespace.
 */
export function linkOf(name: string): NativeLink | null {
  return addon().link(name);
}

/** Type "system" (also ""): an existing Linux interface. No options. */
export const systemPortType: PortType<AfPacketPort> = {
  name: 'system',
  aliases: [''],
  options: [],
  create(name) {
    checkInterfaceName(name);
    if (!existsSync(`/sys/class/net/${name}`)) throw new PortError(`interface ${name} does not exist`);
    return new AfPacketPort(name);
  },
};
