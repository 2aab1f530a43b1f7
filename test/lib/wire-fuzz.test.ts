/**
 * The wire fuzzer (bench/fuzz/wire-fuzz.ts) against a switch made with the library API, with two
 * memory ports and a TCP listener, for a bounded time (FUZZ_SECONDS, default 20; FUZZ_SEED):
 * mutated OpenFlow 1.0 messages over real sockets, through the framer, decoder, validation and
 * the agent's handlers.
 *
 * What must hold:
 * - no internal exception: nothing reaches the connection's error path (a log line at level
 *   error, or NXBRC_UNENCODABLE_ERROR on the wire), the process has no uncaught exception or
 *   unhandled rejection, and no port counts a tx error (the datapath's transmit counts a send
 *   that throws as one: the only other catch on the path from a message to a port);
 * - no hang: every session ends as the spec says within the bound (its sentinel echo answered,
 *   or the connection closed for a framing error or a refused HELLO);
 * - every reply decodes, every OFPT_ERROR is a real type/code for a message we sent;
 * - a well-behaved connection beside the fuzzing gets every echo answered (latency reported).
 * Every corpus file (test/fuzz-corpus/*.bin: seeds of every message type, and inputs that once
 * broke or puzzled the switch) is replayed first, whole and byte by byte.
 */
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { loadCorpus, mutant, mutate, MUTATIONS, Rng } from '../../bench/fuzz/mutate.js';
import { expectedEnd, filler, fuzzWire, replay } from '../../bench/fuzz/wire-fuzz.js';
import { createLogger } from '../../lib/log.js';
import { createSwitch } from '../../lib/switch.js';
import { freePort } from '../helpers/free-port.js';
import { encodeMessage, internalError, OFPBRC, OFPET, OFPT, requestError } from '../../protocol/index.js';

const SEED = Number(process.env['FUZZ_SEED'] ?? 20261127);
const SECONDS = Number(process.env['FUZZ_SECONDS'] ?? 20);
const CORPUS_DIR = fileURLToPath(new URL('../fuzz-corpus/', import.meta.url));

const uncaught: unknown[] = [];
process.on('uncaughtException', (err) => uncaught.push(err));
process.on('unhandledRejection', (err) => uncaught.push(err));

async function rig(t: Test) {
  const errorLines: string[] = [];
  let lines = 0;
  const logger = createLogger({
    level: 'info',
    write: (l) => {
      lines++;
      if (l.includes('"level":"error"')) errorLines.push(l);
    },
  });
  const sw = createSwitch({ logger, datapathId: 0xf022n });
  sw.addPort({ name: 'p1', type: 'memory' });
  sw.addPort({ name: 'p2', type: 'memory' });
  const { port } = await sw.addListener('ptcp:0:127.0.0.1');
  t.teardown(() => sw.close());
  return { sw, target: { host: '127.0.0.1', port }, errorLines, lines: () => lines };
}

t.test('the corpus: seeds of every message type, each replayed whole and byte by byte', async (t) => {
  const { files, messages } = loadCorpus(CORPUS_DIR);
  const types = new Set(messages.map((m) => m[1]));
  for (let type = OFPT.HELLO; type <= OFPT.QUEUE_GET_CONFIG_REPLY; type++) t.ok(types.has(type), `a seed of type ${type}`);
  const { target, errorLines } = await rig(t);
  for (const f of files) {
    const bytes = readFileSync(CORPUS_DIR + f);
    const withHello = f.startsWith('seed-') ? Buffer.concat([Buffer.from('0100000800000001', 'hex'), bytes]) : bytes;
    t.same(await replay(target, withHello), [], f);
  }
  t.same(errorLines, [], 'no internal error logged');
});

t.test(`fuzzing for ${SECONDS} s, seed ${SEED}: no internal exception, no hang, every echo answered`, async (t) => {
  const { sw, target, errorLines, lines } = await rig(t);
  const { messages } = loadCorpus(CORPUS_DIR);
  const result = await fuzzWire({ target, seed: SEED, durationMs: SECONDS * 1000, corpus: messages, concurrency: 4, churn: 0.1 });
  for (const f of result.findings.slice(0, 10)) t.comment(`finding: ${f.problem}\n  mutations: ${f.mutations}\n  sent: ${f.sent}`);
  t.equal(result.findings.length, 0, 'no findings');
  t.ok(result.sessions > 50 && result.messages > 200, `${result.sessions} sessions, ${result.churned} churned, ${result.messages} mutated messages, ${result.bytesSent} bytes`);
  t.ok(result.errorsReceived > 0, `${result.errorsReceived} OFPT_ERRORs received, ${result.closedBySwitch} connections closed by the switch`);
  t.ok(result.echo.sent > 0 && result.echo.answered === result.echo.sent, `monitor: ${result.echo.answered}/${result.echo.sent} echoes answered, p50 ${result.echo.p50Ms} ms, p99 ${result.echo.p99Ms} ms, max ${result.echo.maxMs} ms`);
  t.same(errorLines.slice(0, 5), [], 'no internal error logged');
  t.same(uncaught, [], 'no uncaught exception or unhandled rejection');
  // the one catch on the way from a PACKET_OUT to a port counts a send that threw as a tx error
  const tx = sw.ports().map((p) => `${p.name}: ${p.stats.txPackets} sent, ${p.stats.txErrors} errors`);
  t.ok(sw.ports().every((p) => p.stats.txErrors === 0n), `no send threw (${tx.join('; ')})`);
  t.comment(`${lines()} log lines written`);
});

t.test('the fuzzer\'s checks fail when they should: a peer that hangs, closes, reports an internal error, sends garbage', async (t) => {
  const behaviours = ['hang', 'close', 'internal', 'garbage', 'foreign-xid', 'good'] as const;
  let which: (typeof behaviours)[number] = 'good';
  const hello = Buffer.from('0100000800000001', 'hex');
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    const mode = which;
    if (mode === 'close') return void s.end(hello);
    s.write(hello);
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 8 && buf.length >= buf.readUInt16BE(2)) {
        const m = buf.subarray(0, buf.readUInt16BE(2));
        buf = buf.subarray(m.length);
        if (m[1] !== OFPT.ECHO_REQUEST || mode === 'hang') continue;
        if (mode === 'internal') s.write(encodeMessage(internalError(m, 'boom').toMessage()));
        if (mode === 'garbage') s.write(Buffer.from('0105000c0000000000000000', 'hex')); // FEATURES_REQUEST with a body
        if (mode === 'foreign-xid') s.write(encodeMessage(requestError(OFPET.BAD_REQUEST, OFPBRC.BAD_TYPE, Buffer.from('01ff000800000063', 'hex'), 'x').toMessage()));
        s.write(Buffer.concat([Buffer.from([1, OFPT.ECHO_REPLY]), m.subarray(2)]));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const target = { host: '127.0.0.1', port: (server.address() as AddressInfo).port };
  const stream = Buffer.concat([hello, Buffer.from('0102000800000002', 'hex')]);
  const want: Record<string, RegExp> = {
    hang: /no reply to the sentinel echo within 300 ms: hung/,
    close: /closed a connection that should have stayed open/,
    internal: /internal error reported on the wire/,
    garbage: /does not decode/,
    'foreign-xid': /error for xid 99, which no message sent had/,
  };
  for (const b of behaviours) {
    which = b;
    const problems = await replay(target, stream, 300);
    if (b === 'good') t.same(problems, [], 'a well-behaved peer passes');
    else t.match(problems.join('\n'), want[b] as RegExp, `${b}: found`);
  }
  which = 'hang';
  const findings: string[] = [];
  const result = await fuzzWire({ target, seed: 1, durationMs: 200, corpus: [Buffer.from('0102000800000002', 'hex')], concurrency: 1, churn: 0, replyBoundMs: 200, echoIntervalMs: 50, echoBoundMs: 100, onFinding: (f) => findings.push(f.problem) });
  t.ok(result.findings.length > 0 && findings.length === result.findings.length, 'findings reported as found');
  t.match(findings.join('\n'), /monitor echo xid \d+ unanswered after 100 ms/, 'the monitor notices unanswered echoes');
  const closedPort = { host: '127.0.0.1', port: await freePort() };
  t.match((await replay(closedPort, stream, 100)).join('\n'), /cannot connect/, 'a switch not listening: found');
  const refused = await fuzzWire({ target: closedPort, seed: 1, durationMs: 50, corpus: [stream], concurrency: 1, churn: 1, echoIntervalMs: 0 });
  t.match(refused.findings[0]?.problem, /the fuzzer failed: .*ECONNREFUSED/, 'a connection refused while churning: found');
});

t.test('framing the expected end: a length below 8 or a bad HELLO closes; filler completes a partial message', async (t) => {
  const hello = Buffer.from('0100000800000001', 'hex');
  const echo = Buffer.from('0102000800000002', 'hex');
  t.equal(expectedEnd(Buffer.concat([hello, echo])), 'echo');
  t.equal(expectedEnd(Buffer.concat([hello, Buffer.from('0102000400000002', 'hex'), echo])), 'close', 'length below 8');
  t.equal(expectedEnd(Buffer.concat([echo, echo])), 'close', 'no HELLO first');
  t.equal(expectedEnd(Buffer.concat([Buffer.from('0000000800000001', 'hex'), echo])), 'close', 'HELLO of version 0');
  t.equal(filler(hello).length, 0, 'nothing to complete');
  t.equal(filler(Buffer.concat([hello, Buffer.from('01020010', 'hex')])).length, 12, 'the rest of a 16-byte message');
  t.same([...filler(Buffer.from('01', 'hex'))], [0, 0, 8, 0, 0, 0, 0], 'a header cut before its length: made an 8-byte message');
  t.same([...filler(Buffer.from('010200', 'hex'))], [8, 0, 0, 0, 0], 'cut inside the length');
  t.equal(filler(Buffer.from('01020004', 'hex')).length, 4, 'a length below 8: the header completed, the switch closes');
  t.equal(filler(Buffer.concat([Buffer.from('0102000400000000', 'hex'), echo])).length, 0, 'nothing after a framing error');
  const corpus = [Buffer.concat([Buffer.from('010e0048', 'hex'), Buffer.alloc(68, 7)])];
  for (const how of MUTATIONS) {
    const a = mutate(new Rng(5), corpus[0] as Uint8Array, how, corpus);
    const b = mutate(new Rng(5), corpus[0] as Uint8Array, how, corpus);
    t.same([...a], [...b], `${how}: the same seed, the same bytes`);
  }
  t.same(mutate(new Rng(1), Uint8Array.of(1, 2, 0, 8), 'inner-length', corpus).length, 4, 'too short for an inner length: unchanged');
  const m = mutant(new Rng(3), corpus);
  t.ok(m.bytes.length > 0 && m.how.length > 0);
});
