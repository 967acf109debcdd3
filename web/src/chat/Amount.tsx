// An exact token amount with its symbol: cut for reading, exact on hover and for screen readers.
import { formatAmount } from '../lib/amount';

/** Base units shown with decimals and symbol; a positive change can carry a `+`. */
export function Amount({
  value,
  decimals,
  symbol,
  signed = false,
  maxFractionDigits,
}: {
  value: bigint | number | string;
  decimals: number;
  symbol?: string;
  signed?: boolean;
  maxFractionDigits?: number;
}) {
  let formatted;
  try {
    formatted = formatAmount(value, decimals, { signed, maxFractionDigits });
  } catch {
    return <span className="amount invalid">{String(value)} (not an integer amount)</span>;
  }
  const tone = signed ? (formatted.exact.startsWith('-') ? 'out' : formatted.exact === '0' ? '' : 'in') : '';
  return (
    <span
      className={`amount mono ${tone}`}
      title={`${formatted.exact}${symbol ? ` ${symbol}` : ''}`}
      aria-label={`${formatted.exact}${symbol ? ` ${symbol}` : ''}`}
    >
      {formatted.text}
      {symbol ? <span className="symbol"> {symbol}</span> : null}
    </span>
  );
}
