import { render, screen } from '@testing-library/react';
import { describe, expect, test } from 'vitest';

import { ToolCard, type AnyToolPart } from './ToolCard';

const base = { toolCallId: 'call-1', input: {} };

function part(fields: Record<string, unknown>): AnyToolPart {
  return { type: 'tool-get_balance', ...base, ...fields } as unknown as AnyToolPart;
}

describe('ToolCard', () => {
  test('a running call spins and shows the tool’s live progress', () => {
    render(<ToolCard part={part({ state: 'input-available' })} progress="reading block 19000000" />);
    expect(screen.getByRole('region', { name: 'Get balance: running' })).toBeTruthy();
    expect(screen.getByRole('status', { name: '' }).textContent).toBe('running');
    expect(screen.getByText('reading block 19000000')).toBeTruthy();
  });

  test('a result shows its summary and the data formatted: exact amount, symbol, holder', () => {
    const output = {
      // As get_balance answers: `balance` is already decimal; the page formats `wei` itself.
      data: {
        address: '0x000000000000000000000000000000000000dEaD',
        network: 'ethereum',
        wei: '1234500000000000000000',
        balance: '1234.5',
        decimals: 18,
        symbol: 'ETH',
      },
      summary: 'The burn address holds 1,234.5 ETH.',
    };
    const { container } = render(<ToolCard part={part({ state: 'output-available', output })} />);
    expect(screen.getByRole('region', { name: 'Get balance: done' })).toBeTruthy();
    expect(container.querySelector('.tool-result')?.getAttribute('title')).toBe('The burn address holds 1,234.5 ETH.');
    const amount = container.querySelector('.tool-result .amount');
    expect(amount?.textContent).toBe('1,234.5 ETH');
    expect(amount?.getAttribute('title')).toBe('1234.5 ETH');
    expect(container.querySelector('.chain-ref .mono')?.textContent).toBe('0x0000…dEaD');
    expect(container.querySelector('.tool-result .badge')?.textContent).toBe('ethereum');
    // Nothing spins once the call has ended.
    expect(container.querySelector('.spinner')).toBeNull();
  });

  test('an error shows the real message', () => {
    render(<ToolCard part={part({ state: 'output-error', errorText: 'the RPC answered 429: rate limited' })} />);
    expect(screen.getByRole('region', { name: 'Get balance: failed' })).toBeTruthy();
    expect(screen.getByText('the RPC answered 429: rate limited')).toBeTruthy();
  });

  test('a call still open when its turn ended does not spin forever', () => {
    const { container } = render(<ToolCard part={part({ state: 'input-available' })} ended />);
    expect(container.querySelector('.spinner')).toBeNull();
    expect(screen.getByText('The call did not finish.')).toBeTruthy();
  });

  test('a whole-number decimal balance is never taken for base units', () => {
    const output = { data: { balance: '10000', symbol: 'ETH', decimals: 18 }, summary: 'It holds 10000 ETH.' };
    const { container } = render(<ToolCard part={part({ state: 'output-available', output })} />);
    expect(container.querySelector('.amount')).toBeNull();
    expect(container.querySelector('.tool-summary')?.textContent).toBe('It holds 10000 ETH.');
  });

  test('a sent transaction (the wallet’s answer) links its hash to the explorer of its chain', () => {
    const hash = `0x${'12'.repeat(32)}`;
    const output = { transactionHash: hash, chainId: 8453, status: 'success', blockNumber: 7 };
    render(<ToolCard part={{ ...part({ state: 'output-available', output }), type: 'tool-send_transaction_to_wallet' } as AnyToolPart} />);
    expect(screen.getByText('Transaction for your wallet')).toBeTruthy();
    const link = screen.getByRole('link', { name: 'Open transaction hash in the explorer' });
    expect(link.getAttribute('href')).toBe(`https://basescan.org/tx/${hash}`);
    expect(screen.getByText('success')).toBeTruthy();
  });

  test('search results read as links', () => {
    const output = {
      data: { results: [{ title: 'Uniswap v3 docs', url: 'https://docs.uniswap.org/', snippet: 'Concentrated liquidity' }] },
    };
    render(<ToolCard part={{ ...part({ state: 'output-available', output }), type: 'tool-web_search' } as AnyToolPart} />);
    expect(screen.getByRole('link', { name: 'Uniswap v3 docs' }).getAttribute('href')).toBe('https://docs.uniswap.org/');
    expect(screen.getByText('docs.uniswap.org')).toBeTruthy();
  });

  test('data of unknown shape reads as its summary, with the JSON folded', () => {
    const output = { data: { pools: 3 }, summary: 'Found 3 pools.' };
    const { container } = render(<ToolCard part={part({ state: 'output-available', output })} />);
    expect(container.querySelector('.tool-summary')?.textContent).toBe('Found 3 pools.');
    const details = container.querySelectorAll('details.json');
    expect(details.length).toBe(2);
    expect(details[1].hasAttribute('open')).toBe(false);
    expect(details[1].querySelector('pre')?.textContent).toContain('"pools": 3');
  });

  test('the time tool shows its instant as a <time>', () => {
    const output = { data: { utc: '2025-01-02T03:04:05Z', unix: 1735787045 }, summary: 'It is 2025-01-02T03:04:05Z.' };
    const { container } = render(
      <ToolCard part={{ ...part({ state: 'output-available', output }), type: 'tool-get_current_time' } as AnyToolPart} />,
    );
    expect(screen.getByText('Current time')).toBeTruthy();
    expect(container.querySelector('time')?.getAttribute('datetime')).toBe('2025-01-02T03:04:05Z');
  });

  test('a contract reads as its name, verification, proxy and signatures', () => {
    const output = {
      // As get_contract answers (crates/aomi-tools/src/chain/contract.rs).
      data: {
        address: '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48',
        network: 'ethereum',
        chainId: 1,
        name: 'FiatTokenV2_2',
        verified: true,
        verifiedBy: 'etherscan',
        proxy: true,
        implementation: '0x43506849D7C04F9138D1A2050bbF3A0c054402dd',
        readFunctions: ['function balanceOf(address account) view returns (uint256)', 'function decimals() view returns (uint8)'],
        writeFunctions: ['function transfer(address to, uint256 value) returns (bool)'],
        events: ['event Transfer(address indexed from, address indexed to, uint256 value)'],
        errors: 0,
        fromCache: false,
        fetchedAt: '2026-11-24T00:00:00Z',
      },
      summary: '0xA0b8…eB48 is FiatTokenV2_2, a proxy: 2 read-only and 1 state-changing functions, 1 events (etherscan)',
    };
    const { container } = render(
      <ToolCard part={{ type: 'tool-get_contract', ...base, state: 'output-available', output } as unknown as AnyToolPart} />,
    );
    expect(screen.getByRole('region', { name: /Contract/ })).toBeTruthy();
    expect(screen.getByText('FiatTokenV2_2')).toBeTruthy();
    expect(screen.getByText('verified (etherscan)')).toBeTruthy();
    expect(container.querySelector('.contract-summary p .chain-ref')?.getAttribute('data-value')).toBe(
      '0x43506849D7C04F9138D1A2050bbF3A0c054402dd',
    );
    const sections = [...container.querySelectorAll('.contract-summary summary')].map(node => node.textContent);
    expect(sections).toEqual(['Read (2)', 'Write (1)', 'Events (1)']);
    expect(screen.getByText('function transfer(address to, uint256 value) returns (bool)')).toBeTruthy();
  });
});
