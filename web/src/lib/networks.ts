// The networks the page offers: the ones the server reads (`GET /api/networks`), loaded once before
// the page renders, with names, colours, native coins and block explorers. viem's chain list only
// fills in what the server does not say (a familiar name, a public RPC URL for wagmi), and names a
// chain the wallet is on that the server does not read.
import { defineChain, type Chain } from 'viem';
import { arbitrum, base, foundry, mainnet, optimism, polygon, sepolia } from 'viem/chains';

import type { NetworkList } from './types';

/** The local devnet (`aomi devnet`): anvil's chain id. */
export const devnet: Chain = { ...foundry, name: 'Devnet' };

/** Chains the page can name without the server: used while the server's list is not known, or when
 * it has none (a server without a chain layer), and to name a wallet's chain the server does not read. */
const familiar = [mainnet, base, arbitrum, optimism, polygon, sepolia, devnet] as const;

/** A colour per chain for the small dot beside its name. */
const colours: Record<number, string> = {
  [mainnet.id]: '#627eea',
  [base.id]: '#0052ff',
  [arbitrum.id]: '#28a0f0',
  [optimism.id]: '#ff0420',
  [polygon.id]: '#8247e5',
  [sepolia.id]: '#cfb5f0',
  [devnet.id]: '#f59e0b',
};

/** What the page knows of the server's networks. */
interface Loaded {
  /** The networks of the menu, in the server's order. */
  chains: readonly [Chain, ...Chain[]];
  /** The ids of the chains the server reads; empty when it did not say. */
  served: ReadonlySet<number>;
  /** The chain a chat starts on when no wallet is connected. */
  defaultId: number;
}

/** Before the server answers, or when it reads no network: the familiar chains, Ethereum first. */
const unknownServer: Loaded = { chains: familiar, served: new Set(), defaultId: mainnet.id };

let loaded = unknownServer;

/** `base-sepolia` → `Base Sepolia`: a server name people can read, where viem has none. */
function titleCase(name: string): string {
  return name
    .split(/[-_\s]+/)
    .filter(Boolean)
    .map(word => word[0].toUpperCase() + word.slice(1))
    .join(' ');
}

/** The page's chains from the server's list; the familiar ones when the list is empty. */
export function networksFrom(list: NetworkList): Loaded {
  const chains = list.networks.map(network => {
    const known: Chain | undefined = familiar.find(chain => chain.id === network.chainId);
    return defineChain({
      id: network.chainId,
      name: known?.name ?? titleCase(network.name),
      nativeCurrency: network.nativeCurrency,
      // The server keeps its RPC URLs to itself (they often carry keys); wagmi gets a public one
      // where viem knows it. The page reads the chain through the wallet or the server anyway.
      rpcUrls: { default: { http: known ? [...known.rpcUrls.default.http] : [] } },
      blockExplorers: network.explorer ? { default: { name: 'Explorer', url: network.explorer } } : undefined,
      testnet: network.testnet,
    });
  });
  const [first, ...rest] = chains;
  if (!first) return unknownServer;
  const defaultId = list.networks.find(network => network.name === list.default)?.chainId ?? first.id;
  return { chains: [first, ...rest], served: new Set(chains.map(chain => chain.id)), defaultId };
}

/** Loads the server's networks; on failure the page keeps the familiar list (and says nothing: the
 * chat itself reports an unreachable server). */
export async function loadNetworks(): Promise<void> {
  try {
    const response = await fetch('/api/networks');
    if (response.ok) loaded = networksFrom((await response.json()) as NetworkList);
  } catch {
    // Offline or no server: the familiar list stays.
  }
}

/** Replaces what the page knows (tests). */
export function setNetworks(next: Loaded): void {
  loaded = next;
}

/** The chains of the network menu, in its order. */
export function menuChains(): readonly [Chain, ...Chain[]] {
  return loaded.chains;
}

/** The chain a chat starts on when no wallet is connected: the server's default network. */
export function defaultChainId(): number {
  return loaded.defaultId;
}

/** False for a chain the server said it does not read (true while the server has not said). */
export function isServed(id: number): boolean {
  return loaded.served.size === 0 || loaded.served.has(id);
}

/** The chain with this id: the server's, else a familiar one. */
export function chainById(id: number | undefined): Chain | undefined {
  return loaded.chains.find(chain => chain.id === id) ?? (familiar as readonly Chain[]).find(chain => chain.id === id);
}

/** The chain's name, or `Chain <id>` for one the page does not know. */
export function chainName(id: number): string {
  return chainById(id)?.name ?? `Chain ${id}`;
}

/** The chain's colour. */
export function chainColour(id: number): string {
  return colours[id] ?? '#94a3b8';
}

/** The chain's native coin: symbol and decimals (18 for an unknown chain, as on every EVM chain). */
export function nativeCurrency(id: number): { symbol: string; decimals: number } {
  const chain = chainById(id);
  return { symbol: chain?.nativeCurrency.symbol ?? 'ETH', decimals: chain?.nativeCurrency.decimals ?? 18 };
}

/** The block explorer's page of an address or a transaction, if the chain has an explorer. */
export function explorerUrl(chainId: number, kind: 'address' | 'tx', value: string): string | undefined {
  const url = chainById(chainId)?.blockExplorers?.default.url;
  return url ? `${url.replace(/\/$/, '')}/${kind}/${value}` : undefined;
}
