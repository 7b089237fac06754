// Browser tests against a real `ledgerline all` (one per file).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { startBackend } from './lib/backend.mjs';
import {
  apiFetch, balanceOf, card, connectionText, demoToken, instrument, launchBrowser, moveMoney, openAccount,
  signIn, toasts, uniqueId, waitBalance, waitFor, waitToast,
} from './lib/browser.mjs';
import { check } from './lib/schemas.mjs';
import { SCREENSHOT_DIR } from './lib/paths.mjs';

describe('ledgerline web app', () => {
  let backend;
  let browser;
  const contexts = [];
  before(async () => {
    backend = await startBackend({ name: 'e2e' });
    browser = await launchBrowser();
  });
  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await backend?.stop();
  });

  async function newPage(opts = {}) {
    const ctx = await browser.newContext({ viewport: opts.viewport ?? { width: 1200, height: 800 } });
    contexts.push(ctx);
    const page = await ctx.newPage();
    const rec = instrument(page, opts);
    return { ctx, page, rec };
  }

  async function recordConnection(page) {
    await page.evaluate(() => {
      const el = document.querySelector('[data-testid="connection"]');
      window.__connLog = [el.textContent];
      new MutationObserver(() => window.__connLog.push(el.textContent)).observe(el, { childList: true, characterData: true, subtree: true });
    });
  }

  test('two tabs of one user: a deposit in one shows in the other within 1 s, with a toast in both', async () => {
    const user = uniqueId('alice');
    const { ctx, page: p1, rec: r1 } = await newPage();
    const p2 = await ctx.newPage(); // same context, separate tab: its own sessionStorage
    const r2 = instrument(p2);
    await signIn(p1, backend.baseUrl, user);
    await signIn(p2, backend.baseUrl, user);

    const acc = uniqueId('acc-');
    await openAccount(p1, acc, '10.00');
    await waitBalance(p1, acc, '10.00');
    await waitBalance(p2, acc, '10.00');
    await waitToast(p1, 'success', new RegExp(`Opening account ${acc} succeeded`));
    await waitToast(p2, 'success', new RegExp(`Opening account ${acc} succeeded`));

    // Hold the POST a moment so the pending state is observable.
    await p1.route('**/commands/deposit', async (route) => {
      await new Promise((r) => setTimeout(r, 400));
      await route.continue();
    });
    await moveMoney(p1, acc, 'deposit', '5');
    const pendingText = await card(p1, acc).getByTestId('pending').textContent();
    assert.match(pendingText, /1 pending/);
    await waitBalance(p1, acc, '15.00');
    const shownAt = Date.now();
    await waitBalance(p2, acc, '15.00', 1_000);
    assert.ok(Date.now() - shownAt <= 1_000);
    await waitToast(p1, 'success', /Deposit of 5\.00 succeeded/);
    await waitToast(p2, 'success', /Deposit of 5\.00 succeeded/);
    await waitFor(async () => await card(p1, acc).getByTestId('pending').isHidden(), 'pending marker cleared');
    // The feed has it too, in both tabs.
    for (const p of [p1, p2]) {
      await waitFor(async () => (await card(p, acc).getByTestId('history').textContent()).includes('+5.00'), 'history shows +5.00');
      const items = await card(p, acc).getByTestId('history-item').count();
      assert.equal(items, 2, 'opened + deposit');
    }
    // Frames from the real socket were recorded (and validated by instrument()).
    const types = new Set(r1.frames.map((f) => f.type));
    assert.ok(types.has('welcome'), 'welcome frame');
    assert.ok(types.has('status'), 'status frame');
    assert.equal(r1.frames[0].type, 'welcome');
    assert.equal(r1.frames[0].userId, user);
    assert.ok(r2.frames.some((f) => f.type === 'status'), 'status envelopes reach the other tab');
    await r1.assertClean();
    await r2.assertClean();
  });

  test('a second user never sees the first user\'s accounts or toasts', async () => {
    const alice = uniqueId('alice');
    const bob = uniqueId('bob');
    const { page: pa, rec: ra } = await newPage();
    const { page: pb, rec: rb } = await newPage();
    await signIn(pa, backend.baseUrl, alice);
    await signIn(pb, backend.baseUrl, bob);
    const acc = uniqueId('acc-');
    await openAccount(pa, acc, '3.00');
    await moveMoney(pa, acc, 'deposit', '2');
    await waitBalance(pa, acc, '5.00');
    await waitToast(pa, 'success', /Deposit of 2\.00 succeeded/);
    // Give any stray frame time to arrive at bob's tab, then look.
    await pb.waitForTimeout(1_000);
    assert.equal(await pb.locator('[data-testid^="account-"]').count(), 0);
    assert.deepEqual(await toasts(pb), []);
    assert.ok(await pb.getByTestId('no-accounts').isVisible());
    assert.ok(rb.frames.every((f) => f.type === 'welcome' || f.type === 'heartbeat'), `bob got ${JSON.stringify(rb.frames.map((f) => f.type))}`);
    // And the read model agrees.
    const bobToken = await demoToken(backend.baseUrl, bob);
    const r = await apiFetch(backend.baseUrl, '/projections/AccountBalances', { token: bobToken });
    assert.equal(r.status, 200);
    assert.ok(!r.body.items.some((i) => i.accountId === acc));
    await ra.assertClean();
    await rb.assertClean();
  });

  test('over-withdrawal shows a red toast with the reason and leaves the balance as it was', async () => {
    const user = uniqueId('alice');
    const { page, rec } = await newPage();
    await signIn(page, backend.baseUrl, user);
    const acc = uniqueId('acc-');
    await openAccount(page, acc, '1.00');
    await waitBalance(page, acc, '1.00');
    await moveMoney(page, acc, 'withdraw', '5');
    const text = await waitToast(page, 'rejected', /Insufficient funds/);
    assert.match(text, /Withdrawal of 5\.00 rejected/);
    const code = await page.locator('.toast.rejected').first().getAttribute('data-code');
    assert.equal(code, 'INSUFFICIENT_FUNDS');
    const status = rec.frames.find((f) => f.type === 'status' && f.status === 'rejected');
    assert.ok(status, 'rejected status envelope');
    assert.equal(status.success, false);
    assert.equal(status.error.code, 'INSUFFICIENT_FUNDS');
    assert.deepEqual(status.events, []);
    for (let i = 0; i < 5; i++) {
      assert.equal(await balanceOf(page, acc), '1.00');
      await page.waitForTimeout(100);
    }
    await waitFor(async () => await card(page, acc).getByTestId('pending').isHidden(), 'pending cleared');
    assert.equal(await card(page, acc).getByTestId('history-item').count(), 1);
    await rec.assertClean();
  });

  test('dropping the socket shows reconnecting then connected, and catches up on a deposit made meanwhile', async () => {
    const user = uniqueId('alice');
    const { ctx, page, rec } = await newPage();
    await signIn(page, backend.baseUrl, user);
    const acc = uniqueId('acc-');
    await openAccount(page, acc, '2.00');
    await waitBalance(page, acc, '2.00');
    await recordConnection(page);

    // The "network" stays down 2 s; meanwhile another client deposits.
    await page.evaluate(() => window.__ledgerline.dropSocket(3_000));
    await waitFor(async () => (await connectionText(page)) === 'reconnecting', '"reconnecting"', 1_000);
    const token = await demoToken(backend.baseUrl, user);
    const body = { accountId: acc, amount: '5.00' };
    assert.equal(check('deposit-request.json', body), null);
    const r = await apiFetch(backend.baseUrl, '/commands/deposit', { method: 'POST', token, body, key: randomUUID() });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.equal(check('accepted-response.json', r.body), null);
    // Let the deposit be decided and projected while the tab is away.
    await waitFor(async () => {
      const h = await apiFetch(backend.baseUrl, `/projections/TransactionHistory?accountId=${acc}&limit=50`, { token });
      return h.status === 200 && h.body.items.some((i) => i.commandId === r.body.commandId);
    }, 'deposit in the read model', 10_000);
    if ((await connectionText(page)) === 'reconnecting') {
      assert.equal(await balanceOf(page, acc), '2.00', 'nothing arrives while the socket is down');
    }

    await waitFor(async () => (await connectionText(page)) === 'connected', '"connected"', 15_000);
    await waitBalance(page, acc, '7.00', 5_000);
    await waitFor(async () => (await card(page, acc).getByTestId('history').textContent()).includes('+5.00'), 'history caught up');
    const log = await page.evaluate(() => window.__connLog);
    const iR = log.indexOf('reconnecting');
    assert.ok(iR >= 0 && log.indexOf('connected', iR) > iR, `connection went ${log.join(' -> ')}`);

    // A plain drop (no hold) recovers by itself too, and live frames flow again.
    await page.evaluate(() => window.__ledgerline.dropSocket());
    await waitFor(async () => (await connectionText(page)) === 'connected', '"connected" again', 15_000);
    await moveMoney(page, acc, 'deposit', '1');
    await waitBalance(page, acc, '8.00');
    await waitToast(page, 'success', /Deposit of 1\.00 succeeded/);

    // The browser going offline shows "offline"; back online, it reconnects.
    await ctx.setOffline(true);
    await waitFor(async () => (await connectionText(page)) === 'offline', '"offline"', 5_000);
    await ctx.setOffline(false);
    await waitFor(async () => (await connectionText(page)) === 'connected', '"connected" after going online', 15_000);
    await rec.assertClean();
  });

  test('4xx problems are shown and never retried; 5xx are retried with the same Idempotency-Key', async () => {
    const user = uniqueId('alice');
    const { page, rec } = await newPage();
    await signIn(page, backend.baseUrl, user);
    const acc = uniqueId('acc-');
    await openAccount(page, acc, '1.00');
    await waitBalance(page, acc, '1.00');

    // A real 4xx from the server, checked against problem.json.
    const token = await demoToken(backend.baseUrl, user);
    const bad = await apiFetch(backend.baseUrl, '/commands/deposit', { method: 'POST', token, body: { accountId: acc, amount: '1.005' }, key: randomUUID() });
    assert.ok(bad.status >= 400 && bad.status < 500, String(bad.status));
    assert.match(bad.headers.get('content-type'), /^application\/problem\+json/);
    assert.equal(check('problem.json', bad.body), null);

    // The app shows a 4xx and sends it once.
    let hits = 0;
    await page.route('**/commands/withdraw', async (route) => {
      hits++;
      await route.fulfill({
        status: 422,
        contentType: 'application/problem+json',
        body: JSON.stringify({ type: 'urn:ledgerline:problem:invalid-body', title: 'Invalid request', status: 422, detail: 'amount is too precise', errors: [{ field: 'amount', message: 'at most 2 decimals' }] }),
      });
    });
    await moveMoney(page, acc, 'withdraw', '0.50');
    const t = await waitToast(page, 'failed', /Invalid request/);
    assert.match(t, /amount is too precise/);
    await page.waitForTimeout(700);
    assert.equal(hits, 1);

    // 503 twice, then through to the server: one deposit, one key.
    const keys = [];
    await page.route('**/commands/deposit', async (route) => {
      keys.push(route.request().headers()['idempotency-key']);
      if (keys.length <= 2) {
        await route.fulfill({ status: 503, contentType: 'application/problem+json', body: JSON.stringify({ type: 'urn:ledgerline:problem:unavailable', title: 'Service unavailable', status: 503 }) });
      } else {
        await route.continue();
      }
    });
    await moveMoney(page, acc, 'deposit', '2');
    await waitBalance(page, acc, '3.00');
    await waitToast(page, 'success', /Deposit of 2\.00 succeeded/);
    assert.equal(keys.length, 3);
    assert.equal(new Set(keys).size, 1, 'the same Idempotency-Key on every try');
    // Client-side validation: nothing is sent for a bad amount.
    await moveMoney(page, acc, 'deposit', '1.234');
    assert.match(await card(page, acc).locator('.field-error').textContent(), /at most 2 decimals/);
    assert.equal(keys.length, 3);
    rec.consoleErrors = rec.consoleErrors.filter((e) => !/status of (422|503)/.test(e));
    await rec.assertClean();
  });

  test('keyboard only: sign in, open an account, deposit, close', async () => {
    const user = uniqueId('kbd');
    const { page, rec } = await newPage();
    await page.goto(backend.baseUrl + '/');
    await waitFor(() => page.evaluate(() => document.activeElement?.getAttribute('data-testid') === 'login-user'), 'login field focused');
    await page.keyboard.type(user);
    await page.keyboard.press('Enter');
    await page.getByTestId('logout').waitFor();
    await waitFor(async () => (await connectionText(page)) === 'connected', 'connected');
    const acc = uniqueId('acc-');
    await page.getByTestId('open-account-id').focus();
    await page.keyboard.type(acc);
    await page.keyboard.press('Tab');
    await page.keyboard.type('0');
    await page.keyboard.press('Enter');
    await card(page, acc).waitFor();
    await waitBalance(page, acc, '0.00');
    await card(page, acc).getByTestId('amount').focus();
    await page.keyboard.type('4.25');
    await page.keyboard.press('Enter');
    await waitBalance(page, acc, '4.25');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    // focus is on the amount input again: withdraw everything, then close via keyboard
    await card(page, acc).getByTestId('amount').fill('4.25');
    await card(page, acc).getByTestId('withdraw').focus();
    await page.keyboard.press('Enter');
    await waitBalance(page, acc, '0.00');
    await card(page, acc).getByTestId('close').focus();
    await page.keyboard.press('Enter');
    await waitFor(async () => (await card(page, acc).getByTestId('status').textContent()) === 'closed', 'account closed');
    assert.ok(await card(page, acc).getByTestId('deposit').isDisabled());
    await waitToast(page, 'success', new RegExp(`Closing account ${acc} succeeded`));
    // Labels: every input has one.
    const unlabeled = await page.evaluate(() => [...document.querySelectorAll('input')].filter((i) => !(i.labels && i.labels.length) && !i.getAttribute('aria-label')).map((i) => i.outerHTML));
    assert.deepEqual(unlabeled, []);
    // Sign out returns to the sign-in form.
    await page.getByTestId('logout').click();
    await page.getByTestId('login-user').waitFor();
    assert.equal(await connectionText(page), 'offline');
    await rec.assertClean();
  });

  test('contract: every kind of frame from a real socket validates against proto/schemas', async () => {
    const user = uniqueId('frames');
    const { page, rec } = await newPage();
    await signIn(page, backend.baseUrl, user);
    const acc = uniqueId('acc-');
    await openAccount(page, acc, '1.00');
    await moveMoney(page, acc, 'deposit', '1');
    await waitBalance(page, acc, '2.00');
    await moveMoney(page, acc, 'withdraw', '9');
    await waitToast(page, 'rejected', /Insufficient funds/);
    // A second, raw socket on the same page sends a frame the server must refuse.
    const errorFrame = await page.evaluate(async () => {
      const { token } = JSON.parse(sessionStorage.getItem('ledgerline.session'));
      const ws = new WebSocket(`ws://${location.host}/ws?access_token=${encodeURIComponent(token)}`);
      return await new Promise((resolve) => {
        const t = setTimeout(() => resolve(null), 5_000);
        ws.onmessage = (m) => {
          const f = JSON.parse(m.data);
          if (f.type === 'welcome') ws.send('{"type":"no-such-frame"}');
          if (f.type === 'error') {
            clearTimeout(t);
            ws.close();
            resolve(f);
          }
        };
      });
    });
    assert.ok(errorFrame, 'an error frame for a bad client frame');
    // Heartbeats come every ~15 s.
    await waitFor(() => rec.frames.some((f) => f.type === 'heartbeat'), 'a heartbeat frame', 25_000, 200);
    const seen = new Set(rec.frames.map((f) => f.type));
    for (const t of ['welcome', 'status', 'event', 'heartbeat', 'error']) assert.ok(seen.has(t), `saw a ${t} frame (saw ${[...seen]})`);
    const statuses = rec.frames.filter((f) => f.type === 'status');
    assert.ok(statuses.some((f) => f.status === 'succeeded' && f.events.length > 0));
    assert.ok(statuses.some((f) => f.status === 'rejected' && f.error?.code === 'INSUFFICIENT_FUNDS'));
    assert.ok(rec.responses.length >= 3 && rec.responses.every((r) => r.status === 202), JSON.stringify(rec.responses.map((r) => r.status)));
    await rec.assertClean();
  });

  test('screenshot of the main screen, and readable at 375 px', async () => {
    const user = uniqueId('demo');
    const { page, rec } = await newPage({ viewport: { width: 1280, height: 760 } });
    await signIn(page, backend.baseUrl, user);
    const checking = uniqueId('checking-');
    const savings = uniqueId('savings-');
    await openAccount(page, checking, '120.00');
    await openAccount(page, savings, '1500.00');
    await waitBalance(page, checking, '120.00');
    await moveMoney(page, checking, 'deposit', '25.50');
    await waitBalance(page, checking, '145.50');
    await moveMoney(page, checking, 'withdraw', '40');
    await waitBalance(page, checking, '105.50');
    await moveMoney(page, savings, 'deposit', '250');
    await waitBalance(page, savings, '1750.00');
    await moveMoney(page, checking, 'withdraw', '500');
    await waitToast(page, 'rejected', /Insufficient funds/);
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'main.png'), fullPage: true });

    await page.setViewportSize({ width: 375, height: 812 });
    await page.waitForTimeout(100);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(overflow <= 375, `page is ${overflow}px wide at 375px`);
    const cardBox = await card(page, checking).boundingBox();
    assert.ok(cardBox.x >= 0 && cardBox.x + cardBox.width <= 375, JSON.stringify(cardBox));
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'mobile.png'), fullPage: true });
    await rec.assertClean();
  });
});
