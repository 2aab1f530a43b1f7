/**
 * Flag mode's mirrors: the `--config` file's "mirrors" list, checked key by key (a UsageError
 * naming the culprit, exit status 2 on the command line), and Switch.start refusing a mirror it
 * cannot make with a StartError (OVS's words), where the database mode only logs.
 */
import t from 'tap';
import { parseCommandLine, UsageError, type SwitchOptions } from '../../lib/options.js';
import { Switch, StartError } from '../../lib/switch.js';
import { silentLogger } from '../../lib/log.js';

function options(config: unknown): SwitchOptions {
  const r = parseCommandLine(['--config', 'c.json'], () => JSON.stringify(config));
  if (r.kind !== 'run') throw new Error('expected run');
  return r.options;
}

t.test('the config file\'s mirrors', async (t) => {
  t.equal(options({}).mirrors, undefined, 'none unless given');
  t.same(
    options({
      mirrors: [
        { name: 'm0', selectAll: true, outputPort: 'veth9' },
        { name: 'm1', selectSrcPorts: ['a'], selectDstPorts: ['b'], selectVlans: [0, 10], outputVlan: 99 },
      ],
    }).mirrors,
    [
      { name: 'm0', selectAll: true, outputPort: 'veth9' },
      { name: 'm1', selectSrcPorts: ['a'], selectDstPorts: ['b'], selectVlans: [0, 10], outputVlan: 99 },
    ],
  );
  const bad: [unknown, RegExp][] = [
    ['x', /"mirrors" must be a list/],
    [[1], /a mirror must be an object/],
    [[{}], /a mirror needs a "name"/],
    [[{ name: 'm', selectAll: 'yes', outputVlan: 1 }], /m: "selectAll" must be true or false/],
    [[{ name: 'm', selectSrcPorts: 'a', outputVlan: 1 }], /m: "selectSrcPorts" must be a list of port names/],
    [[{ name: 'm', selectDstPorts: [3], outputVlan: 1 }], /m: "selectDstPorts" must be a list of port names/],
    [[{ name: 'm', selectVlans: 5, outputVlan: 1 }], /m: "selectVlans" must be a list of VLANs/],
    [[{ name: 'm', selectVlans: [4096], outputVlan: 1 }], /m: "selectVlans" 4096 is not a VLAN \(0\.\.4095\)/],
    [[{ name: 'm', outputVlan: 0 }], /m: "outputVlan" 0 is not a VLAN \(1\.\.4095\)/],
    [[{ name: 'm', outputPort: '' }], /m: "outputPort" must be a port name/],
    [[{ name: 'm', outputPort: 'a', outputVlan: 5 }], /m: needs exactly one of "outputPort" and "outputVlan"/],
    [[{ name: 'm', selectAll: true }], /m: needs exactly one of "outputPort" and "outputVlan"/],
    [[{ name: 'm', snaplen: 100, outputVlan: 5 }], /m: unknown setting "snaplen"/],
  ];
  for (const [mirrors, message] of bad) t.throws(() => options({ mirrors }), new UsageError(''), `${JSON.stringify(mirrors)}: a UsageError`) && t.throws(() => options({ mirrors }), message);
});

t.test('Switch.start: a mirror it cannot make is a StartError; one it can make runs', async (t) => {
  const base: SwitchOptions = {
    dpid: undefined, ports: [], local: undefined, listen: [], controllers: [], failMode: 'standalone',
    probeIntervalMs: 5000, logLevel: 'info', unixctl: undefined, controllerRateLimit: undefined, controllerBurstLimit: undefined,
  };
  await t.rejects(Switch.start({ ...base, mirrors: [{ name: 'm0', selectAll: true, outputPort: 'veth9' }] }, silentLogger), new StartError('mirror m0 outputs to port not on bridge'));
  await t.rejects(Switch.start({ ...base, mirrors: [{ name: 'm', outputVlan: 5 }, { name: 'm', outputVlan: 6 }] }, silentLogger), new StartError('mirror m is given twice'));
  const sw = await Switch.start({ ...base, mirrors: [{ name: 'r', selectAll: true, outputVlan: 99 }] }, silentLogger);
  t.match(sw.mirrors(), [{ name: 'r', active: true, txPackets: 0 }]);
  await sw.stop();
});
