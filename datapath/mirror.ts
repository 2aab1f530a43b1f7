/**
 * Port mirroring (SPAN and RSPAN), as Open vSwitch 3.1 does it: vswitchd/vswitch.xml's Mirror
 * table, ofproto/ofproto-dpif-mirror.c and the mirror parts of ofproto-dpif-xlate.c.
 *
 * A mirror selects frames by the port they enter on (`srcPorts`), the port they leave by
 * (`dstPorts`), both for every port (`selectAll`), and by VLAN (`vlans`; none: every VLAN). A
 * selected frame is sent, in addition to its normal destinations, to `outputPort` (SPAN) or, with
 * the tag of `outputVlan`, to every port that carries that VLAN (RSPAN; not to mirror output ports,
 * not for frames already in that VLAN nor to reserved multicast addresses such as STP's).
 *
 * When, as OVS does it:
 * - On entry, once per frame received (or PACKET_OUT given an input port), before the flow table,
 *   as the frame arrived: the port's source mirrors (mirror_ingress_packet).
 * - On every output to a port, by OpenFlow actions and by NORMAL alike, as the frame leaves: the
 *   port's destination mirrors (compose_output_action__). Frames to the controller are not ports'.
 * - The frame's VLAN is the one the port puts it in: its tag read by the port's VLAN role
 *   (normal.ts vlanOnPort); a frame the port would not admit (a tagged frame on an access port) is
 *   not mirrored there.
 * - A frame goes to a mirror's destination at most once, however many mirrors select it and
 *   however often: each packet carries the set of mirrors already used, together with every
 *   mirror sending to the same destination (OVS's ctx->mirrors and dup_mirrors). The mirrored
 *   copy is an output too, so it may select other mirrors; never its own.
 * - An output port is reserved for mirroring: the datapath drops whatever it receives, NORMAL
 *   neither floods to it nor forwards to addresses learned on it (`normalPorts`). OpenFlow actions
 *   may still output to it, as in OVS.
 * - Statistics: a mirror counts the packets it sent and their length as the packet entered the
 *   bridge (OVS's resubmit stats); a mirror skipped for a duplicate destination counts nothing.
 *
 * Cost: the datapath holds no MirrorSet while no mirror is configured, so the forwarding path pays
 * one null test per frame and per output. With mirrors, the masks below are computed once per
 * configuration: a frame costs a map lookup per port it crosses, and work only when selected.
 *
 * `snaplen` and `filter` (OVS 3.4) are not implemented. At most 32 mirrors per bridge (MAX_MIRRORS).
 */
import { ETH_ADDR_RESERVED, MAX_MIRRORS } from '../protocol/constants.js';
import { carriesVlan, frameForPort, hasVlanTag, vlanOnPort, type BridgePort } from './normal.js';

export { MAX_MIRRORS };

/** A mirror's counters (the Mirror table's `statistics`), kept by the switch across reconfigurations. */
export interface MirrorCounters {
  txPackets: number;
  txBytes: number;
}

/** One mirror as the datapath applies it, its ports by OpenFlow number. */
export interface MirrorRule {
  readonly name: string;
  readonly selectAll: boolean;
  readonly srcPorts: readonly number[];
  readonly dstPorts: readonly number[];
  /** VLANs selected (0..4095); empty: all. */
  readonly vlans: readonly number[];
  /** Exactly one of outputPort and outputVlan. */
  readonly outputPort: number | null;
  readonly outputVlan: number | null;
  readonly counters: MirrorCounters;
}

/** What a mirror set needs of the bridge's ports (a PortRegistry has it). */
export interface MirrorPorts {
  get(portNo: number): BridgePort | undefined;
  readonly list: readonly BridgePort[];
}

interface CompiledMirror {
  readonly vlans: Uint8Array | null;
  readonly outputPort: number;
  readonly outputVlan: number;
  /** This mirror's bit and those of every mirror with the same destination. */
  dups: number;
  readonly counters: MirrorCounters;
}

/** Destination MACs never mirrored to a VLAN. */
const RESERVED_MACS: ReadonlySet<number> = new Set(ETH_ADDR_RESERVED);

function destinationMac(f: Uint8Array): number {
  return ((f[0] as number) * 0x10000 + ((f[1] as number) << 8 | (f[2] as number))) * 0x1000000 + (((f[3] as number) << 16) | ((f[4] as number) << 8) | (f[5] as number));
}

function vlanBitmap(vlans: readonly number[]): Uint8Array | null {
  if (vlans.length === 0) return null;
  const map = new Uint8Array(4096);
  for (const v of vlans) {
    if (!Number.isInteger(v) || v < 0 || v > 4095) throw new RangeError(`select_vlan ${v} is not a VLAN (0..4095)`);
    map[v] = 1;
  }
  return map;
}

export class MirrorSet {
  private readonly mirrors: CompiledMirror[] = [];
  /** Per port number: the mirrors selecting frames it receives, and frames it sends. */
  private readonly srcMasks = new Map<number, number>();
  private readonly dstMasks = new Map<number, number>();
  /** Mirrors selecting every port. */
  private readonly allMask: number = 0;
  /** Output ports: reserved for mirroring. */
  private readonly outputs: ReadonlySet<number>;
  private readonly ports: MirrorPorts;
  private readonly send: (portNo: number, frame: Uint8Array) => void;
  /** The packet under way: mirrors used (with their duplicates) and its length; one entry per nesting level. */
  private used = 0;
  private bytes = 0;
  private readonly usedStack: number[] = [];
  private readonly bytesStack: number[] = [];

  /** `send`: an output of the datapath (counted, and itself subject to destination mirrors). */
  constructor(rules: readonly MirrorRule[], ports: MirrorPorts, send: (portNo: number, frame: Uint8Array) => void) {
    if (rules.length > MAX_MIRRORS) throw new RangeError(`at most ${MAX_MIRRORS} mirrors per bridge`);
    this.ports = ports;
    this.send = send;
    const outputs = new Set<number>();
    let all = 0;
    rules.forEach((r, i) => {
      const bit = (1 << i) | 0;
      if ((r.outputPort === null) === (r.outputVlan === null)) throw new RangeError(`mirror ${r.name}: exactly one of an output port and an output VLAN`);
      if (r.outputVlan !== null && !(Number.isInteger(r.outputVlan) && r.outputVlan >= 1 && r.outputVlan <= 4095))
        throw new RangeError(`mirror ${r.name}: output_vlan ${r.outputVlan} is not 1..4095`);
      this.mirrors.push({ vlans: vlanBitmap(r.vlans), outputPort: r.outputPort ?? -1, outputVlan: r.outputVlan ?? -1, dups: bit, counters: r.counters });
      if (r.outputPort !== null) outputs.add(r.outputPort);
      if (r.selectAll) all |= bit;
      else {
        for (const p of r.srcPorts) this.srcMasks.set(p, (this.srcMasks.get(p) ?? 0) | bit);
        for (const p of r.dstPorts) this.dstMasks.set(p, (this.dstMasks.get(p) ?? 0) | bit);
      }
    });
    this.allMask = all;
    this.outputs = outputs;
    // mirror_update_dups: mirrors with the same destination are used together.
    for (let i = 0; i < this.mirrors.length; i++) {
      for (let j = 0; j < this.mirrors.length; j++) {
        const a = this.mirrors[i] as CompiledMirror;
        const b = this.mirrors[j] as CompiledMirror;
        if (a.outputPort === b.outputPort && a.outputVlan === b.outputVlan) a.dups |= 1 << j;
      }
    }
  }

  /** Whether a port is a mirror's output (reserved: what it receives is dropped). */
  reserves(portNo: number): boolean {
    return this.outputs.has(portNo);
  }

  private normalCache: { from: readonly BridgePort[]; to: readonly BridgePort[] } | null = null;

  /** The ports NORMAL may use: `list` without the mirror output ports (cached while `list` stays the same array). */
  normalPorts<P extends BridgePort>(list: readonly P[]): readonly P[] {
    const cache = this.normalCache;
    if (cache !== null && cache.from === list) return cache.to as readonly P[];
    const to = list.filter((p) => !this.outputs.has(p.portNo));
    this.normalCache = { from: list, to };
    return to;
  }

  /** A new packet of `length` bytes enters the bridge (nothing mirrored yet); pair with end(). */
  begin(length: number): void {
    this.usedStack.push(this.used);
    this.bytesStack.push(this.bytes);
    this.used = 0;
    this.bytes = length;
  }

  /** The packet is done: back to the one it was nested in (a frame that came back through patch ports). */
  end(): void {
    this.used = this.usedStack.pop() ?? 0;
    this.bytes = this.bytesStack.pop() ?? 0;
  }

  /** A frame received on `port`, as it arrived. */
  ingress(port: BridgePort, frame: Uint8Array): void {
    const mask = (this.srcMasks.get(port.portNo) ?? 0) | this.allMask;
    if (mask !== 0) this.mirror(port, frame, mask);
  }

  /** A frame sent out of `port`, as it left. */
  egress(port: BridgePort, frame: Uint8Array): void {
    const mask = (this.dstMasks.get(port.portNo) ?? 0) | this.allMask;
    if (mask !== 0) this.mirror(port, frame, mask);
  }

  /** mirror_packet: the candidates in `mask` not used yet for this packet, in index order. */
  private mirror(port: BridgePort, frame: Uint8Array, mask: number): void {
    mask &= ~this.used;
    if (mask === 0) return;
    const vid = hasVlanTag(frame) ? (((frame[14] as number) << 8) | (frame[15] as number)) & 0xfff : 0;
    const vlan = vlanOnPort(port.vlan, vid);
    if (vlan < 0) return;
    while (mask !== 0) {
      const bit = mask & -mask;
      const m = this.mirrors[31 - Math.clz32(bit)] as CompiledMirror;
      if (m.vlans !== null && m.vlans[vlan] !== 1) {
        mask &= ~bit;
        continue;
      }
      // Recorded before sending: the copy's own output must not come back to these mirrors.
      this.used |= m.dups;
      m.counters.txPackets++;
      m.counters.txBytes += this.bytes;
      if (m.outputPort >= 0) {
        const out = this.ports.get(m.outputPort);
        if (out !== undefined) this.send(out.portNo, frameForPort(frame, vlan, out.vlan));
      } else if (vlan !== m.outputVlan && !RESERVED_MACS.has(destinationMac(frame))) {
        for (const p of this.ports.list) {
          if (!this.outputs.has(p.portNo) && carriesVlan(p.vlan, m.outputVlan)) this.send(p.portNo, frameForPort(frame, m.outputVlan, p.vlan));
        }
      }
      mask &= ~this.used;
    }
  }
}
