/** The OVSDB client: a JSON-RPC connection, a local replica (Idl) and transactions. */
export * from './datum.js';
export * from './idl.js';
export * from './json-stream.js';
export * from './jsonrpc.js';
export * from './logger.js';
export * from './replica.js';
export * from './schema.js';
export * from './transaction.js';
