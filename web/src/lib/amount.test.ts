import { describe, expect, test } from 'vitest';

import { formatAmount, formatUnits, toBigInt } from './amount';

describe('formatUnits', () => {
  test('places the decimal point exactly', () => {
    expect(formatUnits(1500000n, 6)).toBe('1.5');
    expect(formatUnits('1000000000000000000', 18)).toBe('1');
    expect(formatUnits(1n, 18)).toBe('0.000000000000000001');
    expect(formatUnits(0n, 18)).toBe('0');
    expect(formatUnits(123n, 0)).toBe('123');
    expect(formatUnits('-2500000', 6)).toBe('-2.5');
  });

  test('keeps every digit of amounts beyond a float’s precision', () => {
    // 2^256 - 1 wei: a float would round this.
    const max = (1n << 256n) - 1n;
    expect(formatUnits(max, 18)).toBe('115792089237316195423570985008687907853269984665640564039457.584007913129639935');
    expect(formatUnits('9007199254740993', 0)).toBe('9007199254740993');
  });

  test('refuses what is not an integer amount', () => {
    expect(() => formatUnits('1.5', 18)).toThrow(/not an integer amount/);
    expect(() => formatUnits(0.1, 18)).toThrow(/not an exact integer/);
    expect(() => formatUnits('abc', 18)).toThrow();
    expect(() => formatUnits(1n, -1)).toThrow(/decimals/);
    expect(() => formatUnits(1n, 1.5)).toThrow(/decimals/);
  });
});

describe('toBigInt', () => {
  test('reads decimal and hex strings and safe integers', () => {
    expect(toBigInt('0x10')).toBe(16n);
    expect(toBigInt(' 42 ')).toBe(42n);
    expect(toBigInt(7)).toBe(7n);
    expect(toBigInt('-5')).toBe(-5n);
  });
});

describe('formatAmount', () => {
  test('groups the whole part and keeps a short fraction exact', () => {
    expect(formatAmount(1234567890000n, 6)).toEqual({ text: '1,234,567.89', exact: '1234567.89', truncated: false });
  });

  test('cuts, never rounds, and shows the cut', () => {
    // 1.99999999 ETH must never read as 2.
    const amount = formatAmount(1999999990000000000n, 18);
    expect(amount.text).toBe('1.999999…');
    expect(amount.exact).toBe('1.99999999');
    expect(amount.truncated).toBe(true);
  });

  test('a tiny amount reads as less than the smallest shown digit, not zero', () => {
    expect(formatAmount(1n, 18).text).toBe('<0.000001');
    expect(formatAmount(-1n, 18).text).toBe('-<0.000001');
    expect(formatAmount(1n, 18, { maxFractionDigits: 0 }).text).toBe('<1');
  });

  test('signs balance changes', () => {
    expect(formatAmount(5n, 0, { signed: true }).text).toBe('+5');
    expect(formatAmount(-5n, 0, { signed: true }).text).toBe('-5');
    expect(formatAmount(0n, 0, { signed: true }).text).toBe('0');
  });

  test('USDC with 6 decimals: one unit is one, not a million', () => {
    expect(formatAmount('1000000', 6).text).toBe('1');
    expect(formatAmount('1000000', 18).text).toBe('<0.000001');
  });
});
