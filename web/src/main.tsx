import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { WagmiProvider } from 'wagmi';

import { App } from './App';
import { createWagmiConfig } from './wallet/config';
import './styles.css';

const queryClient = new QueryClient();

async function start() {
  const root = document.getElementById('root');
  if (!root) return;
  const config = await createWagmiConfig();
  createRoot(root).render(
    <StrictMode>
      <WagmiProvider config={config}>
        <QueryClientProvider client={queryClient}>
          <App />
        </QueryClientProvider>
      </WagmiProvider>
    </StrictMode>,
  );
}

void start();
