// The page: the chat list, the header (network, wallet, theme) and the open chat. A chat's address
// is /chat/<id>, so a reload or a shared link opens it again (and re-attaches to its running turn).
import { useCallback, useEffect, useRef, useState } from 'react';

import { AppMenu } from './chat/AppMenu';
import { ChatView } from './chat/ChatView';
import { ModelMenu } from './chat/ModelMenu';
import { ErrorNotice } from './chat/MessageView';
import { PAGE_COMMANDS } from './chat/Composer';
import { Sidebar } from './history/Sidebar';
import { MenuIcon, MoonIcon, ShieldIcon, Spinner, SunIcon } from './icons';
import { shorten } from './lib/address';
import { errorMessage, getChat, listApps, listCommands, listModels, type AppInfo, type ModelInfo } from './lib/api';
import { newChatId, rememberChat } from './lib/local';
import type { AomiMessage, DirectCommand, Fork } from './lib/types';
import { useTheme } from './theme';
import { NetworkMenu } from './wallet/NetworkMenu';
import { GuardsPanel } from './wallet/GuardsPanel';
import { SignInCard } from './wallet/SignInCard';
import { WalletButton } from './wallet/WalletButton';
import { useSignIn } from './wallet/useSignIn';
import { useWalletContext } from './wallet/useWalletContext';

/** The chat id in the address, if any. */
export function chatIdFromPath(path: string): string | undefined {
  const match = /^\/chat\/([A-Za-z0-9_-]{1,128})\/?$/.exec(path);
  return match?.[1];
}

/** Which chat is open, and whether the server may know it. */
interface Route {
  id: string;
  /** A chat started on this page that has no message yet: nothing to load. */
  fresh: boolean;
}

function routeFromLocation(): Route {
  const id = chatIdFromPath(window.location.pathname);
  return id ? { id, fresh: false } : { id: newChatId(), fresh: true };
}

type Loaded =
  | { id: string; messages: AomiMessage[]; forks: Fork[]; resume: boolean; app?: string; model?: string | null }
  | { id: string; error: string };

/** The app of a chat no request named one for. */
const DEFAULT_APP = 'default';

export function App() {
  const [route, setRoute] = useState<Route>(routeFromLocation);
  const [loaded, setLoaded] = useState<Loaded>();
  const [attempt, setAttempt] = useState(0);
  const [sidebarOpen, setSidebarOpen] = useState(false);
  const [refreshKey, setRefreshKey] = useState(0);
  const [serverCommands, setServerCommands] = useState<DirectCommand[]>([]);
  const [apps, setApps] = useState<AppInfo[]>([]);
  /** The app of the next new chat. */
  const [pickedApp, setPickedApp] = useState(DEFAULT_APP);
  const [models, setModels] = useState<ModelInfo[]>([]);
  /** The model of the next new chat; none: the server's default. */
  const [pickedModel, setPickedModel] = useState<string>();
  /** A fresh chat whose first message was sent: its app is fixed. */
  const [startedId, setStartedId] = useState<string>();
  const [theme, toggleTheme] = useTheme();
  const { wallet, ready, switchNetwork } = useWalletContext();
  const auth = useSignIn(wallet.address, wallet.chainId);
  const [guardsOpen, setGuardsOpen] = useState(false);
  // Where the server requires sign-in, a connected wallet's chats wait for its signature.
  const needsSignIn = !!wallet.address && (!auth.known || (auth.required && !auth.signedIn));

  useEffect(() => {
    const onPop = () => setRoute(routeFromLocation());
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  useEffect(() => {
    void listCommands().then(setServerCommands);
    void listApps().then(setApps);
    void listModels().then(setModels);
  }, []);

  // Load the chat's stored messages before showing it (a fresh chat has none), as the wallet that
  // owns it: wait until a remembered wallet has reconnected.
  useEffect(() => {
    if (route.fresh || !ready || needsSignIn) return;
    let live = true;
    getChat(route.id, wallet.address)
      .then(chat => {
        if (live)
          setLoaded({ id: route.id, messages: chat?.messages ?? [], forks: chat?.forks ?? [], resume: chat !== undefined, app: chat?.app, model: chat?.model });
      })
      .catch(error => live && setLoaded({ id: route.id, error: errorMessage(error) }));
    return () => {
      live = false;
    };
  }, [route, attempt, ready, wallet.address, needsSignIn]);

  const current: Loaded | undefined = route.fresh ? { id: route.id, messages: [], forks: [], resume: false } : loaded;
  // A stored chat keeps its app; a new one takes the picked one.
  const chatApp = current && !('error' in current) && current.app ? current.app : pickedApp;
  // A stored chat keeps its model (`null`: the default); a new one takes the picked one.
  const stored = current && !('error' in current) && current.resume ? current : undefined;
  const chatModel = stored ? stored.model : pickedModel;

  const openChat = useCallback((id: string) => {
    window.history.pushState(null, '', `/chat/${id}`);
    setRoute({ id, fresh: false });
    setSidebarOpen(false);
  }, []);

  const newChat = useCallback(() => {
    window.history.pushState(null, '', '/');
    setRoute({ id: newChatId(), fresh: true });
    setSidebarOpen(false);
  }, []);

  // The wallet's account in use is the one turns speak for. When the person picks another account in
  // the wallet, the chat on screen (the other account's) gives way to a new one, and the page says
  // why: two wallets' chats never mix, silently or otherwise.
  const [switchedTo, setSwitchedTo] = useState<string>();
  const previousAddress = useRef(wallet.address);
  useEffect(() => {
    const before = previousAddress.current;
    previousAddress.current = wallet.address;
    if (before && wallet.address && before.toLowerCase() !== wallet.address.toLowerCase()) {
      newChat();
      setSwitchedTo(wallet.address);
    }
  }, [wallet.address, newChat]);

  const onFirstMessage = useCallback(
    (text: string) => {
      rememberChat(route.id, text);
      setStartedId(route.id);
      // The address now names the chat; the chat stays mounted (its id does not change).
      window.history.replaceState(null, '', `/chat/${route.id}`);
    },
    [route.id],
  );

  // The history changes when a turn starts (a new chat exists) and when it ends (it moved up).
  const refreshHistory = useCallback(() => setRefreshKey(n => n + 1), []);

  const onPageCommand = useCallback(
    (name: string) => {
      if (name === 'new') newChat();
      else if (name === 'theme') toggleTheme();
      else return false;
      return true;
    },
    [newChat, toggleTheme],
  );

  // Another app for a chat that has messages: a new chat with that app.
  const onPickApp = useCallback(
    (name: string) => {
      setPickedApp(name);
      if (!route.fresh || startedId === route.id) newChat();
    },
    [route, startedId, newChat],
  );

  // Another model for a chat that has messages: a new chat on that model.
  const onPickModel = useCallback(
    (id: string) => {
      setPickedModel(id);
      if (!route.fresh || startedId === route.id) newChat();
    },
    [route, startedId, newChat],
  );

  const onSwitchNetwork = useCallback((chainId: number) => void switchNetwork(chainId).catch(() => undefined), [switchNetwork]);

  return (
    <div className="app">
      <a className="skip-link" href="#composer-area">
        Skip to the message box
      </a>
      <Sidebar
        owner={needsSignIn ? undefined : wallet.address}
        signInNeeded={needsSignIn}
        activeId={route.id}
        refreshKey={refreshKey}
        open={sidebarOpen}
        onOpen={openChat}
        onNew={newChat}
        onClose={() => setSidebarOpen(false)}
      />
      {sidebarOpen ? <div className="scrim" onClick={() => setSidebarOpen(false)} aria-hidden="true" /> : null}
      <main className="main">
        <header className="topbar">
          <button type="button" className="icon-button only-mobile" aria-label="Open the chat list" onClick={() => setSidebarOpen(true)}>
            <MenuIcon />
          </button>
          <div className="topbar-spacer" />
          <AppMenu apps={apps} value={chatApp} onPick={onPickApp} />
          <ModelMenu models={models} value={chatModel} onPick={onPickModel} />
          <NetworkMenu chainId={wallet.chainId} onSwitch={switchNetwork} />
          <WalletButton />
          {wallet.address ? (
            <button
              type="button"
              className="icon-button"
              aria-label="Spend guards"
              title="Spend guards"
              aria-expanded={guardsOpen}
              onClick={() => setGuardsOpen(open => !open)}
            >
              <ShieldIcon />
            </button>
          ) : null}
          <button
            type="button"
            className="icon-button"
            aria-label={theme === 'dark' ? 'Use the light theme' : 'Use the dark theme'}
            title={theme === 'dark' ? 'Light theme' : 'Dark theme'}
            onClick={toggleTheme}
          >
            {theme === 'dark' ? <SunIcon /> : <MoonIcon />}
          </button>
        </header>
        {switchedTo && switchedTo === wallet.address ? (
          <div className="account-notice" role="status">
            <span>
              Your wallet now uses <span className="mono">{shorten(switchedTo)}</span>: this is a new chat for that account,
              and the list shows its chats.
            </span>
            <button type="button" className="icon-button tiny" aria-label="Dismiss" onClick={() => setSwitchedTo(undefined)}>
              ×
            </button>
          </div>
        ) : null}
        {guardsOpen && wallet.address ? <GuardsPanel auth={auth} onClose={() => setGuardsOpen(false)} /> : null}
        <div className="chat-area" id="composer-area">
          {needsSignIn && wallet.address && auth.known ? (
            <SignInCard address={wallet.address} auth={auth} />
          ) : current === undefined || current.id !== route.id || needsSignIn ? (
            <div className="loading">
              <Spinner size={22} label="Loading the chat" />
            </div>
          ) : 'error' in current ? (
            <div className="chat-column">
              <ErrorNotice message={`Could not open this chat: ${current.error}`} onRetry={() => setAttempt(n => n + 1)} />
            </div>
          ) : (
            <ChatView
              // A fresh chat's app and model may change until its first message: a new view then.
              key={`${current.id}:${chatApp}:${chatModel ?? ''}`}
              chatId={current.id}
              initialMessages={current.messages}
              initialForks={current.forks}
              resume={current.resume}
              app={chatApp}
              model={stored ? undefined : (chatModel ?? undefined)}
              wallet={wallet}
              commands={[...PAGE_COMMANDS, ...serverCommands]}
              onSwitchNetwork={onSwitchNetwork}
              onFirstMessage={onFirstMessage}
              onTurnStart={refreshHistory}
              onTurnEnd={refreshHistory}
              onPageCommand={onPageCommand}
            />
          )}
        </div>
      </main>
    </div>
  );
}
