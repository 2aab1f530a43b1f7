/**
 * The active side of the channel: keeps a TCP or TLS connection (`tcp:` / `ssl:` target) to one
 * configured controller.
 *
 *   idle --start()--> connecting --connected--> connected --closed--> backoff --timer--> connecting
 *                          +----refused / timeout---------------------^
 *
 * The wait before each new attempt starts at 1 s and doubles up to 8 s; it starts again at 1 s
 * once a connection has completed its handshake. stop() ends everything for good.
 *
 * Over TLS the connection counts as made once the TLS handshake is done and the controller's
 * certificate verified against the CA (tls-config.ts); a handshake that fails, or a certificate
 * refused, is one log line with the reason and the same backoff as a refused connection.
 */
import { connect, type Socket } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import type { Endpoint } from './options.js';
import type { Logger } from './log.js';
import { handshakeFailure, type TlsConfig, type TlsMaterial } from './tls-config.js';

export const BACKOFF_INITIAL_MS = 1000;
export const BACKOFF_MAX_MS = 8000;
const CONNECT_TIMEOUT_MS = 5000;

export type ControllerLinkState = 'idle' | 'connecting' | 'connected' | 'backoff' | 'stopped';

export interface ControllerLinkOptions {
  readonly endpoint: Endpoint;
  readonly log: Logger;
  /** Takes over a connected socket; calls `closed` when that connection ends, `established` after its handshake. */
  readonly attach: (socket: Socket, events: { established(): void; closed(): void }) => void;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** The key, certificate and CA of an `ssl:` target. */
  readonly tls?: TlsConfig | null;
}

/** A controller target as OVS names it: `tcp:IP:PORT` or `ssl:IP:PORT`. */
export function controllerName(e: Endpoint): string {
  return `${e.tls ? 'ssl' : 'tcp'}:${e.host}:${e.port}`;
}

export class ControllerLink {
  readonly endpoint: Endpoint;
  private stateValue: ControllerLinkState = 'idle';
  private readonly options: ControllerLinkOptions;
  private readonly log: Logger;
  private backoffMs: number;
  private timer: NodeJS.Timeout | null = null;
  private socket: Socket | null = null;

  constructor(options: ControllerLinkOptions) {
    this.options = options;
    this.endpoint = options.endpoint;
    this.backoffMs = options.initialBackoffMs ?? BACKOFF_INITIAL_MS;
    this.log = options.log.child({ controller: controllerName(options.endpoint) });
  }

  get state(): ControllerLinkState {
    return this.stateValue;
  }

  /** The wait before the next attempt (for tests and logs). */
  get nextBackoffMs(): number {
    return this.backoffMs;
  }

  start(): void {
    if (this.stateValue === 'idle') this.attempt();
  }

  stop(): void {
    this.stateValue = 'stopped';
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.socket?.destroy();
    this.socket = null;
  }

  private attempt(): void {
    this.stateValue = 'connecting';
    let material: TlsMaterial | null = null;
    if (this.endpoint.tls) {
      try {
        if (!this.options.tls) throw new Error('TLS is not configured (a private key, a certificate and a CA certificate)');
        material = this.options.tls.material();
      } catch (err) {
        this.log.warn('cannot connect over TLS', { reason: (err as Error).message, retryInMs: this.backoffMs });
        return this.retry();
      }
    }
    const target = { host: this.endpoint.host, port: this.endpoint.port };
    const socket: Socket = material
      ? // The chain is verified in checkPeer; OVS's certificates name no host, so none is checked.
        connectTls({ ...target, secureContext: material.context, rejectUnauthorized: false, checkServerIdentity: () => undefined })
      : connect(target);
    this.socket = socket;
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy(new Error('connect timeout')));
    let tcpConnected = false;
    if (material) socket.once('connect', () => (tcpConnected = true));
    const failed = (err: Error): void => {
      if (this.socket !== socket || this.stateValue !== 'connecting') return;
      if (tcpConnected) this.log.limited('tls').warn('TLS handshake with controller failed', { reason: handshakeFailure(err), retryInMs: this.backoffMs });
      else this.log.limited('controller').info('controller not reachable', { err: err.message, retryInMs: this.backoffMs });
      this.retry();
    };
    socket.once('error', failed);
    socket.once(material ? 'secureConnect' : 'connect', () => {
      socket.setTimeout(0);
      socket.off('error', failed);
      if (this.stateValue !== 'connecting') return void socket.destroy();
      const refusal = material ? this.options.tls!.checkPeer(socket as TLSSocket, material) : null;
      if (refusal !== null) {
        this.log.limited('tls').warn('controller refused', { reason: refusal, retryInMs: this.backoffMs });
        return this.retry();
      }
      this.stateValue = 'connected';
      this.log.limited('controller').info('connected to controller');
      this.options.attach(socket, {
        established: () => {
          this.backoffMs = this.options.initialBackoffMs ?? BACKOFF_INITIAL_MS;
        },
        closed: () => {
          if (this.socket !== socket || this.stateValue === 'stopped') return;
          this.retry();
        },
      });
    });
  }

  private retry(): void {
    this.socket?.destroy();
    this.socket = null;
    this.stateValue = 'backoff';
    const wait = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.options.maxBackoffMs ?? BACKOFF_MAX_MS);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.stateValue === 'backoff') this.attempt();
    }, wait);
  }
}
