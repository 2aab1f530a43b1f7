/**
 * Writes the fuzz corpus's seeds: one file per message of the typed corpus
 * (test/helpers/of10-corpus.ts: every OpenFlow 1.0 message type, stats type and action),
 * `seed-NAME.bin`, each the message's encoding as sent on the wire. Files not named `seed-*`
 * (inputs that once broke or puzzled the switch, saved by `npm run fuzz -- --save DIR`) are kept.
 *
 *   npm run build && node dist/test/fuzz-corpus/make-seeds.js [DIR]   (default: test/fuzz-corpus)
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeMessage } from '../../protocol/index.js';
import { CORPUS } from '../helpers/of10-corpus.js';

const dir = process.argv[2] ?? 'test/fuzz-corpus';
for (const [name, msg] of Object.entries(CORPUS)) writeFileSync(join(dir, `seed-${name}.bin`), encodeMessage(msg));
console.log(`${Object.keys(CORPUS).length} seeds written to ${dir}`);
