/**
 * The datapath: a port registry (port-registry.ts: which ports exist, their OpenFlow config, link
 * state and counters) and the packet path that moves frames between them (packet-path.ts: flow
 * table, actions, NORMAL, miss policy), made together and closed together. Ports are made by
 * the port factory (ports/factory.ts) and handed to `registry.addPort`.
 */
import { PacketPath, type PacketPathOptions } from './packet-path.js';
import { PortRegistry, type PortRegistryOptions } from './port-registry.js';

export type { FlowLookup, MissPolicy, PacketPathOptions } from './packet-path.js';
export type { PacketSampler } from './packet-sampler.js';
export type { PortModRequest, PortModResult, PortRegistryOptions, PortVlanOptions } from './port-registry.js';

export type DatapathOptions = PacketPathOptions & PortRegistryOptions;

export class Datapath {
  readonly registry: PortRegistry;
  readonly path: PacketPath;

  constructor(opts: DatapathOptions) {
    this.registry = new PortRegistry(opts.linkPollMs !== undefined ? { linkPollMs: opts.linkPollMs } : {});
    this.path = new PacketPath(this.registry, opts);
  }

  /** Closes every port and stops polling. */
  close(): void {
    this.registry.close();
  }
}
