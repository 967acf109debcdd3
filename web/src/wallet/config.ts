// wagmi's configuration: the networks of the menu, the injected wallet (EIP-1193, and every wallet
// that announces itself with EIP-6963), WalletConnect when a project id is configured at build time.
import { createConfig, createStorage, http, injected, type Config, type CreateConnectorFn } from 'wagmi';
import type { Transport } from 'viem';

import { chains } from '../lib/networks';

const walletConnectProjectId = import.meta.env.VITE_WALLETCONNECT_PROJECT_ID as string | undefined;

/** The page's wagmi config. The connection is kept in localStorage, so it survives a reload. */
export async function createWagmiConfig(): Promise<Config> {
  const connectors: CreateConnectorFn[] = [injected()];
  if (walletConnectProjectId) {
    // Loaded only when configured: the WalletConnect client is large.
    const { walletConnect } = await import('wagmi/connectors');
    connectors.push(walletConnect({ projectId: walletConnectProjectId, showQrModal: true }));
  }
  return createConfig({
    chains,
    connectors,
    transports: Object.fromEntries(chains.map(chain => [chain.id, http()])) as Record<
      (typeof chains)[number]['id'],
      Transport
    >,
    storage: createStorage({ storage: window.localStorage, key: 'aomi.wagmi' }),
    multiInjectedProviderDiscovery: true,
  });
}
