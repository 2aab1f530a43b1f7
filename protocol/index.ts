/**
 * The OpenFlow 1.0 codec: constants, message types, decode, encode, framing, version
 * negotiation, validation, error replies and flows as Open vSwitch prints them. No I/O.
 */
export * from './constants.js';
export type * from './types.js';
export { decodeMessage } from './decode.js';
export { encodeMessage, messageLength } from './encode.js';
export { MATCH_ALL, decodeMatch, encodeMatch, matchWith } from './match.js';
export { actionsLength, decodeActions, encodeActions } from './actions.js';
export { MessageFramer } from './framing.js';
export { negotiateVersion } from './hello.js';
export { validateMessage } from './validate.js';
export { decodeError, errorMessage, errorReply } from './errors.js';
export { describeMessage } from './describe.js';
export {
  formatAction,
  formatActions,
  formatBridgeFlow,
  formatDuration,
  formatFlowStats,
  formatIpv4,
  formatMatch,
  formatPort,
  type FlowAges,
} from './flow-format.js';
