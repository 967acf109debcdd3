import { render, screen } from '@testing-library/react';
import { describe, expect, test, vi } from 'vitest';

import type { AomiMessage } from '../lib/types';
import { MessageView, type MessageContext } from './MessageView';

const context: MessageContext = { progress: {}, live: false, last: true, chainId: 1, onWalletOutcome: vi.fn() };

describe('MessageView', () => {
  test('a user message is plain text in a bubble (no Markdown)', () => {
    const message: AomiMessage = { id: 'u', role: 'user', parts: [{ type: 'text', text: '**not bold**' }] };
    const { container } = render(<MessageView message={message} context={context} />);
    expect(container.querySelector('.bubble')?.textContent).toBe('**not bold**');
    expect(container.querySelector('strong')).toBeNull();
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
    expect(blocks).toEqual(['markdown', 'tool-card state-output-available', 'markdown']);
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

  test('a network request from the model offers the switch', () => {
    const onSwitchNetwork = vi.fn();
    const message = { id: 'a', role: 'assistant', parts: [{ type: 'data-network', data: { chainId: 8453 } }] } as AomiMessage;
    render(<MessageView message={message} context={{ ...context, onSwitchNetwork }} />);
    expect(screen.getByText(/aomi asked to switch to/).textContent).toContain('Base');
    screen.getByRole('button', { name: 'Switch' }).click();
    expect(onSwitchNetwork).toHaveBeenCalledWith(8453);
  });

  test('a wallet call with bad fields is refused in the chat, never sent to the wallet', () => {
    const message = {
      id: 'a',
      role: 'assistant',
      parts: [{ type: 'tool-send_transaction_to_wallet', toolCallId: 'w1', state: 'input-available', input: { to: 'vitalik', chainId: 1 } }],
    } as AomiMessage;
    render(<MessageView message={message} context={context} />);
    expect(screen.getByText('"to" is not an address: vitalik')).toBeTruthy();
    expect(screen.queryByRole('button', { name: /Approve/ })).toBeNull();
  });
});
