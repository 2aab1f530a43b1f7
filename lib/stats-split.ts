/**
 * Splitting a statistics reply into messages that fit the 16-bit length field: every part but the
 * last carries OFPSF_REPLY_MORE, as the spec asks of multipart replies.
 */
import { OFP_MAX_MESSAGE_LEN, OFP_SIZE } from '../protocol/constants.js';

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
