/**
 * `ovs-appctl ofproto/trace`: where a packet would go and why, laid out as Open vSwitch 3.1 lays it
 * out (ofproto-dpif-trace.c), without changing anything in the switch.
 *
 *   ofproto/trace BRIDGE FLOW [PACKET_HEX]
 *
 * FLOW is in ovs-ofctl's syntax (flow-syntax.ts); with PACKET_HEX the frame is that packet, and
 * FLOW gives only its input port, as in OVS. Arguments are checked in OVS's order with its error
 * texts ("too many arguments", "Trailing garbage in packet data", "syntax error at FLOW (or the
 * bridge name was omitted)" -- OVS reads a lone argument as a datapath flow, which ofswitch has
 * not, so the one-argument form is refused as OVS refuses a bridge flow there --, "BRIDGE: unknown
 * bridge", "Bad openflow flow syntax: ..."); the caller turns a TraceError into the control
 * socket's error reply, which ovs-appctl prints, exiting with status 2.
 *
 * The output is a tree, printed as oftrace_node_print_details prints OVS's:
 *
 *   Flow: <the flow of the frame, flow-text.ts>
 *
 *   bridge("br0")
 *   -------------
 *    0. <match>, priority P[, cookie 0xC]          (the entry hit, as xlate_report_table)
 *       <action>                                   (each action, ofpacts_format's text)
 *        -> <detail>   >> <warning>   >>>> <error> <<<<
 *       ... a patch port's peer bridge, nested, with its own header, table and actions
 *
 *   Final flow: unchanged | <the flow of the frame as the actions left it>
 *   Datapath actions: <odp-actions.ts>
 *
 * A node is indented by four spaces per level, plus four when it is not the last of its list or
 * is a leaf (action, detail, warning, error); a bridge header is preceded by a blank line and
 * underlined with dashes. What the dry run decides comes from datapath/trace/path-trace.ts.
 *
 * A table miss, as ofswitch's miss policy decides it: 'controller' is OVS's `No match, and a
 * "packet-in" is called for.` and its miss rule's action `controller(reason=)` when a connection
 * would receive the packet-in (a controller, or a service connection that asked for them, as
 * `ovs-ofctl monitor BRIDGE 65000`), `No match.` and `drop` when none would (OVS's
 * no_packet_in_rule); 'drop' (fail secure without controllers) is `No match.` and `drop`.
 * Deliberate differences:
 * - fail open is `No match (fail open).` and `NORMAL` (OVS shows its hidden fail-open flow,
 *   `priority 15790320`, which ofswitch does not have);
 * - no `Megaflow:` line: ofswitch has no megaflow cache (its microflow cache is exact-match);
 * - with PACKET_HEX, OVS's trace learns the source MAC ("learned that ..."); ofswitch's trace
 *   changes nothing, and says "would learn that ..." instead;
 * - NORMAL also says which ports a flood skips and why (NO_FLOOD, not in the VLAN), which OVS
 *   does not print;
 * - a port with OFPPC_NO_PACKET_IN sends no packet-in, as OpenFlow 1.0 words it: a miss from it
 *   is `No match.` and `drop`, an output to CONTROLLER says so and lists no packet-in. Open
 *   vSwitch 3.1 honours the bit only under OpenFlow 1.1+'s table-miss settings: with OpenFlow
 *   1.0 its trace (and its datapath) still calls for the packet-in;
 * - the datapath actions name OpenFlow port numbers (see odp-actions.ts).
 */
import { formatAction, formatMatch } from '../../protocol/flow-format.js';
import { OFP_DL_TYPE_ETH2_CUTOFF, OFPR } from '../../protocol/constants.js';
import type { Action } from '../../protocol/types.js';
import type { PacketPath, TracedEntry } from '../packet-path.js';
import type { NetPort } from '../ports/net-port.js';
import { composeFrame, FlowSyntaxError, frameFromHex, parseTraceFlow, type TraceFlow } from './flow-syntax.js';
import { formatFlow } from './flow-text.js';
import { DatapathActions } from './odp-actions.js';
import { tracePacket, type TraceRecorder, type TraceReportKind, type TracedMiss } from './path-trace.js';

/** A bridge as ofproto/trace sees it. */
export interface TraceBridge {
  readonly name: string;
  readonly path: PacketPath;
  /** Whether a packet-in would reach a controller now (an OpenFlow connection is up). */
  packetInsDelivered(): boolean;
}

/** The bridges of the process (a patch port may lead to any of them). */
export interface TraceBridges {
  bridge(name: string): TraceBridge | undefined;
  all(): Iterable<TraceBridge>;
}

/** A refused ofproto/trace, with Open vSwitch's text. */
export class TraceError extends Error {
  override readonly name = 'TraceError';
}

type NodeType = 'bridge' | 'table' | 'action' | TraceReportKind;

interface TraceNode {
  readonly type: NodeType;
  readonly text: string;
  readonly subs: TraceNode[];
}

const LEAVES: ReadonlySet<NodeType> = new Set<NodeType>(['action', 'detail', 'warn', 'error']);

/** oftrace_node_print_details. */
function printNodes(out: string[], nodes: readonly TraceNode[], level: number): void {
  nodes.forEach((node, i) => {
    if (node.type === 'bridge') out.push('');
    const more = i < nodes.length - 1 || LEAVES.has(node.type) ? 1 : 0;
    const indent = ' '.repeat((level + more) * 4);
    switch (node.type) {
      case 'detail':
        out.push(`${indent} -> ${node.text}`);
        break;
      case 'warn':
        out.push(`${indent} >> ${node.text}`);
        break;
      case 'error':
        out.push(`${indent} >>>> ${node.text} <<<<`);
        break;
      case 'bridge':
        out.push(`${indent}${node.text}`, `${indent}${'-'.repeat(node.text.length)}`);
        break;
      default:
        out.push(`${indent}${node.text}`);
    }
    printNodes(out, node.subs, level + 2 * more);
  });
}

/** The table node's text (xlate_report_table; ofswitch has one table, 0). */
function tableText(entry: TracedEntry | null, miss: TracedMiss | null, delivered: boolean): string {
  if (entry !== null) {
    const match = formatMatch(entry.match);
    const cookie = entry.cookie !== 0n ? `, cookie 0x${entry.cookie.toString(16)}` : '';
    return ` 0. ${match === '' ? '' : `${match}, `}priority ${entry.priority}${cookie}`;
  }
  switch (miss) {
    case 'controller':
      return delivered ? ' 0. No match, and a "packet-in" is called for.' : ' 0. No match.';
    case 'normal':
      return ' 0. No match (fail open).';
    case 'fragment':
      return ' 0. Packets are IP fragments and the fragment handling mode is "drop".';
    default:
      return ' 0. No match.';
  }
}

/**
 * OVS's own packet-in reasons beyond OpenFlow's (ofp-packet.h): a CONTROLLER action of a
 * table-miss entry, and its hidden miss rule. Its trace prints them as numbers; a controller
 * speaking OpenFlow 1.0 receives ACTION and NO_MATCH for them.
 */
const OVS_OFPR_EXPLICIT_MISS = 6;
const OVS_OFPR_IMPLICIT_MISS = 7;

/** Builds the tree and the datapath actions from the dry run's decisions. */
class Recorder implements TraceRecorder {
  readonly packet: boolean;
  readonly dlType: number | null;
  readonly top: TraceNode[] = [];
  readonly datapath: DatapathActions;
  private readonly bridges: TraceBridges;
  private readonly first: TraceBridge;
  private bridge: TraceBridge;
  private list: TraceNode[];
  /** The entry whose actions run now in the bridge being traced (null: a miss). */
  private entry: TracedEntry | null = null;
  private readonly stack: { list: TraceNode[]; bridge: TraceBridge; entry: TracedEntry | null }[] = [];

  constructor(bridge: TraceBridge, bridges: TraceBridges, frame: Uint8Array, packet: boolean, dlType: number | null) {
    this.packet = packet;
    this.dlType = dlType;
    this.bridges = bridges;
    this.first = bridge;
    this.bridge = bridge;
    this.datapath = new DatapathActions(frame);
    this.list = this.push('bridge', `bridge("${bridge.name}")`, this.top);
  }

  private push(type: NodeType, text: string, list: TraceNode[] = this.list): TraceNode[] {
    const node: TraceNode = { type, text, subs: [] };
    list.push(node);
    return node.subs;
  }

  table(entry: TracedEntry | null, miss: TracedMiss | null): void {
    const delivered = miss !== 'controller' || this.bridge.packetInsDelivered();
    this.entry = entry;
    this.list = this.push('table', tableText(entry, miss, delivered));
    if (miss === 'normal') this.push('action', 'NORMAL');
    else if (miss === 'controller' && delivered) this.push('action', 'controller(reason=)'); // OVS's miss rule: its reason is OFPR_IMPLICIT_MISS, printed as ""
    else if (miss !== null) this.push('action', 'drop');
  }

  action(a: Action | null): void {
    this.push('action', a === null ? 'drop' : formatAction(a));
  }

  report(kind: TraceReportKind, text: string): void {
    this.push(kind, text);
  }

  output(portNo: number, frame: Uint8Array, priority: number): void {
    this.datapath.output(this.bridge === this.first ? String(portNo) : `${this.bridge.name}:${portNo}`, frame, priority);
  }

  controller(reason: number, maxLen: number, frame: Uint8Array): void {
    const entry = this.entry;
    if (reason === OFPR.NO_MATCH || entry === null) {
      // A miss: a packet-in only when some connection would take it (OVS's miss rule), whole.
      if (this.bridge.packetInsDelivered()) this.datapath.controller(OVS_OFPR_IMPLICIT_MISS, 0n, 0xffff, frame);
      return;
    }
    const tableMiss = entry.priority === 0 && formatMatch(entry.match) === '';
    this.datapath.controller(tableMiss ? OVS_OFPR_EXPLICIT_MISS : reason, entry.cookie, maxLen, frame);
  }

  enterBridge(peer: NetPort): { path: PacketPath; inPort: number } | undefined {
    for (const b of this.bridges.all()) {
      const port = b.path.registry.list.find((p) => p.net === peer);
      if (port === undefined) continue;
      this.stack.push({ list: this.list, bridge: this.bridge, entry: this.entry });
      this.list = this.push('bridge', `bridge("${b.name}")`);
      this.bridge = b;
      return { path: b.path, inPort: port.portNo };
    }
    return undefined;
  }

  exitBridge(): void {
    const back = this.stack.pop();
    if (back === undefined) return;
    this.list = back.list;
    this.bridge = back.bridge;
    this.entry = back.entry;
  }
}

/** The arguments after the options: at most three, the last one a packet when it parses as one. */
function splitArgs(args: readonly string[]): { names: string[]; packet: Uint8Array | null } {
  const names: string[] = [];
  for (const arg of args) {
    if (arg === '-generate' || arg === '--generate') continue; // ofswitch always builds the frame a flow describes
    if (arg.startsWith('-')) throw new TraceError(`${arg}: unknown option`);
    if (names.length >= 3) throw new TraceError('too many arguments');
    names.push(arg);
  }
  let packet: Uint8Array | null = null;
  if (names.length > 1) {
    const parsed = frameFromHex(names[names.length - 1] as string);
    if (typeof parsed !== 'string') {
      packet = parsed;
      names.pop();
    } else if (names.length > 2) {
      throw new TraceError(parsed);
    }
  }
  return { names, packet };
}

/** Runs `ofproto/trace ARGS` on `bridges`: the text ovs-appctl prints, or a TraceError. */
export function ofprotoTrace(args: readonly string[], bridges: TraceBridges): string {
  const { names, packet } = splitArgs(args);
  if (names.length < 2) throw new TraceError(`syntax error at ${names[0] ?? ''} (or the bridge name was omitted)`);
  const [bridgeName, flowText] = names as [string, string];
  const bridge = bridges.bridge(bridgeName);
  if (bridge === undefined) throw new TraceError(`${bridgeName}: unknown bridge`);
  let flow: TraceFlow;
  try {
    flow = parseTraceFlow(flowText, (name) => bridge.path.registry.list.find((p) => p.net.name === name)?.portNo);
  } catch (err) {
    if (err instanceof FlowSyntaxError) throw new TraceError(`Bad openflow flow syntax: ${err.message}`);
    throw err;
  }
  const frame = packet ?? composeFrame(flow);
  const inPort = flow.inPort;
  // A flow's dl_type below 0x0600 (none given: 0) is no Ethernet type: OVS keeps it as given.
  const dlType = packet === null && flow.dlType < OFP_DL_TYPE_ETH2_CUTOFF ? flow.dlType : null;
  const recorder = new Recorder(bridge, bridges, frame, packet !== null, dlType);
  const final = tracePacket(bridge.path, frame, inPort, recorder);
  const initialFlow = formatFlow(frame, inPort, dlType);
  const finalFlow = formatFlow(final, inPort, dlType);
  const out = [`Flow: ${initialFlow}`];
  printNodes(out, recorder.top, 0);
  out.push('', `Final flow: ${finalFlow === initialFlow ? 'unchanged' : finalFlow}`);
  out.push(`Datapath actions: ${recorder.datapath.text()}`);
  return out.join('\n') + '\n';
}
