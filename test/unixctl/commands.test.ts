/**
 * The standard daemon commands over their callbacks: vlog/set parsed as Open vSwitch parses it
 * (words in any order, ANY, default level dbg, no argument meaning dbg, OVS's error texts) and the
 * deliberate differences (syslog/file, PATTERN, FACILITY, emer); vlog/list's table; memory/show's
 * line; exit replying before it calls back.
 */
import t from 'tap';
import {
  formatMemoryReport,
  registerExitCommand,
  registerMemoryCommand,
  registerVlogCommands,
  UnixctlServer,
  type LoggerLevel,
} from '../../unixctl/index.js';

const quiet = { debug: () => {}, warn: () => {}, error: () => {} };

function vlogServer(initial: LoggerLevel = 'info'): { server: UnixctlServer; calls: LoggerLevel[]; level: () => LoggerLevel } {
  const server = new UnixctlServer({ version: 'v', log: quiet });
  const calls: LoggerLevel[] = [];
  let level = initial;
  registerVlogCommands(server, {
    module: 'ofswitch',
    level: () => level,
    setLevel: (l) => {
      calls.push(l);
      level = l;
    },
  });
  return { server, calls, level: () => level };
}

t.test('vlog/set: specs as Open vSwitch reads them', async (t) => {
  const cases: [string[], LoggerLevel[]][] = [
    [[], ['debug']],
    [['warn'], ['warn']],
    [['ANY:console:err'], ['error']],
    [['console:INFO'], ['info']],
    [['ofswitch:dbg'], ['debug']],
    [['OFSWITCH,any,Warn'], ['warn']],
    [['ANY'], ['debug']],
    [['console'], ['debug']],
    [['off'], ['off']],
    [['emer'], ['off']],
    [['info', 'ofswitch\tconsole\terr'], ['info', 'error']],
    [['syslog:off', 'file:off'], []],
  ];
  for (const [args, expected] of cases) {
    const { server, calls } = vlogServer();
    t.same(await server.execute('vlog/set', args), { ok: true, text: '' }, args.join(' ') || '(no argument)');
    t.same(calls, expected, args.join(' ') || '(no argument)');
  }
});

t.test('vlog/set: refused specs, with the texts Open vSwitch uses where it has them', async (t) => {
  const cases: [string[], string][] = [
    [['foo'], 'no destination, level, or module "foo"'],
    [['console:syslog'], 'cannot specify multiple destinations'],
    [['dbg:warn'], 'cannot specify multiple levels'],
    [['ofswitch:ofswitch'], 'cannot specify multiple modules'],
    [['PATTERN'], 'missing destination'],
    [['pattern:nowhere:%m'], 'unknown destination "nowhere"'],
    [['PATTERN:console:%m'], 'log patterns cannot be changed: ofswitch writes JSON lines'],
    [['PATTERN:ANY:%m'], 'log patterns cannot be changed: ofswitch writes JSON lines'],
    [['FACILITY:daemon'], 'ofswitch does not log to syslog'],
    [['syslog:warn'], 'ofswitch logs to the console only: no syslog level to set'],
    [['file'], 'ofswitch logs to the console only: no file level to set'],
  ];
  for (const [args, text] of cases) {
    const { server, calls } = vlogServer();
    t.same(await server.execute('vlog/set', args), { ok: false, text: text + '\n' }, args.join(' '));
    t.same(calls, [], 'nothing changed');
  }
  const { server, calls } = vlogServer();
  t.same(await server.execute('vlog/set', ['warn', 'bogus', 'err']), { ok: false, text: 'no destination, level, or module "bogus"\n' });
  t.same(calls, ['warn'], 'specs before the bad one apply, as in OVS');
});

t.test('vlog/list: OVS\'s table, one module, console level as set', async (t) => {
  const { server } = vlogServer('info');
  const heading = '                 console    syslog    file\n                 -------    ------    ------\n';
  t.same(await server.execute('vlog/list', []), { ok: true, text: heading + 'ofswitch          INFO        OFF        OFF\n' });
  const expected: [string, string][] = [['dbg', ' DBG'], ['warn', 'WARN'], ['err', ' ERR'], ['off', ' OFF'], ['emer', ' OFF']];
  for (const [level, shown] of expected) {
    await server.execute('vlog/set', [level]);
    const list = await server.execute('vlog/list', []);
    t.equal(list.text.split('\n')[2], `ofswitch          ${shown}        OFF        OFF`, level);
  }
  t.same(await server.execute('vlog/reopen', []), { ok: false, text: 'Logging to file not configured\n' });
});

t.test('memory/show: one line of key:value sorted by key', async (t) => {
  t.equal(formatMemoryReport({ rules: 4, ports: 2, handlers: 1 }), 'handlers:1 ports:2 rules:4\n');
  const server = new UnixctlServer({ version: 'v', log: quiet });
  registerMemoryCommand(server, async () => formatMemoryReport({ rules: 0 }));
  t.same(await server.execute('memory/show', []), { ok: true, text: 'rules:0\n' });
  t.same(await server.execute('memory/show', ['x']), { ok: false, text: '"memory/show" command takes at most 0 arguments\n' });
});

t.test('exit [--cleanup]: replies first, then calls back', async (t) => {
  const server = new UnixctlServer({ version: 'v', log: quiet });
  const exits: boolean[] = [];
  registerExitCommand(server, (cleanup) => exits.push(cleanup));
  t.same(await server.execute('exit', []), { ok: true, text: '' });
  t.same(exits, [], 'not yet: the reply goes out first');
  await new Promise((r) => setImmediate(r));
  t.same(exits, [false]);
  await server.execute('exit', ['--cleanup']);
  await new Promise((r) => setImmediate(r));
  t.same(exits, [false, true]);
  t.same(await server.execute('exit', ['a', 'b']), { ok: false, text: '"exit" command takes at most 1 arguments\n' });
});
