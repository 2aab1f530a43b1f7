/**
 * The active side of the channel: keeps a TCP connection to one configured controller.
 *
 *   idle --start()--> connecting --connected--> connected --closed--> backoff --timer--> connecting
 *                          +----refused / timeout---------------------^
 *
 * The wait before each new attempt starts at 1 s and doubles up to 8 s; it starts again at 1 s
 * once a connection has completed its handshake. stop() ends everything for good.
 */
import { connect, type Socket } from 'node:net';
import type { Endpoint } from './options.js';
import type { Logger } from './log.js';

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
    this.log = options.log.child({ controller: `tcp:${options.endpoint.host}:${options.endpoint.port}` });
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
    const socket = connect({ host: this.endpoint.host, port: this.endpoint.port });
    this.socket = socket;
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy(new Error('connect timeout')));
    const failed = (err: Error): void => {
      if (this.socket !== socket || this.stateValue !== 'connecting') return;
      this.log.limited('controller').info('controller not reachable', { err: err.message, retryInMs: this.backoffMs });
      this.retry();
    };
    socket.once('error', failed);
    socket.once('connect', () => {
      socket.setTimeout(0);
      socket.off('error', failed);
      if (this.stateValue !== 'connecting') return void socket.destroy();
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
