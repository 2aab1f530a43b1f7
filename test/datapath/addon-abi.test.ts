/**
 * The addons' interface version: both built addons export ADDON_ABI (the C and TypeScript numbers
 * agree), and a loader refuses an addon built from other sources with one message that names the
 * file and `bash scripts/setup.sh` (an af_packet.node built before the version existed has none).
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ADDON_ABI, checkAddonAbi } from '../../datapath/ports/addon-abi.js';
import { ROOT } from '../helpers/ofswitch-process.js';

t.test('both built addons export the interface version their loaders check', async (t) => {
  for (const name of ['af_packet', 'raw_ip']) {
    const file = join(ROOT, 'datapath', 'native', 'build', 'Release', `${name}.node`);
    t.ok(existsSync(file), `${name}.node is built`);
    const addon = createRequire(import.meta.url)(file) as { abi?: unknown };
    t.equal(addon.abi, ADDON_ABI, `${name}.node exports abi ${ADDON_ABI}`);
    t.doesNotThrow(() => checkAddonAbi(name, file, addon), `${name}: accepted`);
  }
});

t.test('an addon built from other sources is refused, naming the file and what to run', async (t) => {
  t.throws(
    () => checkAddonAbi('af_packet', '/x/af_packet.node', {}),
    { message: 'af_packet addon at /x/af_packet.node was built from other sources than these (no interface version; ' + `these need ${ADDON_ABI}): rebuild it with bash scripts/setup.sh` },
    'a build from before the version existed',
  );
  t.throws(
    () => checkAddonAbi('raw_ip', '/x/raw_ip.node', { abi: ADDON_ABI + 1 }),
    /^raw_ip addon at \/x\/raw_ip\.node was built from other sources than these \(interface version \d+; these need \d+\): rebuild it with bash scripts\/setup\.sh$/,
    'another version',
  );
});
