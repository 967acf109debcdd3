// The page's calls to aomi's HTTP API, other than the chat stream (which useChat's transport makes).
import type { components } from './api.gen';
import type { ChatDetail, DirectCommand, ErrorBody, PendingBatch, SimulationReport } from './types';

/** The server's schemas, generated from its OpenAPI document. */
type Schemas = components['schemas'];

/** An error answer of the API: `{"error": {"code", "message"}}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The readable message inside an error, including the JSON error bodies that useChat passes on. */
export function errorMessage(error: unknown): string {
  // viem's errors carry a one-line `shortMessage` beside a long technical one.
  const short = (error as { shortMessage?: unknown } | undefined)?.shortMessage;
  if (typeof short === 'string' && short) return short;
  const text = error instanceof Error ? error.message : String(error);
  try {
    const body = JSON.parse(text) as { error?: { message?: string } };
    if (body?.error?.message) return body.error.message;
  } catch {
    // Not JSON: the text is the message.
  }
  return text || 'Something went wrong.';
}

async function request<T>(path: string, init?: RequestInit): Promise<T> {
  const response = await fetch(path, { ...init, headers: { 'content-type': 'application/json', ...init?.headers } });
  if (!response.ok) {
    let code = 'http_error';
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = (await response.json()) as Partial<ErrorBody>;
      code = body.error?.code ?? code;
      message = body.error?.message ?? message;
    } catch {
      // The body was not JSON; keep the status line.
    }
    throw new ApiError(response.status, code, message);
  }
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/** `?owner=0x…`: the wallet a history request speaks for (a sign-in session, where there is one,
 * must be that wallet's); none for an anonymous chat, which its id alone opens. */
export function ownerQuery(owner: string | undefined): string {
  return owner ? `?owner=${encodeURIComponent(owner.toLowerCase())}` : '';
}

const chatPath = (id: string, owner: string | undefined) => `/api/chats/${encodeURIComponent(id)}${ownerQuery(owner)}`;

/** A page of the wallet's chats, and the cursor of the next (older) page; null on the last. */
export type ChatPage = Schemas['ChatList'];

/** The wallet's chats, most recently active first: the latest page, or the one after `cursor`. */
export async function listChats(owner: string, cursor?: string): Promise<ChatPage> {
  const after = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
  const page = await request<Partial<ChatPage>>(`/api/chats${ownerQuery(owner)}${after}`);
  return { chats: page.chats ?? [], nextCursor: page.nextCursor ?? null };
}

/** A chat and its messages; undefined when the server has no such chat. */
export async function getChat(id: string, owner: string | undefined): Promise<ChatDetail | undefined> {
  try {
    return await request<ChatDetail>(chatPath(id, owner));
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return undefined;
    throw error;
  }
}

/** Puts one of the chat's branches back on its line (the part it replaces becomes a branch). */
export async function switchBranch(id: string, owner: string | undefined, branchId: string): Promise<void> {
  await request(`/api/chats/${encodeURIComponent(id)}/branch${ownerQuery(owner)}`, {
    method: 'POST',
    body: JSON.stringify({ branchId }),
  });
}

const batchPath = (id: string, rest: string, owner: string | undefined) =>
  `/api/chats/${encodeURIComponent(id)}/batch${rest}${ownerQuery(owner)}`;

/** The chat's pending batch; empty for a chat the server does not have yet. */
export async function getBatch(id: string, owner: string | undefined): Promise<PendingBatch> {
  try {
    return await request<PendingBatch>(batchPath(id, '', owner));
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return { chainId: null, steps: [] };
    throw error;
  }
}

/** Removes the step at `index` (from 0) of the chat's pending batch; the batch as it is then. */
export async function removeBatchStep(id: string, owner: string | undefined, index: number): Promise<PendingBatch> {
  return request<PendingBatch>(batchPath(id, `/steps/${index}`, owner), { method: 'DELETE' });
}

/** Renames a chat. */
export async function renameChat(id: string, owner: string | undefined, title: string): Promise<void> {
  await request(chatPath(id, owner), { method: 'PATCH', body: JSON.stringify({ title } satisfies Schemas['ChatChange']) });
}

/** Deletes a chat. */
export async function deleteChat(id: string, owner: string | undefined): Promise<void> {
  await request(chatPath(id, owner), { method: 'DELETE' });
}

/** A message that matches a search: its chat, an excerpt with the matched words in `**bold**`. */
export type SearchHit = Schemas['SearchResult'];

/** Searches the wallet's messages. */
export async function searchChats(owner: string, text: string): Promise<SearchHit[]> {
  const query = `${ownerQuery(owner)}&q=${encodeURIComponent(text)}`;
  return (await request<Schemas['SearchResults']>(`/api/search${query}`)).results;
}

/** Simulates a transaction; undefined when the server cannot simulate (no route yet). */
export async function simulate(body: Schemas['SimulateBody']): Promise<SimulationReport | undefined> {
  try {
    return await request<SimulationReport>('/api/simulate', { method: 'POST', body: JSON.stringify(body) });
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 405)) return undefined;
    throw error;
  }
}

/** Asks the server to stop the chat's running turn (it keeps running when its client only
 * detaches): the answer so far is kept, marked as stopped. True once a turn was stopped and has
 * ended, its stream included; false when none ran here, or it had not ended yet. */
export async function stopTurn(id: string, owner: string | undefined, signal?: AbortSignal): Promise<boolean> {
  const path = `/api/chat/${encodeURIComponent(id)}/stop${ownerQuery(owner)}`;
  const answer = await request<Schemas['StopAnswer']>(path, { method: 'POST', signal });
  return answer.stopped && answer.ended !== false;
}

/** The signed-in wallet (lower case; null when none) and whether this server requires sign-in. */
export type AuthSession = Schemas['SessionInfo'];

/** Who this browser is signed in as; a server without sign-in answers "nobody, not required". */
export async function getSession(): Promise<AuthSession> {
  try {
    return await request<AuthSession>('/api/auth/session');
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 405)) return { address: null, required: false };
    throw error;
  }
}

/**
 * Signs in with the wallet (EIP-4361): the server's message, signed by `sign` (the wallet's
 * personal_sign), sent back; the server sets an HttpOnly session cookie. Resolves with the address.
 */
export async function signIn(address: string, chainId: number, sign: (message: string) => Promise<string>): Promise<string> {
  const challenge = await request<Schemas['Challenge']>('/api/auth/challenge', {
    method: 'POST',
    body: JSON.stringify({ address, chainId } satisfies Schemas['ChallengeBody']),
  });
  const signature = await sign(challenge.message);
  const session = await request<Schemas['SignedInAnswer']>('/api/auth/verify', {
    method: 'POST',
    body: JSON.stringify({ message: challenge.message, signature, challenge: challenge.challenge } satisfies Schemas['VerifyBody']),
  });
  return session.address;
}

/** Binds the Telegram account of a one-time link to the signed-in wallet. */
export async function bindTelegram(token: string): Promise<Schemas['TelegramLinked']> {
  return request<Schemas['TelegramLinked']>('/api/telegram/link', {
    method: 'POST',
    body: JSON.stringify({ token } satisfies Schemas['LinkBody']),
  });
}

/** Signs out (the server clears the cookie). */
export async function signOut(): Promise<void> {
  await request('/api/auth/session', { method: 'DELETE' });
}

/** The direct commands the server offers; none when it offers none. */
export async function listCommands(): Promise<DirectCommand[]> {
  try {
    return (await request<Schemas['CommandList']>('/api/commands')).commands;
  } catch {
    return [];
  }
}

/** An app a chat can be answered by. */
export type AppInfo = Schemas['AppInfo'];

/** The apps the server serves (`GET /api/apps`); none when it cannot be asked. */
export async function listApps(): Promise<AppInfo[]> {
  try {
    return (await request<Schemas['AppList']>('/api/apps')).apps;
  } catch {
    return [];
  }
}

/** A model a new chat can run on. */
export type ModelInfo = Schemas['ModelInfo'];

/** The models the server allows, the default first (`GET /api/models`); none when it cannot be asked. */
export async function listModels(): Promise<ModelInfo[]> {
  try {
    return (await request<Schemas['ModelList']>('/api/models')).models;
  } catch {
    return [];
  }
}

/** What the history routes of this server can do, read from the methods it allows on a chat. */
export interface HistoryCapabilities {
  rename: boolean;
  remove: boolean;
}

/**
 * Asks which methods `/api/chats/{id}` allows, without changing anything: the answer to OPTIONS
 * lists them (`allow: GET,HEAD,PATCH,DELETE`), so rename and delete appear once the server has them.
 */
export async function historyCapabilities(): Promise<HistoryCapabilities> {
  try {
    const response = await fetch('/api/chats/capabilities-probe', { method: 'OPTIONS' });
    const allow = (response.headers.get('allow') ?? '').toUpperCase().split(/\s*,\s*/);
    return { rename: allow.includes('PATCH'), remove: allow.includes('DELETE') };
  } catch {
    return { rename: false, remove: false };
  }
}

/** A wallet's spend guards, as GET/PUT /api/guards answer them. */
export type Guards = Schemas['Guards'];

/** Spend guard settings: a level, USD limits, an allow-list. */
export type GuardSettings = Schemas['GuardSettings'];

/** The signed-in wallet's spend guards (401 without a session). */
export async function getGuards(): Promise<Guards> {
  return request<Guards>('/api/guards');
}

/** Saves the signed-in wallet's spend guards; the server checks them (a 400 says what is wrong). */
export async function putGuards(settings: GuardSettings): Promise<Guards> {
  return request<Guards>('/api/guards', { method: 'PUT', body: JSON.stringify(settings) });
}
