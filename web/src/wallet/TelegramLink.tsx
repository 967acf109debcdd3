// /telegram/link#<token>: binds the Telegram account that asked the bot's /wallet to the wallet
// signed in here. The token rides in the fragment, which the browser never sends to a server.
import { useState } from 'react';

import { ShieldIcon, Spinner } from '../icons';
import { shorten } from '../lib/address';
import { bindTelegram, errorMessage } from '../lib/api';
import { useSignIn } from './useSignIn';
import { useWalletContext } from './useWalletContext';
import { WalletButton } from './WalletButton';

/** The link's token: what follows `#`. */
export function linkToken(hash: string): string {
  return hash.replace(/^#/, '').trim();
}

export function TelegramLink() {
  const { wallet } = useWalletContext();
  const auth = useSignIn(wallet.address, wallet.chainId);
  const [state, setState] = useState<{ busy?: boolean; done?: string; error?: string }>({});
  const token = linkToken(window.location.hash);

  const bind = async () => {
    setState({ busy: true });
    try {
      const linked = await bindTelegram(token);
      setState({ done: linked.address });
    } catch (error) {
      setState({ error: errorMessage(error) });
    }
  };

  return (
    <main className="main">
      <header className="topbar">
        <div className="topbar-spacer" />
        <WalletButton />
      </header>
      <section className="signin-card" aria-label="Bind your wallet to Telegram">
        <ShieldIcon size={22} />
        <h2>Bind your wallet to Telegram</h2>
        {!token ? (
          <p role="alert">This link holds no token: send /wallet to the bot for a new one.</p>
        ) : state.done ? (
          <p role="status">
            Done: your Telegram chats with aomi now act as <span className="mono">{shorten(state.done)}</span>. You can close this page.
          </p>
        ) : !wallet.address ? (
          <p>Connect the wallet your Telegram chats should act as (the button above).</p>
        ) : !auth.signedIn ? (
          <>
            <p>
              Sign a message with <span className="mono">{shorten(wallet.address)}</span> to prove it is yours: it is free and sends no
              transaction.
            </p>
            <button type="button" className="button primary" onClick={() => void auth.signIn()} disabled={auth.busy}>
              {auth.busy ? <Spinner size={14} /> : null} Sign in
            </button>
          </>
        ) : (
          <>
            <p>
              Your Telegram chats with aomi will act as <span className="mono">{shorten(wallet.address)}</span>. Transactions are still signed
              here, never in Telegram.
            </p>
            <button type="button" className="button primary" onClick={() => void bind()} disabled={state.busy}>
              {state.busy ? <Spinner size={14} /> : null} Bind this wallet
            </button>
          </>
        )}
        {state.error || auth.error ? (
          <p className="tool-error" role="alert">
            {state.error ?? auth.error}
          </p>
        ) : null}
      </section>
    </main>
  );
}
