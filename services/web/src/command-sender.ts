// How a command reaches the server: over the socket when it is connected
// (a `command` frame, answered `accepted` or `error`), else — or when the
// socket cannot take it — over HTTP with retries. The body carries the
// intent's `commandId` either way, so a command that went both ways is still
// one command.
import type { ApiClient, Problem } from './api.js';
import type { CommandName } from './requests.js';
import type { ConnectionState, ServerFrame } from './socket.js';

export interface SocketPort {
  readonly connectionState: ConnectionState;
  send(frame: object): boolean;
}

export type SendResult =
  | { ok: true; via: 'socket' | 'http' }
  /** Refused as invalid (HTTP 4xx, or a socket error other than UNAVAILABLE): sending it again changes nothing. */
  | { ok: false; kind: 'refused'; problem: Pick<Problem, 'title' | 'detail' | 'errors'>; code: string }
  /** The server would not say who we are (401): the session is over. */
  | { ok: false; kind: 'unauthorized' }
  /** No try got through. */
  | { ok: false; kind: 'unsent'; reason: string; attempts: number }
  /** The outcome arrived while trying: nothing more to send. */
  | { ok: false; kind: 'stopped' };

export interface SendProgress { attempt: number; maxAttempts: number; retrying: boolean }

type SocketAnswer =
  | { kind: 'accepted' }
  | { kind: 'error'; code: string; message: string; errors?: { field: string; message: string }[] }
  | { kind: 'lost' };

/** Request ids of command frames start with this, so their late answers are recognised. */
const REQUEST_PREFIX = 'cmd:';
/** How long a socket command may wait for `accepted` before HTTP takes over. */
export const SOCKET_ANSWER_MS = 4_000;

export class CommandSender {
  private readonly waiting = new Map<string, (a: SocketAnswer) => void>();

  constructor(private readonly opts: {
    api: ApiClient;
    socket: () => SocketPort | null;
    /** Off: HTTP only (LEDGERLINE_CONFIG.socketCommands = false). */
    useSocket: boolean;
    answerMs?: number;
  }) {}

  async send(name: CommandName, body: Record<string, unknown>, hooks: { onProgress?: (p: SendProgress) => void; shouldStop?: () => boolean } = {}): Promise<SendResult> {
    let tried = 0;
    const socket = this.opts.useSocket ? this.opts.socket() : null;
    if (socket && socket.connectionState === 'connected') {
      tried = 1;
      const a = await this.viaSocket(socket, name, body);
      if (a.kind === 'accepted') return { ok: true, via: 'socket' };
      if (a.kind === 'error' && a.code !== 'UNAVAILABLE') {
        return { ok: false, kind: 'refused', code: a.code, problem: { title: a.message, errors: a.errors } };
      }
      if (hooks.shouldStop?.()) return { ok: false, kind: 'stopped' };
    }
    const max = this.opts.api.retry.maxAttempts + tried;
    if (tried) hooks.onProgress?.({ attempt: tried + 1, maxAttempts: max, retrying: true });
    const r = await this.opts.api.command(name, body, {
      shouldStop: hooks.shouldStop,
      onRetry: (info) => hooks.onProgress?.({ attempt: info.attempt + tried, maxAttempts: max, retrying: true }),
    });
    if (r.ok) return { ok: true, via: 'http' };
    if (r.kind === 'stopped') return { ok: false, kind: 'stopped' };
    if (r.kind === 'problem' && r.status === 401) return { ok: false, kind: 'unauthorized' };
    if (r.kind === 'problem' && r.status < 500) return { ok: false, kind: 'refused', code: String(r.status), problem: r.problem };
    const reason = r.kind === 'network' ? 'the network failed' : 'the server is unavailable';
    return { ok: false, kind: 'unsent', reason, attempts: r.attempts + tried };
  }

  /** Takes the answer to one of our command frames; true when the frame was one. */
  onFrame(frame: ServerFrame): boolean {
    if (frame.type !== 'accepted' && frame.type !== 'error') return false;
    const id = typeof frame.requestId === 'string' ? frame.requestId : null;
    if (!id || !id.startsWith(REQUEST_PREFIX)) return false;
    const resolve = this.waiting.get(id);
    // A late answer (HTTP took over meanwhile) is the same command's: nothing to show.
    if (!resolve) return true;
    this.waiting.delete(id);
    if (frame.type === 'accepted') resolve({ kind: 'accepted' });
    else resolve({ kind: 'error', code: String(frame.code ?? ''), message: String(frame.message ?? ''), errors: frame.errors as { field: string; message: string }[] | undefined });
    return true;
  }

  /** The socket went away: what waits on it goes over HTTP. */
  onSocketLost(): void {
    const all = [...this.waiting.values()];
    this.waiting.clear();
    for (const r of all) r({ kind: 'lost' });
  }

  private viaSocket(socket: SocketPort, name: CommandName, body: Record<string, unknown>): Promise<SocketAnswer> {
    const requestId = `${REQUEST_PREFIX}${String(body.commandId)}`;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        if (this.waiting.get(requestId) === finish) this.waiting.delete(requestId);
        resolve({ kind: 'lost' });
      }, this.opts.answerMs ?? SOCKET_ANSWER_MS);
      const finish = (a: SocketAnswer) => {
        clearTimeout(timer);
        resolve(a);
      };
      this.waiting.set(requestId, finish);
      if (!socket.send({ type: 'command', command: name, body, requestId })) {
        this.waiting.delete(requestId);
        finish({ kind: 'lost' });
      }
    });
  }
}
