// The history: the wallet's chats (or, with no wallet, the ones started in this browser), newest
// first; open, search, and, where the server offers them, rename and delete.
import { useEffect, useState } from 'react';

import { EditIcon, Logo, PlusIcon, SearchIcon, TrashIcon, CloseIcon } from '../icons';
import {
  deleteChat,
  errorMessage,
  historyCapabilities,
  listChats,
  renameChat,
  searchChats,
  type HistoryCapabilities,
  type SearchHit,
} from '../lib/api';
import { forgetChat, localChats } from '../lib/local';
import type { ChatSummary } from '../lib/types';

/** `5 min ago`, `yesterday`, a date: when a chat was last active. */
export function relativeTime(iso: string, now: Date = new Date()): string {
  const then = new Date(iso);
  const seconds = Math.round((now.getTime() - then.getTime()) / 1000);
  if (Number.isNaN(seconds)) return '';
  if (seconds < 60) return 'just now';
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  if (seconds < 172800) return 'yesterday';
  return then.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
}

/** A search excerpt, its `**matched**` words in bold. */
function snippet(text: string) {
  return text.split(/\*\*(.+?)\*\*/g).map((piece, index) => (index % 2 ? <strong key={index}>{piece}</strong> : piece));
}

function titleOf(chat: ChatSummary, local: ReturnType<typeof localChats>): string {
  return chat.title || local[chat.id]?.title || 'Untitled chat';
}

export function Sidebar({
  owner,
  signInNeeded = false,
  activeId,
  refreshKey,
  open,
  onOpen,
  onNew,
  onClose,
}: {
  owner?: string;
  /** A wallet is connected but must sign in before its chats are listed. */
  signInNeeded?: boolean;
  activeId: string;
  refreshKey: number;
  open: boolean;
  onOpen: (id: string) => void;
  onNew: () => void;
  onClose: () => void;
}) {
  const [serverChats, setServerChats] = useState<{ owner: string; chats: ChatSummary[]; next: string | null }>();
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [error, setError] = useState<string>();
  const [search, setSearch] = useState('');
  const [can, setCan] = useState<HistoryCapabilities>({ rename: false, remove: false });
  const [editing, setEditing] = useState<string>();
  const [reload, setReload] = useState(0);

  useEffect(() => {
    void historyCapabilities().then(setCan);
  }, []);

  useEffect(() => {
    if (!owner) return;
    let live = true;
    listChats(owner)
      .then(page => {
        if (!live) return;
        setServerChats({ owner, chats: page.chats, next: page.nextCursor });
        setError(undefined);
      })
      .catch(e => live && setError(errorMessage(e)));
    return () => {
      live = false;
    };
  }, [owner, refreshKey, reload]);

  // Without a wallet: the chats started in this browser (the server lists only a wallet's).
  const local = localChats();
  const chats: ChatSummary[] | undefined = owner
    ? serverChats?.owner === owner
      ? serverChats.chats
      : undefined
    : Object.entries(local)
        .map(([id, chat]) => ({
          id,
          owner: null,
          app: 'default',
          title: chat.title,
          chainId: null,
          createdAt: chat.at,
          updatedAt: chat.at,
          archived: false,
          running: false,
          model: null,
        }))
        .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));

  // A wallet's history is searched on the server, message text included; a moment after typing stops.
  const needle = search.trim();
  const [found, setFound] = useState<{ owner: string; needle: string; hits: SearchHit[] }>();
  const hits = owner && needle && found?.owner === owner && found.needle === needle ? found.hits : undefined;
  useEffect(() => {
    if (!owner || !needle) return;
    let live = true;
    const timer = setTimeout(() => {
      searchChats(owner, needle)
        .then(results => live && setFound({ owner, needle, hits: results }))
        .catch(e => live && setError(errorMessage(e)));
    }, 250);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [owner, needle]);

  const shown = (chats ?? []).filter(
    chat => !chat.archived && (owner || !needle || titleOf(chat, local).toLowerCase().includes(needle.toLowerCase())),
  );

  // Older chats, a page at a time, after the ones shown.
  const next = owner && serverChats?.owner === owner ? serverChats.next : null;
  const loadOlder = async () => {
    if (!owner || !next) return;
    setLoadingOlder(true);
    try {
      const page = await listChats(owner, next);
      setServerChats(current =>
        current?.owner === owner
          ? { owner, chats: [...current.chats, ...page.chats.filter(c => !current.chats.some(known => known.id === c.id))], next: page.nextCursor }
          : current,
      );
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setLoadingOlder(false);
    }
  };

  const rename = async (id: string, title: string) => {
    setEditing(undefined);
    if (!title.trim()) return;
    try {
      await renameChat(id, owner, title.trim());
      setReload(n => n + 1);
    } catch (e) {
      setError(errorMessage(e));
    }
  };

  const remove = async (chat: ChatSummary) => {
    if (!window.confirm(`Delete "${titleOf(chat, local)}"? This cannot be undone.`)) return;
    try {
      await deleteChat(chat.id, owner);
      forgetChat(chat.id);
      if (chat.id === activeId) onNew();
      setReload(n => n + 1);
    } catch (e) {
      setError(errorMessage(e));
    }
  };

  return (
    <aside className={`sidebar ${open ? 'open' : ''}`} aria-label="Chats">
      <div className="sidebar-top">
        <a className="brand" href="/" onClick={event => (event.preventDefault(), onNew())}>
          <Logo size={26} />
          <span>aomi</span>
        </a>
        <button type="button" className="icon-button only-mobile" aria-label="Close the chat list" onClick={onClose}>
          <CloseIcon />
        </button>
      </div>
      <button type="button" className="button new-chat" onClick={onNew}>
        <PlusIcon size={16} /> New chat
      </button>
      <div className="search">
        <SearchIcon size={15} />
        <label className="sr-only" htmlFor="chat-search">
          Search chats
        </label>
        <input
          id="chat-search"
          type="search"
          placeholder="Search chats"
          value={search}
          onChange={event => setSearch(event.target.value)}
        />
      </div>
      <nav className="chat-list" aria-label="Chat history">
        {error ? (
          <p className="muted small" role="alert">
            Could not load the chats: {error}
          </p>
        ) : null}
        {chats === undefined && !error ? <p className="muted small">Loading…</p> : null}
        {hits ? (
          <ul className="search-hits" aria-label="Search results">
            {hits.length === 0 ? <li className="muted small empty-list">Nothing matches.</li> : null}
            {hits.map(hit => (
              <li key={hit.messageId}>
                <a
                  href={`/chat/${hit.chatId}`}
                  onClick={event => {
                    event.preventDefault();
                    onOpen(hit.chatId);
                  }}
                >
                  <span className="chat-title">{hit.chatTitle || 'Untitled chat'}</span>
                  <span className="snippet muted">{snippet(hit.snippet)}</span>
                </a>
              </li>
            ))}
          </ul>
        ) : null}
        {!hits && chats !== undefined && shown.length === 0 ? (
          <p className="muted small empty-list">
            {search
              ? 'No chat matches.'
              : owner
                ? 'No chats for this wallet yet.'
                : signInNeeded
                  ? 'Sign in with your wallet to see its chats.'
                  : 'Your chats appear here. Connect a wallet to keep them across devices.'}
          </p>
        ) : null}
        <ul hidden={hits !== undefined}>
          {shown.map(chat => (
            <li key={chat.id} className={chat.id === activeId ? 'active' : ''}>
              {editing === chat.id ? (
                <input
                  className="rename"
                  aria-label="New title"
                  defaultValue={titleOf(chat, local)}
                  autoFocus
                  onBlur={event => void rename(chat.id, event.target.value)}
                  onKeyDown={event => {
                    if (event.key === 'Enter') void rename(chat.id, event.currentTarget.value);
                    if (event.key === 'Escape') setEditing(undefined);
                  }}
                />
              ) : (
                <a
                  href={`/chat/${chat.id}`}
                  aria-current={chat.id === activeId ? 'page' : undefined}
                  onClick={event => {
                    event.preventDefault();
                    onOpen(chat.id);
                  }}
                >
                  <span className="chat-title">{titleOf(chat, local)}</span>
                  <span className="chat-meta muted">
                    {chat.running ? <span className="live-dot" aria-label="running" /> : null}
                    {relativeTime(chat.updatedAt)}
                  </span>
                </a>
              )}
              {editing !== chat.id && (can.rename || can.remove) ? (
                <span className="chat-actions">
                  {can.rename ? (
                    <button type="button" className="icon-button tiny" aria-label="Rename chat" onClick={() => setEditing(chat.id)}>
                      <EditIcon size={13} />
                    </button>
                  ) : null}
                  {can.remove ? (
                    <button type="button" className="icon-button tiny" aria-label="Delete chat" onClick={() => void remove(chat)}>
                      <TrashIcon size={13} />
                    </button>
                  ) : null}
                </span>
              ) : null}
            </li>
          ))}
        </ul>
        {next && !hits ? (
          <button type="button" className="button secondary small load-older" onClick={() => void loadOlder()} disabled={loadingOlder}>
            {loadingOlder ? 'Loading…' : 'Show older chats'}
          </button>
        ) : null}
      </nav>
    </aside>
  );
}
