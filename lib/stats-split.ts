/**
 * Splitting a statistics reply into messages that fit the 16-bit length field: every part but the
 * last carries OFPSF_REPLY_MORE, as the spec asks of multipart replies.
 */
import { OFP_MAX_MESSAGE_LEN, OFP_SIZE, OFPSF } from '../protocol/constants.js';

/** Most body bytes one OFPT_STATS_REPLY can carry. */
export const MAX_STATS_BODY = OFP_MAX_MESSAGE_LEN - OFP_SIZE.stats_reply;

/** Consecutive groups of items whose sizes add up to at most `limit`; always at least one group. */
export function splitBySize<T>(items: readonly T[], sizeOf: (item: T) => number, limit = MAX_STATS_BODY): T[][] {
  const parts: T[][] = [[]];
  let used = 0;
  for (const item of items) {
    const size = sizeOf(item);
    const current = parts[parts.length - 1] as T[];
    if (used + size > limit && current.length > 0) {
      parts.push([item]);
      used = size;
    } else {
      current.push(item);
      used += size;
    }
  }
  return parts;
}

/**
 * The same split done as items come (a reply produced a slice of the table at a time): a part is
 * sent, with OFPSF_REPLY_MORE, once the next one is full too, so no more than two parts are ever
 * held; end() sends the last part without the flag (an empty one when no item came).
 */
export class StatsParts<T> {
  /** Parts sent so far. */
  sent = 0;
  private held: T[] | null = null;
  private part: T[] = [];
  private used = 0;
  private readonly sizeOf: (item: T) => number;
  private readonly send: (items: T[], flags: number) => void;
  private readonly limit: number;

  constructor(sizeOf: (item: T) => number, send: (items: T[], flags: number) => void, limit = MAX_STATS_BODY) {
    this.sizeOf = sizeOf;
    this.send = send;
    this.limit = limit;
  }

  add(item: T): void {
    const size = this.sizeOf(item);
    if (this.used + size > this.limit && this.part.length > 0) {
      this.sendHeld();
      this.held = this.part;
      this.part = [];
      this.used = 0;
    }
    this.part.push(item);
    this.used += size;
  }

  /** Sends what is left: the held part (more follows), then the last. */
  end(): void {
    this.sendHeld();
    this.send(this.part, 0);
    this.sent++;
  }

  private sendHeld(): void {
    if (this.held === null) return;
    this.send(this.held, OFPSF.REPLY_MORE);
    this.sent++;
    this.held = null;
  }
}
