/**
 * Loader for the TypeScript tests on Node 20: runs each .ts module from the JavaScript that
 * `npm run build` (tsc, which type-checks everything) already wrote to dist/, instead of compiling
 * it again in every test process. tap's own TypeScript loader (ts-node) loads the TypeScript
 * compiler and transpiles every module anew in each of the ~170 test processes, about 5 s of CPU
 * per file on the 2-core test machine; reading dist/ takes well under a second.
 *
 * - The module keeps its .ts URL, so import.meta.url, paths computed from it and the coverage
 *   report are the same as under ts-node; dist's source map is inlined with the absolute path of
 *   the .ts source so coverage maps back to it.
 * - A .ts file newer than its dist/ output (edited since the last build), or one outside the
 *   project's build, is transpiled here with the TypeScript compiler (types stripped, not
 *   checked), as ts-node would: a stale dist/ never runs.
 * - `import '../lib/x.js'` from a .ts module resolves to ../lib/x.ts, as TypeScript's NodeNext
 *   resolution does.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST = join(ROOT, 'dist');

const isTs = (url) => url.startsWith('file:') && url.endsWith('.ts') && !url.endsWith('.d.ts');

export async function resolve(specifier, context, nextResolve) {
  const parent = context.parentURL;
  if (parent && isTs(parent) && /^\.\.?\//.test(specifier) && specifier.endsWith('.js')) {
    const ts = new URL(`${specifier.slice(0, -3)}.ts`, parent);
    if (existsSync(fileURLToPath(ts))) return { url: ts.href, format: 'module', shortCircuit: true };
  }
  return nextResolve(specifier, context);
}

export async function load(url, context, nextLoad) {
  if (!isTs(url)) return nextLoad(url, context);
  const file = fileURLToPath(url);
  return { format: 'module', source: fromDist(file) ?? (await transpile(file)), shortCircuit: true };
}

/** dist/'s JavaScript for `file` with its source map inlined, or undefined when missing or stale. */
function fromDist(file) {
  const rel = relative(ROOT, file);
  if (rel.startsWith('..') || rel.split(sep)[0] === 'node_modules' || rel.split(sep)[0] === 'dist') return undefined;
  const js = join(DIST, `${rel.slice(0, -3)}.js`);
  let built;
  try {
    built = statSync(js).mtimeMs;
  } catch {
    return undefined;
  }
  if (built < statSync(file).mtimeMs || !existsSync(`${js}.map`)) return undefined;
  const map = JSON.parse(readFileSync(`${js}.map`, 'utf8'));
  map.sources = [file];
  delete map.sourceRoot;
  const code = readFileSync(js, 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
  return `${code}//# sourceMappingURL=data:application/json;base64,${Buffer.from(JSON.stringify(map)).toString('base64')}\n`;
}

/** Types stripped by the TypeScript compiler (not checked: `npm run build` checks). */
async function transpile(file) {
  const { default: ts } = await import('typescript');
  const out = ts.transpileModule(readFileSync(file, 'utf8'), {
    fileName: file,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      verbatimModuleSyntax: true,
      inlineSourceMap: true,
      inlineSources: false,
    },
  });
  return out.outputText;
}
