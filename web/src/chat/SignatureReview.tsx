// The review of a signature the model asks the wallet for (`request_signature`): what the server
// decoded (spender, tokens, amounts, expiry), any other typed data as a tree, a personal message as
// text, and the risk warnings, then wagmi's signTypedData / signMessage. The signature goes back to
// the turn as the call's output; it is kept in localStorage until delivered, so a reload between
// signing and delivery neither loses it nor asks again. A danger warning takes a second click.
import { useCallback, useEffect, useState } from 'react';
import { useAccount, useConnect, useSignMessage, useSignTypedData, useSwitchChain } from 'wagmi';

import { AlertIcon, ShieldIcon, Spinner } from '../icons';
import { errorMessage } from '../lib/api';
import { chainColour, chainName } from '../lib/networks';
import type { SignatureRequest, SignatureTree, TokenAmountView } from '../lib/types';
import { ChainRef } from './ChainRef';

/** What the page answers for a signature: the wallet's signature, or why there is none. */
export type SignatureOutcome = { output: { signature: string } } | { errorText: string };

type Phase = { kind: 'idle' } | { kind: 'switching' } | { kind: 'signing' } | { kind: 'failed'; message: string };

const signedKey = (toolCallId: string) => `aomi.sig.${toolCallId}`;

function isUserRejection(error: unknown): boolean {
  for (let e = error as { code?: number; name?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.code === 4001 || e.name === 'UserRejectedRequestError') return true;
  }
  return false;
}

/** A list of token amounts: the server's exact formatting, the token linked. */
function Tokens({ tokens, chainId }: { tokens: TokenAmountView[]; chainId: number }) {
  return (
    <ul className="changes">
      {tokens.map((token, index) => (
        <li key={index} className={token.unlimited ? 'unlimited' : ''}>
          <strong className="mono">{token.formatted}</strong>{' '}
          {token.kind === 'native' ? null : (
            <span className="muted">
              <ChainRef value={token.token} chainId={chainId} />
            </span>
          )}
        </li>
      ))}
    </ul>
  );
}

/** Typed data aomi does not recognise, field by field. */
function Tree({ node }: { node: SignatureTree }) {
  return (
    <li>
      <span className="mono">{node.name}</span> <span className="muted mono small">{node.type}</span>
      {node.value !== null ? <span className="mono break">: {node.value}</span> : null}
      {node.children.length > 0 ? (
        <ul className="typed-tree">
          {node.children.map((child, index) => (
            <Tree key={index} node={child} />
          ))}
        </ul>
      ) : null}
    </li>
  );
}

/** The signature review panel. */
export function SignatureReview({
  request,
  connected,
  walletChainId,
  phase,
  onApprove,
  onReject,
}: {
  request: SignatureRequest;
  connected: boolean;
  walletChainId?: number;
  phase: Phase;
  onApprove: () => void;
  onReject: () => void;
}) {
  const { review, chainId } = request;
  const decoded = review.decoded;
  const danger = review.warnings.some(warning => warning.level === 'danger');
  const busy = phase.kind === 'switching' || phase.kind === 'signing';
  const [armed, setArmed] = useState(false);
  const approve = () => {
    if (danger && connected && !armed) {
      setArmed(true);
      return;
    }
    onApprove();
  };
  return (
    <section className="review" aria-label="Review signature">
      <header>
        <ShieldIcon size={18} />
        <h3>Review signature</h3>
        <span className="network-chip">
          <span className="dot" style={{ background: chainColour(chainId) }} />
          {chainName(chainId)}
        </span>
      </header>
      {request.description ? <p className="review-description">{request.description}</p> : null}
      {review.warnings.length > 0 ? (
        <ul className="warnings" aria-label="Warnings">
          {review.warnings.map(warning => (
            <li key={warning.id} className={`warning level-${warning.level}`}>
              <AlertIcon size={14} />
              <span>{warning.message}</span>
            </li>
          ))}
        </ul>
      ) : null}

      {decoded ? (
        <div className="review-block" aria-label="Decoded signature">
          <h4>{decoded.title}</h4>
          <dl className="review-facts">
            {decoded.spender ? (
              <>
                <dt>{decoded.kind.endsWith('authorization') ? 'To' : 'Spender'}</dt>
                <dd>
                  <ChainRef value={decoded.spender} chainId={chainId} kind="address" />
                </dd>
              </>
            ) : null}
            {decoded.owner ? (
              <>
                <dt>Owner</dt>
                <dd>
                  <ChainRef value={decoded.owner} chainId={chainId} kind="address" />
                </dd>
              </>
            ) : null}
            <dt>{decoded.kind === 'seaport-order' ? 'You give' : decoded.movesAssets ? 'Moves' : 'Allows'}</dt>
            <dd>
              <Tokens tokens={decoded.tokens} chainId={chainId} />
            </dd>
            {decoded.kind === 'seaport-order' ? (
              <>
                <dt>You receive</dt>
                <dd>{decoded.received.length > 0 ? <Tokens tokens={decoded.received} chainId={chainId} /> : <strong>nothing</strong>}</dd>
              </>
            ) : null}
            {decoded.expiry ? (
              <>
                <dt>Expires</dt>
                <dd className={decoded.expiry.never ? 'mono unlimited' : 'mono'}>{decoded.expiry.text}</dd>
              </>
            ) : null}
            {decoded.deadline ? (
              <>
                <dt>Signature valid until</dt>
                <dd className="mono">{decoded.deadline.text}</dd>
              </>
            ) : null}
          </dl>
        </div>
      ) : null}
      {review.tree ? (
        <div className="review-block" aria-label="Typed data">
          <h4>{review.primaryType}</h4>
          <ul className="typed-tree">
            {review.tree.children.map((child, index) => (
              <Tree key={index} node={child} />
            ))}
          </ul>
        </div>
      ) : null}
      {request.method === 'personal_sign' ? (
        <div className="review-block" aria-label="Message">
          <h4>Message</h4>
          {review.text !== null ? (
            <pre className="signature-message">{review.text}</pre>
          ) : (
            <p className="muted">These bytes are not text:</p>
          )}
          {review.hex ? <p className="mono break small muted">{review.hex}</p> : null}
        </div>
      ) : null}
      {review.domain ? (
        <dl className="review-facts">
          {review.domain.name ? (
            <>
              <dt>For</dt>
              <dd>
                {review.domain.name}
                {review.domain.version ? ` (version ${review.domain.version})` : ''}
              </dd>
            </>
          ) : null}
          {review.domain.verifyingContract ? (
            <>
              <dt>Verified by</dt>
              <dd>
                <ChainRef value={review.domain.verifyingContract} chainId={chainId} kind="address" />
              </dd>
            </>
          ) : null}
        </dl>
      ) : null}

      <details className="json">
        <summary>Raw request</summary>
        <dl className="review-facts raw">
          <dt>method</dt>
          <dd className="mono">{request.method}</dd>
          <dt>hash signed</dt>
          <dd className="mono break">{review.signingHash}</dd>
        </dl>
        {request.typedData ? <pre className="mono small">{JSON.stringify(request.typedData, null, 2)}</pre> : null}
      </details>

      {connected && request.method === 'eth_signTypedData_v4' && walletChainId !== undefined && walletChainId !== chainId ? (
        <p className="muted small">Your wallet is on {chainName(walletChainId)}; it will be asked to switch to {chainName(chainId)}.</p>
      ) : null}
      {phase.kind === 'failed' ? (
        <p className="tool-error" role="alert">
          {phase.message}
        </p>
      ) : null}
      {armed && !busy ? (
        <p className="warning level-danger review-confirm" role="alert">
          <AlertIcon size={14} /> <span>The review warns of danger (above). Click again to open your wallet anyway.</span>
        </p>
      ) : null}
      <div className="review-actions">
        <button type="button" className="button secondary" onClick={onReject} disabled={busy}>
          Reject
        </button>
        <button type="button" className={`button ${danger ? 'danger' : 'primary'}${armed ? ' armed' : ''}`} onClick={approve} disabled={busy}>
          {phase.kind === 'switching' ? (
            <>
              <Spinner size={14} /> Switching network…
            </>
          ) : phase.kind === 'signing' ? (
            <>
              <Spinner size={14} /> Confirm in your wallet…
            </>
          ) : !connected ? (
            'Connect wallet to sign'
          ) : armed ? (
            'Confirm: sign despite the warning'
          ) : danger ? (
            'Sign despite the warning'
          ) : (
            'Sign in wallet'
          )}
        </button>
      </div>
    </section>
  );
}

/** `0x` and whole bytes of hex: a personal message given as bytes. */
const isHexBytes = (text: string) => /^0x([0-9a-fA-F]{2})+$/.test(text);

/** The review of one open signature call, connected to the wallet. */
export function SignatureRequestView({
  toolCallId,
  request,
  onOutcome,
}: {
  toolCallId: string;
  request: SignatureRequest;
  onOutcome: (outcome: SignatureOutcome) => void;
}) {
  const account = useAccount();
  const { connectAsync, connectors } = useConnect();
  const { switchChainAsync } = useSwitchChain();
  const { signTypedDataAsync } = useSignTypedData();
  const { signMessageAsync } = useSignMessage();
  const connected = account.status === 'connected';
  const [phase, setPhase] = useState<Phase>({ kind: 'idle' });

  const deliver = useCallback(
    (outcome: SignatureOutcome) => {
      localStorage.removeItem(signedKey(toolCallId));
      onOutcome(outcome);
    },
    [onOutcome, toolCallId],
  );

  // After a reload with the signature made but not delivered: deliver it, never ask again.
  useEffect(() => {
    const saved = localStorage.getItem(signedKey(toolCallId));
    if (saved) deliver({ output: { signature: saved } });
  }, [toolCallId, deliver]);

  const approve = async () => {
    try {
      if (!connected) {
        const connector = connectors[0];
        if (!connector) throw new Error('No wallet found in this browser. Install one, or open the page in your wallet app.');
        await connectAsync({ connector });
        return;
      }
      let signature: string;
      if (request.method === 'eth_signTypedData_v4' && request.typedData) {
        // Wallets sign typed data only for the chain they are on.
        if (account.chainId !== request.chainId) {
          setPhase({ kind: 'switching' });
          await switchChainAsync({ chainId: request.chainId as never });
        }
        setPhase({ kind: 'signing' });
        signature = await signTypedDataAsync(request.typedData as never);
      } else {
        const message = request.message ?? '';
        setPhase({ kind: 'signing' });
        signature = await signMessageAsync({ message: isHexBytes(message) ? { raw: message as `0x${string}` } : message });
      }
      localStorage.setItem(signedKey(toolCallId), signature);
      deliver({ output: { signature } });
    } catch (error) {
      if (isUserRejection(error)) {
        deliver({ errorText: 'The user rejected the signature request in the wallet.' });
        return;
      }
      setPhase({ kind: 'failed', message: errorMessage(error) });
    }
  };

  return (
    <SignatureReview
      request={request}
      connected={connected}
      walletChainId={account.chainId}
      phase={phase}
      onApprove={() => void approve()}
      onReject={() => deliver({ errorText: 'The user rejected the signature request in the review.' })}
    />
  );
}
