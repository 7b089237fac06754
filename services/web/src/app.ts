// Ledgerline browser app: demo sign-in, live balances and history, commands
// with pending markers, toasts from status envelopes, a connection indicator.
import { ApiClient, DEFAULT_HTTP_RETRY, buildAmountBody, buildCloseBody, buildDepositBody, parseReferenceInput, REFERENCE_MAX, buildOpenAccountBody, buildTransferBody, describeProblem, type AcceptedResponse, type ApiResult, type CommandName, type RetryPolicy } from './api.js';
import type { BackoffPolicy } from './backoff.js';
import { newUuid } from './ids.js';
import { formatMinor, parseAmountInput } from './money.js';
import { ResumeTracker } from './resume.js';
import { OwnWrites } from './ryw.js';
import { LiveSocket, type ConnectionState, type ServerFrame } from './socket.js';
import { LedgerState, type EventEnvelope, type HistoryEntry, type StatusEnvelope } from './state.js';

interface AppConfig {
  httpRetry?: Partial<RetryPolicy>;
  socketBackoff?: Partial<BackoffPolicy>;
}
const config: AppConfig = (window as unknown as { LEDGERLINE_CONFIG?: AppConfig }).LEDGERLINE_CONFIG ?? {};

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const SESSION_KEY = 'ledgerline.session';

interface Session { token: string; userId: string; role?: string }

// ---- state ------------------------------------------------------------------

let session: Session | null = loadSession();
/** Bumped on sign-in/out so late answers for an old session are dropped. */
let epoch = 0;
const ledger = new LedgerState();
let socket: LiveSocket | null = null;
let connection: ConnectionState = 'offline';

/** Where the socket resumes from (this user's highest status seq and event position). */
let resume: ResumeTracker | null = null;
/** Set once this session had a connection (or was restored by a reload): later connects resume. */
let resumable = false;
/** Whether the connection being opened resumes (set when its URL is made). */
let connectResumed = false;
/**
 * For a resume without a known statusSeq (sent as 0, so every status of the
 * user is replayed): statuses older than this sign-in are applied but not
 * toasted, as they are not outcomes of this session.
 */
let quietBefore: number | null = null;

interface Pending { key: string; commandId?: string; accountId: string | null; label: string }
const pending = new Map<string, Pending>();
/** Command ids whose outcome was shown: one toast per command, whatever the duplicates. */
const settled = new Set<string>();
/** Status envelopes that arrived before the 202 of a command of this tab. */
const earlyOutcomes = new Map<string, { env: StatusEnvelope; timer: ReturnType<typeof setTimeout> }>();

/** Read-your-writes: the highest `position` of this tab's own commands, sent as `?minPosition=`. */
let ownWrites: OwnWrites | null = null;
/** Command ids this tab submitted (202 received). */
const ownCommands = new Set<string>();
/** `position` of recent status envelopes by command id (the status may beat the 202). */
const statusPositions = new Map<string, number>();
const MAX_STATUS_POSITIONS = 500;

/** Remembers the position of a command once it is known to be this tab's and its status has come. */
function noteOwnWrite(commandId: string): void {
  const p = statusPositions.get(commandId);
  if (p !== undefined && ownCommands.has(commandId)) ownWrites?.note(p);
}

const api = new ApiClient({
  getToken: () => session?.token ?? null,
  retry: { ...DEFAULT_HTTP_RETRY, ...(config.httpRetry ?? {}) },
});

function storage(): Storage | null {
  try {
    return sessionStorage;
  } catch {
    return null;
  }
}

function loadSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(SESSION_KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as Session;
    return s && typeof s.token === 'string' && typeof s.userId === 'string' ? s : null;
  } catch {
    return null;
  }
}

// ---- DOM helpers ----------------------------------------------------------

type Attrs = Record<string, string | boolean | number | undefined | ((e: Event) => void)>;
function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Node | string | null | undefined)[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (k === 'class') el.className = String(v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) el.append(c);
  return el;
}

function $(testid: string, root: ParentNode = document): HTMLElement {
  const el = root.querySelector<HTMLElement>(`[data-testid="${testid}"]`);
  if (!el) throw new Error(`missing element ${testid}`);
  return el;
}

// ---- toasts ---------------------------------------------------------------

type ToastKind = 'success' | 'rejected' | 'failed';
const MAX_TOASTS = 8;

function toast(kind: ToastKind, text: string, extra: { commandId?: string; code?: string } = {}): void {
  const box = $('toasts');
  const el = h('div', {
    class: `toast ${kind}`,
    role: kind === 'success' ? 'status' : 'alert',
    'data-command-id': extra.commandId,
    'data-code': extra.code,
  });
  const msg = h('span', { class: 'toast-text' }, text);
  const close = h('button', { type: 'button', class: 'toast-close', 'aria-label': 'Dismiss notification', onclick: () => el.remove() }, '×');
  const bodyEl = h('div', { class: 'toast-body' }, msg);
  if (extra.code) bodyEl.append(h('span', { class: 'toast-code' }, extra.code));
  el.append(bodyEl, close);
  box.append(el);
  while (box.children.length > MAX_TOASTS) box.firstElementChild?.remove();
  setTimeout(() => el.remove(), kind === 'success' ? 8_000 : 15_000);
}

// ---- connection indicator -------------------------------------------------

function setConnection(s: ConnectionState): void {
  connection = s;
  const el = $('connection');
  el.textContent = s;
  el.className = `conn conn-${s}`;
}

// ---- accounts -------------------------------------------------------------

interface Card {
  root: HTMLElement;
  balance: HTMLElement;
  currency: HTMLElement;
  status: HTMLElement;
  pending: HTMLElement;
  amount: HTMLInputElement;
  reference: HTMLInputElement;
  fieldError: HTMLElement;
  controls: HTMLElement[];
  history: HTMLOListElement;
}
const cards = new Map<string, Card>();

function cssId(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, '_');
}

function makeCard(accountId: string): Card {
  const sid = cssId(accountId);
  const balance = h('span', { class: 'balance', 'data-testid': 'balance' }, '0.00');
  const currency = h('span', { class: 'currency' }, '');
  const status = h('span', { class: 'badge', 'data-testid': 'status' }, 'open');
  const pendingEl = h('span', { class: 'badge pending', 'data-testid': 'pending', hidden: true }, '');
  const amount = h('input', {
    id: `amount-${sid}`, 'data-testid': 'amount', type: 'text', inputmode: 'decimal', autocomplete: 'off',
    placeholder: '0.00', 'aria-describedby': `amount-err-${sid}`,
  }) as HTMLInputElement;
  const reference = h('input', {
    id: `reference-${sid}`, 'data-testid': 'reference', type: 'text', maxlength: REFERENCE_MAX, autocomplete: 'off',
    placeholder: 'optional, for deposits', 'aria-describedby': `amount-err-${sid}`,
  }) as HTMLInputElement;
  const fieldError = h('p', { id: `amount-err-${sid}`, class: 'field-error', 'aria-live': 'polite' });
  const deposit = h('button', { type: 'submit', 'data-testid': 'deposit', class: 'primary' }, 'Deposit');
  const withdraw = h('button', { type: 'button', 'data-testid': 'withdraw' }, 'Withdraw');
  const close = h('button', { type: 'button', 'data-testid': 'close', class: 'danger', 'aria-label': `Close account ${accountId}` }, 'Close account');
  const history = h('ol', { class: 'history', 'data-testid': 'history', 'aria-label': `History of ${accountId}` }) as HTMLOListElement;

  const form = h('form', { class: 'amount-form', novalidate: true },
    h('label', { for: `amount-${sid}` }, 'Amount'),
    h('div', { class: 'amount-row' }, amount, deposit, withdraw),
    h('label', { for: `reference-${sid}` }, 'Reference'),
    h('div', { class: 'amount-row reference-row' }, reference),
    fieldError,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    moveMoney(accountId, 'deposit');
  });
  withdraw.addEventListener('click', () => moveMoney(accountId, 'withdraw'));
  close.addEventListener('click', () => closeAccount(accountId));

  const titleId = `title-${sid}`;
  const root = h('article', { class: 'card', 'data-testid': `account-${accountId}`, 'aria-labelledby': titleId },
    h('header', { class: 'card-head' }, h('h2', { id: titleId }, accountId), status, pendingEl),
    h('p', { class: 'balance-line' }, h('span', { class: 'sr-only' }, 'Balance: '), balance, ' ', currency),
    form,
    h('div', { class: 'card-actions' }, close),
    h('h3', {}, 'Transactions'),
    history,
  );
  return { root, balance, currency, status, pending: pendingEl, amount, reference, fieldError, controls: [amount, reference, deposit, withdraw, close], history };
}

const TYPE_LABEL: Record<string, string> = {
  AccountOpened: 'Opened',
  MoneyDeposited: 'Deposit',
  MoneyWithdrawn: 'Withdrawal',
  AccountClosed: 'Closed',
  TransferDebited: 'Transfer out',
  TransferCredited: 'Transfer in',
  TransferCompleted: 'Transfer completed',
  TransferRefunded: 'Transfer refunded',
};

/** Money in (+) or out (−) of the account, by event type. */
const SIGN: Record<string, string> = {
  MoneyDeposited: '+',
  TransferCredited: '+',
  TransferRefunded: '+',
  MoneyWithdrawn: '−',
  TransferDebited: '−',
};

/** "Transfer to acc-2", "Transfer from acc-1" (the other account is known from pushed events only). */
function historyLabel(e: HistoryEntry): string {
  const other = e.counterparty;
  if (other) {
    if (e.eventType === 'TransferDebited') return `Transfer to ${other}`;
    if (e.eventType === 'TransferCredited') return `Transfer from ${other}`;
    if (e.eventType === 'TransferCompleted') return `Transfer to ${other} completed`;
  }
  return TYPE_LABEL[e.eventType] ?? e.eventType;
}

function historyItem(e: HistoryEntry): HTMLLIElement {
  const kind = historyLabel(e);
  let amount = '';
  if (e.amount !== null) amount = `${SIGN[e.eventType] ?? ''}${formatMinor(e.amount)}`;
  const after = e.balanceAfter !== null ? formatMinor(e.balanceAfter) : '';
  let time = '';
  const d = new Date(e.timestamp);
  if (!Number.isNaN(d.getTime())) time = d.toLocaleTimeString();
  const title = e.eventType === 'TransferRefunded' && e.counterparty ? `Refused by ${e.counterparty}: the money came back` : undefined;
  return h('li', { class: `tx tx-${e.eventType}`, 'data-testid': 'history-item', 'data-version': e.version, 'data-event-type': e.eventType },
    h('span', { class: 'tx-kind', title }, kind,
      e.reference ? h('span', { class: 'tx-reference', 'data-testid': 'history-reference' }, ` · ${e.reference}`) : null),
    h('span', { class: 'tx-amount' }, amount),
    h('span', { class: 'tx-after' }, after ? `balance ${after}` : ''),
    h('time', { class: 'tx-time', datetime: e.timestamp }, time),
  );
}

function renderAccounts(): void {
  const list = $('accounts');
  const accounts = ledger.list();
  for (const acc of accounts) {
    let card = cards.get(acc.accountId);
    if (!card) {
      card = makeCard(acc.accountId);
      cards.set(acc.accountId, card);
      list.append(card.root);
    }
    card.balance.textContent = formatMinor(acc.balance);
    card.currency.textContent = acc.currency;
    card.status.textContent = acc.status;
    card.status.className = `badge status-${acc.status}`;
    const closed = acc.status === 'closed';
    card.root.classList.toggle('closed', closed);
    for (const c of card.controls) (c as HTMLButtonElement | HTMLInputElement).disabled = closed;
    const entries = ledger.history(acc.accountId);
    const sig = entries.map((e) => `${e.version}:${e.counterparty ?? ''}:${e.reference ?? ''}`).join(',');
    if (card.history.dataset.sig !== sig) {
      card.history.dataset.sig = sig;
      card.history.replaceChildren(...entries.map(historyItem));
    }
  }
  for (const [id, card] of cards) {
    if (!ledger.accounts.has(id)) {
      card.root.remove();
      cards.delete(id);
    }
  }
  $('no-accounts').hidden = accounts.length > 0;
  renderTransferFrom(accounts.filter((a) => a.status !== 'closed').map((a) => a.accountId));
  renderPending();
}

/** The "From" choices: the user's open accounts; the selection is kept while it stays one. */
function renderTransferFrom(ids: string[]): void {
  const select = $('transfer-from') as HTMLSelectElement;
  const sig = ids.join('\n');
  if (select.dataset.sig !== sig) {
    const keep = select.value;
    select.dataset.sig = sig;
    select.replaceChildren(...ids.map((id) => h('option', { value: id }, id)));
    if (ids.includes(keep)) select.value = keep;
  }
  const none = ids.length === 0;
  select.disabled = none;
  ($('transfer-submit') as HTMLButtonElement).disabled = none;
}

function renderPending(): void {
  const counts = new Map<string | null, number>();
  for (const p of pending.values()) counts.set(p.accountId, (counts.get(p.accountId) ?? 0) + 1);
  for (const [id, card] of cards) {
    const n = counts.get(id) ?? 0;
    card.pending.hidden = n === 0;
    card.pending.textContent = n === 0 ? '' : `${n} pending`;
    card.root.setAttribute('aria-busy', n > 0 ? 'true' : 'false');
  }
  const openN = counts.get(null) ?? 0;
  const op = $('open-account-pending');
  op.hidden = openN === 0;
  op.textContent = openN === 0 ? '' : `Opening… ${openN} pending`;
}

// ---- commands -------------------------------------------------------------

/** Sends one command; resolves to its answer (null when the session changed meanwhile). */
async function runCommand(name: CommandName, body: unknown, accountId: string | null, label: string): Promise<ApiResult<AcceptedResponse> | null> {
  const myEpoch = epoch;
  const key = newUuid();
  const p: Pending = { key, accountId, label };
  pending.set(key, p);
  renderPending();
  const res = await api.command(name, body, key);
  if (myEpoch !== epoch) return null;
  if (res.ok) {
    const id = res.body.commandId;
    ownCommands.add(id);
    noteOwnWrite(id);
    const early = earlyOutcomes.get(id);
    if (early) {
      // The outcome beat the 202: show it now, under this command's label.
      clearTimeout(early.timer);
      earlyOutcomes.delete(id);
      pending.delete(key);
      showOutcome(early.env, p);
    } else if (settled.has(id)) {
      pending.delete(key);
    } else {
      p.commandId = id;
    }
  } else {
    pending.delete(key);
    reportFailure(label, res);
  }
  renderPending();
  return res;
}

function reportFailure(label: string, res: Extract<ApiResult<unknown>, { ok: false }>): void {
  if (res.kind === 'problem') {
    if (res.status === 401) {
      signOut('Your session has expired: sign in again.');
      return;
    }
    toast('failed', `${label} was not accepted: ${describeProblem(res.problem)}`, { code: String(res.status) });
  } else {
    toast('failed', `${label} could not be sent (${res.message}) after ${res.attempts} tries`);
  }
}

function moveMoney(accountId: string, kind: 'deposit' | 'withdraw'): void {
  const card = cards.get(accountId);
  if (!card) return;
  const parsed = parseAmountInput(card.amount.value);
  if (!parsed.ok) {
    card.fieldError.textContent = parsed.message;
    card.amount.setAttribute('aria-invalid', 'true');
    card.amount.focus();
    return;
  }
  card.fieldError.textContent = '';
  card.amount.removeAttribute('aria-invalid');
  card.reference.removeAttribute('aria-invalid');
  let body: unknown = buildAmountBody(accountId, parsed.wire);
  if (kind === 'deposit') {
    const ref = parseReferenceInput(card.reference.value);
    if (!ref.ok) {
      card.fieldError.textContent = ref.message;
      card.reference.setAttribute('aria-invalid', 'true');
      card.reference.focus();
      return;
    }
    body = buildDepositBody(accountId, parsed.wire, ref.value);
  }
  const label = `${kind === 'deposit' ? 'Deposit' : 'Withdrawal'} of ${parsed.wire}`;
  void runCommand(kind, body, accountId, label);
}

function closeAccount(accountId: string): void {
  void runCommand('close-account', buildCloseBody(accountId), accountId, `Closing account ${accountId}`);
}

function openAccount(e: Event): void {
  e.preventDefault();
  const idInput = $('open-account-id') as HTMLInputElement;
  const initInput = $('open-account-initial') as HTMLInputElement;
  const err = $('open-account-error');
  const id = idInput.value.trim();
  const init = initInput.value.trim();
  if (id && !ID_RE.test(id)) {
    err.textContent = 'Account id: letters, digits, "-" and "_" only (at most 64).';
    idInput.focus();
    return;
  }
  let initialBalance: string | undefined;
  if (init) {
    const parsed = parseAmountInput(init, { allowZero: true });
    if (!parsed.ok) {
      err.textContent = `Initial balance: ${parsed.message}`;
      initInput.focus();
      return;
    }
    initialBalance = parsed.wire;
  }
  err.textContent = '';
  idInput.value = '';
  initInput.value = '';
  const body = buildOpenAccountBody({ accountId: id || undefined, initialBalance });
  void runCommand('open-account', body, null, id ? `Opening account ${id}` : 'Opening an account');
}

const TRANSFER_FIELDS: Record<string, string> = { fromAccountId: 'transfer-from', toAccountId: 'transfer-to', amount: 'transfer-amount' };

function transferFieldError(testid: string | null, message: string): void {
  for (const id of Object.values(TRANSFER_FIELDS)) $(id).removeAttribute('aria-invalid');
  $('transfer-error').textContent = message;
  if (testid) {
    const el = $(testid);
    el.setAttribute('aria-invalid', 'true');
    el.focus();
  }
}

function transfer(e: Event): void {
  e.preventDefault();
  const from = ($('transfer-from') as HTMLSelectElement).value;
  const toInput = $('transfer-to') as HTMLInputElement;
  const amountInput = $('transfer-amount') as HTMLInputElement;
  const to = toInput.value.trim();
  if (!from) {
    transferFieldError('transfer-from', 'Choose the account to transfer from.');
    return;
  }
  if (!ID_RE.test(to)) {
    transferFieldError('transfer-to', 'To: an account id (letters, digits, "-" and "_", at most 64).');
    return;
  }
  const parsed = parseAmountInput(amountInput.value);
  if (!parsed.ok) {
    transferFieldError('transfer-amount', `Amount: ${parsed.message}`);
    return;
  }
  transferFieldError(null, '');
  const label = `Transfer of ${parsed.wire} to ${to}`;
  void runCommand('transfer', buildTransferBody(from, to, parsed.wire), from, label).then((res) => {
    if (!res) return;
    if (res.ok) {
      amountInput.value = '';
      return;
    }
    if (res.kind === 'problem' && res.status !== 401) {
      // The server's reasons, next to the fields they are about (the toast has them too).
      const errs = res.problem.errors ?? [];
      const first = errs.find((x) => TRANSFER_FIELDS[x.field]);
      const text = errs.length > 0 ? errs.map((x) => `${x.field}: ${x.message}`).join('; ') : describeProblem(res.problem);
      transferFieldError(first ? TRANSFER_FIELDS[first.field] : null, text);
    }
  });
}

// ---- frames ---------------------------------------------------------------

let gapTimer: ReturnType<typeof setTimeout> | null = null;
function applyEvent(ev: EventEnvelope): void {
  const r = ledger.applyEvent(ev);
  // Applied now, or already reflected (version at or below the account's):
  // either way nothing at or before this position needs replaying for it.
  resume?.noteEvent(ev.globalPosition);
  if (r.gap && !gapTimer) {
    // Some versions were missed: heal by reading the read models again.
    gapTimer = setTimeout(() => {
      gapTimer = null;
      void catchUp();
    }, 300);
  }
}

function outcomeLabel(env: StatusEnvelope, p: Pending | undefined): string {
  const ev = env.events?.[0];
  if (ev) {
    const amount = typeof ev.data?.amount === 'number' ? formatMinor(ev.data.amount) : null;
    switch (ev.eventType) {
      case 'MoneyDeposited': if (amount) return `Deposit of ${amount}`; break;
      case 'MoneyWithdrawn': if (amount) return `Withdrawal of ${amount}`; break;
      case 'AccountOpened': return `Opening account ${ev.aggregateId}`;
      case 'AccountClosed': return `Closing account ${ev.aggregateId}`;
      case 'TransferDebited':
      case 'TransferCompleted':
      case 'TransferRefunded': {
        const to = typeof ev.data?.toAccountId === 'string' ? ev.data.toAccountId : null;
        if (amount && to) return `Transfer of ${amount} to ${to}`;
        break;
      }
    }
  }
  return p?.label ?? `Command on ${env.entityId}`;
}

function onStatus(env: StatusEnvelope): void {
  if (typeof env.position === 'number') {
    statusPositions.set(env.commandId, env.position);
    if (statusPositions.size > MAX_STATUS_POSITIONS) statusPositions.delete(statusPositions.keys().next().value as string);
    noteOwnWrite(env.commandId);
  }
  for (const ev of env.events ?? []) applyEvent(ev);
  resume?.noteStatus(env.seq);
  let match: Pending | undefined;
  for (const p of pending.values()) {
    if (p.commandId === env.commandId) {
      match = p;
      pending.delete(p.key);
      break;
    }
  }
  renderAccounts();
  if (settled.has(env.commandId) || earlyOutcomes.has(env.commandId)) return;
  if (!match && quietBefore !== null && Date.parse(env.timestamp) < quietBefore) {
    // Replayed from before this sign-in: its events count, its toast does not.
    settled.add(env.commandId);
    return;
  }
  if (!match && [...pending.values()].some((p) => !p.commandId && (p.accountId === null || p.accountId === env.entityId))) {
    // Maybe ours, with its 202 still on the way: wait a moment for it.
    const timer = setTimeout(() => {
      earlyOutcomes.delete(env.commandId);
      showOutcome(env, undefined);
    }, 1_000);
    earlyOutcomes.set(env.commandId, { env, timer });
    return;
  }
  showOutcome(env, match);
}

function showOutcome(env: StatusEnvelope, match: Pending | undefined): void {
  if (settled.has(env.commandId)) return;
  settled.add(env.commandId);
  const label = outcomeLabel(env, match);
  if (env.status === 'succeeded') {
    toast('success', `${label} succeeded`, { commandId: env.commandId });
  } else {
    const reason = env.error?.message ?? (env.status === 'rejected' ? 'rejected' : 'the system could not decide');
    toast(env.status === 'rejected' ? 'rejected' : 'failed', `${label} ${env.status}: ${reason}`, { commandId: env.commandId, code: env.error?.code });
  }
}

function onFrame(frame: ServerFrame): void {
  switch (frame.type) {
    case 'status':
      onStatus(frame as unknown as StatusEnvelope);
      break;
    case 'event': {
      const ev = (frame as unknown as { event: EventEnvelope }).event;
      if (ev) {
        applyEvent(ev);
        renderAccounts();
      }
      break;
    }
    case 'error':
      if (frame.code === 'RESUME_INCOMPLETE') {
        // The server could not replay what we missed: re-read the read models.
        loadReadModels();
        break;
      }
      toast('failed', `Server: ${String(frame.message ?? frame.code ?? 'error')}`, { code: typeof frame.code === 'string' ? frame.code : undefined });
      break;
    default:
      // welcome, heartbeat, accepted: nothing to show
      break;
  }
}

// ---- catch-up -------------------------------------------------------------

let catchUpRunning: Promise<void> | null = null;
let catchUpAgain = false;

/** Re-reads the read models; merging only ever moves an account forward. */
function catchUp(): Promise<void> {
  if (catchUpRunning) {
    catchUpAgain = true;
    return catchUpRunning;
  }
  catchUpRunning = (async () => {
    do {
      catchUpAgain = false;
      await catchUpOnce();
    } while (catchUpAgain);
  })().finally(() => {
    catchUpRunning = null;
  });
  return catchUpRunning;
}

async function catchUpOnce(): Promise<void> {
  const myEpoch = epoch;
  if (!session) return;
  // Read-your-writes: the read models answer only once they have this tab's own writes.
  const minPosition = ownWrites?.minPosition ?? null;
  const b = await api.balances(minPosition);
  if (myEpoch !== epoch) return;
  if (!b.ok) {
    if (b.kind === 'problem' && b.status === 401) signOut('Your session has expired: sign in again.');
    return;
  }
  ledger.mergeBalances(b.body.items ?? []);
  renderAccounts();
  const ids = ledger.list().map((a) => a.accountId);
  await Promise.all(ids.map(async (id) => {
    const r = await api.history(id, 50, minPosition);
    if (myEpoch !== epoch || !r.ok) return;
    ledger.mergeHistory(id, r.body.items ?? []);
  }));
  if (myEpoch !== epoch) return;
  renderAccounts();
}

let settleTimer: ReturnType<typeof setTimeout> | null = null;
/** Reads the read models, and once more shortly after. */
function loadReadModels(): void {
  void catchUp();
  // Read models trail the event store by a moment: read them once more
  // shortly after, so an event published while we were away is not missed.
  if (settleTimer) clearTimeout(settleTimer);
  settleTimer = setTimeout(() => {
    settleTimer = null;
    void catchUp();
  }, 1_500);
}

function onConnected(): void {
  // A resumed connection gets what it missed from the server (statuses,
  // then events, then live frames); only RESUME_INCOMPLETE sends us to the
  // read models. The first connection of a sign-in loads them.
  if (connectResumed) return;
  resumable = true;
  loadReadModels();
}

// ---- session --------------------------------------------------------------

function wsUrl(): string {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const base = `${proto}//${location.host}/ws?access_token=${encodeURIComponent(session?.token ?? '')}`;
  connectResumed = resumable && resume !== null;
  if (!connectResumed || !resume) {
    quietBefore = null;
    return base;
  }
  const point = resume.current;
  quietBefore = point.statusSeq === null ? point.since : null;
  return `${base}&${resume.query()}`;
}

/** restored: the session comes from sessionStorage (a reload), not from a sign-in. */
function startSession(restored: boolean): void {
  if (!session) return;
  epoch++;
  const restoredPoint = restored ? ResumeTracker.restore(session.userId, storage()) : null;
  resume = restoredPoint ?? ResumeTracker.fresh(session.userId, storage());
  resumable = restoredPoint !== null;
  ownWrites = restored ? OwnWrites.restore(session.userId, storage()) : OwnWrites.fresh(session.userId, storage());
  $('login-view').hidden = true;
  $('app-view').hidden = false;
  $('current-user').textContent = session.userId;
  $('user-box').hidden = false;
  socket = new LiveSocket({
    url: wsUrl,
    onFrame,
    onState: setConnection,
    onConnected,
    backoff: config.socketBackoff ? { baseMs: 300, factor: 2, maxMs: 10_000, ...config.socketBackoff } : undefined,
  });
  socket.start();
  // A reload resumes the socket, but this page has no picture of the
  // accounts yet: it reads the read models as a sign-in does.
  if (restoredPoint) loadReadModels();
  else void catchUp();
}

function signOut(message?: string): void {
  epoch++;
  socket?.stop();
  socket = null;
  if (session) ResumeTracker.forget(session.userId, storage());
  resume = null;
  if (session) OwnWrites.forget(session.userId, storage());
  ownWrites = null;
  ownCommands.clear();
  statusPositions.clear();
  resumable = false;
  connectResumed = false;
  quietBefore = null;
  session = null;
  sessionStorage.removeItem(SESSION_KEY);
  ledger.clear();
  pending.clear();
  settled.clear();
  for (const e of earlyOutcomes.values()) clearTimeout(e.timer);
  earlyOutcomes.clear();
  if (settleTimer) clearTimeout(settleTimer);
  renderAccounts();
  transferFieldError(null, '');
  ($('transfer-to') as HTMLInputElement).value = '';
  ($('transfer-amount') as HTMLInputElement).value = '';
  $('toasts').replaceChildren();
  setConnection('offline');
  $('app-view').hidden = true;
  $('user-box').hidden = true;
  $('login-view').hidden = false;
  $('login-error').textContent = message ?? '';
  ($('login-user') as HTMLInputElement).focus();
}

async function signIn(userId: string): Promise<void> {
  const err = $('login-error');
  const id = userId.trim();
  if (!ID_RE.test(id)) {
    err.textContent = 'User id: letters, digits, "-" and "_" only (1 to 64).';
    return;
  }
  err.textContent = 'Signing in…';
  const res = await api.login(id);
  if (!res.ok) {
    err.textContent = res.kind === 'problem' ? `Sign-in failed: ${describeProblem(res.problem)}` : `Sign-in failed: ${res.message}`;
    return;
  }
  err.textContent = '';
  session = { token: res.body.token, userId: res.body.userId ?? id, role: res.body.role };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  startSession(false);
}

// ---- boot -----------------------------------------------------------------

function boot(): void {
  $('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void signIn(($('login-user') as HTMLInputElement).value);
  });
  for (const b of document.querySelectorAll<HTMLButtonElement>('[data-quick-user]')) {
    b.addEventListener('click', () => {
      const u = b.dataset.quickUser ?? '';
      ($('login-user') as HTMLInputElement).value = u;
      void signIn(u);
    });
  }
  $('logout').addEventListener('click', () => signOut());
  $('open-account-form').addEventListener('submit', openAccount);
  $('transfer-form').addEventListener('submit', transfer);
  setConnection('offline');
  if (session) startSession(true);
  else {
    $('login-view').hidden = false;
    ($('login-user') as HTMLInputElement).focus();
  }

  (window as unknown as { __ledgerline: unknown }).__ledgerline = {
    /** Loses the socket as a network drop would; holdMs keeps it down that long. */
    dropSocket: (holdMs = 0) => socket?.drop(holdMs),
    connection: () => connection,
    accounts: () => ledger.list().map((a) => ({ ...a })),
    pendingCount: () => pending.size,
    resumePoint: () => (resume ? resume.current : null),
    /** The `minPosition` this tab sends to read models (null: no own write known). */
    ownPosition: () => ownWrites?.minPosition ?? null,
  };
}

boot();
