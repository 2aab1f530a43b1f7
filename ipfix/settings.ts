/**
 * An IPFIX configuration as Open vSwitch's IPFIX table has it (vswitchd/vswitch.xml), for the
 * bridge exporter (a Bridge's `ipfix` column): `targets` ("IP:PORT", or "IP" for IPFIX's port
 * 4739, as OVS's collectors take them), `sampling` (1 in N packets, default 400), `obs_domain_id`
 * and `obs_point_id` (default 0), `cache_active_timeout` (seconds, 0..4200) and `cache_max_flows`
 * (both 0 by default, and then caching is off: every sampled packet is a record at once),
 * other_config `enable-input-sampling` and `enable-output-sampling` ("false" turns one off;
 * anything else leaves it on, as vswitch.xml documents it; OVS 3.1's bridge.c reads the two keys
 * inverted, a bug later releases fixed), `enable-tunnel-sampling` (accepted; ofswitch has no tunnel
 * ports) and `virtual_obs_id` (a string of at most 254 bytes sent with every record).
 * `template_interval` (seconds, default 600) is a column of later OVS schemas, read when present.
 * A setting that cannot run is an IpfixError naming it.
 */
import { isIP } from 'node:net';
import type { CollectorTarget } from '../collectors/udp-sender.js';
import { IPFIX_DEFAULT_COLLECTOR_PORT, IPFIX_DEFAULT_SAMPLING, IPFIX_TEMPLATE_INTERVAL, IPFIX_VIRTUAL_OBS_MAX_LEN } from './constants.js';

export class IpfixError extends Error {
  override readonly name = 'IpfixError';
}

/** An IPFIX row (or the `ipfix` object of a --config file). */
export interface IpfixSettings {
  readonly targets: readonly string[];
  readonly sampling?: number | undefined;
  readonly obs_domain_id?: number | undefined;
  readonly obs_point_id?: number | undefined;
  readonly cache_active_timeout?: number | undefined;
  readonly cache_max_flows?: number | undefined;
  readonly template_interval?: number | undefined;
  readonly other_config?: Readonly<Record<string, string>> | undefined;
}

/** What an exporter runs with: defaults applied, targets parsed. */
export interface IpfixConfig {
  readonly targets: readonly CollectorTarget[];
  readonly sampling: number;
  readonly obsDomainId: number;
  readonly obsPointId: number;
  /** Seconds. */
  readonly cacheActiveTimeout: number;
  readonly cacheMaxFlows: number;
  /** Seconds. */
  readonly templateInterval: number;
  readonly inputSampling: boolean;
  readonly outputSampling: boolean;
  readonly tunnelSampling: boolean;
  readonly virtualObsId: string | null;
}

/** The other_config keys the IPFIX table defines. */
export const IPFIX_OTHER_CONFIG_KEYS = ['enable-input-sampling', 'enable-output-sampling', 'enable-tunnel-sampling', 'virtual_obs_id'];

/** A target "IP:PORT", "[IPv6]:PORT", or an address alone (port 4739). */
export function parseIpfixTarget(text: string): CollectorTarget {
  if (isIP(text) !== 0) return { address: text, port: IPFIX_DEFAULT_COLLECTOR_PORT, family: isIP(text) as 4 | 6 };
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  const family = m ? isIP(m[1]!) : 0;
  if (!m || family === 0) throw new IpfixError(`IPFIX target "${text}" is not IP[:PORT]`);
  const port = m[2] === undefined ? IPFIX_DEFAULT_COLLECTOR_PORT : Number(m[2]);
  if (!(port >= 1 && port <= 65535)) throw new IpfixError(`IPFIX target "${text}": port ${port} is not 1..65535`);
  return { address: m[1]!, port, family: family as 4 | 6 };
}

function integer(value: number | undefined, name: string, min: number, max: number, def: number): number {
  if (value === undefined) return def;
  if (!Number.isInteger(value) || value < min || value > max) throw new IpfixError(`IPFIX ${name} ${String(value)} is not an integer ${min}..${max}`);
  return value;
}

/** The settings checked, with OVS's defaults. Null when they export nothing (no targets). */
export function ipfixConfig(s: IpfixSettings): IpfixConfig | null {
  if (!Array.isArray(s.targets)) throw new IpfixError('IPFIX targets must be a list');
  const targets = [...new Set(s.targets)].map(parseIpfixTarget);
  const sampling = integer(s.sampling, 'sampling', 1, 0xffffffff, IPFIX_DEFAULT_SAMPLING);
  const obsDomainId = integer(s.obs_domain_id, 'obs_domain_id', 0, 0xffffffff, 0);
  const obsPointId = integer(s.obs_point_id, 'obs_point_id', 0, 0xffffffff, 0);
  const cacheActiveTimeout = integer(s.cache_active_timeout, 'cache_active_timeout', 0, 4200, 0);
  const cacheMaxFlows = integer(s.cache_max_flows, 'cache_max_flows', 0, 0xffffffff, 0);
  const templateInterval = integer(s.template_interval, 'template_interval', 1, 0x7fffffff, IPFIX_TEMPLATE_INTERVAL);
  const oc = s.other_config ?? {};
  if (typeof oc !== 'object' || oc === null || Array.isArray(oc)) throw new IpfixError('IPFIX other_config must be an object of strings');
  for (const [k, v] of Object.entries(oc)) if (typeof v !== 'string') throw new IpfixError(`IPFIX other_config:${k} must be a string`);
  // smap_get_bool(..., true): on unless "false"
  const on = (key: string): boolean => (oc[key] ?? '').toLowerCase() !== 'false';
  const virtualObsId = oc['virtual_obs_id'] ?? null;
  if (virtualObsId !== null && Buffer.byteLength(virtualObsId) > IPFIX_VIRTUAL_OBS_MAX_LEN) {
    throw new IpfixError(`IPFIX other_config:virtual_obs_id is longer than ${IPFIX_VIRTUAL_OBS_MAX_LEN} bytes`);
  }
  if (targets.length === 0) return null;
  return {
    targets, sampling, obsDomainId, obsPointId, cacheActiveTimeout, cacheMaxFlows, templateInterval,
    inputSampling: on('enable-input-sampling'), outputSampling: on('enable-output-sampling'), tunnelSampling: on('enable-tunnel-sampling'), virtualObsId,
  };
}
