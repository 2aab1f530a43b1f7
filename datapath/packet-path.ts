/**
 * The packet path: what happens to every frame a port receives, and to every frame the agent
 * sends through an action list (PACKET_OUT, released buffers).
 *
 * Per received frame (synchronous, no allocation on the common path):
 *   port config (NO_RECV, PORT_DOWN drop) -> ingress policer -> counters -> parseFrame into one reused flow key
 *   -> fragment policy (SET_CONFIG's OFPC_FRAG_DROP) -> flowTable.lookup(key, length)
 *   -> hit: the entry's actions (actions.ts); miss: the miss policy.
 *
 * The miss policy is set by the switch whenever its fail mode's answer changes, so that a miss is
 * decided here, on the frame already parsed:
 *   'controller': the `onMiss` hook (the agent's PACKET_IN), unless the input port has NO_PACKET_IN;
 *   'normal':     the learning bridge at once (fail open), as if the entry said OUTPUT:NORMAL;
 *   'drop':       nothing.
 *
 * Outputs resolve OpenFlow port numbers: a port, IN_PORT, TABLE (PACKET_OUT only), NORMAL (the
 * learning bridge, normal.ts), FLOOD (not NO_FLOOD ports), ALL, CONTROLLER (the `onController`
 * hook), LOCAL. Nothing is sent back out of the input port except through IN_PORT; NO_FWD ports
 * send nothing; a port with NO_PACKET_IN sends nothing to the controller.
 *
 * Frames handed to hooks are valid only during the call: the agent copies what it keeps.
 *
 * Sampling (sFlow): with a packet sampler set (packet-sampler.ts), each received frame counts down
 * its port's countdown; the frame that reaches zero is handed to the sampler before the table and
 * again, with where it went, after its actions (transmit notes each output of that frame only).
 *
 * Flow accounting (NetFlow): with an accountant set (flow-accounting.ts), each received frame that
 * went through the table is counted after its actions, with where it went: the one port it was
 * sent out of, or FLOOD (a FLOOD/ALL output), MULTI (several ports), DROP (none), and the list of
 * ports it was sent out of (IPFIX samples each output). Its nesting level
 * notes the outputs (transmit and flood write one number), so a patch port's frame is counted on
 * its own bridge.
 *
 * Re-entrancy: a frame sent out of a patch port is received by its peer's bridge at once, inside
 * this call, and may come back here (two bridges joined twice) before the first frame is done.
 * Each nesting level has its own flow key, layout and outputs (made once, on the first frame that
 * nests that deep; patch-port.ts bounds the trip, which starts with every frame given to a path),
 * so the outer frame's are left intact. A patch port's frame belongs to the sending bridge: it is
 * never rewritten in place here.
 *
 * ofproto/trace (trace/path-trace.ts) runs the same Outputs dispatch against a dry run instead of
 * this path (both are OutputTargets), with the flow table's counting-free `find`; nothing on the
 * path itself changes for it but `inputSkipped`, called only when an output is dropped.
 * Drops and punts (drop-record.ts, `ofswitch/drops`): every branch that drops a frame or sends it to
 * the controller calls the DropRecorder, if one is set; the forwarding branches never do. The entry
 * whose actions run is kept in `entry` (one field written per frame that hits) so that a drop
 * inside its actions names it.
 * Port mirroring (mirror.ts) hooks in at three places, only while a mirror set is configured: a
 * frame entering (dropped on a mirror output port, else its source mirrors), every frame leaving
 * through transmit (destination mirrors), and NORMAL's choice of ports (no mirror output ports).
 * Policing (policer.ts): a port's ingress policer drops a received frame first of all (counted in
 * rx_dropped only, seen by nothing else); its egress policer drops a frame in transmit (tx_dropped),
 * after sampling, accounting and with destination mirrors still served, as OVS's egress QoS acts
 * in the netdev after the datapath's output. Without policers each costs one field test.
 * Special frames (OVS's process_special: CFM's CCMs and BFD packets, oam/): while a handler is
 * added (addSpecialHandler), each received frame is offered to the handlers after the port's
 * counters and before sampling, mirrors and the table; a handler that takes it (returns true)
 * consumes it.
 */
import { newFlowKey, type FlowKey } from '../flowtable/flow-key.js';
import { OFPC_FRAG, OFPP, OFPPC, OFPPR, OFPR } from '../protocol/constants.js';
import type { Action, Match } from '../protocol/types.js';
import { runActions, type ActionOutputs } from './actions.js';
import { DROP_REASON, type DecidingEntry, type DropReason, type DropRecorder } from './drop-record.js';
import { newFrameLayout, parseFrame, type FrameLayout } from './frame-parser.js';
import type { MirrorSet } from './mirror.js';
import { LearningBridge, TRUNK_ALL_VLANS, type BridgePort } from './normal.js';
import { ACCT_OUT_DROP, ACCT_OUT_FLOOD, ACCT_OUT_MULTI, type FlowAccounting } from './flow-accounting.js';
import type { PacketSampler } from './packet-sampler.js';
import { BondPort, type BondSet } from './bond-set.js';
import type { DatapathPort, PortRegistry } from './port-registry.js';
import { startTrip } from './ports/patch-port.js';

/**
 * A spanning tree's hold on the path (datapath/spanning-tree.ts): it takes the BPDUs of its ports
 * off the path; ports' stpForward/stpLearn (set by it) say what happens to the other frames.
 */
export interface BpduGate {
  /** Whether the tree takes this frame (a BPDU received on one of its ports): it goes no further. */
  takes(port: DatapathPort, frame: Uint8Array): boolean;
}

/** What the packet path needs of the flow table. */
export interface FlowLookup {
  /** The entry matching `key` (counting a packet of `frameLength` bytes on it), or null. */
  lookup(key: FlowKey, frameLength: number): ({ readonly actions: readonly Action[] } & DecidingEntry) | null;
  /** The entry `key` would hit, counting nothing (ofproto/trace's dry run; without it, a trace sees every packet miss). */
  find?(key: FlowKey): TracedEntry | null;
}

/** What ofproto/trace shows of the entry a packet hits. */
export interface TracedEntry {
  readonly actions: readonly Action[];
  readonly priority: number;
  readonly cookie: bigint;
  readonly match: Match;
}

/** A handler of special frames: true when it consumed the frame received on `portNo`. */
export type SpecialHandler = (portNo: number, frame: Uint8Array) => boolean;

/** What a table miss does. */
export type MissPolicy = 'controller' | 'normal' | 'drop';

export interface PacketPathOptions {
  flowTable: FlowLookup;
  /** A frame that matched no entry while the miss policy is 'controller' (reason NO_MATCH), unless its input port has NO_PACKET_IN. */
  onMiss?: (frame: Uint8Array, inPort: number) => void;
  /** A frame output to CONTROLLER (reason OFPR.ACTION), unless its input port has NO_PACKET_IN. */
  onController?: (frame: Uint8Array, inPort: number, maxLen: number, reason: number) => void;
  /** Default 'controller'. */
  missPolicy?: MissPolicy;
  /** Milliseconds clock for the learning bridge (tests inject one). */
  now?: () => number;
  /** Where drops and punts are recorded (drop-record.ts); none: nothing is. */
  drops?: DropRecorder;
}

/**
 * What an output resolves to: the packet path itself, or the dry run of ofproto/trace
 * (path-trace.ts), which records instead of sending. `inputSkipped`: an output to the input port
 * itself (without IN_PORT) that sends nothing.
 */
export interface OutputTarget {
  /** `priority`: the frame's skb priority (ENQUEUE's queue, actions.ts queuePriority); 0 otherwise. */
  transmit(portNo: number, frame: Uint8Array, priority?: number): void;
  resubmit(frame: Uint8Array, inPort: number): void;
  normal(frame: Uint8Array, layout: FrameLayout, inPort: number): void;
  flood(frame: Uint8Array, inPort: number, flood: boolean): void;
  toController(frame: Uint8Array, inPort: number, maxLen: number, reason: number): void;
  inputSkipped(frame: Uint8Array, inPort: number): void;
}

/** Where one action list's outputs go: knows its input port and whether TABLE is allowed. */
export class Outputs implements ActionOutputs {
  inPort = OFPP.NONE as number;
  private readonly path: OutputTarget;
  private readonly allowTable: boolean;

  constructor(path: OutputTarget, allowTable: boolean) {
    this.path = path;
    this.allowTable = allowTable;
  }

  output(port: number, maxLen: number, frame: Uint8Array, layout: FrameLayout, priority = 0): void {
    const inPort = this.inPort;
    if (port < OFPP.MAX) {
      if (port !== inPort) this.path.transmit(port, frame, priority);
      else this.path.inputSkipped(frame, inPort);
      return;
    }
    switch (port) {
      case OFPP.IN_PORT:
        this.path.transmit(inPort, frame, priority);
        return;
      case OFPP.TABLE:
        if (this.allowTable) this.path.resubmit(frame, inPort);
        return;
      case OFPP.NORMAL:
        this.path.normal(frame, layout, inPort);
        return;
      case OFPP.FLOOD:
        this.path.flood(frame, inPort, true);
        return;
      case OFPP.ALL:
        this.path.flood(frame, inPort, false);
        return;
      case OFPP.CONTROLLER:
        this.path.toController(frame, inPort, maxLen, OFPR.ACTION);
        return;
      case OFPP.LOCAL:
        if (inPort !== OFPP.LOCAL) this.path.transmit(OFPP.LOCAL, frame, priority);
        else this.path.inputSkipped(frame, inPort);
        return;
      default:
        return; // OFPP_NONE and unknown numbers: nowhere
    }
  }
}

/** What one nesting level of received frames works in. */
interface RxLevel {
  readonly key: FlowKey;
  readonly layout: FrameLayout;
  readonly outputs: Outputs;
  /** Where the frame went, for flow accounting: a port, or ACCT_OUT_FLOOD/MULTI/DROP. */
  acctOut: number;
  /** Its IP and L4 headers' offsets as parsed, before actions could shift the layout (flow accounting). */
  acctL3: number;
  acctL4: number;
  /** Every port it was sent out of (the first acctCount), for flow accounting. */
  readonly acctPorts: number[];
  acctCount: number;
}

function newRxLevel(path: PacketPath): RxLevel {
  return { key: newFlowKey(), layout: newFrameLayout(), outputs: new Outputs(path, false), acctOut: ACCT_OUT_DROP, acctL3: -1, acctL4: -1, acctPorts: [], acctCount: 0 };
}

/** Whether FLOOD (`flood` true) or ALL from `inPort` sends out of `port`. */
export function floodsTo(port: DatapathPort, inPort: number, flood: boolean): boolean {
  return port.portNo !== inPort && (!flood || port.floods);
}

export class PacketPath implements OutputTarget {
  /** The flow table; replaceable (tests start with a stub). */
  flowTable: FlowLookup;
  /** What a table miss does (set by the switch as its fail mode decides). */
  missPolicy: MissPolicy;
  /** The learning bridge behind NORMAL. */
  readonly bridge: LearningBridge;
  /** Its ports (read by the dry run of ofproto/trace, path-trace.ts). */
  readonly registry: PortRegistry;
  private readonly ports: ReadonlyMap<number, DatapathPort>;
  private readonly onMiss: PacketPathOptions['onMiss'];
  private readonly onController: PacketPathOptions['onController'];
  private dropFragments = false;
  /** The spanning tree, or null (the path pays one comparison per frame). */
  private gate: BpduGate | null = null;
  /** >0 while a frame received on a learning (not forwarding) port runs: NORMAL learns, nothing leaves. */
  private held = 0;
  /** Port mirroring; null (the forwarding path pays nothing) while no mirror is configured. */
  private mirrors: MirrorSet | null = null;
  /** Flow key, layout and outputs of received frames, one set per nesting level (see above). */
  private readonly rxLevels: RxLevel[] = [newRxLevel(this)];
  private rxDepth = 0;
  /** The packet sampler (sFlow), or null. */
  private sampler: PacketSampler | null = null;
  /** Outputs of the sampled frame whose actions are running (-1: none is), its last port and TCI. */
  private sampleOutputs = -1;
  private sampleLastPort = 0;
  private sampleTci = 0;
  /** Handlers of special frames (empty: the path pays one comparison per frame). */
  private specials: readonly SpecialHandler[] = [];
  /** Flow accounting (NetFlow), or null (the path pays one comparison per frame). */
  private accounting: FlowAccounting | null = null;
  private readonly sendToBridgePort = (p: BridgePort, frame: Uint8Array): void => {
    if (p instanceof BondPort) this.bonds?.output(p, frame);
    else this.transmit(p.portNo, frame);
  };
  /** The bridge's bonds (bond-set.ts), or null while it has none (the path pays one test per frame). */
  private bonds: BondSet | null = null;
  /** Where drops and punts are recorded, or null. */
  private drops: DropRecorder | null;
  /** The entry whose actions run now (null: none, or a miss), for the drops they cause. */
  private entry: DecidingEntry | null = null;
  /** The input port of the received frame being handled (for drops on output). */
  private rxInPort = OFPP.NONE as number;
  /** The input "port" of a PACKET_OUT from OFPP_NONE or OFPP_CONTROLLER, for NORMAL (ofpp_none_bundle). */
  readonly noneBridgePort: BridgePort = { portNo: OFPP.NONE, vlan: TRUNK_ALL_VLANS, floods: true };

  /** Takes over the frames every port of `registry` receives. */
  constructor(registry: PortRegistry, opts: PacketPathOptions) {
    this.registry = registry;
    this.ports = registry.byNo;
    this.flowTable = opts.flowTable;
    this.missPolicy = opts.missPolicy ?? 'controller';
    this.onMiss = opts.onMiss;
    this.onController = opts.onController;
    this.bridge = new LearningBridge(opts.now ? { now: opts.now } : {});
    this.drops = null;
    this.setDropRecorder(opts.drops ?? null);
    registry.setReceiver(this.receive);
    // Drops a port makes itself: a frame it received that is no port's has no input port (NONE);
    // one it could not send was being forwarded from the frame's input port: now, or, when its
    // batch left later, the one the port noted when it took the frame (`inPort`).
    registry.setDropHandler(
      (port, reason, frame, aux, received, inPort) =>
        this.drops?.record(
          reason,
          frame,
          received ? OFPP.NONE : (inPort ?? this.rxInPort),
          reason === DROP_REASON.TX_ERROR ? port.portNo : aux,
          received || inPort !== undefined ? null : this.entry,
        ),
      () => this.rxInPort,
    );
    // A port that goes takes what the bridge learned on it (a port added again under its number starts afresh).
    registry.on('port-status', (reason, desc) => {
      if (reason === OFPPR.DELETE) this.bridge.forgetPort(desc.portNo);
      else if (reason === OFPPR.ADD && this.sampler) this.armSampling(desc.portNo);
    });
  }

  /** Records drops and punts from now on in `drops` (null: nowhere). */
  setDropRecorder(drops: DropRecorder | null): void {
    this.drops = drops;
    this.bridge.onDrop = drops === null ? null : (reason, frame, inPort, aux) => drops.record(reason, frame, inPort, aux, this.entry);
  }

  private dropped(reason: DropReason, frame: Uint8Array, inPort: number, aux: number): void {
    this.drops?.record(reason, frame, inPort, aux, this.entry);
  }

  /** SET_CONFIG's fragment handling (flags & OFPC_FRAG.MASK): DROP drops every IP fragment. */
  setFragMode(mode: number): void {
    this.dropFragments = (mode & OFPC_FRAG.MASK) === OFPC_FRAG.DROP;
  }

  /** Sets (or, with null, removes) the packet sampler; every port's countdown starts afresh (a port added later, when added). */
  setSampler(sampler: PacketSampler | null): void {
    this.sampler = sampler;
    for (const port of this.registry.list) this.armSampling(port.portNo);
  }

  private armSampling(portNo: number): void {
    const port = this.ports.get(portNo);
    if (port) port.sampleCountdown = port.sampleSkip = this.sampler ? this.sampler.nextSkip() : 0;
  }

  /** Sets (or, with null, removes) the flow accountant. */
  setAccounting(accounting: FlowAccounting | null): void {
    this.accounting = accounting;
  }

  /** SET_CONFIG's OFPC_FRAG_DROP is in force. */
  get fragmentsDropped(): boolean {
    return this.dropFragments;
  }

  /** The bridge's bonds, or null (ofproto/trace's NORMAL goes through them as the path does). */
  get bondSet(): BondSet | null {
    return this.bonds;
  }

  /** The bonds from now on (null: none). */
  setBonds(bonds: BondSet | null): void {
    this.bonds = bonds;
  }

  /** Port mirroring from now on (null: none). The set sends through `transmit`. */
  setMirrors(mirrors: MirrorSet | null): void {
    this.mirrors = mirrors;
  }

  /** Hands BPDUs to a spanning tree and lets it gate ports (null: none). */
  setBpduGate(gate: BpduGate | null): void {
    this.gate = gate;
  }

  /** Offers every received frame to `handler` first (see above); returns what removes it. */
  addSpecialHandler(handler: SpecialHandler): () => void {
    this.specials = [...this.specials, handler];
    return () => {
      this.specials = this.specials.filter((h) => h !== handler);
    };
  }

  /** A frame received on a port. */
  private readonly receive = (port: DatapathPort, frame: Uint8Array): void => {
    if (this.gate !== null) {
      if (this.gate.takes(port, frame)) {
        port.rxPackets++;
        port.rxBytes += frame.length;
        return;
      }
      if (!port.stpForward) {
        if (!port.stpLearn) {
          this.drops?.record(DROP_REASON.STP_IN_BLOCKED, frame, port.portNo, -1, null);
          return;
        }
        // As OVS: the actions run (NORMAL learns) but every output is cancelled.
        this.held++;
        try {
          this.receiveFrame(port, frame);
        } finally {
          this.held--;
        }
        return;
      }
    }
    this.receiveFrame(port, frame);
  };

  private readonly receiveFrame = (port: DatapathPort, frame: Uint8Array): void => {
    if ((port.config & (OFPPC.NO_RECV | OFPPC.PORT_DOWN)) !== 0) {
      port.rxDropped++;
      if (this.drops !== null) this.drops.record((port.config & OFPPC.PORT_DOWN) !== 0 ? DROP_REASON.IN_PORT_DOWN : DROP_REASON.NO_RECV, frame, port.portNo, -1, null);
      return;
    }
    const policer = port.ingressPolicer;
    if (policer !== null && !policer.admits(frame.length)) {
      // Ingress policing drops before anything else sees the frame, as the kernel's tc police does for OVS.
      port.rxDropped++;
      if (this.drops !== null) this.drops.record(DROP_REASON.POLICED_IN, frame, port.portNo, -1, null);
      return;
    }
    port.rxPackets++;
    port.rxBytes += frame.length;
    if (this.bonds !== null && this.bonds.consumes(port, frame)) return; // LACP: the bond's, not the table's
    if (this.specials.length !== 0) for (const h of this.specials) if (h(port.portNo, frame)) return;
    const sampled = this.sampler !== null && --port.sampleCountdown <= 0 && this.sampleIn(port, frame);
    const mirrors = this.mirrors;
    if (mirrors !== null) {
      if (mirrors.reserves(port.portNo)) {
        // reserved exclusively for mirroring (as OVS drops it)
        this.drops?.record(DROP_REASON.MIRROR_PORT, frame, port.portNo, -1, null);
        return;
      }
      mirrors.begin(frame.length);
    }
    startTrip();
    const depth = this.rxDepth;
    const level = this.rxLevels[depth] ?? (this.rxLevels[depth] = newRxLevel(this));
    level.outputs.inPort = port.portNo;
    level.acctOut = ACCT_OUT_DROP;
    level.acctCount = 0;
    this.rxDepth = depth + 1;
    const outerInPort = this.rxInPort;
    this.rxInPort = port.portNo;
    try {
      mirrors?.ingress(port, frame);
      this.throughTable(frame, port.portNo, level.key, level.layout, level.outputs, port.ownsFrames, level);
      if (this.accounting !== null) this.accounting.account(level.key, frame, level.acctL3, level.acctL4, level.acctOut, level.acctPorts, level.acctCount);
    } finally {
      this.rxDepth = depth;
      this.rxInPort = outerInPort;
      if (sampled) this.sampleOut();
      mirrors?.end();
    }
  };

  /**
   * The port's countdown ran out: draws the next one and hands the frame to the sampler. False for
   * a frame received while a sampled one's actions run (a patch port's loop back): not sampled.
   */
  private sampleIn(port: DatapathPort, frame: Uint8Array): boolean {
    const sampler = this.sampler!;
    const pool = port.sampleSkip;
    port.sampleCountdown = port.sampleSkip = sampler.nextSkip();
    if (this.sampleOutputs >= 0) return false;
    sampler.sampleIn(frame, port.portNo, pool);
    this.sampleOutputs = 0;
    return true;
  }

  private sampleOut(): void {
    const outputs = this.sampleOutputs;
    this.sampleOutputs = -1;
    this.sampler?.sampleOut(outputs, this.sampleLastPort, this.sampleTci);
  }

  /** One output of the sampled frame. */
  private noteSampleOutput(portNo: number, frame: Uint8Array): void {
    this.sampleOutputs++;
    this.sampleLastPort = portNo;
    this.sampleTci = frame.length >= 16 && frame[12] === 0x81 && frame[13] === 0x00 ? (frame[14]! << 8) | frame[15]! : 0;
  }

  /**
   * The flow table's part of the path: parse into `key`, drop fragments when asked, look up, and
   * run the entry's actions (or apply the miss policy). `owned`: the frame may be rewritten in place.
   * `rx`: a received frame's level, which keeps the header offsets for flow accounting.
   */
  private throughTable(frame: Uint8Array, inPort: number, key: FlowKey, into: FrameLayout, outputs: Outputs, owned: boolean, rx?: RxLevel): void {
    const layout = parseFrame(frame, inPort & 0xffff, key, into);
    if (rx !== undefined && this.accounting !== null) {
      rx.acctL3 = layout.l3Offset;
      rx.acctL4 = layout.l4Offset;
    }
    if (layout.fragment && this.dropFragments) {
      this.drops?.record(DROP_REASON.FRAGMENT, frame, inPort, -1, null);
      return;
    }
    const entry = this.flowTable.lookup(key, frame.length);
    // Restored after the actions (a patch port may bring another frame back here meanwhile); a
    // throw would be a bug, and the next received frame sets it afresh.
    const outer = this.entry;
    this.entry = entry;
    if (entry !== null) {
      if (entry.actions.length !== 0) runActions(frame, layout, entry.actions, outputs, owned);
      else this.dropped(DROP_REASON.DROP_ACTION, frame, inPort, -1);
    } else {
      const policy = this.missPolicy;
      if (policy === 'normal') this.normal(frame, layout, inPort);
      else if (policy === 'drop') this.dropped(DROP_REASON.NO_MATCH, frame, inPort, -1);
      else if (this.held !== 0) this.dropped(DROP_REASON.STP_IN_LEARNING, frame, inPort, -1);
      else if (this.packetInDisabled(inPort)) this.dropped(DROP_REASON.NO_PACKET_IN, frame, inPort, -1);
      else {
        this.dropped(DROP_REASON.PUNT_MISS, frame, inPort, -1);
        this.onMiss?.(frame, inPort);
      }
    }
    this.entry = outer;
  }

  /**
   * Runs `actions` on `frame` as if received on `inPort` (PACKET_OUT and released buffers;
   * `inPort` may be OFPP.NONE or OFPP.CONTROLLER). The frame is not modified.
   */
  execute(frame: Uint8Array, inPort: number, actions: readonly Action[]): void {
    startTrip();
    const layout = parseFrame(frame, inPort & 0xffff, newFlowKey());
    const outputs = new Outputs(this, true);
    outputs.inPort = inPort;
    const outerInPort = this.rxInPort;
    const outerEntry = this.entry;
    this.rxInPort = inPort;
    this.entry = null;
    try {
      this.executeOutputs(frame, layout, actions, outputs, inPort);
    } finally {
      this.rxInPort = outerInPort;
      this.entry = outerEntry;
    }
  }

  private executeOutputs(frame: Uint8Array, layout: FrameLayout, actions: readonly Action[], outputs: Outputs, inPort: number): void {
    const mirrors = this.mirrors;
    if (mirrors === null) {
      runActions(frame, layout, actions, outputs, false);
      return;
    }
    // As OVS translates a PACKET_OUT: its input port's source mirrors, or nothing from a reserved one.
    if (mirrors.reserves(inPort)) return;
    mirrors.begin(frame.length);
    try {
      const port = this.ports.get(inPort);
      if (port !== undefined) mirrors.ingress(port, frame);
      runActions(frame, layout, actions, outputs, false);
    } finally {
      mirrors.end();
    }
  }

  /** OUTPUT:TABLE of a PACKET_OUT: the frame as it is now through the flow table. */
  resubmit(frame: Uint8Array, inPort: number): void {
    // Its own key, layout and outputs: it runs inside another frame's actions.
    const outputs = new Outputs(this, false);
    outputs.inPort = inPort;
    this.throughTable(frame, inPort, newFlowKey(), newFrameLayout(), outputs, false);
  }

  /** Sends a frame out of one port, counting it; NO_FWD and down ports, and those a spanning tree blocks, drop it. */
  transmit(portNo: number, frame: Uint8Array, priority = 0): void {
    const port = this.ports.get(portNo);
    if (!port) {
      this.dropped(DROP_REASON.NO_SUCH_PORT, frame, this.rxInPort, portNo);
      return;
    }
    if (!port.stpForward) {
      this.dropped(DROP_REASON.STP_OUT_BLOCKED, frame, this.rxInPort, portNo);
      return;
    }
    this.send(port, frame, priority);
  }

  /** A BPDU of the spanning tree out of one port (no tree check, counted as sent). */
  sendBpdu(portNo: number, frame: Uint8Array): void {
    const port = this.ports.get(portNo);
    if (port) this.send(port, frame);
  }

  /** Sends a frame out of `port`, counting it; NO_FWD and down ports drop it (OFPP_ALL comes here directly). */
  private send(port: DatapathPort, frame: Uint8Array, priority = 0): void {
    const portNo = port.portNo;
    if (this.held !== 0) {
      this.dropped(DROP_REASON.STP_IN_LEARNING, frame, this.rxInPort, -1);
      return;
    }
    if ((port.config & (OFPPC.NO_FWD | OFPPC.PORT_DOWN)) !== 0) {
      port.txDropped++;
      if (this.drops !== null) this.dropped((port.config & OFPPC.PORT_DOWN) !== 0 ? DROP_REASON.PORT_DOWN : DROP_REASON.NO_FWD, frame, this.rxInPort, portNo);
      return;
    }
    if (this.sampleOutputs >= 0) this.noteSampleOutput(portNo, frame);
    if (this.accounting !== null && this.rxDepth > 0) this.noteAccountedOutput(portNo);
    const policer = port.egressPolicer;
    if (policer !== null && !policer.admits(frame.length)) {
      // The port's egress QoS drops it as it leaves (OVS's netdev does, after the output action): mirrors still see it.
      port.txDropped++;
      this.dropped(DROP_REASON.POLICED_OUT, frame, this.rxInPort, portNo);
    } else {
      try {
        port.net.send(frame, priority);
        port.txPackets++;
        port.txBytes += frame.length;
      } catch {
        port.txErrors++;
        this.dropped(DROP_REASON.TX_ERROR, frame, this.rxInPort, portNo);
      }
    }
    if (this.mirrors !== null) this.mirrors.egress(port, frame);
  }

  /** FLOOD (`flood` true: skipping NO_FLOOD ports) or ALL: every port but the input port. */
  flood(frame: Uint8Array, inPort: number, flood: boolean): void {
    let sent = 0;
    let unflooded = 0;
    for (const port of this.registry.list) {
      if (!floodsTo(port, inPort, flood)) {
        if (port.portNo !== inPort) unflooded++;
        continue;
      }
      sent++;
      // ALL ignores the spanning tree, FLOOD does not (OVS's flood_packets and check_stp).
      if (flood) this.transmit(port.portNo, frame);
      else this.send(port, frame);
    }
    if (sent === 0 && unflooded !== 0) this.dropped(DROP_REASON.NO_FLOOD, frame, inPort, -1);
    if (this.accounting !== null && this.rxDepth > 0) this.rxLevels[this.rxDepth - 1]!.acctOut = ACCT_OUT_FLOOD;
  }

  /** One output of the received frame being accounted: its port, or MULTI once a second port is used (FLOOD stays). */
  private noteAccountedOutput(portNo: number): void {
    const level = this.rxLevels[this.rxDepth - 1]!;
    level.acctPorts[level.acctCount++] = portNo;
    const out = level.acctOut;
    if (out === ACCT_OUT_DROP) level.acctOut = portNo;
    else if (out !== portNo && out !== ACCT_OUT_FLOOD) level.acctOut = ACCT_OUT_MULTI;
  }

  /**
   * OUTPUT:NORMAL. A frame from OFPP_NONE or OFPP_CONTROLLER (a PACKET_OUT) comes from a trunk of
   * every VLAN and teaches nothing; from a port that does not exist, it is dropped (as in OVS).
   */
  normal(frame: Uint8Array, layout: FrameLayout, inPort: number): void {
    const port = this.ports.get(inPort);
    let ports: readonly BridgePort[] = this.mirrors === null ? this.registry.list : this.mirrors.normalPorts(this.registry.list);
    const bonds = this.bonds;
    if (bonds !== null) {
      // A bond is one port to NORMAL; a frame its admissibility check refuses goes nowhere.
      ports = bonds.bridgePorts(ports);
      if (port !== undefined) {
        const from = bonds.inputPort(port, frame);
        if (from !== null) this.bridge.process(frame, layout, from, ports, this.sendToBridgePort, true);
        return;
      }
    }
    if (port !== undefined) this.bridge.process(frame, layout, port, ports, this.sendToBridgePort, true);
    else if (inPort === OFPP.NONE || inPort === OFPP.CONTROLLER)
      this.bridge.process(frame, layout, this.noneBridgePort, ports, this.sendToBridgePort, false);
  }

  /** An output to the input port without IN_PORT: nothing is sent. */
  inputSkipped(frame: Uint8Array, inPort: number): void {
    this.dropped(DROP_REASON.OUTPUT_IN_PORT, frame, inPort, inPort);
  }

  /** OUTPUT:CONTROLLER. */
  toController(frame: Uint8Array, inPort: number, maxLen: number, reason: number): void {
    if (this.held !== 0) {
      this.dropped(DROP_REASON.STP_IN_LEARNING, frame, inPort, -1);
      return;
    }
    if (this.packetInDisabled(inPort)) {
      this.dropped(DROP_REASON.NO_PACKET_IN, frame, inPort, -1);
      return;
    }
    this.dropped(DROP_REASON.PUNT_ACTION, frame, inPort, -1);
    this.onController?.(frame, inPort, maxLen, reason);
  }

  /** Nothing is sent to the controller for this input port (OFPPC_NO_PACKET_IN). */
  packetInDisabled(inPort: number): boolean {
    const port = this.ports.get(inPort);
    return port !== undefined && (port.config & OFPPC.NO_PACKET_IN) !== 0;
  }
}
