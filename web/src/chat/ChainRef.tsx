// An address or a hash as a person wants it: short, monospaced, one click to copy, one to the explorer.
import { createContext, useContext, useState } from 'react';

import { isHash, shorten } from '../lib/address';
import { explorerUrl } from '../lib/networks';
import { CheckIcon, CopyIcon, ExternalIcon } from '../icons';

/** The chain that explorer links point to (the wallet's, unless a tool's data names another). */
export const ExplorerChain = createContext<number>(1);

/** Known labels by lower-case address (the chat's `data-labels` parts), shown beside addresses. */
export const AddressLabels = createContext<Record<string, string>>({});

/** The labels the chat's messages carry, later ones over earlier ones. */
export function labelsOf(messages: { parts: { type: string; data?: unknown }[] }[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const message of messages) {
    for (const part of message.parts) {
      if (part.type !== 'data-labels' || typeof part.data !== 'object' || part.data === null) continue;
      const found = (part.data as { labels?: unknown }).labels;
      if (typeof found !== 'object' || found === null) continue;
      for (const [address, label] of Object.entries(found)) {
        if (typeof label === 'string') labels[address.toLowerCase()] = label;
      }
    }
  }
  return labels;
}

/** Copies text and says so for a moment. */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      className="icon-button tiny"
      aria-label={copied ? 'Copied' : label}
      title={copied ? 'Copied' : label}
      onClick={() => {
        void navigator.clipboard?.writeText(text).then(() => {
          setCopied(true);
          setTimeout(() => setCopied(false), 1500);
        });
      }}
    >
      {copied ? <CheckIcon size={13} /> : <CopyIcon size={13} />}
    </button>
  );
}

/** An address or a 32-byte hash, shortened, with copy and explorer buttons. */
export function ChainRef({ value, chainId, kind }: { value: string; chainId?: number; kind?: 'address' | 'tx' }) {
  const contextChain = useContext(ExplorerChain);
  const label = useContext(AddressLabels)[value.toLowerCase()];
  const resolvedKind = kind ?? (isHash(value) ? 'tx' : 'address');
  const url = explorerUrl(chainId ?? contextChain, resolvedKind, value);
  const what = resolvedKind === 'tx' ? 'transaction hash' : 'address';
  return (
    <span className="chain-ref" data-value={value}>
      <span className="mono" title={value}>
        {shorten(value)}
      </span>
      {label && resolvedKind === 'address' ? <span className="address-label">({label})</span> : null}
      <CopyButton text={value} label={`Copy ${what} ${value}`} />
      {url ? (
        <a className="icon-button tiny" href={url} target="_blank" rel="noreferrer" aria-label={`Open ${what} in the explorer`} title="Open in the explorer">
          <ExternalIcon size={13} />
        </a>
      ) : null}
    </span>
  );
}
