import { describe, expect, test } from 'vitest';

import { errorMessage } from './api';

describe('errorMessage', () => {
  test('reads the message out of an API error body', () => {
    const body = JSON.stringify({ error: { code: 'turn_running', message: 'a turn is already running in chat x' } });
    expect(errorMessage(new Error(body))).toBe('a turn is already running in chat x');
  });

  test('prefers viem’s short message', () => {
    expect(errorMessage(Object.assign(new Error('long\ndetails'), { shortMessage: 'User rejected the request.' }))).toBe(
      'User rejected the request.',
    );
  });

  test('keeps plain text as it is', () => {
    expect(errorMessage(new Error('The model call failed: 500'))).toBe('The model call failed: 500');
    expect(errorMessage('boom')).toBe('boom');
  });
});
