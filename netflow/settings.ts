/**
 * A NetFlow configuration as Open vSwitch's NetFlow table has it (vswitchd/vswitch.xml): `targets`
 * ("IP:PORT", the address numeric), `engine_type` and `engine_id` (0..255; default 0: OVS derives
 * them from its datapath, ofswitch has none), `active_timeout` (seconds; 0 and left out mean OVS's
 * default 600, -1 disables active timeouts, as vswitch.xml says), `add_id_to_interface` (the 7 low
 * bits of engine_id in the 7 high bits of the interface fields). A setting that cannot run is a
 * NetflowError naming it.
 */
import { isIP } from 'node:net';
import { NF_ACTIVE_TIMEOUT_DEFAULT } from './constants.js';
import type { CollectorTarget } from '../collectors/udp-sender.js';

export class NetflowError extends Error {
  override readonly name = 'NetflowError';
}

/** A NetFlow row (or the `netflow` object of a --config file). */
export interface NetflowSettings {
  readonly targets: readonly string[];
  readonly engine_type?: number | undefined;
  readonly engine_id?: number | undefined;
  readonly active_timeout?: number | undefined;
  readonly add_id_to_interface?: boolean | undefined;
}

export type NetflowTarget = CollectorTarget;

/** What an exporter runs with: defaults applied, targets parsed, the active timeout in ms (0: none). */
export interface NetflowConfig {
  readonly targets: readonly NetflowTarget[];
  readonly engineType: number;
  readonly engineId: number;
  readonly activeTimeoutMs: number;
  readonly addIdToInterface: boolean;
}

/** A target "IP:PORT" or "[IPv6]:PORT" (OVS needs the port: NetFlow has no well-known one). */
export function parseNetflowTarget(text: string): NetflowTarget {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  const family = m ? isIP(m[1]!) : 0;
  if (!m || family === 0) throw new NetflowError(`NetFlow target "${text}" is not IP:PORT`);
  const port = Number(m[2]);
  if (!(port >= 1 && port <= 65535)) throw new NetflowError(`NetFlow target "${text}": port ${port} is not 1..65535`);
  return { address: m[1]!, port, family: family as 4 | 6 };
}

function byte(value: number | undefined, name: string): number {
  if (value === undefined) return 0;
  if (!Number.isInteger(value) || value < 0 || value > 255) throw new NetflowError(`NetFlow ${name} ${String(value)} is not an integer 0..255`);
  return value;
}

/** The settings checked, with OVS's defaults. Null when they export nothing (no targets). */
export function netflowConfig(s: NetflowSettings): NetflowConfig | null {
  if (!Array.isArray(s.targets)) throw new NetflowError('NetFlow targets must be a list');
  const targets = [...new Set(s.targets)].map(parseNetflowTarget);
  const engineType = byte(s.engine_type, 'engine_type');
  const engineId = byte(s.engine_id, 'engine_id');
  const t = s.active_timeout;
  if (t !== undefined && (!Number.isInteger(t) || t < -1 || t > 0x7fffffff)) throw new NetflowError(`NetFlow active_timeout ${String(t)} is not an integer -1..2147483647`);
  if (s.add_id_to_interface !== undefined && typeof s.add_id_to_interface !== 'boolean') throw new NetflowError('NetFlow add_id_to_interface must be true or false');
  if (targets.length === 0) return null;
  const seconds = t === undefined || t === 0 ? NF_ACTIVE_TIMEOUT_DEFAULT : t;
  return { targets, engineType, engineId, activeTimeoutMs: seconds < 0 ? 0 : seconds * 1000, addIdToInterface: s.add_id_to_interface === true };
}
