import { act, renderHook, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, test, vi } from 'vitest';

import type { PendingBatch } from '../lib/types';
import { usePendingBatch } from './usePendingBatch';

// A server whose answers come back when the test says (`answers`, in the order they arrived): a read
// sees the batch as it is when it arrives, a removal takes effect when it is answered.
const server = vi.hoisted(() => ({
  steps: [] as string[],
  answers: [] as (() => void)[],
  arrived: [] as string[],
}));

vi.mock('../lib/api', () => {
  const batchOf = (steps: string[]): PendingBatch => ({
    chainId: 31337,
    steps: steps.map(description => ({ chainId: 31337, to: '0x01', value: '0', data: '0x', description })),
  });
  const later = <T,>(value: T) => new Promise<T>(resolve => server.answers.push(() => resolve(value)));
  return {
    errorMessage: (error: unknown) => String(error),
    getBatch: () => {
      server.arrived.push('read');
      return later(batchOf([...server.steps]));
    },
    removeBatchStep: (_id: string, _owner: string | undefined, index: number) => {
      server.arrived.push(`remove ${index}`);
      return new Promise<PendingBatch>(resolve =>
        server.answers.push(() => {
          server.steps.splice(index, 1);
          resolve(batchOf([...server.steps]));
        }),
      );
    },
  };
});

const shown = (batch: PendingBatch) => batch.steps.map(step => step.description);

afterEach(() => {
  server.steps = [];
  server.answers = [];
  server.arrived = [];
});

describe('usePendingBatch', () => {
  test('a read asked for during a removal is sent after it, so the removed step stays removed', async () => {
    server.steps = ['approve', 'swap'];
    const { result } = renderHook(() => usePendingBatch('chat', '0xme'));
    await waitFor(() => expect(server.answers).toHaveLength(1));
    await act(async () => server.answers.shift()?.());
    expect(shown(result.current.batch)).toEqual(['approve', 'swap']);

    // The person removes the approval; the turn ends before the removal is answered.
    await act(async () => result.current.remove(0));
    await act(async () => result.current.reload());
    // The read has not reached the server: it waits for the removal's answer (served first, it
    // would see the approval still there).
    expect(server.arrived).toEqual(['read', 'remove 0']);
    await act(async () => server.answers.shift()?.());
    expect(shown(result.current.batch)).toEqual(['swap']);
    await waitFor(() => expect(server.arrived).toEqual(['read', 'remove 0', 'read']));
    await act(async () => server.answers.shift()?.());
    expect(shown(result.current.batch)).toEqual(['swap']);
  });
});
