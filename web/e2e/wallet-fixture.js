// A real EIP-1193 provider object for end-to-end tests, injected into the page before its scripts
// run. It answers what a wallet answers itself (accounts, chain, permissions, network switches, the
// person's approval) and forwards everything else, eth_sendTransaction included, to a node's
// JSON-RPC (anvil, whose dev accounts are unlocked and sign). It announces itself with EIP-6963, as
// installed wallets do, and remembers the site's connection and chain across reloads, as they do.
//
// Configured by the object passed to it: { accounts, chainId, chains, rpcUrls: {chainId: url},
// rejectTransactions, rejectSignatures, eip5792 }. With `eip5792` it is a wallet that batches
// (EIP-5792): wallet_getCapabilities says atomic batches are supported, wallet_sendCalls runs the
// calls on the node in order, all or none (an anvil snapshot, reverted when one fails), and
// wallet_getCallsStatus answers their receipts; without it those methods are unknown, as in a plain
// wallet. Every request is logged in window.__aomiWalletLog. Its node
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

  /** The batches sent with wallet_sendCalls: id → status (EIP-5792 `wallet_getCallsStatus`), kept
   * across reloads as a wallet keeps them. */
  const batches = {
    get: id => store.get('calls', {})[id],
    set: (id, status) => store.set('calls', { ...store.get('calls', {}), [id]: status }),
  };
  const unsupported = method => rpcError(4200, `The wallet does not support ${method}.`);

  /** Runs `calls` in order from `from`, all or none: a revert rolls the node back to before them. */
  async function sendCalls({ chainId: wanted, from, calls }) {
    if (parseInt(wanted, 16) !== chainId) throw rpcError(4902, `the wallet is on chain ${chainId}, not ${wanted}`);
    if (config.rejectTransactions) throw rpcError(4001, 'User rejected the request.');
    const snapshot = await forward('evm_snapshot', []);
    const receipts = [];
    let ok = true;
    for (const call of calls) {
      const hash = await forward('eth_sendTransaction', [{ from: from ?? accounts[0], to: call.to, value: call.value ?? '0x0', data: call.data ?? '0x' }]);
      const receipt = await forward('eth_getTransactionReceipt', [hash]);
      receipts.push({
        logs: receipt.logs,
        status: receipt.status,
        blockHash: receipt.blockHash,
        blockNumber: receipt.blockNumber,
        gasUsed: receipt.gasUsed,
        transactionHash: receipt.transactionHash,
      });
      if (receipt.status !== '0x1') {
        ok = false;
        break;
      }
    }
    if (!ok) await forward('evm_revert', [snapshot]);
    const id = `0x${crypto.getRandomValues(new Uint8Array(32)).reduce((text, byte) => text + byte.toString(16).padStart(2, '0'), '')}`;
    // 200: confirmed; 400: failed off chain, nothing changed (the snapshot was restored).
    batches.set(id, { version: '2.0.0', id, chainId: hex(chainId), atomic: true, status: ok ? 200 : 400, receipts: ok ? receipts : [] });
    return { id };
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
        case 'wallet_getCapabilities':
          if (!config.eip5792) throw unsupported(method);
          return Object.fromEntries(config.chains.map(id => [hex(id), { atomic: { status: 'supported' } }]));
        case 'wallet_sendCalls':
          if (!config.eip5792) throw unsupported(method);
          return sendCalls(params[0]);
        case 'wallet_getCallsStatus': {
          if (!config.eip5792) throw unsupported(method);
          const status = batches.get(params[0]);
          if (!status) throw rpcError(5730, `Unknown bundle id ${params[0]}`);
          return status;
        }
        case 'wallet_showCallsStatus':
          if (!config.eip5792) throw unsupported(method);
          return null;
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
