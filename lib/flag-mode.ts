/**
 * Flag mode: one switch configured by the command line (or --config), with its optional
 * --unixctl control socket, running until SIGINT, SIGTERM or `ovs-appctl exit`. Start-up failures
 * a user can fix are one message on stderr and exit status 2.
 *
 * The `--local` interface a killed ofswitch left behind (its owner, recorded on the interface by
 * datapath/ports/internal-port.ts, no longer runs) is removed before the switch starts, so that the
 * switch makes its own again, removed at a clean stop like any it made; one that a running
 * ofswitch owns is not touched (the start fails, exit status 2).
 */
import { removeLeftoverPair } from '../datapath/ports/internal-port.js';
import { UnixSocketError } from '../unixctl/unix-socket.js';
import type { UnixctlServer } from '../unixctl/server.js';
import { registerSpanningTreeCommands } from './spanning-tree-commands.js';
import { registerDropsCommands, registerTraceCommand, singleBridge, startControlSocket } from './control-socket.js';
import { registerOamCommands } from '../oam/index.js';
import type { Logger } from './log.js';
import type { SwitchOptions } from './options.js';
import { registerBondCommands } from './bond-commands.js';
import { registerQosCommands } from './qos-commands.js';
import { registerTunnelCommands } from './tunnel-commands.js';
import { StartError, Switch } from './switch.js';

/** A promise that resolves on SIGINT or SIGTERM (logged), or when `stop` is called. */
export function untilStopped(log: Logger): { stopping: Promise<void>; stop: () => void } {
  let stop: () => void = () => {};
  const stopping = new Promise<void>((resolve) => (stop = resolve));
  const onSignal = (signal: string): void => {
    log.info('signal received, stopping', { signal });
    stop();
  };
  process.once('SIGINT', () => onSignal('SIGINT'));
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  return { stopping, stop };
}

/** Runs the switch; `started` is called with it once it forwards (the demo prints its hints then, --metrics reads it). Resolves to the exit status. */
export async function runFlagMode(options: SwitchOptions, log: Logger, started?: (sw: Switch) => void): Promise<number> {
  const { stopping, stop } = untilStopped(log);
  let control: UnixctlServer | null = null;
  if (options.unixctl !== undefined) {
    try {
      control = await startControlSocket(options.unixctl, log, options.logLevel, stop);
    } catch (err) {
      if (!(err instanceof UnixSocketError)) throw err;
      process.stderr.write(`ofswitch: --unixctl ${err.message}\n`);
      return 2;
    }
  }
  if (options.local !== undefined) {
    const leftover = removeLeftoverPair(options.local);
    if (leftover) log.info('removed the internal interface a killed ofswitch left', { interface: options.local, pid: leftover.owner?.pid ?? null });
  }
  let sw: Switch;
  try {
    sw = await Switch.start(options, log);
  } catch (err) {
    await control?.close();
    if (err instanceof StartError) {
      process.stderr.write(`ofswitch: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (control) registerTraceCommand(control, singleBridge(options.local, sw));
  if (control) registerDropsCommands(control, singleBridge(options.local, sw));
  if (control) registerBondCommands(control, singleBridge(options.local, sw));
  if (control) registerSpanningTreeCommands(control, singleBridge(options.local, sw));
  if (control) registerOamCommands(control, () => [sw.monitor]);
  if (control) registerQosCommands(control, singleBridge(options.local, sw));
  if (control) registerTunnelCommands(control);
  started?.(sw);
  await stopping;
  await control?.close();
  await sw.stop();
  return 0;
}
