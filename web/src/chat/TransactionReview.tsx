// The review of a transaction the model asks the wallet to send: what the simulation says will
// happen (balance changes, approvals, fee, risk warnings), the decoded call, the raw fields. The
// person approves (the wallet signs and sends) or rejects (the model is told). A transaction that
// would fail, or that a danger warning flags, takes two clicks: the first only arms the button; so
// does one whose warnings the wallet's spend guards (balanced mode) ask the person to confirm.
// Amounts are exact; a USD value, where the server priced the change, stands beside them.
import { useState } from 'react';

import { AlertIcon, ShieldIcon, Spinner } from '../icons';
import { isAddress } from '../lib/address';
import { formatUnits, toBigInt } from '../lib/amount';
import { chainColour, chainName, nativeCurrency } from '../lib/networks';
import type { Approval, AssetChange, GuardPart, SimulationReport, WalletTransaction } from '../lib/types';
import { Amount } from './Amount';
import { ChainRef } from './ChainRef';

/** Where the simulation stands. */
export type SimulationState =
  | { kind: 'ready'; report: SimulationReport }
  | { kind: 'loading' }
  | { kind: 'unavailable'; reason: string };

/** Where the person's decision stands. */
export type ReviewPhase =
  | { kind: 'idle' }
  | { kind: 'switching' }
  | { kind: 'signing' }
  | { kind: 'confirming'; hash: string }
  | { kind: 'failed'; message: string };

const sameAddress = (a?: string | null, b?: string | null) => !!a && !!b && a.toLowerCase() === b.toLowerCase();

const usdFormat = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 2 });

/** A USD value beside an exact amount (never instead of it), from the server's price. */
export function UsdValue({ value, note }: { value: number; note?: string | null }) {
  return (
    <span className="usd muted" title={note ? `At DefiLlama's price; ${note}` : "At DefiLlama's price"}>
      {' '}
      (≈ {usdFormat.format(Math.abs(value))})
    </span>
  );
}

/** An asset change: exact with its decimals where the chain gave them, else the server's words. */
function Change({ change, chainId, whose }: { change: AssetChange; chainId: number; whose: boolean }) {
  const amount =
    change.decimals !== null && change.standard !== 'erc721' ? (
      <Amount value={change.delta} decimals={change.decimals} symbol={change.symbol ?? undefined} signed maxFractionDigits={8} />
    ) : (
      <span className={`amount mono ${change.delta.startsWith('-') ? 'out' : 'in'}`}>{change.formatted}</span>
    );
  return (
    <li>
      {whose ? (
        <>
          <ChainRef value={change.address} chainId={chainId} kind="address" />{' '}
        </>
      ) : null}
      {amount}
      {change.usd ? <UsdValue value={change.usd.value} note={change.usd.note} /> : null}
      {change.token ? (
        <span className="muted">
          {' '}
          <ChainRef value={change.token} chainId={chainId} />
        </span>
      ) : (
        <span className="muted"> native</span>
      )}
    </li>
  );
}

function Changes({ title, changes, chainId, whose = false }: { title: string; changes: AssetChange[]; chainId: number; whose?: boolean }) {
  if (changes.length === 0) return null;
  return (
    <div className="review-block">
      <h4>{title}</h4>
      <ul className="changes">
        {changes.map((change, index) => (
          <Change key={index} change={change} chainId={chainId} whose={whose} />
        ))}
      </ul>
    </div>
  );
}

/** How much an approval allows, exact where the token's decimals are known. */
function Allowance({ approval }: { approval: Approval }) {
  if (!approval.granted) return <strong>nothing (the approval is revoked)</strong>;
  if (approval.unlimited) return <strong>{approval.operator ? approval.formatted : `an unlimited amount of ${approval.symbol ?? 'this token'}`}</strong>;
  if (approval.amount !== null && approval.decimals !== null) {
    return <Amount value={approval.amount} decimals={approval.decimals} symbol={approval.symbol ?? undefined} />;
  }
  return <span className="mono">{approval.formatted}</span>;
}

/** The fee in wei: the server's estimate, else gas used times the gas price, exact. */
function fee(report: SimulationReport): bigint | undefined {
  try {
    if (report.estimatedFee) return toBigInt(report.estimatedFee.amount);
    if (report.gasUsed != null && report.gasPrice !== undefined) {
      return toBigInt(report.gasUsed) * toBigInt(report.gasPrice);
    }
  } catch {
    // A malformed number: the fee is left out rather than guessed.
  }
  return undefined;
}

/** What a simulation says will happen: failure, warnings, balance changes, approvals, gas and fee. */
export function SimulationView({ report, from }: { report: SimulationReport; from?: string }) {
  const chainId = report.chainId;
  const native = nativeCurrency(chainId);
  const mine = report.assetChanges.filter(change => !from || sameAddress(change.address, from));
  const others = report.assetChanges.filter(change => from && !sameAddress(change.address, from));
  const total = fee(report);
  return (
    <>
      {report.success ? null : (
        <div className="review-revert" role="alert">
          <AlertIcon size={16} />
          <div>
            <strong>This transaction would fail.</strong>
            <p>{report.revert?.reason ?? 'The simulation reverted without a reason.'}</p>
          </div>
        </div>
      )}
      {report.warnings.length > 0 ? (
        <ul className="warnings" aria-label="Warnings">
          {report.warnings.map(warning => (
            <li key={warning.id} className={`warning level-${warning.level}`}>
              <AlertIcon size={14} />
              <span>{warning.message}</span>
            </li>
          ))}
        </ul>
      ) : null}
      <Changes title={from ? 'Your balance changes' : 'Balance changes'} changes={mine} chainId={chainId} />
      {mine.length === 0 && report.success ? <p className="muted">No balance of yours changes, besides the fee.</p> : null}
      <Changes title="Other balance changes" changes={others} chainId={chainId} whose />
      {report.approvals.length > 0 ? (
        <div className="review-block">
          <h4>Approvals</h4>
          <ul className="approvals">
            {report.approvals.map((approval, index) => (
              <li key={index} className={approval.unlimited && approval.granted ? 'unlimited' : ''}>
                Lets <ChainRef value={approval.spender} chainId={chainId} /> spend <Allowance approval={approval} />
                {' of '}
                <ChainRef value={approval.token} chainId={chainId} />
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      <dl className="review-facts">
        {report.gasUsed != null ? (
          <>
            <dt>Gas</dt>
            <dd className="mono">{String(report.gasUsed)}</dd>
          </>
        ) : null}
        {total !== undefined ? (
          <>
            <dt>Fee</dt>
            <dd>
              <Amount value={total} decimals={native.decimals} symbol={native.symbol} maxFractionDigits={8} />
            </dd>
          </>
        ) : null}
      </dl>
    </>
  );
}

/** The transaction review panel. */
export function TransactionReview({
  tx,
  simulation,
  guard,
  from,
  walletChainId,
  connected,
  phase,
  onApprove,
  onReject,
}: {
  tx: WalletTransaction;
  simulation: SimulationState;
  /** The spend guards' answer, when the server checked the request. */
  guard?: GuardPart;
  from?: string;
  walletChainId?: number;
  connected: boolean;
  phase: ReviewPhase;
  onApprove: () => void;
  onReject: () => void;
}) {
  const native = nativeCurrency(tx.chainId);
  const busy = phase.kind === 'switching' || phase.kind === 'signing' || phase.kind === 'confirming';
  const decoded = tx.decoded;
  const fails = simulation.kind === 'ready' && !simulation.report.success;
  const warned = simulation.kind === 'ready' && simulation.report.warnings.some(warning => warning.level === 'danger');
  const confirm = guard?.decision === 'confirm';
  const danger = fails || warned || confirm;
  // The first click on a dangerous transaction only arms the button; the second sends.
  const [armed, setArmed] = useState(false);
  const approve = () => {
    if (danger && connected && !armed) {
      setArmed(true);
      return;
    }
    onApprove();
  };
  let value: bigint = 0n;
  try {
    value = toBigInt(tx.value ?? '0');
  } catch {
    value = 0n;
  }
  return (
    <section className="review" aria-label="Review transaction">
      <header>
        <ShieldIcon size={18} />
        <h3>Review transaction</h3>
        <span className="network-chip">
          <span className="dot" style={{ background: chainColour(tx.chainId) }} />
          {chainName(tx.chainId)}
        </span>
      </header>
      {tx.description ? <p className="review-description">{tx.description}</p> : null}

      <dl className="review-facts">
        <dt>To</dt>
        <dd>
          <ChainRef value={tx.to} chainId={tx.chainId} kind="address" />
        </dd>
        <dt>Sends</dt>
        <dd>
          <Amount value={value} decimals={native.decimals} symbol={native.symbol} maxFractionDigits={8} />
        </dd>
        {from ? (
          <>
            <dt>From</dt>
            <dd>
              <ChainRef value={from} chainId={tx.chainId} kind="address" />
            </dd>
          </>
        ) : null}
      </dl>

      <div className="review-simulation" aria-live="polite">
        <h4 className="sim-title">Simulation</h4>
        {simulation.kind === 'loading' ? (
          <p className="muted">
            <Spinner size={14} /> Simulating…
          </p>
        ) : simulation.kind === 'unavailable' ? (
          <p className="warning level-warning">
            <AlertIcon size={14} /> <span>Not simulated: {simulation.reason} Check the fields below before you sign.</span>
          </p>
        ) : (
          <SimulationView report={simulation.report} from={from} />
        )}
      </div>

      {confirm && guard ? (
        <div className="review-block guard-confirm" aria-label="Your spend guards">
          <h4>Your spend guards ask you to confirm</h4>
          <ul className="warnings">
            {guard.findings.map((finding, index) => (
              <li key={index} className="warning level-warning">
                <AlertIcon size={14} />
                <span>{finding.reason}</span>
              </li>
            ))}
          </ul>
        </div>
      ) : null}

      {decoded ? (
        <div className="review-block">
          <h4>Call</h4>
          <p className="mono decoded">
            {decoded.contract ? `${decoded.contract}.` : ''}
            {decoded.function}
          </p>
          {decoded.args && decoded.args.length > 0 ? (
            <dl className="review-facts args">
              {decoded.args.map((arg, index) => (
                <div key={index} className="arg">
                  <dt>
                    {arg.name ?? `#${index}`} {arg.type ? <span className="muted mono">{arg.type}</span> : null}
                  </dt>
                  <dd className="mono">
                    {isAddress(arg.value) ? (
                      <ChainRef value={arg.value} chainId={tx.chainId} kind="address" />
                    ) : typeof arg.value === 'string' ? (
                      arg.value
                    ) : (
                      JSON.stringify(arg.value)
                    )}
                  </dd>
                </div>
              ))}
            </dl>
          ) : null}
        </div>
      ) : null}

      <details className="json">
        <summary>Raw transaction</summary>
        <dl className="review-facts raw">
          <dt>chainId</dt>
          <dd className="mono">{tx.chainId}</dd>
          <dt>to</dt>
          <dd className="mono break">{tx.to}</dd>
          <dt>value</dt>
          <dd className="mono">
            {value.toString()} wei ({formatUnits(value, native.decimals)} {native.symbol})
          </dd>
          <dt>data</dt>
          <dd className="mono break">{tx.data && tx.data !== '0x' ? tx.data : '0x (none)'}</dd>
          <dt>gas</dt>
          <dd className="mono">{tx.gas ?? 'estimated by the wallet'}</dd>
        </dl>
      </details>

      {connected && walletChainId !== undefined && walletChainId !== tx.chainId ? (
        <p className="muted small">Your wallet is on {chainName(walletChainId)}; it will be asked to switch to {chainName(tx.chainId)}.</p>
      ) : null}
      {phase.kind === 'failed' ? (
        <p className="tool-error" role="alert">
          {phase.message}
        </p>
      ) : null}

      {armed && !busy ? (
        <p className="warning level-danger review-confirm" role="alert">
          <AlertIcon size={14} />{' '}
          <span>
            {fails
              ? 'The simulation says this transaction fails.'
              : warned
                ? 'The simulation warns of danger (above).'
                : 'Your spend guards ask you to confirm the warnings (above).'}{' '}
            Click again to open your wallet anyway.
          </span>
        </p>
      ) : null}
      <div className="review-actions">
        <button type="button" className="button secondary" onClick={onReject} disabled={busy}>
          Reject
        </button>
        <button
          type="button"
          className={`button ${danger ? 'danger' : 'primary'}${armed ? ' armed' : ''}`}
          onClick={approve}
          disabled={busy}
        >
          {phase.kind === 'switching' ? (
            <>
              <Spinner size={14} /> Switching network…
            </>
          ) : phase.kind === 'signing' ? (
            <>
              <Spinner size={14} /> Confirm in your wallet…
            </>
          ) : phase.kind === 'confirming' ? (
            <>
              <Spinner size={14} /> Waiting for the block…
            </>
          ) : !connected ? (
            'Connect wallet to sign'
          ) : armed ? (
            fails ? 'Confirm: send although it fails' : 'Confirm: send despite the warning'
          ) : fails ? (
            'Sign anyway'
          ) : warned || confirm ? (
            'Send despite the warning'
          ) : (
            'Approve in wallet'
          )}
        </button>
      </div>
    </section>
  );
}
