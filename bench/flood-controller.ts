/**
 * A controller that reads everything a switch sends under a table-miss flood and measures how
 * promptly the switch answers it: the miss-flood benchmark's controller (run as its own process)
 * and the flood test's (in the test's process).
 *
 * It listens on 127.0.0.1:PORT and, with each switch that connects, completes the handshake
 * (HELLO, FEATURES_REQUEST, SET_CONFIG with miss_send_len 128) and answers ECHO_REQUESTs. It
 * counts PACKET_INs without decoding them (the header's type byte is enough: the reader must be
 * cheap so that it keeps up with the flood and never becomes the bottleneck). While probing, it
 * sends an ECHO_REQUEST every `intervalMs` and records the round trip of each ECHO_REPLY (by xid;
 * requests never answered are counted).
 * As a process of its own: bench/flood-controller-main.ts.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { MessageFramer, OFP_DEFAULT_MISS_SEND_LEN, OFP_VERSION, OFPT, encodeMessage, type OfpMessage } from '../protocol/index.js';

export interface FloodStats {
  connected: number;
  packetIns: number;
  /** Messages of every type received. */
  messages: number;
  echoSent: number;
  /** Round trips of the ECHO_REPLYs received since the probe started, in ms, in arrival order. */
  echoRtts: number[];
}

export class FloodController {
  readonly stats: FloodStats = { connected: 0, packetIns: 0, messages: 0, echoSent: 0, echoRtts: [] };
  private readonly sockets = new Set<Socket>();
  private readonly pending = new Map<number, bigint>();
  private xid = 1;
  private probeTimer: NodeJS.Timeout | undefined;
  private server: Server | undefined;
  private readonly onConnected: () => void;

  constructor(onConnected: () => void = () => undefined) {
    this.onConnected = onConnected;
  }

  /** Listens on 127.0.0.1:`port` (0: any free port); resolves to the port. */
  async listen(port: number): Promise<number> {
    const server = createServer((s) => this.serve(s));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP port');
    return address.port;
  }

  private send(socket: Socket, m: OfpMessage): void {
    socket.write(encodeMessage(m));
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const framer = new MessageFramer();
    this.send(socket, { version: OFP_VERSION, type: OFPT.HELLO, xid: this.xid++, body: new Uint8Array(0) });
    this.send(socket, { version: OFP_VERSION, type: OFPT.FEATURES_REQUEST, xid: this.xid++ });
    this.send(socket, { version: OFP_VERSION, type: OFPT.SET_CONFIG, xid: this.xid++, flags: 0, missSendLen: OFP_DEFAULT_MISS_SEND_LEN });
    socket.on('data', (chunk: Buffer) => {
      for (const m of framer.push(chunk)) this.handle(socket, m);
      if (framer.error !== null) socket.destroy();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
  }

  private handle(socket: Socket, m: Uint8Array): void {
    this.stats.messages++;
    const type = m[1];
    const xid = ((m[4]! << 24) | (m[5]! << 16) | (m[6]! << 8) | m[7]!) >>> 0;
    switch (type) {
      case OFPT.PACKET_IN:
        this.stats.packetIns++;
        return;
      case OFPT.ECHO_REQUEST:
        this.send(socket, { version: OFP_VERSION, type: OFPT.ECHO_REPLY, xid, data: m.subarray(8) });
        return;
      case OFPT.ECHO_REPLY: {
        const sentAt = this.pending.get(xid);
        if (sentAt === undefined) return;
        this.pending.delete(xid);
        this.stats.echoRtts.push(Number(process.hrtime.bigint() - sentAt) / 1e6);
        return;
      }
      case OFPT.FEATURES_REPLY:
        this.stats.connected++;
        this.onConnected();
        return;
      default:
        return;
    }
  }

  /** Sends an ECHO_REQUEST to every switch every `intervalMs`, recording the round trips from now on. */
  startProbe(intervalMs: number): void {
    this.stopProbe();
    this.stats.echoRtts = [];
    this.stats.echoSent = 0;
    this.pending.clear();
    this.probeTimer = setInterval(() => {
      for (const s of this.sockets) {
        const xid = 0x80000000 + (this.xid++ & 0x7fffffff);
        this.pending.set(xid >>> 0, process.hrtime.bigint());
        this.stats.echoSent++;
        this.send(s, { version: OFP_VERSION, type: OFPT.ECHO_REQUEST, xid: xid >>> 0, data: new Uint8Array(0) });
      }
    }, intervalMs);
  }

  stopProbe(): void {
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = undefined;
  }

  close(): void {
    this.stopProbe();
    for (const s of this.sockets) s.destroy();
    this.server?.close();
  }
}

/** Median of a list (NaN when empty). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
