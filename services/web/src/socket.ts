// The live connection: one WebSocket per tab, reconnected with exponential
// backoff + jitter. "connected" is reported once the server's welcome frame
// arrives. The URL is asked for on every connect, so a reconnect can carry
// the resume point (`statusSeq`, `eventPosition`) and the server replays
// what was missed right after the welcome.
import { backoffDelay, type BackoffPolicy } from './backoff.js';

export type ConnectionState = 'connected' | 'reconnecting' | 'offline';

export const DEFAULT_SOCKET_BACKOFF: BackoffPolicy = { baseMs: 300, factor: 2, maxMs: 10_000 };

export interface ServerFrame {
  type: string;
  [k: string]: unknown;
}

export interface LiveSocketOptions {
  url: () => string;
  onFrame: (frame: ServerFrame) => void;
  onState: (state: ConnectionState) => void;
  /** After every (re)connect, once the welcome frame arrived. */
  onConnected: () => void;
  /** The server closed the socket (4001: the token expired); a reconnect follows unless stopped. */
  onClosed?: (code: number) => void;
  backoff?: BackoffPolicy;
  /** No frame (not even a heartbeat) for this long: the socket is dead. */
  silenceMs?: number;
  random?: () => number;
}

export class LiveSocket {
  private ws: WebSocket | null = null;
  private state: ConnectionState = 'offline';
  private running = false;
  private retries = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private welcomeTimer: ReturnType<typeof setTimeout> | null = null;
  private watchdog: ReturnType<typeof setInterval> | null = null;
  private lastFrameAt = 0;
  private holdUntil = 0;
  private readonly backoff: BackoffPolicy;
  private readonly silenceMs: number;
  private readonly onOnline = () => {
    if (this.running && !this.ws) this.scheduleReconnect(0);
  };
  private readonly onOffline = () => {
    if (!this.running) return;
    this.teardown();
    this.setState('offline');
  };

  constructor(private readonly opts: LiveSocketOptions) {
    this.backoff = opts.backoff ?? DEFAULT_SOCKET_BACKOFF;
    this.silenceMs = opts.silenceMs ?? 45_000;
  }

  get connectionState(): ConnectionState {
    return this.state;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.retries = 0;
    window.addEventListener('online', this.onOnline);
    window.addEventListener('offline', this.onOffline);
    this.watchdog = setInterval(() => {
      if (this.ws && this.state === 'connected' && Date.now() - this.lastFrameAt > this.silenceMs) {
        this.drop();
      }
    }, 5_000);
    this.setState('reconnecting');
    this.connect();
  }

  stop(): void {
    this.running = false;
    window.removeEventListener('online', this.onOnline);
    window.removeEventListener('offline', this.onOffline);
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.teardown();
    this.setState('offline');
  }

  /** Sends one frame when connected; false when there is no connected socket to send it on. */
  send(frame: object): boolean {
    const ws = this.ws;
    if (!ws || this.state !== 'connected' || ws.readyState !== WebSocket.OPEN) return false;
    try {
      ws.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Loses the socket as a network drop would: no close handshake is waited
   * for, no further frame is read. With holdMs the "network" stays down that
   * long before reconnecting may succeed.
   */
  drop(holdMs = 0): void {
    if (!this.running) return;
    this.holdUntil = Date.now() + Math.max(0, holdMs);
    this.teardown();
    this.handleLoss();
  }

  private setState(s: ConnectionState): void {
    if (s === this.state) return;
    this.state = s;
    this.opts.onState(s);
  }

  private teardown(): void {
    if (this.welcomeTimer) clearTimeout(this.welcomeTimer);
    this.welcomeTimer = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close(4000, 'client drop');
      } catch {
        /* already closed */
      }
    }
  }

  private connect(): void {
    if (!this.running) return;
    if (typeof navigator !== 'undefined' && navigator.onLine === false) {
      this.setState('offline');
      return; // the 'online' event brings us back
    }
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.opts.url());
    } catch {
      this.handleLoss();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.lastFrameAt = Date.now();
      // The welcome frame says the server has registered us; if a server
      // never sends one, count the socket as connected shortly anyway.
      this.welcomeTimer = setTimeout(() => this.markConnected(), 3_000);
    };
    ws.onmessage = (ev: MessageEvent) => {
      this.lastFrameAt = Date.now();
      let frame: ServerFrame;
      try {
        frame = JSON.parse(String(ev.data)) as ServerFrame;
      } catch {
        return;
      }
      if (!frame || typeof frame.type !== 'string') return;
      if (frame.type === 'welcome') this.markConnected();
      this.opts.onFrame(frame);
    };
    ws.onerror = () => {
      /* onclose follows */
    };
    ws.onclose = (ev: CloseEvent) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.welcomeTimer) clearTimeout(this.welcomeTimer);
      this.welcomeTimer = null;
      this.handleLoss();
      this.opts.onClosed?.(ev.code);
    };
  }

  private markConnected(): void {
    if (this.welcomeTimer) clearTimeout(this.welcomeTimer);
    this.welcomeTimer = null;
    if (!this.ws || this.state === 'connected') return;
    this.retries = 0;
    this.setState('connected');
    this.opts.onConnected();
  }

  private handleLoss(): void {
    if (!this.running) return;
    this.setState(typeof navigator !== 'undefined' && navigator.onLine === false ? 'offline' : 'reconnecting');
    const delay = backoffDelay(this.retries, this.backoff, this.opts.random);
    this.retries++;
    this.scheduleReconnect(Math.max(delay, this.holdUntil - Date.now()));
  }

  private scheduleReconnect(ms: number): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.running && !this.ws) {
        this.setState('reconnecting');
        this.connect();
      }
    }, ms);
  }
}
