/**
 * Runtime directories for the Open vSwitch programs the tests start, so that no test needs
 * /run/openvswitch (a fresh machine has none, and it is the installed Open vSwitch's, not ours).
 *
 * An OVS program puts its control socket (`PROGRAM.PID.ctl`), pid files, logs and database
 * under OVS_RUNDIR / OVS_LOGDIR / OVS_DBDIR, and a daemon's control socket where `--unixctl=PATH`
 * says. `ovsRunDir(t, name)` makes a fresh directory for one peer (a daemon, a controller),
 * removed at teardown; `ovsEnv()` is one directory per test process for one-shot commands
 * (ovs-ofctl), removed when the process exits. (ovs-reference.ts keeps a whole Open vSwitch,
 * its one-shot commands included, in a directory of its own.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Teardownable } from './netns.js';

export interface OvsRunDir {
  readonly dir: string;
  /** OVS_RUNDIR, OVS_LOGDIR and OVS_DBDIR, all `dir`. */
  readonly env: Readonly<Record<string, string>>;
  /** `--unixctl=DIR/PROGRAM.ctl`: the program's control socket, in `dir`. */
  unixctl(program: string): string;
}

function runDirAt(dir: string): OvsRunDir {
  return {
    dir,
    env: { OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir },
    unixctl: (program) => `--unixctl=${join(dir, `${program}.ctl`)}`,
  };
}

/** A fresh runtime directory for one peer (`name` is only part of the directory's name). */
export function ovsRunDir(t: Teardownable, name: string): OvsRunDir {
  const dir = mkdtempSync(join(tmpdir(), `ofswitch-${name}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return runDirAt(dir);
}

let shared: OvsRunDir | null = null;

/** The environment for one-shot OVS commands of this test process. */
export function ovsEnv(): Readonly<Record<string, string>> {
  if (shared === null) {
    const dir = mkdtempSync(join(tmpdir(), 'ofswitch-ovs-tools-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    shared = runDirAt(dir);
  }
  return shared.env;
}
