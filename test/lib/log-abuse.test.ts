/**
 * The log lines a remote peer causes are rate-limited per kind (lib/log-rate-limit.ts) at every
 * call site in lib/connection.ts: a peer churning connections, sending garbage or earning errors
 * gets at most each kind's burst of lines, then one summary line of what was dropped when the
 * next line passes; the per-connection lines are short.
 */
import { connect, type Socket } from 'node:net';
import t, { type Test } from 'tap';
import { createLogger } from '../../lib/log.js';
import { LOG_RATE_LIMITS } from '../../lib/log-rate-limit.js';
import { createSwitch } from '../../lib/switch.js';
import { encodeMessage, OFPT } from '../../protocol/index.js';

function rig(t: Test) {
  const lines: string[] = [];
  const clock = { ms: Date.now() };
  const logger = createLogger({ level: 'info', now: () => clock.ms, write: (l) => lines.push(l) });
  const sw = createSwitch({ logger, datapathId: 1n });
  t.teardown(() => sw.close());
  return { lines, clock, sw };
}

/** Connects, writes `bytes`, and resolves once the switch has closed the connection (or after `ms`). */
function session(port: number, bytes: Uint8Array, ms = 2000): Promise<Buffer> {
  return new Promise((resolve) => {
    const got: Buffer[] = [];
    const s: Socket = connect(port, '127.0.0.1', () => s.write(bytes));
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(Buffer.concat(got));
    };
    const timer = setTimeout(done, ms);
    s.on('data', (d) => got.push(d));
    s.on('error', done);
    s.on('close', done);
  });
}

const hello = encodeMessage({ version: 1, type: OFPT.HELLO, xid: 1, body: new Uint8Array(0) });
/** A FEATURES_REQUEST with a body: BAD_REQUEST/BAD_LEN, a "bad message" line. */
const badLength = Buffer.from('0105000c0000000200000000', 'hex');

t.test('connection churn: at most the burst of connection lines, the rest summarised', async (t) => {
  const { lines, clock, sw } = rig(t);
  const { port } = await sw.addListener('ptcp:0:127.0.0.1');
  const n = 150;
  for (let i = 0; i < n; i += 25) await Promise.all(Array.from({ length: 25 }, () => session(port, hello, 300)));
  await new Promise((r) => setTimeout(r, 300)); // the switch's side of the last closes
  const conn = lines.filter((l) => /"msg":"connection (opened|closed)"/.test(l));
  t.equal(conn.length, LOG_RATE_LIMITS.connection.burst, `${2 * n} connection lines asked for, the burst written`);
  t.notOk(lines.some((l) => l.includes('handshake done')), 'handshake of an accepted connection: debug, as OVS');
  const sizes = conn.map((l) => Buffer.byteLength(l) + 1);
  t.ok(Math.max(...sizes) <= 170, `per-connection lines short: ${Math.min(...sizes)}..${Math.max(...sizes)} bytes`);
  t.notOk(conn.some((l) => l.includes('"kind"') || l.includes('internalErrors')), 'no constant fields');
  clock.ms += 60_000;
  await session(port, hello, 300);
  const summary = lines.find((l) => l.includes('Dropped'));
  t.match(JSON.parse(summary ?? '{}'), {
    level: 'info',
    limited: 'connection',
    msg: new RegExp(`^Dropped ${2 * n - LOG_RATE_LIMITS.connection.burst} log messages in last 60 seconds \\(most recently, 60 seconds ago\\) due to excessive rate$`),
  });
});

t.test('garbage and refused messages: the bad-message and error-reply kinds each limited, every error still sent', async (t) => {
  const { lines, sw } = rig(t);
  const { port } = await sw.addListener('ptcp:0:127.0.0.1');
  const n = 40;
  const replies = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      i % 2 === 0
        ? session(port, Buffer.concat([hello, badLength]), 400) // bad message
        : session(port, Buffer.from('0100000800000009', 'hex').fill(0x05, 1, 2), 400), // not HELLO first: handshake failed
    ),
  );
  const errors = replies.filter((r) => r.length > 8 && r[9] === OFPT.ERROR).length;
  t.equal(errors, n, 'every peer got its OFPT_ERROR');
  const bad = lines.filter((l) => /"msg":"(bad message|handshake failed)"/.test(l));
  t.equal(bad.length, LOG_RATE_LIMITS['bad-message'].burst, 'bad-message lines: the burst');
});
