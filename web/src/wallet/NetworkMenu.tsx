// The network menu: the networks the server reads. With a wallet it asks the wallet to switch; without
// one it picks the network the next turns are about. Either way the very next message carries it. A
// wallet on a network the server does not read sees it named as such, so a failed read is no surprise.
import { useState } from 'react';

import { chainColour, chainName, isServed, menuChains } from '../lib/networks';
import { errorMessage } from '../lib/api';
import { ChevronIcon } from '../icons';

export function NetworkMenu({ chainId, onSwitch }: { chainId: number; onSwitch: (chainId: number) => Promise<void> }) {
  const [error, setError] = useState<string>();
  const chains = menuChains();
  const listed = chains.some(chain => chain.id === chainId);
  const served = isServed(chainId);
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
        {listed ? null : (
          <option value={chainId}>
            {chainName(chainId)}
            {served ? '' : ' (not read by aomi)'}
          </option>
        )}
        {chains.map(chain => (
          <option key={chain.id} value={chain.id}>
            {chain.name}
          </option>
        ))}
      </select>
      <ChevronIcon size={14} className="chevron" />
      {served ? null : (
        <p className="network-note" role="status">
          aomi does not read {chainName(chainId)}: pick one of its networks to ask about the chain.
        </p>
      )}
      {error ? (
        <p className="network-error" role="alert">
          {error}
        </p>
      ) : null}
    </div>
  );
}
