// Builds the static site into dist/: compiles src/*.ts with tsc (plain ES
// modules, no bundler) and copies static/* beside them.
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
console.log(`built ${readdirSync(dist).sort().join(', ')} into ${dist}`);
