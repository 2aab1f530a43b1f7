/**
 * The tunnels' underlay: the host's own IPv4 stack, through the raw_ip addon
 * (datapath/native/raw_ip.c), and the process-wide table that tells tunnel ports apart.
 *
 * Endpoints: every tunnel port of the process (whatever its bridge) receives through an endpoint
 * shared with the ports of the same kind and local address: one UDP socket per (local address,
 * dst_port) for VXLAN and Geneve, one raw IPv4 socket of protocol 47 per local address for GRE,
 * as Open vSwitch has one receive socket per tunnel UDP port. An endpoint opens with its first
 * port and closes with its last. A received packet is decoded (codec.ts) and handed to the port
 * whose (remote IP, key) it came from, as OVS's tnl-port.c matches ports by remote address and
 * key; one from an unknown remote, or a known remote with an unknown key, is dropped and counted
 * (the endpoint's `unknownRemote` / `unknownKey`, and the drop record of the bridge of the
 * endpoint's first port, with in_port NONE). Two ports with the same kind, local address,
 * dst_port, remote IP and key are refused (a frame could not tell them apart).
 *
 * A raw socket bound to any address also sees what arrives for an address another GRE endpoint
 * is bound to (raw sockets each get a copy): it leaves those to that endpoint.
 *
 * Sending is batched per endpoint, as the system ports batch theirs (af_packet.c): a port's
 * packet is encapsulated straight into the socket's staging area (raw_ip.c: packed, each with its
 * destination, TOS, TTL, DF and checksum setting) and the staged packets leave with one sendmmsg
 * when the receive batch being processed ends, or on a microtask (../ports/tx-batch.ts), or at once
 * when the area is full. What the kernel refuses then comes back per packet to its port
 * (`refused`). `sendNow` sends one packet at once instead, for a port that must see its refusal.
 * Receiving is batched too: one recvmmsg of up to 64 packets a wake-up, one call into JS.
 *
 * The addon is loaded when the first endpoint opens, so importing this module needs no C build.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DROP_REASON, type DropReason } from '../drop-record.js';
import { checkAddonAbi } from '../ports/addon-abi.js';
import { PortError } from '../ports/port-type.js';
import { enterBatch, leaveBatch, noteStaged, type StagedOutput } from '../ports/tx-batch.js';
import { decapsulate, encapsulate, headerLength, ipv4PayloadOffset, type Decoded, type TunnelKind } from './codec.js';
import { IPPROTO_GRE, numberToIpv4, type TunnelConfig } from './config.js';

interface NativeSocket {
  readonly slots: ArrayBuffer;
  readonly meta: ArrayBuffer;
  readonly tx: ArrayBuffer;
  readonly txMeta: ArrayBuffer;
  readonly txStatus: ArrayBuffer;
}
interface Addon {
  open(kind: number, portOrProto: number, localAddr: number, onBatch: (count: number) => void): NativeSocket;
  /** Sends staged packets [0, count): how many the kernel took; each refused one's errno is in txStatus. */
  flush(sock: NativeSocket, count: number): number;
  route(dst: number): { src?: number; mtu?: number; iface?: string; running?: boolean; errno?: number };
  close(sock: NativeSocket): void;
}
const KIND_UDP = 0;
const KIND_RAW = 1;
const META_WORDS = 3;
/** Staged packet i is described by txMeta[4i..4i+3]: offset, length, destination, options (raw_ip.c). */
const TX_META_WORDS = 4;
const TX_OPT_DF = 1 << 16;
const TX_OPT_CSUM = 1 << 17;

let loaded: Addon | undefined;

/** The built addon (raw_ip.node beside af_packet.node), loaded on first use. */
export function underlayAddon(): Addon {
  if (loaded) return loaded;
  const here = dirname(fileURLToPath(import.meta.url));
  const rel = join('native', 'build', 'Release', 'raw_ip.node');
  const candidates = [join(here, '..', rel), join(here, '..', '..', '..', 'datapath', rel)];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`raw_ip addon not built (run npm run build:native): looked for ${candidates.join(', ')}`);
  const addon = createRequire(import.meta.url)(found) as Partial<Addon> & { readonly abi?: unknown };
  checkAddonAbi('raw_ip', found, addon);
  // A raw_ip.node built from older sources loads but lacks the batched send: refuse it by name
  // rather than let every tunnel frame fail inside the packet path.
  if (typeof addon.flush !== 'function' || typeof addon.open !== 'function' || typeof addon.route !== 'function') {
    throw new Error(`raw_ip addon at ${found} is older than its sources (no flush): run npm run build:native`);
  }
  loaded = addon as Addon;
  return loaded;
}

/** A route the kernel would take: source address, MTU, the interface it leaves by ('' when unknown) and that interface's carrier. */
export interface UnderlayRoute {
  readonly src: number;
  readonly mtu: number;
  readonly iface: string;
  readonly carrier: boolean;
}

/** The route the kernel would take to `dst`, or the errno (ENETUNREACH, ...). */
export function routeTo(dst: number): UnderlayRoute | { errno: number } {
  const r = underlayAddon().route(dst);
  return r.errno !== undefined ? { errno: r.errno } : { src: r.src ?? 0, mtu: r.mtu ?? 0, iface: r.iface ?? '', carrier: r.running === true };
}

/** What an endpoint needs of a tunnel port. */
export interface TunnelReceiver {
  readonly name: string;
  readonly config: TunnelConfig;
  /** A frame from this port's tunnel (a view, valid during the call). */
  deliver(frame: Uint8Array): void;
  /** Records a drop the endpoint made (for the drop record of the port's bridge). */
  reportDrop(reason: DropReason, frame: Uint8Array, aux: number): void;
  /**
   * The kernel refused, with `errno`, a packet of this port staged earlier (`frame`: its frame,
   * valid during the call; `inPort`: what `stage` was given).
   */
  refused(errno: number, frame: Uint8Array, inPort: number): void;
}

/** The endpoint table's key: socket kind, local address, UDP port. */
function endpointKey(c: TunnelConfig): string {
  return c.kind === 'gre' ? `gre/${c.localIp}` : `udp/${c.localIp}/${c.dstPort}`;
}

function tunnelKey(remote: number, key: number): string {
  return `${remote}/${key}`;
}

const endpoints = new Map<string, Endpoint>();

/** One underlay socket and the tunnel ports it serves. */
export class Endpoint implements StagedOutput {
  readonly key: string;
  readonly kind: TunnelKind;
  readonly localIp: number;
  readonly dstPort: number;
  /** Packets dropped: from no known remote, or from a known remote with an unknown key; not a tunnel packet. */
  unknownRemote = 0;
  unknownKey = 0;
  malformed = 0;
  /** Batched sends made (sendmmsg calls from JS: one a batch, more when the staging area filled). */
  flushes = 0;
  private readonly ports = new Map<string, TunnelReceiver>();
  private readonly remotes = new Map<number, number>();
  private readonly sock: NativeSocket;
  private readonly slots: Uint8Array;
  private readonly meta: Uint32Array;
  private readonly decoded: Decoded = { key: 0, frameOffset: 0 };
  private readonly tx: Uint8Array;
  private readonly txMeta: Uint32Array;
  private readonly txStatus: Int32Array;
  private readonly txSlots: number;
  /** The port of each staged packet, and the input port of the frame it carries. */
  private readonly txFrom: TunnelReceiver[] = [];
  private readonly txInPort: Int32Array;
  private txCount = 0;
  /** Bytes of `tx` the staged packets fill. */
  private txUsed = 0;
  private closed = false;

  private constructor(key: string, c: TunnelConfig) {
    this.key = key;
    this.kind = c.kind;
    this.localIp = c.localIp;
    this.dstPort = c.dstPort;
    const raw = c.kind === 'gre';
    try {
      this.sock = underlayAddon().open(raw ? KIND_RAW : KIND_UDP, raw ? IPPROTO_GRE : c.dstPort, c.localIp, (n) => this.onBatch(n));
    } catch (err) {
      const where = raw ? `a raw IP socket (protocol ${IPPROTO_GRE})` : `UDP port ${c.dstPort}`;
      throw new PortError(`cannot open ${where} on ${c.localIp === 0 ? 'any address' : numberToIpv4(c.localIp)}: ${(err as Error).message}`);
    }
    this.slots = new Uint8Array(this.sock.slots);
    this.meta = new Uint32Array(this.sock.meta);
    this.tx = new Uint8Array(this.sock.tx);
    this.txMeta = new Uint32Array(this.sock.txMeta);
    this.txStatus = new Int32Array(this.sock.txStatus);
    this.txSlots = this.txStatus.length;
    this.txInPort = new Int32Array(this.txSlots);
  }

  /** The endpoint for `c` (opened now if it is the first port of its kind and address). */
  static acquire(port: TunnelReceiver): Endpoint {
    const c = port.config;
    const key = endpointKey(c);
    let ep = endpoints.get(key);
    if (ep !== undefined && ep.kind !== c.kind)
      throw new PortError(`port ${port.name}: UDP port ${c.dstPort} is already used by ${ep.kind} tunnels`);
    if (ep === undefined) {
      ep = new Endpoint(key, c);
      endpoints.set(key, ep);
    }
    try {
      ep.attach(port);
    } catch (err) {
      if (ep.ports.size === 0) ep.close();
      throw err;
    }
    return ep;
  }

  /** How many tunnel ports it serves now. */
  get portCount(): number {
    return this.ports.size;
  }

  /** Every open endpoint (for status and tests). */
  static all(): Endpoint[] {
    return [...endpoints.values()];
  }

  /** Whether a port with this configuration would clash with an open one (same endpoint, remote and key). */
  static clash(c: TunnelConfig): string | undefined {
    return endpoints.get(endpointKey(c))?.ports.get(tunnelKey(c.remoteIp, c.key))?.name;
  }

  private attach(port: TunnelReceiver): void {
    const c = port.config;
    const k = tunnelKey(c.remoteIp, c.key);
    const other = this.ports.get(k);
    if (other !== undefined)
      throw new PortError(`port ${port.name}: ${c.kind} tunnel to ${c.remoteText} with key ${c.key} already exists as port ${other.name}`);
    this.ports.set(k, port);
    this.remotes.set(c.remoteIp, (this.remotes.get(c.remoteIp) ?? 0) + 1);
  }

  /** Takes a port off; the endpoint closes with its last port. */
  release(port: TunnelReceiver): void {
    const c = port.config;
    const k = tunnelKey(c.remoteIp, c.key);
    if (this.ports.get(k) !== port) return;
    this.ports.delete(k);
    const n = (this.remotes.get(c.remoteIp) ?? 1) - 1;
    if (n === 0) this.remotes.delete(c.remoteIp);
    else this.remotes.set(c.remoteIp, n);
    if (this.ports.size === 0) this.close();
  }

  /**
   * Stages `port`'s packet for `frame` (its tunnel header and the frame) to the port's remote,
   * with the outer header's `tos` and `ttl` and the port's DF and checksum settings; it leaves
   * with the next flush (see the top of this file). `inPort`: the input port of the frame being
   * forwarded, handed back with a refusal; `oam`: the Geneve header's O bit (codec.ts).
   */
  stage(port: TunnelReceiver, frame: Uint8Array, tos: number, ttl: number, inPort: number, oam = false): void {
    const c = port.config;
    const len = headerLength(c) + frame.length;
    if (this.txCount === this.txSlots || this.txUsed + len > this.tx.length) this.flush();
    const slot = this.txCount;
    const at = this.txUsed;
    encapsulate(c, frame, this.tx, at, oam);
    this.txInPort[slot] = inPort;
    const m = slot * TX_META_WORDS;
    const meta = this.txMeta;
    meta[m] = at;
    meta[m + 1] = len;
    meta[m + 2] = c.remoteIp;
    meta[m + 3] = (tos & 0xff) | ((ttl & 0xff) << 8) | (c.df ? TX_OPT_DF : 0) | (c.csum ? TX_OPT_CSUM : 0);
    this.txFrom[slot] = port;
    this.txCount = slot + 1;
    this.txUsed = at + len;
    if (slot === 0) noteStaged(this);
  }

  /** Sends every staged packet now (one sendmmsg); each one the kernel refuses goes back to its port. */
  flush(): void {
    const count = this.txCount;
    if (count === 0 || this.closed) return;
    this.txCount = 0;
    this.txUsed = 0;
    this.flushes++;
    if (underlayAddon().flush(this.sock, count) === count) return;
    const meta = this.txMeta;
    for (let i = 0, m = 0; i < count; i++, m += TX_META_WORDS) {
      const errno = this.txStatus[i] as number;
      if (errno === 0) continue;
      const port = this.txFrom[i] as TunnelReceiver;
      const at = meta[m] as number;
      port.refused(errno, this.tx.subarray(at + headerLength(port.config), at + (meta[m + 1] as number)), this.txInPort[i] as number);
    }
  }

  /** Sends `port`'s packet for `frame` at once, after what is staged: 0, or the errno the kernel refused it with. */
  sendNow(port: TunnelReceiver, frame: Uint8Array, tos: number, ttl: number, oam = false): number {
    this.flush();
    this.stage(port, frame, tos, ttl, -1, oam);
    this.txCount = 0;
    this.txUsed = 0;
    this.flushes++;
    return underlayAddon().flush(this.sock, 1) === 1 ? 0 : (this.txStatus[0] as number);
  }

  private close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    if (endpoints.get(this.key) === this) endpoints.delete(this.key);
    underlayAddon().close(this.sock);
  }

  /** Packets [0, count) of the shared slots: decoded and handed to their ports. */
  private onBatch(count: number): void {
    enterBatch(); // what the frames' forwarding stages leaves when the batch is done
    try {
      this.receiveBatch(count);
    } finally {
      leaveBatch();
    }
  }

  private receiveBatch(count: number): void {
    const meta = this.meta;
    for (let i = 0, m = 0; i < count && !this.closed; i++, m += META_WORDS) {
      const offset = meta[m] as number;
      let packet = this.slots.subarray(offset, offset + (meta[m + 1] as number));
      const src = meta[m + 2] as number;
      if (this.kind === 'gre') {
        const start = ipv4PayloadOffset(packet);
        if (start < 0) {
          this.malformed++;
          continue;
        }
        if (this.localIp === 0 && this.boundElsewhere(packet)) continue;
        packet = packet.subarray(start);
      }
      this.receive(packet, src);
    }
  }

  /** A raw packet whose destination address a GRE endpoint of its own is bound to. */
  private boundElsewhere(ip: Uint8Array): boolean {
    if (endpoints.size === 1) return false;
    const dst = (((ip[16] as number) << 24) | ((ip[17] as number) << 16) | ((ip[18] as number) << 8) | (ip[19] as number)) >>> 0;
    return endpoints.has(`gre/${dst}`);
  }

  private receive(packet: Uint8Array, src: number): void {
    const d = this.decoded;
    if (!decapsulate(this.kind, packet, d)) {
      this.malformed++;
      return;
    }
    const frame = packet.subarray(d.frameOffset);
    const port = this.ports.get(tunnelKey(src, d.key));
    if (port !== undefined) {
      port.deliver(frame);
      return;
    }
    const first = this.ports.values().next().value as TunnelReceiver | undefined;
    if (this.remotes.has(src)) {
      this.unknownKey++;
      first?.reportDrop(DROP_REASON.TUNNEL_UNKNOWN_KEY, frame, d.key | 0);
    } else {
      this.unknownRemote++;
      first?.reportDrop(DROP_REASON.TUNNEL_UNKNOWN_REMOTE, frame, src | 0);
    }
  }
}
