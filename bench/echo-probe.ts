/**
 * An OpenFlow 1.0 echo prober for the benchmarks: connects to a switch (tcp:IP:PORT or unix:PATH),
 * says HELLO, sends an ECHO_REQUEST every `--every` ms (default 10) and, when it gets SIGTERM,
 * prints the arrival times of the ECHO_REPLYs as a JSON array of epoch milliseconds (fractional,
 * comparable across processes). Run it inside the switch's namespace:
 *   node dist/bench/echo-probe.js tcp:127.0.0.1:6634 [--every MS]
 */
import { connect } from 'node:net';
import { MessageFramer, OFP_VERSION, OFPT, encodeMessage } from '../protocol/index.js';

const [target = '', ...rest] = process.argv.slice(2);
const everyArg = rest.indexOf('--every');
const every = everyArg >= 0 ? Number(rest[everyArg + 1]) : 10;
const now = (): number => performance.timeOrigin + performance.now();

const m = /^tcp:([^:]+):(\d+)$/.exec(target);
const u = /^unix:(.+)$/.exec(target);
if (!m && !u) {
  console.error(`echo-probe: target must be tcp:IP:PORT or unix:PATH, not "${target}"`);
  process.exit(2);
}
const socket = m ? connect(Number(m[2]), m[1]!) : connect(u![1]!);
const framer = new MessageFramer();
const replies: number[] = [];
socket.on('error', (err) => {
  console.error(`echo-probe: ${err.message}`);
  process.exit(1);
});
socket.on('connect', () => {
  socket.write(encodeMessage({ version: OFP_VERSION, type: OFPT.HELLO, xid: 1, body: new Uint8Array(0) }));
  let xid = 2;
  setInterval(() => socket.write(encodeMessage({ version: OFP_VERSION, type: OFPT.ECHO_REQUEST, xid: xid++, data: new Uint8Array(0) })), every);
  console.error('echo-probe: connected');
});
socket.on('data', (chunk: Buffer) => {
  const t = now();
  for (const msg of framer.push(chunk)) if (msg[1] === OFPT.ECHO_REPLY) replies.push(t);
});
process.on('SIGTERM', () => {
  process.stdout.write(JSON.stringify(replies) + '\n', () => process.exit(0));
});
