/**
 * Datapath forwarding benchmark: frames per second host to host through the Datapath alone (no
 * agent, no OpenFlow connection), with the real FlowTable holding `in_port=1,actions=output:2`.
 * It measures the ports (datapath/ports/af-packet-port.ts and its addon) and the packet path.
 *
 *   namespace <p>tx (eth0) <-veth-> <p>a  [this process]  <p>b <-veth-> (eth0) namespace <p>rx
 *
 * trafgen (netsniff-ng) sends 64-byte UDP frames as fast as it can from <p>tx, pinned to CPU 0;
 * this process pins itself to CPU 1. The rate is what arrives at <p>rx's eth0 (its kernel
 * rx_packets counter) over all but the first second of the run; the Datapath's own port counters are
 * printed beside it. Everything created is removed on exit.
 *
 *   node dist/bench/forward-datapath.js [--seconds N] [--json]
 */
import { Datapath } from '../datapath/datapath.js';
import { createPort } from '../datapath/ports/factory.js';
import { FlowTable } from '../flowtable/flow-table.js';
import { matchWith } from '../protocol/match.js';
import { port1ToPort2 } from './port-flow.js';
import { TrafgenRig, benchArgs, log, quiet, sleep } from './trafgen-rig.js';

const { seconds: SECONDS, json: JSON_OUT } = benchArgs(8);

function flowTable(): FlowTable {
  const table = new FlowTable();
  table.flowMod(port1ToPort2(matchWith));
  return table;
}

async function main(): Promise<void> {
  quiet('taskset', ['-a', '-p', '-c', '1', String(process.pid)]);
  const rig = new TrafgenRig('fd');
  const dp = new Datapath({ flowTable: flowTable() });
  dp.registry.addPort(createPort({ name: rig.ports.a }), 1);
  dp.registry.addPort(createPort({ name: rig.ports.b }), 2);
  log(`forward-datapath: ${SECONDS} s, trafgen on CPU 0, this process on CPU 1`);
  // Port 1's own receive counter, sampled with the time at the start and end of the measurement.
  const samples: { at: bigint; rx: bigint }[] = [];
  const m = await rig.measure(SECONDS, {
    during: () => {
      samples.push({ at: process.hrtime.bigint(), rx: dp.registry.portStats(1)[0]?.rxPackets ?? 0n });
    },
  });
  const rate = m.receivedPerSec;
  const [first, last] = samples;
  const received = first && last ? Number(last.rx - first.rx) / (Number(last.at - first.at) / 1e9) : 0;
  dp.close();
  if (JSON_OUT) {
    process.stdout.write(`${JSON.stringify({ seconds: SECONDS, framesPerSec: Math.round(rate), offeredPerSec: Math.round(m.offeredPerSec), portRxPerSec: Math.round(received) })}\n`);
  } else {
    console.log(`forwarded (far end rx): ${Math.round(rate).toLocaleString('en')} frames/s`);
    console.log(`read by port 1:         ${Math.round(received).toLocaleString('en')} frames/s`);
    console.log(`offered (sender tx):    ${Math.round(m.offeredPerSec).toLocaleString('en')} frames/s`);
  }
  await sleep(200);
  process.exit(0);
}

main().catch((e: unknown) => {
  log(e instanceof Error ? e.stack : e);
  process.exitCode = 1;
  process.exit(1);
});
