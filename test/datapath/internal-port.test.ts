/**
 * Internal ports (datapath/ports/internal-port.ts) in the kernel: a new veth pair, the pair a
 * killed switch left adopted as it is, the host's end moved into another namespace (described by
 * what the switch's end sees, removed with it), and any other interface of the name opened as is.
 */
import { existsSync, readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { AfPacketPort } from '../../datapath/ports/af-packet-port.js';
import { createInternalPort, InternalPort, internalPeerName, internalPairState } from '../../datapath/ports/internal-port.js';
import { PortError } from '../../datapath/ports/port-type.js';
import { createNamespace, createVethPair, moveToNamespace, run, tryRun, uniqueName } from '../helpers/netns.js';

const exists = (name: string): boolean => existsSync(`/sys/class/net/${name}`);

/** Deletes a pair left by a failed run. */
function cleanupPair(t: Test, name: string): void {
  t.teardown(() => tryRun('ip', ['link', 'del', internalPeerName(name)]));
}

t.test('a new pair, adopted by the next switch, removed at close', async (t) => {
  const name = uniqueName('ip1');
  cleanupPair(t, name);
  const first = createInternalPort(name);
  t.ok(first instanceof InternalPort, 'no interface: a new pair');
  t.equal(internalPairState(name), 'pair', 'NAME and ofl-NAME, each the other\'s peer');
  const mac = readFileSync(`/sys/class/net/${name}/address`, 'utf8').trim();
  // `first` is never closed: its switch was killed.
  const again = createInternalPort(name);
  t.ok(again instanceof InternalPort, 'the pair left behind is adopted');
  again.open(() => undefined);
  const link = again.readLink();
  t.same([link.adminUp, link.hwAddr], [true, mac], 'described by the host\'s end, as before');
  again.close();
  t.notOk(exists(name) || exists(internalPeerName(name)), 'close removes the adopted pair');
});

t.test('the host end moved into a namespace: up while the pair has carrier, last known MAC', async (t) => {
  const name = uniqueName('ip2');
  cleanupPair(t, name);
  const ns = await createNamespace('ip2n', t);
  const port = createInternalPort(name) as InternalPort;
  port.open(() => undefined);
  const mac = port.readLink().hwAddr;
  t.same([port.rxDropped, port.rxErrors, port.txDropped, port.txErrors], [0, 0, 0, 0], 'the switch end\'s counters, from zero');
  await moveToNamespace(name, ns);
  t.equal(internalPairState(name), 'moved', 'only the switch\'s end is left here');
  t.same(port.readLink().adminUp, false, 'moved, down (a move takes the interface down): down');
  await run('ip', ['link', 'set', name, 'up'], ns);
  const up = port.readLink();
  t.same([up.adminUp, up.carrier, up.hwAddr], [true, true, mac], 'set up in the namespace: up, with carrier and its MAC');
  const adopted = createInternalPort(name);
  t.ok(adopted instanceof InternalPort, 'a restarted switch adopts it');
  port.close();
  t.equal((await tryRun('ip', ['link', 'show', name], ns)).code, 1, 'close removes it from the namespace');
  adopted.close(); // already gone: nothing to do
});

t.test('any other interface of the name is opened as it is; adopting needs the pair', async (t) => {
  const name = uniqueName('ip3');
  await createVethPair(name, uniqueName('ip3x'), t);
  t.equal(internalPairState(name), 'other', 'a veth whose peer is not ofl-NAME');
  t.ok(createInternalPort(name) instanceof AfPacketPort, 'a veth of another pair: a system port');
  const lone = uniqueName('ip4');
  t.throws(() => new InternalPort(lone, { adopt: true }), PortError, 'nothing to adopt: a PortError');
  t.throws(() => new InternalPort(lone, { adopt: true }), /cannot adopt the internal interface/);
});
