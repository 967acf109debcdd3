// One chat: useChat over aomi's stream. Only the new message travels (the server keeps the history),
// with the wallet's state at the moment of sending; a reload re-attaches to a running turn; the
// wallet's answer to a transaction goes back with addToolOutput and the turn continues by itself.
import { useChat } from '@ai-sdk/react';
import { DefaultChatTransport, lastAssistantMessageIsCompleteWithToolCalls } from 'ai';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useConfig } from 'wagmi';

import { Logo } from '../icons';
import { errorMessage, getChat, ownerQuery, stopTurn as requestStop, switchBranch } from '../lib/api';
import type { AomiMessage, DirectCommand, Fork } from '../lib/types';
import { walletNow, type WalletContext } from '../wallet/useWalletContext';
import { AddressLabels, ExplorerChain, labelsOf } from './ChainRef';
import { Composer } from './Composer';
import { ErrorNotice, messageText, MessageView, SEND_ANYWAY_TEXT, WALLET_TOOL, type MessageContext } from './MessageView';
import type { SignatureOutcome } from './SignatureReview';
import type { WalletOutcome } from './WalletRequest';
import { PendingBatchList, type BatchOutcome } from './BatchRequest';
import { usePendingBatch } from './usePendingBatch';

/** The transport of a chat: POST /api/chat with `{id, message, app, model, wallet}`, and `replaces` when
 * the message is an edit (`sendMessage` with the edited message's id) or the same words asked again
 * (`regenerate`): the server keeps the old line as a branch. Resume from GET /api/chat/{id}/stream
 * (the transport's default address). */
export function aomiTransport(wallet: () => WalletContext, app?: string, model?: string) {
  return new DefaultChatTransport<AomiMessage>({
    api: '/api/chat',
    prepareSendMessagesRequest: ({ id, messages, trigger, messageId }) => {
      const message = messages[messages.length - 1];
      // A wallet's answer also names its (assistant) message: only a user message replaces one.
      const replaces =
        message.role !== 'user' ? undefined : trigger === 'regenerate-message' ? message.id : messageId === message.id ? messageId : undefined;
      return { body: { id, message, ...(replaces ? { replaces } : {}), ...(app ? { app } : {}), ...(model ? { model } : {}), wallet: wallet() } };
    },
    // A wallet's chat answers only that wallet.
    prepareReconnectToStreamRequest: ({ id }) => ({
      api: `/api/chat/${encodeURIComponent(id)}/stream${ownerQuery(wallet().address)}`,
    }),
  });
}

/** How long the stop button waits for the server before it detaches anyway. */
const STOP_WAIT_MS = 3000;

/** First questions to ask: what they say, and what they send. */
const SUGGESTIONS = [
  { label: 'What time is it on-chain right now?', text: 'What time is it on-chain right now?' },
  { label: 'What is my ETH balance?', text: 'What is my ETH balance?' },
  {
    label: 'Explain the USDC contract',
    text: 'Explain what this contract does: 0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48',
  },
  {
    label: 'Send 0.01 ETH to the burn address',
    text: 'Send 0.01 ETH to 0x000000000000000000000000000000000000dEaD',
  },
];

export function ChatView({
  chatId,
  initialMessages,
  initialForks,
  resume,
  app,
  model,
  wallet,
  commands,
  onSwitchNetwork,
  onFirstMessage,
  onTurnStart,
  onTurnEnd,
  onPageCommand,
}: {
  chatId: string;
  initialMessages: AomiMessage[];
  initialForks: Fork[];
  resume: boolean;
  /** The app that answers: the stored chat's, or the one picked for a new chat. */
  app: string;
  /** The model a new chat runs on (an id of GET /api/models); none: the server's default. A stored
   * chat keeps its own, whatever is sent. */
  model?: string;
  wallet: WalletContext;
  commands: DirectCommand[];
  onSwitchNetwork: (chainId: number) => void;
  onFirstMessage: (text: string) => void;
  /** The server has the turn (and the chat): its answer began to stream. */
  onTurnStart: () => void;
  onTurnEnd: () => void;
  onPageCommand: (name: string) => boolean;
}) {
  // The transport reads the wallet when it sends, so a network switch counts for the very next turn.
  const config = useConfig();
  // The app is fixed for the view's life: the page mounts a new view when a fresh chat's app changes.
  const transport = useMemo(() => aomiTransport(() => walletNow(config), app, model), [config, app, model]);
  const [progress, setProgress] = useState<Record<string, string>>({});
  const [forks, setForks] = useState(initialForks);
  /** The user message being edited. */
  const [editing, setEditing] = useState<string>();
  /** True from an edit or another answer until its turn ends: then the forks changed. */
  const branched = useRef(false);
  const clientAnswered = useRef(false);
  const switchRef = useRef(onSwitchNetwork);
  useEffect(() => {
    switchRef.current = onSwitchNetwork;
  }, [onSwitchNetwork]);

  const pending = usePendingBatch(chatId, wallet.address);
  const chat = useChat<AomiMessage>({
    id: chatId,
    messages: initialMessages,
    transport,
    resume,
    onData: part => {
      if (part.type === 'data-tool-progress') {
        setProgress(current => ({ ...current, [part.data.toolCallId]: part.data.message }));
      } else if (part.type === 'data-network') {
        switchRef.current(part.data.chainId);
      } else if (part.type === 'data-pending-batch') {
        pending.setBatch(part.data);
      }
    },
    onFinish: () => {
      onTurnEnd();
      pending.reload();
      if (!branched.current) return;
      branched.current = false;
      void getChat(chatId, walletNow(config).address)
        .then(chat => chat && setForks(chat.forks))
        .catch(() => undefined);
    },
    // Continue the turn only when this page answered a wallet call, never after a turn that ended.
    sendAutomaticallyWhen: ({ messages }) => {
      if (!clientAnswered.current || !lastAssistantMessageIsCompleteWithToolCalls({ messages })) return false;
      clientAnswered.current = false;
      return true;
    },
  });
  const { messages, status, error, sendMessage, setMessages, addToolOutput, stop, clearError, regenerate } = chat;

  // A failed turn stays in the chat as a message, as the server stores it (`data-error`).
  useEffect(() => {
    if (status !== 'error' || !error) return;
    setMessages(current => {
      const last = current[current.length - 1];
      if (last?.role !== 'assistant' || last.parts.some(part => part.type === 'data-error')) return current;
      const failed: AomiMessage = {
        ...last,
        parts: [...last.parts, { type: 'data-error', data: { message: errorMessage(error) } }],
      };
      return [...current.slice(0, -1), failed];
    });
  }, [status, error, setMessages]);

  useEffect(() => {
    if (status === 'streaming') onTurnStart();
  }, [status, onTurnStart]);

  const busy = status === 'submitted' || status === 'streaming';
  const last = messages[messages.length - 1];
  // An error before any answer (the request itself failed) has no message to live in.
  const requestError = status === 'error' && error && last?.role !== 'assistant' ? errorMessage(error) : undefined;

  const send = useCallback(
    (text: string) => {
      const command = /^\/(\w+)\s*$/.exec(text)?.[1];
      if (command && onPageCommand(command)) return;
      if (messages.length === 0) onFirstMessage(text);
      if (status === 'error') clearError();
      void sendMessage({ text });
    },
    [messages.length, onFirstMessage, onPageCommand, sendMessage, status, clearError],
  );

  const retry = useCallback(() => {
    const lastUser = [...messages].reverse().find(message => message.role === 'user');
    const text = lastUser ? messageText(lastUser) : undefined;
    if (!text) return;
    // A request that failed outright left its message unsent: send it again instead of twice.
    if (last?.role === 'user') setMessages(messages.slice(0, -1));
    clearError();
    void sendMessage({ text });
  }, [messages, last, setMessages, clearError, sendMessage]);

  /** Sends an edited message in place of the one it edits (the old line stays, as a branch). */
  const sendEdit = useCallback(
    (messageId: string, text: string) => {
      setEditing(undefined);
      if (status === 'error') clearError();
      branched.current = true;
      void sendMessage({ text, messageId });
    },
    [sendMessage, status, clearError],
  );

  const anotherAnswer = useCallback(() => {
    if (status === 'error') clearError();
    branched.current = true;
    void regenerate();
  }, [regenerate, status, clearError]);

  /** Shows another version of the chat from a fork on: the server swaps the lines. */
  const selectVersion = useCallback(
    async (branchId: string) => {
      const owner = walletNow(config).address;
      try {
        await switchBranch(chatId, owner, branchId);
        const chat = await getChat(chatId, owner);
        if (!chat) return;
        setMessages(chat.messages);
        setForks(chat.forks);
      } catch (switchError) {
        window.alert(`Could not show that version: ${errorMessage(switchError)}`);
      }
    },
    [chatId, config, setMessages],
  );

  const lastUserId = [...messages].reverse().find(message => message.role === 'user')?.id;

  const onWalletOutcome = useCallback(
    (toolCallId: string, outcome: WalletOutcome | BatchOutcome | SignatureOutcome, tool: string = WALLET_TOOL) => {
      clientAnswered.current = true;
      if ('output' in outcome) {
        void addToolOutput({ tool: tool as typeof WALLET_TOOL, toolCallId, output: outcome.output as never });
      } else {
        void addToolOutput({ tool: tool as typeof WALLET_TOOL, toolCallId, state: 'output-error', errorText: outcome.errorText });
      }
    },
    [addToolOutput],
  );

  const stopTurn = useCallback(() => {
    // The server keeps a turn running when its client goes away (that is what makes resume work),
    // so ask it to stop. It answers once the answer is stored and the chat is free, and it ends the
    // stream itself with its last parts (the "stopped" mark): detaching first could lose those.
    // Detach when it stopped nothing here, or does not answer in time.
    void requestStop(chatId, walletNow(config).address, AbortSignal.timeout(STOP_WAIT_MS))
      .catch(() => false)
      .then(stopped => {
        if (!stopped) void stop();
      });
  }, [chatId, config, stop]);

  // Follow the answer as it grows, unless the reader scrolled up.
  const scroller = useRef<HTMLDivElement>(null);
  const pinned = useRef(true);
  useEffect(() => {
    const element = scroller.current;
    if (element && pinned.current) element.scrollTop = element.scrollHeight;
  }, [messages]);

  const labels = useMemo(() => labelsOf(messages), [messages]);

  return (
    <ExplorerChain.Provider value={wallet.chainId}>
      <AddressLabels.Provider value={labels}>
      <div
        className="chat-scroll"
        ref={scroller}
        onScroll={event => {
          const element = event.currentTarget;
          pinned.current = element.scrollHeight - element.scrollTop - element.clientHeight < 80;
        }}
      >
        <div className="chat-column" role="log" aria-live="polite" aria-relevant="additions">
          {messages.length === 0 ? (
            <div className="empty">
              <Logo size={48} />
              <h1>What can I do on-chain for you?</h1>
              <p className="muted">
                I read the chain, look up contracts and prepare transactions. Your wallet simulates, shows and signs every
                one of them.
              </p>
              <div className="suggestions">
                {SUGGESTIONS.map(({ label, text }) => (
                  <button key={label} type="button" className="suggestion" onClick={() => send(text)}>
                    {label}
                  </button>
                ))}
              </div>
            </div>
          ) : null}
          {messages.map((message, index) => {
            const isLast = index === messages.length - 1;
            const context: MessageContext = {
              progress,
              live: isLast && busy,
              last: isLast,
              chainId: wallet.chainId,
              onWalletOutcome,
              onSwitchNetwork,
              onRetry: isLast && !busy ? retry : undefined,
              onSendAnyway: isLast && !busy ? () => send(SEND_ANYWAY_TEXT) : undefined,
            };
            if (message.role === 'user' && !busy) {
              context.edit = {
                editing: editing === message.id,
                start: () => setEditing(message.id),
                send: text => sendEdit(message.id, text),
                cancel: () => setEditing(undefined),
              };
            }
            if (message.role === 'assistant' && isLast && !busy) context.onRegenerate = anotherAnswer;
            const fork = forks.find(candidate => candidate.messageId === message.id);
            if (fork && !busy) {
              context.versions = {
                index: fork.alternatives.indexOf(null),
                count: fork.alternatives.length,
                onSelect: index => {
                  const branchId = fork.alternatives[index];
                  if (branchId) void selectVersion(branchId);
                },
              };
            }
            return <MessageView key={message.id} message={message} context={context} />;
          })}
          {status === 'submitted' && last?.role === 'user' ? (
            <div className="thinking" role="status">
              <span />
              <span />
              <span />
              <span className="sr-only">aomi is thinking</span>
            </div>
          ) : null}
          {requestError ? <ErrorNotice message={requestError} onRetry={retry} /> : null}
        </div>
      </div>
      <div className="composer-wrap">
        <PendingBatchList batch={pending.batch} onRemove={pending.remove} />
        {pending.error ? (
          <p className="tool-error" role="alert">
            {pending.error}
          </p>
        ) : null}
        <Composer
          busy={busy}
          commands={commands}
          onSend={send}
          onStop={stopTurn}
          onEditLast={busy || !lastUserId ? undefined : () => setEditing(lastUserId)}
          placeholder={wallet.address ? 'Ask aomi… (type / for commands)' : 'Ask aomi anything on-chain… (type / for commands)'}
        />
        <p className="disclaimer muted">aomi can be wrong. Your wallet shows what a transaction does before you sign.</p>
      </div>
      </AddressLabels.Provider>
    </ExplorerChain.Provider>
  );
}
