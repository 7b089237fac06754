// Pure-node tests of the app's modules (compiled into dist/ by `npm run build`)
// and of its request builders against the committed JSON Schemas.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decimalSeparator, formatMinor, formatMinorGrouped, formatWireAmount, minorFromWire, parseAmountInput } from '../dist/money.js';
import { backoffDelay } from '../dist/backoff.js';
import { ApiClient, nextLink } from '../dist/api.js';
import { buildAmountBody, buildCloseBody, buildDepositBody, buildOpenAccountBody, parseReferenceInput, buildTransferBody, commandPath, withCommandId } from '../dist/requests.js';
import { LedgerState } from '../dist/state.js';
import { historyRows, rowText } from '../dist/history.js';
import { newCommandId, newUuid, UUID_V7_RE } from '../dist/ids.js';
import { ResumeTracker, resumeKey, resumeQuery } from '../dist/resume.js';
import { OwnWrites, ownWritesKey, withMinPosition } from '../dist/ryw.js';
import { check, checkFrame, REQUEST_SCHEMA, SCHEMA_FILES, schemaExists } from './lib/schemas.mjs';

test('formatMinor uses integer math', () => {
  assert.equal(formatMinor(1500), '15.00');
  assert.equal(formatMinor(0), '0.00');
  assert.equal(formatMinor(5), '0.05');
  assert.equal(formatMinor(99), '0.99');
  assert.equal(formatMinor(100), '1.00');
  assert.equal(formatMinor(1050), '10.50');
  assert.equal(formatMinor(-250), '-2.50');
  assert.equal(formatMinor(999_999_999_999_999), '9999999999999.99');
  assert.equal(formatMinor(123456789012345678901234567890n), '1234567890123456789012345678.90');
  assert.throws(() => formatMinor(1.5));
});

test('parseAmountInput accepts major units with at most 2 decimals', () => {
  assert.deepEqual(parseAmountInput('10.5'), { ok: true, minor: 1050n, wire: '10.50' });
  assert.deepEqual(parseAmountInput(' 5 '), { ok: true, minor: 500n, wire: '5.00' });
  assert.deepEqual(parseAmountInput('0.01'), { ok: true, minor: 1n, wire: '0.01' });
  // 0.1 + 0.2 style float traps do not exist here
  assert.deepEqual(parseAmountInput('0.30'), { ok: true, minor: 30n, wire: '0.30' });
  for (const bad of ['', '0', '0.00', '-1', '1.005', '1,50', 'abc', '1e3', '.5', '10000000000000']) {
    assert.equal(parseAmountInput(bad).ok, false, bad);
  }
  assert.deepEqual(parseAmountInput('0', { allowZero: true }), { ok: true, minor: 0n, wire: '0.00' });
});

test('amount messages say what is wrong, the maximum is known before posting, and the decimal comma is read where the locale writes it', () => {
  const msg = (t, o) => parseAmountInput(t, o).message;
  assert.equal(msg(''), 'Enter an amount');
  assert.equal(msg('0'), 'The amount must be more than 0');
  assert.equal(msg('0.00'), 'The amount must be more than 0');
  assert.equal(msg('-5'), 'The amount must be more than 0');
  assert.equal(msg('1.234'), 'The amount can have at most 2 decimals');
  assert.equal(msg('1000000.01', { locale: 'en-US' }), 'The amount must be at most 1,000,000.00');
  assert.deepEqual(parseAmountInput('1000000.00'), { ok: true, minor: 100_000_000n, wire: '1000000.00' });
  assert.equal(msg('abc', { locale: 'en-US' }), 'Enter a number, e.g. 10.50');
  assert.equal(msg('1,50', { locale: 'en-US' }), 'Enter a number, e.g. 10.50', 'no decimal comma where the locale writes a point');
  assert.equal(msg('1,000.00', { locale: 'en-US' }), 'Enter a number, e.g. 10.50', 'thousands separators are not guessed at');
  // German: 10,50 is ten and a half; the point still works; the maximum is written the German way.
  assert.equal(decimalSeparator('de-DE'), ',');
  assert.equal(decimalSeparator('en-US'), '.');
  assert.deepEqual(parseAmountInput('10,50', { locale: 'de-DE' }), { ok: true, minor: 1050n, wire: '10.50' });
  assert.deepEqual(parseAmountInput('10,5', { locale: 'fr-FR' }), { ok: true, minor: 1050n, wire: '10.50' });
  assert.deepEqual(parseAmountInput('10.50', { locale: 'de-DE' }), { ok: true, minor: 1050n, wire: '10.50' });
  assert.equal(msg('1,234', { locale: 'de-DE' }), 'The amount can have at most 2 decimals');
  assert.equal(msg('x', { locale: 'de-DE' }), 'Enter a number, e.g. 10,50');
  assert.equal(msg('1000000,01', { locale: 'de-DE' }), 'The amount must be at most 1.000.000,00');
  assert.equal(msg('5.01', { maxMinor: 500n }), 'The amount must be at most 5.00');
  assert.equal(formatMinorGrouped(123456789n, 'en-US'), '1,234,567.89');
});

test('amounts from the server (major-unit strings) are read in one place, digit by digit', () => {
  assert.equal(minorFromWire('10.50'), 1050);
  assert.equal(minorFromWire('0.05'), 5);
  assert.equal(minorFromWire('-2.50'), -250);
  for (const bad of [null, undefined, 1050, 10.5, '10.5', '10', '1e3', ' 1.00', '90071992547409.93']) assert.equal(minorFromWire(bad), null, String(bad));
  assert.equal(formatWireAmount('10.50'), '10.50');
  assert.equal(formatWireAmount(null), '');
});

test('command ids are UUID v7: time-ordered, version 7, RFC variant', () => {
  const a = newCommandId(1_700_000_000_000);
  const b = newCommandId(1_700_000_000_001);
  assert.match(a, UUID_V7_RE);
  assert.match(b, UUID_V7_RE);
  assert.ok(a < b, 'later ids sort later');
  assert.equal(a.replace(/-/g, '').slice(0, 12), (1_700_000_000_000).toString(16).padStart(12, '0'));
  assert.notEqual(newCommandId(), newCommandId());
  assert.match(newCommandId(), UUID_V7_RE);
});

test('backoff grows exponentially, is capped and jittered', () => {
  const p = { baseMs: 200, factor: 2, maxMs: 5000 };
  assert.equal(backoffDelay(0, p, () => 1), 200);
  assert.equal(backoffDelay(0, p, () => 0), 100);
  assert.equal(backoffDelay(3, p, () => 1), 1600);
  assert.equal(backoffDelay(10, p, () => 1), 5000);
  for (let i = 0; i < 100; i++) {
    const d = backoffDelay(2, p);
    assert.ok(d >= 400 && d <= 800, String(d));
  }
});

test('every contract schema the app relies on is committed', () => {
  const missing = SCHEMA_FILES.filter((f) => !schemaExists(f));
  assert.deepEqual(missing, [], `missing in proto/schemas: ${missing.join(', ')}`);
});

test('request builders produce bodies valid against the request schemas', () => {
  const cases = [
    ['open-account', buildOpenAccountBody({})],
    ['open-account', buildOpenAccountBody({ accountId: 'acc-1' })],
    ['open-account', buildOpenAccountBody({ accountId: ' acc_2 ', initialBalance: '15.00', currency: 'eur' })],
    ['open-account', buildOpenAccountBody({ accountId: '', initialBalance: '' })],
    ['deposit', buildAmountBody('acc-1', parseAmountInput('10.5').wire)],
    ['withdraw', buildAmountBody('acc-1', parseAmountInput('0.01').wire)],
    ['close-account', buildCloseBody('acc-1')],
    ['transfer', buildTransferBody('acc-1', ' acc-2 ', parseAmountInput('5').wire)],
  ];
  for (const [name, body] of cases) {
    const schema = REQUEST_SCHEMA[commandPath(name)];
    assert.ok(schema, name);
    assert.equal(check(schema, body), null);
  }
  assert.deepEqual(buildOpenAccountBody({ accountId: '', initialBalance: '' }), {});
  assert.deepEqual(buildOpenAccountBody({ accountId: ' acc_2 ', initialBalance: '15.00', currency: 'eur' }), { accountId: 'acc_2', initialBalance: '15.00', currency: 'EUR' });
  // The schemas really constrain: bad bodies are refused.
  assert.notEqual(check('deposit-request.json', { accountId: 'acc-1', amount: '1.005' }), null);
  assert.notEqual(check('deposit-request.json', { accountId: 'a.b', amount: '1.00' }), null);
  assert.notEqual(check('deposit-request.json', { accountId: 'acc-1', amount: '1', extra: 1 }), null);
  assert.notEqual(check('close-account-request.json', {}), null);
  assert.deepEqual(buildTransferBody('acc-1', ' acc-2 ', '5.00'), { fromAccountId: 'acc-1', toAccountId: 'acc-2', amount: '5.00' });
  assert.notEqual(check('transfer-request.json', { fromAccountId: 'acc-1', amount: '5.00' }), null);
  assert.notEqual(check('transfer-request.json', { fromAccountId: 'acc-1', toAccountId: 'acc 2', amount: '5.00' }), null);
  assert.notEqual(check('transfer-request.json', { fromAccountId: 'acc-1', toAccountId: 'acc-2', amount: '5.001' }), null);
  // Every body can carry the intent's command id, and stays valid with it.
  const id = newCommandId();
  for (const [name, body] of cases) assert.equal(check(REQUEST_SCHEMA[commandPath(name)], withCommandId(body, id)), null, name);
  assert.deepEqual(withCommandId({ accountId: 'acc-1' }, id), { accountId: 'acc-1', commandId: id });
});

test('deposit builder: reference sent only when given, checked in the browser before sending', () => {
  assert.deepEqual(buildDepositBody('acc-1', '10.00'), { accountId: 'acc-1', amount: '10.00' });
  assert.deepEqual(buildDepositBody('acc-1', '10.00', null), { accountId: 'acc-1', amount: '10.00' });
  assert.deepEqual(buildDepositBody('acc-1', '10.00', ''), { accountId: 'acc-1', amount: '10.00' });
  const withRef = buildDepositBody('acc-1', '10.00', 'Invoice 42');
  assert.deepEqual(withRef, { accountId: 'acc-1', amount: '10.00', reference: 'Invoice 42' });
  for (const body of [withRef, buildDepositBody('acc-1', '10.00')]) assert.equal(check('deposit-request.json', body), null);

  assert.deepEqual(parseReferenceInput(''), { ok: true, value: null });
  assert.deepEqual(parseReferenceInput('   '), { ok: true, value: null });
  assert.deepEqual(parseReferenceInput(' Invoice 42 '), { ok: true, value: 'Invoice 42' });
  assert.deepEqual(parseReferenceInput('x'.repeat(140)), { ok: true, value: 'x'.repeat(140) });
  // 140 characters, counted as code points (as the server does), not UTF-16 units.
  assert.equal(parseReferenceInput('€'.repeat(139) + '😀').ok, true);
  assert.equal(parseReferenceInput('x'.repeat(141)).ok, false);
  for (const bad of ['Invoice\n42', 'a\tb', 'a\u0000b', 'a\u007fb', 'a\u0085b']) {
    const r = parseReferenceInput(bad);
    assert.equal(r.ok, false, JSON.stringify(bad));
    assert.match(r.message, /control/);
  }
  const ref = parseReferenceInput('Invoice 42');
  assert.ok(ref.ok);
  assert.equal(check('deposit-request.json', buildDepositBody('acc-1', parseAmountInput('10').wire, ref.value)), null);
});

test('a deposit event carries its reference into its history row', () => {
  const ev = (reference) => ({
    eventId: 'e2', aggregateId: 'acc-1', version: 2, globalPosition: 7, eventType: 'MoneyDeposited', schemaVersion: 2,
    data: { amount: '10.00', balanceAfter: '10.00', reference }, metadata: { commandId: 'c1', correlationId: 'c1', userId: 'u', timestamp: '2026-01-01T00:00:00Z' },
  });
  assert.equal(historyRows([ev('Invoice 42')])[0].reference, 'Invoice 42');
  assert.equal(rowText(historyRows([ev('Invoice 42')])[0]), 'Deposit · Invoice 42');
  assert.equal(historyRows([ev(null)])[0].reference, null);
});

function fakeResponse(status, body, contentType = 'application/json') {
  return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'content-type': contentType } });
}

function clientWith(responses) {
  const calls = [];
  const delays = [];
  const client = new ApiClient({
    getToken: () => 'tok',
    fetch: async (url, init) => {
      calls.push({ url, init });
      const next = responses.shift();
      if (next instanceof Error) throw next;
      return next;
    },
    sleep: async (ms) => { delays.push(ms); },
    random: () => 0.5,
    retry: { baseMs: 200, factor: 2, maxMs: 5000, maxAttempts: 6 },
  });
  return { client, calls, delays };
}

const PROBLEM_503 = { type: 'urn:ledgerline:problem:unavailable', title: 'Service unavailable', status: 503 };

test('commands retry network errors and 5xx with backoff, sending the same commandId every time', async () => {
  const accepted = { commandId: newUuid(), status: 'accepted', statusUrl: '/commands/x' };
  const { client, calls, delays } = clientWith([
    fakeResponse(503, PROBLEM_503, 'application/problem+json'),
    new TypeError('Failed to fetch'),
    fakeResponse(502, undefined, 'text/plain'),
    fakeResponse(202, accepted),
  ]);
  const id = newCommandId();
  const retries = [];
  const res = await client.command('deposit', withCommandId(buildAmountBody('acc-1', '1.00'), id), { onRetry: (r) => retries.push(`${r.attempt}/${r.maxAttempts}`) });
  assert.equal(res.ok, true);
  assert.deepEqual(retries, ['2/6', '3/6', '4/6'], 'the UI hears of each retry and its attempt');
  assert.equal(res.attempts, 4);
  assert.deepEqual(res.body, accepted);
  assert.equal(check('accepted-response.json', res.body), null);
  assert.equal(calls.length, 4);
  for (const c of calls) {
    assert.equal(c.url, '/commands/deposit');
    assert.equal(c.init.method, 'POST');
    assert.equal('Idempotency-Key' in c.init.headers, false, 'the id is the body\'s commandId, not a second one');
    assert.equal(c.init.headers.Authorization, 'Bearer tok');
    assert.equal(c.init.headers['Content-Type'], 'application/json');
    assert.equal(c.init.body, `{"accountId":"acc-1","amount":"1.00","commandId":"${id}"}`);
  }
  assert.deepEqual(delays, [150, 300, 600]);
});

test('4xx is returned at once as a problem and never retried', async () => {
  const problem = { type: 'urn:ledgerline:problem:invalid-body', title: 'Invalid request', status: 422, detail: 'bad amount', errors: [{ field: 'amount', message: 'must be > 0' }] };
  assert.equal(check('problem.json', problem), null);
  const { client, calls, delays } = clientWith([fakeResponse(422, problem, 'application/problem+json')]);
  const res = await client.command('deposit', withCommandId(buildAmountBody('acc-1', '1.00'), newCommandId()));
  assert.equal(res.ok, false);
  assert.equal(res.kind, 'problem');
  assert.equal(res.status, 422);
  assert.deepEqual(res.problem.errors, problem.errors);
  assert.equal(calls.length, 1);
  assert.deepEqual(delays, []);
});

test('retries stop after maxAttempts with the last failure', async () => {
  const { client, calls, delays } = clientWith(Array.from({ length: 6 }, () => fakeResponse(503, PROBLEM_503, 'application/problem+json')));
  const res = await client.command('withdraw', withCommandId(buildAmountBody('acc-1', '1.00'), newCommandId()));
  assert.equal(res.ok, false);
  assert.equal(res.status, 503);
  assert.equal(calls.length, 6);
  assert.deepEqual(delays, [150, 300, 600, 1200, 2400]);
});

test('retries stop as soon as the outcome is known', async () => {
  const { client, calls } = clientWith(Array.from({ length: 6 }, () => fakeResponse(503, PROBLEM_503, 'application/problem+json')));
  let known = false;
  const res = await client.command('withdraw', withCommandId(buildAmountBody('acc-1', '1.00'), newCommandId()), {
    onRetry: (r) => { if (r.attempt === 3) known = true; },
    shouldStop: () => known,
  });
  assert.equal(res.ok, false);
  assert.equal(res.kind, 'stopped');
  assert.equal(calls.length, 2);
});

// ---- state ------------------------------------------------------------------

const USER = 'alice';
function ev(accountId, version, eventType, data) {
  return {
    eventId: newUuid(), aggregateType: 'BankAccount', aggregateId: accountId, version, globalPosition: 100 + version,
    eventType, schemaVersion: 1, data,
    metadata: { commandId: newUuid(), correlationId: newUuid(), userId: USER, timestamp: '2026-11-22T10:00:00Z' },
  };
}

test('sample frames written from the contract validate against the schemas', () => {
  const opened = ev('acc-1', 1, 'AccountOpened', { ownerId: USER, currency: 'EUR', initialBalance: '10.00' });
  const dep = ev('acc-1', 2, 'MoneyDeposited', { amount: '5.00', balanceAfter: '15.00' });
  const closed = ev('acc-1', 3, 'AccountClosed', {});
  for (const e of [opened, dep, closed]) assert.equal(check('event-envelope.json', e), null);
  const status = { type: 'status', seq: 88, commandId: dep.metadata.commandId, entityType: 'BankAccount', entityId: 'acc-1', status: 'succeeded', success: true, error: null, events: [dep], timestamp: '2026-11-22T10:00:00Z' };
  const rejected = { ...status, status: 'rejected', success: false, error: { code: 'INSUFFICIENT_FUNDS', message: 'Insufficient funds: balance 1.00, requested 5.00' }, events: [] };
  for (const f of [
    status, rejected,
    { type: 'event', seq: 12, event: dep },
    { type: 'heartbeat', timestamp: '2026-11-22T10:00:00Z' },
    { type: 'error', code: 'INVALID_FRAME', message: 'bad' },
  ]) assert.equal(checkFrame(f), null);
  assert.equal(checkFrame({ type: 'welcome', userId: USER, connectionId: newUuid() }), null);
  assert.notEqual(checkFrame({ ...status, status: 'done' }), null);
  assert.notEqual(checkFrame({ type: 'event', seq: 1, event: { ...dep, data: { amount: 5.5, balanceAfter: '0.01' } } }), null);
  assert.notEqual(checkFrame({ type: 'mystery' }), null);
});

test('events apply once, in version order; duplicates and stale versions are ignored', () => {
  const s = new LedgerState();
  const opened = ev('acc-1', 1, 'AccountOpened', { ownerId: USER, currency: 'EUR', initialBalance: '10.00' });
  const dep = ev('acc-1', 2, 'MoneyDeposited', { amount: '5.00', balanceAfter: '15.00' });
  const wd = ev('acc-1', 3, 'MoneyWithdrawn', { amount: '2.00', balanceAfter: '13.00' });
  assert.deepEqual(s.applyEvent(opened), { applied: true, gap: false });
  assert.deepEqual(s.applyEvent(dep), { applied: true, gap: false });
  assert.deepEqual(s.applyEvent(dep), { applied: false, gap: false }); // same event from an event frame
  assert.deepEqual(s.applyEvent(wd), { applied: true, gap: false });
  assert.deepEqual(s.applyEvent(dep), { applied: false, gap: false }); // late duplicate
  const acc = s.accounts.get('acc-1');
  assert.equal(acc.balance, 1300);
  assert.equal(acc.version, 3);
  assert.equal(acc.currency, 'EUR');
  assert.deepEqual(historyRows(s.events('acc-1')).map((h) => [h.version, h.eventType, h.amount, h.balanceAfter]), [
    [3, 'MoneyWithdrawn', 200, 1300],
    [2, 'MoneyDeposited', 500, 1500],
    [1, 'AccountOpened', 1000, 1000],
  ]);
  assert.equal(s.knownThrough('acc-1'), 3);
  const gap = s.applyEvent(ev('acc-1', 5, 'MoneyDeposited', { amount: '1.00', balanceAfter: '15.00' }));
  assert.deepEqual(gap, { applied: true, gap: true, missingAfter: 3 }, 'the versions after 3 were missed');
  assert.equal(s.knownThrough('acc-1'), 3, 'known without a hole up to 3');
  s.applyEvent(ev('acc-1', 4, 'MoneyDeposited', { amount: '1.00', balanceAfter: '14.00' }));
  assert.equal(s.knownThrough('acc-1'), 5, 'the missing version read later fills the log');
  assert.equal(s.accounts.get('acc-1').balance, 1500, 'and moves nothing back');
  s.applyEvent(ev('acc-1', 6, 'AccountClosed', {}));
  assert.equal(s.accounts.get('acc-1').status, 'closed');
});

test('read-model catch-up merges by version and never moves an account back', () => {
  const s = new LedgerState();
  s.applyEvent(ev('acc-1', 1, 'AccountOpened', { ownerId: USER, currency: 'EUR', initialBalance: '0.00' }));
  s.applyEvent(ev('acc-1', 2, 'MoneyDeposited', { amount: '5.00', balanceAfter: '5.00' }));
  // A lagging read model (version 1) does not undo what frames told us.
  s.mergeBalances([{ accountId: 'acc-1', ownerId: USER, currency: 'EUR', balance: '0.00', status: 'open', version: 1, updatedAt: 'x' }]);
  assert.equal(s.accounts.get('acc-1').balance, 500);
  // A newer one (events missed while offline) moves it forward, and adds accounts.
  s.mergeBalances([
    { accountId: 'acc-1', ownerId: USER, currency: 'EUR', balance: '9.00', status: 'open', version: 3, updatedAt: 'x' },
    { accountId: 'acc-2', ownerId: USER, currency: 'EUR', balance: '1.00', status: 'open', version: 1, updatedAt: 'x' },
  ]);
  assert.equal(s.accounts.get('acc-1').balance, 900);
  assert.equal(s.accounts.get('acc-2').balance, 100);
  // The event log read after it moves the account on and fills in its history.
  for (const e of [
    ev('acc-1', 3, 'MoneyDeposited', { amount: '4.00', balanceAfter: '9.00' }),
    ev('acc-1', 4, 'MoneyWithdrawn', { amount: '1.00', balanceAfter: '8.00' }),
  ]) s.applyEvent(e);
  assert.equal(s.accounts.get('acc-1').balance, 800);
  assert.equal(s.accounts.get('acc-1').version, 4);
  assert.deepEqual(historyRows(s.events('acc-1')).map((h) => h.version), [4, 3, 2, 1]);
  // The event frame for version 4 arriving after the catch-up changes nothing.
  assert.equal(s.applyEvent(ev('acc-1', 4, 'MoneyWithdrawn', { amount: '1.00', balanceAfter: '8.00' })).applied, false);
  // A stale read model after all that does not move it back either.
  s.mergeBalances([{ accountId: 'acc-1', ownerId: USER, currency: 'EUR', balance: '9.00', status: 'open', version: 3, updatedAt: 'x' }]);
  assert.equal(s.accounts.get('acc-1').balance, 800);
});

// ---- resume point -----------------------------------------------------------

class MemoryStore {
  constructor() { this.map = new Map(); this.writes = 0; }
  getItem(k) { return this.map.has(k) ? this.map.get(k) : null; }
  setItem(k, v) { this.writes++; this.map.set(k, String(v)); }
  removeItem(k) { this.map.delete(k); }
}

test('resume point: highest status seq and event position, per user, mirrored to storage', () => {
  const store = new MemoryStore();
  // A stale point of an earlier sign-in is dropped by a fresh one.
  store.setItem(resumeKey(USER), JSON.stringify({ userId: USER, statusSeq: 999, eventPosition: 999, since: 1 }));
  const t = ResumeTracker.fresh(USER, store, 1_000);
  assert.deepEqual(t.current, { userId: USER, statusSeq: null, eventPosition: null, since: 1_000 });
  assert.equal(t.query(), 'statusSeq=0&eventPosition=0', 'nothing seen yet: replay everything');

  // Status frames: the highest seq wins, whatever the order; bad values are ignored.
  assert.equal(t.noteStatus(7), true);
  assert.equal(t.noteStatus(5), false);
  assert.equal(t.noteStatus(7), false);
  for (const bad of [null, undefined, -1, 1.5, '9', Number.MAX_SAFE_INTEGER + 2]) assert.equal(t.noteStatus(bad), false, String(bad));
  assert.equal(t.noteStatus(9), true);
  // Events (from status frames and event frames): the highest globalPosition wins.
  const opened = ev('acc-1', 1, 'AccountOpened', { ownerId: USER, currency: 'EUR', initialBalance: '0.00' }); // globalPosition 101
  const dep = ev('acc-1', 2, 'MoneyDeposited', { amount: '0.05', balanceAfter: '0.05' }); // 102
  assert.equal(t.noteEvent(dep.globalPosition), true);
  assert.equal(t.noteEvent(opened.globalPosition), false, 'an older event does not move the point back');
  assert.equal(t.noteEvent(0), false);
  assert.equal(t.noteEvent('103'), false);
  assert.deepEqual(t.current, { userId: USER, statusSeq: 9, eventPosition: 102, since: 1_000 });
  assert.equal(t.query(), 'statusSeq=9&eventPosition=102');
  assert.equal(resumeQuery({ statusSeq: 4, eventPosition: null }), 'statusSeq=4&eventPosition=0');

  // sessionStorage holds the same point, so a reload resumes from it …
  assert.deepEqual(JSON.parse(store.getItem(resumeKey(USER))), { userId: USER, statusSeq: 9, eventPosition: 102, since: 1_000 });
  const reloaded = ResumeTracker.restore(USER, store);
  assert.deepEqual(reloaded.current, t.current);
  assert.equal(reloaded.query(), 'statusSeq=9&eventPosition=102');
  // … only for the same user, and only when readable.
  assert.equal(ResumeTracker.restore('bob', store), null);
  store.setItem(resumeKey('bob'), JSON.stringify({ userId: USER, statusSeq: 1, eventPosition: 1, since: 0 }));
  assert.equal(ResumeTracker.restore('bob', store), null, 'a point filed under another user is not used');
  store.setItem(resumeKey('carol'), '{not json');
  assert.equal(ResumeTracker.restore('carol', store), null);
  store.setItem(resumeKey('dave'), JSON.stringify({ userId: 'dave', statusSeq: -3, eventPosition: 'x' }));
  assert.deepEqual(ResumeTracker.restore('dave', store).current, { userId: 'dave', statusSeq: null, eventPosition: null, since: 0 });
  assert.equal(ResumeTracker.restore(USER, null), null);

  // Nothing is written when nothing moved; sign-out forgets the point.
  const writes = store.writes;
  reloaded.noteStatus(3);
  reloaded.noteEvent(50);
  assert.equal(store.writes, writes);
  ResumeTracker.forget(USER, store);
  assert.equal(store.getItem(resumeKey(USER)), null);
  // Storage that throws (full, disabled) does not break the in-memory point.
  const broken = { getItem() { throw new Error('denied'); }, setItem() { throw new Error('full'); }, removeItem() { throw new Error('denied'); } };
  const m = ResumeTracker.fresh(USER, broken);
  assert.equal(m.noteStatus(1), true);
  assert.equal(m.query(), 'statusSeq=1&eventPosition=0');
  assert.equal(ResumeTracker.restore(USER, broken), null);
  ResumeTracker.forget(USER, broken);
});

test('read-your-writes: the highest own position, per user and tab, sent as minPosition', () => {
  const store = new MemoryStore();
  store.setItem(ownWritesKey(USER), '999');
  const w = OwnWrites.fresh(USER, store);
  assert.equal(w.minPosition, null, 'a fresh sign-in drops the stored value');
  assert.equal(store.getItem(ownWritesKey(USER)), null);
  // Status envelopes of this tab's commands: the highest position wins, whatever the order.
  assert.equal(w.note(12), true);
  assert.equal(w.note(7), false, 'an older command does not move it back');
  assert.equal(w.note(12), false);
  for (const bad of [null, undefined, 0, -1, 1.5, '20', Number.MAX_SAFE_INTEGER + 2]) assert.equal(w.note(bad), false, String(bad));
  assert.equal(w.note(20), true);
  assert.equal(w.minPosition, 20);
  // Mirrored to (per-tab) storage: a reload still reads its own writes.
  assert.equal(store.getItem(ownWritesKey(USER)), '20');
  assert.equal(OwnWrites.restore(USER, store).minPosition, 20);
  assert.equal(OwnWrites.restore('bob', store).minPosition, null);
  store.setItem(ownWritesKey('carol'), 'x');
  assert.equal(OwnWrites.restore('carol', store).minPosition, null);
  assert.equal(OwnWrites.restore(USER, null).minPosition, null);
  OwnWrites.forget(USER, store);
  assert.equal(OwnWrites.restore(USER, store).minPosition, null);
  const broken = { getItem() { throw new Error('denied'); }, setItem() { throw new Error('full'); }, removeItem() { throw new Error('denied'); } };
  const b = OwnWrites.fresh(USER, broken);
  assert.equal(b.note(3), true);
  assert.equal(b.minPosition, 3);
  assert.equal(OwnWrites.restore(USER, broken).minPosition, null);
  // The query: minPosition only when known.
  assert.equal(withMinPosition({}, null), '');
  assert.equal(withMinPosition({}, 20), '?minPosition=20');
  assert.equal(withMinPosition({ accountId: 'acc-1', limit: '50' }, 20), '?accountId=acc-1&limit=50&minPosition=20');
  assert.equal(withMinPosition({ accountId: 'acc-1', limit: '50' }, null), '?accountId=acc-1&limit=50');
  // A status envelope with position validates; one without (rejected, no events) too.
  const base = { type: 'status', seq: 3, commandId: newUuid(), entityType: 'BankAccount', entityId: 'acc-1', success: true, timestamp: '2026-11-22T10:00:00Z' };
  assert.equal(checkFrame({ ...base, status: 'succeeded', error: null, events: [ev('acc-1', 2, 'MoneyDeposited', { amount: '0.05', balanceAfter: '0.05', reference: null })], position: 102 }), null);
  assert.equal(checkFrame({ ...base, status: 'rejected', success: false, error: { code: 'INSUFFICIENT_FUNDS', message: 'Insufficient funds' }, events: [] }), null);
});

test('read models are read with minPosition, and their 503 (not there yet) is retried like any 5xx', async () => {
  const notYet = { type: 'urn:ledgerline:problem:unavailable', title: 'Service unavailable', status: 503, detail: 'this read model has not reached position 20 yet; retry' };
  assert.equal(check('problem.json', notYet), null);
  const { client, calls, delays } = clientWith([
    fakeResponse(503, notYet, 'application/problem+json'),
    fakeResponse(200, { items: [] }),
    fakeResponse(503, notYet, 'application/problem+json'),
    fakeResponse(200, { items: [] }),
    fakeResponse(200, { items: [] }),
  ]);
  const b = await client.balances(20);
  assert.equal(b.ok, true);
  assert.equal(b.attempts, 2);
  const h = await client.balances(20);
  assert.equal(h.ok, true);
  assert.equal(h.attempts, 2);
  assert.deepEqual(calls.map((c) => c.url), [
    '/projections/AccountBalances?minPosition=20', '/projections/AccountBalances?minPosition=20',
    '/projections/AccountBalances?minPosition=20', '/projections/AccountBalances?minPosition=20',
  ]);
  assert.deepEqual(delays, [150, 150]);
  // No own write known: no minPosition.
  await client.balances();
  assert.equal(calls.at(-1).url, '/projections/AccountBalances');
});

test('event frames replayed from the store (no seq) validate; live ones carry seq', () => {
  const dep = ev('acc-1', 2, 'MoneyDeposited', { amount: '5.00', balanceAfter: '15.00' });
  assert.equal(checkFrame({ type: 'event', event: dep }), null);
  assert.equal(checkFrame({ type: 'event', seq: 3, event: dep }), null);
  assert.equal(checkFrame({ type: 'error', code: 'RESUME_INCOMPLETE', message: 'more than 5000 frames were missed; re-read your read models' }), null);
  assert.notEqual(checkFrame({ type: 'event', seq: -1, event: dep }), null);
  assert.notEqual(checkFrame({ type: 'event', seq: 1 }), null);
});

test('transfer events: the debit drops the balance at once, a refund brings it back, a completion changes nothing', () => {
  const s = new LedgerState();
  s.applyEvent(ev('acc-1', 1, 'AccountOpened', { ownerId: USER, currency: 'EUR', initialBalance: '10.00' }));
  s.applyEvent(ev('acc-2', 1, 'AccountOpened', { ownerId: USER, currency: 'EUR', initialBalance: '0.00' }));
  const debit = ev('acc-1', 2, 'TransferDebited', { toAccountId: 'acc-2', amount: '3.00', currency: 'EUR', balanceAfter: '7.00' });
  const credit = ev('acc-2', 2, 'TransferCredited', { fromAccountId: 'acc-1', amount: '3.00', balanceAfter: '3.00' });
  const done = ev('acc-1', 3, 'TransferCompleted', { toAccountId: 'acc-2', amount: '3.00' });
  const debit2 = ev('acc-1', 4, 'TransferDebited', { toAccountId: 'gone', amount: '1.00', currency: 'EUR', balanceAfter: '6.00' });
  const refund = ev('acc-1', 5, 'TransferRefunded', { toAccountId: 'gone', amount: '1.00', balanceAfter: '7.00' });
  for (const e of [debit, credit, done, debit2, refund]) assert.equal(check('event-envelope.json', e), null, e.eventType);
  assert.deepEqual(s.applyEvent(debit), { applied: true, gap: false });
  assert.equal(s.accounts.get('acc-1').balance, 700);
  s.applyEvent(credit);
  assert.equal(s.accounts.get('acc-2').balance, 300);
  s.applyEvent(done);
  assert.equal(s.accounts.get('acc-1').balance, 700);
  assert.equal(s.accounts.get('acc-1').version, 3);
  s.applyEvent(debit2);
  assert.equal(s.accounts.get('acc-1').balance, 600);
  s.applyEvent(refund);
  assert.equal(s.accounts.get('acc-1').balance, 700);
  assert.deepEqual(historyRows(s.events('acc-1')).map((h) => [h.eventType, h.amount, h.balanceAfter, rowText(h)]), [
    ['TransferRefunded', 100, 700, 'Transfer refunded · to gone'],
    ['TransferDebited', 100, 600, 'Transfer to gone · in flight'],
    ['TransferDebited', 300, 700, 'Transfer to acc-2 · in flight'],
    ['AccountOpened', 1000, 1000, 'Account opened'],
  ]);
  assert.equal(rowText(historyRows(s.events('acc-2'))[0]), 'Transfer from acc-1');
  // Status envelopes carrying transfer events validate too.
  const succeeded = { type: 'status', seq: 9, commandId: done.metadata.correlationId, entityType: 'BankAccount', entityId: 'acc-1', status: 'succeeded', success: true, error: null, events: [done], timestamp: '2026-11-22T10:00:00Z' };
  assert.equal(checkFrame(succeeded), null);
  assert.equal(checkFrame({ type: 'event', seq: 4, event: credit }), null);
});

test('history rows come from events alone: one row per money movement, the same wording whichever way the events came', () => {
  const transfer = newUuid();
  const refused = newUuid();
  const step = (e, correlationId) => ({ ...e, metadata: { ...e.metadata, correlationId } });
  const log = [
    ev('acc-1', 1, 'AccountOpened', { ownerId: USER, currency: 'EUR', initialBalance: '0.00' }),
    ev('acc-1', 2, 'MoneyDeposited', { amount: '10.00', balanceAfter: '10.00', reference: 'Invoice 42' }),
    step(ev('acc-1', 3, 'TransferDebited', { toAccountId: 'acc-2', amount: '3.00', currency: 'EUR', balanceAfter: '7.00' }), transfer),
    step(ev('acc-1', 4, 'TransferCompleted', { toAccountId: 'acc-2', amount: '3.00' }), transfer),
    step(ev('acc-1', 5, 'TransferDebited', { toAccountId: 'gone', amount: '1.00', currency: 'EUR', balanceAfter: '6.00' }), refused),
    step(ev('acc-1', 6, 'TransferRefunded', { toAccountId: 'gone', amount: '1.00', balanceAfter: '7.00' }), refused),
    ev('acc-1', 7, 'MoneyWithdrawn', { amount: '7.00', balanceAfter: '0.00' }),
    ev('acc-1', 8, 'AccountClosed', {}),
  ];
  const expected = [
    'Account closed',
    'Withdrawal',
    'Transfer refunded · to gone',
    'Transfer to gone · refunded',
    'Transfer to acc-2 · completed',
    'Deposit · Invoice 42',
    'Account opened',
  ];
  // Pushed live one by one (in another tab, the same) …
  const live = new LedgerState();
  for (const e of log) live.applyEvent(e);
  assert.deepEqual(historyRows(live.events('acc-1')).map(rowText), expected);
  // … or read from the event log after a reload, in any order, with duplicates: the same rows.
  const reloaded = new LedgerState();
  reloaded.mergeBalances([{ accountId: 'acc-1', ownerId: USER, currency: 'EUR', balance: '0.00', status: 'closed', version: 8 }]);
  for (const e of [...log].reverse().concat(log.slice(2, 4))) reloaded.applyEvent(e);
  assert.deepEqual(historyRows(reloaded.events('acc-1')).map(rowText), expected);
  // The completion is no second transfer: one row for the transfer, marked completed.
  const rows = historyRows(live.events('acc-1'));
  assert.equal(rows.filter((r) => /acc-2/.test(rowText(r))).length, 1);
  assert.deepEqual(rows.map((r) => `${r.sign}${r.amount ?? ''}`), ['', '−700', '+100', '−100', '−300', '+1000', '']);
  assert.equal(historyRows(live.events('acc-1'), 3).length, 3, 'at most the rows asked for');
});

test('next-page links (RFC 8288) are followed for every page of balances, keeping minPosition', async () => {
  assert.equal(nextLink('</projections/AccountBalances?after=acc-099&limit=100>; rel="next"'), '/projections/AccountBalances?after=acc-099&limit=100');
  assert.equal(nextLink('<https://x/a>; rel="prev", </b?after=2>; rel="next"'), '/b?after=2');
  assert.equal(nextLink(null), null);
  assert.equal(nextLink('</a>; rel="prev"'), null);
  const page = (items, next) => new Response(JSON.stringify({ items }), { status: 200, headers: { 'content-type': 'application/json', ...(next ? { link: `<${next}>; rel="next"` } : {}) } });
  const item = (id) => ({ accountId: id, ownerId: USER, currency: 'EUR', balance: '0.01', status: 'open', version: 1 });
  const { client, calls } = clientWith([
    page([item('a'), item('b')], '/projections/AccountBalances?after=b&limit=2'),
    page([item('c'), item('d')], '/projections/AccountBalances?after=d&limit=2'),
    page([item('e')], null),
  ]);
  const r = await client.balances(7);
  assert.equal(r.ok, true);
  assert.deepEqual(r.body.items.map((i) => i.accountId), ['a', 'b', 'c', 'd', 'e']);
  assert.deepEqual(calls.map((c) => c.url), [
    '/projections/AccountBalances?minPosition=7',
    '/projections/AccountBalances?after=b&limit=2&minPosition=7',
    '/projections/AccountBalances?after=d&limit=2&minPosition=7',
  ]);
});

// ---- wording, intents, sending, session ---------------------------------------

test('toasts name the account, and both accounts of a transfer; the server\'s field names become the labels on screen', async () => {
  const { commandLabel, outcomeText, fieldMessage, problemText, pendingText } = await import('../dist/wording.js');
  assert.equal(commandLabel('deposit', { accountId: 'acc-1', amount: '5.00' }), 'Deposit of 5.00 into acc-1');
  assert.equal(commandLabel('withdraw', { accountId: 'acc-1', amount: '5.00' }), 'Withdrawal of 5.00 from acc-1');
  assert.equal(commandLabel('transfer', { fromAccountId: 'a', toAccountId: 'b', amount: '2.50' }), 'Transfer of 2.50 from a to b');
  assert.equal(commandLabel('open-account', {}), 'Opening an account');
  assert.equal(commandLabel('close-account', { accountId: 'a' }), 'Closing account a');
  const env = (events, extra = {}) => ({ type: 'status', seq: 1, commandId: newUuid(), entityType: 'BankAccount', entityId: 'acc-1', status: 'succeeded', success: true, error: null, events, timestamp: 't', ...extra });
  // From the events, so a tab that did not send the command names it as well.
  assert.equal(outcomeText(env([ev('acc-1', 2, 'MoneyDeposited', { amount: '5.00', balanceAfter: '5.00' })])), 'Deposit of 5.00 into acc-1 succeeded');
  assert.equal(outcomeText(env([ev('acc-1', 3, 'TransferCompleted', { toAccountId: 'acc-2', amount: '2.50' })])), 'Transfer of 2.50 from acc-1 to acc-2 succeeded');
  const refused = env([], { status: 'rejected', success: false, error: { code: 'INSUFFICIENT_FUNDS', message: 'Insufficient funds' } });
  assert.equal(outcomeText(refused, 'Withdrawal of 9.00 from acc-1'), 'Withdrawal of 9.00 from acc-1 rejected: Insufficient funds');
  assert.equal(outcomeText(refused), 'A command on acc-1 rejected: Insufficient funds');
  assert.equal(fieldMessage('toAccountId', 'must differ from fromAccountId'), 'To account must differ from the From account');
  assert.equal(fieldMessage('amount', 'must have at most 2 fraction digits'), 'Amount must have at most 2 fraction digits');
  assert.equal(fieldMessage('body', 'expected a JSON object'), 'The request expected a JSON object');
  assert.equal(problemText({ title: 'The request is not valid', errors: [{ field: 'toAccountId', message: 'must differ from fromAccountId' }] }), 'To account must differ from the From account');
  assert.equal(problemText({ title: 'Not found', detail: 'account a1 did not exist yet at that time' }), 'account a1 did not exist yet at that time');
  for (const text of [problemText({ title: 'x', errors: [{ field: 'fromAccountId', message: 'must differ from toAccountId' }] })]) assert.doesNotMatch(text, /AccountId/);
  const { CommandIntent } = await import('../dist/intents.js');
  const a = new CommandIntent('deposit', { accountId: 'acc-1', amount: '1.00' }, 'Deposit', 'acc-1', 'f');
  const b = new CommandIntent('deposit', { accountId: 'acc-1', amount: '1.00' }, 'Deposit', 'acc-1', 'g');
  assert.equal(pendingText([a, b]), '2 pending');
  b.set('retrying', { attempt: 3, maxAttempts: 9 });
  assert.equal(pendingText([a, b]), 'retrying… (attempt 3 of 9)');
  assert.equal(pendingText([]), '');
});

test('one intent, one command id: a repeated submit of an unchanged form is ignored, a change makes a new intent, a give-up is retried with the same id', async () => {
  const { CommandIntent, IntentSlot, IntentBook } = await import('../dist/intents.js');
  let fields = '5.00';
  const slot = new IntentSlot(() => fields);
  const make = (f) => new CommandIntent('deposit', { accountId: 'acc-1', amount: f }, `Deposit of ${f}`, 'acc-1', f);
  const first = slot.take('deposit', make);
  assert.equal(first.again, false);
  assert.match(first.intent.commandId, UUID_V7_RE);
  assert.equal(first.intent.body.commandId, first.intent.commandId);
  assert.equal(slot.locked, true);
  assert.equal(slot.take('deposit', make), null, 'a double click is the same intent');
  assert.equal(slot.take('withdraw', make), null, 'the other button of the form too, while pending');
  // Sending gave up: pressing again retries the same intent, with its id.
  first.intent.set('unsent');
  assert.equal(slot.locked, false);
  const again = slot.take('deposit', make);
  assert.equal(again.again, true);
  assert.equal(again.intent, first.intent);
  // The person changes the form: a new intent, while the old one may still be pending.
  again.intent.set('accepted');
  fields = '6.00';
  assert.equal(slot.locked, false);
  const second = slot.take('deposit', make);
  assert.equal(second.again, false);
  assert.notEqual(second.intent.commandId, first.intent.commandId);
  // The book ends intents by their outcome and remembers whose they were.
  const book = new IntentBook();
  book.add(second.intent);
  assert.equal(book.pending().length, 1);
  assert.equal(book.finish(second.intent.commandId, 'succeeded'), second.intent);
  assert.equal(second.intent.succeeded, true);
  assert.equal(second.intent.phase, 'done');
  assert.equal(book.pending().length, 0);
  assert.equal(book.isOwn(second.intent.commandId), true);
  assert.equal(book.isOwn(newUuid()), false);
  assert.notEqual(slot.take('deposit', make), null, 'after the outcome the same form may submit again');
});

test('commands go over the socket when it is connected, and over HTTP with the same body when it cannot take them', async () => {
  const { CommandSender } = await import('../dist/command-sender.js');
  const accepted = { commandId: newCommandId(), status: 'accepted', statusUrl: '/commands/x' };
  const body = withCommandId(buildAmountBody('acc-1', '1.00'), newCommandId());
  const sent = [];
  let answer = null;
  const socket = { connectionState: 'connected', send: (f) => { sent.push(f); if (answer) queueMicrotask(() => sender.onFrame(answer(f))); return true; } };
  const { client, calls } = clientWith([fakeResponse(503, PROBLEM_503, 'application/problem+json'), fakeResponse(202, accepted), fakeResponse(202, accepted)]);
  const sender = new CommandSender({ api: client, socket: () => socket, useSocket: true, answerMs: 50 });
  // Accepted on the socket: no HTTP at all.
  answer = (f) => ({ type: 'accepted', requestId: f.requestId, commandId: f.body.commandId, statusUrl: '/commands/x' });
  assert.deepEqual(await sender.send('deposit', body), { ok: true, via: 'socket' });
  assert.equal(calls.length, 0);
  assert.equal(checkFrame(answer(sent[0])), null);
  assert.deepEqual(sent[0], { type: 'command', command: 'deposit', body, requestId: `cmd:${body.commandId}` });
  // The command API is unavailable behind the socket: HTTP takes over, same body, and the attempts count on.
  answer = (f) => ({ type: 'error', requestId: f.requestId, code: 'UNAVAILABLE', message: 'the command API did not answer; nothing was queued, try again' });
  const progress = [];
  assert.deepEqual(await sender.send('deposit', body, { onProgress: (p) => progress.push(`${p.attempt}/${p.maxAttempts}`) }), { ok: true, via: 'http' });
  assert.deepEqual(progress, ['2/7', '3/7']);
  assert.equal(calls.length, 2);
  for (const c of calls) assert.equal(c.init.body, JSON.stringify(body));
  // No answer in time (the socket died quietly): HTTP again.
  answer = null;
  assert.deepEqual(await sender.send('deposit', body), { ok: true, via: 'http' });
  // Refused as invalid on the socket: not sent again anywhere.
  answer = (f) => ({ type: 'error', requestId: f.requestId, code: 'INVALID_COMMAND', message: 'the command is not valid', errors: [{ field: 'amount', message: 'must be greater than zero' }] });
  const refused = await sender.send('deposit', body);
  assert.equal(refused.kind, 'refused');
  assert.equal(refused.code, 'INVALID_COMMAND');
  assert.equal(calls.length, 3);
  // A late answer to a frame HTTP took over from is swallowed, not shown.
  assert.equal(sender.onFrame({ type: 'accepted', requestId: 'cmd:late', commandId: newUuid(), statusUrl: '/x' }), true);
  assert.equal(sender.onFrame({ type: 'error', code: 'INVALID_FRAME', message: 'x' }), false);
});

test('the token is renewed a quarter of its life before it ends (at most 5 minutes before)', async () => {
  const { renewDelay, tokenTimes, tokenExpired } = await import('../dist/session.js');
  const jwt = (payload) => `h.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.s`;
  const now = 1_000_000_000_000;
  const eightHours = jwt({ sub: 'alice', iat: now / 1000, exp: now / 1000 + 8 * 3600 });
  assert.deepEqual(tokenTimes(eightHours), { expiresAt: now + 8 * 3600_000, issuedAt: now });
  assert.equal(renewDelay(eightHours, now), 8 * 3600_000 - 5 * 60_000);
  const short = jwt({ sub: 'alice', iat: now / 1000, exp: now / 1000 + 20 });
  assert.equal(renewDelay(short, now), 15_000);
  assert.equal(renewDelay(short, now + 19_000), 0, 'late: at once');
  assert.equal(tokenExpired(short, now + 19_999), false);
  assert.equal(tokenExpired(short, now + 20_000), true);
  assert.equal(tokenTimes('not-a-jwt'), null);
  assert.equal(renewDelay('a.b.c'), null);
});

test('read-model states and lag in words', async () => {
  const { projectionState, lagText } = await import('../dist/projections-panel.js');
  const live = { name: 'AccountBalances', status: 'live', checkpoint: 10, eventsApplied: 10, lag: 0, lastUpdated: null };
  assert.equal(projectionState(live), 'live');
  assert.equal(lagText(live), 'up to date');
  assert.equal(lagText({ ...live, lag: 3 }), '3 events behind');
  assert.equal(lagText({ ...live, lag: null }), 'unknown');
  assert.equal(projectionState({ ...live, status: 'rebuilding', rebuild: { phase: 'replaying', replayed: 40, head: 160 } }), 'rebuilding 25 % (replaying): 40 of 160 events');
  assert.equal(projectionState({ ...live, status: 'rebuilding', rebuild: { phase: 'replaying', replayed: 0, head: null } }), 'rebuilding (replaying)');
  assert.equal(projectionState({ ...live, status: 'unreachable' }), 'unreachable');
});
