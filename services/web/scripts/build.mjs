// Builds the static site into dist/: compiles src/*.ts with tsc (plain ES
// modules, no bundler), copies static/* beside them, and puts the API
// reference's renderer (swagger-ui-dist) into dist/docs/.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

const require = createRequire(import.meta.url);
const tscBin = join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');
const res = spawnSync(process.execPath, [tscBin, '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
if (res.status !== 0) {
  console.error('tsc failed');
  process.exit(res.status ?? 1);
}
for (const f of readdirSync(join(root, 'static'))) {
  cpSync(join(root, 'static', f), join(dist, f), { recursive: true });
}
// The renderer of /docs, from our own origin (the CSP allows no other), with
// its licence. Not its source maps: 5 MB nobody's browser asks for.
const swaggerUi = dirname(require.resolve('swagger-ui-dist/package.json'));
for (const f of ['swagger-ui-bundle.js', 'swagger-ui-bundle.js.LICENSE.txt', 'swagger-ui.css', 'LICENSE', 'NOTICE']) {
  cpSync(join(swaggerUi, f), join(dist, 'docs', f));
}
console.log(`built ${readdirSync(dist).sort().join(', ')} into ${dist}`);
