// Browser tests against a real `ledgerline all` (one per file).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import {
  acceptedIds, apiFetch, balanceOf, card, connectionText, demoToken, instrument, moveMoney, newAccount, openAccount, postDeposit,
  recordConnection, signIn, toasts, transfer, uniqueId, UUID_V7_RE, waitBalance, waitFor, waitInHistory, waitToast,
} from './lib/browser.mjs';
import { check, checkFrame } from './lib/schemas.mjs';
import { SCREENSHOT_DIR } from './lib/paths.mjs';
import { useTestApp } from './lib/fixture.mjs';

describe('ledgerline web app', () => {
  const app = useTestApp({ name: 'e2e', viewport: { width: 1200, height: 800 } });

  test('two tabs of one user: a deposit in one shows in the other within 1 s, with a toast in both', async () => {
    const user = uniqueId('alice');
    const { ctx, page: p1, rec: r1 } = await app.newPage();
    const p2 = await ctx.newPage(); // same context, separate tab: its own sessionStorage, the shared sign-in
    const r2 = instrument(p2);
    await signIn(p1, app.baseUrl, user);
    await signIn(p2, app.baseUrl, user);

    const acc = await newAccount(p1, '10.00');
    await waitBalance(p2, acc, '10.00');
    await waitToast(p1, 'success', new RegExp(`Opening account ${acc} succeeded`));
    await waitToast(p2, 'success', new RegExp(`Opening account ${acc} succeeded`));

    // The pending marker shows at once (the command goes over the socket and is decided in
    // milliseconds, so its texts are recorded as they change rather than read afterwards).
    await p1.evaluate((id) => {
      const el = document.querySelector(`[data-testid="account-${id}"] [data-testid="pending"]`);
      window.__pendingLog = [];
      new MutationObserver(() => window.__pendingLog.push(el.hidden ? '' : el.textContent)).observe(el, { childList: true, characterData: true, subtree: true, attributes: true });
    }, acc);
    await moveMoney(p1, acc, 'deposit', '5');
    await waitBalance(p1, acc, '15.00');
    const pendingTexts = await p1.evaluate(() => window.__pendingLog);
    assert.ok(pendingTexts.some((t) => /1 pending/.test(t)), `pending marker texts: ${JSON.stringify(pendingTexts)}`);
    const shownAt = Date.now();
    await waitBalance(p2, acc, '15.00', 1_000);
    assert.ok(Date.now() - shownAt <= 1_000);
    await waitToast(p1, 'success', new RegExp(`Deposit of 5\\.00 into ${acc} succeeded`));
    await waitToast(p2, 'success', new RegExp(`Deposit of 5\\.00 into ${acc} succeeded`));
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
    const [alice, bob] = [uniqueId('alice'), uniqueId('bob')];
    const [{ page: pa, rec: ra }, { page: pb, rec: rb }] = await app.signedInPages(alice, bob);
    const acc = uniqueId('acc-');
    await openAccount(pa, acc, '3.00');
    await moveMoney(pa, acc, 'deposit', '2');
    await waitBalance(pa, acc, '5.00');
    await waitToast(pa, 'success', new RegExp(`Deposit of 2\\.00 into ${acc} succeeded`));
    // Give any stray frame time to arrive at bob's tab, then look.
    await pb.waitForTimeout(1_000);
    assert.equal(await pb.locator('[data-testid^="account-"]').count(), 0);
    assert.deepEqual(await toasts(pb), []);
    assert.ok(await pb.getByTestId('no-accounts').isVisible());
    assert.ok(rb.frames.every((f) => f.type === 'welcome' || f.type === 'heartbeat'), `bob got ${JSON.stringify(rb.frames.map((f) => f.type))}`);
    // And the read model agrees.
    const bobToken = await demoToken(app.baseUrl, bob);
    const r = await apiFetch(app.baseUrl, '/projections/AccountBalances', { token: bobToken });
    assert.equal(r.status, 200);
    assert.ok(!r.body.items.some((i) => i.accountId === acc));
    await ra.assertClean();
    await rb.assertClean();
  });

  test('over-withdrawal shows a red toast with the reason and leaves the balance as it was', async () => {
    const user = uniqueId('alice');
    const { page, rec } = await app.newPage({ user });
    const acc = await newAccount(page, '1.00');
    await moveMoney(page, acc, 'withdraw', '5');
    const text = await waitToast(page, 'rejected', /Insufficient funds/);
    assert.match(text, new RegExp(`Withdrawal of 5\\.00 from ${acc} rejected`));
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

  /**
   * Records the WebSocket URLs a page opens and its GET /projections/*
   * requests, in order. With { sockets: false } the caller logs sockets
   * itself with socketOpened(url) (routed sockets are not all reported as
   * page 'websocket' events).
   */
  function recordTraffic(page, { sockets = true } = {}) {
    const log = [];
    if (sockets) page.on('websocket', (ws) => log.push({ kind: 'ws', url: ws.url() }));
    page.on('request', (req) => {
      const u = new URL(req.url());
      if (req.method() === 'GET' && u.pathname.startsWith('/projections/')) log.push({ kind: 'read', url: u.pathname + u.search });
      if (req.method() === 'GET' && u.pathname.startsWith('/events/account/')) log.push({ kind: 'events', url: u.pathname + u.search });
    });
    return {
      log,
      socketOpened: (url) => log.push({ kind: 'ws', url }),
      wsUrls: () => log.filter((e) => e.kind === 'ws').map((e) => new URL(e.url)),
      /** GET /projections/* made after the n-th (0-based) socket was opened. */
      readsAfterSocket: (n, kind = 'read') => {
        let seen = -1;
        const out = [];
        for (const e of log) {
          if (e.kind === 'ws') seen++;
          else if (seen >= n && e.kind === kind) out.push(e.url);
        }
        return out;
      },
    };
  }

  /** The resume point a page's frames so far give: highest status seq, highest event globalPosition. */
  function pointFromFrames(frames) {
    let statusSeq = null;
    let eventPosition = null;
    const pos = (ev) => {
      if (eventPosition === null || ev.globalPosition > eventPosition) eventPosition = ev.globalPosition;
    };
    for (const f of frames) {
      if (f.type === 'status') {
        if (typeof f.seq === 'number' && (statusSeq === null || f.seq > statusSeq)) statusSeq = f.seq;
        for (const ev of f.events) pos(ev);
      } else if (f.type === 'event') pos(f.event);
    }
    return { statusSeq, eventPosition };
  }

  /**
   * A fresh sign-in reads the read models when its socket connects and once
   * more 1.5 s later; a test that drops the socket waits for that to be over,
   * so nothing it sees afterwards comes from that load.
   */
  async function waitInitialLoad(page, signedInAt) {
    await page.waitForTimeout(Math.max(0, signedInAt + 2_000 - Date.now()));
  }

  /**
   * Waits until the page has the status envelope of the last command on acc
   * (an account's opening comes as a status envelope only: the socket
   * follows the account's events from then on), then a moment for any
   * trailing event frame.
   */
  async function waitFramesFor(page, rec, acc, what) {
    await waitFor(() => rec.frames.some((f) => f.type === 'status' && f.entityId === acc), what);
    await page.waitForTimeout(300);
  }

  test('dropping the socket shows reconnecting then connected, and resumes: a deposit made meanwhile by another client arrives with its toast, no read-model read needed', async () => {
    const user = uniqueId('alice');
    const { ctx, page, rec } = await app.newPage();
    const traffic = recordTraffic(page);
    await signIn(page, app.baseUrl, user);
    const signedInAt = Date.now();
    const acc = await newAccount(page, '2.00');
    await waitFramesFor(page, rec, acc, 'the status envelope of the opening');
    await waitInitialLoad(page, signedInAt);
    await recordConnection(page);
    // The first connect of a fresh sign-in has nothing to resume from: it reads the read models.
    const [first] = traffic.wsUrls();
    assert.ok(first.searchParams.get('access_token'), 'the first socket carries the token');
    assert.equal(first.searchParams.has('statusSeq'), false, `first connect ${first}`);
    assert.equal(first.searchParams.has('eventPosition'), false, `first connect ${first}`);
    assert.ok(traffic.readsAfterSocket(0).some((u) => u.startsWith('/projections/AccountBalances')), 'a fresh sign-in loads the read models');
    const before = pointFromFrames(rec.frames);
    assert.equal(typeof before.statusSeq, 'number');
    assert.equal(typeof before.eventPosition, 'number');
    const kept = await page.evaluate(() => window.__ledgerline.resumePoint());
    assert.equal(kept.statusSeq, before.statusSeq, 'the page keeps the highest status seq');
    assert.equal(kept.eventPosition, before.eventPosition, 'the page keeps the highest event position');
    const stored = await page.evaluate((u) => JSON.parse(sessionStorage.getItem(`ledgerline.resume:${u}`)), user);
    assert.equal(stored.statusSeq, before.statusSeq, 'and mirrors it to sessionStorage');
    assert.equal(stored.eventPosition, before.eventPosition);

    // The "network" stays down 3 s; meanwhile another client of the same user deposits.
    await page.evaluate(() => window.__ledgerline.dropSocket(3_000));
    await waitFor(async () => (await connectionText(page)) === 'reconnecting', '"reconnecting"', 1_000);
    const token = await demoToken(app.baseUrl, user);
    const body = { accountId: acc, amount: '5.00' };
    assert.equal(check('deposit-request.json', body), null);
    const r = await postDeposit(app.baseUrl, token, body);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.equal(check('accepted-response.json', r.body), null);
    const depositId = r.body.commandId;
    // Let the deposit be decided while the tab is away.
    await waitInHistory(app.baseUrl, token, acc, depositId, 'deposit decided');
    if ((await connectionText(page)) === 'reconnecting') {
      assert.equal(await balanceOf(page, acc), '2.00', 'nothing arrives while the socket is down');
    }

    await waitFor(async () => (await connectionText(page)) === 'connected', '"connected"', 15_000);
    await waitBalance(page, acc, '7.00', 5_000);
    await waitFor(async () => (await card(page, acc).getByTestId('history').textContent()).includes('+5.00'), 'history caught up');
    // The other client's deposit is an outcome this tab had not seen: its toast shows here.
    await waitToast(page, 'success', new RegExp(`Deposit of 5\\.00 into ${acc} succeeded`), 5_000);
    assert.equal(await page.locator(`.toast.success[data-command-id="${depositId}"]`).count(), 1, 'one toast for the deposit');
    const log = await page.evaluate(() => window.__connLog);
    const iR = log.indexOf('reconnecting');
    assert.ok(iR >= 0 && log.indexOf('connected', iR) > iR, `connection went ${log.join(' -> ')}`);

    // The reconnect resumed from exactly what the page had seen …
    const urls = traffic.wsUrls();
    assert.ok(urls.length >= 2, `sockets opened: ${urls.join(' ')}`);
    const resumed = urls[1];
    assert.equal(resumed.searchParams.get('access_token'), first.searchParams.get('access_token'));
    assert.equal(resumed.searchParams.get('statusSeq'), String(before.statusSeq), `reconnect URL ${resumed}`);
    assert.equal(resumed.searchParams.get('eventPosition'), String(before.eventPosition), `reconnect URL ${resumed}`);
    // … and the server replayed what it missed: the status envelope (from JetStream) and the event (from the store, no seq).
    const replayedStatus = rec.frames.find((f) => f.type === 'status' && f.commandId === depositId);
    assert.ok(replayedStatus, 'the deposit\'s status envelope was replayed');
    assert.ok(replayedStatus.seq > before.statusSeq);
    const replayedEvent = rec.frames.find((f) => f.type === 'event' && f.event.metadata.commandId === depositId);
    assert.ok(replayedEvent, 'the deposit event was replayed');
    assert.equal('seq' in replayedEvent, false, 'an event replayed from the store has no seq');
    assert.ok(replayedEvent.event.globalPosition > before.eventPosition);
    assert.equal(rec.frames.filter((f) => f.type === 'status' && f.commandId === depositId).length, 1, 'nothing duplicated');
    await waitFor(async () => (await page.evaluate(() => window.__ledgerline.resumePoint())).statusSeq === replayedStatus.seq, 'the point moved to the replayed status');
    const afterResume = await page.evaluate(() => window.__ledgerline.resumePoint());
    assert.equal(afterResume.eventPosition, replayedEvent.event.globalPosition);

    // A plain drop (no hold) recovers by itself too, and live frames flow again.
    await page.evaluate(() => window.__ledgerline.dropSocket());
    await waitFor(async () => (await connectionText(page)) === 'connected', '"connected" again', 15_000);
    const again = traffic.wsUrls()[2];
    assert.equal(again.searchParams.get('statusSeq'), String(replayedStatus.seq), `second reconnect URL ${again}`);
    assert.equal(again.searchParams.get('eventPosition'), String(replayedEvent.event.globalPosition), `second reconnect URL ${again}`);
    await moveMoney(page, acc, 'deposit', '1');
    await waitBalance(page, acc, '8.00');
    await waitToast(page, 'success', new RegExp(`Deposit of 1\\.00 into ${acc} succeeded`));

    // The browser going offline shows "offline"; back online, it reconnects (and resumes).
    await ctx.setOffline(true);
    await waitFor(async () => (await connectionText(page)) === 'offline', '"offline"', 5_000);
    await ctx.setOffline(false);
    await waitFor(async () => (await connectionText(page)) === 'connected', '"connected" after going online', 15_000);
    const online = traffic.wsUrls().at(-1);
    assert.ok(online.searchParams.has('statusSeq') && online.searchParams.has('eventPosition'), `reconnect after going online: ${online}`);
    await page.waitForTimeout(2_000); // a delayed re-read would show up by now
    assert.deepEqual(traffic.readsAfterSocket(1), [], 'no read-model read after any reconnect');
    assert.equal(await balanceOf(page, acc), '8.00');
    await rec.assertClean();
  });

  test('a reload resumes from the point kept in sessionStorage and shows the outcome of a command decided meanwhile', async () => {
    const user = uniqueId('alice');
    const { page, rec } = await app.newPage();
    const traffic = recordTraffic(page);
    await signIn(page, app.baseUrl, user);
    const acc = await newAccount(page, '1.00');
    await waitFramesFor(page, rec, acc, 'the status envelope of the opening');
    const before = pointFromFrames(rec.frames);
    await waitFor(async () => {
      const p = await page.evaluate(() => window.__ledgerline.resumePoint());
      return p.statusSeq === before.statusSeq && p.eventPosition === before.eventPosition;
    }, 'the page\'s resume point');

    // Leave the app (the tab keeps its sessionStorage), deposit from another client, come back.
    await page.goto('about:blank');
    const token = await demoToken(app.baseUrl, user);
    const r = await postDeposit(app.baseUrl, token, { accountId: acc, amount: '4.00' });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    await waitInHistory(app.baseUrl, token, acc, r.body.commandId, 'deposit decided');
    await page.goto(app.baseUrl + '/');
    await page.getByTestId('logout').waitFor({ state: 'visible' });
    await waitFor(async () => (await connectionText(page)) === 'connected', '"connected" after the reload', 15_000);
    await waitBalance(page, acc, '5.00');
    await waitToast(page, 'success', new RegExp(`Deposit of 4\\.00 into ${acc} succeeded`), 5_000);
    const urls = traffic.wsUrls();
    const reloaded = urls.at(-1);
    assert.equal(urls.length, 2, urls.join(' '));
    assert.equal(reloaded.searchParams.get('statusSeq'), String(before.statusSeq), `socket after the reload: ${reloaded}`);
    assert.equal(reloaded.searchParams.get('eventPosition'), String(before.eventPosition), `socket after the reload: ${reloaded}`);
    // The opening (seen before the reload) is not toasted again.
    assert.equal((await toasts(page)).filter((t) => /Opening account/.test(t)).length, 0);
    await rec.assertClean();
  });

  test('read-your-writes: a read after an own deposit sends minPosition (the deposit\'s position) and the answer includes the deposit', async () => {
    const user = uniqueId('alice');
    const { page, rec } = await app.newPage();
    const reads = [];
    const isRead = (u) => u.pathname.startsWith('/projections/') || u.pathname.startsWith('/events/');
    page.on('request', (req) => {
      const u = new URL(req.url());
      if (req.method() === 'GET' && isRead(u)) reads.push({ url: u, at: Date.now() });
    });
    const answers = [];
    page.on('response', (res) => {
      const u = new URL(res.url());
      if (res.request().method() !== 'GET' || !isRead(u)) return;
      rec.pendingChecks.push(res.json().then((body) => answers.push({ url: u, status: res.status(), body }), () => {}));
    });
    await signIn(page, app.baseUrl, user);
    const acc = await newAccount(page, '1.00');
    const depositAt = Date.now();
    await moveMoney(page, acc, 'deposit', '2');
    await waitToast(page, 'success', new RegExp(`Deposit of 2\\.00 into ${acc} succeeded`));
    const status = await waitFor(() => rec.frames.find((f) => f.type === 'status' && f.entityId === acc && f.events.some((e) => e.eventType === 'MoneyDeposited')), 'the deposit\'s status envelope');
    assert.equal(checkFrame(status), null);
    assert.equal(typeof status.position, 'number', `status envelope without position: ${JSON.stringify(status)}`);
    assert.equal(status.position, status.events.at(-1).globalPosition);
    await waitFor(async () => (await page.evaluate(() => window.__ledgerline.ownPosition())) === status.position, 'the tab remembers the deposit\'s position');
    // The reads of the sign-in, before any own write, had nothing to wait for
    // (the 1.5 s second read may come after the deposit: then it does wait).
    const before = reads.filter((r) => r.at < depositAt && r.url.pathname.startsWith('/projections/'));
    assert.ok(before.length > 0 && before.every((r) => !r.url.searchParams.has('minPosition')), before.map((r) => r.url.search).join(' '));

    // A reload reads the read models again: with this tab's minPosition.
    const reloadAt = Date.now();
    await page.reload();
    await page.getByTestId('logout').waitFor({ state: 'visible' });
    await waitBalance(page, acc, '3.00');
    // The history is read from the event store itself (issue 14: rows are made from events), which is never behind.
    await waitFor(() => reads.some((r) => r.at >= reloadAt && r.url.pathname === `/events/account/${acc}`), 'event log read after the reload');
    await Promise.all(rec.pendingChecks);
    const after = reads.filter((r) => r.at >= reloadAt && r.url.pathname.startsWith('/projections/'));
    assert.ok(after.length > 0, 'a read-model read after the reload');
    for (const r of after) assert.equal(r.url.searchParams.get('minPosition'), String(status.position), `read without minPosition: ${r.url}`);
    const isBal = (a) => a.url.pathname === '/projections/AccountBalances' && a.url.searchParams.get('minPosition') === String(status.position);
    await waitFor(async () => { await Promise.all(rec.pendingChecks); return answers.some(isBal); }, 'the balances answer after the reload');
    const bal = answers.find(isBal);
    assert.ok(bal, `no AccountBalances answer for minPosition=${status.position}`);
    assert.equal(bal.status, 200);
    assert.equal(bal.body.items.find((i) => i.accountId === acc)?.balance, '3.00', JSON.stringify(bal.body.items));
    // Wait for the answer itself, not only the request: it may still be in flight.
    const isLog = (a) => a.url.pathname === `/events/account/${acc}`;
    await waitFor(async () => { await Promise.all(rec.pendingChecks); return answers.some(isLog); }, 'the event log answer after the reload');
    const log = answers.find(isLog);
    assert.equal(log.status, 200);
    assert.ok(log.body.some((i) => i.metadata.commandId === status.commandId && i.eventType === 'MoneyDeposited'), JSON.stringify(log.body));
    await waitFor(async () => (await card(page, acc).getByTestId('history-item').count()) === 2, 'opened + deposit in the history after the reload');
    await rec.assertClean();
  });

  test('a resume the server cannot complete (RESUME_INCOMPLETE) falls back to reading the read models', async () => {
    const user = uniqueId('alice');
    const { page, rec } = await app.newPage();
    const traffic = recordTraffic(page, { sockets: false });
    const injected = [];
    // Resuming connects get the answer of a server that cannot replay: a
    // welcome, RESUME_INCOMPLETE, and no missed frames.
    await page.routeWebSocket(/\/ws\?/, (ws) => {
      traffic.socketOpened(ws.url());
      if (!new URL(ws.url()).searchParams.has('statusSeq')) {
        ws.connectToServer();
        return;
      }
      for (const f of [
        { type: 'welcome', userId: user, connectionId: randomUUID() },
        { type: 'error', code: 'RESUME_INCOMPLETE', message: 'more than 5000 frames were missed; re-read your read models' },
      ]) {
        injected.push(f);
        ws.send(JSON.stringify(f));
      }
    });
    await signIn(page, app.baseUrl, user);
    const signedInAt = Date.now();
    const acc = await newAccount(page, '2.00');
    await waitInitialLoad(page, signedInAt);
    await page.evaluate(() => window.__ledgerline.dropSocket(3_000));
    const token = await demoToken(app.baseUrl, user);
    const r = await postDeposit(app.baseUrl, token, { accountId: acc, amount: '3.00' });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    await waitInHistory(app.baseUrl, token, acc, r.body.commandId, 'deposit in the read model');
    await waitFor(async () => (await connectionText(page)) === 'connected', '"connected"', 15_000);
    await waitBalance(page, acc, '5.00', 10_000);
    await waitFor(async () => (await card(page, acc).getByTestId('history').textContent()).includes('+3.00'), 'history from the read model');
    const urls = traffic.wsUrls();
    assert.ok(urls.length >= 2 && urls[1].searchParams.has('statusSeq'), urls.join(' '));
    const reads = traffic.readsAfterSocket(1);
    assert.ok(reads.some((u) => u.startsWith('/projections/AccountBalances')), `reads after RESUME_INCOMPLETE: ${reads}`);
    // History rows come from the account's event log (issue 14), read from the store.
    const logReads = traffic.readsAfterSocket(1, 'events');
    assert.ok(logReads.some((u) => u.startsWith(`/events/account/${acc}?`)), `event log reads after RESUME_INCOMPLETE: ${logReads}`);
    for (const f of injected) assert.equal(checkFrame(f), null);
    assert.equal((await toasts(page, 'failed')).length, 0, 'RESUME_INCOMPLETE is handled, not shown');
    await rec.assertClean();
  });

  test('4xx problems are shown and never retried; 5xx are retried with the same commandId', async () => {
    const user = uniqueId('alice');
    // About HTTP retries: commands over HTTP only (the socket would otherwise take them).
    const { page, rec } = await app.newPage({ user, httpOnly: true });
    const acc = await newAccount(page, '1.00');

    // A real 4xx from the server, checked against problem.json.
    const token = await demoToken(app.baseUrl, user);
    const bad = await postDeposit(app.baseUrl, token, { accountId: acc, amount: '1.005' });
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
    // What is wrong, with the field as labelled on screen — no status code, no internal field name (issue 14).
    const t = await waitToast(page, 'failed', new RegExp(`Withdrawal of 0\\.50 from ${acc} was not accepted`));
    assert.match(t, /Amount at most 2 decimals/);
    assert.doesNotMatch(t, /422/);
    assert.match(await card(page, acc).getByTestId('field-error').textContent(), /Amount at most 2 decimals/);
    await page.waitForTimeout(700);
    assert.equal(hits, 1);

    // 503 twice, then through to the server: one deposit, one command id.
    const keys = [];
    await page.route('**/commands/deposit', async (route) => {
      keys.push(JSON.parse(route.request().postData()).commandId);
      if (keys.length <= 2) {
        await route.fulfill({ status: 503, contentType: 'application/problem+json', body: JSON.stringify({ type: 'urn:ledgerline:problem:unavailable', title: 'Service unavailable', status: 503 }) });
      } else {
        await route.continue();
      }
    });
    await moveMoney(page, acc, 'deposit', '2');
    await waitBalance(page, acc, '3.00');
    await waitToast(page, 'success', new RegExp(`Deposit of 2\\.00 into ${acc} succeeded`));
    assert.equal(keys.length, 3);
    assert.equal(new Set(keys).size, 1, 'the same commandId on every try');
    assert.match(keys[0], UUID_V7_RE);
    // Client-side validation: nothing is sent for a bad amount.
    await moveMoney(page, acc, 'deposit', '1.234');
    assert.match(await card(page, acc).locator('.field-error').textContent(), /at most 2 decimals/);
    assert.equal(keys.length, 3);
    rec.consoleErrors = rec.consoleErrors.filter((e) => !/status of (422|503)/.test(e));
    await rec.assertClean();
  });

  test('a deposit with a reference sends it (schema-valid) and the live history row shows it', async () => {
    const user = uniqueId('ref');
    const { page, rec } = await app.newPage({ user });
    const acc = await newAccount(page, '1.00');
    const c = card(page, acc);
    assert.equal(await page.locator(`label[for="${await c.getByTestId('reference').getAttribute('id')}"]`).textContent(), 'Reference');
    assert.equal(await c.getByTestId('reference').getAttribute('maxlength'), '140');
    await c.getByTestId('reference').fill('Invoice 42');
    await moveMoney(page, acc, 'deposit', '10');
    await waitToast(page, 'success', new RegExp(`Deposit of 10\\.00 into ${acc} succeeded`));
    await waitBalance(page, acc, '11.00');

    // Sent once (over the socket or HTTP), with the intent's command id.
    const sent = rec.commands.filter((c) => c.name === 'deposit').map((c) => c.body);
    assert.equal(sent.length, 1, JSON.stringify(sent));
    assert.equal(check('deposit-request.json', sent[0]), null);
    const { commandId, ...fields } = sent[0];
    assert.match(commandId, UUID_V7_RE);
    assert.deepEqual(fields, { accountId: acc, amount: '10.00', reference: 'Invoice 42' });
    const status = await waitFor(() => rec.frames.find((f) => f.type === 'status' && f.entityId === acc && f.events?.some((e) => e.eventType === 'MoneyDeposited')), 'the deposit\'s status envelope');
    assert.equal(checkFrame(status), null);
    assert.equal(status.events.find((e) => e.eventType === 'MoneyDeposited').data.reference, 'Invoice 42');

    const row = c.locator('[data-testid="history-item"][data-event-type="MoneyDeposited"]');
    await waitFor(async () => (await row.count()) === 1 && /Invoice 42/.test(await row.textContent()), 'the deposit row shows its reference');
    assert.equal(await row.getByTestId('history-reference').count(), 1);
    await rec.assertClean();
  });

  test('keyboard only: sign in, open an account, deposit, close', async () => {
    const user = uniqueId('kbd');
    const { page, rec } = await app.newPage();
    await page.goto(app.baseUrl + '/');
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
    // Closing asks first (issue 14); the focus starts on Cancel, Tab reaches the confirmation.
    await page.getByTestId('confirm-dialog').waitFor({ state: 'visible' });
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'confirm-no');
    await page.keyboard.press('Tab');
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
    const { page, rec } = await app.newPage({ user });
    const acc = uniqueId('acc-');
    await openAccount(page, acc, '1.00');
    await moveMoney(page, acc, 'deposit', '1');
    await waitBalance(page, acc, '2.00');
    await moveMoney(page, acc, 'withdraw', '9');
    await waitToast(page, 'rejected', /Insufficient funds/);
    // A second, raw socket on the same page sends a frame the server must refuse.
    const errorFrame = await page.evaluate(async () => {
      const { token } = JSON.parse(localStorage.getItem('ledgerline.session'));
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
    // That bad frame was this test's, not the app's.
    rec.violations = rec.violations.filter((v) => !/no-such-frame/.test(v));
    // Heartbeats come every ~15 s.
    await waitFor(() => rec.frames.some((f) => f.type === 'heartbeat'), 'a heartbeat frame', 25_000, 200);
    const seen = new Set(rec.frames.map((f) => f.type));
    for (const t of ['welcome', 'status', 'event', 'heartbeat', 'error', 'accepted']) assert.ok(seen.has(t), `saw a ${t} frame (saw ${[...seen]})`);
    const statuses = rec.frames.filter((f) => f.type === 'status');
    assert.ok(statuses.some((f) => f.status === 'succeeded' && f.events.length > 0));
    assert.ok(statuses.some((f) => f.status === 'rejected' && f.error?.code === 'INSUFFICIENT_FUNDS'));
    // Commands go over the socket when it is connected: accepted frames, the 202's twin.
    assert.ok((await acceptedIds(rec)).length >= 3, JSON.stringify(rec.frames.filter((f) => f.type === 'accepted')));
    assert.ok(rec.responses.every((r) => r.status === 202), JSON.stringify(rec.responses.map((r) => r.status)));
    assert.ok(rec.sent.some((f) => f.type === 'command'), 'command frames were sent');
    await rec.assertClean();
  });

  test('screenshot of the main screen; at 375 px balances come first, toasts cover no card, tap targets are at least 40 px', async () => {
    const user = uniqueId('demo');
    const { page, rec } = await app.newPage({ user, viewport: { width: 1280, height: 760 } });
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
    await transfer(page, savings, checking, '200');
    await waitBalance(page, savings, '1550.00');
    await waitBalance(page, checking, '305.50');
    await waitToast(page, 'success', new RegExp(`Transfer of 200\\.00 from ${savings} to ${checking} succeeded`));
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
    // Issue 14, mobile: balances come first — every card above the forms.
    const layout = await page.evaluate(() => {
      const top = (el) => el.getBoundingClientRect().top + window.scrollY;
      const box = (el) => { const r = el.getBoundingClientRect(); return { top: r.top + window.scrollY, bottom: r.bottom + window.scrollY, left: r.left, right: r.right }; };
      const visible = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden'; };
      const cards = [...document.querySelectorAll('[data-testid^="account-"]')];
      return {
        lastCardBottom: Math.max(...cards.map((c) => c.getBoundingClientRect().bottom + window.scrollY)),
        firstBalanceTop: top(cards[0].querySelector('[data-testid="balance"]')),
        transferTop: top(document.querySelector('[data-testid="transfer-form"]')),
        openTop: top(document.querySelector('[data-testid="open-account-form"]')),
        toasts: [...document.querySelectorAll('.toast')].filter(visible).map(box),
        cards: cards.map(box),
        // Tap targets: every visible control at least 40 × 40 px.
        small: [...document.querySelectorAll('button, input, select, summary, a[href]')].filter(visible)
          .map((el) => ({ el: el.getAttribute('data-testid') ?? el.outerHTML.slice(0, 60), w: el.getBoundingClientRect().width, h: el.getBoundingClientRect().height }))
          .filter((x) => x.w < 40 || x.h < 40),
      };
    });
    assert.ok(layout.lastCardBottom <= layout.transferTop && layout.lastCardBottom <= layout.openTop, `cards before the forms: ${JSON.stringify(layout)}`);
    assert.ok(layout.firstBalanceTop < 812, 'the first balance is on the first screen');
    assert.ok(layout.toasts.length > 0, 'a toast is shown (the rejected withdrawal)');
    for (const t of layout.toasts) {
      for (const c of layout.cards) {
        const overlap = t.left < c.right && c.left < t.right && t.top < c.bottom && c.top < t.bottom;
        assert.ok(!overlap, `a toast ${JSON.stringify(t)} covers a card ${JSON.stringify(c)}`);
      }
    }
    assert.deepEqual(layout.small, [], 'tap targets under 40 px');
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'mobile.png'), fullPage: true });
    await rec.assertClean();
  });
});
