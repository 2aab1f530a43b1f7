/**
 * ofswitch as a library: `import { createSwitch } from 'ofswitch'`.
 *
 * A Switch is one OpenFlow 1.0 bridge: ports of any registered type (raw-socket "system",
 * "internal", in-memory "memory"), listeners for ovs-ofctl and controllers (`ptcp:PORT[:IP]`,
 * `pssl:PORT[:IP]`), controllers it connects to (`tcp:IP[:PORT]`, `ssl:IP[:PORT]`; TLS files in
 * SwitchConfig.tls, a TlsConfig), flows, and read-only views of ports, MAC table
 * and flows. Everything here works at run time; see lib/switch.ts.
 */
export { Switch, createSwitch } from './lib/switch.js';
export type {
  AddedPort,
  ControllerView,
  ListenerView,
  MacEntry,
  PortConfig,
  PortView,
  SwitchConfig,
  SwitchEvents,
} from './lib/switch.js';
export { FlowSpecError } from './lib/flow-spec.js';
export { TlsConfig, TlsError } from './lib/tls-config.js';
export type { TlsFiles } from './lib/tls-config.js';
export { JournalError } from './journal/flow-journal.js';
export type { FlowActionSpec, FlowMatchSpec, FlowSpec } from './lib/flow-spec.js';
export type { MissPolicy } from './lib/fail-mode.js';
export type { FailMode } from './lib/options.js';
export type { Logger, LogFields } from './lib/log.js';
export { MemoryPort } from './datapath/ports/memory-port.js';
export type { MemoryPortOptions } from './datapath/ports/memory-port.js';
export { portTypeNames, registerPortType } from './datapath/ports/factory.js';
export type { PortDevices } from './datapath/ports/factory.js';
export { PortError } from './datapath/ports/port-type.js';
export type { PortOptions, PortType } from './datapath/ports/port-type.js';
export type { LinkInfo, NetPort } from './datapath/ports/net-port.js';
export type { HtbPlan, HtbQueueSettings, HtbSettings } from './qos/htb.js';
export { OFPAT, OFPP, OFPPR } from './protocol/constants.js';
export type { Action, FlowStats, Match, PhyPort, PortStats } from './protocol/types.js';
