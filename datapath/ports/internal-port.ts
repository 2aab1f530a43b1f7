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
 * `createInternalPort` opens an interface that already exists under the name as it is (a system
 * port), and makes the pair only when there is none.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { AfPacketPort } from './af-packet-port.js';
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

  /** Creates the veth pair `name` / `ofl-name`, both up; throws when the kernel refuses. */
  constructor(name: string) {
    checkInterfaceName(name);
    this.name = name;
    this.peerName = internalPeerName(name);
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

  open(onFrame: (frame: Uint8Array) => void): void {
    this.inner.open(onFrame);
  }

  send(frame: Uint8Array): void {
    this.inner.send(frame);
  }

  /** The host's end as the port: its MAC and admin state; carrier is the pair's (both ends up). */
  readLink(): LinkInfo {
    const peer = this.inner.readLink();
    const adminUp = ((parseInt(readSys(this.name, 'flags') ?? '0', 16) & 1) !== 0);
    return {
      adminUp,
      carrier: adminUp && peer.carrier,
      hwAddr: readSys(this.name, 'address') ?? peer.hwAddr,
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
      ip(['link', 'del', this.name]);
    } catch {
      /* already gone */
    }
  }
}

/** The internal port `name`: the existing interface of that name, or a new veth pair (InternalPort). */
export function createInternalPort(name: string): NetPort {
  checkInterfaceName(name);
  return existsSync(`/sys/class/net/${name}`) ? new AfPacketPort(name) : new InternalPort(name);
}

/** Type "internal": the switch's own host interface (made when missing, removed with the port). No options. */
export const internalPortType: PortType = {
  name: 'internal',
  options: [],
  create: (name) => createInternalPort(name),
};
