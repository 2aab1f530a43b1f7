/**
 * Registers dist-first.mjs as a module loader hook: `node --import=./test/loader/register.mjs
 * test/x.test.ts`. tap passes it to every test file (package.json "tap" "node-arg").
 */
import { register } from 'node:module';

register('./dist-first.mjs', import.meta.url);
