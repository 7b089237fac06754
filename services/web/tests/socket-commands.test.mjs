// Commands over the socket (issue 14, item 7): with the socket connected a
// command goes out as a `command` frame and comes back `accepted`, then its
// outcome — the bidirectional flow. When the socket cannot take it (the
// command API behind it unavailable, the socket lost before the answer, no
// socket at all) it goes over HTTP with the same commandId, and the money
// still moves once.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  balanceOf, card, connectionText, moveMoney, openAccount, signIn, transfer, uniqueId, UUID_V7_RE, waitBalance, waitFor, waitToast,
} from './lib/browser.mjs';
import { checkClientFrame, checkFrame } from './lib/schemas.mjs';
import { useTestApp } from './lib/fixture.mjs';

describe('commands over the socket, HTTP when it cannot take them', () => {
  const app = useTestApp({ name: 'socketcmd' });

  /**
   * Puts a proxy between the page's socket and the server that passes every
   * frame on, except that `onCommand(frame, client, server)` decides what
   * happens to command frames. Records every frame both ways itself.
   */
  async function proxySocket(page, onCommand) {
    const log = { sent: [], received: [] };
    await page.routeWebSocket(/\/ws\?/, (client) => {
      const server = client.connectToServer();
      client.onMessage((m) => {
        const f = JSON.parse(m);
        log.sent.push(f);
        if (f.type === 'command') onCommand(f, client, server, log);
        else server.send(m);
      });
      server.onMessage((m) => {
        log.received.push(JSON.parse(m));
        client.send(m);
      });
    });
    return log;
  }

  test('with the socket connected a deposit is a command frame, answered accepted, then its outcome: no HTTP', async () => {
    const { page, rec } = await app.newPage({ user: uniqueId('ws') });
    const acc = uniqueId('acc-');
    await openAccount(page, acc, '1.00');
    await moveMoney(page, acc, 'deposit', '2');
    await waitToast(page, 'success', new RegExp(`Deposit of 2\\.00 into ${acc} succeeded`));
    await waitBalance(page, acc, '3.00');
    const frames = rec.sent.filter((f) => f.type === 'command');
    assert.deepEqual(frames.map((f) => f.command), ['open-account', 'deposit']);
    const deposit = frames[1];
    assert.equal(checkClientFrame(deposit), null);
    assert.match(deposit.body.commandId, UUID_V7_RE);
    const { commandId, ...fields } = deposit.body;
    assert.deepEqual(fields, { accountId: acc, amount: '2.00' });
    const accepted = rec.frames.find((f) => f.type === 'accepted' && f.requestId === deposit.requestId);
    assert.ok(accepted, 'accepted frame for the deposit');
    assert.equal(checkFrame(accepted), null);
    assert.equal(accepted.commandId, commandId, 'the server kept the client\'s id');
    const status = rec.frames.find((f) => f.type === 'status' && f.commandId === commandId);
    assert.equal(status.status, 'succeeded');
    assert.equal(rec.requests.length, 0, 'no command POST while the socket is connected');
    // Transfers too.
    const b = uniqueId('acc-');
    await openAccount(page, b, '0');
    await transfer(page, acc, b, '1');
    await waitBalance(page, b, '1.00');
    assert.ok(rec.sent.some((f) => f.type === 'command' && f.command === 'transfer'), 'the transfer went over the socket');
    assert.equal(rec.requests.length, 0);
    await rec.assertClean();
  });

  test('the command API unavailable behind the socket: the same command goes over HTTP, once', async () => {
    const { page, rec } = await app.newPage();
    const log = await proxySocket(page, (f, client) => {
      // What the socket service answers when the command API does not.
      client.send(JSON.stringify({ type: 'error', requestId: f.requestId, code: 'UNAVAILABLE', message: 'the command API did not answer; nothing was queued, try again' }));
    });
    await signIn(page, app.baseUrl, uniqueId('ws'));
    const acc = uniqueId('acc-');
    await openAccount(page, acc, '1.00');
    await moveMoney(page, acc, 'deposit', '5');
    await waitToast(page, 'success', new RegExp(`Deposit of 5\\.00 into ${acc} succeeded`));
    await waitBalance(page, acc, '6.00');
    const frame = log.sent.find((f) => f.type === 'command' && f.command === 'deposit');
    assert.ok(frame, 'tried over the socket first');
    assert.equal(checkClientFrame(frame), null);
    const posts = rec.requests.filter((r) => r.path === '/commands/deposit').map((r) => JSON.parse(r.body));
    assert.equal(posts.length, 1);
    assert.deepEqual(posts[0], frame.body, 'the same body, so the same commandId');
    await page.waitForTimeout(800);
    assert.equal(await balanceOf(page, acc), '6.00');
    assert.equal(await card(page, acc).getByTestId('history-item').count(), 2);
    assert.equal((await page.locator('.toast.failed').count()), 0, 'a fallback is not a failure');
    await rec.assertClean();
  });

  test('the socket lost after the command went out (accepted, answer never seen): HTTP sends the same id, and the server decides it once', async () => {
    const { page, rec } = await app.newPage();
    let cut = false;
    const log = await proxySocket(page, (f, client, server) => {
      server.send(JSON.stringify(f));
      if (!cut && f.command === 'deposit') {
        // The frame reached the server (it queues the command); the connection dies before the answer.
        cut = true;
        client.close({ code: 4000, reason: 'network lost' });
      }
    });
    await signIn(page, app.baseUrl, uniqueId('ws'));
    const acc = uniqueId('acc-');
    await openAccount(page, acc, '1.00');
    await moveMoney(page, acc, 'deposit', '7');
    await waitBalance(page, acc, '8.00');
    await waitToast(page, 'success', new RegExp(`Deposit of 7\\.00 into ${acc} succeeded`));
    await waitFor(async () => (await connectionText(page)) === 'connected', 'reconnected');
    const frame = log.sent.find((f) => f.type === 'command' && f.command === 'deposit');
    const posts = rec.requests.filter((r) => r.path === '/commands/deposit').map((r) => JSON.parse(r.body));
    assert.equal(posts.length, 1, 'sent again over HTTP');
    assert.equal(posts[0].commandId, frame.body.commandId);
    await Promise.all(rec.pendingChecks);
    const answer = rec.responses.find((r) => r.path === '/commands/deposit');
    assert.equal(answer.status, 202);
    assert.equal(answer.body.commandId, frame.body.commandId, 'the server knew the id: the same command');
    await page.waitForTimeout(1_000);
    assert.equal(await balanceOf(page, acc), '8.00', 'money moved once');
    assert.equal(await card(page, acc).getByTestId('history-item').count(), 2);
    assert.equal(await page.locator(`.toast.success[data-command-id="${frame.body.commandId}"]`).count(), 1, 'one toast');
    await rec.assertClean();
  });

  test('with no socket (reconnecting) a command goes straight over HTTP', async () => {
    const { page, rec } = await app.newPage({ user: uniqueId('ws') });
    const acc = uniqueId('acc-');
    await openAccount(page, acc, '1.00');
    await page.evaluate(() => window.__ledgerline.dropSocket(4_000));
    await waitFor(async () => (await connectionText(page)) === 'reconnecting', 'reconnecting');
    const sentBefore = rec.sent.filter((f) => f.type === 'command').length;
    await moveMoney(page, acc, 'deposit', '3');
    await waitFor(() => rec.requests.some((r) => r.path === '/commands/deposit'), 'the POST');
    assert.equal(rec.sent.filter((f) => f.type === 'command').length, sentBefore, 'no frame while there is no socket');
    // The outcome arrives when the socket is back (resumed).
    await waitBalance(page, acc, '4.00', 15_000);
    await waitToast(page, 'success', new RegExp(`Deposit of 3\\.00 into ${acc} succeeded`));
    await rec.assertClean();
  });
});
