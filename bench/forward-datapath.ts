/**
 * Datapath forwarding benchmark: frames per second host to host through the Datapath alone (no
 * agent, no OpenFlow connection), with the real FlowTable holding `in_port=1,actions=output:2`.
 * It measures the ports (datapath/af-packet-port.ts and its addon) and the packet path.
 *
 *   namespace <p>tx (eth0) <-veth-> <p>a  [this process]  <p>b <-veth-> (eth0) namespace <p>rx
 *
 * trafgen (netsniff-ng) sends 64-byte UDP frames as fast as it can from <p>tx, pinned to CPU 0;
 * this process pins itself to CPU 1. The rate is what arrives at <p>rx's eth0 (its kernel
 * rx_packets counter) over the middle seconds of the run; the Datapath's own port counters are
 * printed beside it. Everything created is removed on exit.
 *
 *   node dist/bench/forward-datapath.js [--seconds N] [--json]
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Datapath } from '../datapath/datapath.js';
import { FlowTable } from '../flowtable/flow-table.js';
import { OFP_NO_BUFFER, OFPAT, OFPFC, OFPFW, OFPP, OFPT, OFP_VERSION } from '../protocol/constants.js';
import { matchWith } from '../protocol/match.js';

const args = process.argv.slice(2);
const JSON_OUT = args.includes('--json');
const SECONDS = Number(args[args.indexOf('--seconds') + 1] ?? 0) || 8;
const P = `fd${process.pid % 100000}`;
const NS = { tx: `${P}tx`, rx: `${P}rx` };
const PORTS = { a: `${P}a`, b: `${P}b` };

const log = (...m: unknown[]): void => console.error(...m);
const sh = (cmd: string, argv: string[]): string => execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const quiet = (cmd: string, argv: string[]): void => {
  try {
    sh(cmd, argv);
  } catch {
    /* best effort (cleanup) */
  }
};
const inNs = (name: string, cmd: string, argv: string[]): string => sh('ip', ['netns', 'exec', name, cmd, ...argv]);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const children: ChildProcess[] = [];
let workDir = '';
function cleanup(): void {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const p of Object.values(PORTS)) quiet('ip', ['link', 'del', p]);
  for (const n of Object.values(NS)) quiet('ip', ['netns', 'del', n]);
  if (workDir) rmSync(workDir, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

/** Sender and receiver namespaces, their veth peers <p>a and <p>b left here for the Datapath. */
function topology(): void {
  for (const [side, port] of [['tx', PORTS.a], ['rx', PORTS.b]] as const) {
    const n = NS[side];
    sh('ip', ['netns', 'add', n]);
    inNs(n, 'ip', ['link', 'set', 'lo', 'up']);
    inNs(n, 'sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    sh('ip', ['link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', n]);
    quiet('sysctl', ['-qw', `net.ipv6.conf.${port}.disable_ipv6=1`]);
    sh('ip', ['link', 'set', port, 'up']);
    inNs(n, 'ip', ['link', 'set', 'eth0', 'up']);
    quiet('ethtool', ['-K', port, 'tx', 'off', 'rx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off']);
    quiet('ip', ['netns', 'exec', n, 'ethtool', '-K', 'eth0', 'tx', 'off', 'rx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off']);
  }
}

const rxPackets = (): number => Number(inNs(NS.rx, 'cat', ['/sys/class/net/eth0/statistics/rx_packets']).trim());

function flowTable(): FlowTable {
  const table = new FlowTable();
  table.flowMod({
    version: OFP_VERSION,
    type: OFPT.FLOW_MOD,
    xid: 1,
    match: matchWith({ wildcards: OFPFW.ALL & ~OFPFW.IN_PORT, inPort: 1 }),
    cookie: 0n,
    command: OFPFC.ADD,
    idleTimeout: 0,
    hardTimeout: 0,
    priority: 0x8000,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.NONE,
    flags: 0,
    actions: [{ type: OFPAT.OUTPUT, port: 2, maxLen: 0 }],
  });
  return table;
}

async function main(): Promise<void> {
  workDir = mkdtempSync(join(tmpdir(), 'ofswitch-fwdp-'));
  quiet('taskset', ['-a', '-p', '-c', '1', String(process.pid)]);
  topology();
  const dp = new Datapath({ flowTable: flowTable() });
  dp.openPort(PORTS.a, 1);
  dp.openPort(PORTS.b, 2);
  const conf = join(workDir, 'udp.cfg');
  writeFileSync(
    conf,
    '{ eth(da=02:00:00:00:00:02, sa=02:00:00:00:00:01, type=0x0800),\n' +
      '  ipv4(saddr=10.99.0.1, daddr=10.99.0.2, proto=17, ttl=64),\n' +
      '  udp(sp=1000, dp=2000), fill(0x00, 18) }\n',
  );
  log(`forward-datapath: ${SECONDS} s, trafgen on CPU 0, this process on CPU 1`);
  const gen = spawn('ip', ['netns', 'exec', NS.tx, 'taskset', '-c', '0', 'trafgen', '--dev', 'eth0', '--conf', conf, '-P', '1', '-q'], {
    stdio: 'ignore',
  });
  children.push(gen);
  await sleep(1000);
  const start = rxPackets();
  const [rx0] = dp.portStats(1);
  const t0 = process.hrtime.bigint();
  await sleep((SECONDS - 2) * 1000);
  const end = rxPackets();
  const [rx1] = dp.portStats(1);
  const t1 = process.hrtime.bigint();
  gen.kill('SIGINT');
  const secs = Number(t1 - t0) / 1e9;
  const rate = (end - start) / secs;
  const received = Number((rx1?.rxPackets ?? 0n) - (rx0?.rxPackets ?? 0n)) / secs;
  dp.close();
  if (JSON_OUT) {
    process.stdout.write(`${JSON.stringify({ seconds: SECONDS, framesPerSec: Math.round(rate), portRxPerSec: Math.round(received) })}\n`);
  } else {
    console.log(`forwarded (far end rx): ${Math.round(rate).toLocaleString('en')} frames/s`);
    console.log(`read by port 1:         ${Math.round(received).toLocaleString('en')} frames/s`);
  }
  await sleep(200);
  process.exit(0);
}

main().catch((e: unknown) => {
  log(e instanceof Error ? e.stack : e);
  process.exitCode = 1;
  process.exit(1);
});
