import { describe, expect, test } from 'vitest';

import { chatIdFromPath } from './App';
import { relativeTime } from './history/Sidebar';

describe('routes', () => {
  test('a chat’s address names its id', () => {
    expect(chatIdFromPath('/chat/abc-DEF_1')).toBe('abc-DEF_1');
    expect(chatIdFromPath('/chat/abc/')).toBe('abc');
    expect(chatIdFromPath('/')).toBeUndefined();
    expect(chatIdFromPath('/chat/a b')).toBeUndefined();
    expect(chatIdFromPath('/chat/../api')).toBeUndefined();
  });
});

describe('relativeTime', () => {
  const now = new Date('2025-06-10T12:00:00Z');
  test('reads as people say it', () => {
    expect(relativeTime('2025-06-10T11:59:30Z', now)).toBe('just now');
    expect(relativeTime('2025-06-10T11:55:00Z', now)).toBe('5 min ago');
    expect(relativeTime('2025-06-10T09:00:00Z', now)).toBe('3 h ago');
    expect(relativeTime('2025-06-09T09:00:00Z', now)).toBe('yesterday');
    expect(relativeTime('not a date', now)).toBe('');
  });
});
