import t from 'tap';
import { parseCommandLine, UsageError, numberPorts, parseConfigFile, usage, type SwitchOptions } from '../../lib/options.js';

function run(argv: string[], files: Record<string, string> = {}): SwitchOptions {
  const r = parseCommandLine(argv, (p) => {
    const text = files[p];
    if (text === undefined) throw new Error('ENOENT: no such file');
    return text;
  });
  if (r.kind !== 'run') throw new Error('expected run');
  return r.options;
}

t.test('defaults', async (t) => {
  const o = run([]);
  t.equal(o.dpid, undefined);
  t.same(o.ports, []);
  t.same(o.listen, [{ host: '127.0.0.1', port: 6634 }]);
  t.same(o.controllers, []);
  t.equal(o.failMode, 'standalone');
  t.equal(o.probeIntervalMs, 5000);
  t.equal(o.logLevel, 'info');
});

t.test('help and version', async (t) => {
  t.same(parseCommandLine(['--port', 'a', '--help']), { kind: 'help' });
  t.same(parseCommandLine(['-h']), { kind: 'help' });
  t.same(parseCommandLine(['--version']), { kind: 'version' });
  t.same(parseCommandLine(['-V']), { kind: 'version' });
  const text = usage();
  t.match(text, /^Usage: ofswitch \[options\]/);
  for (const option of ['--dpid <HEX>', '--port <SPEC>', 'NAME[,ofport=N][,tag=VID][,trunks=VID:VID:...]', '--local <NAME>',
    '--listen <ptcp:PORT[:IP]|pssl:PORT[:IP]|punix:PATH>', '--unixctl <PATH>', '--controller <tcp:IP[:PORT]|ssl:IP[:PORT]>', '--fail-mode <secure|standalone>', '--probe-interval <SECS>',
    '--log-level <debug|info|warn|error>', '--config <FILE>', '-V, --version', '-h, --help', '"failMode":"secure"'])
    t.ok(text.includes(option), option);
});

t.test('every option', async (t) => {
  const o = run([
    '--dpid', '0000000000000001', '--port', 'veth0', '--port', 'veth1,ofport=7,tag=10',
    '--port', 'veth2,trunks=10:20', '--port=veth3', '--port', 'veth4,tag=5,vlan_mode=native-untagged', '--local', 'br0', '--listen', 'ptcp:6000',
    '--listen', 'ptcp:6001:0.0.0.0', '--controller', 'tcp:127.0.0.1', '--controller', 'tcp:10.0.0.1:6633',
    '--fail-mode', 'secure', '--probe-interval', '1.5', '--log-level', 'debug',
  ]);
  t.equal(o.dpid, 1n);
  t.same(o.ports, [
    { name: 'veth0', ofport: 1 },
    { name: 'veth1', ofport: 7, tag: 10 },
    { name: 'veth2', ofport: 2, trunks: [10, 20] },
    { name: 'veth3', ofport: 3 },
    { name: 'veth4', ofport: 4, tag: 5, vlanMode: 'native-untagged' },
  ]);
  t.equal(o.local, 'br0');
  t.same(o.listen, [{ host: '127.0.0.1', port: 6000 }, { host: '0.0.0.0', port: 6001 }]);
  t.same(o.controllers, [{ host: '127.0.0.1', port: 6653 }, { host: '10.0.0.1', port: 6633 }]);
  t.equal(o.failMode, 'secure');
  t.equal(o.probeIntervalMs, 1500);
  t.equal(o.logLevel, 'debug');
});

t.test('ports numbered around explicit numbers', async (t) => {
  t.same(numberPorts([{ name: 'a' }, { name: 'b', ofport: 1 }, { name: 'c' }]).map((p) => p.ofport), [2, 1, 3]);
});

t.test('bad options name the culprit', async (t) => {
  const cases: [string[], RegExp][] = [
    [['--bogus'], /^unknown option '--bogus'$/],
    [['--prot', 'a'], /^unknown option '--prot' \(Did you mean --port\?\)$/],
    [['--dpid'], /^option '--dpid <HEX>' argument missing$/],
    [['--port'], /^option '--port <SPEC>' argument missing$/],
    [['veth0'], /^unexpected argument "veth0"/],
    [['--', '--port', 'a'], /^unexpected argument "--port"/],
    [['--dpid', 'xyz'], /--dpid: "xyz"/],
    [['--dpid', '00000000000000001'], /at most 16 hex/],
    [['--port', 'a,ofport=0'], /ofport: 0 is out of range/],
    [['--port', 'a,ofport=x'], /"x" is not a number/],
    [['--port', 'a,tag=5000'], /tag: 5000 is out of range/],
    [['--port', 'a,color=red'], /unknown setting "color=red"/],
    [['--port', 'a,vlan_mode=dot1q-tunnel'], /--port a: vlan_mode: "dot1q-tunnel" is not one of access, trunk, native-tagged, native-untagged/],
    [['--port', 'this-name-is-too-long'], /not a valid interface name/],
    [['--port', 'a', '--port', 'a'], /--port a: given twice/],
    [['--port', 'a,ofport=2', '--port', 'b,ofport=2'], /ofport 2 is already taken/],
    [['--port', 'a', '--local', 'a'], /--local a: already given/],
    [['--listen', 'tcp:6633'], /not ptcp:PORT/],
    [['--listen', 'ptcp:70000'], /out of range/],
    [['--listen', 'ptcp:6633:nothost'], /not an IP address/],
    [['--controller', 'ptcp:1'], /not tcp:IP/],
    [['--controller', 'tcp:1.2.3.4:0'], /out of range/],
    [['--fail-mode', 'open'], /neither secure nor standalone/],
    [['--probe-interval', '0'], /--probe-interval/],
    [['--log-level', 'loud'], /--log-level/],
    [['--config', 'missing.json'], /cannot read missing.json/],
  ];
  for (const [argv, re] of cases) t.throws(() => parseCommandLine(argv, () => { throw new Error('ENOENT'); }), re, argv.join(' '));
  try {
    parseCommandLine(['--bogus']);
  } catch (err) {
    t.ok(err instanceof UsageError);
  }
});

t.test('config file, overridden by the command line', async (t) => {
  const file = JSON.stringify({
    dpid: '00000000000000ab', ports: ['p1', { name: 'p2', ofport: 9, trunks: [1, 2] }], local: 'loc',
    listen: ['ptcp:7000'], controllers: ['tcp:127.0.0.1:7001'], failMode: 'secure', probeInterval: 2,
    logLevel: 'warn',
  });
  const o = run(['--fail-mode', 'standalone', '--config', 'c.json'], { 'c.json': file });
  t.equal(o.dpid, 0xabn);
  t.same(o.ports, [{ name: 'p1', ofport: 1 }, { name: 'p2', ofport: 9, trunks: [1, 2] }]);
  t.equal(o.local, 'loc');
  t.same(o.listen, [{ host: '127.0.0.1', port: 7000 }]);
  t.same(o.controllers, [{ host: '127.0.0.1', port: 7001 }]);
  t.equal(o.failMode, 'standalone');
  t.equal(o.probeIntervalMs, 2000);
  t.equal(o.logLevel, 'warn');
  const lists = run(['--config=c.json', '--port', 'q1', '--listen', 'ptcp:7002', '--controller', 'tcp:127.0.0.2'], { 'c.json': file });
  t.same(lists.ports, [{ name: 'q1', ofport: 1 }], 'a list on the command line replaces the file\'s');
  t.same(lists.listen, [{ host: '127.0.0.1', port: 7002 }]);
  t.same(lists.controllers, [{ host: '127.0.0.2', port: 6653 }]);
  t.equal(lists.failMode, 'secure');
});

t.test('bad config files', async (t) => {
  const bad: [string, RegExp][] = [
    ['{', /not JSON/],
    ['[]', /expected a JSON object/],
    ['{"colour":1}', /unknown setting "colour"/],
    ['{"dpid":1}', /"dpid" must be a string/],
    ['{"ports":"a"}', /"ports" must be a list/],
    ['{"ports":[3]}', /a port must be/],
    ['{"listen":["ptcp:x"]}', /not ptcp/],
  ];
  for (const [text, re] of bad) t.throws(() => parseConfigFile('f', () => text), re, text);
});

t.test('punix listeners and the control socket', async (t) => {
  t.equal(run([]).unixctl, undefined, 'no control socket unless asked');
  const o = run(['--listen', 'punix:/tmp/d/br0.mgmt', '--listen', 'ptcp:6000', '--unixctl', '/tmp/d/ofswitch.ctl']);
  t.same(o.listen, [{ path: '/tmp/d/br0.mgmt' }, { host: '127.0.0.1', port: 6000 }]);
  t.equal(o.unixctl, '/tmp/d/ofswitch.ctl');
  t.equal(run(['--unixctl=rel.ctl', '--listen=punix:rel.mgmt']).unixctl, 'rel.ctl', 'relative paths are kept as given');
  const file = run(['--config', 'c.json'], { 'c.json': '{"listen":["punix:/r/br0.mgmt"],"unixctl":"/r/x.ctl"}' });
  t.same(file.listen, [{ path: '/r/br0.mgmt' }]);
  t.equal(file.unixctl, '/r/x.ctl');
  const long = '/' + 'x'.repeat(107);
  const cases: [string[], RegExp][] = [
    [['--listen', 'punix:'], /--listen punix:: the socket path is empty/],
    [['--listen', `punix:${long}`], /longer than 107 bytes/],
    [['--listen', 'unix:/x'], /is not ptcp:PORT\[:IP\], pssl:PORT\[:IP\] or punix:PATH/],
    [['--unixctl', ''], /--unixctl: the socket path is empty/],
    [['--unixctl', long], /--unixctl: the socket path is longer than 107 bytes/],
    [['--unixctl'], /option '--unixctl <PATH>' argument missing/],
  ];
  for (const [argv, re] of cases) t.throws(() => parseCommandLine(argv), re, argv.join(' '));
  t.throws(() => parseConfigFile('f', () => '{"unixctl":3}'), /"unixctl" must be a string/);
});

t.test('the MAC table options: flags and --config keys, within the ranges OVS clamps to', async (t) => {
  const none = run([]);
  t.equal(none.macTableSize, undefined, 'not given: the switch default (8,192)');
  t.equal(none.macAgingTime, undefined);
  const o = run(['--mac-table-size', '100000', '--mac-aging-time=60']);
  t.equal(o.macTableSize, 100000);
  t.equal(o.macAgingTime, 60);
  const file = run(['--config', 'c.json', '--mac-aging-time', '15'], { 'c.json': '{"macTableSize":10,"macAgingTime":3600}' });
  t.equal(file.macTableSize, 10);
  t.equal(file.macAgingTime, 15, 'the command line wins');
  t.ok(usage().includes('--mac-table-size <N>') && usage().includes('--mac-aging-time <SECS>'), 'in --help');
  const cases: [string[], RegExp][] = [
    [['--mac-table-size', '9'], /--mac-table-size: 9 is out of range 10\.\.1000000/],
    [['--mac-table-size', '1000001'], /out of range/],
    [['--mac-table-size', 'many'], /--mac-table-size: "many" is not a number/],
    [['--mac-aging-time', '14'], /--mac-aging-time: 14 is out of range 15\.\.3600/],
    [['--mac-aging-time', '3601'], /out of range/],
    [['--ovsdb', 'unix:/x', '--mac-table-size', '100'], /--ovsdb and --mac-table-size exclude each other/],
  ];
  for (const [argv, re] of cases) t.throws(() => parseCommandLine(argv), re, argv.join(' '));
  t.throws(() => parseConfigFile('f', () => '{"macAgingTime":"x"}'), /--mac-aging-time: "x" is not a number/);
});

t.test('packet-in limits: --controller-rate-limit, --controller-burst-limit, in the config file, bounded as the Controller columns', async (t) => {
  const d = run([]);
  t.equal(d.controllerRateLimit, undefined, 'unset: the scheduler default');
  t.equal(d.controllerBurstLimit, undefined);
  const o = run(['--controller-rate-limit', '100', '--controller-burst-limit', '25']);
  t.equal(o.controllerRateLimit, 100);
  t.equal(o.controllerBurstLimit, 25);
  const f = run(['--config', 'c.json'], { 'c.json': JSON.stringify({ controllerRateLimit: 5000, controllerBurstLimit: 40 }) });
  t.same([f.controllerRateLimit, f.controllerBurstLimit], [5000, 40], 'from --config');
  const text = usage();
  t.ok(text.includes('--controller-rate-limit <N>') && text.includes('--controller-burst-limit <N>'), 'in --help');
  t.throws(() => run(['--controller-rate-limit', '99']), /--controller-rate-limit: 99 is out of range 100\.\./, 'below the schema minimum');
  t.throws(() => run(['--controller-burst-limit', '24']), /--controller-burst-limit: 24 is out of range 25\.\./);
  t.throws(() => run(['--controller-rate-limit', 'fast']), /not a number/);
  t.throws(() => parseConfigFile('f', () => '{"controllerBurstLimit":"x"}'), /not a number/);
  t.throws(() => parseCommandLine(['--ovsdb', 'unix:/tmp/x.sock', '--controller-rate-limit', '100']), /--ovsdb and --controller-rate-limit exclude each other/, 'the database owns it in database mode');
});
