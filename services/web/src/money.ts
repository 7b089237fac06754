// Money is never a float. The wire carries integer minor units (cents) from
// the server, and the app sends major units as strings ("10.50"). All
// conversions here are integer or string operations.

/** Largest amount the server accepts, in minor units (see AmountMinor). */
export const MAX_AMOUNT_MINOR = 1_000_000_000_000_000n;

/** What the server accepts as a string WireAmount. */
export const WIRE_AMOUNT_RE = /^[0-9]+(\.[0-9]{1,2})?$/;

/** 1500 -> "15.00", 5 -> "0.05", -250 -> "-2.50". Throws on a non-integer. */
export function formatMinor(minor: number | bigint): string {
  if (typeof minor === 'number' && !Number.isSafeInteger(minor)) {
    throw new RangeError(`not an integer amount of minor units: ${minor}`);
  }
  let v = typeof minor === 'bigint' ? minor : BigInt(minor);
  const negative = v < 0n;
  if (negative) v = -v;
  const digits = v.toString().padStart(3, '0');
  return `${negative ? '-' : ''}${digits.slice(0, -2)}.${digits.slice(-2)}`;
}

export type ParsedAmount =
  | { ok: true; minor: bigint; wire: string }
  | { ok: false; message: string };

/**
 * Parses what a person typed as a major-unit amount: "10", "10.5", "10.50".
 * Returns minor units and the canonical wire string ("10.50").
 */
export function parseAmountInput(text: string, opts: { allowZero?: boolean } = {}): ParsedAmount {
  const t = text.trim();
  if (t === '') return { ok: false, message: 'Enter an amount' };
  if (!WIRE_AMOUNT_RE.test(t)) {
    return { ok: false, message: 'Use a number with at most 2 decimals, e.g. 10.50' };
  }
  const [whole, frac = ''] = t.split('.');
  const minor = BigInt(whole) * 100n + BigInt(frac.padEnd(2, '0') || '0');
  if (minor === 0n && !opts.allowZero) return { ok: false, message: 'The amount must be greater than 0' };
  if (minor >= MAX_AMOUNT_MINOR) return { ok: false, message: 'The amount is too large' };
  return { ok: true, minor, wire: formatMinor(minor) };
}
