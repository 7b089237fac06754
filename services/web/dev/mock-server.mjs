// A stand-in for `ledgerline all`, written from the server contract, for
// working on the app while the Rust side is not runnable. The tests use it
// only when LEDGERLINE_MOCK=1; `node dev/mock-server.mjs` serves dist/ on
// HTTP_ADDR (default 127.0.0.1:8090).
import { createServer } from 'node:http';
import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const AMOUNT_RE = /^[0-9]+(\.[0-9]{1,2})?$/;
const MIME = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

function fmt(minor) {
  const s = String(minor).padStart(3, '0');
  return `${s.slice(0, -2)}.${s.slice(-2)}`;
}

function parseAmount(v) {
  const s = typeof v === 'number' ? String(v) : v;
  if (typeof s !== 'string' || !AMOUNT_RE.test(s)) return null;
  const [w, f = ''] = s.split('.');
  return Number(BigInt(w) * 100n + BigInt(f.padEnd(2, '0') || '0'));
}

export async function startMockServer({ port = 0, host = '127.0.0.1', webDir, chaos = 0, readModelLagMs = 20 } = {}) {
  const users = new Map(); // token -> userId
  const accounts = new Map(); // id -> {accountId, ownerId, currency, balance, status, version, updatedAt}
  const events = new Map(); // id -> [EventEnvelope]
  const balancesRM = new Map(); // read model (lags)
  const historyRM = new Map();
  const idem = new Map(); // user|key -> accepted
  const sockets = new Set(); // {userId, send, close}
  const statusLog = []; // [{userId, seq, frame}] as BANK_STATUS would hold them
  let globalPosition = 0;
  /** The highest position the stand-in read models applied. */
  let rmCheckpoint = 0;
  let statusSeq = 0;
  let eventSeq = 0;
  const queue = []; // per-process command queue, decided in order
  let busy = false;

  const problem = (res, status, title, detail, errors) => {
    const body = { type: `urn:ledgerline:problem:${title.toLowerCase().replace(/\W+/g, '-')}`, title, status };
    if (detail) body.detail = detail;
    if (errors) body.errors = errors;
    res.writeHead(status, { 'content-type': 'application/problem+json' });
    res.end(JSON.stringify(body));
  };
  const json = (res, status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const auth = (req) => {
    const h = req.headers.authorization ?? '';
    const m = /^Bearer (.+)$/.exec(h);
    return m ? users.get(m[1]) ?? null : null;
  };
  const readBody = (req) => new Promise((resolve) => {
    let s = '';
    req.on('data', (c) => (s += c));
    req.on('end', () => resolve(s));
  });

  function push(userId, frame) {
    const text = JSON.stringify(frame);
    for (const s of sockets) if (s.userId === userId) s.send(text);
  }

  function updateReadModels(ev) {
    setTimeout(() => {
      rmCheckpoint = Math.max(rmCheckpoint, ev.globalPosition);
      const a = accounts.get(ev.aggregateId);
      const cur = balancesRM.get(ev.aggregateId);
      if (!cur || cur.version < ev.version) {
        const bal = ev.eventType === 'AccountOpened' ? ev.data.initialBalance : ev.data.balanceAfter ?? cur?.balance ?? 0;
        balancesRM.set(ev.aggregateId, {
          accountId: ev.aggregateId, ownerId: a.ownerId, currency: a.currency, balance: bal,
          status: ev.eventType === 'AccountClosed' ? 'closed' : cur?.status ?? 'open', version: ev.version, updatedAt: ev.metadata.timestamp,
        });
      }
      const h = historyRM.get(ev.aggregateId) ?? [];
      h.unshift({
        eventId: ev.eventId, accountId: ev.aggregateId, version: ev.version, eventType: ev.eventType,
        amount: ev.data.amount ?? null,
        balanceAfter: ev.eventType === 'AccountOpened' ? ev.data.initialBalance : ev.data.balanceAfter ?? null,
        commandId: ev.metadata.commandId, timestamp: ev.metadata.timestamp,
      });
      historyRM.set(ev.aggregateId, h);
    }, readModelLagMs);
  }

  function decide(cmd) {
    const a = accounts.get(cmd.accountId);
    const rej = (code, message) => ({ rejected: { code, message } });
    if (cmd.type === 'open-account') {
      if (a) return rej('ACCOUNT_EXISTS', `Account ${cmd.accountId} already exists`);
      return { events: [['AccountOpened', { ownerId: cmd.userId, currency: cmd.currency, initialBalance: cmd.initialBalance }]] };
    }
    if (!a) return rej('ACCOUNT_NOT_FOUND', `Account ${cmd.accountId} not found`);
    if (a.ownerId !== cmd.userId) return rej('NOT_OWNER', 'Not your account');
    if (a.status === 'closed') return rej('ACCOUNT_CLOSED', `Account ${cmd.accountId} is closed`);
    if (cmd.type === 'deposit') return { events: [['MoneyDeposited', { amount: cmd.amount, balanceAfter: a.balance + cmd.amount, reference: cmd.reference ?? null }]] };
    if (cmd.type === 'withdraw') {
      if (cmd.amount > a.balance) return rej('INSUFFICIENT_FUNDS', `Insufficient funds: balance ${fmt(a.balance)}, requested ${fmt(cmd.amount)}`);
      return { events: [['MoneyWithdrawn', { amount: cmd.amount, balanceAfter: a.balance - cmd.amount }]] };
    }
    if (cmd.type === 'close-account') {
      if (a.balance !== 0) return rej('BALANCE_NOT_ZERO', `Balance must be zero to close, is ${fmt(a.balance)}`);
      return { events: [['AccountClosed', {}]] };
    }
    return { failed: { code: 'UNKNOWN', message: 'unknown command' } };
  }

  /** Stores one event of an account and feeds the read models. */
  function append(accountId, eventType, data, cmd, commandId, now) {
    let a = accounts.get(accountId);
    if (!a) {
      a = { accountId, ownerId: cmd.userId, currency: data.currency, balance: data.initialBalance, status: 'open', version: 0 };
      accounts.set(accountId, a);
    }
    a.version++;
    if (data.balanceAfter !== undefined) a.balance = data.balanceAfter;
    if (eventType === 'AccountClosed') a.status = 'closed';
    const ev = {
      eventId: randomUUID(), aggregateType: 'BankAccount', aggregateId: accountId, version: a.version,
      globalPosition: ++globalPosition, eventType, schemaVersion: eventType === 'MoneyDeposited' ? 2 : 1, data,
      metadata: { commandId, correlationId: cmd.commandId, userId: cmd.userId, timestamp: now },
    };
    (events.get(accountId) ?? events.set(accountId, []).get(accountId)).push(ev);
    updateReadModels(ev);
    return ev;
  }

  function publishStatus(cmd, entityId, status, error, envs, now) {
    const statusFrame = {
      type: 'status', seq: ++statusSeq, commandId: cmd.commandId, entityType: 'BankAccount', entityId,
      status, success: status === 'succeeded', error, events: envs, timestamp: now,
      // Read-your-writes: the global position of the command's last event (none without events).
      ...(envs.length ? { position: envs.at(-1).globalPosition } : {}),
    };
    statusLog.push({ userId: cmd.userId, seq: statusFrame.seq, frame: statusFrame });
    push(cmd.userId, statusFrame);
  }

  /** Event frames go to the account's owner, whoever sent the command. */
  function pushEvent(ev) {
    const owner = accounts.get(ev.aggregateId)?.ownerId;
    if (owner) push(owner, { type: 'event', seq: ++eventSeq, event: ev });
  }

  /** A transfer as the server runs it: debit, credit, then complete or refund; one final status. */
  function runTransfer(cmd, now) {
    const src = accounts.get(cmd.accountId);
    const rej = (code, message) => publishStatus(cmd, cmd.accountId, 'rejected', { code, message }, [], now);
    if (!src) return rej('ACCOUNT_NOT_FOUND', 'Account not found');
    if (src.ownerId !== cmd.userId) return rej('NOT_OWNER', 'You do not own this account');
    if (src.status === 'closed') return rej('ACCOUNT_CLOSED', 'Account is closed');
    if (cmd.amount > src.balance) return rej('INSUFFICIENT_FUNDS', `Insufficient funds: balance ${fmt(src.balance)}, requested ${fmt(cmd.amount)}`);
    const step = (name) => `${cmd.commandId.slice(0, 24)}${createHash('sha1').update(cmd.commandId + name).digest('hex').slice(0, 12)}`;
    pushEvent(append(cmd.accountId, 'TransferDebited', { toAccountId: cmd.toAccountId, amount: cmd.amount, currency: src.currency, balanceAfter: src.balance - cmd.amount }, cmd, cmd.commandId, now));
    const dst = accounts.get(cmd.toAccountId);
    let refusal = null;
    if (!dst) refusal = { code: 'ACCOUNT_NOT_FOUND', message: 'Account not found' };
    else if (dst.status === 'closed') refusal = { code: 'ACCOUNT_CLOSED', message: 'Account is closed' };
    else if (dst.currency !== src.currency) refusal = { code: 'CURRENCY_MISMATCH', message: `The target account holds ${dst.currency}, not ${src.currency}` };
    if (refusal) {
      pushEvent(append(cmd.accountId, 'TransferRefunded', { toAccountId: cmd.toAccountId, amount: cmd.amount, balanceAfter: src.balance + cmd.amount }, cmd, step('refund'), now));
      return publishStatus(cmd, cmd.accountId, 'rejected', refusal, [], now);
    }
    pushEvent(append(cmd.toAccountId, 'TransferCredited', { fromAccountId: cmd.accountId, amount: cmd.amount, balanceAfter: dst.balance + cmd.amount }, cmd, step('credit'), now));
    const done = append(cmd.accountId, 'TransferCompleted', { toAccountId: cmd.toAccountId, amount: cmd.amount }, cmd, step('complete'), now);
    publishStatus(cmd, cmd.accountId, 'succeeded', null, [done], now);
    pushEvent(done);
  }

  function processNext() {
    if (busy || queue.length === 0) return;
    busy = true;
    const cmd = queue.shift();
    setTimeout(() => {
      const now = new Date().toISOString();
      if (cmd.type === 'transfer') {
        runTransfer(cmd, now);
      } else {
        const out = decide(cmd);
        const envs = (out.events ?? []).map(([eventType, data]) => append(cmd.accountId, eventType, data, cmd, cmd.commandId, now));
        const status = out.events ? 'succeeded' : out.rejected ? 'rejected' : 'failed';
        publishStatus(cmd, cmd.accountId, status, out.rejected ?? out.failed ?? null, envs, now);
        for (const ev of envs) pushEvent(ev);
      }
      busy = false;
      processNext();
    }, 5);
  }

  async function handleCommand(req, res, name) {
    const userId = auth(req);
    if (!userId) return problem(res, 401, 'Unauthorized');
    if (chaos > 0 && Math.random() < chaos) return problem(res, 503, 'Service unavailable', 'chaos');
    let body;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      return problem(res, 400, 'Malformed JSON');
    }
    const r = acceptCommand(userId, name, body, req.headers['idempotency-key']);
    if (r.errors) return problem(res, 422, 'Invalid request', 'The request body is invalid', r.errors);
    json(res, 202, r.accepted);
  }

  /**
   * Validates and queues a command (HTTP or socket). The id is the body's
   * `commandId` or one derived from the Idempotency-Key, else a new one; the
   * same id of the same user again is the same command.
   */
  function acceptCommand(userId, name, body, key) {
    const given = typeof body?.commandId === 'string' ? body.commandId : key ? createHash('sha1').update(`${userId}:${key}`).digest('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12}).*/, '$1-$2-5$3-8$4-$5').slice(0, 36) : null;
    const dedupKey = given ? `${userId}|${given}` : null;
    if (dedupKey && idem.has(dedupKey)) return { accepted: idem.get(dedupKey) };
    const cmd = { type: name, userId, commandId: given ?? randomUUID() };
    const errors = [];
    if (name === 'open-account') {
      cmd.accountId = body.accountId ?? `acc-${randomUUID().slice(0, 8)}`;
      cmd.currency = body.currency ?? 'EUR';
      cmd.initialBalance = body.initialBalance == null ? 0 : parseAmount(body.initialBalance);
      if (cmd.initialBalance === null) errors.push({ field: 'initialBalance', message: 'invalid amount' });
    } else if (name === 'transfer') {
      cmd.accountId = body.fromAccountId;
      cmd.toAccountId = body.toAccountId;
      cmd.amount = parseAmount(body.amount);
      if (!cmd.amount) errors.push({ field: 'amount', message: 'must be a positive amount with at most 2 decimals' });
      if (typeof cmd.toAccountId !== 'string' || !ID_RE.test(cmd.toAccountId)) errors.push({ field: 'toAccountId', message: 'invalid id' });
      else if (cmd.toAccountId === cmd.accountId) errors.push({ field: 'toAccountId', message: 'must differ from fromAccountId' });
    } else {
      cmd.accountId = body.accountId;
      if (name !== 'close-account') {
        cmd.amount = parseAmount(body.amount);
        if (!cmd.amount) errors.push({ field: 'amount', message: 'must be a positive amount with at most 2 decimals' });
      }
      if (name === 'deposit') {
        const r = body.reference ?? null;
        const okRef = r === null || (typeof r === 'string' && [...r].length >= 1 && [...r].length <= 140 && !/\p{Cc}/u.test(r));
        if (!okRef) errors.push({ field: 'reference', message: 'must be 1 to 140 characters without control characters' });
        cmd.reference = okRef ? r : null;
      }
    }
    if (typeof cmd.accountId !== 'string' || !ID_RE.test(cmd.accountId)) errors.push({ field: name === 'transfer' ? 'fromAccountId' : 'accountId', message: 'invalid id' });
    if (errors.length) return { errors };
    const accepted = { commandId: cmd.commandId, status: 'accepted', statusUrl: `/commands/${cmd.commandId}` };
    if (dedupKey) idem.set(dedupKey, accepted);
    queue.push(cmd);
    processNext();
    return { accepted };
  }

  /** A client frame on the socket: ping, command or refresh. */
  function onClientFrame(entry, text) {
    let f;
    try {
      f = JSON.parse(text);
    } catch {
      return entry.send(JSON.stringify({ type: 'error', code: 'INVALID_FRAME', message: 'expected a JSON object' }));
    }
    const requestId = f.requestId ?? null;
    if (f.type === 'ping') return entry.send(JSON.stringify({ type: 'heartbeat', timestamp: new Date().toISOString() }));
    if (f.type === 'refresh') {
      const u = users.get(f.token ?? '');
      if (u !== entry.userId) return entry.send(JSON.stringify({ type: 'error', requestId, code: 'INVALID_TOKEN', message: 'that token is not valid for this socket' }));
      return entry.send(JSON.stringify({ type: 'refreshed', requestId, expiresAt: new Date(Date.now() + 8 * 3600_000).toISOString() }));
    }
    if (f.type === 'command' && /^(open-account|deposit|withdraw|close-account|transfer)$/.test(f.command ?? '')) {
      const r = acceptCommand(entry.userId, f.command, f.body ?? {}, null);
      if (r.errors) return entry.send(JSON.stringify({ type: 'error', requestId, code: 'INVALID_COMMAND', message: 'the command is not valid', errors: r.errors }));
      return entry.send(JSON.stringify({ type: 'accepted', requestId, commandId: r.accepted.commandId, statusUrl: r.accepted.statusUrl }));
    }
    entry.send(JSON.stringify({ type: 'error', requestId, code: 'INVALID_FRAME', message: 'unknown frame type; expected ping, command or refresh' }));
  }

  /** The account rebuilt from its events up to a version, or up to an instant. */
  function accountAt(id, version, asOf) {
    const list = events.get(id) ?? [];
    const upTo = version !== null ? list.filter((e) => e.version <= version) : list.filter((e) => Date.parse(e.metadata.timestamp) <= Date.parse(asOf));
    const a = { accountId: id, ownerId: accounts.get(id).ownerId, currency: accounts.get(id).currency, balance: 0, status: 'open', version: 0, inFlight: 0 };
    for (const e of upTo) {
      if (e.eventType === 'AccountOpened') a.balance = e.data.initialBalance;
      else if (e.data.balanceAfter !== undefined) a.balance = e.data.balanceAfter;
      if (e.eventType === 'TransferDebited') a.inFlight += e.data.amount;
      if (e.eventType === 'TransferCompleted' || e.eventType === 'TransferRefunded') a.inFlight -= e.data.amount;
      if (e.eventType === 'AccountClosed') a.status = 'closed';
      a.version = e.version;
    }
    return { ...a, rebuiltFrom: { snapshotVersion: null, eventsReplayed: upTo.length }, ...(asOf ? { asOf } : {}) };
  }

  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    const p = url.pathname;
    try {
      if (p === '/readyz' || p === '/healthz') return json(res, 200, { status: 'ok' });
      if (p === '/auth/demo-login' && req.method === 'POST') {
        const body = JSON.parse((await readBody(req)) || '{}');
        if (!ID_RE.test(body.userId ?? '')) return problem(res, 422, 'Invalid request', 'bad userId', [{ field: 'userId', message: 'invalid' }]);
        const token = `mock.${randomUUID()}`;
        users.set(token, body.userId);
        return json(res, 200, { token, userId: body.userId, role: body.role ?? 'user' });
      }
      const cm = /^\/commands\/(open-account|deposit|withdraw|close-account|transfer)$/.exec(p);
      if (cm && req.method === 'POST') return handleCommand(req, res, cm[1]);
      if (p === '/projections/AccountBalances') {
        const userId = auth(req);
        if (!userId) return problem(res, 401, 'Unauthorized');
        return json(res, 200, { items: [...balancesRM.values()].filter((b) => b.ownerId === userId) });
      }
      const ev = /^\/events\/account\/([^/]+)$/.exec(p);
      const qa = /^\/queries\/account\/([^/]+)$/.exec(p);
      if (ev || qa) {
        const userId = auth(req);
        if (!userId) return problem(res, 401, 'Unauthorized');
        const id = decodeURIComponent((ev ?? qa)[1]);
        const a = accounts.get(id);
        if (!a) return problem(res, 404, 'Not found', `account ${id} does not exist`);
        if (a.ownerId !== userId) return problem(res, 403, 'Forbidden');
        if (ev) {
          const after = Number(url.searchParams.get('afterVersion') ?? 0);
          const limit = Number(url.searchParams.get('limit') ?? 100);
          const items = (events.get(id) ?? []).filter((e) => e.version > after).slice(0, limit);
          return json(res, 200, { items, nextAfterVersion: items.at(-1)?.version ?? null });
        }
        const v = url.searchParams.get('version');
        const asOf = url.searchParams.get('asOf');
        if (v !== null && Number(v) > a.version) return problem(res, 404, 'Not found', `account ${id} has no version ${v}; its current version is ${a.version}`);
        if (asOf !== null && Number.isNaN(Date.parse(asOf))) return problem(res, 422, 'Invalid request', null, [{ field: 'asOf', message: 'must be an RFC 3339 timestamp' }]);
        const at = accountAt(id, v === null ? (asOf === null ? a.version : null) : Number(v), asOf);
        if (at.version === 0) return problem(res, 404, 'Not found', `account ${id} did not exist yet at that time`);
        return json(res, 200, at);
      }
      if (p === '/projections') {
        if (!auth(req)) return problem(res, 401, 'Unauthorized');
        const view = (name) => ({ name, status: 'live', checkpoint: rmCheckpoint, eventsApplied: rmCheckpoint, lag: globalPosition - rmCheckpoint, lastUpdated: new Date().toISOString() });
        return json(res, 200, { headPosition: globalPosition, items: ['AccountBalances', 'TransactionHistory', 'AuditLog'].map(view) });
      }
      if (p === '/projections/TransactionHistory') {
        const userId = auth(req);
        if (!userId) return problem(res, 401, 'Unauthorized');
        const id = url.searchParams.get('accountId');
        const a = accounts.get(id);
        if (!a || a.ownerId !== userId) return json(res, 200, { items: [] });
        const limit = Number(url.searchParams.get('limit') ?? 50);
        return json(res, 200, { items: (historyRM.get(id) ?? []).slice(0, limit) });
      }
      if (req.method === 'GET' && webDir) {
        const rel = normalize(p === '/' ? '/index.html' : p).replace(/^(\.\.[/\\])+/, '');
        try {
          const data = await readFile(join(webDir, rel));
          res.writeHead(200, { 'content-type': MIME[extname(rel)] ?? 'application/octet-stream' });
          return res.end(data);
        } catch {
          /* 404 below */
        }
      }
      problem(res, 404, 'Not found');
    } catch (e) {
      problem(res, 500, 'Internal error', String(e));
    }
  });

  /** What a resuming client missed: statuses after statusSeq, then events of its accounts after eventPosition (no seq). */
  function missed(userId, statusAfter, eventAfter) {
    const out = [];
    if (statusAfter !== null) {
      for (const s of statusLog) if (s.userId === userId && s.seq > statusAfter) out.push(s.frame);
    }
    if (eventAfter !== null) {
      const mine = [];
      for (const [id, list] of events) {
        if (accounts.get(id)?.ownerId !== userId) continue;
        for (const ev of list) if (ev.globalPosition > eventAfter) mine.push(ev);
      }
      mine.sort((a, b) => a.globalPosition - b.globalPosition);
      for (const ev of mine) out.push({ type: 'event', event: ev });
    }
    return out;
  }

  server.on('upgrade', (req, sock) => {
    const url = new URL(req.url, 'http://x');
    const userId = users.get(url.searchParams.get('access_token') ?? '');
    if (url.pathname !== '/ws' || !userId) {
      sock.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const resumeParam = (name) => {
      const v = url.searchParams.get(name);
      return v !== null && /^[0-9]+$/.test(v) ? Number(v) : null;
    };
    const statusAfter = resumeParam('statusSeq');
    const eventAfter = resumeParam('eventPosition');
    const accept = createHash('sha1').update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
    sock.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    const frame = (opcode, payload) => {
      const len = payload.length;
      let head;
      if (len < 126) head = Buffer.from([0x80 | opcode, len]);
      else if (len < 65536) {
        head = Buffer.alloc(4);
        head[0] = 0x80 | opcode; head[1] = 126; head.writeUInt16BE(len, 2);
      } else {
        head = Buffer.alloc(10);
        head[0] = 0x80 | opcode; head[1] = 127; head.writeBigUInt64BE(BigInt(len), 2);
      }
      return Buffer.concat([head, payload]);
    };
    const entry = {
      userId,
      send: (text) => { if (!sock.destroyed) sock.write(frame(1, Buffer.from(text))); },
      close: () => sock.destroy(),
    };
    sockets.add(entry);
    const hb = setInterval(() => entry.send(JSON.stringify({ type: 'heartbeat', timestamp: new Date().toISOString() })), 15_000);
    const done = () => { clearInterval(hb); sockets.delete(entry); };
    sock.on('close', done);
    sock.on('error', done);
    // Client frames are masked; small single frames are all this stand-in reads.
    let pending = Buffer.alloc(0);
    sock.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const opcode = pending[0] & 0x0f;
        let len = pending[1] & 0x7f;
        let off = 2;
        if (len === 126) {
          if (pending.length < 4) return;
          len = pending.readUInt16BE(2);
          off = 4;
        } else if (len === 127) {
          if (pending.length < 10) return;
          len = Number(pending.readBigUInt64BE(2));
          off = 10;
        }
        if (pending.length < off + 4 + len) return;
        const mask = pending.subarray(off, off + 4);
        const payload = Buffer.from(pending.subarray(off + 4, off + 4 + len));
        for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i % 4];
        pending = pending.subarray(off + 4 + len);
        if (opcode === 8) {
          if (!sock.destroyed) sock.end(frame(8, Buffer.alloc(0)));
          done();
          return;
        }
        if (opcode === 1) onClientFrame(entry, payload.toString('utf8'));
      }
    });
    entry.send(JSON.stringify({ type: 'welcome', userId, connectionId: randomUUID() }));
    // Single-threaded: the replay goes out before any live frame can.
    for (const f of missed(userId, statusAfter, eventAfter)) entry.send(JSON.stringify(f));
  });

  await new Promise((r) => server.listen(port, host, r));
  const addr = server.address();
  return {
    baseUrl: `http://${host}:${addr.port}`,
    stop: () => new Promise((r) => {
      for (const s of sockets) s.close();
      server.close(() => r());
      server.closeAllConnections?.();
    }),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [host, port] = (process.env.HTTP_ADDR ?? '127.0.0.1:8090').split(':');
  const webDir = process.env.WEB_DIR ?? join(fileURLToPath(new URL('..', import.meta.url)), 'dist');
  const s = await startMockServer({ host, port: Number(port), webDir, chaos: Number(process.env.CHAOS_FAILURE_RATE ?? 0) });
  console.log(`mock ledgerline on ${s.baseUrl}`);
}
