// A backend that fails half of the command POSTs with 503 (before anything
// is queued), and an app sending commands over HTTP: every deposit is
// retried with its own command id until it gets through, and is applied once.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { card, newAccount, recordPendingTexts, uniqueId, UUID_V7_RE, waitBalance, waitFor, balanceOf } from './lib/browser.mjs';
import { useTestApp } from './lib/fixture.mjs';

const ALLOW_503 = [/^Failed to load resource: the server responded with a status of 503/];

describe('chaos backend (CHAOS_FAILURE_RATE=0.5)', () => {
  const app = useTestApp({ name: 'chaos', chaos: 0.5, viewport: { width: 1000, height: 800 } });

  /** A new user's tab, signed in, sending commands over HTTP. */
  function newPage() {
    return app.newPage({
      user: uniqueId('chaos'),
      // More tries than the default so that 0.5^n is negligible across the run; commands over HTTP,
      // where the chaos switch answers 503 (socket commands do not pass through it).
      httpOnly: true,
      config: { httpRetry: { baseMs: 100, factor: 2, maxMs: 1000, maxAttempts: 25 } },
      allowConsole: ALLOW_503,
    });
  }

  /** Bodies sent per command id. */
  function bodiesById(rec, name) {
    const byId = new Map();
    for (const r of rec.requests.filter((x) => x.path === `/commands/${name}`)) {
      const id = JSON.parse(r.body).commandId;
      if (!byId.has(id)) byId.set(id, new Set());
      byId.get(id).add(r.body);
    }
    return byId;
  }

  test('ten deposits of 1 raise the balance by exactly 10.00', async () => {
    const { ctx, page, rec } = await newPage();
    const acc = await newAccount(page, '0', { timeoutMs: 30_000 });

    // Ten intents: each waits for its outcome (the form clears) before the next.
    // (Ten clicks on one unchanged form would be one intent: see the next test and intent.test.mjs.)
    for (let i = 0; i < 10; i++) {
      await card(page, acc).getByTestId('amount').fill('1');
      await card(page, acc).getByTestId('deposit').click();
      await waitFor(async () => (await page.evaluate(() => window.__ledgerline.pendingCount())) === 0, `deposit ${i + 1} decided`, 30_000);
    }
    await waitBalance(page, acc, '10.00', 60_000);
    // It stays there: no deposit is applied twice.
    const until = Date.now() + 1_000;
    while (Date.now() < until) {
      assert.equal(await balanceOf(page, acc), '10.00');
      await page.waitForTimeout(100);
    }
    await waitFor(async () => (await card(page, acc).getByTestId('history-item').count()) === 11, '10 deposits + opened in history', 10_000);
    assert.equal(await card(page, acc).getByTestId('history-item').count(), 11);

    // Every try of one deposit carried the same body and command id; ten ids in all.
    const byId = bodiesById(rec, 'deposit');
    assert.equal(byId.size, 10, 'ten user actions, ten command ids');
    for (const [id, bodies] of byId) {
      assert.match(id, UUID_V7_RE);
      assert.equal(bodies.size, 1);
    }
    await Promise.all(rec.pendingChecks);
    const statuses = rec.responses.filter((r) => r.path === '/commands/deposit').map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 202).length >= 10, true, `statuses ${statuses}`);
    assert.ok(statuses.every((s) => s === 202 || s === 503), `statuses ${statuses}`);
    console.log(`chaos: ${statuses.length} deposit POSTs for 10 deposits (${statuses.filter((s) => s === 503).length} answered 503)`);
    await rec.assertClean();
    await ctx.close();
  });

  test('a second click while a deposit is being retried after a 503 is the same deposit: money moves once', async () => {
    const { ctx, page, rec } = await newPage();
    const acc = await newAccount(page, '0', { timeoutMs: 30_000 });
    // The first try of every deposit is refused here, so there is always a retry to click into;
    // later tries meet the chaos switch (half of them 503).
    const seen = new Set();
    await page.route('**/commands/deposit', async (route) => {
      const id = JSON.parse(route.request().postData()).commandId;
      if (!seen.has(id)) {
        seen.add(id);
        await new Promise((r) => setTimeout(r, 150));
        await route.fulfill({ status: 503, contentType: 'application/problem+json', body: JSON.stringify({ type: 'urn:ledgerline:problem:unavailable', title: 'Service unavailable', status: 503, detail: 'try again' }) });
        return;
      }
      await route.continue();
    });
    const c = card(page, acc);
    await recordPendingTexts(page, acc);
    await c.getByTestId('amount').fill('1');
    const box = await c.getByTestId('deposit').boundingBox();
    const click = () => page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await click();
    // While it is retrying, the person sees so (with the attempt) and clicks again, twice, at human speed.
    await waitFor(async () => /retrying… \(attempt \d+ of \d+\)/.test(await c.getByTestId('pending').textContent()), '"retrying… (attempt n of m)"', 10_000, 10);
    assert.equal(await c.getByTestId('deposit').getAttribute('aria-disabled'), 'true');
    assert.equal(await c.getByTestId('deposit').textContent(), 'Pending…');
    await click();
    await page.waitForTimeout(200);
    await click();
    await waitBalance(page, acc, '1.00', 60_000);
    await waitFor(async () => (await page.evaluate(() => window.__ledgerline.pendingCount())) === 0, 'decided', 30_000);
    await page.waitForTimeout(1_000);
    assert.equal(await balanceOf(page, acc), '1.00', 'money moved once');
    assert.equal(await c.getByTestId('history-item').count(), 2, 'opened + one deposit');
    const byId = bodiesById(rec, 'deposit');
    assert.equal(byId.size, 1, 'one intent, one command id, however many clicks and tries');
    const [[, bodies]] = [...byId];
    assert.equal(bodies.size, 1);
    assert.ok(rec.requests.filter((r) => r.path === '/commands/deposit').length >= 2, 'it was retried');
    const log = await page.evaluate(() => window.__pendingLog);
    assert.ok(log.some((t) => /^retrying… \(attempt 2 of 25\)$/.test(t)), `pending texts: ${JSON.stringify(log)}`);
    assert.equal(await c.getByTestId('amount').inputValue(), '', 'the form cleared on success');
    await rec.assertClean();
    await ctx.close();
  });
});
