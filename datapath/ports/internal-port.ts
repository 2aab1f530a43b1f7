/**
 * The internal port (type "internal"), as Open vSwitch has it: the switch's own interface on the
 * host (the LOCAL port, which OVS names after the bridge, is one), on which the host can put an
 * address and so reach the hosts behind the switch.
 *
 * Linux has no "internal port" outside OVS's kernel module, so the interface is one end of a veth
 * pair created here: `name` is the host's end, and the switch sends and receives on the other
 * end (`peerName`) with an AF_PACKET port. The port is described by the host's end (its name, MAC
 * and administrative state, which PORT_MOD's PORT_DOWN changes), as OVS describes its internal
 * interface. close() deletes the pair.
 *
 * The host's end may be moved into another network namespace (`ip link set NAME netns NS`, as
 * is done with OVS's internal interfaces to give a namespace a port on the bridge): the switch's
 * end stays, so frames still flow; the port is then described by what the switch's end sees (a
 * veth has carrier when both ends are up) and the host end's last known MAC. close() deletes the
 * switch's end, which takes the pair, wherever the host's end is.
 *
 * `createInternalPort` makes the pair when there is no interface of that name. A pair that is
 * already there (internalPairState) is one an ofswitch made and could not remove (it was killed):
 * it is adopted as it is (addresses, MAC and administrative state kept, as OVS keeps an internal
 * interface across a restart of ovs-vswitchd) and removed at close like a new one; so is a
 * switch's end whose host end was moved into another namespace. Any other interface of that name
 * is opened as it is (a system port).
 *
 * Ownership: the switch's end carries its maker as its interface alias (`ip link set ... alias`),
 * `ofswitch pid=PID start=TICKS` (TICKS: the process's start time in /proc/PID/stat, so that a pid
 * used again by another process is not taken for the maker). The record lives with the interface:
 * it needs no run directory, follows no rename of one, and cannot outlive or miss the interface.
 * A pair whose maker still runs is refused (two switches never share, nor delete each other's,
 * internal interfaces); one whose maker is dead (or that has no alias: made by an ofswitch before
 * aliases) is a leftover: the daemon adopts it, the `ofswitch` command removes it and makes a new
 * one (removeLeftoverPair), and the alias then names the new owner.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { AfPacketPort, linkOf } from './af-packet-port.js';
import type { LinkInfo, NetPort } from './net-port.js';
import { PortError, checkInterfaceName, type PortType } from './port-type.js';

const IFNAMSIZ = 15;

/** The switch's end of the pair: "ofl-NAME", cut to the kernel's 15 characters. */
export function internalPeerName(name: string): string {
  return `ofl-${name}`.slice(0, IFNAMSIZ);
}

function readSys(ifname: string, attr: string): string | undefined {
  try {
    return readFileSync(`/sys/class/net/${ifname}/${attr}`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function ip(args: readonly string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Who made an internal pair, as its alias records it. */
export interface PairOwner {
  readonly pid: number;
  /** The process's start time (clock ticks after boot), as /proc/PID/stat field 22 has it. */
  readonly start: string;
}

const OWNER_ALIAS = /^ofswitch pid=(\d+) start=(\d+)$/;

/** A process's start time, or undefined when there is no such process. */
function processStart(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // after "PID (COMM) ": state is field 3, starttime field 22
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

/** This process as the alias names it. */
export function ownerAlias(): string {
  return `ofswitch pid=${process.pid} start=${processStart(process.pid) ?? 0}`;
}

/** The maker recorded on the switch's end of the pair for `name` (null: no record). */
export function internalPairOwner(name: string): PairOwner | null {
  const m = OWNER_ALIAS.exec(readSys(internalPeerName(name), 'ifalias') ?? '');
  return m ? { pid: Number(m[1]), start: m[2] ?? '' } : null;
}

/** Whether the process that made a pair still runs (this one included). */
export function ownerRuns(owner: PairOwner): boolean {
  return processStart(owner.pid) === owner.start;
}

/** Records this process as the pair's owner (an alias that cannot be set leaves the pair unmarked: a leftover for the next start). */
function markOwner(peer: string): void {
  try {
    ip(['link', 'set', 'dev', peer, 'alias', ownerAlias()]);
  } catch {
    /* unmarked: treated as a leftover of a dead ofswitch */
  }
}

export class InternalPort implements NetPort {
  readonly name: string;
  readonly peerName: string;
  private readonly inner: AfPacketPort;
  private closed = false;
  /** The host end's MAC when last seen (it is not visible once moved into another namespace). */
  private hostMac: string | undefined;

  /**
   * Creates the veth pair `name` / `ofl-name`, both up; throws when the kernel refuses. With
   * `adopt`, the pair exists already (internalPairState): only the switch's end is brought up.
   */
  constructor(name: string, options: { adopt?: boolean } = {}) {
    checkInterfaceName(name);
    this.name = name;
    this.peerName = internalPeerName(name);
    if (options.adopt) {
      try {
        ip(['link', 'set', this.peerName, 'up']);
      } catch (err) {
        const detail = (err as { stderr?: Buffer }).stderr?.toString().trim();
        throw new PortError(`cannot adopt the internal interface ${name}${detail ? `: ${detail}` : ''}`);
      }
      markOwner(this.peerName);
      this.inner = new AfPacketPort(this.peerName);
      return;
    }
    try {
      ip(['link', 'add', name, 'type', 'veth', 'peer', 'name', this.peerName]);
      ip(['link', 'set', this.peerName, 'up']);
      ip(['link', 'set', name, 'up']);
    } catch (err) {
      try {
        ip(['link', 'del', name]);
      } catch {
        /* never created */
      }
      const detail = (err as { stderr?: Buffer }).stderr?.toString().trim();
      throw new PortError(`cannot create the internal interface ${name}${detail ? `: ${detail}` : ''}`);
    }
    markOwner(this.peerName);
    this.inner = new AfPacketPort(this.peerName);
  }

  get txErrors(): number {
    return this.inner.txErrors;
  }

  get rxErrors(): number {
    return this.inner.rxErrors;
  }

  get rxDropped(): number {
    return this.inner.rxDropped;
  }

  get txDropped(): number {
    return this.inner.txDropped;
  }

  open(onFrame: (frame: Uint8Array) => void): void {
    this.inner.open(onFrame);
  }

  send(frame: Uint8Array, priority = 0): void {
    this.inner.send(frame, priority);
  }

  /** Frames to the host leave by the switch's end: its egress qdisc is the one QoS sets up (qos/). */
  get qdiscDevice(): string {
    return this.peerName;
  }

  /**
   * The host's end as the port: its MAC and admin state; carrier is the pair's (both ends up).
   * Moved into another namespace, the host's end is up exactly when the pair has carrier.
   */
  readLink(): LinkInfo {
    const peer = this.inner.readLink();
    const host = linkOf(this.name);
    this.hostMac = host?.mac ?? this.hostMac;
    const adminUp = host === null ? peer.carrier : (host.flags & 1) !== 0;
    return {
      adminUp,
      carrier: adminUp && peer.carrier,
      hwAddr: this.hostMac ?? peer.hwAddr,
      speedMbps: peer.speedMbps,
    };
  }

  watchLink(onChange: () => void): void {
    this.inner.watchLink(onChange);
  }

  async setAdminUp(up: boolean): Promise<void> {
    ip(['link', 'set', 'dev', this.name, up ? 'up' : 'down']);
  }

  /** Both ends of the pair, so that what the host sends at that size reaches the switch. */
  async setMtu(mtu: number): Promise<void> {
    ip(['link', 'set', 'dev', this.peerName, 'mtu', String(mtu)]);
    ip(['link', 'set', 'dev', this.name, 'mtu', String(mtu)]);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.inner.close();
    try {
      ip(['link', 'del', this.peerName]); // the pair goes with it, the host's end wherever it is
    } catch {
      /* already gone */
    }
  }
}

/**
 * What is there of the pair an InternalPort makes for `name`:
 * - 'none': neither end;
 * - 'pair': `name` and `ofl-name`, each the other's peer (a veth's `iflink` is its peer's ifindex);
 * - 'moved': `ofl-name` alone, linked to an interface in another namespace (`name`, moved there);
 * - 'other': anything else (an interface `name` of another kind, a stray `ofl-name`).
 */
export function internalPairState(name: string): 'none' | 'pair' | 'moved' | 'other' {
  const peer = internalPeerName(name);
  const index = readSys(name, 'ifindex');
  const peerIndex = readSys(peer, 'ifindex');
  const peerLink = readSys(peer, 'iflink');
  if (index === undefined && peerIndex === undefined) return 'none';
  if (index === undefined) return peerLink !== undefined && peerLink !== peerIndex && peerLink !== '0' ? 'moved' : 'other';
  return peerIndex !== undefined && readSys(name, 'iflink') === peerIndex && peerLink === index ? 'pair' : 'other';
}

/**
 * Deletes the pair `name` / `ofl-name` left by an ofswitch that was killed, if it is one (a 'pair'
 * or 'moved' internalPairState); anything else of that name is not touched. Whether it was deleted.
 */
export function removeInternalPair(name: string): boolean {
  const state = internalPairState(name);
  if (state !== 'pair' && state !== 'moved') return false;
  try {
    ip(['link', 'del', internalPeerName(name)]);
    return true;
  } catch {
    return false; // gone meanwhile
  }
}

/**
 * The pair for `name` an ofswitch that is not running any more left behind ('pair' or 'moved',
 * its maker dead or unrecorded), deleted; what it was (null: there was none, or its maker runs).
 */
export function removeLeftoverPair(name: string): { owner: PairOwner | null } | null {
  const state = internalPairState(name);
  if (state !== 'pair' && state !== 'moved') return null;
  const owner = internalPairOwner(name);
  if (owner && ownerRuns(owner)) return null;
  return removeInternalPair(name) ? { owner } : null;
}

/**
 * The internal port `name`: a new veth pair (InternalPort), the pair an earlier ofswitch left
 * (adopted, also when its host end is in another namespace), or else the existing interface of
 * that name as it is. A pair another running ofswitch made is a PortError.
 */
export function createInternalPort(name: string): NetPort {
  checkInterfaceName(name);
  const state = internalPairState(name);
  if (state === 'pair' || state === 'moved') {
    const owner = internalPairOwner(name);
    if (owner && owner.pid !== process.pid && ownerRuns(owner))
      throw new PortError(`the internal interface ${name} belongs to the running ofswitch pid ${owner.pid}`);
    return new InternalPort(name, { adopt: true });
  }
  return existsSync(`/sys/class/net/${name}`) ? new AfPacketPort(name) : new InternalPort(name);
}

/** Type "internal": the switch's own host interface (made when missing, removed with the port). No options. */
export const internalPortType: PortType = {
  name: 'internal',
  options: [],
  create: (name) => createInternalPort(name),
};
