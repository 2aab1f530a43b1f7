/**
 * The in-memory port (type "memory"), Open vSwitch's netdev-dummy: no kernel, no addon, no root.
 * Frames go in with `inject` (as if they arrived on the interface) and what the switch sends out of
 * the port comes back as a 'frame' event, through the async iterator `frames()`, and (when the port
 * was made with `record: true`, as unit tests do) in the `sent` list.
 *
 * Every frame handed out is a copy the receiver owns. Nothing is kept unless somebody asked for it:
 * an embedded switch whose memory port nobody listens to does not grow.
 */
import { EventEmitter } from 'eventemitter3';
import type { MacAddress } from '../../protocol/types.js';
import { PortError, type PortType } from './port-type.js';
import type { LinkInfo, NetPort } from './net-port.js';

export interface MemoryPortOptions {
  /** The port's MAC address (default: aa:55:aa:55:00:01, 02, ... as OVS numbers its dummy ports). */
  readonly hwAddr?: MacAddress;
  /** Link speed reported in the port description, Mb/s (default 10,000). */
  readonly speedMbps?: number;
  /** Keep every sent frame in `sent` (for `take()`). */
  readonly record?: boolean;
}

export interface MemoryPortEvents {
  /** A frame the switch sent out of this port (a copy). */
  frame: (frame: Uint8Array) => void;
}

let nextMac = 1;

/** aa:55:aa:55:HH:LL, numbered per process, as Open vSwitch's dummy netdevs are. */
function defaultMac(): MacAddress {
  const n = nextMac++ & 0xffff;
  return `aa:55:aa:55:${(n >> 8).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`;
}

/** A reader of `frames()`: its own queue, and the pending `next()` if it waits. */
interface FrameReader {
  readonly queue: Uint8Array[];
  wake: ((r: IteratorResult<Uint8Array>) => void) | undefined;
}

export class MemoryPort extends EventEmitter<MemoryPortEvents> implements NetPort {
  readonly name: string;
  /** What the switch sent, oldest first, when made with `record: true`. */
  readonly sent: Uint8Array[] = [];
  /** The skb priority each recorded frame was sent with (ENQUEUE's class; 0 for plain outputs). */
  readonly sentPriorities: number[] = [];
  link: LinkInfo;
  /** Set by tests: frames "refused later" and frames "received but not delivered". */
  txErrors = 0;
  rxErrors = 0;
  private readonly record: boolean;
  private readonly readers = new Set<FrameReader>();
  private onFrame: ((frame: Uint8Array) => void) | undefined;
  private closed = false;
  private cable = true;

  constructor(name: string, opts: MemoryPortOptions = {}) {
    super();
    this.name = name;
    this.record = opts.record ?? false;
    this.link = { adminUp: true, carrier: true, hwAddr: opts.hwAddr ?? defaultMac(), speedMbps: opts.speedMbps ?? 10_000 };
  }

  open(onFrame: (frame: Uint8Array) => void): void {
    this.onFrame = onFrame;
  }

  /** Delivers a frame to the switch as if it had arrived on the interface (dropped when not attached). */
  inject(frame: Uint8Array): void {
    this.onFrame?.(frame);
  }

  send(frame: Uint8Array, priority = 0): void {
    if (!this.link.adminUp) throw new Error(`${this.name} is down`);
    if (this.record) {
      this.sent.push(frame.slice());
      this.sentPriorities.push(priority);
    }
    for (const reader of this.readers) {
      const copy = frame.slice();
      if (reader.wake) {
        const wake = reader.wake;
        reader.wake = undefined;
        wake({ value: copy, done: false });
      } else reader.queue.push(copy);
    }
    if (this.listenerCount('frame') > 0) this.emit('frame', frame.slice());
  }

  /** Removes and returns what was recorded so far. */
  take(): Uint8Array[] {
    this.sentPriorities.length = 0;
    return this.sent.splice(0);
  }

  /**
   * Every frame sent from now on, in order, until the port is closed (then the iterator ends).
   * Breaking out of a `for await` loop stops the recording.
   */
  frames(): AsyncIterableIterator<Uint8Array> {
    const reader: FrameReader = { queue: [], wake: undefined };
    if (!this.closed) this.readers.add(reader);
    const done = (): IteratorResult<Uint8Array> => ({ value: undefined, done: true });
    const iterator: AsyncIterableIterator<Uint8Array> = {
      next: () => {
        const frame = reader.queue.shift();
        if (frame) return Promise.resolve({ value: frame, done: false });
        if (!this.readers.has(reader)) return Promise.resolve(done());
        return new Promise((resolve) => {
          reader.wake = resolve;
        });
      },
      return: () => {
        this.endReader(reader);
        return Promise.resolve(done());
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** The next frame sent, or an error after `timeoutMs`. */
  async nextFrame(timeoutMs = 1000): Promise<Uint8Array> {
    const it = this.frames();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.name}: no frame sent within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const r = await Promise.race([it.next(), timeout]);
      if (r.done) throw new Error(`${this.name} was closed`);
      return r.value;
    } finally {
      clearTimeout(timer);
      void it.return?.();
    }
  }

  private endReader(reader: FrameReader): void {
    this.readers.delete(reader);
    reader.queue.length = 0;
    const wake = reader.wake;
    reader.wake = undefined;
    wake?.({ value: undefined, done: true });
  }

  readLink(): LinkInfo {
    return this.link;
  }

  async setAdminUp(up: boolean): Promise<void> {
    this.link = { ...this.link, adminUp: up, carrier: up && this.cable };
  }

  /** Plugs or unplugs the (virtual) cable: carrier while administratively up. */
  setCarrier(carrier: boolean): void {
    this.cable = carrier;
    this.link = { ...this.link, carrier: carrier && this.link.adminUp };
  }

  close(): void {
    this.onFrame = undefined;
    this.closed = true;
    for (const reader of [...this.readers]) {
      // Frames already queued are still read; the iterator ends after them.
      this.readers.delete(reader);
      const wake = reader.wake;
      reader.wake = undefined;
      wake?.({ value: undefined, done: true });
    }
  }
}

/** Type "memory": options `mac` (the port's MAC) and `speed` (Mb/s). */
export const memoryPortType: PortType<MemoryPort> = {
  name: 'memory',
  options: ['mac', 'speed'],
  create(name, options) {
    const mac = options['mac'];
    const speed = options['speed'];
    if (mac !== undefined && !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(String(mac)))
      throw new PortError(`port ${name}: mac "${String(mac)}" is not a MAC address`);
    if (speed !== undefined && !/^\d+$/.test(String(speed))) throw new PortError(`port ${name}: speed "${String(speed)}" is not a number of Mb/s`);
    return new MemoryPort(name, {
      ...(mac !== undefined ? { hwAddr: String(mac).toLowerCase() } : {}),
      ...(speed !== undefined ? { speedMbps: Number(speed) } : {}),
    });
  },
};
