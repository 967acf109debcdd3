// One chat message, part by part, in the order the stream produced them.
import { isToolOrDynamicToolUIPart } from 'ai';

import { AlertIcon, RefreshIcon, ShieldIcon } from '../icons';
import { chainColour, chainName } from '../lib/networks';
import { BATCH_TOOL, SIGNATURE_TOOL, WALLET_TOOL, type AomiMessage, type AomiPart, type BatchRequest, type GuardPart, type SignatureRequest, type SimulationReport, type WalletTransaction } from '../lib/types';
import { BatchWalletRequest, type BatchOutcome } from './BatchRequest';
import { PlanView } from './PlanView';
import { TreeView } from './TreeView';
import { Markdown } from './Markdown';
import { MessageActions, MessageEditor, type Versions } from './MessageActions';
import { SimulationView } from './TransactionReview';
import { ToolCard, toolNameOf, type AnyToolPart } from './ToolCard';
import { SignatureRequestView, type SignatureOutcome } from './SignatureReview';
import { checkTransaction, WalletRequest, type WalletOutcome } from './WalletRequest';

/** The wallet tool: the model asks the person's wallet to send a transaction. */
export { WALLET_TOOL };

/** What the "Send anyway" button of a held-back transaction says, as the person's own message: the
 * server lets the model send a held-back transaction only after a message of the person. */
export const SEND_ANYWAY_TEXT = 'Send it anyway: I have seen the simulation report.';

/** A failed turn, as a message in the chat (never a spinner that turns forever). */
export function ErrorNotice({ message, onRetry }: { message: string; onRetry?: () => void }) {
  return (
    <div className="error-notice" role="alert">
      <AlertIcon size={16} />
      <div className="error-text">
        <strong>The turn failed.</strong> <span>{message}</span>
      </div>
      {onRetry ? (
        <button type="button" className="button small secondary" onClick={onRetry}>
          <RefreshIcon size={14} /> Try again
        </button>
      ) : null}
    </div>
  );
}

/** A network change the model asked for. */
function NetworkNotice({ chainId, current, onSwitch }: { chainId: number; current: number; onSwitch?: (id: number) => void }) {
  return (
    <div className="network-notice">
      <span className="dot" style={{ background: chainColour(chainId) }} />
      <span>
        aomi asked to switch to <strong>{chainName(chainId)}</strong>
        {current === chainId ? '.' : `; you are on ${chainName(current)}.`}
      </span>
      {current !== chainId && onSwitch ? (
        <button type="button" className="button small secondary" onClick={() => onSwitch(chainId)}>
          Switch
        </button>
      ) : null}
    </div>
  );
}

function simulationFor(message: AomiMessage, toolCallId: string): SimulationReport | undefined {
  for (const part of message.parts) {
    if (part.type === 'data-simulation' && (part.id === toolCallId || part.data.toolCallId === toolCallId)) {
      return part.data;
    }
  }
  return undefined;
}

function guardFor(message: AomiMessage, toolCallId: string): GuardPart | undefined {
  for (const part of message.parts) {
    if (part.type === 'data-guard' && (part.id === toolCallId || part.data.toolCallId === toolCallId)) {
      return part.data;
    }
  }
  return undefined;
}

/** A request the wallet's spend guards blocked: which guard, and why. */
export function GuardBlocked({ guard }: { guard: GuardPart }) {
  return (
    <div className="review-revert guard-blocked" role="alert" aria-label="Blocked by your spend guards">
      <ShieldIcon size={16} />
      <div>
        <strong>Blocked by your spend guards ({guard.level}).</strong>
        <ul>
          {guard.findings.map((finding, index) => (
            <li key={index}>
              <span className="mono">{finding.guard}</span>: {finding.reason}
            </li>
          ))}
        </ul>
        <p className="muted small">Only you can change your guards, in the spend guards panel.</p>
      </div>
    </div>
  );
}

/** The parameter types of a signature: `f(address,(uint256,bytes)[])` → `address`, `(uint256,bytes)[]`. */
export function parameterTypes(signature: string): string[] {
  const open = signature.indexOf('(');
  if (open < 0 || !signature.endsWith(')')) return [];
  const types: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of signature.slice(open + 1, -1)) {
    if (char === ',' && depth === 0) {
      types.push(current.trim());
      current = '';
      continue;
    }
    if (char === '(') depth += 1;
    if (char === ')') depth -= 1;
    current += char;
  }
  if (current.trim()) types.push(current.trim());
  return types;
}

/** The transaction the server built for a wallet call (its `data-wallet-request` part). */
export function walletTransactionFor(message: AomiMessage, toolCallId: string): WalletTransaction | undefined {
  const part = message.parts.find(
    (p): p is Extract<AomiPart, { type: 'data-wallet-request' }> =>
      p.type === 'data-wallet-request' && (p.id === toolCallId || p.data.toolCallId === toolCallId),
  );
  if (!part) return undefined;
  const { request } = part.data;
  let decoded;
  const call = request.decodedCall;
  if (call?.inputs) {
    // The server lists the parameters with their types; unnamed ones are keyed by position.
    const args = call.inputs.map((input, index) => {
      const value = call.args[input.name || String(index)];
      return input.name ? { name: input.name, type: input.type, value } : { type: input.type, value };
    });
    decoded = { function: call.function, args };
  } else if (call) {
    // A request stored before the server listed its parameters: the signature gives their types.
    const types = parameterTypes(call.function);
    const args = Object.entries(call.args ?? {}).map(([name, value], index) =>
      /^\d+$/.test(name) ? { type: types[Number(name)], value } : { name, type: types[index], value },
    );
    decoded = { function: call.function, args };
  }
  return {
    to: request.to,
    value: request.value,
    data: request.data,
    gas: request.gas,
    chainId: request.chainId,
    description: request.description,
    decoded,
    simulation: request.simulation,
  };
}

/** What a message needs from the chat around it. */
export interface MessageContext {
  /** Tool progress by call id, while tools run. */
  progress: Record<string, string>;
  /** True while this message's turn is still streaming. */
  live: boolean;
  /** True for the chat's last message (the only one whose wallet call can still be answered). */
  last: boolean;
  /** The chain the wallet is on now. */
  chainId: number;
  onWalletOutcome: (toolCallId: string, outcome: WalletOutcome | BatchOutcome | SignatureOutcome, tool?: string) => void;
  onSwitchNetwork?: (chainId: number) => void;
  onRetry?: () => void;
  /** Sends the person's "send it anyway" (only for the chat's last message, once its turn ended). */
  onSendAnyway?: () => void;
  /** A user message's edit, when no turn runs: open the editor, send the edit, leave it. */
  edit?: { editing: boolean; start: () => void; send: (text: string) => void; cancel: () => void };
  /** Asks for another answer (the chat's last answer, when no turn runs). */
  onRegenerate?: () => void;
  /** The versions at this message, where it was edited or answered again. */
  versions?: Versions;
}

/** The text parts of a message, joined. */
export function messageText(message: AomiMessage): string {
  return message.parts.map(part => (part.type === 'text' ? part.text : '')).join('');
}

/** The id of the message's last wallet call that the server held back with a report, if any. */
function lastHeldBack(message: AomiMessage): string | undefined {
  let last: string | undefined;
  for (const part of message.parts) {
    if (!isToolOrDynamicToolUIPart(part)) continue;
    const tool = part as AnyToolPart;
    if (toolNameOf(tool) === WALLET_TOOL && tool.state === 'output-error' && simulationFor(message, tool.toolCallId)) {
      last = tool.toolCallId;
    }
  }
  return last;
}

function PartView({ part, message, context }: { part: AomiPart; message: AomiMessage; context: MessageContext }) {
  if (isToolOrDynamicToolUIPart(part)) {
    const tool = part as AnyToolPart;
    const name = toolNameOf(tool);
    if (name === BATCH_TOOL && tool.state === 'input-available' && context.last) {
      const request = message.parts.find(
        (p): p is Extract<AomiPart, { type: 'data-wallet-request' }> =>
          p.type === 'data-wallet-request' && (p.id === tool.toolCallId || p.data.toolCallId === tool.toolCallId),
      )?.data.request as unknown as BatchRequest | undefined;
      if (!request) return <ToolCard part={tool} progress="Simulating the batch…" ended={!context.live} />;
      const report = message.parts.find(
        (p): p is Extract<AomiPart, { type: 'data-batch-simulation' }> =>
          p.type === 'data-batch-simulation' && p.data.toolCallId === tool.toolCallId,
      )?.data;
      return (
        <BatchWalletRequest
          toolCallId={tool.toolCallId}
          request={request}
          report={report}
          onOutcome={outcome => context.onWalletOutcome(tool.toolCallId, outcome, BATCH_TOOL)}
        />
      );
    }
    if (name === SIGNATURE_TOOL && tool.state === 'input-available' && context.last) {
      const request = message.parts.find(
        (p): p is Extract<AomiPart, { type: 'data-wallet-request' }> =>
          p.type === 'data-wallet-request' && (p.id === tool.toolCallId || p.data.toolCallId === tool.toolCallId),
      )?.data.request as unknown as SignatureRequest | undefined;
      if (!request?.review) return <ToolCard part={tool} progress="Preparing the signature request…" ended={!context.live} />;
      return (
        <SignatureRequestView
          toolCallId={tool.toolCallId}
          request={request}
          onOutcome={outcome => context.onWalletOutcome(tool.toolCallId, outcome, SIGNATURE_TOOL)}
        />
      );
    }
    if (name === WALLET_TOOL && tool.state === 'input-available' && context.last) {
      const built = walletTransactionFor(message, tool.toolCallId);
      // The server builds the transaction (resolves names, encodes the call) before the wallet sees it.
      if (!built) return <ToolCard part={tool} progress="Preparing the transaction…" ended={!context.live} />;
      const tx = checkTransaction(built);
      if (typeof tx === 'string') {
        return <ToolCard part={{ ...tool, state: 'output-error', errorText: tx, output: undefined } as AnyToolPart} />;
      }
      return (
        <WalletRequest
          toolCallId={tool.toolCallId}
          tx={tx}
          streamedSimulation={simulationFor(message, tool.toolCallId)}
          guard={guardFor(message, tool.toolCallId)}
          onOutcome={outcome => context.onWalletOutcome(tool.toolCallId, outcome)}
        />
      );
    }
    const heldBack = name === WALLET_TOOL && tool.state === 'output-error' ? simulationFor(message, tool.toolCallId) : undefined;
    if (!heldBack) return <ToolCard part={tool} progress={context.progress[tool.toolCallId]} ended={!context.live} />;
    // The server held the transaction back: the simulation below says why, in the same words as a
    // review; the card keeps only the error's first line (the rest is written for the model).
    const headline = (tool.errorText ?? '').split('\n')[0];
    const guard = guardFor(message, tool.toolCallId);
    const blocked = guard?.decision === 'blocked' ? guard : undefined;
    return (
      <>
        <ToolCard part={{ ...tool, errorText: headline } as AnyToolPart} ended={!context.live} />
        <section className="review held-back" aria-label="Transaction not sent">
          <h4 className="sim-title">Simulation: not sent to your wallet</h4>
          {blocked ? <GuardBlocked guard={blocked} /> : null}
          <SimulationView report={heldBack} />
          {!blocked && context.onSendAnyway && lastHeldBack(message) === tool.toolCallId ? (
            <div className="review-actions">
              <p className="muted small">Only you can decide to send it after all; aomi will prepare it again.</p>
              <button type="button" className="button danger" onClick={context.onSendAnyway}>
                Send anyway
              </button>
            </div>
          ) : null}
        </section>
      </>
    );
  }
  switch (part.type) {
    case 'text':
      return part.text ? <Markdown text={part.text} /> : null;
    case 'reasoning':
      return part.text ? (
        <details className="reasoning">
          <summary>Reasoning</summary>
          <Markdown text={part.text} />
        </details>
      ) : null;
    case 'data-error':
      return <ErrorNotice message={part.data.message} onRetry={context.last ? context.onRetry : undefined} />;
    case 'data-plan':
      return <PlanView plan={part.data} />;
    case 'data-tree':
      return <TreeView tree={part.data} />;
    case 'data-network':
      return <NetworkNotice chainId={part.data.chainId} current={context.chainId} onSwitch={context.onSwitchNetwork} />;
    case 'source-url':
      return (
        <a className="source" href={part.url} target="_blank" rel="noreferrer noopener">
          {part.title ?? part.url}
        </a>
      );
    default:
      return null;
  }
}

/** A message of the chat. */
export function MessageView({ message, context }: { message: AomiMessage; context: MessageContext }) {
  if (message.role === 'user') {
    const text = messageText(message);
    const { edit } = context;
    return (
      <article className="message user" aria-label="You">
        {edit?.editing ? (
          <MessageEditor text={text} onSend={edit.send} onCancel={edit.cancel} />
        ) : (
          <>
            <div className="bubble">{text}</div>
            <MessageActions text={text} who="your message" onEdit={edit?.start} versions={context.versions} />
          </>
        )}
      </article>
    );
  }
  const hasError = message.parts.some(part => part.type === 'data-error');
  return (
    <article className="message assistant" aria-label="aomi" aria-busy={context.live}>
      <div className="avatar" aria-hidden="true">
        a
      </div>
      <div className="content">
        {message.parts.map((part, index) => (
          <PartView key={index} part={part} message={message} context={context} />
        ))}
        {message.metadata?.stopped ? (
          <p className="muted small">You stopped this answer.</p>
        ) : message.metadata?.incomplete && !hasError ? (
          <p className="muted small">This answer was cut off.</p>
        ) : null}
        {context.live ? null : <MessageActions text={messageText(message)} who="the answer" onRegenerate={context.onRegenerate} />}
      </div>
    </article>
  );
}
