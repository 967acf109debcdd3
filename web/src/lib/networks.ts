// The networks the page knows: names, colours, native coins and block explorers.
import { arbitrum, base, foundry, mainnet, optimism, polygon, sepolia } from 'viem/chains';
import type { Chain } from 'viem';

/** The local devnet (`aomi devnet`): anvil's chain id. */
export const devnet: Chain = { ...foundry, name: 'Devnet' };

/** The chains of the network menu, in its order. */
export const chains = [mainnet, base, arbitrum, optimism, polygon, sepolia, devnet] as const;

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

/** The chain with this id, if the page knows it. */
export function chainById(id: number | undefined): Chain | undefined {
  return chains.find(chain => chain.id === id);
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
