// Amounts are integers of base units with the token's decimals: every function here works on
// bigint and strings, never on floating-point numbers, so no digit is ever lost or invented.

/** Parses an integer amount of base units: a bigint, a safe integer, or a decimal or 0x string. */
export function toBigInt(value: bigint | number | string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new RangeError(`${value} is not an exact integer amount`);
    return BigInt(value);
  }
  const text = value.trim();
  if (!/^-?(\d+|0x[0-9a-fA-F]+)$/.test(text)) throw new RangeError(`"${value}" is not an integer amount`);
  return text.startsWith('-') ? -BigInt(text.slice(1)) : BigInt(text);
}

/** The exact decimal text of `value` base units: `formatUnits(1500000n, 6)` is `"1.5"`. */
export function formatUnits(value: bigint | number | string, decimals: number): string {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 255) {
    throw new RangeError(`${decimals} is not a token's decimals`);
  }
  const amount = toBigInt(value);
  const negative = amount < 0n;
  const digits = (negative ? -amount : amount).toString().padStart(decimals + 1, '0');
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = digits.slice(digits.length - decimals).replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/** Options of {@link formatAmount}. */
export interface AmountOptions {
  /** Fraction digits shown at most; the exact value stays in {@link FormattedAmount.exact}. */
  maxFractionDigits?: number;
  /** Thousands separators in the whole part. */
  group?: boolean;
  /** Prefix a `+` on positive amounts (balance changes). */
  signed?: boolean;
}

/** An amount for display, with the exact value beside it. */
export interface FormattedAmount {
  /** What to show: grouped, shortened to `maxFractionDigits`. */
  text: string;
  /** The full exact value (no grouping). */
  exact: string;
  /** True when `text` dropped digits (it then ends with `…`, or reads `<0.000001`). */
  truncated: boolean;
}

/**
 * Formats base units for reading. Digits beyond `maxFractionDigits` are cut, never rounded, and a cut
 * is always visible: `1.23456789` shows as `1.234567…`, a tiny amount as `<0.000001`.
 */
export function formatAmount(
  value: bigint | number | string,
  decimals: number,
  { maxFractionDigits = 6, group = true, signed = false }: AmountOptions = {},
): FormattedAmount {
  const exact = formatUnits(value, decimals);
  const negative = exact.startsWith('-');
  const [whole, fraction = ''] = (negative ? exact.slice(1) : exact).split('.');
  const kept = fraction.slice(0, maxFractionDigits).replace(/0+$/, '');
  const truncated = fraction.length > maxFractionDigits;
  const sign = negative ? '-' : signed && exact !== '0' ? '+' : '';
  if (truncated && whole === '0' && kept === '') {
    const smallest = maxFractionDigits === 0 ? '1' : `0.${'0'.repeat(maxFractionDigits - 1)}1`;
    return { text: `${sign}<${smallest}`, exact, truncated };
  }
  const grouped = group ? whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',') : whole;
  const text = `${sign}${grouped}${kept ? `.${kept}` : ''}${truncated ? '…' : ''}`;
  return { text, exact, truncated };
}
