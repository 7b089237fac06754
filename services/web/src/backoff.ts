export interface BackoffPolicy {
  /** Delay before the first retry, in ms. */
  baseMs: number;
  /** Multiplier per further retry. */
  factor: number;
  /** Upper bound of one delay, in ms. */
  maxMs: number;
}

/**
 * Exponential backoff with "equal jitter": the n-th retry (0-based) waits
 * between half and all of min(maxMs, baseMs * factor^n).
 */
export function backoffDelay(retryIndex: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const exp = policy.baseMs * Math.pow(policy.factor, Math.max(0, retryIndex));
  const cap = Math.min(policy.maxMs, exp);
  const half = cap / 2;
  return Math.round(half + random() * half);
}
