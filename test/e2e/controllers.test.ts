/**
 * Real controllers driving ofswitch between real test hosts: ovs-testcontroller and an os-ken
 * OpenFlow 1.0 learning app (osken_l2_switch.py beside this file) must each make every host reach
 * every other, through PACKET_IN (buffered), flows they install (naming the buffer, in
 * ovs-testcontroller's case) and PACKET_OUT (naming the buffer, in os-ken's case).
 */
import t, { type Test } from 'tap';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { addHost, assertRan, spawnIn, tryRun, type TestHost } from '../helpers/netns.js';
import { startOvsTestcontroller } from '../helpers/ovs-testcontroller.js';
import { startOfswitch } from '../helpers/ofswitch-process.js';
import { ofctl } from '../helpers/ofctl.js';
import { freePort, waitListening } from '../helpers/free-port.js';
import { eventually } from '../helpers/wait.js';

const HERE = dirname(fileURLToPath(import.meta.url));

interface Rig {
  hosts: TestHost[];
  ofctlTarget: string;
}

/** Three hosts on a secure-mode ofswitch that connects to a controller on `controllerPort`. */
async function rig(t: Test, tag: string, controllerPort: number): Promise<Rig> {
  const hosts: TestHost[] = [];
  for (let i = 1; i <= 3; i++) hosts.push(await addHost(t, `${tag}${i}`, { ip: `10.77.0.${i}/24` }));
  const listen = await freePort();
  const sw = await startOfswitch(t, [
    ...hosts.flatMap((h) => ['--port', h.port]),
    '--controller', `tcp:127.0.0.1:${controllerPort}`,
    '--listen', `ptcp:${listen}`,
    '--fail-mode', 'secure',
  ]);
  await sw.waitForLog('"handshake done"', 15_000);
  return { hosts, ofctlTarget: `tcp:127.0.0.1:${listen}` };
}

/** Every host pings every other: a first ping (ARP, learning), then three that must all come back. */
async function pingAll(t: Test, hosts: readonly TestHost[]): Promise<void> {
  for (const a of hosts) {
    for (const b of hosts) {
      if (a === b) continue;
      const first = await tryRun('ping', ['-c', '1', '-W', '3', b.ip], a.ns);
      t.equal(first.code, 0, `${a.ip} reaches ${b.ip}`);
      const again = await tryRun('ping', ['-c', '3', '-i', '0.2', '-W', '2', b.ip], a.ns);
      t.match(again.stdout, / 3 received, 0% packet loss/, `${a.ip} -> ${b.ip}: no loss once learnt`);
    }
  }
}

function collect(child: ChildProcess): () => string {
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  return () => text;
}


t.test('ovs-testcontroller makes every host reach every other', async (t) => {
  const port = await freePort();
  const controller = await startOvsTestcontroller(t, port, ['-v']);
  const { hosts, ofctlTarget } = await rig(t, 'tc', port);
  await pingAll(t, hosts);
  // It installs exact-match flows (idle timeout 60) naming the packet-in's buffer: the flows are
  // there and carried traffic, and the switch answered none of its messages with an error.
  const flows = await ofctl(undefined, ofctlTarget, 'dump-flows');
  assertRan(t, flows, 'ovs-ofctl dump-flows');
  const learnt = flows.stdout.split('\n').filter((l) => /idle_timeout=60/.test(l));
  t.ok(learnt.length >= 6, `controller flows installed (${learnt.length})`);
  t.ok(learnt.some((l) => /n_packets=[1-9]/.test(l)), 'controller flows carry packets');
  // -v logs every message it receives: its log shows the switch's packet-ins, so it is a real log.
  t.match(controller.output(), /OFPT_PACKET_IN/, 'the controller logged the packet-ins it handled');
  t.notMatch(controller.output(), /OFPT_ERROR|received error/i, 'no OpenFlow error reached the controller');
});

t.test('an os-ken OpenFlow 1.0 learning app makes every host reach every other', async (t) => {
  const port = await freePort();
  const app = join(HERE, 'osken_l2_switch.py');
  const controller = spawnIn('/usr/bin/python3', [
    '/usr/bin/osken-manager', '--ofp-listen-host', '127.0.0.1', '--ofp-tcp-listen-port', String(port), app,
  ]);
  const output = collect(controller);
  t.teardown(() => {
    controller.kill('SIGTERM');
  });
  t.ok(await waitListening(port, 20_000), 'osken-manager listening');
  const { hosts, ofctlTarget } = await rig(t, 'ok', port);
  t.ok(await eventually(() => /FEATURES dpid=/.test(output()), 10_000), 'os-ken saw the switch features');
  t.match(output(), /FEATURES dpid=[0-9a-f]{16} ports=3/, 'three ports announced');
  await pingAll(t, hosts);
  const packetIns = output().split('\n').filter((l) => l.startsWith('PACKET_IN'));
  t.ok(packetIns.length > 0, 'packet-ins reached os-ken');
  // os-ken sends no SET_CONFIG: the default miss_send_len of 128 applies, and packets are buffered.
  t.ok(packetIns.every((l) => /reason=0/.test(l)), 'table misses only');
  t.ok(packetIns.some((l) => !/buffer_id=4294967295/.test(l)), 'packets were buffered (and released by PACKET_OUT)');
  const lengths = packetIns.map((l) => /total_len=(\d+) len=(\d+)/.exec(l));
  t.same(lengths.filter((m) => m === null).length, 0, 'every packet-in line gives total_len and len');
  t.same(
    lengths.filter((m) => m !== null && Number(m[2]) > Number(m[1])).map((m) => m?.[0]),
    [],
    'packet-in data never exceeds the frame',
  );
  t.notMatch(output(), /^ERROR type=/m, 'no OpenFlow error reached os-ken');
  const flows = await ofctl(undefined, ofctlTarget, 'dump-flows');
  assertRan(t, flows, 'ovs-ofctl dump-flows');
  const learnt = flows.stdout.split('\n').filter((l) => /cookie=0x42/.test(l));
  t.ok(learnt.length >= 6, `os-ken's flows installed (${learnt.length})`);
  t.ok(learnt.every((l) => /dl_dst=/.test(l) && /in_port=/.test(l)), 'flows match in_port and dl_dst as sent');
  t.ok(learnt.some((l) => /n_packets=[1-9]/.test(l)), "os-ken's flows carry packets");
  controller.kill('SIGTERM');
  await once(controller, 'exit');
});
