// Transfers in the browser against a real `ledgerline all`: the form, live
// balances on both sides (also in another user's tab), one final toast per
// transfer, refunds, and the server's 422 for a transfer to the same account.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  acceptedIds, balanceOf, card, newAccount, toasts, transfer, uniqueId, waitBalance, waitFor, waitToast,
} from './lib/browser.mjs';
import { useTestApp } from './lib/fixture.mjs';

/** The commandId of the n-th transfer a page sent and the server accepted (over the socket or HTTP). */
async function transferId(rec, n = 0) {
  return waitFor(async () => {
    const accepted = new Set(await acceptedIds(rec));
    const ids = [...new Set(rec.commands.filter((c) => c.name === 'transfer').map((c) => c.commandId))];
    return accepted.has(ids[n]) ? ids[n] : null;
  }, `accepted transfer #${n}`);
}

const historyText = (page, acc) => card(page, acc).getByTestId('history').textContent();

function eventFrames(rec, eventType, accountId) {
  return rec.frames.filter((f) => f.type === 'event' && f.event.eventType === eventType && f.event.aggregateId === accountId);
}

describe('transfers', () => {
  const app = useTestApp({ name: 'transfer' });

  test('between two accounts of one user: both balances update live, one green toast', async () => {
    const alice = uniqueId('alice');
    const { page, rec } = await app.newPage({ user: alice });
    const a = await newAccount(page, '10.00');
    const b = await newAccount(page, '1.00');

    await transfer(page, a, b, '5');
    await waitBalance(page, a, '5.00');
    await waitBalance(page, b, '6.00');
    await waitToast(page, 'success', new RegExp(`^Transfer of 5\\.00 from ${a} to ${b} succeeded`));
    const id = await transferId(rec);
    // Only one outcome, under the transfer's own commandId.
    await page.waitForTimeout(1_000);
    const transferToasts = (await toasts(page)).filter((t) => /Transfer/.test(t));
    assert.equal(transferToasts.length, 1, JSON.stringify(transferToasts));
    assert.equal(await page.locator(`.toast.success[data-command-id="${id}"]`).count(), 1);
    const statuses = rec.frames.filter((f) => f.type === 'status' && f.commandId === id);
    assert.equal(statuses.length, 1, 'one final status envelope');
    assert.equal(statuses[0].status, 'succeeded');
    assert.equal(statuses[0].entityId, a);
    const completed = statuses[0].events.find((e) => e.eventType === 'TransferCompleted');
    assert.ok(completed, JSON.stringify(statuses[0].events.map((e) => e.eventType)));
    assert.equal(completed.data.toAccountId, b);
    assert.equal(completed.data.amount, '5.00');
    // The money moved as events on both accounts, pushed live.
    assert.equal(eventFrames(rec, 'TransferDebited', a)[0]?.event.data.balanceAfter, '5.00');
    assert.equal(eventFrames(rec, 'TransferCredited', b)[0]?.event.data.fromAccountId, a);
    assert.equal(rec.frames.filter((f) => f.type === 'status' && f.status !== 'succeeded').length, 0);
    await waitFor(async () => (await historyText(page, a)).includes(`Transfer to ${b}`), 'source history: "Transfer to …"');
    assert.match(await historyText(page, a), /−5\.00/);
    await waitFor(async () => (await historyText(page, b)).includes(`Transfer from ${a}`), 'target history: "Transfer from …"');
    assert.match(await historyText(page, b), /\+5\.00/);
    await waitFor(async () => await card(page, a).getByTestId('pending').isHidden(), 'pending cleared');
    assert.equal(await page.getByTestId('transfer-amount').inputValue(), '', 'the amount is cleared once accepted');

    // Keyboard only: To, Tab, Amount, Enter — and back the other way.
    await page.getByTestId('transfer-from').selectOption(b);
    await page.getByTestId('transfer-to').fill('');
    await page.getByTestId('transfer-to').focus();
    await page.keyboard.type(a);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'transfer-amount');
    await page.keyboard.type('1.25');
    await page.keyboard.press('Enter');
    await waitBalance(page, b, '4.75');
    await waitBalance(page, a, '6.25');
    await waitToast(page, 'success', new RegExp(`^Transfer of 1\\.25 from ${b} to ${a} succeeded`));
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'transfer-submit');
    // Every form control has a label.
    const unlabeled = await page.evaluate(() => [...document.querySelectorAll('input, select')].filter((i) => !(i.labels && i.labels.length) && !i.getAttribute('aria-label')).map((i) => i.outerHTML));
    assert.deepEqual(unlabeled, []);
    await rec.assertClean();
  });

  test('to another user\'s account: the other user\'s open tab shows the credit live, without a toast of alice\'s', async () => {
    const [alice, bob] = [uniqueId('alice'), uniqueId('bob')];
    const [{ page: pa, rec: ra }, { page: pb, rec: rb }] = await app.signedInPages(alice, bob);
    const a = await newAccount(pa, '20.00');
    const b = await newAccount(pb, '1.00');
    await waitToast(pb, 'success', new RegExp(`Opening account ${b} succeeded`));
    // Bob's own toasts so far (his opening) are not what this test looks at.
    await pb.evaluate(() => document.querySelector('[data-testid="toasts"]').replaceChildren());
    await pb.evaluate(() => { window.__noReload = true; });
    // Alice's "From" lists only her own accounts.
    assert.deepEqual(await pa.getByTestId('transfer-from').locator('option').allTextContents(), [a]);

    await transfer(pa, a, b, '7.50');
    await waitBalance(pb, b, '8.50');
    assert.equal(await pb.evaluate(() => window.__noReload), true, 'bob\'s tab was not reloaded');
    await waitFor(async () => (await historyText(pb, b)).includes(`Transfer from ${a}`), 'bob\'s history: "Transfer from …"');
    assert.match(await historyText(pb, b), /\+7\.50/);
    await waitBalance(pa, a, '12.50');
    await waitToast(pa, 'success', new RegExp(`^Transfer of 7\\.50 from ${a} to ${b} succeeded`));
    const id = await transferId(ra);
    await pb.waitForTimeout(1_000);
    assert.deepEqual(await toasts(pb), [], 'bob gets no toast of alice\'s transfer');
    assert.equal(rb.frames.filter((f) => f.type === 'status' && f.commandId === id).length, 0, 'no status envelope of alice\'s reaches bob');
    const credited = eventFrames(rb, 'TransferCredited', b);
    assert.equal(credited.length, 1, 'bob got the credit as an event frame on his account');
    assert.equal(credited[0].event.data.balanceAfter, '8.50');
    assert.ok(!rb.frames.some((f) => f.type === 'event' && f.event.aggregateId === a), 'nothing of alice\'s account reaches bob');
    // Alice does not see bob's account.
    assert.equal(await card(pa, b).count(), 0);
    assert.equal(ra.frames.filter((f) => f.type === 'status' && f.commandId === id).length, 1);
    await ra.assertClean();
    await rb.assertClean();
  });

  test('to a missing account: red toast with the reason, and the balance comes back', async () => {
    const alice = uniqueId('alice');
    const { page, rec } = await app.newPage({ user: alice });
    const a = await newAccount(page, '3.00');
    const missing = uniqueId('missing-');

    await transfer(page, a, missing, '2');
    const text = await waitToast(page, 'rejected', new RegExp(`^Transfer of 2\\.00 from ${a} to ${missing} rejected`));
    assert.match(text, /Account not found/);
    const id = await transferId(rec);
    assert.equal(await page.locator(`.toast.rejected[data-command-id="${id}"]`).getAttribute('data-code'), 'ACCOUNT_NOT_FOUND');
    await waitBalance(page, a, '3.00');
    for (let i = 0; i < 5; i++) {
      assert.equal(await balanceOf(page, a), '3.00');
      await page.waitForTimeout(100);
    }
    // The money left (in flight) and came back.
    assert.equal(eventFrames(rec, 'TransferDebited', a)[0]?.event.data.balanceAfter, '1.00');
    const statuses = rec.frames.filter((f) => f.type === 'status' && f.commandId === id);
    assert.equal(statuses.length, 1);
    assert.equal(statuses[0].status, 'rejected');
    assert.equal(statuses[0].error.code, 'ACCOUNT_NOT_FOUND');
    // The refund reaches the page as an event of the account (the server
    // sends it as an event frame; the app would take it from the envelope too).
    const refunded = statuses[0].events.find((e) => e.eventType === 'TransferRefunded') ?? eventFrames(rec, 'TransferRefunded', a)[0]?.event;
    assert.ok(refunded, 'a TransferRefunded event arrived');
    assert.equal(refunded.data.balanceAfter, '3.00');
    assert.equal(refunded.data.toAccountId, missing);
    await waitFor(async () => (await historyText(page, a)).includes('Transfer refunded'), 'history: "Transfer refunded"');
    assert.match(await historyText(page, a), new RegExp(`Transfer to ${missing}`));
    assert.equal((await toasts(page, 'success')).filter((t) => /Transfer/.test(t)).length, 0);

    // More than the balance: refused at once, nothing moves.
    const before = rec.frames.length;
    await transfer(page, a, missing, '50');
    const t2 = await waitToast(page, 'rejected', new RegExp(`^Transfer of 50\\.00 from ${a} to ${missing} rejected`));
    assert.match(t2, /Insufficient funds/);
    const id2 = await transferId(rec, 1);
    const s2 = rec.frames.find((f) => f.type === 'status' && f.commandId === id2);
    assert.equal(s2.error.code, 'INSUFFICIENT_FUNDS');
    assert.deepEqual(s2.events, []);
    assert.equal(rec.frames.slice(before).filter((f) => f.type === 'event').length, 0, 'no event for a refused debit');
    assert.equal(await balanceOf(page, a), '3.00');
    await waitFor(async () => await card(page, a).getByTestId('pending').isHidden(), 'pending cleared');
    await rec.assertClean();
  });

  test('to the same account: the server\'s refusal is shown in the form\'s words and nothing is sent again', async () => {
    const alice = uniqueId('alice');
    const { page, rec } = await app.newPage({ user: alice });
    const a = await newAccount(page, '4.00');
    const sentTransfers = () => rec.commands.filter((c) => c.name === 'transfer');

    await transfer(page, a, a, '1');
    // Refused by the server (a 422 over HTTP, an INVALID_COMMAND error frame over the socket),
    // and said with the labels on screen: no internal field name, no status code (issue 14).
    const text = await waitToast(page, 'failed', new RegExp(`^Transfer of 1\\.00 from ${a} to ${a} was not accepted`));
    assert.match(text, /To account must differ from the From account/);
    assert.doesNotMatch(text, /toAccountId|fromAccountId|422/);
    assert.ok(['422', 'INVALID_COMMAND'].includes(await page.locator('.toast.failed').first().getAttribute('data-code')));
    await waitFor(async () => /To account must differ from the From account/.test(await page.getByTestId('transfer-error').textContent()), 'the reason next to the form');
    assert.doesNotMatch(await page.getByTestId('transfer-error').textContent(), /AccountId/);
    assert.equal(await page.getByTestId('transfer-to').getAttribute('aria-invalid'), 'true');
    await Promise.all(rec.pendingChecks);
    const refusals = [
      ...rec.responses.filter((r) => r.path === '/commands/transfer').map((r) => r.body),
      ...rec.frames.filter((f) => f.type === 'error' && String(f.requestId ?? '').startsWith('cmd:')),
    ];
    assert.equal(refusals.length, 1, JSON.stringify(refusals));
    assert.ok(refusals[0].errors.some((e) => e.field === 'toAccountId'), JSON.stringify(refusals[0]));
    await page.waitForTimeout(1_500);
    assert.equal(sentTransfers().length, 1, 'a refusal is never retried');
    assert.equal(await balanceOf(page, a), '4.00');
    assert.equal(rec.frames.filter((f) => f.type === 'status' && f.entityId === a).length, 1, 'only the opening\'s status');
    assert.ok(await card(page, a).getByTestId('pending').isHidden());
    // Editing the field clears its message.
    await page.getByTestId('transfer-to').fill(uniqueId('acc-'));
    assert.equal(await page.getByTestId('transfer-error').textContent(), '');
    assert.equal(await page.getByTestId('transfer-to').getAttribute('aria-invalid'), null);

    // Client-side checks send nothing: a bad target id, a bad amount.
    await transfer(page, a, 'not an id', '1');
    assert.match(await page.getByTestId('transfer-error').textContent(), /account id/i);
    await transfer(page, a, uniqueId('acc-'), '1.234');
    assert.match(await page.getByTestId('transfer-error').textContent(), /at most 2 decimals/);
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'transfer-amount');
    await page.waitForTimeout(300);
    assert.equal(sentTransfers().length, 1);
    rec.consoleErrors = rec.consoleErrors.filter((e) => !/status of 422/.test(e));
    await rec.assertClean();
  });
});
