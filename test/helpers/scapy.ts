/**
 * scapy's OpenFlow 1.0 module (scapy.contrib.openflow, Debian's /usr/bin/python3) as a peer.
 *
 * One long-lived python process per test file runs test/protocol/peers/scapy_of10.py; requests
 * and answers are JSON lines, answered in order, so many dissections cost one scapy start-up.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../protocol/peers/scapy_of10.py', import.meta.url));

/** A scapy field value as the service reports it. */
export type ScapyValue = number | string | null | { readonly hex: string } | ScapyLayer | readonly ScapyValue[];

/** One dissected layer: its class, its fields and what follows it. */
export interface ScapyLayer {
  readonly cls: string;
  readonly fields: Readonly<Record<string, ScapyValue>>;
  readonly payload: ScapyLayer | null;
  /** The bytes this layer was dissected from, its payload included, as hex. */
  readonly raw: string;
}

/** What to build: a scapy class, its fields (nested specs have a `cls`), raw bytes after it. */
export interface ScapySpec {
  readonly cls: string;
  readonly fields?: Readonly<Record<string, unknown>>;
  readonly load?: string;
}

interface Reply {
  readonly ok: boolean;
  readonly error?: string;
  readonly tree?: ScapyLayer;
  readonly hex?: string;
}

export class ScapyPeer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: Array<{ resolve: (r: Reply) => void; reject: (e: Error) => void }> = [];
  private stderr = '';

  constructor() {
    this.child = spawn('/usr/bin/python3', [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      this.waiting.shift()?.resolve(JSON.parse(line) as Reply);
    });
    this.child.on('exit', (code) => {
      for (const w of this.waiting.splice(0)) w.reject(new Error(`scapy exited ${code}: ${this.stderr}`));
    });
  }

  private request(req: object): Promise<Reply> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.child.stdin.write(JSON.stringify(req) + '\n');
    });
  }

  /** scapy's dissection of one OpenFlow message (scapy's `OpenFlow(bytes)`). */
  async dissect(bytes: Uint8Array): Promise<ScapyLayer> {
    const reply = await this.request({ op: 'dissect', hex: Buffer.from(bytes).toString('hex') });
    if (!reply.ok || !reply.tree) throw new Error(`scapy could not dissect: ${reply.error}`);
    return reply.tree;
  }

  /** The bytes scapy builds for a spec. */
  async build(spec: ScapySpec): Promise<Buffer> {
    const reply = await this.request({ op: 'build', spec });
    if (!reply.ok || reply.hex === undefined) throw new Error(`scapy could not build ${spec.cls}: ${reply.error}`);
    return Buffer.from(reply.hex, 'hex');
  }

  close(): void {
    this.child.stdin.end();
  }
}

// ---- reading dissections ---------------------------------------------------------------------------

export function isLayer(v: ScapyValue | undefined): v is ScapyLayer {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'cls' in v;
}

/** A numeric field (64-bit fields come as decimal strings) as a number. */
export function num(layer: ScapyLayer, name: string): number {
  const v = layer.fields[name];
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  throw new Error(`${layer.cls}.${name} is not a number: ${JSON.stringify(v)}`);
}

/** A numeric field as a bigint (for 64-bit counters and cookies). */
export function big(layer: ScapyLayer, name: string): bigint {
  const v = layer.fields[name];
  if (typeof v === 'number' || (typeof v === 'string' && /^\d+$/.test(v))) return BigInt(v);
  throw new Error(`${layer.cls}.${name} is not a number: ${JSON.stringify(v)}`);
}

export function str(layer: ScapyLayer, name: string): string {
  const v = layer.fields[name];
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && 'hex' in v) return Buffer.from(v.hex, 'hex').toString('latin1').replace(/\0+$/, '');
  throw new Error(`${layer.cls}.${name} is not a string: ${JSON.stringify(v)}`);
}

export function sub(layer: ScapyLayer, name: string): ScapyLayer {
  const v = layer.fields[name];
  if (!isLayer(v)) throw new Error(`${layer.cls}.${name} is not a packet: ${JSON.stringify(v)}`);
  return v;
}

export function list(layer: ScapyLayer, name: string): ScapyLayer[] {
  const v = layer.fields[name];
  if (!Array.isArray(v)) throw new Error(`${layer.cls}.${name} is not a list: ${JSON.stringify(v)}`);
  return v.map((x: ScapyValue) => {
    if (!isLayer(x)) throw new Error(`${layer.cls}.${name} holds a non-packet`);
    return x;
  });
}

/** Every layer in a dissection (fields and payloads, depth first), to look for leftovers. */
export function allLayers(layer: ScapyLayer): ScapyLayer[] {
  const out: ScapyLayer[] = [layer];
  const visit = (v: ScapyValue | undefined): void => {
    if (isLayer(v)) out.push(...allLayers(v));
    else if (Array.isArray(v)) for (const x of v) visit(x as ScapyValue);
  };
  for (const v of Object.values(layer.fields)) visit(v);
  if (layer.payload) out.push(...allLayers(layer.payload));
  return out;
}

/** The bytes of all the layer's payloads, concatenated (what scapy did not structure). */
export function payloadBytes(layer: ScapyLayer): Buffer {
  const parts: Buffer[] = [];
  for (let p = layer.payload; p; p = p.payload) {
    const load = p.fields.load;
    if (typeof load === 'object' && load !== null && 'hex' in load) parts.push(Buffer.from(load.hex, 'hex'));
  }
  return Buffer.concat(parts);
}
