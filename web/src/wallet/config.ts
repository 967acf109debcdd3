// wagmi's configuration: the networks of the menu, the injected wallet (EIP-1193, and every wallet
// that announces itself with EIP-6963), WalletConnect when a project id is configured at build time.
import { createConfig, createStorage, custom, http, injected, type Config, type CreateConnectorFn } from 'wagmi';
import type { Chain, Transport } from 'viem';

import { menuChains } from '../lib/networks';

/** wagmi's transport for a chain: its public RPC where viem knows one; otherwise none to call (the
 * page reads such a chain through the wallet or the server, never directly). */
function transportOf(chain: Chain): Transport {
  if (chain.rpcUrls.default.http.length > 0) return http();
  return custom({
    request: async () => {
      throw new Error(`The page has no RPC URL for ${chain.name}; aomi reads it on the server.`);
    },
  });
}

const walletConnectProjectId = import.meta.env.VITE_WALLETCONNECT_PROJECT_ID as string | undefined;

/** The page's wagmi config, over the server's networks (load them first: `loadNetworks`). The
 * connection is kept in localStorage, so it survives a reload. */
export async function createWagmiConfig(): Promise<Config> {
  const connectors: CreateConnectorFn[] = [injected()];
  if (walletConnectProjectId) {
    // Loaded only when configured: the WalletConnect client is large.
    const { walletConnect } = await import('wagmi/connectors');
    connectors.push(walletConnect({ projectId: walletConnectProjectId, showQrModal: true }));
  }
  const chains = menuChains();
  return createConfig({
    chains,
    connectors,
    transports: Object.fromEntries(chains.map(chain => [chain.id, transportOf(chain)])),
    storage: createStorage({ storage: window.localStorage, key: 'aomi.wagmi' }),
    multiInjectedProviderDiscovery: true,
  });
}
