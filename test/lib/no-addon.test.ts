/**
 * Everything but the raw-socket port runs without the C addon: a child Node process imports the
 * switch, agent and datapath modules from a copy of the build that has no addon anywhere it could
 * be found, with native loading itself made to fail, and runs a switch on memory ports (a frame
 * forwarded, an OpenFlow handshake and FEATURES_REPLY over TCP). Only when a raw-socket port is
 * opened is the addon asked for, and that fails with a message naming what to build.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, ensureBuilt } from '../helpers/ofswitch-process.js';

/** Runs in the child: a switch on memory ports, a frame through it, a FEATURES_REQUEST over TCP. */
const CHILD = `
import { connect } from 'node:net';
import { createSwitch } from './dist/index.js';
import { Agent } from './dist/lib/agent.js';
import { Datapath } from './dist/datapath/datapath.js';
const report = { loaded: ['Agent', 'Datapath'].filter((n, i) => typeof [Agent, Datapath][i] === 'function') };
const sw = createSwitch({ datapathId: 0x77n });
const a = sw.addPort({ name: 'a', type: 'memory' }).device;
const b = sw.addPort({ name: 'b', type: 'memory' }).device;
const got = b.nextFrame();
a.inject(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x88, 0xb5, ...new Array(46).fill(7)]));
report.forwarded = (await got).length;
const { port } = await sw.addListener('ptcp:0:127.0.0.1');
report.featuresReplyType = await new Promise((resolve, reject) => {
  const s = connect(port, '127.0.0.1');
  let buf = Buffer.alloc(0);
  s.on('connect', () => s.write(Buffer.from([1, 0, 0, 8, 0, 0, 0, 1, 1, 5, 0, 8, 0, 0, 0, 2])));
  s.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 8 && buf.length >= buf.readUInt16BE(2)) {
      const type = buf[1];
      const dpid = type === 6 ? buf.readBigUInt64BE(8) : 0n;
      buf = buf.subarray(buf.readUInt16BE(2));
      if (type === 6) { report.dpid = Number(dpid); s.destroy(); resolve(type); }
    }
  });
  s.on('error', reject);
});
try {
  sw.addPort({ name: 'lo' });
  report.rawPort = 'opened';
} catch (err) {
  report.rawPort = err.message;
}
report.ports = sw.ports().map((p) => p.name);
await sw.close();
process.stdout.write(JSON.stringify(report));
`;

/** Loaded first in the child: any native addon load fails, and is counted. */
const NO_NATIVE = `
process.dlopen = (module, filename) => {
  process.stderr.write('dlopen ' + filename + '\\n');
  throw new Error('native addons are unavailable here');
};
`;

t.test('protocol, flow table, datapath, agent and switch run on memory ports without the addon', async (t) => {
  ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'ofswitch-no-addon-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const part of ['index.js', 'protocol', 'flowtable', 'bond', 'datapath', 'collectors', 'sflow', 'netflow', 'journal', 'lib', 'unixctl', 'ovsdb', 'qos', 'stp', 'oam', 'ipfix']) cpSync(join(ROOT, 'dist', part), join(dir, 'dist', part), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'ofswitch-copy', type: 'module' }));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(join(dir, 'child.mjs'), CHILD);
  writeFileSync(join(dir, 'no-native.mjs'), NO_NATIVE);
  const r = spawnSync(process.execPath, ['--import', './no-native.mjs', 'child.mjs'], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
  t.equal(r.status, 0, `the child ran to the end${r.stderr ? `: ${r.stderr}` : ''}`);
  t.not(r.stdout, '', 'and reported');
  const report = JSON.parse(r.stdout) as Record<string, unknown>;
  t.same(report['loaded'], ['Agent', 'Datapath']);
  t.equal(report['forwarded'], 60, 'a frame went from memory port a to memory port b');
  t.equal(report['featuresReplyType'], 6, 'the agent answered FEATURES_REQUEST');
  t.equal(report['dpid'], 0x77);
  t.match(report['rawPort'], /^af_packet addon not built \(run npm run build:native\): looked for .*af_packet\.node/, 'a raw-socket port asks for the addon only when it opens');
  t.same(report['ports'], ['a', 'b'], 'and the failed port left nothing behind');
  t.equal(r.stderr, '', 'no native module was even tried');
});
