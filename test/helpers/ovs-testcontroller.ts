/**
 * Open vSwitch's ovs-testcontroller as a peer: a learning controller listening on
 * ptcp:PORT:127.0.0.1, with its own runtime directory (its control socket would otherwise go to
 * /run/openvswitch, and without that directory it exits at once). Ready once it accepts TCP
 * connections; if it exits first, starting rejects with what it printed, so a controller that
 * cannot run fails the test there and then. Stopped (SIGTERM) at teardown.
 */
import type { ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { spawnIn, type Teardownable } from './netns.js';
import { ovsRunDir } from './ovs-rundir.js';

export interface OvsTestcontroller {
  readonly child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Starts `ovs-testcontroller [ARGS] ptcp:PORT:127.0.0.1` and waits until it listens. */
export async function startOvsTestcontroller(
  t: Teardownable,
  port: number,
  args: readonly string[] = [],
  timeoutMs = 10_000,
): Promise<OvsTestcontroller> {
  const rundir = ovsRunDir(t, 'testcontroller');
  const child = spawnIn('ovs-testcontroller', [rundir.unixctl('ovs-testcontroller'), ...args, `ptcp:${port}:127.0.0.1`], undefined, { env: rundir.env });
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  const state: { exit: string | null } = { exit: null };
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      state.exit = signal ?? `status ${code}`;
      resolve();
    });
  });
  t.teardown(async () => {
    if (state.exit === null) {
      child.kill('SIGTERM');
      await exited;
    }
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (state.exit !== null) throw new Error(`ovs-testcontroller exited (${state.exit}) before listening on port ${port}: ${text.trim()}`);
    if (await accepts(port)) break;
    if (Date.now() > deadline) throw new Error(`ovs-testcontroller did not listen on port ${port} within ${timeoutMs} ms: ${text.trim()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, output: () => text };
}
