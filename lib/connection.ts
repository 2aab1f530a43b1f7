/**
 * One OpenFlow channel over a stream socket: framing, the handshake, keepalive, decoding and
 * validation, and strictly ordered processing. What is left for the agent are valid OpenFlow 1.0
 * requests, one at a time.
 *
 * States, as in Open vSwitch's rconn/vconn:
 *
 *   hello-wait --HELLO with a common version--> active <--any message-- probing
 *       |                                          |   --idle for probeInterval-->  (ECHO_REQUEST sent)
 *       +--no common version, or not a HELLO-->    |                                   |
 *       |    HELLO_FAILED/INCOMPATIBLE, close      +--------------------------------> closed
 *       +--no HELLO in OFCONN_HELLO_TIMEOUT_MS-->     framing error, peer gone, close(), or
 *            close                                    probing silent for another probeInterval
 *
 * - Our HELLO goes out at once, before the peer's arrives.
 * - After the handshake a message of another version earns BAD_REQUEST/BAD_VERSION; the
 *   connection stays up. Echo requests are answered here with their xid and payload.
 * - Every refusal, whoever makes it (decoding, validation, the agent), is an OfpError sent with
 *   `sendError`. An exception while decoding or handling a request is a bug, not a refusal: it
 *   is answered with `internalError` (Open vSwitch's NXBRC_UNENCODABLE_ERROR, see
 *   protocol/errors.ts) for the request's xid, logged with its stack, counted in
 *   `internalErrors`, and the connection goes on with the next request.
 * - Messages are processed in arrival order, each completely (its replies and errors written)
 *   before the next starts, even when the handler is asynchronous. A BARRIER_REQUEST therefore
 *   needs nothing special: by the time it is handled, everything before it is done and sent.
 * - The idle probe runs when `probeIntervalMs` is set: on controller connections and, as Open
 *   vSwitch's service connections are, on those a listener accepted (the switch gives those their
 *   listener's interval). As in OVS's rconn, only a whole message counts as activity: bytes of a
 *   message that never completes do not hold the probe off.
 * - Whatever the probe, a connection that has not sent its HELLO within OFCONN_HELLO_TIMEOUT_MS
 *   (2 s) is closed, and so is one that has held part of a message (framed but incomplete) for
 *   longer than the probe interval (OFCONN_STALL_LIMIT_NO_PROBE_MS without a probe): each with one
 *   log line, the reason of "connection closed". A closed connection drops its input buffer and its
 *   output queue at once, so memory a peer made the switch hold goes with the connection.
 *
 * Output is bounded as Open vSwitch's connmgr/rconn bound it (constants in protocol/constants.ts).
 * A message the kernel does not take at once waits in the socket's buffer, and counts as queued
 * until it has been handed to the kernel:
 * - Replies (and errors, HELLO, echoes, PORT_STATUS) are never dropped. Once OFCONN_REPLY_MAX of
 *   them (or OFCONN_REPLY_BYTES_MAX bytes) wait, the connection stops reading and processing
 *   requests until some are written: a peer that does not read cannot make the switch answer more.
 * - Asynchronous messages (`sendAsync`: PACKET_IN, FLOW_REMOVED) are dropped while
 *   CONTROLLER_QUEUE_SIZE of them (or OFCONN_ASYNC_BYTES_MAX bytes) wait, and counted per kind
 *   (`outputDrops`), with a log line at most every 10 s while it goes on.
 * - Output that makes no progress (something queued, nothing written) for longer than the probe
 *   interval, or OFCONN_STALL_LIMIT_NO_PROBE_MS without a probe, closes the connection with one log
 *   line (the reason of "connection closed"), freeing what was queued at once.
 * - `whenWritable()` lets a long reply go out part by part as fast as the peer reads.
 * Deliberate difference: Open vSwitch sends FLOW_REMOVED as a reply (never dropped; connmgr.c
 * reasons that a connection whose requests wait adds no flows that could expire). Its count is
 * then bounded only by the table: a million entries expiring at once to a peer that does not
 * read would queue a million messages. ofswitch drops and counts them past the budget instead.
 */
import type { Socket } from 'node:net';
import {
  CONTROLLER_QUEUE_SIZE,
  OFCONN_ASYNC_BYTES_MAX,
  OFCONN_HELLO_TIMEOUT_MS,
  OFCONN_REPLY_BYTES_MAX,
  OFCONN_REPLY_MAX,
  OFCONN_STALL_LIMIT_NO_PROBE_MS,
  OFP_VERSION,
  OFPBRC,
  OFPET,
  OFPHFC,
  OFPT,
  MessageFramer,
  decodeMessage,
  encodeMessage,
  internalError,
  nameOf,
  negotiateVersion,
  requestError,
  validateMessage,
  xidOf,
} from '../protocol/index.js';
import type { Hello, OfpError, OfpMessage } from '../protocol/index.js';
import type { Logger } from './log.js';
import { describePeer } from './listener.js';
import { looksLikeTls } from './tls-config.js';
import { CONNECTION_BASE_BYTES, connectionClosed } from './memory.js';

export type ConnectionState = 'hello-wait' | 'active' | 'probing' | 'closed';

/** What the agent does with a connection's requests. */
export interface ConnectionHandler {
  /** A valid request after the handshake (not HELLO, ECHO_*, ERROR). May return a promise: the next message waits. */
  onMessage(conn: Connection, msg: OfpMessage, bytes: Uint8Array): void | Promise<void>;
  onActive?(conn: Connection): void;
  onClose?(conn: Connection, reason: string): void;
}

export interface ConnectionOptions {
  readonly id: number;
  /** 'controller': an active connection to a configured controller; 'passive': accepted by a listener. */
  readonly kind: 'controller' | 'passive';
  readonly handler: ConnectionHandler;
  readonly log: Logger;
  /** Idle interval before an echo probe; no probing when null. */
  readonly probeIntervalMs: number | null;
  readonly now?: () => number;
}

/** How often a connection checks that its output still moves (ms, at most). */
const STALL_CHECK_MS = 1000;
/** While asynchronous messages are being dropped, at most one log line this often (ms). */
const DROP_LOG_INTERVAL_MS = 10_000;

/** What is queued unwritten on a connection. */
export interface OutputBacklog {
  readonly replies: number;
  readonly replyBytes: number;
  readonly async: number;
  readonly asyncBytes: number;
}

export class Connection {
  readonly id: number;
  readonly kind: 'controller' | 'passive';
  readonly peer: string;
  private stateValue: ConnectionState = 'hello-wait';
  private readonly socket: Socket;
  private framer = new MessageFramer();
  private readonly handler: ConnectionHandler;
  private readonly log: Logger;
  private readonly probeIntervalMs: number | null;
  private readonly now: () => number;
  private readonly queue: Uint8Array[] = [];
  private busy = false;
  private lastReceived: number;
  private probeSentAt = 0;
  private probeTimer: NodeJS.Timeout | null = null;
  private helloTimer: NodeJS.Timeout | null = null;
  /** When the incomplete message the framer holds began to arrive; null between messages. */
  private partialSince: number | null = null;
  private nextXid = 1;
  private internalErrorCount = 0;
  /**
   * Every message written whose write callback is still to come, in order: its size when it waits
   * in the socket's buffer (negative: asynchronous), 0 when the kernel took it at once.
   */
  private readonly unflushed: number[] = [];
  private replyCount = 0;
  private replyByteCount = 0;
  private asyncCount = 0;
  private asyncByteCount = 0;
  /** When output last made progress (or began to wait, when nothing was queued before). */
  private outputProgressAt = 0;
  private readonly stallLimitMs: number;
  private stallTimer: NodeJS.Timeout | null = null;
  private readingPaused = false;
  private readonly drops = new Map<string, number>();
  /** Asynchronous messages written (or queued to be), by kind, and OFPT_ERRORs sent, by type (metrics/). */
  private readonly asyncSent = new Map<string, number>();
  private readonly errorsSent = new Map<number, number>();
  private lastDropLog = -Infinity;
  private readonly writableWaiters: (() => void)[] = [];
  private readonly flushed = (): void => this.onFlushed();

  constructor(socket: Socket, options: ConnectionOptions) {
    this.socket = socket;
    this.id = options.id;
    this.kind = options.kind;
    this.handler = options.handler;
    this.probeIntervalMs = options.probeIntervalMs;
    this.now = options.now ?? Date.now;
    this.lastReceived = this.now();
    this.peer = describePeer(socket);
    this.log = options.log.child(this.kind === 'controller' ? { conn: this.id, kind: this.kind, peer: this.peer } : { conn: this.id, peer: this.peer });
    this.stallLimitMs = this.probeIntervalMs ?? OFCONN_STALL_LIMIT_NO_PROBE_MS;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('drain', () => this.wakeWriters());
    socket.on('error', (err) => this.close(`socket error: ${err.message}`));
    socket.on('close', () => this.close('peer closed the connection'));
    this.log.limited('connection').info('connection opened');
    this.send({ version: OFP_VERSION, type: OFPT.HELLO, xid: this.allocateXid(), body: new Uint8Array(0) });
    this.helloTimer = setTimeout(() => this.checkHello(), OFCONN_HELLO_TIMEOUT_MS);
    this.helloTimer.unref();
    this.stallTimer = setInterval(() => this.checkStall(), Math.min(STALL_CHECK_MS, Math.max(10, this.stallLimitMs / 4)));
    this.stallTimer.unref();
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** Handshake complete and not closed: asynchronous messages may be sent. */
  get isActive(): boolean {
    return this.stateValue === 'active' || this.stateValue === 'probing';
  }

  /** Requests whose decoding or handling threw (each answered with an internal error). */
  get internalErrors(): number {
    return this.internalErrorCount;
  }

  /** A fresh xid for a message the switch originates. */
  private allocateXid(): number {
    const xid = this.nextXid;
    this.nextXid = (this.nextXid + 1) >>> 0 || 1;
    return xid;
  }

  send(msg: OfpMessage): void {
    if (this.stateValue === 'closed') return;
    this.sendEncoded(msg, encodeMessage(msg));
  }

  /**
   * Sends `msg` already encoded as `bytes` (one encoding shared by every connection it goes to),
   * never dropped: a reply, an error or a message the peer must see.
   */
  sendEncoded(msg: OfpMessage, bytes: Buffer): void {
    if (this.stateValue === 'closed') return;
    if (this.log.debugEnabled) this.log.debug('send', { type: nameOf(OFPT, msg.type), xid: msg.xid, len: bytes.length });
    if (this.write(bytes)) {
      this.unflushed.push(bytes.length);
      this.replyCount++;
      this.replyByteCount += bytes.length;
    } else this.unflushed.push(0);
    if (!this.readingPaused && this.repliesFull()) {
      this.readingPaused = true;
      this.socket.pause();
    }
  }

  /**
   * Sends an asynchronous message (PACKET_IN, FLOW_REMOVED) unless the output budget is used up;
   * then drops it, counts it under `kind`, and returns false.
   */
  sendAsync(msg: { readonly type: number; readonly xid: number }, bytes: Buffer, kind: string): boolean {
    if (this.stateValue === 'closed') return false;
    if (this.asyncCount >= CONTROLLER_QUEUE_SIZE || this.asyncByteCount + bytes.length > OFCONN_ASYNC_BYTES_MAX) {
      this.drops.set(kind, (this.drops.get(kind) ?? 0) + 1);
      const now = this.now();
      if (now - this.lastDropLog >= DROP_LOG_INTERVAL_MS) {
        this.lastDropLog = now;
        this.log.limited('queue-overflow').info('output queue full: dropping asynchronous messages', { backlog: this.asyncCount, dropped: Object.fromEntries(this.drops) });
      }
      this.checkStall();
      return false;
    }
    if (this.log.debugEnabled) this.log.debug('send', { type: nameOf(OFPT, msg.type), xid: msg.xid, len: bytes.length });
    this.asyncSent.set(kind, (this.asyncSent.get(kind) ?? 0) + 1);
    if (this.write(bytes)) {
      this.unflushed.push(-bytes.length);
      this.asyncCount++;
      this.asyncByteCount += bytes.length;
    } else this.unflushed.push(0);
    return true;
  }

  /**
   * Writes `bytes`; true when they wait in the socket's buffer (the kernel did not take them at
   * once), which is what the budget counts: a burst the peer keeps up with costs nothing.
   */
  private write(bytes: Buffer): boolean {
    const idle = this.socket.writableLength === 0;
    this.socket.write(bytes, this.flushed);
    const waits = this.socket.writableLength > 0;
    if (idle && waits) this.outputProgressAt = this.now();
    return waits;
  }

  /** Asynchronous messages dropped for the output budget, by kind. */
  outputDrops(): Record<string, number> {
    return Object.fromEntries(this.drops);
  }

  /** Asynchronous messages sent, by the kind sendAsync was given. */
  asyncMessagesSent(): ReadonlyMap<string, number> {
    return this.asyncSent;
  }

  /** OFPT_ERRORs sent, by error type (OFPET). */
  errorMessagesSent(): ReadonlyMap<number, number> {
    return this.errorsSent;
  }

  private countError(type: number): void {
    this.errorsSent.set(type, (this.errorsSent.get(type) ?? 0) + 1);
  }

  /** What waits to be written now. */
  get backlog(): OutputBacklog {
    return { replies: this.replyCount, replyBytes: this.replyByteCount, async: this.asyncCount, asyncBytes: this.asyncByteCount };
  }

  /**
   * Resolves once the connection can take more output without growing its queue (at once when it
   * can, or when it closes). A handler that produces a long reply part by part awaits this between
   * parts, so a slow reader gets the reply as fast as it reads, never all of it in memory.
   */
  whenWritable(): Promise<void> {
    if (this.stateValue === 'closed' || (!this.socket.writableNeedDrain && !this.repliesFull())) return Promise.resolve();
    return new Promise((resolve) => this.writableWaiters.push(resolve));
  }

  private wakeWriters(): void {
    if (this.stateValue !== 'closed' && (this.socket.writableNeedDrain || this.repliesFull())) return;
    for (const wake of this.writableWaiters.splice(0)) wake();
  }

  private repliesFull(): boolean {
    return this.replyCount >= OFCONN_REPLY_MAX || this.replyByteCount >= OFCONN_REPLY_BYTES_MAX;
  }

  /** A message reached the kernel: the oldest one queued (write callbacks come in order). */
  private onFlushed(): void {
    if (this.stateValue === 'closed') return;
    const size = this.unflushed.shift() as number; // one entry per write, callbacks in order
    if (size > 0) {
      this.replyCount--;
      this.replyByteCount -= size;
    } else {
      this.asyncCount--;
      this.asyncByteCount += size;
    }
    this.outputProgressAt = this.now();
    if (this.readingPaused && !this.repliesFull()) {
      this.readingPaused = false;
      this.socket.resume();
      this.pump();
    }
    if (this.writableWaiters.length > 0) this.wakeWriters();
  }

  /**
   * Output queued and no progress for longer than the limit: the peer does not read; close. Part
   * of a message held for longer than the same limit: the peer does not finish it; close.
   */
  private checkStall(): void {
    if (this.stateValue === 'closed') return;
    if (this.partialSince !== null && !this.readingPaused) {
      const held = this.now() - this.partialSince;
      if (held > this.stallLimitMs) {
        const bytes = this.framer.buffered;
        return this.close(`partial message held for ${held} ms (limit ${this.stallLimitMs} ms, ${bytes} bytes of it)`, true);
      }
    }
    if (this.socket.writableLength === 0) return;
    const blocked = this.now() - this.outputProgressAt;
    if (blocked > this.stallLimitMs) this.close(`output blocked for ${blocked} ms (limit ${this.stallLimitMs} ms): the peer does not read`, true);
  }

  /** Answers a request with the error it earned. */
  sendError(err: OfpError): void {
    this.countError(err.errorType);
    this.send(err.toMessage());
  }

  /** Closes the connection (after writing what is queued, unless `discard`); idempotent. */
  close(reason: string, discard = false): void {
    if (this.stateValue === 'closed') return;
    this.stateValue = 'closed';
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = null;
    if (this.helloTimer) clearTimeout(this.helloTimer);
    this.helloTimer = null;
    if (this.stallTimer) clearInterval(this.stallTimer);
    this.stallTimer = null;
    connectionClosed(CONNECTION_BASE_BYTES + this.framer.buffered + this.socket.writableLength);
    this.framer = new MessageFramer(); // what a partial message held goes now
    this.partialSince = null;
    this.queue.length = 0;
    this.unflushed.length = 0;
    this.replyCount = this.replyByteCount = this.asyncCount = this.asyncByteCount = 0;
    if (discard || this.socket.destroyed) this.socket.destroy();
    else {
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1000).unref();
    }
    const drops = this.drops.size > 0 ? { dropped: Object.fromEntries(this.drops) } : {};
    this.log.limited('connection').info('connection closed', { reason, ...(this.internalErrorCount > 0 ? { internalErrors: this.internalErrorCount } : {}), ...drops });
    this.wakeWriters();
    this.handler.onClose?.(this, reason);
  }

  private receive(chunk: Buffer): void {
    if (this.stateValue === 'closed') return;
    if (this.stateValue === 'hello-wait' && this.framer.buffered === 0 && looksLikeTls(chunk)) {
      // As OVS's stream_report_content_mismatch: one line; the connection is dropped at once.
      this.log.limited('tls').warn('received SSL/TLS data on a plain OpenFlow channel: refused (the peer wants ssl:/pssl:)');
      return this.close('TLS handshake on a plain TCP port', true);
    }
    const messages = this.framer.push(chunk);
    const now = this.now();
    if (this.framer.buffered === 0) this.partialSince = null;
    else if (this.partialSince === null || messages.length > 0) this.partialSince = now;
    // As OVS's rconn: only a whole message is activity (a dribble of bytes never completing is not).
    if (messages.length > 0) {
      this.lastReceived = now;
      if (this.stateValue === 'probing') this.stateValue = 'active';
    }
    this.queue.push(...messages);
    // The replies to one chunk's requests (ovs-ofctl add-flows sends a BARRIER after every
    // FLOW_MOD) go out in one write, not one system call each.
    this.socket.cork();
    try {
      this.pump();
    } finally {
      this.socket.uncork();
    }
    if (this.framer.error !== null) this.close(`framing error: ${this.framer.error}`);
  }

  /** Processes queued messages in order; an asynchronous handler holds back the ones after it. */
  private pump(): void {
    while (!this.busy && this.queue.length > 0 && this.stateValue !== 'closed' && !this.readingPaused) {
      const bytes = this.queue.shift() as Uint8Array;
      let pending: void | Promise<void>;
      try {
        pending = this.process(bytes);
      } catch (err) {
        this.failed(bytes, err);
        continue;
      }
      if (pending) {
        this.busy = true;
        pending
          .catch((err: unknown) => this.failed(bytes, err))
          .finally(() => {
            this.busy = false;
            this.pump();
          });
      }
    }
  }

  /** Decoding or handling `bytes` threw: a bug. Answered, logged with its stack, counted; the connection goes on. */
  private failed(bytes: Uint8Array, err: unknown): void {
    this.internalErrorCount++;
    const stack = err instanceof Error ? err.stack : String(err);
    const type = nameOf(OFPT, bytes[1] ?? 0);
    this.log.limited('internal-error').error('internal error handling a request', { xid: xidOf(bytes), type, stack, internalErrors: this.internalErrorCount });
    this.sendError(internalError(bytes, err instanceof Error ? err.message : String(err)));
  }

  private process(bytes: Uint8Array): void | Promise<void> {
    const version = bytes[0] ?? 0;
    const type = bytes[1] ?? 0;
    const xid = xidOf(bytes);
    if (this.stateValue === 'hello-wait') return this.handshake(bytes, version, type, xid);
    if (version !== OFP_VERSION) {
      this.log.limited('bad-message').warn('message of another version', { version, xid });
      return this.sendError(requestError(OFPET.BAD_REQUEST, OFPBRC.BAD_VERSION, bytes, `version ${version}`));
    }
    const decoded = decodeMessage(bytes);
    if (!decoded.ok) {
      this.log.limited('bad-message').warn('bad message', { reason: decoded.reason, xid });
      return this.sendError(decoded);
    }
    const msg = decoded.message;
    const invalid = validateMessage(msg, bytes);
    if (invalid) {
      this.log.limited('error-reply').info('refused message', { reason: invalid.reason, xid });
      return this.sendError(invalid);
    }
    if (this.log.debugEnabled) this.log.debug('receive', { type: nameOf(OFPT, msg.type), xid });
    switch (msg.type) {
      case OFPT.ECHO_REQUEST:
        return this.send({ version: OFP_VERSION, type: OFPT.ECHO_REPLY, xid: msg.xid, data: msg.data });
      case OFPT.ECHO_REPLY:
      case OFPT.HELLO:
        return;
      case OFPT.ERROR:
        this.log.limited('bad-message').warn('peer sent an error', { errorType: msg.errorType, code: msg.code, xid });
        return;
      default:
        return this.handler.onMessage(this, msg, bytes);
    }
  }

  private handshake(bytes: Uint8Array, version: number, type: number, xid: number): void {
    if (type !== OFPT.HELLO) return this.helloFailed(xid, `expected HELLO, got message type ${type}`);
    const hello: Hello = { version, type: OFPT.HELLO, xid, body: bytes.subarray(8) };
    const agreed = negotiateVersion(hello);
    if (agreed === null)
      return this.helloFailed(xid, `We support version 0x0${OFP_VERSION}, you support version 0x${version.toString(16).padStart(2, '0')}.`);
    this.stateValue = 'active';
    if (this.helloTimer) clearTimeout(this.helloTimer);
    this.helloTimer = null;
    // as OVS: INFO for a controller connection, DBG for one a listener accepted (rconn.c "connected")
    this.log.limited('connection')[this.kind === 'controller' ? 'info' : 'debug']('handshake done', { version: agreed, peerVersion: version });
    this.scheduleProbe();
    this.handler.onActive?.(this);
  }

  private helloFailed(xid: number, text: string): void {
    this.log.limited('bad-message').warn('handshake failed', { reason: text });
    this.countError(OFPET.HELLO_FAILED);
    this.send({
      version: OFP_VERSION,
      type: OFPT.ERROR,
      xid,
      errorType: OFPET.HELLO_FAILED,
      code: OFPHFC.INCOMPATIBLE,
      data: new TextEncoder().encode(text),
    });
    this.close(`handshake failed: ${text}`);
  }

  /**
   * No HELLO yet: close. The check waits for the next turn of the event loop first, so that a HELLO
   * already in the socket (the loop was busy when the timer came due) is read before the verdict.
   */
  private checkHello(): void {
    this.helloTimer = null;
    setImmediate(() => {
      if (this.stateValue !== 'hello-wait') return;
      this.close(`no HELLO in ${this.now() - this.lastReceived} ms (limit ${OFCONN_HELLO_TIMEOUT_MS} ms)`, true);
    });
  }

  private scheduleProbe(): void {
    const interval = this.probeIntervalMs;
    if (interval === null || this.stateValue === 'closed' || this.stateValue === 'hello-wait') return;
    const due = this.stateValue === 'active' ? this.lastReceived + interval : this.probeSentAt + interval;
    this.probeTimer = setTimeout(() => this.checkIdle(), Math.max(0, due - this.now()));
    this.probeTimer.unref();
  }

  /** Idle for an interval: probe; the probe unanswered for another: give up. */
  private checkIdle(): void {
    const interval = this.probeIntervalMs ?? 0;
    const now = this.now();
    if (this.stateValue === 'active' && now - this.lastReceived >= interval) {
      this.stateValue = 'probing';
      this.probeSentAt = now;
      this.log.debug('idle: echo probe');
      this.send({ version: OFP_VERSION, type: OFPT.ECHO_REQUEST, xid: this.allocateXid(), data: new Uint8Array(0) });
    } else if (this.stateValue === 'probing' && now - this.probeSentAt >= interval) {
      return this.close(`no reply to echo probe in ${now - this.probeSentAt} ms`);
    }
    this.scheduleProbe();
  }
}
