// The network menu: with a wallet it asks the wallet to switch; without one it picks the network the
// next turns are about. Either way the very next message carries it.
import { useState } from 'react';

import { chainColour, chainName, chains } from '../lib/networks';
import { errorMessage } from '../lib/api';
import { ChevronIcon } from '../icons';

export function NetworkMenu({ chainId, onSwitch }: { chainId: number; onSwitch: (chainId: number) => Promise<void> }) {
  const [error, setError] = useState<string>();
  const known = chains.some(chain => chain.id === chainId);
  return (
    <div className="network">
      <span className="dot" style={{ background: chainColour(chainId) }} aria-hidden="true" />
      <label className="sr-only" htmlFor="network-select">
        Network
      </label>
      <select
        id="network-select"
        value={chainId}
        onChange={event => {
          setError(undefined);
          onSwitch(Number(event.target.value)).catch(e => setError(errorMessage(e)));
        }}
      >
        {known ? null : <option value={chainId}>{chainName(chainId)}</option>}
        {chains.map(chain => (
          <option key={chain.id} value={chain.id}>
            {chain.name}
          </option>
        ))}
      </select>
      <ChevronIcon size={14} className="chevron" />
      {error ? (
        <p className="network-error" role="alert">
          {error}
        </p>
      ) : null}
    </div>
  );
}
