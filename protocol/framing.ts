/**
 * MessageFramer: cuts a TCP byte stream into OpenFlow messages.
 *
 * How framing works: every message starts with the 8-byte ofp_header whose 16-bit length field
 * counts the whole message, header included. `push` walks each chunk:
 *
 * 1. If a message was left incomplete by earlier chunks, bytes of this chunk complete it first:
 *    the header into an 8-byte scratch array, then, once its length is known, the body into a
 *    buffer that grows with what has arrived (never more than twice that, and at most the
 *    message's length): a peer that sends a header announcing 64 KiB and then nothing makes the
 *    switch hold a few bytes, not 64 KiB. Only such split messages are ever copied.
 * 2. Messages that lie wholly inside the chunk are returned as views into it (subarray: same
 *    memory, no copy). The caller must not reuse the chunk's memory while it holds them.
 * 3. A tail shorter than its message starts a new split message (step 1 on the next chunk).
 *
 * A length field below 8 cannot be framed (there is no way to find the next message), so it is
 * a framing error: `error` is set, nothing more is returned, and the connection must be closed, as
 * Open vSwitch does. Messages completed before the bad header in the same chunk are still returned.
 * Buffering is bounded by one message (at most 65535 bytes); "need more bytes" is the normal state
 * between chunks, never an exception.
 */
import { OFP_SIZE } from './constants.js';

const HEADER = OFP_SIZE.header;

export class MessageFramer {
  #error: string | null = null;
  /** Header bytes of a split message while fewer than 8 have arrived. */
  readonly #head = new Uint8Array(HEADER);
  #headFill = 0;
  /** The split message being assembled once its length is known, and how much of it is filled. */
  #partial: Buffer | null = null;
  #partialFill = 0;
  /** The split message's length (#partial may be shorter until it has arrived). */
  #partialLength = 0;

  /** Null while the stream is well framed; the reason once a length field below 8 was seen. */
  get error(): string | null {
    return this.#error;
  }

  /** Bytes held for an incomplete message (0 between messages). */
  get buffered(): number {
    return this.#partial ? this.#partialFill : this.#headFill;
  }

  /** Every message completed by `chunk`, in order. */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    if (this.#error !== null) return out;
    let off = this.#headFill > 0 || this.#partial ? this.#continueSplit(chunk, out) : 0;
    if (off < 0) return out;
    while (chunk.length - off >= HEADER) {
      const len = ((chunk[off + 2] ?? 0) << 8) | (chunk[off + 3] ?? 0);
      if (len < HEADER) {
        this.#fail(len);
        return out;
      }
      if (chunk.length - off < len) break;
      out.push(chunk.subarray(off, off + len));
      off += len;
    }
    if (off < chunk.length) this.#startSplit(chunk.subarray(off));
    return out;
  }

  /** Feeds the start of `chunk` to the split message; returns where the rest begins, or -1 if all was used. */
  #continueSplit(chunk: Uint8Array, out: Uint8Array[]): number {
    let off = 0;
    if (!this.#partial) {
      const take = Math.min(HEADER - this.#headFill, chunk.length);
      this.#head.set(chunk.subarray(0, take), this.#headFill);
      this.#headFill += take;
      off = take;
      if (this.#headFill < HEADER) return -1;
      const len = ((this.#head[2] ?? 0) << 8) | (this.#head[3] ?? 0);
      if (len < HEADER) {
        this.#fail(len);
        return -1;
      }
      this.#partialLength = len;
      this.#partial = Buffer.allocUnsafe(Math.min(len, Math.max(HEADER + chunk.length - off, 2 * HEADER)));
      this.#partial.set(this.#head, 0);
      this.#partialFill = HEADER;
      this.#headFill = 0;
    }
    const take = Math.min(this.#partialLength - this.#partialFill, chunk.length - off);
    let partial = this.#partial;
    if (this.#partialFill + take > partial.length) {
      const grown = Buffer.allocUnsafe(Math.min(this.#partialLength, Math.max(this.#partialFill + take, 2 * partial.length)));
      grown.set(partial.subarray(0, this.#partialFill), 0);
      partial = this.#partial = grown;
    }
    partial.set(chunk.subarray(off, off + take), this.#partialFill);
    this.#partialFill += take;
    off += take;
    if (this.#partialFill < this.#partialLength) return -1;
    out.push(partial);
    this.#partial = null;
    this.#partialFill = 0;
    return off;
  }

  /** Keeps a tail that does not hold a whole message (copied: the chunk's memory is not ours). */
  #startSplit(tail: Uint8Array): void {
    this.#headFill = 0;
    this.#continueSplit(tail, []);
  }

  #fail(len: number): void {
    this.#error = `OpenFlow length field ${len} is below the 8-byte header: cannot frame the stream`;
    this.#partial = null;
    this.#headFill = 0;
  }
}
