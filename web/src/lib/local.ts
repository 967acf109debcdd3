// What this browser remembers about chats: the ids it started (so anonymous chats can be listed
// without listing everyone's) and a title from each chat's first message, until the server has one.

const KEY = 'aomi.chats';

interface LocalChat {
  title: string;
  at: string;
}

function read(): Record<string, LocalChat> {
  try {
    return (JSON.parse(localStorage.getItem(KEY) ?? '{}') as Record<string, LocalChat>) ?? {};
  } catch {
    return {};
  }
}

/** Remembers a chat started here, titled by its first message. */
export function rememberChat(id: string, firstMessage: string) {
  const chats = read();
  if (chats[id]) return;
  const title = firstMessage.replace(/\s+/g, ' ').trim();
  chats[id] = { title: title.length > 60 ? `${title.slice(0, 59)}…` : title, at: new Date().toISOString() };
  localStorage.setItem(KEY, JSON.stringify(chats));
}

/** Forgets a chat (after it was deleted). */
export function forgetChat(id: string) {
  const chats = read();
  delete chats[id];
  localStorage.setItem(KEY, JSON.stringify(chats));
}

/** The chats started in this browser. */
export function localChats(): Record<string, LocalChat> {
  return read();
}

/** A new chat id: 22 random letters and digits, as the server accepts. (`crypto.randomUUID` needs a
 * secure context, which a page opened over a LAN address is not.) */
export function newChatId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const bytes = crypto.getRandomValues(new Uint8Array(22));
  return Array.from(bytes, byte => alphabet[byte % alphabet.length]).join('');
}
