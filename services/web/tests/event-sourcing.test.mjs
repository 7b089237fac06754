// What the system is (issue 14, items 8–10): an account's event log in the
// page, live; time travel by version and by moment; each read model's state
// and lag; and reads that wait for what the tab has shown, so a balance
// never goes backwards on screen. Screenshots: eventlog.png, timetravel.png,
// readmodels.png.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import {
  apiFetch, balanceOf, card, demoToken, moveMoney, newAccount, openAccount, postDeposit, sessionToken, signIn, transfer, uniqueId, waitBalance,
  waitFor, waitToast,
} from './lib/browser.mjs';
import { check } from './lib/schemas.mjs';
import { SCREENSHOT_DIR } from './lib/paths.mjs';
import { useTestApp } from './lib/fixture.mjs';

describe('the event-sourced truth, visible', () => {
  const app = useTestApp({ name: 'es', viewport: { width: 1280, height: 900 } });
  before(() => mkdirSync(SCREENSHOT_DIR, { recursive: true }));

  /** The account's events as the server has them. */
  async function storeEvents(page, acc) {
    const r = await apiFetch(app.baseUrl, `/events/account/${acc}?afterVersion=0&limit=1000`, { token: await sessionToken(page) });
    assert.equal(r.status, 200);
    for (const e of r.body) assert.equal(check('event-envelope.json', e), null);
    return r.body;
  }

  /** Opens an account and makes some history: deposit 5 (with a reference), withdraw 2, transfer 1 out. */
  async function accountWithHistory(page) {
    const acc = await newAccount(page, '10.00');
    const other = await newAccount(page, '0');
    const c = card(page, acc);
    await c.getByTestId('reference').fill('Invoice 7');
    await moveMoney(page, acc, 'deposit', '5');
    await waitBalance(page, acc, '15.00');
    await page.waitForTimeout(300); // distinct moments for time travel
    await moveMoney(page, acc, 'withdraw', '2');
    await waitBalance(page, acc, '13.00');
    await page.waitForTimeout(300);
    await transfer(page, acc, other, '1');
    await waitToast(page, 'success', new RegExp(`Transfer of 1\\.00 from ${acc} to ${other} succeeded`));
    await waitBalance(page, acc, '12.00');
    return { acc, other };
  }

  const rowsOf = (page, acc) => card(page, acc).getByTestId('event-row').evaluateAll((els) => els.map((e) => ({
    version: Number(e.dataset.version),
    position: Number(e.dataset.position),
    type: e.dataset.eventType,
    cells: [...e.querySelectorAll('td')].map((td) => td.textContent),
  })));

  test('the event log shows every event of the account — version, position, type, amounts, time — and grows live', async () => {
    const { page, rec } = await app.newPage({ user: uniqueId('log') });
    const { acc } = await accountWithHistory(page);
    const c = card(page, acc);
    await c.getByTestId('event-log-toggle').click();
    const events = await storeEvents(page, acc);
    assert.deepEqual(events.map((e) => e.eventType), ['AccountOpened', 'MoneyDeposited', 'MoneyWithdrawn', 'TransferDebited', 'TransferCompleted']);
    await waitFor(async () => (await rowsOf(page, acc)).length === events.length, 'a row per event');
    const rows = await rowsOf(page, acc);
    // Newest first, each exactly as the store has it.
    assert.deepEqual(rows.map((r) => [r.version, r.position, r.type]), [...events].reverse().map((e) => [e.version, e.globalPosition, e.eventType]));
    const byVersion = new Map(rows.map((r) => [r.version, r.cells]));
    // Version, position, type, amount, balance after, details, time.
    assert.deepEqual(byVersion.get(2).slice(0, 6), ['2', String(events[1].globalPosition), 'MoneyDeposited', '5.00', '15.00', 'reference “Invoice 7”']);
    assert.deepEqual(byVersion.get(3).slice(3, 5), ['2.00', '13.00']);
    assert.match(byVersion.get(4)[5], /^to acc-/);
    assert.deepEqual(byVersion.get(1).slice(3, 4), ['10.00']);
    for (const cells of byVersion.values()) assert.ok(cells[6].length > 0, 'a time');
    // The positions are those the socket brought.
    const pushed = new Map();
    for (const f of rec.frames) {
      for (const e of f.type === 'status' ? f.events : f.type === 'event' ? [f.event] : []) if (e.aggregateId === acc) pushed.set(e.version, e.globalPosition);
    }
    for (const r of rows) if (pushed.has(r.version)) assert.equal(r.position, pushed.get(r.version));

    // Live: a deposit adds its row at the top while the log is open.
    await moveMoney(page, acc, 'deposit', '0.25');
    await waitFor(async () => (await rowsOf(page, acc))[0]?.version === 6, 'the new event on top');
    const top = (await rowsOf(page, acc))[0];
    const dep = (await storeEvents(page, acc)).at(-1);
    assert.deepEqual([top.position, top.type, top.cells[3], top.cells[4]], [dep.globalPosition, 'MoneyDeposited', '0.25', '12.25']);
    await c.screenshot({ path: join(SCREENSHOT_DIR, 'eventlog.png') });
    await rec.assertClean();
  });

  test('time travel: the account as it was after a version, and at a moment; the live balance does not move', async () => {
    const { page, rec } = await app.newPage({ user: uniqueId('tt') });
    const { acc } = await accountWithHistory(page);
    const c = card(page, acc);
    const events = await storeEvents(page, acc);

    // From the event log: "As of v2".
    await c.getByTestId('event-log-toggle').click();
    await c.locator('[data-testid="event-row"][data-version="2"]').getByTestId('event-as-of').click();
    const tt = c.getByTestId('time-travel');
    await waitFor(async () => (await tt.getByTestId('tt-at-version').count()) === 1 && (await tt.getByTestId('tt-at-version').textContent()) === '2', 'version 2 shown');
    assert.equal(await tt.getByTestId('tt-balance').textContent(), '15.00');
    assert.equal(await tt.getByTestId('tt-status').textContent(), 'open');
    assert.match(await tt.getByTestId('tt-result').textContent(), /Rebuilt from 2 events/);

    // By version, typed.
    await tt.getByTestId('tt-version').fill('3');
    await tt.getByTestId('tt-version-submit').click();
    await waitFor(async () => (await tt.getByTestId('tt-at-version').textContent()) === '3', 'version 3 shown');
    assert.equal(await tt.getByTestId('tt-balance').textContent(), '13.00');
    // The transfer in flight: after the debit, before the completion.
    await tt.getByTestId('tt-version').fill('4');
    await tt.getByTestId('tt-version-submit').click();
    await waitFor(async () => (await tt.getByTestId('tt-at-version').textContent()) === '4', 'version 4 shown');
    assert.match(await tt.getByTestId('tt-result').textContent(), /1\.00 in flight/);

    // By moment: between the deposit (v2) and the withdrawal (v3).
    const t2 = Date.parse(events[1].metadata.timestamp);
    const t3 = Date.parse(events[2].metadata.timestamp);
    assert.ok(t3 - t2 >= 100, `events ${t3 - t2} ms apart`);
    const moment = await page.evaluate((ms) => {
      const d = new Date(ms);
      const p = (n, w = 2) => String(n).padStart(w, '0');
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
    }, Math.floor((t2 + t3) / 2));
    await tt.getByTestId('tt-moment').fill(moment);
    await tt.getByTestId('tt-moment-submit').click();
    await waitFor(async () => (await tt.getByTestId('tt-at-version').textContent()) === '2', 'the moment is after version 2');
    assert.equal(await tt.getByTestId('tt-balance').textContent(), '15.00');
    await c.screenshot({ path: join(SCREENSHOT_DIR, 'timetravel.png') });

    // Before the account existed; a version it never had: said plainly.
    await tt.getByTestId('tt-moment').fill('2020-01-01T00:00:00.000');
    await tt.getByTestId('tt-moment-submit').click();
    await waitFor(async () => /did not exist yet at that time/.test(await tt.getByTestId('tt-result').textContent()), 'before the opening');
    await tt.getByTestId('tt-version').fill('99');
    await tt.getByTestId('tt-version-submit').click();
    await waitFor(async () => /has no version 99/.test(await tt.getByTestId('tt-result').textContent()), 'no version 99');
    assert.equal(await balanceOf(page, acc), '12.00', 'the live balance stays as it is');
    rec.consoleErrors = rec.consoleErrors.filter((e) => !/status of 404/.test(e));
    await rec.assertClean();
  });

  test('read models: state and lag for each, "has your last change", and a rebuild with its progress', async () => {
    const { page, rec } = await app.newPage({ user: uniqueId('rm') });
    const acc = uniqueId('acc-');
    await openAccount(page, acc, '1.00');
    await moveMoney(page, acc, 'deposit', '1');
    await waitBalance(page, acc, '2.00');
    const panel = page.getByTestId('projections');
    for (const name of ['AccountBalances', 'TransactionHistory', 'AuditLog']) {
      const row = panel.getByTestId(`projection-${name}`);
      await waitFor(async () => (await row.count()) === 1 && (await row.getAttribute('data-status')) === 'live', `${name} live`);
      await waitFor(async () => /has your last change/.test(await row.textContent()), `${name} has the deposit`, 10_000);
      assert.match(await row.getByTestId('projection-lag').textContent(), /up to date|events? behind/);
    }
    assert.match(await page.getByTestId('projections-note').textContent(), /Event store head: position \d+/);

    // A rebuild in progress (the shape the server gives while it replays into the shadow copy).
    const real = await apiFetch(app.baseUrl, '/projections', { token: await sessionToken(page) });
    const rebuilding = {
      ...real.body,
      items: real.body.items.map((p) => (p.name === 'AccountBalances'
        ? { ...p, status: 'rebuilding', lag: 3, rebuild: { id: randomUUID(), phase: 'replaying', replayed: 40, head: 160, startedAt: new Date().toISOString() } }
        : p)),
    };
    await page.route('**/projections', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(rebuilding) }));
    const bal = panel.getByTestId('projection-AccountBalances');
    await waitFor(async () => (await bal.getAttribute('data-status')) === 'rebuilding', 'rebuilding shown', 5_000);
    assert.equal(await bal.getByTestId('projection-state').textContent(), 'rebuilding 25 % (replaying): 40 of 160 events');
    assert.equal(await bal.getByTestId('projection-lag').textContent(), '3 events behind');
    await page.getByTestId('toasts').evaluate((el) => el.replaceChildren());
    await panel.screenshot({ path: join(SCREENSHOT_DIR, 'readmodels.png') });
    await page.unroute('**/projections');

    // A real rebuild (operator): the balances keep serving, and the panel tells how it ended.
    const ops = await apiFetch(app.baseUrl, '/auth/demo-login', { method: 'POST', body: { userId: uniqueId('ops'), role: 'operator' } });
    const r = await apiFetch(app.baseUrl, '/projections/rebuild', { method: 'POST', token: ops.body.token, body: { name: 'AccountBalances' } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    await waitFor(async () => /last rebuild completed/.test(await bal.textContent()), 'the rebuild completed', 15_000);
    await moveMoney(page, acc, 'deposit', '1');
    await waitBalance(page, acc, '3.00');
    await rec.assertClean();
  });

  test('a balance never goes backwards on screen: stale read-model answers are ignored, reads wait for what the tab has shown, after a reload too', async () => {
    const { ctx, page, rec } = await app.newPage();
    // Every balance the page ever shows, from its first paint (reloads included).
    await ctx.addInitScript(() => {
      const log = JSON.parse(sessionStorage.getItem('__balances') ?? '[]');
      const save = () => sessionStorage.setItem('__balances', JSON.stringify(log));
      const seen = new Map();
      const look = () => {
        for (const el of document.querySelectorAll('[data-testid^="account-"]')) {
          const id = el.getAttribute('data-testid').slice('account-'.length);
          const b = el.querySelector('[data-testid="balance"]')?.textContent;
          if (b && seen.get(id) !== b) {
            seen.set(id, b);
            log.push([id, b]);
            save();
          }
        }
      };
      document.addEventListener('DOMContentLoaded', () => new MutationObserver(look).observe(document.body, { subtree: true, childList: true, characterData: true }));
    });
    const user = uniqueId('mono');
    await signIn(page, app.baseUrl, user);
    const acc = uniqueId('acc-');
    // A read model that lags: every AccountBalances answer shows the account as just opened.
    let stale = 0;
    await page.route('**/projections/AccountBalances*', async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      for (const it of body.items ?? []) {
        if (it.accountId === acc && it.version > 1) {
          stale++;
          Object.assign(it, { version: 1, balance: '10.00' });
        }
      }
      await route.fulfill({ response: res, json: body });
    });
    await openAccount(page, acc, '10.00');
    await moveMoney(page, acc, 'deposit', '5');
    await waitBalance(page, acc, '15.00');
    // Another client of the same user deposits: the tab shows it live.
    const token = await demoToken(app.baseUrl, user);
    const other = await postDeposit(app.baseUrl, token, { accountId: acc, amount: '5.00' });
    assert.equal(other.status, 202);
    await waitBalance(page, acc, '20.00');
    // The sign-in's second read comes 1.5 s after the connect: stale, and ignored.
    await waitFor(() => stale > 0, 'a stale answer was served', 5_000);
    await page.waitForTimeout(500);
    assert.equal(await balanceOf(page, acc), '20.00');
    await page.unroute('**/projections/AccountBalances*');

    // A reload: the read waits for the last event this tab showed (the other client's deposit).
    const shown = await page.evaluate(() => window.__ledgerline.readPosition());
    const lastEvent = rec.frames.filter((f) => f.type === 'event' && f.event.aggregateId === acc).map((f) => f.event.globalPosition).at(-1);
    assert.equal(shown, lastEvent, 'the read position is the last event shown (not an own write)');
    assert.ok(shown > await page.evaluate(() => window.__ledgerline.ownPosition()), 'beyond this tab\'s own writes');
    const reads = [];
    page.on('request', (req) => {
      const u = new URL(req.url());
      if (u.pathname === '/projections/AccountBalances') reads.push(u);
    });
    await page.reload();
    await page.getByTestId('logout').waitFor();
    await waitBalance(page, acc, '20.00');
    await waitFor(() => reads.length > 0, 'a balances read after the reload');
    assert.equal(reads[0].searchParams.get('minPosition'), String(shown));
    await page.waitForTimeout(2_000); // the second read too
    const log = (await page.evaluate(() => JSON.parse(sessionStorage.getItem('__balances')))).filter(([id]) => id === acc).map(([, b]) => Number(b));
    for (let i = 1; i < log.length; i++) assert.ok(log[i] >= log[i - 1], `the balance went back on screen: ${log.join(' → ')}`);
    assert.deepEqual(log.filter((b, i) => i === 0 || b !== log[i - 1]), [10, 15, 20], `balances shown: ${log.join(' → ')}`);
    await rec.assertClean();
  });
});
