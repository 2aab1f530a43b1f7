/**
 * The JSON-RPC 1.0 messages of the control protocol, checked and written the way Open vSwitch 3.1
 * does it (lib/jsonrpc.c, as seen on the wire from its daemons):
 *
 * - A request is an object with exactly `method` (a string), `params` (an array) and a non-null
 *   `id`; `result` and `error` may only appear as null. Any other member, or any other shape,
 *   makes the message invalid, and the server drops the connection without an answer. Replies
 *   and notifications (id null) are valid JSON-RPC but not requests: dropped the same way.
 * - A success is `{"id":ID,"result":TEXT,"error":null}`, a failure `{"id":ID,"error":TEXT}`
 *   (Open vSwitch leaves `result` out of an error reply), members in that order.
 */

export interface Request {
  readonly method: string;
  /** As received: the server checks their count and that each is a string. */
  readonly params: readonly unknown[];
  readonly id: unknown;
}

const MEMBERS = new Set(['method', 'params', 'id', 'result', 'error']);

/** The request in `text`, or a reason why it is none. */
export function parseRequest(text: string): { request: Request } | { invalid: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { invalid: `not JSON: ${(err as Error).message}` };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { invalid: 'message is not a JSON object' };
  const o = json as Record<string, unknown>;
  const extra = Object.keys(o).find((k) => !MEMBERS.has(k));
  if (extra !== undefined) return { invalid: `message has unexpected member "${extra}"` };
  if ((o['result'] ?? null) !== null || (o['error'] ?? null) !== null) return { invalid: 'received a reply, not a request' };
  if (typeof o['method'] !== 'string') return { invalid: 'method is not a JSON string' };
  if (!Array.isArray(o['params'])) return { invalid: '"params" must be JSON array' };
  if ((o['id'] ?? null) === null) return { invalid: 'received a notification, not a request' };
  return { request: { method: o['method'], params: o['params'], id: o['id'] } };
}

/** The reply to request `id`: success with `text`, or failure with `text`. */
export function encodeReply(id: unknown, ok: boolean, text: string): string {
  const idJson = JSON.stringify(id);
  return ok
    ? `{"id":${idJson},"result":${JSON.stringify(text)},"error":null}`
    : `{"id":${idJson},"error":${JSON.stringify(text)}}`;
}
