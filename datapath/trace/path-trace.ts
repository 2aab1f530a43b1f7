/**
 * The dry run of the packet path, for `ovs-appctl ofproto/trace`: one frame through a bridge's
 * flow table, actions, NORMAL and patch ports exactly as packet-path.ts would take it, with every
 * decision handed to a TraceRecorder instead of carried out.
 *
 * Nothing is duplicated and nothing changes: the frame is parsed by parseFrame, the entry found by
 * the flow table's `find` (which counts nothing: no lookup, matched or packet counters, no idle
 * refresh, no cache change), the actions run by runActions one at a time (so each can be reported
 * before what it does; the frame is copied before its first rewrite, as for any frame the path
 * does not own), and their outputs resolved by the packet path's own Outputs dispatch (IN_PORT,
 * FLOOD, ALL, LOCAL, CONTROLLER, NORMAL), pointed at this dry run instead of at the path. NORMAL
 * runs the learning bridge with a NormalTrace, which reads the MAC table without learning or
 * expiring anything. A port's frame is "sent" only to the recorder: no counters move, no
 * packet-in is queued. A frame sent out of a linked patch port goes on through the peer's bridge
 * (the recorder resolves which), within the same bounds as real frames (MAX_DEPTH nested
 * crossings, MAX_RESUBMITS in all).
 *
 * The hooks this needs in the path itself are small: the Outputs dispatch accepts any
 * OutputTarget, `inputSkipped` says when an output to the input port is dropped, and the few
 * facts the checks need (registry, fragment mode, NO_PACKET_IN) are readable.
 */
import { newFlowKey, W_DL_TYPE_PCP_TOS } from '../../flowtable/flow-key.js';
import { MAX_DEPTH, MAX_RESUBMITS, OFPP, OFPPC, OFPR } from '../../protocol/constants.js';
import type { Action } from '../../protocol/types.js';
import { runActions } from '../actions.js';
import { parseFrame, type FrameLayout } from '../frame-parser.js';
import type { BridgePort, NormalTrace, TraceReportKind } from '../normal.js';
import { floodsTo, Outputs, type OutputTarget, type PacketPath, type TracedEntry } from '../packet-path.js';
import type { NetPort } from '../ports/net-port.js';
import { PatchPort } from '../ports/patch-port.js';
import { BondPort } from '../bond-set.js';

/** What a table miss did: the miss policy's answer, or why there was no lookup. */
export type TracedMiss = 'controller' | 'normal' | 'drop' | 'no-packet-in' | 'fragment';

export type { TraceReportKind };

/** Receives the dry run's decisions, in order (ofproto-trace.ts turns them into Open vSwitch's text). */
export interface TraceRecorder {
  /** A real frame is traced (not one made from a flow). */
  readonly packet: boolean;
  /**
   * The dl_type of a traced FLOW that no frame carries as its Ethernet type (below 0x0600: 0 for
   * a flow that gives none), or null. Its frame parses as 802.3 (dl_type 0x05ff); OVS traces the
   * flow itself and keeps the dl_type given, so the lookups do too.
   */
  readonly dlType: number | null;
  /** The table's answer for the bridge being traced: the entry hit, or null and what the miss does. */
  table(entry: TracedEntry | null, miss: TracedMiss | null): void;
  /** The next action of the entry (null: the entry has none, the packet is dropped). */
  action(a: Action | null): void;
  report(kind: TraceReportKind, text: string): void;
  /** The frame leaves through a port of the bridge being traced, with skb priority `priority` (an ENQUEUE's queue; 0 otherwise). */
  output(portNo: number, frame: Uint8Array, priority: number): void;
  /** The frame goes to the controller (a packet-in with `reason`). */
  controller(reason: number, maxLen: number, frame: Uint8Array): void;
  /** The frame crosses into the bridge of patch port `peer`: its path and the port it arrives on, or undefined. */
  enterBridge(peer: NetPort): { path: PacketPath; inPort: number } | undefined;
  /** Back from the bridge entered last. */
  exitBridge(): void;
}

/** Crossings of patch ports so far, shared by every bridge of one trace. */
interface Budget {
  depth: number;
  crossings: number;
}

/**
 * Traces `frame` received on `inPort` through `path`'s table. Returns the frame as the entry's
 * actions left it (for "Final flow").
 */
export function tracePacket(path: PacketPath, frame: Uint8Array, inPort: number, recorder: TraceRecorder): Uint8Array {
  return new DryRun(path, recorder, { depth: 0, crossings: 0 }).receive(frame, inPort);
}

/** A port's name in `path` (its interface's), or its number. */
export function portNameIn(path: PacketPath, portNo: number): string {
  return path.registry.byNo.get(portNo)?.net.name ?? (portNo === OFPP.NONE ? 'NONE' : String(portNo));
}

class DryRun implements OutputTarget {
  private readonly path: PacketPath;
  private readonly rec: TraceRecorder;
  private readonly budget: Budget;
  private readonly normalTrace: NormalTrace;

  constructor(path: PacketPath, rec: TraceRecorder, budget: Budget) {
    this.path = path;
    this.rec = rec;
    this.budget = budget;
    this.normalTrace = {
      packet: rec.packet,
      report: (kind, text) => rec.report(kind, text),
      portName: (portNo) => portNameIn(path, portNo),
    };
  }

  /** PacketPath.receive's decisions: a port with NO_RECV or PORT_DOWN takes nothing. */
  receive(frame: Uint8Array, inPort: number): Uint8Array {
    const port = this.path.registry.byNo.get(inPort);
    if (port !== undefined && (port.config & (OFPPC.NO_RECV | OFPPC.PORT_DOWN)) !== 0) {
      this.rec.report('detail', `${port.net.name} does not receive (OFPPC_NO_RECV or OFPPC_PORT_DOWN), dropping`);
      return frame;
    }
    return this.throughTable(frame, inPort);
  }

  /** PacketPath.throughTable's decisions, counting nothing. */
  throughTable(frame: Uint8Array, inPort: number): Uint8Array {
    const path = this.path;
    const key = newFlowKey();
    const layout = parseFrame(frame, inPort & 0xffff, key);
    const dlType = this.rec.dlType;
    if (dlType !== null) key[W_DL_TYPE_PCP_TOS] = ((dlType << 16) | ((key[W_DL_TYPE_PCP_TOS] ?? 0) & 0xffff)) >>> 0;
    if (layout.fragment && path.fragmentsDropped) {
      this.rec.table(null, 'fragment');
      return frame;
    }
    const entry = path.flowTable.find?.(key) ?? null;
    if (entry !== null) {
      this.rec.table(entry, null);
      if (entry.actions.length === 0) this.rec.action(null);
      const outputs = new Outputs(this, false);
      outputs.inPort = inPort;
      let f = frame;
      let mine = false;
      for (const a of entry.actions) {
        this.rec.action(a);
        const next = runActions(f, layout, [a], outputs, mine);
        if (next !== f) mine = true;
        f = next;
      }
      return f;
    }
    const policy = path.missPolicy;
    if (policy === 'normal') {
      this.rec.table(null, 'normal');
      this.normal(frame, layout, inPort);
    } else if (policy === 'controller' && !path.packetInDisabled(inPort)) {
      this.rec.table(null, 'controller');
      this.rec.controller(OFPR.NO_MATCH, 0, frame);
    } else {
      this.rec.table(null, policy === 'controller' ? 'no-packet-in' : 'drop');
    }
    return frame;
  }

  transmit(portNo: number, frame: Uint8Array, priority = 0): void {
    const port = this.path.registry.byNo.get(portNo);
    if (port === undefined) return this.rec.report('warn', 'Nonexistent output port');
    if ((port.config & OFPPC.NO_FWD) !== 0) return this.rec.report('detail', 'OFPPC_NO_FWD set, skipping output');
    if ((port.config & OFPPC.PORT_DOWN) !== 0) return this.rec.report('detail', 'OFPPC_PORT_DOWN set, skipping output');
    if (port.net instanceof PatchPort) return this.cross(port.net, frame);
    this.rec.output(portNo, frame, priority);
  }

  /** A patch port's frame through the peer's bridge, as PatchPort.send and PacketPath.receive take it. */
  private cross(patch: PatchPort, frame: Uint8Array): void {
    const peer = patch.receivingPeer;
    if (peer === undefined) return this.rec.report('warn', `patch port ${patch.name} has no usable peer, dropping`);
    const b = this.budget;
    if (b.depth >= MAX_DEPTH) return this.rec.report('error', `over max translation depth ${MAX_DEPTH}`);
    if (b.crossings >= MAX_RESUBMITS) return this.rec.report('error', `over ${MAX_RESUBMITS} resubmit actions`);
    const into = this.rec.enterBridge(peer);
    if (into === undefined) return this.rec.report('warn', `patch port ${peer.name}'s bridge is not known, dropping`);
    b.depth++;
    b.crossings++;
    try {
      new DryRun(into.path, this.rec, b).receive(frame, into.inPort);
    } finally {
      b.depth--;
      this.rec.exitBridge();
    }
  }

  resubmit(frame: Uint8Array, inPort: number): void {
    this.throughTable(frame, inPort);
  }

  flood(frame: Uint8Array, inPort: number, flood: boolean): void {
    for (const port of this.path.registry.list) if (floodsTo(port, inPort, flood)) this.transmit(port.portNo, frame);
  }

  /** PacketPath.normal's decisions: a bond is one port to NORMAL, and a frame sent to it leaves by the member the bond chooses. */
  normal(frame: Uint8Array, layout: FrameLayout, inPort: number): void {
    const path = this.path;
    const bonds = path.bondSet;
    const send = (p: BridgePort, f: Uint8Array): void => {
      if (!(p instanceof BondPort)) return this.transmit(p.portNo, f);
      const member = bonds?.chosenMember(p, f) ?? null;
      if (member !== null) this.transmit(member, f);
    };
    let ports: readonly BridgePort[] = path.registry.list;
    const received = path.registry.byNo.get(inPort);
    let port: BridgePort | undefined = received;
    if (bonds !== null) {
      ports = bonds.bridgePorts(ports);
      if (received !== undefined) {
        const from = bonds.inputPort(received, frame);
        if (from === null)
          return this.rec.report('detail', bonds.lastRefusal === 'looped-back' ? 'SLB bond thinks this packet looped back, dropping' : 'bonding refused admissibility, dropping');
        port = from;
      }
    }
    if (port !== undefined) path.bridge.process(frame, layout, port, ports, send, true, this.normalTrace);
    else if (inPort === OFPP.NONE || inPort === OFPP.CONTROLLER)
      path.bridge.process(frame, layout, path.noneBridgePort, ports, send, false, this.normalTrace);
    else this.rec.report('warn', 'no input bundle, dropping');
  }

  toController(frame: Uint8Array, inPort: number, maxLen: number, reason: number): void {
    if (this.path.packetInDisabled(inPort)) return this.rec.report('detail', 'OFPPC_NO_PACKET_IN set on the input port, no packet-in');
    this.rec.controller(reason, maxLen, frame);
  }

  inputSkipped(): void {
    this.rec.report('warn', 'skipping output to input port');
  }
}
