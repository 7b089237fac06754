// Truthful history and messages (issue 14, items 3–5): history rows read
// the same live, after a reload and in another tab, one row per movement of
// money; toasts name the accounts; validation says what is wrong before
// anything is sent, in the person's locale, and goes away when the field is
// edited; retries show "retrying…" with the attempt; closing asks first.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  balanceOf, card, instrument, newAccount, recordPendingTexts, signIn, toasts, transfer, uniqueId, waitBalance, waitFor, waitToast,
} from './lib/browser.mjs';
import { useTestApp } from './lib/fixture.mjs';

/** The rows of an account's history as a person reads them: label, reference, amount, balance after. */
function historyRows(page, acc) {
  return card(page, acc).getByTestId('history-item').evaluateAll((els) => els.map((e) => {
    const text = (sel) => e.querySelector(sel)?.textContent ?? '';
    return `${e.dataset.text} | ${text('.tx-amount')} | ${text('.tx-after')}`;
  }));
}

/** A form's amount field, the button that submits it, and the line where it says what is wrong. */
function depositForm(page, acc) {
  const c = card(page, acc);
  return { field: c.getByTestId('amount'), submit: c.getByTestId('deposit'), error: c.getByTestId('field-error') };
}
const transferForm = (page) => ({ field: page.getByTestId('transfer-amount'), submit: page.getByTestId('transfer-submit'), error: page.getByTestId('transfer-error') });
const openingForm = (page) => ({ field: page.getByTestId('open-account-initial'), submit: page.getByTestId('open-account-submit'), error: page.getByTestId('open-account-error') });

/** Types into the form's field, submits it, and returns what the form says is wrong. */
async function refusal(form, typed) {
  await form.field.fill(typed);
  await form.submit.click();
  return form.error.textContent();
}

describe('truthful history and messages', () => {
  const app = useTestApp({ name: 'messages' });

  test('history reads the same live, after a reload and in another tab, one row per movement of money', async () => {
    const user = uniqueId('hist');
    const { ctx, page: p1, rec: r1 } = await app.newPage();
    const p2 = await ctx.newPage();
    const r2 = instrument(p2);
    await signIn(p1, app.baseUrl, user);
    await signIn(p2, app.baseUrl, user); // the same browser: already signed in
    const a = await newAccount(p1, '20.00');
    const b = await newAccount(p1, '0');
    const missing = uniqueId('missing-');
    const ca = card(p1, a);
    await ca.getByTestId('amount').fill('10');
    await ca.getByTestId('reference').fill('Invoice 42');
    await ca.getByTestId('deposit').click();
    await waitToast(p1, 'success', new RegExp(`^Deposit of 10\\.00 into ${a} succeeded`));
    await transfer(p1, a, b, '5');
    await waitToast(p1, 'success', new RegExp(`^Transfer of 5\\.00 from ${a} to ${b} succeeded`));
    await transfer(p1, a, missing, '1');
    const refused = await waitToast(p1, 'rejected', new RegExp(`^Transfer of 1\\.00 from ${a} to ${missing} rejected`));
    assert.match(refused, /Account not found/);
    await ca.getByTestId('amount').fill('2');
    await ca.getByTestId('withdraw').click();
    await waitToast(p1, 'success', new RegExp(`^Withdrawal of 2\\.00 from ${a} succeeded`));
    await waitBalance(p1, a, '23.00');
    await waitBalance(p1, b, '5.00');

    const expectedA = [
      'Withdrawal | −2.00 | balance 23.00',
      'Transfer refunded · to ' + missing + ' | +1.00 | balance 25.00',
      'Transfer to ' + missing + ' · refunded | −1.00 | balance 24.00',
      'Transfer to ' + b + ' · completed | −5.00 | balance 25.00',
      'Deposit · Invoice 42 | +10.00 | balance 30.00',
      'Account opened | +20.00 | balance 20.00',
    ];
    const expectedB = ['Transfer from ' + a + ' | +5.00 | balance 5.00', 'Account opened |  | balance 0.00'];
    // Live, in the tab that did it and in the other tab of the same user …
    for (const p of [p1, p2]) {
      await waitFor(async () => JSON.stringify(await historyRows(p, a)) === JSON.stringify(expectedA), `history of ${a} live`, 10_000);
      await waitFor(async () => JSON.stringify(await historyRows(p, b)) === JSON.stringify(expectedB), `history of ${b} live`, 10_000);
    }
    // … in a tab opened afterwards (read from the event log) …
    const p3 = await ctx.newPage();
    const r3 = instrument(p3);
    await signIn(p3, app.baseUrl, user);
    await waitFor(async () => JSON.stringify(await historyRows(p3, a)) === JSON.stringify(expectedA), `history of ${a} in a new tab`, 10_000);
    assert.deepEqual(await historyRows(p3, b), expectedB);
    // … and after a reload: word for word the same.
    await p1.reload();
    await p1.getByTestId('logout').waitFor();
    await waitFor(async () => JSON.stringify(await historyRows(p1, a)) === JSON.stringify(expectedA), `history of ${a} after the reload`, 10_000);
    assert.deepEqual(await historyRows(p1, b), expectedB);
    // One row per transfer: its completion is no second row.
    assert.equal(expectedA.filter((r) => r.includes(b)).length, 1);
    assert.equal(await card(p1, a).locator('[data-event-type="TransferCompleted"]').count(), 0);
    for (const r of [r1, r2, r3]) await r.assertClean();
  });

  test('validation says what is wrong before anything is sent, never an internal name, and clears when the field is edited', async () => {
    const { page, rec } = await app.newPage({ user: uniqueId('valid') });
    const acc = await newAccount(page, '1.00');
    const c = card(page, acc);
    const sent = () => rec.commands.length;
    const before = sent();
    const cases = [
      ['0', 'The amount must be more than 0'],
      ['-3', 'The amount must be more than 0'],
      ['1.234', 'The amount can have at most 2 decimals'],
      ['1000000.01', 'The amount must be at most 1,000,000.00'],
      ['12,50', 'Enter a number, e.g. 10.50'],
      ['', 'Enter an amount'],
    ];
    for (const [typed, message] of cases) {
      assert.equal(await refusal(depositForm(page, acc), typed), message, `for ${JSON.stringify(typed)}`);
      assert.equal(await c.getByTestId('amount').getAttribute('aria-invalid'), 'true');
      // Editing the field clears the message.
      await c.getByTestId('amount').press('End');
      await c.getByTestId('amount').type('1');
      assert.equal(await c.getByTestId('field-error').textContent(), '', `cleared after editing ${JSON.stringify(typed)}`);
      assert.equal(await c.getByTestId('amount').getAttribute('aria-invalid'), null);
    }
    // The transfer form and the opening form say the same, with their own fields.
    await transfer(page, acc, uniqueId('acc-'), '0');
    assert.equal(await page.getByTestId('transfer-error').textContent(), 'The amount must be more than 0');
    assert.equal(await refusal(transferForm(page), '1000000.01'), 'The amount must be at most 1,000,000.00');
    assert.equal(await refusal(openingForm(page), '1.001'), 'Initial balance: it can have at most 2 decimals');
    await page.getByTestId('open-account-initial').fill('');
    assert.equal(await page.getByTestId('open-account-error').textContent(), '');
    assert.equal(sent(), before, 'nothing was sent');
    // The exact maximum is allowed.
    await c.getByTestId('amount').fill('1000000');
    await c.getByTestId('deposit').click();
    await waitBalance(page, acc, '1000001.00');
    const shown = (await toasts(page)).join('\n') + (await page.locator('.field-error').allTextContents()).join('\n');
    assert.doesNotMatch(shown, /accountId|AccountId|initialBalance|commandId|\b4\d\d\b|\b5\d\d\b/);
    await rec.assertClean();
  });

  test('the decimal comma is accepted where the locale writes it (de-DE)', async () => {
    const { page, rec } = await app.newPage({ user: uniqueId('komma'), locale: 'de-DE' });
    const acc = await newAccount(page, '0,5', { shows: '0.50' });
    const c = card(page, acc);
    assert.equal(await c.getByTestId('amount').getAttribute('placeholder'), '0,00');
    await c.getByTestId('amount').fill('10,50');
    await c.getByTestId('deposit').click();
    await waitBalance(page, acc, '11.00');
    const body = rec.commands.filter((x) => x.name === 'deposit')[0].body;
    assert.equal(body.amount, '10.50', 'sent in the wire form');
    assert.equal(await refusal(depositForm(page, acc), '1,234'), 'The amount can have at most 2 decimals');
    assert.equal(await refusal(depositForm(page, acc), '2000000'), 'The amount must be at most 1.000.000,00');
    await rec.assertClean();
  });

  test('while a command is retried the card says "retrying…" with the attempt', async () => {
    const { page, rec } = await app.newPage({ user: uniqueId('retry'), httpOnly: true, allowConsole: [/status of 503/] });
    const acc = await newAccount(page, '0');
    let tries = 0;
    await page.route('**/commands/deposit', async (route) => {
      tries++;
      if (tries <= 3) {
        await new Promise((r) => setTimeout(r, 200));
        await route.fulfill({ status: 503, contentType: 'application/problem+json', body: JSON.stringify({ type: 'urn:ledgerline:problem:unavailable', title: 'Service unavailable', status: 503 }) });
      } else {
        await route.continue();
      }
    });
    await recordPendingTexts(page, acc);
    await card(page, acc).getByTestId('amount').fill('4');
    await card(page, acc).getByTestId('deposit').click();
    await waitBalance(page, acc, '4.00', 15_000);
    const log = await page.evaluate(() => window.__pendingLog);
    for (const n of [2, 3, 4]) assert.ok(log.includes(`retrying… (attempt ${n} of 8)`), `attempt ${n} shown: ${JSON.stringify(log)}`);
    assert.equal(log[0], '1 pending');
    await waitFor(async () => card(page, acc).getByTestId('pending').isHidden(), 'pending cleared');
    await rec.assertClean();
  });

  test('closing an account asks first: Cancel keeps it open and sends nothing', async () => {
    const { page, rec } = await app.newPage({ user: uniqueId('close') });
    const acc = await newAccount(page, '0');
    const c = card(page, acc);
    await c.getByTestId('close').click();
    const dialog = page.getByTestId('confirm-dialog');
    await dialog.waitFor({ state: 'visible' });
    assert.match(await page.getByTestId('confirm-text').textContent(), new RegExp(`Close account ${acc}\\?`));
    await page.getByTestId('confirm-no').click();
    await dialog.waitFor({ state: 'hidden' });
    await page.waitForTimeout(500);
    assert.equal(rec.commands.filter((x) => x.name === 'close-account').length, 0);
    assert.equal(await c.getByTestId('status').textContent(), 'open');
    // Escape cancels too.
    await c.getByTestId('close').click();
    await dialog.waitFor({ state: 'visible' });
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(rec.commands.filter((x) => x.name === 'close-account').length, 0);
    await c.getByTestId('close').click();
    await page.getByTestId('confirm-yes').click();
    await waitFor(async () => (await c.getByTestId('status').textContent()) === 'closed', 'closed');
    await waitToast(page, 'success', new RegExp(`Closing account ${acc} succeeded`));
    assert.equal(rec.commands.filter((x) => x.name === 'close-account').length, 1);
    assert.equal(await balanceOf(page, acc), '0.00');
    await rec.assertClean();
  });
});
