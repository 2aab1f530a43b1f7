/**
 * The package as a user gets it: `npm pack`'s tarball installed into an empty project (no
 * devDependencies; dependencies from npm's cache, the registry only if the cache lacks them)
 * builds its addon there with its install script, its type declarations type-check a program
 * using it, and `import { createSwitch } from 'ofswitch'` runs a switch on memory ports that
 * forwards a frame; so does the README's example, as written.
 */
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT, ensureBuilt } from '../helpers/ofswitch-process.js';

const APP = `
import { createSwitch, MemoryPort, PortError } from 'ofswitch';
const sw = createSwitch({ datapathId: 0x5n, failMode: 'standalone' });
const a = sw.addPort({ name: 'a', type: 'memory' });
const b = sw.addPort({ name: 'b', type: 'memory' });
const received = b.device.nextFrame();
a.device.inject(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x88, 0xb5, ...new Array(46).fill(1)]));
const frame = await received;
let missing = '';
try { sw.addPort({ name: 'nosuchif9' }); } catch (err) { missing = err instanceof PortError ? err.message : 'not a PortError'; }
console.log(JSON.stringify({ forwarded: frame.length, memory: a.device instanceof MemoryPort, ports: sw.ports().map((p) => p.ofport), missing }));
await sw.close();
`;

/** The same program's types, checked against the shipped declarations. */
const TYPED = `
import { createSwitch, type MemoryPort, type PortView, type FlowStats } from 'ofswitch';
const sw = createSwitch({ failMode: 'secure', probeIntervalMs: 1000 });
const port: MemoryPort = sw.addPort({ name: 'a', type: 'memory', options: { mac: '02:00:00:00:00:01' } }).device;
port.on('frame', (f: Uint8Array) => void f);
sw.addFlow({ match: { inPort: 1, nwDst: '10.0.0.0/8', dlType: 0x0800 }, actions: [{ output: 'normal' }] });
const views: PortView[] = sw.ports();
const flows: FlowStats[] = sw.dumpFlows();
void [views, flows, sw.macTable(), sw.controllers()];
// @ts-expect-error: an unknown match field is a type error
sw.addFlow({ match: { inPrt: 1 } });
await sw.close();
`;

t.test('npm pack, npm install into an empty project, import { createSwitch } from "ofswitch"', async (t) => {
  ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'ofswitch-pack-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // --ignore-scripts: no prepack rebuild of dist/ under the other tests' feet (ensureBuilt made it current).
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' }),
  ) as { filename: string; files: { path: string }[] }[];
  const pack = packed[0]!;
  const paths = pack.files.map((f) => f.path);
  t.ok(paths.includes('dist/index.js') && paths.includes('dist/index.d.ts'), 'the tarball holds the entry point and its declarations');
  t.ok(
    ['datapath/native/af_packet.c', 'datapath/native/raw_ip.c', 'datapath/native/napi_util.h', 'scripts/build-addon.sh'].every((f) => paths.includes(f)),
    'and what its install script builds the addons from',
  );
  t.notOk(paths.some((p) => p.startsWith('dist/test/') || p.startsWith('dist/bench/') || p.includes('/build/')), 'but no tests, benchmarks or built objects');

  const app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'embedding-app', private: true, type: 'module' }));
  const install = spawnSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', join(dir, pack.filename)], {
    cwd: app,
    encoding: 'utf8',
    timeout: 300_000,
  });
  t.equal(install.status, 0, `npm install from the tarball succeeds${install.status ? `: ${install.stderr}` : ''}`);
  const addon = join(app, 'node_modules', 'ofswitch', 'datapath', 'native', 'build', 'Release', 'af_packet.node');
  t.ok(existsSync(addon), 'its install script built the addon');
  const native = createRequire(join(app, 'index.js'))(addon) as Record<string, unknown>;
  t.same(['open', 'flush', 'sendOne', 'close'].map((f) => typeof native[f]), ['function', 'function', 'function', 'function'], 'and it loads');
  const rawIp = createRequire(join(app, 'index.js'))(join(dirname(addon), 'raw_ip.node')) as Record<string, unknown>;
  t.same(['open', 'flush', 'route', 'close'].map((f) => typeof rawIp[f]), ['function', 'function', 'function', 'function'], 'so does the tunnels\' one');
  t.notOk(existsSync(join(app, 'node_modules', 'typescript')), 'no devDependencies came along');

  writeFileSync(join(app, 'app.mjs'), APP);
  const run = spawnSync(process.execPath, ['app.mjs'], { cwd: app, encoding: 'utf8', timeout: 30_000 });
  t.equal(run.status, 0, `the program runs${run.stderr ? `: ${run.stderr}` : ''}`);
  t.not(run.stdout, '');
  t.same(JSON.parse(run.stdout), { forwarded: 60, memory: true, ports: [1, 2], missing: 'interface nosuchif9 does not exist' }, 'a frame went through the switch');

  // The `ofswitch` command as installed: both modes load (the database mode's modules ship too).
  const bin = join(app, 'node_modules', '.bin', 'ofswitch');
  for (const args of [['--help'], ['--ovsdb', 'unix:/nonexistent/db.sock', '--help']]) {
    const cli = spawnSync(bin, args, { cwd: app, encoding: 'utf8', timeout: 30_000 });
    t.equal(cli.status, 0, `ofswitch ${args.join(' ')} runs from the package${cli.status ? `: ${cli.stderr}` : ''}`);
    t.match(cli.stdout, /--ovsdb/, 'and prints its usage');
  }

  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const example = /## Embedding a switch[\s\S]*?```js\n([\s\S]*?)```/.exec(readme)?.[1];
  t.ok(example, "the README's example is found");
  writeFileSync(join(app, 'example.mjs'), example ?? '');
  const ran = spawnSync(process.execPath, ['example.mjs'], { cwd: app, encoding: 'utf8', timeout: 30_000 });
  t.equal(ran.status, 0, `the README's example runs as written${ran.stderr ? `: ${ran.stderr}` : ''}`);
  t.match(ran.stdout, /^port b sent 60 bytes\n.*would list: \[ 'a', 'b' \]\npriority=100 n_packets=1\n$/, 'and prints what it says');

  writeFileSync(join(app, 'typed.ts'), TYPED);
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true,
        skipLibCheck: true, typeRoots: [join(ROOT, 'node_modules', '@types')], types: ['node'],
      },
      files: ['typed.ts'],
    }),
  );
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: app, encoding: 'utf8', timeout: 120_000 });
  t.equal(tsc.status, 0, `the shipped declarations type-check a program using them${tsc.status ? `: ${tsc.stdout}` : ''}`);
});
