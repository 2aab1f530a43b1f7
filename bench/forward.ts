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
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TrafgenRig, benchArgs, inNs, log, quiet, sh, sleep } from './trafgen-rig.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'dist', 'lib', 'cli.js');
const { seconds: SECONDS, json: JSON_OUT } = benchArgs();

async function waitFor(what: () => boolean, ms: number, label: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (what()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${label}`);
}

async function runOfswitch(): Promise<number> {
  const rig = new TrafgenRig('fw', { switchNamespace: true });
  const sw = rig.ns.sw as string;
  const proc = rig.track(
    spawn(
      'ip',
      ['netns', 'exec', sw, 'taskset', '-c', '1', process.execPath, CLI,
        '--port', rig.ports.a, '--port', rig.ports.b, '--fail-mode', 'secure', '--listen', 'ptcp:6634:127.0.0.1', '--log-level', 'warn'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    ),
  );
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  await waitFor(() => {
    try {
      inNs(sw, 'ovs-ofctl', ['add-flow', 'tcp:127.0.0.1:6634', 'in_port=1,actions=output:2']);
      return true;
    } catch {
      return false;
    }
  }, 15_000, `ofswitch to accept ovs-ofctl ${err}`);
  const rate = await rig.measure(SECONDS);
  proc.kill('SIGTERM');
  await new Promise((r) => proc.once('exit', r));
  rig.cleanup();
  return rate;
}

async function runOvs(): Promise<number> {
  const rig = new TrafgenRig('fo', { switchNamespace: true });
  const workDir = rig.workDir;
  const env = { ...process.env, OVS_RUNDIR: workDir, OVS_LOGDIR: workDir, OVS_DBDIR: workDir };
  const vsctl = ['--timeout=20', `--db=unix:${workDir}/db.sock`];
  const inSw = (cmd: string, argv: string[]): string => inNs(rig.ns.sw as string, cmd, argv, env);
  sh('ovsdb-tool', ['create', `${workDir}/conf.db`, '/usr/share/openvswitch/vswitch.ovsschema'], env);
  inSw('ovsdb-server', [`${workDir}/conf.db`, `--remote=punix:${workDir}/db.sock`, `--pidfile=${workDir}/ovsdb-server.pid`,
    '--detach', '--no-chdir', '-vconsole:emer', `--log-file=${workDir}/ovsdb-server.log`]);
  inSw('ovs-vsctl', [...vsctl, '--no-wait', 'init']);
  inSw('taskset', ['-c', '1', 'ovs-vswitchd', `unix:${workDir}/db.sock`, `--pidfile=${workDir}/ovs-vswitchd.pid`, '--detach',
    '--no-chdir', '-vconsole:emer', `--log-file=${workDir}/ovs-vswitchd.log`]);
  inSw('ovs-vsctl', [...vsctl, 'add-br', 'fwbr', '--', 'set', 'bridge', 'fwbr', 'datapath_type=netdev', 'protocols=OpenFlow10',
    'fail_mode=secure', '--', 'add-port', 'fwbr', `${rig.ports.a}`, '--', 'set', 'interface', `${rig.ports.a}`, 'ofport_request=1',
    '--', 'add-port', 'fwbr', `${rig.ports.b}`, '--', 'set', 'interface', `${rig.ports.b}`, 'ofport_request=2']);
  inSw('ovs-ofctl', ['add-flow', 'fwbr', 'in_port=1,actions=output:2']);
  const rate = await rig.measure(SECONDS);
  for (const f of ['ovs-vswitchd.pid', 'ovsdb-server.pid']) quiet('kill', [readFileSync(join(workDir, f), 'utf8').trim()]);
  await sleep(500);
  rig.cleanup();
  return rate;
}

async function main(): Promise<void> {
  log(`bench:forward: ${SECONDS} s per switch, trafgen on CPU 0, switch on CPU 1`);
  const ofswitch = await runOfswitch();
  log(`ofswitch:            ${Math.round(ofswitch)} frames/s`);
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
