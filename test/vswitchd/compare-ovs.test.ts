/**
 * The same ovs-vsctl steps against Open vSwitch itself (ovs-vswitchd in userspace,
 * datapath_type=netdev, its own ovsdb-server in its own namespace) and against ofswitch serving
 * its own ovsdb-server. After every step the two databases must read the same through ovs-vsctl:
 * `show`, `list Interface`, and selected columns of `list Bridge`, `list Port`, `list Controller`
 * and `list Open_vSwitch`, once what legitimately varies between any two runs is normalised
 * (UUIDs, MAC addresses, ifindex, datapath ids, statistics values) -- except for the differences
 * written down here, each of which must stay for the reason given. Each difference is applied
 * below by dropping (or rewriting) exactly what it names on both sides before comparing; nothing
 * else is touched.
 *
 * DIFFERENCES (ofswitch vs Open vSwitch 3.1 ovs-vswitchd with datapath_type=netdev):
 */
const DIFFERENCES = {
  ovsVersion: {
    what: 'Open_vSwitch ovs_version (and the `ovs_version:` line of ovs-vsctl show)',
    reason:
      'ofswitch writes its own version, as ovs-ctl writes Open vSwitch\'s when it starts the daemons; the reference is started ' +
      'without ovs-ctl, so its column stays empty. Claiming "3.1.0" would make scripts believe in features ofswitch lacks.',
  },
  ifaceTypes: {
    what: 'Open_vSwitch iface_types',
    reason: 'the interface types each implements: ofswitch has system, internal, patch, vxlan, geneve and gre; Open vSwitch also stt, erspan, ip6gre, tap, afxdp...',
  },
  unknownTypeError: {
    what: 'Interface error text of an unknown type (type=foo)',
    reason:
      'Open vSwitch says "(Address family not supported by protocol)" (its EAFNOSUPPORT from netdev_open); ofswitch says ' +
      '"(type "foo" is not supported by ofswitch)", which tells the operator what is wrong. Both: ofport -1 and ' +
      '"could not open network device NAME (...)".',
  },
  interfaceDriverStatus: {
    what: 'Interface status keys driver_name, driver_version, firmware_version',
    reason: 'Open vSwitch reads them with the ethtool ioctl (ETHTOOL_GDRVINFO); ofswitch has no ethtool ioctl and writes no driver keys.',
  },
  linkResets: {
    what: 'Interface link_resets',
    reason: 'Open vSwitch counts carrier changes from netlink (0 for a new interface); ofswitch does not count them yet and leaves the column empty.',
  },
  internalLinkUp: {
    what: 'Interface admin_state and link_state of internal interfaces (the bridge\'s own included)',
    reason:
      'Open vSwitch creates its internal tap interface down and leaves it to the operator; ofswitch\'s internal interface is ' +
      'a veth pair which it brings up (both ends) so that its end can carry frames: up/up instead of down/down.',
  },
  statisticsKeys: {
    what: 'Interface statistics keys rx_missed_errors and rx_multicast_packets',
    reason:
      'Open vSwitch copies them from the kernel\'s counters of the device; ofswitch counts what OpenFlow port statistics carry ' +
      '(the other twelve keys, the same names) in its datapath. Statistics values always differ and are normalised.',
  },
  controllerStatus: {
    what: 'Controller status of an active (tcp:) controller',
    reason:
      'Open vSwitch refreshes it every few seconds with rconn\'s details (last_error, sec_since_connect, ...); ofswitch writes ' +
      'state, as soon as it changes, and while connected its packet-in counters (packet-in-*, which Open vSwitch writes only ' +
      'when controller_rate_limit is set: ofswitch always limits) and overflow drops. Compared: target, is_connected and role.',
  },
  danglingPatch: {
    what: 'Interface link_state of a patch interface without a usable peer',
    reason:
      'Open vSwitch says up (its patch netdev has no carrier to lose); ofswitch\'s patch port has its link down until both ' +
      'ends name each other, so that controllers learn from PORT_STATUS when the pair is complete. The error is the same.',
  },
} as const;

import t, { type Test } from 'tap';
import { createVethPair, run, setLinkUp, uniqueName } from '../helpers/netns.js';
import { freePort } from '../helpers/free-port.js';
import { startOfswitchDaemon } from '../helpers/ofswitch-daemon.js';
import { startOvsUserspace } from '../helpers/ovs-reference.js';
import type { CommandResult } from '../helpers/ovsdb-server.js';

type Side = 'ofswitch' | 'ovs';

/** One side as the test drives it: ovs-vsctl against its database. */
interface Target {
  readonly side: Side;
  tryVsctl(args: readonly string[]): Promise<CommandResult>;
  /** Its log directory, named in ovs-vsctl's error messages. */
  readonly dir: string;
}

/** A `list` record: column -> value as printed. */
type Rec = Map<string, string>;

/** Splits `{k=v, k2="v 2"}` or `[a, b]` at top-level commas (not inside quotes). */
function splitItems(inner: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i] as string;
    if (c === '"' && inner[i - 1] !== '\\') quoted = !quoted;
    if (c === ',' && !quoted && inner[i + 1] === ' ') {
      out.push(cur);
      cur = '';
      i++;
      continue;
    }
    cur += c;
  }
  if (cur !== '') out.push(cur);
  return out;
}

function parseMap(value: string): Map<string, string> {
  const m = new Map<string, string>();
  if (!value.startsWith('{') || value === '{}') return m;
  for (const item of splitItems(value.slice(1, -1))) {
    const eq = item.indexOf('=');
    m.set(item.slice(0, eq), item.slice(eq + 1));
  }
  return m;
}

function formatMap(m: Map<string, string>): string {
  return `{${[...m].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${v}`).join(', ')}}`;
}

function parseList(text: string): Rec[] {
  const records: Rec[] = [];
  let cur: Rec | null = null;
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      cur = null;
      continue;
    }
    const m = /^(\S+)\s*: (.*)$/.exec(line);
    if (!m) throw new Error(`unexpected list line: ${line}`);
    if (!cur) records.push((cur = new Map()));
    cur.set(m[1] as string, m[2] as string);
  }
  return records;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const MAC = /^"([0-9a-f]{2}:){5}[0-9a-f]{2}"$/;

/**
 * What varies between any two runs, made fixed. A value not of its form is added to `malformed`
 * (asserted empty, once per read: the number of assertions must not depend on which columns the
 * daemons' periodic refreshes had written yet).
 */
function normaliseRecord(side: Side, table: string, r: Rec, malformed: string[]): Rec {
  const out = new Map<string, string>();
  const check = (v: string, form: RegExp, what: string): void => {
    if (!form.test(v)) malformed.push(`${side}: ${table} ${what} is not ${String(form)}: ${v}`);
  };
  for (const [col, raw] of r) {
    let v = raw.replace(UUID, '<uuid>');
    if (col === 'mac_in_use' && v !== '[]') {
      check(v, MAC, 'mac_in_use');
      v = '<mac>';
    }
    if (col === 'ifindex' && v !== '[]') {
      check(v, /^\d+$/, 'ifindex');
      v = '<ifindex>';
    }
    if (col === 'cur_cfg' || col === 'next_cfg') v = '<cfg>'; // compared with each other in acknowledged()
    if (col === 'datapath_id' && v !== '[]') {
      check(v, /^"[0-9a-f]{16}"$/, 'datapath_id');
      v = '<dpid>';
    }
    if (col === 'statistics' && v !== '{}') {
      const m = parseMap(v);
      for (const [k, n] of m) {
        check(n, /^\d+$/, `statistics ${k}`);
        m.set(k, 'N');
      }
      v = formatMap(m);
    }
    out.set(col, v);
  }
  return out;
}

/** The documented differences, applied to one side's normalised records of `table`. */
function applyDifferences(table: string, r: Rec): void {
  if (table === 'Interface') {
    const status = parseMap(r.get('status') ?? '{}');
    for (const k of ['driver_name', 'driver_version', 'firmware_version']) status.delete(k); // DIFFERENCES.interfaceDriverStatus
    r.set('status', formatMap(status));
    r.delete('link_resets'); // DIFFERENCES.linkResets
    if (r.get('type') === 'internal') {
      // DIFFERENCES.internalLinkUp
      r.delete('admin_state');
      r.delete('link_state');
    }
    const stats = parseMap(r.get('statistics') ?? '{}');
    stats.delete('rx_missed_errors'); // DIFFERENCES.statisticsKeys
    stats.delete('rx_multicast_packets');
    r.set('statistics', formatMap(stats));
    // Whether a row has statistics yet depends on when the 5-second refresh last ran, on each side.
    if (r.get('statistics') === '{}' || r.get('ofport') !== '-1') r.set('statistics', '<statistics>');
    if (r.get('type') === 'patch' && r.get('error') !== '[]') r.delete('link_state'); // DIFFERENCES.danglingPatch
    if (r.get('type') === 'foo') r.set('error', (r.get('error') ?? '').replace(/ \(.*\)"$/, ' (...)"')); // DIFFERENCES.unknownTypeError
  }
  if (table === 'Open_vSwitch') {
    r.delete('ovs_version'); // DIFFERENCES.ovsVersion
    r.delete('iface_types'); // DIFFERENCES.ifaceTypes
  }
  if (table === 'Controller' && (r.get('target') ?? '').startsWith('"tcp:')) r.delete('status'); // DIFFERENCES.controllerStatus
}

/** ovs-vsctl show as a tree with its children in a fixed order (show prints ports in UUID order). */
function canonicalShow(text: string): string {
  interface Node {
    line: string;
    children: Node[];
  }
  const root: Node = { line: '', children: [] };
  const stack: { indent: number; node: Node }[] = [{ indent: -1, node: root }];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const indent = line.length - line.trimStart().length;
    while ((stack[stack.length - 1] as { indent: number }).indent >= indent) stack.pop();
    const node = { line: line.trim(), children: [] };
    (stack[stack.length - 1] as { node: Node }).node.children.push(node);
    stack.push({ indent, node });
  }
  const render = (n: Node, depth: number): string[] => {
    const kids = n.children.map((c) => render(c, depth + 1).join('\n')).sort();
    return [...(n.line === '' ? [] : ['    '.repeat(depth - 1) + n.line]), ...kids];
  };
  return render(root, 0).join('\n');
}

function normaliseShow(text: string): string {
  const lines = text
    .trim()
    .split('\n')
    .slice(1) // the Open_vSwitch row's UUID
    .filter((l) => !/^ {4}ovs_version: /.test(l)) // DIFFERENCES.ovsVersion
    .map((l) => l.replace(/(error: "could not open network device \S+ )\((Address family not supported by protocol|type \\"foo\\" is not supported by ofswitch)\)"/, '$1(...)"')); // DIFFERENCES.unknownTypeError
  return canonicalShow(lines.join('\n'));
}

const SELECTED: Readonly<Record<string, readonly string[]>> = {};

/** ovs-vsctl ARGS, asserted to exit 0 and (unless it lists a table that may be empty) to print something. */
async function vsctlOk(t: Test, target: Target, args: readonly string[], options: { mayBeEmpty?: boolean } = {}): Promise<string> {
  const r = await target.tryVsctl(args);
  t.equal(r.code, 0, `${target.side}: ovs-vsctl ${args.join(' ')} exits 0${r.code ? ` (${r.stderr.trim()})` : ''}`);
  if (!options.mayBeEmpty) t.not(r.stdout.trim(), '', `${target.side}: ovs-vsctl ${args.join(' ')} prints something`);
  return r.stdout;
}

/** One read of a table, not asserted: records normalised, differences applied, sorted; what was malformed. */
interface TableRead {
  readonly result: CommandResult;
  readonly rows: string[];
  readonly malformed: string[];
}

async function readTable(target: Target, name: string): Promise<TableRead> {
  const columns = SELECTED[name];
  const result = await target.tryVsctl([...(columns ? [`--columns=${columns.join(',')}`] : []), 'list', name]);
  const malformed: string[] = [];
  const rows = result.code !== 0 ? [] : parseList(result.stdout)
    .map((r) => normaliseRecord(target.side, name, r, malformed))
    .map((r) => {
      applyDifferences(name, r);
      return [...r].map(([k, v]) => `${k}: ${v}`).join('\n');
    })
    .sort();
  return { result, rows, malformed };
}

/** A read asserted: ovs-vsctl exited 0, printed something (tables other than Open_vSwitch may be empty), every value of its form. */
function assertRead(t: Test, target: Target, name: string, read: TableRead): string[] {
  const { result } = read;
  t.equal(result.code, 0, `${target.side}: ovs-vsctl list ${name} exits 0${result.code ? ` (${result.stderr.trim()})` : ''}`);
  // Tables other than Open_vSwitch are empty before the first and after the last bridge (on both sides).
  if (name === 'Open_vSwitch') t.not(result.stdout.trim(), '', `${target.side}: ovs-vsctl list ${name} prints something`);
  t.same(read.malformed, [], `${target.side}: ${name}: UUIDs, MACs, ifindex, datapath ids and statistics have their forms`);
  return read.rows;
}

/** A table as compared (see readTable), asserted. */
async function table(t: Test, target: Target, name: string): Promise<string[]> {
  return assertRead(t, target, name, await readTable(target, name));
}

/** cur_cfg has caught up with next_cfg (the daemon acknowledged every change). */
async function acknowledged(t: Test, target: Target): Promise<void> {
  const text = await vsctlOk(t, target, ['--columns=cur_cfg,next_cfg', 'list', 'Open_vSwitch']);
  const r = parseList(text)[0];
  t.equal(r?.get('cur_cfg'), r?.get('next_cfg'), `${target.side}: cur_cfg = next_cfg`);
}

/**
 * Interface status columns are written by ovs-vswitchd a moment after the change (its status
 * update runs apart from reconfiguration): waits until every interface that runs has them. The
 * reads while waiting are not asserted (how many there are depends on the machine's speed); the
 * last one is. 30 s: a deadline for a loaded machine, which a settled pair reaches at once.
 */
async function settledInterfaces(t: Test, target: Target): Promise<string[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const read = await readTable(target, 'Interface');
    const pending = read.rows.filter((r) => !/^ofport: -1$/m.test(r) && (/^mac_in_use: \[\]$/m.test(r) || /^mtu: \[\]$/m.test(r)));
    if (read.result.code !== 0 || pending.length === 0 || Date.now() > deadline) return assertRead(t, target, 'Interface', read);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function veth(t: Test, name: string, ns?: string): Promise<void> {
  const peer = `${name}p`;
  if (ns) {
    await run('ip', ['link', 'add', name, 'type', 'veth', 'peer', 'name', peer], ns);
    await run('ip', ['link', 'set', name, 'up'], ns);
    await run('ip', ['link', 'set', peer, 'up'], ns);
  } else {
    await createVethPair(name, peer, t);
    await setLinkUp(name);
    await setLinkUp(peer);
  }
}

t.test('the same ovs-vsctl steps read back the same from Open vSwitch and from ofswitch', async (t) => {
  const ovs = await startOvsUserspace(t, { tag: 'cmp' });
  const sw = await startOfswitchDaemon(t);
  await sw.vsctl(['set', 'Open_vSwitch', '.', 'other_config:flow-limit=0']); // as the reference's set-up does
  const targets: Target[] = [
    { side: 'ofswitch', tryVsctl: (args) => sw.tryVsctl(args), dir: sw.dir },
    { side: 'ovs', tryVsctl: (args) => ovs.tryVsctl(args, { timeoutSec: 30 }), dir: ovs.dir },
  ];
  const br = uniqueName('cb');
  const br2 = uniqueName('cc');
  const v1 = uniqueName('c1');
  const v2 = uniqueName('c2');
  const i1 = uniqueName('ci');
  const nx = uniqueName('cn');
  const foo = uniqueName('cf');
  const pa = uniqueName('cpa');
  const pb = uniqueName('cpb');
  // The same names on both sides: the reference's in its namespace, ofswitch's in the root one.
  for (const name of [v1, v2]) {
    await veth(t, name);
    await veth(t, name, ovs.ns);
  }
  const service = await freePort(); // free here; the reference's namespace has nothing at all
  const unreachable = await freePort();

  const steps: readonly (readonly string[])[] = [
    ['add-br', br, '--', 'set', 'Bridge', br, 'datapath_type=netdev'],
    ['add-port', br, v1, '--', 'set', 'Interface', v1, 'ofport_request=5'],
    ['add-port', br, v2],
    ['add-port', br, i1, '--', 'set', 'Interface', i1, 'type=internal'],
    ['add-port', br, nx],
    ['add-port', br, foo, '--', 'set', 'Interface', foo, 'type=foo'],
    ['set', 'Interface', v1, 'ofport_request=8'],
    ['set', 'Interface', i1, 'ofport_request=8'],
    ['set-fail-mode', br, 'secure'],
    ['set', 'Port', v2, 'tag=10'],
    ['set', 'Port', v1, 'trunks=10,20', 'vlan_mode=trunk'],
    ['set-controller', br, `ptcp:${service}:127.0.0.1`, `tcp:127.0.0.1:${unreachable}`],
    ['add-br', br2, '--', 'set', 'Bridge', br2, 'datapath_type=netdev', 'fail_mode=standalone'],
    ['del-port', br, v2, '--', 'add-port', br2, v2, '--', 'set', 'Interface', v2, 'ofport_request=7'],
    ['add-port', br, pa, '--', 'set', 'Interface', pa, 'type=patch', `options:peer=${pb}`],
    ['add-port', br2, pb, '--', 'set', 'Interface', pb, 'type=patch', `options:peer=${pa}`],
    ['set', 'Interface', pb, `options:peer=${uniqueName('cpx')}`],
    ['del-port', br, pa, '--', 'del-port', br2, pb],
    ['del-controller', br],
    ['del-port', br, nx, '--', 'del-port', br, foo, '--', 'del-port', br, i1],
    ['del-br', br2],
    ['del-br', br],
  ];

  for (const step of steps) {
    await t.test(`ovs-vsctl ${step.join(' ')}`, async (t) => {
      // Both sides at once (each its own database and daemon): the step, then everything read back.
      const sides = await Promise.all(
        targets.map(async (target) => {
          const result = await target.tryVsctl(step);
          await acknowledged(t, target);
          const reads = new Map<string, string>();
          reads.set('Interface', (await settledInterfaces(t, target)).join('\n\n'));
          for (const name of ['Bridge', 'Port', 'Controller', 'Open_vSwitch']) reads.set(name, (await table(t, target, name)).join('\n\n'));
          reads.set('show', normaliseShow(await vsctlOk(t, target, ['show'])));
          return { result, reads };
        }),
      );
      const [ours, theirs] = sides as [(typeof sides)[0], (typeof sides)[0]];
      t.equal(ours.result.code, 0, `ofswitch: exits 0 (${ours.result.stderr.trim()})`);
      t.equal(theirs.result.code, 0, `ovs: exits 0 (${theirs.result.stderr.trim()})`);
      const stderr = (r: CommandResult, target: Target): string =>
        r.stderr.replaceAll(target.dir, 'LOGDIR').replace(/\(Address family not supported by protocol\)|\(type "foo" is not supported by ofswitch\)/, '(...)'); // DIFFERENCES.unknownTypeError
      t.equal(stderr(ours.result, targets[0] as Target), stderr(theirs.result, targets[1] as Target), 'the same messages on stderr');
      const reads: Record<string, [string, string]> = {};
      for (const [what, text] of ours.reads) reads[what] = [text, theirs.reads.get(what) ?? ''];
      for (const [what, [o, r]] of Object.entries(reads)) t.equal(o, r, `${what}: the same as Open vSwitch's`);
    });
  }

  await t.test('statistics carry the same keys (once both have written them)', async (t) => {
    for (const target of targets) {
      await vsctlOk(t, target, ['add-br', br, '--', 'set', 'Bridge', br, 'datapath_type=netdev', '--', 'add-port', br, v1], { mayBeEmpty: true });
    }
    // Polled without asserting (the number of polls depends on when each side's refresh runs), then asserted once.
    const keys = async (target: Target): Promise<string[]> => {
      const args = ['get', 'Interface', v1, 'statistics'];
      const deadline = Date.now() + 30_000;
      for (;;) {
        const r = await target.tryVsctl(args);
        if ((r.code === 0 && r.stdout.trim() !== '{}') || Date.now() > deadline) {
          t.equal(r.code, 0, `${target.side}: ovs-vsctl ${args.join(' ')} exits 0${r.code ? ` (${r.stderr.trim()})` : ''}`);
          return [...parseMap(r.stdout.trim()).keys()].sort();
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    const [ours, theirs] = await Promise.all([keys(targets[0] as Target), keys(targets[1] as Target)]);
    t.not(ours.length, 0, 'ofswitch wrote statistics');
    t.same(ours, theirs.filter((k) => k !== 'rx_missed_errors' && k !== 'rx_multicast_packets'), 'the same keys (DIFFERENCES.statisticsKeys aside)');
    t.same(
      theirs.filter((k) => !ours.includes(k)),
      ['rx_missed_errors', 'rx_multicast_packets'],
      'and the documented ones are the only ones missing',
    );
  });

  await t.test('the documented differences are still there (else the list above needs updating)', async (t) => {
    const [ours, theirs] = targets as [Target, Target];
    const get = async (target: Target, args: readonly string[]): Promise<string> => (await vsctlOk(t, target, ['get', ...args])).trim();
    t.not(await get(ours, ['Open_vSwitch', '.', 'ovs_version']), '[]', 'ovsVersion: ofswitch writes ovs_version');
    t.equal(await get(theirs, ['Open_vSwitch', '.', 'ovs_version']), '[]', 'ovsVersion: the reference does not');
    t.not(await get(ours, ['Open_vSwitch', '.', 'iface_types']), await get(theirs, ['Open_vSwitch', '.', 'iface_types']), 'ifaceTypes differ');
    t.notMatch(await get(ours, ['Interface', v1, 'status']), /driver_name/, 'interfaceDriverStatus: ofswitch writes no driver_name');
    t.match(await get(theirs, ['Interface', v1, 'status']), /driver_name=veth/, 'interfaceDriverStatus: Open vSwitch does');
    t.equal(await get(ours, ['Interface', v1, 'link_resets']), '[]', 'linkResets: ofswitch leaves link_resets empty');
    t.equal(await get(theirs, ['Interface', v1, 'link_resets']), '0', 'linkResets: Open vSwitch counts');
    t.equal(await get(ours, ['Interface', br, 'admin_state']), 'up', 'internalLinkUp: ofswitch\'s internal interface is up');
    t.equal(await get(theirs, ['Interface', br, 'admin_state']), 'down', 'internalLinkUp: Open vSwitch\'s is down');
  });

  t.comment(`documented differences:\n${Object.values(DIFFERENCES).map((d) => `- ${d.what}: ${d.reason}`).join('\n')}`);
});
