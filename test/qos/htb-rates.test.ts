/**
 * Egress queues measured: ofswitch in database mode, QoS linux-htb set on h3's port with the stock
 * ovs-vsctl, flows that ENQUEUE h1's and h2's traffic to h3 in two queues, and two iperf3 TCP
 * streams at once. Queues with max-rate 20 and 50 Mbit/s deliver those rates within 10 % (iperf3 counts TCP
 * payload: 1448 of the 1514 bytes HTB counts per frame); with a port max-rate of 60 Mbit/s and
 * min-rates of 15 and 30 Mbit/s under contention each gets at least its minimum.
 */
import t from 'tap';
import { enqueueFlows, startQosRig, tcClasses, twoStreams, within10 } from './rig.js';

const MBIT = 1_000_000;
const SECONDS = 4;

t.test('queues with max-rate 20 and 50 Mbit/s deliver 20 and 50 Mbit/s', async (t) => {
  const r = await startQosRig(t, 121);
  await r.rig.vsctl([
    'set', 'port', r.h3.port, 'qos=@q', '--',
    '--id=@q', 'create', 'qos', 'type=linux-htb', 'other-config:max-rate=1000000000', 'queues:1=@q1', 'queues:2=@q2', '--',
    '--id=@q1', 'create', 'queue', `other-config:max-rate=${20 * MBIT}`, '--',
    '--id=@q2', 'create', 'queue', `other-config:max-rate=${50 * MBIT}`,
  ], { wait: true });
  await enqueueFlows(r, 1, 2);
  const [a, b] = await twoStreams(r, SECONDS);
  t.comment(`queue 1: ${(a / MBIT).toFixed(1)} Mbit/s, queue 2: ${(b / MBIT).toFixed(1)} Mbit/s`);
  t.ok(within10(a, 20 * MBIT), `h1 -> h3 in queue 1 (max-rate 20 Mbit/s) delivers ${(a / MBIT).toFixed(1)} Mbit/s`);
  t.ok(within10(b, 50 * MBIT), `h2 -> h3 in queue 2 (max-rate 50 Mbit/s) delivers ${(b / MBIT).toFixed(1)} Mbit/s`);
  const classes = await tcClasses(r.h3.port);
  t.ok((classes.get('1:2')?.packets ?? 0) > 1000, 'the frames went through class 1:2 (queue 1)');
  t.ok((classes.get('1:3')?.packets ?? 0) > 1000, 'and class 1:3 (queue 2)');
});

t.test('min-rate guarantees under contention on a port with max-rate 60 Mbit/s', async (t) => {
  const r = await startQosRig(t, 122);
  await r.rig.vsctl([
    'set', 'port', r.h3.port, 'qos=@q', '--',
    '--id=@q', 'create', 'qos', 'type=linux-htb', `other-config:max-rate=${60 * MBIT}`, 'queues:1=@q1', 'queues:2=@q2', '--',
    '--id=@q1', 'create', 'queue', `other-config:min-rate=${15 * MBIT}`, '--',
    '--id=@q2', 'create', 'queue', `other-config:min-rate=${30 * MBIT}`,
  ], { wait: true });
  await enqueueFlows(r, 1, 2);
  const [a, b] = await twoStreams(r, SECONDS);
  t.comment(`queue 1: ${(a / MBIT).toFixed(1)} Mbit/s, queue 2: ${(b / MBIT).toFixed(1)} Mbit/s`);
  t.ok(a >= 0.8 * 15 * MBIT, `queue 1 (min-rate 15 Mbit/s) gets ${(a / MBIT).toFixed(1)} Mbit/s`);
  t.ok(b >= 0.8 * 30 * MBIT, `queue 2 (min-rate 30 Mbit/s) gets ${(b / MBIT).toFixed(1)} Mbit/s`);
  t.ok(a + b < 1.1 * 60 * MBIT, `together ${((a + b) / MBIT).toFixed(1)} Mbit/s: no more than the port's max-rate`);
});
