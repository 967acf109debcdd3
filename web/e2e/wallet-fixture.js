// A real EIP-1193 provider object for end-to-end tests, injected into the page before its scripts
// run. It answers what a wallet answers itself (accounts, chain, permissions, network switches, the
// person's approval) and forwards everything else, eth_sendTransaction included, to a node's
// JSON-RPC (anvil, whose dev accounts are unlocked and sign). It announces itself with EIP-6963, as
// installed wallets do, and remembers the site's connection and chain across reloads, as they do.
//
// Configured by the object passed to it: { accounts, chainId, chains, rpcUrls: {chainId: url},
// rejectTransactions, rejectSignatures }. Every request is logged in window.__aomiWalletLog. Its node
// requests go through window.__aomiWalletRpc when the harness provides it: they run outside the
// page, as a real wallet extension's do, so the page's Content-Security-Policy does not apply.
(config => {
  const store = {
    get: (key, fallback) => {
      const value = localStorage.getItem(`aomi-test-wallet.${key}`);
      return value === null ? fallback : JSON.parse(value);
    },
    set: (key, value) => localStorage.setItem(`aomi-test-wallet.${key}`, JSON.stringify(value)),
  };
  const hex = n => `0x${n.toString(16)}`;
  const listeners = new Map();
  const emit = (event, value) => (listeners.get(event) ?? []).forEach(listener => listener(value));
  const log = (window.__aomiWalletLog = []);
  let chainId = store.get('chainId', config.chainId);
  let connected = store.get('connected', false);
  // The wallet's accounts, the one in use first (as wallets answer eth_accounts).
  let accounts = [...config.accounts];
  /** What a person does in the wallet's own menu: use another of its accounts. */
  window.__aomiWalletUseAccount = index => {
    accounts = [config.accounts[index], ...config.accounts.filter((_, i) => i !== index)];
    emit('accountsChanged', accounts);
  };

  const rpcError = (code, message) => Object.assign(new Error(message), { code });

  async function forward(method, params) {
    const url = (config.rpcUrls ?? {})[chainId];
    if (!url) throw rpcError(4200, `the test wallet has no node for chain ${chainId} (${method})`);
    const request = { jsonrpc: '2.0', id: log.length, method, params: params ?? [] };
    const body = window.__aomiWalletRpc
      ? await window.__aomiWalletRpc(url, request)
      : await (
          await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) })
        ).json();
    if (body.error) throw rpcError(body.error.code, body.error.message);
    return body.result;
  }

  const provider = {
    isAomiTestWallet: true,
    async request({ method, params }) {
      log.push({ method, params });
      switch (method) {
        case 'eth_requestAccounts':
          if (!connected) {
            connected = true;
            store.set('connected', true);
            emit('connect', { chainId: hex(chainId) });
            emit('accountsChanged', accounts);
          }
          return accounts;
        case 'eth_accounts':
          return connected ? accounts : [];
        case 'eth_chainId':
          return hex(chainId);
        case 'net_version':
          return String(chainId);
        case 'wallet_requestPermissions':
        case 'wallet_getPermissions':
          return connected ? [{ parentCapability: 'eth_accounts' }] : [];
        case 'wallet_revokePermissions':
          connected = false;
          store.set('connected', false);
          emit('accountsChanged', []);
          return null;
        case 'wallet_switchEthereumChain': {
          const next = parseInt(params[0].chainId, 16);
          if (!config.chains.includes(next)) throw rpcError(4902, `Unrecognized chain ID "${hex(next)}".`);
          if (next !== chainId) {
            chainId = next;
            store.set('chainId', next);
            emit('chainChanged', hex(next));
          }
          return null;
        }
        case 'wallet_addEthereumChain':
          // The person declines to add a network the wallet does not have.
          throw rpcError(4001, 'User rejected adding the network.');
        case 'personal_sign':
        case 'eth_signTypedData_v4':
          if (config.rejectSignatures) throw rpcError(4001, 'User rejected the signature request.');
          return forward(method, params);
        case 'eth_sendTransaction':
          if (config.rejectTransactions) throw rpcError(4001, 'User rejected the request.');
          return forward(method, params);
        default:
          return forward(method, params);
      }
    },
    on(event, listener) {
      listeners.set(event, [...(listeners.get(event) ?? []), listener]);
      return provider;
    },
    removeListener(event, listener) {
      listeners.set(event, (listeners.get(event) ?? []).filter(l => l !== listener));
      return provider;
    },
  };

  window.ethereum = provider;
  const info = {
    uuid: '6f1c1a54-1b6c-4a43-9d55-7e0b5c5f0a11',
    name: 'Aomi Test Wallet',
    icon: 'data:image/svg+xml,%3Csvg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"%3E%3Crect width="24" height="24" rx="6" fill="%23f59e0b"/%3E%3C/svg%3E',
    rdns: 'invalid.aomi.testwallet',
  };
  const announce = () =>
    window.dispatchEvent(new CustomEvent('eip6963:announceProvider', { detail: Object.freeze({ info, provider }) }));
  window.addEventListener('eip6963:requestProvider', announce);
  announce();
});
