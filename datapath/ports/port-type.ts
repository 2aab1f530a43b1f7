/**
 * A port type: how to make a NetPort of that type from a name and options, as an Open vSwitch
 * netdev provider does (`struct netdev_class`). Each type lives in a file of its own and is
 * registered once in factory.ts; nothing else in the switch knows which types exist.
 */
import type { NetPort } from './net-port.js';

/** Options of a port, as an Interface row's `options` column holds them (values may be strings). */
export type PortOptions = Readonly<Record<string, string | number | boolean>>;

export interface PortType<Device extends NetPort = NetPort> {
  /** The type's name, as ovs-vsctl spells it ("system", "internal", ...). */
  readonly name: string;
  /** Other names for the same type ("" for "system", as in OVS's Interface table). */
  readonly aliases?: readonly string[];
  /** The option names the type understands; any other is refused. */
  readonly options: readonly string[];
  /** Makes (and for kernel interfaces, checks or creates) the interface; throws a PortError when it cannot. */
  create(name: string, options: PortOptions): Device;
}

/** A port that cannot be made as asked: the message names the port and what is wrong. */
export class PortError extends Error {
  override readonly name = 'PortError';
}

const IFNAMSIZ = 15;

/** A Linux interface name: 1 to 15 characters, no slash, colon, comma or white space. */
export function checkInterfaceName(name: string): void {
  if (!/^[^\s/:,]+$/.test(name) || name.length > IFNAMSIZ)
    throw new PortError(`"${name}" is not a valid interface name (1-${IFNAMSIZ} characters, no space, '/', ':' or ',')`);
}
