import { fireEvent, render, screen } from '@testing-library/react';
import { describe, expect, test, vi } from 'vitest';

import type { SimulationReport, WalletTransaction } from '../lib/types';
import { TransactionReview, type ReviewPhase, type SimulationState } from './TransactionReview';
import { checkTransaction } from './WalletRequest';

const ME = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
const ROUTER = '0x3fC91A3afd70395Cd496C647d5a6CC9D4B2b7FAD';
const USDC = '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48';

const tx: WalletTransaction = {
  to: ROUTER,
  value: '100000000000000000',
  data: '0x3593564c',
  chainId: 1,
  description: 'Swap 0.1 ETH for USDC on Uniswap',
  decoded: { contract: 'UniversalRouter', function: 'execute(bytes,bytes[],uint256)', args: [{ name: 'deadline', type: 'uint256', value: '1735787045' }] },
};

// A report in the shape aomi-chain serialises (SimulationReport, camelCase, nulls kept).
const report: SimulationReport = {
  chainId: 1,
  blockNumber: 21000000,
  method: 'eth_simulateV1',
  success: true,
  gasUsed: 150000,
  gasPrice: '20000000000',
  estimatedFee: { amount: '3000000000000000', decimals: 18, symbol: 'ETH', formatted: '0.003 ETH' },
  assetChanges: [
    { address: ME, token: null, standard: 'native', symbol: 'ETH', decimals: 18, delta: '-100000000000000000', formatted: '-0.1 ETH' },
    { address: ME, token: USDC, standard: 'erc20', symbol: 'USDC', decimals: 6, delta: '345678901', formatted: '+345.678901 USDC' },
  ],
  approvals: [
    {
      owner: ME,
      token: USDC,
      standard: 'erc20',
      spender: ROUTER,
      amount: '115792089237316195423570985008687907853269984665640564039457584007913129639935',
      unlimited: true,
      granted: true,
      operator: false,
      symbol: 'USDC',
      decimals: 6,
      formatted: 'unlimited USDC',
    },
  ],
  logs: [],
  warnings: [{ id: 'min-out-zero', level: 'danger', message: 'The swap accepts any output amount (minOut = 0).' }],
};

function renderReview(simulation: SimulationState, phase: ReviewPhase = { kind: 'idle' }, connected = true) {
  const onApprove = vi.fn();
  const onReject = vi.fn();
  const view = render(
    <TransactionReview
      tx={tx}
      simulation={simulation}
      from={ME}
      walletChainId={1}
      connected={connected}
      phase={phase}
      onApprove={onApprove}
      onReject={onReject}
    />,
  );
  return { ...view, onApprove, onReject };
}

describe('TransactionReview', () => {
  test('shows the simulation: exact balance changes with symbols, approvals, fee, warnings', () => {
    const { container } = renderReview({ kind: 'ready', report });
    expect(screen.getByRole('region', { name: 'Review transaction' })).toBeTruthy();
    expect(screen.getByText('Swap 0.1 ETH for USDC on Uniswap')).toBeTruthy();
    const changes = [...container.querySelectorAll('.changes .amount')].map(node => node.textContent);
    expect(changes).toEqual(['-0.1 ETH', '+345.678901 USDC']);
    expect(container.querySelector('.changes .amount.out')).not.toBeNull();
    expect(container.querySelector('.changes .amount.in')).not.toBeNull();
    // 150000 gas × 20 gwei = 0.003 ETH, computed in integers.
    expect(screen.getByText('Fee').nextElementSibling?.textContent).toBe('0.003 ETH');
    expect(screen.getByText(/an unlimited amount of USDC/)).toBeTruthy();
    const warning = container.querySelector('.warnings .warning');
    expect(warning?.className).toContain('level-danger');
    expect(warning?.textContent).toContain('minOut = 0');
    expect(screen.getByText('UniversalRouter.execute(bytes,bytes[],uint256)')).toBeTruthy();
    expect(screen.getByText('1735787045')).toBeTruthy();
    // The raw fields are there, folded.
    const raw = screen.getByText('Raw transaction').closest('details');
    expect(raw?.hasAttribute('open')).toBe(false);
    expect(raw?.textContent).toContain('100000000000000000 wei (0.1 ETH)');
  });

  test('approve and reject call back', () => {
    const { onApprove, onReject } = renderReview({ kind: 'ready', report: { ...report, warnings: [] } });
    fireEvent.click(screen.getByRole('button', { name: 'Approve in wallet' }));
    fireEvent.click(screen.getByRole('button', { name: 'Reject' }));
    expect(onApprove).toHaveBeenCalledOnce();
    expect(onReject).toHaveBeenCalledOnce();
  });

  test('a transaction that would revert says so, and signing it is a deliberate act', () => {
    renderReview({ kind: 'ready', report: { ...report, success: false, revert: { reason: 'STF', kind: 'error' }, warnings: [] } });
    expect(screen.getByRole('alert').textContent).toContain('This transaction would fail.');
    expect(screen.getByRole('alert').textContent).toContain('STF');
    expect(screen.getByRole('button', { name: 'Sign anyway' }).className).toContain('danger');
  });

  test('a danger warning makes the primary action the danger style and asks for a second click', () => {
    const { onApprove } = renderReview({ kind: 'ready', report });
    const button = screen.getByRole('button', { name: 'Send despite the warning' });
    expect(button.className).toContain('danger');
    expect(button.className).not.toContain('primary');
    fireEvent.click(button);
    expect(onApprove).not.toHaveBeenCalled();
    expect(button.textContent).toBe('Confirm: send despite the warning');
    expect(screen.getByRole('alert').textContent).toContain('Click again to open your wallet anyway.');
    fireEvent.click(button);
    expect(onApprove).toHaveBeenCalledOnce();
  });

  test('a failing transaction also needs the second click; a mere warning does not', () => {
    const failing = renderReview({ kind: 'ready', report: { ...report, success: false, warnings: [] } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign anyway' }));
    expect(failing.onApprove).not.toHaveBeenCalled();
    fireEvent.click(screen.getByRole('button', { name: 'Confirm: send although it fails' }));
    expect(failing.onApprove).toHaveBeenCalledOnce();
    failing.unmount();

    const mild = { ...report, warnings: [{ id: 'unlimited-approval', level: 'warning' as const, message: 'An unlimited approval.' }] };
    const { onApprove } = renderReview({ kind: 'ready', report: mild });
    const button = screen.getByRole('button', { name: 'Approve in wallet' });
    expect(button.className).toContain('primary');
    fireEvent.click(button);
    expect(onApprove).toHaveBeenCalledOnce();
  });

  test('a token without decimals shows the server\'s words; a revoked approval says so', () => {
    const odd = '0x1111111111111111111111111111111111111111';
    const { container } = renderReview({
      kind: 'ready',
      report: {
        ...report,
        estimatedFee: null,
        gasUsed: null,
        assetChanges: [{ address: ME, token: odd, standard: 'erc20', symbol: null, decimals: null, delta: '-7', formatted: '-7 (base units)' }],
        approvals: [{ ...report.approvals[0], amount: '0', unlimited: false, granted: false, formatted: '0 USDC' }],
      },
    });
    expect(container.querySelector('.changes .amount')?.textContent).toBe('-7 (base units)');
    expect(container.querySelector('.changes .amount.out')).not.toBeNull();
    expect(screen.getByText(/the approval is revoked/)).toBeTruthy();
    expect(screen.queryByText('Fee')).toBeNull();
  });

  test('an operator approval shows what the server says it covers, by its operator field', () => {
    const collection = '0x2222222222222222222222222222222222222222';
    const operator = { ...report.approvals[0], token: collection, standard: 'erc721' as const, amount: null, symbol: 'TCOL', decimals: 0 };
    renderReview({ kind: 'ready', report: { ...report, approvals: [{ ...operator, operator: true, formatted: 'all of TCOL' }] } });
    expect(screen.getByText('all of TCOL')).toBeTruthy();
    expect(screen.queryByText(/an unlimited amount/)).toBeNull();
  });

  test('without a simulation the review says so', () => {
    renderReview({ kind: 'unavailable', reason: 'this server cannot simulate transactions yet.' });
    expect(screen.getByText(/Not simulated: this server cannot simulate transactions yet\./)).toBeTruthy();
  });

  test('while the wallet works the buttons wait and say what happens', () => {
    renderReview({ kind: 'ready', report }, { kind: 'signing' });
    expect(screen.getByRole('button', { name: /Confirm in your wallet/ }).hasAttribute('disabled')).toBe(true);
    expect(screen.getByRole('button', { name: 'Reject' }).hasAttribute('disabled')).toBe(true);
  });

  test('a wallet failure shows its message, and the buttons come back', () => {
    renderReview({ kind: 'ready', report: { ...report, warnings: [] } }, { kind: 'failed', message: 'insufficient funds for gas' });
    expect(screen.getByText('insufficient funds for gas')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Approve in wallet' }).hasAttribute('disabled')).toBe(false);
  });

  test('with no wallet the approve button connects one', () => {
    renderReview({ kind: 'ready', report }, { kind: 'idle' }, false);
    expect(screen.getByRole('button', { name: 'Connect wallet to sign' })).toBeTruthy();
  });
});

describe('checkTransaction', () => {
  test('accepts a well-formed transaction', () => {
    expect(checkTransaction(tx)).toBe(tx);
    expect(checkTransaction({ to: ROUTER, chainId: 31337 })).toEqual({ to: ROUTER, chainId: 31337 });
  });

  test('refuses bad fields with a clear reason, before anything reaches the wallet', () => {
    expect(checkTransaction(null)).toBe('The wallet request has no transaction.');
    expect(checkTransaction({ ...tx, to: '0x1234' })).toBe('"to" is not an address: 0x1234');
    expect(checkTransaction({ ...tx, chainId: '1' })).toBe('"chainId" is not a chain id: 1');
    expect(checkTransaction({ ...tx, value: '0.1' })).toBe('"value" is not an integer amount of wei: 0.1');
    expect(checkTransaction({ ...tx, value: '-1' })).toBe('"value" is negative.');
    expect(checkTransaction({ ...tx, data: '0xabc' })).toBe('"data" is not hex bytes.');
  });

  test('shows a USD value beside the exact amount where the server priced it, never instead of it', () => {
    const priced: SimulationReport = {
      ...report,
      assetChanges: [
        { ...report.assetChanges[0], usd: { value: -345.7, price: 3457, source: 'defillama' } },
        report.assetChanges[1],
      ],
    };
    const { container } = renderReview({ kind: 'ready', report: priced });
    const rows = [...container.querySelectorAll('.changes li')].map(node => node.textContent ?? '');
    expect(rows[0]).toContain('-0.1 ETH');
    expect(rows[0]).toContain('(≈ $345.70)');
    expect(rows[1]).toContain('+345.678901 USDC');
    // An unpriced change shows no USD value.
    expect(rows[1]).not.toContain('≈');
  });

  test("balanced guards' warnings take a second click before the wallet is asked", () => {
    const calm: SimulationReport = { ...report, warnings: [{ id: 'first-time-recipient', level: 'warning', message: 'You never sent to this address.' }] };
    const guard = {
      level: 'balanced' as const,
      decision: 'confirm' as const,
      findings: [{ guard: 'warning' as const, reason: 'You never sent to this address.' }],
      outgoingUsd: 345.7,
      spentTodayUsd: null,
      unpriced: [],
      toolCallId: 'call-1',
    };
    const onApprove = vi.fn();
    render(
      <TransactionReview tx={tx} simulation={{ kind: 'ready', report: calm }} guard={guard} from={ME} walletChainId={1} connected phase={{ kind: 'idle' }} onApprove={onApprove} onReject={vi.fn()} />,
    );
    expect(screen.getByText('Your spend guards ask you to confirm')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Send despite the warning' }));
    expect(onApprove).not.toHaveBeenCalled();
    fireEvent.click(screen.getByRole('button', { name: 'Confirm: send despite the warning' }));
    expect(onApprove).toHaveBeenCalledTimes(1);
  });
});
