/**
 * What went to an IPFIX collector, as Wireshark reads it: tcpdump captures UDP to the collector's
 * port on the loopback interface (the switch runs in the root namespace and sends to 127.0.0.1),
 * and tshark decodes the capture as IPFIX (`-d udp.port==PORT,cflow`) into messages: header,
 * template records (their field types and lengths), and data records (every field tshark names).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnIn, tryRun, type Teardownable } from '../helpers/netns.js';
import { writePcap } from '../sflow/collectors.js';

export interface IpfixTemplate {
  readonly id: number;
  /** IE numbers (with the enterprise bit for enterprise elements) and lengths, in order. */
  readonly fields: { readonly type: number; readonly length: number; readonly pen: number }[];
}

export interface IpfixMessage {
  readonly frame: number;
  readonly exportTime: number;
  readonly sequence: number;
  readonly domain: number;
  readonly setIds: number[];
  readonly templates: IpfixTemplate[];
  /** Data records: tshark's field names (without "cflow.") to values; repeated fields (two if_name) are lists. */
  readonly records: { setId: number; fields: Record<string, string | string[]> }[];
}

type Json = Record<string, unknown>;

function parseCflow(frame: number, c: Json): IpfixMessage {
  const msg: IpfixMessage = {
    frame,
    exportTime: Number((c['cflow.timestamp_tree'] as Json | undefined)?.['cflow.exporttime']),
    sequence: Number(c['cflow.sequence']),
    domain: Number(c['cflow.od_id']),
    setIds: [],
    templates: [],
    records: [],
  };
  for (const [k, v] of Object.entries(c)) {
    if (!k.startsWith('Set ')) continue;
    const set = v as Json;
    const setId = Number(set['cflow.flowset_id']);
    msg.setIds.push(setId);
    for (const [sk, sv] of Object.entries(set)) {
      if (sk.startsWith('Template (') || sk.startsWith('Options Template (')) {
        const tj = sv as Json;
        const fields: IpfixTemplate['fields'] = [];
        for (const [fk, fv] of Object.entries(tj)) {
          if (!fk.startsWith('Field (')) continue;
          const f = fv as Json;
          const pen = Number(f['cflow.template_ipfix_pen_provided'] ?? 0);
          fields.push({ type: Number(f['cflow.template_ipfix_field_type'] ?? f['cflow.template_ipfix_field_type_enterprise'] ?? f['cflow.template_field_type']) | (pen ? 0x8000 : 0), length: Number(f['cflow.template_field_length']), pen: Number(f['cflow.template_ipfix_field_pen'] ?? 0) });
        }
        msg.templates.push({ id: Number(tj['cflow.template_id']), fields });
      } else if (sk.startsWith('Flow ')) {
        const fields: Record<string, string | string[]> = {};
        const walk = (o: Json): void => {
          for (const [fk, fv] of Object.entries(o)) {
            if (fv !== null && typeof fv === 'object' && !Array.isArray(fv)) walk(fv as Json);
            else if (fk.startsWith('cflow.')) fields[fk.slice(6)] = fv as string | string[];
          }
        };
        walk(sv as Json);
        msg.records.push({ setId, fields });
      }
    }
  }
  return msg;
}

export interface LoCapture {
  /** Stops the capture and decodes it. */
  stop(): Promise<{ code: number; stderr: string; messages: IpfixMessage[] }>;
}

/** tcpdump on lo for UDP to `port`, running once this resolves. */
export async function captureIpfix(t: Teardownable, port: number): Promise<LoCapture> {
  const dir = mkdtempSync(join(tmpdir(), 'ofipfix-cap-'));
  const pcap = join(dir, 'ipfix.pcap');
  const dump = spawnIn('tcpdump', ['-i', 'lo', '-n', '-U', '-Z', 'root', '-w', pcap, `udp dst port ${port}`]);
  let err = '';
  dump.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const gone = new Promise((r) => dump.once('exit', r));
  let stopped = false;
  const halt = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (dump.exitCode === null) {
      dump.kill('SIGINT');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
    }
  };
  t.teardown(async () => {
    await halt();
    rmSync(dir, { recursive: true, force: true });
  });
  for (let i = 0; i < 50 && !/listening/.test(err); i++) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 500));
  return {
    async stop() {
      await new Promise((r) => setTimeout(r, 300));
      await halt();
      const r = await decodePcap(pcap, port);
      return { ...r, stderr: r.stderr + (r.code === 0 ? '' : err) };
    },
  };
}

/** tshark's IPFIX reading of a capture (UDP to `port`). */
export async function decodePcap(pcap: string, port: number): Promise<{ code: number; stderr: string; messages: IpfixMessage[] }> {
  const r = await tryRun('tshark', ['-r', pcap, '-d', `udp.port==${port},cflow`, '-T', 'json', '--no-duplicate-keys']);
  if (r.code !== 0) return { code: r.code, stderr: r.stderr, messages: [] };
  const frames = JSON.parse(r.stdout) as { _source: { layers: { frame: Json; cflow?: Json | Json[] } } }[];
  const messages: IpfixMessage[] = [];
  for (const f of frames) {
    const c = f._source.layers.cflow;
    const num = Number(f._source.layers.frame['frame.number']);
    for (const one of Array.isArray(c) ? c : c ? [c] : []) messages.push(parseCflow(num, one));
  }
  return { code: 0, stderr: r.stderr, messages };
}

/** tshark's IPFIX reading of datagrams received (written into a pcap as UDP to `port`). */
export async function decodeDatagrams(datagrams: readonly Buffer[], port: number): Promise<{ code: number; stderr: string; messages: IpfixMessage[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'ofipfix-dec-'));
  try {
    const file = join(dir, 'ipfix.pcap');
    writePcap(file, datagrams, port);
    return await decodePcap(file, port);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

