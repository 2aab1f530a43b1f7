/**
 * RawPort: a Linux interface as a datapath port, through libpcap (the `cap` binding).
 *
 * libpcap gives what the switch needs of an AF_PACKET socket: promiscuous mode, a TPACKET_V3
 * receive ring, 802.1Q tags put back into the frame (the kernel strips them into metadata), and
 * the `inbound` filter (the kernel's packet type, so the switch never reads back its own
 * transmissions). The link (admin state, carrier, MAC, speed) is read from /sys/class/net.
 *
 * Received frames are views of one receive buffer, valid until the next frame arrives.
 *
 * A limit of `cap`: when the interface goes down or disappears under an open handle, the kernel
 * flags an error on the socket and cap aborts the process (an assertion in its poll callback). So
 * the handle is closed before PORT_DOWN takes the interface down and opened again when it is up,
 * and an interface that is down when the port is added is opened once it comes up. An operator
 * taking a port down or deleting it behind the switch's back still hits that assertion: the fix is
 * a receive path of our own (see the datapath report).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import type { LinkInfo, NetPort } from './port.js';

interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  send(buffer: Uint8Array, size: number): void;
  close(): void;
  on(event: 'packet', listener: (nbytes: number, truncated: boolean) => void): void;
}
const require = createRequire(import.meta.url);
const { Cap } = require('cap') as { Cap: new () => CapHandle };
const execFileAsync = promisify(execFile);

/** Kernel buffer of the receive ring. */
const RING_BYTES = 8 * 1024 * 1024;
/** Largest frame read (libpcap's snap length in cap). */
const MAX_FRAME = 65536;
const IFF_UP = 0x1;

export class RawPort implements NetPort {
  readonly name: string;
  private cap: CapHandle | undefined;
  private onFrame: ((frame: Uint8Array) => void) | undefined;
  private readonly buffer = Buffer.alloc(MAX_FRAME);

  constructor(name: string) {
    this.name = name;
  }

  open(onFrame: (frame: Uint8Array) => void): void {
    this.onFrame = onFrame;
    if (this.adminUp()) this.openHandle(onFrame);
  }

  private openHandle(onFrame: (frame: Uint8Array) => void): void {
    this.closeHandle();
    const cap = new Cap();
    const linkType = cap.open(this.name, 'inbound', RING_BYTES, this.buffer);
    if (linkType !== 'ETHERNET') {
      cap.close();
      throw new Error(`${this.name}: not an Ethernet interface (${linkType})`);
    }
    const buf = this.buffer;
    cap.on('packet', (nbytes) => onFrame(buf.subarray(0, nbytes)));
    this.cap = cap;
  }

  send(frame: Uint8Array): void {
    if (!this.cap) throw new Error(`${this.name} is closed`);
    this.cap.send(frame, frame.length);
  }

  private adminUp(): boolean {
    return (parseInt(readSys(this.name, 'flags') ?? '0', 16) & IFF_UP) !== 0;
  }

  readLink(): LinkInfo {
    const adminUp = this.adminUp();
    const speed = parseInt(readSys(this.name, 'speed') ?? '0', 10);
    if (adminUp && !this.cap && this.onFrame) {
      try {
        this.openHandle(this.onFrame); // came up: start receiving
      } catch {
        /* not ready yet: next poll */
      }
    }
    return {
      adminUp,
      carrier: readSys(this.name, 'carrier') === '1',
      hwAddr: readSys(this.name, 'address') ?? '00:00:00:00:00:00',
      speedMbps: speed > 0 ? speed : 0,
    };
  }

  async setAdminUp(up: boolean): Promise<void> {
    if (!up) this.closeHandle();
    await execFileAsync('ip', ['link', 'set', 'dev', this.name, up ? 'up' : 'down']);
    if (up) this.readLink();
  }

  close(): void {
    this.onFrame = undefined;
    this.closeHandle();
  }

  private closeHandle(): void {
    this.cap?.close();
    this.cap = undefined;
  }
}

/** A /sys/class/net attribute, trimmed; undefined when unreadable (e.g. carrier of a down link). */
function readSys(name: string, attr: string): string | undefined {
  try {
    return readFileSync(`/sys/class/net/${name}/${attr}`, 'latin1').trim();
  } catch {
    return undefined;
  }
}
