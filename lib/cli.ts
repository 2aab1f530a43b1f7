#!/usr/bin/env node
/**
 * The `ofswitch` command: runs one switch in the foreground until SIGINT or SIGTERM, then shuts
 * down cleanly. A bad option, a missing interface or a busy port: one message naming it on
 * stderr, exit status 2. Everything else it says is structured log lines (log.ts).
 * With no options at all it runs the demo (demo.ts): three test hosts on a standalone switch.
 */
import type { UnixctlServer } from '../unixctl/server.js';
import { UnixSocketError } from '../unixctl/unix-socket.js';
import { startControlSocket } from './control-socket.js';
import { createDemoHosts, demoHints, removeDemoHosts } from './demo.js';
import { createLogger } from './log.js';
import { UsageError, parseCommandLine, usage } from './options.js';
import { StartError, Switch } from './switch.js';
import { packageVersion } from './version.js';

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
  let stopRequested: () => void = () => {};
  const stopping = new Promise<void>((resolve) => (stopRequested = resolve));
  let control: UnixctlServer | null = null;
  if (command.options.unixctl !== undefined) {
    try {
      control = await startControlSocket(command.options.unixctl, log, command.options.logLevel, stopRequested);
    } catch (err) {
      if (!(err instanceof UnixSocketError)) throw err;
      process.stderr.write(`ofswitch: --unixctl ${err.message}\n`);
      return 2;
    }
  }
  let sw: Switch;
  try {
    sw = await Switch.start(command.options, log);
  } catch (err) {
    await control?.close();
    if (err instanceof StartError) {
      process.stderr.write(`ofswitch: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (demo) {
    const listen = command.options.listen[0];
    const target = listen && 'host' in listen ? `tcp:${listen.host}:${listen.port}` : 'tcp:127.0.0.1:6634';
    process.stdout.write(demoHints(demo, target));
  }
  const shutdown = (signal: string): void => {
    log.info('signal received, stopping', { signal });
    stopRequested();
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  await stopping;
  await control?.close();
  await sw.stop();
  if (demo) removeDemoHosts(demo);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`ofswitch: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
