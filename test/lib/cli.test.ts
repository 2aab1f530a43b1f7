/**
 * The `ofswitch` command as a user meets it: --help, --version, one clear message and exit
 * status 2 for a bad option, a missing interface, a busy port; a clean stop on SIGTERM/SIGINT;
 * the visible NORMAL entry of a standalone switch without controllers; --config.
 */
import t from 'tap';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MATCH_ALL, OFPT, OFPST, OFPP, OFPAT } from '../../protocol/index.js';
import { OfClient } from '../helpers/of-client.js';
import { startOfswitch } from '../helpers/ofswitch-process.js';
import { freePort } from '../helpers/free-port.js';

t.test('--help and --version', async (t) => {
  const help = await startOfswitch(t, ['--help'], { ready: false });
  t.equal(await help.exited, 0);
  t.match(help.stdout(), /^Usage: ofswitch \[options\]/);
  t.match(help.stdout(), /--port <SPEC>/);
  const version = await startOfswitch(t, ['--version'], { ready: false });
  t.equal(await version.exited, 0);
  t.match(version.stdout(), /^ofswitch \d+\.\d+\.\d+\n$/);
});

t.test('bad option, missing interface, busy port: one message, exit 2', async (t) => {
  const bad = await startOfswitch(t, ['--fail-mode', 'open'], { ready: false });
  t.equal(await bad.exited, 2);
  t.equal(bad.stderr().trim(), 'ofswitch: --fail-mode: "open" is neither secure nor standalone');
  const unknown = await startOfswitch(t, ['--prot', 'veth0'], { ready: false });
  t.equal(await unknown.exited, 2);
  t.equal(unknown.stderr(), "ofswitch: unknown option '--prot' (Did you mean --port?)\n", 'one line on stderr');
  t.equal(unknown.stdout(), '');
  const missing = await startOfswitch(t, ['--port', 'nosuchif9'], { ready: false });
  t.equal(await missing.exited, 2);
  t.equal(missing.stderr().trim(), 'ofswitch: interface nosuchif9 does not exist');
  const port = await freePort();
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
  t.teardown(() => blocker.close());
  const busy = await startOfswitch(t, ['--listen', `ptcp:${port}`], { ready: false });
  t.equal(await busy.exited, 2);
  t.equal(busy.stderr().trim(), `ofswitch: ptcp:${port}:127.0.0.1: port ${port} is busy`);
});

t.test('runs until SIGTERM; standalone shows priority=0 actions=NORMAL; --config', async (t) => {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'ofswitch-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'switch.json');
  writeFileSync(config, JSON.stringify({ dpid: '00000000000000aa', listen: [`ptcp:${port}`], failMode: 'standalone' }));
  const sw = await startOfswitch(t, ['--config', config]);
  const lines = sw.stderr().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.ok(lines.length > 0 && lines.every((l) => typeof l['time'] === 'string' && typeof l['msg'] === 'string'), 'structured log lines');
  t.ok(lines.every((l) => l['level'] === 'info'), 'levels by name, info and up by default');
  t.match(lines, [{ msg: 'listening', listen: `ptcp:${port}:127.0.0.1` }]);
  const c = await OfClient.connect(port);
  t.teardown(() => c.close());
  t.match(await c.request({ version: 1, type: OFPT.FEATURES_REQUEST, xid: 2 }), { datapathId: 0xaan });
  const flows = await c.request({ version: 1, type: OFPT.STATS_REQUEST, xid: 3, flags: 0, statsType: OFPST.FLOW, match: MATCH_ALL, tableId: 0xff, outPort: OFPP.NONE });
  t.match(flows, { statsType: OFPST.FLOW, flows: [{ priority: 0, actions: [{ type: OFPAT.OUTPUT, port: OFPP.NORMAL }] }] });
  sw.child.kill('SIGTERM');
  t.equal(await sw.exited, 0, 'clean exit on SIGTERM');
  await c.waitClosed();
  t.match(sw.stderr(), /"switch stopped"/);
});

t.test('secure mode starts with an empty table; SIGINT stops it', async (t) => {
  const port = await freePort();
  const sw = await startOfswitch(t, ['--listen', `ptcp:${port}`, '--fail-mode', 'secure']);
  const c = await OfClient.connect(port);
  t.teardown(() => c.close());
  t.match(await c.request({ version: 1, type: OFPT.STATS_REQUEST, xid: 3, flags: 0, statsType: OFPST.TABLE }), { tables: [{ activeCount: 0 }] });
  sw.child.kill('SIGINT');
  t.equal(await sw.exited, 0);
});
