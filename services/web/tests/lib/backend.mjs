// Starts a private `ledgerline all` for one test file: its own port,
// database and NATS prefix; stop() kills it and removes what it made.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DIST_DIR, LOG_DIR } from './paths.mjs';

export function ledgerlineBin() {
  if (process.env.LEDGERLINE_BIN) return process.env.LEDGERLINE_BIN;
  const target = process.env.CARGO_TARGET_DIR || join(homedir(), '.cache', 'ledgerline-target');
  return join(target, 'debug', 'ledgerline');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function dropDatabase(name) {
  const pgHost = process.env.PGHOST_TEST || '127.0.0.1';
  spawnSync('psql', ['-h', pgHost, '-U', 'postgres', '-d', 'postgres', '-qc', `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`], {
    stdio: 'ignore',
    timeout: 30_000,
  });
}

/**
 * @param {{ chaos?: number, name?: string, env?: Record<string, string> }} opts
 * @returns {Promise<{ baseUrl: string, prefix: string, db: string, logPath: string, stop: () => Promise<void> }>}
 */
export async function startBackend(opts = {}) {
  if (process.env.LEDGERLINE_MOCK === '1') {
    // Development only: the contract mock in dev/mock-server.mjs.
    const { startMockServer } = await import('../../dev/mock-server.mjs');
    const m = await startMockServer({ webDir: DIST_DIR, chaos: opts.chaos ?? 0 });
    return { baseUrl: m.baseUrl, prefix: 'mock', db: 'mock', logPath: '', stop: m.stop };
  }
  const bin = ledgerlineBin();
  if (!existsSync(bin)) {
    throw new Error(`ledgerline binary not found at ${bin}: run \`cargo build -p ledgerline\` first (or set LEDGERLINE_BIN)`);
  }
  if (!existsSync(join(DIST_DIR, 'index.html'))) {
    throw new Error(`web app not built at ${DIST_DIR}: run \`npm run build\` in services/web first`);
  }
  const suffix = randomBytes(5).toString('hex');
  const prefix = `webt${suffix}`;
  const db = `webt_${suffix}`;
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const pgBase = process.env.LEDGERLINE_TEST_PG || 'postgres://postgres@127.0.0.1:5432';
  const env = {
    ...process.env,
    HTTP_ADDR: `127.0.0.1:${port}`,
    DATABASE_URL: `${pgBase}/${db}`,
    NATS_PREFIX: prefix,
    DEMO_LOGIN: 'true',
    JWT_SECRET: 'test',
    WEB_DIR: DIST_DIR,
    RUST_LOG: process.env.RUST_LOG || 'info',
    ...(opts.env ?? {}),
  };
  if (opts.chaos !== undefined) env.CHAOS_FAILURE_RATE = String(opts.chaos);
  else delete env.CHAOS_FAILURE_RATE;

  mkdirSync(LOG_DIR, { recursive: true });
  const logPath = join(LOG_DIR, `${opts.name ?? 'backend'}-${prefix}.log`);
  const log = createWriteStream(logPath);
  const child = spawn(bin, ['all'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  let exited = null;
  const exitPromise = new Promise((resolve) => child.on('exit', (code, signal) => {
    exited = { code, signal };
    resolve(exited);
  }));

  const tail = () => {
    try {
      return readFileSync(logPath, 'utf8').split('\n').slice(-40).join('\n');
    } catch {
      return '';
    }
  };

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (!exited) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exitPromise;
      clearTimeout(t);
    }
    log.end();
    spawnSync(bin, ['cleanup-streams'], { env, stdio: 'ignore', timeout: 30_000 });
    dropDatabase(db);
  };

  const deadline = Date.now() + Number(process.env.LEDGERLINE_READY_TIMEOUT_MS || 90_000);
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`ledgerline exited early (${JSON.stringify(exited)}); log ${logPath}:\n${tail()}`);
    }
    try {
      const res = await fetch(`${baseUrl}/readyz`);
      if (res.status === 200) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`ledgerline not ready at ${baseUrl}/readyz in time; log ${logPath}:\n${tail()}`);
    }
    await sleep(250);
  }
  return { baseUrl, prefix, db, logPath, stop };
}
