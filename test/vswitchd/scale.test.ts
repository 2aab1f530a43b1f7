/**
 * 100 bridges with 10 ports each, set up and torn down by plain ovs-vsctl (each command waiting
 * for the daemon, within its timeout), and memory/show saying what they cost.
 *
 * The ports are in-memory ports: the daemon runs with `--enable-dummy=override`, ovs-vswitchd's
 * own option for its test suite, so system and internal interfaces (the bridges' own included)
 * make no kernel device. This measures the daemon and the database path, which is what scales
 * with bridges and ports here; kernel ports cost per port what the datapath costs them (an
 * AF_PACKET ring, a veth pair for an internal port, link polling), which 1100 of them on a shared
 * test machine would be about, not the daemon.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { parseCommandLine } from '../../lib/options.js';
import { uniqueName } from '../helpers/netns.js';
import { CLI } from '../helpers/ofswitch-process.js';
import { startOfswitchDaemon } from '../helpers/ofswitch-daemon.js';

const BRIDGES = 100;
const PORTS = 10;

t.test(`${BRIDGES} bridges of ${PORTS} ports, by ovs-vsctl, and what memory/show says they cost`, async (t) => {
  const sw = await startOfswitchDaemon(t, { args: ['--enable-dummy=override'] });
  const bridge = (b: number): string => uniqueName(`s${b}`);
  const port = (b: number, p: number): string => uniqueName(`s${b}p${p}`);
  const before = await sw.appctl(['memory/show']);
  t.match(before, /^bridges:0 heap-kB:\d+ ports:0 rss-kB:\d+ rules:0\n$/, 'memory/show before: nothing');

  let failures = 0;
  const started = Date.now();
  for (let b = 0; b < BRIDGES; b++) {
    const args = ['add-br', bridge(b)];
    for (let p = 0; p < PORTS; p++) args.push('--', 'add-port', bridge(b), port(b, p));
    if (b === 0) args.push('--', 'set', 'Interface', port(0, 0), 'type=dummy'); // the dummy type itself
    const r = await sw.tryVsctl(args);
    if (r.code !== 0 || r.stderr !== '') {
      failures++;
      t.fail(`add-br ${bridge(b)} with ${PORTS} ports: exit ${r.code}, ${r.stderr.trim()}`);
    }
    if (b === 0) t.notOk(existsSync(`/sys/class/net/${bridge(0)}`), 'the first bridge made no kernel device');
  }
  const setUpMs = Date.now() - started;
  t.equal(failures, 0, `${BRIDGES} plain ovs-vsctl add-br, each with ${PORTS} add-port, exited 0 silently within their timeout`);

  const memory = await sw.appctl(['memory/show']);
  const m = /^bridges:(\d+) heap-kB:(\d+) ports:(\d+) rss-kB:(\d+) rules:(\d+)\n$/.exec(memory);
  t.ok(m, `memory/show: ${memory.trim()}`);
  t.equal(m?.[1], String(BRIDGES), 'bridges:100');
  t.equal(m?.[3], String(BRIDGES * (PORTS + 1)), 'ports:1100 (10 each and the bridge\'s own)');
  t.equal(m?.[5], String(BRIDGES), 'rules:100 (each standalone bridge\'s NORMAL flow)');
  t.comment(`set up in ${setUpMs} ms; ${memory.trim()}`);

  const list = await sw.appctl(['ofproto/list']);
  t.equal(list.trim().split('\n').length, BRIDGES, 'ofproto/list names every bridge');
  const dpif = await sw.appctl(['dpif/show']);
  t.equal(dpif.split('\n').filter((l) => /^ {4}\S+ (\d+|LOCAL): \(memory\)$/.test(l)).length, BRIDGES * (PORTS + 1), 'dpif/show: every port, in memory');
  const ofports = (await sw.vsctl(['--bare', '--columns=ofport', 'list', 'Interface'])).split('\n').filter((l) => l.trim() !== '');
  t.equal(ofports.length, BRIDGES * (PORTS + 1), 'every Interface row has its ofport written');
  t.equal(ofports.filter((n) => n === '65534').length, BRIDGES, 'each bridge its LOCAL port');
  t.notOk(ofports.includes('-1'), 'none failed');
  t.match(await sw.vsctl(['get', 'Open_vSwitch', '.', 'iface_types']), /\bdummy\b/, 'iface_types names dummy');
  const last = bridge(BRIDGES - 1);
  const show = await sw.ofctl(['show', last]);
  t.equal((show.match(/^ \d+\(/gm) ?? []).length, PORTS, 'the last bridge answers ovs-ofctl show by name, with its ports');

  const removing = Date.now();
  for (let b = 0; b < BRIDGES; b++) {
    const r = await sw.tryVsctl(['del-br', bridge(b)]);
    if (r.code !== 0 || r.stderr !== '') {
      failures++;
      t.fail(`del-br ${bridge(b)}: exit ${r.code}, ${r.stderr.trim()}`);
    }
  }
  t.equal(failures, 0, `${BRIDGES} plain ovs-vsctl del-br exited 0 silently within their timeout`);
  const after = await sw.appctl(['memory/show']);
  t.match(after, /^bridges:0 heap-kB:\d+ ports:0 rss-kB:\d+ rules:0\n$/, 'memory/show after: nothing left');
  t.equal(await sw.appctl(['ofproto/list']), '', 'ofproto/list: no bridge');
  t.comment(`torn down in ${Date.now() - removing} ms; ${after.trim()}`);
});

t.test('--enable-dummy is a database-mode option, with or without =override only', async (t) => {
  const run = promisify(execFile);
  for (const [args, message] of [
    [['--enable-dummy'], /--enable-dummy needs --ovsdb/],
    [['--ovsdb', 'unix:/nonexistent/db.sock', '--enable-dummy=all'], /--enable-dummy: "all" is not "override"/],
  ] as const) {
    const r = await run(process.execPath, [CLI, ...args]).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    t.equal(r.code, 2, `ofswitch ${args.join(' ')} exits 2`);
    t.match(r.stderr, message, 'naming the problem');
  }
  const parsed = (args: string[]): unknown => {
    const c = parseCommandLine(args);
    return c.kind === 'daemon' ? c.options.dummy : c.kind;
  };
  t.equal(parsed(['--ovsdb', 'unix:/x/db.sock', '--enable-dummy']), 'on', '--enable-dummy alone: dummy interfaces');
  t.equal(parsed(['--enable-dummy=override', '--ovsdb', 'unix:/x/db.sock']), 'override', '=override: every interface');
  t.equal(parsed(['--ovsdb', 'unix:/x/db.sock']), undefined, 'neither without it');
});
