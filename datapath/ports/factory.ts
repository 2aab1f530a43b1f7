/**
 * The port factory: every port is made here, by type name, as Open vSwitch's netdev_open picks a
 * netdev provider by the Interface row's `type`. The types are the list below; adding one is a
 * file implementing PortType and one line in PORT_TYPES (and, for a typed device, one line in
 * PortDevices). The datapath and the bridge hold ports only as NetPorts and never ask their type.
 *
 * Importing this module loads no native code: the raw-socket type and the tunnel types load their
 * addons when their first port opens.
 */
import { systemPortType, type AfPacketPort } from './af-packet-port.js';
import { internalPortType } from './internal-port.js';
import { memoryPortType, type MemoryPort } from './memory-port.js';
import type { NetPort } from './net-port.js';
import { patchPortType, type PatchPort } from './patch-port.js';
import { PortError, type PortOptions, type PortType } from './port-type.js';
import { genevePortType, grePortType, vxlanPortType, type TunnelPort } from './tunnel-port.js';

const PORT_TYPES: readonly PortType[] = [systemPortType, internalPortType, memoryPortType, patchPortType, vxlanPortType, genevePortType, grePortType];

/** The device each built-in type makes (what `addPort` hands back for it). */
export interface PortDevices {
  system: AfPacketPort;
  '': AfPacketPort;
  internal: NetPort;
  memory: MemoryPort;
  patch: PatchPort;
  vxlan: TunnelPort;
  geneve: TunnelPort;
  gre: TunnelPort;
}

/** The device of a type name: the built-in's class, or a NetPort for a type registered later. */
export type PortDeviceOf<T extends string> = T extends keyof PortDevices ? PortDevices[T] : NetPort;

const byName = new Map<string, PortType>();

/** Adds a port type (and its aliases); a name already taken is refused. */
export function registerPortType(type: PortType): void {
  const names = [type.name, ...(type.aliases ?? [])];
  for (const n of names) if (byName.has(n)) throw new Error(`port type "${n}" is already registered`);
  for (const n of names) byName.set(n, type);
}

for (const type of PORT_TYPES) registerPortType(type);

/** The canonical name of a type ("" is "system"); a PortError for an unknown type. */
export function portType(type: string): PortType {
  const found = byName.get(type);
  if (!found) throw new PortError(`unknown port type "${type}" (known: ${portTypeNames().join(', ')})`);
  return found;
}

/** The canonical names of every registered type. */
export function portTypeNames(): string[] {
  return [...new Set([...byName.values()].map((t) => t.name))];
}

export interface PortSpec {
  readonly name: string;
  /** Default "system". */
  readonly type?: string;
  readonly options?: PortOptions;
}

/** Makes the port `spec` describes; a PortError naming the port when it cannot. */
export function createPort(spec: PortSpec): NetPort {
  const type = portType(spec.type ?? 'system');
  const options = spec.options ?? {};
  for (const key of Object.keys(options)) {
    if (!type.options.includes(key))
      throw new PortError(`port ${spec.name}: type ${type.name} has no option "${key}"${type.options.length ? ` (it has ${type.options.join(', ')})` : ''}`);
  }
  return type.create(spec.name, options);
}
