// Money is never a float. Every conversion between what the server sends,
// what a person types and what the page shows is here, and only here:
//
// - OUT of the server (balances, event data, history, time travel) amounts
//   are major-unit strings with two fraction digits ("10.50"), the form
//   they go in. `minorFromWire` is the one function that reads them, digit
//   by digit (never through a float).
// - IN to the server, amounts are major-unit strings ("10.50"), made by
//   `parseAmountInput` from what a person typed.

/** Largest amount one command may move, in minor units: the server's default `MAX_AMOUNT` (1,000,000.00). */
export const DEFAULT_MAX_AMOUNT_MINOR = 100_000_000n;

/** What the server accepts as a string WireAmount. */
export const WIRE_AMOUNT_RE = /^[0-9]+(\.[0-9]{1,2})?$/;

/** What the server sends as an amount: major units, two fraction digits. */
const WIRE_OUT_RE = /^(-?)([0-9]+)\.([0-9]{2})$/;

/**
 * An amount as the server sends it (a balance, `amount`, `balanceAfter`,
 * `initialBalance`: "10.50"), in minor units; null when absent or not an amount.
 */
export function minorFromWire(v: unknown): number | null {
  if (typeof v !== 'string') return null;
  const m = WIRE_OUT_RE.exec(v);
  if (!m) return null;
  const minor = BigInt(m[2]) * 100n + BigInt(m[3]);
  const n = Number(m[1] === '-' ? -minor : minor);
  return Number.isSafeInteger(n) ? n : null;
}

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

/** An amount from the server, shown: "15.00"; "" when there is none. */
export function formatWireAmount(v: unknown): string {
  const minor = minorFromWire(v);
  return minor === null ? '' : formatMinor(minor);
}

/** The decimal separator a locale writes ("de-DE" → ","), "." when unknown. */
export function decimalSeparator(locale?: string): '.' | ',' {
  try {
    const part = new Intl.NumberFormat(locale).formatToParts(1.5).find((p) => p.type === 'decimal');
    return part?.value === ',' ? ',' : '.';
  } catch {
    return '.';
  }
}

/** 100000000 → "1,000,000.00" (en) or "1.000.000,00" (de): for messages, with the locale's separators. */
export function formatMinorGrouped(minor: bigint, locale?: string): string {
  const plain = formatMinor(minor);
  const [whole, frac] = plain.split('.');
  const comma = decimalSeparator(locale) === ',';
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, comma ? '.' : ',');
  return `${grouped}${comma ? ',' : '.'}${frac}`;
}

export type ParsedAmount =
  | { ok: true; minor: bigint; wire: string }
  | { ok: false; message: string };

export interface AmountInputOptions {
  /** An opening balance may be 0; a movement may not. */
  allowZero?: boolean;
  /** The person's locale: where it writes a decimal comma ("10,50"), the comma is read as the decimal point. */
  locale?: string;
  /** Largest amount, in minor units (default: the server's default maximum). */
  maxMinor?: bigint;
}

/**
 * Parses what a person typed as a major-unit amount: "10", "10.5", "10.50"
 * (and "10,50" in a decimal-comma locale). Returns minor units and the
 * canonical wire string ("10.50"), or a message saying what is wrong.
 * Thousands separators are refused rather than guessed at: with money, a
 * misread "1.000" is worse than a question.
 */
export function parseAmountInput(text: string, opts: AmountInputOptions = {}): ParsedAmount {
  const comma = opts.locale !== undefined && decimalSeparator(opts.locale) === ',';
  const example = comma ? '10,50' : '10.50';
  let t = text.trim();
  if (t === '') return { ok: false, message: 'Enter an amount' };
  if (/^[-−]/.test(t)) return { ok: false, message: 'The amount must be more than 0' };
  if (comma && /^[0-9]+,[0-9]+$/.test(t)) t = t.replace(',', '.');
  if (!/^[0-9]+(\.[0-9]+)?$/.test(t)) return { ok: false, message: `Enter a number, e.g. ${example}` };
  const [whole, frac = ''] = t.split('.');
  if (frac.length > 2) return { ok: false, message: 'The amount can have at most 2 decimals' };
  const minor = BigInt(whole) * 100n + BigInt(frac.padEnd(2, '0') || '0');
  if (minor === 0n && !opts.allowZero) return { ok: false, message: 'The amount must be more than 0' };
  const max = opts.maxMinor ?? DEFAULT_MAX_AMOUNT_MINOR;
  if (minor > max) return { ok: false, message: `The amount must be at most ${formatMinorGrouped(max, opts.locale)}` };
  return { ok: true, minor, wire: formatMinor(minor) };
}
