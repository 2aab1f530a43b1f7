/**
 * The packet-in benchmark's controller: an OpenFlow 1.0 controller, built on protocol/, that
 * listens on 127.0.0.1:PORT, completes the handshake with each switch that connects (HELLO,
 * FEATURES_REQUEST, SET_CONFIG with miss_send_len 128; it answers ECHO_REQUESTs) and counts what
 * it receives. Two modes:
 * - count: PACKET_INs are counted, nothing is answered;
 * - setup: each PACKET_IN is answered as ovs-testcontroller answers one, with a FLOW_MOD (ADD)
 *   whose match is the packet's exact flow (every field, no wildcard), idle_timeout 60, actions
 *   output:OUT_PORT, naming the PACKET_IN's buffer_id, so that the switch sends the buffered
 *   frame through the new flow. A switch that did not buffer the frame (buffer_id -1, as Open
 *   vSwitch 3.1 always does) gets the FLOW_MOD without a buffer and then a PACKET_OUT carrying the
 *   frame with the same actions.
 * Replies to one read from the socket go out in one write.
 *
 *   node dist/bench/bench-controller.js --port PORT --mode count|setup [--out-port N]
 *
 * It prints `listening` once it listens, `connected` when a switch's FEATURES_REPLY arrived, and
 * for each `stats` line on stdin one JSON line of its counters (Counters).
 */
import { createServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  MessageFramer, OFP_DEFAULT_MISS_SEND_LEN, OFP_NO_BUFFER, OFP_VERSION, OFPAT, OFPFC, OFPP, OFPT, decodeMessage, encodeMessage,
  type FlowMod, type OfpMessage, type PacketIn, type PacketOut,
} from '../protocol/index.js';
import { newFlowKey, unpackFlowKey } from '../flowtable/flow-key.js';
import { parseFrame, newFrameLayout } from '../datapath/frame-parser.js';

export interface Counters {
  /** Switches whose FEATURES_REPLY arrived. */
  connected: number;
  packetIns: number;
  /** PACKET_INs with a buffer_id (the switch kept the frame). */
  buffered: number;
  flowMods: number;
  packetOuts: number;
  /** OFPT_ERRORs from the switch, by "type/code". */
  errors: Record<string, number>;
  /** Messages that did not decode. */
  undecodable: number;
}

const key = newFlowKey();
const layout = newFrameLayout();
const IDLE_TIMEOUT = 60;

/** The answer to one PACKET_IN in setup mode: FLOW_MOD, plus a PACKET_OUT when not buffered. */
export function flowSetup(pi: PacketIn, outPort: number, xid: number): (FlowMod | PacketOut)[] {
  parseFrame(pi.data, pi.inPort, key, layout);
  const actions = [{ type: OFPAT.OUTPUT, port: outPort, maxLen: 0 }] as const;
  const flowMod: FlowMod = {
    version: OFP_VERSION, type: OFPT.FLOW_MOD, xid, match: { wildcards: 0, ...unpackFlowKey(key) }, cookie: 0n,
    command: OFPFC.ADD, idleTimeout: IDLE_TIMEOUT, hardTimeout: 0, priority: 0x8000, bufferId: pi.bufferId,
    outPort: OFPP.NONE, flags: 0, actions,
  };
  if (pi.bufferId !== OFP_NO_BUFFER) return [flowMod];
  return [flowMod, {
    version: OFP_VERSION, type: OFPT.PACKET_OUT, xid, bufferId: OFP_NO_BUFFER, inPort: pi.inPort, actions, data: pi.data,
  }];
}

export class BenchController {
  readonly counters: Counters = { connected: 0, packetIns: 0, buffered: 0, flowMods: 0, packetOuts: 0, errors: {}, undecodable: 0 };
  private xid = 1;
  private readonly mode: 'count' | 'setup';
  private readonly outPort: number;
  private readonly onConnected: () => void;

  constructor(mode: 'count' | 'setup', outPort: number, onConnected = (): void => undefined) {
    this.mode = mode;
    this.outPort = outPort;
    this.onConnected = onConnected;
  }

  /** Serves one switch connection. */
  serve(socket: Socket): void {
    socket.setNoDelay(true);
    const framer = new MessageFramer();
    const send = (out: Buffer[], m: OfpMessage): void => {
      out.push(encodeMessage(m));
    };
    const hello: Buffer[] = [];
    send(hello, { version: OFP_VERSION, type: OFPT.HELLO, xid: this.xid++, body: new Uint8Array(0) });
    send(hello, { version: OFP_VERSION, type: OFPT.FEATURES_REQUEST, xid: this.xid++ });
    send(hello, { version: OFP_VERSION, type: OFPT.SET_CONFIG, xid: this.xid++, flags: 0, missSendLen: OFP_DEFAULT_MISS_SEND_LEN });
    socket.write(Buffer.concat(hello));
    socket.on('data', (chunk: Buffer) => {
      const out: Buffer[] = [];
      for (const bytes of framer.push(chunk)) {
        const d = decodeMessage(bytes);
        if (!d.ok) {
          this.counters.undecodable++;
          continue;
        }
        this.handle(d.message, out, send);
      }
      if (framer.error !== null) socket.destroy();
      else if (out.length > 0) socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
    });
    socket.on('error', () => socket.destroy());
  }

  private handle(m: OfpMessage, out: Buffer[], send: (out: Buffer[], m: OfpMessage) => void): void {
    switch (m.type) {
      case OFPT.PACKET_IN:
        this.counters.packetIns++;
        if (m.bufferId !== OFP_NO_BUFFER) this.counters.buffered++;
        if (this.mode === 'setup') {
          for (const r of flowSetup(m, this.outPort, this.xid++)) {
            send(out, r);
            if (r.type === OFPT.FLOW_MOD) this.counters.flowMods++;
            else this.counters.packetOuts++;
          }
        }
        break;
      case OFPT.ECHO_REQUEST:
        send(out, { version: OFP_VERSION, type: OFPT.ECHO_REPLY, xid: m.xid, data: m.data });
        break;
      case OFPT.FEATURES_REPLY:
        this.counters.connected++;
        this.onConnected();
        break;
      case OFPT.ERROR: {
        const k = `${m.errorType}/${m.code}`;
        this.counters.errors[k] = (this.counters.errors[k] ?? 0) + 1;
        break;
      }
      default:
        break;
    }
  }
}

function main(): void {
  const args = process.argv.slice(2);
  const opt = (name: string, dflt?: string): string => {
    const i = args.indexOf(`--${name}`);
    const v = i >= 0 ? args[i + 1] : dflt;
    if (v === undefined) throw new Error(`--${name} is required`);
    return v;
  };
  const port = Number(opt('port'));
  const mode = opt('mode');
  if (mode !== 'count' && mode !== 'setup') throw new Error(`--mode count|setup, not ${mode}`);
  const controller = new BenchController(mode, Number(opt('out-port', '2')), () => process.stdout.write('connected\n'));
  const server = createServer((s) => controller.serve(s));
  server.listen(port, '127.0.0.1', () => process.stdout.write('listening\n'));
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line.trim() === 'stats') process.stdout.write(`${JSON.stringify(controller.counters)}\n`);
  }).on('close', () => process.exit(0));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
