/**
 * sFlow version 5 datagram encoding (XDR, big-endian, every field 4-byte aligned), as
 * sflow_version_5.txt lays it out and Open vSwitch's lib/sflow_receiver.c writes it:
 *
 *   datagram: version 5, agent address (type, 4 or 16 bytes), sub-agent id, sequence number,
 *             uptime (ms), number of samples, samples
 *   flow sample (1): sequence, source id, sampling rate, sample pool, drops, input, output,
 *             records: sampled header (1) and extended switch (1001)
 *   counters sample (2): sequence, source id, records: generic interface (1), Ethernet (2),
 *             OpenFlow port (1004), port name (1005) -- the records OVS sends. OVS puts the port
 *             name and OpenFlow port before the Ethernet record; tshark's dissector (3.x/4.0)
 *             does not skip records it does not know, and misreads every record after one, so
 *             the two it does not know come last here (the order carries no meaning in sFlow).
 *
 * One DatagramWriter per agent: samples are written straight into its buffer (no allocation per
 * sample); `take` returns the finished datagram and starts the next. Pure: no I/O.
 */
import {
  SFLADDRESSTYPE_IP_V4, SFLADDRESSTYPE_IP_V6, SFLCOUNTERS_ETHERNET, SFLCOUNTERS_GENERIC, SFLCOUNTERS_OPENFLOWPORT, SFLCOUNTERS_PORTNAME,
  SFLCOUNTERS_SAMPLE, SFLDATAGRAM_VERSION5, SFLFLOW_EX_SWITCH, SFLFLOW_HEADER, SFLFLOW_SAMPLE, SFLHEADER_ETHERNET_ISO8023,
  SFL_DEFAULT_DATAGRAM_SIZE, SFL_UNDEF_COUNTER,
} from './constants.js';

const pad4 = (n: number): number => (n + 3) & ~3;

/** The fields of one flow sample besides its header bytes. */
export interface FlowSampleFields {
  sequence: number;
  sourceId: number;
  samplingRate: number;
  samplePool: number;
  drops: number;
  input: number;
  output: number;
  /** The frame's length on the wire (the FCS included). */
  frameLength: number;
  /** Bytes removed from the frame before sampling (the FCS: 4). */
  stripped: number;
  srcVlan: number;
  srcPriority: number;
  dstVlan: number;
  dstPriority: number;
}

/** Interface counters, as the generic record (and the Ethernet, port name and OpenFlow records) carry them. */
export interface CounterFields {
  sequence: number;
  sourceId: number;
  ifIndex: number;
  ifType: number;
  ifSpeed: bigint;
  ifDirection: number;
  ifStatus: number;
  ifInOctets: bigint;
  ifInUcastPkts: number;
  ifInMulticastPkts: number;
  ifInBroadcastPkts: number;
  ifInDiscards: number;
  ifInErrors: number;
  ifInUnknownProtos: number;
  ifOutOctets: bigint;
  ifOutUcastPkts: number;
  ifOutMulticastPkts: number;
  ifOutBroadcastPkts: number;
  ifOutDiscards: number;
  ifOutErrors: number;
  ifPromiscuousMode: number;
  portName: string;
  datapathId: bigint;
  portNo: number;
}

/** Encoded size of a flow sample with `headerLength` header bytes (tag and length included). */
export function flowSampleSize(headerLength: number): number {
  return 8 + 32 + (8 + 16 + pad4(headerLength)) + (8 + 16);
}

/** Encoded size of a counters sample for a port named `name`. */
export function countersSampleSize(name: string): number {
  return 8 + 12 + (8 + 88) + (8 + 4 + pad4(Buffer.byteLength(name))) + (8 + 12) + (8 + 52);
}

export class DatagramWriter {
  /** Largest datagram (SFL_DEFAULT_DATAGRAM_SIZE); a sample bigger than half of it is refused. */
  readonly maxSize: number;
  private readonly buf: Buffer;
  private readonly headerSize: number;
  private pos: number;
  private samples = 0;
  private sequence = 0;

  /** `agentAddress`: 4 bytes (IPv4) or 16 (IPv6). */
  constructor(agentAddress: Uint8Array, subAgentId: number, maxSize = SFL_DEFAULT_DATAGRAM_SIZE) {
    if (agentAddress.length !== 4 && agentAddress.length !== 16) throw new RangeError('an agent address is 4 or 16 bytes');
    this.maxSize = maxSize;
    this.buf = Buffer.alloc(maxSize + 8);
    let p = this.buf.writeUInt32BE(SFLDATAGRAM_VERSION5, 0);
    p = this.buf.writeUInt32BE(agentAddress.length === 4 ? SFLADDRESSTYPE_IP_V4 : SFLADDRESSTYPE_IP_V6, p);
    this.buf.set(agentAddress, p);
    p = this.buf.writeUInt32BE(subAgentId >>> 0, p + agentAddress.length);
    this.headerSize = p + 12; // sequence number, uptime, number of samples: filled in by take()
    this.pos = this.headerSize;
  }

  /** Samples written since the last take(). */
  get sampleCount(): number {
    return this.samples;
  }

  /** Whether a sample of `size` bytes still fits into this datagram. */
  fits(size: number): boolean {
    return this.pos + size <= this.maxSize;
  }

  /** Whether a sample of `size` bytes may go into any datagram (at most half of one, as OVS's receiver wants). */
  acceptable(size: number): boolean {
    return size <= this.maxSize / 2;
  }

  /** The datagram so far (a copy, numbered and stamped with `uptimeMs`); the next one starts empty. Null when it has no samples. */
  take(uptimeMs: number): Buffer | null {
    if (this.samples === 0) return null;
    this.sequence = (this.sequence + 1) >>> 0;
    let p = this.headerSize - 12;
    p = this.buf.writeUInt32BE(this.sequence, p);
    p = this.buf.writeUInt32BE(Math.floor(uptimeMs) >>> 0, p);
    this.buf.writeUInt32BE(this.samples, p);
    const out = Buffer.from(this.buf.subarray(0, this.pos));
    this.pos = this.headerSize;
    this.samples = 0;
    return out;
  }

  private u32(v: number): void {
    this.pos = this.buf.writeUInt32BE(v >>> 0, this.pos);
  }

  private u64(v: bigint): void {
    this.pos = this.buf.writeBigUInt64BE(BigInt.asUintN(64, v), this.pos);
  }

  /** Writes a flow sample with `header` (already cut to the header length); the caller checked fits(). */
  writeFlowSample(f: FlowSampleFields, header: Uint8Array): void {
    const size = flowSampleSize(header.length);
    this.u32(SFLFLOW_SAMPLE);
    this.u32(size - 8);
    this.u32(f.sequence);
    this.u32(f.sourceId);
    this.u32(f.samplingRate);
    this.u32(f.samplePool);
    this.u32(f.drops);
    this.u32(f.input);
    this.u32(f.output);
    this.u32(2); // records
    this.u32(SFLFLOW_HEADER);
    this.u32(16 + pad4(header.length));
    this.u32(SFLHEADER_ETHERNET_ISO8023);
    this.u32(f.frameLength);
    this.u32(f.stripped);
    this.u32(header.length);
    this.buf.set(header, this.pos);
    const end = this.pos + pad4(header.length);
    this.buf.fill(0, this.pos + header.length, end);
    this.pos = end;
    this.u32(SFLFLOW_EX_SWITCH);
    this.u32(16);
    this.u32(f.srcVlan);
    this.u32(f.srcPriority);
    this.u32(f.dstVlan);
    this.u32(f.dstPriority);
    this.samples++;
  }

  /** Writes a counters sample; the caller checked fits(). */
  writeCountersSample(c: CounterFields): void {
    const name = Buffer.from(c.portName);
    this.u32(SFLCOUNTERS_SAMPLE);
    this.u32(countersSampleSize(c.portName) - 8);
    this.u32(c.sequence);
    this.u32(c.sourceId);
    this.u32(4); // records
    this.u32(SFLCOUNTERS_GENERIC);
    this.u32(88);
    this.u32(c.ifIndex);
    this.u32(c.ifType);
    this.u64(c.ifSpeed);
    this.u32(c.ifDirection);
    this.u32(c.ifStatus);
    this.u64(c.ifInOctets);
    this.u32(c.ifInUcastPkts);
    this.u32(c.ifInMulticastPkts);
    this.u32(c.ifInBroadcastPkts);
    this.u32(c.ifInDiscards);
    this.u32(c.ifInErrors);
    this.u32(c.ifInUnknownProtos);
    this.u64(c.ifOutOctets);
    this.u32(c.ifOutUcastPkts);
    this.u32(c.ifOutMulticastPkts);
    this.u32(c.ifOutBroadcastPkts);
    this.u32(c.ifOutDiscards);
    this.u32(c.ifOutErrors);
    this.u32(c.ifPromiscuousMode);
    this.u32(SFLCOUNTERS_ETHERNET);
    this.u32(52);
    // dot3Stats: alignment and FCS errors, then eight collision and MAC counters unknown, frame
    // too long, then internal MAC receive and symbol errors unknown (the ones OVS leaves unknown).
    this.u32(0);
    this.u32(0);
    for (let i = 0; i < 8; i++) this.u32(SFL_UNDEF_COUNTER);
    this.u32(0);
    this.u32(SFL_UNDEF_COUNTER);
    this.u32(SFL_UNDEF_COUNTER);
    this.u32(SFLCOUNTERS_PORTNAME);
    this.u32(4 + pad4(name.length));
    this.u32(name.length);
    this.buf.set(name, this.pos);
    const end = this.pos + pad4(name.length);
    this.buf.fill(0, this.pos + name.length, end);
    this.pos = end;
    this.u32(SFLCOUNTERS_OPENFLOWPORT);
    this.u32(12);
    this.u64(c.datapathId);
    this.u32(c.portNo);
    this.samples++;
  }
}
