import { render, screen } from '@testing-library/react';
import { afterEach, describe, expect, test, vi } from 'vitest';

import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { WagmiProvider } from 'wagmi';

import { createWagmiConfig } from './config';
import { linkToken, TelegramLink } from './TelegramLink';

async function show(hash: string) {
  window.history.replaceState(null, '', `/telegram/link${hash}`);
  // No one is signed in.
  vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify({ address: null, required: false }))));
  const config = await createWagmiConfig();
  render(
    <WagmiProvider config={config}>
      <QueryClientProvider client={new QueryClient()}>
        <TelegramLink />
      </QueryClientProvider>
    </WagmiProvider>,
  );
}

describe('TelegramLink', () => {
  afterEach(() => vi.unstubAllGlobals());

  test('the token is what follows #', () => {
    expect(linkToken('#abc123')).toBe('abc123');
    expect(linkToken('')).toBe('');
  });

  test('without a wallet it asks for one; without a token it says to ask the bot again', async () => {
    await show('#0123abcd');
    expect(screen.getByRole('region', { name: 'Bind your wallet to Telegram' }).textContent).toContain('Connect the wallet');
    await show('');
    expect(screen.getByRole('alert').textContent).toContain('send /wallet to the bot');
  });
});
