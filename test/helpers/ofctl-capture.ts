/**
 * A minimal scripted OpenFlow 1.0 switch on loopback that records the raw messages a real
 * `ovs-ofctl` sends it, so tests can decode ovs-ofctl's own bytes for every request it makes.
 *
 * It answers just enough for ovs-ofctl to finish its command: HELLO, FEATURES_REPLY (two ports),
 * GET_CONFIG_REPLY (what SET_CONFIG set), BARRIER_REPLY, ECHO_REPLY, an empty reply to each stats request and queue
 * config request, and BAD_REQUEST/BAD_VENDOR to vendor messages (so ovs-ofctl falls back to
 * standard ones). Replies are built with ofswitch's encoder; what is recorded is the raw bytes.
 */
import { createServer, type Server, type Socket } from 'node:net';
import {
  decodeMessage,
  encodeMessage,
  MessageFramer,
  OFPBRC,
  OFPET,
  OFPST,
  OFPT,
  requestError,
} from '../../protocol/index.js';
import type { OfpMessage, PhyPort } from '../../protocol/index.js';
import { tryRun, type RunResult } from './netns.js';
import { ovsEnv } from './ovs-rundir.js';

export class OfctlCapture {
  readonly received: Buffer[] = [];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly ports: readonly PhyPort[];
  /** SET_CONFIG is remembered: ovs-ofctl set-frags reads the configuration back. */
  private config = { flags: 0, missSendLen: 128 };
  port = 0;

  /** `ports`: what the switch reports in FEATURES_REPLY and port descriptions. */
  constructor(ports: readonly PhyPort[]) {
    this.ports = ports;
    this.server = createServer((socket) => this.serve(socket));
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    this.server.close();
  }

  /**
   * Runs `ovs-ofctl -O OpenFlow10 --timeout=5 COMMAND tcp:127.0.0.1:PORT ARGS...`: its exit status
   * and output, and the messages it sent. Rejects when ovs-ofctl cannot run at all.
   */
  async run(command: string, ...args: string[]): Promise<RunResult & { sent: Buffer[] }> {
    const from = this.received.length;
    const opts = args.filter((a) => a.startsWith('--'));
    const rest = args.filter((a) => !a.startsWith('--'));
    const result = await tryRun('ovs-ofctl', ['-O', 'OpenFlow10', '--timeout=5', ...opts, command, `tcp:127.0.0.1:${this.port}`, ...rest], undefined, { env: ovsEnv() });
    return { ...result, sent: this.received.slice(from) };
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.write(encodeMessage({ version: 1, type: OFPT.HELLO, xid: 1, body: new Uint8Array(0) }));
    const framer = new MessageFramer();
    socket.on('data', (chunk: Buffer) => {
      for (const raw of framer.push(chunk)) {
        const bytes = Buffer.from(raw);
        this.received.push(bytes);
        const reply = this.replyTo(bytes);
        if (reply) socket.write(reply);
      }
    });
  }

  private replyTo(bytes: Buffer): Buffer | null {
    const r = decodeMessage(bytes);
    if (!r.ok) return encodeMessage(r.toMessage());
    const m = r.message;
    const h = { version: 1, xid: m.xid } as const;
    const reply = ((): OfpMessage | null => {
      switch (m.type) {
        case OFPT.FEATURES_REQUEST:
          return { ...h, type: OFPT.FEATURES_REPLY, datapathId: 1n, nBuffers: 256, nTables: 1, capabilities: 0xc7, actions: 0xfff, ports: this.ports };
        case OFPT.GET_CONFIG_REQUEST:
          return { ...h, type: OFPT.GET_CONFIG_REPLY, ...this.config };
        case OFPT.SET_CONFIG:
          this.config = { flags: m.flags, missSendLen: m.missSendLen };
          return null;
        case OFPT.BARRIER_REQUEST:
          return { ...h, type: OFPT.BARRIER_REPLY };
        case OFPT.ECHO_REQUEST:
          return { ...h, type: OFPT.ECHO_REPLY, data: m.data };
        case OFPT.VENDOR:
          return requestError(OFPET.BAD_REQUEST, OFPBRC.BAD_VENDOR, bytes, 'vendor message').toMessage();
        case OFPT.QUEUE_GET_CONFIG_REQUEST:
          return { ...h, type: OFPT.QUEUE_GET_CONFIG_REPLY, port: m.port, queues: [] };
        case OFPT.STATS_REQUEST: {
          const s = { ...h, type: OFPT.STATS_REPLY, flags: 0 } as const;
          switch (m.statsType) {
            case OFPST.DESC:
              return { ...s, statsType: OFPST.DESC, desc: { mfrDesc: 'm', hwDesc: 'h', swDesc: 's', serialNum: 'n', dpDesc: 'd' } };
            case OFPST.FLOW:
              return { ...s, statsType: OFPST.FLOW, flows: [] };
            case OFPST.AGGREGATE:
              return { ...s, statsType: OFPST.AGGREGATE, stats: { packetCount: 0n, byteCount: 0n, flowCount: 0 } };
            case OFPST.TABLE:
              return {
                ...s,
                statsType: OFPST.TABLE,
                tables: [{ tableId: 0, name: 'classifier', wildcards: 0x3fffff, maxEntries: 1000, activeCount: 0, lookupCount: 0n, matchedCount: 0n }],
              };
            case OFPST.PORT:
              return { ...s, statsType: OFPST.PORT, ports: [] };
            case OFPST.QUEUE:
              return { ...s, statsType: OFPST.QUEUE, queues: [] };
            case OFPST.PORT_DESC:
              return { ...s, statsType: OFPST.PORT_DESC, ports: this.ports };
            default:
              return requestError(OFPET.BAD_REQUEST, OFPBRC.BAD_VENDOR, bytes, 'vendor stats').toMessage();
          }
        }
        default:
          return null;
      }
    })();
    return reply ? encodeMessage(reply) : null;
  }
}
