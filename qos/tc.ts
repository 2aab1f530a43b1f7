/**
 * Runs iproute2's `tc` for QoS (htb.ts builds the arguments): one process per change (`tc
 * -batch -` for several commands), never a shell. Failures throw an Error carrying tc's own
 * message. The synchronous removal is for the process's exit hook, where nothing asynchronous runs.
 */
import { execFileSync, spawn } from 'node:child_process';
import { HTB } from '../protocol/constants.js';

/** Runs `tc` with each line of `commands` (batch mode when more than one); resolves with its output. */
export function runTc(commands: readonly (readonly string[])[]): Promise<string> {
  const args = commands.length === 1 ? [...(commands[0] as readonly string[])] : ['-batch', '-'];
  return new Promise((resolve, reject) => {
    const batch = commands.length !== 1;
    const child = spawn('tc', args, { stdio: [batch ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`tc ${commands.map((c) => c.join(' ')).join('; ')}: ${err.trim() || `exit ${String(code)}`}`));
    });
    if (batch) {
      child.stdin?.on('error', () => undefined); // tc quit early: its exit status and message tell why
      child.stdin?.end(commands.map((c) => `${c.join(' ')}\n`).join(''));
    }
  });
}

/** Whether `dev`'s root qdisc is an HTB of handle 1: (the kind linux-htb makes). */
export async function hasHtbRoot(dev: string): Promise<boolean> {
  try {
    return isHtbRoot(await runTc([['qdisc', 'show', 'dev', dev, 'root']]));
  } catch {
    return false; // no such device
  }
}

function isHtbRoot(text: string): boolean {
  return new RegExp(`^qdisc htb ${HTB.MAJOR}: root`, 'm').test(text);
}

/** Deletes `dev`'s root qdisc (the kernel's default comes back); no error when there is none. */
export async function deleteRootQdisc(dev: string): Promise<void> {
  try {
    await runTc([['qdisc', 'del', 'dev', dev, 'root']]);
  } catch (err) {
    if (!/No such file|Cannot find device|Cannot delete qdisc with handle of zero|Invalid handle/i.test((err as Error).message)) throw err;
  }
}

/**
 * Deletes `dev`'s root qdisc now, if it is an HTB of handle 1: (at exit, or a leftover of a
 * killed ofswitch); true when one was deleted. Never throws.
 */
export function deleteHtbRootSync(dev: string): boolean {
  try {
    const text = execFileSync('tc', ['qdisc', 'show', 'dev', dev, 'root'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    if (!isHtbRoot(text)) return false;
    execFileSync('tc', ['qdisc', 'del', 'dev', dev, 'root'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
