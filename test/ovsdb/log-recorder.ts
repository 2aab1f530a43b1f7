/** An OvsdbLogger that keeps its lines, for tests that check what was logged. */
import type { OvsdbLogFields, OvsdbLogger } from '../../ovsdb/logger.js';

export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly msg: string;
  readonly fields: OvsdbLogFields;
}

export function recordingLogger(): OvsdbLogger & { readonly lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: LogLine['level']) => (msg: string, fields: OvsdbLogFields = {}) => void lines.push({ level, msg, fields });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
