/**
 * Packet buffers: frames held by the switch while a controller decides about them (the
 * buffer_id of PACKET_IN). A fixed pool of slots; a buffer id is the slot number in the low 8
 * bits and a per-slot generation above it, so a stale id (the slot reused since) is recognised
 * as unknown instead of releasing somebody else's packet. A buffer expires after `lifetimeMs`;
 * a frame arriving while every slot holds a live buffer is not buffered (its PACKET_IN then
 * carries the whole frame with OFP_NO_BUFFER). Each buffer is released by its first use.
 */
import { OFP_NO_BUFFER } from '../protocol/constants.js';

const BUFFER_POOL_SIZE = 256;
const BUFFER_LIFETIME_MS = 5000;
const SLOT_BITS = 8;
/** Generations stay below 2^23 so an id never reaches OFP_NO_BUFFER (0xffffffff). */
const GENERATION_LIMIT = 1 << 23;

export interface BufferedPacket {
  readonly frame: Uint8Array;
  readonly inPort: number;
}

interface Slot {
  generation: number;
  packet: BufferedPacket | null;
  expiresAt: number;
}

export class BufferPool {
  readonly size: number;
  private readonly slots: Slot[];
  private readonly lifetimeMs: number;
  private readonly now: () => number;
  private next = 0;

  constructor(options: { size?: number; lifetimeMs?: number; now?: () => number } = {}) {
    this.size = options.size ?? BUFFER_POOL_SIZE;
    this.lifetimeMs = options.lifetimeMs ?? BUFFER_LIFETIME_MS;
    this.now = options.now ?? Date.now;
    this.slots = Array.from({ length: this.size }, () => ({ generation: 0, packet: null, expiresAt: 0 }));
  }

  /** Holds a copy of the frame; its buffer id, or OFP_NO_BUFFER when every slot is in use. */
  store(frame: Uint8Array, inPort: number): number {
    const now = this.now();
    for (let tried = 0; tried < this.size; tried++) {
      const index = (this.next + tried) % this.size;
      const slot = this.slots[index];
      if (!slot || (slot.packet !== null && slot.expiresAt > now)) continue;
      this.next = (index + 1) % this.size;
      slot.generation = (slot.generation + 1) % GENERATION_LIMIT;
      slot.packet = { frame: Uint8Array.prototype.slice.call(frame), inPort };
      slot.expiresAt = now + this.lifetimeMs;
      return ((slot.generation << SLOT_BITS) | index) >>> 0;
    }
    return OFP_NO_BUFFER;
  }

  /** The packet of a live buffer, releasing it; null when the id is unknown, used or expired. */
  take(bufferId: number): BufferedPacket | null {
    if (bufferId === OFP_NO_BUFFER) return null;
    const slot = this.slots[bufferId & ((1 << SLOT_BITS) - 1)];
    if (!slot || slot.packet === null || slot.generation !== bufferId >>> SLOT_BITS) return null;
    const packet = slot.packet;
    slot.packet = null;
    return slot.expiresAt > this.now() ? packet : null;
  }
}
