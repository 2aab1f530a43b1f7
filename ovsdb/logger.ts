/**
 * The logging this client needs, as an interface: the caller injects its logger (lib/log.ts's
 * Logger satisfies it structurally), so ovsdb/ never imports from the layers that use it.
 */
export type OvsdbLogFields = Readonly<Record<string, unknown>>;

export interface OvsdbLogger {
  debug(msg: string, fields?: OvsdbLogFields): void;
  info(msg: string, fields?: OvsdbLogFields): void;
  warn(msg: string, fields?: OvsdbLogFields): void;
  error(msg: string, fields?: OvsdbLogFields): void;
}

/** Drops everything (the default when no logger is given). */
export const silentOvsdbLogger: OvsdbLogger = { debug() {}, info() {}, warn() {}, error() {} };
