// The session (issue 14, item 6, and the socket's token expiry): one sign-in
// covers every tab of the browser — a new tab opens signed in, signing out
// signs out all — and the token is renewed before it expires and handed to
// the socket, so the socket is never cut; when no new token can be had, the
// app signs out cleanly at the expiry. The backend here issues 15-second tokens.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  card, connectionText, instrument, moveMoney, openAccount, recordConnection, sessionToken, signIn, uniqueId, waitBalance, waitFor,
} from './lib/browser.mjs';
import { useTestApp } from './lib/fixture.mjs';

const TTL_SECS = 15;

describe('sign-in shared by tabs, tokens renewed', () => {
  const app = useTestApp({ name: 'session', env: { TOKEN_TTL_SECS: String(TTL_SECS) } });

  const signedInAs = (page) => page.getByTestId('current-user').textContent();

  test('a new tab opens signed in; signing out in one tab signs out all; signing in again in one signs in all', async () => {
    const alice = uniqueId('alice');
    const bob = uniqueId('bob');
    const { ctx, page: p1, rec: r1 } = await app.newPage({ user: alice });
    const acc = uniqueId('acc-');
    await openAccount(p1, acc, '3.00');

    // A new tab: no sign-in form, straight to alice's accounts.
    const p2 = await ctx.newPage();
    const r2 = instrument(p2);
    await p2.goto(app.baseUrl + '/');
    await p2.getByTestId('logout').waitFor({ state: 'visible' });
    assert.equal(await p2.getByTestId('login-view').isVisible(), false);
    assert.equal(await signedInAs(p2), alice);
    await waitFor(async () => (await connectionText(p2)) === 'connected', 'the new tab connected');
    await waitBalance(p2, acc, '3.00');
    // Another browser (context) is another session.
    const { page: p3, rec: r3 } = await app.newPage();
    await p3.goto(app.baseUrl + '/');
    await p3.getByTestId('login-user').waitFor({ state: 'visible' });

    // Sign out in the first tab: the second follows at once.
    await p1.getByTestId('logout').click();
    await p2.getByTestId('login-view').waitFor({ state: 'visible', timeout: 2_000 });
    assert.match(await p2.getByTestId('login-error').textContent(), /signed out in another tab/);
    assert.equal(await connectionText(p2), 'offline');
    assert.equal(await p2.locator('[data-testid^="account-"]').count(), 0, 'nothing of alice stays on screen');
    assert.equal(await p2.evaluate(() => localStorage.getItem('ledgerline.session')), null);

    // Sign in (as bob) in the second tab: the first is bob's too.
    await p2.getByTestId('login-user').fill(bob);
    await p2.getByTestId('login-submit').click();
    await p1.getByTestId('logout').waitFor({ state: 'visible', timeout: 5_000 });
    assert.equal(await signedInAs(p1), bob);
    await waitFor(async () => (await connectionText(p1)) === 'connected', 'the first tab connected as bob');
    assert.equal(await card(p1, acc).count(), 0, 'bob does not see alice\'s account');
    assert.equal(await p3.getByTestId('login-user').isVisible(), true, 'the other browser stayed signed out');
    for (const r of [r1, r2, r3]) await r.assertClean();
  });

  test('the token is renewed before it expires and handed to every tab\'s socket: no socket is cut', async () => {
    const user = uniqueId('renew');
    const { ctx, page: p1, rec: r1 } = await app.newPage();
    const p2 = await ctx.newPage();
    const r2 = instrument(p2);
    const sockets = [];
    for (const p of [p1, p2]) p.on('websocket', (ws) => sockets.push(ws.url()));
    await signIn(p1, app.baseUrl, user);
    await signIn(p2, app.baseUrl, user);
    const first = await sessionToken(p1);
    await recordConnection(p1);
    await recordConnection(p2);
    const acc = uniqueId('acc-');
    await openAccount(p1, acc, '1.00');

    // Past the first token's expiry and into the second one's.
    await p1.waitForTimeout((TTL_SECS + 8) * 1000);
    const now = await sessionToken(p1);
    assert.notEqual(now, first, 'a new token');
    assert.equal(await sessionToken(p2), now, 'shared with the other tab');
    for (const [p, r] of [[p1, r1], [p2, r2]]) {
      assert.deepEqual(await p.evaluate(() => window.__connLog), ['connected'], 'the socket stayed connected');
      assert.ok(r.sent.some((f) => f.type === 'refresh'), 'a refresh frame was sent');
      assert.ok(r.frames.some((f) => f.type === 'refreshed'), 'and taken');
      assert.ok(!r.frames.some((f) => f.type === 'error'), JSON.stringify(r.frames.filter((f) => f.type === 'error')));
    }
    assert.equal(sockets.length, 2, `one socket per tab, never reopened: ${sockets.length}`);
    // Everything still works on the renewed session.
    await moveMoney(p1, acc, 'deposit', '1');
    await waitBalance(p1, acc, '2.00');
    await waitBalance(p2, acc, '2.00');
    await r1.assertClean();
    await r2.assertClean();
  });

  test('when no new token can be had, the session ends cleanly at the expiry, before the server cuts the socket', async () => {
    const { page, rec } = await app.newPage({ user: uniqueId('expire'), allowConsole: [/status of 404/] });
    const signedInAt = Date.now();
    // Demo sign-in is gone (as in a deployment without it): renewal is refused.
    let asked = 0;
    await page.route('**/auth/demo-login', async (route) => {
      asked++;
      await route.fulfill({ status: 404, contentType: 'application/problem+json', body: JSON.stringify({ type: 'urn:ledgerline:problem:not-found', title: 'Not found', status: 404, detail: 'No such route' }) });
    });
    await page.getByTestId('login-view').waitFor({ state: 'visible', timeout: (TTL_SECS + 5) * 1000 });
    const after = (Date.now() - signedInAt) / 1000;
    assert.ok(after > TTL_SECS - 5 && after < TTL_SECS + 2, `signed out after ${after} s`);
    assert.ok(asked >= 1, 'a renewal was tried');
    assert.equal(await page.getByTestId('login-error').textContent(), 'Your session has expired: sign in again.');
    assert.equal(await connectionText(page), 'offline');
    assert.ok(!rec.frames.some((f) => f.type === 'error'), `no TOKEN_EXPIRED: the app left first: ${JSON.stringify(rec.frames.filter((f) => f.type === 'error'))}`);
    await rec.assertClean();
  });
});
