/**
 * An sFlow configuration as Open vSwitch's sFlow table has it (vswitchd/vswitch.xml): `targets`
 * ("IP:PORT", the port 6343 when left out), `agent` (an interface name or an address), `sampling`
 * (1 in N packets, default 400), `polling` (seconds between counter samples, default 30),
 * `header` (bytes of each sampled frame, default 128). Checked here into the form the agent runs
 * with; the agent's own address is chosen as OVS's sflow_choose_agent_address() does:
 *   1. `agent` names an interface with an address: its address (IPv4 first);
 *   2. `agent` is itself an IP address: that address;
 *   3. else the local address the kernel routes from towards the first target that has one.
 * A setting that cannot run is an SflowError naming it.
 */
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { SFL_DEFAULT_COLLECTOR_PORT, SFL_DEFAULT_HEADER_SIZE, SFL_DEFAULT_POLLING_INTERVAL, SFL_DEFAULT_SAMPLING_RATE } from './constants.js';
import type { CollectorTarget } from '../collectors/udp-sender.js';

export class SflowError extends Error {
  override readonly name = 'SflowError';
}

/** An sFlow row (or the `sflow` object of a --config file). */
export interface SflowSettings {
  readonly targets: readonly string[];
  readonly agent?: string;
  readonly sampling?: number;
  readonly polling?: number;
  readonly header?: number;
}

export type SflowTarget = CollectorTarget;

/** What an agent runs with: every default applied, targets parsed. */
export interface SflowConfig {
  readonly targets: readonly SflowTarget[];
  readonly agent: string | undefined;
  readonly sampling: number;
  readonly polling: number;
  readonly header: number;
}

const U32_MAX = 0xffffffff;

/** A target "IP", "IP:PORT", "[IPv6]:PORT" or a bare IPv6 address. */
export function parseTarget(text: string): SflowTarget {
  let address = text;
  let port = SFL_DEFAULT_COLLECTOR_PORT;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracket) {
    address = bracket[1]!;
    if (bracket[2] !== undefined) port = Number(bracket[2]);
  } else if (isIP(text) === 0) {
    const colon = text.lastIndexOf(':');
    if (colon > 0 && /^\d+$/.test(text.slice(colon + 1))) {
      address = text.slice(0, colon);
      port = Number(text.slice(colon + 1));
    }
  }
  const family = isIP(address);
  if (family === 0) throw new SflowError(`sFlow target "${text}" is not IP:PORT`);
  if (!(port >= 1 && port <= 65535)) throw new SflowError(`sFlow target "${text}": port ${port} is not 1..65535`);
  return { address, port, family: family as 4 | 6 };
}

function count(value: number | undefined, name: string, dflt: number, min: number): number {
  if (value === undefined) return dflt;
  if (!Number.isInteger(value) || value < min || value > U32_MAX) throw new SflowError(`sFlow ${name} ${String(value)} is not an integer ${min}..${U32_MAX}`);
  return value;
}

/**
 * The settings checked, with OVS's defaults. Null when they export nothing, as OVS treats them:
 * no targets, or `sampling` 0.
 */
export function sflowConfig(s: SflowSettings): SflowConfig | null {
  if (!Array.isArray(s.targets)) throw new SflowError('sFlow targets must be a list');
  const targets = [...new Set(s.targets)].map(parseTarget);
  const sampling = count(s.sampling, 'sampling', SFL_DEFAULT_SAMPLING_RATE, 0);
  const polling = count(s.polling, 'polling', SFL_DEFAULT_POLLING_INTERVAL, 0);
  const header = count(s.header, 'header', SFL_DEFAULT_HEADER_SIZE, 0);
  if (s.agent !== undefined && typeof s.agent !== 'string') throw new SflowError('sFlow agent must be a string');
  if (targets.length === 0 || sampling === 0) return null;
  return { targets, agent: s.agent === '' ? undefined : s.agent, sampling, polling, header };
}

/** An interface's address, IPv4 first; undefined when it has none (or does not exist). */
function interfaceAddress(name: string): string | undefined {
  const addrs = networkInterfaces()[name];
  if (!addrs) return undefined;
  return (addrs.find((a) => a.family === 'IPv4') ?? addrs.find((a) => !a.address.startsWith('fe80')) ?? addrs[0])?.address;
}

/** The local address the kernel would send from towards `target` (no packet is sent). */
function routeSource(target: SflowTarget): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket(target.family === 4 ? 'udp4' : 'udp6');
    const done = (address: string | undefined): void => {
      socket.close();
      resolve(address);
    };
    socket.on('error', () => done(undefined));
    socket.connect(target.port, target.address, () => {
      try {
        done(socket.address().address);
      } catch {
        done(undefined);
      }
    });
  });
}

/** The agent address, chosen as OVS chooses it (see above); an SflowError when there is none. */
export async function agentAddress(config: SflowConfig): Promise<string> {
  if (config.agent !== undefined) {
    const own = interfaceAddress(config.agent);
    if (own !== undefined) return own;
    if (isIP(config.agent) !== 0) return config.agent;
  }
  for (const target of config.targets) {
    const source = await routeSource(target);
    if (source !== undefined) return source;
  }
  throw new SflowError('could not determine IP address for sFlow agent');
}

/** An address's bytes: 4 for IPv4, 16 for IPv6. */
export function addressBytes(address: string): Uint8Array {
  if (isIP(address) === 4) return Uint8Array.from(address.split('.').map(Number));
  if (isIP(address) !== 6) throw new SflowError(`"${address}" is not an IP address`);
  const [head, tail] = address.includes('::') ? address.split('::') as [string, string] : [address, undefined];
  const words = (s: string | undefined): string[] => (s ? s.split(':') : []);
  let h = words(head);
  let t = words(tail);
  // An embedded IPv4 address (::ffff:1.2.3.4) is two words.
  const v4 = (list: string[]): string[] => {
    const last = list[list.length - 1];
    if (last === undefined || !last.includes('.')) return list;
    const b = last.split('.').map(Number);
    return [...list.slice(0, -1), ((b[0]! << 8) | b[1]!).toString(16), ((b[2]! << 8) | b[3]!).toString(16)];
  };
  if (tail === undefined) h = v4(h);
  else t = v4(t);
  const fill = tail === undefined ? [] : Array<string>(8 - h.length - t.length).fill('0');
  const all = [...h, ...fill, ...t];
  const out = new Uint8Array(16);
  all.forEach((w, i) => {
    const n = parseInt(w, 16);
    out[2 * i] = n >> 8;
    out[2 * i + 1] = n & 0xff;
  });
  return out;
}
