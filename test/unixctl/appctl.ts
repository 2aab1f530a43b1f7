/**
 * The real ovs-appctl (and any tool) run with its own environment, and a raw JSON-RPC client for
 * what ovs-appctl never sends (non-string arguments, invalid messages, pipelined requests).
 */
import { execFile } from 'node:child_process';
import { connect } from 'node:net';

export interface ToolResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `cmd args` with `env` added to this process's environment; never rejects. */
export function runTool(cmd: string, args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<ToolResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** `ovs-appctl -t TARGET ARGS...` (with OVS_RUNDIR=rundir when given). */
export function appctl(target: string, args: readonly string[], rundir?: string): Promise<ToolResult> {
  return runTool('ovs-appctl', ['--timeout=10', '-t', target, ...args], rundir ? { OVS_RUNDIR: rundir } : {});
}

/**
 * Sends `text` on a new connection to `path`; resolves with everything received once the server
 * closes the connection, or after `ms` (then `closed` is false).
 */
export function rawExchange(path: string, text: string, ms = 500): Promise<{ received: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ received, closed: false });
    }, ms);
    socket.on('connect', () => socket.write(text));
    socket.on('data', (d: Buffer) => (received += d.toString()));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('end', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ received, closed: true });
    });
  });
}

/** A socket file nobody listens on, as a killed process leaves it. */
export async function makeStaleSocket(path: string): Promise<void> {
  const r = await runTool('/usr/bin/python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', path]);
  if (r.code !== 0) throw new Error(`python3 could not bind ${path}: ${r.stderr}`);
}
