/**
 * The packet path: what happens to every frame a port receives, and to every frame the agent
 * sends through an action list (PACKET_OUT, released buffers).
 *
 * Per received frame (synchronous, no allocation on the common path):
 *   port config (NO_RECV, PORT_DOWN drop) -> counters -> parseFrame into one reused flow key
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
 * Re-entrancy: a frame sent out of a patch port is received by its peer's bridge at once, inside
 * this call, and may come back here (two bridges joined twice) before the first frame is done.
 * Each nesting level has its own flow key, layout and outputs (made once, on the first frame that
 * nests that deep; patch-port.ts bounds the trip, which starts with every frame given to a path),
 * so the outer frame's are left intact. A patch port's frame belongs to the sending bridge: it is
 * never rewritten in place here.
 *
 * Port mirroring (mirror.ts) hooks in at three places, only while a mirror set is configured: a
 * frame entering (dropped on a mirror output port, else its source mirrors), every frame leaving
 * through transmit (destination mirrors), and NORMAL's choice of ports (no mirror output ports).
 */
import { newFlowKey, type FlowKey } from '../flowtable/flow-key.js';
import { OFPC_FRAG, OFPP, OFPPC, OFPPR, OFPR } from '../protocol/constants.js';
import type { Action } from '../protocol/types.js';
import { runActions, type ActionOutputs } from './actions.js';
import { newFrameLayout, parseFrame, type FrameLayout } from './frame-parser.js';
import type { MirrorSet } from './mirror.js';
import { LearningBridge, TRUNK_ALL_VLANS, type BridgePort } from './normal.js';
import type { DatapathPort, PortRegistry } from './port-registry.js';
import { startTrip } from './ports/patch-port.js';

/** What the packet path needs of the flow table. */
export interface FlowLookup {
  /** The entry matching `key` (counting a packet of `frameLength` bytes on it), or null. */
  lookup(key: FlowKey, frameLength: number): { readonly actions: readonly Action[] } | null;
}

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
}

/** Where one action list's outputs go: knows its input port and whether TABLE is allowed. */
class Outputs implements ActionOutputs {
  inPort = OFPP.NONE as number;
  private readonly path: PacketPath;
  private readonly allowTable: boolean;

  constructor(path: PacketPath, allowTable: boolean) {
    this.path = path;
    this.allowTable = allowTable;
  }

  output(port: number, maxLen: number, frame: Uint8Array, layout: FrameLayout): void {
    const inPort = this.inPort;
    if (port < OFPP.MAX) {
      if (port !== inPort) this.path.transmit(port, frame);
      return;
    }
    switch (port) {
      case OFPP.IN_PORT:
        this.path.transmit(inPort, frame);
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
        if (inPort !== OFPP.LOCAL) this.path.transmit(OFPP.LOCAL, frame);
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
}

function newRxLevel(path: PacketPath): RxLevel {
  return { key: newFlowKey(), layout: newFrameLayout(), outputs: new Outputs(path, false) };
}

export class PacketPath {
  /** The flow table; replaceable (tests start with a stub). */
  flowTable: FlowLookup;
  /** What a table miss does (set by the switch as its fail mode decides). */
  missPolicy: MissPolicy;
  /** The learning bridge behind NORMAL. */
  readonly bridge: LearningBridge;
  private readonly registry: PortRegistry;
  private readonly ports: ReadonlyMap<number, DatapathPort>;
  private readonly onMiss: PacketPathOptions['onMiss'];
  private readonly onController: PacketPathOptions['onController'];
  private dropFragments = false;
  /** Port mirroring; null (the forwarding path pays nothing) while no mirror is configured. */
  private mirrors: MirrorSet | null = null;
  /** Flow key, layout and outputs of received frames, one set per nesting level (see above). */
  private readonly rxLevels: RxLevel[] = [newRxLevel(this)];
  private rxDepth = 0;
  private readonly sendToBridgePort = (p: BridgePort, frame: Uint8Array): void => this.transmit(p.portNo, frame);
  /** The input "port" of a PACKET_OUT from OFPP_NONE or OFPP_CONTROLLER, for NORMAL (ofpp_none_bundle). */
  private readonly noneBridgePort: BridgePort = { portNo: OFPP.NONE, vlan: TRUNK_ALL_VLANS, floods: true };

  /** Takes over the frames every port of `registry` receives. */
  constructor(registry: PortRegistry, opts: PacketPathOptions) {
    this.registry = registry;
    this.ports = registry.byNo;
    this.flowTable = opts.flowTable;
    this.missPolicy = opts.missPolicy ?? 'controller';
    this.onMiss = opts.onMiss;
    this.onController = opts.onController;
    this.bridge = new LearningBridge(opts.now ? { now: opts.now } : {});
    registry.setReceiver(this.receive);
    // A port that goes takes what the bridge learned on it (a port added again under its number starts afresh).
    registry.on('port-status', (reason, desc) => {
      if (reason === OFPPR.DELETE) this.bridge.forgetPort(desc.portNo);
    });
  }

  /** SET_CONFIG's fragment handling (flags & OFPC_FRAG.MASK): DROP drops every IP fragment. */
  setFragMode(mode: number): void {
    this.dropFragments = (mode & OFPC_FRAG.MASK) === OFPC_FRAG.DROP;
  }

  /** Port mirroring from now on (null: none). The set sends through `transmit`. */
  setMirrors(mirrors: MirrorSet | null): void {
    this.mirrors = mirrors;
  }

  /** A frame received on a port. */
  private readonly receive = (port: DatapathPort, frame: Uint8Array): void => {
    if ((port.config & (OFPPC.NO_RECV | OFPPC.PORT_DOWN)) !== 0) {
      port.rxDropped++;
      return;
    }
    port.rxPackets++;
    port.rxBytes += frame.length;
    const mirrors = this.mirrors;
    if (mirrors !== null) {
      if (mirrors.reserves(port.portNo)) return; // reserved exclusively for mirroring (as OVS drops it)
      mirrors.begin(frame.length);
    }
    startTrip();
    const depth = this.rxDepth;
    const level = this.rxLevels[depth] ?? (this.rxLevels[depth] = newRxLevel(this));
    level.outputs.inPort = port.portNo;
    this.rxDepth = depth + 1;
    try {
      mirrors?.ingress(port, frame);
      this.throughTable(frame, port.portNo, level.key, level.layout, level.outputs, port.ownsFrames);
    } finally {
      this.rxDepth = depth;
      mirrors?.end();
    }
  };

  /**
   * The flow table's part of the path: parse into `key`, drop fragments when asked, look up, and
   * run the entry's actions (or apply the miss policy). `owned`: the frame may be rewritten in place.
   */
  private throughTable(frame: Uint8Array, inPort: number, key: FlowKey, into: FrameLayout, outputs: Outputs, owned: boolean): void {
    const layout = parseFrame(frame, inPort & 0xffff, key, into);
    if (layout.fragment && this.dropFragments) return;
    const entry = this.flowTable.lookup(key, frame.length);
    if (entry !== null) {
      runActions(frame, layout, entry.actions, outputs, owned);
      return;
    }
    const policy = this.missPolicy;
    if (policy === 'normal') this.normal(frame, layout, inPort);
    else if (policy === 'controller' && !this.packetInDisabled(inPort)) this.onMiss?.(frame, inPort);
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

  /** Sends a frame out of one port, counting it; NO_FWD and down ports drop it. */
  transmit(portNo: number, frame: Uint8Array): void {
    const port = this.ports.get(portNo);
    if (!port) return;
    if ((port.config & (OFPPC.NO_FWD | OFPPC.PORT_DOWN)) !== 0) {
      port.txDropped++;
      return;
    }
    try {
      port.net.send(frame);
      port.txPackets++;
      port.txBytes += frame.length;
    } catch {
      port.txErrors++;
    }
    if (this.mirrors !== null) this.mirrors.egress(port, frame);
  }

  /** FLOOD (`flood` true: skipping NO_FLOOD ports) or ALL: every port but the input port. */
  flood(frame: Uint8Array, inPort: number, flood: boolean): void {
    for (const port of this.registry.list) {
      if (port.portNo === inPort || (flood && !port.floods)) continue;
      this.transmit(port.portNo, frame);
    }
  }

  /**
   * OUTPUT:NORMAL. A frame from OFPP_NONE or OFPP_CONTROLLER (a PACKET_OUT) comes from a trunk of
   * every VLAN and teaches nothing; from a port that does not exist, it is dropped (as in OVS).
   */
  normal(frame: Uint8Array, layout: FrameLayout, inPort: number): void {
    const port = this.ports.get(inPort);
    const ports = this.mirrors === null ? this.registry.list : this.mirrors.normalPorts(this.registry.list);
    if (port !== undefined) this.bridge.process(frame, layout, port, ports, this.sendToBridgePort, true);
    else if (inPort === OFPP.NONE || inPort === OFPP.CONTROLLER)
      this.bridge.process(frame, layout, this.noneBridgePort, ports, this.sendToBridgePort, false);
  }

  /** OUTPUT:CONTROLLER. */
  toController(frame: Uint8Array, inPort: number, maxLen: number, reason: number): void {
    if (this.packetInDisabled(inPort)) return;
    this.onController?.(frame, inPort, maxLen, reason);
  }

  private packetInDisabled(inPort: number): boolean {
    const port = this.ports.get(inPort);
    return port !== undefined && (port.config & OFPPC.NO_PACKET_IN) !== 0;
  }
}
