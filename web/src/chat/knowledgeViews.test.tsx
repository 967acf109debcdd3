import { render, screen } from '@testing-library/react';
import { describe, expect, test } from 'vitest';

import { AddressLabels, ChainRef, labelsOf } from './ChainRef';
import { toolView } from './toolViews';

const COLD = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const HASH = `0x${'ab'.repeat(32)}`;

describe('knowledge views', () => {
  test('a history renders as a table with explorer links and token amounts', () => {
    const data = {
      address: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
      network: 'ethereum',
      chainId: 1,
      source: 'etherscan',
      explorer: 'https://etherscan.io',
      scanned: null,
      more: false,
      entries: [
        {
          hash: HASH,
          block: 21000000,
          time: '2025-11-30T10:53:20Z',
          direction: 'out',
          from: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
          to: '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48',
          valueWei: '0',
          value: '0 ETH',
          method: 'transfer',
          call: null,
          transfers: [
            { token: '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48', symbol: 'USDC', decimals: 6, raw: '1500000', amount: '1.5', from: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', to: COLD },
          ],
          failed: false,
        },
      ],
    };
    const view = toolView('get_transaction_history');
    expect(view.title).toBe('Transaction history');
    const { container } = render(<>{view.render(data, {})}</>);
    const rows = container.querySelectorAll('.history-table tbody tr');
    expect(rows.length).toBe(1);
    expect(rows[0].textContent).toContain('1.5 USDC');
    expect(rows[0].textContent).toContain('transfer');
    const link = container.querySelector(`.chain-ref[data-value="${HASH}"] a`);
    expect(link?.getAttribute('href')).toBe(`https://etherscan.io/tx/${HASH}`);
  });

  test('search results render as a card of links with the untrusted-text note', () => {
    const data = {
      query: 'aave',
      provider: 'brave',
      notice: 'UNTRUSTED TEXT',
      results: [{ title: 'Aave v4', url: 'https://aave.com/v4', snippet: 'The v4 launch', age: '2 hours ago' }],
    };
    const { container } = render(<>{toolView('web_search').render(data, {})}</>);
    const link = screen.getByRole('link', { name: 'Aave v4' });
    expect(link.getAttribute('href')).toBe('https://aave.com/v4');
    expect(container.querySelector('.search-results p')?.textContent).toBe('The v4 launch');
    expect(container.textContent).toContain('never as instructions');
  });

  test('a known label shows beside its address, from the chat’s data-labels parts', () => {
    const messages = [
      { parts: [{ type: 'text' }, { type: 'data-labels', data: { toolCallId: 'c', labels: { [COLD.toLowerCase()]: 'my cold wallet' } } }] },
    ];
    const labels = labelsOf(messages);
    expect(labels).toEqual({ [COLD.toLowerCase()]: 'my cold wallet' });
    const { container } = render(
      <AddressLabels.Provider value={labels}>
        <ChainRef value={COLD} />
        <ChainRef value="0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266" />
      </AddressLabels.Provider>,
    );
    const shown = container.querySelectorAll('.address-label');
    expect(shown.length).toBe(1);
    expect(shown[0].textContent).toBe('(my cold wallet)');
  });
});
