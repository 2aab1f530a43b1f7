/**
 * Tunnel ports in flag mode: `--port NAME,type=TYPE,options:KEY=VALUE` on the command line and
 * `{"name", "type", "options": {...}}` in the --config file; what the switch does with them (a
 * refused option is one StartError naming the port).
 */
import t from 'tap';
import { parseCommandLine, parseConfigFile, parsePort, UsageError } from '../../lib/options.js';
import { StartError, Switch } from '../../lib/switch.js';
import { silentLogger } from '../../lib/log.js';

t.test('--port with a type and options', async (t) => {
  t.same(parsePort('vx0,type=vxlan,options:remote_ip=192.0.2.2,options:key=5000,ofport=4'), {
    name: 'vx0',
    type: 'vxlan',
    options: { remote_ip: '192.0.2.2', key: '5000' },
    ofport: 4,
  });
  t.throws(() => parsePort('vx0,type=VX-LAN'), UsageError, 'a type is a lower-case word');
  t.throws(() => parsePort('vx0,options:=1'), /unknown setting "options:=1"/, 'an option needs a name');
});

t.test('--config ports with "type" and an "options" object', async (t) => {
  const files: Record<string, string> = {
    'a.json': JSON.stringify({ ports: [{ name: 'gre0', type: 'gre', options: { remote_ip: '192.0.2.9', key: 7, csum: true } }] }),
    'b.json': JSON.stringify({ ports: [{ name: 'gre0', type: 'gre', options: 'remote_ip=1' }] }),
  };
  const read = (p: string): string => files[p] ?? '';
  t.same(parseConfigFile('a.json', read).port, [{ name: 'gre0', type: 'gre', options: { remote_ip: '192.0.2.9', key: '7', csum: 'true' } }]);
  t.throws(() => parseConfigFile('b.json', read), /"options" must be an object/);
  const cl = parseCommandLine(['--config', 'a.json'], read);
  t.equal(cl.kind, 'run');
  if (cl.kind === 'run') t.match(cl.options.ports, [{ name: 'gre0', type: 'gre', ofport: 1 }]);
});

t.test('a tunnel option the switch refuses stops the start with one message', async (t) => {
  const cl = parseCommandLine(['--port', 'vx0,type=vxlan,options:remote_ip=flow', '--listen', 'punix:/nonexistent-dir-for-test/x']);
  if (cl.kind !== 'run') throw new Error('expected run');
  await t.rejects(Switch.start(cl.options, silentLogger), new StartError('port vx0: remote_ip=flow is not supported: the address would come from a flow\'s tunnel metadata, which needs Nicira extensions that OpenFlow 1.0 lacks'));
});
