// Sign-in with the wallet, where the server requires it: the session the server's cookie holds,
// and a way to open one by signing the server's message.
import { useCallback, useEffect, useRef, useState } from 'react';
import { useSignMessage } from 'wagmi';

import { errorMessage, getSession, signIn as requestSignIn, signOut as requestSignOut, type AuthSession } from '../lib/api';

/** Where sign-in stands for the connected wallet. */
export interface SignInState {
  /** False until the server said who is signed in. */
  known: boolean;
  /** The server requires a signature before it serves a wallet's chats. */
  required: boolean;
  /** The connected wallet is the signed-in one. */
  signedIn: boolean;
  /** True while the wallet is asked to sign. */
  busy: boolean;
  /** Why the last sign-in failed. */
  error?: string;
  signIn: () => Promise<void>;
  signOut: () => Promise<void>;
}

export function useSignIn(address: string | undefined, chainId: number): SignInState {
  const { signMessageAsync } = useSignMessage();
  const [session, setSession] = useState<AuthSession>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  useEffect(() => {
    let live = true;
    getSession()
      .then(answer => live && setSession(answer))
      .catch(() => live && setSession({ address: null, required: false }));
    return () => {
      live = false;
    };
  }, []);

  const signIn = useCallback(async () => {
    if (!address) return;
    setBusy(true);
    setError(undefined);
    try {
      const signed = await requestSignIn(address, chainId, message => signMessageAsync({ message }));
      setSession(current => ({ address: signed, required: current?.required ?? false }));
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  }, [address, chainId, signMessageAsync]);

  const signOut = useCallback(async () => {
    await requestSignOut().catch(() => undefined);
    setSession(current => ({ address: null, required: current?.required ?? false }));
  }, []);

  // Disconnecting the wallet signs out too: the session must not outlive the wallet on this page.
  const wasConnected = useRef(false);
  useEffect(() => {
    if (address) wasConnected.current = true;
    else if (wasConnected.current && session?.address) void signOut();
  }, [address, session?.address, signOut]);

  const signedIn = !!address && !!session?.address && session.address === address.toLowerCase();
  return { known: session !== undefined, required: session?.required ?? false, signedIn, busy, error, signIn, signOut };
}
