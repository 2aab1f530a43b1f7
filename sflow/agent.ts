/**
 * One bridge's sFlow agent, as Open vSwitch's ofproto-dpif-sflow.c runs it: the datapath's packet
 * sampler (datapath/packet-sampler.ts) for flow samples, a poller per port for counter samples,
 * and the datagrams to every target over UDP.
 *
 * Flow samples: each port counts down a skip drawn uniformly from 1..2N-1 (mean N, the sampling
 * rate), as the sFlow reference agent's sfl_sampler_next_skip() does; the frame reaching zero is
 * sampled. One data source for the whole bridge, as OVS has it: class 2 (physical entity), index
 * 1000 + the agent's sub-id. Each sample carries the first `header` bytes of the frame as received
 * (frame length + 4 for the FCS, 4 stripped), the input ifIndex, the output (the ifIndex when the
 * frame left by one port that has one; 0x80000000|n for n ports; 0x40000000|256, "dropped", for
 * none), the extended switch record (VLAN and priority in and out), the sample pool (frames that
 * went through the countdowns up to this sample: the real pool, where OVS adds N per sample) and
 * the drops (samples the agent discarded: too big for a datagram).
 *
 * Counter samples: every `polling` seconds (0: never; the first after a random part of it, as
 * OVS's pollers start) for each port that has a kernel ifindex (the ports OVS polls): the generic
 * interface record from the port's OpenFlow counters (rx/tx packets and bytes, drops, errors; the
 * multicast, broadcast and unknown-protocol counts, which ofswitch does not keep, as unknown),
 * the port name, the OpenFlow port (datapath id, port number) and the Ethernet record.
 *
 * Datagrams fill up to 1,400 bytes and are sent when full and once a second (OVS's agent tick).
 * A frame not sampled never reaches this module; a sampled one costs a copy of its header into
 * a buffer kept for it.
 */
import { readFileSync } from 'node:fs';
import { UdpSender } from '../collectors/udp-sender.js';
import type { PacketSampler } from '../datapath/packet-sampler.js';
import type { PhyPort, PortStats } from '../protocol/types.js';
import { OFPPC, OFPPS } from '../protocol/constants.js';
import {
  SFL_BRIDGE_DS_INDEX_BASE, SFL_DROP_UNKNOWN, SFL_DSCLASS_IFINDEX, SFL_DSCLASS_PHYSICAL_ENTITY, SFL_OUTPUT_DISCARDED,
  SFL_OUTPUT_MULTIPLE, SFL_UNDEF_COUNTER,
} from './constants.js';
import { DatagramWriter, countersSampleSize, flowSampleSize, type CounterFields, type FlowSampleFields } from './datagram.js';
import { addressBytes, type SflowConfig, type SflowTarget } from './settings.js';

/** A port as the agent sees it (the switch's port view fits). */
export interface SflowPortView {
  readonly ofport: number;
  readonly name: string;
  readonly type: string;
  readonly description: PhyPort;
  readonly stats: PortStats;
}

/** What the agent reads from its bridge. */
export interface SflowBridge {
  ports(): readonly SflowPortView[];
  readonly datapathId: bigint;
}

/** The part of a logger the agent writes to. */
export interface SflowLog {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export interface SflowAgentOptions {
  readonly config: SflowConfig;
  /** The agent address (settings.ts agentAddress). */
  readonly agentAddress: string;
  /** The sub-agent id (OVS: the bridge's number among those with sFlow, in name order). */
  readonly subId?: number;
  readonly bridge: SflowBridge;
  readonly log: SflowLog;
  /** Where datagrams go (default: UDP to every target). */
  readonly send?: (datagram: Buffer) => void;
  /** Milliseconds clock (default Date.now). */
  readonly now?: () => number;
  /** Uniform random number in [0, 1) (default Math.random). */
  readonly random?: () => number;
  /** Whether to run the once-a-second tick on a timer (default true; tests call tick()). */
  readonly timer?: boolean;
}

/** The ports' kernel facts the agent reads (/sys/class/net). */
interface KernelPort {
  readonly name: string;
  readonly ifindex: number;
  /** Seconds to the next counter sample, and the counter sample's sequence number. */
  countdown: number;
  sequence: number;
}

/** A port type backed by a kernel interface (the others have no ifindex). */
const KERNEL_TYPES = new Set(['system', 'internal']);

function sysfs(name: string, file: string): string | undefined {
  try {
    return readFileSync(`/sys/class/net/${name}/${file}`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

const u32 = (v: bigint): number => Number(BigInt.asUintN(32, v));

export class SflowAgent implements PacketSampler {
  readonly config: SflowConfig;
  readonly agentAddress: string;
  private readonly subId: number;
  private readonly bridge: SflowBridge;
  private readonly log: SflowLog;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly sendFn: (datagram: Buffer) => void;
  private readonly writer: DatagramWriter;
  private readonly bootMs: number;
  private readonly timerHandle: NodeJS.Timeout | null;
  private readonly udp = new UdpSender((err, target, first) => {
    if (first) this.log.warn('sFlow: cannot send to a collector', { target: `${target.address}:${target.port}`, err: err.message });
  });
  /** Kernel ports by OpenFlow number (refreshed every tick). */
  private kernelPorts = new Map<number, KernelPort>();
  /** The sampled frame's header bytes (a buffer of `header` bytes, reused) and the fields of its sample (reused). */
  private readonly headerBuf: Uint8Array;
  private headerLength = 0;
  private inPort = 0;
  private srcTci = 0;
  private readonly fields: FlowSampleFields;
  private flowSequence = 0;
  private samplePool = 0;
  private drops = 0;
  private closed = false;
  /** Datagrams and samples sent (for tests and status). */
  datagramsSent = 0;
  flowSamples = 0;
  counterSamples = 0;

  constructor(options: SflowAgentOptions) {
    this.config = options.config;
    this.agentAddress = options.agentAddress;
    this.subId = options.subId ?? 0;
    this.bridge = options.bridge;
    this.log = options.log;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.sendFn = options.send ?? ((d) => this.udp.send(d, this.config.targets));
    this.writer = new DatagramWriter(addressBytes(options.agentAddress), this.subId);
    this.bootMs = this.now();
    this.headerBuf = new Uint8Array(this.config.header);
    this.fields = {
      sequence: 0,
      sourceId: ((SFL_DSCLASS_PHYSICAL_ENTITY << 24) | (SFL_BRIDGE_DS_INDEX_BASE + this.subId)) >>> 0,
      samplingRate: this.config.sampling,
      samplePool: 0,
      drops: 0,
      input: 0,
      output: 0,
      frameLength: 0,
      stripped: 4,
      srcVlan: 0,
      srcPriority: 0,
      dstVlan: 0,
      dstPriority: 0,
    };
    this.refreshPorts();
    this.timerHandle = options.timer === false ? null : setInterval(() => this.tick(), 1000);
    this.timerHandle?.unref();
  }

  // ---- the packet sampler ----------------------------------------------------------------------

  nextSkip(): number {
    const n = this.config.sampling;
    return n <= 1 ? 1 : 1 + Math.floor(this.random() * (2 * n - 1));
  }

  sampleIn(frame: Uint8Array, inPort: number, pool: number): void {
    const length = Math.min(frame.length, this.headerBuf.length);
    this.headerBuf.set(frame.subarray(0, length));
    this.headerLength = length;
    this.inPort = inPort;
    this.fields.frameLength = frame.length + 4;
    this.srcTci = frame.length >= 16 && frame[12] === 0x81 && frame[13] === 0x00 ? (frame[14]! << 8) | frame[15]! : 0;
    this.samplePool = (this.samplePool + pool) >>> 0;
  }

  sampleOut(outputs: number, lastPort: number, outTci: number): void {
    if (this.closed) return;
    const size = flowSampleSize(this.headerLength);
    if (!this.writer.acceptable(size)) {
      if (this.drops++ === 0) this.log.warn('sFlow: flow sample too big for datagram: dropped', { header: this.config.header });
      return;
    }
    if (!this.writer.fits(size)) this.flush();
    const f = this.fields;
    this.flowSequence = (this.flowSequence + 1) >>> 0;
    f.sequence = this.flowSequence;
    f.samplePool = this.samplePool;
    f.drops = this.drops >>> 0;
    f.input = this.kernelPorts.get(this.inPort)?.ifindex ?? 0;
    if (outputs === 0) f.output = (SFL_OUTPUT_DISCARDED | SFL_DROP_UNKNOWN) >>> 0;
    else {
      const ifindex = outputs === 1 ? this.kernelPorts.get(lastPort)?.ifindex : undefined;
      f.output = ifindex ?? (SFL_OUTPUT_MULTIPLE | outputs) >>> 0;
    }
    f.srcVlan = this.srcTci & 0xfff;
    f.srcPriority = this.srcTci >> 13;
    f.dstVlan = outTci & 0xfff;
    f.dstPriority = outTci >> 13;
    this.writer.writeFlowSample(f, this.headerBuf.subarray(0, this.headerLength));
    this.flowSamples++;
  }

  // ---- the tick: counters and datagrams --------------------------------------------------------

  /** Once a second: counter samples that are due, then the datagram so far. */
  tick(): void {
    if (this.closed) return;
    this.refreshPorts();
    if (this.config.polling > 0) {
      let views: Map<number, SflowPortView> | null = null;
      for (const [ofport, kp] of this.kernelPorts) {
        if (--kp.countdown > 0) continue;
        kp.countdown = this.config.polling;
        views ??= new Map(this.bridge.ports().map((p) => [p.ofport, p]));
        const view = views.get(ofport);
        if (view) this.writeCounters(kp, view);
      }
    }
    this.flush();
  }

  /** The ports with a kernel ifindex; the new ones read from sysfs, a first poll after a random part of the interval. */
  private refreshPorts(): void {
    const next = new Map<number, KernelPort>();
    for (const p of this.bridge.ports()) {
      const old = this.kernelPorts.get(p.ofport);
      if (old && old.name === p.name) {
        next.set(p.ofport, old);
        continue;
      }
      if (!KERNEL_TYPES.has(p.type)) continue;
      const ifindex = Number(sysfs(p.name, 'ifindex'));
      if (!(ifindex > 0)) continue;
      const polling = Math.max(1, this.config.polling);
      next.set(p.ofport, { name: p.name, ifindex, countdown: 1 + Math.floor(this.random() * polling), sequence: 0 });
    }
    this.kernelPorts = next;
  }

  private writeCounters(kp: KernelPort, view: SflowPortView): void {
    const size = countersSampleSize(view.name);
    if (!this.writer.fits(size)) this.flush();
    kp.sequence = (kp.sequence + 1) >>> 0;
    const s = view.stats;
    const d = view.description;
    const speedMbps = Number(sysfs(kp.name, 'speed'));
    const duplex = sysfs(kp.name, 'duplex');
    const c: CounterFields = {
      sequence: kp.sequence,
      sourceId: ((SFL_DSCLASS_IFINDEX << 24) | kp.ifindex) >>> 0,
      ifIndex: kp.ifindex,
      ifType: 6, // ethernetCsmacd
      ifSpeed: BigInt(speedMbps > 0 ? speedMbps : 100) * 1_000_000n,
      ifDirection: duplex === 'full' ? 1 : duplex === 'half' ? 2 : 0,
      ifStatus: (d.config & OFPPC.PORT_DOWN) !== 0 ? 0 : (d.state & OFPPS.LINK_DOWN) !== 0 ? 1 : 3,
      ifInOctets: s.rxBytes,
      ifInUcastPkts: u32(s.rxPackets),
      ifInMulticastPkts: SFL_UNDEF_COUNTER,
      ifInBroadcastPkts: SFL_UNDEF_COUNTER,
      ifInDiscards: u32(s.rxDropped),
      ifInErrors: u32(s.rxErrors),
      ifInUnknownProtos: SFL_UNDEF_COUNTER,
      ifOutOctets: s.txBytes,
      ifOutUcastPkts: u32(s.txPackets),
      ifOutMulticastPkts: SFL_UNDEF_COUNTER,
      ifOutBroadcastPkts: SFL_UNDEF_COUNTER,
      ifOutDiscards: u32(s.txDropped),
      ifOutErrors: u32(s.txErrors),
      ifPromiscuousMode: 0,
      portName: view.name,
      datapathId: this.bridge.datapathId,
      portNo: view.ofport,
    };
    this.writer.writeCountersSample(c);
    this.counterSamples++;
  }

  /** Sends the datagram so far, if it has samples. */
  flush(): void {
    const datagram = this.writer.take(this.now() - this.bootMs);
    if (datagram === null) return;
    this.datagramsSent++;
    this.sendFn(datagram);
  }

  /** Sends what is left and stops. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    if (this.timerHandle) clearInterval(this.timerHandle);
    this.udp.close();
  }
}
