/**
 * Tunnel ports (types "vxlan", "geneve", "gre"), as Open vSwitch configures them: an OpenFlow port
 * whose frames travel to `remote_ip` inside VXLAN, Geneve or GRE over the host's own IPv4 stack.
 * Options and their defaults: datapath/tunnel/config.ts; headers: datapath/tunnel/codec.ts (no
 * I/O); sockets and the demultiplexing by remote address and key shared by every tunnel port of
 * the process: datapath/tunnel/underlay.ts.
 *
 * Sending: the frame is put behind the tunnel header in the endpoint's staging area and handed to
 * the kernel with the other packets of the batch (one sendmmsg on the endpoint's socket, at the
 * end of the receive batch being forwarded: underlay.ts), which routes it, resolves the next hop
 * and adds the outer IP (and UDP) header with the port's TOS, TTL and DF. Before that, the
 * packet's size is checked against the route's MTU (read again at every link poll, and after the
 * kernel refused a packet as too large): with df_default=true (the default) a frame that would not
 * fit is dropped, counted in tx_dropped and recorded (TUNNEL_TOO_BIG), never sent cut or corrupt;
 * with df_default=false the outer packet goes without DF and the kernel fragments it. A packet the
 * kernel refuses for want of room (EAGAIN, ENOBUFS) is tx_dropped, one refused as too large
 * (EMSGSIZE: the path MTU shrank) is a TUNNEL_TOO_BIG drop, any other refusal (no route:
 * ENETUNREACH) a tx_error. A refusal found when the batch left, after `send` returned, is counted
 * so (moved from tx_packets) and recorded (TUNNEL_TOO_BIG, TX_ERROR) with the input port the
 * frame was being forwarded from when it was sent (noted with the staged packet), as the datapath
 * records a refusal at once. While the port knows no route to its remote (the last read failed), a
 * frame is sent at once instead, and a refusal other than those is thrown, so the datapath counts
 * the tx_error and records TX_ERROR with the frame's input port.
 *
 * Link: a tunnel port is up while administratively up (OVS reports tunnel ports' link up whatever
 * the underlay). MAC: random, locally administered (eth_addr_random, as OVS's vports). Speed 0.
 *
 * Status (the Interface `status` column, netdev-vport.c's tunnel_get_status):
 * `tunnel_egress_iface`, the interface the kernel's route to remote_ip leaves by, and
 * `tunnel_egress_iface_carrier`, "up" or "down"; both absent while there is no route. Read with
 * the route at every link poll (and after a refusal); a change calls the status watchers.
 *
 * OAM: a frame sent inside `withOam` (BFD with `oam=true`) goes with the Geneve header's O bit.
 *
 * Deliberate differences from Open vSwitch: IPv4 underlay only; no source-port entropy (VXLAN
 * and Geneve packets leave from the tunnel's UDP port itself, which receivers accept); Geneve
 * options are neither sent nor matched (OpenFlow 1.0 has no field for them); remote_ip=flow and
 * key=flow are refused (Nicira extensions), as are in_key/out_key.
 */
import { randomBytes } from 'node:crypto';
import type { MacAddress } from '../../protocol/types.js';
import { DROP_REASON, type DropReason } from '../drop-record.js';
import { headerLength, innerIpFields, overhead, type TunnelKind } from '../tunnel/codec.js';
import { DEFAULT_TUNNEL_TTL, TUNNEL_OPTIONS, numberToIpv4, tunnelConfig, type TunnelConfig } from '../tunnel/config.js';
import { Endpoint, routeTo, type TunnelReceiver } from '../tunnel/underlay.js';
import { OFPP } from '../../protocol/constants.js';
import type { LinkInfo, NetPort, PortDropHandler } from './net-port.js';
import { PortError, checkInterfaceName, type PortType } from './port-type.js';

const EAGAIN = 11;
const ENOBUFS = 105;
const EMSGSIZE = 90;
/** The largest tunnel packet (header and frame): an IPv4 datagram's payload at most. */
const MAX_PACKET = 65535;

function randomMac(): MacAddress {
  const b = randomBytes(6);
  b[0] = ((b[0] as number) & 0xfe) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export class TunnelPort implements NetPort, TunnelReceiver {
  readonly name: string;
  readonly config: TunnelConfig;
  /** Frames dropped on send: too large for the underlay, no room in the kernel, or the port down. */
  txDropped = 0;
  /** Of those, frames too large for the underlay (df_default=true). */
  tooBig = 0;
  /** Frames the kernel refused after `send` had returned (a batched send), for another reason than room or size. */
  txErrors = 0;
  /** The route towards remote_ip as last read: its MTU (0: none) and source address, or why there is none. */
  routeMtu = 0;
  routeSource = 0;
  routeErrno = 0;
  /** The interface the route leaves by ('' while there is none) and its carrier. */
  egressIface = '';
  egressCarrier = false;
  private readonly headerLen: number;
  private readonly overheadLen: number;
  private endpoint: Endpoint | undefined;
  private onFrame: ((frame: Uint8Array) => void) | undefined;
  private onDrop: PortDropHandler | undefined;
  private link: LinkInfo;
  private readonly watchers: (() => void)[] = [];
  private readonly statusWatchers: (() => void)[] = [];
  private inPortNow: () => number = () => OFPP.NONE;
  /** Frames sent now get the Geneve O bit (withOam). */
  private oam = false;

  constructor(name: string, config: TunnelConfig) {
    this.name = name;
    this.config = config;
    this.headerLen = headerLength(config);
    this.overheadLen = overhead(config);
    this.link = { adminUp: true, carrier: true, hwAddr: randomMac(), speedMbps: 0 };
  }

  get kind(): TunnelKind {
    return this.config.kind;
  }

  /** The largest frame that fits the underlay's route MTU once encapsulated (0: no route known). */
  get maxFrame(): number {
    return this.routeMtu > 0 ? this.routeMtu - this.overheadLen : 0;
  }

  /** The endpoint's counters of packets no port took (shared by the ports of one socket). */
  get endpointCounters(): { unknownRemote: number; unknownKey: number; malformed: number; flushes: number } | undefined {
    const e = this.endpoint;
    return e && { unknownRemote: e.unknownRemote, unknownKey: e.unknownKey, malformed: e.malformed, flushes: e.flushes };
  }

  open(onFrame: (frame: Uint8Array) => void, onDrop?: PortDropHandler, inPortNow?: () => number): void {
    if (this.endpoint !== undefined) throw new Error(`tunnel port ${this.name} is already open`);
    this.endpoint = Endpoint.acquire(this);
    this.onFrame = onFrame;
    this.onDrop = onDrop;
    if (inPortNow) this.inPortNow = inPortNow;
    this.readRoute();
  }

  /** Runs `send` (which sends through this port) with the Geneve header's O bit on what it sends (BFD's oam=true). */
  withOam<T>(send: () => T): T {
    this.oam = true;
    try {
      return send();
    } finally {
      this.oam = false;
    }
  }

  deliver(frame: Uint8Array): void {
    if (this.link.adminUp) this.onFrame?.(frame);
  }

  reportDrop(reason: DropReason, frame: Uint8Array, aux: number): void {
    this.onDrop?.(reason, frame, aux, true);
  }

  send(frame: Uint8Array): void {
    const ep = this.endpoint;
    if (ep === undefined) throw new Error(`${this.name} is closed`);
    if (!this.link.adminUp) {
      this.txDropped++;
      return;
    }
    const c = this.config;
    if ((c.df && this.routeMtu > 0 && frame.length + this.overheadLen > this.routeMtu) || frame.length + this.headerLen > MAX_PACKET) {
      this.dropTooBig(frame);
      return;
    }
    let tos = c.tos;
    let ttl = c.ttl;
    if (tos === 'inherit' || ttl === 'inherit') {
      const inner = innerIpFields(frame);
      if (tos === 'inherit') tos = inner?.tos ?? 0;
      if (ttl === 'inherit') ttl = inner?.ttl ?? DEFAULT_TUNNEL_TTL;
    }
    if (this.routeErrno === 0) {
      ep.stage(this, frame, tos, ttl, this.inPortNow(), this.oam);
      return;
    }
    // No route when last read: sent at once, so that a refusal is this send's (see the top).
    const errno = ep.sendNow(this, frame, tos, ttl, this.oam);
    if (errno === 0) this.readRoute(); // the route is back
    else if (!this.dropRefused(errno, frame)) throw new Error(`${this.name}: cannot send to ${c.remoteText} (errno ${errno})`);
  }

  refused(errno: number, frame: Uint8Array, inPort: number): void {
    if (this.dropRefused(errno, frame, inPort)) return;
    this.txErrors++;
    this.onDrop?.(DROP_REASON.TX_ERROR, frame, -1, false, inPort);
    this.readRoute(); // gone? then the next frames are sent at once, their refusals thrown
  }

  /**
   * Counts a packet the kernel refused for want of room or as too large; false for any other
   * refusal. `inPort`: the frame's input port when it was refused after its send returned.
   */
  private dropRefused(errno: number, frame: Uint8Array, inPort?: number): boolean {
    if (errno === EAGAIN || errno === ENOBUFS) {
      this.txDropped++;
      return true;
    }
    if (errno === EMSGSIZE) {
      this.readRoute(); // the path's MTU changed under us
      this.dropTooBig(frame, inPort);
      return true;
    }
    return false;
  }

  /** A frame too large for the underlay; `inPort`: its input port, when found after its send returned. */
  private dropTooBig(frame: Uint8Array, inPort?: number): void {
    this.txDropped++;
    this.tooBig++;
    this.onDrop?.(DROP_REASON.TUNNEL_TOO_BIG, frame, this.maxFrame, false, inPort);
  }

  /** Reads the route to remote_ip again (its MTU, source address, interface and carrier). */
  private readRoute(): void {
    const r = routeTo(this.config.remoteIp);
    const [iface, carrier] = [this.egressIface, this.egressCarrier];
    if ('errno' in r) {
      this.routeMtu = 0;
      this.routeSource = 0;
      this.routeErrno = r.errno;
      this.egressIface = '';
      this.egressCarrier = false;
    } else {
      this.routeMtu = r.mtu;
      this.routeSource = r.src;
      this.routeErrno = 0;
      this.egressIface = r.iface;
      this.egressCarrier = r.carrier;
    }
    if (iface !== this.egressIface || carrier !== this.egressCarrier) for (const w of this.statusWatchers) w();
  }

  /** The Interface `status` keys (see the top): the egress interface and its carrier while there is a route. */
  status(): ReadonlyMap<string, string> {
    if (this.egressIface === '') return new Map();
    return new Map([
      ['tunnel_egress_iface', this.egressIface],
      ['tunnel_egress_iface_carrier', this.egressCarrier ? 'up' : 'down'],
    ]);
  }

  /** Calls `onChange` when `status()` changes. */
  watchStatus(onChange: () => void): void {
    this.statusWatchers.push(onChange);
  }

  readLink(): LinkInfo {
    if (this.endpoint !== undefined) this.readRoute();
    return this.link;
  }

  watchLink(onChange: () => void): void {
    this.watchers.push(onChange);
  }

  async setAdminUp(up: boolean): Promise<void> {
    if (up === this.link.adminUp) return;
    this.link = { ...this.link, adminUp: up, carrier: up };
    for (const w of this.watchers) w();
  }

  /** The port's configuration and route in one line (for logs and diagnostics). */
  describe(): string {
    const c = this.config;
    const parts = [`${this.name}: ${c.kind} remote_ip=${c.remoteText}`];
    if (c.localIp !== 0) parts.push(`local_ip=${numberToIpv4(c.localIp)}`);
    if (c.keyPresent) parts.push(`key=${c.key}`);
    if (c.dstPort !== 0) parts.push(`dst_port=${c.dstPort}`);
    parts.push(`tos=${c.tos}`, `ttl=${c.ttl}`, `df_default=${c.df}`, `csum=${c.csum}`);
    parts.push(this.routeMtu > 0 ? `route: src ${numberToIpv4(this.routeSource)} dev ${this.egressIface || '?'} (carrier ${this.egressCarrier ? 'up' : 'down'}) mtu ${this.routeMtu} (frames up to ${this.maxFrame} bytes)` : `route: none (errno ${this.routeErrno})`);
    parts.push(`too_big=${this.tooBig}`);
    return parts.join(' ');
  }

  close(): void {
    this.endpoint?.release(this);
    this.endpoint = undefined;
    this.onFrame = undefined;
    this.onDrop = undefined;
    this.watchers.length = 0;
    this.statusWatchers.length = 0;
  }
}

function tunnelType(kind: TunnelKind): PortType<TunnelPort> {
  return {
    name: kind,
    options: TUNNEL_OPTIONS[kind],
    create(name, options) {
      checkInterfaceName(name);
      const config = tunnelConfig(kind, name, options);
      const other = Endpoint.clash(config);
      if (other !== undefined) throw new PortError(`port ${name}: ${kind} tunnel to ${config.remoteText} with key ${config.key} already exists as port ${other}`);
      return new TunnelPort(name, config);
    },
  };
}

/** Type "vxlan": VXLAN over UDP (dst_port 4789). */
export const vxlanPortType = tunnelType('vxlan');
/** Type "geneve": Geneve over UDP (dst_port 6081). */
export const genevePortType = tunnelType('geneve');
/** Type "gre": GRE (IP protocol 47) carrying Ethernet frames (OVS's gre, not erspan or ip6gre). */
export const grePortType = tunnelType('gre');
