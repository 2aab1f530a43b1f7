// Every source folder of the switch ships in the npm package: a folder compiled to dist/ but left
// out of package.json's "files" makes the installed library fail at its first import of it
// (ERR_MODULE_NOT_FOUND), as dist/ipfix/ did once. Benchmarks and tests do not ship.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ROOT } from '../helpers/ofswitch-process.js';

const tsconfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as { include: string[] };
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[] };

t.test('package.json "files" lists dist/ of every source folder tsconfig.json compiles, and no more', async (t) => {
  const folders = tsconfig.include.filter((d) => !d.endsWith('.ts') && d !== 'bench' && d !== 'test');
  t.ok(folders.length > 10, `the source folders are read (${folders.join(', ')})`);
  const shipped = pkg.files.filter((f) => f.startsWith('dist/') && f.endsWith('/')).map((f) => f.slice('dist/'.length, -1));
  t.same([...folders].sort(), [...shipped].sort());
});
