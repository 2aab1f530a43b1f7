/**
 * Two bridges in one process joined by a patch pair, each with one veth port to a host in its own
 * namespace: the hosts ping each other through both bridges' NORMAL, the frames crossing between
 * the bridges in userspace (the patch ports are no kernel interfaces), counted on the patch ports.
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import { createSwitch } from '../../lib/switch.js';
import { addHost, tryRun, uniqueName } from '../helpers/netns.js';

t.test('ping between hosts on two switches joined by patch ports', async (t) => {
  const h1 = await addHost(t, 'pp1', { ip: '10.79.0.1/24' });
  const h2 = await addHost(t, 'pp2', { ip: '10.79.0.2/24' });
  const [a, b] = [uniqueName('pa'), uniqueName('pb')];
  const sw1 = createSwitch();
  const sw2 = createSwitch();
  t.teardown(async () => {
    await sw1.close();
    await sw2.close();
  });
  sw1.addPort({ name: h1.port });
  sw2.addPort({ name: h2.port });
  t.equal((await tryRun('ping', ['-c', '1', '-W', '1', h2.ip], h1.ns)).code === 0, false, 'no path before the patch pair');
  sw1.addPort({ name: a, type: 'patch', options: { peer: b } });
  sw2.addPort({ name: b, type: 'patch', options: { peer: a } });
  t.notOk(existsSync(`/sys/class/net/${a}`) || existsSync(`/sys/class/net/${b}`), 'the patch ports are not kernel interfaces');
  const ping = await tryRun('ping', ['-c', '3', '-i', '0.2', '-W', '2', h2.ip], h1.ns);
  t.equal(ping.code, 0, `ping exits 0${ping.code ? `: ${ping.stdout}${ping.stderr}` : ''}`);
  t.match(ping.stdout, / 3 received/, 'three replies across both bridges');
  const back = await tryRun('ping', ['-c', '2', '-i', '0.2', '-W', '2', h1.ip], h2.ns);
  t.match(back.stdout, / 2 received/, 'and the other way');
  const [pa, pb] = [sw1.port(a)?.stats, sw2.port(b)?.stats];
  t.ok((pa?.txPackets ?? 0n) >= 5n && (pa?.rxPackets ?? 0n) >= 5n, `frames crossed the patch pair (tx ${pa?.txPackets}, rx ${pa?.rxPackets})`);
  t.equal(pa?.txPackets, pb?.rxPackets, 'what one side sent, the other received');
  t.same(sw1.macTable().map((e) => e.mac).sort(), [h1.mac, h2.mac].sort(), 'switch 1 learned both hosts');
});
