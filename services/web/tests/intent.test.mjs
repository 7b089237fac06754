// One user intent is one command (issue 14, "Never twice"): a double click
// at human speed, Enter pressed three times, a click while the first is
// still on its way — each moves the money once. The reference leaves with
// the form. A change of the form is a new intent; pressing again after the
// app gave up sending is the same one, with the same command id.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  balanceOf, card, newAccount, uniqueId, UUID_V7_RE, waitBalance, waitFor, waitToast,
} from './lib/browser.mjs';
import { useTestApp } from './lib/fixture.mjs';

describe('one click is one command', () => {
  const app = useTestApp({ name: 'intent' });

  /** A tab of a new user, signed in. */
  const newPage = (opts = {}) => app.newPage({ user: uniqueId('intent'), ...opts });

  /** Clicks where a person would: the middle of the element, whatever state it shows. */
  async function humanClick(page, locator) {
    const box = await locator.boundingBox();
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  }

  const depositIds = (rec) => [...new Set(rec.commands.filter((c) => c.name === 'deposit').map((c) => c.commandId))];

  /** Holds every deposit POST a moment, so a second click surely lands while the first is pending. */
  async function slowDeposits(page, ms = 700) {
    await page.route('**/commands/deposit', async (route) => {
      await new Promise((r) => setTimeout(r, ms));
      await route.continue();
    });
  }

  async function settle(page, acc, expected) {
    await waitBalance(page, acc, expected);
    await waitFor(async () => (await page.evaluate(() => window.__ledgerline.pendingCount())) === 0, 'nothing pending');
    // Anything sent twice would have shown by now.
    await page.waitForTimeout(800);
    assert.equal(await balanceOf(page, acc), expected);
  }

  for (const transport of ['socket', 'http']) {
    test(`a double click at human speed (80, 200, 400 ms) deposits once — commands over ${transport === 'socket' ? 'the socket' : 'HTTP, held 700 ms'}`, async () => {
      const { page, rec } = await newPage({ httpOnly: transport === 'http' });
      if (transport === 'http') await slowDeposits(page);
      const acc = await newAccount(page, '0');
      const c = card(page, acc);
      let expected = 0;
      for (const gap of [80, 200, 400]) {
        await c.getByTestId('amount').fill('1');
        await humanClick(page, c.getByTestId('deposit'));
        await page.waitForTimeout(gap);
        await humanClick(page, c.getByTestId('deposit'));
        expected += 100;
        await settle(page, acc, `${expected / 100}.00`);
        assert.equal(depositIds(rec).length, expected / 100, `after a double click ${gap} ms apart: one deposit more`);
      }
      assert.equal(await c.getByTestId('history-item').count(), 4, 'opened + three deposits');
      for (const id of depositIds(rec)) assert.match(id, UUID_V7_RE);
      assert.ok(rec.commands.filter((x) => x.name === 'deposit').every((x) => x.via === transport), JSON.stringify(rec.commands.map((x) => x.via)));
      await rec.assertClean();
    });
  }

  for (const transport of ['socket', 'http']) {
    test(`Enter pressed three times deposits once; the button shows pending and takes no second submission — over ${transport === 'socket' ? 'the socket' : 'HTTP, held 700 ms'}`, async () => {
      const { page, rec } = await newPage({ httpOnly: transport === 'http' });
      if (transport === 'http') await slowDeposits(page);
      const acc = await newAccount(page, '1.00');
      const c = card(page, acc);
      await page.evaluate((id) => {
        const b = document.querySelector(`[data-testid="account-${id}"] [data-testid="deposit"]`);
        window.__buttonLog = [];
        new MutationObserver(() => window.__buttonLog.push(`${b.textContent}|${b.getAttribute('aria-disabled')}`)).observe(b, { childList: true, characterData: true, subtree: true, attributes: true });
      }, acc);
      await c.getByTestId('amount').fill('2');
      await c.getByTestId('amount').focus();
      await page.keyboard.press('Enter');
      await page.keyboard.press('Enter');
      await page.keyboard.press('Enter');
      await settle(page, acc, '3.00');
      assert.equal(depositIds(rec).length, 1);
      if (transport === 'http') assert.equal(rec.requests.filter((r) => r.path === '/commands/deposit').length, 1, 'one POST');
      const log = await page.evaluate(() => window.__buttonLog);
      assert.ok(log.includes('Pending…|true'), `the button showed pending: ${JSON.stringify(log)}`);
      assert.equal(await c.getByTestId('deposit').textContent(), 'Deposit');
      assert.equal(await c.getByTestId('deposit').getAttribute('aria-disabled'), 'false');
      assert.equal(await c.getByTestId('field-error').textContent(), '', 'the extra presses showed no error');
      await rec.assertClean();
    });
  }

  test('the reference is cleared with the form on success and is not attached to the next deposit', async () => {
    const { page, rec } = await newPage();
    const acc = await newAccount(page, '0');
    const c = card(page, acc);
    await c.getByTestId('amount').fill('10');
    await c.getByTestId('reference').fill('Invoice 42');
    await c.getByTestId('deposit').click();
    await waitBalance(page, acc, '10.00');
    await waitFor(async () => (await c.getByTestId('reference').inputValue()) === '', 'reference cleared');
    assert.equal(await c.getByTestId('amount').inputValue(), '');
    await c.getByTestId('amount').fill('3');
    await c.getByTestId('deposit').click();
    await waitBalance(page, acc, '13.00');
    const bodies = rec.commands.filter((x) => x.name === 'deposit').map((x) => x.body);
    assert.equal(bodies.length, 2);
    assert.equal(bodies[0].reference, 'Invoice 42');
    assert.equal('reference' in bodies[1], false, JSON.stringify(bodies[1]));
    const rows = c.locator('[data-testid="history-item"][data-event-type="MoneyDeposited"]');
    await waitFor(async () => (await rows.count()) === 2, 'two deposit rows');
    assert.deepEqual(await rows.evaluateAll((els) => els.map((e) => e.dataset.text)), ['Deposit', 'Deposit · Invoice 42']);
    // A rejected command keeps what was typed, to be corrected.
    await c.getByTestId('amount').fill('99');
    await c.getByTestId('withdraw').click();
    await waitToast(page, 'rejected', /Insufficient funds/);
    assert.equal(await c.getByTestId('amount').inputValue(), '99');
    await rec.assertClean();
  });

  test('changing the form while a deposit is pending makes a second intent; both are applied, once each', async () => {
    const { page, rec } = await newPage({ httpOnly: true });
    await slowDeposits(page, 1_000);
    const acc = await newAccount(page, '0');
    const c = card(page, acc);
    await c.getByTestId('amount').fill('1');
    await c.getByTestId('deposit').click();
    assert.equal(await c.getByTestId('deposit').getAttribute('aria-disabled'), 'true');
    await c.getByTestId('amount').fill('2');
    assert.equal(await c.getByTestId('deposit').getAttribute('aria-disabled'), 'false', 'a changed form may submit');
    await c.getByTestId('deposit').click();
    await waitFor(async () => /2 pending/.test(await c.getByTestId('pending').textContent()), '"2 pending"');
    await settle(page, acc, '3.00');
    assert.equal(depositIds(rec).length, 2);
    await rec.assertClean();
  });

  test('pressing again after the app gave up sending retries the same intent with the same command id', async () => {
    const { page, rec } = await newPage({ httpOnly: true, config: { httpRetry: { baseMs: 50, factor: 2, maxMs: 100, maxAttempts: 2 } }, allowConsole: [/net::ERR_FAILED/] });
    const acc = await newAccount(page, '0');
    // The network is gone for deposits: every try fails.
    await page.route('**/commands/deposit', (route) => route.abort('failed'));
    const c = card(page, acc);
    await c.getByTestId('amount').fill('5');
    await c.getByTestId('deposit').click();
    const t = await waitToast(page, 'failed', new RegExp(`Deposit of 5\\.00 into ${acc} could not be sent`));
    assert.match(t, /Try again — it will not be applied twice/);
    assert.doesNotMatch(t, /HTTP|503|ERR_/);
    assert.equal(await c.getByTestId('deposit').getAttribute('aria-disabled'), 'false');
    const firstIds = depositIds(rec);
    assert.equal(firstIds.length, 1);
    await page.unroute('**/commands/deposit');
    await c.getByTestId('deposit').click();
    await settle(page, acc, '5.00');
    assert.deepEqual(depositIds(rec), firstIds, 'the same command id as the tries that failed');
    await rec.assertClean();
  });
});
