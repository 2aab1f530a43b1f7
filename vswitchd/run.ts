/**
 * Database mode of the `ofswitch` command (`--ovsdb REMOTE`): the daemon (daemon.ts) with the
 * control socket OVS's tools expect, `RUNDIR/ofswitch.pid` and `RUNDIR/ofswitch.PID.ctl`
 * (`ovs-appctl -t ofswitch ...`), serving the common commands (vlog, exit, memory/show), the
 * bridges' (commands.ts) and CFM's and BFD's (oam/commands.ts). Runs until SIGINT, SIGTERM or `ovs-appctl exit`; then closes every
 * bridge (the internal interfaces it made go with them) and removes its files.
 *
 * Each bridge's flow table is journaled in `RUNDIR/BRIDGE.flows` unless `--no-flow-journal`
 * (daemon.ts). The run directory is created when missing. Another ofswitch already serving it is one message
 * and exit status 2, as is a run directory that cannot be made.
 */
import { mkdirSync } from 'node:fs';
import { createControlServer, PROGRAM } from '../lib/control-socket.js';
import { untilStopped } from '../lib/flag-mode.js';
import type { Logger } from '../lib/log.js';
import type { DaemonOptions } from '../lib/options.js';
import { PidFileError, serveInRundir, UnixSocketError, type RundirControl } from '../unixctl/index.js';
import { formatMemory, registerBridgeCommands, type BridgeDirectory } from './commands.js';
import { Daemon } from './daemon.js';
import { MetricsError, startMetricsServer, type MetricsServer } from '../metrics/index.js';
import { registerOamCommands } from '../oam/index.js';

export async function runDatabaseMode(options: DaemonOptions, log: Logger): Promise<number> {
  try {
    mkdirSync(options.rundir, { recursive: true });
  } catch (err) {
    process.stderr.write(`ofswitch: --rundir ${options.rundir}: ${(err as Error).message}\n`);
    return 2;
  }
  const { stopping, stop } = untilStopped(log);
  const daemon = new Daemon({
    remote: options.ovsdb,
    rundir: options.rundir,
    log,
    ...(options.dummy ? { dummy: options.dummy } : {}),
    ...(options.flowJournal === false ? { flowJournal: false } : {}),
  });
  const directory: BridgeDirectory = {
    bridge: (name) => daemon.reconciler.bridges.get(name)?.sw,
    bridges: () => new Map([...daemon.reconciler.bridges].map(([name, b]) => [name, b.sw])),
  };
  const server = createControlServer(log, options.logLevel, stop, () => formatMemory(directory));
  registerBridgeCommands(server, directory);
  registerOamCommands(server, () => [...directory.bridges().values()].map((sw) => sw.monitor));
  let control: RundirControl;
  try {
    control = await serveInRundir(server, options.rundir, PROGRAM);
  } catch (err) {
    if (!(err instanceof PidFileError) && !(err instanceof UnixSocketError)) throw err;
    process.stderr.write(`ofswitch: ${err.message}\n`);
    return 2;
  }
  // every bridge of the daemon, as its rows come and go (read at each scrape)
  let metrics: MetricsServer | null = null;
  if (options.metrics !== undefined) {
    try {
      metrics = await startMetricsServer(options.metrics, directory.bridges, log);
    } catch (err) {
      if (!(err instanceof MetricsError)) throw err;
      process.stderr.write(`ofswitch: ${err.message}\n`);
      await control.close();
      return 2;
    }
  }
  log.info('serving the database', { ovsdb: options.ovsdb, rundir: options.rundir, unixctl: control.socket });
  daemon.start();
  await stopping;
  await metrics?.close();
  await daemon.stop();
  await control.close();
  return 0;
}
