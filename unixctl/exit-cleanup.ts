/**
 * Files a process must remove however it ends (its control socket, its pid file), like Open
 * vSwitch's fatal_signal_add_file_to_unlink: one 'exit' hook runs every registered action, so a
 * process.exit() after an error leaves nothing behind. (A signal ends the process through the
 * command's own handlers, which close everything; SIGKILL leaves stale files, which the next start
 * recognises and removes.)
 */
const actions = new Set<() => void>();
let hooked = false;

/** Runs `action` at process exit unless the returned function is called first. */
export function atExit(action: () => void): () => void {
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const a of [...actions]) a();
    });
  }
  actions.add(action);
  return () => actions.delete(action);
}
