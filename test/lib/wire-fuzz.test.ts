/**
 * The wire fuzzer (bench/fuzz/wire-fuzz.ts) against a switch made with the library API, with two
 * memory ports and a TCP listener, for a bounded time (FUZZ_SECONDS, default 20; FUZZ_SEED):
 * mutated OpenFlow 1.0 messages over real sockets, through the framer, decoder, validation and
 * the agent's handlers.
 *
 * What must hold:
 * - no internal exception: nothing reaches the connection's error path (a log line at level
 *   error, or NXBRC_UNENCODABLE_ERROR on the wire), the process has no uncaught exception or
 *   unhandled rejection;
 * - no hang: every session ends as the spec says within the bound (its sentinel echo answered,
 *   or the connection closed for a framing error or a refused HELLO);
 * - every reply decodes, every OFPT_ERROR is a real type/code for a message we sent;
 * - a well-behaved connection beside the fuzzing gets every echo answered (latency reported).
 * Every corpus file (test/fuzz-corpus/*.bin: seeds of every message type, and inputs that once
 * broke or puzzled the switch) is replayed first, whole and byte by byte.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { loadCorpus } from '../../bench/fuzz/mutate.js';
import { fuzzWire, replay } from '../../bench/fuzz/wire-fuzz.js';
import { createLogger } from '../../lib/log.js';
import { createSwitch } from '../../lib/switch.js';
import { OFPT } from '../../protocol/index.js';

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
  return { target: { host: '127.0.0.1', port }, errorLines, lines: () => lines };
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
  const { target, errorLines, lines } = await rig(t);
  const { messages } = loadCorpus(CORPUS_DIR);
  const result = await fuzzWire({ target, seed: SEED, durationMs: SECONDS * 1000, corpus: messages, concurrency: 4, churn: 0.1 });
  for (const f of result.findings.slice(0, 10)) t.comment(`finding: ${f.problem}\n  mutations: ${f.mutations}\n  sent: ${f.sent}`);
  t.equal(result.findings.length, 0, 'no findings');
  t.ok(result.sessions > 50 && result.messages > 200, `${result.sessions} sessions, ${result.churned} churned, ${result.messages} mutated messages, ${result.bytesSent} bytes`);
  t.ok(result.errorsReceived > 0, `${result.errorsReceived} OFPT_ERRORs received, ${result.closedBySwitch} connections closed by the switch`);
  t.ok(result.echo.sent > 0 && result.echo.answered === result.echo.sent, `monitor: ${result.echo.answered}/${result.echo.sent} echoes answered, p50 ${result.echo.p50Ms} ms, p99 ${result.echo.p99Ms} ms, max ${result.echo.maxMs} ms`);
  t.same(errorLines.slice(0, 5), [], 'no internal error logged');
  t.same(uncaught, [], 'no uncaught exception or unhandled rejection');
  t.comment(`${lines()} log lines written`);
});
