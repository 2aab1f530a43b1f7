/**
 * The patch port (type "patch", option `peer`), as Open vSwitch has it: a pair of ports, each in a
 * bridge of this process (or both in one), naming each other, that hand frames across in
 * userspace. A frame sent out of one is received on the other at once, inside the send: no
 * kernel, no copy, no queue (OVS translates the peer bridge's actions inside the same
 * translation: ofproto-dpif-xlate.c's patch_port_output).
 *
 * Peers: every open patch port is in one process-wide table by name. A port is linked to its
 * peer when the port its `peer` names is open and names it back; only then does it have carrier
 * and send. A port whose peer is missing (or names another port) has no carrier and drops what
 * it is given (counted as tx_dropped). Opening or closing a port links or unlinks its peer, and
 * both ports' link watchers run at once, so their bridges send PORT_STATUS.
 * Deliberate difference: Open vSwitch 3.1 shows a patch port without a usable peer with link up
 * (state 0; it only drops); here it is LINK_DOWN until linked, so that a controller (and
 * ovs-vsctl's link_state, through the daemon) can see that the other bridge is missing.
 *
 * Loops: two bridges joined by two patch pairs, each flooding, would hand a broadcast back and
 * forth forever. As OVS bounds one translation, a frame's trip through patch ports is bounded: at
 * most MAX_DEPTH crossings nested inside one another and MAX_RESUBMITS crossings in all since the
 * frame came into the process (the packet path calls `startTrip` for every frame it is given from
 * outside, and for every PACKET_OUT); a crossing beyond either is dropped and counted (`tooDeep`,
 * and tx_dropped of the port it was sent out of).
 *
 * Ownership: the frame handed to the peer is the sender's (valid only during the call, and
 * possibly sent on to other ports afterwards), so the port declares `lendsFrames`: the receiving
 * datapath never rewrites it in place.
 *
 * MAC: random and locally administered, made when the port is (eth_addr_random, as OVS's vports).
 * Administrative state: PORT_MOD may bring a patch port down; it then has no carrier and the
 * datapath neither sends nor receives on it. Speed: none (curr 0), as OVS reports.
 */
import { randomBytes } from 'node:crypto';
import { MAX_DEPTH, MAX_RESUBMITS } from '../../protocol/constants.js';
import type { MacAddress } from '../../protocol/types.js';
import type { LinkInfo, NetPort } from './net-port.js';
import { PortError, type PortType } from './port-type.js';

/** Open patch ports by name, across every bridge of the process. */
const openPorts = new Map<string, PatchPort>();

/** Patch crossings now nested inside one another, and made since the current trip began. */
let depth = 0;
let crossings = 0;

/** A frame enters the process (a port received it, a controller sent it): its trip's crossings count from 0. */
export function startTrip(): void {
  if (depth === 0) crossings = 0; // else: a frame handed over by a patch port, still on its trip
}

/** A random locally administered unicast MAC (eth_addr_random). */
function randomMac(): MacAddress {
  const b = randomBytes(6);
  b[0] = ((b[0] as number) & 0xfe) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export class PatchPort implements NetPort {
  readonly name: string;
  /** The name of the patch port it hands frames to. */
  readonly peerName: string;
  readonly lendsFrames = true;
  /** Frames dropped: no peer, administratively down, or a trip through patch ports too long. */
  txDropped = 0;
  /** Of those, frames dropped because their trip through patch ports was too long. */
  tooDeep = 0;
  private peer: PatchPort | undefined;
  private onFrame: ((frame: Uint8Array) => void) | undefined;
  private adminUp = true;
  private link: LinkInfo;
  private readonly watchers: (() => void)[] = [];
  private closed = false;

  constructor(name: string, peerName: string) {
    if (name === '') throw new PortError('a patch port needs a name');
    if (peerName === '') throw new PortError(`port ${name}: patch type requires valid 'peer' argument`);
    if (peerName === name) throw new PortError(`port ${name}: patch peer must not be self`);
    if (openPorts.has(name)) throw new PortError(`port ${name}: a patch port of that name already exists`);
    this.name = name;
    this.peerName = peerName;
    this.link = { adminUp: true, carrier: false, hwAddr: randomMac(), speedMbps: 0 };
  }

  /** True while linked to a peer that names it back. */
  get linked(): boolean {
    return this.peer !== undefined;
  }

  /** The peer a frame sent now would reach (linked, both ends open, this end up), for ofproto/trace. */
  get receivingPeer(): PatchPort | undefined {
    return this.peer?.onFrame !== undefined && this.adminUp ? this.peer : undefined;
  }

  /** Starts receiving what the peer sends, and links with the peer if it is open and names this port. */
  open(onFrame: (frame: Uint8Array) => void): void {
    if (this.closed) throw new Error(`patch port ${this.name} is closed`);
    const other = openPorts.get(this.name);
    if (other !== undefined && other !== this) throw new PortError(`port ${this.name}: a patch port of that name already exists`);
    this.onFrame = onFrame;
    openPorts.set(this.name, this);
    const peer = openPorts.get(this.peerName);
    if (peer !== undefined && peer.peerName === this.name) {
      this.peer = peer;
      peer.peer = this;
      this.linkChanged();
      peer.linkChanged();
    }
  }

  /** Hands the frame to the peer's bridge (synchronously); dropped and counted when it cannot. */
  send(frame: Uint8Array): void {
    const peer = this.peer;
    const deliver = peer?.onFrame;
    if (deliver === undefined || !this.adminUp) {
      this.txDropped++;
      return;
    }
    if (depth >= MAX_DEPTH || crossings >= MAX_RESUBMITS) {
      this.txDropped++;
      this.tooDeep++;
      return;
    }
    depth++;
    crossings++;
    try {
      deliver(frame);
    } finally {
      depth--;
    }
  }

  readLink(): LinkInfo {
    return this.link;
  }

  watchLink(onChange: () => void): void {
    this.watchers.push(onChange);
  }

  async setAdminUp(up: boolean): Promise<void> {
    if (up === this.adminUp) return;
    this.adminUp = up;
    this.linkChanged();
  }

  /** Unlinks the peer (which loses its carrier at once) and leaves the table. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onFrame = undefined;
    if (openPorts.get(this.name) === this) openPorts.delete(this.name);
    const peer = this.peer;
    if (peer !== undefined) {
      this.peer = undefined;
      peer.peer = undefined;
      peer.linkChanged();
    }
    this.watchers.length = 0;
  }

  /** Recomputes the link and tells the watchers when it changed. */
  private linkChanged(): void {
    const carrier = this.adminUp && this.peer !== undefined;
    if (carrier === this.link.carrier && this.adminUp === this.link.adminUp) return;
    this.link = { ...this.link, adminUp: this.adminUp, carrier };
    for (const watcher of this.watchers) watcher();
  }
}

/** Type "patch": option `peer`, the name of the patch port (in this or another bridge) it is joined to. */
export const patchPortType: PortType<PatchPort> = {
  name: 'patch',
  options: ['peer'],
  create(name, options) {
    const peer = options['peer'];
    if (peer === undefined || typeof peer === 'boolean' || String(peer) === '')
      throw new PortError(`port ${name}: patch type requires valid 'peer' argument`);
    return new PatchPort(name, String(peer));
  },
};
