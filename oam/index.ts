/** Link monitoring as Open vSwitch does it: 802.1ag CFM and BFD sessions on a bridge's interfaces. */
export { BfdSession, bfdSettings, type BfdSettings, type BfdStatus } from './bfd.js';
export { CfmSession, isValidMpid, type CfmSettings, type CfmStatus } from './cfm.js';
export { cfmShow, bfdShow, registerOamCommands, type MonitorList } from './commands.js';
export { cfmSettings } from './settings.js';
export { LinkMonitor, OamError, type LinkMonitorEvents, type MonitorHost } from './monitor.js';
