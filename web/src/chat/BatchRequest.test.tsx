import { fireEvent, render, screen, within } from '@testing-library/react';
import { describe, expect, test, vi } from 'vitest';

import type { BatchReport, BatchRequest, PendingBatch } from '../lib/types';
import { BatchReview, PendingBatchList } from './BatchRequest';

const ME = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
const ROUTER = '0x3fC91A3afd70395Cd496C647d5a6CC9D4B2b7FAD';
const USDC = '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48';

const batch: PendingBatch = {
  chainId: 31337,
  steps: [
    { chainId: 31337, to: USDC, value: '0', data: '0x095ea7b3', description: 'Approve 3000 USDC to the router' },
    { chainId: 31337, to: ROUTER, value: '0', data: '0x5ae401dc', description: 'Swap 3000 USDC for ETH' },
  ],
};

const request: BatchRequest = {
  chainId: '0x7a69',
  network: 'devnet',
  from: ME,
  atomicRequired: false,
  description: 'Swap 3000 USDC for ETH',
  calls: batch.steps.map(step => ({ to: step.to, value: '0x0', data: step.data, description: step.description })),
};

// A report in the shape aomi-chain serialises (BatchReport, camelCase).
const report = (swapSucceeds: boolean): BatchReport => ({
  chainId: 31337,
  blockNumber: 40,
  method: 'eth_simulateV1',
  success: swapSucceeds,
  gasPrice: '1000000000',
  estimatedFee: { amount: '200000000000000', decimals: 18, symbol: 'ETH', formatted: '0.0002 ETH' },
  steps: [
    { index: 0, success: true, gasUsed: 46000, logs: [] },
    {
      index: 1,
      success: swapSucceeds,
      gasUsed: 154000,
      logs: [],
      revert: swapSucceeds ? null : { reason: 'STF', data: '0x' } as never,
    },
  ],
  assetChanges: swapSucceeds
    ? [
        { address: ME, token: USDC, standard: 'erc20', symbol: 'USDC', decimals: 6, delta: '-3000000000', formatted: '-3000 USDC' },
        { address: ME, token: null, standard: 'native', symbol: 'ETH', decimals: 18, delta: '1000000000000000000', formatted: '+1 ETH' },
      ]
    : [],
  approvals: [],
  warnings: [],
});

describe('the pending batch list', () => {
  test('lists each step and removes the one asked', () => {
    const onRemove = vi.fn();
    render(<PendingBatchList batch={batch} onRemove={onRemove} />);
    const list = screen.getByRole('region', { name: 'Pending batch' });
    expect(within(list).getByRole('heading').textContent).toMatch(/2 transactions/);
    expect(within(list).getAllByRole('listitem').map(item => item.textContent)).toEqual([
      expect.stringContaining('Approve 3000 USDC'),
      expect.stringContaining('Swap 3000 USDC'),
    ]);
    fireEvent.click(screen.getByRole('button', { name: 'Remove step 2' }));
    expect(onRemove).toHaveBeenCalledWith(1);
  });

  test('an empty batch shows nothing', () => {
    const { container } = render(<PendingBatchList batch={{ chainId: null, steps: [] }} onRemove={() => undefined} />);
    expect(container.textContent).toBe('');
  });
});

describe('the batch review', () => {
  test('each step with its outcome, then the net changes of the whole batch', () => {
    const onApprove = vi.fn();
    render(<BatchReview request={request} report={report(true)} phase={{ kind: 'idle' }} connected onApprove={onApprove} onReject={() => undefined} />);
    const review = screen.getByRole('region', { name: 'Review batch' });
    expect(review.querySelectorAll('.batch-steps .badge.success')).toHaveLength(2);
    const changes = [...review.querySelectorAll('.review-simulation .changes .amount')].map(node => node.textContent);
    expect(changes).toEqual(['-3,000 USDC', '+1 ETH']);
    fireEvent.click(screen.getByRole('button', { name: 'Send 2 transactions to wallet' }));
    expect(onApprove).toHaveBeenCalled();
  });

  test('a failing step says so, with its reason, and the batch fails', () => {
    render(<BatchReview request={request} report={report(false)} phase={{ kind: 'idle' }} connected onApprove={() => undefined} onReject={() => undefined} />);
    const review = screen.getByRole('region', { name: 'Review batch' });
    expect([...review.querySelectorAll('.batch-steps .badge')].map(node => node.textContent)).toEqual(['succeeds', 'fails']);
    expect(review.textContent).toContain('STF');
    expect(review.textContent).toContain('This transaction would fail.');
  });
});
