import { fireEvent, render, screen } from '@testing-library/react';
import { describe, expect, test, vi } from 'vitest';

import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { WagmiProvider } from 'wagmi';

import type { AomiMessage } from '../lib/types';
import { createWagmiConfig } from '../wallet/config';
import { MessageView, parameterTypes, SEND_ANYWAY_TEXT, walletTransactionFor, type MessageContext } from './MessageView';

const context: MessageContext = { progress: {}, live: false, last: true, chainId: 1, onWalletOutcome: vi.fn() };

describe('MessageView', () => {
  test('a user message is plain text in a bubble (no Markdown)', () => {
    const message: AomiMessage = { id: 'u', role: 'user', parts: [{ type: 'text', text: '**not bold**' }] };
    const { container } = render(<MessageView message={message} context={context} />);
    expect(container.querySelector('.bubble')?.textContent).toBe('**not bold**');
    expect(container.querySelector('strong')).toBeNull();
  });

  test('a user message can be copied and edited; the editor sends the new words or leaves them', () => {
    const message: AomiMessage = { id: 'u', role: 'user', parts: [{ type: 'text', text: 'what is ETH?' }] };
    const edit = { editing: false, start: vi.fn(), send: vi.fn(), cancel: vi.fn() };
    const { rerender } = render(<MessageView message={message} context={{ ...context, edit }} />);
    expect(screen.getByRole('button', { name: 'Copy your message' })).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Edit your message' }));
    expect(edit.start).toHaveBeenCalledOnce();

    rerender(<MessageView message={message} context={{ ...context, edit: { ...edit, editing: true } }} />);
    const box = screen.getByRole('textbox', { name: 'Edit your message' }) as HTMLTextAreaElement;
    expect(box.value).toBe('what is ETH?');
    fireEvent.keyDown(box, { key: 'Escape' });
    expect(edit.cancel).toHaveBeenCalledOnce();
    fireEvent.change(box, { target: { value: 'what is USDC?' } });
    fireEvent.keyDown(box, { key: 'Enter' });
    expect(edit.send).toHaveBeenCalledWith('what is USDC?');
  });

  test('without an edit (a turn runs) there is no edit button; versions switch by index', () => {
    const message: AomiMessage = { id: 'u', role: 'user', parts: [{ type: 'text', text: 'hi' }] };
    const onSelect = vi.fn();
    render(<MessageView message={message} context={{ ...context, versions: { index: 1, count: 3, onSelect } }} />);
    expect(screen.queryByRole('button', { name: 'Edit your message' })).toBeNull();
    expect(screen.getByRole('group', { name: 'Versions' }).textContent).toContain('2/3');
    fireEvent.click(screen.getByRole('button', { name: 'Previous version' }));
    fireEvent.click(screen.getByRole('button', { name: 'Next version' }));
    expect(onSelect.mock.calls).toEqual([[0], [2]]);
  });

  test('the last answer offers another answer; a live one offers nothing', () => {
    const message = { id: 'a', role: 'assistant', parts: [{ type: 'text', text: 'Done.' }] } as AomiMessage;
    const onRegenerate = vi.fn();
    const { rerender } = render(<MessageView message={message} context={{ ...context, onRegenerate }} />);
    fireEvent.click(screen.getByRole('button', { name: 'Another answer' }));
    expect(onRegenerate).toHaveBeenCalledOnce();
    rerender(<MessageView message={message} context={{ ...context, live: true, onRegenerate }} />);
    expect(screen.queryByRole('button', { name: 'Another answer' })).toBeNull();
  });

  test('a plan shows its steps with their states; an unknown data part is left out without an error', () => {
    const message = {
      id: 'a',
      role: 'assistant',
      parts: [
        {
          type: 'data-plan',
          id: 'plan_1',
          data: {
            steps: [
              { toolCallId: 'c1', toolName: 'get_balance', kind: 'read', state: 'done', summary: '1 ETH' },
              { toolCallId: 'c2', toolName: 'get_gas_price', kind: 'read', state: 'running' },
            ],
          },
        },
        { type: 'data-from-the-future', data: { anything: [1, 2] } },
        { type: 'text', text: 'Done.' },
      ],
    } as unknown as AomiMessage;
    const { container } = render(<MessageView message={message} context={context} />);
    const steps = [...container.querySelectorAll('.plan-step')].map(step => step.getAttribute('data-state'));
    expect(steps).toEqual(['done', 'running']);
    expect(screen.getByRole('region', { name: 'Plan' }).textContent).toContain('1 of 2 done');
    expect(container.textContent).toContain('1 ETH');
    expect(container.textContent).not.toContain('anything');
    expect(container.textContent).toContain('Done.');
  });

  test('an answer renders its parts in order: text, tool card, text', () => {
    const message = {
      id: 'a',
      role: 'assistant',
      parts: [
        { type: 'step-start' },
        { type: 'text', text: 'Checking.' },
        { type: 'tool-get_current_time', toolCallId: 'c1', state: 'output-available', input: {}, output: { data: { utc: '2025-01-01T00:00:00Z' }, summary: 'It is 2025.' } },
        { type: 'step-start' },
        { type: 'text', text: 'It is **2025**.' },
      ],
    } as AomiMessage;
    const { container } = render(<MessageView message={message} context={context} />);
    const blocks = [...container.querySelectorAll('.content > *')].map(node => node.className);
    expect(blocks).toEqual(['markdown', 'tool-card state-output-available', 'markdown', 'message-actions']);
    expect(container.querySelector('strong')?.textContent).toBe('2025');
  });

  test('a stored error is a message in the chat, with a way to try again', () => {
    const onRetry = vi.fn();
    const message = {
      id: 'a',
      role: 'assistant',
      parts: [{ type: 'data-error', data: { message: 'The model call failed: 500 stub failure' } }],
      metadata: { incomplete: true },
    } as AomiMessage;
    render(<MessageView message={message} context={{ ...context, onRetry }} />);
    expect(screen.getByRole('alert').textContent).toContain('The model call failed: 500 stub failure');
    screen.getByRole('button', { name: 'Try again' }).click();
    expect(onRetry).toHaveBeenCalledOnce();
  });

  test('a cut-off answer says so', () => {
    const message = { id: 'a', role: 'assistant', parts: [{ type: 'text', text: 'Half' }], metadata: { incomplete: true } } as AomiMessage;
    render(<MessageView message={message} context={context} />);
    expect(screen.getByText('This answer was cut off.')).toBeTruthy();
  });

  test('an answer its user stopped says so, not that it was cut off', () => {
    const message = {
      id: 'a',
      role: 'assistant',
      parts: [{ type: 'text', text: 'Half' }],
      metadata: { incomplete: true, stopped: true },
    } as AomiMessage;
    render(<MessageView message={message} context={context} />);
    expect(screen.getByText('You stopped this answer.')).toBeTruthy();
    expect(screen.queryByText('This answer was cut off.')).toBeNull();
  });

  test('a network request from the model offers the switch', () => {
    const onSwitchNetwork = vi.fn();
    const message = { id: 'a', role: 'assistant', parts: [{ type: 'data-network', data: { chainId: 8453 } }] } as AomiMessage;
    render(<MessageView message={message} context={{ ...context, onSwitchNetwork }} />);
    expect(screen.getByText(/aomi asked to switch to/).textContent).toContain('Base');
    screen.getByRole('button', { name: 'Switch' }).click();
    expect(onSwitchNetwork).toHaveBeenCalledWith(8453);
  });

  const walletCall = { type: 'tool-send_transaction_to_wallet', toolCallId: 'w1', state: 'input-available', input: { to: 'alice.eth', description: 'Send 1.5 USDC' } };
  const walletRequest = (request: Record<string, unknown>) => ({
    type: 'data-wallet-request',
    id: 'w1',
    data: { toolCallId: 'w1', toolName: 'send_transaction_to_wallet', summary: 'Waiting for your wallet', request },
  });
  const USDC = '0x5FbDB2315678afecb367f032d93F642f64180aa3';

  test('a wallet call waits for the server to build its transaction', () => {
    const message = { id: 'a', role: 'assistant', parts: [walletCall] } as AomiMessage;
    render(<MessageView message={message} context={{ ...context, live: true }} />);
    expect(screen.getByText('Preparing the transaction…')).toBeTruthy();
  });

  test('the built transaction opens the review, with the decoded call', async () => {
    const request = {
      chainId: 31337,
      network: 'devnet',
      to: USDC,
      value: '0',
      data: '0xa9059cbb',
      gas: null,
      description: 'Send 1.5 USDC',
      decodedCall: { function: 'transfer(address,uint256)', args: { to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', amount: '1500000' } },
    };
    const message = { id: 'a', role: 'assistant', parts: [walletCall, walletRequest(request)] } as AomiMessage;
    const config = await createWagmiConfig();
    render(
      <WagmiProvider config={config}>
        <QueryClientProvider client={new QueryClient()}>
          <MessageView message={message} context={context} />
        </QueryClientProvider>
      </WagmiProvider>,
    );
    expect(screen.getByRole('region', { name: 'Review transaction' })).toBeTruthy();
    expect(screen.getByText('transfer(address,uint256)')).toBeTruthy();
    expect(screen.getByText('1500000')).toBeTruthy();
    expect(screen.getByText('uint256')).toBeTruthy();
    expect(document.querySelector('.args .chain-ref')?.getAttribute('data-value')).toBe('0x70997970C51812dc3A010C7d01b50e0d17dc79C8');
    expect(screen.getByText('Devnet')).toBeTruthy();
    // No wallet in this browser: signing starts by connecting one; nothing simulated it.
    expect(screen.getByRole('button', { name: 'Connect wallet to sign' })).toBeTruthy();
    expect(screen.getByText(/Not simulated: connect a wallet to simulate\./)).toBeTruthy();
  });

  test('the decoded call takes its parameter types from the server, not from the signature text', () => {
    const decodedCall = {
      function: 'pay',
      args: { to: USDC, 1: '5' },
      inputs: [
        { name: 'to', type: 'address' },
        { name: '', type: 'uint96' },
      ],
    };
    const request = { chainId: 31337, network: 'devnet', to: USDC, value: '0', data: '0x', description: 'Pay', decodedCall };
    const message = { id: 'a', role: 'assistant', parts: [walletCall, walletRequest(request)] } as AomiMessage;
    expect(walletTransactionFor(message, 'w1')?.decoded?.args).toEqual([
      { name: 'to', type: 'address', value: USDC },
      { type: 'uint96', value: '5' },
    ]);
  });

  test('parameter types come from the signature, tuples whole', () => {
    expect(parameterTypes('transfer(address,uint256)')).toEqual(['address', 'uint256']);
    expect(parameterTypes('f((uint256,bytes)[],bool)')).toEqual(['(uint256,bytes)[]', 'bool']);
    expect(parameterTypes('f()')).toEqual([]);
  });

  test('a built transaction with bad fields is refused in the chat, never sent to the wallet', () => {
    const message = {
      id: 'a',
      role: 'assistant',
      parts: [walletCall, walletRequest({ chainId: 1, to: '0x1234', value: '0', description: 'x' })],
    } as AomiMessage;
    render(<MessageView message={message} context={context} />);
    expect(screen.getByText('"to" is not an address: 0x1234')).toBeTruthy();
    expect(screen.queryByRole('button', { name: /Approve/ })).toBeNull();
  });

  test('a transaction the server held back shows its failed simulation under the error', () => {
    const failed = {
      chainId: 31337,
      blockNumber: 7,
      method: 'eth_simulateV1',
      success: false,
      revert: { reason: 'ERC20: transfer amount exceeds balance', kind: 'error' },
      gasUsed: 30000,
      gasPrice: '1000000000',
      estimatedFee: null,
      assetChanges: [],
      approvals: [],
      warnings: [{ id: 'simulation-failed', level: 'danger', message: 'The transaction fails in simulation.' }],
      toolCallId: 'w1',
      summary: 'Simulation: the transaction FAILS.',
    };
    const message = {
      id: 'a',
      role: 'assistant',
      parts: [
        { type: 'data-simulation', id: 'w1', data: failed },
        { ...walletCall, state: 'output-error', errorText: 'The transaction was NOT sent to the wallet.\nExplain this to the user in plain words.' },
      ],
    } as AomiMessage;
    const { container } = render(<MessageView message={message} context={context} />);
    const held = screen.getByRole('region', { name: 'Transaction not sent' });
    expect(held.textContent).toContain('ERC20: transfer amount exceeds balance');
    expect(held.querySelector('.warning.level-danger')?.textContent).toContain('fails in simulation');
    // The card keeps the error's first line; the rest was written for the model.
    const card = container.querySelector('.tool-card.state-output-error');
    expect(card?.textContent).toContain('The transaction was NOT sent to the wallet.');
    expect(card?.textContent).not.toContain('Explain this to the user');
    expect(screen.queryByRole('button', { name: /Approve/ })).toBeNull();
    // Without a way to answer (an earlier message, or a turn still running) there is no "Send anyway".
    expect(screen.queryByRole('button', { name: 'Send anyway' })).toBeNull();
  });

  test('the last held-back transaction offers "Send anyway", which is the person speaking', () => {
    const report = {
      chainId: 31337,
      success: true,
      assetChanges: [],
      approvals: [],
      warnings: [{ id: 'approval-spender-not-contract', level: 'danger', message: 'The approval goes to an ordinary account.' }],
    };
    const held = (id: string) => [
      { type: 'data-simulation', id, data: { ...report, toolCallId: id } },
      { ...walletCall, toolCallId: id, state: 'output-error', errorText: 'The transaction was NOT sent to the wallet.' },
    ];
    const message = { id: 'a', role: 'assistant', parts: [...held('w1'), ...held('w2'), { type: 'text', text: 'Not sent.' }] } as AomiMessage;
    const onSendAnyway = vi.fn();
    render(<MessageView message={message} context={{ ...context, onSendAnyway }} />);
    const sections = screen.getAllByRole('region', { name: 'Transaction not sent' });
    expect(sections.length).toBe(2);
    // One button, under the report of the last held-back call.
    expect(screen.getAllByRole('button', { name: 'Send anyway' }).length).toBe(1);
    const button = sections[1].querySelector('button');
    expect(button?.textContent).toBe('Send anyway');
    button?.click();
    expect(onSendAnyway).toHaveBeenCalledOnce();
    expect(SEND_ANYWAY_TEXT).toMatch(/^Send it anyway/);
  });
});
