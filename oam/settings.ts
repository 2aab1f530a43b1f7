/**
 * CFM settings from an Interface row, read as bridge.c's iface_configure_cfm reads them:
 * `cfm_mpid` (none: CFM off), other_config `cfm_interval` (a decimal int; 0, negative or no
 * number: 1000 ms), `cfm_extended` ("true"), `cfm_opstate` (absent or "up", any case, is up;
 * anything else down), `cfm_ccm_vlan` (a number as atoi reads it, or "random"), `cfm_ccm_pcp`.
 * `cfm_demand` is not supported (a problem is reported: CFM runs without it).
 */
import { CFM_DEFAULT_INTERVAL_MS } from './constants.js';
import type { CfmSettings } from './cfm.js';

/** smap_get_int: a decimal int, else the default. */
function int(text: string | undefined, def: number): number {
  if (text === undefined || !/^\s*[-+]?\d+$/.test(text)) return def;
  const n = Number(text);
  return n >= -(2 ** 31) && n < 2 ** 31 ? n : def;
}

/** C's atoi: the leading decimal digits (after blanks and a sign), 0 when none. */
function atoi(text: string): number {
  const m = /^\s*([-+]?\d+)/.exec(text);
  return m ? Number(m[1]) | 0 : 0;
}

export function cfmSettings(mpid: number | null, other: Readonly<Record<string, string>>, problems: string[] = []): CfmSettings | null {
  if (mpid === null) return null;
  let intervalMs = int(other['cfm_interval'], 0);
  if (intervalMs <= 0) intervalMs = CFM_DEFAULT_INTERVAL_MS;
  const vlanText = other['cfm_ccm_vlan'];
  let ccmVlan: number | 'random' = 0;
  if (vlanText !== undefined) {
    if (vlanText.toLowerCase() === 'random') ccmVlan = 'random';
    else {
      ccmVlan = atoi(vlanText) & 0xffff;
      if (ccmVlan === 0xffff) ccmVlan = 0;
    }
  }
  const opstate = other['cfm_opstate'];
  if (other['cfm_demand'] === 'true') problems.push('other_config:cfm_demand is not supported: CFM runs without demand mode');
  return {
    mpid,
    intervalMs,
    extended: other['cfm_extended'] === 'true',
    opUp: opstate === undefined || opstate.toLowerCase() === 'up',
    ccmVlan,
    ccmPcp: int(other['cfm_ccm_pcp'], 0),
  };
}
