/**
 * A bridge's IPFIX exporter, as Open vSwitch's bridge exporter works (ofproto-dpif-ipfix.c and
 * the sampling ofproto-dpif-xlate.c sets up for it):
 * - Sampling: every frame the bridge receives and puts through its table is sampled on input
 *   with probability 1/`sampling` (an ingress record: flowDirection 0, the input interface), and
 *   each port it is sent out of is sampled again, independently (an egress record: flowDirection
 *   1, input and output interfaces), unless other_config turns input or output sampling off. A
 *   sample stands for `sampling` packets (packetDeltaCount, as OVS approximates it). BFD packets
 *   (UDP to 3784/3785) are never sampled. Frames of every kind are sampled: IPv4, IPv6, and others
 *   (ARP: the template without IP fields).
 * - Each sample goes into the flow cache (flow-cache.ts) keyed by its record's flow-key fields;
 *   entries leave on the cache's terms (active timeout, cache full, forced end), and a timer runs
 *   the expiry every 100 ms (OVS wakes at the oldest entry's deadline).
 * - Messages (message.ts): the templates (templates.ts) at start and then before data whenever
 *   `templateInterval` seconds have passed since they were last sent (OVS sends them before its
 *   first data and then every 600 s), each time followed by the Options Template and one Exporting
 *   Process Reliability Statistics record (exportingProcessId, notSentPacketTotalCount), in
 *   observation domain 0, as OVS sends them. Data records leaving together are packed into
 *   messages of up to 1024 bytes, one set per template run (OVS sends one record per message).
 * - Sequence numbers: per observation domain, the number of data records sent in that domain
 *   before the message (RFC 7011 3.1; OVS counts messages, in one counter for all domains).
 * `close` exports every cached entry (FORCED_END) and stops.
 */
import type { FlowAccounting } from '../datapath/flow-accounting.js';
import { W_DL_TYPE_PCP_TOS, W_IN_PORT_VLAN, W_NW_DST, W_NW_PROTO, W_NW_SRC, W_TP, type FlowKey } from '../flowtable/flow-key.js';
import { UdpSender } from '../collectors/udp-sender.js';
import { BFD_CONTROL_DEST_PORT, BFD_ECHO_DEST_PORT, EGRESS_FLOW, INGRESS_FLOW, MAX_IF_NAME_LEN } from './constants.js';
import { IpfixCache, IpfixCounters, type FlowEndReason, type IpfixEntry } from './flow-cache.js';
import { encodeDataMessages, encodeOptionsTemplateMessage, encodeTemplateMessages, type DataRecord } from './message.js';
import { encodeDataRecord, encodeExporterStatsRecord } from './record.js';
import type { IpfixConfig } from './settings.js';
import { allTemplates, EXPORTER_STATS_OPTIONS_TEMPLATE, L2, L3, L4, templateId, type Template } from './templates.js';

const ETH_TYPE_IP = 0x0800;
const ETH_TYPE_IPV6 = 0x86dd;
const IPPROTO_ICMP = 1;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const IPPROTO_ICMPV6 = 58;
const IPPROTO_SCTP = 132;
const NO_VLAN = 0xffff;
/** The longest flow-key part of a record (OVS's MAX_FLOW_KEY_LEN, without tunnels). */
const MAX_FLOW_KEY_LEN = 20 + 2 * (10 + MAX_IF_NAME_LEN) + 5 + 6 + 36 + 4;

/** What the exporter knows of a port: its interface's name and ifindex (ingressInterface, egressInterface). */
export interface IpfixPortInfo {
  readonly name: string;
  readonly ifindex: number;
}

export interface IpfixLog {
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export interface IpfixExporterOptions {
  readonly config: IpfixConfig;
  readonly log?: IpfixLog;
  /** The interface behind an OpenFlow port number (unknown ports: zeros, as OVS). */
  readonly portInfo?: (portNo: number) => IpfixPortInfo | undefined;
  /** Wall clock in µs (default Date.now() * 1000). */
  readonly nowUs?: () => number;
  /** A number in [0, 1) (default Math.random). */
  readonly random?: () => number;
  /** false: no timer and no deferred sends (tests call `run` and `flush`). */
  readonly timer?: boolean;
  /** Receives each message instead of the targets (tests). */
  readonly send?: (message: Buffer) => void;
}

/** Exporting Processes created so far (OVS's exporter_total_count: the exportingProcessId). */
let exporterTotalCount = 0;

export class IpfixExporter implements FlowAccounting {
  readonly config: IpfixConfig;
  readonly exporterId = ++exporterTotalCount;
  private readonly cache: IpfixCache;
  private readonly nowUs: () => number;
  private readonly random: () => number;
  private readonly portInfo: ((portNo: number) => IpfixPortInfo | undefined) | undefined;
  private readonly log: IpfixLog | undefined;
  private readonly sendHook: ((m: Buffer) => void) | undefined;
  private readonly deferred: boolean;
  private readonly timerHandle: NodeJS.Timeout | null;
  private readonly udp = new UdpSender((err, target, first) => {
    if (first) this.log?.warn('cannot send IPFIX message', { target: `${target.address}:${target.port}`, err: err.message });
  });
  private readonly templates: Template[];
  private readonly virtualObsId: Buffer | null;
  /** Probability of a sample (1: every packet) and the packets each stands for (OVS's probability arithmetic). */
  private readonly probability: number;
  private readonly deltaCount: number;
  /** Sequence numbers by observation domain. */
  private readonly sequence = new Map<number, number>();
  private lastTemplateSec = 0;
  private readonly ifaces = new Map<number, Buffer>();
  private readonly scratch = Buffer.alloc(MAX_FLOW_KEY_LEN);
  private readonly sampleCounters = new IpfixCounters();
  private pending: { entry: IpfixEntry; reason: FlowEndReason; exportSec: number }[] = [];
  private flushScheduled = false;
  private expireSec = 0;
  private closed = false;
  /** Samples taken, data records and messages sent, flows the cache made. */
  samples = 0;
  records = 0;
  messages = 0;
  templateMessages = 0;
  totalFlows = 0;

  constructor(options: IpfixExporterOptions) {
    this.config = options.config;
    this.nowUs = options.nowUs ?? ((): number => Date.now() * 1000);
    this.random = options.random ?? Math.random;
    this.portInfo = options.portInfo;
    this.log = options.log;
    this.sendHook = options.send;
    this.deferred = options.timer !== false;
    const c = this.config;
    this.virtualObsId = c.virtualObsId === null ? null : Buffer.from(c.virtualObsId);
    this.templates = allTemplates(this.virtualObsId !== null);
    const probability = Math.max(1, Math.floor(0xffffffff / c.sampling));
    this.probability = c.sampling === 1 ? 1 : probability / 0x100000000;
    this.deltaCount = Math.floor(0xffffffff / probability);
    this.cache = new IpfixCache({
      activeTimeout: c.cacheActiveTimeout,
      maxFlows: c.cacheMaxFlows,
      export: (entry, reason) => this.pending.push({ entry, reason, exportSec: this.expireSec }),
    });
    this.sendTemplates(Math.ceil(this.nowUs() / 1e6));
    this.timerHandle = options.timer === false ? null : setInterval(() => this.run(), 100);
    this.timerHandle?.unref();
  }

  /** Entries in the cache. */
  get flows(): number {
    return this.cache.size;
  }

  /** Sends that failed. */
  get sendErrors(): number {
    return this.udp.sendErrors;
  }

  /** The interfaces behind port numbers may have changed (a port added or removed). */
  portsChanged(): void {
    this.ifaces.clear();
  }

  account(key: FlowKey, frame: Uint8Array, l3Offset: number, l4Offset: number, _outIface: number, outPorts?: readonly number[], outCount = 0): void {
    const c = this.config;
    const typeTos = key[W_DL_TYPE_PCP_TOS]!;
    const dlType = typeTos >>> 16;
    const ipAny = dlType === ETH_TYPE_IP || dlType === ETH_TYPE_IPV6;
    if (ipAny && (key[W_NW_PROTO]! & 0xff) === IPPROTO_UDP) {
      const dst = key[W_TP]! & 0xffff;
      if (dst === BFD_CONTROL_DEST_PORT || dst === BFD_ECHO_DEST_PORT) return;
    }
    if (c.inputSampling && (this.probability === 1 || this.random() < this.probability)) this.sample(key, frame, l3Offset, l4Offset, INGRESS_FLOW, 0, outCount);
    if (c.outputSampling && outPorts !== undefined) {
      for (let i = 0; i < outCount; i++) {
        if (this.probability === 1 || this.random() < this.probability) this.sample(key, frame, l3Offset, l4Offset, EGRESS_FLOW, outPorts[i]!, outCount);
      }
    }
  }

  /** The timer's work: entries whose time has come, then the messages. */
  run(): void {
    if (this.closed) return;
    const now = this.nowUs();
    this.expireSec = Math.ceil(now / 1e6);
    this.cache.expire(false, now);
    this.flush();
  }

  /** Sends the records waiting to go. */
  flush(): void {
    this.flushScheduled = false;
    while (this.pending.length > 0) {
      const exportSec = this.pending[0]!.exportSec;
      let n = 1;
      while (n < this.pending.length && this.pending[n]!.exportSec === exportSec) n++;
      const batch = this.pending.splice(0, n);
      if (this.lastTemplateSec + this.config.templateInterval <= exportSec) this.sendTemplates(exportSec);
      const records: DataRecord[] = batch.map((p) => ({ templateId: p.entry.templateId, bytes: encodeDataRecord(p.entry, p.reason, exportSec, this.virtualObsId) }));
      const domain = this.config.obsDomainId;
      const { messages, counts } = encodeDataMessages({ exportTime: exportSec, sequence: this.sequence.get(domain) ?? 0, domain }, records);
      messages.forEach((m, i) => {
        this.sequence.set(domain, ((this.sequence.get(domain) ?? 0) + counts[i]!) >>> 0);
        this.emit(m);
      });
      this.records += records.length;
    }
  }

  /** Exports every cached entry (FORCED_END) and stops. */
  close(): void {
    if (this.closed) return;
    const now = this.nowUs();
    this.expireSec = Math.ceil(now / 1e6);
    this.cache.expire(true, now);
    this.flush();
    this.closed = true;
    if (this.timerHandle) clearInterval(this.timerHandle);
    this.udp.close();
  }

  private emit(message: Buffer): void {
    this.messages++;
    if (this.sendHook) this.sendHook(message);
    else this.udp.send(message, this.config.targets);
  }

  /** Templates (observation domain `obsDomainId`), then the Options Template and the exporter's statistics (domain 0). */
  private sendTemplates(exportSec: number): void {
    const domain = this.config.obsDomainId;
    for (const m of encodeTemplateMessages({ exportTime: exportSec, sequence: this.sequence.get(domain) ?? 0, domain }, this.templates)) {
      this.templateMessages++;
      this.emit(m);
    }
    const seq0 = this.sequence.get(0) ?? 0;
    this.templateMessages++;
    this.emit(encodeOptionsTemplateMessage({ exportTime: exportSec, sequence: seq0, domain: 0 }, EXPORTER_STATS_OPTIONS_TEMPLATE));
    const stats = encodeDataMessages({ exportTime: exportSec, sequence: seq0, domain: 0 }, [
      { templateId: EXPORTER_STATS_OPTIONS_TEMPLATE.id, bytes: encodeExporterStatsRecord(this.exporterId, this.udp.sendErrors) },
    ]);
    this.sequence.set(0, (seq0 + 1) >>> 0);
    this.emit(stats.messages[0]!);
    this.lastTemplateSec = exportSec;
  }

  /** ingressInterface/egressInterface, the interface type (0), interfaceName and an empty interfaceDescription. */
  private ifaceBytes(portNo: number): Buffer {
    let b = this.ifaces.get(portNo);
    if (b === undefined) {
      const info = this.portInfo?.(portNo);
      if (info === undefined) b = Buffer.alloc(10);
      else {
        const name = Buffer.from(info.name).subarray(0, MAX_IF_NAME_LEN);
        b = Buffer.alloc(10 + name.length);
        b.writeUInt32BE(info.ifindex >>> 0, 0);
        b[8] = name.length;
        name.copy(b, 9);
      }
      this.ifaces.set(portNo, b);
    }
    return b;
  }

  /** One sample: its record's flow key and counters (OVS's ipfix_cache_entry_init), into the cache. */
  private sample(key: FlowKey, frame: Uint8Array, l3Off: number, l4Off: number, direction: number, outPort: number, outCount: number): void {
    this.samples++;
    const c = this.config;
    const typeTos = key[W_DL_TYPE_PCP_TOS]!;
    const dlType = typeTos >>> 16;
    const vlan = key[W_IN_PORT_VLAN]! & 0xffff;
    const l2 = vlan === NO_VLAN ? L2.ETH : L2.VLAN;
    const proto = key[W_NW_PROTO]! & 0xff;
    let l3: number = L3.UNKNOWN;
    let l4: number = L4.UNKNOWN;
    if (dlType === ETH_TYPE_IP || dlType === ETH_TYPE_IPV6) {
      l3 = dlType === ETH_TYPE_IP ? L3.IPV4 : L3.IPV6;
      if (proto === IPPROTO_TCP) l4 = L4.TCP;
      else if (proto === IPPROTO_UDP) l4 = L4.UDP;
      else if (proto === IPPROTO_SCTP) l4 = L4.SCTP;
      else if (proto === (l3 === L3.IPV4 ? IPPROTO_ICMP : IPPROTO_ICMPV6)) l4 = L4.ICMP;
    }
    const ethHeaderLength = l2 === L2.VLAN ? 18 : 14;
    const s = this.scratch;
    s.writeUInt32BE(c.obsPointId >>> 0, 0);
    s[4] = direction;
    s.set(frame.subarray(6, 12), 5);
    s.set(frame.subarray(0, 6), 11);
    s.writeUInt16BE(dlType, 17);
    s[19] = ethHeaderLength;
    let o = 20;
    o += this.ifaceBytes(key[W_IN_PORT_VLAN]! >>> 16).copy(s, o);
    if (direction === EGRESS_FLOW) o += this.ifaceBytes(outPort).copy(s, o);
    if (l2 === L2.VLAN) {
      s.writeUInt16BE(vlan & 0xfff, o);
      s.writeUInt16BE(vlan & 0xfff, o + 2);
      s[o + 4] = (typeTos >>> 8) & 0x07;
      o += 5;
    }
    let ipLength = 0;
    let tcpFlags = 0;
    if (l3 !== L3.UNKNOWN) {
      const v4 = l3 === L3.IPV4;
      const hdr = l3Off >= 0 && frame.length >= l3Off + (v4 ? 20 : 40);
      const tos = !hdr ? 0 : v4 ? frame[l3Off + 1]! : ((frame[l3Off]! & 0x0f) << 4) | (frame[l3Off + 1]! >> 4);
      s[o] = v4 ? 4 : 6;
      s[o + 1] = !hdr ? 0 : frame[l3Off + (v4 ? 8 : 7)]!;
      s[o + 2] = proto;
      s[o + 3] = tos >> 2;
      s[o + 4] = tos >> 5;
      s[o + 5] = tos;
      o += 6;
      if (v4) {
        s.writeUInt32BE(key[W_NW_SRC]! >>> 0, o);
        s.writeUInt32BE(key[W_NW_DST]! >>> 0, o + 4);
        o += 8;
        ipLength = hdr ? (frame[l3Off + 2]! << 8) | frame[l3Off + 3]! : frame.length - ethHeaderLength;
      } else {
        if (hdr) {
          s.set(frame.subarray(l3Off + 8, l3Off + 40), o);
          s.writeUInt32BE(((frame[l3Off + 1]! & 0x0f) << 16) | (frame[l3Off + 2]! << 8) | frame[l3Off + 3]!, o + 32);
          ipLength = 40 + ((frame[l3Off + 4]! << 8) | frame[l3Off + 5]!);
        } else {
          s.fill(0, o, o + 36);
          ipLength = frame.length - ethHeaderLength;
        }
        o += 36;
      }
      const tp = key[W_TP]!;
      if (l4 === L4.TCP || l4 === L4.UDP || l4 === L4.SCTP) {
        s.writeUInt32BE(tp >>> 0, o);
        o += 4;
      } else if (l4 === L4.ICMP) {
        s[o] = (tp >>> 16) & 0xff;
        s[o + 1] = tp & 0xff;
        o += 2;
      }
      if (l4 === L4.TCP && l4Off >= 0 && frame.length > l4Off + 13) tcpFlags = ((frame[l4Off + 12]! & 0x0f) << 8) | frame[l4Off + 13]!;
    }
    const tid = templateId(l2, l3, l4, 0, direction);

    // Counters: what this sample stands for.
    const n = this.deltaCount;
    const e = this.sampleCounters;
    const now = this.nowUs();
    e.startUs = e.endUs = now;
    const dropped = outCount === 0;
    const multicast = (frame[0]! & 1) !== 0 && !(frame[0] === 0xff && frame[1] === 0xff && frame[2] === 0xff && frame[3] === 0xff && frame[4] === 0xff && frame[5] === 0xff);
    const postMcast = multicast && direction === EGRESS_FLOW;
    e.droppedPacketDelta = dropped ? n : 0;
    e.packetDelta = n;
    e.postMcastPacketDelta = postMcast ? n : 0;
    e.layer2OctetDelta = n * frame.length;
    const octets = n * ipLength;
    e.droppedOctetDelta = dropped ? octets : 0;
    e.octetDelta = octets;
    e.octetDeltaSumOfSquares = octets * ipLength;
    e.minIpTotalLength = e.maxIpTotalLength = ipLength;
    e.postMcastOctetDelta = postMcast ? octets : 0;
    e.tcpFlags = tcpFlags;

    this.expireSec = Math.ceil(now / 1e6);
    if (this.cache.update(s, o, tid, e, now)) this.totalFlows++;
    if (this.pending.length > 0) {
      if (!this.deferred) return;
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    }
  }
}
