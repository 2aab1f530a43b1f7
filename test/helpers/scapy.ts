/**
 * scapy's OpenFlow 1.0 module (scapy.contrib.openflow, Debian's /usr/bin/python3) as a peer.
 *
 * One long-lived python process per test file runs test/protocol/peers/scapy_of10.py; requests
 * and answers are JSON lines, answered in order, so many dissections cost one scapy start-up.
 * If the helper dies (or cannot start, or prints something that is no answer), every pending and
 * later request is rejected at once with the reason and its stderr: a test fails there and then
 * instead of waiting for tap's timeout.
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
  /** Why the helper can answer no more (it exited, could not start, or broke the protocol); null while it can. */
  private dead: Error | null = null;

  /** `script`: the service to run (a test of this class gives another). */
  constructor(script = SCRIPT) {
    this.child = spawn('/usr/bin/python3', [script], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      let reply: Reply;
      try {
        reply = JSON.parse(line) as Reply;
      } catch {
        return this.fail(new Error(`scapy helper printed a line that is not JSON: ${line.slice(0, 200)}`));
      }
      const w = this.waiting.shift();
      if (w) w.resolve(reply);
      else this.fail(new Error(`scapy helper answered nothing that was asked: ${line.slice(0, 200)}`));
    });
    this.child.on('error', (e) => this.fail(new Error(`scapy helper could not run: ${e.message}`)));
    this.child.stdin.on('error', (e) => this.fail(new Error(`scapy helper stopped reading: ${e.message}`)));
    this.child.on('exit', (code, signal) => this.fail(new Error(`scapy helper exited (${signal ?? `status ${code}`}): ${this.stderr.trim()}`)));
  }

  /** The helper's process id (a test kills it to check that pending requests fail at once). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Rejects every pending request, and every later one, with `e` (the first reason is kept). */
  private fail(e: Error): void {
    this.dead ??= e;
    for (const w of this.waiting.splice(0)) w.reject(this.dead);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  private request(req: object): Promise<Reply> {
    if (this.dead) return Promise.reject(this.dead);
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
