import { afterEach, describe, expect, test } from 'vitest';

import {
  chainName,
  defaultChainId,
  explorerUrl,
  isServed,
  menuChains,
  nativeCurrency,
  networksFrom,
  setNetworks,
} from './networks';
import type { NetworkList } from './types';

const ether = { name: 'Ether', symbol: 'ETH', decimals: 18 };

/** What `aomi serve --devnet` with a Base RPC answers. */
const served: NetworkList = {
  default: 'devnet',
  networks: [
    { name: 'base', chainId: 8453, nativeCurrency: ether, explorer: 'https://basescan.example', ens: false, testnet: false },
    { name: 'devnet', chainId: 31337, nativeCurrency: ether, explorer: null, ens: false, testnet: true },
    {
      name: 'my-l3',
      chainId: 777001,
      nativeCurrency: { name: 'Gas', symbol: 'GAS', decimals: 6 },
      explorer: 'https://l3.example/',
      ens: false,
      testnet: true,
    },
  ],
};

const initial = networksFrom({ default: null, networks: [] });
afterEach(() => setNetworks(initial));

describe('the network menu follows the server', () => {
  test('lists exactly the networks the server reads, in its order, and starts on its default', () => {
    setNetworks(networksFrom(served));
    expect(menuChains().map(chain => chain.id)).toEqual([8453, 31337, 777001]);
    expect(defaultChainId()).toBe(31337);
  });

  test('names a chain as viem knows it, else from the server name', () => {
    setNetworks(networksFrom(served));
    expect(chainName(8453)).toBe('Base');
    expect(chainName(31337)).toBe('Devnet');
    expect(chainName(777001)).toBe('My L3');
  });

  test('takes the coin and explorer from the server, not from viem', () => {
    setNetworks(networksFrom(served));
    expect(nativeCurrency(777001)).toEqual({ symbol: 'GAS', decimals: 6 });
    expect(explorerUrl(8453, 'tx', '0xab')).toBe('https://basescan.example/tx/0xab');
    expect(explorerUrl(777001, 'address', '0xcd')).toBe('https://l3.example/address/0xcd');
    expect(explorerUrl(31337, 'tx', '0xab')).toBeUndefined();
  });

  test('a wallet chain the server does not read is named, and marked unread', () => {
    setNetworks(networksFrom(served));
    expect(isServed(1)).toBe(false);
    expect(chainName(1)).toBe('Ethereum');
    expect(isServed(8453)).toBe(true);
    expect(chainName(999_999)).toBe('Chain 999999');
  });

  test('without a default the first network is the default', () => {
    setNetworks(networksFrom({ default: 'gone', networks: served.networks }));
    expect(defaultChainId()).toBe(8453);
  });

  test('a server that reads no network leaves the familiar list, Ethereum first, nothing marked unread', () => {
    expect(menuChains()[0].id).toBe(1);
    expect(defaultChainId()).toBe(1);
    expect(isServed(8453)).toBe(true);
  });
});
