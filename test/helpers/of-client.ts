/**
 * A raw OpenFlow test client over TCP: send messages (typed, or raw bytes to test malformed
 * input), and wait for the next message matching a predicate. Used to drive a switch the way a
 * controller would, without any of a controller's politeness.
 */
import { connect, type Socket } from 'node:net';
import { MessageFramer, OFP_VERSION, OFPT, decodeMessage, encodeMessage } from '../../protocol/index.js';
import type { OfpMessage } from '../../protocol/index.js';

export interface Received {
  readonly msg: OfpMessage | null;
  readonly bytes: Uint8Array;
}

export class OfClient {
  readonly socket: Socket;
  /** Received and not yet taken by next(). */
  readonly received: Received[] = [];
  /** Every message received, in order. */
  readonly history: Received[] = [];
  closed = false;
  private readonly framer = new MessageFramer();
  private waiters: (() => void)[] = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      for (const bytes of this.framer.push(chunk)) {
        const copy = Uint8Array.prototype.slice.call(bytes);
        const d = decodeMessage(copy);
        const r = { msg: d.ok ? d.message : null, bytes: copy };
        this.received.push(r);
        this.history.push(r);
      }
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  /** A client over an already connected socket (e.g. one a test controller accepted); no HELLO sent. */
  static wrap(socket: Socket): OfClient {
    return new OfClient(socket);
  }

  static async connect(port: number, host = '127.0.0.1', options: { hello?: boolean } = {}): Promise<OfClient> {
    const socket = connect({ port, host });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new OfClient(socket);
    if (options.hello !== false) {
      client.send({ version: OFP_VERSION, type: OFPT.HELLO, xid: 1, body: new Uint8Array(0) });
      await client.next((m) => m.type === OFPT.HELLO);
    }
    return client;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(msg: OfpMessage): void {
    this.socket.write(encodeMessage(msg));
  }

  sendRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Removes and returns the first received message matching `pred`, waiting up to `timeoutMs`. */
  async next(pred: (m: OfpMessage) => boolean = () => true, timeoutMs = 3000): Promise<OfpMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.received.findIndex((r) => r.msg !== null && pred(r.msg));
      if (i >= 0) return this.received.splice(i, 1)[0]?.msg as OfpMessage;
      if (this.closed) throw new Error('connection closed while waiting');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a message');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends a request and waits for the reply with its xid (an ERROR counts as a reply). */
  async request(msg: OfpMessage, timeoutMs = 3000): Promise<OfpMessage> {
    this.send(msg);
    return this.next((m) => m.xid === msg.xid && m.type !== OFPT.PACKET_IN, timeoutMs);
  }

  /**
   * Asks for asynchronous messages as `ovs-ofctl monitor` does: SET_CONFIG with a nonzero
   * miss_send_len (a service connection, one a listener accepted, gets none before), then a barrier.
   */
  async monitor(missSendLen = 128): Promise<void> {
    this.send({ version: OFP_VERSION, type: OFPT.SET_CONFIG, xid: 0x5e7, flags: 0, missSendLen });
    await this.request({ version: OFP_VERSION, type: OFPT.BARRIER_REQUEST, xid: 0x5e8 });
  }

  /** Resolves when the peer has closed the connection. */
  async waitClosed(timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('connection still open');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
