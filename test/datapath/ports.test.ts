/**
 * The port types and their factory without a kernel: the in-memory port (inject, events, async
 * iteration, recording), making ports by type name, options checked per type, a missing interface
 * named before any native code is needed, and registering a new type.
 */
import t from 'tap';
import { createPort, portType, portTypeNames, registerPortType } from '../../datapath/ports/factory.js';
import { MemoryPort } from '../../datapath/ports/memory-port.js';
import type { NetPort } from '../../datapath/ports/net-port.js';
import { PortError, checkInterfaceName } from '../../datapath/ports/port-type.js';

const frame = (n: number) => Uint8Array.from({ length: 60 }, (_, i) => (i + n) & 0xff);

t.test('memory port: injected frames reach the switch; sent frames reach events, iterators and the record', async (t) => {
  const p = new MemoryPort('m1', { record: true });
  const got: Uint8Array[] = [];
  p.inject(frame(0)); // not attached yet: dropped
  p.open((f) => got.push(f));
  p.inject(frame(1));
  t.same(got, [frame(1)]);
  const events: Uint8Array[] = [];
  p.on('frame', (f) => events.push(f));
  const it = p.frames();
  const sent = frame(2);
  p.send(sent);
  sent[0] = 0xee; // the port keeps copies
  t.same(events, [frame(2)]);
  t.same(p.take(), [frame(2)]);
  t.same(p.take(), [], 'take empties the record');
  t.same((await it.next()).value, frame(2));
  const waiting = it.next();
  p.send(frame(3));
  t.same((await waiting).value, frame(3), 'a waiting reader is woken');
  p.send(frame(4));
  p.send(frame(5));
  const next = p.nextFrame(500);
  p.send(frame(6));
  t.same(await next, frame(6), 'nextFrame waits for the next one');
  t.same((await it.next()).value, frame(4), 'the iterator queues what it has not read');
  p.close();
  t.same([(await it.next()).value, (await it.next()).value], [frame(5), frame(6)], 'after close, what was queued is still read');
  t.same(await it.next(), { value: undefined, done: true }, 'then the iterator ends');
  t.same(await p.frames().next(), { value: undefined, done: true }, 'a closed port has nothing to iterate');
});

t.test('memory port: nothing is kept without a reader; breaking out of for-await stops reading', async (t) => {
  const p = new MemoryPort('m2');
  p.send(frame(1));
  t.same(p.sent, [], 'no record unless asked for');
  const seen: number[] = [];
  const reading = (async () => {
    for await (const f of p.frames()) {
      seen.push(f[0]!);
      if (seen.length === 2) break;
    }
  })();
  p.send(frame(1));
  p.send(frame(2));
  p.send(frame(3));
  await reading;
  t.same(seen, [1, 2]);
  const it = p.frames();
  const pending = it.next();
  await it.return!();
  t.same(await pending, { value: undefined, done: true }, 'return() ends a pending read');
  await t.rejects(p.nextFrame(20), /m2: no frame sent within 20 ms/);
  const closing = p.nextFrame(1000);
  p.close();
  await t.rejects(closing, /m2 was closed/);
});

t.test('memory port: link, carrier and admin state; default MACs differ', async (t) => {
  const a = new MemoryPort('a');
  const b = new MemoryPort('b');
  t.match(a.link.hwAddr, /^aa:55:aa:55:[0-9a-f]{2}:[0-9a-f]{2}$/);
  t.not(a.link.hwAddr, b.link.hwAddr);
  a.setCarrier(false);
  t.equal(a.readLink().carrier, false);
  await a.setAdminUp(false);
  t.same([a.link.adminUp, a.link.carrier], [false, false]);
  t.throws(() => a.send(frame(0)), /a is down/);
  a.setCarrier(true);
  t.equal(a.link.carrier, false, 'no carrier while down');
  await a.setAdminUp(true);
  t.same([a.link.adminUp, a.link.carrier], [true, true], 'the cable was plugged meanwhile');
});

t.test('factory: ports by type name, options checked, errors name the port', async (t) => {
  t.same(portTypeNames().sort(), ['geneve', 'gre', 'internal', 'memory', 'patch', 'system', 'vxlan']);
  t.equal(portType('').name, 'system', '"" is "system", as in OVS');
  const m = createPort({ name: 'mem0', type: 'memory', options: { mac: '02:AA:00:00:00:01', speed: '1000' } });
  t.ok(m instanceof MemoryPort);
  t.same(m.readLink(), { adminUp: true, carrier: true, hwAddr: '02:aa:00:00:00:01', speedMbps: 1000 });
  t.throws(() => createPort({ name: 'x', type: 'stt' }), new PortError('unknown port type "stt" (known: system, internal, memory, patch, vxlan, geneve, gre)'));
  t.throws(() => createPort({ name: 'x', type: 'memory', options: { peer: 'y' } }), /port x: type memory has no option "peer" \(it has mac, speed\)/);
  t.throws(() => createPort({ name: 'x', type: 'system', options: { a: 1 } }), /port x: type system has no option "a"$/);
  t.throws(() => createPort({ name: 'x', type: 'memory', options: { mac: 'nope' } }), /port x: mac "nope" is not a MAC address/);
  t.throws(() => createPort({ name: 'x', type: 'memory', options: { speed: 'fast' } }), /port x: speed "fast" is not a number/);
  t.throws(() => createPort({ name: 'nosuchif9' }), new PortError('interface nosuchif9 does not exist'));
  t.throws(() => createPort({ name: 'a/b' }), /"a\/b" is not a valid interface name/);
  t.throws(() => createPort({ name: 'x'.repeat(16), type: 'internal' }), /is not a valid interface name/);
  t.doesNotThrow(() => checkInterfaceName('veth0'));
});

t.test('factory: a new type is one registration', async (t) => {
  const made: string[] = [];
  registerPortType({
    name: 'test-loop',
    aliases: ['loop'],
    options: ['n'],
    create(name, options): NetPort {
      made.push(`${name}:${String(options['n'])}`);
      return new MemoryPort(name);
    },
  });
  t.ok(createPort({ name: 'l1', type: 'loop', options: { n: 3 } }) instanceof MemoryPort);
  t.same(made, ['l1:3']);
  t.ok(portTypeNames().includes('test-loop'));
  t.throws(() => registerPortType({ name: 'memory', options: [], create: () => new MemoryPort('z') }), /port type "memory" is already registered/);
});
