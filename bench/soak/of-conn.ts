/**
 * A lean OpenFlow 1.0 connection for the soak's controllers, on the project's codec: it keeps
 * nothing it was not asked to keep (a soak receives millions of PACKET_INs), answers the switch's
 * ECHO_REQUESTs, counts what arrives, and hands each message to whoever waits for its xid, else
 * to `onMessage`.
 *
 *   const c = await OfConn.connect(port);          // TCP, HELLO both ways
 *   const reply = await c.request(msg, 10_000);    // the first message with msg's xid
 *   const parts = await c.stats(req, 10_000);      // every part of a multipart stats reply
 */
import { connect, type Socket } from 'node:net';
import { MessageFramer, OFP_VERSION, OFPSF, OFPT, decodeMessage, encodeMessage } from '../../protocol/index.js';
import type { OfpMessage, StatsReply, StatsRequest } from '../../protocol/index.js';

export interface ConnCounters {
  packetIns: number;
  portStatus: number;
  errors: number;
  /** Messages from the switch the codec could not decode. */
  undecodable: number;
  bytesIn: number;
}

type Waiter = (m: OfpMessage) => boolean;

export class OfConn {
  readonly socket: Socket;
  readonly counters: ConnCounters = { packetIns: 0, portStatus: 0, errors: 0, undecodable: 0, bytesIn: 0 };
  /** Messages nobody waits for (PACKET_IN, PORT_STATUS, barrier replies...). */
  onMessage: (m: OfpMessage) => void = () => undefined;
  /** Raw messages that did not decode (with the codec's reason). */
  onUndecodable: (bytes: Uint8Array, reason: string) => void = () => undefined;
  closed = false;
  /** Resolves when the connection is closed, by either side. */
  readonly whenClosed: Promise<void>;
  private readonly framer = new MessageFramer();
  private readonly waiters = new Map<number, Waiter>();
  private nextXid = 0x10000;

  constructor(socket: Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => undefined);
    this.whenClosed = new Promise((resolve) => socket.once('close', () => {
      this.closed = true;
      for (const w of this.waiters.values()) w({ version: OFP_VERSION, type: OFPT.HELLO, xid: -1, body: new Uint8Array(0) });
      this.waiters.clear();
      resolve();
    }));
  }

  /** Connects over TCP and exchanges HELLOs (within `timeoutMs`). */
  static async connect(port: number, timeoutMs = 10_000): Promise<OfConn> {
    const socket = connect({ port, host: '127.0.0.1' });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const conn = new OfConn(socket);
    await conn.hello(timeoutMs);
    return conn;
  }

  /** Sends HELLO and waits for the switch's (it sends its own at once). */
  async hello(timeoutMs: number): Promise<void> {
    const got = new Promise<OfpMessage>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no HELLO from the switch')), timeoutMs);
      const before = this.onMessage;
      this.onMessage = (m) => {
        if (m.type !== OFPT.HELLO) return before(m);
        this.onMessage = before;
        clearTimeout(timer);
        resolve(m);
      };
      void this.whenClosed.then(() => reject(new Error('closed before HELLO')));
    });
    this.send({ version: OFP_VERSION, type: OFPT.HELLO, xid: this.xid(), body: new Uint8Array(0) });
    await got;
  }

  xid(): number {
    this.nextXid = (this.nextXid + 1) >>> 0 || 1;
    return this.nextXid;
  }

  send(msg: OfpMessage): void {
    if (!this.closed) this.socket.write(encodeMessage(msg));
  }

  sendRaw(bytes: Uint8Array): void {
    if (!this.closed) this.socket.write(bytes);
  }

  /** The first message with `msg.xid` (an ERROR counts); rejects on timeout or close. */
  request(msg: OfpMessage, timeoutMs: number): Promise<OfpMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(msg.xid);
        reject(new Error(`no reply to ${msg.type} xid ${msg.xid} in ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(msg.xid, (m) => {
        clearTimeout(timer);
        if (m.xid === -1) reject(new Error(`connection closed before the reply to xid ${msg.xid}`));
        else resolve(m);
        return true;
      });
      this.send(msg);
    });
  }

  /** Every part of a stats reply (until one without OFPSF_REPLY_MORE); an ERROR rejects. */
  stats(req: StatsRequest, timeoutMs: number): Promise<StatsReply[]> {
    return new Promise((resolve, reject) => {
      const parts: StatsReply[] = [];
      const timer = setTimeout(() => {
        this.waiters.delete(req.xid);
        reject(new Error(`stats reply xid ${req.xid} incomplete after ${timeoutMs} ms (${parts.length} parts)`));
      }, timeoutMs);
      this.waiters.set(req.xid, (m) => {
        if (m.xid === -1 || m.type !== OFPT.STATS_REPLY) {
          clearTimeout(timer);
          reject(new Error(m.xid === -1 ? `connection closed during the stats reply xid ${req.xid}` : `stats request xid ${req.xid} answered with message type ${m.type}`));
          return true;
        }
        parts.push(m);
        if ((m.flags & OFPSF.REPLY_MORE) !== 0) return false;
        clearTimeout(timer);
        resolve(parts);
        return true;
      });
      this.send(req);
    });
  }

  /** Stops reading from the socket (the switch's output then queues up), or starts again. */
  pause(): void {
    this.socket.pause();
  }
  resume(): void {
    this.socket.resume();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    this.counters.bytesIn += chunk.length;
    for (const bytes of this.framer.push(chunk)) {
      // PACKET_INs come by the hundred thousand: counted from the header, one in 64 decoded (to see they decode).
      if (bytes[1] === OFPT.PACKET_IN && bytes[0] === OFP_VERSION && (this.counters.packetIns++ & 63) !== 0) continue;
      const d = decodeMessage(bytes);
      if (!d.ok) {
        this.counters.undecodable++;
        this.onUndecodable(Uint8Array.prototype.slice.call(bytes), d.reason);
        continue;
      }
      const m = d.message;
      if (m.type === OFPT.PACKET_IN) continue;
      if (m.type === OFPT.ECHO_REQUEST) {
        this.send({ version: OFP_VERSION, type: OFPT.ECHO_REPLY, xid: m.xid, data: m.data });
        continue;
      }
      if (m.type === OFPT.PORT_STATUS) this.counters.portStatus++;
      if (m.type === OFPT.ERROR) this.counters.errors++;
      const w = m.type === OFPT.PORT_STATUS || m.type === OFPT.FLOW_REMOVED ? undefined : this.waiters.get(m.xid);
      if (w) {
        if (w(m)) this.waiters.delete(m.xid);
        continue;
      }
      this.onMessage(m);
    }
    if (this.framer.error !== null) {
      this.counters.undecodable++;
      this.onUndecodable(new Uint8Array(0), `framing error: ${this.framer.error}`);
      this.socket.destroy();
    }
  }
}
