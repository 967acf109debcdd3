import { describe, expect, test } from 'vitest';

import { findChainRefs, isAddress, isHash, shorten } from './address';

const ADDRESS = '0x000000000000000000000000000000000000dEaD';
const HASH = `0x${'ab'.repeat(32)}`;

describe('addresses and hashes', () => {
  test('shortens in the middle, keeping the case', () => {
    expect(shorten(ADDRESS)).toBe('0x0000…dEaD');
    expect(shorten(HASH, 6)).toBe('0xababab…ababab');
    expect(shorten('0x1234')).toBe('0x1234');
    expect(shorten('vitalik.eth')).toBe('vitalik.eth');
  });

  test('tells addresses from hashes', () => {
    expect(isAddress(ADDRESS)).toBe(true);
    expect(isAddress(HASH)).toBe(false);
    expect(isHash(HASH)).toBe(true);
    expect(isHash(ADDRESS)).toBe(false);
    expect(isAddress(`${ADDRESS}0`)).toBe(false);
    expect(isAddress(42)).toBe(false);
  });

  test('finds them in text, whole only', () => {
    const text = `send to ${ADDRESS}, see ${HASH}. Not 0x1234 nor ${ADDRESS}ff.`;
    expect(findChainRefs(text).map(ref => ref.value)).toEqual([ADDRESS, HASH]);
    expect(findChainRefs(text)[0].index).toBe(8);
  });
});
