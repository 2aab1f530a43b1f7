/**
 * AfPacketPort: a Linux interface as a datapath port (type "system"), over our own AF_PACKET addon
 * (datapath/native/af_packet.c: a TPACKET_V3 receive ring, batched sendmmsg).
 *
 * The addon is loaded when the first port opens its socket, not when this module is imported: the
 * rest of the switch (and every in-memory port) runs without a C build.
 *
 * Receiving: the addon calls `onBatch(count)` once per batch of frames; each frame is a view of
 * the memory-mapped ring (no copy), described by 4 words in the shared `meta` array (offset,
 * length, flags, GSO segment size) and valid during that call only. Frames the kernel left
 * unfinished are finished here first (offload.ts): a partial checksum is completed, a GSO
 * super-frame is cut into wire-sized segments; a frame longer than the ring could hold is dropped.
 *
 * Sending: `send` copies the frame into the addon's staging slots; the staged frames of every
 * port go out with one sendmmsg per port at the end of the receive batch being processed, or, for
 * frames sent from anywhere else (PACKET_OUT, timers), on a microtask. A frame larger than a slot
 * goes out alone at once.
 *
 * Link: admin state, carrier, MAC, speed and MTU come from /sys/class/net. A socket error (the
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
import { PortError, checkInterfaceName, type PortType } from './port-type.js';

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
  readonly ifindex: number;
  readonly lastError?: number;
}
interface NativeOptions {
  blockSize: number;
  blockCount: number;
  blockTimeoutMs: number;
  txSlotSize: number;
  txSlots: number;
}
interface Addon {
  open(
    ifname: string,
    opts: NativeOptions,
    onBatch: (count: number) => void,
    onError: (errno: number, message: string) => void,
  ): NativeSocket;
  flush(sock: NativeSocket, count: number): number;
  sendOne(sock: NativeSocket, frame: Uint8Array): number;
  close(sock: NativeSocket): void;
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
  loaded = createRequire(import.meta.url)(found) as Addon;
  return loaded;
}
const execFileAsync = promisify(execFile);

const IFF_UP = 0x1;
/** Ring blocks: large enough for a 64 KiB GSO super-frame; 32 of them (4 MiB) per port. */
const BLOCK_SIZE = 128 * 1024;
const BLOCK_COUNT = 32;
const TX_SLOTS = 256;
/** Ethernet header, two VLAN tags and some slack over the MTU. */
const FRAME_OVERHEAD = 32;

export interface AfPacketPortOptions {
  /** Longest a lone received frame waits in the ring before it is handed over, in ms (>= 1). */
  blockTimeoutMs?: number;
}

export interface AfPacketPortEvents {
  /** The socket reported an error: ENETDOWN (interface down), ENXIO/ENODEV (deleted), ... */
  'socket-error': (errno: number, message: string) => void;
}

// ---- flushing staged frames -----------------------------------------------------------------

/** Ports with staged frames, flushed at the end of the current receive batch or on a microtask. */
const staged: AfPacketPort[] = [];
let batchDepth = 0;
let flushQueued = false;

function flushStaged(): void {
  flushQueued = false;
  for (let i = 0; i < staged.length; i++) (staged[i] as AfPacketPort).flush();
  staged.length = 0;
}

function noteStaged(port: AfPacketPort): void {
  staged.push(port);
  if (batchDepth === 0 && !flushQueued) {
    flushQueued = true;
    queueMicrotask(flushStaged);
  }
}

export class AfPacketPort extends EventEmitter<AfPacketPortEvents> implements NetPort {
  readonly name: string;
  /** Frames refused by the kernel on send, and frames received that could not be forwarded. */
  txErrors = 0;
  rxErrors = 0;
  /** Frames received with a partial checksum, completed here; GSO super-frames cut into segments. */
  checksumsCompleted = 0;
  superFramesSegmented = 0;
  private readonly blockTimeoutMs: number;
  private sock: NativeSocket | undefined;
  private ring = new Uint8Array(0);
  private meta = new Uint32Array(0);
  private tx = new Uint8Array(0);
  private txLengths = new Uint32Array(0);
  private slotSize = 0;
  private txCount = 0;
  private onFrame: ((frame: Uint8Array) => void) | undefined;
  private readonly linkWatchers: (() => void)[] = [];
  private readonly deliver = (segment: Uint8Array): void => this.onFrame?.(segment);

  constructor(name: string, opts: AfPacketPortOptions = {}) {
    super();
    this.name = name;
    this.blockTimeoutMs = Math.max(1, opts.blockTimeoutMs ?? 1);
  }

  open(onFrame: (frame: Uint8Array) => void): void {
    this.onFrame = onFrame;
    this.openSocket();
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
      { blockSize: BLOCK_SIZE, blockCount: BLOCK_COUNT, blockTimeoutMs: this.blockTimeoutMs, txSlotSize: this.slotSize, txSlots: TX_SLOTS },
      (count) => this.onBatch(count),
      (errno, message) => this.onSocketError(errno, message),
    );
    this.sock = sock;
    this.ring = new Uint8Array(sock.ring);
    this.meta = new Uint32Array(sock.meta);
    this.tx = new Uint8Array(sock.tx);
    this.txLengths = new Uint32Array(sock.txLengths);
    this.txCount = 0;
  }

  private onBatch(count: number): void {
    const onFrame = this.onFrame;
    if (!onFrame) return;
    const meta = this.meta;
    const ring = this.ring;
    batchDepth++;
    try {
      for (let i = 0, m = 0; i < count; i++, m += META_WORDS) {
        const offset = meta[m] as number;
        const frame = ring.subarray(offset, offset + (meta[m + 1] as number));
        const flags = meta[m + 2] as number;
        if (flags === 0) onFrame(frame);
        else this.unfinished(frame, flags, meta[m + 3] as number, onFrame);
        if (this.sock === undefined) break; // closed by a callback
      }
    } finally {
      batchDepth--;
      if (batchDepth === 0) flushStaged();
    }
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

  send(frame: Uint8Array): void {
    const sock = this.sock;
    if (!sock) throw new Error(`${this.name} is closed`);
    if (frame.length > this.slotSize) {
      const errno = addon().sendOne(sock, frame);
      if (errno !== 0) throw new Error(`${this.name}: send failed (errno ${errno})`);
      return;
    }
    const slot = this.txCount;
    this.tx.set(frame, slot * this.slotSize);
    this.txLengths[slot] = frame.length;
    this.txCount = slot + 1;
    if (slot === 0) noteStaged(this);
    if (this.txCount === TX_SLOTS) this.flush();
  }

  /** Sends every staged frame now (one sendmmsg). */
  flush(): void {
    const count = this.txCount;
    if (count === 0 || !this.sock) return;
    this.txCount = 0;
    const sent = addon().flush(this.sock, count);
    if (sent < count) this.txErrors += count - sent;
  }

  private adminUp(): boolean {
    return (parseInt(readSys(this.name, 'flags') ?? '0', 16) & IFF_UP) !== 0;
  }

  readLink(): LinkInfo {
    if (this.onFrame && (!this.sock || this.sock.ifindex !== ifindexOf(this.name))) this.reopen();
    const speed = parseInt(readSys(this.name, 'speed') ?? '0', 10);
    return {
      adminUp: this.adminUp(),
      carrier: readSys(this.name, 'carrier') === '1',
      hwAddr: readSys(this.name, 'address') ?? '00:00:00:00:00:00',
      speedMbps: speed > 0 ? speed : 0,
    };
  }

  /** The interface was deleted (and maybe created again): open the one that has the name now. */
  private reopen(): void {
    if (ifindexOf(this.name) === undefined) {
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
    addon().close(this.sock);
    this.sock = undefined;
    this.ring = new Uint8Array(0);
    this.meta = new Uint32Array(0);
    this.tx = new Uint8Array(0);
    this.txLengths = new Uint32Array(0);
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

function ifindexOf(name: string): number | undefined {
  const v = readSys(name, 'ifindex');
  return v === undefined ? undefined : parseInt(v, 10);
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
