/**
 * The wire fuzzer: mutated OpenFlow 1.0 messages sent to a running switch over real TCP
 * connections, through its framer, decoder, validation and handlers.
 *
 * Each fuzzing session is one connection: a HELLO (usually valid; sometimes damaged or missing),
 * a few mutated corpus messages (bit flips, lying lengths, truncations, splices, random versions
 * and types, huge lengths: mutate.ts), then -- so that every session has a known end -- filler
 * that completes a message left partial, and a sentinel ECHO_REQUEST of a unique xid. The bytes
 * go out whole, in random chunks, or one byte at a time with pauses. What must follow, within
 * `replyBoundMs` of the last byte, is decided by reading the stream as the spec frames it:
 * - a length field below 8, or a first message that is no acceptable HELLO: the switch closes
 *   the connection (after HELLO_FAILED for a bad HELLO);
 * - otherwise: the sentinel's ECHO_REPLY, the connection still open (every message before it
 *   processed, in order: nothing hung).
 * Everything the switch sends must decode; every OFPT_ERROR must carry a real type/code pair and
 * the xid of a message we sent; an NXBRC_UNENCODABLE_ERROR (ofswitch's answer to an internal
 * exception, protocol/errors.ts internalError) is a finding.
 *
 * Beside the sessions: connection churn (connect and leave at once, or after part of a HELLO),
 * and a well-behaved monitor connection sending an ECHO_REQUEST every `echoIntervalMs`, each of
 * which must be answered within `echoBoundMs` (latencies recorded).
 *
 * Findings carry the session's bytes (hex), ready to be saved in test/fuzz-corpus/.
 */
import { connect, type Socket } from 'node:net';
import { decodeMessage, negotiateVersion, NXBRC_UNENCODABLE_ERROR, NXET_VENDOR, OFP_ERROR_CODES, OFPET, OFPT } from '../../protocol/index.js';
import { mutant, Rng, splitMessages } from './mutate.js';

export interface FuzzTarget {
  readonly host: string;
  readonly port: number;
}

export interface FuzzOptions {
  readonly target: FuzzTarget;
  readonly seed: number;
  /** Stop starting sessions after this long (ms). */
  readonly durationMs: number;
  /** Corpus messages to mutate. */
  readonly corpus: readonly Uint8Array[];
  /** Sessions at once. */
  readonly concurrency?: number;
  /** The most mutated messages in one session. */
  readonly maxMessages?: number;
  /** How long after its last byte a session may take to end as expected (ms). */
  readonly replyBoundMs?: number;
  /** Fraction of sessions that only churn connections. */
  readonly churn?: number;
  /** The monitor's echo interval and bound (ms); no monitor when the interval is 0. */
  readonly echoIntervalMs?: number;
  readonly echoBoundMs?: number;
  /** Called with each finding as it is found. */
  readonly onFinding?: (f: Finding) => void;
}

export interface Finding {
  readonly session: number;
  readonly problem: string;
  /** Everything the session sent, hex. */
  readonly sent: string;
  readonly mutations: string;
}

export interface FuzzResult {
  readonly sessions: number;
  readonly churned: number;
  readonly messages: number;
  readonly bytesSent: number;
  readonly errorsReceived: number;
  readonly closedBySwitch: number;
  readonly findings: Finding[];
  readonly echo: { readonly sent: number; readonly answered: number; readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number };
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const HELLO = Uint8Array.from([1, OFPT.HELLO, 0, 8, 0, 0, 0, 1]);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function echoRequest(xid: number): Uint8Array {
  const b = Buffer.alloc(8);
  b[0] = 1;
  b[1] = OFPT.ECHO_REQUEST;
  b.writeUInt16BE(8, 2);
  b.writeUInt32BE(xid >>> 0, 4);
  return b;
}

/** How the switch must end a session whose bytes are `stream` (the spec's framing of them). */
export function expectedEnd(stream: Uint8Array): 'close' | 'echo' {
  let off = 0;
  let first = true;
  while (stream.length - off >= 8) {
    const len = ((stream[off + 2] ?? 0) << 8) | (stream[off + 3] ?? 0);
    if (len < 8) return 'close'; // framing error
    if (first) {
      const version = stream[off] ?? 0;
      const body = stream.subarray(off + 8, off + len);
      if (stream[off + 1] !== OFPT.HELLO || negotiateVersion({ version, type: OFPT.HELLO, xid: 0, body }) === null) return 'close';
      first = false;
    }
    off += len;
  }
  return 'echo';
}

/** Bytes that complete a message left partial at the end of `stream` (none when it ends between messages). */
export function filler(stream: Uint8Array): Uint8Array {
  let off = 0;
  while (stream.length - off >= 8) {
    const len = ((stream[off + 2] ?? 0) << 8) | (stream[off + 3] ?? 0);
    if (len < 8) return new Uint8Array(0); // the switch closes; nothing to complete
    if (stream.length - off < len) return new Uint8Array(len - (stream.length - off));
    off += len;
  }
  const rest = stream.length - off;
  if (rest === 0) return new Uint8Array(0);
  // a header cut short: complete it as a message of 8 bytes unless its length bytes are there
  const head = new Uint8Array(8);
  head.set(stream.subarray(off));
  if (rest < 3) head[2] = 0;
  if (rest < 4) head[3] = 8;
  const len = ((head[2] ?? 0) << 8) | (head[3] ?? 0);
  return len < 8 ? head.subarray(rest) : new Uint8Array(len - rest).map((_, i) => (i < 8 - rest ? (head[rest + i] ?? 0) : 0));
}

/** Why a message from the switch is wrong, or null. */
function badReply(msg: Uint8Array, sentXids: ReadonlySet<number>): string | null {
  // Open vSwitch answers a failed version negotiation with HELLO_FAILED in the peer's version
  if (msg[0] !== 1 && msg[1] === OFPT.ERROR && msg.length >= 10 && msg[8] === 0 && msg[9] === OFPET.HELLO_FAILED) return null;
  const decoded = decodeMessage(msg);
  if (!decoded.ok) return `the switch sent a message that does not decode (${decoded.reason}): ${hex(msg)}`;
  const m = decoded.message;
  if (m.type !== OFPT.ERROR) return null;
  if (m.errorType === NXET_VENDOR) {
    // a Nicira extension error; NXBRC_UNENCODABLE_ERROR is ofswitch's answer to an exception (OVS's to an error it cannot encode)
    const inner = m.data.length >= 8 ? (m.data[6] ?? 0) * 256 + (m.data[7] ?? 0) : -1;
    return inner === NXBRC_UNENCODABLE_ERROR ? `internal error reported on the wire: ${hex(msg)}` : null;
  }
  const codes = (OFP_ERROR_CODES as Record<number, Record<string, number> | undefined>)[m.errorType];
  if (!codes || !Object.values(codes).includes(m.code)) return `error with no such type/code ${m.errorType}/${m.code}`;
  if (!sentXids.has(m.xid)) return `error for xid ${m.xid}, which no message sent had`;
  if (m.errorType !== OFPET.HELLO_FAILED && m.data.length === 0) return 'error without the offending bytes';
  return null;
}

/** Reads a connection: messages framed, close noticed. */
class Reader {
  readonly messages: Uint8Array[] = [];
  closed = false;
  private buf = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  /** Called with each message as it arrives. */
  onMessage: ((m: Uint8Array) => void) | null = null;

  constructor(socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      const msgs = splitMessages(this.buf);
      const used = msgs.reduce((n, m) => n + m.length, 0);
      for (const m of msgs) {
        const copy = Uint8Array.from(m);
        this.messages.push(copy);
        this.onMessage?.(copy);
      }
      this.buf = this.buf.subarray(used);
      this.poke();
    });
    const closed = (): void => {
      this.closed = true;
      this.poke();
    };
    socket.on('close', closed);
    socket.on('error', closed);
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** Resolves when `done()` holds or after `ms`; whether it held. */
  async until(done: () => boolean, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((r) => {
        const timer = setTimeout(r, left);
        this.wake = () => {
          clearTimeout(timer);
          r();
        };
      });
    }
    return true;
  }
}

function open(target: FuzzTarget): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(target.port, target.host);
    s.setNoDelay(true);
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

function write(s: Socket, b: Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    if (s.destroyed) return resolve();
    s.write(b, () => resolve());
  });
}

/** Sends `stream` whole, in random chunks, or byte by byte with pauses. */
type Delivery = 'whole' | 'chunks' | 'bytes';
async function deliver(rng: Rng, s: Socket, stream: Uint8Array, forced?: Delivery): Promise<void> {
  const mode = forced ?? (stream.length <= 300 && rng.chance(0.1) ? 'bytes' : rng.chance(0.5) ? 'chunks' : 'whole');
  if (mode === 'whole') return write(s, stream);
  let off = 0;
  while (off < stream.length && !s.destroyed) {
    const n = mode === 'bytes' ? 1 : 1 + rng.int(Math.max(64, stream.length >> 3));
    await write(s, stream.subarray(off, off + n));
    off += n;
    if (mode === 'bytes' ? rng.chance(0.2) : rng.chance(0.3)) await sleep(rng.int(3));
  }
}

/** What sessions add up. */
interface Tally {
  bytesSent: number;
  errorsReceived: number;
  closedBySwitch: number;
}

/**
 * One session's exchange: `body` (HELLO included, or not) completed by filler and the sentinel
 * echo of `sentinelXid`, delivered as `rng` picks; each problem reported with the bytes sent.
 */
async function exchange(
  target: FuzzTarget,
  rng: Rng,
  body: Uint8Array,
  sentinelXid: number,
  replyBoundMs: number,
  tally: Tally,
  problem: (text: string, sent: string) => void,
  delivery?: Delivery,
): Promise<void> {
  const stream = Buffer.concat([body, filler(body), echoRequest(sentinelXid)]);
  const expect = expectedEnd(stream);
  const sentXids = new Set<number>();
  for (let off = 0; stream.length - off >= 8; ) {
    sentXids.add(stream.readUInt32BE(off + 4));
    const len = stream.readUInt16BE(off + 2);
    if (len < 8) break;
    off += len;
  }
  const report = (text: string): void => problem(text, hex(stream));
  let s: Socket;
  try {
    s = await open(target);
  } catch (err) {
    return report(`cannot connect: ${(err as Error).message}`);
  }
  const reader = new Reader(s);
  tally.bytesSent += stream.length;
  await deliver(rng, s, stream, delivery);
  const echoed = (): boolean => reader.messages.some((m) => m[1] === OFPT.ECHO_REPLY && Buffer.from(m).readUInt32BE(4) === sentinelXid);
  const ended = await reader.until(() => reader.closed || (expect === 'echo' && echoed()), replyBoundMs);
  if (!ended) report(expect === 'echo' ? `no reply to the sentinel echo within ${replyBoundMs} ms: hung` : `connection not closed within ${replyBoundMs} ms`);
  else if (expect === 'echo' && !echoed()) report('the switch closed a connection that should have stayed open');
  if (reader.closed) tally.closedBySwitch++;
  for (const m of reader.messages) {
    if (m[1] === OFPT.ERROR) tally.errorsReceived++;
    const bad = badReply(m, sentXids);
    if (bad) report(bad);
  }
  s.destroy();
}

/**
 * Replays `bytes` (a corpus file: messages as sent, HELLO included or not) as one session,
 * delivered whole and then byte by byte; the problems found.
 */
export async function replay(target: FuzzTarget, bytes: Uint8Array, replyBoundMs = 5000): Promise<string[]> {
  const problems: string[] = [];
  const tally = { bytesSent: 0, errorsReceived: 0, closedBySwitch: 0 };
  const modes: Delivery[] = ['whole', bytes.length <= 2000 ? 'bytes' : 'chunks'];
  for (const [i, mode] of modes.entries()) {
    await exchange(target, new Rng(i + 1), bytes, 0x7f000000 + i, replyBoundMs, tally, (text) => problems.push(`${mode}: ${text}`), mode);
  }
  return problems;
}

/** Runs the fuzzer until `durationMs` has passed and every session has ended. */
export async function fuzzWire(options: FuzzOptions): Promise<FuzzResult> {
  const { target, corpus } = options;
  const concurrency = options.concurrency ?? 4;
  const maxMessages = options.maxMessages ?? 8;
  const replyBoundMs = options.replyBoundMs ?? 5000;
  const churn = options.churn ?? 0.1;
  const echoIntervalMs = options.echoIntervalMs ?? 100;
  const echoBoundMs = options.echoBoundMs ?? 2000;
  const findings: Finding[] = [];
  const found = (f: Finding): void => {
    findings.push(f);
    options.onFinding?.(f);
  };
  const stats = { sessions: 0, churned: 0, messages: 0, bytesSent: 0, errorsReceived: 0, closedBySwitch: 0 };
  const end = Date.now() + options.durationMs;
  let nextSession = 0;
  let xidBase = 0x1000;

  const monitor = echoIntervalMs > 0 ? await startMonitor(target, echoIntervalMs, echoBoundMs, found) : null;

  async function session(id: number): Promise<void> {
    const rng = new Rng((options.seed ^ Math.imul(id + 1, 0x9e3779b1)) >>> 0);
    if (rng.chance(churn)) {
      stats.churned++;
      const s = await open(target);
      if (rng.chance(0.5)) await write(s, HELLO.subarray(0, 1 + rng.int(7)));
      s.destroy();
      return;
    }
    stats.sessions++;
    const parts: Uint8Array[] = [];
    const hows: string[] = [];
    const helloKind = rng.int(20);
    if (helloKind >= 2) parts.push(HELLO);
    else if (helloKind === 1) {
      const m = mutant(rng, [HELLO]);
      parts.push(m.bytes);
      hows.push(`hello:${m.how}`);
    }
    const n = 1 + rng.int(maxMessages);
    for (let i = 0; i < n; i++) {
      const m = mutant(rng, corpus);
      const b = Uint8Array.from(m.bytes);
      if (b.length >= 8 && rng.chance(0.9)) Buffer.from(b.buffer, b.byteOffset, b.byteLength).writeUInt32BE((xidBase++ & 0x7fffffff) >>> 0, 4);
      parts.push(b);
      hows.push(m.how);
    }
    stats.messages += n;
    await exchange(options.target, rng, Buffer.concat(parts), (0x80000000 | id) >>> 0, replyBoundMs, stats, (text, sent) =>
      found({ session: id, problem: text, sent, mutations: hows.join(' ') }),
    );
  }

  const workers = Array.from({ length: concurrency }, async () => {
    while (Date.now() < end) {
      try {
        await session(nextSession++);
      } catch (err) {
        found({ session: nextSession, problem: `the fuzzer failed: ${(err as Error).stack ?? String(err)}`, sent: '', mutations: '' });
      }
    }
  });
  await Promise.all(workers);
  const echo = monitor ? await monitor.stop() : { sent: 0, answered: 0, p50Ms: 0, p99Ms: 0, maxMs: 0 };
  return { ...stats, findings, echo };
}

/** The well-behaved connection: an echo every interval, each answered within the bound. */
async function startMonitor(target: FuzzTarget, intervalMs: number, boundMs: number, found: (f: Finding) => void) {
  const s = await open(target);
  const reader = new Reader(s);
  await write(s, HELLO);
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  let xid = 1;
  let sent = 0;
  reader.onMessage = (msg) => {
    const m = Buffer.from(msg);
    const at = m[1] === OFPT.ECHO_REPLY ? sentAt.get(m.readUInt32BE(4)) : undefined;
    if (at === undefined) return;
    latencies.push(performance.now() - at);
    sentAt.delete(m.readUInt32BE(4));
  };
  const check = (): void => {
    for (const [x, at] of sentAt) {
      if (performance.now() - at > boundMs) {
        found({ session: -1, problem: `monitor echo xid ${x} unanswered after ${boundMs} ms`, sent: '', mutations: '' });
        sentAt.delete(x);
      }
    }
  };
  const timer = setInterval(() => {
    check();
    if (reader.closed) return;
    sentAt.set(xid, performance.now());
    sent++;
    s.write(echoRequest(xid++));
  }, intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await reader.until(() => (check(), sentAt.size === 0), boundMs);
      check();
      if (reader.closed) found({ session: -1, problem: 'the switch closed the monitor connection', sent: '', mutations: '' });
      s.destroy();
      const sorted = [...latencies].sort((a, b) => a - b);
      const q = (p: number): number => Math.round((sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0) * 100) / 100;
      return { sent, answered: latencies.length, p50Ms: q(0.5), p99Ms: q(0.99), maxMs: q(1) };
    },
  };
}
