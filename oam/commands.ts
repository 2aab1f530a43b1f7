/**
 * The ovs-appctl commands of CFM and BFD, with ovs-vswitchd's names, arguments, texts and errors
 * (OVS 3.1's lib/cfm.c and lib/bfd.c): like OVS's, they span every bridge of the process and name
 * interfaces, not bridges.
 *
 *   cfm/show [interface]                         each MEP: "---- NAME ----", its MPID, fault, health, ...
 *   cfm/set-fault [interface] normal|false|true  overrides the fault ("OK")
 *   bfd/show [interface]                         each session's details (with "---- NAME ----" for all)
 *   bfd/set-forwarding [interface] normal|false|true  overrides forwarding ("OK")
 *
 * OVS lists all objects in its hash table's order; ofswitch lists them by interface name.
 */
import { UnixctlError, type UnixctlRegistry } from '../unixctl/index.js';
import type { BfdSession } from './bfd.js';
import type { CfmSession } from './cfm.js';
import type { LinkMonitor } from './monitor.js';

/** The monitors of every bridge of the process, read at each command. */
export type MonitorList = () => Iterable<LinkMonitor>;

function override(text: string): boolean | null {
  switch (text.toLowerCase()) {
    case 'true':
      return true;
    case 'false':
      return false;
    case 'normal':
      return null;
    default:
      throw new UnixctlError('unknown fault string');
  }
}

function allCfms(monitors: MonitorList): CfmSession[] {
  return [...monitors()].flatMap((m) => m.cfmSessions()).sort((a, b) => (a.name < b.name ? -1 : 1));
}

function allBfds(monitors: MonitorList): BfdSession[] {
  return [...monitors()].flatMap((m) => m.bfdSessions()).sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** `cfm/show [interface]`. */
export function cfmShow(monitors: MonitorList, name?: string): string {
  const all = allCfms(monitors);
  if (name === undefined) return all.map((c) => c.show()).join('');
  const one = all.find((c) => c.name === name);
  if (!one) throw new UnixctlError('no such CFM object');
  return one.show();
}

/** `bfd/show [interface]`. */
export function bfdShow(monitors: MonitorList, name?: string): string {
  const all = allBfds(monitors);
  if (name === undefined) return all.map((b) => `---- ${b.name} ----\n${b.show()}`).join('');
  const one = all.find((b) => b.name === name);
  if (!one) throw new UnixctlError('no such bfd object');
  return one.show();
}

export function registerOamCommands(registry: UnixctlRegistry, monitors: MonitorList): void {
  registry.register('cfm/show', '[interface]', 0, 1, ([name]) => cfmShow(monitors, name));
  registry.register('cfm/set-fault', '[interface] normal|false|true', 1, 2, (args) => {
    const value = override(args[args.length - 1]!);
    const all = allCfms(monitors);
    const targets = args.length > 1 ? all.filter((c) => c.name === args[0]) : all;
    if (args.length > 1 && targets.length === 0) throw new UnixctlError('no such CFM object');
    for (const c of targets) c.setFaultOverride(value);
    return 'OK';
  });
  registry.register('bfd/show', '[interface]', 0, 1, ([name]) => bfdShow(monitors, name));
  registry.register('bfd/set-forwarding', '[interface] normal|false|true', 1, 2, (args) => {
    const value = override(args[args.length - 1]!);
    const all = allBfds(monitors);
    const targets = args.length > 1 ? all.filter((b) => b.name === args[0]) : all;
    if (args.length > 1 && targets.length === 0) throw new UnixctlError('no such BFD object');
    for (const b of targets) b.setForwardingOverride(value);
    return 'OK';
  });
}
