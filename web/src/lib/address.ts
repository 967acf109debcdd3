// Addresses and hashes as people read them: shortened in the middle, full on copy and hover.

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const HASH = /^0x[0-9a-fA-F]{64}$/;

/** True for `0x` followed by 40 hex digits. */
export function isAddress(value: unknown): value is `0x${string}` {
  return typeof value === 'string' && ADDRESS.test(value);
}

/** True for `0x` followed by 64 hex digits (a transaction hash, a block hash, a bytes32). */
export function isHash(value: unknown): value is `0x${string}` {
  return typeof value === 'string' && HASH.test(value);
}

/** `0x1234…cdef`: the first and last `chars` hex digits. Shorter values come back unchanged. */
export function shorten(value: string, chars = 4): string {
  if (!value.startsWith('0x') || value.length <= 2 + chars * 2 + 1) return value;
  return `${value.slice(0, 2 + chars)}…${value.slice(-chars)}`;
}

/** The 0x addresses and 32-byte hashes in a text, with their positions. */
export function findChainRefs(text: string): { value: string; index: number }[] {
  const refs: { value: string; index: number }[] = [];
  for (const match of text.matchAll(/\b0x(?:[0-9a-fA-F]{64}|[0-9a-fA-F]{40})\b/g)) {
    refs.push({ value: match[0], index: match.index });
  }
  return refs;
}
