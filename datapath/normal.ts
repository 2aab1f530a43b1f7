/**
 * NORMAL: a classic MAC-learning Ethernet bridge with 802.1Q VLANs, for the OFPP_NORMAL output,
 * as Open vSwitch 3.1 does it (ofproto-dpif-xlate.c's xlate_normal; vswitchd/vswitch.xml's Port
 * table, VLAN configuration).
 *
 * Every frame is in one VLAN, decided by its input port's VLAN mode and its outer VLAN tag, 802.1Q
 * or 802.1ad alike, as OVS reads it (a frame without one, or with VID 0, a priority tag, counts as
 * VID 0); a tag that is rewritten keeps its TPID, one pushed is 802.1Q:
 *   access           VID 0 only (any other is dropped); the frame is in the port's `tag` VLAN.
 *   trunk            the frame's VID, dropped unless the port trunks it.
 *   native-tagged    VID 0: the native VLAN (`tag`); any other VID as on a trunk.
 *   native-untagged  the same on the way in.
 * A port trunks the VLANs in `trunks`, every VLAN when it is empty; a native port always trunks its
 * native VLAN and, when that is not 0, never VLAN 0 (ofproto-dpif.c's bundle_set). Without a
 * vlan_mode a port is access when it has a `tag` (its trunks are ignored), trunk otherwise; a
 * trunk ignores `tag`; access or native without `tag` is VLAN 0.
 *
 * A frame leaves only through ports that carry its VLAN (access: its `tag`; the others: trunked),
 * untagged out of access ports and, in the native VLAN, out of native-untagged ports; otherwise
 * with a tag of its VLAN and the priority it came with, left off when both are 0 (VLAN 0 with
 * priority 0). The OFPP_NONE "port" of a PACKET_OUT is a trunk of every VLAN.
 *
 * The bridge learns each source MAC per VLAN on its input port (a host that moves moves with it)
 * in a table bounded in size and time (mac-table.ts: 8,192 entries, 300 s by default), except that
 * a gratuitous ARP (isGratuitousArp) from a port that is not a bond locks its address's entry for
 * 5 s, and one arriving on a bond (`BridgePort.bond`) while it is locked is not learned (OVS's
 * update_learning_table: the host's own ARP reflected back over a balance-slb bond must not move
 * it); `slbLoopedBack` is the bond's side of the same rule (is_admissible). Sends a frame to a known unicast
 * destination's port, and floods broadcast, multicast and unknown destinations to every other
 * port of the VLAN that allows flooding. Nothing goes back out of its input port.
 *
 * Frames whose tags do not change go out as they came (no copy); a tag pushed, rewritten or
 * popped makes one new frame per frame processed, shared by every port that wants it.
 *
 * Drops (a malformed frame, a VLAN the input port does not admit, a destination learned on the
 * input port, a flood that NO_FLOOD leaves without a port) are told to `onDrop` when it is set
 * (the packet path's drop record, drop-record.ts), never in a dry run.
 *
 * With a NormalTrace (ofproto/trace's dry run) the same decisions are taken and reported in OVS's
 * words, and the MAC table is only read: nothing learned, nothing expired.
 */
import { ARP_OP_REPLY, ARP_OP_REQUEST, ETH_HEADER_LEN, ETH_TYPE, OFP_DL_TYPE_ETH2_CUTOFF, PORT_VLAN, VLAN_CFI, VLAN_HEADER_LEN, VLAN_PCP_MASK, VLAN_VID_MASK } from '../protocol/constants.js';
import { DROP_REASON, type DropReason } from './drop-record.js';
import type { FrameLayout } from './frame-parser.js';
import { MacTable, type MacTableOptions } from './mac-table.js';

/** Port.vlan_mode values NORMAL implements (OVS's dot1q-tunnel is not one of them). */
export const VLAN_MODES = ['access', 'trunk', 'native-tagged', 'native-untagged'] as const;
export type VlanMode = (typeof VLAN_MODES)[number];

const MODE_CODE: Readonly<Record<VlanMode, number>> = {
  access: PORT_VLAN.ACCESS,
  trunk: PORT_VLAN.TRUNK,
  'native-tagged': PORT_VLAN.NATIVE_TAGGED,
  'native-untagged': PORT_VLAN.NATIVE_UNTAGGED,
};

/** A port's VLAN configuration as the Port table holds it: `tag`, `trunks` and `vlan_mode`. */
export interface PortVlanConfig {
  /** Access port: its VLAN; native-tagged/-untagged port: its native VLAN. */
  readonly tag?: number | undefined;
  /** Trunk and native ports: the VLANs carried (none or empty: all). */
  readonly trunks?: Iterable<number> | undefined;
  /** Default: access when `tag` is set, else trunk. */
  readonly vlanMode?: VlanMode | undefined;
}

/** A port's VLAN role as NORMAL applies it (ofproto-dpif.c's bundle settings). */
export interface PortVlan {
  /** PORT_VLAN.* */
  readonly mode: number;
  /** The access or native VLAN; -1 for a trunk. */
  readonly vlan: number;
  /** 4096 entries, 1 for each VLAN carried; null: every VLAN. Unused by access ports. */
  readonly trunks: Uint8Array | null;
}

/** The VLAN role of the OFPP_NONE "port" (PACKET_OUT from the controller): a trunk of every VLAN. */
export const TRUNK_ALL_VLANS: PortVlan = { mode: PORT_VLAN.TRUNK, vlan: -1, trunks: null };

const VLAN_COUNT = 4096;
/** An Ethernet/IPv4 ARP's length. */
const ARP_IPV4_LEN = 28;

/** Resolves a configuration into the role NORMAL applies; a RangeError for a VID outside 0..4095 or an unknown mode. */
export function resolvePortVlan(config: PortVlanConfig): PortVlan {
  const { tag, vlanMode } = config;
  const isVid = (v: number): boolean => Number.isInteger(v) && v >= 0 && v < VLAN_COUNT;
  if (tag !== undefined && !isVid(tag)) throw new RangeError(`tag ${tag} is not a VLAN (0..4095)`);
  let mode: number;
  if (vlanMode === undefined) mode = tag !== undefined ? PORT_VLAN.ACCESS : PORT_VLAN.TRUNK;
  else {
    const code = Object.hasOwn(MODE_CODE, vlanMode) ? MODE_CODE[vlanMode] : undefined;
    if (code === undefined) throw new RangeError(`vlan_mode "${String(vlanMode)}" is not one of ${VLAN_MODES.join(', ')}`);
    mode = code;
  }
  const vlan = mode === PORT_VLAN.TRUNK ? -1 : (tag ?? 0);
  let trunks: Uint8Array | null = null;
  for (const v of config.trunks ?? []) {
    if (!isVid(v)) throw new RangeError(`trunk ${v} is not a VLAN (0..4095)`);
    if (mode === PORT_VLAN.ACCESS) continue;
    trunks ??= new Uint8Array(VLAN_COUNT);
    trunks[v] = 1;
  }
  if ((mode === PORT_VLAN.NATIVE_TAGGED || mode === PORT_VLAN.NATIVE_UNTAGGED) && vlan !== 0) {
    // Force trunking the native VLAN and prohibit trunking VLAN 0 (bundle_set).
    trunks ??= new Uint8Array(VLAN_COUNT).fill(1);
    trunks[vlan] = 1;
    trunks[0] = 0;
  }
  return { mode, vlan, trunks };
}

/** Whether a port carries `vlan` (xbundle_includes_vlan). */
export function carriesVlan(v: PortVlan, vlan: number): boolean {
  return v.mode === PORT_VLAN.ACCESS ? v.vlan === vlan : v.trunks === null || v.trunks[vlan] === 1;
}

/**
 * The VLAN a frame whose outer tag has VID `vid` (0: untagged or priority-tagged) is in when it
 * crosses a port of role `v`; -1 when the port does not admit it (input_vid_is_valid, then
 * xvlan_input_translate). NORMAL applies the same rule inline; mirrors (mirror.ts) use this one.
 */
export function vlanOnPort(v: PortVlan, vid: number): number {
  if (v.mode === PORT_VLAN.ACCESS) return vid === 0 ? v.vlan : -1;
  if (vid === 0 && v.mode !== PORT_VLAN.TRUNK) return v.vlan;
  return v.trunks === null || v.trunks[vid] === 1 ? vid : -1;
}

/** Whether a frame has a whole outer VLAN tag (802.1Q or 802.1ad), as the frame parser reads it. */
export function hasVlanTag(f: Uint8Array): boolean {
  if (f.length < ETH_HEADER_LEN + VLAN_HEADER_LEN) return false;
  const type = ((f[12] as number) << 8) | (f[13] as number);
  return type === ETH_TYPE.VLAN || type === ETH_TYPE.VLAN_8021AD;
}

/**
 * `frame` as NORMAL sends it out of a port of role `to` when it is in `vlan` (output_normal): a
 * tag of the VLAN and the priority the frame came with, or none (access ports, a native-untagged
 * port's own VLAN, VLAN 0 with priority 0). A new frame when the tag changes, else `frame` itself.
 */
export function frameForPort(frame: Uint8Array, vlan: number, to: PortVlan): Uint8Array {
  const tagged = hasVlanTag(frame);
  const tci = tagged ? ((frame[14] as number) << 8) | (frame[15] as number) : 0;
  const outTci = vlan | (tci & VLAN_PCP_MASK);
  const wantTag = outTci !== 0 && to.mode !== PORT_VLAN.ACCESS && !(to.mode === PORT_VLAN.NATIVE_UNTAGGED && vlan === to.vlan);
  return wantTag ? tagFrame(frame, tagged, tci, outTci) : untagFrame(frame, tagged);
}

/** What the bridge needs to know of a port. */
export interface BridgePort {
  readonly portNo: number;
  /** Its VLAN role (resolvePortVlan). */
  readonly vlan: PortVlan;
  /** False for ports with OFPPC_NO_FLOOD. */
  readonly floods: boolean;
  /** Set on a bond (datapath/bond-set.ts's BondPort): learning from it honours the gratuitous-ARP lock. */
  readonly bond?: object;
}

/** Open vSwitch's kinds of trace lines: detail " -> ", warn " >> ", error " >>>> ... <<<<". */
export type TraceReportKind = 'detail' | 'warn' | 'error';

/**
 * What NORMAL reports when it runs as a dry run for ofproto/trace (see LearningBridge.process):
 * the texts Open vSwitch's xlate_normal reports, as detail, warn or error lines.
 */
export interface NormalTrace {
  /** True when a real frame is traced (OVS then reports what it learns). */
  readonly packet: boolean;
  report(kind: TraceReportKind, text: string): void;
  /** A port's name, for the texts. */
  portName(portNo: number): string;
}

function traceDisallowed(trace: NormalTrace, why: string): void {
  trace.report('error', why);
  trace.report('warn', 'disallowed VLAN VID for this input port, dropping');
}

/**
 * NORMAL's choice as the trace reports it: OVS's line, then (ofswitch's own lines, before any
 * output so that they never come between a patch port's bridge and its parent) each port a flood
 * leaves out and why.
 */
function traceForwarding(trace: NormalTrace, target: number, inPort: number, ports: readonly BridgePort[], vlan: number): void {
  trace.report('detail', target >= 0 ? 'forwarding to learned port' : 'no learned MAC for destination, flooding');
  if (target >= 0) return;
  for (const p of ports) {
    if (p.portNo === inPort) continue;
    if (!p.floods) trace.report('detail', `port ${trace.portName(p.portNo)} has OFPPC_NO_FLOOD, not flooded`);
    else if (!carriesVlan(p.vlan, vlan)) trace.report('detail', `port ${trace.portName(p.portNo)} is not in VLAN ${vlan}, skipped`);
  }
}

export interface LearningBridgeOptions {
  /** Milliseconds clock (injected by tests). */
  now?: () => number;
  /** The MAC table's size and idle time (mac-table.ts; default 8,192 entries, 300 s). */
  macTable?: MacTableOptions;
}

/** A frame NORMAL drops: why, and the port or VLAN the reason names (-1: none). */
export type NormalDropHook = (reason: DropReason, frame: Uint8Array, inPort: number, aux: number) => void;

export class LearningBridge {
  private readonly now: () => number;
  /** Told of each frame dropped outside a dry run (null: nobody). */
  onDrop: NormalDropHook | null = null;
  /** Where each source MAC was last seen, per VLAN: bounded, aged and counted (mac-table.ts). */
  readonly macs: MacTable;

  constructor(opts: LearningBridgeOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.macs = new MacTable({ ...opts.macTable, now: this.now });
  }

  /**
   * Forwards `frame`, received on `inPort`, to the ports it should reach among `ports`, calling
   * `send` for each (the frame passed is valid only during the call). `learn` false: a frame
   * from no real port (a PACKET_OUT from the controller) teaches nothing. `trace`: a dry run
   * (ofproto/trace) that changes nothing in the MAC table and reports each decision.
   */
  process(
    frame: Uint8Array,
    layout: FrameLayout,
    inPort: BridgePort,
    ports: readonly BridgePort[],
    send: (port: BridgePort, frame: Uint8Array) => void,
    learn = true,
    trace?: NormalTrace,
  ): void {
    if (frame.length < ETH_HEADER_LEN) {
      if (trace === undefined) this.onDrop?.(DROP_REASON.MALFORMED, frame, inPort.portNo, -1);
      return;
    }
    const tagged = layout.vlanOffset >= 0;
    // A VLAN Ethernet type (802.1Q or 802.1ad) without room for the tag: a partial VLAN tag, dropped.
    if (!tagged) {
      const type = ((frame[12] as number) << 8) | (frame[13] as number);
      if (type === ETH_TYPE.VLAN || type === ETH_TYPE.VLAN_8021AD) {
        if (trace) trace.report('warn', 'partial VLAN tag, dropping');
        else this.onDrop?.(DROP_REASON.MALFORMED, frame, inPort.portNo, -1);
        return;
      }
    }
    const tci = tagged ? ((frame[14] as number) << 8) | (frame[15] as number) : 0;
    const vid = tci & VLAN_VID_MASK;
    const from = inPort.vlan;
    let vlan: number;
    if (from.mode === PORT_VLAN.ACCESS) {
      if (vid !== 0) {
        // a tagged frame on an access port
        if (trace) traceDisallowed(trace, `dropping VLAN ${vid} tagged packet received on port ${trace.portName(inPort.portNo)} configured as VLAN ${from.vlan} access port`);
        else this.onDrop?.(DROP_REASON.VLAN, frame, inPort.portNo, vid);
        return;
      }
      vlan = from.vlan;
    } else if (vid === 0 && from.mode !== PORT_VLAN.TRUNK) {
      vlan = from.vlan; // untagged on a native port: the native VLAN
    } else {
      if (from.trunks !== null && from.trunks[vid] !== 1) {
        // a VLAN the port does not trunk
        if (trace) traceDisallowed(trace, `dropping VLAN ${vid} packet received on port ${trace.portName(inPort.portNo)} not configured for trunking VLAN ${vid}`);
        else this.onDrop?.(DROP_REASON.VLAN, frame, inPort.portNo, vid);
        return;
      }
      vlan = vid;
    }
    // The tag a frame of this VLAN carries out of a tagging port: the VLAN and the priority it came with.
    const outTci = vlan | (tci & VLAN_PCP_MASK);

    const now = this.now();
    const learns = learn && ((frame[6] as number) & 1) === 0;
    let target = -1;
    if (trace === undefined) {
      if (learns) this.macs.learn(vlan, macAt(frame, 6), inPort.portNo, now, isGratuitousArp(frame), inPort.bond !== undefined);
      if (((frame[0] as number) & 1) === 0) target = this.macs.lookup(vlan, macAt(frame, 0), now) ?? -1;
    } else {
      target = this.traceLookup(frame, vlan, inPort.portNo, learns, now, trace);
    }
    if (target === inPort.portNo) {
      if (trace) trace.report('detail', 'learned port is input port, dropping');
      else this.onDrop?.(DROP_REASON.LEARNED_IN_PORT, frame, inPort.portNo, -1);
      return;
    }
    if (trace) traceForwarding(trace, target, inPort.portNo, ports, vlan);

    let untagged: Uint8Array | undefined;
    let withTag: Uint8Array | undefined;
    let sent = 0;
    let unflooded = 0;
    for (let i = 0; i < ports.length; i++) {
      const p = ports[i] as BridgePort;
      if (p.portNo === inPort.portNo) continue;
      if (target >= 0 ? p.portNo !== target : !p.floods) {
        if (target < 0 && carriesVlan(p.vlan, vlan)) unflooded++;
        continue;
      }
      const to = p.vlan;
      if (!carriesVlan(to, vlan)) continue;
      sent++;
      const wantTag =
        outTci !== 0 && to.mode !== PORT_VLAN.ACCESS && !(to.mode === PORT_VLAN.NATIVE_UNTAGGED && vlan === to.vlan);
      if (wantTag) send(p, (withTag ??= tagFrame(frame, tagged, tci, outTci)));
      else send(p, (untagged ??= untagFrame(frame, tagged)));
    }
    // A flood that NO_FLOOD left without a port (not a dry run: the trace says why per port).
    if (sent === 0 && unflooded !== 0 && trace === undefined) this.onDrop?.(DROP_REASON.NO_FLOOD, frame, inPort.portNo, -1);
  }

  /**
   * The dry run's learning and lookup (ofproto/trace): the MAC table is only read, never changed
   * (no learning, no expiry). For a real frame (OVS's trace learns from one) the learning it would
   * do is reported and taken into account for its own destination; a flow learns nothing in OVS's
   * trace, so its destination is looked up in the table as it is.
   */
  private traceLookup(frame: Uint8Array, vlan: number, inPort: number, learns: boolean, now: number, trace: NormalTrace): number {
    const src = macAt(frame, 6);
    const dst = macAt(frame, 0);
    if (learns && this.macs.peek(vlan, src, now) !== inPort && trace.packet)
      trace.report('detail', `would learn that ${macFromNumber(src)} is on port ${trace.portName(inPort)} in VLAN ${vlan}`);
    if (((frame[0] as number) & 1) !== 0) return -1;
    if (learns && dst === src && trace.packet) return inPort;
    return this.macs.peek(vlan, dst, now) ?? -1;
  }

  /**
   * A balance-slb bond's admissibility (OVS's is_admissible, BV_DROP_IF_MOVED): true when a frame
   * received on the bond numbered `bondPortNo` in `vlan` came back ("SLB bond thinks this packet
   * looped back"), because its source was learned on another port, unless it is a gratuitous ARP
   * (the host moved) whose address is not under the gratuitous-ARP lock. Changes nothing.
   */
  slbLoopedBack(frame: Uint8Array, vlan: number, bondPortNo: number, now = this.now()): boolean {
    const src = macAt(frame, 6);
    const learned = this.macs.peek(vlan, src, now);
    return learned !== undefined && learned !== bondPortNo && (!isGratuitousArp(frame) || this.macs.isGratArpLocked(vlan, src, now));
  }

  /** The port a MAC was last seen on in a VLAN, if not aged out. */
  lookup(vlan: number, mac: number): number | undefined {
    return this.macs.lookup(vlan, mac);
  }

  /** Every live entry, least recently seen first: what `ovs-appctl fdb/show` lists. */
  entries(): { port: number; vlan: number; mac: number; ageMs: number }[] {
    return this.macs.entries();
  }

  /** Forgets every address learned on a port (when the port goes away). */
  forgetPort(portNo: number): void {
    this.macs.forgetPort(portNo);
  }

  /** Moves the addresses learned on one port to another (RSTP's new root port takes the old one's). */
  movePort(from: number, to: number): void {
    this.macs.movePort(from, to);
  }

  /** Forgets every address (`ovs-appctl fdb/flush`). */
  flush(): void {
    this.macs.flush();
  }

  /** Number of entries held. */
  get size(): number {
    return this.macs.size;
  }
}

/**
 * Whether a frame is a gratuitous ARP as OVS's is_gratuitous_arp reads the flow: Ethernet type ARP
 * (after one VLAN tag, or LLC/SNAP, as the frame parser reads it; RARP is not one), sent to
 * ff:ff:ff:ff:ff:ff, an Ethernet/IPv4 ARP that is a reply, or a request whose sender and target IP
 * addresses are equal.
 */
export function isGratuitousArp(f: Uint8Array): boolean {
  if (f.length < ETH_HEADER_LEN) return false;
  for (let i = 0; i < 6; i++) if (f[i] !== 0xff) return false;
  let off = 12;
  let type = ((f[off] as number) << 8) | (f[off + 1] as number);
  if ((type === ETH_TYPE.VLAN || type === ETH_TYPE.VLAN_8021AD) && f.length >= ETH_HEADER_LEN + VLAN_HEADER_LEN) {
    off += VLAN_HEADER_LEN;
    type = ((f[off] as number) << 8) | (f[off + 1] as number);
  }
  off += 2;
  if (type < OFP_DL_TYPE_ETH2_CUTOFF && f.length >= off + 8 && f[off] === 0xaa && f[off + 1] === 0xaa && f[off + 2] === 0x03 && f[off + 3] === 0 && f[off + 4] === 0 && f[off + 5] === 0) {
    type = ((f[off + 6] as number) << 8) | (f[off + 7] as number);
    off += 8;
  }
  if (type !== ETH_TYPE.ARP || f.length < off + ARP_IPV4_LEN) return false;
  // Ethernet hardware (1), IPv4 protocol, address lengths 6 and 4: otherwise OVS reads no opcode.
  if (f[off] !== 0 || f[off + 1] !== 1 || f[off + 2] !== 0x08 || f[off + 3] !== 0 || f[off + 4] !== 6 || f[off + 5] !== 4) return false;
  if (f[off + 6] !== 0) return false;
  const op = f[off + 7];
  if (op === ARP_OP_REPLY) return true;
  if (op !== ARP_OP_REQUEST) return false;
  for (let i = 0; i < 4; i++) if (f[off + 14 + i] !== f[off + 24 + i]) return false;
  return true;
}

/** A 48-bit MAC address at `o` as a number (exact: below 2^53). */
export function macAt(f: Uint8Array, o: number): number {
  return (
    ((f[o] as number) << 8 | (f[o + 1] as number)) * 0x100000000 +
    ((((f[o + 2] as number) << 24) | ((f[o + 3] as number) << 16) | ((f[o + 4] as number) << 8) | (f[o + 5] as number)) >>> 0)
  );
}

/** A 48-bit MAC address number as text (aa:bb:cc:dd:ee:ff). */
export function macFromNumber(mac: number): string {
  return mac.toString(16).padStart(12, '0').replace(/(..)(?!$)/g, '$1:');
}

/** The frame with its 802.1Q tag removed (the frame itself when untagged). */
function untagFrame(f: Uint8Array, tagged: boolean): Uint8Array {
  if (!tagged) return f;
  const out = new Uint8Array(f.length - VLAN_HEADER_LEN);
  out.set(f.subarray(0, 12));
  out.set(f.subarray(16), 12);
  return out;
}

/** The frame with an 802.1Q tag of `tci` (the frame itself when it already has that tag, `inTci`). */
function tagFrame(f: Uint8Array, tagged: boolean, inTci: number, tci: number): Uint8Array {
  if (tagged) {
    if ((inTci & ~VLAN_CFI) === tci) return f; // the same VID and priority (the DEI bit as it came)
    const out = f.slice();
    out[14] = tci >>> 8;
    out[15] = tci & 0xff;
    return out;
  }
  const out = new Uint8Array(f.length + VLAN_HEADER_LEN);
  out.set(f.subarray(0, 12));
  out[12] = ETH_TYPE.VLAN >>> 8;
  out[13] = ETH_TYPE.VLAN & 0xff;
  out[14] = tci >>> 8;
  out[15] = tci & 0xff;
  out.set(f.subarray(12), 16);
  return out;
}
