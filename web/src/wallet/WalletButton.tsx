// Connect and disconnect the wallet; shows the connected address.
import { useEffect, useRef, useState } from 'react';
import { useAccount, useConnect, useDisconnect } from 'wagmi';

import { CopyButton } from '../chat/ChainRef';
import { ExternalIcon, WalletIcon } from '../icons';
import { errorMessage } from '../lib/api';
import { shorten } from '../lib/address';
import { explorerUrl } from '../lib/networks';

/** A colour pair derived from the address, so a person recognises their wallet at a glance. */
function addressGradient(address: string): string {
  const hue = parseInt(address.slice(2, 8), 16) % 360;
  const hue2 = parseInt(address.slice(-6), 16) % 360;
  return `linear-gradient(135deg, hsl(${hue} 80% 60%), hsl(${hue2} 80% 45%))`;
}

export function WalletButton() {
  const account = useAccount();
  const { connectors, connect, status: connectStatus, error: connectError } = useConnect();
  const { disconnect } = useDisconnect();
  const [open, setOpen] = useState(false);
  const menu = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    const close = (event: MouseEvent | KeyboardEvent) => {
      if (event instanceof KeyboardEvent ? event.key === 'Escape' : !menu.current?.contains(event.target as Node)) {
        setOpen(false);
      }
    };
    document.addEventListener('mousedown', close);
    document.addEventListener('keydown', close);
    return () => {
      document.removeEventListener('mousedown', close);
      document.removeEventListener('keydown', close);
    };
  }, [open]);

  if (account.status === 'connected' && account.address) {
    const url = account.chainId ? explorerUrl(account.chainId, 'address', account.address) : undefined;
    return (
      <div className="wallet" ref={menu}>
        <button
          type="button"
          className="wallet-button connected"
          aria-haspopup="menu"
          aria-expanded={open}
          onClick={() => setOpen(!open)}
          data-address={account.address}
        >
          <span className="wallet-avatar" style={{ background: addressGradient(account.address) }} />
          <span className="mono">{shorten(account.address)}</span>
        </button>
        {open ? (
          <div className="menu" role="menu">
            <div className="menu-header">
              <span className="muted small">Connected with {account.connector?.name ?? 'a wallet'}</span>
              <span className="mono break small">{account.address}</span>
            </div>
            <div className="menu-row">
              <CopyButton text={account.address} label="Copy address" />
              {url ? (
                <a className="icon-button tiny" href={url} target="_blank" rel="noreferrer" aria-label="Open address in the explorer">
                  <ExternalIcon size={13} />
                </a>
              ) : null}
            </div>
            <button
              type="button"
              role="menuitem"
              className="button secondary small full"
              onClick={() => {
                disconnect();
                setOpen(false);
              }}
            >
              Disconnect
            </button>
          </div>
        ) : null}
      </div>
    );
  }

  const connecting = account.status === 'connecting' || account.status === 'reconnecting' || connectStatus === 'pending';
  // EIP-6963 announces each installed wallet; the generic injected connector covers the rest.
  const announced = connectors.filter(connector => connector.type === 'injected' && connector.id !== 'injected');
  const choices = announced.length > 0 ? [...announced, ...connectors.filter(c => c.type !== 'injected')] : connectors;

  return (
    <div className="wallet" ref={menu}>
      <button
        type="button"
        className="wallet-button"
        disabled={connecting}
        aria-haspopup={choices.length > 1 ? 'menu' : undefined}
        aria-expanded={choices.length > 1 ? open : undefined}
        onClick={() => (choices.length === 1 ? connect({ connector: choices[0] }) : setOpen(!open))}
      >
        <WalletIcon size={16} />
        <span>{connecting ? 'Connecting…' : 'Connect wallet'}</span>
      </button>
      {connectError && !open ? (
        <p className="wallet-error" role="alert">
          {errorMessage(connectError)}
        </p>
      ) : null}
      {open ? (
        <div className="menu" role="menu" aria-label="Choose a wallet">
          {choices.map(connector => (
            <button
              key={connector.uid}
              type="button"
              role="menuitem"
              className="menu-item"
              onClick={() => {
                connect({ connector });
                setOpen(false);
              }}
            >
              {connector.icon ? <img src={connector.icon} alt="" width={20} height={20} /> : <WalletIcon size={18} />}
              <span>{connector.name}</span>
            </button>
          ))}
        </div>
      ) : null}
    </div>
  );
}
