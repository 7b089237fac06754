// Ledgerline browser app: wires the pieces together — the shared sign-in,
// the live socket (frames in, commands out), the account loader, the views —
// and owns the session's lifecycle. Each piece lives in its own module.
import { AccountList } from './account-list.js';
import { AccountLoader } from './account-loader.js';
import { ApiClient, DEFAULT_HTTP_RETRY } from './api.js';
import { CommandSender } from './command-sender.js';
import { Commands } from './commands.js';
import { config, locale, maxAmountMinor, storage } from './config.js';
import { byTestId } from './dom.js';
import { IntentBook } from './intents.js';
import { FrameHandler, REFRESH_PREFIX } from './frames.js';
import { Outcomes } from './outcomes.js';
import { ID_RE, OpenAccountForm, TransferForm } from './page-forms.js';
import { ProjectionsPanel } from './projections-panel.js';
import { ResumeTracker } from './resume.js';
import { OwnWrites } from './ryw.js';
import { SharedSession, tokenExpired, type Session } from './session.js';
import { LiveSocket, type ConnectionState } from './socket.js';
import { LedgerState } from './state.js';
import { clearToasts } from './toasts.js';
import { TokenRenewal } from './token-renewal.js';
import { problemText } from './wording.js';

const EXPIRED = 'Your session has expired: sign in again.';

// ---- state ------------------------------------------------------------------

const shared = new SharedSession(storage('local'), window);
let session: Session | null = shared.load();
/** Bumped at sign-in and sign-out, so late answers for an old session are dropped. */
let epoch = 0;
const ledger = new LedgerState();
const book = new IntentBook();
let socket: LiveSocket | null = null;
let connection: ConnectionState = 'offline';
/** Where the socket resumes from (this user's highest status seq and event position). */
let resume: ResumeTracker | null = null;
/** Set once this session had a connection (or was restored by a reload): later connects resume. */
let resumable = false;
/** Whether the connection being opened resumes (set when its URL is made). */
let connectResumed = false;
/** Read-your-writes: the highest `position` of this tab's own commands, sent as `?minPosition=`. */
let ownWrites: OwnWrites | null = null;
let refreshes = 0;

const api = new ApiClient({
  getToken: () => session?.token ?? null,
  retry: { ...DEFAULT_HTTP_RETRY, ...(config.httpRetry ?? {}) },
});
const sender = new CommandSender({ api, socket: () => socket, useSocket: config.socketCommands !== false });
const commands = new Commands({ sender, book, onChange: () => render(), onUnauthorized: () => signOut(EXPIRED), epoch: () => epoch });
const outcomes = new Outcomes({ book, ownWrites: () => ownWrites, onChange: () => render() });
const loader = new AccountLoader({ api, ledger, readPosition: () => readPosition(), epoch: () => epoch, onChanged: () => render(), onUnauthorized: () => signOut(EXPIRED) });
const renewal = new TokenRenewal({
  api,
  session: () => session,
  save: (s) => {
    session = s;
    shared.save(s);
  },
  refreshSocket: (token) => refreshSocket(token),
  onExpired: () => signOut(EXPIRED),
});
const frames = new FrameHandler({ ledger, loader, outcomes, sender, resume: () => resume, render: () => render(), reconnect: () => socket?.drop() });
const projections = new ProjectionsPanel(api, () => ownWrites?.minPosition ?? null, config.projectionsPollMs);

let accounts: AccountList;
let openForm: OpenAccountForm;
let transferForm: TransferForm;

/**
 * What a read-model read waits for: this tab's own last write (read your
 * writes) and the last event the socket brought (monotonic reads) — after
 * a reload too, both being kept in sessionStorage. So a balance read never
 * shows less than the page already showed.
 */
function readPosition(): number | null {
  const own = ownWrites?.minPosition ?? null;
  const seen = resume?.current.eventPosition ?? null;
  const p = Math.max(own ?? 0, seen ?? 0);
  return p > 0 ? p : null;
}

function render(): void {
  if (!accounts) return;
  const list = ledger.list();
  const pending = book.pending();
  accounts.render(list, pending);
  openForm.render(pending);
  transferForm.render(list.filter((a) => a.status !== 'closed').map((a) => a.accountId));
}

function setConnection(s: ConnectionState): void {
  connection = s;
  const el = byTestId('connection');
  el.textContent = s;
  el.className = `conn conn-${s}`;
  // Commands waiting for the socket's answer go over HTTP instead.
  if (s !== 'connected') sender.onSocketLost();
}

function onConnected(): void {
  // A resumed connection gets what it missed from the server; only
  // RESUME_INCOMPLETE sends us to read it. The first connection of a sign-in reads.
  if (connectResumed) return;
  resumable = true;
  loader.loadAll();
}

function wsUrl(): string {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const base = `${proto}//${location.host}/ws?access_token=${encodeURIComponent(session?.token ?? '')}`;
  connectResumed = resumable && resume !== null;
  if (!connectResumed || !resume) {
    outcomes.quietBefore = null;
    return base;
  }
  const point = resume.current;
  outcomes.quietBefore = point.statusSeq === null ? point.since : null;
  return `${base}&${resume.query()}`;
}

function refreshSocket(token: string): void {
  // Not connected: the next connection carries the new token anyway.
  socket?.send({ type: 'refresh', token, requestId: `${REFRESH_PREFIX}${++refreshes}` });
}

// ---- session ------------------------------------------------------------------

/** restored: the session was there when the page loaded (a reload, a new tab), not signed in here. */
function startSession(restored: boolean): void {
  if (!session) return;
  epoch++;
  const restoredPoint = restored ? ResumeTracker.restore(session.userId, storage('session')) : null;
  resume = restoredPoint ?? ResumeTracker.fresh(session.userId, storage('session'));
  resumable = restoredPoint !== null;
  ownWrites = restored ? OwnWrites.restore(session.userId, storage('session')) : OwnWrites.fresh(session.userId, storage('session'));
  byTestId('login-view').hidden = true;
  byTestId('app-view').hidden = false;
  byTestId('current-user').textContent = session.userId;
  byTestId('user-box').hidden = false;
  socket = new LiveSocket({
    url: wsUrl,
    onFrame: (f) => frames.onFrame(f),
    onState: setConnection,
    onConnected,
    onClosed: (code) => {
      // 4001: the token ran out; without a newer one the session is over.
      if (code === 4001 && (!session || tokenExpired(session.token))) signOut(EXPIRED);
    },
    backoff: config.socketBackoff ? { baseMs: 300, factor: 2, maxMs: 10_000, ...config.socketBackoff } : undefined,
  });
  socket.start();
  renewal.schedule();
  projections.start();
  // A reload resumes the socket, but this page has no picture of the accounts yet.
  if (restoredPoint) loader.loadAll();
  else void loader.catchUp();
}

/** Ends the session in this tab only (another tab signed out, or in as someone else). */
function endSession(message?: string): void {
  epoch++;
  socket?.stop();
  socket = null;
  renewal.stop();
  projections.stop();
  loader.stop();
  if (session) {
    ResumeTracker.forget(session.userId, storage('session'));
    OwnWrites.forget(session.userId, storage('session'));
  }
  resume = null;
  ownWrites = null;
  resumable = false;
  connectResumed = false;
  session = null;
  outcomes.clear();
  book.clear();
  ledger.clear();
  render();
  transferForm.reset();
  clearToasts();
  setConnection('offline');
  byTestId('app-view').hidden = true;
  byTestId('user-box').hidden = true;
  byTestId('login-view').hidden = false;
  byTestId('login-error').textContent = message ?? '';
  byTestId<HTMLInputElement>('login-user').focus();
}

/** Signs out of every tab of this browser. */
function signOut(message?: string): void {
  shared.clear();
  endSession(message);
}

async function signIn(userId: string): Promise<void> {
  const err = byTestId('login-error');
  const id = userId.trim();
  if (!ID_RE.test(id)) {
    err.textContent = 'User id: letters, digits, “-” and “_” only (1 to 64).';
    return;
  }
  err.textContent = 'Signing in…';
  const res = await api.login(id);
  if (!res.ok) {
    err.textContent = res.kind === 'problem' ? `Sign-in failed: ${problemText(res.problem)}` : 'Sign-in failed: the server did not answer; try again.';
    return;
  }
  err.textContent = '';
  session = { token: res.body.token, userId: res.body.userId ?? id, role: res.body.role };
  shared.save(session);
  startSession(false);
}

/** Another tab signed in, out, or renewed the token. */
function onSharedSession(s: ReturnType<SharedSession['load']>): void {
  if (!s) {
    if (session) endSession('You signed out in another tab.');
    return;
  }
  if (session && s.userId === session.userId) {
    if (s.token !== session.token) {
      session = s;
      renewal.schedule();
      refreshSocket(s.token);
    }
    return;
  }
  if (session) endSession();
  session = s;
  startSession(false);
}

// ---- boot -----------------------------------------------------------------------

function boot(): void {
  const formDeps = { commands, locale, maxAmountMinor, onChange: () => render() };
  accounts = new AccountList({
    ...formDeps,
    api,
    events: (id) => ledger.events(id),
    lowestKnown: (id) => ledger.lowestKnown(id),
    loadEarlier: (id) => loader.loadEarlier(id),
    version: (id) => ledger.accounts.get(id)?.version ?? 0,
  });
  openForm = new OpenAccountForm(formDeps);
  transferForm = new TransferForm(formDeps);
  byTestId('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void signIn(byTestId<HTMLInputElement>('login-user').value);
  });
  for (const b of document.querySelectorAll<HTMLButtonElement>('[data-quick-user]')) {
    b.addEventListener('click', () => {
      const u = b.dataset.quickUser ?? '';
      byTestId<HTMLInputElement>('login-user').value = u;
      void signIn(u);
    });
  }
  byTestId('logout').addEventListener('click', () => signOut());
  shared.onChange(onSharedSession);
  setConnection('offline');
  if (session) startSession(true);
  else {
    byTestId('login-view').hidden = false;
    byTestId<HTMLInputElement>('login-user').focus();
  }

  (window as unknown as { __ledgerline: unknown }).__ledgerline = {
    /** Loses the socket as a network drop would; holdMs keeps it down that long. */
    dropSocket: (holdMs = 0) => socket?.drop(holdMs),
    connection: () => connection,
    accounts: () => ledger.list().map((a) => ({ ...a })),
    pendingCount: () => book.pending().length,
    resumePoint: () => (resume ? resume.current : null),
    /** This tab's own last write position (null: none known). */
    ownPosition: () => ownWrites?.minPosition ?? null,
    /** The `minPosition` this tab sends to read models: its own writes and the events it has shown. */
    readPosition: () => readPosition(),
  };
}

boot();
