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

  send(frame: Uint8Array): void {
    this.inner.send(frame);
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
 * The internal port `name`: a new veth pair (InternalPort), the pair an earlier ofswitch left
 * (adopted, also when its host end is in another namespace), or else the existing interface of
 * that name as it is.
 */
export function createInternalPort(name: string): NetPort {
  checkInterfaceName(name);
  const state = internalPairState(name);
  if (state === 'pair' || state === 'moved') return new InternalPort(name, { adopt: true });
  return existsSync(`/sys/class/net/${name}`) ? new AfPacketPort(name) : new InternalPort(name);
}

/** Type "internal": the switch's own host interface (made when missing, removed with the port). No options. */
export const internalPortType: PortType = {
  name: 'internal',
  options: [],
  create: (name) => createInternalPort(name),
};
