// The wallet's state that goes with every turn: the connected address and the chain it is on, or,
// with no wallet, the network chosen in the page's menu.
import { useCallback, useSyncExternalStore } from 'react';
import { useAccount, useSwitchChain, type Config } from 'wagmi';
import { getAccount } from 'wagmi/actions';

import { defaultChainId, menuChains } from '../lib/networks';

const KEY = 'aomi.network';
const listeners = new Set<() => void>();

/** The network chosen in the menu, if this server still reads it; else the server's default. */
function readSelected(): number {
  const saved = Number(localStorage.getItem(KEY));
  return menuChains().some(chain => chain.id === saved) ? saved : defaultChainId();
}

function subscribe(listener: () => void) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function writeSelected(chainId: number) {
  localStorage.setItem(KEY, String(chainId));
  listeners.forEach(listener => listener());
}

/** The wallet context of a turn, as POST /api/chat takes it. */
export interface WalletContext {
  address?: string;
  chainId: number;
}

function contextOf(account: { status: string; address?: string; chainId?: number }, selected: number): WalletContext {
  const connected = account.status === 'connected';
  return { address: connected ? account.address : undefined, chainId: (connected && account.chainId) || selected };
}

/** The wallet context at this moment, read when a message is sent (not when the page rendered). */
export function walletNow(config: Config): WalletContext {
  return contextOf(getAccount(config), readSelected());
}

/** The current wallet context and a way to change network. */
export function useWalletContext(): {
  wallet: WalletContext;
  /** False while a remembered wallet reconnects after a reload. */
  ready: boolean;
  switchNetwork: (chainId: number) => Promise<void>;
} {
  const account = useAccount();
  const selected = useSyncExternalStore(subscribe, readSelected);
  const { switchChainAsync } = useSwitchChain();
  const connected = account.status === 'connected';
  const { address, chainId } = contextOf(account, selected);

  const switchNetwork = useCallback(
    async (next: number) => {
      // With a wallet the wallet decides (it may refuse); the menu follows the wallet's answer.
      if (connected) await switchChainAsync({ chainId: next as never });
      writeSelected(next);
    },
    [connected, switchChainAsync],
  );

  const ready = account.status !== 'reconnecting' && account.status !== 'connecting';
  return { wallet: { address, chainId }, ready, switchNetwork };
}
