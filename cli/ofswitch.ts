#!/usr/bin/env node
/**
 * The `ofswitch` command. Two modes, which exclude each other:
 * - flag mode (lib/flag-mode.ts): one switch configured by options; with no options at all, the
 *   demo (lib/demo.ts): three test hosts on a standalone switch;
 * - database mode, `--ovsdb REMOTE` (vswitchd/run.ts): every bridge of an Open_vSwitch database,
 *   as ovs-vswitchd serves them.
 * A bad option: one message naming it on stderr, exit status 2. Everything else it says is
 * structured log lines (lib/log.ts). This is the top of the stack: it alone imports both modes.
 */
import { createDemoHosts, demoHints, removeDemoHosts } from '../lib/demo.js';
import { runFlagMode } from '../lib/flag-mode.js';
import { PROGRAM } from '../lib/control-socket.js';
import { createLogger } from '../lib/log.js';
import { UsageError, parseCommandLine, usage } from '../lib/options.js';
import type { Switch } from '../lib/switch.js';
import { packageVersion } from '../lib/version.js';
import { MetricsError, startMetricsServer, type MetricsServer } from '../metrics/index.js';
import { runDatabaseMode } from '../vswitchd/run.js';

async function main(argv: readonly string[]): Promise<number> {
  const demo = argv.length === 0 ? createDemoHosts() : null;
  if (demo) process.once('exit', () => removeDemoHosts(demo));
  let command;
  try {
    command = parseCommandLine(demo ? demo.flatMap((h) => ['--port', h.port]) : argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`ofswitch: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (command.kind === 'help') {
    process.stdout.write(usage());
    return 0;
  }
  if (command.kind === 'version') {
    process.stdout.write(`ofswitch ${packageVersion()}\n`);
    return 0;
  }
  const log = createLogger({ level: command.options.logLevel });
  if (command.kind === 'daemon') return runDatabaseMode(command.options, log);
  const options = command.options;
  // --metrics is bound before the switch starts: a port in use is a start error, not a switch without metrics
  let bridges: ReadonlyMap<string, Switch> = new Map();
  let metrics: MetricsServer | null = null;
  if (options.metrics !== undefined) {
    try {
      metrics = await startMetricsServer(options.metrics, () => bridges, log);
    } catch (err) {
      if (!(err instanceof MetricsError)) throw err;
      process.stderr.write(`ofswitch: ${err.message}\n`);
      return 2;
    }
  }
  const code = await runFlagMode(options, log, (sw) => {
    bridges = new Map([[options.local ?? PROGRAM, sw]]);
    if (!demo) return;
    const listen = options.listen[0];
    const target = listen && 'host' in listen ? `tcp:${listen.host}:${listen.port}` : 'tcp:127.0.0.1:6634';
    process.stdout.write(demoHints(demo, target));
  });
  bridges = new Map();
  await metrics?.close();
  if (demo) removeDemoHosts(demo);
  return code;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`ofswitch: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
