// Wires the review panel to the wallet: simulation (streamed by the server, else POST /api/simulate),
// network switch, signing, waiting for the receipt, and the outcome back to the turn. The hash is
// kept in localStorage until the outcome is delivered, so a reload never offers to send twice.
import { useCallback, useEffect, useState } from 'react';
import { createPublicClient, custom, type EIP1193Provider } from 'viem';
import { useAccount, useConnect, useSendTransaction, useSwitchChain } from 'wagmi';

import { errorMessage, simulate } from '../lib/api';
import { toBigInt } from '../lib/amount';
import type { GuardPart, SimulationReport, WalletTransaction } from '../lib/types';
import { TransactionReview, type ReviewPhase, type SimulationState } from './TransactionReview';

/** What the page answers for a sent transaction: the hash the server expects, and what the receipt
 * said. */
export interface SentTransaction {
  transactionHash: string;
  chainId: number;
  status: 'success' | 'reverted' | 'pending';
  blockNumber?: number;
}

/** How the wallet's answer goes back to the turn. */
export type WalletOutcome = { output: SentTransaction } | { errorText: string };

/** How long the page waits for a sent transaction's receipt before it reports it as pending. */
const RECEIPT_TIMEOUT_MS = 180_000;

const pendingKey = (toolCallId: string) => `aomi.tx.${toolCallId}`;

function isUserRejection(error: unknown): boolean {
  for (let e = error as { code?: number; name?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.code === 4001 || e.name === 'UserRejectedRequestError') return true;
  }
  return false;
}

/** Checks the transaction's fields before anything reaches the wallet. */
export function checkTransaction(input: unknown): WalletTransaction | string {
  const tx = input as Partial<WalletTransaction> | null;
  if (!tx || typeof tx !== 'object') return 'The wallet request has no transaction.';
  if (typeof tx.to !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(tx.to)) return `"to" is not an address: ${String(tx.to)}`;
  if (typeof tx.chainId !== 'number' || !Number.isSafeInteger(tx.chainId) || tx.chainId <= 0) {
    return `"chainId" is not a chain id: ${String(tx.chainId)}`;
  }
  try {
    if (toBigInt(tx.value ?? '0') < 0n) return '"value" is negative.';
  } catch {
    return `"value" is not an integer amount of wei: ${String(tx.value)}`;
  }
  if (tx.data !== undefined && (typeof tx.data !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(tx.data))) {
    return '"data" is not hex bytes.';
  }
  if (tx.gas !== undefined && tx.gas !== null && (typeof tx.gas !== 'string' || !/^\d+$/.test(tx.gas))) {
    return `"gas" is not a whole number: ${String(tx.gas)}`;
  }
  return tx as WalletTransaction;
}

/** The review of one open wallet call, connected to the wallet. */
export function WalletRequest({
  toolCallId,
  tx,
  streamedSimulation,
  guard,
  onOutcome,
}: {
  toolCallId: string;
  tx: WalletTransaction;
  streamedSimulation?: SimulationReport;
  /** The spend guards' answer on this request (balanced mode may ask for a second click). */
  guard?: GuardPart;
  onOutcome: (outcome: WalletOutcome) => void;
}) {
  const account = useAccount();
  const { connectAsync, connectors } = useConnect();
  const { switchChainAsync } = useSwitchChain();
  const { sendTransactionAsync } = useSendTransaction();
  const connected = account.status === 'connected';
  const [phase, setPhase] = useState<ReviewPhase>(() => {
    const saved = localStorage.getItem(pendingKey(toolCallId));
    return saved ? { kind: 'confirming', hash: (JSON.parse(saved) as { hash: string }).hash } : { kind: 'idle' };
  });
  const [fetched, setFetched] = useState<SimulationState | undefined>();

  const from = account.address;
  const report = streamedSimulation ?? tx.simulation;
  useEffect(() => {
    if (report || !from) return;
    let live = true;
    simulate({ chainId: tx.chainId, from, to: tx.to, value: tx.value, data: tx.data })
      .then(result => {
        if (!live) return;
        setFetched(
          result
            ? { kind: 'ready', report: result }
            : { kind: 'unavailable', reason: 'this server does not simulate transactions.' },
        );
      })
      .catch(error => live && setFetched({ kind: 'unavailable', reason: `the simulation failed (${errorMessage(error)}).` }));
    return () => {
      live = false;
    };
  }, [report, from, tx.chainId, tx.to, tx.value, tx.data]);

  const simulation: SimulationState = report
    ? { kind: 'ready', report }
    : (fetched ?? (from ? { kind: 'loading' } : { kind: 'unavailable', reason: 'connect a wallet to simulate.' }));

  const waitForReceipt = useCallback(
    async (hash: `0x${string}`) => {
      const provider = (await account.connector?.getProvider()) as EIP1193Provider | undefined;
      if (!provider) throw new Error('The wallet is not connected.');
      const client = createPublicClient({ transport: custom(provider), pollingInterval: 1000 });
      try {
        const receipt = await client.waitForTransactionReceipt({ hash, timeout: RECEIPT_TIMEOUT_MS });
        return {
          transactionHash: hash,
          chainId: tx.chainId,
          status: receipt.status === 'success' ? 'success' : 'reverted',
          blockNumber: Number(receipt.blockNumber),
        } satisfies SentTransaction;
      } catch (error) {
        // Not mined in time: the model is told it is pending, with the hash to look it up.
        if ((error as { name?: string }).name !== 'WaitForTransactionReceiptTimeoutError') throw error;
        return { transactionHash: hash, chainId: tx.chainId, status: 'pending' } satisfies SentTransaction;
      }
    },
    [account.connector, tx.chainId],
  );

  const deliver = useCallback(
    (outcome: WalletOutcome) => {
      localStorage.removeItem(pendingKey(toolCallId));
      onOutcome(outcome);
    },
    [onOutcome, toolCallId],
  );

  // After a reload with a transaction already sent: wait for its receipt instead of offering to send.
  const recoveredHash = phase.kind === 'confirming' ? phase.hash : undefined;
  useEffect(() => {
    if (!recoveredHash || !connected) return;
    let live = true;
    waitForReceipt(recoveredHash as `0x${string}`)
      .then(output => live && deliver({ output }))
      .catch(error => live && setPhase({ kind: 'failed', message: errorMessage(error) }));
    return () => {
      live = false;
    };
  }, [recoveredHash, connected, waitForReceipt, deliver]);

  const approve = async () => {
    try {
      if (!connected) {
        const connector = connectors[0];
        if (!connector) throw new Error('No wallet found in this browser. Install one, or open the page in your wallet app.');
        await connectAsync({ connector });
        return;
      }
      if (account.chainId !== tx.chainId) {
        setPhase({ kind: 'switching' });
        await switchChainAsync({ chainId: tx.chainId as never });
      }
      setPhase({ kind: 'signing' });
      const hash = await sendTransactionAsync({
        to: tx.to as `0x${string}`,
        value: toBigInt(tx.value ?? '0'),
        data: tx.data && tx.data !== '0x' ? (tx.data as `0x${string}`) : undefined,
        gas: tx.gas ? BigInt(tx.gas) : undefined,
        chainId: tx.chainId as never,
      });
      localStorage.setItem(pendingKey(toolCallId), JSON.stringify({ hash, chainId: tx.chainId }));
      setPhase({ kind: 'confirming', hash });
    } catch (error) {
      if (isUserRejection(error)) {
        deliver({ errorText: 'The user rejected the transaction in the wallet.' });
        return;
      }
      setPhase({ kind: 'failed', message: errorMessage(error) });
    }
  };

  return (
    <TransactionReview
      tx={tx}
      simulation={simulation}
      guard={guard}
      from={from}
      walletChainId={account.chainId}
      connected={connected}
      phase={phase}
      onApprove={() => void approve()}
      onReject={() => deliver({ errorText: 'The user rejected the transaction in the review.' })}
    />
  );
}
