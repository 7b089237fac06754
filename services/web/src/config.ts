// What the page is told before it loads (`window.LEDGERLINE_CONFIG`, set by
// a test or an embedding page), the person's locale, and storage that may be
// unavailable (private modes, disabled cookies).
import type { RetryPolicy } from './api.js';
import type { BackoffPolicy } from './backoff.js';
import { DEFAULT_MAX_AMOUNT_MINOR, parseAmountInput } from './money.js';

export interface AppConfig {
  httpRetry?: Partial<RetryPolicy>;
  socketBackoff?: Partial<BackoffPolicy>;
  /** false: commands go over HTTP only, never as socket frames. */
  socketCommands?: boolean;
  /** The server's MAX_AMOUNT when it is not the default ("1000000.00"). */
  maxAmount?: string;
  projectionsPollMs?: number;
}

export const config: AppConfig = (window as unknown as { LEDGERLINE_CONFIG?: AppConfig }).LEDGERLINE_CONFIG ?? {};

/** The locale amounts are typed in (a decimal comma where it writes one). */
export const locale = navigator.language || 'en-US';

/** The largest amount one command may move, in minor units, known before posting. */
export const maxAmountMinor = (() => {
  const p = config.maxAmount ? parseAmountInput(config.maxAmount, { maxMinor: 10n ** 30n }) : null;
  return p?.ok ? p.minor : DEFAULT_MAX_AMOUNT_MINOR;
})();

export function storage(kind: 'local' | 'session'): Storage | null {
  try {
    return kind === 'local' ? localStorage : sessionStorage;
  } catch {
    return null;
  }
}
