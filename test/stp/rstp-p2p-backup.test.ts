/**
 * The RSTP machine (stp/rstp.ts) in process, with BPDUs carried by hand between bridges:
 * - Port other_config rstp-admin-p2p-mac as OVS's bridge.c and lib/rstp.c read it (0 force false,
 *   1 force true, the default, 2 auto = false, other numbers ignored, no number = 1) and what a
 *   port that is not point-to-point does (lib/rstp-state-machines.c record_agreement, edge_delay):
 *   the far end's agreement is not recorded, so the designated port does not forward on it; it
 *   forwards as an auto edge once edgeDelayWhile ran out after the last BPDU it heard, or,
 *   without auto-edge, after two forward delays (through Learning).
 * - A backup port's rbWhile (17.29 BACKUP_PORT): a port that was a backup within 2 hello times
 *   does not forward at once when it becomes the root port; it waits for rbWhile.
 */
import t from 'tap';
import { bridgeId, type Bpdu } from '../../stp/bpdu.js';
import { Rstp } from '../../stp/rstp.js';
import { spanningTreeFromOtherConfig, resolveSpanningTree } from '../../lib/spanning-tree.js';
import { Switch } from '../../lib/switch.js';
import { parseCommandLine, UsageError } from '../../lib/options.js';

const port = (name: string, portNum: number, pathCost: number) => ({ name, portNum, priority: 128, pathCost });

/** Wires: [bridge, port] -> [bridge, port]; BPDUs are delivered by `deliver`. */
class Wires {
  readonly bridges = new Map<string, Rstp>();
  readonly ends = new Map<string, string[]>();
  readonly queue: { to: string; bpdu: Bpdu }[] = [];
  readonly heard: { from: string; bpdu: Bpdu }[] = [];
  add(name: string, priority: number, mac: bigint, times: { maxAge?: number; forwardDelay?: number } = {}): Rstp {
    const r = new Rstp({ name, bridgeId: bridgeId(priority, mac), ...times }, {
      send: (key, bpdu) => {
        this.heard.push({ from: `${name}:${key}`, bpdu });
        for (const to of this.ends.get(`${name}:${key}`) ?? []) this.queue.push({ to, bpdu });
      },
      flush: () => undefined,
    });
    this.bridges.set(name, r);
    return r;
  }
  join(a: string, b: string): void {
    this.ends.set(a, [...(this.ends.get(a) ?? []), b]);
    this.ends.set(b, [...(this.ends.get(b) ?? []), a]);
  }
  deliver(): void {
    for (let n = 0; this.queue.length > 0 && n < 10_000; n++) {
      const { to, bpdu } = this.queue.shift()!;
      const [name, key] = to.split(':') as [string, string];
      this.bridges.get(name)!.receive(Number(key), bpdu);
    }
  }
  run(ms: number, step = 100): void {
    for (let t = 0; t < ms; t += step) {
      for (const b of this.bridges.values()) b.tick(step);
      this.deliver();
    }
  }
}

t.test('rstp-admin-p2p-mac: parsed as OVS reads it', async (t) => {
  const problems: string[] = [];
  const ports = new Map<string, Record<string, string>>(Object.entries({
    p0: { 'rstp-admin-p2p-mac': '0' }, p1: { 'rstp-admin-p2p-mac': '1' }, p2: { 'rstp-admin-p2p-mac': '2' },
    p7: { 'rstp-admin-p2p-mac': '7' }, px: { 'rstp-admin-p2p-mac': 'x' }, pn: {} as Record<string, string>,
  }));
  const spec = spanningTreeFromOtherConfig('rstp', {}, ports, problems);
  t.same(Object.fromEntries(Object.entries(spec.ports ?? {}).map(([k, v]) => [k, v.adminP2p])), { p0: 0, p1: 1, p2: 2, p7: 'ignored', px: 1 });
  t.match(problems.join('\n'), /port p7: other_config:rstp-admin-p2p-mac 7 is not 0, 1 or 2: ignored/);
  t.match(problems.join('\n'), /port px: other_config:rstp-admin-p2p-mac "x" is not a number/);
  const resolved = resolveSpanningTree(spec, 'br', '02:00:00:00:00:aa', ['p0', 'p1', 'p2', 'p7', 'px', 'pn'].map((name, i) => ({ name, ofport: i + 1, type: '', speedMbps: 10000 })));
  t.same(resolved.ports.map((p) => [p.name, p.adminP2p]), [['p0', 0], ['p1', 1], ['p2', 2], ['p7', undefined], ['px', 1], ['pn', 1]]);
  const stp = resolveSpanningTree(spanningTreeFromOtherConfig('stp', {}, new Map([['p0', { 'rstp-admin-p2p-mac': '0' }]]), []), 'br', '02:00:00:00:00:aa', [{ name: 'p0', ofport: 1, type: '', speedMbps: 10000 }]);
  t.equal(stp.ports[0]!.adminP2p, undefined, 'not an STP key');
});

function pair(p2p: boolean, autoEdge: boolean) {
  const w = new Wires();
  const a = w.add('a', 4096, 0xaan, { maxAge: 6, forwardDelay: 4 });
  const b = w.add('b', 32768, 0xbbn, { maxAge: 6, forwardDelay: 4 });
  w.join('a:1', 'b:1');
  a.addPort(1, port('a1', 1, 2000), true, { p2p, autoEdge });
  b.addPort(1, port('b1', 1, 2000), true);
  w.deliver();
  return { w, a, b };
}

t.test('a point-to-point port forwards on the agreement', async (t) => {
  const { w, a, b } = pair(true, true);
  t.equal(b.roleOf(1), 'Root');
  t.ok(w.heard.some((h) => h.from === 'b:1' && h.bpdu.type === 'rstp' && (h.bpdu.flags & 0x40) !== 0), 'b agreed');
  t.equal(a.stateOf(1), 'Forwarding', 'at once');
  t.equal(a.p2pOf(1), true);
});

t.test('not point-to-point: the agreement is not recorded; two forward delays, through Learning', async (t) => {
  const { w, a, b } = pair(false, true);
  t.equal(b.roleOf(1), 'Root');
  t.ok(w.heard.some((h) => h.from === 'b:1' && h.bpdu.type === 'rstp' && (h.bpdu.flags & 0x40) !== 0), 'b agreed');
  t.equal(a.stateOf(1), 'Discarding', 'a does not forward on it');
  w.run(3900);
  t.equal(a.stateOf(1), 'Discarding', 'nor later: b answers each proposal (every hello time), so no auto edge either');
  w.run(200);
  t.equal(a.stateOf(1), 'Learning', 'after one forward delay');
  w.run(4000);
  t.equal(a.stateOf(1), 'Forwarding', 'after two');
  t.notOk(a.p2pOf(1));
});

t.test('auto edge, nothing heard: after 3 s when point-to-point, after max age when not', async (t) => {
  for (const p2p of [true, false]) {
    const w = new Wires();
    const a = w.add('a', 4096, 0xaan, { maxAge: 6, forwardDelay: 15 });
    a.addPort(1, port('a1', 1, 2000), true, { p2p });
    w.run(2900);
    t.equal(a.stateOf(1), 'Discarding', `p2p ${p2p}: not before 3 s`);
    w.run(1100);
    t.equal(a.stateOf(1), p2p ? 'Forwarding' : 'Discarding', `p2p ${p2p}: at 4 s`);
    w.run(3000);
    t.equal(a.stateOf(1), 'Forwarding', `p2p ${p2p}: at 7 s (max age 6 s)`);
  }
});

t.test('not point-to-point, no auto edge: two forward delays, through Learning', async (t) => {
  const { w, a } = pair(false, false);
  w.run(2000);
  t.equal(a.stateOf(1), 'Discarding');
  w.run(2500);
  t.equal(a.stateOf(1), 'Learning', 'after one forward delay');
  w.run(4000);
  t.equal(a.stateOf(1), 'Forwarding', 'after two');
  a.setP2p(1, true);
  t.equal(a.p2pOf(1), true, 'changed without restarting the port');
  t.equal(a.stateOf(1), 'Forwarding');
  a.setP2p(9, true);
  t.equal(a.p2pOf(9), undefined);
});

t.test('a backup port waits for rbWhile before it forwards as the root port', async (t) => {
  const w = new Wires();
  const x = w.add('x', 32768, 0xbbn);
  // ports 1 and 2 on one shared LAN (each hears the other); port 3 towards the root R (hand-made BPDUs)
  w.join('x:1', 'x:2');
  x.addPort(1, port('x1', 1, 20000), true, { autoEdge: false });
  x.addPort(2, port('x2', 2, 2000), true, { autoEdge: false });
  x.addPort(3, port('x3', 3, 2000), true, { autoEdge: false });
  const R = bridgeId(4096, 0xaan);
  const fromRoot = (flags: number): Bpdu => ({ type: 'rstp', flags, rootId: R, rootPathCost: 0, bridgeId: R, portId: 0x8001, messageAge: 0, maxAge: 20 << 8, helloTime: 2 << 8, forwardDelay: 15 << 8 });
  const DESIGNATED_FORWARDING = 0x0c | 0x30; // role designated, learning, forwarding
  x.receive(3, fromRoot(DESIGNATED_FORWARDING | 0x02)); // with a proposal
  w.deliver();
  w.run(1000);
  x.receive(3, fromRoot(DESIGNATED_FORWARDING));
  w.deliver();
  t.equal(x.roleOf(3), 'Root');
  t.equal(x.roleOf(1), 'Designated', 'the lower port id is the LAN\'s designated port');
  t.equal(x.roleOf(2), 'Backup', 'the other hears its own bridge: backup');
  t.equal(x.stateOf(2), 'Discarding');
  t.match(x.show(), /  x2         Backup     Discarding 2000     128\.2\n/, 'rstp/show names it');
  t.same(x.portStatus(2), { ...x.portStatus(2), rstp_port_role: 'Backup', rstp_port_state: 'Discarding' });
  // The root's link goes; the root's information now comes over the shared LAN: port 2 (cheaper) is the root port.
  x.setPortEnabled(3, false);
  x.receive(1, fromRoot(DESIGNATED_FORWARDING));
  x.receive(2, fromRoot(DESIGNATED_FORWARDING));
  w.deliver();
  t.equal(x.roleOf(2), 'Root', 'the former backup port is the root port');
  t.equal(x.stateOf(2), 'Discarding', 'it does not forward at once: rbWhile runs (2 hello times)');
  for (let s = 0; s < 3; s++) {
    x.receive(1, fromRoot(DESIGNATED_FORWARDING));
    x.receive(2, fromRoot(DESIGNATED_FORWARDING));
    w.run(1000);
  }
  t.equal(x.stateOf(2), 'Discarding', '3 s later still not');
  for (let s = 0; s < 2; s++) {
    x.receive(1, fromRoot(DESIGNATED_FORWARDING));
    x.receive(2, fromRoot(DESIGNATED_FORWARDING));
    w.run(1000);
  }
  t.equal(x.stateOf(2), 'Forwarding', 'after rbWhile (4 s), long before the forward delay (15 s)');
  t.equal(x.roleOf(1), 'Alternate');
});

t.test('rstp-admin-p2p-mac through the Switch: applied only when it differs from the port\'s admin value (0 at first), as lib/rstp.c', async (t) => {
  const sw = new Switch({ linkPollMs: 0 });
  t.teardown(() => sw.close());
  sw.addPort({ name: 'm1', type: 'memory', options: { mac: '02:00:00:00:0e:01' } });
  const oper = () => (sw.spanningTree() as Rstp).p2pOf(1);
  const set = (adminP2p?: 0 | 1 | 2 | 'ignored') => sw.setSpanningTree({ protocol: 'rstp', name: 'p', ...(adminP2p !== undefined ? { ports: { m1: { adminP2p } } } : {}) });
  set(0);
  t.equal(oper(), true, '0 on a new port: nothing changes (its admin value is 0 already), point-to-point');
  set(2);
  t.equal(oper(), false, '2 (auto): not point-to-point');
  set('ignored');
  t.equal(oper(), false, 'a value OVS ignores: as it was');
  set(0);
  t.equal(oper(), false, '0 after 2: force false');
  set(1);
  t.equal(oper(), true, '1: force true');
  set(0);
  t.equal(oper(), false, '0 after 1: force false');
  set();
  t.equal(oper(), true, 'no key: 1, the default');
});

t.test('rstp-admin-p2p-mac in flag mode\'s --config file', async (t) => {
  const parse = (config: unknown) => parseCommandLine(['--config', 'c.json'], () => JSON.stringify(config));
  const r = parse({ rstpEnable: true, portOtherConfig: { v1: { 'rstp-admin-p2p-mac': 2 } } });
  t.same(r.kind === 'run' ? r.options.spanningTree : null, { protocol: 'rstp', ports: { v1: { adminP2p: 2 } }, name: 'ofswitch' });
  t.throws(() => parse({ rstpEnable: true, portOtherConfig: { v1: { 'rstp-admin-p2p-mac': 3 } } }), { name: UsageError.name, message: /rstp-admin-p2p-mac 3 is not 0, 1 or 2/ });
});
