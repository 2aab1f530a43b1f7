/**
 * Forwarding benchmark: frames per second from one test host to another through ofswitch with the
 * flow `in_port=1,actions=output:2`, and the same through Open vSwitch's userspace datapath
 * (datapath_type=netdev) on the same topology, in the same run; prints both and their ratio.
 *
 * Topology, built once per switch and removed afterwards (also on failure or ^C):
 *   namespace <p>tx (eth0) <-veth-> <p>a  [switch namespace <p>sw]  <p>b <-veth-> (eth0) namespace <p>rx
 * trafgen (netsniff-ng) sends 64-byte UDP frames as fast as it can from <p>tx, pinned to CPU 0; the
 * switch runs pinned to CPU 1. The rate is what arrives at <p>rx's eth0, counted by the kernel
 * (rx_packets), over the middle seconds of each run. Each switch runs in its own namespace: Open
 * vSwitch's userspace datapath creates a tap named ovs-netdev that must not clash with another.
 *
 *   npm run bench:forward [-- --seconds N] [-- --json]
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'dist', 'lib', 'cli.js');
const args = process.argv.slice(2);
const JSON_OUT = args.includes('--json');
const SECONDS = Number(args[args.indexOf('--seconds') + 1] ?? 0) || 8;
const P = `fw${process.pid % 100000}`;

const log = (...m: unknown[]): void => console.error(...m);
const sh = (cmd: string, argv: string[]): string => execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const quiet = (cmd: string, argv: string[]): void => {
  try {
    sh(cmd, argv);
  } catch {
    /* best effort (cleanup) */
  }
};
const ns = (name: string, cmd: string, argv: string[]): string => sh('ip', ['netns', 'exec', name, cmd, ...argv]);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const NS = { tx: `${P}tx`, rx: `${P}rx`, sw: `${P}sw` };
const children: ChildProcess[] = [];
let workDir = '';

function cleanup(): void {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const n of Object.values(NS)) {
    const pids = (() => {
      try {
        return sh('ip', ['netns', 'pids', n]).split(/\s+/).filter(Boolean);
      } catch {
        return [];
      }
    })();
    for (const pid of pids) quiet('kill', ['-9', pid]);
    quiet('ip', ['netns', 'del', n]);
  }
  if (workDir) rmSync(workDir, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

/** Sender and receiver namespaces wired to a switch namespace holding the ports <p>a and <p>b. */
function topology(): void {
  for (const n of Object.values(NS)) {
    sh('ip', ['netns', 'add', n]);
    ns(n, 'ip', ['link', 'set', 'lo', 'up']);
    ns(n, 'sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  }
  for (const [side, port] of [['tx', 'a'], ['rx', 'b']] as const) {
    sh('ip', ['link', 'add', `${P}${port}`, 'netns', NS.sw, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NS[side]]);
    ns(NS.sw, 'ip', ['link', 'set', `${P}${port}`, 'up']);
    ns(NS[side], 'ip', ['link', 'set', 'eth0', 'up']);
    for (const [n, dev] of [[NS.sw, `${P}${port}`], [NS[side], 'eth0']] as const) {
      quiet('ip', ['netns', 'exec', n, 'ethtool', '-K', dev, 'tx', 'off', 'rx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off']);
    }
  }
}

function rxPackets(): number {
  return Number(ns(NS.rx, 'cat', ['/sys/class/net/eth0/statistics/rx_packets']).trim());
}

/** Runs trafgen for SECONDS and returns the frames/s that reached the receiver in the middle part. */
async function measure(): Promise<number> {
  const conf = join(workDir, 'udp.cfg');
  writeFileSync(
    conf,
    '{ eth(da=02:00:00:00:00:02, sa=02:00:00:00:00:01, type=0x0800),\n' +
      '  ipv4(saddr=10.99.0.1, daddr=10.99.0.2, proto=17, ttl=64),\n' +
      '  udp(sp=1000, dp=2000), fill(0x00, 18) }\n',
  );
  const gen = spawn('ip', ['netns', 'exec', NS.tx, 'taskset', '-c', '0', 'trafgen', '--dev', 'eth0', '--conf', conf, '-P', '1', '-q'], {
    stdio: 'ignore',
  });
  children.push(gen);
  await sleep(1000);
  const start = rxPackets();
  const t0 = process.hrtime.bigint();
  await sleep((SECONDS - 2) * 1000);
  const end = rxPackets();
  const t1 = process.hrtime.bigint();
  gen.kill('SIGINT');
  await sleep(300);
  return (end - start) / (Number(t1 - t0) / 1e9);
}

async function waitFor(what: () => boolean, ms: number, label: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (what()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${label}`);
}

async function runOfswitch(): Promise<number> {
  topology();
  const sw = spawn(
    'ip',
    ['netns', 'exec', NS.sw, 'taskset', '-c', '1', process.execPath, CLI,
      '--port', `${P}a`, '--port', `${P}b`, '--fail-mode', 'secure', '--listen', 'ptcp:6634:127.0.0.1', '--log-level', 'warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  children.push(sw);
  let err = '';
  sw.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  await waitFor(() => {
    try {
      ns(NS.sw, 'ovs-ofctl', ['add-flow', 'tcp:127.0.0.1:6634', 'in_port=1,actions=output:2']);
      return true;
    } catch {
      return false;
    }
  }, 15_000, `ofswitch to accept ovs-ofctl ${err}`);
  const rate = await measure();
  sw.kill('SIGTERM');
  await new Promise((r) => sw.once('exit', r));
  cleanup();
  return rate;
}

async function runOvs(): Promise<number> {
  topology();
  const env = { ...process.env, OVS_RUNDIR: workDir, OVS_LOGDIR: workDir, OVS_DBDIR: workDir };
  const vsctl = ['--timeout=20', `--db=unix:${workDir}/db.sock`];
  const inSw = (cmd: string, argv: string[]): string =>
    execFileSync('ip', ['netns', 'exec', NS.sw, cmd, ...argv], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
  execFileSync('ovsdb-tool', ['create', `${workDir}/conf.db`, '/usr/share/openvswitch/vswitch.ovsschema'], { env });
  inSw('ovsdb-server', [`${workDir}/conf.db`, `--remote=punix:${workDir}/db.sock`, `--pidfile=${workDir}/ovsdb-server.pid`,
    '--detach', '--no-chdir', '-vconsole:emer', `--log-file=${workDir}/ovsdb-server.log`]);
  inSw('ovs-vsctl', [...vsctl, '--no-wait', 'init']);
  inSw('taskset', ['-c', '1', 'ovs-vswitchd', `unix:${workDir}/db.sock`, `--pidfile=${workDir}/ovs-vswitchd.pid`, '--detach',
    '--no-chdir', '-vconsole:emer', `--log-file=${workDir}/ovs-vswitchd.log`]);
  inSw('ovs-vsctl', [...vsctl, 'add-br', 'fwbr', '--', 'set', 'bridge', 'fwbr', 'datapath_type=netdev', 'protocols=OpenFlow10',
    'fail_mode=secure', '--', 'add-port', 'fwbr', `${P}a`, '--', 'set', 'interface', `${P}a`, 'ofport_request=1',
    '--', 'add-port', 'fwbr', `${P}b`, '--', 'set', 'interface', `${P}b`, 'ofport_request=2']);
  inSw('ovs-ofctl', ['add-flow', 'fwbr', 'in_port=1,actions=output:2']);
  const rate = await measure();
  for (const f of ['ovs-vswitchd.pid', 'ovsdb-server.pid']) quiet('kill', [readFileSync(join(workDir, f), 'utf8').trim()]);
  await sleep(500);
  cleanup();
  return rate;
}

async function main(): Promise<void> {
  workDir = mkdtempSync(join(tmpdir(), 'ofswitch-forward-'));
  log(`bench:forward: ${SECONDS} s per switch, trafgen on CPU 0, switch on CPU 1`);
  const ofswitch = await runOfswitch();
  log(`ofswitch:            ${Math.round(ofswitch)} frames/s`);
  workDir = mkdtempSync(join(tmpdir(), 'ofswitch-forward-'));
  const ovs = await runOvs();
  log(`Open vSwitch netdev: ${Math.round(ovs)} frames/s`);
  const ratio = ofswitch / ovs;
  if (JSON_OUT) {
    process.stdout.write(JSON.stringify({ seconds: SECONDS, results: [
      { switch: 'ofswitch', framesPerSec: Math.round(ofswitch) },
      { switch: 'ovs-netdev', framesPerSec: Math.round(ovs) },
    ], ratio }, null, 2) + '\n');
  } else {
    console.log('| switch | frames/s |\n| --- | ---: |');
    console.log(`| ofswitch | ${Math.round(ofswitch).toLocaleString('en')} |`);
    console.log(`| Open vSwitch (userspace, netdev) | ${Math.round(ovs).toLocaleString('en')} |`);
    console.log(`\nofswitch / Open vSwitch = ${ratio.toFixed(2)}`);
  }
}

main().catch((e: unknown) => {
  log(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
