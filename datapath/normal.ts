/**
 * NORMAL: a classic MAC-learning Ethernet bridge with 802.1Q VLANs, for the OFPP_NORMAL output.
 *
 * Every frame belongs to one VLAN: an access port's (`tag`) for frames arriving on it (which must
 * arrive untagged), otherwise the frame's own VID, 0 when untagged. A port with `trunks` accepts and
 * sends only those VLANs; a port with neither carries every VLAN as it comes.
 *
 * The bridge learns each source MAC per VLAN on its input port (a host that moves moves with it),
 * forgets an entry after `agingMs` without traffic (300 s), sends a frame to a known unicast
 * destination's port, and floods broadcast, multicast and unknown destinations to every other
 * port of the VLAN that allows flooding. Nothing goes back out of its input port. On the way out
 * a frame is untagged for access ports and for VLAN 0, and tagged with its VLAN otherwise.
 */
import { ETH_HEADER_LEN, ETH_TYPE, VLAN_HEADER_LEN } from '../protocol/constants.js';
import type { FrameLayout } from './frame-parser.js';

export const MAC_AGING_MS = 300_000;

/** What the bridge needs to know of a port. */
export interface BridgePort {
  readonly portNo: number;
  /** Access port: the VLAN of its untagged frames. */
  readonly tag: number | undefined;
  /** Trunk port: the only VLANs it carries. */
  readonly trunks: ReadonlySet<number> | undefined;
  /** False for ports with OFPPC_NO_FLOOD. */
  readonly floods: boolean;
}

interface MacEntry {
  port: number;
  seen: number;
}

export interface LearningBridgeOptions {
  /** Milliseconds clock (injected by tests). */
  now?: () => number;
  agingMs?: number;
}

export class LearningBridge {
  private readonly now: () => number;
  private readonly agingMs: number;
  /** VLAN -> MAC (48-bit number) -> where it was last seen. */
  private readonly tables = new Map<number, Map<number, MacEntry>>();
  private learned = 0;

  constructor(opts: LearningBridgeOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.agingMs = opts.agingMs ?? MAC_AGING_MS;
  }

  /**
   * Forwards `frame`, received on `inPort`, to the ports it should reach among `ports`, calling
   * `send` for each (the frame passed is valid only during the call). `learn` false: a frame
   * from no real port (a PACKET_OUT from the controller) teaches nothing.
   */
  process(
    frame: Uint8Array,
    layout: FrameLayout,
    inPort: BridgePort,
    ports: Iterable<BridgePort>,
    send: (port: BridgePort, frame: Uint8Array) => void,
    learn = true,
  ): void {
    if (frame.length < ETH_HEADER_LEN) return;
    const tagged = layout.vlanOffset >= 0;
    let vlan: number;
    if (inPort.tag !== undefined) {
      if (tagged) return; // tagged frames are not accepted on an access port
      vlan = inPort.tag;
    } else {
      vlan = tagged ? (((frame[14] as number) << 8) | (frame[15] as number)) & 0x0fff : 0;
      if (inPort.trunks && !inPort.trunks.has(vlan)) return;
    }

    const now = this.now();
    const src = macAt(frame, 6);
    if (learn && ((frame[6] as number) & 1) === 0) this.learn(vlan, src, inPort.portNo, now);

    let target: number | undefined;
    if (((frame[0] as number) & 1) === 0) {
      const e = this.tables.get(vlan)?.get(macAt(frame, 0));
      if (e && now - e.seen < this.agingMs) target = e.port;
    }
    if (target === inPort.portNo) return;

    let untagged: Uint8Array | undefined;
    let withTag: Uint8Array | undefined;
    for (const p of ports) {
      if (p.portNo === inPort.portNo) continue;
      if (target !== undefined ? p.portNo !== target : !p.floods) continue;
      let wantTag: boolean;
      if (p.tag !== undefined) {
        if (p.tag !== vlan) continue;
        wantTag = false;
      } else {
        if (p.trunks && !p.trunks.has(vlan)) continue;
        wantTag = vlan !== 0;
      }
      if (wantTag) send(p, (withTag ??= tagFrame(frame, tagged, vlan)));
      else send(p, (untagged ??= untagFrame(frame, tagged)));
    }
  }

  /** The port a MAC was last seen on in a VLAN, if not aged out. */
  lookup(vlan: number, mac: number): number | undefined {
    const e = this.tables.get(vlan)?.get(mac);
    return e && this.now() - e.seen < this.agingMs ? e.port : undefined;
  }

  /** Every live entry (aged ones left out), VLAN by VLAN: what `ovs-appctl fdb/show` lists. */
  entries(): { port: number; vlan: number; mac: number; ageMs: number }[] {
    const now = this.now();
    const out: { port: number; vlan: number; mac: number; ageMs: number }[] = [];
    for (const [vlan, table] of this.tables) {
      for (const [mac, e] of table) if (now - e.seen < this.agingMs) out.push({ port: e.port, vlan, mac, ageMs: now - e.seen });
    }
    return out;
  }

  /** Forgets every address learned on a port (when the port goes away). */
  forgetPort(portNo: number): void {
    for (const table of this.tables.values()) {
      for (const [mac, e] of table) if (e.port === portNo) table.delete(mac);
    }
  }

  /** Forgets every address (`ovs-appctl fdb/flush`). */
  flush(): void {
    this.tables.clear();
  }

  /** Number of entries held (aged ones included until swept). */
  get size(): number {
    let n = 0;
    for (const t of this.tables.values()) n += t.size;
    return n;
  }

  private learn(vlan: number, mac: number, port: number, now: number): void {
    let table = this.tables.get(vlan);
    if (!table) this.tables.set(vlan, (table = new Map()));
    const e = table.get(mac);
    if (e) {
      e.port = port;
      e.seen = now;
      return;
    }
    table.set(mac, { port, seen: now });
    if (++this.learned % 1024 === 0) this.sweep(now);
  }

  /** Drops aged entries. */
  sweep(now = this.now()): void {
    for (const [vlan, table] of this.tables) {
      for (const [mac, e] of table) if (now - e.seen >= this.agingMs) table.delete(mac);
      if (table.size === 0) this.tables.delete(vlan);
    }
  }
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

/** The frame tagged with `vlan` (keeping an existing tag's priority). */
function tagFrame(f: Uint8Array, tagged: boolean, vlan: number): Uint8Array {
  if (tagged) {
    const tci = ((f[14] as number) << 8) | (f[15] as number);
    if ((tci & 0x0fff) === vlan) return f;
    const out = f.slice();
    const next = (tci & 0xf000) | vlan;
    out[14] = next >>> 8;
    out[15] = next & 0xff;
    return out;
  }
  const out = new Uint8Array(f.length + VLAN_HEADER_LEN);
  out.set(f.subarray(0, 12));
  out[12] = ETH_TYPE.VLAN >>> 8;
  out[13] = ETH_TYPE.VLAN & 0xff;
  out[14] = vlan >>> 8;
  out[15] = vlan & 0xff;
  out.set(f.subarray(12), 16);
  return out;
}
