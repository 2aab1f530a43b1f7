/**
 * sFlow collectors for the tests: a UDP socket on 127.0.0.1 that keeps every datagram, tshark's
 * sFlow dissector reading them (written to a pcap file with made-up Ethernet/IPv4/UDP headers, so
 * nothing depends on capturing live), and pmacct's sfacctd receiving them itself.
 */
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { spawnIn, tryRun, type Teardownable } from '../helpers/netns.js';

export interface UdpCollector {
  readonly port: number;
  readonly datagrams: Buffer[];
  close(): void;
}

/** A UDP socket on 127.0.0.1 (a port the kernel picks) keeping every datagram it receives. */
export async function udpCollector(t: Teardownable): Promise<UdpCollector> {
  const socket: Socket = createSocket('udp4');
  const datagrams: Buffer[] = [];
  socket.on('message', (msg) => datagrams.push(msg));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  let closed = false;
  const close = (): void => {
    if (!closed) socket.close();
    closed = true;
  };
  t.teardown(close);
  return { port: socket.address().port, datagrams, close };
}

function checksum(b: Buffer): number {
  let sum = 0;
  for (let i = 0; i < b.length; i += 2) sum += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** A pcap file holding each datagram as a UDP packet from 127.0.0.1 to 127.0.0.1:`port`. */
export function writePcap(path: string, datagrams: readonly Buffer[], port: number): void {
  const parts: Buffer[] = [];
  const global = Buffer.alloc(24);
  global.writeUInt32LE(0xa1b2c3d4, 0);
  global.writeUInt16LE(2, 4);
  global.writeUInt16LE(4, 6);
  global.writeUInt32LE(65535, 16);
  global.writeUInt32LE(1, 20); // Ethernet
  parts.push(global);
  datagrams.forEach((d, i) => {
    const eth = Buffer.from('0000000000010000000000020800', 'hex');
    const ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + 8 + d.length, 2);
    ip[8] = 64;
    ip[9] = 17;
    ip.writeUInt32BE(0x7f000001, 12);
    ip.writeUInt32BE(0x7f000001, 16);
    ip.writeUInt16BE(checksum(ip), 10);
    const udp = Buffer.alloc(8);
    udp.writeUInt16BE(40000, 0);
    udp.writeUInt16BE(port, 2);
    udp.writeUInt16BE(8 + d.length, 4);
    const frame = Buffer.concat([eth, ip, udp, d]);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(1_700_000_000 + i, 0);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    parts.push(rec, frame);
  });
  writeFileSync(path, Buffer.concat(parts));
}

export interface TsharkResult {
  readonly code: number;
  readonly stderr: string;
  /** Per datagram: each field's values (every occurrence). */
  readonly rows: Record<string, string[]>[];
}

/** tshark's sFlow dissector on the datagrams: the named fields of every datagram. */
export async function tsharkFields(datagrams: readonly Buffer[], port: number, fields: readonly string[]): Promise<TsharkResult> {
  const dir = mkdtempSync(join(tmpdir(), 'ofsflow-'));
  try {
    const file = join(dir, 'sflow.pcap');
    writePcap(file, datagrams, port);
    const args = ['-r', file, '-d', `udp.port==${port},sflow`, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=;', '-E', 'separator=\t'];
    for (const f of fields) args.push('-e', f);
    const r = await tryRun('tshark', args);
    const rows = r.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((line) => {
        const cols = line.split('\t');
        const row: Record<string, string[]> = {};
        fields.forEach((f, i) => {
          const v = cols[i] ?? '';
          row[f] = v === '' ? [] : v.split(';');
        });
        return row;
      });
    return { code: r.code, stderr: r.stderr, rows };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** tshark's full (-V) text for the datagrams. */
export async function tsharkVerbose(datagrams: readonly Buffer[], port: number): Promise<{ code: number; stdout: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'ofsflow-'));
  try {
    const file = join(dir, 'sflow.pcap');
    writePcap(file, datagrams, port);
    const r = await tryRun('tshark', ['-r', file, '-V', '-d', `udp.port==${port},sflow`]);
    return { code: r.code, stdout: r.stdout };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** All values of one field over all datagrams. */
export function allValues(r: TsharkResult, field: string): string[] {
  return r.rows.flatMap((row) => row[field] ?? []);
}

export interface Sfacctd {
  readonly port: number;
  readonly dir: string;
  /** Every CSV row sfacctd's print plugin wrote so far (it appends each second's aggregates), by column. */
  rows(): Record<string, string>[];
  /** PACKETS summed over the rows that `match`. */
  packets(match: (row: Record<string, string>) => boolean): number;
  stop(): Promise<void>;
}

/**
 * pmacct's sfacctd on 127.0.0.1:`port`, its print plugin writing CSV (src/dst host, protocol,
 * packets, bytes) every second into its own directory.
 */
export async function startSfacctd(t: Teardownable, port: number, aggregate = 'src_host,dst_host,proto'): Promise<Sfacctd> {
  const dir = mkdtempSync(join(tmpdir(), 'ofsfacctd-'));
  const conf = join(dir, 'sfacctd.conf');
  writeFileSync(
    conf,
    [
      'daemonize: false',
      `sfacctd_port: ${port}`,
      'sfacctd_ip: 127.0.0.1',
      'plugins: print',
      `aggregate: ${aggregate}`,
      'print_output: csv',
      `print_output_file: ${join(dir, 'out.csv')}`,
      'print_output_file_append: true',
      'print_refresh_time: 1',
      `pidfile: ${join(dir, 'sfacctd.pid')}`,
      `logfile: ${join(dir, 'sfacctd.log')}`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawnIn('sfacctd', ['-f', conf]);
  child.stdout?.resume();
  child.stderr?.resume();
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  t.teardown(stop);
  const rows = (): Record<string, string>[] => {
    const file = readdirSync(dir).includes('out.csv') ? readFileSync(join(dir, 'out.csv'), 'utf8') : '';
    const [header, ...lines] = file.trim().split('\n');
    if (!header) return [];
    const keys = header.split(',');
    return lines.filter((l) => l !== '' && l !== header).map((l) => Object.fromEntries(l.split(',').map((v, i) => [keys[i] ?? String(i), v])));
  };
  return {
    port,
    dir,
    rows,
    packets: (match) => rows().filter(match).reduce((n, r) => n + Number(r['PACKETS']), 0),
    stop,
  };
}

/** One counters sample, walked record by record by each record's length (what tshark 4.0 does not do past a record it does not know). */
export interface CountersSample {
  readonly sourceClass: number;
  readonly sourceIndex: number;
  /** Record formats in the order sent. */
  readonly formats: number[];
  /** The generic interface record (format 1): ifIndex, ifType, ifSpeed, ifDirection, ifStatus, in/out octets and packets. */
  readonly generic?: { ifIndex: number; ifType: number; ifSpeed: bigint; ifDirection: number; ifStatus: number; inOctets: bigint; inPkts: number; outOctets: bigint; outPkts: number };
  /** The port name record (1005). */
  readonly portName?: string;
  /** The OpenFlow port record's (1004) port number. */
  readonly ofPort?: number;
}

/** The counters samples of an sFlow v5 datagram (enterprise 0 format 2 only; flow samples are skipped). */
export function countersSamples(d: Buffer): CountersSample[] {
  let p = 4;
  const addrType = d.readUInt32BE(p);
  p += 4 + (addrType === 1 ? 4 : 16) + 12;
  const n = d.readUInt32BE(p);
  p += 4;
  const out: CountersSample[] = [];
  for (let i = 0; i < n; i++) {
    const tag = d.readUInt32BE(p);
    const len = d.readUInt32BE(p + 4);
    const body = p + 8;
    p = body + len;
    if (tag !== 2) continue;
    const source = d.readUInt32BE(body + 4);
    const records = d.readUInt32BE(body + 8);
    let q = body + 12;
    const sample: { -readonly [K in keyof CountersSample]: CountersSample[K] } = { sourceClass: source >>> 24, sourceIndex: source & 0xffffff, formats: [] };
    for (let r = 0; r < records; r++) {
      const format = d.readUInt32BE(q);
      const rlen = d.readUInt32BE(q + 4);
      const b = q + 8;
      sample.formats.push(format);
      if (format === 1) {
        sample.generic = {
          ifIndex: d.readUInt32BE(b), ifType: d.readUInt32BE(b + 4), ifSpeed: d.readBigUInt64BE(b + 8), ifDirection: d.readUInt32BE(b + 16),
          ifStatus: d.readUInt32BE(b + 20), inOctets: d.readBigUInt64BE(b + 24), inPkts: d.readUInt32BE(b + 32),
          outOctets: d.readBigUInt64BE(b + 56), outPkts: d.readUInt32BE(b + 64),
        };
      } else if (format === 1005) {
        sample.portName = d.subarray(b + 4, b + 4 + d.readUInt32BE(b)).toString();
      } else if (format === 1004) {
        sample.ofPort = d.readUInt32BE(b + 8);
      }
      q = b + rlen;
    }
    out.push(sample);
  }
  return out;
}
