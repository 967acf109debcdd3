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
  type HistoryCapabilities,
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

function titleOf(chat: ChatSummary, local: ReturnType<typeof localChats>): string {
  return chat.title || local[chat.id]?.title || 'Untitled chat';
}

export function Sidebar({
  owner,
  activeId,
  refreshKey,
  open,
  onOpen,
  onNew,
  onClose,
}: {
  owner?: string;
  activeId: string;
  refreshKey: number;
  open: boolean;
  onOpen: (id: string) => void;
  onNew: () => void;
  onClose: () => void;
}) {
  const [chats, setChats] = useState<ChatSummary[]>();
  const [error, setError] = useState<string>();
  const [search, setSearch] = useState('');
  const [can, setCan] = useState<HistoryCapabilities>({ rename: false, remove: false });
  const [editing, setEditing] = useState<string>();
  const [reload, setReload] = useState(0);

  useEffect(() => {
    void historyCapabilities().then(setCan);
  }, []);

  useEffect(() => {
    let live = true;
    listChats(owner)
      .then(list => {
        if (!live) return;
        // Without a wallet only this browser's own chats are listed, never every anonymous chat.
        const local = localChats();
        setChats(owner ? list : list.filter(chat => local[chat.id]));
        setError(undefined);
      })
      .catch(e => live && setError(errorMessage(e)));
    return () => {
      live = false;
    };
  }, [owner, refreshKey, reload]);

  const local = localChats();
  const needle = search.trim().toLowerCase();
  const shown = (chats ?? []).filter(
    chat => !chat.archived && (!needle || titleOf(chat, local).toLowerCase().includes(needle)),
  );

  const rename = async (id: string, title: string) => {
    setEditing(undefined);
    if (!title.trim()) return;
    try {
      await renameChat(id, title.trim());
      setReload(n => n + 1);
    } catch (e) {
      setError(errorMessage(e));
    }
  };

  const remove = async (chat: ChatSummary) => {
    if (!window.confirm(`Delete "${titleOf(chat, local)}"? This cannot be undone.`)) return;
    try {
      await deleteChat(chat.id);
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
        {chats !== undefined && shown.length === 0 ? (
          <p className="muted small empty-list">
            {search ? 'No chat matches.' : owner ? 'No chats for this wallet yet.' : 'Your chats appear here. Connect a wallet to keep them across devices.'}
          </p>
        ) : null}
        <ul>
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
      </nav>
    </aside>
  );
}
