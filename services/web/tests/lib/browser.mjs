// Chromium via playwright-core (Debian's /usr/bin/chromium), pages that
// record console errors and check every request, response and socket frame
// against the contracts.
import { chromium } from 'playwright-core';
import { randomBytes, randomUUID } from 'node:crypto';
import { check, checkClientFrame, checkFrame, REQUEST_SCHEMA } from './schemas.mjs';

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
  '--no-first-run', '--disable-component-update', '--disable-sync',
];

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
  });
}

export function uniqueId(prefix) {
  return `${prefix}${randomBytes(4).toString('hex')}`;
}

/** The app mints a UUID v7 per user intent and sends it as the body's `commandId`. */
export const UUID_V7_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** Checks what every command body must carry, however it is sent; returns a list of problems. */
function commandBodyProblems(where, body) {
  const out = [];
  for (const field of ['amount', 'initialBalance']) {
    if (body && field in body && typeof body[field] !== 'string') {
      out.push(`${where}: ${field} must be sent as a string, got ${JSON.stringify(body[field])}`);
    }
  }
  if (!UUID_V7_RE.test(body?.commandId ?? '')) out.push(`${where}: commandId is not a UUID v7: ${body?.commandId}`);
  return out;
}

/**
 * Instruments a page. `allowConsole` lists regexes of browser-made console
 * errors a test expects (e.g. the 503s of the chaos backend).
 */
export function instrument(page, { allowConsole = [] } = {}) {
  const rec = {
    consoleErrors: [],
    violations: [],
    /** Frames received on the app's sockets. */
    frames: [],
    /** Frames the app sent on its sockets. */
    sent: [],
    /** Command POSTs. */
    requests: [],
    /** Answers to command POSTs. */
    responses: [],
    /** Every command the app sent, either way: { via: 'http' | 'socket', name, body, commandId }. */
    commands: [],
    pendingChecks: [],
  };
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    if (allowConsole.some((re) => re.test(text))) return;
    rec.consoleErrors.push(text);
  });
  page.on('pageerror', (err) => rec.consoleErrors.push(`pageerror: ${err.message}`));

  page.on('request', (req) => {
    const url = new URL(req.url());
    const schema = REQUEST_SCHEMA[url.pathname];
    if (!schema || req.method() !== 'POST') return;
    const headers = req.headers();
    const body = req.postData();
    rec.requests.push({ path: url.pathname, headers, body });
    let parsed;
    try {
      parsed = JSON.parse(body ?? '');
    } catch {
      rec.violations.push(`request ${url.pathname}: body is not JSON: ${body}`);
      return;
    }
    const err = check(schema, parsed);
    if (err) rec.violations.push(`request ${url.pathname}: ${err}`);
    rec.violations.push(...commandBodyProblems(`request ${url.pathname}`, parsed));
    // The id is the body's commandId; an Idempotency-Key beside it would be a second, different id.
    if ('idempotency-key' in headers) rec.violations.push(`request ${url.pathname}: Idempotency-Key sent beside commandId`);
    rec.commands.push({ via: 'http', name: url.pathname.slice('/commands/'.length), body: parsed, commandId: parsed.commandId });
    if (!/^Bearer \S+$/.test(headers.authorization ?? '')) rec.violations.push(`request ${url.pathname}: no Bearer token`);
    if (!/^application\/json/.test(headers['content-type'] ?? '')) rec.violations.push(`request ${url.pathname}: Content-Type ${headers['content-type']}`);
  });

  page.on('response', (res) => {
    const url = new URL(res.url());
    if (!url.pathname.startsWith('/commands/') || res.request().method() !== 'POST') return;
    rec.pendingChecks.push((async () => {
      const status = res.status();
      let body;
      try {
        body = await res.json();
      } catch (e) {
        rec.violations.push(`response ${url.pathname} ${status}: not JSON (${e.message})`);
        return;
      }
      rec.responses.push({ path: url.pathname, status, body });
      if (status === 202) {
        const err = check('accepted-response.json', body);
        if (err) rec.violations.push(`response ${url.pathname}: ${err}`);
        if (body.status !== 'accepted') rec.violations.push(`response ${url.pathname}: status is ${body.status}`);
      } else {
        const ct = res.headers()['content-type'] ?? '';
        if (!ct.startsWith('application/problem+json')) rec.violations.push(`response ${url.pathname} ${status}: content-type ${ct}`);
        const err = check('problem.json', body);
        if (err) rec.violations.push(`response ${url.pathname}: ${err}`);
      }
    })());
  });

  page.on('websocket', (ws) => {
    ws.on('framesent', ({ payload }) => {
      let frame;
      try {
        frame = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
      } catch {
        rec.violations.push(`sent frame is not JSON: ${String(payload).slice(0, 200)}`);
        return;
      }
      rec.sent.push(frame);
      const err = checkClientFrame(frame);
      if (err) rec.violations.push(`sent frame: ${err}`);
      if (frame.type === 'command') {
        rec.violations.push(...commandBodyProblems(`command frame ${frame.command}`, frame.body));
        rec.commands.push({ via: 'socket', name: frame.command, body: frame.body, commandId: frame.body?.commandId });
      }
    });
    ws.on('framereceived', ({ payload }) => {
      let frame;
      try {
        frame = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
      } catch {
        rec.violations.push(`frame is not JSON: ${String(payload).slice(0, 200)}`);
        return;
      }
      rec.frames.push(frame);
      const err = checkFrame(frame);
      if (err) rec.violations.push(`frame: ${err}`);
    });
  });

  /** Throws when anything was off; call at the end of a test. */
  rec.assertClean = async () => {
    await Promise.all(rec.pendingChecks);
    if (rec.consoleErrors.length) throw new Error(`console errors:\n${rec.consoleErrors.join('\n')}`);
    if (rec.violations.length) throw new Error(`contract violations:\n${rec.violations.join('\n')}`);
  };
  return rec;
}

/** Polls fn until it returns a truthy value. */
export async function waitFor(fn, what, timeoutMs = 10_000, intervalMs = 50) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Command ids the server accepted for a page, over HTTP (202) or the socket (`accepted` frames). */
export async function acceptedIds(rec) {
  await Promise.all(rec.pendingChecks);
  return [
    ...rec.responses.filter((r) => r.status === 202).map((r) => r.body.commandId),
    ...rec.frames.filter((f) => f.type === 'accepted').map((f) => f.commandId),
  ];
}

/** Page init script: commands over HTTP only (for tests about HTTP retries). */
export function httpCommandsOnly(ctxOrPage, extra = {}) {
  return ctxOrPage.addInitScript((cfg) => {
    window.LEDGERLINE_CONFIG = { ...(window.LEDGERLINE_CONFIG ?? {}), socketCommands: false, ...cfg };
  }, extra);
}

// ---- page helpers -------------------------------------------------------

/**
 * Opens the app signed in as userId. The sign-in is shared by the tabs of a
 * browser context: a tab of a context already signed in as userId is
 * signed in as soon as it opens.
 */
export async function signIn(page, baseUrl, userId) {
  await page.goto(baseUrl + '/');
  await waitFor(async () => (await page.getByTestId('login-user').isVisible()) || (await page.getByTestId('logout').isVisible()), 'the sign-in form or the app');
  if (await page.getByTestId('logout').isVisible()) {
    if ((await page.getByTestId('current-user').textContent()) !== userId) {
      await page.getByTestId('logout').click();
      await page.getByTestId('login-user').waitFor({ state: 'visible' });
    }
  }
  if (await page.getByTestId('login-user').isVisible()) {
    await page.getByTestId('login-user').fill(userId);
    await page.getByTestId('login-submit').click();
  }
  await page.getByTestId('logout').waitFor({ state: 'visible' });
  await waitFor(async () => (await page.getByTestId('current-user').textContent()) === userId, `signed in as ${userId}`);
  await waitFor(async () => (await connectionText(page)) === 'connected', 'connection "connected"', 15_000);
}

/** The token of the page's session, as the app keeps it. */
export function sessionToken(page) {
  return page.evaluate(() => JSON.parse(localStorage.getItem('ledgerline.session')).token);
}

export function connectionText(page) {
  return page.getByTestId('connection').textContent();
}

export function card(page, accountId) {
  return page.getByTestId(`account-${accountId}`);
}

export async function balanceOf(page, accountId) {
  const loc = card(page, accountId).getByTestId('balance');
  if ((await loc.count()) === 0) return null;
  return loc.textContent();
}

export async function waitBalance(page, accountId, expected, timeoutMs = 10_000) {
  await waitFor(async () => (await balanceOf(page, accountId)) === expected, `balance of ${accountId} = ${expected}`, timeoutMs);
}

export async function openAccount(page, accountId, initial) {
  await page.getByTestId('open-account-id').fill(accountId);
  if (initial !== undefined) await page.getByTestId('open-account-initial').fill(initial);
  await page.getByTestId('open-account-submit').click();
  await card(page, accountId).waitFor({ state: 'visible', timeout: 10_000 });
}

/**
 * Opens an account with a fresh id (`acc-…`) and waits until its card shows
 * `shows` (by default the initial amount with two decimals); returns the id.
 */
export async function newAccount(page, initial, { shows = Number(initial).toFixed(2), timeoutMs } = {}) {
  const accountId = uniqueId('acc-');
  await openAccount(page, accountId, initial);
  await waitBalance(page, accountId, shows, timeoutMs);
  return accountId;
}

export async function moveMoney(page, accountId, kind, amount) {
  const c = card(page, accountId);
  await c.getByTestId('amount').fill(amount);
  await c.getByTestId(kind).click();
}

/** Fills the transfer form and clicks "Transfer". */
export async function transfer(page, from, to, amount) {
  await page.getByTestId('transfer-from').selectOption(from);
  await page.getByTestId('transfer-to').fill(to);
  await page.getByTestId('transfer-amount').fill(amount);
  await page.getByTestId('transfer-submit').click();
}

/** Starts keeping every text the connection indicator shows, in `window.__connLog`. */
export async function recordConnection(page) {
  await page.evaluate(() => {
    const el = document.querySelector('[data-testid="connection"]');
    window.__connLog = [el.textContent];
    new MutationObserver(() => window.__connLog.push(el.textContent)).observe(el, { childList: true, characterData: true, subtree: true });
  });
}

/** Starts keeping every text an account card's pending marker shows, in `window.__pendingLog`. */
export async function recordPendingTexts(page, accountId) {
  await page.evaluate((id) => {
    const el = document.querySelector(`[data-testid="account-${id}"] [data-testid="pending"]`);
    window.__pendingLog = [];
    new MutationObserver(() => window.__pendingLog.push(el.textContent)).observe(el, { childList: true, characterData: true, subtree: true });
  }, accountId);
}

/** Texts of the toasts of one kind currently shown. */
export async function toasts(page, kind) {
  const sel = kind ? `.toast.${kind}` : '.toast';
  return page.getByTestId('toasts').locator(sel).allTextContents();
}

export async function waitToast(page, kind, re, timeoutMs = 10_000) {
  return waitFor(async () => (await toasts(page, kind)).find((t) => re.test(t)), `${kind} toast matching ${re}`, timeoutMs);
}

// ---- plain HTTP client (another "client" than the page) ----------------

export async function apiFetch(baseUrl, path, { method = 'GET', token, body, key, tries = 20 } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (key) headers['Idempotency-Key'] = key;
  let last;
  for (let i = 0; i < tries; i++) {
    try {
      const res = await fetch(baseUrl + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      last = { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
      if (res.status < 500) return last;
    } catch (e) {
      last = { status: 0, error: e };
    }
    await new Promise((r) => setTimeout(r, 100 + 50 * i));
  }
  return last;
}

/** A deposit from another client than the page (its own Idempotency-Key). */
export function postDeposit(baseUrl, token, body) {
  return apiFetch(baseUrl, '/commands/deposit', { method: 'POST', token, body, key: randomUUID() });
}

/** Waits until the account's TransactionHistory read model has the command. */
export async function waitInHistory(baseUrl, token, accountId, commandId, what) {
  await waitFor(async () => {
    const h = await apiFetch(baseUrl, `/projections/TransactionHistory?accountId=${accountId}&limit=50`, { token });
    return h.status === 200 && h.body.items.some((i) => i.commandId === commandId);
  }, what, 10_000);
}

export async function demoToken(baseUrl, userId) {
  const r = await apiFetch(baseUrl, '/auth/demo-login', { method: 'POST', body: { userId } });
  if (r.status !== 200) throw new Error(`demo-login ${userId}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.token;
}
