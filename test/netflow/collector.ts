/**
 * Debian's nfdump as the NetFlow collector of the tests: `nfcapd -p PORT -w DIR` receives the
 * datagrams, and once it is stopped (it writes its file out on SIGTERM) `nfdump -r FILE -o csv`
 * reads the flow records back.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { spawnIn, tryRun, type Teardownable } from '../helpers/netns.js';

/** One record as nfdump's csv output has it (its header's column names: sa, da, sp, dp, pr, flg, ipkt, ibyt, in, out, eng, ...). */
export type NfdumpRecord = Record<string, string>;

export interface Nfcapd {
  readonly port: number;
  /** Stops nfcapd and reads every record it stored (nfdump's exit status and stderr too). */
  stop(): Promise<{ code: number; stderr: string; records: NfdumpRecord[]; log: string }>;
}

export async function startNfcapd(t: Teardownable, port: number): Promise<Nfcapd> {
  const dir = mkdtempSync(join(tmpdir(), 'ofnfcapd-'));
  const data = join(dir, 'flows');
  mkdirSync(data);
  const child: ChildProcess = spawnIn('nfcapd', ['-b', '127.0.0.1', '-p', String(port), '-w', data, '-t', '3600']);
  let log = '';
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const gone = new Promise((r) => child.once('exit', r));
  let stopped = false;
  const halt = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
    }
  };
  t.teardown(async () => {
    await halt();
    rmSync(dir, { recursive: true, force: true });
  });
  // Until it listens.
  for (let i = 0; i < 50 && !/Startup/.test(log); i++) await new Promise((r) => setTimeout(r, 100));
  return {
    port,
    async stop() {
      await halt();
      const files = readdirSync(data).filter((f) => /^nfcapd\.\d+$/.test(f));
      const records: NfdumpRecord[] = [];
      let code = 0;
      let stderr = '';
      for (const f of files) {
        const r = await tryRun('nfdump', ['-r', join(data, f), '-o', 'csv']);
        code ||= r.code;
        stderr += r.stderr;
        const lines = r.stdout.split('\n');
        const header = (lines[0] ?? '').split(',');
        for (const line of lines.slice(1)) {
          if (line === '' || line === 'Summary') break;
          const cells = line.split(',');
          if (cells.length !== header.length) continue; // a line such as "No matching flows"
          records.push(Object.fromEntries(header.map((h, i) => [h, (cells[i] ?? '').trim()])));
        }
      }
      if (files.length === 0) code = -1;
      return { code, stderr, records, log };
    },
  };
}

/** nfdump's TCP flags text ("...AP.SF") for a flags byte. */
export function nfdumpFlags(flags: number): string {
  return 'CEUAPRSF'.split('').map((c, i) => ((flags >> (7 - i)) & 1 ? c : '.')).join('');
}

/** Packets and bytes of the records matching `pick`, and their in/out interfaces and TCP flags. */
export function total(records: readonly NfdumpRecord[], pick: (r: NfdumpRecord) => boolean): { records: number; packets: number; bytes: number; ins: string[]; outs: string[]; flags: string[] } {
  const rs = records.filter(pick);
  return {
    records: rs.length,
    packets: rs.reduce((s, r) => s + Number(r['ipkt']), 0),
    bytes: rs.reduce((s, r) => s + Number(r['ibyt']), 0),
    ins: [...new Set(rs.map((r) => r['in']!))],
    outs: [...new Set(rs.map((r) => r['out']!))],
    flags: [...new Set(rs.map((r) => r['flg']!))],
  };
}
