/** sFlow version 5 export (OVS's sFlow table): the agent a bridge runs, its settings and the datagram encoder. */
export { SflowAgent, type SflowAgentOptions, type SflowBridge, type SflowLog, type SflowPortView } from './agent.js';
export { DatagramWriter } from './datagram.js';
export { SflowError, agentAddress, parseTarget, sflowConfig, type SflowConfig, type SflowSettings, type SflowTarget } from './settings.js';
