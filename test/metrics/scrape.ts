/**
 * Test helpers for `--metrics`: scrape GET /metrics over HTTP, check the text with the real
 * `promtool check metrics` (exit status 0 and no lint output), and read samples by name and labels.
 */
import type { Test } from 'tap';
import { spawnSync } from 'node:child_process';

export interface Scrape {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
}

export async function scrape(port: number, path = '/metrics'): Promise<Scrape> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
}

/** `promtool check metrics` on `text`: passes only with exit status 0 and nothing printed (no lint problem). */
export function promtoolPasses(t: Test, text: string): void {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  t.equal(r.status, 0, `promtool check metrics exits 0${r.status ? `: ${r.stdout}${r.stderr}` : ''}`);
  t.equal(`${r.stdout}${r.stderr}`, '', 'and prints no lint warning');
}

/** One sample's value: `name` with exactly these labels (undefined when absent). */
export function sample(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).sort().join(',');
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = (m[2] ?? '').split(/,(?=[a-z_]+=")/).filter((s) => s !== '').sort().join(',');
    if (got === want) return Number(m[3]);
  }
  return undefined;
}

/** Every label set of `name` present, as objects. */
export function labelSets(text: string, name: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    out.push(Object.fromEntries([...(m[2] ?? '').matchAll(/([a-z_]+)="([^"]*)"/g)].map((x) => [x[1], x[2]])));
  }
  return out;
}

/** `ovs-ofctl dump-ports` output: per port name or number, the eight counters the metrics export. */
export function parseDumpPorts(text: string): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>();
  // "  port  1: rx pkts=3, bytes=..., drop=0, errs=0, frame=0, over=0, crc=0\n           tx pkts=..., bytes=..., drop=0, errs=0, coll=0"
  const re = /port\s+"?([^:"]+)"?:\s*rx pkts=(\d+|\?), bytes=(\d+|\?), drop=(\d+|\?), errs=(\d+|\?)[^\n]*\n\s*tx pkts=(\d+|\?), bytes=(\d+|\?), drop=(\d+|\?), errs=(\d+|\?)/g;
  for (const m of text.matchAll(re)) {
    const n = (s: string | undefined): number => (s === '?' || s === undefined ? 0 : Number(s));
    out.set(m[1]!.trim(), {
      rx_packets: n(m[2]), rx_bytes: n(m[3]), rx_dropped: n(m[4]), rx_errors: n(m[5]),
      tx_packets: n(m[6]), tx_bytes: n(m[7]), tx_dropped: n(m[8]), tx_errors: n(m[9]),
    });
  }
  return out;
}
