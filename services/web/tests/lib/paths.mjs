import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const WEB_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const REPO_ROOT = resolve(WEB_DIR, '..', '..');
export const DIST_DIR = join(WEB_DIR, 'dist');
export const SCREENSHOT_DIR = join(REPO_ROOT, 'target', 'screenshots');
export const LOG_DIR = join(REPO_ROOT, 'target', 'web-test-logs');
