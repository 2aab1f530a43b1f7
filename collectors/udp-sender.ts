/**
 * Datagrams to flow collectors (sFlow, NetFlow): one unbound UDP socket per address family, shared
 * by all of an exporter's targets, so a target added or removed costs no socket. A send that fails
 * (no route, a broadcast address, ...) is counted and handed to the owner to log; it never throws
 * into the packet path. Sockets are unref'd: an exporter alone does not keep the process alive.
 */
import { createSocket, type Socket } from 'node:dgram';

/** A collector's address ("IP:PORT" parsed by the exporter's settings). */
export interface CollectorTarget {
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
}

export class UdpSender {
  private readonly sockets = new Map<4 | 6, Socket>();
  /** Sends that failed since the start. */
  sendErrors = 0;

  private readonly failed: (err: Error, target: CollectorTarget, first: boolean) => void;

  /** `failed` hears of each failed send (`first`: the first since the start, for owners that log once). */
  constructor(failed: (err: Error, target: CollectorTarget, first: boolean) => void) {
    this.failed = failed;
  }

  /** `datagram` to every target. */
  send(datagram: Buffer, targets: readonly CollectorTarget[]): void {
    for (const target of targets) {
      this.socketFor(target).send(datagram, target.port, target.address, (err) => {
        if (err) this.sendFailed(err, target);
      });
    }
  }

  /** Closes the sockets a moment later: the last datagrams are on their way (send resolves the address first). */
  close(): void {
    const sockets = [...this.sockets.values()];
    this.sockets.clear();
    if (sockets.length > 0) setTimeout(() => { for (const socket of sockets) socket.close(); }, 100).unref();
  }

  private socketFor(target: CollectorTarget): Socket {
    let socket = this.sockets.get(target.family);
    if (!socket) {
      socket = createSocket(target.family === 4 ? 'udp4' : 'udp6');
      socket.on('error', (err) => this.sendFailed(err, target));
      socket.unref();
      this.sockets.set(target.family, socket);
    }
    return socket;
  }

  private sendFailed(err: Error, target: CollectorTarget): void {
    this.failed(err, target, this.sendErrors++ === 0);
  }
}
