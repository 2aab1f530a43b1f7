/**
 * A bridge's NetFlow v5 exporter: the flow cache (flow-cache.ts) the datapath accounts into, a
 * once-a-second sweep (as OVS's netflow_run), and the datagrams (v5.ts) sent over UDP to every
 * target. Expired records gather into a datagram sent when it holds 30 records or at the end of
 * the sweep. `close` exports what the cache still holds, then stops.
 *
 * The header's flow sequence counts the records exported before the datagram (as the v5 format
 * defines it and collectors check it; OVS counts datagrams there).
 */
import type { FlowAccounting } from '../datapath/flow-accounting.js';
import type { FlowKey } from '../flowtable/flow-key.js';
import { UdpSender } from '../collectors/udp-sender.js';
import { NF_V5_MAX_RECORDS } from './constants.js';
import { NetflowCache, type NetflowFlow } from './flow-cache.js';
import type { NetflowConfig, NetflowTarget } from './settings.js';
import { encodeV5, type V5Record } from './v5.js';

const IPPROTO_ICMP = 1;

export interface NetflowLog {
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export interface NetflowExporterOptions {
  readonly config: NetflowConfig;
  readonly log?: NetflowLog;
  /** The clock, ms (default Date.now); uptimes count from the exporter's start. */
  readonly now?: () => number;
  /** Idle timeout in ms (tests; default NF_IDLE_TIMEOUT seconds). */
  readonly idleTimeoutMs?: number;
  readonly maxFlows?: number;
  /** false: no timer (tests call `sweep`). */
  readonly timer?: boolean;
  /** Receives each datagram instead of the targets (tests). */
  readonly send?: (datagram: Buffer) => void;
}

export class NetflowExporter implements FlowAccounting {
  readonly config: NetflowConfig;
  private readonly cache: NetflowCache;
  private readonly now: () => number;
  private readonly boot: number;
  private readonly log: NetflowLog | undefined;
  private readonly sendHook: ((datagram: Buffer) => void) | undefined;
  private readonly timerHandle: NodeJS.Timeout | null;
  private readonly udp = new UdpSender((err, target) =>
    this.log?.warn('cannot send NetFlow datagram', { target: `${target.address}:${target.port}`, err: err.message }),
  );
  private pending: V5Record[] = [];
  private closed = false;
  /** Records and datagrams exported so far. */
  records = 0;
  datagrams = 0;

  /** Sends that failed. */
  get sendErrors(): number {
    return this.udp.sendErrors;
  }

  constructor(options: NetflowExporterOptions) {
    this.config = options.config;
    this.now = options.now ?? Date.now;
    this.boot = this.now();
    this.log = options.log;
    this.sendHook = options.send;
    this.cache = new NetflowCache({
      activeTimeoutMs: this.config.activeTimeoutMs,
      now: this.now,
      expire: (flow) => this.record(flow),
      ...(options.idleTimeoutMs !== undefined ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
      ...(options.maxFlows !== undefined ? { maxFlows: options.maxFlows } : {}),
    });
    this.timerHandle = options.timer === false ? null : setInterval(() => this.sweep(), 1000);
    this.timerHandle?.unref();
  }

  /** Flows in the cache. */
  get flows(): number {
    return this.cache.size;
  }

  account(key: FlowKey, frame: Uint8Array, l3Offset: number, l4Offset: number, outIface: number): void {
    this.cache.account(key, frame, l3Offset, l4Offset, outIface);
  }

  /** Active and idle timeouts, then the datagram gathered. */
  sweep(): void {
    if (this.closed) return;
    this.cache.sweep();
    this.sendPending();
  }

  /** Exports every flow still in the cache and stops. */
  close(): void {
    if (this.closed) return;
    this.cache.flush();
    this.sendPending();
    this.closed = true;
    if (this.timerHandle) clearInterval(this.timerHandle);
    this.udp.close();
  }

  private record(flow: NetflowFlow): void {
    const c = this.config;
    const iface = (port: number): number => (c.addIdToInterface ? ((c.engineId & 0x7f) << 9) | (port & 0x1ff) : port);
    const icmp = flow.proto === IPPROTO_ICMP;
    this.pending.push({
      nwSrc: flow.nwSrc,
      nwDst: flow.nwDst,
      input: iface(flow.inPort),
      output: iface(flow.outIface),
      packets: flow.packets,
      bytes: flow.bytes,
      first: flow.first - this.boot,
      last: flow.last - this.boot,
      // ICMP: type and code in dst_port (as OVS and Cisco put them)
      srcPort: icmp ? 0 : flow.tpSrc,
      dstPort: icmp ? ((flow.tpSrc & 0xff) << 8) | (flow.tpDst & 0xff) : flow.tpDst,
      tcpFlags: flow.tcpFlags,
      proto: flow.proto,
      tos: flow.tos,
    });
    if (this.pending.length >= NF_V5_MAX_RECORDS) this.sendPending();
  }

  private sendPending(): void {
    const records = this.pending;
    if (records.length === 0) return;
    this.pending = [];
    const now = this.now();
    const datagram = encodeV5(
      { sysUptime: now - this.boot, unixMs: Date.now(), flowSequence: this.records, engineType: this.config.engineType, engineId: this.config.engineId },
      records,
    );
    this.records += records.length;
    this.datagrams++;
    if (this.sendHook) {
      this.sendHook(datagram);
      return;
    }
    this.udp.send(datagram, this.config.targets);
  }
}
