/**
 * IEEE 802.1D-2004 rapid spanning tree (802.1w), the parts two point-to-point bridges need, written
 * as one settle loop instead of the standard's eight state machines (Open vSwitch's
 * lib/rstp-state-machines.c has them one by one; the outcomes here are the standard's):
 *
 * - Port information (17.27): each RST BPDU is classified against the port's recorded priority
 *   vector: superior or repeated designated information is recorded (with its times and a
 *   rcvdInfoWhile of 3 hello times), a proposal noted; root/alternate information carrying the
 *   agreement flag is an agreement. Information not refreshed ages out and the port is reselected.
 * - Role selection (17.21.25 updtRolesTree): the best of the bridge's own vector and each received
 *   vector plus the port's path cost gives the root port; every other port is designated when its
 *   designated vector is better than what it received, else alternate (backup when the better
 *   information comes from this bridge itself).
 * - Role transitions (17.29): a root port forwards at once unless another port still forwards as a
 *   recent root; a designated port forwards at once when the far end agreed to its proposal or it
 *   is an edge port (admin-edge, or auto-edge after 3 s without BPDUs), else after two forward
 *   delays (discarding -> learning -> forwarding); alternate and backup ports discard. A proposal
 *   on the root port syncs the tree: designated ports not yet agreed or edge go discarding (and
 *   propose in turn), then the root port answers with an agreement.
 * - Topology change (17.25 / 17.31), flushing by port as OVS's rstp_run does (bundle_flush_macs of
 *   each port whose fdbFlush is set), never the whole table. A port is "active" in the topology
 *   change machine while it is a root or designated port, forwarding and not an edge. An active
 *   port that detects a change (a non-edge root or designated port starts forwarding, or an edge
 *   port forwarding hears a BPDU) sets TC on its own BPDUs for hello time + 1 s and propagates
 *   (setTcPropTree) to the other ports; a TC or TCN received on an active port propagates the same
 *   way, but that port keeps its addresses. Propagating flushes the addresses learned on each other
 *   active port and sets TC on it; edge, alternate and backup ports keep theirs. Besides, a port
 *   whose state starts or stops learning forgets its own addresses (ofproto-dpif's
 *   update_rstp_port_state), which is what the standard's INACTIVE state flushes.
 * - Root port change (ofproto-dpif's rstp_run, rstp-state-machines.c updt_roles_tree): when an
 *   alternate port becomes the root port in place of another root port, the addresses learned on
 *   the old root port move to the new one (TreeOutputs.move) instead of being forgotten; the old
 *   root port's own flushes are skipped until then. Flushes and the move are issued after the
 *   machines settled, as OVS's rstp_run reads them after move_rstp.
 * - Point-to-point (Port rstp-admin-p2p-mac, operPointToPointMAC, OVS's default true): on a port
 *   that is not point-to-point an agreement is not recorded (17.21.9), so a designated port goes
 *   through Learning by the forward delay timer, and its edge delay (auto-edge while nothing is
 *   heard) is max age instead of the migrate time (17.20.4 EdgeDelay).
 * - Backup ports (17.29): a backup keeps rbWhile at 2 hello times, which then runs down; a root
 *   port forwards at once (reRooted) only when rbWhile is 0, else after rbWhile or fdWhile (set to
 *   the forward delay while alternate or backup).
 * - Transmission (17.26): newInfo or every hello time on designated ports, at most
 *   `transmitHoldCount` BPDUs a second per port. Designated ports of a port that sends 802.1D
 *   send configuration BPDUs (with TC and TC acknowledgement), its root port a TCN while its
 *   tcWhile runs.
 * - Protocol migration (17.24): a port starts sending RST BPDUs for the migrate time (3 s); after
 *   that, an 802.1D BPDU makes it send 802.1D for at least 3 s, and an RST BPDU heard then brings
 *   it back. `mcheck` (Port other_config rstp-port-mcheck) restarts the check.
 * - Force protocol version (Bridge other_config rstp-force-protocol-version) 0: STP compatibility:
 *   every port sends 802.1D BPDUs, agreements are not recorded, so root and designated ports go
 *   through learning by the forward delay timer, there is no auto-edge, mcheck does nothing and a
 *   topology change runs for max age + forward delay, as OVS's stp_version.
 *
 * Times are whole seconds as the standard keeps them (BPDUs carry 1/256 s); the settle loop runs
 * after every BPDU, link change and one-second tick.
 */
import { OFPPS, RSTP_FLAG_ROLE, STP_FLAG } from '../protocol/constants.js';
import { bridgeIdDetails, col, rstpIdText, type Bpdu, type ConfigBpdu } from './bpdu.js';
import type { SpanningTree, TreeOutputs, TreePortCounters, TreePortSettings } from './tree.js';

export type RstpRole = 'Root' | 'Designated' | 'Alternate' | 'Backup' | 'Disabled';
export type RstpState = 'Disabled' | 'Discarding' | 'Learning' | 'Forwarding';

/** A priority vector (17.6): root, root path cost, designated bridge, designated port. */
interface Vector {
  readonly root: bigint;
  readonly cost: number;
  readonly bridge: bigint;
  readonly port: number;
}

interface Times {
  readonly messageAge: number;
  readonly maxAge: number;
  readonly hello: number;
  readonly fwd: number;
}

const MAC_BITS = (1n << 48n) - 1n;
const MIGRATE_TIME = 3;

/** <0: a better than b (lower), 0: the same, >0: worse. */
function compare(a: Vector, b: Vector): number {
  if (a.root !== b.root) return a.root < b.root ? -1 : 1;
  if (a.cost !== b.cost) return a.cost < b.cost ? -1 : 1;
  if (a.bridge !== b.bridge) return a.bridge < b.bridge ? -1 : 1;
  return a.port - b.port;
}

const sameTimes = (a: Times, b: Times): boolean => a.messageAge === b.messageAge && a.maxAge === b.maxAge && a.hello === b.hello && a.fwd === b.fwd;

interface RstpPort {
  readonly key: number;
  settings: TreePortSettings;
  portId: number;
  enabled: boolean;
  role: RstpRole;
  state: RstpState;
  infoIs: 'mine' | 'received' | 'aged' | 'disabled';
  priority: Vector;
  times: Times;
  designated: Vector;
  rcvdInfoWhile: number;
  fdWhile: number;
  tcWhile: number;
  helloWhen: number;
  edgeDelayWhile: number;
  /** 17.17.5 rbWhile: 2 hello times while a backup port and after; a recent backup port does not forward at once as a root port. */
  rbWhile: number;
  /** operPointToPointMAC (rstp-admin-p2p-mac): false records no agreement and waits max age before auto-edge. */
  p2p: boolean;
  txCount: number;
  newInfo: boolean;
  proposing: boolean;
  proposed: boolean;
  agreed: boolean;
  agree: boolean;
  synced: boolean;
  sync: boolean;
  adminEdge: boolean;
  autoEdge: boolean;
  operEdge: boolean;
  /** Send RST BPDUs (false after 802.1D configuration BPDUs came in, or in STP compatibility). */
  sendRstp: boolean;
  /** Port protocol migration (17.24): its state, mdelayWhile, rcvdRSTP / rcvdSTP, mcheck. */
  migration: 'checking' | 'selectingStp' | 'sensing';
  mdelayWhile: number;
  rcvdRstp: boolean;
  rcvdStp: boolean;
  /** A TCN was received on this designated port: acknowledge it on the next configuration BPDU. */
  tcAck: boolean;
  readonly counters: TreePortCounters;
  upSince: number;
}

export interface RstpBridgeSettings {
  readonly name: string;
  /** Priority << 48 | address. */
  readonly bridgeId: bigint;
  readonly maxAge?: number;
  readonly forwardDelay?: number;
  readonly transmitHoldCount?: number;
  /** rstp-force-protocol-version: 0 STP compatibility, 2 (default) RSTP. */
  readonly forceProtocolVersion?: 0 | 2;
  /** rstp-ageing-time, seconds (10..1,000,000, default 300): kept and reported, used for nothing, as in OVS 3.1. */
  readonly ageingTime?: number;
}

/** Port options beyond the common ones. */
export interface RstpPortOptions {
  readonly adminEdge?: boolean;
  readonly autoEdge?: boolean;
  /**
   * operPointToPointMAC (default true): Port other_config rstp-admin-p2p-mac 1 (force true) is
   * true, 0 (force false) and 2 (auto, which OVS resolves to false) are false.
   */
  readonly p2p?: boolean;
}

/** OVS's rstp_learn_in_state. */
const learnsIn = (s: RstpState): boolean => s === 'Learning' || s === 'Forwarding';

const clamp = (x: number, min: number, max: number): number => Math.min(Math.max(x, min), max);

export class Rstp implements SpanningTree {
  readonly kind = 'rstp';
  readonly name: string;
  generation = 0;
  private readonly out: TreeOutputs;
  private readonly ports = new Map<number, RstpPort>();
  private readonly bridgeId: bigint;
  private readonly bridgeTimes: Times;
  private readonly txHoldCount: number;
  private rootVector: Vector;
  private rootTimes: Times;
  private rootPort: RstpPort | null = null;
  private reselect = true;
  private remainderMs = 0;
  private seconds = 0;
  private settling = false;
  /** 802.1D-2004's rstpVersion (forceProtocolVersion >= 2); false: stpVersion. */
  readonly rstpVersion: boolean;
  readonly forceProtocolVersion: 0 | 2;
  /** Seconds; see RstpBridgeSettings.ageingTime. */
  ageingTime: number;
  /** Ports whose addresses are to be forgotten once the machines settled. */
  private readonly pendingFlush = new Set<number>();
  /** An alternate became the root port in place of `from` (OVS's root_changed, old_root_aux, new_root_aux). */
  private rootShift: { from: number; to: number } | null = null;

  constructor(settings: RstpBridgeSettings, out: TreeOutputs) {
    this.name = settings.name;
    this.out = out;
    this.bridgeId = settings.bridgeId;
    const maxAge = clamp(settings.maxAge ?? 20, 6, 40);
    this.bridgeTimes = { messageAge: 0, maxAge, hello: 2, fwd: clamp(settings.forwardDelay ?? 15, 4, 30) };
    this.txHoldCount = clamp(settings.transmitHoldCount ?? 6, 1, 10);
    this.rootVector = { root: this.bridgeId, cost: 0, bridge: this.bridgeId, port: 0 };
    this.rootTimes = this.bridgeTimes;
    this.forceProtocolVersion = settings.forceProtocolVersion ?? 2;
    this.rstpVersion = this.forceProtocolVersion >= 2;
    this.ageingTime = settings.ageingTime ?? 300;
  }

  private get isRoot(): boolean {
    return this.rootVector.root === this.bridgeId;
  }

  // ---- ports ---------------------------------------------------------------------------------

  addPort(key: number, settings: TreePortSettings, enabled: boolean, options: RstpPortOptions = {}): void {
    this.removePort(key);
    const own: Vector = { root: this.bridgeId, cost: 0, bridge: this.bridgeId, port: 0 };
    this.ports.set(key, {
      key,
      settings,
      portId: ((settings.priority & 0xf0) << 8) | (settings.portNum & 0xfff),
      enabled: false,
      role: 'Disabled',
      state: 'Disabled',
      infoIs: 'disabled',
      priority: own,
      times: this.bridgeTimes,
      designated: own,
      rcvdInfoWhile: 0,
      fdWhile: 0,
      tcWhile: 0,
      helloWhen: 0,
      edgeDelayWhile: MIGRATE_TIME,
      rbWhile: 0,
      p2p: options.p2p ?? true,
      txCount: 0,
      newInfo: false,
      proposing: false,
      proposed: false,
      agreed: false,
      agree: false,
      synced: false,
      sync: false,
      adminEdge: options.adminEdge ?? false,
      autoEdge: options.autoEdge ?? true,
      operEdge: options.adminEdge ?? false,
      sendRstp: this.rstpVersion,
      migration: 'checking',
      mdelayWhile: 0,
      rcvdRstp: false,
      rcvdStp: false,
      tcAck: false,
      counters: { tx: 0, rx: 0, errors: 0 },
      upSince: this.seconds,
    });
    this.generation++;
    if (enabled) this.setPortEnabled(key, true);
  }

  removePort(key: number): void {
    if (!this.ports.has(key)) return;
    this.setPortEnabled(key, false);
    this.ports.delete(key);
    this.generation++;
    this.reselect = true;
    this.settle();
  }

  hasPort(key: number): boolean {
    return this.ports.has(key);
  }

  setPortEnabled(key: number, enabled: boolean): void {
    const p = this.ports.get(key);
    if (!p || p.enabled === enabled) return;
    p.enabled = enabled;
    if (enabled) {
      p.infoIs = 'aged';
      p.operEdge = p.adminEdge;
      p.edgeDelayWhile = MIGRATE_TIME;
      this.checkRstp(p);
      p.upSince = this.seconds;
      this.setState(p, 'Discarding');
    } else {
      p.infoIs = 'disabled';
      p.role = 'Disabled';
      p.proposing = p.proposed = p.agreed = p.agree = p.sync = false;
      p.synced = true;
      p.tcWhile = 0;
      p.tcAck = p.rcvdRstp = p.rcvdStp = false;
      this.setState(p, 'Disabled');
    }
    this.reselect = true;
    this.settle();
  }

  // ---- state ---------------------------------------------------------------------------------

  forwarding(key: number): boolean {
    const s = this.ports.get(key)?.state;
    return s === undefined || s === 'Forwarding' || s === 'Disabled';
  }

  learning(key: number): boolean {
    const s = this.ports.get(key)?.state;
    return s === undefined || s !== 'Discarding';
  }

  ofState(key: number): number {
    const s = this.ports.get(key)?.state;
    return s === 'Learning' ? OFPPS.STP_LEARN : s === 'Forwarding' ? OFPPS.STP_FORWARD : OFPPS.STP_LISTEN;
  }

  roleOf(key: number): RstpRole | undefined {
    return this.ports.get(key)?.role;
  }

  stateOf(key: number): RstpState | undefined {
    return this.ports.get(key)?.state;
  }

  private setState(p: RstpPort, state: RstpState): void {
    if (p.state === state) return;
    const learned = learnsIn(p.state);
    p.state = state;
    this.generation++;
    if (learned !== learnsIn(state)) this.pendingFlush.add(p.key); // as OVS's update_rstp_port_state
  }

  // ---- protocol migration (17.24) ----------------------------------------------------------------

  /** CHECKING_RSTP: send RST BPDUs (in RSTP mode) for the migrate time whatever comes in. */
  private checkRstp(p: RstpPort): void {
    p.migration = 'checking';
    p.sendRstp = this.rstpVersion;
    p.mdelayWhile = MIGRATE_TIME;
  }

  private sensing(p: RstpPort): void {
    p.migration = 'sensing';
    p.rcvdRstp = p.rcvdStp = false;
  }

  /** SENSING's transitions after a BPDU came in. */
  private migrate(p: RstpPort): void {
    if (p.migration !== 'sensing') return;
    if (this.rstpVersion && !p.sendRstp && p.rcvdRstp) {
      this.checkRstp(p);
    } else if (p.sendRstp && p.rcvdStp) {
      p.migration = 'selectingStp';
      p.sendRstp = false;
      p.mdelayWhile = MIGRATE_TIME;
    }
  }

  /**
   * Port other_config rstp-port-mcheck: check again whether the LAN still has 802.1D bridges
   * (send RST BPDUs for the migrate time). Nothing in STP compatibility, as OVS.
   */
  mcheck(key: number): void {
    const p = this.ports.get(key);
    if (!p || !this.rstpVersion || !p.enabled) return;
    this.checkRstp(p); // as OVS, no newInfo: the next hello time sends an RST BPDU
    this.settle();
  }

  /** Port other_config rstp-admin-p2p-mac changed: operPointToPointMAC, without restarting the port (OVS's rstp_port_set). */
  setP2p(key: number, p2p: boolean): void {
    const p = this.ports.get(key);
    if (p) p.p2p = p2p;
  }

  /** Whether the port's MAC is point-to-point (operPointToPointMAC). */
  p2pOf(key: number): boolean | undefined {
    return this.ports.get(key)?.p2p;
  }

  /** Whether the port sends RST BPDUs (false: 802.1D ones). */
  sendsRstp(key: number): boolean | undefined {
    return this.ports.get(key)?.sendRstp;
  }

  // ---- receiving -----------------------------------------------------------------------------

  receiveError(key: number): void {
    const p = this.ports.get(key);
    if (p) p.counters.errors++;
  }

  receive(key: number, bpdu: Bpdu): void {
    const p = this.ports.get(key);
    if (!p) return;
    p.counters.rx++;
    if (!p.enabled) return;
    // Any BPDU: the far end is a bridge (not an edge), and a legacy one wants 802.1D.
    const wasEdge = p.operEdge;
    p.operEdge = false;
    p.edgeDelayWhile = MIGRATE_TIME;
    if (wasEdge && p.state === 'Forwarding' && (p.role === 'Root' || p.role === 'Designated')) this.detected(p);
    if (bpdu.type === 'rstp') {
      p.rcvdRstp = true;
      p.rcvdStp = false;
    } else {
      p.rcvdStp = true;
      p.rcvdRstp = false;
    }
    this.migrate(p);
    if (bpdu.type === 'tcn') {
      if (this.tcActive(p)) {
        this.newTcWhile(p); // NOTIFIED_TCN: newTcWhile on the port too
        this.topologyChangeFrom(p);
      }
      this.settle();
      return;
    }
    this.receiveInfo(p, bpdu);
    this.settle();
  }

  private receiveInfo(p: RstpPort, b: ConfigBpdu): void {
    const msgRole = b.type === 'rstp' ? (b.flags & STP_FLAG.ROLE_MASK) >> STP_FLAG.ROLE_SHIFT : RSTP_FLAG_ROLE.DESIGNATED;
    const msg: Vector = { root: b.rootId, cost: b.rootPathCost, bridge: b.bridgeId, port: b.portId };
    const times: Times = { messageAge: b.messageAge >> 8, maxAge: b.maxAge >> 8, hello: b.helloTime >> 8, fwd: b.forwardDelay >> 8 };
    const tc = (b.flags & STP_FLAG.TOPOLOGY_CHANGE) !== 0;
    if (msgRole === RSTP_FLAG_ROLE.DESIGNATED) {
      const cmp = compare(msg, p.priority);
      const sameSender = (msg.bridge & MAC_BITS) === (p.priority.bridge & MAC_BITS) && (msg.port & 0xfff) === (p.priority.port & 0xfff);
      if (cmp < 0 || (sameSender && cmp !== 0) || (cmp === 0 && p.infoIs === 'received' && !sameTimes(times, p.times)) || p.infoIs !== 'received' && cmp === 0) {
        // superior designated information (17.21.8 rcvInfo: SuperiorDesignatedInfo)
        p.agreed = p.proposing = false;
        p.proposed = (b.flags & STP_FLAG.PROPOSAL) !== 0;
        p.agree = p.agree && cmp <= 0;
        p.priority = msg;
        p.times = times;
        p.infoIs = 'received';
        p.rcvdInfoWhile = times.messageAge + 1 <= times.maxAge ? 3 * Math.max(1, times.hello) : 0;
        this.reselect = true;
      } else if (cmp === 0) {
        // repeated designated information
        if ((b.flags & STP_FLAG.PROPOSAL) !== 0) p.proposed = true;
        p.rcvdInfoWhile = times.messageAge + 1 <= times.maxAge ? 3 * Math.max(1, times.hello) : 0;
      } else if (p.role === 'Designated' && (b.flags & STP_FLAG.LEARNING) !== 0) {
        // inferior designated information from a port that learns: a dispute (17.21.10)
        p.agreed = p.proposing = false;
        if (p.state !== 'Discarding') this.discard(p);
      }
    } else if (compare(msg, p.priority) >= 0 || p.role === 'Designated') {
      // root, alternate or backup information: an agreement when flagged (17.21.9 recordAgreement), in RSTP mode on a point-to-point link
      if ((b.flags & STP_FLAG.AGREEMENT) !== 0 && this.rstpVersion && p.p2p) {
        p.agreed = true;
        p.proposing = false;
      } else {
        p.agreed = false;
      }
    }
    if (this.tcActive(p)) {
      if (tc) this.topologyChangeFrom(p);
      if ((b.flags & STP_FLAG.TOPOLOGY_CHANGE_ACK) !== 0) p.tcWhile = 0; // ACKNOWLEDGED
    }
  }

  /** In the topology change machine's ACTIVE state: a root or designated port forwarding, not an edge. */
  private tcActive(p: RstpPort): boolean {
    return p.enabled && (p.role === 'Root' || p.role === 'Designated') && p.state === 'Forwarding' && !p.operEdge;
  }

  /** A TC came in on `from` (17.25 NOTIFIED_TC, setTcPropTree): the other ports propagate it; `from` keeps its addresses. */
  private topologyChangeFrom(from: RstpPort): void {
    if (from.role === 'Designated') from.tcAck = true;
    this.propagateTc(from);
  }

  /** `p` detected a change (17.25 DETECTED): TC on its own BPDUs, propagated to the others; `p` keeps its addresses. */
  private detected(p: RstpPort): void {
    this.newTcWhile(p);
    this.propagateTc(p);
    p.newInfo = true;
  }

  /** setTcPropTree from `from`, then each other active port PROPAGATING: TC on its BPDUs and its addresses flushed. */
  private propagateTc(from: RstpPort): void {
    for (const q of this.ports.values()) {
      if (q === from || !this.tcActive(q)) continue;
      this.newTcWhile(q);
      this.pendingFlush.add(q.key);
    }
  }

  /** 17.21.7 newTcWhile: hello time + 1 towards RSTP (with newInfo), max age + forward delay towards 802.1D. */
  private newTcWhile(q: RstpPort): void {
    if (!q.enabled || q.operEdge || (q.role !== 'Root' && q.role !== 'Designated')) return;
    if (q.tcWhile !== 0) return;
    if (q.sendRstp) {
      q.tcWhile = this.rootTimes.hello + 1;
      q.newInfo = true;
    } else {
      q.tcWhile = this.bridgeTimes.maxAge + this.bridgeTimes.fwd;
    }
  }

  // ---- the settle loop -----------------------------------------------------------------------

  private settle(): void {
    if (this.settling) return;
    this.settling = true;
    try {
      for (let round = 0; round < 16; round++) {
        const before = this.generation;
        const wasReselect = this.reselect;
        if (this.reselect) this.selectRoles();
        let changed = false;
        for (const p of this.ports.values()) if (p.enabled) changed = this.transition(p) || changed;
        if (!changed && !wasReselect && before === this.generation) break;
      }
      for (const p of this.ports.values()) if (p.enabled && p.newInfo) this.transmit(p);
    } finally {
      this.settling = false;
    }
    this.applyFlushes();
  }

  /**
   * What OVS's rstp_run does after the machines ran: forget the addresses of the ports that
   * stopped or started learning or propagated a topology change, except the old root port's while
   * a root shift is due; then move the old root port's addresses to the new root port.
   */
  private applyFlushes(): void {
    const shift = this.rootShift;
    this.rootShift = null;
    for (const key of this.pendingFlush) if (shift === null || key !== shift.from) this.out.flush(key);
    this.pendingFlush.clear();
    if (shift !== null && this.ports.has(shift.to)) this.out.move?.(shift.from, shift.to);
  }

  /** updtRolesTree and setSelectedTree (17.21.25). */
  private selectRoles(): void {
    this.reselect = false;
    let best: Vector = { root: this.bridgeId, cost: 0, bridge: this.bridgeId, port: 0 };
    let bestPort: RstpPort | null = null;
    let bestTimes = this.bridgeTimes;
    for (const p of this.ports.values()) {
      if (!p.enabled || p.infoIs !== 'received') continue;
      if ((p.priority.bridge & MAC_BITS) === (this.bridgeId & MAC_BITS)) continue; // our own information
      const v: Vector = { root: p.priority.root, cost: p.priority.cost + p.settings.pathCost, bridge: p.priority.bridge, port: p.priority.port };
      const c = compare(v, best);
      if (c < 0 || (c === 0 && bestPort !== null && p.portId < bestPort.portId)) {
        best = v;
        bestPort = p;
        bestTimes = { ...p.times, messageAge: p.times.messageAge + 1 };
      }
    }
    if (bestPort === null) best = { root: this.bridgeId, cost: 0, bridge: this.bridgeId, port: 0 };
    const oldRoot = this.rootPort;
    // An alternate takes over from another root port: its addresses will move (updt_roles_tree's root_changed).
    if (this.rootShift === null && bestPort !== null && oldRoot !== null && bestPort !== oldRoot && bestPort.role === 'Alternate') {
      this.rootShift = { from: oldRoot.key, to: bestPort.key };
    }
    this.rootVector = best;
    this.rootTimes = bestPort === null ? this.bridgeTimes : { ...bestTimes, hello: this.bridgeTimes.hello };
    this.rootPort = bestPort;
    for (const p of this.ports.values()) {
      if (!p.enabled) {
        p.role = 'Disabled';
        continue;
      }
      const designated: Vector = { root: best.root, cost: best.cost, bridge: this.bridgeId, port: p.portId };
      p.designated = designated;
      let role: RstpRole;
      if (p === bestPort) role = 'Root';
      else if (p.infoIs !== 'received' || compare(designated, p.priority) < 0) role = 'Designated';
      else role = (p.priority.bridge & MAC_BITS) === (this.bridgeId & MAC_BITS) ? 'Backup' : 'Alternate';
      if (role === 'Designated' && (p.infoIs !== 'mine' || compare(p.priority, designated) !== 0 || !sameTimes(p.times, this.rootTimes))) {
        // updtInfo: the port now holds and sends this bridge's information
        p.priority = designated;
        p.times = this.rootTimes;
        p.infoIs = 'mine';
        p.newInfo = true;
        p.synced = p.synced && p.agreed;
      }
      if (p.role !== role) {
        this.generation++;
        if (role === 'Designated') {
          p.fdWhile = this.rootTimes.fwd;
          p.agreed = false;
          p.synced = false;
        }
        if (role === 'Root' && oldRoot !== p) p.agree = false;
        if (role === 'Root' && !this.rstpVersion && p.state !== 'Forwarding') p.fdWhile = this.rootTimes.fwd;
        if (role === 'Root' || role === 'Designated') p.proposed = p.proposing = false;
      }
      p.role = role;
    }
  }

  /** One port's role transitions (17.29); true when something changed. */
  private transition(p: RstpPort): boolean {
    switch (p.role) {
      case 'Alternate':
      case 'Backup': {
        p.proposing = p.agreed = false;
        if (p.role === 'Backup') p.rbWhile = 2 * p.times.hello; // BACKUP_PORT
        p.fdWhile = this.rootTimes.fwd; // ALTERNATE_PORT: a root port later waits for it, or for rbWhile
        const changed = p.state !== 'Discarding' || !p.synced || p.sync;
        if (p.state !== 'Discarding') this.discard(p);
        p.synced = true;
        p.sync = false;
        if (p.proposed) {
          // an alternate agrees at once: it is discarding (ALTERNATE_AGREED)
          p.proposed = false;
          p.agree = true;
          p.newInfo = true;
          return true;
        }
        return changed;
      }
      case 'Root': {
        let changed = false;
        if (p.proposed && !p.agree) {
          // ROOT_PROPOSED: setSyncTree
          p.proposed = false;
          for (const q of this.ports.values()) if (q !== p) q.sync = true;
          changed = true;
        }
        const allSynced = [...this.ports.values()].every((q) => q === p || !q.enabled || q.synced);
        if (allSynced && !p.agree) {
          p.agree = true;
          p.newInfo = true;
          changed = true;
        }
        if (p.state !== 'Forwarding') {
          // reRooted: no other port still forwards as a root (the old root port is already discarding),
          // and the port was no backup port in the last 2 hello times (rbWhile);
          // in STP compatibility only the forward delay timer moves it (second())
          const reRooted = this.rstpVersion && p.rbWhile === 0 && [...this.ports.values()].every((q) => q === p || q.role !== 'Root');
          if (reRooted || (this.rstpVersion && p.fdWhile === 0)) {
            this.forward(p);
            changed = true;
          }
        }
        p.synced = false;
        p.sync = false;
        return changed;
      }
      case 'Designated': {
        let changed = false;
        if (p.sync && !p.synced && !p.operEdge && !p.agreed && p.state !== 'Discarding') {
          this.discard(p);
          p.fdWhile = this.rootTimes.fwd;
          changed = true;
        }
        if (!p.synced && (p.state === 'Discarding' || p.agreed || p.operEdge)) {
          p.synced = true;
          changed = true;
        }
        if (p.sync && p.synced) p.sync = false;
        if (p.state !== 'Forwarding' && !p.proposing && !p.agreed && !p.operEdge) {
          p.proposing = true;
          p.edgeDelayWhile = p.p2p ? MIGRATE_TIME : p.times.maxAge; // DESIGNATED_PROPOSE: edgeDelay()
          p.newInfo = true;
          changed = true;
        }
        if (p.state !== 'Forwarding' && (p.agreed || p.operEdge)) {
          this.forward(p);
          changed = true;
        }
        return changed;
      }
      default:
        return false;
    }
  }

  private discard(p: RstpPort): void {
    this.setState(p, 'Discarding'); // which forgets the port's own addresses
  }

  /** Learning then forwarding at once (an agreed, edge or root port), with a topology change. */
  private forward(p: RstpPort): void {
    this.setState(p, 'Forwarding');
    p.proposing = false;
    if (p.role === 'Designated') p.agreed = p.agreed || p.sendRstp; // DESIGNATED_FORWARD: agreed = sendRSTP
    p.synced = p.agreed || p.operEdge;
    p.fdWhile = 0;
    if (!p.operEdge && (p.role === 'Root' || p.role === 'Designated')) this.detected(p);
  }

  // ---- transmission --------------------------------------------------------------------------

  private transmit(p: RstpPort): void {
    if (p.txCount >= this.txHoldCount) return; // next second
    if (p.role !== 'Designated' && p.role !== 'Root' && !(p.agree && p.role !== 'Disabled')) {
      p.newInfo = false;
      return;
    }
    p.newInfo = false;
    if (!p.sendRstp && p.role === 'Root') {
      // TRANSMIT_TCN: an 802.1D neighbour hears of a topology change by a TCN
      p.txCount++;
      p.helloWhen = this.rootTimes.hello;
      p.counters.tx++;
      this.out.send(p.key, { type: 'tcn' });
      return;
    }
    if (!p.sendRstp && p.role !== 'Designated') return; // an 802.1D neighbour hears only designated and root ports
    p.txCount++;
    p.helloWhen = this.rootTimes.hello;
    const t = p.role === 'Designated' || p.role === 'Root' ? this.rootTimes : p.times;
    const roleBits =
      p.role === 'Root' ? RSTP_FLAG_ROLE.ROOT : p.role === 'Designated' ? RSTP_FLAG_ROLE.DESIGNATED : RSTP_FLAG_ROLE.ALTERNATE_BACKUP;
    let flags = roleBits << STP_FLAG.ROLE_SHIFT;
    if (p.tcWhile !== 0) flags |= STP_FLAG.TOPOLOGY_CHANGE;
    if (p.role === 'Designated' && p.proposing) flags |= STP_FLAG.PROPOSAL;
    if (p.agree) flags |= STP_FLAG.AGREEMENT;
    if (p.state === 'Learning' || p.state === 'Forwarding') flags |= STP_FLAG.LEARNING;
    if (p.state === 'Forwarding') flags |= STP_FLAG.FORWARDING;
    if (!p.sendRstp) flags = (flags & STP_FLAG.TOPOLOGY_CHANGE) | (p.tcAck ? STP_FLAG.TOPOLOGY_CHANGE_ACK : 0);
    p.tcAck = false;
    p.counters.tx++;
    this.out.send(p.key, {
      type: p.sendRstp ? 'rstp' : 'config',
      flags,
      rootId: this.rootVector.root,
      rootPathCost: this.rootVector.cost,
      bridgeId: this.bridgeId,
      portId: p.portId,
      messageAge: t.messageAge << 8,
      maxAge: t.maxAge << 8,
      helloTime: t.hello << 8,
      forwardDelay: t.fwd << 8,
    });
  }

  // ---- time ----------------------------------------------------------------------------------

  tick(ms: number): void {
    const total = Math.max(0, ms) + this.remainderMs;
    const secs = Math.floor(total / 1000);
    this.remainderMs = total - secs * 1000;
    for (let i = 0; i < secs; i++) this.second();
  }

  private second(): void {
    this.seconds++;
    for (const p of this.ports.values()) {
      p.txCount = 0;
      if (!p.enabled) continue;
      if (p.tcWhile > 0) p.tcWhile--;
      if (p.infoIs === 'received' && p.rcvdInfoWhile > 0 && --p.rcvdInfoWhile === 0) {
        p.infoIs = 'aged';
        this.reselect = true;
      }
      if (p.mdelayWhile > 0 && --p.mdelayWhile === 0 && p.migration !== 'sensing') this.sensing(p);
      if (p.edgeDelayWhile > 0) p.edgeDelayWhile--;
      if (p.rbWhile > 0 && p.role !== 'Backup') p.rbWhile--;
      if (p.role === 'Designated' && !p.operEdge && p.autoEdge && p.edgeDelayWhile === 0 && p.state !== 'Forwarding' && p.sendRstp) {
        p.operEdge = true; // no BPDU for the migrate time: an edge port (auto-edge; never towards 802.1D)
      }
      if (p.fdWhile > 0 && --p.fdWhile === 0 && (p.role === 'Designated' || (p.role === 'Root' && !this.rstpVersion))) {
        if (p.state === 'Discarding') {
          this.setState(p, 'Learning');
          p.fdWhile = this.rootTimes.fwd;
        } else if (p.state === 'Learning') {
          this.forward(p);
        }
      }
      if (p.helloWhen > 0) p.helloWhen--;
      if (p.helloWhen === 0 && (p.role === 'Designated' || (p.role === 'Root' && p.tcWhile !== 0))) p.newInfo = true;
    }
    this.settle();
  }

  detectTopologyChange(): void {
    this.settle(); // what OVS's rstp/tcn does: run the machines (move_rstp), nothing more
  }

  // ---- reports -------------------------------------------------------------------------------

  show(): string {
    let s = `---- ${this.name} ----\nRoot ID:\n`;
    const b = this.bridgeTimes;
    if (this.isRoot || !this.rootPort) {
      s += bridgeIdDetails(this.bridgeId, b.hello, b.maxAge, b.fwd, true) + '  This bridge is the root\n';
    } else {
      const t = this.rootPort.times;
      s += bridgeIdDetails(this.rootVector.root, t.hello, t.maxAge, t.fwd, true);
      s += `  root-port       ${this.rootPort.settings.name}\n  root-path-cost  ${this.rootVector.cost}\n`;
    }
    s += '\nBridge ID:\n' + bridgeIdDetails(this.bridgeId, b.hello, b.maxAge, b.fwd, true);
    s += `\n  ${col('Interface', 11)}${col('Role', 11)}${col('State', 11)}${col('Cost', 9)}${col('Pri.Nbr', 8)}\n`;
    s += '  ---------- ---------- ---------- -------- -------\n';
    for (const p of this.ports.values()) {
      if (p.state === 'Disabled') continue;
      s += `  ${col(p.settings.name, 11)}${col(p.role, 11)}${col(p.state, 11)}${String(p.settings.pathCost).padEnd(9)}${p.settings.priority}.${p.settings.portNum}\n`;
    }
    return s + '\n';
  }

  bridgeStatus(): Record<string, string> {
    const root = this.rootPort;
    const hex = (n: number): string => n.toString(16).padStart(4, '0');
    return {
      rstp_bridge_id: rstpIdText(this.bridgeId),
      rstp_bridge_port_id: hex(root ? root.portId : 0),
      rstp_designated_id: rstpIdText(root ? root.priority.bridge : this.bridgeId),
      rstp_designated_port_id: hex(root ? root.priority.port : 0),
      rstp_root_id: rstpIdText(this.rootVector.root),
      rstp_root_path_cost: String(this.rootVector.cost),
    };
  }

  portStatus(key: number): Record<string, string> | null {
    const p = this.ports.get(key);
    if (!p) return null;
    const hex = (n: number): string => n.toString(16).padStart(4, '0');
    return {
      rstp_designated_bridge_id: rstpIdText(p.priority.bridge),
      rstp_designated_path_cost: String(p.priority.cost),
      rstp_designated_port_id: hex(p.priority.port),
      rstp_port_id: hex(p.portId),
      rstp_port_role: p.role,
      rstp_port_state: p.state,
    };
  }

  counters(key: number): TreePortCounters | null {
    return this.ports.get(key)?.counters ?? null;
  }

  /** Seconds since the port came up (Port rstp_statistics rstp_uptime). */
  uptime(key: number): number {
    const p = this.ports.get(key);
    return p ? this.seconds - p.upSince : 0;
  }
}
