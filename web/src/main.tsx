import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { WagmiProvider } from 'wagmi';

import { App } from './App';
import { loadNetworks } from './lib/networks';
import { createWagmiConfig } from './wallet/config';
import { TelegramLink } from './wallet/TelegramLink';
import './styles.css';

const queryClient = new QueryClient();

async function start() {
  const root = document.getElementById('root');
  if (!root) return;
  // The server's networks make the menu and wagmi's chains, so they come before both.
  await loadNetworks();
  const config = await createWagmiConfig();
  createRoot(root).render(
    <StrictMode>
      <WagmiProvider config={config}>
        <QueryClientProvider client={queryClient}>
          {/* The Telegram bot's one-time link opens its own small view. */}
          {window.location.pathname.replace(/\/$/, '') === '/telegram/link' ? <TelegramLink /> : <App />}
        </QueryClientProvider>
      </WagmiProvider>
    </StrictMode>,
  );
}

void start();
