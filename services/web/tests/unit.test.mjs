// Pure-node tests of the app's modules (compiled into dist/ by `npm run build`)
// and of its request builders against the committed JSON Schemas.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatMinor, parseAmountInput } from '../dist/money.js';
import { backoffDelay } from '../dist/backoff.js';
import { ApiClient, buildAmountBody, buildCloseBody, buildDepositBody, buildOpenAccountBody, parseReferenceInput, buildTransferBody, commandHeaders, commandPath } from '../dist/api.js';
import { LedgerState, eventToHistoryEntry } from '../dist/state.js';
import { newUuid } from '../dist/ids.js';
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
  const h = commandHeaders('tok', newUuid());
  assert.equal(h.Authorization, 'Bearer tok');
  assert.equal(h['Content-Type'], 'application/json');
  assert.match(h['Idempotency-Key'], /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
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

test('a deposit event carries its reference into history; a read-model row gains it from the pushed event', () => {
  const ev = (reference) => ({
    eventId: 'e2', aggregateId: 'acc-1', version: 2, globalPosition: 7, eventType: 'MoneyDeposited', schemaVersion: 2,
    data: { amount: 1000, balanceAfter: 1000, reference }, metadata: { commandId: 'c1', timestamp: '2026-01-01T00:00:00Z' },
  });
  assert.equal(eventToHistoryEntry(ev('Invoice 42')).reference, 'Invoice 42');
  assert.equal(eventToHistoryEntry(ev(null)).reference, null);
  const s = new LedgerState();
  s.mergeHistory('acc-1', [{ eventId: 'e2', accountId: 'acc-1', version: 2, eventType: 'MoneyDeposited', amount: 1000, balanceAfter: 1000, timestamp: '2026-01-01T00:00:00Z' }]);
  assert.equal(s.history('acc-1')[0].reference ?? null, null);
  s.applyEvent(ev('Invoice 42'));
  assert.equal(s.history('acc-1').find((e) => e.version === 2).reference, 'Invoice 42');
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

test('commands retry network errors and 5xx with backoff, reusing the Idempotency-Key', async () => {
  const accepted = { commandId: newUuid(), status: 'accepted', statusUrl: '/commands/x' };
  const { client, calls, delays } = clientWith([
    fakeResponse(503, PROBLEM_503, 'application/problem+json'),
    new TypeError('Failed to fetch'),
    fakeResponse(502, undefined, 'text/plain'),
    fakeResponse(202, accepted),
  ]);
  const key = newUuid();
  const res = await client.command('deposit', buildAmountBody('acc-1', '1.00'), key);
  assert.equal(res.ok, true);
  assert.equal(res.attempts, 4);
  assert.deepEqual(res.body, accepted);
  assert.equal(check('accepted-response.json', res.body), null);
  assert.equal(calls.length, 4);
  for (const c of calls) {
    assert.equal(c.url, '/commands/deposit');
    assert.equal(c.init.method, 'POST');
    assert.equal(c.init.headers['Idempotency-Key'], key);
    assert.equal(c.init.headers.Authorization, 'Bearer tok');
    assert.equal(c.init.headers['Content-Type'], 'application/json');
    assert.equal(c.init.body, '{"accountId":"acc-1","amount":"1.00"}');
  }
  assert.deepEqual(delays, [150, 300, 600]);
});

test('4xx is returned at once as a problem and never retried', async () => {
  const problem = { type: 'urn:ledgerline:problem:invalid-body', title: 'Invalid request', status: 422, detail: 'bad amount', errors: [{ field: 'amount', message: 'must be > 0' }] };
  assert.equal(check('problem.json', problem), null);
  const { client, calls, delays } = clientWith([fakeResponse(422, problem, 'application/problem+json')]);
  const res = await client.command('deposit', buildAmountBody('acc-1', '1.00'), newUuid());
  assert.equal(res.ok, false);
  assert.equal(res.kind, 'problem');
  assert.equal(res.status, 422);
  assert.deepEqual(res.problem.errors, problem.errors);
  assert.equal(calls.length, 1);
  assert.deepEqual(delays, []);
});

test('retries stop after maxAttempts with the last failure', async () => {
  const { client, calls, delays } = clientWith(Array.from({ length: 6 }, () => fakeResponse(503, PROBLEM_503, 'application/problem+json')));
  const res = await client.command('withdraw', buildAmountBody('acc-1', '1.00'), newUuid());
  assert.equal(res.ok, false);
  assert.equal(res.status, 503);
  assert.equal(calls.length, 6);
  assert.deepEqual(delays, [150, 300, 600, 1200, 2400]);
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
  const opened = ev('acc-1', 1, 'AccountOpened', { ownerId: USER, currency: 'EUR', initialBalance: 1000 });
  const dep = ev('acc-1', 2, 'MoneyDeposited', { amount: 500, balanceAfter: 1500 });
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
  assert.notEqual(checkFrame({ type: 'event', seq: 1, event: { ...dep, data: { amount: 5.5, balanceAfter: 1 } } }), null);
  assert.notEqual(checkFrame({ type: 'mystery' }), null);
});

test('events apply once, in version order; duplicates and stale versions are ignored', () => {
  const s = new LedgerState();
  const opened = ev('acc-1', 1, 'AccountOpened', { ownerId: USER, currency: 'EUR', initialBalance: 1000 });
  const dep = ev('acc-1', 2, 'MoneyDeposited', { amount: 500, balanceAfter: 1500 });
  const wd = ev('acc-1', 3, 'MoneyWithdrawn', { amount: 200, balanceAfter: 1300 });
  assert.deepEqual(s.applyEvent(opened), { applied: true, gap: false });
  assert.deepEqual(s.applyEvent(dep), { applied: true, gap: false });
  assert.deepEqual(s.applyEvent(dep), { applied: false, gap: false }); // same event from an event frame
  assert.deepEqual(s.applyEvent(wd), { applied: true, gap: false });
  assert.deepEqual(s.applyEvent(dep), { applied: false, gap: false }); // late duplicate
  const acc = s.accounts.get('acc-1');
  assert.equal(acc.balance, 1300);
  assert.equal(acc.version, 3);
  assert.equal(acc.currency, 'EUR');
  assert.deepEqual(s.history('acc-1').map((h) => [h.version, h.eventType, h.amount, h.balanceAfter]), [
    [3, 'MoneyWithdrawn', 200, 1300],
    [2, 'MoneyDeposited', 500, 1500],
    [1, 'AccountOpened', null, 1000],
  ]);
  const gap = s.applyEvent(ev('acc-1', 5, 'MoneyDeposited', { amount: 100, balanceAfter: 1500 }));
  assert.deepEqual(gap, { applied: true, gap: true });
  s.applyEvent(ev('acc-1', 6, 'AccountClosed', {}));
  assert.equal(s.accounts.get('acc-1').status, 'closed');
});

test('read-model catch-up merges by version and never moves an account back', () => {
  const s = new LedgerState();
  s.applyEvent(ev('acc-1', 1, 'AccountOpened', { ownerId: USER, currency: 'EUR', initialBalance: 0 }));
  s.applyEvent(ev('acc-1', 2, 'MoneyDeposited', { amount: 500, balanceAfter: 500 }));
  // A lagging read model (version 1) does not undo what frames told us.
  s.mergeBalances([{ accountId: 'acc-1', ownerId: USER, currency: 'EUR', balance: 0, status: 'open', version: 1, updatedAt: 'x' }]);
  assert.equal(s.accounts.get('acc-1').balance, 500);
  // A newer one (events missed while offline) moves it forward, and adds accounts.
  s.mergeBalances([
    { accountId: 'acc-1', ownerId: USER, currency: 'EUR', balance: 900, status: 'open', version: 3, updatedAt: 'x' },
    { accountId: 'acc-2', ownerId: USER, currency: 'EUR', balance: 100, status: 'open', version: 1, updatedAt: 'x' },
  ]);
  assert.equal(s.accounts.get('acc-1').balance, 900);
  assert.equal(s.accounts.get('acc-2').balance, 100);
  s.mergeHistory('acc-1', [
    { eventId: newUuid(), accountId: 'acc-1', version: 4, eventType: 'MoneyWithdrawn', amount: 100, balanceAfter: 800, commandId: newUuid(), timestamp: 't' },
    { eventId: newUuid(), accountId: 'acc-1', version: 3, eventType: 'MoneyDeposited', amount: 400, balanceAfter: 900, commandId: newUuid(), timestamp: 't' },
    { eventId: newUuid(), accountId: 'acc-1', version: 2, eventType: 'MoneyDeposited', amount: 500, balanceAfter: 500, commandId: newUuid(), timestamp: 't' },
  ]);
  assert.equal(s.accounts.get('acc-1').balance, 800);
  assert.equal(s.accounts.get('acc-1').version, 4);
  assert.deepEqual(s.history('acc-1').map((h) => h.version), [4, 3, 2, 1]);
  // The event frame for version 4 arriving after the catch-up changes nothing.
  assert.equal(s.applyEvent(ev('acc-1', 4, 'MoneyWithdrawn', { amount: 100, balanceAfter: 800 })).applied, false);
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
  const opened = ev('acc-1', 1, 'AccountOpened', { ownerId: USER, currency: 'EUR', initialBalance: 0 }); // globalPosition 101
  const dep = ev('acc-1', 2, 'MoneyDeposited', { amount: 5, balanceAfter: 5 }); // 102
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
  assert.equal(checkFrame({ ...base, status: 'succeeded', error: null, events: [ev('acc-1', 2, 'MoneyDeposited', { amount: 5, balanceAfter: 5, reference: null })], position: 102 }), null);
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
  const h = await client.history('acc-1', 50, 20);
  assert.equal(h.ok, true);
  assert.equal(h.attempts, 2);
  assert.deepEqual(calls.map((c) => c.url), [
    '/projections/AccountBalances?minPosition=20', '/projections/AccountBalances?minPosition=20',
    '/projections/TransactionHistory?accountId=acc-1&limit=50&minPosition=20', '/projections/TransactionHistory?accountId=acc-1&limit=50&minPosition=20',
  ]);
  assert.deepEqual(delays, [150, 150]);
  // No own write known: no minPosition.
  await client.balances();
  assert.equal(calls.at(-1).url, '/projections/AccountBalances');
});

test('event frames replayed from the store (no seq) validate; live ones carry seq', () => {
  const dep = ev('acc-1', 2, 'MoneyDeposited', { amount: 500, balanceAfter: 1500 });
  assert.equal(checkFrame({ type: 'event', event: dep }), null);
  assert.equal(checkFrame({ type: 'event', seq: 3, event: dep }), null);
  assert.equal(checkFrame({ type: 'error', code: 'RESUME_INCOMPLETE', message: 'more than 5000 frames were missed; re-read your read models' }), null);
  assert.notEqual(checkFrame({ type: 'event', seq: -1, event: dep }), null);
  assert.notEqual(checkFrame({ type: 'event', seq: 1 }), null);
});

test('transfer events: the debit drops the balance at once, a refund brings it back, a completion changes nothing', () => {
  const s = new LedgerState();
  s.applyEvent(ev('acc-1', 1, 'AccountOpened', { ownerId: USER, currency: 'EUR', initialBalance: 1000 }));
  s.applyEvent(ev('acc-2', 1, 'AccountOpened', { ownerId: USER, currency: 'EUR', initialBalance: 0 }));
  const debit = ev('acc-1', 2, 'TransferDebited', { toAccountId: 'acc-2', amount: 300, currency: 'EUR', balanceAfter: 700 });
  const credit = ev('acc-2', 2, 'TransferCredited', { fromAccountId: 'acc-1', amount: 300, balanceAfter: 300 });
  const done = ev('acc-1', 3, 'TransferCompleted', { toAccountId: 'acc-2', amount: 300 });
  const debit2 = ev('acc-1', 4, 'TransferDebited', { toAccountId: 'gone', amount: 100, currency: 'EUR', balanceAfter: 600 });
  const refund = ev('acc-1', 5, 'TransferRefunded', { toAccountId: 'gone', amount: 100, balanceAfter: 700 });
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
  assert.deepEqual(s.history('acc-1').map((h) => [h.eventType, h.amount, h.balanceAfter, h.counterparty]), [
    ['TransferRefunded', 100, 700, 'gone'],
    ['TransferDebited', 100, 600, 'gone'],
    ['TransferCompleted', 300, null, 'acc-2'],
    ['TransferDebited', 300, 700, 'acc-2'],
    ['AccountOpened', null, 1000, null],
  ]);
  assert.equal(s.history('acc-2')[0].counterparty, 'acc-1');
  // Status envelopes carrying transfer events validate too.
  const succeeded = { type: 'status', seq: 9, commandId: done.metadata.correlationId, entityType: 'BankAccount', entityId: 'acc-1', status: 'succeeded', success: true, error: null, events: [done], timestamp: '2026-11-22T10:00:00Z' };
  assert.equal(checkFrame(succeeded), null);
  assert.equal(checkFrame({ type: 'event', seq: 4, event: credit }), null);
});

test('read-model catch-up over transfers: the balance is the last balanceAfter given, not a TransferCompleted\'s null', () => {
  const s = new LedgerState();
  s.applyEvent(ev('acc-1', 1, 'AccountOpened', { ownerId: USER, currency: 'EUR', initialBalance: 1000 }));
  // Missed while away: a debit and its completion (the newest row has no balanceAfter).
  s.mergeHistory('acc-1', [
    { eventId: newUuid(), accountId: 'acc-1', version: 3, eventType: 'TransferCompleted', amount: 400, balanceAfter: null, commandId: newUuid(), timestamp: 't' },
    { eventId: newUuid(), accountId: 'acc-1', version: 2, eventType: 'TransferDebited', amount: 400, balanceAfter: 600, commandId: newUuid(), timestamp: 't' },
    { eventId: newUuid(), accountId: 'acc-1', version: 1, eventType: 'AccountOpened', amount: null, balanceAfter: 1000, commandId: newUuid(), timestamp: 't' },
  ]);
  assert.equal(s.accounts.get('acc-1').balance, 600);
  assert.equal(s.accounts.get('acc-1').version, 3);
  assert.equal(s.history('acc-1')[1].counterparty, undefined, 'read-model rows do not name the other account');
  // The pushed event arriving later adds what only it knows, without moving the account.
  const late = ev('acc-1', 2, 'TransferDebited', { toAccountId: 'acc-9', amount: 400, currency: 'EUR', balanceAfter: 600 });
  assert.equal(s.applyEvent(late).applied, false);
  assert.equal(s.history('acc-1')[1].counterparty, 'acc-9');
  assert.equal(s.accounts.get('acc-1').balance, 600);
});
