/**
 * The OpenFlow 1.0 codec: constants, message types, decode, encode, framing, version
 * negotiation, validation, OfpError (the error every layer answers a request with), and flows as
 * Open vSwitch prints them. No I/O.
 */
export * from './constants.js';
export type * from './types.js';
export { decodeMessage } from './decode.js';
export { encodeMessage } from './encode.js';
export { MATCH_ALL, decodeMatch, encodeMatch, matchWith } from './match.js';
export { actionsLength, decodeActions, encodeActions } from './actions.js';
export { MessageFramer } from './framing.js';
export { negotiateVersion } from './hello.js';
export { validateMessage } from './validate.js';
export { OfpError, internalError, requestError, xidOf } from './errors.js';
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
