// A backend that fails half of the command POSTs with 503 (before anything
// is queued): ten deposits of 1 must raise the balance by exactly 10.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBackend } from './lib/backend.mjs';
import { card, instrument, launchBrowser, moveMoney, openAccount, signIn, uniqueId, waitBalance, waitFor, balanceOf } from './lib/browser.mjs';

describe('chaos backend (CHAOS_FAILURE_RATE=0.5)', () => {
  let backend;
  let browser;
  before(async () => {
    backend = await startBackend({ name: 'chaos', chaos: 0.5 });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await backend?.stop();
  });

  test('ten deposits of 1 raise the balance by exactly 10.00', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1000, height: 800 } });
    // More tries than the default so that 0.5^n is negligible across the run.
    await ctx.addInitScript(() => {
      window.LEDGERLINE_CONFIG = { httpRetry: { baseMs: 100, factor: 2, maxMs: 1000, maxAttempts: 25 } };
    });
    const page = await ctx.newPage();
    const rec = instrument(page, { allowConsole: [/^Failed to load resource: the server responded with a status of 503/] });
    await signIn(page, backend.baseUrl, uniqueId('chaos'));
    const acc = uniqueId('acc-');
    await openAccount(page, acc, '0');
    await waitBalance(page, acc, '0.00', 30_000);

    await card(page, acc).getByTestId('amount').fill('1');
    for (let i = 0; i < 10; i++) await card(page, acc).getByTestId('deposit').click();
    await waitBalance(page, acc, '10.00', 60_000);
    await waitFor(async () => (await page.evaluate(() => window.__ledgerline.pendingCount())) === 0, 'no command pending', 30_000);
    // It stays there: no deposit is applied twice.
    const until = Date.now() + 1_000;
    while (Date.now() < until) {
      assert.equal(await balanceOf(page, acc), '10.00');
      await page.waitForTimeout(100);
    }
    await waitFor(async () => (await card(page, acc).getByTestId('history-item').count()) === 11, '10 deposits + opened in history', 10_000);
    assert.equal(await card(page, acc).getByTestId('history-item').count(), 11);

    // Every try of one deposit carried the same key and body; ten keys in all.
    const deposits = rec.requests.filter((r) => r.path === '/commands/deposit');
    const byKey = new Map();
    for (const r of deposits) {
      const k = r.headers['idempotency-key'];
      if (!byKey.has(k)) byKey.set(k, new Set());
      byKey.get(k).add(r.body);
    }
    assert.equal(byKey.size, 10, 'ten user actions, ten Idempotency-Keys');
    for (const bodies of byKey.values()) assert.equal(bodies.size, 1);
    await Promise.all(rec.pendingChecks);
    const statuses = rec.responses.filter((r) => r.path === '/commands/deposit').map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 202).length >= 10, true, `statuses ${statuses}`);
    assert.ok(statuses.every((s) => s === 202 || s === 503), `statuses ${statuses}`);
    console.log(`chaos: ${deposits.length} deposit POSTs for 10 deposits (${statuses.filter((s) => s === 503).length} answered 503)`);
    await rec.assertClean();
    await ctx.close();
  });
});
