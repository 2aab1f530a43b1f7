/**
 * `npm run soak -- --minutes N [options]`: the soak run (soak.ts) from the command line. Prints
 * progress and the report on stdout; exits 0 when every check held, 1 with the first failure as
 * the last line, 2 on a bad option. Needs root (network namespaces), ovsdb-server, ovs-vsctl and
 * trafgen, and a built tree (`npm run build`).
 */
import { parseOptions } from './options.js';
import { runSoak, type SoakOptions } from './soak.js';

async function main(): Promise<number> {
  let options: SoakOptions;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    const e = err as { code?: string; exitCode?: number };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0;
    return 2;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('soak: needs root (it makes network namespaces and runs the switch on real ports)\n');
    return 2;
  }
  const result = await runSoak(options);
  if (result.interrupted) return 130;
  return result.ok ? 0 : 1;
}

process.exit(await main());
