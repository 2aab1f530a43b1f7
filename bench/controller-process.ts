/**
 * A benchmark controller run as a child process (bench-controller.ts, flood-controller.ts): it
 * answers line-oriented commands on stdin with one line each on stdout, `stats` with its counters
 * as JSON. Shared by the packet-in and miss-flood benchmarks.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export class ControllerProcess<Stats> {
  private readonly lines: string[] = [];
  private waiter: (() => void) | null = null;
  private stderr = '';
  readonly proc: ChildProcess;

  constructor(proc: ChildProcess) {
    this.proc = proc;
    createInterface({ input: proc.stdout! }).on('line', (l) => {
      this.lines.push(l);
      this.waiter?.();
    });
    proc.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    proc.once('exit', () => this.waiter?.());
  }

  async line(what: string, ms = 15_000): Promise<string> {
    const end = Date.now() + ms;
    while (this.lines.length === 0) {
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) throw new Error(`the controller exited: ${this.stderr}`);
      if (Date.now() > end) throw new Error(`timed out waiting for the controller's ${what} ${this.stderr}`);
      await new Promise<void>((r) => {
        this.waiter = r;
        setTimeout(r, 200);
      });
      this.waiter = null;
    }
    return this.lines.shift()!;
  }

  async expect(line: string): Promise<void> {
    const got = await this.line(line);
    if (got !== line) throw new Error(`the controller said ${got}, not ${line}`);
  }

  command(line: string): void {
    this.proc.stdin!.write(`${line}\n`);
  }

  /** Its counters, with the monotonic time they were read at (seconds). */
  async stats(): Promise<Stats & { at: number }> {
    this.command('stats');
    const s = JSON.parse(await this.line('stats')) as Stats;
    return { ...s, at: Number(process.hrtime.bigint()) / 1e9 };
  }
}
