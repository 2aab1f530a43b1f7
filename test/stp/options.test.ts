/** Flag mode's spanning tree settings in the --config file (lib/options.ts). */
import t from 'tap';
import { parseCommandLine, UsageError, type SwitchOptions } from '../../lib/options.js';

function run(config: unknown, argv: string[] = []): SwitchOptions {
  const r = parseCommandLine(['--config', 'c.json', ...argv], () => JSON.stringify(config));
  if (r.kind !== 'run') throw new Error('expected run');
  return r.options;
}

t.test('stpEnable, rstpEnable, otherConfig, portOtherConfig', async (t) => {
  t.same(run({ stpEnable: true, otherConfig: { 'stp-priority': 4096, 'stp-forward-delay': '4' }, portOtherConfig: { v1: { 'stp-path-cost': 10, 'stp-enable': true } } }, ['--local', 'br9']).spanningTree, {
    protocol: 'stp', priority: 4096, forwardDelay: 4, ports: { v1: { enable: true, pathCost: 10 } }, name: 'br9',
  });
  t.same(run({ rstpEnable: true }).spanningTree, { protocol: 'rstp', name: 'ofswitch' });
  t.equal(run({}).spanningTree, undefined, 'none without stpEnable or rstpEnable');
  t.equal(run({ stpEnable: false }).spanningTree, undefined);
  const bad: [unknown, RegExp][] = [
    [{ stpEnable: 'yes' }, /"stpEnable" must be true or false/],
    [{ stpEnable: true, rstpEnable: true }, /exclude each other/],
    [{ otherConfig: { 'stp-priority': 1 } }, /need stpEnable or rstpEnable/],
    [{ stpEnable: true, otherConfig: [] }, /"otherConfig" must be an object/],
    [{ stpEnable: true, otherConfig: { 'datapath-id': '1' } }, /unknown key "datapath-id"/],
    [{ stpEnable: true, otherConfig: { 'stp-priority': null } }, /must be a string, number or boolean/],
    [{ stpEnable: true, otherConfig: { 'stp-priority': 'high' } }, /is not a number/],
    [{ stpEnable: true, portOtherConfig: 3 }, /"portOtherConfig" must be an object of port names/],
  ];
  for (const [config, message] of bad) t.throws(() => run(config), { name: UsageError.name, message }, JSON.stringify(config));
});
