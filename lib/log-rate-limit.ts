/**
 * Log rate limits, as Open vSwitch's VLOG_RATE_LIMIT_INIT / VLOG_*_RL (lib/vlog.c, lib/token-bucket.c).
 *
 * Every log line a remote peer can cause (a connection opened or closed, a bad message, an error
 * sent back, a failed handshake, an accept failure) goes through the limiter of its kind, so a
 * peer that opens thousands of connections or sends garbage cannot fill the disk. Startup and
 * configuration lines are not limited.
 *
 * Each kind is a token bucket, as OVS's: it starts full with BURST messages' worth of tokens and
 * refills at RATE messages per minute (OVS counts VLOG_MSG_TOKENS = 60,000 tokens per message and
 * adds RATE tokens per millisecond; the arithmetic below is the same, in whole tokens). A line
 * that finds too few tokens is dropped and counted. The next line of that kind that passes is
 * preceded by one summary line, at its level, worded as OVS words it:
 *   "Dropped N log messages in last S seconds (most recently, T seconds ago) due to excessive rate"
 * with S and T in whole seconds (OVS uses time_t) since the first and the last dropped line.
 * A line whose level is disabled neither costs a token nor counts as dropped (vlog_should_drop
 * tests the level first).
 *
 * Deliberate difference: OVS has one limiter per call site (a static in each function), and a few
 * shared by a whole file; here the limiters are named kinds, shared by every call site of that
 * kind in the process's logger tree (one tree per daemon, so every bridge and connection shares
 * them, as every bridge in ovs-vswitchd shares a call site's static).
 */

/** RATE messages per minute, at most BURST at once (VLOG_RATE_LIMIT_INIT(RATE, BURST)). */
export interface RateLimit {
  readonly perMinute: number;
  readonly burst: number;
}

/**
 * The kinds of peer-caused log lines and their limits. Where Open vSwitch logs the same event,
 * its limit is used; the connection lines, which OVS writes at debug level for connections it
 * accepted (rconn.c: "unreliable" connections), get a limit that lets a person running
 * ovs-ofctl by hand see every one and an abusive peer at most about one a second.
 */
export const LOG_RATE_LIMITS = {
  /** Connection opened, handshake done, connection closed. */
  connection: { perMinute: 60, burst: 60 },
  /** A message that does not decode, of another version, or not HELLO first; an error from the peer (vconn.c bad_ofmsg_rl). */
  'bad-message': { perMinute: 1, burst: 5 },
  /** A valid message refused with an OFPT_ERROR (connmgr.c ofconn_send_error's err_rl). */
  'error-reply': { perMinute: 10, burst: 10 },
  /** An exception while handling a request: a bug, counted on the connection whatever is logged. */
  'internal-error': { perMinute: 5, burst: 20 },
  /** Asynchronous messages dropped for a full output queue (connmgr.c's "dropping packet-in due to queue overflow"). */
  'queue-overflow': { perMinute: 5, burst: 5 },
  /** accept() failing on a listener, e.g. out of file descriptors (connmgr.c "accept failed"). */
  accept: { perMinute: 1, burst: 5 },
  /** A TLS handshake refused (no, a foreign or an expired certificate; plain TCP on a TLS port): stream-ssl.c's rl. */
  tls: { perMinute: 10, burst: 25 },
  /** A connection refused for the cap on concurrent connections. */
  'connection-refused': { perMinute: 5, burst: 5 },
  /** A controller connection failing or made again (reconnects are spaced by backoff already). */
  controller: { perMinute: 20, burst: 20 },
} as const satisfies Record<string, RateLimit>;

export type LogKind = keyof typeof LOG_RATE_LIMITS;

/** Why a line passed after some were dropped: the summary OVS writes before it. */
export interface DroppedSummary {
  readonly dropped: number;
  /** Whole seconds since the first dropped line. */
  readonly firstSecondsAgo: number;
  /** Whole seconds since the last dropped line. */
  readonly lastSecondsAgo: number;
}

/** The summary line's text, as vlog_should_drop words it. */
export function droppedText(s: DroppedSummary): string {
  return `Dropped ${s.dropped} log messages in last ${s.firstSecondsAgo} seconds (most recently, ${s.lastSecondsAgo} seconds ago) due to excessive rate`;
}

/** Tokens one message costs: one minute of a rate of one per minute, in milliseconds (VLOG_MSG_TOKENS). */
const MSG_TOKENS = 60_000;

/** One kind's token bucket and its count of dropped lines. */
export class LogRateLimiter {
  readonly limit: RateLimit;
  private tokens = 0;
  private lastFill = -Infinity;
  private nDropped = 0;
  private firstDropped = 0;
  private lastDropped = 0;

  constructor(limit: RateLimit) {
    this.limit = limit;
  }

  /** Lines dropped since the last one that passed. */
  get dropped(): number {
    return this.nDropped;
  }

  /**
   * Whether a line at `nowMs` passes: 'drop', or 'pass' with the summary of what was dropped
   * before it (null when nothing was).
   */
  admit(nowMs: number): { readonly pass: false } | { readonly pass: true; readonly summary: DroppedSummary | null } {
    if (!this.withdraw(nowMs)) {
      const now = Math.floor(nowMs / 1000);
      if (this.nDropped === 0) this.firstDropped = now;
      this.lastDropped = now;
      this.nDropped++;
      return { pass: false };
    }
    if (this.nDropped === 0) return { pass: true, summary: null };
    const now = Math.floor(nowMs / 1000);
    const summary = { dropped: this.nDropped, firstSecondsAgo: now - this.firstDropped, lastSecondsAgo: now - this.lastDropped };
    this.nDropped = 0;
    return { pass: true, summary };
  }

  /** token_bucket_withdraw: refill by the time elapsed (capped at the burst) only when short. */
  private withdraw(nowMs: number): boolean {
    if (this.tokens < MSG_TOKENS) {
      if (nowMs > this.lastFill) {
        const elapsed = nowMs - this.lastFill; // Infinity the first time: the bucket starts full
        this.tokens = Math.min(this.tokens + this.limit.perMinute * elapsed, this.limit.burst * MSG_TOKENS);
        this.lastFill = nowMs;
      }
      if (this.tokens < MSG_TOKENS) return false;
    }
    this.tokens -= MSG_TOKENS;
    return true;
  }
}
