// The chat's pending batch in the page: the list of staged steps (each removable), and the review and
// sending of `send_batch_to_wallet`. A wallet whose capabilities say it can batch (EIP-5792) gets one
// `wallet_sendCalls`, followed with `wallet_getCallsStatus` until final; any other wallet gets the
// calls one after another, each simulated again (POST /api/simulate) against the chain as it is then,
// stopping at the first that would fail or that fails. What was sent is kept in localStorage until the
// outcome reaches the turn, so a reload follows it instead of sending twice.
import { useCallback, useEffect, useState } from 'react';
import { useAccount, useConfig } from 'wagmi';
import { createPublicClient, custom, type EIP1193Provider } from 'viem';
import { getCapabilities, sendCalls, sendTransaction, switchChain, waitForCallsStatus } from 'wagmi/actions';

import { AlertIcon, ShieldIcon, Spinner } from '../icons';
import { errorMessage, simulate } from '../lib/api';
import { toBigInt } from '../lib/amount';
import { chainColour, chainName } from '../lib/networks';
import type { BatchReport, BatchRequest, PendingBatch, SimulationReport } from '../lib/types';
import { ChainRef } from './ChainRef';
import { SimulationView } from './TransactionReview';

/** What the page answers for a sent batch (the tool's output). */
export interface SentBatch {
  /** How it was sent: one EIP-5792 request, or one transaction after another. */
  mode: 'wallet_sendCalls' | 'sequential';
  chainId: number;
  /** `success` when every call landed; `failed` when one reverted (or, atomic, none landed);
   * `stopped` when the page stopped before a call that would fail; `pending` when not final in time. */
  status: 'success' | 'failed' | 'stopped' | 'pending';
  /** The hashes of the transactions sent, in order. */
  transactionHashes: string[];
  /** The calls sent, of all. */
  sent: number;
  total: number;
  /** The EIP-5792 request's id. */
  id?: string;
  /** Whether the wallet ran the calls atomically. */
  atomic?: boolean;
  /** Why the page stopped, and before which call (from 0). */
  stoppedAt?: { index: number; reason: string };
}

/** How the batch's outcome goes back to the turn. */
export type BatchOutcome = { output: SentBatch } | { errorText: string };

const pendingKey = (toolCallId: string) => `aomi.batch.${toolCallId}`;

/** How long the page follows a sent batch before it reports it as pending. */
const FINAL_TIMEOUT_MS = 180_000;

type Hex = `0x${string}`;

type Phase =
  | { kind: 'idle' }
  | { kind: 'sending'; step?: number }
  | { kind: 'confirming' }
  | { kind: 'failed'; message: string };

function isUserRejection(error: unknown): boolean {
  for (let e = error as { code?: number; name?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.code === 4001 || e.name === 'UserRejectedRequestError') return true;
  }
  return false;
}

/** The batch's report in the shape of one transaction's, for the same view of its net changes. */
function asReport(report: BatchReport): SimulationReport {
  const failed = report.steps.find(step => !step.success);
  return {
    ...report,
    blockNumber: report.blockNumber,
    gasUsed: report.steps.reduce((sum, step) => sum + step.gasUsed, 0),
    logs: [],
    revert: failed?.revert ?? null,
  };
}

/** The chat's pending batch, each step removable. */
export function PendingBatchList({ batch, onRemove }: { batch: PendingBatch; onRemove: (index: number) => void }) {
  if (batch.steps.length === 0) return null;
  const chainId = batch.chainId ?? batch.steps[0].chainId;
  return (
    <section className="pending-batch" aria-label="Pending batch">
      <header>
        <h4>
          Pending batch: {batch.steps.length} transaction{batch.steps.length === 1 ? '' : 's'}
        </h4>
        <span className="network-chip">
          <span className="dot" style={{ background: chainColour(chainId) }} />
          {chainName(chainId)}
        </span>
      </header>
      <ol>
        {batch.steps.map((step, index) => (
          <li key={`${index}-${step.to}-${step.data.slice(0, 10)}`}>
            <span>{step.description}</span> <ChainRef value={step.to} chainId={step.chainId} kind="address" />
            <button type="button" className="button small secondary" aria-label={`Remove step ${index + 1}`} onClick={() => onRemove(index)}>
              Remove
            </button>
          </li>
        ))}
      </ol>
    </section>
  );
}

/** The review of a batch: each step with its simulated outcome, then the net changes. */
export function BatchReview({
  request,
  report,
  phase,
  connected,
  onApprove,
  onReject,
}: {
  request: BatchRequest;
  report?: BatchReport;
  phase: Phase;
  connected: boolean;
  onApprove: () => void;
  onReject: () => void;
}) {
  const chainId = Number(request.chainId);
  const busy = phase.kind === 'sending' || phase.kind === 'confirming';
  return (
    <section className="review batch-review" aria-label="Review batch">
      <header>
        <ShieldIcon size={18} />
        <h3>Review batch</h3>
        <span className="network-chip">
          <span className="dot" style={{ background: chainColour(chainId) }} />
          {chainName(chainId)}
        </span>
      </header>
      {request.description ? <p className="review-description">{request.description}</p> : null}
      <div className="review-block">
        <h4>Steps, in order</h4>
        <ol className="batch-steps">
          {request.calls.map((call, index) => {
            const step = report?.steps[index];
            return (
              <li key={index} className={step && !step.success ? 'failed' : undefined}>
                <span>{call.description}</span> <ChainRef value={call.to} chainId={chainId} kind="address" />{' '}
                {step ? (
                  <span className={`badge ${step.success ? 'success' : 'reverted'}`}>{step.success ? 'succeeds' : 'fails'}</span>
                ) : null}
                {step?.revert?.reason ? <span className="muted small"> {step.revert.reason}</span> : null}
              </li>
            );
          })}
        </ol>
      </div>
      <div className="review-simulation" aria-live="polite">
        <h4 className="sim-title">Simulation of the whole batch</h4>
        {report ? <SimulationView report={asReport(report)} from={request.from} /> : <p className="muted">No simulation was streamed.</p>}
      </div>
      {phase.kind === 'failed' ? (
        <p className="tool-error" role="alert">
          {phase.message}
        </p>
      ) : null}
      <div className="review-actions">
        <button type="button" className="button secondary" onClick={onReject} disabled={busy}>
          Reject
        </button>
        <button type="button" className="button primary" onClick={onApprove} disabled={busy}>
          {phase.kind === 'sending' ? (
            <>
              <Spinner size={14} /> {phase.step !== undefined ? `Confirm step ${phase.step + 1} in your wallet…` : 'Confirm in your wallet…'}
            </>
          ) : phase.kind === 'confirming' ? (
            <>
              <Spinner size={14} /> Waiting for the block…
            </>
          ) : !connected ? (
            'Connect wallet to sign'
          ) : (
            `Send ${request.calls.length} transaction${request.calls.length === 1 ? '' : 's'} to wallet`
          )}
        </button>
      </div>
    </section>
  );
}

/** What was sent, kept until the outcome is delivered. */
type Saved = { mode: 'wallet_sendCalls'; id: string } | { mode: 'sequential'; hashes: string[] };

/** The review of one open `send_batch_to_wallet` call, connected to the wallet. */
export function BatchWalletRequest({
  toolCallId,
  request,
  report,
  onOutcome,
}: {
  toolCallId: string;
  request: BatchRequest;
  report?: BatchReport;
  onOutcome: (outcome: BatchOutcome) => void;
}) {
  const config = useConfig();
  const account = useAccount();
  const connected = account.status === 'connected';
  const chainId = Number(request.chainId);
  const total = request.calls.length;
  const [phase, setPhase] = useState<Phase>({ kind: 'idle' });
  const [saved] = useState<Saved | undefined>(() => {
    const text = localStorage.getItem(pendingKey(toolCallId));
    return text ? (JSON.parse(text) as Saved) : undefined;
  });

  const deliver = useCallback(
    (outcome: BatchOutcome) => {
      localStorage.removeItem(pendingKey(toolCallId));
      onOutcome(outcome);
    },
    [onOutcome, toolCallId],
  );

  /** Follows an EIP-5792 request until final. */
  const follow = useCallback(
    async (id: string): Promise<SentBatch> => {
      try {
        const status = await waitForCallsStatus(config, { id, timeout: FINAL_TIMEOUT_MS, pollingInterval: 500 });
        const hashes = (status.receipts ?? []).map(receipt => receipt.transactionHash);
        return {
          mode: 'wallet_sendCalls',
          chainId,
          id,
          atomic: status.atomic,
          status: status.status === 'success' ? 'success' : 'failed',
          transactionHashes: hashes,
          sent: hashes.length,
          total,
        };
      } catch (error) {
        if ((error as { name?: string }).name !== 'WaitForCallsStatusTimeoutError') throw error;
        return { mode: 'wallet_sendCalls', chainId, id, status: 'pending', transactionHashes: [], sent: total, total };
      }
    },
    [config, chainId, total],
  );

  // After a reload with the batch already sent: follow it, never send it again.
  useEffect(() => {
    if (!saved || !connected) return;
    let live = true;
    const outcome =
      saved.mode === 'wallet_sendCalls'
        ? follow(saved.id)
        : Promise.resolve<SentBatch>({
            mode: 'sequential',
            chainId,
            // The page went away between two calls: what was sent stays sent, the rest is not sent.
            status: saved.hashes.length === total ? 'success' : 'stopped',
            transactionHashes: saved.hashes,
            sent: saved.hashes.length,
            total,
            ...(saved.hashes.length < total ? { stoppedAt: { index: saved.hashes.length, reason: 'the page was reloaded' } } : {}),
          });
    outcome.then(output => live && deliver({ output })).catch(error => live && setPhase({ kind: 'failed', message: errorMessage(error) }));
    return () => {
      live = false;
    };
  }, [saved, connected, follow, deliver, chainId, total]);

  /** One call after another, each simulated again first; stops at the first that would fail. */
  const sendOneByOne = async (from: Hex): Promise<SentBatch> => {
    // Receipts are read through the wallet's own node, as the single-transaction review reads them.
    const provider = (await account.connector?.getProvider()) as EIP1193Provider | undefined;
    if (!provider) throw new Error('The wallet is not connected.');
    const node = createPublicClient({ transport: custom(provider), pollingInterval: 1000 });
    const hashes: string[] = [];
    const keep = () => localStorage.setItem(pendingKey(toolCallId), JSON.stringify({ mode: 'sequential', hashes } satisfies Saved));
    keep();
    const result = (status: SentBatch['status'], stoppedAt?: SentBatch['stoppedAt']): SentBatch => ({
      mode: 'sequential',
      chainId,
      status,
      transactionHashes: hashes,
      sent: hashes.length,
      total,
      ...(stoppedAt ? { stoppedAt } : {}),
    });
    for (const [index, call] of request.calls.entries()) {
      setPhase({ kind: 'sending', step: index });
      const value = toBigInt(call.value).toString();
      const check = await simulate({ chainId, from, to: call.to, value, data: call.data });
      if (check && !check.success) {
        return result('stopped', { index, reason: check.revert?.reason ?? 'its simulation reverts' });
      }
      const hash = await sendTransaction(config, {
        to: call.to as Hex,
        value: toBigInt(call.value),
        data: call.data !== '0x' ? (call.data as Hex) : undefined,
        chainId: chainId as never,
      });
      hashes.push(hash);
      keep();
      setPhase({ kind: 'confirming' });
      const receipt = await node.waitForTransactionReceipt({ hash, timeout: FINAL_TIMEOUT_MS });
      if (receipt.status !== 'success') return result('failed', { index, reason: 'the transaction reverted on chain' });
    }
    return result('success');
  };

  const approve = async () => {
    try {
      if (!connected || !account.address) {
        setPhase({ kind: 'failed', message: 'Connect your wallet first (the button at the top).' });
        return;
      }
      if (account.chainId !== chainId) await switchChain(config, { chainId: chainId as never });
      const from = account.address;
      let batching = false;
      try {
        const capabilities = (await getCapabilities(config, { account: from, chainId })) as { atomic?: { status?: string } };
        batching = capabilities?.atomic?.status === 'supported' || capabilities?.atomic?.status === 'ready';
      } catch {
        // A wallet without EIP-5792 does not know the method: it gets one transaction at a time.
      }
      if (batching) {
        setPhase({ kind: 'sending' });
        const { id } = await sendCalls(config, {
          account: from,
          chainId: chainId as never,
          forceAtomic: request.atomicRequired,
          calls: request.calls.map(call => ({ to: call.to as Hex, value: toBigInt(call.value), data: call.data as Hex })),
        });
        localStorage.setItem(pendingKey(toolCallId), JSON.stringify({ mode: 'wallet_sendCalls', id } satisfies Saved));
        setPhase({ kind: 'confirming' });
        deliver({ output: await follow(id) });
        return;
      }
      deliver({ output: await sendOneByOne(from) });
    } catch (error) {
      if (isUserRejection(error)) {
        const saved = localStorage.getItem(pendingKey(toolCallId));
        const sent = saved ? ((JSON.parse(saved) as Saved & { hashes?: string[] }).hashes ?? []) : [];
        if (sent.length > 0) {
          deliver({
            output: {
              mode: 'sequential',
              chainId,
              status: 'stopped',
              transactionHashes: sent,
              sent: sent.length,
              total,
              stoppedAt: { index: sent.length, reason: 'the user rejected it in the wallet' },
            },
          });
        } else {
          deliver({ errorText: 'The user rejected the batch in the wallet.' });
        }
        return;
      }
      setPhase({ kind: 'failed', message: errorMessage(error) });
    }
  };

  if (saved && phase.kind === 'idle') {
    return (
      <p className="muted">
        <Spinner size={14} /> Following the batch sent before the page was reloaded…
      </p>
    );
  }
  return (
    <>
      <BatchReview
        request={request}
        report={report}
        phase={phase}
        connected={connected}
        onApprove={() => void approve()}
        onReject={() => deliver({ errorText: 'The user rejected the batch in the review.' })}
      />
      {report && !report.success ? (
        <p className="warning level-danger">
          <AlertIcon size={14} /> <span>A step of this batch fails in the simulation.</span>
        </p>
      ) : null}
    </>
  );
}
